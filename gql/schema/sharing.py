"""Shared execution of identical subscriptions: one execution per event, however many followers.

Executing a subscription's selection set costs the same for every subscriber, so N clients that
follow the same job with the same document would cost N executions per state change. `SharedStreams`
keys live subscriptions by (document, operation, variables); the first subscriber starts the real
stream, later ones attach to it, and every result object is handed to all of them (so the
transport can also encode it once). A late joiner of `prowJobUpdated` first gets the latest
result, which is the job's current state — the same thing a fresh execution would send first.

Only subscriptions whose result does not depend on who asks are shared.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from graphql import FieldNode, OperationType, parse
from graphql.error import GraphQLSyntaxError

from gql.schema.documents import chosen_operation

# Root field → whether a late joiner first gets the latest result (a state) or not (an event).
SHAREABLE_FIELDS: dict[str, bool] = {"prowJobUpdated": True, "prowJobEvents": False}
# Arguments that make a subscription's first results subscriber-specific.
UNSHAREABLE_ARGUMENTS = frozenset({"includeSnapshot"})
_MAX_BACKLOG = 1000

Key = tuple[str, str | None, str]


@dataclass(eq=False)
class _Follower:
    items: collections.deque[Any] = field(default_factory=collections.deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    def push(self, item: Any) -> None:
        if len(self.items) >= _MAX_BACKLOG:
            # A follower this far behind only needs the newest results; the last one is kept.
            self.items.popleft()
        self.items.append(item)
        self.wakeup.set()

    def close(self) -> None:
        self.closed = True
        self.wakeup.set()


@dataclass(eq=False)
class _Stream:
    replay: bool
    followers: set[_Follower] = field(default_factory=set)
    latest: Any = None
    has_latest: bool = False
    task: asyncio.Task[None] | None = None


class SharedStreams:
    """Live shared subscriptions of one schema (one per app instance)."""

    def __init__(self) -> None:
        self._streams: dict[Key, _Stream] = {}
        self.executions_started = 0

    @property
    def active(self) -> int:
        """Number of distinct subscriptions being executed."""
        return len(self._streams)

    def join(
        self,
        key: Key,
        replay: bool,
        start: Callable[[], Coroutine[Any, Any, AsyncGenerator[Any, None]]],
    ) -> AsyncGenerator[Any, None]:
        """A follower's stream of the shared subscription `key`, started with `start` if new."""
        stream = self._streams.get(key)
        follower = _Follower()
        if stream is None:
            stream = _Stream(replay=replay)
            self._streams[key] = stream
            self.executions_started += 1
            stream.task = asyncio.create_task(self._pump(key, stream, start))
        elif stream.replay and stream.has_latest:
            follower.push(stream.latest)
        stream.followers.add(follower)
        return self._follow(key, stream, follower)

    async def _pump(
        self,
        key: Key,
        stream: _Stream,
        start: Callable[[], Coroutine[Any, Any, AsyncGenerator[Any, None]]],
    ) -> None:
        try:
            source = await start()
            async with contextlib.aclosing(source):
                async for result in source:
                    stream.latest, stream.has_latest = result, True
                    for follower in stream.followers:
                        follower.push(result)
        finally:
            if self._streams.get(key) is stream:
                del self._streams[key]
            for follower in stream.followers:
                follower.close()

    async def _follow(
        self, key: Key, stream: _Stream, follower: _Follower
    ) -> AsyncGenerator[Any, None]:
        try:
            while True:
                while not follower.items:
                    if follower.closed:
                        return
                    follower.wakeup.clear()
                    await follower.wakeup.wait()
                yield follower.items.popleft()
        finally:
            stream.followers.discard(follower)
            if not stream.followers and stream.task is not None and not stream.task.done():
                if self._streams.get(key) is stream:
                    del self._streams[key]
                stream.task.cancel()


def share_key(
    query: str | None, variables: dict[str, Any] | None, operation_name: str | None
) -> tuple[Key, bool] | None:
    """(key, replay) when this document is a shareable subscription, else None."""
    if query is None:
        return None
    replay = _shareable(query, operation_name)
    if replay is None:
        return None
    try:
        variables_key = json.dumps(variables or {}, sort_keys=True)
    except (TypeError, ValueError):
        return None
    return (query, operation_name, variables_key), replay


@functools.lru_cache(maxsize=512)
def _shareable(query: str, operation_name: str | None) -> bool | None:
    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return None
    operation = chosen_operation(document, operation_name, OperationType.SUBSCRIPTION)
    if operation is None:
        return None
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    root = selections[0]
    replay = SHAREABLE_FIELDS.get(root.name.value)
    if replay is None or root.directives:
        return None
    if any(arg.name.value in UNSHAREABLE_ARGUMENTS for arg in root.arguments or ()):
        return None
    return replay
