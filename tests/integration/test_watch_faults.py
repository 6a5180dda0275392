"""The watch under fire: cuts, 410s, API-server restarts and 500s while 20 jobs change state.

Everything goes over real sockets: the gateway (kube backend) reaches the fake API server through a
kubeconfig, and every follower is a graphql-transport-ws client. The test drives the jobs itself
(server-side merge patches, as plank would write them) so each fault can be given a gap with
changes in it: patches made right after a fault is injected are queued behind the cut or the 410
and can only reach the gateway by a resumed watch or a relist.

Each test asserts that every subscriber receives every job's final state, that no subscriber sees a
state go backwards, that the informer's cache ends equal to the server's objects, and that the
informer's counters show the restarts and relists really happened.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from prow_graphql.informer import Informer, InformerStats
from tests.fakekube import FakeKubeServer
from tests.harness import RunningGateway, TransportWSClient, example_settings, serve

JOBS = 20
FINAL_STATES = ("SUCCESS", "FAILURE")
RANK = {"TRIGGERED": 0, "PENDING": 1, "SUCCESS": 2, "FAILURE": 2}
TIMEOUT = 15.0  # an upper bound on each phase, never a timing expectation

# Two followers per job share one execution (same document); the third runs its own.
FOLLOW_SHARED = """
subscription Follow($name: String!) {
  prowJobUpdated(name: $name) { name state resourceVersion }
}
"""
FOLLOW_OWN = """
subscription FollowDetail($name: String!) {
  prowJobUpdated(name: $name) { name state description buildId resourceVersion }
}
"""
DASHBOARD = """
subscription Dashboard {
  prowJobEvents { type snapshot prowJob { name state resourceVersion } }
}
"""
DASHBOARD_SNAPSHOT = """
subscription DashboardSnapshot {
  prowJobEvents(includeSnapshot: true) { type snapshot prowJob { name state resourceVersion } }
}
"""


def label(document: str) -> str:
    """The operation name of a subscription document, for assertion messages."""
    return document.split()[1].split("(")[0]


def job_name(i: int) -> str:
    return f"storm-{i:02d}"


def final_state(i: int) -> str:
    return "failure" if i % 4 == 0 else "success"


def prowjob(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": name, "labels": {"prow.k8s.io/job": "periodic-storm"}},
        "spec": {"job": "periodic-storm", "type": "periodic", "agent": "kubernetes"},
        "status": {"state": "triggered", "startTime": "2026-01-01T00:00:00Z"},
    }


def steps_for(i: int) -> list[dict[str, Any]]:
    """What plank writes for job `i`: pending with a BuildID, a new description, the end."""
    name = job_name(i)
    final = final_state(i)
    return [
        {
            "state": "pending",
            "build_id": str(1_000_000 + i),
            "pod_name": name,
            "pendingTime": "2026-01-01T00:00:01Z",
            "description": "Job triggered.",
        },
        {"description": f"Running ({name})."},
        {
            "state": final,
            "completionTime": "2026-01-01T00:00:02Z",
            "description": "Job failed." if final == "failure" else "Job succeeded.",
        },
    ]


@dataclass
class Follower:
    """One graphql-transport-ws connection following every job with one document."""

    client: TransportWSClient
    document: str
    ops: dict[str, str] = field(default_factory=dict)  # op id -> job name
    seen: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # job -> payloads

    async def subscribe_all(self, names: list[str]) -> None:
        for name in names:
            op = await self.client.subscribe(self.document, {"name": name})
            self.ops[op] = name
            self.seen[name] = []

    async def read_until_complete(self, live: asyncio.Event) -> None:
        """Record every `next` until each op completes; set `live` once every op has spoken."""
        open_ops = set(self.ops)
        while open_ops:
            message = await self.client.receive(timeout=TIMEOUT)
            op = message.get("id")
            assert op in self.ops, message
            if message["type"] == "complete":
                open_ops.discard(op)
                continue
            assert message["type"] == "next" and "errors" not in message["payload"], message
            self.seen[self.ops[op]].append(message["payload"]["data"]["prowJobUpdated"])
            if all(self.seen.values()):
                live.set()


@dataclass
class Dashboard:
    """A prowJobEvents subscriber; done once it has seen every job in a final state."""

    client: TransportWSClient
    document: str
    op: str = ""
    seen: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )

    async def read_until_final(self, names: list[str], live: asyncio.Event) -> None:
        while not all(
            self.seen[n] and self.seen[n][-1]["prowJob"]["state"] in FINAL_STATES for n in names
        ):
            message = await self.client.receive(timeout=TIMEOUT)
            assert message.get("id") == self.op and message["type"] == "next", message
            assert "errors" not in message["payload"], message
            event = message["payload"]["data"]["prowJobEvents"]
            self.seen[event["prowJob"]["name"]].append(event)
            if all(self.seen[n] for n in names):
                live.set()


@dataclass
class Storm:
    """The jobs, their pending steps (interleaved by a seeded RNG), and the fault helpers."""

    kube: FakeKubeServer
    informer: Informer
    rng: random.Random
    queues: dict[str, collections.deque[dict[str, Any]]] = field(default_factory=dict)

    @property
    def stats(self) -> InformerStats:
        return self.informer.stats

    @property
    def remaining(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def create_jobs(self) -> list[str]:
        names = [job_name(i) for i in range(JOBS)]
        for i, name in enumerate(names):
            self.kube.create_object(prowjob(name))
            self.queues[name] = collections.deque(steps_for(i))
        return names

    def advance(self, count: int) -> int:
        """Apply up to `count` steps server-side, at once (no await between them)."""
        done = 0
        while done < count:
            live = sorted(n for n, q in self.queues.items() if q)
            if not live:
                break
            name = self.rng.choice(live)
            self.kube.set_status(name, self.queues[name].popleft())
            done += 1
        return done

    def in_sync(self) -> bool:
        """True when the informer caches exactly the server's objects, version for version."""
        cached = {r.name: r.resource_version for r in self.informer.records()}
        server = {n: o["metadata"]["resourceVersion"] for n, o in self.kube.objects.items()}
        return cached == server

    async def settle(self) -> None:
        """Wait (event-driven) until the informer has caught up with the server."""
        try:
            async with asyncio.timeout(TIMEOUT), self.informer.subscribe(snapshot=False) as sub:
                while not self.in_sync():
                    await anext(sub)
        except TimeoutError:
            if self.in_sync():
                raise AssertionError("the cache caught up without publishing a change") from None
            cached = {r.name: r.resource_version for r in self.informer.records()}
            server = {n: o["metadata"]["resourceVersion"] for n, o in self.kube.objects.items()}
            behind = {n: (cached.get(n), rv) for n, rv in server.items() if cached.get(n) != rv}
            raise AssertionError(f"informer (cached, server) versions differ: {behind}") from None

    async def watch_open(self) -> None:
        await self.kube.wait_for(lambda: self.kube.open_watches == 1, within=TIMEOUT)

    async def until(self, predicate: Callable[[], bool]) -> None:
        # The informer's counters offer nothing to await; poll them, bounded.
        await self.kube.wait_for(predicate, within=TIMEOUT)

    # -- faults: each one leaves a gap with changes in it, then waits for recovery ----------

    async def cut(self, changes: int = 2) -> None:
        await self.watch_open()
        assert self.kube.cut_watches() == 1
        self.advance(changes)
        await self.settle()

    async def expire(self, changes: int = 2) -> None:
        """A 410 Expired ERROR event on the open watch: the informer must relist."""
        await self.watch_open()
        relists = self.stats.relists
        assert self.kube.expire_watches() == 1
        assert self.advance(changes) > 0  # else the cache could look in sync before the relist
        await self.settle()
        assert self.stats.relists == relists + 1

    async def compact_and_cut(self, changes: int = 2) -> None:
        """History forgotten behind the informer's version: resuming gets 410, then a relist."""
        await self.watch_open()
        relists = self.stats.relists
        assert self.kube.cut_watches() == 1
        assert self.advance(changes) > 0  # the informer's version must fall behind the floor
        self.kube.compact()
        await self.settle()
        assert self.stats.relists == relists + 1

    async def restart(self, changes: int = 2) -> None:
        """Stop the API server (connections refused), change jobs meanwhile, start it again."""
        errors = self.stats.errors
        await self.kube.stop()
        self.advance(changes)
        # The cut stream, then at least one refused reconnection.
        await self.until(lambda: self.stats.errors >= errors + 2)
        await self.kube.start()
        await self.settle()

    async def server_errors(self, count: int, verb: str, changes: int = 2) -> None:
        """The next `count` requests of `verb` answer 500 (after a cut, or a 410 for lists)."""
        await self.watch_open()
        errors = self.stats.errors
        self.kube.fail_next(count, status=500, verb=verb)
        if verb == "list":
            assert self.kube.expire_watches() == 1
        else:
            assert self.kube.cut_watches() == 1
        self.advance(changes)
        await self.settle()
        assert self.kube.app.faults.fail_remaining == 0
        assert self.stats.errors >= errors + count


