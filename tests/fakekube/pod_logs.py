"""The fake API server's pods/log: container logs that tests (or the simulated plank) write.

`GET /api/v1/namespaces/{ns}/pods/{pod}/log?container=C&follow=true` answers like the real
server: 404 Status for an unknown pod, 400 while the container waits to start or for an unknown
container, else a text/plain body streamed chunk by chunk (Transfer-Encoding: chunked) with each
write flushed at once, finished when the container ends or the pod is deleted.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from . import status as st

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LOG_PATH = re.compile(r"^/api/v1/namespaces/(?P<ns>[a-z0-9-]+)/pods/(?P<pod>[^/]+)/log/?$")


@dataclass
class _Container:
    waiting: bool = False
    chunks: list[bytes] = field(default_factory=list)
    ended: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    written_at: list[float] = field(default_factory=list)


class FakePodLogs:
    """Pods' container logs by (namespace, pod, container); a `PodLogWriter`."""

    def __init__(self) -> None:
        self._pods: dict[tuple[str, str], dict[str, _Container]] = {}
        self.open_streams = 0
        """Log responses being streamed right now."""

    def _container(self, namespace: str, pod: str, container: str) -> _Container:
        containers = self._pods.setdefault((namespace, pod), {})
        return containers.setdefault(container, _Container())

    def create_pod(self, namespace: str, pod: str, container: str = "test") -> None:
        """A pod whose container is still waiting to start (reads answer 400)."""
        self._container(namespace, pod, container).waiting = True

    def write(self, namespace: str, pod: str, container: str, line: str) -> None:
        """Append a line (the container is running from now on) and wake followers."""
        c = self._container(namespace, pod, container)
        c.waiting = False
        c.chunks.append(line.encode() + b"\n")
        c.written_at.append(time.perf_counter())
        self._wake(c)

    def end(self, namespace: str, pod: str, container: str) -> None:
        """The container terminated: follow streams finish."""
        c = self._container(namespace, pod, container)
        c.ended, c.waiting = True, False
        self._wake(c)

    def delete_pod(self, namespace: str, pod: str) -> None:
        """The pod is deleted: followers' streams end, later reads get 404."""
        for c in self._pods.pop((namespace, pod), {}).values():
            c.ended = True
            self._wake(c)

    def written_at(self, namespace: str, pod: str, container: str = "test") -> list[float]:
        """perf_counter() of each write, for latency measurements."""
        return list(self._container(namespace, pod, container).written_at)

    @staticmethod
    def _wake(c: _Container) -> None:
        c.changed.set()
        c.changed = asyncio.Event()

    async def serve(
        self, namespace: str, pod: str, query: dict[str, str], receive: Receive, send: Send
    ) -> None:
        """Answer one pods/log GET."""
        containers = self._pods.get((namespace, pod))
        if containers is None:
            return await _status(send, st.status(404, f'pods "{pod}" not found'))
        name = query.get("container") or next(iter(containers))
        c = containers.get(name)
        if c is None:
            message = f"container {name} is not valid for pod {pod}"
            return await _status(send, st.status(400, message))
        if c.waiting:
            message = f'container "{name}" in pod "{pod}" is waiting to start: ContainerCreating'
            return await _status(send, st.status(400, message))
        headers = [(b"content-type", b"text/plain"), (b"cache-control", b"no-cache, private")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        # As Go's strconv.ParseBool: kubernetes_asyncio sends Python's "True".
        follow = query.get("follow", "") in ("1", "t", "T", "true", "TRUE", "True")
        disconnected = asyncio.create_task(_disconnect(receive))
        sent = 0
        self.open_streams += 1
        try:
            while True:
                changed = c.changed
                if sent < len(c.chunks):
                    body, sent = b"".join(c.chunks[sent:]), len(c.chunks)
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                    continue
                if c.ended or not follow:
                    break
                waiter = asyncio.create_task(changed.wait())
                await asyncio.wait({waiter, disconnected}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if disconnected.done():
                    return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.open_streams -= 1
            disconnected.cancel()


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _status(send: Send, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": body["code"], "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
