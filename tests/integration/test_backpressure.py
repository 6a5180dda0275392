"""The one backpressure rule, end to end: clients that stop reading while more than 1,000 changes
happen still get every job's final state, and a snapshot of any size streams past a small queue.

The gateway reads the fake API server through a kubeconfig; the jobs change server-side, all at
once, so the changes queue behind the paused clients. A paused WebSocket client stops reading its
socket (a small receive buffer, a one-frame client queue), so the gateway's sends block and its
per-client queues must coalesce; an informer subscriber that is never read stands for any other
consumer. Waits are bounded, never timed.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from prow_graphql.informer import ChangeKind, Informer
from tests.fakekube import FakeKubeServer
from tests.harness import RunningGateway, TransportWSClient, example_settings, serve

TIMEOUT = 30.0  # an upper bound on each wait, never a timing expectation
JOBS = 300
STEPS = 5  # per job: 1,500 changes in all, the last one final
FINAL = {"success", "failure"}
FINAL_SEEN = {"SUCCESS", "FAILURE"}  # as GraphQL spells them

EVENTS = """
subscription Events {
  prowJobEvents { type snapshot prowJob { name state description buildId resourceVersion } }
}
"""
EVENTS_SNAPSHOT = """
subscription EventsSnapshot {
  prowJobEvents(includeSnapshot: true) { type snapshot prowJob { name state description } }
}
"""
FOLLOW = """
subscription Follow($name: String!) { prowJobUpdated(name: $name) { name state description } }
"""


def name_of(i: int) -> str:
    return f"bp-{i:04d}"


def prowjob(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": name, "labels": {"prow.k8s.io/job": "periodic-bp"}},
        "spec": {"job": "periodic-bp", "type": "periodic", "agent": "kubernetes"},
        "status": {"state": "triggered", "startTime": "2026-01-01T00:00:00Z"},
    }


def steps(i: int) -> list[dict[str, Any]]:
    final = "failure" if i % 3 == 0 else "success"
    running = [{"description": f"step {n} of job {i}"} for n in range(STEPS - 2)]
    return [
        {"state": "pending", "build_id": str(10_000 + i), "pendingTime": "2026-01-01T00:00:01Z"},
        *running,
        {"state": final, "completionTime": "2026-01-01T00:00:02Z", "description": "done"},
    ]


@contextlib.asynccontextmanager
async def paused_client(
    url: str, compression: str | None = "deflate"
) -> AsyncIterator[TransportWSClient]:
    """A graphql-transport-ws client whose socket holds almost nothing unread (`compression`
    None: no permessage-deflate, so repetitive messages fill it as fast as their size says)."""
    host, port = url.removeprefix("ws://").split("/")[0].split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    async with websockets.connect(
        url,
        sock=sock,
        max_queue=1,
        compression=compression,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        ping_interval=None,
        # Frames may still wait unread at the end; closing need not wait for the server's reply.
        close_timeout=0.1,
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        yield TransportWSClient(ws)


@contextlib.asynccontextmanager
async def gateway(
    tmp_path: Path, *extra: str
) -> AsyncIterator[tuple[FakeKubeServer, RunningGateway, Informer]]:
    async with FakeKubeServer(bookmark_interval=None) as kube:
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
        settings = example_settings("--kubeconfig", str(kubeconfig), *extra, backend="kube")
        async with serve(settings) as gw:
            informer = gw.app.state.gateway.informer
            assert informer is not None
            await asyncio.wait_for(informer.synced.wait(), TIMEOUT)
            yield kube, gw, informer


async def read_until_final(
    client: TransportWSClient, ops: dict[str, str], names: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Every job's payloads (by job name) until each job was last seen in a final state."""
    seen: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)

    def done() -> bool:
        return all(seen[n] and seen[n][-1]["state"] in FINAL_SEEN for n in names)

    async with asyncio.timeout(TIMEOUT):
        while not done():
            message = await client.receive(timeout=TIMEOUT)
            if message["type"] == "complete":
                continue
            assert message["type"] == "next" and "errors" not in message["payload"], message
            root = ops[message["id"]]
            data = message["payload"]["data"][root]
            job = data["prowJob"] if root == "prowJobEvents" else data
            seen[job["name"]].append({**job, "type": data.get("type")})
    return seen


