"""The one backpressure rule between the watch and every client.

Every queue on the way from the informer to a client socket — a subscriber of the informer's
fan-out, a follower of a shared subscription stream, a transport's backlog — is a `CoalescingQueue`:

- **per-job coalescing**: at most one item per job waits; a newer item merges into the unconsumed
  one, so what waits is always the job's latest state, and a final state is never dropped;
- **bounded memory**: at most `limit` jobs wait; one more distinct job means the client cannot keep
  up, and the queue *overflows*: it is cleared and its consumer ends with `ResyncRequired` (a typed
  error telling it to subscribe again with a snapshot). Nothing is ever dropped silently.

Items without a job key (results we cannot attribute to one job) each take a slot of their own.
This module only decides; it does no I/O and knows nothing about GraphQL or Kubernetes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from prow_graphql.errors import ResyncRequired

V = TypeVar("V")

DEFAULT_LIMIT = 1000
"""Jobs a client may fall behind by before it must resync (shared streams, transports)."""

Merge = Callable[[V, V], "V | None"]
"""(queued, newer) → what waits instead (None: they cancel out, nothing waits)."""


def keep_newer(queued: V, newer: V) -> V | None:
    """The default merge: the newer state replaces the queued one."""
    return newer


def overflow_error(limit: int) -> ResyncRequired:
    """The error a consumer ends with when more than `limit` jobs wait for it."""
    return ResyncRequired(
        f"the client fell more than {limit} jobs behind the live feed; "
        "subscribe again (with includeSnapshot: true for prowJobEvents) to resync"
    )


class CoalescingQueue(Generic[V]):
    """At most one item per key, at most `limit` keys, first-queued first-out.

    `offer` never blocks and never drops an item silently: it returns False once the queue has
    overflowed (it is then empty and stays closed to new items).
    """

    __slots__ = ("_items", "_limit", "_merge", "coalesced", "overflowed")

    def __init__(self, limit: int, merge: Merge[V] = keep_newer) -> None:
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._limit = limit
        self._merge = merge
        self.overflowed = False
        self.coalesced = 0

    def offer(self, key: Hashable | None, item: V) -> bool:
        """Queue `item` of job `key` (None: a slot of its own); False if the queue overflowed."""
        if self.overflowed:
            return False
        items = self._items
        if key is None:
            key = object()
        elif key in items:
            self.coalesced += 1
            merged = self._merge(items[key], item)
            if merged is None:
                del items[key]
            else:
                # Keeps its place in line: a busy job must not starve the others.
                items[key] = merged
            return True
        if len(items) >= self._limit:
            items.clear()
            self.overflowed = True
            return False
        items[key] = item
        return True

    def put(self, key: Hashable, item: V) -> None:
        """Queue `item` unconditionally (no merge, no limit): a snapshot, or a last error."""
        self._items[key] = item

    def pop(self) -> V:
        """The oldest waiting item; IndexError when empty."""
        if not self._items:
            raise IndexError("pop from an empty CoalescingQueue")
        return self._items.popitem(last=False)[1]

    def clear(self) -> None:
        """Drop every waiting item (the consumer has gone)."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def get(self, key: Hashable) -> V | None:
        """The item waiting for `key`, if any."""
        return self._items.get(key)
