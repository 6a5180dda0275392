"""Gangway's gRPC service (`Prow`) on its own port, on the gateway's event loop (grpc.aio).

Also serves the standard health service (SERVING while the gateway is ready) and server
reflection, as gangway does. Callers authenticate as on HTTP: the `authorization` metadata (or
the proxy's headers, from a trusted peer) goes through the gateway's authenticator.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from prow_graphql.errors import Unauthenticated
from prow_graphql.gangway.api import GangwayApi
from prow_graphql.gangway.rules import ApiError, Code, Message
from prow_graphql.identity import ANONYMOUS, Authenticator, Identity, RequestInfo

log = logging.getLogger(__name__)

SERVICE_NAME = "Prow"
_T = TypeVar("_T")


class ProwServicer:
    """The generated servicer's methods, delegating to `GangwayApi`."""

    def __init__(self, api: GangwayApi, authenticator: Authenticator) -> None:
        self._api = api
        self._authenticator = authenticator

    def _identity(self, context: grpc.aio.ServicerContext[Any, Any]) -> Identity:
        if not self._authenticator.required:
            return ANONYMOUS
        metadata = context.invocation_metadata() or ()
        try:
            return self._authenticator.authenticate_request(
                RequestInfo.of(_peer_host(context), metadata)
            )
        except Unauthenticated as exc:
            raise ApiError(Code.UNAUTHENTICATED, exc.message) from exc

    async def _call(
        self,
        context: grpc.aio.ServicerContext[Any, Any],
        method: str,
        call: Callable[[Identity], Awaitable[_T]],
    ) -> _T:
        started = time.monotonic()
        code = Code.OK
        try:
            return await call(self._identity(context))
        except ApiError as exc:
            code = exc.code
            await context.abort(_status(exc.code), exc.message)
            raise
        except Exception:
            code = Code.INTERNAL
            request_id = uuid.uuid4().hex
            log.exception("gangway gRPC call failed unexpectedly (request id %s)", request_id)
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error; quote {request_id}")
            raise
        finally:
            self._api.observe("grpc", method, code, time.monotonic() - started)

    async def CreateJobExecution(
        self, request: Message, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Message:
        return await self._call(
            context, "CreateJobExecution", lambda identity: self._api.create(request, identity)
        )

    async def GetJobExecution(
        self, request: Message, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Message:
        return await self._call(
            context, "GetJobExecution", lambda identity: self._api.get(request.id, identity)
        )

    async def ListJobExecutions(
        self, request: Message, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Message:
        async def call(identity: Identity) -> Message:
            return self._api.list(request, identity)

        return await self._call(context, "ListJobExecutions", call)

    async def BulkJobStatusChange(
        self, request: Message, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Message:
        async def call(identity: Identity) -> Message:
            await self._api.bulk(request, identity)
            from google.protobuf import empty_pb2

            return empty_pb2.Empty()

        return await self._call(context, "BulkJobStatusChange", call)

    async def WatchJobExecution(
        self, request: Message, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Message]:
        started, observed = time.monotonic(), False

        def observe(code: Code) -> None:
            # Once per call: by its first message, or by how it ended before one.
            nonlocal observed
            if not observed:
                observed = True
                self._api.observe("grpc", "WatchJobExecution", code, time.monotonic() - started)

        try:
            identity = self._identity(context)
        except ApiError as exc:
            observe(exc.code)
            await context.abort(_status(exc.code), exc.message)
            return
        updates = self._api.watch(request.id, identity, _peer_host(context))
        try:
            async for update in updates:
                observe(Code.OK)
                yield update
        except ApiError as exc:
            observe(exc.code)
            await context.abort(_status(exc.code), exc.message)
        finally:
            observe(Code.OK)  # ended (or the caller left) before its first message
            await updates.aclose()


def _peer_host(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    """The peer's address alone: "ipv4:127.0.0.1:5000" / "ipv6:[::1]:5000" → the host. An
    IPv4-mapped IPv6 address becomes the IPv4 one, as HTTP reports it, so a caller without a
    user is counted under one address on both transports."""
    peer = context.peer() or ""
    if ":" not in peer:
        return None
    host = peer.split(":", 1)[1].rsplit(":", 1)[0].strip("[]")
    try:
        mapped = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(mapped, ipaddress.IPv6Address) and mapped.ipv4_mapped is not None:
        return str(mapped.ipv4_mapped)
    return host


def _status(code: Code) -> grpc.StatusCode:
    return next(s for s in grpc.StatusCode if s.value[0] == int(code))


class GrpcServer:
    """The gRPC server's lifetime: `start` binds, `stop` drains briefly and closes."""

    def __init__(
        self,
        api: GangwayApi,
        authenticator: Authenticator,
        grpc_module: Any,
        *,
        host: str,
        port: int,
        synced: asyncio.Event,
        max_message_bytes: int,
    ) -> None:
        # gRPC's own default is 4 MiB; the gateway accepts no request larger than --max-body-bytes
        # on any transport.
        self._server = grpc.aio.server(
            options=[("grpc.max_receive_message_length", max_message_bytes)]
        )
        grpc_module.add_ProwServicer_to_server(ProwServicer(api, authenticator), self._server)
        self._health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        names = (
            api.pb.DESCRIPTOR.services_by_name[SERVICE_NAME].full_name,
            health.SERVICE_NAME,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(names, self._server)
        self._address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._synced = synced
        self._watcher: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self) -> int:
        """Bind and serve; returns the bound port (useful with port 0 in tests)."""
        self.port = self._server.add_insecure_port(self._address)
        await self._server.start()
        self._watcher = asyncio.create_task(self._serve_when_ready(), name="grpc-health")
        log.info("gangway gRPC API on %s", self._address.rsplit(":", 1)[0] + f":{self.port}")
        return self.port

    async def _serve_when_ready(self) -> None:
        """NOT_SERVING until the gateway is ready (informer synced), then SERVING."""
        for status in (
            health_pb2.HealthCheckResponse.NOT_SERVING,
            health_pb2.HealthCheckResponse.SERVING,
        ):
            if status == health_pb2.HealthCheckResponse.SERVING:
                await self._synced.wait()
            for service in ("", SERVICE_NAME):
                await self._health.set(service, status)

    async def stop(self) -> None:
        """Stop accepting calls; give running ones a second (streams end with the gateway)."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self._server.stop(grace=1.0)
