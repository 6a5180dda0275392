"""Query resolvers: configured jobs from the index snapshot, ProwJobs from the informer cache."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from prow_graphql import errors
from prow_graphql.prow.visibility import hidden_from
from prow_graphql.schema import history
from prow_graphql.schema.cache_status import CacheStatus, cache_status
from prow_graphql.schema.context import GraphQLContext
from prow_graphql.schema.inputs import to_filter
from prow_graphql.schema.types import (
    ConfigStatus,
    JobCounts,
    JobDefinition,
    ProwJob,
    ProwJobConnection,
    ProwJobFilter,
    ProwJobType,
    Repo,
    prow_job,
)
from prow_graphql.service.visible import visible

Ctx = Info[GraphQLContext, None]


@strawberry.type
class Query:
    @strawberry.field(description="Every org/repo with configured presubmits or postsubmits.")
    def repos(self, info: Ctx) -> list[Repo]:
        return list(info.context.views().repos)

    @strawberry.field(description="One org/repo, or null when it has no configured jobs.")
    def repo(self, info: Ctx, org: str, repo: str) -> Repo | None:
        return info.context.views().by_repo.get(f"{org}/{repo}")

    @strawberry.field(description="Every configured periodic.")
    def periodics(self, info: Ctx) -> list[JobDefinition]:
        return list(info.context.views().periodics)

    @strawberry.field(
        description="One configured job by type and name; org/repo for pre/postsubmits, and "
        "baseRef to pick among jobs of the same name on different branches."
    )
    def job(
        self,
        info: Ctx,
        type: ProwJobType,
        name: str,
        org: str | None = None,
        repo: str | None = None,
        base_ref: str | None = None,
    ) -> JobDefinition | None:
        views = info.context.views()
        if type is ProwJobType.PERIODIC:
            candidates = [j for j in views.periodics if j.name == name]
        else:
            found = views.by_repo.get(f"{org}/{repo}")
            pool = [] if found is None else found.presubmits + found.postsubmits
            candidates = [j for j in pool if j.name == name and j.type is type]
        if base_ref is not None and len(candidates) > 1:
            index = info.context.service.config.index
            try:
                hidden = info.context.hidden_repos()
                chosen = index.find(type.to_domain(), f"{org}/{repo}", name, base_ref, hidden)
            except errors.UserError:
                return None
            candidates = [j for j in candidates if j.source_path == chosen.source_path]
        return candidates[0] if candidates else None

    @strawberry.field(description="A ProwJob by name (metadata.name), from the watch cache.")
    def prow_job(self, info: Ctx, name: str) -> ProwJob | None:
        service = info.context.service
        record = service.get(name)
        if record is None or hidden_from(info.context.hidden_repos(), record):
            return None  # a hidden ProwJob does not exist for this caller
        return prow_job(record, service.links(record))

    @strawberry.field(description="ProwJobs newest first (Relay connection over the watch cache).")
    def prow_jobs(
        self,
        info: Ctx,
        filter: ProwJobFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> ProwJobConnection:
        service = info.context.service
        f = filter or ProwJobFilter()
        domain = to_filter(f.org, f.repo, f.job, f.type, f.state)
        page = service.list(visible(domain, info.context.hidden_repos()), first=first, after=after)
        return history.connection(service, page)

    job_runs: history.JobRunsResult = strawberry.field(
        resolver=history.job_runs,
        description="One job's runs from the watch cache, newest first, optionally on one "
        "org/repo and base branch; JobNotFound for a job that is neither configured nor cached.",
    )
    job_stats: history.JobStatsResult = strawberry.field(
        resolver=history.job_stats,
        description="How one job has been doing: runs, pass rate, p50/p90 duration and the last "
        "failure (with its links), over its runs in the watch cache.",
    )

    @strawberry.field(description="How fresh the ProwJob watch cache is.")
    def cache_status(self, info: Ctx) -> CacheStatus:
        return cache_status(info.context.service.informer.status())

    @strawberry.field(description="The loaded Prow configuration and the last reload's outcome.")
    def config(self, info: Ctx) -> ConfigStatus:
        state = info.context.service.config
        index = state.index
        # What the caller may see: hidden jobs are not counted for callers they are hidden from.
        c = info.context.views().counts
        return ConfigStatus(
            loaded_at=index.loaded_at,
            generation=index.generation,
            job_counts=JobCounts(
                presubmits=c.presubmits,
                postsubmits=c.postsubmits,
                periodics=c.periodics,
                repos=c.repos,
            ),
            files=len(index.files),
            prowjob_namespace=info.context.service.namespace,
            last_error=state.last_error,
            last_error_at=state.last_error_at,
        )
