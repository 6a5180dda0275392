"""PlankSimulator: moves ProwJobs through plank's states on the memory store; SnowflakeIds."""

from __future__ import annotations

import asyncio
import random
import re
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest

from prow_graphql.informer import Informer
from prow_graphql.prow.objects import ProwJobRecord, ProwJobState, parse_time
from prow_graphql.store.base import EventType
from prow_graphql.store.memory import MemoryStore
from prow_graphql.store.simulator import LABEL_SIM_RESULT, PlankSimulator, SnowflakeIds


def prowjob(
    name: str, *, state: str = "triggered", agent: str = "kubernetes", **labels: str
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {"type": "periodic", "job": f"periodic-{name}", "agent": agent, "cluster": "b01"},
        "status": {"state": state, "startTime": "2026-01-02T03:04:05Z"},
    }


class Recorder:
    """Every state each job went through, read from a watch of the store from the beginning."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.objects: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._changed = asyncio.Condition()

    async def run(self) -> None:
        async with aclosing(self.store.watch("0")) as events:
            async for event in events:
                if event.type is EventType.BOOKMARK:
                    continue
                self.objects[event.object["metadata"]["name"]].append(event.object)
                async with self._changed:
                    self._changed.notify_all()

    def states(self, name: str) -> list[str]:
        return [o["status"]["state"] for o in self.objects[name]]

    async def reached(self, name: str, state: str) -> dict[str, Any]:
        """The first version of job `name` in `state` (waits for it, bounded)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: state in self.states(name)), 5)
        return next(o for o in self.objects[name] if o["status"]["state"] == state)


@pytest.fixture
async def store() -> MemoryStore:
    return MemoryStore("ns")


@pytest.fixture
async def recorder(store: MemoryStore) -> AsyncIterator[Recorder]:
    recorder = Recorder(store)
    task = asyncio.create_task(recorder.run())
    yield recorder
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def running(simulator: PlankSimulator) -> asyncio.Task[None]:
    task = asyncio.create_task(simulator.run())
    await asyncio.sleep(0)
    return task


async def stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def url_for(obj: dict[str, Any], build_id: str) -> str:
    return f"https://prow.example.com/view/gs/bucket/logs/{obj['spec']['job']}/{build_id}"


def simulator(store: MemoryStore, **kwargs: Any) -> PlankSimulator:
    options: dict[str, Any] = {"pending_after": 0.01, "complete_after": 0.01}
    options.update(kwargs)
    return PlankSimulator(store, **options)


# -- build ids -----------------------------------------------------------------------------------


def test_snowflake_layout_for_a_known_clock() -> None:
    ids = SnowflakeIds(clock=lambda: 1_700_000_000.0)
    # (1700000000000 ms - Twitter epoch 1288834974657 ms) << 22 | node 1 << 12 | sequence
    assert ids.next() == "1724551110456250368"
    assert ids.next() == "1724551110456250369"


def test_snowflake_ids_stay_unique_and_increasing() -> None:
    ticks = iter([1_700_000_000.0] * 5000 + [1_699_999_999.0] * 10 + [1_700_000_000.5] * 3)
    ids = SnowflakeIds(clock=lambda: next(ticks))
    values = [int(ids.next()) for _ in range(5013)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)
    assert all(len(str(v)) == 19 for v in values)
    assert all((v >> 12) & 0x3FF == 1 for v in values)  # node 1


# -- the simulator -------------------------------------------------------------------------------


async def test_triggered_job_goes_pending_then_succeeds(
    store: MemoryStore, recorder: Recorder
) -> None:
    task = await running(simulator(store, url_for=url_for))
    try:
        await store.create(prowjob("a"))
        pending = await recorder.reached("a", "pending")
        done = await recorder.reached("a", "success")
    finally:
        await stopped(task)
    assert recorder.states("a") == ["triggered", "pending", "success"]
    status = pending["status"]
    assert re.fullmatch(r"[1-9][0-9]{18}", status["build_id"])
    assert status["pod_name"] == "a"
    assert status["description"] == "Job triggered."
    assert status["url"] == url_for(pending, status["build_id"])
    assert status["url"].endswith(f"/logs/periodic-a/{status['build_id']}")
    assert parse_time(status["pendingTime"]) is not None
    assert "completionTime" not in status
    final = done["status"]
    assert final["description"] == "Job succeeded."
    assert parse_time(final["completionTime"]) is not None
    assert final["build_id"] == status["build_id"]
    assert done["spec"]["cluster"] == "b01"


async def test_a_failing_url_for_leaves_the_url_out(store: MemoryStore, recorder: Recorder) -> None:
    def broken(obj: dict[str, Any], build_id: str) -> str:
        raise KeyError("decoration_config")

    task = await running(simulator(store, url_for=broken))
    try:
        await store.create(prowjob("a"))
        pending = await recorder.reached("a", "pending")
        await recorder.reached("a", "success")
    finally:
        await stopped(task)
    assert "url" not in pending["status"]
    assert pending["status"]["build_id"]


