"""Pod logs of build clusters: the reading protocol, the writing protocol, and an embedded log.

`PodLogSource.stream` behaves like `GET pods/{pod}/log?follow=true`: the lines written so far,
then each new batch of lines as it is written, ending when the container ends. It raises
`ObjectNotFound` when the pod does not exist (never created, or deleted by sinker) and another
`BackendError` when the log cannot be read yet (container waiting to start) or at all.

`MemoryPodLogs` is both: the embedded backend's simulated plank writes into it and the gateway
reads from it. It keeps the newest `max_pods` logs; older pods are gone, as sinker would make them.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Protocol

from prow_graphql.errors import ObjectNotFound


class PodLogSource(Protocol):
    """Reads container logs of pods in build clusters, named by Prow's cluster alias."""

    def stream(
        self, cluster: str, namespace: str, pod: str, container: str
    ) -> AsyncGenerator[list[str], None]:
        """Batches of complete lines (without newlines) until the container ends."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class PodLogWriter(Protocol):
    """What a (simulated) container does to its log: write lines, then end."""

    def write(self, namespace: str, pod: str, container: str, line: str) -> None: ...

    def end(self, namespace: str, pod: str, container: str) -> None: ...


@dataclass
class _Log:
    lines: list[str] = field(default_factory=list)
    ended: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class MemoryPodLogs:
    """Container logs held in memory, for the embedded backend (any cluster alias)."""

    def __init__(self, *, max_pods: int = 200, max_lines: int = 10_000) -> None:
        self._logs: OrderedDict[tuple[str, str, str], _Log] = OrderedDict()
        self._max_pods = max_pods
        self._max_lines = max_lines

    def write(self, namespace: str, pod: str, container: str, line: str) -> None:
        """Append one line (a container that writes starts running)."""
        log = self._logs.get((namespace, pod, container))
        if log is None:
            log = self._logs[(namespace, pod, container)] = _Log()
            while len(self._logs) > self._max_pods:
                self._evict(next(iter(self._logs)))
        if log.ended or len(log.lines) >= self._max_lines:
            return
        log.lines.append(line)
        self._wake(log)

    def end(self, namespace: str, pod: str, container: str) -> None:
        """The container ended: followers get the rest and their stream ends."""
        log = self._logs.get((namespace, pod, container))
        if log is not None:
            log.ended = True
            self._wake(log)

    def delete(self, namespace: str, pod: str) -> None:
        """The pod is deleted (as sinker does): its logs are gone."""
        for key in [k for k in self._logs if k[:2] == (namespace, pod)]:
            self._evict(key)

    def _evict(self, key: tuple[str, str, str]) -> None:
        log = self._logs.pop(key)
        log.ended = True  # a deleted pod's containers end; open followers finish
        self._wake(log)

    @staticmethod
    def _wake(log: _Log) -> None:
        log.changed.set()
        log.changed = asyncio.Event()

    async def stream(
        self, cluster: str, namespace: str, pod: str, container: str
    ) -> AsyncGenerator[list[str], None]:
        """The log so far, then new lines as written, until the container ends."""
        log = self._logs.get((namespace, pod, container))
        if log is None:
            raise ObjectNotFound(f'pods "{pod}" not found in namespace {namespace!r}')
        sent = 0
        while True:
            changed = log.changed
            if sent < len(log.lines):
                batch = log.lines[sent:]
                sent = len(log.lines)
                yield batch
                continue
            if log.ended:
                return
            await changed.wait()

    async def aclose(self) -> None:
        """Nothing to release."""
