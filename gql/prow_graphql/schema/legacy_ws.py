"""The legacy graphql-ws protocol (subscriptions-transport-ws) with its messages checked first.

Strawberry's handler indexes messages without checking them: `{"type": "stop"}` without an id,
a list instead of an object or a start without a query raised KeyError/TypeError out of the
ASGI app, which dropped the connection (1006) and logged an ERROR. Malformed messages now close
the connection with 4400 and a reason, as graphql-transport-ws does.
"""

from __future__ import annotations

from typing import Any, cast

from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage

INVALID = 4400


class CheckedGraphQLWSHandler(BaseGraphQLWSHandler[Any, Any]):
    """Strawberry's graphql-ws handler, refusing malformed messages instead of crashing."""

    async def handle_message(self, message: OperationMessage) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.websocket.close(code=INVALID, reason=f"Invalid message: {problem}")
            return
        await super().handle_message(message)


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
