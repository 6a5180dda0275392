"""Go regular expressions (RE2 syntax and semantics) for Prow config patterns, via google-re2.

Prow compiles `branches`, `skip_branches`, `trigger`, `run_if_changed`, ... with Go's `regexp`,
which is RE2: no look-around, no back-references, `\\z` for end of text. Python's `re` accepts
patterns Go rejects and reads some differently, so the gateway uses the RE2 engine itself; a
pattern RE2 rejects is a config error here as it is in Prow. Pure.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Protocol

import re2  # type: ignore[import-untyped]

__all__ = ["GoRegex", "compile_go_regex"]


class GoRegex(Protocol):
    """The part of a compiled pattern the gateway uses."""

    def search(self, text: str) -> Any: ...


_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # errors are reported as config errors, not on stderr


@lru_cache(maxsize=4096)
def compile_go_regex(pattern: str) -> GoRegex:
    """Compile a Go regexp; raises `re.error` with RE2's message when Go would reject it.

    Cached: the same patterns recur across jobs and reloads.
    """
    try:
        compiled: GoRegex = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise re.error(f"{reason} (Go RE2 syntax)") from None
    return compiled
