"""What every resolver receives as `info.context`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prow_graphql.identity import ANONYMOUS, Identity
from prow_graphql.metrics import Metrics
from prow_graphql.prow.visibility import caller_hidden_repos, sees_hidden
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
    hidden_jobs_group: str | None = None

    def views(self) -> JobViews:
        """GraphQL views of the current config snapshot, as far as the caller may see it."""
        return self.view_cache.get(self.service.config.index, include_hidden=self.sees_hidden())

    def sees_hidden(self) -> bool:
        """Whether the caller is in --hidden-jobs-group (decided on the current identity)."""
        return sees_hidden(self.identity, self.hidden_jobs_group)

    def hidden_repos(self) -> tuple[str, ...] | None:
        """What to hide from this caller's ProwJob reads: None (nothing), or deck.hidden_repos
        (ProwJobs with spec.hidden are hidden too)."""
        hidden = self.service.config.index.config.deck.hidden_repos
        return caller_hidden_repos(self.identity, self.hidden_jobs_group, hidden)
