"""Test harness: run a gateway under uvicorn on a free loopback port, and talk to it.

Clients speak the real protocols over real sockets: GraphQL over HTTP (httpx) and
graphql-transport-ws / graphql-ws over WebSockets (websockets).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets
from starlette.applications import Starlette

from prow_graphql.app import create_app
from prow_graphql.app.ws_protocol import FramingWebSocketProtocol
from prow_graphql.protections import server_limits
from prow_graphql.settings import Settings, parse_serve_args

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "prow"
SHARED = ROOT.parent / "shared"
KUBEVIRT = SHARED / "fixtures" / "prow" / "kubevirt"


def free_socket() -> socket.socket:
    """A listening-ready TCP socket bound to a free 127.0.0.1 port."""
    # proto=IPPROTO_TCP makes asyncio enable TCP_NODELAY on accepted sockets; without it two
    # writes per response meet Nagle + delayed ACK and every request takes ~40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def example_settings(*extra: str, backend: str = "memory") -> Settings:
    """Settings for the example config on the embedded backend with a fast simulator."""
    return parse_serve_args(
        [
            "--config-path", str(EXAMPLE / "config.yaml"),
            "--job-config-path", str(EXAMPLE / "jobs"),
            "--backend", backend,
            "--sim-pending-after", "0.05",
            "--sim-complete-after", "0.1",
            "--shutdown-timeout", "2",
            "--dev",
            *extra,
        ]
    )  # fmt: skip


@dataclass
class RunningGateway:
    """A gateway served on loopback; `url` is its base URL."""

    app: Starlette
    url: str
    server: uvicorn.Server

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    async def query(
        self, document: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> dict[str, Any]:
        """POST a GraphQL document; returns the decoded JSON body (asserting HTTP 200)."""
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            response = await client.post(
                "/graphql", json={"query": document, "variables": variables or {}}, headers=headers
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@contextlib.asynccontextmanager
async def serve(
    settings: Settings, ws: type[Any] | str = FramingWebSocketProtocol
) -> AsyncIterator[RunningGateway]:
    """Serve `create_app(settings)` on a free port until the block exits (with `prow-graphql
    serve`'s WebSocket protocol unless `ws` names another, e.g. uvicorn's "websockets-sansio")."""
    app = create_app(settings)
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        ws=ws,
        lifespan="on",
        proxy_headers=False,  # identity headers are trusted only from --trusted-proxies
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout)),
        **server_limits(settings.max_body_bytes),  # as `prow-graphql serve` does
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(15):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("server exited during start-up")
                await asyncio.sleep(0.01)
        yield RunningGateway(app=app, url=f"http://127.0.0.1:{port}", server=server)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 15)
        sock.close()


async def wait_ready(gateway: RunningGateway, timeout: float = 10) -> None:
    """Wait until /readyz says ready (the informer has listed)."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=5) as client:
        async with asyncio.timeout(timeout):
            while (await client.get("/readyz")).status_code != 200:
                await asyncio.sleep(0.02)


class TransportWSClient:
    """A minimal graphql-transport-ws client over a real WebSocket."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self._next_id = 0

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, url: str, payload: dict[str, Any] | None = None
    ) -> AsyncIterator[TransportWSClient]:
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert ack["type"] == "connection_ack", ack
            yield cls(ws)

    async def subscribe(self, document: str, variables: dict[str, Any] | None = None) -> str:
        self._next_id += 1
        op_id = str(self._next_id)
        message = {"query": document, "variables": variables or {}}
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": message}))
        return op_id

    async def receive(self, timeout: float = 10) -> dict[str, Any]:
        """The next non-ping message."""
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            if message["type"] != "pong":
                return message

    async def collect(self, op_id: str, timeout: float = 20) -> list[dict[str, Any]]:
        """Every `next` payload of `op_id` until its `complete` (errors fail the test)."""
        results: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while True:
                message = await self.receive(timeout)
                assert message.get("id") == op_id, message
                if message["type"] == "complete":
                    return results
                assert message["type"] == "next", message
                results.append(message["payload"])


def fields(payloads: Sequence[dict[str, Any]], root: str, key: str) -> list[Any]:
    """`payload.data[root][key]` of each payload."""
    return [p["data"][root][key] for p in payloads]


def metric_value(exposition: str, name: str, **labels: str) -> float:
    """The value of sample `name` with exactly `labels` in a /metrics body (0 if absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0
