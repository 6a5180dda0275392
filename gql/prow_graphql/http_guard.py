"""ASGI middleware in front of every HTTP route: request ids, body size limit, authentication,
and refusal of cross-site form posts (see request_rules.py for the rules themselves).

It runs before GraphQL or REST code sees a request, so an oversized, unauthenticated or forgeable
request is refused with a clear 4xx JSON body and never reaches a handler. WebSockets
authenticate later, in the GraphQL view, through the connection_init payload.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from prow_graphql.admission import ConnectionLimiter, caller_key
from prow_graphql.errors import Unauthenticated
from prow_graphql.identity import ANONYMOUS, Authenticator, ProxyAuthenticator, RequestInfo
from prow_graphql.request_rules import bounded_request_id, csrf_refusal, needs_identity

log = logging.getLogger(__name__)


class HttpGuard:
    """Assigns `state.request_id` and `state.identity`, and enforces `max_body_bytes`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        max_body_bytes: int,
        on_reject: Callable[[str], None] | None = None,
        connections: ConnectionLimiter | None = None,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.max_body_bytes = max_body_bytes
        self.on_reject = on_reject
        self.connections = connections

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.app(scope, _bounded_messages(receive, send, self.max_body_bytes), send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        headers = dict(scope.get("headers") or [])
        request_id = bounded_request_id(headers.get(b"x-request-id", b"")) or uuid.uuid4().hex
        state["request_id"] = request_id
        state["identity"] = ANONYMOUS
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await self._reject(scope, send, 413, f"request body larger than "
                               f"{self.max_body_bytes} bytes; send a smaller request")  # fmt: skip
            return
        method: str = scope.get("method", "GET")
        query_string: bytes = scope.get("query_string", b"")
        if self.authenticator.required and needs_identity(
            method, scope.get("path", ""), query_string
        ):
            client = scope.get("client")
            info = RequestInfo.of(client[0] if client else None, scope.get("headers") or [])
            try:
                state["identity"] = self.authenticator.authenticate_request(info)
            except Unauthenticated as exc:
                await self._reject(scope, send, 401, exc.message)
                return
        refusal = csrf_refusal(
            method,
            headers,
            has_query=bool(query_string),
            authorization_is_explicit=not isinstance(self.authenticator, ProxyAuthenticator),
        )
        if refusal is not None:
            await self._reject(scope, send, refusal.status, refusal.message)
            return
        body = await _read_body(receive, self.max_body_bytes)
        if body is None:
            await self._reject(scope, send, 413, f"request body larger than "
                               f"{self.max_body_bytes} bytes; send a smaller request")  # fmt: skip
            return
        if self.connections is None or not _streams(headers):
            await self.app(scope, _replay(body, receive), send)
            return
        client = scope.get("client")
        key = caller_key(state["identity"], client[0] if client else None)
        if not self.connections.acquire(key):
            await self._reject(scope, send, 429, self.connections.refusal(key.split(":", 1)[1]))
            return
        try:
            await self.app(scope, _replay(body, receive), send)
        finally:
            self.connections.release(key)

    async def _reject(self, scope: Scope, send: Send, status: int, message: str) -> None:
        if self.on_reject is not None:
            self.on_reject(str(status))
        path = scope.get("path", "")
        body: dict[str, Any]
        if path.startswith("/manual-trigger"):
            body = {"success": False, "message": message}
        else:
            body = {"errors": [{"message": message, "extensions": {"code": _code(status)}}]}
        headers = [(b"content-type", b"application/json")]
        if status == 401 and getattr(self.authenticator, "challenge", None):
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})


def _code(status: int) -> str:
    codes = {401: "UNAUTHENTICATED", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE",
             429: "TOO_MANY_CONNECTIONS"}  # fmt: skip
    return codes.get(status, "BAD_REQUEST")


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it exceeds `limit` (chunked bodies included)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _streams(headers: dict[bytes, bytes]) -> bool:
    """True for requests answered with a long-lived stream (SSE, multipart subscriptions)."""
    accept = headers.get(b"accept", b"")
    return b"text/event-stream" in accept or b"multipart/mixed" in accept


def _bounded_messages(receive: Receive, send: Send, limit: int) -> Receive:
    """A WebSocket receive() that closes the connection (1009) on a message over `limit` bytes.

    uvicorn's ws_max_size already refuses them while reading (see protections.server_limits);
    this holds for any ASGI server the app is mounted in.
    """

    async def bounded() -> Message:
        message = await receive()
        if message["type"] == "websocket.receive":
            size = len(message.get("text") or "") + len(message.get("bytes") or b"")
            if size > limit:
                await send({"type": "websocket.close", "code": 1009,
                            "reason": f"message larger than {limit} bytes"})  # fmt: skip
                return {"type": "websocket.disconnect", "code": 1009}
        return message

    return bounded


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that hands the buffered body over once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
