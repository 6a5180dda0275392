"""Gangway's four operations (and the Watch extension) on the gateway's service.

Protocol-independent: requests and answers are the messages generated from gangway.proto, errors
are `ApiError`s carrying a gRPC status code; `rest` and `grpc_server` translate both. Create
applies gangway's validation, lookup and tenant rules, then calls `GatewayService.trigger`, the
one trigger path. Builds no ProwJob and writes no store itself.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from prow_graphql import errors
from prow_graphql.gangway import tenants
from prow_graphql.gangway.rules import (
    ENUM_NAMES,
    STATE_NUMBERS,
    STATES,
    TYPE_NUMBERS,
    TYPES,
    ApiError,
    Code,
    Message,
    api_error,
    quote,
    validate_bulk,
    validate_create,
)
from prow_graphql.identity import Identity
from prow_graphql.prow.jobs import Job
from prow_graphql.prow.objects import ProwJobRecord, ProwJobState, ProwJobType
from prow_graphql.service import (
    GatewayService,
    ProwJobFilter,
    PullRequestInput,
    TriggerRequest,
)
from prow_graphql.settings import Settings

_LIST_PAGE = 500


class GangwayGateway(Protocol):
    """What the API needs of `app.Gateway`."""

    @property
    def service(self) -> GatewayService:
        """The running service."""
        ...

    @property
    def settings(self) -> Settings:
        """The server's settings."""
        ...


class GangwayApi:
    """Create, Get, List, BulkJobStatusChange and Watch for one gateway."""

    def __init__(self, gateway: GangwayGateway, pb: Any) -> None:
        self._gateway = gateway
        self.pb = pb

    @property
    def _service(self) -> GatewayService:
        return self._gateway.service

    def _client(self, identity: Identity) -> tenants.ApiClient | None:
        """The caller's gangway client; None when no client list applies (auth off or none
        configured). A caller named by no configured client is refused, as gangway does."""
        if not identity.authenticated:
            return None
        clients = tenants.api_clients(self._service.config.index.config.raw)
        if not clients:
            return None
        client = tenants.identify(clients, identity)
        if client is None:
            raise ApiError(
                Code.INVALID_ARGUMENT,
                f"could not find allowed client for {quote(identity.display)}",
            )
        return client

    async def create(self, req: Message, identity: Identity) -> Message:
        """CreateJobExecution."""
        validate_create(req)
        client = self._client(identity)
        kind = TYPES.get(req.job_execution_type)
        if kind is None or kind is ProwJobType.BATCH:
            name = ENUM_NAMES.get(req.job_execution_type, str(req.job_execution_type))
            raise ApiError(Code.UNKNOWN, f"unsupported JobExecutionType type: {name}")
        refs = req.refs
        if kind is ProwJobType.PRESUBMIT and not refs.pulls:
            raise ApiError(Code.UNKNOWN, "at least 1 Pulls is required")
        if len(refs.pulls) > 1:
            raise ApiError(
                Code.INVALID_ARGUMENT,
                "the gateway runs a presubmit for one pull request; send one pull",
            )
        org_repo = f"{refs.org}/{refs.repo}"
        job = self._find(kind, org_repo, req.job_name, refs.base_ref)
        if client is not None and tenants.tenant_of(job.prowjob_defaults) not in client.tenant_ids:
            raise ApiError(
                Code.PERMISSION_DENIED, "client is not authorized to execute the given job"
            )
        pull = None
        if refs.pulls:
            first = refs.pulls[0]
            pull = PullRequestInput(number=first.number, sha=first.sha, author=first.author)
        options = req.pod_spec_options
        request = TriggerRequest(
            org=refs.org,
            repo=refs.repo,
            job=req.job_name,
            type=kind,
            base_ref=refs.base_ref,
            base_sha=refs.base_sha,
            pull_request=pull,
            env=dict(options.envs),
            labels=dict(options.labels),
            annotations=dict(options.annotations),
            dry_run=self._gateway.settings.dry_run,
        )
        try:
            outcome = await self._service.trigger(request, identity)
        except errors.GatewayError as exc:
            raise api_error(exc) from exc
        execution = self.execution(outcome.record)
        # Gangway answers TRIGGERED even when the scheduler made the job `scheduling`, and
        # echoes the request's refs and options.
        execution.job_status = 1
        execution.ClearField("refs")
        if req.HasField("refs"):
            execution.refs.CopyFrom(req.refs)
        if req.HasField("pod_spec_options"):
            execution.pod_spec_options.CopyFrom(req.pod_spec_options)
        return execution

    def _find(self, kind: ProwJobType, org_repo: str, name: str, base_ref: str) -> Job:
        try:
            return self._service.config.index.find(kind, org_repo, name, base_ref)
        except errors.JobNotFound as exc:
            where = "" if kind is ProwJobType.PERIODIC else f" from orgRepo {quote(org_repo)}"
            raise ApiError(
                Code.UNKNOWN, f"failed to find associated {kind.value} job {quote(name)}{where}"
            ) from exc
        except errors.AmbiguousJob as exc:
            raise ApiError(
                Code.UNKNOWN, f"{name} matches multiple prow jobs from orgRepo {quote(org_repo)}"
            ) from exc

    async def get(self, name: str) -> Message:
        """GetJobExecution: the live cache, else the API server (a job created a moment ago)."""
        record = self._service.get(name)
        if record is None:
            try:
                record = ProwJobRecord.from_object(await self._service.store.get(name))
            except errors.ObjectNotFound as exc:
                raise ApiError(
                    Code.NOT_FOUND, f"prowjobs.prow.k8s.io {quote(name)} not found"
                ) from exc
            except errors.GatewayError as exc:
                raise api_error(exc) from exc
        return self.execution(record)

    def list(self, req: Message) -> Message:
        """ListJobExecutions, newest first; page_size 0 returns everything (as gangway)."""
        state = STATES.get(req.status) if req.status else None
        if req.status and state is None:
            raise ApiError(Code.INVALID_ARGUMENT, f"unknown status {req.status}")
        if req.page_size < 0:
            raise ApiError(Code.INVALID_ARGUMENT, "page_size must not be negative")
        job_filter = ProwJobFilter(job=req.job_name or None, state=state)
        answer = self.pb.JobExecutions()
        after = req.page_token or None
        wanted = req.page_size or None
        try:
            while True:
                first = min(wanted, _LIST_PAGE) if wanted else _LIST_PAGE
                page = self._service.list(job_filter, first=first, after=after)
                answer.job_execution.extend(self.execution(r) for r in page.records)
                after = page.cursors[-1] if page.cursors else after
                if wanted is not None:
                    wanted -= len(page.records)
                if not page.has_next_page or wanted == 0:
                    break
        except errors.InvalidInput as exc:
            raise ApiError(
                Code.INVALID_ARGUMENT, "page_token is not a token from this API"
            ) from exc
        if page.has_next_page and after:
            answer.next_page_token = after
        return answer

    async def bulk(self, req: Message, identity: Identity) -> int:
        """BulkJobStatusChange; returns how many jobs changed (gangway answers before it acts;
        the gateway answers when done, so a caller knows the changes are made)."""
        validate_bulk(req)
        client = self._client(identity)
        current = STATES.get(req.job_status_change.current)
        desired = STATES.get(req.job_status_change.desired)
        if current is None or desired is None:
            raise ApiError(Code.INVALID_ARGUMENT, "unknown job status")
        changed = 0
        for record in self._service.informer.records():
            if not _bulk_matches(req, record, current):
                continue
            try:
                if client is not None and await self._tenant(record) not in client.tenant_ids:
                    continue
                if await self._service.set_state(record.name, current, desired, identity):
                    changed += 1
            except errors.PermissionDenied as exc:
                if "--enable-abort" in exc.message:
                    raise api_error(exc) from exc
                continue  # this job's rules do not allow the caller: skipped, as gangway does
            except (errors.ProwJobNotFound, errors.ObjectNotFound):
                continue
            except errors.GatewayError as exc:
                raise api_error(exc) from exc
        return changed

    async def _tenant(self, record: ProwJobRecord) -> str:
        """The job's tenant, from the cached spec or (if the cache keeps no spec) the store."""
        spec = record.raw.get("spec")
        if not isinstance(spec, Mapping):
            spec = (await self._service.store.get(record.name)).get("spec") or {}
        return tenants.tenant_of(spec.get("prowjob_defaults"))

    async def watch(self, name: str) -> AsyncGenerator[Message, None]:
        """Extension: the execution now, then each visible change until it finishes."""
        await self.get(name)  # NotFound at once, rather than after follow()'s wait for the cache
        try:
            async for record in self._service.follow(name):
                yield self.execution(record)
        except errors.GatewayError as exc:
            raise api_error(exc) from exc

    def execution(self, record: ProwJobRecord) -> Message:
        """A JobExecution with everything the ProwJob says (refs, build_id: extensions)."""
        ex = self.pb.JobExecution(
            id=record.name,
            job_name=record.job,
            job_type=TYPE_NUMBERS.get(record.type, 0),
            job_status=STATE_NUMBERS.get(record.state, 0),
            job_url=record.url,
            build_id=record.build_id,
            description=record.description,
        )
        if record.start_time is not None:
            ex.create_time.FromDatetime(record.start_time.astimezone(UTC))
        if record.completion_time is not None:
            ex.completion_time.FromDatetime(record.completion_time.astimezone(UTC))
        _fill_refs(ex.refs, record)
        return ex


