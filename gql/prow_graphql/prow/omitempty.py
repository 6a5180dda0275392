"""Go's `omitempty` and plain copies: the two helpers every ProwJob JSON builder here shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` unless Go's omitempty would drop the value (None, False, 0, "", [])."""
    if value is None or value is False or value == "" or value == []:
        return
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return
    target[key] = value


def thaw(value: Any) -> Any:
    """Deep copy into plain dicts and lists (mappings may be read-only proxies)."""
    if isinstance(value, Mapping):
        return {str(k): thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [thaw(v) for v in value]
    return value
