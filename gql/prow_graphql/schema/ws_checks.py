"""WebSocket messages checked before Strawberry's handlers index them.

Strawberry's handlers trust message shapes: in graphql-ws (legacy) `{"type": "stop"}` without
an id, a list instead of an object or a start without a query, and in graphql-transport-ws an
`id` that is not a string (`{"type": "complete", "id": [[]]}`), raised KeyError/TypeError out of
the ASGI app, which dropped the connection (1006) and logged an ERROR. Malformed messages now
close the connection with 4400 and a reason, as graphql-transport-ws does for the cases it
checks. The legacy keep-alive task no longer fails when the client has gone.
"""

from __future__ import annotations

import contextlib
from typing import Any, cast

import starlette.websockets
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage

INVALID = 4400
# Starlette 1.x raises WebSocketDisconnected (a RuntimeError) for a send after the close; older
# releases raise a plain RuntimeError with the same meaning.
_STARLETTE_GONE: type[Exception] = getattr(
    starlette.websockets, "WebSocketDisconnected", RuntimeError
)


class CheckedGraphQLWSHandler(BaseGraphQLWSHandler[Any, Any]):
    """Strawberry's graphql-ws handler, refusing malformed messages instead of crashing."""

    async def handle_message(self, message: OperationMessage) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.websocket.close(code=INVALID, reason=f"Invalid message: {problem}")
            return
        await super().handle_message(message)

    async def handle_keep_alive(self) -> None:
        # Strawberry's task raises once the client has gone; nobody awaits it, so asyncio logged
        # "Task exception was never retrieved" at ERROR for every such connection.
        # Strawberry's ASGI adapter lets Starlette's own exception through (Starlette ≥ 1.x raises
        # it when a send follows the close), so both mean "the client has gone".
        with contextlib.suppress(WebSocketDisconnected, _STARLETTE_GONE):
            await super().handle_keep_alive()


def transport_problem(message: object) -> str | None:
    """What is wrong with a graphql-transport-ws message that Strawberry does not check."""
    if not isinstance(message, dict):
        return "not a JSON object"
    if not isinstance(message.get("type"), str):
        return "`type` must be a string"
    if message["type"] in ("subscribe", "complete") and not isinstance(message.get("id"), str):
        return "`id` must be a string"
    return None


def message_problem(message: object) -> str | None:
    """What is wrong with a graphql-ws message, or None if Strawberry can handle it."""
    if not isinstance(message, dict):
        return "not a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "`type` must be a string"
    if kind in ("start", "stop") and not isinstance(message.get("id"), str):
        return "`id` must be a string"
    if kind != "start":
        return None
    payload = cast(dict[str, Any], message).get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return "`payload.query` must be a string"
    if not isinstance(payload.get("variables"), dict | None):
        return "`payload.variables` must be an object"
    if not isinstance(payload.get("operationName"), str | None):
        return "`payload.operationName` must be a string"
    return None