async def test_failure_rate_and_the_result_label(store: MemoryStore, recorder: Recorder) -> None:
    task = await running(simulator(store, failure_rate=1.0, rng=random.Random(1)))
    try:
        await store.create(prowjob("unlucky"))
        await store.create(prowjob("forced-ok", **{LABEL_SIM_RESULT: "success"}))
        failed = await recorder.reached("unlucky", "failure")
        await recorder.reached("forced-ok", "success")
    finally:
        await stopped(task)
    assert failed["status"]["description"] == "Job failed."
    assert parse_time(failed["status"]["completionTime"]) is not None

    task = await running(simulator(store, failure_rate=0.0))
    try:
        await store.create(prowjob("forced-fail", **{LABEL_SIM_RESULT: "failure"}))
        await recorder.reached("forced-fail", "failure")
    finally:
        await stopped(task)


async def test_scheduling_job_is_promoted_keeping_its_cluster(
    store: MemoryStore, recorder: Recorder
) -> None:
    task = await running(simulator(store))
    try:
        await store.create(prowjob("s", state="scheduling"))
        triggered = await recorder.reached("s", "triggered")
        await recorder.reached("s", "success")
    finally:
        await stopped(task)
    assert recorder.states("s") == ["scheduling", "triggered", "pending", "success"]
    assert triggered["spec"]["cluster"] == "b01"
    assert "build_id" not in triggered["status"]


async def test_jobs_existing_before_start_are_picked_up(
    store: MemoryStore, recorder: Recorder
) -> None:
    await store.create(prowjob("waiting"))
    await store.create(prowjob("running", state="pending"))
    await store.create(prowjob("finished", state="success"))
    task = await running(simulator(store))
    try:
        await recorder.reached("waiting", "success")
        await recorder.reached("running", "success")
    finally:
        await stopped(task)
    assert recorder.states("finished") == ["success"]


async def test_aborted_jobs_are_left_alone(store: MemoryStore, recorder: Recorder) -> None:
    sim = simulator(store, pending_after=0.05, complete_after=0.05)
    task = await running(sim)
    try:
        # Aborted while triggered: the simulator's pending step must not touch it.
        await store.create(prowjob("early"))
        await store.patch("early", {"status": {"state": "aborted"}})
        await store.create(prowjob("witness-1"))  # due after "early": proves its step ran
        await recorder.reached("witness-1", "pending")

        # Aborted while pending: the completion step must not touch it.
        await store.create(prowjob("late"))
        await recorder.reached("late", "pending")
        await store.patch("late", {"status": {"state": "aborted"}})
        await store.create(prowjob("witness-2"))
        await recorder.reached("witness-2", "success")
    finally:
        await stopped(task)
    assert recorder.states("early") == ["triggered", "aborted"]
    assert recorder.states("late") == ["triggered", "pending", "aborted"]
    assert sim.tracked == 0


async def test_deleted_and_foreign_agent_jobs_are_ignored(
    store: MemoryStore, recorder: Recorder
) -> None:
    sim = simulator(store, pending_after=0.05)
    task = await running(sim)
    try:
        await store.create(prowjob("jenkins", agent="jenkins"))
        await store.create(prowjob("deleted"))
        await store.delete("deleted")
        await store.create(prowjob("witness"))
        await recorder.reached("witness", "success")
    finally:
        await stopped(task)
    assert recorder.states("jenkins") == ["triggered"]
    assert recorder.states("deleted") == ["triggered", "triggered"]  # ADDED, then DELETED
    assert sim.tracked == 0


async def test_build_ids_are_unique_across_jobs(store: MemoryStore, recorder: Recorder) -> None:
    task = await running(simulator(store, pending_after=0.0, complete_after=0.5))
    names = [f"job-{i}" for i in range(20)]
    try:
        for name in names:
            await store.create(prowjob(name))
        pending = [await recorder.reached(name, "pending") for name in names]
    finally:
        await stopped(task)
    build_ids = [int(p["status"]["build_id"]) for p in pending]
    assert len(set(build_ids)) == 20
    order = sorted(pending, key=lambda p: int(p["metadata"]["resourceVersion"]))
    by_time = [int(p["status"]["build_id"]) for p in order]
    assert by_time == sorted(by_time)  # issued in the order the jobs were started


async def test_run_cancels_cleanly(store: MemoryStore) -> None:
    before = asyncio.all_tasks()
    task = await running(simulator(store, pending_after=30))
    await store.create(prowjob("a"))
    await asyncio.sleep(0)
    await stopped(task)
    leftovers = asyncio.all_tasks() - before
    assert not any(t.get_name().startswith("plank-simulator") for t in leftovers)
    assert ProwJobRecord.from_object(await store.get("a")).state is ProwJobState.TRIGGERED


async def test_informer_sees_the_build_id_the_simulator_writes(store: MemoryStore) -> None:
    informer = Informer(store)
    informer.start()
    task = await running(simulator(store, url_for=url_for))
    try:
        await asyncio.wait_for(informer.synced.wait(), 5)
        await store.create(prowjob("a"))
        started = await informer.wait_for("a", lambda r: bool(r.build_id), 5)
        finished = await informer.wait_for("a", lambda r: r.is_final, 5)
    finally:
        await stopped(task)
        await informer.stop()
    assert started is not None
    assert started.state is ProwJobState.PENDING
    assert started.url.endswith(started.build_id)
    assert finished is not None
    assert finished.state is ProwJobState.SUCCESS
    assert finished.completion_time is not None
