"""WebSocket protocol handlers: graphql-transport-ws with shared subscriptions sent from one
loop (see sharing.py), and legacy graphql-ws that runs every kind of operation.

A shareable operation does not get its own result stream: it becomes a direct follower of the
shared execution, whose pump sends each `next` frame (encoded once, see frames.FrameCache) to every
follower in turn — written straight to the connection's transport when the server offers that
(wsframes.py), else through Strawberry's send path. Everything else — and the protocol itself — is
Strawberry's handler.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError

from prow_graphql.schema.admission import key_of, limiter_of, refusal_error
from prow_graphql.schema.sharing import share_key
from prow_graphql.schema.visibility import class_context, classed
from prow_graphql.schema.ws_checks import CheckedGraphQLWSHandler, transport_problem
from prow_graphql.schema.wsframes import NextFrames, sink_of

_INTERNED_QUERY = 8192  # longest document text kept as one shared copy (see run_operation)


class SharedTransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """Strawberry's graphql-transport-ws handler; shareable operations join shared streams."""

    @staticmethod
    def _get_pre_execution_close_reason(error: GraphQLError) -> str | None:
        # Strawberry closes the whole socket (4400) on a syntax error or an unknown operation
        # name, taking the client's other subscriptions with it; the protocol's `error` message
        # exists for errors raised before execution, so every such error gets one.
        return None

    async def handle_message(self, message: Any) -> None:
        problem = transport_problem(message)  # shapes Strawberry would crash on
        if problem is not None:
            await self.handle_invalid_message(f"Invalid message: {problem}")
            return
        await super().handle_message(message)
        # Strawberry's read loop holds the last message until the next one arrives, which for
        # a subscriber may be never; the operation has taken what it needs from it.
        message.clear()

    async def run_operation(self, operation: Operation[Any, Any]) -> None:
        shared = getattr(self.schema, "shared", None)
        found = share_key(operation.query, operation.variables, operation.operation_name)
        if shared is None or found is None:
            await super().run_operation(operation)
            return
        key, replay = found
        if len(operation.query) <= _INTERNED_QUERY:
            # Followers of one subscription send the same document: keep one copy of it.
            operation.query = sys.intern(operation.query)
        # Shared per visibility class, run with a context that knows only the class.
        key = classed(key, self.context)
        schema: Any = self.schema
        first = True

        def start() -> Any:
            return schema.stream_unshared(
                operation.query,
                variable_values=operation.variables,
                context_value=class_context(self.context),
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )

        def current() -> bool:
            # Strawberry forgets an operation the client completed (or whose id it reused) but
            # does not mark it completed: results already queued for it must not go out.
            return self.operations.get(operation.id) is operation

        async def deliver(result: Any) -> None:
            nonlocal first
            if not current():
                return
            if first and isinstance(result, PreExecutionError):
                await self._handle_pre_execution_error(operation, result)  # sends `error`
            else:
                await operation.send_next(result)
            first = False

        sink = sink_of(getattr(getattr(self.context, "request", None), "scope", None))
        frames: NextFrames | None = getattr(self.view, "next_frames", None)

        def fast(result: Any) -> bool:
            # Only what send_next would send as {"data": ...} alone, pre-framed; the rest (errors,
            # extensions, a first PreExecutionError) takes the ordinary path.
            nonlocal first
            if (
                type(result) is not ExecutionResult
                or result.errors
                or result.extensions
                or operation.completed
            ):
                return False
            if not current():
                return True  # nothing to send: the client is done with this operation
            frame = frames.frame(result.data, operation.id) if frames is not None else None
            if frame is None or sink is None or not sink.write_frame(frame):
                shared.preframe_declined += 1
                return False
            shared.preframed += 1
            first = False
            return True

        limiter, caller = limiter_of(self.context), key_of(self.context)
        if limiter is not None and not limiter.acquire(caller):  # per-identity subscriptions
            error = refusal_error(limiter, caller).formatted
            with contextlib.suppress(_OperationStreamClosed):
                await operation.send_operation_message(
                    {"id": operation.id, "type": "error", "payload": [error]}
                )
            self.operations.pop(operation.id, None)
            return
        try:
            await self._follow_shared(
                operation, key, replay, start, deliver, fast if sink is not None else None
            )
        finally:
            if limiter is not None:
                limiter.release(caller)

    async def _follow_shared(
        self,
        operation: Operation[Any, Any],
        key: Any,
        replay: bool,
        start: Any,
        deliver: Any,
        fast: Any,
    ) -> None:
        shared: Any = getattr(self.schema, "shared", None)
        stream, follower = shared.attach(key, replay, start, deliver, fast)
        metrics = getattr(self.context, "metrics", None)
        counting = metrics.subscription() if metrics is not None else contextlib.nullcontext()
        try:
            with counting:
                await follower.done
            # A no-op after an `error` message (the operation is then already completed).
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except _OperationStreamClosed:
            return
        except Exception as error:
            await self.handle_task_exception(error)
            with contextlib.suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
            raise
        finally:
            shared.detach(key, stream, follower)


class AnyOperationWSHandler(CheckedGraphQLWSHandler):
    """The legacy graphql-ws protocol (subscriptions-transport-ws), for queries and mutations too.

    Its `start` message may carry any operation (Python's `gql` sends its schema introspection and
    queries that way), but Strawberry's handler runs only subscriptions. Malformed messages are
    refused first (ws_checks). It asks its schema to
    `subscribe`, so the handler is given a schema whose `subscribe` streams any operation: a
    query or mutation yields one result, then `complete`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = _AnyOperation(self.schema)  # type: ignore[assignment]


class _AnyOperation:
    """A schema whose `subscribe` is `stream` without the subscriptions-only restriction."""

    def __init__(self, schema: Any) -> None:
        self._schema = schema

    async def subscribe(self, *args: Any, **kwargs: Any) -> Any:
        # `stream` takes `subscribe`'s arguments, and with no allowed_operation_types runs any.
        return await self._schema.stream(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._schema, name)
