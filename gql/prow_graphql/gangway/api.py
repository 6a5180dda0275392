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
from prow_graphql.admission import ConnectionLimiter, caller_key
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
from prow_graphql.metrics import Metrics
from prow_graphql.prow.jobs import Job
from prow_graphql.prow.objects import ProwJobRecord, ProwJobState, ProwJobType
from prow_graphql.prow.visibility import caller_hidden_repos, hidden_from
from prow_graphql.service import (
    GatewayService,
    ProwJobFilter,
    PullRequestInput,
    TriggerRequest,
    visible,
)
from prow_graphql.settings import Settings

# Extension: gangway returns every execution for page_size 0; converting a whole cache on the
# event loop stalls every other caller, so an unset page_size means 50 and none exceeds 500.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


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

    @property
    def subscriptions(self) -> ConnectionLimiter:
        """Open subscriptions per caller (--max-subscriptions-per-identity), on every transport."""
        ...

    @property
    def metrics(self) -> Metrics:
        """The server's metrics."""
        ...


class GangwayApi:
    """Create, Get, List, BulkJobStatusChange and Watch for one gateway."""

    def __init__(self, gateway: GangwayGateway, pb: Any) -> None:
        self._gateway = gateway
        self.pb = pb

    @property
    def _service(self) -> GatewayService:
        return self._gateway.service

    def _hidden_repos(self, identity: Identity) -> tuple[str, ...] | None:
        """What `identity` may not see, as GraphQLContext.hidden_repos decides it for GraphQL:
        None (nothing hidden) for --hidden-jobs-group members, else deck.hidden_repos."""
        group = self._gateway.settings.protections.hidden_jobs_group
        hidden = self._service.config.index.config.deck.hidden_repos
        return caller_hidden_repos(identity, group, hidden)

    def observe(self, transport: str, method: str, code: Code, seconds: float) -> None:
        """Record one call of `method` over `transport` ("rest" or "grpc") that ended `code`."""
        self._gateway.metrics.observe_gangway(transport, method, code.name, seconds)

    def _not_found(self, name: str) -> ApiError:
        # One message for unknown and hidden executions, so callers cannot tell them apart.
        return ApiError(Code.NOT_FOUND, f"prowjobs.prow.k8s.io {quote(name)} not found")

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
        # One visibility for this request: the lookup here (for the tenant check) and the
        # service's own both leave out jobs hidden from the caller, so a hidden job is unknown.
        hidden_repos = self._hidden_repos(identity)
        job = self._find(kind, org_repo, req.job_name, refs.base_ref, hidden_repos)
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
            outcome = await self._service.trigger(request, identity, hidden_repos=hidden_repos)
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

    def _find(
        self,
        kind: ProwJobType,
        org_repo: str,
        name: str,
        base_ref: str,
        hidden_repos: tuple[str, ...] | None,
    ) -> Job:
        try:
            return self._service.config.index.find(kind, org_repo, name, base_ref, hidden_repos)
        except errors.JobNotFound as exc:
            raise self._unknown_job(kind, org_repo, name) from exc
        except errors.AmbiguousJob as exc:
            raise ApiError(
                Code.UNKNOWN, f"{name} matches multiple prow jobs from orgRepo {quote(org_repo)}"
            ) from exc

    @staticmethod
    def _unknown_job(kind: ProwJobType, org_repo: str, name: str) -> ApiError:
        where = "" if kind is ProwJobType.PERIODIC else f" from orgRepo {quote(org_repo)}"
        return ApiError(
            Code.UNKNOWN, f"failed to find associated {kind.value} job {quote(name)}{where}"
        )

    async def get(self, name: str, identity: Identity) -> Message:
        """GetJobExecution: the live cache, else the API server (a job created a moment ago).
        A ProwJob hidden from the caller is NOT_FOUND, exactly like an unknown one."""
        record = self._service.get(name)
        if record is None:
            try:
                record = ProwJobRecord.from_object(await self._service.store.get(name))
            except errors.ObjectNotFound as exc:
                raise self._not_found(name) from exc
            except errors.GatewayError as exc:
                raise api_error(exc) from exc
        if hidden_from(self._hidden_repos(identity), record):
            raise self._not_found(name)
        return self.execution(record)

    def list(self, req: Message, identity: Identity) -> Message:
        """ListJobExecutions, newest first, without ProwJobs hidden from the caller; page_size
        0 means DEFAULT_PAGE_SIZE and larger ones MAX_PAGE_SIZE (extension; see above)."""
        state = STATES.get(req.status) if req.status else None
        if req.status and state is None:
            raise ApiError(Code.INVALID_ARGUMENT, f"unknown status {req.status}")
        if req.page_size < 0:
            raise ApiError(Code.INVALID_ARGUMENT, "page_size must not be negative")
        job_filter = visible(
            ProwJobFilter(job=req.job_name or None, state=state), self._hidden_repos(identity)
        )
        answer = self.pb.JobExecutions()
        first = min(req.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        try:
            page = self._service.list(job_filter, first=first, after=req.page_token or None)
        except errors.InvalidInput as exc:
            raise ApiError(
                Code.INVALID_ARGUMENT, "page_token is not a token from this API"
            ) from exc
        answer.job_execution.extend(self.execution(r) for r in page.records)
        if page.has_next_page and page.cursors:
            answer.next_page_token = page.cursors[-1]
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
        hidden_repos = self._hidden_repos(identity)
        for record in self._service.informer.records():
            if not _bulk_matches(req, record, current) or hidden_from(hidden_repos, record):
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

    async def watch(
        self, name: str, identity: Identity, peer: str | None
    ) -> AsyncGenerator[Message, None]:
        """Extension: the execution now, then each visible change until it finishes. Counts as
        one of the caller's subscriptions (--max-subscriptions-per-identity) while it runs."""
        await self.get(name, identity)  # NotFound now, not after follow()'s wait for the cache
        limiter = self._gateway.subscriptions
        key = caller_key(identity, peer)
        if not limiter.acquire(key):
            raise ApiError(Code.RESOURCE_EXHAUSTED, limiter.refusal(key.split(":", 1)[1]))
        hidden_repos = self._hidden_repos(identity)
        try:
            async for record in self._service.follow(name):
                if hidden_from(hidden_repos, record):
                    raise self._not_found(name)  # hidden meanwhile (config reload)
                yield self.execution(record)
        except errors.GatewayError as exc:
            raise api_error(exc) from exc
        finally:
            limiter.release(key)

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
