"""Puts the gangway API on a gateway: the /v1 routes, and the gRPC server when --grpc-port."""

from __future__ import annotations

from typing import Protocol

from starlette.routing import BaseRoute

from prow_graphql.gangway import codegen
from prow_graphql.gangway.api import GangwayApi, GangwayGateway
from prow_graphql.gangway.grpc_server import GrpcServer
from prow_graphql.gangway.rest import gangway_routes
from prow_graphql.identity import Authenticator


class MountedGateway(GangwayGateway, Protocol):
    """What mounting needs beyond the API's needs."""

    @property
    def authenticator(self) -> Authenticator:
        """The gateway's authenticator."""
        ...


class GangwayMount:
    """The REST routes (always) and the gRPC server (with --grpc-port) of one gateway."""

    def __init__(self, gateway: MountedGateway) -> None:
        self._gateway = gateway
        pb, self._grpc_module = codegen.generated()
        self.api = GangwayApi(gateway, pb)
        self.grpc: GrpcServer | None = None

    def routes(self) -> list[BaseRoute]:
        """The /v1 routes."""
        settings = self._gateway.settings
        return gangway_routes(self.api, settings.auth, settings.protections.max_response_bytes)

    async def start(self) -> None:
        """Start the gRPC server if configured (after the gateway's own start)."""
        settings = self._gateway.settings
        if settings.grpc_port:
            self.grpc = GrpcServer(
                self.api,
                self._gateway.authenticator,
                self._grpc_module,
                host=settings.host,
                port=settings.grpc_port,
                synced=self._gateway.service.informer.synced,
                max_message_bytes=settings.max_body_bytes,
            )
            await self.grpc.start()

    async def stop(self) -> None:
        """Stop the gRPC server."""
        if self.grpc is not None:
            await self.grpc.stop()
            self.grpc = None
