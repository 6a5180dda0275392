"""A client worker process: N GraphQL subscribers (graphql-transport-ws), N pollers (GET every
500 ms) or N plain TCP readers of the floor process, driven by the bench over stdin/stdout JSON
lines.

Commands: start {mode, count, ...} · expect {marker} · wait {within} · times · stop.
For each `expect`ed marker (a quoted description) the worker records, per client, the monotonic
time of the first message or poll response that contains it; the bench subtracts its own
timestamp taken before the change was written (CLOCK_MONOTONIC is shared by all processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from typing import Any

from bench.proc import raise_open_file_limit, read_commands, use_uvloop
from bench.wire import HTTPClient, WSClient, open_ws

FOLLOW = (
    "subscription Follow($name: String!) { prowJobUpdated(name: $name) "
    "{ name state description buildId resourceVersion } }"
)
_CONNECT_CONCURRENCY = 50


class Recorder:
    """First-seen times of the expected marker, one per client."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.marker: bytes | None = None
        self.times: dict[str, list[float]] = {}
        self._current: list[float] = []
        self.all_seen = asyncio.Event()

    def expect(self, marker: str) -> None:
        self.marker = marker.encode()
        self._current = self.times.setdefault(marker, [])
        self.all_seen.clear()

    def saw(self, now: float) -> None:
        current = self._current
        current.append(now)
        if len(current) >= self.total:
            self.all_seen.set()

    @property
    def seen(self) -> int:
        return len(self._current)


class Subscriber:
    """One graphql-transport-ws connection with one prowJobUpdated subscription."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.last: bytes | None = None
        self.setup: asyncio.Queue[bytes] = asyncio.Queue()
        self.live = False
        self.client: WSClient | None = None

    def on_text(self, client: WSClient, now: float, payload: bytes) -> None:
        if payload.startswith(b'{"type":"ping"') or payload.startswith(b'{"type": "ping"'):
            client.send_json({"type": "pong"})
            return
        if not self.live:
            self.setup.put_nowait(payload)
            return
        marker = self.recorder.marker
        if marker is not None and self.last is not marker and marker in payload:
            self.last = marker
            self.recorder.saw(now)

    async def start(self, host: str, port: int, job: str) -> None:
        self.client = await open_ws(host, port, "/graphql", "graphql-transport-ws", self.on_text)
        self.client.send_json({"type": "connection_init", "payload": {}})
        await self._expect(b"connection_ack")
        message = {"query": FOLLOW, "variables": {"name": job}}
        self.client.send_json({"id": "1", "type": "subscribe", "payload": message})
        await self._expect(b'"next"')  # the job's current state: the subscription is live
        self.live = True

    async def _expect(self, needle: bytes) -> None:
        async with asyncio.timeout(60):
            while needle not in (payload := await self.setup.get()):
                if b'"error"' in payload or b'"errors"' in payload:
                    raise RuntimeError(payload.decode())

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


class RawReader(asyncio.Protocol):
    """A plain TCP connection to the floor process (bench.blaster)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.last: bytes | None = None
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        marker = self.recorder.marker
        if marker is not None and self.last is not marker and marker in data:
            self.last = marker
            self.recorder.saw(now)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Poller:
    """One keep-alive connection that GETs the ProwJob every `period` seconds."""

    def __init__(self, recorder: Recorder, http: HTTPClient, path: str, period: float) -> None:
        self.recorder = recorder
        self.http = http
        self.path = path
        self.period = period
        self.last: bytes | None = None
        self.requests = 0
        self.failures = 0

    async def run(self, phase: float) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + phase
        while True:
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            # A fixed-rate ticker like the old service's 500 ms loop; a late poll does not burst.
            next_at = max(next_at + self.period, loop.time())
            status, body = await self.http.request("GET", self.path)
            now = time.monotonic()
            self.requests += 1
            if status != 200:
                self.failures += 1
                continue
            marker = self.recorder.marker
            if marker is not None and self.last is not marker and marker in body:
                self.last = marker
                self.recorder.saw(now)


class Worker:
    def __init__(self) -> None:
        self.recorder: Recorder | None = None
        self.subscribers: list[Subscriber] = []
        self.pollers: list[Poller] = []
        self.raw: list[RawReader] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        name = command["cmd"]
        if name == "start":
            return await self.start(command)
        recorder = self.recorder
        assert recorder is not None
        if name == "expect":
            recorder.expect(command["marker"])
            return {"ok": True}
        if name == "wait":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(recorder.all_seen.wait(), command["within"])
            return {"ok": True, "seen": recorder.seen}
        if name == "times":
            requests = sum(p.requests for p in self.pollers)
            failures = sum(p.failures for p in self.pollers)
            return {"times": recorder.times, "requests": requests, "failures": failures}
        if name == "stop":
            for task in self.tasks:
                task.cancel()
            for sub in self.subscribers:
                sub.close()
            for reader in self.raw:
                reader.close()
            for poller in self.pollers:
                await poller.http.aclose()
            return {"ok": True, "stop": True}
        raise ValueError(f"unknown command {name!r}")

    async def start(self, command: dict[str, Any]) -> dict[str, Any]:
        count: int = command["count"]
        recorder = self.recorder = Recorder(count)
        host, port = command["host"], command["port"]
        started = time.monotonic()
        gate = asyncio.Semaphore(_CONNECT_CONCURRENCY)
        if command["mode"] == "ws":
            self.subscribers = [Subscriber(recorder) for _ in range(count)]

            async def connect(sub: Subscriber) -> None:
                async with gate:
                    await sub.start(host, port, command["job"])

            await asyncio.gather(*(connect(s) for s in self.subscribers))
        elif command["mode"] == "raw":
            self.raw = [RawReader(recorder) for _ in range(count)]
            loop = asyncio.get_running_loop()

            async def attach(reader: RawReader) -> None:
                async with gate:
                    await loop.create_connection(lambda: reader, host, port)

            await asyncio.gather(*(attach(r) for r in self.raw))
        else:
            headers = {"Authorization": f"Bearer {command['token']}", "Accept": "application/json"}
            rng = random.Random(command.get("seed", 0))
            for _ in range(count):
                http = HTTPClient(host, port, headers)
                self.pollers.append(Poller(recorder, http, command["path"], command["period"]))
            # Spread the pollers' phases over one period, as independent clients would be.
            self.tasks = [
                asyncio.create_task(p.run(rng.uniform(0, p.period))) for p in self.pollers
            ]
        return {"ok": True, "ready": count, "setup_s": time.monotonic() - started}


async def main() -> None:
    worker = Worker()
    async for command in read_commands():
        reply = await worker.handle(command)
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if reply.get("stop"):
            return


if __name__ == "__main__":
    raise_open_file_limit()
    use_uvloop()
    asyncio.run(main())
