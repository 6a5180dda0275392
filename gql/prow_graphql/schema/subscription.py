"""Subscription resolvers: async generators over the informer's fan-out (never polling)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from prow_graphql.prow.visibility import hidden_from
from prow_graphql.schema import logs
from prow_graphql.schema.context import GraphQLContext
from prow_graphql.schema.inputs import to_filter
from prow_graphql.schema.types import (
    ProwJob,
    ProwJobEvent,
    ProwJobEventType,
    ProwJobFilter,
    prow_job,
)
from prow_graphql.schema.visibility import hidden_not_found
from prow_graphql.service.visible import visible

Ctx = Info[GraphQLContext, None]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The ProwJob's current state, then every change of state, BuildID, URL or "
        "times; completes after a final state (success, failure, aborted, error)."
    )
    async def prow_job_updated(self, info: Ctx, name: str) -> AsyncGenerator[ProwJob, None]:
        service = info.context.service
        hidden_repos = info.context.hidden_repos()
        async for record in service.follow(name):
            if hidden_from(hidden_repos, record):
                raise hidden_not_found(service, name)  # exactly as for an unknown name
            yield prow_job(record, service.links(record))

    @strawberry.subscription(
        description="Live feed of ProwJob changes matching the filter; with includeSnapshot the "
        "current matching jobs come first (snapshot: true)."
    )
    async def prow_job_events(
        self, info: Ctx, filter: ProwJobFilter | None = None, include_snapshot: bool = False
    ) -> AsyncGenerator[ProwJobEvent, None]:
        service = info.context.service
        f = filter or ProwJobFilter()
        domain_filter = visible(
            to_filter(f.org, f.repo, f.job, f.type, f.state), info.context.hidden_repos()
        )
        async for change in service.events(domain_filter, snapshot=include_snapshot):
            yield ProwJobEvent(
                type=ProwJobEventType(change.kind.value),
                prow_job=prow_job(change.record, service.links(change.record)),
                snapshot=change.snapshot,
            )

    prow_job_log: AsyncGenerator[logs.ProwJobLogEvent, None] = strawberry.subscription(
        resolver=logs.prow_job_log,
        description="The live output of a ProwJob's container (default: test), read from its "
        "build cluster as it is written: the lines so far, then new lines; completes when the "
        "container ends. WAITING, POD_GONE and UNAVAILABLE events say why there is no log.",
    )
