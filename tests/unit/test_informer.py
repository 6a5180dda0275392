"""Informer: the pure cache update, the list+watch loop (resume, relist, backoff, watchdog) and the
coalescing fan-out, against the memory store behind a scripted wrapper."""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing
from typing import Any

import pytest

from prow_graphql.errors import ResyncRequired, Unavailable
from prow_graphql.informer import Change, ChangeKind, Informer, Subscription, apply, diff, is_newer
from prow_graphql.prow.objects import ProwJobRecord, ProwJobState
from prow_graphql.store.base import EventType, ListPage, ProwJobObject, ProwJobStore, WatchEvent
from prow_graphql.store.memory import MemoryStore

STATE_ORDER = {"scheduling": 0, "triggered": 1, "pending": 2, "success": 3, "failure": 3}


def prowjob(name: str, state: str = "triggered", rv: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns"}
    if rv is not None:
        meta["resourceVersion"] = rv
    return {
        "metadata": meta,
        "spec": {"type": "periodic", "job": "periodic-test"},
        "status": {"state": state},
    }


def record(name: str, state: str = "triggered", rv: str = "1") -> ProwJobRecord:
    return ProwJobRecord.from_object(prowjob(name, state, rv))


class ScriptedStore:
    """A MemoryStore behind knobs a test turns: injected failures, silent or gated watches,
    streams the "server" closes after a few events. Records every call."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner = inner
        self.list_failures = 0
        self.watch_failures = 0
        self.silent_watches = 0
        self.empty_watches = 0
        self.events_per_watch: int | None = None
        self.gate = asyncio.Event()
        self.gate.set()
        self.list_calls: list[str | None] = []
        self.list_each_calls: list[str] = []
        self.cut_whole_lists = 0  # whole lists that break after their first item
        self.collector_during_lists: list[bool] = []
        self.watch_calls: list[str] = []
        self.open_streams = 0
        self._watch_opened = asyncio.Condition()

    async def watches_opened(self, count: int) -> None:
        """Wait until `count` watches have been opened in all."""
        async with self._watch_opened:
            await asyncio.wait_for(
                self._watch_opened.wait_for(lambda: len(self.watch_calls) >= count), 5
            )

    async def create(self, obj: ProwJobObject) -> ProwJobObject:
        return await self.inner.create(obj)

    async def get(self, name: str) -> ProwJobObject:
        return await self.inner.get(name)

    async def list(
        self,
        *,
        label_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListPage:
        self.list_calls.append(continue_token)
        if self.list_failures:
            self.list_failures -= 1
            raise Unavailable("injected list failure")
        return await self.inner.list(
            label_selector=label_selector, limit=limit, continue_token=continue_token
        )

    async def list_each(
        self,
        on_item: Callable[[ProwJobObject], None],
        *,
        label_selector: str | None = None,
        resource_version: str = "0",
    ) -> str:
        self.list_each_calls.append(resource_version)
        self.collector_during_lists.append(gc.isenabled())
        if self.list_failures:
            self.list_failures -= 1
            raise Unavailable("injected list failure")
        if self.cut_whole_lists:
            self.cut_whole_lists -= 1
            on_item((await self.inner.list(limit=1)).items[0])
            raise Unavailable("list prowjobs: the list body is not valid JSON or ends early")
        return await self.inner.list_each(
            on_item, label_selector=label_selector, resource_version=resource_version
        )

    async def watch(
        self,
        resource_version: str,
        *,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncGenerator[WatchEvent, None]:
        self.watch_calls.append(resource_version)
        self.open_streams += 1
        try:
            async with self._watch_opened:
                self._watch_opened.notify_all()
            await self.gate.wait()
            if self.watch_failures:
                self.watch_failures -= 1
                raise Unavailable("injected watch failure")
            if self.silent_watches:
                self.silent_watches -= 1
                await asyncio.Event().wait()  # a dead connection: nothing, ever
            if self.empty_watches:
                self.empty_watches -= 1
                return
            sent = 0
            inner = self.inner.watch(
                resource_version, timeout_seconds=timeout_seconds, allow_bookmarks=allow_bookmarks
            )
            async with aclosing(inner) as events:
                async for event in events:
                    yield event
                    sent += 1
                    if not self.gate.is_set() or sent == self.events_per_watch:
                        return  # the server closes the stream
        finally:
            self.open_streams -= 1

    async def patch(self, name: str, patch: Mapping[str, Any]) -> ProwJobObject:
        return await self.inner.patch(name, patch)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def next_change(sub: Subscription) -> Change:
    return await asyncio.wait_for(anext(sub), 5)


@pytest.fixture
async def store() -> ScriptedStore:
    return ScriptedStore(MemoryStore("ns", bookmark_interval=60))


@pytest.fixture
async def informer(store: ScriptedStore) -> AsyncIterator[Informer]:
    backend: ProwJobStore = store  # the wrapper speaks the protocol (checked by mypy)
    informer = Informer(
        backend, inactivity_timeout=2.0, min_watch_duration=0.0, backoff_initial=0.001
    )
    yield informer
    await informer.stop()


# -- pure cache update ---------------------------------------------------------------------------


def test_is_newer_compares_numbers_and_trusts_opaque_versions() -> None:
    assert is_newer("10", "9")
    assert not is_newer("9", "10")
    assert not is_newer("9", "9")
    assert is_newer("abc", "9")


def test_apply_adds_modifies_deletes_and_skips_stale_events() -> None:
    cache: dict[str, ProwJobRecord] = {}
    added = apply(cache, WatchEvent(EventType.ADDED, prowjob("a", rv="5"), "5"))
    assert added is not None
    assert (added.kind, added.record.resource_version) == (ChangeKind.ADDED, "5")

    stale = WatchEvent(EventType.MODIFIED, prowjob("a", "pending", rv="4"), "4")
    assert apply(cache, stale) is None
    assert cache["a"].state is ProwJobState.TRIGGERED

    modified = apply(cache, WatchEvent(EventType.MODIFIED, prowjob("a", "pending", rv="6"), "6"))
    assert modified is not None
    assert (modified.kind, modified.record.state) == (ChangeKind.MODIFIED, ProwJobState.PENDING)

    replayed = WatchEvent(EventType.ADDED, prowjob("a", "pending", rv="6"), "6")
    assert apply(cache, replayed) is None

    unknown = apply(cache, WatchEvent(EventType.MODIFIED, prowjob("b", rv="7"), "7"))
    assert unknown is not None
    assert unknown.kind is ChangeKind.ADDED

    old_delete = WatchEvent(EventType.DELETED, prowjob("a", rv="3"), "3")
    assert apply(cache, old_delete) is None
    deleted = apply(cache, WatchEvent(EventType.DELETED, prowjob("a", "success", rv="8"), "8"))
    assert deleted is not None
    assert (deleted.kind, deleted.record.state) == (ChangeKind.DELETED, ProwJobState.SUCCESS)
    assert sorted(cache) == ["b"]

    assert apply(cache, WatchEvent(EventType.DELETED, prowjob("zz", rv="9"), "9")) is None
    bookmark = WatchEvent(EventType.BOOKMARK, {"metadata": {"resourceVersion": "10"}}, "10")
    assert apply(cache, bookmark) is None
    assert sorted(cache) == ["b"]


def test_diff_after_relist() -> None:
    old = {"a": record("a", rv="1"), "b": record("b", rv="2"), "c": record("c", rv="3")}
    new = {"a": record("a", rv="1"), "b": record("b", "pending", rv="5"), "d": record("d", rv="6")}
    changes = [(c.kind, c.record.name, c.record.resource_version) for c in diff(old, new)]
    assert changes == [
        (ChangeKind.MODIFIED, "b", "5"),
        (ChangeKind.ADDED, "d", "6"),
        (ChangeKind.DELETED, "c", "3"),
    ]


# -- the loop ------------------------------------------------------------------------------------


async def test_snapshot_then_live_changes(store: ScriptedStore, informer: Informer) -> None:
    await store.create(prowjob("a"))
    await store.create(prowjob("b"))
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    assert sorted(r.name for r in informer.records()) == ["a", "b"]
    async with informer.subscribe() as sub:
        first = [await next_change(sub), await next_change(sub)]
        assert [(c.kind, c.record.name, c.snapshot) for c in first] == [
            (ChangeKind.ADDED, "a", True),
            (ChangeKind.ADDED, "b", True),
        ]
        await store.patch("a", {"status": {"state": "pending"}})
        live = await next_change(sub)
    assert (live.kind, live.record.name, live.snapshot) == (ChangeKind.MODIFIED, "a", False)
    assert live.record.state is ProwJobState.PENDING
    got = informer.get("a")
    assert got is not None
    assert got.state is ProwJobState.PENDING
    assert informer.healthy


async def test_first_list_is_whole_from_the_watch_cache(store: ScriptedStore) -> None:
    for name in "abcde":
        await store.create(prowjob(name))
    informer = Informer(store, page_size=2, max_iterations=1)
    await informer.run()
    assert len(informer) == 5
    # One unpaginated list at resourceVersion "0" (client-go's first list), no pages.
    assert store.list_each_calls == ["0"]
    assert store.list_calls == []
    assert informer.stats.lists == 1
    assert informer.synced.is_set()


async def test_a_whole_first_list_cut_midway_is_not_tried_whole_again(
    store: ScriptedStore,
) -> None:
    for name in "abcde":
        await store.create(prowjob(name))
    store.cut_whole_lists = 5
    informer = Informer(store, page_size=2, backoff_initial=0.001, max_iterations=2)
    await informer.run()
    # The API server bounds each request, so the same whole list would be cut again: pages.
    assert store.list_each_calls == ["0"]
    assert len(store.list_calls) == 3
    assert len(informer) == 5 and informer.synced.is_set()


async def test_a_whole_first_list_refused_at_once_is_tried_whole_again(
    store: ScriptedStore,
) -> None:
    await store.create(prowjob("a"))
    store.list_failures = 2  # e.g. connection refused while the API server starts
    informer = Informer(store, backoff_initial=0.001, max_iterations=3)
    await informer.run()
    assert store.list_each_calls == ["0", "0", "0"]
    assert store.list_calls == []
    assert informer.synced.is_set()
    # The cyclic collector rests while a whole list arrives, and is back after every attempt.
    assert store.collector_during_lists == [False, False, False]
    assert gc.isenabled()


async def test_relist_after_gone_is_paginated(store: ScriptedStore) -> None:
    for name in "abcde":
        await store.create(prowjob(name))
    informer = Informer(
        store, page_size=2, inactivity_timeout=2.0, min_watch_duration=0.0, backoff_initial=0.001
    )
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    async with informer.subscribe(snapshot=False) as sub:
        store.gate.clear()  # the next event ends the stream; the next watch waits
        await store.create(prowjob("marker"))
        assert (await next_change(sub)).record.name == "marker"
        await store.watches_opened(2)
        await store.create(prowjob("f"))
        store.inner.compact()  # the waiting watch's version is now too old
        store.gate.set()
        assert (await next_change(sub)).record.name == "f"
    await informer.stop()
    assert store.list_each_calls == ["0"]
    # Seven jobs in pages of two: the first page without a token, three more with one.
    assert len(store.list_calls) == 4
    assert store.list_calls[0] is None and all(store.list_calls[1:])
    assert len(informer) == 7
    assert informer.stats.relists == 1


async def test_first_sync_is_delivered_as_snapshot_to_early_subscribers(
    store: ScriptedStore, informer: Informer
) -> None:
    await store.create(prowjob("a"))
    async with informer.subscribe() as sub:
        informer.start()
        change = await next_change(sub)
    assert (change.kind, change.record.name, change.snapshot) == (ChangeKind.ADDED, "a", True)


async def test_resume_from_last_version_after_stream_ends(
    store: ScriptedStore, informer: Informer
) -> None:
    store.events_per_watch = 1  # the "server" closes every stream after one event
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    seen: list[tuple[str, str]] = []
    async with informer.subscribe() as sub:
        for i in range(5):
            await store.create(prowjob(f"job-{i}"))
            change = await next_change(sub)
            seen.append((change.record.name, change.record.state.value))
            await store.patch(f"job-{i}", {"status": {"state": "pending"}})
            change = await next_change(sub)
            seen.append((change.record.name, change.record.state.value))
        await store.watches_opened(11)
        assert sub.backlog == 0
    assert seen == [(f"job-{i}", s) for i in range(5) for s in ("triggered", "pending")]
    # Each stream carried one event; each new watch started right after the last one seen.
    assert store.watch_calls == [str(v) for v in range(11)]
    assert informer.stats.relists == 0
    assert informer.stats.lists == 1
    assert informer.stats.watch_restarts == 10


async def test_relist_after_gone_emits_what_changed_meanwhile(
    store: ScriptedStore, informer: Informer
) -> None:
    for name in ("keep", "modify", "remove"):
        await store.create(prowjob(name))
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    async with informer.subscribe(snapshot=False) as sub:
        store.gate.clear()  # the next event ends the stream; the next watch waits
        await store.create(prowjob("marker"))
        assert (await next_change(sub)).record.name == "marker"
        await store.watches_opened(2)
        assert store.watch_calls == ["3", "4"]
        await store.patch("modify", {"status": {"state": "pending"}})
        await store.inner.delete("remove")
        await store.create(prowjob("new"))
        store.inner.compact()  # the watch from "4" is now too old
        store.gate.set()
        changes: dict[str, tuple[ChangeKind, str]] = {}
        while len(changes) < 3:
            change = await next_change(sub)
            changes[change.record.name] = (change.kind, change.record.state.value)
    assert changes == {
        "modify": (ChangeKind.MODIFIED, "pending"),
        "remove": (ChangeKind.DELETED, "triggered"),
        "new": (ChangeKind.ADDED, "triggered"),
    }
    assert informer.stats.relists == 1
    assert informer.stats.lists == 2
    assert sorted(r.name for r in informer.records()) == ["keep", "marker", "modify", "new"]


async def test_backoff_with_full_jitter_on_unavailable(store: ScriptedStore) -> None:
    store.list_failures = 3
    store.watch_failures = 2
    slept: list[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    informer = Informer(
        store,
        backoff_initial=1.0,
        backoff_max=3.0,
        sleep=fake_sleep,
        rng=random.Random(7),
        max_iterations=3 + 1 + 2,  # three failed lists, one list, two failed watches
    )
    await informer.run()
    reference = random.Random(7)
    # Ceilings double from 1 s, capped at 3 s; a successful list resets them.
    expected = [reference.uniform(0, c) for c in (1.0, 2.0, 3.0, 1.0, 2.0)]
    assert slept == pytest.approx(expected)
    assert all(0 <= d <= 3.0 for d in slept)
    assert informer.stats.errors == 5
    assert informer.stats.lists == 1
    assert informer.synced.is_set()
    assert store.watch_calls == ["0", "0"]  # retried from the list's version, no relist


async def test_inactivity_watchdog_restarts_a_silent_stream(store: ScriptedStore) -> None:
    store.silent_watches = 1
    informer = Informer(store, inactivity_timeout=0.05, min_watch_duration=0.0)
    informer.start()
    try:
        await asyncio.wait_for(informer.synced.wait(), 5)
        async with informer.subscribe() as sub:
            await store.create(prowjob("a"))
            change = await next_change(sub)
        assert change.record.name == "a"
        assert informer.stats.inactivity_restarts >= 1
        assert informer.stats.watch_restarts >= 1
        assert store.watch_calls[:2] == ["0", "0"]
    finally:
        await informer.stop()
    assert store.open_streams == 0  # the silent stream was closed, not leaked


async def test_short_watches_back_off_instead_of_spinning(store: ScriptedStore) -> None:
    slept: list[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    store.empty_watches = 3  # streams that close at once without a single event
    informer = Informer(store, sleep=fake_sleep, min_watch_duration=1.0, max_iterations=1 + 3)
    await informer.run()
    assert informer.stats.short_watches == 3
    assert informer.stats.errors == 0
    assert len(slept) == 3
    assert store.watch_calls == ["0", "0", "0"]


async def test_loop_death_is_reported_by_healthy(store: ScriptedStore) -> None:
    class Broken(ScriptedStore):
        async def list_each(self, *args: Any, **kwargs: Any) -> str:
            raise RuntimeError("a bug, not a backend error")

    informer = Informer(Broken(store.inner))
    task = informer.start()
    assert informer.healthy
    with pytest.raises(RuntimeError, match="a bug"):
        await task
    assert not informer.healthy
    assert not informer.synced.is_set()
    await informer.stop()


async def test_stop_cancels_cleanly_and_ends_subscriptions(
    store: ScriptedStore, informer: Informer
) -> None:
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    await store.watches_opened(1)
    assert store.open_streams == 1
    sub = informer.subscribe()
    await informer.stop()
    assert not informer.healthy
    assert store.open_streams == 0
    with pytest.raises(StopAsyncIteration):
        await next_change(sub)
    assert informer.subscriber_count == 0
    await informer.stop()  # idempotent


# -- fan-out -------------------------------------------------------------------------------------


async def test_slow_subscriber_gets_the_final_state_coalesced(
    store: ScriptedStore, informer: Informer
) -> None:
    await store.create(prowjob("busy"))
    await store.create(prowjob("quiet"))
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    async with informer.subscribe() as slow, informer.subscribe() as fast:
        assert {(await next_change(slow)).record.name for _ in range(2)} == {"busy", "quiet"}
        fast_seen = [(await next_change(fast)).record.name for _ in range(2)]
        assert sorted(fast_seen) == ["busy", "quiet"]
        for i in range(99):
            await store.patch("busy", {"status": {"description": f"step {i}"}})
            # The fast subscriber reads every change as it comes.
            assert (await next_change(fast)).record.description == f"step {i}"
        await store.patch("busy", {"status": {"state": "success", "description": "done"}})
        await next_change(fast)
        assert slow.backlog == 1
        change = await next_change(slow)
        assert slow.backlog == 0
    assert change.kind is ChangeKind.MODIFIED
    assert (change.record.state, change.record.description) == (ProwJobState.SUCCESS, "done")
    assert slow.coalesced == 99


async def test_unseen_added_stays_added_and_added_then_deleted_vanishes(
    store: ScriptedStore, informer: Informer
) -> None:
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    async with informer.subscribe() as sub, informer.subscribe() as probe:
        await store.create(prowjob("a"))
        await store.patch("a", {"status": {"state": "pending"}})
        await store.create(prowjob("gone"))
        await store.inner.delete("gone")
        await store.create(prowjob("last"))
        # The probe reads everything, so by its last change the informer has fanned out all.
        while (await next_change(probe)).record.name != "last":
            pass
        changes = [await next_change(sub) for _ in range(sub.backlog)]
    assert [(c.kind, c.record.name, c.record.state.value) for c in changes] == [
        (ChangeKind.ADDED, "a", "pending"),
        (ChangeKind.ADDED, "last", "triggered"),
    ]


async def test_state_never_goes_backwards_for_a_lagging_subscriber(
    store: ScriptedStore, informer: Informer
) -> None:
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    names = [f"job-{i}" for i in range(20)]
    rng = random.Random(3)
    history: dict[str, list[tuple[int, int]]] = {n: [] for n in names}

    async def consume(sub: Subscription) -> None:
        done: set[str] = set()
        async for change in sub:
            history[change.record.name].append(
                (STATE_ORDER[change.record.state.value], int(change.record.resource_version))
            )
            if change.record.is_final:
                done.add(change.record.name)
            if done == set(names):
                return
            for _ in range(rng.randrange(4)):
                await asyncio.sleep(0)

    async with informer.subscribe() as sub:
        reader = asyncio.create_task(consume(sub))
        for name in names:
            await store.create(prowjob(name))
        for state in ("pending", "success"):
            for name in names:
                await store.patch(name, {"status": {"state": state}})
                await asyncio.sleep(0)
        await asyncio.wait_for(reader, 10)
    for name, seen in history.items():
        assert seen == sorted(seen), name
        assert len({rv for _, rv in seen}) == len(seen), name  # no duplicates
        assert seen[-1][0] == STATE_ORDER["success"], name


async def test_thousand_subscribers_all_get_the_final_state(
    store: ScriptedStore, informer: Informer
) -> None:
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    names = [f"job-{i}" for i in range(10)]
    expected = {n: ("failure" if i % 2 else "success") for i, n in enumerate(names)}

    async def follow(sub: Subscription) -> dict[str, str]:
        final: dict[str, str] = {}
        async with sub:
            async for change in sub:
                if change.record.is_final:
                    final[change.record.name] = change.record.state.value
                    if len(final) == len(names):
                        break
        return final

    followers = [asyncio.create_task(follow(informer.subscribe())) for _ in range(1000)]
    for name in names:
        await store.create(prowjob(name))
    for name in names:
        await store.patch(name, {"status": {"state": "pending"}})
    for name in names:
        await store.patch(name, {"status": {"state": expected[name]}})
    results = await asyncio.wait_for(asyncio.gather(*followers), 30)
    assert all(r == expected for r in results)
    assert informer.subscriber_count == 0


async def test_predicate_reports_jobs_entering_and_leaving_the_selection(
    store: ScriptedStore, informer: Informer
) -> None:
    await store.create(prowjob("a"))
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    async with informer.subscribe(lambda r: r.state is ProwJobState.PENDING) as sub:
        await store.create(prowjob("b"))
        await store.patch("a", {"status": {"state": "pending"}})
        entered = await next_change(sub)
        await store.patch("a", {"status": {"state": "success"}})
        left = await next_change(sub)
        assert sub.backlog == 0
    assert (entered.kind, entered.record.name) == (ChangeKind.ADDED, "a")
    assert (left.kind, left.record.state) == (ChangeKind.DELETED, ProwJobState.SUCCESS)


async def test_subscription_by_name_sees_only_that_job(
    store: ScriptedStore, informer: Informer
) -> None:
    await store.create(prowjob("a"))
    await store.create(prowjob("b"))
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    async with informer.subscribe(name="b") as sub:
        snapshot = await next_change(sub)
        assert sub.backlog == 0
        await store.patch("a", {"status": {"state": "pending"}})
        await store.patch("b", {"status": {"state": "pending"}})
        change = await next_change(sub)
        assert informer.subscriber_count == 1
    assert (snapshot.kind, snapshot.record.name, snapshot.snapshot) == (ChangeKind.ADDED, "b", True)
    assert (change.kind, change.record.name) == (ChangeKind.MODIFIED, "b")
    assert informer.subscriber_count == 0


async def test_a_failing_predicate_ends_only_its_subscription(
    store: ScriptedStore, informer: Informer
) -> None:
    def broken(record: ProwJobRecord) -> bool:
        raise KeyError(record.name)

    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    async with informer.subscribe(broken) as bad, informer.subscribe() as good:
        await store.create(prowjob("a"))
        assert (await next_change(good)).record.name == "a"
        with pytest.raises(KeyError):
            await next_change(bad)
        await store.create(prowjob("b"))
        assert (await next_change(good)).record.name == "b"
    assert informer.healthy


async def test_subscriber_too_far_behind_must_resync(store: ScriptedStore) -> None:
    informer = Informer(store, subscriber_queue_limit=3)
    informer.start()
    try:
        await asyncio.wait_for(informer.synced.wait(), 5)
        sub = informer.subscribe()
        probe = informer.subscribe()
        for name in "abcd":
            await store.create(prowjob(name))
            assert (await next_change(probe)).record.name == name
        with pytest.raises(ResyncRequired, match="behind"):
            await next_change(sub)
        with pytest.raises(StopAsyncIteration):
            await next_change(sub)
        assert informer.subscriber_count == 1
    finally:
        await informer.stop()


async def test_wait_for_build_id(store: ScriptedStore, informer: Informer) -> None:
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    waiter = asyncio.create_task(informer.wait_for("a", lambda r: bool(r.build_id), 5))
    await asyncio.sleep(0)  # let the waiter subscribe
    assert informer.subscriber_count == 1
    await store.create(prowjob("a"))
    await store.patch("a", {"status": {"state": "pending", "build_id": "1234"}})
    found = await waiter
    assert found is not None
    assert found.build_id == "1234"
    assert informer.subscriber_count == 0

    # Already satisfied: answered from the snapshot.
    again = await informer.wait_for("a", lambda r: bool(r.build_id), 5)
    assert again is not None
    assert again.build_id == "1234"


async def test_wait_for_gives_up_on_timeout_deletion_and_final_state(
    store: ScriptedStore, informer: Informer
) -> None:
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    assert await informer.wait_for("nobody", lambda r: True, 0.05) is None

    await store.create(prowjob("doomed"))
    waiter = asyncio.create_task(informer.wait_for("doomed", lambda r: bool(r.build_id), 5))
    await asyncio.sleep(0)  # let the waiter subscribe
    assert informer.subscriber_count == 1
    await store.inner.delete("doomed")
    assert await waiter is None

    await store.create(prowjob("errored"))
    waiter = asyncio.create_task(informer.wait_for("errored", lambda r: bool(r.build_id), 5))
    await asyncio.sleep(0)  # let the waiter subscribe
    assert informer.subscriber_count == 1
    await store.patch("errored", {"status": {"state": "error"}})
    assert await waiter is None
    assert informer.subscriber_count == 0


async def test_fan_out_to_a_thousand_idle_subscribers_is_cheap(
    store: ScriptedStore, informer: Informer
) -> None:
    await store.create(prowjob("a"))
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    subs = [informer.subscribe(snapshot=False) for _ in range(1000)]
    probe = informer.subscribe(snapshot=False)
    updates = 200
    started = time.perf_counter()
    for i in range(updates):
        await store.patch("a", {"status": {"description": str(i)}})
    while (await next_change(probe)).record.description != str(updates - 1):
        pass
    per_event = (time.perf_counter() - started) / updates
    assert all(s.backlog == 1 for s in subs)
    # Generous bound for a loaded CI machine; the report quotes the measured figure.
    assert per_event < 0.01, f"{per_event * 1000:.2f} ms per event"
