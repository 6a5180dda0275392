"""One list+watch loop per process: a cache of ProwJobRecords by name and a fan-out to subscribers.

The loop lists (as list_policy says: first whole from the API server's cache, relists paged),
marks itself synced, watches from the list's resourceVersion, resumes
from the last version seen when a stream ends, relists on Gone (emitting what changed meanwhile),
backs off with full jitter on backend errors, and restarts a watch that stays silent too long.
Subscribers get a snapshot, then changes through bounded queues that coalesce by job name, so the
loop never waits for a consumer. Speaks only the `ProwJobStore` protocol; imports no backend.

Over 400 lines on purpose: the loop, the cache and the subscriber lists share one state that each
event updates together; the pure parts already live in cache_update, cache_index and fanout.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prow_graphql.cache_index import CacheIndex
from prow_graphql.cache_update import apply, diff, is_newer
from prow_graphql.errors import BackendError, Gone, Unavailable
from prow_graphql.fanout import Change, ChangeKind, Predicate, Subscription
from prow_graphql.list_policy import ListPolicy
from prow_graphql.prow.objects import ProwJobRecord
from prow_graphql.store.base import EventType, ProwJobStore, WatchEvent

logger = logging.getLogger(__name__)

__all__ = [
    "CacheStatus",
    "Change",
    "ChangeKind",
    "Informer",
    "InformerStats",
    "Predicate",
    "Subscription",
    "apply",
    "diff",
    "is_newer",
]

Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class InformerStats:
    """Counters of the loop's life, for metrics and tests."""

    lists: int = 0
    relists: int = 0
    watches: int = 0
    watch_restarts: int = 0
    inactivity_restarts: int = 0
    short_watches: int = 0
    errors: int = 0
    events: int = 0
    bookmarks: int = 0
    ignored_events: int = 0


@dataclass(frozen=True, slots=True)
class CacheStatus:
    """How fresh the cache is, for /readyz and for clients."""

    synced: bool
    last_synced_at: float | None  # Unix time the API server last confirmed the cache
    failing_for: float  # seconds list/watch has been failing (0 while healthy)
    stale: bool  # failing for at least `stale_after`
    size: int


class _ShortWatch(Exception):
    """A watch ended at once without a single event: back off instead of spinning."""


