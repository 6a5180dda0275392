"""`cacheStatus`: how fresh the watch cache that ProwJob queries and subscriptions read is."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from prow_graphql.informer import CacheStatus as DomainCacheStatus


@strawberry.type(
    description="The ProwJob watch cache: when the Kubernetes API last confirmed it, and "
    "whether list/watch has been failing (then prowJob/prowJobs may serve stale data)."
)
class CacheStatus:
    synced: bool = strawberry.field(description="The first list has completed.")
    last_synced_at: datetime | None = strawberry.field(
        description="When the API server last confirmed the cache (a list, an event or a "
        "bookmark, or a watch it ended on time)."
    )
    failing_for_seconds: float = strawberry.field(
        description="How long list/watch has been failing without a success (0 when healthy)."
    )
    stale: bool = strawberry.field(
        description="Failing for longer than --stale-after; /readyz then reports not ready."
    )
    size: int = strawberry.field(description="ProwJobs in the cache.")


def cache_status(status: DomainCacheStatus) -> CacheStatus:
    """The GraphQL view of the informer's status."""
    at = status.last_synced_at
    return CacheStatus(
        synced=status.synced,
        last_synced_at=None if at is None else datetime.fromtimestamp(at, UTC),
        failing_for_seconds=round(status.failing_for, 3),
        stale=status.stale,
        size=status.size,
    )