_PULL_FIELDS = ("author", "sha", "title", "ref", "link", "commit_link", "author_link")


def _fill_refs(target: Message, record: ProwJobRecord) -> None:
    """The ProwJob's refs into the message: the parsed refs (always cached), plus the clone
    options when the cached object still carries its spec (the CRD calls work_dir `workdir`)."""
    refs = record.refs
    if refs is None:
        return
    for field in ("org", "repo", "repo_link", "base_ref", "base_sha", "base_link", "path_alias"):
        setattr(target, field, getattr(refs, field))
    for pull in refs.pulls:
        target.pulls.add(number=pull.number, **{key: getattr(pull, key) for key in _PULL_FIELDS})
    raw = (record.raw.get("spec") or {}).get("refs")
    if isinstance(raw, Mapping):
        target.clone_uri = str(raw.get("clone_uri") or "")
        target.work_dir = bool(raw.get("workdir"))
        target.skip_submodules = bool(raw.get("skip_submodules"))
        target.skip_fetch_head = bool(raw.get("skip_fetch_head"))
        target.clone_depth = int(raw.get("clone_depth") or 0)


def _bulk_matches(req: Message, record: ProwJobRecord, current: ProwJobState) -> bool:
    """Gangway's filters: type, refs org/repo, current state, cluster, start-time window."""
    if record.state is not current:
        return False
    if req.job_type and TYPES.get(req.job_type) is not record.type:
        return False
    if req.HasField("refs"):
        refs = record.primary_refs
        if refs is None:
            return False
        if req.refs.org and refs.org != req.refs.org:
            return False
        if req.refs.repo and refs.repo != req.refs.repo:
            return False
    if req.cluster and record.cluster != req.cluster:
        return False
    started = record.start_time
    for field, before in (("started_before", True), ("started_after", False)):
        if req.HasField(field):
            bound: datetime = getattr(req, field).ToDatetime(tzinfo=UTC)
            if started is None or (started >= bound if before else started <= bound):
                return False
    return True
