"""A least-recently-used map bounded by the total weight (≈ bytes) of its values.

Entry counts do not bound memory when one entry can be a 256 KiB document or a megabyte result;
every cache that holds caller-chosen data weighs it and evicts by weight.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

K = TypeVar("K")
V = TypeVar("V")


class ByteLRU(Generic[K, V]):
    """At most `max_bytes` of values (as weighed by the caller); a value heavier than
    `max_bytes // 4` is never kept, so one entry cannot flush the rest."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        # Results of config-only queries may be computed in worker threads.
        self._lock = threading.Lock()

    @property
    def weight(self) -> int:
        return self._weight

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: K, value: V, weight: int) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            if weight > self.max_bytes // 4:
                return
            self._entries[key] = (value, weight)
            self._weight += weight
            while self._weight > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._weight -= dropped

    def pop_oldest(self) -> None:
        """Drop the least recently used entry, if any."""
        with self._lock:
            if self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._weight -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0


F = TypeVar("F", bound=Callable[..., Any])


def short_text_cache(maxsize: int, max_chars: int = 8192) -> Callable[[F], F]:
    """functools.lru_cache for functions of (text, ...), skipped for texts over `max_chars`.

    Clients repeat a few short documents; caching every document would pin up to `maxsize`
    request bodies (256 KiB each by default) in memory.
    """

    def decorate(function: F) -> F:
        cached = functools.lru_cache(maxsize=maxsize)(function)

        @functools.wraps(function)
        def wrapper(text: str, *args: Any) -> Any:
            if len(text) > max_chars:
                return function(text, *args)
            return cached(text, *args)

        return cast(F, wrapper)

    return decorate
