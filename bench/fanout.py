"""`python -m bench.fanout`: three ways to send one message to N WebSocket connections under uvicorn
(websockets-sansio, as the gateway is served), with no Strawberry or Starlette, measured with the
bench's own worker. It isolates the fan-out structure from the GraphQL layers (docs/bench.md):

- tasks: one task per connection, woken by an event, each awaiting its ASGI `send` (the gateway's
  structure: one Strawberry operation task per follower);
- loop: one loop awaiting each connection's ASGI `send` in turn;
- raw: one loop writing one pre-built WebSocket frame to each connection's transport.

`python -m bench.fanout serve MODE PORT` is the server side (run by the driver).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from bench.proc import Child, cpu_seconds, raise_open_file_limit, use_uvloop
from bench.run import free_port
from bench.stats import percentile
from bench.wire import HTTPClient

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
MODES = ("tasks", "loop", "raw")


@dataclass(eq=False)
class _Connection:
    send: Send
    transport: Any
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)


class FanoutApp:
    """ASGI app: graphql-transport-ws-shaped WebSockets, and POST /blast?m=HEX to fan out."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections: list[_Connection] = []
        self.message = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.blast(scope, receive, send)
        elif scope["type"] == "websocket":
            await self.websocket(scope, receive, send)

    async def blast(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&"))
        description = bytes.fromhex(query["m"]).decode()
        data = {"prowJobUpdated": {"name": "bench-follow-0001", "state": "PENDING",
                                   "description": description, "buildId": "1000000000000000001",
                                   "resourceVersion": "1234"}}  # fmt: skip
        self.message = json.dumps({"id": "1", "type": "next", "payload": {"data": data}})
        started = time.monotonic()
        if self.mode == "tasks":
            for connection in self.connections:
                connection.wakeup.set()
        elif self.mode == "loop":
            for connection in list(self.connections):
                await connection.send({"type": "websocket.send", "text": self.message})
        else:
            payload = self.message.encode()
            size = len(payload)
            header = bytes((0x81, size)) if size < 126 else bytes((0x81, 126)) + size.to_bytes(2)
            frame = header + payload
            for connection in self.connections:
                connection.transport.write(frame)
        body = json.dumps({"started": started}).encode()
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        await send({"type": "websocket.accept", "subprotocol": "graphql-transport-ws"})
        await receive()  # connection_init
        await send({"type": "websocket.send", "text": '{"type":"connection_ack"}'})
        await receive()  # subscribe
        await send({"type": "websocket.send", "text": '{"id":"1","type":"next","payload":{}}'})
        connection = _Connection(send, scope.get("bench.transport"))
        self.connections.append(connection)
        task = asyncio.create_task(self.follow(connection)) if self.mode == "tasks" else None
        try:
            while (await receive())["type"] != "websocket.disconnect":
                pass
        finally:
            self.connections.remove(connection)
            if task is not None:
                task.cancel()

    async def follow(self, connection: _Connection) -> None:
        while True:
            await connection.wakeup.wait()
            connection.wakeup.clear()
            await connection.send({"type": "websocket.send", "text": self.message})


def serve(mode: str, port: int) -> None:
    import uvicorn
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    class ExposingProtocol(WebSocketsSansIOProtocol):
        """Puts its transport in the scope, for the `raw` mode only."""

        async def run_asgi(self) -> None:
            self.scope["bench.transport"] = self.transport  # type: ignore[typeddict-unknown-key]
            await super().run_asgi()

    uvicorn.run(
        FanoutApp(mode), host="127.0.0.1", port=port, ws=ExposingProtocol, log_level="warning"
    )


async def drive(mode: str, n: int, changes: int) -> str:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fanout", "serve", mode, str(port)
    )
    http = HTTPClient("127.0.0.1", port)
    async with asyncio.timeout(30):
        while True:
            try:
                await http.request("POST", f"/blast?m={b'warm-up'.hex()}")
                break
            except OSError:
                await asyncio.sleep(0.1)
    worker = await Child.spawn("bench.worker")
    try:
        await worker.call(cmd="start", mode="ws", count=n, host="127.0.0.1", port=port, job="-")
        latencies: list[float] = []
        cpu = cpu_seconds(server.pid)
        for k in range(changes):
            description = f"fanout {mode} {k} {secrets.token_hex(3)}"
            marker = json.dumps(description)
            await worker.call(cmd="expect", marker=marker)
            _, body = await http.request("POST", f"/blast?m={description.encode().hex()}")
            started = json.loads(body)["started"]
            await worker.call(cmd="wait", within=10)
            seen = (await worker.call(cmd="times"))["times"][marker]
            latencies += [(t - started) * 1000 for t in seen]
            await asyncio.sleep(0.2)
        per_change = (cpu_seconds(server.pid) - cpu) / changes * 1000
        return (
            f"{mode:5}: N={n} p50 {percentile(latencies, 50):.1f} ms, "
            f"p99 {percentile(latencies, 99):.1f} ms, server CPU {per_change:.1f} ms per change"
        )
    finally:
        await worker.call(cmd="stop")
        await worker.close()
        await http.aclose()
        server.terminate()
        await server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__)
    parser.add_argument("action", choices=["drive", "serve"], nargs="?", default="drive")
    parser.add_argument("mode", nargs="?", choices=MODES)
    parser.add_argument("port", nargs="?", type=int)
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    raise_open_file_limit()
    if args.action == "serve":
        serve(args.mode, args.port)
        return
    use_uvloop()
    for mode in [args.mode] if args.mode else MODES:
        print(asyncio.run(drive(mode, args.n, args.changes)), flush=True)


if __name__ == "__main__":
    main()
