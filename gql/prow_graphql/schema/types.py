"""GraphQL object types, each built from a domain object by one `from_*` function.

This is the one place that maps domain objects to GraphQL types; resolvers never build them from
raw dicts.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from prow_graphql.prow import jobs as prow_jobs
from prow_graphql.prow.objects import ANNOTATION_TRIGGERED_BY, ProwJobRecord
from prow_graphql.prow.objects import ProwJobState as DomainState
from prow_graphql.prow.objects import ProwJobType as DomainType
from prow_graphql.prow.objects import Pull as DomainPull
from prow_graphql.prow.objects import Refs as DomainRefs


@strawberry.enum(description="What kind of event runs a job.")
class ProwJobType(enum.Enum):
    PRESUBMIT = "presubmit"
    POSTSUBMIT = "postsubmit"
    PERIODIC = "periodic"
    BATCH = "batch"

    def to_domain(self) -> DomainType:
        return DomainType(self.value)


@strawberry.enum(description="Where a ProwJob is in its life; the last four are final.")
class ProwJobState(enum.Enum):
    SCHEDULING = "scheduling"
    TRIGGERED = "triggered"
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ABORTED = "aborted"
    ERROR = "error"

    def to_domain(self) -> DomainState:
        return DomainState(self.value)


@strawberry.type(description="A label or annotation.")
class KeyValue:
    key: str
    value: str


def key_values(mapping: Mapping[str, str]) -> list[KeyValue]:
    """Sorted key/value pairs (GraphQL has no map type)."""
    return [KeyValue(key=k, value=str(v)) for k, v in sorted(mapping.items())]


@strawberry.type(description="An environment variable of a container.")
class EnvVar:
    name: str
    value: str | None = strawberry.field(description="Null when the value comes from a source.")
    value_from: JSON | None = strawberry.field(description="valueFrom, as Kubernetes JSON.")


@strawberry.type(description="A container of a job's pod spec.")
class Container:
    name: str
    image: str
    command: list[str]
    args: list[str]
    env: list[EnvVar]


@strawberry.type(description="A job as configured in Prow, after Prow's defaulting and presets.")
class JobDefinition:
    name: str
    type: ProwJobType
    org: str | None = strawberry.field(description="Null for periodics.")
    repo: str | None = strawberry.field(description="Null for periodics.")
    context: str | None = strawberry.field(description="GitHub status context; null for periodics.")
    always_run: bool | None
    optional: bool | None = strawberry.field(description="Presubmits only.")
    run_if_changed: str | None
    skip_if_only_changed: str | None
    branches: list[str]
    skip_branches: list[str]
    rerun_command: str | None
    skip_report: bool | None
    cron: str | None = strawberry.field(description="Periodics only.")
    interval: str | None
    minimum_interval: str | None
    cluster: str
    namespace: str
    agent: str
    max_concurrency: int
    decorate: bool
    hidden: bool
    labels: list[KeyValue]
    annotations: list[KeyValue]
    containers: list[Container]
    source_path: str = strawberry.field(description="The config file that defines the job.")


def _container(c: prow_jobs.ContainerView) -> Container:
    return Container(
        name=c.name,
        image=c.image,
        command=list(c.command),
        args=list(c.args),
        env=[
            EnvVar(
                name=e.name,
                value=None if e.value_from is not None else e.value,
                value_from=cast(JSON, dict(e.value_from)) if e.value_from is not None else None,
            )
            for e in c.env
        ],
    )


def job_definition(job: prow_jobs.Job) -> JobDefinition:
    """Build the GraphQL view of a configured job."""
    org = repo = context = run_if_changed = skip_if_only = rerun = None
    always_run: bool | None = None
    optional = skip_report = None
    branches: list[str] = []
    skip_branches: list[str] = []
    cron = interval = minimum_interval = None
    if isinstance(job, prow_jobs.Presubmit | prow_jobs.Postsubmit):
        org, _, repo = job.org_repo.partition("/")
        context = job.context
        always_run = job.always_run
        run_if_changed = job.run_if_changed or None
        skip_if_only = job.skip_if_only_changed or None
        branches = list(job.brancher.branches)
        skip_branches = list(job.brancher.skip_branches)
        skip_report = job.skip_report
        if isinstance(job, prow_jobs.Presubmit):
            optional = job.optional
            rerun = job.rerun_command
    else:
        cron = job.cron or None
        interval = job.interval or None
        minimum_interval = job.minimum_interval or None
    return JobDefinition(
        name=job.name,
        type=ProwJobType(job.type.value),
        org=org,
        repo=repo,
        context=context,
        always_run=always_run,
        optional=optional,
        run_if_changed=run_if_changed,
        skip_if_only_changed=skip_if_only,
        branches=branches,
        skip_branches=skip_branches,
        rerun_command=rerun,
        skip_report=skip_report,
        cron=cron,
        interval=interval,
        minimum_interval=minimum_interval,
        cluster=job.cluster,
        namespace=job.namespace,
        agent=job.agent,
        max_concurrency=job.max_concurrency,
        decorate=job.decorate,
        hidden=job.hidden,
        labels=key_values(job.labels),
        annotations=key_values(job.annotations),
        containers=[_container(c) for c in job.containers],
        source_path=job.source_path,
    )


@strawberry.type(description="An org/repo with its configured presubmits and postsubmits.")
class Repo:
    org: str
    repo: str
    presubmits: list[JobDefinition]
    postsubmits: list[JobDefinition]

    @strawberry.field(description='"org/repo".')
    def full_name(self) -> str:
        return f"{self.org}/{self.repo}"


@strawberry.type(description="A pull request under test.")
class Pull:
    number: int
    author: str
    sha: str
    title: str
    ref: str
    link: str
    commit_link: str
    author_link: str
    head_ref: str


@strawberry.type(description="The repository (and pull requests) a ProwJob tests.")
class Refs:
    org: str
    repo: str
    repo_link: str
    base_ref: str
    base_sha: str
    base_link: str
    path_alias: str
    pulls: list[Pull]


def _pull(p: DomainPull) -> Pull:
    return Pull(
        number=p.number,
        author=p.author,
        sha=p.sha,
        title=p.title,
        ref=p.ref,
        link=p.link,
        commit_link=p.commit_link,
        author_link=p.author_link,
        head_ref=p.head_ref,
    )


def refs(r: DomainRefs) -> Refs:
    """Build the GraphQL view of a Refs."""
    return Refs(
        org=r.org,
        repo=r.repo,
        repo_link=r.repo_link,
        base_ref=r.base_ref,
        base_sha=r.base_sha,
        base_link=r.base_link,
        path_alias=r.path_alias,
        pulls=[_pull(p) for p in r.pulls],
    )


@strawberry.type(description="A run of a job: a prow.k8s.io/v1 ProwJob.")
class ProwJob:
    name: str = strawberry.field(description="metadata.name, the ProwJob ID (a UUID).")
    namespace: str
    type: ProwJobType
    job: str
    state: ProwJobState
    description: str
    build_id: str | None = strawberry.field(description="Set by plank when the job goes pending.")
    pod_name: str | None
    url: str | None = strawberry.field(description="Prow's details link (status.url).")
    cluster: str
    context: str
    refs: Refs | None
    extra_refs: list[Refs]
    start_time: datetime | None
    pending_time: datetime | None
    completion_time: datetime | None
    duration_seconds: float | None = strawberry.field(
        description="completionTime - startTime, or null while running."
    )
    triggered_by: str | None = strawberry.field(description="Who triggered it via prow-graphql.")
    resource_version: str
    labels: list[KeyValue]
    annotations: list[KeyValue]
    status_link: str | None = strawberry.field(description="Deck's page for this ProwJob.")
    log_link: str | None = strawberry.field(description="Deck's log page, once a BuildID is known.")

    @strawberry.field(description="True for success, failure, aborted and error.")
    def finished(self) -> bool:
        return self.state in (
            ProwJobState.SUCCESS,
            ProwJobState.FAILURE,
            ProwJobState.ABORTED,
            ProwJobState.ERROR,
        )


def prow_job(record: ProwJobRecord, links: tuple[str | None, str | None]) -> ProwJob:
    """Build the GraphQL view of a ProwJob record; `links` = (status link, log link)."""
    duration = None
    if record.start_time is not None and record.completion_time is not None:
        duration = (record.completion_time - record.start_time).total_seconds()
    return ProwJob(
        name=record.name,
        namespace=record.namespace,
        type=ProwJobType(record.type.value),
        job=record.job,
        state=ProwJobState(record.state.value),
        description=record.description,
        build_id=record.build_id or None,
        pod_name=record.pod_name or None,
        url=record.url or None,
        cluster=record.cluster,
        context=record.context,
        refs=refs(record.refs) if record.refs is not None else None,
        extra_refs=[refs(r) for r in record.extra_refs],
        start_time=record.start_time,
        pending_time=record.pending_time,
        completion_time=record.completion_time,
        duration_seconds=duration,
        triggered_by=record.annotations.get(ANNOTATION_TRIGGERED_BY),
        resource_version=record.resource_version,
        labels=key_values(record.labels),
        annotations=key_values(record.annotations),
        status_link=links[0],
        log_link=links[1],
    )


@strawberry.type(description="Relay page info.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ProwJobEdge:
    cursor: str
    node: ProwJob


@strawberry.type(description="A page of ProwJobs, newest first.")
class ProwJobConnection:
    edges: list[ProwJobEdge]
    page_info: PageInfo
    total_count: int

    @strawberry.field(description="The nodes of `edges`, for clients that do not need cursors.")
    def nodes(self) -> list[ProwJob]:
        return [e.node for e in self.edges]


@strawberry.enum
class ProwJobEventType(enum.Enum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@strawberry.type(description="A change to a ProwJob, for live dashboards.")
class ProwJobEvent:
    type: ProwJobEventType
    prow_job: ProwJob
    snapshot: bool = strawberry.field(
        description="True for the current jobs sent first when includeSnapshot is set."
    )


@strawberry.input(description="Filters for prowJobs and prowJobEvents; all set fields must match.")
class ProwJobFilter:
    org: str | None = None
    repo: str | None = None
    job: str | None = None
    type: ProwJobType | None = None
    state: ProwJobState | None = None


@strawberry.type(description="Counts of configured jobs.")
class JobCounts:
    presubmits: int
    postsubmits: int
    periodics: int
    repos: int


@strawberry.type(description="The loaded Prow configuration.")
class ConfigStatus:
    loaded_at: datetime = strawberry.field(description="When the current snapshot was loaded.")
    generation: int
    job_counts: JobCounts
    files: int
    prowjob_namespace: str
    last_error: str | None = strawberry.field(
        description="The last reload's error; the previous good config stays in use."
    )
    last_error_at: datetime | None
