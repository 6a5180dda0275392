"""jobRuns and jobStats: a job's recent runs and how it has been doing, from the live cache.

Resolvers only translate arguments and results; the selection and counting live in
`service.history`.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from prow_graphql import errors
from prow_graphql.schema import errors as gql_errors
from prow_graphql.schema.context import GraphQLContext
from prow_graphql.schema.types import PageInfo, ProwJob, ProwJobConnection, ProwJobEdge, prow_job
from prow_graphql.service import GatewayService, ProwJobPage
from prow_graphql.service.history import JobStats as DomainStats
from prow_graphql.service.history import RunSelector

Ctx = Info[GraphQLContext, None]


@strawberry.type(
    description="How a job has been doing over its runs in the live cache (the ProwJobs Prow "
    "still keeps; sinker deletes old ones)."
)
class JobStats:
    job: str
    runs: int = strawberry.field(description="Runs in the cache, in any state.")
    running: int = strawberry.field(description="Runs not finished yet.")
    succeeded: int
    failed: int = strawberry.field(description="Runs that ended in failure or error.")
    aborted: int
    pass_rate: float | None = strawberry.field(
        description="succeeded / (succeeded + failed), 0..1; aborted runs are left out. Null "
        "before any run has finished."
    )
    p50_duration_seconds: float | None = strawberry.field(
        description="Median duration of finished, non-aborted runs (nearest rank)."
    )
    p90_duration_seconds: float | None = strawberry.field(
        description="90th percentile duration of finished, non-aborted runs (nearest rank)."
    )
    last_run: ProwJob | None
    last_failure: ProwJob | None = strawberry.field(
        description="The newest failed run; its url / logLink lead to the logs."
    )


JobRunsResult = Annotated[
    ProwJobConnection | gql_errors.JobNotFound | gql_errors.InvalidInput,
    strawberry.union("JobRunsResult"),
]
JobStatsResult = Annotated[
    JobStats | gql_errors.JobNotFound | gql_errors.InvalidInput,
    strawberry.union("JobStatsResult"),
]


def connection(service: GatewayService, page: ProwJobPage) -> ProwJobConnection:
    """The Relay connection of one page of ProwJobs."""
    edges = [
        ProwJobEdge(cursor=c, node=prow_job(r, service.links(r)))
        for r, c in zip(page.records, page.cursors, strict=True)
    ]
    return ProwJobConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        total_count=page.total_count,
    )


def _stats(service: GatewayService, s: DomainStats) -> JobStats:
    return JobStats(
        job=s.job,
        runs=s.runs,
        running=s.running,
        succeeded=s.succeeded,
        failed=s.failed,
        aborted=s.aborted,
        pass_rate=s.pass_rate,
        p50_duration_seconds=s.p50_duration_seconds,
        p90_duration_seconds=s.p90_duration_seconds,
        last_run=prow_job(s.last_run, service.links(s.last_run)) if s.last_run else None,
        last_failure=(
            prow_job(s.last_failure, service.links(s.last_failure)) if s.last_failure else None
        ),
    )


def _failure(exc: errors.UserError) -> gql_errors.JobNotFound | gql_errors.InvalidInput:
    if isinstance(exc, errors.InvalidInput):
        return gql_errors.invalid_input(exc, prefix="")
    return gql_errors.JobNotFound(message=str(exc))


def job_runs(
    info: Ctx,
    job: str,
    org: str | None = None,
    repo: str | None = None,
    branch: str | None = None,
    first: int = 20,
    after: str | None = None,
) -> JobRunsResult:
    """A page of one job's runs, newest first; JobNotFound for a job nobody configured."""
    service = info.context.service
    try:
        selector = RunSelector(job, org, repo, branch)
        hidden = info.context.hidden_repos()
        page = service.job_runs(selector, first=first, after=after, hidden_repos=hidden)
    except (errors.JobNotFound, errors.InvalidInput) as exc:
        return _failure(exc)
    return connection(service, page)


def job_stats(
    info: Ctx,
    job: str,
    org: str | None = None,
    repo: str | None = None,
    branch: str | None = None,
) -> JobStatsResult:
    """Runs, pass rate, p50/p90 duration and the last failure of one job."""
    service = info.context.service
    try:
        selector = RunSelector(job, org, repo, branch)
        hidden = info.context.hidden_repos()
        return _stats(service, service.job_stats(selector, hidden_repos=hidden))
    except (errors.JobNotFound, errors.InvalidInput) as exc:
        return _failure(exc)
