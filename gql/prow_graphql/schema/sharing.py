"""Shared execution of identical subscriptions: one execution per event, however many followers.

Executing a subscription's selection set costs the same for every subscriber, so N clients that
follow the same job with the same document would cost N executions per state change. `SharedStreams`
keys live subscriptions by (document, operation, variables); the first subscriber starts the real
stream, later ones attach to it, and every result object is handed to all of them (so the
transport can also encode it once). A late joiner of `prowJobUpdated` first gets the latest
result, which is the job's current state — the same thing a fresh execution would send first.

Followers come in two kinds. A *queue* follower (SSE, legacy graphql-ws) is an async generator the
transport iterates in its own task. A *direct* follower (graphql-transport-ws) hands the pump a
`deliver` coroutine function: the pump runs each delivery eagerly, in one loop, and only a client
whose socket is paused gets a task of its own (with a bounded backlog), so one event costs one
pass over the followers instead of waking one task per follower. A direct follower may also have
a `fast` function that writes a pre-built frame without any coroutine (wsframes.py); it is tried
first whenever nothing is in flight, and declines when the connection cannot take the frame now.

Only subscriptions whose result does not depend on who asks are shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from graphql import FieldNode, OperationType

from prow_graphql.backpressure import DEFAULT_LIMIT, CoalescingQueue
from prow_graphql.schema.bounded import short_text_cache
from prow_graphql.schema.documents import chosen_operation, parse_bounded
from prow_graphql.schema.result_keys import merge_results, overflow_result, result_key

# Root field → whether a late joiner first gets the latest result (a state) or not (an event).
SHAREABLE_FIELDS: dict[str, bool] = {"prowJobUpdated": True, "prowJobEvents": False}
# Arguments that make a subscription's first results subscriber-specific.
UNSHAREABLE_ARGUMENTS = frozenset({"includeSnapshot"})

Key = tuple[str, str | None, str]


@dataclass(eq=False)
class _Follower:
    """A follower its transport iterates; its queue follows the one backpressure rule."""

    replay: bool
    limit: int = DEFAULT_LIMIT
    items: CoalescingQueue[Any] = field(init=False)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    def __post_init__(self) -> None:
        self.items = CoalescingQueue(self.limit, merge_results)

    def push(self, item: Any) -> None:
        if self.closed:
            return
        if not self.items.offer(result_key(item, self.replay), item):
            # Too far behind: its last result is a typed error telling it to resubscribe.
            self.items.put(None, overflow_result(self.limit))
            self.closed = True
        self.wakeup.set()

    def close(self) -> None:
        self.closed = True
        self.wakeup.set()


Deliver = Callable[[Any], Coroutine[Any, Any, None]]
Fast = Callable[[Any], bool]
"""Sends a result at once, without suspending, if it can (True); else False and nothing sent."""


class DirectFollower:
    """A follower whose results are sent by the pump itself, eagerly, in arrival order."""

    def __init__(
        self, deliver: Deliver, replay: bool, limit: int = DEFAULT_LIMIT, fast: Fast | None = None
    ) -> None:
        self._deliver = deliver
        self._fast = fast
        self._replay = replay
        self._limit = limit
        # Results waiting behind a send in flight: the one backpressure rule (per job, bounded).
        self._backlog: CoalescingQueue[Any] = CoalescingQueue(limit, merge_results)
        self._inflight: asyncio.Task[None] | None = None
        self._closed = False
        self._stopped = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def push(self, item: Any) -> None:
        """Send `item` now if nothing is in flight, else queue it behind the pending send."""
        if self.done.done() or self._closed:
            return
        if self._inflight is None:
            self._start(item)
        elif not self._backlog.offer(result_key(item, self._replay), item):
            # Too far behind: after the send in flight, a typed error telling it to resubscribe.
            self._backlog.put(None, overflow_result(self._limit))
            self._closed = True

    def close(self) -> None:
        """The stream ended: `done` resolves once everything queued has been sent."""
        self._closed = True
        self._settle()

    def stop(self) -> None:
        """The operation is over (the client completed it, or left): nothing queued may go out,
        and a send still waiting for the connection to drain is called off before it writes."""
        self._stopped = self._closed = True
        self._backlog.clear()
        if self._inflight is not None:
            self._inflight.cancel()
        elif not self.done.done():
            self.done.set_result(None)

    def _start(self, item: Any) -> None:
        fast = self._fast
        try:
            if fast is not None and fast(item):
                return
            task = run_eagerly(self._deliver(item))
        except Exception as exc:  # the connection is gone or the operation was stopped
            self._fail(exc)
            return
        if task is not None:
            self._inflight = task
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._inflight = None
        if self._stopped:
            if not task.cancelled():
                task.exception()  # retrieved: the operation is over, nobody else will
            if not self.done.done():
                self.done.set_result(None)
            return
        if task.cancelled():
            self._fail(asyncio.CancelledError())
            return
        if (exc := task.exception()) is not None:
            self._fail(exc)
            return
        while self._backlog and self._inflight is None and not self.done.done():
            self._start(self._backlog.pop())
        self._settle()

    def _settle(self) -> None:
        if self._closed and self._inflight is None and not self._backlog and not self.done.done():
            self.done.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self._backlog.clear()
        if not self.done.done():
            self.done.set_exception(exc)


def run_eagerly(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run `coro` until it first suspends; finish it in a task only if it did (else None).

    Sending a WebSocket frame to a client whose socket accepts data never suspends, so the
    common case costs no task and no trip through the event loop.
    """
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    task = asyncio.get_running_loop().create_task(_resume(coro, yielded))
    # Runs the coroutine's cleanup even if the task is cancelled before its first step.
    task.add_done_callback(lambda _: coro.close())
    return task