class Informer:
    """The list+watch loop, its cache and its subscribers; `start()` runs it as a task."""

    def __init__(
        self,
        store: ProwJobStore,
        *,
        label_selector: str | None = None,
        page_size: int = 500,
        watch_timeout_seconds: int = 300,
        inactivity_timeout: float | None = None,
        min_watch_duration: float = 1.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 10.0,
        subscriber_queue_limit: int = 10_000,
        stale_after: float = 120.0,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        max_iterations: int | None = None,
    ) -> None:
        self._store = store
        self._lists = ListPolicy(store, label_selector, page_size)
        self._watch_timeout = watch_timeout_seconds
        # A watch ends on its own after watch_timeout_seconds; only a dead stream is silent longer.
        self._inactivity_timeout = (
            inactivity_timeout if inactivity_timeout is not None else watch_timeout_seconds + 30.0
        )
        self._min_watch_duration = min_watch_duration
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._queue_limit = subscriber_queue_limit
        self._stale_after = stale_after
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._max_iterations = max_iterations
        self._cache: dict[str, ProwJobRecord] = {}
        self._index = CacheIndex()
        # Copy-on-write, so fan-out iterates without copying and subscribers may leave meanwhile.
        self._subscribers: tuple[Subscription, ...] = ()
        self._by_name: dict[str, tuple[Subscription, ...]] = {}
        self._resume_rv: str | None = None
        self._from_list = False
        self._attempt = 0
        self._gone_streak = 0
        self._task: asyncio.Task[None] | None = None
        self.synced = asyncio.Event()
        self.stats = InformerStats()
        # Staleness: when the API server last confirmed the cache (wall clock, for clients), and
        # since when list/watch keep failing (monotonic; None while healthy).
        self.last_synced_at: float | None = None
        self._failing_since: float | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Run the loop as a background task (or return the running one)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="prowjob-informer")
            self._task.add_done_callback(self._on_done)
        return self._task

    async def stop(self) -> None:
        """Cancel the loop, wait for it, and end every subscription (queued changes still drain)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        for sub in (*self._subscribers, *(s for subs in self._by_name.values() for s in subs)):
            sub._end(None)

    def failing_for(self) -> float:
        """Seconds the list/watch has been failing without a success in between (0 if not)."""
        since = self._failing_since
        return 0.0 if since is None else time.monotonic() - since

    def status(self) -> CacheStatus:
        """Synced?, when last confirmed, failing how long, stale?, size."""
        failing = self.failing_for()
        return CacheStatus(
            synced=self.synced.is_set(),
            last_synced_at=self.last_synced_at,
            failing_for=failing,
            stale=failing >= self._stale_after,
            size=len(self._cache),
        )

    async def wait_synced(self, timeout: float) -> None:  # noqa: ASYNC109 -- Unavailable is the contract
        """Return once the first list is complete; Unavailable after `timeout` seconds."""
        if self.synced.is_set():
            return
        try:
            async with asyncio.timeout(timeout):
                await self.synced.wait()
        except TimeoutError:
            raise Unavailable(
                f"the ProwJob cache has not synced with the Kubernetes API within {timeout:g}s"
            ) from None

    def _confirmed(self) -> None:
        """The API server just answered: the cache is as fresh as it can be."""
        self.last_synced_at = time.time()
        self._failing_since = None

    def _failed(self) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()

    @property
    def healthy(self) -> bool:
        """True while the loop task is running."""
        return self._task is not None and not self._task.done()

    def _on_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            logger.error("prowjob informer died", exc_info=exc)
        elif self._max_iterations is None:
            logger.error("prowjob informer stopped unexpectedly")

    # -- cache -----------------------------------------------------------------------------

    def get(self, name: str) -> ProwJobRecord | None:
        """The cached record of ProwJob `name`, if any."""
        return self._cache.get(name)

    def records(self) -> list[ProwJobRecord]:
        """A snapshot of every cached record."""
        return list(self._cache.values())

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def index(self) -> CacheIndex:
        """Secondary indexes of the cache (read them, never change them)."""
        return self._index

    # -- fan-out ---------------------------------------------------------------------------

    def subscribe(
        self, predicate: Predicate | None = None, *, snapshot: bool = True, name: str | None = None
    ) -> Subscription:
        """Changes of the jobs matching `predicate` (and called `name`, if given): first the cached
        ones (ADDED, snapshot=True) when `snapshot`, then live ones. Await `synced` first for a
        complete snapshot. Subscriptions by `name` cost nothing when other jobs change."""
        sub = Subscription(
            self, predicate, self._queue_limit, name, snapshot=snapshot and name is None
        )
        if snapshot and name is not None:
            found = self._cache.get(name)
            if found is not None and (predicate is None or predicate(found)):
                sub._put_snapshot(found)
        if name is None:
            self._subscribers = (*self._subscribers, sub)
        else:
            self._by_name[name] = (*self._by_name.get(name, ()), sub)
        return sub

    def snapshot_page(self, after: str | None, limit: int) -> Sequence[ProwJobRecord]:
        """Up to `limit` cached records whose names sort after `after` (all if None), by name."""
        order = self._index.names
        start = 0 if after is None else bisect.bisect_right(order, after)
        cache = self._cache
        return [cache[n] for n in order[start : start + limit]]

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscribers) + sum(len(subs) for subs in self._by_name.values())

    async def wait_for(
        self,
        name: str,
        predicate: Predicate,
        timeout: float | None,  # noqa: ASYNC109 -- a None result on timeout is the contract
    ) -> ProwJobRecord | None:
        """The first state of job `name` satisfying `predicate`; None on timeout, when the job
        is deleted, or when it reaches a final state that does not satisfy it."""
        try:
            async with asyncio.timeout(timeout), self.subscribe(name=name) as sub:
                async for change in sub:
                    if change.kind is ChangeKind.DELETED:
                        return None
                    if predicate(change.record):
                        return change.record
                    if change.record.is_final:
                        return None
        except TimeoutError:
            return None
        return None

    def _unsubscribe(self, sub: Subscription) -> None:
        if sub._name is None:
            self._subscribers = tuple(s for s in self._subscribers if s is not sub)
            return
        rest = tuple(s for s in self._by_name.get(sub._name, ()) if s is not sub)
        if rest:
            self._by_name[sub._name] = rest
        else:
            self._by_name.pop(sub._name, None)

    def _publish(self, change: Change, old: ProwJobRecord | None) -> None:
        name = change.record.name
        for sub in self._by_name.get(name, ()):
            sub._offer(name, change, old)
        for sub in self._subscribers:
            sub._offer(name, change, old)

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """The loop itself; runs until cancelled (or for `max_iterations` list/watch attempts)."""
        iterations = 0
        while self._max_iterations is None or iterations < self._max_iterations:
            iterations += 1
            try:
                if self._resume_rv is None:
                    await self._list()
                else:
                    await self._watch(self._resume_rv)
            except Gone as exc:
                logger.info("prowjob watch expired, listing again: %s", exc)
                self.stats.relists += 1
                self._resume_rv = None
                self._gone_streak += 1
                if self._gone_streak > 1:
                    # A fresh list's version was refused too (a lagging replica answering 504
                    # "too large"): relisting at once would hammer the API server.
                    await self._backoff()
            except _ShortWatch:
                self.stats.short_watches += 1
                self._failed()
                await self._backoff()
            except BackendError as exc:
                self.stats.errors += 1
                self._failed()
                logger.warning("prowjob list/watch failed (%s): %s", type(exc).__name__, exc)
                await self._backoff()

    async def _backoff(self) -> None:
        # Full jitter: uniform over [0, min(max, initial * 2^attempt)].
        ceiling = min(self._backoff_max, self._backoff_initial * 2 ** min(self._attempt, 30))
        self._attempt += 1
        await self._sleep(self._rng.uniform(0, ceiling))

    async def _list(self) -> None:
        records: dict[str, ProwJobRecord] = {}

        def keep(obj: Mapping[str, Any]) -> None:
            record = self._reuse(obj)
            records[record.name] = record

        list_rv = await self._lists.list(keep, first=not self.synced.is_set())
        if not list_rv:
            raise Unavailable("the list response carries no resourceVersion")
        old, self._cache = self._cache, records
        self._index.rebuild(records.values())
        self.stats.lists += 1
        initial = not self.synced.is_set()
        for change in diff(old, records):
            if initial:
                change = Change(change.kind, change.record, True)
            self._publish(change, old.get(change.record.name))
        self._resume_rv = list_rv
        self._from_list = True
        self._attempt = 0
        self._confirmed()
        self.synced.set()

    def _reuse(self, obj: Mapping[str, Any]) -> ProwJobRecord:
        meta = obj.get("metadata") or {}
        cached = self._cache.get(str(meta.get("name", "")))
        if cached is not None and cached.resource_version == str(meta.get("resourceVersion", "")):
            return cached
        return ProwJobRecord.from_object(obj)

    async def _watch(self, resource_version: str) -> None:
        self.stats.watches += 1
        if not self._from_list:
            self.stats.watch_restarts += 1
        self._from_list = False
        loop = asyncio.get_running_loop()
        started = loop.time()
        received = False
        stream = self._store.watch(
            resource_version, timeout_seconds=self._watch_timeout, allow_bookmarks=True
        )
        events = aiter(stream)
        try:
            while True:
                deadline = asyncio.timeout(self._inactivity_timeout)
                try:
                    async with deadline:
                        event = await anext(events)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    if not deadline.expired():
                        raise
                    self.stats.inactivity_restarts += 1
                    self._failed()
                    logger.warning(
                        "prowjob watch silent for %.1fs, restarting", self._inactivity_timeout
                    )
                    return
                received = True
                self._attempt = 0
                self._gone_streak = 0
                self._confirmed()
                self._handle(event)
        except BackendError:
            # A stream that stayed up a while was healthy: its failure starts a fresh backoff
            # (a proxy cutting idle connections must not push reconnects towards backoff_max).
            if loop.time() - started >= self._min_watch_duration:
                self._attempt = 0
            raise
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        if not received and loop.time() - started < self._min_watch_duration:
            raise _ShortWatch
        self._confirmed()  # the server ended a healthy stream on time

    def _handle(self, event: WatchEvent) -> None:
        if event.resource_version:
            self._resume_rv = event.resource_version
        if event.type is EventType.BOOKMARK:
            self.stats.bookmarks += 1
            return
        self.stats.events += 1
        name = (event.object.get("metadata") or {}).get("name")
        old = self._cache.get(name) if isinstance(name, str) else None
        change = apply(self._cache, event)
        if change is None:
            self.stats.ignored_events += 1
            return
        if old is None:
            self._index.add(change.record)
        elif change.kind is ChangeKind.DELETED:
            self._index.remove(old)
        else:
            self._index.replace(old, change.record)
        self._publish(change, old)
