"""The one backpressure rule: the queue itself, shared-stream followers paused while more than
1,000 results queue, and informer snapshots far larger than the live queue's limit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from strawberry.types.execution import ExecutionResult

from prow_graphql.backpressure import CoalescingQueue
from prow_graphql.errors import ResyncRequired
from prow_graphql.fanout import Change, ChangeKind, merge_changes
from prow_graphql.informer import Informer
from prow_graphql.prow.objects import ProwJobRecord
from prow_graphql.schema.sharing import DirectFollower, SharedStreams
from prow_graphql.store.memory import MemoryStore

JOBS, STEPS = 300, 5  # 1,500 results, job by job: early final states precede 1,000+ others


def event(name: str, kind: str, state: str) -> ExecutionResult:
    job = {"name": name, "state": state}
    return ExecutionResult(data={"prowJobEvents": {"type": kind, "prowJob": job}}, errors=None)


def storm() -> list[ExecutionResult]:
    results = []
    for i in range(JOBS):
        name = f"job-{i:03d}"
        results.append(event(name, "ADDED", "TRIGGERED"))
        results += [event(name, "MODIFIED", "PENDING") for _ in range(STEPS - 2)]
        results.append(event(name, "MODIFIED", "SUCCESS"))
    return results


def last_states(sent: list[Any]) -> dict[str, tuple[str, str]]:
    seen: dict[str, tuple[str, str]] = {}
    for result in sent:
        data = result.data["prowJobEvents"]
        seen[data["prowJob"]["name"]] = (data["type"], data["prowJob"]["state"])
    return seen


def record(name: str, state: str = "triggered") -> ProwJobRecord:
    return ProwJobRecord.from_object(
        {
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": "1"},
            "spec": {"type": "periodic", "job": "j"},
            "status": {"state": state},
        }
    )


# -- the queue ------------------------------------------------------------------------------------


def test_one_item_per_job_in_first_queued_order() -> None:
    queue: CoalescingQueue[str] = CoalescingQueue(limit=3)
    for key, item in [("a", "a1"), ("b", "b1"), ("a", "a2"), ("c", "c1"), ("b", "b2")]:
        assert queue.offer(key, item)
    assert [queue.pop() for _ in range(len(queue))] == ["a2", "b2", "c1"]
    assert queue.coalesced == 2


def test_overflow_is_explicit_never_a_silent_drop() -> None:
    queue: CoalescingQueue[int] = CoalescingQueue(limit=2)
    assert queue.offer("a", 1) and queue.offer("b", 2)
    assert not queue.offer("c", 3)
    assert queue.overflowed and len(queue) == 0
    assert not queue.offer("a", 4)  # closed: the consumer must resync


def test_added_then_deleted_cancels_out_and_unseen_added_stays_added() -> None:
    queue: CoalescingQueue[Change] = CoalescingQueue(limit=10, merge=merge_changes)
    queue.offer("a", Change(ChangeKind.ADDED, record("a")))
    queue.offer("a", Change(ChangeKind.MODIFIED, record("a", "pending")))
    queue.offer("b", Change(ChangeKind.ADDED, record("b")))
    queue.offer("b", Change(ChangeKind.DELETED, record("b")))
    change = queue.pop()
    assert (change.kind, change.record.state.value) == (ChangeKind.ADDED, "pending")
    assert len(queue) == 0


# -- shared-stream followers -----------------------------------------------------------------------


async def test_a_paused_direct_follower_gets_every_final_state_of_1500_results() -> None:
    gate = asyncio.Event()
    sent: list[Any] = []

    async def deliver(item: Any) -> None:
        if not sent and not gate.is_set():
            await gate.wait()  # the client's socket is full until the storm is over
        sent.append(item)

    follower = DirectFollower(deliver, replay=False)
    for result in storm():
        follower.push(result)
    follower.close()
    gate.set()
    await asyncio.wait_for(follower.done, 5)
    seen = last_states(sent)
    assert len(seen) == JOBS
    # The first (in flight) result went out as it was, then its job's last state; every other
    # job is coalesced to one event, still ADDED (the client never saw it), in its final state.
    assert seen.pop("job-000") == ("MODIFIED", "SUCCESS")
    assert set(seen.values()) == {("ADDED", "SUCCESS")}
    assert len(sent) == JOBS + 1


async def test_a_follower_behind_more_jobs_than_the_limit_gets_a_typed_error() -> None:
    gate = asyncio.Event()
    sent: list[Any] = []

    async def deliver(item: Any) -> None:
        if not gate.is_set():
            await gate.wait()
        sent.append(item)

    follower = DirectFollower(deliver, replay=False, limit=100)
    for result in storm():
        follower.push(result)
    gate.set()
    await asyncio.wait_for(follower.done, 5)
    error = sent[-1].errors[0]
    assert error.extensions == {"code": "RESYNC_REQUIRED"} and "resync" in error.message
    assert len(sent) == 2  # the send in flight, then the error: nothing else, nothing silent


async def test_a_paused_queue_follower_gets_every_final_state_of_1500_results() -> None:
    shared = SharedStreams()
    produced = asyncio.Event()

    async def source() -> AsyncGenerator[Any, None]:
        for result in storm():
            yield result
        produced.set()
        await asyncio.Event().wait()  # a live stream stays open

    async def start() -> AsyncGenerator[Any, None]:
        return source()

    stream = shared.join(("doc", None, "{}"), False, start)
    first = await asyncio.wait_for(anext(stream), 5)  # joined and live; then it pauses
    await asyncio.wait_for(produced.wait(), 5)
    sent = [first]
    with contextlib.suppress(TimeoutError):
        while True:
            sent.append(await asyncio.wait_for(anext(stream), 0.05))
    await stream.aclose()
    seen = last_states(sent)
    assert len(seen) == JOBS
    assert all(state == "SUCCESS" for _, state in seen.values())


# -- informer snapshots ----------------------------------------------------------------------------


async def test_snapshot_of_20000_jobs_with_a_queue_limit_of_100() -> None:
    store = MemoryStore("ns")
    total = 20_000
    for i in range(total):
        await store.create(
            {
                "metadata": {"name": f"snap-{i:05d}"},
                "spec": {"type": "periodic", "job": "j"},
                "status": {"state": "triggered"},
            }
        )
    informer = Informer(store, subscriber_queue_limit=100)
    informer.start()
    try:
        await asyncio.wait_for(informer.synced.wait(), 30)
        names: list[str] = []
        async with informer.subscribe() as sub:
            first = await anext(sub)
            names.append(first.record.name)
            # Changes while the snapshot streams: one job it has read, one it has not.
            await store.patch("snap-00000", {"status": {"state": "pending"}})
            await store.patch("snap-19999", {"status": {"state": "pending"}})
            live: list[Change] = []
            while len(names) < total or not live:
                change = await asyncio.wait_for(anext(sub), 5)
                if change.snapshot:
                    names.append(change.record.name)
                    if change.record.name == "snap-19999":
                        # Not reached when it changed: the snapshot reads its new state.
                        assert change.record.state.value == "pending"
                else:
                    live.append(change)
            assert sub.backlog == 0
        assert names == sorted(names) and len(set(names)) == total
        assert [(c.kind, c.record.name, c.record.state.value) for c in live] == [
            (ChangeKind.MODIFIED, "snap-00000", "pending")
        ]
    finally:
        await informer.stop()


async def test_a_snapshot_subscriber_still_overflows_on_live_changes() -> None:
    store = MemoryStore("ns")
    informer = Informer(store, subscriber_queue_limit=3)
    informer.start()
    try:
        await asyncio.wait_for(informer.synced.wait(), 5)
        async with informer.subscribe() as sub, informer.subscribe() as probe:
            for i in range(4):
                await store.create(
                    {"metadata": {"name": f"n{i}"}, "spec": {"type": "periodic", "job": "j"}}
                )
                await asyncio.wait_for(anext(probe), 5)
            with pytest.raises(ResyncRequired):
                await asyncio.wait_for(anext(sub), 5)
    finally:
        await informer.stop()