async def _resume(coro: Coroutine[Any, Any, None], yielded: Any) -> None:
    while True:
        try:
            if asyncio.isfuture(yielded):
                await asyncio.wait((yielded,))
            else:
                await asyncio.sleep(0)  # a bare yield: give the loop one turn
        except asyncio.CancelledError:
            coro.close()
            raise
        try:
            yielded = coro.send(None)
        except StopIteration:
            return


@dataclass(eq=False)
class _Stream:
    replay: bool
    followers: set[_Follower | DirectFollower] = field(default_factory=set)
    latest: Any = None
    has_latest: bool = False
    task: asyncio.Task[None] | None = None


class SharedStreams:
    """Live shared subscriptions of one schema (one per app instance)."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._limit = limit  # jobs a follower may fall behind by (see backpressure.py)
        self._streams: dict[Key, _Stream] = {}
        self.executions_started = 0
        # Results written as pre-built frames, and those a connection could not take that way.
        self.preframed = 0
        self.preframe_declined = 0

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
        follower = _Follower(replay, self._limit)
        if stream is None:
            stream = _Stream(replay=replay)
            self._streams[key] = stream
            self.executions_started += 1
            stream.task = asyncio.create_task(self._pump(key, stream, start))
        elif stream.replay and stream.has_latest:
            follower.push(stream.latest)
        stream.followers.add(follower)
        return self._follow(key, stream, follower)

    def attach(
        self,
        key: Key,
        replay: bool,
        start: Callable[[], Coroutine[Any, Any, AsyncGenerator[Any, None]]],
        deliver: Deliver,
        fast: Fast | None = None,
    ) -> tuple[_Stream, DirectFollower]:
        """Add a direct follower to `key` (starting it if new); await `follower.done`."""
        stream = self._streams.get(key)
        follower = DirectFollower(deliver, replay, self._limit, fast)
        if stream is None:
            stream = _Stream(replay=replay)
            self._streams[key] = stream
            self.executions_started += 1
            stream.task = asyncio.create_task(self._pump(key, stream, start))
        elif stream.replay and stream.has_latest:
            follower.push(stream.latest)
        stream.followers.add(follower)
        return stream, follower

    def detach(self, key: Key, stream: _Stream, follower: DirectFollower) -> None:
        """Remove a follower (and call off whatever it still had to send); the last one to
        leave stops the shared execution."""
        follower.stop()
        self._leave(key, stream, follower)

    def _leave(self, key: Key, stream: _Stream, follower: _Follower | DirectFollower) -> None:
        stream.followers.discard(follower)
        if not stream.followers and stream.task is not None and not stream.task.done():
            if self._streams.get(key) is stream:
                del self._streams[key]
            stream.task.cancel()

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
                    # A copy: a failed send may make its follower leave during the loop.
                    for follower in list(stream.followers):
                        follower.push(result)
        finally:
            if self._streams.get(key) is stream:
                del self._streams[key]
            for follower in list(stream.followers):
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
                yield follower.items.pop()
        finally:
            self._leave(key, stream, follower)


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


@short_text_cache(maxsize=512)
def _shareable(query: str, operation_name: str | None) -> bool | None:
    document = parse_bounded(query)
    if document is None:
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


@short_text_cache(maxsize=512)
def is_subscription(query: str, operation_name: str | None) -> bool:
    """Whether the operation a request runs is a subscription (for counting open streams)."""
    document = parse_bounded(query)
    if document is None:
        return False
    return chosen_operation(document, operation_name, OperationType.SUBSCRIPTION) is not None
