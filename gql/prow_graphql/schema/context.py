"""What every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prow_graphql.identity import ANONYMOUS, Identity
from prow_graphql.metrics import Metrics
from prow_graphql.schema.views import JobViewCache, JobViews
from prow_graphql.service import GatewayService


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
