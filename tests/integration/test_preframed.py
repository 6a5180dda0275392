"""Shared subscriptions written as pre-built frames (schema/wsframes.py, app/ws_protocol.py), over
real sockets: the same messages as the ordinary send path, a paused client falls back to that path
with bounded buffers and still gets the final state, and clients that vanish mid-fan-out break
nobody else. Waits are bounded, never timed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import websockets

from prow_graphql.app.ws_protocol import FramingWebSocketProtocol
from tests.fakekube import FakeKubeServer
from tests.harness import RunningGateway, example_settings, serve
from tests.integration.test_backpressure import paused_client

TIMEOUT = 30.0  # an upper bound on each wait, never a timing expectation
FOLLOW = (
    "subscription Follow($name: String!) "
    "{ prowJobUpdated(name: $name) { name state description buildId } }"
)
# Operation ids of different lengths and escapes: each frame's envelope is built per id.
OP_IDS = ("1", "a-much-longer-operation-id-0123456789", 'q"\\ü')
DONE = "2026-01-01T00:00:02Z"


def prowjob(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": name, "labels": {"prow.k8s.io/job": "periodic-pf"}},
        "spec": {"job": "periodic-pf", "type": "periodic", "agent": "kubernetes"},
        "status": {"state": "triggered", "startTime": "2026-01-01T00:00:00Z"},
    }


@contextlib.asynccontextmanager
async def kube_and_settings(tmp_path: Path) -> AsyncIterator[tuple[FakeKubeServer, Any]]:
    async with FakeKubeServer(bookmark_interval=None) as kube:
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
        yield kube, example_settings("--kubeconfig", str(kubeconfig), backend="kube")


async def synced(gw: RunningGateway, kube: FakeKubeServer, name: str) -> None:
    informer = gw.app.state.gateway.informer
    await kube.wait_for(lambda: informer.get(name) is not None, within=TIMEOUT)


@contextlib.asynccontextmanager
async def connection(url: str, **options: Any) -> AsyncIterator[websockets.ClientConnection]:
    async with websockets.connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        ping_interval=None,
        close_timeout=0.1,
        **options,
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        assert ack["type"] == "connection_ack", ack
        yield ws


async def subscribe(ws: websockets.ClientConnection, op_id: str, name: str) -> None:
    payload = {"query": FOLLOW, "variables": {"name": name}}
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))


async def next_text(ws: websockets.ClientConnection) -> str:
    """The next message's text exactly as received (pings answered and skipped)."""
    while True:
        text = await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert isinstance(text, str)
        if json.loads(text)["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        return text


def state_of(text: str) -> dict[str, Any]:
    message = json.loads(text)
    assert message["type"] == "next" and "errors" not in message["payload"], message
    job: dict[str, Any] = message["payload"]["data"]["prowJobUpdated"]
    return job


async def test_preframed_messages_are_the_ordinary_paths_messages(tmp_path: Path) -> None:
    async with (
        kube_and_settings(tmp_path) as (kube, settings),
        serve(settings) as framed,
        serve(settings, ws="websockets-sansio") as ordinary,  # uvicorn's own: no frame sink
        contextlib.AsyncExitStack() as stack,
    ):
        kube.create_object(prowjob("pf-same"))
        await synced(framed, kube, "pf-same")
        await synced(ordinary, kube, "pf-same")
        # On each gateway, one connection per operation id: some with permessage-deflate
        # negotiated (websockets' default, as browsers do), one without.
        clients: dict[tuple[str, str], websockets.ClientConnection] = {}
        for label, gw in (("framed", framed), ("ordinary", ordinary)):
            for op_id in OP_IDS:
                compression = None if op_id == "1" else "deflate"
                ws = await stack.enter_async_context(connection(gw.ws_url, compression=compression))
                await subscribe(ws, op_id, "pf-same")
                clients[label, op_id] = ws
        texts: dict[tuple[str, str], list[str]] = {key: [] for key in clients}

        async def receive_all() -> None:
            for key, ws in clients.items():
                texts[key].append(await next_text(ws))

        await receive_all()  # the job's current state
        changes = [
            {"state": "pending", "build_id": "4242", "pendingTime": "2026-01-01T00:00:01Z"},
            {"description": 'unicode ü → ✓ and "quotes" and \\ backslashes'},
            {"description": "x" * 300},  # a frame with a 16-bit length
            {"state": "success", "completionTime": "2026-01-01T00:00:02Z", "description": "ok"},
        ]
        for change in changes:
            kube.set_status("pf-same", change)
            await receive_all()

        framed_streams = framed.app.state.gateway.shared_streams
        ordinary_streams = ordinary.app.state.gateway.shared_streams

    for op_id in OP_IDS:
        # Text for text, as decoded from the frames: the same bytes the ordinary path sends.
        assert texts["framed", op_id] == texts["ordinary", op_id]
        assert all(json.loads(t)["id"] == op_id for t in texts["framed", op_id])
    states = [state_of(t)["state"] for t in texts["framed", "1"]]
    assert states == ["TRIGGERED", "PENDING", "PENDING", "PENDING", "SUCCESS"]
    assert state_of(texts["framed", "1"][2])["description"] == changes[1]["description"]
    # The framed gateway really wrote the uncompressed connection's messages pre-framed; the
    # connections that negotiated permessage-deflate took the ordinary (compressing) path, and
    # the other gateway never could pre-frame.
    assert framed_streams.preframed == len(changes) + 1
    assert framed_streams.preframe_declined >= (len(OP_IDS) - 1) * (len(changes) + 1)
    assert ordinary_streams.preframed == 0


def server_buffers(gw: RunningGateway) -> list[int]:
    """Bytes waiting in the gateway's user-space write buffer, per WebSocket connection."""
    return [
        protocol.transport.get_write_buffer_size()
        for protocol in gw.server.server_state.connections
        if isinstance(protocol, FramingWebSocketProtocol)
    ]


async def test_a_paused_client_falls_back_gets_the_final_state_and_stays_bounded(
    tmp_path: Path,
) -> None:
    changes, size = 400, 16384
    async with (
        kube_and_settings(tmp_path) as (kube, settings),
        serve(settings) as gw,
        paused_client(gw.ws_url, compression=None) as paused,
        connection(gw.ws_url, compression=None) as reader,
    ):
        kube.create_object(prowjob("pf-paused"))
        await synced(gw, kube, "pf-paused")
        await subscribe(paused.ws, "p", "pf-paused")
        await subscribe(reader, "r", "pf-paused")
        await next_text(reader)
        peak = 0
        for n in range(changes):
            description = f"change {n} " + "y" * size if n < changes - 1 else "done"
            state = {"state": "success", "completionTime": DONE} if n == changes - 1 else {}
            kube.set_status("pf-paused", {**state, "description": description})
            # The reading client keeps up; the paused one reads nothing meanwhile.
            while state_of(await next_text(reader))["description"] != description:
                pass
            peak = max([peak, *server_buffers(gw)])
        shared = gw.app.state.gateway.shared_streams
        # More than 6 MiB was sent to the paused client's socket, which holds a few KiB:
        # the rest waited as the one backpressure rule says, not in its transport buffer.
        assert changes * size > 6 << 20
        assert peak <= 64 * 1024 + 2 * size  # asyncio's high-water mark, plus a frame
        assert shared.preframe_declined > 0  # the paused client took the ordinary path...
        assert shared.preframed >= changes  # ...and the reading one stayed pre-framed
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(TIMEOUT):
            while not seen or seen[-1]["state"] != "SUCCESS":
                message = await paused.receive(timeout=TIMEOUT)
                assert message["id"] == "p" and message["type"] == "next", message
                seen.append(message["payload"]["data"]["prowJobUpdated"])
    assert seen[-1]["description"] == "done"
    assert len(seen) < changes  # coalesced while paused, final state kept


async def test_clients_that_vanish_mid_fan_out_break_nobody_else(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with (
        kube_and_settings(tmp_path) as (kube, settings),
        serve(settings) as gw,
        contextlib.AsyncExitStack() as stack,
    ):
        kube.create_object(prowjob("pf-vanish"))
        await synced(gw, kube, "pf-vanish")
        clients = [await stack.enter_async_context(connection(gw.ws_url)) for _ in range(40)]
        for ws in clients:
            await subscribe(ws, "1", "pf-vanish")
        for ws in clients:
            await next_text(ws)
        staying, leaving = clients[::2], clients[1::2]
        changes = 60
        for n in range(changes):
            final = {"state": "success", "completionTime": DONE, "description": "done"}
            kube.set_status("pf-vanish", final if n == changes - 1 else {"description": f"c{n}"})
            if n % 3 == 0 and leaving:
                # Reset, not closed: the gateway finds out while writing the change just made.
                leaving.pop().transport.abort()
            await asyncio.sleep(0)
        assert not leaving
        for ws in staying:
            last: dict[str, Any] = {}
            async with asyncio.timeout(TIMEOUT):
                while last.get("state") != "SUCCESS":
                    last = state_of(await next_text(ws))
            assert last["description"] == "done"
        shared = gw.app.state.gateway.shared_streams
        await kube.wait_for(lambda: shared.active == 0, within=TIMEOUT)
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not problems, [r.getMessage() for r in problems]


class RecordingProtocol(FramingWebSocketProtocol):
    """The gateway's protocol, recording what it writes for operation "p" and when the app has
    finished handling the client's `complete` for it (it then asks for the next message)."""

    late: ClassVar[list[str]] = []
    handled: ClassVar[set[int]] = set()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._completed_p = False

    async def receive(self) -> Any:
        if self._completed_p:
            RecordingProtocol.handled.add(id(self))
        message = await super().receive()
        text = message.get("text") or ""
        if '"type":"complete"' in text.replace(" ", "") and '"id":"p"' in text.replace(" ", ""):
            self._completed_p = True
        return message

    def _note(self, text: str) -> None:
        if id(self) in RecordingProtocol.handled and '"id":"p"' in text and "pf-a" in text:
            RecordingProtocol.late.append(text[:80])

    def write_frame(self, frame: bytes) -> bool:
        written = super().write_frame(frame)
        if written:
            self._note(frame.decode(errors="replace"))
        return written

    async def send(self, message: Any) -> None:
        await super().send(message)
        self._note(message.get("text") or "")


async def test_no_next_goes_out_for_an_operation_the_client_completed(tmp_path: Path) -> None:
    """A paused client with a send in flight and a backlog completes `p` and reuses the id for
    another job: nothing for the old job may be written once the complete was handled (the
    client would take it for the new subscription's)."""
    RecordingProtocol.late.clear()
    RecordingProtocol.handled.clear()
    async with (
        kube_and_settings(tmp_path) as (kube, settings),
        serve(settings, ws=RecordingProtocol) as gw,
        paused_client(gw.ws_url, compression=None) as paused,
        connection(gw.ws_url, compression=None) as reader,
    ):
        kube.create_object(prowjob("pf-a"))
        kube.create_object(prowjob("pf-b"))
        await synced(gw, kube, "pf-a")
        await synced(gw, kube, "pf-b")
        await subscribe(paused.ws, "p", "pf-a")
        await subscribe(reader, "r", "pf-a")
        await next_text(reader)
        for n in range(200):
            description = f"change {n} " + "z" * 16384
            kube.set_status("pf-a", {"description": description})
            while state_of(await next_text(reader))["description"] != description:
                pass
        assert gw.app.state.gateway.shared_streams.preframe_declined > 0  # a send in flight
        await paused.ws.send(json.dumps({"id": "p", "type": "complete"}))
        await subscribe(paused.ws, "p", "pf-b")
        names: list[str] = []
        async with asyncio.timeout(TIMEOUT):
            while "pf-b" not in names:
                message = await paused.receive(timeout=TIMEOUT)
                names.append(message["payload"]["data"]["prowJobUpdated"]["name"])
        assert RecordingProtocol.handled, "the app never asked for the message after `complete`"
    assert RecordingProtocol.late == []


class TrackedProtocol(FramingWebSocketProtocol):
    """The gateway's protocol, remembering (weakly) every instance."""

    instances: ClassVar[list[weakref.ref[FramingWebSocketProtocol]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        TrackedProtocol.instances.append(weakref.ref(self))


async def test_a_closed_connection_is_freed_without_the_cyclic_collector(
    tmp_path: Path,
) -> None:
    # The frame sink offered in the scope points back at the protocol: a cycle would keep every
    # closed connection (scope, headers, parser) until a full collection.
    TrackedProtocol.instances.clear()
    async with (
        kube_and_settings(tmp_path) as (_, settings),
        serve(settings, ws=TrackedProtocol) as gw,
    ):
        gc.collect()
        gc.disable()
        try:
            for _ in range(3):
                async with connection(gw.ws_url, compression=None):
                    pass
            async with asyncio.timeout(TIMEOUT):
                while any(ref() is not None for ref in TrackedProtocol.instances):
                    await asyncio.sleep(0.02)
        finally:
            gc.enable()
    assert len(TrackedProtocol.instances) == 3