async def test_paused_clients_get_every_final_state_after_1000_changes(tmp_path: Path) -> None:
    async with gateway(tmp_path) as (kube, gw, informer):
        names = [name_of(i) for i in range(JOBS)]
        for name in names:
            kube.create_object(prowjob(name))
        await kube.wait_for(lambda: len(informer) == JOBS, within=TIMEOUT)

        async with (
            paused_client(gw.ws_url) as events,
            paused_client(gw.ws_url) as follows,
            informer.subscribe(snapshot=False) as never_read,
        ):
            listening = informer.subscriber_count
            ops = {await events.subscribe(EVENTS): "prowJobEvents"}
            ops[await events.subscribe(EVENTS_SNAPSHOT)] = "prowJobEvents"
            follow_ops = {}
            for name in names[:20]:  # two followers per job share one execution
                for _ in range(2):
                    follow_ops[await follows.subscribe(FOLLOW, {"name": name})] = "prowJobUpdated"
            await kube.wait_for(
                lambda: informer.subscriber_count >= listening + 2 + 20, within=TIMEOUT
            )

            # Every change happens while the clients read nothing; job by job, so the first
            # jobs' final states are followed by more than 1,000 other changes.
            changes = 0
            for i, name in enumerate(names):
                for step in steps(i):
                    kube.set_status(name, step)
                    changes += 1
            assert changes > 1000
            await kube.wait_for(
                lambda: all(r.state.value in FINAL for r in informer.records()), within=TIMEOUT
            )

            seen_events = await read_until_final(events, ops, names)
            seen_follows = await read_until_final(follows, follow_ops, names[:20])
            queued = [await anext(never_read) for _ in range(never_read.backlog)]

    frames = sum(len(v) for v in seen_events.values())
    # The paused clients were really held back: what reached them was coalesced.
    assert frames < 2 * changes + JOBS
    for name in names:
        assert seen_events[name][-1]["state"] in FINAL_SEEN
        assert seen_events[name][-1]["description"] == "done"
    for name in names[:20]:
        assert seen_follows[name][-1]["state"] in FINAL_SEEN
    # The subscriber that never read holds one change per job, each the job's final state.
    assert len(queued) == JOBS
    assert all(c.kind is ChangeKind.MODIFIED and c.record.state.value in FINAL for c in queued)
    assert never_read.coalesced == changes - JOBS


@pytest.mark.timeout(300)  # 20,000 objects listed and streamed: slow machines need longer
async def test_snapshot_of_20000_jobs_streams_past_a_queue_limit_of_100(tmp_path: Path) -> None:
    total = 20_000
    async with gateway(tmp_path, "--subscriber-queue-limit", "100") as (kube, gw, informer):
        for i in range(total):
            kube.create_object(prowjob(f"snap-{i:05d}"))
        await kube.wait_for(lambda: len(informer) == total, within=TIMEOUT * 2)
        async with TransportWSClient.connect(gw.ws_url) as client:
            op = await client.subscribe(EVENTS_SNAPSHOT)
            names: set[str] = set()
            changed = "snap-19999"
            changed_state: list[str] = []
            async with asyncio.timeout(TIMEOUT * 4):
                while len(names) < total or changed_state[-1:] != ["PENDING"]:
                    message = await client.receive(timeout=TIMEOUT)
                    assert message["id"] == op and message["type"] == "next", message
                    assert "errors" not in message["payload"], message
                    event = message["payload"]["data"]["prowJobEvents"]
                    job = event["prowJob"]
                    if job["name"] == changed:
                        changed_state.append(job["state"])
                    if not event["snapshot"]:
                        # Only the job changed during the snapshot, after its snapshot event.
                        assert (job["name"], event["type"]) == (changed, "MODIFIED"), event
                        assert job["name"] in names
                        continue
                    assert event["type"] == "ADDED" and job["name"] not in names, event
                    names.add(job["name"])
                    if len(names) == 1:
                        # A change while the snapshot streams: sent once, in its latest state
                        # (in the snapshot if not reached yet, else as a live change after it).
                        kube.set_status(changed, {"state": "pending"})
            assert changed_state in (["PENDING"], ["TRIGGERED", "PENDING"])
            # Then live changes, through the same bounded queue.
            kube.set_status("snap-00000", {"state": "pending"})
            message = await client.receive(timeout=TIMEOUT)
            event = message["payload"]["data"]["prowJobEvents"]
            assert (event["type"], event["snapshot"]) == ("MODIFIED", False), event
            assert event["prowJob"]["name"] == "snap-00000"
