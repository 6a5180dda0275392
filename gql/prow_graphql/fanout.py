"""One subscriber of the informer's fan-out: its snapshot, read in pages, then its live changes.

Live changes wait in a `backpressure.CoalescingQueue` (the one rule: per-job coalescing, bounded,
explicit resync on overflow). The snapshot is *not* queued: it is read from the cache a page at a
time, in name order, when the subscriber asks for more, so a snapshot of any size costs the
subscriber one page of memory and never counts against the live queue's limit. A live change of a
job the snapshot has not reached yet is skipped: the snapshot will read that job's state then.
"""

from __future__ import annotations

import asyncio
import collections
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from prow_graphql.backpressure import CoalescingQueue, overflow_error
from prow_graphql.prow.objects import ProwJobRecord

Predicate = Callable[[ProwJobRecord], bool]

SNAPSHOT_PAGE = 200
"""Cached jobs read per snapshot page (bounds what a subscriber holds of its snapshot)."""


class ChangeKind(enum.StrEnum):
    """What happened to a job, from the cache's (or a subscriber's) point of view."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class Change:
    """One change of one job; `snapshot` marks the initial state a subscriber is given."""

    kind: ChangeKind
    record: ProwJobRecord
    snapshot: bool = False


_ADDED, _MODIFIED, _DELETED = ChangeKind.ADDED, ChangeKind.MODIFIED, ChangeKind.DELETED


def merge_changes(queued: Change, newer: Change) -> Change | None:
    """Two unconsumed changes of one job as one: an unseen ADDED stays ADDED, ADDED then DELETED
    cancel out, DELETED then ADDED is a MODIFIED (the subscriber knew the old job of that name)."""
    if queued.kind is _ADDED:
        if newer.kind is _DELETED:
            return None
        return Change(_ADDED, newer.record, queued.snapshot)
    if queued.kind is _DELETED and newer.kind is _ADDED:
        return Change(_MODIFIED, newer.record, newer.snapshot)
    return newer


def visible(predicate: Predicate, change: Change, old: ProwJobRecord | None) -> Change | None:
    """`change` as seen through `predicate`: a job entering the selection is ADDED for this
    subscriber, one leaving it is DELETED (as a Kubernetes label-selector watch reports it)."""
    if change.kind is ChangeKind.DELETED:
        return change if predicate(old or change.record) else None
    now = predicate(change.record)
    before = old is not None and predicate(old)
    if now and (before or change.kind is ChangeKind.ADDED):
        return change
    if now:
        return Change(ChangeKind.ADDED, change.record, change.snapshot)
    if before:
        return Change(ChangeKind.DELETED, change.record, change.snapshot)
    return None


class Source(Protocol):
    """What a subscription needs from the informer."""

    def snapshot_page(self, after: str | None, limit: int) -> Sequence[ProwJobRecord]:
        """Up to `limit` cached records whose names sort after `after`, in name order."""
        ...

    def _unsubscribe(self, sub: Subscription) -> None: ...


class Subscription:
    """An async iterator of Changes for one subscriber; an async context manager that unsubscribes.

    With `snapshot`, the cached jobs come first (ADDED, snapshot=True), then live changes. If more
    than `limit` distinct jobs wait, the subscriber is too slow: the iterator raises
    ResyncRequired (subscribe again). If its predicate raises, the iterator raises that error.
    Iterate it from one task only.
    """

    def __init__(
        self,
        source: Source,
        predicate: Predicate | None,
        limit: int,
        name: str | None,
        *,
        snapshot: bool = False,
    ) -> None:
        self._source = source
        self._predicate = predicate
        self._name = name
        self._limit = limit
        self._queue: CoalescingQueue[Change] = CoalescingQueue(limit, merge_changes)
        # Snapshot paging: open until a short page; `_after` is the last name read from the cache.
        self._snapshot_open = snapshot
        self._after: str | None = None
        self._page: collections.deque[Change] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._error: Exception | None = None
        self.delivered = 0
        if snapshot:
            # The first page now: a snapshot of a small cache is taken whole at subscribe time.
            self._read_snapshot_page()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Change:
        while True:
            if self._page:
                self.delivered += 1
                return self._page.popleft()
            if self._snapshot_open:
                self._read_snapshot_page()
                continue
            if self._queue:
                self.delivered += 1
                return self._queue.pop()
            if self._error is not None:
                error, self._error = self._error, None
                raise error
            if self._closed:
                raise StopAsyncIteration
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None

    def _read_snapshot_page(self) -> None:
        records = self._source.snapshot_page(self._after, SNAPSHOT_PAGE)
        if len(records) < SNAPSHOT_PAGE:
            self._snapshot_open = False
        if records:
            self._after = records[-1].name
        predicate = self._predicate
        self._page.extend(
            Change(_ADDED, r, True) for r in records if predicate is None or predicate(r)
        )

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Unsubscribe and drop whatever is still queued."""
        self._queue.clear()
        self._page.clear()
        self._snapshot_open = False
        self._end(None)

    @property
    def backlog(self) -> int:
        """How many live changes (one per job at most) wait to be consumed."""
        return len(self._queue)

    @property
    def coalesced(self) -> int:
        """How many live changes merged into one still waiting."""
        return self._queue.coalesced

    def _put_snapshot(self, record: ProwJobRecord) -> None:
        """Queue one job's current state as its snapshot (subscriptions by name)."""
        self._queue.put(record.name, Change(_ADDED, record, True))

    def _offer(self, name: str, change: Change, old: ProwJobRecord | None) -> None:
        """Queue `change` of job `name` without waiting; the informer calls it for every change."""
        if self._snapshot_open and (self._after is None or name > self._after):
            return  # the snapshot has yet to read this job: it will read its state then
        if self._predicate is not None:
            try:
                seen = visible(self._predicate, change, old)
            except Exception as exc:
                # A broken filter ends its own subscription, never the informer's loop.
                self._queue.clear()
                self._end(exc)
                return
            if seen is None:
                return
            change = seen
        if not self._queue.offer(name, change):
            self._page.clear()
            self._snapshot_open = False
            self._end(overflow_error(self._limit))
            return
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _end(self, error: Exception | None) -> None:
        """Stop receiving: queued changes are still delivered, then `error` or the end."""
        if not self._closed:
            self._closed = True
            self._error = error
            self._source._unsubscribe(self)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
