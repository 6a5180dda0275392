"""Starlette app factory: builds everything the server needs from `Settings` and owns its lifespan.

Nothing here is global: each `create_app` call makes an independent gateway, so tests can run
several side by side (e.g. two replicas against one fake API server). The `Gateway` lives in
`gateway`, the GraphQL view in `view`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from prow_graphql.app.gateway import Gateway
from prow_graphql.app.view import GatewayGraphQL
from prow_graphql.errors import GatewayError
from prow_graphql.gangway.mount import GangwayMount
from prow_graphql.http_guard import HttpGuard
from prow_graphql.prow import links
from prow_graphql.rest import rest_routes
from prow_graphql.settings import Settings
from prow_graphql.web import web_routes

__all__ = ["Gateway", "GatewayGraphQL", "create_app", "create_metrics_app"]

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Starlette:
    """Build the ASGI app for `settings`; raises ConfigError if the Prow config is invalid."""
    gateway = Gateway(settings)
    graphql = GatewayGraphQL(gateway)
    gangway = GangwayMount(gateway)  # Prow's gangway API: /v1 routes, gRPC with --grpc-port

    async def healthz(_: Request) -> Response:
        ok = gateway.healthy
        return JSONResponse({"ok": ok}, status_code=200 if ok else 503)

    async def readyz(_: Request) -> Response:
        ready = gateway.ready
        body: dict[str, object] = {
            "ready": ready,
            "config_generation": gateway.config.index.generation,
        }
        if gateway.informer is not None:
            cache = gateway.informer.status()
            body["cache"] = {
                "synced": cache.synced,
                "last_synced_at": cache.last_synced_at,
                "failing_for_seconds": round(cache.failing_for, 3),
                "stale": cache.stale,
                "size": cache.size,
            }
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        body, content_type = gateway.metrics.render()
        return Response(body, media_type=content_type)

    async def root(request: Request) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/graphql")
        return JSONResponse({"service": "prow-graphql", "graphql": "/graphql"})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            await gateway.start()
        except GatewayError as exc:
            # Say what is wrong in one line; uvicorn then reports the failed start-up.
            log.error("cannot start: %s", exc)
            await gateway.stop()
            raise
        try:
            await gangway.start()
            yield
        finally:
            await gangway.stop()
            await gateway.stop()

    routes: list[BaseRoute] = [
        Route("/", root),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        # Every method reaches the view, which answers the ones it does not take with a JSON 405.
        Route("/graphql", graphql),
        WebSocketRoute("/graphql", graphql),
        *rest_routes(gateway),
        *gangway.routes(),
    ]
    routes.extend(
        web_routes(settings, lambda: links.deck_url_default(gateway.config.index.config.plank))
    )
    if settings.metrics_port == settings.port:
        routes.append(Route("/metrics", metrics))
    middleware = [
        Middleware(
            HttpGuard,
            authenticator=gateway.authenticator,
            max_body_bytes=settings.max_body_bytes,
            connections=gateway.connections,
        )
    ]
    if settings.cors_origins:
        # Outermost, so that preflights and 4xx answers carry the CORS headers too.
        middleware.insert(
            0,
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-request-id", "x-requested-with"],
            ),
        )
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.gateway = gateway
    return app


def create_metrics_app(gateway: Gateway) -> Starlette:
    """The Prometheus endpoint, served on --metrics-port apart from the API."""

    async def metrics(_: Request) -> Response:
        body, content_type = gateway.metrics.render()
        return Response(body, media_type=content_type)

    return Starlette(routes=[Route("/metrics", metrics)])
