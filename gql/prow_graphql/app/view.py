"""`GatewayGraphQL`: Strawberry's ASGI view with our JSON handling, per-request context and
WebSocket authentication and admission."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types.unset import UnsetType

from prow_graphql.admission import caller_key
from prow_graphql.app.gateway import Gateway
from prow_graphql.errors import Unauthenticated
from prow_graphql.identity import ANONYMOUS, RequestInfo
from prow_graphql.identity import authorization_from_init_payload as init_authorization
from prow_graphql.schema import admission as subscription_admission
from prow_graphql.schema.context import GraphQLContext
from prow_graphql.schema.cost import Limits
from prow_graphql.schema.frames import FrameCache
from prow_graphql.schema.guard import capped
from prow_graphql.schema.http_view import GraphQLOverHTTP
from prow_graphql.schema.schema import build_schema
from prow_graphql.schema.transport import AnyOperationWSHandler, SharedTransportWSHandler
from prow_graphql.schema.wsframes import NextFrames
from prow_graphql.web import graphiql_response

# The state key under which a WebSocket's admitted connection is remembered until it closes.
_ADMITTED = "prow_graphql.admitted"


class GatewayGraphQL(GraphQLOverHTTP):
    """Strawberry's ASGI view (to the GraphQL-over-HTTP spec), with our per-request context."""

    graphql_transport_ws_handler_class = SharedTransportWSHandler
    graphql_ws_handler_class = AnyOperationWSHandler

    def __init__(self, gateway: Gateway, **kwargs: Any) -> None:
        s = gateway.settings
        super().__init__(
            build_schema(
                mask_errors=s.mask_errors,
                introspection=s.introspection,
                max_depth=s.max_query_depth,
                max_aliases=s.max_aliases,
                max_tokens=s.max_tokens,
                result_store=gateway.result_store,
                shared=gateway.shared_streams,
                limits=Limits.of(s),
                cache_bytes=s.protections.cache_bytes,
            ),
            graphql_ide="graphiql" if s.graphiql else None,
            subscription_protocols=(
                GRAPHQL_TRANSPORT_WS_PROTOCOL,
                GRAPHQL_WS_PROTOCOL,
                GRAPHQL_SSE_PROTOCOL,
                MULTIPART_SUBSCRIPTION_PROTOCOL,
            ),
            keep_alive=True,
            keep_alive_interval=15,
            max_subscriptions_per_connection=s.max_subscriptions_per_connection,
            allowed_origins=s.cors_origins,
            **kwargs,
        )
        self.gateway = gateway
        self._frames = FrameCache(max_bytes=s.protections.cache_bytes // 4)
        # Shared subscriptions' `next` frames, built from this view's own encoding (and limit).
        self.next_frames = NextFrames(self.encode_json, s.protections.max_response_bytes)

    def encode_json(self, data: object) -> str | bytes:
        # A shared subscription hands the same result to every follower: encode it once.
        encoded = self._frames.encode(data, super().encode_json)
        return capped(encoded, data, self.gateway.settings.protections.max_response_bytes)

    def decode_json(self, data: str | bytes) -> object:
        # Strawberry catches only JSONDecodeError (HTTP: a 400; WebSocket: close 4400) and
        # expects an object or a list; anything else (bad UTF-8, too deep, a scalar) must fail
        # the same way. An HTTPException here would crash the WebSocket handler.
        try:
            decoded = json.loads(data)
        except json.JSONDecodeError:
            raise
        except (ValueError, RecursionError) as exc:
            raise json.JSONDecodeError("not valid JSON", _start(data), 0) from exc
        if not isinstance(decoded, dict | list):
            raise json.JSONDecodeError("not a JSON object", _start(data), 0)
        return decoded

    async def render_graphql_ide(self, request: Request) -> Response:
        """The self-hosted GraphiQL page (its scripts come from /static/vendor/, never a CDN)."""
        return graphiql_response(request)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GraphQLContext:
        state = request.scope.get("state") or {}
        return GraphQLContext(
            service=self.gateway.service,
            view_cache=self.gateway.view_cache,
            # HTTP requests were authenticated by HttpGuard; WebSockets in on_ws_connect.
            identity=state.get("identity", ANONYMOUS),
            request_id=state.get("request_id") or uuid.uuid4().hex,
            metrics=self.gateway.metrics,
            request=request,
            response=response,
            hidden_jobs_group=self.gateway.settings.protections.hidden_jobs_group,
            extra={subscription_admission.LIMITER: self.gateway.subscriptions},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Release the connection counted in on_ws_connect.
            key = (scope.get("state") or {}).pop(_ADMITTED, None)
            if key is not None:
                self.gateway.connections.release(key)

    async def on_ws_connect(self, context: GraphQLContext) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket from its connection_init payload (or upgrade headers), then
        count it against the caller's --max-connections-per-identity."""
        await self._authenticate_ws(context)
        ws = context.request
        state = ws.scope.setdefault("state", {})
        if _ADMITTED not in state:
            key = caller_key(context.identity, ws.client.host if ws.client else None)
            if not self.gateway.connections.acquire(key):
                message = self.gateway.connections.refusal(key.split(":", 1)[1])
                raise ConnectionRejectionError({"message": message})
            state[_ADMITTED] = key
        return None

    async def _authenticate_ws(self, context: GraphQLContext) -> None:
        authenticator = self.gateway.authenticator
        if not authenticator.required:
            return
        ws = context.request
        info = RequestInfo.of(ws.client.host if ws.client else None, ws.headers.raw)
        from_payload = init_authorization(context.connection_params)
        if from_payload is not None:
            info = info.with_authorization(from_payload)
        try:
            context.identity = authenticator.authenticate_request(info)
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"message": exc.message}) from exc


def _start(data: str | bytes) -> str:
    """The first characters of a message, for an error that must not copy all of it."""
    return data[:100].decode("utf-8", "replace") if isinstance(data, bytes) else data[:100]
