"""Compact values for records cached by the thousand: interned strings and label maps.

Across the ProwJobs of one cluster most strings repeat (job names, orgs, repos, states, label
keys and values, descriptions), so parsed records share one copy of each; a label map keeps its
key tuple — identical for every run of a job — once, and only a tuple of values per record.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import Any

_MAX_KEY_SETS = 4096  # distinct label-key tuples worth sharing; past that each map keeps its own
_KEY_SETS: dict[tuple[str, ...], tuple[str, ...]] = {}


def text(value: Any) -> str:
    """`value` as an interned str ("" for None or empty)."""
    if not value:
        return ""
    return sys.intern(value if isinstance(value, str) else str(value))


class FrozenMap(Mapping[str, str]):
    """An immutable str → str mapping stored as a shared key tuple and a value tuple."""

    __slots__ = ("_keys", "_values")

    def __init__(self, data: Mapping[Any, Any] | None = None) -> None:
        items = data or {}
        keys = tuple(text(k) for k in items)
        shared = _KEY_SETS.get(keys)
        if shared is None:
            shared = keys
            if len(_KEY_SETS) < _MAX_KEY_SETS:
                _KEY_SETS[keys] = keys
        self._keys = shared
        self._values = tuple(text(v) for v in items.values())

    def __getitem__(self, key: str) -> str:
        try:
            return self._values[self._keys.index(key)]
        except ValueError:
            raise KeyError(key) from None

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"FrozenMap({dict(self)!r})"

    def __hash__(self) -> int:
        return hash((self._keys, self._values))


EMPTY = FrozenMap()