@contextlib.asynccontextmanager
async def storm(tmp_path: Path, seed: int) -> AsyncIterator[tuple[Storm, RunningGateway]]:
    """A fake API server and a gateway on the kube backend reading it through a kubeconfig."""
    async with FakeKubeServer(bookmark_interval=None) as kube:
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
        settings = example_settings("--kubeconfig", str(kubeconfig), backend="kube")
        async with serve(settings) as gw:
            informer = gw.app.state.gateway.informer
            assert informer is not None
            await asyncio.wait_for(informer.synced.wait(), TIMEOUT)
            yield Storm(kube, informer, random.Random(seed)), gw


@contextlib.asynccontextmanager
async def subscribers(
    gw: RunningGateway, s: Storm
) -> AsyncIterator[tuple[list[Follower], list[Dashboard], asyncio.Task[None]]]:
    """Create the jobs with a dashboard already listening; then three followers per job and a
    snapshot dashboard. Yields once every subscriber has seen every job (so all are live)."""
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(TransportWSClient.connect(gw.ws_url)) for _ in range(5)
        ]
        early = Dashboard(clients[3], DASHBOARD)
        listening = s.informer.subscriber_count
        early.op = await early.client.subscribe(DASHBOARD)
        await s.until(lambda: s.informer.subscriber_count == listening + 1)
        names = s.create_jobs()
        await s.settle()
        followers = [
            Follower(clients[0], FOLLOW_SHARED),
            Follower(clients[1], FOLLOW_SHARED),
            Follower(clients[2], FOLLOW_OWN),
        ]
        late = Dashboard(clients[4], DASHBOARD_SNAPSHOT)
        late.op = await late.client.subscribe(DASHBOARD_SNAPSHOT)
        for f in followers:
            await f.subscribe_all(names)
        ready = [asyncio.Event() for _ in range(5)]
        readers = [f.read_until_complete(r) for f, r in zip(followers, ready[:3], strict=True)]
        readers += [
            d.read_until_final(names, r) for d, r in zip((early, late), ready[3:], strict=True)
        ]

        async def read_all() -> None:
            await asyncio.gather(*readers)

        task = asyncio.create_task(read_all())

        async def all_live() -> None:
            await asyncio.gather(*(r.wait() for r in ready))

        live = asyncio.create_task(all_live())
        try:
            await asyncio.wait({task, live}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()  # a reader failed before the storm: its assertion, not a timeout
            assert live.done(), "not every subscriber was live within the time limit"
            yield followers, [early, late], task
        finally:
            for pending in (live, task):
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending


async def finish(
    s: Storm, task: asyncio.Task[None], followers: list[Follower], dashboards: list[Dashboard]
) -> None:
    """Apply whatever steps are left and wait for every subscriber to see every final state."""
    while s.advance(1):
        pass
    await s.settle()
    try:
        async with asyncio.timeout(TIMEOUT):
            await asyncio.shield(task)
    except TimeoutError:
        missing = [
            (label(f.document), name, [u["state"] for u in updates])
            for f in followers
            for name, updates in f.seen.items()
            if not updates or updates[-1]["state"] not in FINAL_STATES
        ] + [
            (label(d.document), name, [e["prowJob"]["state"] for e in events])
            for d in dashboards
            for name, events in d.seen.items()
            if not events or events[-1]["prowJob"]["state"] not in FINAL_STATES
        ]
        raise AssertionError(f"subscribers without a final state: {missing}") from None


def assert_outcome(s: Storm, followers: list[Follower], dashboards: list[Dashboard]) -> None:
    """Final states everywhere, nothing backwards, and the cache equal to the server."""
    server = s.kube.objects
    expected = {n: o["status"]["state"].upper() for n, o in server.items()}
    assert sorted(expected.values()).count("FAILURE") == 5  # jobs 0, 4, 8, 12, 16
    assert set(expected.values()) <= set(FINAL_STATES)

    for f in followers:
        for name, updates in f.seen.items():
            states = [u["state"] for u in updates]
            ranks = [RANK[state] for state in states]
            assert ranks == sorted(ranks), (label(f.document), name, states)
            assert states[-1] == expected[name], (name, states)
            assert states.count(expected[name]) == 1, (name, states)
            assert updates[-1]["resourceVersion"] == server[name]["metadata"]["resourceVersion"]
    own = next(f for f in followers if f.document == FOLLOW_OWN)
    for name, updates in own.seen.items():
        assert updates[-1]["buildId"] == server[name]["status"]["build_id"]
        assert updates[-1]["description"] == server[name]["status"]["description"]

    for d in dashboards:
        assert set(d.seen) == set(expected)
        for name, events in d.seen.items():
            states = [e["prowJob"]["state"] for e in events]
            ranks = [RANK[state] for state in states]
            assert ranks == sorted(ranks), (label(d.document), name, states)
            assert states[-1] == expected[name], (name, states)
            last = events[-1]["prowJob"]["resourceVersion"]
            assert last == server[name]["metadata"]["resourceVersion"]
    early = dashboards[0]
    for events in early.seen.values():
        # Listening before the jobs existed: each one's life starts with its creation.
        assert (events[0]["type"], events[0]["prowJob"]["state"]) == ("ADDED", "TRIGGERED")
        assert not any(e["snapshot"] for e in events)

    cached = {r.name: (r.resource_version, r.state.value) for r in s.informer.records()}
    assert cached == {
        n: (o["metadata"]["resourceVersion"], o["status"]["state"]) for n, o in server.items()
    }


@pytest.mark.timeout(40)
async def test_24_watch_cuts_lose_nothing(tmp_path: Path) -> None:
    async with storm(tmp_path, seed=1) as (s, gw), subscribers(gw, s) as (fs, ds, task):
        before = dataclasses.replace(s.stats)
        for _ in range(24):
            await s.cut(changes=2)
        assert s.remaining > 0  # the cuts happened while jobs were still changing
        await finish(s, task, fs, ds)
        assert_outcome(s, fs, ds)
        assert s.stats.watch_restarts - before.watch_restarts >= 24
        assert s.stats.errors - before.errors >= 24
        assert s.stats.relists == before.relists  # a cut resumes from the last version seen


@pytest.mark.timeout(40)
async def test_gone_relists_emit_what_changed_in_the_gap(tmp_path: Path) -> None:
    async with storm(tmp_path, seed=2) as (s, gw), subscribers(gw, s) as (fs, ds, task):
        before = dataclasses.replace(s.stats)
        for _ in range(3):
            await s.expire(changes=3)
            await s.compact_and_cut(changes=3)
            await s.cut(changes=1)
        await s.server_errors(2, "list", changes=3)  # the relist itself fails twice first
        assert s.remaining > 0
        await finish(s, task, fs, ds)
        assert_outcome(s, fs, ds)
        assert s.stats.relists - before.relists == 7
        assert s.stats.lists - before.lists == 7
        assert s.stats.watch_restarts - before.watch_restarts >= 3


@pytest.mark.timeout(40)
async def test_api_server_restarts_and_500s(tmp_path: Path) -> None:
    async with storm(tmp_path, seed=3) as (s, gw), subscribers(gw, s) as (fs, ds, task):
        before = dataclasses.replace(s.stats)
        port = s.kube.port
        for _ in range(2):
            await s.restart(changes=4)
            assert s.kube.port == port
            await s.server_errors(3, "watch", changes=3)
            await s.cut(changes=2)
        assert s.remaining > 0
        await finish(s, task, fs, ds)
        assert_outcome(s, fs, ds)
        assert s.stats.errors - before.errors >= 2 * (2 + 3 + 1)
        assert s.stats.watch_restarts - before.watch_restarts >= 6
        # The server kept its history through the restarts: no relist was needed.
        assert s.stats.relists == before.relists


@pytest.mark.timeout(40)
async def test_mixed_storm_with_concurrent_changes(tmp_path: Path) -> None:
    """Faults in a seeded random order while a separate task keeps changing jobs."""
    async with storm(tmp_path, seed=4) as (s, gw), subscribers(gw, s) as (fs, ds, task):
        before = dataclasses.replace(s.stats)
        plan = ["cut"] * 20 + ["expire"] * 2 + ["compact"] * 2 + ["restart"] + ["500"] * 2
        s.rng.shuffle(plan)
        driver_rng = random.Random(40)

        async def drive() -> None:
            # At most 25 of the 60 steps, so every fault still has changes for its gap.
            for _ in range(25):
                s.advance(1)
                await asyncio.sleep(driver_rng.uniform(0.01, 0.1))  # a pace, not a wait

        driver = asyncio.create_task(drive())
        try:
            for fault in plan:
                if fault == "cut":
                    await s.cut(changes=1)
                elif fault == "expire":
                    await s.expire(changes=1)
                elif fault == "compact":
                    await s.compact_and_cut(changes=1)
                elif fault == "restart":
                    await s.restart(changes=1)
                else:
                    await s.server_errors(2, "watch", changes=1)
            async with asyncio.timeout(TIMEOUT):
                await driver
        finally:
            driver.cancel()
        await finish(s, task, fs, ds)
        assert_outcome(s, fs, ds)
        assert s.stats.watch_restarts - before.watch_restarts >= 20
        assert s.stats.relists - before.relists == 4
