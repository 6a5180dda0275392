"""Starlette app factory: builds everything the server needs from `Settings` and owns its lifespan.

Nothing here is global: each `create_app` call makes an independent gateway, so tests can run
several side by side (e.g. two replicas against one fake API server).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
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

from prow_graphql.admission import ConnectionLimiter, caller_key
from prow_graphql.config_state import ConfigState
from prow_graphql.errors import GatewayError, Unauthenticated
from prow_graphql.gangway.mount import GangwayMount
from prow_graphql.http_guard import HttpGuard
from prow_graphql.identity import ANONYMOUS, Authenticator, RequestInfo, authenticator_for
from prow_graphql.identity import authorization_from_init_payload as init_authorization
from prow_graphql.informer import Informer
from prow_graphql.metrics import Metrics
from prow_graphql.prow import links
from prow_graphql.rest import rest_routes
from prow_graphql.schema import admission as subscription_admission
from prow_graphql.schema.context import GraphQLContext
from prow_graphql.schema.cost import Limits
from prow_graphql.schema.frames import FrameCache
from prow_graphql.schema.guard import capped
from prow_graphql.schema.http_view import GraphQLOverHTTP
from prow_graphql.schema.result_cache import ResultStore
from prow_graphql.schema.schema import build_schema
from prow_graphql.schema.sharing import SharedStreams
from prow_graphql.schema.transport import AnyOperationWSHandler, SharedTransportWSHandler
from prow_graphql.schema.views import JobViewCache
from prow_graphql.service import GatewayService, Policy
from prow_graphql.settings import AuthMode, Backend, Settings
from prow_graphql.store.base import ProwJobObject, ProwJobStore
from prow_graphql.store.pod_logs import MemoryPodLogs, PodLogSource
from prow_graphql.store.sim_log import SimulatedTestLog
from prow_graphql.web import graphiql_response, web_routes

log = logging.getLogger(__name__)


class Gateway:
    """Everything one server instance owns; `service` exists while the lifespan runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = ConfigState(
            settings.config_path,
            settings.job_config_path,
            settings.supplemental_prow_config_dirs,
            settings.supplemental_prow_configs_suffix,
        )
        self.authenticator: Authenticator = authenticator_for(
            settings.auth,
            token_file=settings.token_file,
            trusted_proxies=settings.trusted_proxies,
        )
        self.metrics = Metrics()
        self.config.on_outcome(lambda ok: self.metrics.observe_config_reload(ok))
        self.view_cache = JobViewCache()
        self.result_store = ResultStore(settings.protections.cache_bytes)
        self.shared_streams = SharedStreams(settings.subscriber_queue_limit)
        self.connections = ConnectionLimiter(settings.protections.max_connections_per_identity)
        self.subscriptions = ConnectionLimiter(
            settings.protections.max_subscriptions_per_identity,
            what="open subscriptions",
            flag="--max-subscriptions-per-identity",
        )
        self.store: ProwJobStore | None = None
        self.informer: Informer | None = None
        self.pod_logs: PodLogSource | None = None
        self._service: GatewayService | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def service(self) -> GatewayService:
        """The service; only valid while the app is running."""
        if self._service is None:
            raise RuntimeError("the gateway is not running (lifespan not started)")
        return self._service

    @property
    def namespace(self) -> str:
        """--namespace, else Prow's prowjob_namespace."""
        return self.settings.namespace or self.config.index.config.prowjob_namespace

    async def start(self) -> None:
        """Connect the store, start the informer (and the simulator on the memory backend)."""
        s = self.settings
        self.store = await self._open_store()
        self.pod_logs = self._open_pod_logs()
        self.informer = Informer(
            self.store,
            watch_timeout_seconds=s.watch_timeout_seconds,
            inactivity_timeout=s.watch_inactivity_timeout,
            subscriber_queue_limit=s.subscriber_queue_limit,
            stale_after=s.stale_after,
        )
        self._service = GatewayService(
            config=self.config,
            store=self.store,
            informer=self.informer,
            deck_url=s.deck_url,
            policy=Policy(
                authorize=s.auth is not AuthMode.NONE,
                dry_run=s.dry_run,
                enable_abort=s.enable_abort,
                env_allowlist=s.env_allowlist,
                idempotency_window=timedelta(hours=s.idempotency_window_hours),
                require_shas=s.require_shas,
            ),
            metrics=self.metrics,
            follow_wait=s.follow_wait,
            pod_logs=self.pod_logs,
        )
        informer = self.informer
        self.metrics.bind(
            cache_size=lambda: float(len(informer)),
            watch_restarts=lambda: float(informer.stats.watch_restarts),
            watch_relists=lambda: float(informer.stats.relists),
            watch_errors=lambda: float(informer.stats.errors),
        )
        self.informer.start()
        if s.backend is Backend.MEMORY:
            from prow_graphql.store.simulator import PlankSimulator

            simulator = PlankSimulator(
                self.store,
                pending_after=s.sim_pending_after,
                complete_after=s.sim_complete_after,
                failure_rate=s.sim_failure_rate,
                url_for=self._job_url,
                # the simulated pods write their test logs where prowJobLog reads them
                log=SimulatedTestLog(self.pod_logs, self.config.index.config.pod_namespace)
                if isinstance(self.pod_logs, MemoryPodLogs)
                else None,
            )
            self._tasks.append(asyncio.create_task(simulator.run(), name="plank-simulator"))
        if s.config_reload_interval > 0:
            self._tasks.append(
                asyncio.create_task(
                    self.config.watch(s.config_reload_interval), name="config-reload"
                )
            )

    async def stop(self) -> None:
        """Cancel background tasks and close the store."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.informer is not None:
            await self.informer.stop()
        if self.store is not None:
            await self.store.aclose()
        if self.pod_logs is not None:
            await self.pod_logs.aclose()

    def _open_pod_logs(self) -> PodLogSource | None:
        # Embedded: the simulated plank writes the logs; kube: only with a build-cluster config.
        if self.settings.backend is Backend.MEMORY:
            return MemoryPodLogs()
        from prow_graphql.store.kube_logs import KubePodLogs

        path = self.settings.build_cluster_kubeconfig
        return KubePodLogs(path) if path else None

    def _job_url(self, obj: ProwJobObject, build_id: str) -> str:
        return links.job_url(obj, build_id, self.config.index.config.plank)

    async def _open_store(self) -> ProwJobStore:
        if self.settings.backend is Backend.MEMORY:
            from prow_graphql.store.memory import MemoryStore

            return MemoryStore(self.namespace)
        from prow_graphql.store.kube import connect

        return await connect(self.settings.kubeconfig, self.settings.context, self.namespace)

    @property
    def healthy(self) -> bool:
        """False when a background task that should run forever has died."""
        if self.informer is not None and not self.informer.healthy:
            return False
        return all(not t.done() for t in self._tasks)

    @property
    def ready(self) -> bool:
        """Config loaded (always, once constructed), the informer has completed a list, and its
        list/watch has not kept failing for longer than --stale-after."""
        if self.informer is None:
            return False
        status = self.informer.status()
        return status.synced and not status.stale


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


_ADMITTED = "prow_graphql.admitted"


def _start(data: str | bytes) -> str:
    """The first characters of a message, for an error that must not copy all of it."""
    return data[:100].decode("utf-8", "replace") if isinstance(data, bytes) else data[:100]


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
