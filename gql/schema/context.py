"""What every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gql.identity import ANONYMOUS, Identity
from gql.metrics import Metrics
from gql.schema.views import JobViewCache, JobViews
from gql.service import GatewayService


@dataclass
class GraphQLContext:
    """Per-request context: the shared service plus the caller's identity and request id."""

    service: GatewayService
    view_cache: JobViewCache
    identity: Identity = ANONYMOUS
    request_id: str = ""
    metrics: Metrics | None = None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def views(self) -> JobViews:
        """GraphQL views of the current config snapshot."""
        return self.view_cache.get(self.service.config.index)
