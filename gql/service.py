"""The gateway's use cases: trigger a job, read and follow ProwJobs.

GraphQL and REST both call this module; neither builds ProwJobs nor touches the store themselves.
Validation errors are `gql.errors.UserError`s whose `field` uses the domain names below (snake_case,
dotted); each interface renames them to its own vocabulary.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import enum
import fnmatch
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gql.config_state import ConfigState
from gql.errors import (
    Conflict,
    InvalidInput,
    ObjectNotFound,
    PermissionDenied,
    ProwJobNotFound,
    UserError,
)
from gql.identity import Identity
from gql.informer import Change, Informer
from gql.metrics import CreateResult, Metrics
from gql.prow import links
from gql.prow.authz import may_run
from gql.prow.jobs import Job, Periodic
from gql.prow.objects import (
    ANNOTATION_IDEMPOTENCY_KEY,
    ANNOTATION_TRIGGERED_BY,
    ProwJobRecord,
    ProwJobState,
    ProwJobType,
    Pull,
    Refs,
    parse_refs,
)
from gql.prow.prowjob import build_prowjob, new_prowjob, new_refs, set_container_env
from gql.store.base import ProwJobObject, ProwJobStore

# Names of idempotent ProwJobs: uuid5(namespace, identity + key) is the same on every replica, so
# the API server's AlreadyExists decides which of two concurrent calls creates the job.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f0c1e52-8a51-4a0e-9d3b-5b7c2f0e4d11")
_IDEMPOTENCY_HOPS = 8
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_ENV_VALUE = 4096
_ABORTABLE = frozenset({ProwJobState.TRIGGERED, ProwJobState.PENDING, ProwJobState.SCHEDULING})

# Kubernetes name segments for org/repo/branch: generous, but no whitespace or control characters.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_REF_RE = re.compile(r"^[^\s~^:?*\[\\]+$")
_MAX_LEN = 253


@dataclass(frozen=True, slots=True)
class PullRequestInput:
    """The pull request a presubmit run tests."""

    number: int
    sha: str = ""
    author: str = ""


@dataclass(frozen=True, slots=True)
class TriggerRequest:
    """What a caller asks to run. `type` is the type to run as."""

    org: str
    repo: str
    job: str
    type: ProwJobType
    base_ref: str = ""
    pull_request: PullRequestInput | None = None
    author: str = ""
    dry_run: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class TriggerOutcome:
    """The ProwJob created (or, for a dry run, the one that would be).

    `existing` is True when an idempotency key matched a job created earlier.
    """

    prowjob: ProwJobObject
    record: ProwJobRecord
    dry_run: bool
    status_link: str | None
    log_link: str | None
    existing: bool = False


class RerunMode(enum.Enum):
    """Deck's rerun modes: copy the old spec, or rebuild from the current config."""

    ORIGINAL = "original"
    LATEST = "latest"


class NotAbortable(UserError):
    """The ProwJob is already finished (only triggered or pending jobs can be aborted)."""


@dataclass(frozen=True)
class Policy:
    """Server-wide rules for mutations, from Settings."""

    authorize: bool = False
    dry_run: bool = False
    enable_abort: bool = False
    env_allowlist: tuple[str, ...] = ()
    idempotency_window: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class ProwJobFilter:
    """Filters shared by the prowJobs query and the prowJobEvents subscription."""

    org: str | None = None
    repo: str | None = None
    job: str | None = None
    type: ProwJobType | None = None
    state: ProwJobState | None = None

    def matches(self, record: ProwJobRecord) -> bool:
        """Whether `record` passes every set filter (org/repo from refs, else extra_refs[0])."""
        if self.job is not None and record.job != self.job:
            return False
        if self.type is not None and record.type is not self.type:
            return False
        if self.state is not None and record.state is not self.state:
            return False
        if self.org is not None or self.repo is not None:
            refs = record.primary_refs
            if refs is None:
                return False
            if self.org is not None and refs.org != self.org:
                return False
            if self.repo is not None and refs.repo != self.repo:
                return False
        return True


@dataclass(frozen=True, slots=True)
class ProwJobPage:
    """One page of ProwJobs, newest first."""

    records: list[ProwJobRecord]
    cursors: list[str]
    has_next_page: bool
    total_count: int


class GatewayService:
    """Trigger, list and follow ProwJobs against one config snapshot holder, store and informer."""

    def __init__(
        self,
        *,
        config: ConfigState,
        store: ProwJobStore,
        informer: Informer,
        deck_url: str | None = None,
        policy: Policy | None = None,
        metrics: Metrics | None = None,
        follow_wait: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.store = store
        self.informer = informer
        self.policy = policy or Policy()
        self.metrics = metrics
        self._deck_url = deck_url
        self._follow_wait = follow_wait
        self._clock = clock

    @property
    def deck_url(self) -> str | None:
        """--deck-url, else the origin of plank's "*" job URL prefix, else None."""
        return self._deck_url or links.deck_url_default(self.config.index.config.plank)

    # --- trigger -------------------------------------------------------------------------------

    async def trigger(self, request: TriggerRequest, identity: Identity) -> TriggerOutcome:
        """Validate, find the job, authorize, build the ProwJob exactly as Prow would, create it."""
        _validate(request)
        env = self._validate_env(request.env)
        index = self.config.index
        org_repo = f"{request.org}/{request.repo}"
        job = index.find(request.type, org_repo, request.job, request.base_ref)
        self._authorize(job.rerun_auth_config, _job_org_repo(job, org_repo), job.cluster,
                        identity, job.name, "trigger")  # fmt: skip
        refs = None
        if request.type is not ProwJobType.PERIODIC:
            pull = None
            if request.pull_request is not None and request.type is ProwJobType.PRESUBMIT:
                pr = request.pull_request
                pull = Pull(number=pr.number, sha=pr.sha, author=pr.author)
            refs = new_refs(
                index.config.github_link_url, request.org, request.repo, request.base_ref, pull=pull
            )
        author = _author(identity, request.author)
        dry_run = request.dry_run or self.policy.dry_run

        def build(name: str | None, annotations: Mapping[str, str]) -> ProwJobObject:
            return build_prowjob(
                job,
                run_as=request.type,
                refs=refs,
                scheduler_enabled=index.config.scheduler_enabled,
                now=self._clock(),
                name=name,
                author=author or None,
                extra_annotations=annotations,
                env=env,
            )

        if dry_run:
            obj = build(None, {})
            obj.setdefault("metadata", {})["namespace"] = self.namespace
            self._count(CreateResult.DRY_RUN)
            return self._outcome(obj, dry_run=True)
        if request.idempotency_key:
            return await self._create_idempotent(request.idempotency_key, identity, author, build)
        return self._outcome(await self._create(lambda: build(None, {})))

    async def _create(self, build: Callable[[], ProwJobObject]) -> ProwJobObject:
        """Create a freshly built ProwJob; a (vanishingly rare) UUID clash is retried once."""
        for attempt in range(2):
            try:
                created = await self.store.create(build())
            except Conflict:
                if attempt == 1:
                    self._count(CreateResult.FAILED)
                    raise
                continue
            except Exception:
                self._count(CreateResult.FAILED)
                raise
            self._count(CreateResult.CREATED)
            return created
        raise AssertionError("unreachable")

    async def _create_idempotent(
        self,
        key: str,
        identity: Identity,
        author: str,
        build: Callable[[str | None, Mapping[str, str]], ProwJobObject],
    ) -> TriggerOutcome:
        """Create under a name derived from (caller, key); AlreadyExists means "done before".

        The first name is uuid5(caller, key). If it exists but is older than the window, the
        chain continues with uuid5(caller, key, that name), so every replica walks the same names.
        """
        caller = identity.user if identity.authenticated else (author or "anonymous")
        seed = f"{caller}\x00{key}"
        annotations = {ANNOTATION_IDEMPOTENCY_KEY: key}
        for _ in range(_IDEMPOTENCY_HOPS):
            name = str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, seed))
            try:
                created = await self.store.create(build(name, annotations))
            except Conflict:
                try:
                    existing = await self.store.get(name)
                except ObjectNotFound:
                    continue  # deleted meanwhile (sinker): try the same name again
                record = ProwJobRecord.from_object(existing)
                started = record.start_time
                if (
                    started is not None
                    and self._clock() - started <= self.policy.idempotency_window
                ):
                    self._count(CreateResult.EXISTING)
                    return self._outcome(existing, existing=True)
                seed = f"{seed}\x00{name}"
                continue
            self._count(CreateResult.CREATED)
            return self._outcome(created)
        raise InvalidInput("idempotency_key", "has been used too many times; choose a new key")

    def _outcome(
        self, obj: ProwJobObject, *, dry_run: bool = False, existing: bool = False
    ) -> TriggerOutcome:
        record = ProwJobRecord.from_object(obj)
        status_link, log_link = self.links(record)
        return TriggerOutcome(obj, record, dry_run, status_link, log_link, existing)

    def _count(self, result: str) -> None:
        if self.metrics is not None:
            self.metrics.observe_prowjob(result)

    def _authorize(
        self,
        rerun_auth_config: Mapping[str, Any] | None,
        org_repo: str,
        cluster: str,
        identity: Identity,
        job_name: str,
        action: str,
    ) -> None:
        """Deck's per-job rules; skipped when the server runs without authentication."""
        if not self.policy.authorize:
            return
        deck = self.config.index.config.deck
        decision = may_run(
            rerun_auth_config, deck, org_repo, cluster, identity, job_name=job_name, action=action
        )
        decision.raise_if_denied()

    def _validate_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """Env overrides: names on the allowlist only, sane values."""
        checked: dict[str, str] = {}
        for name, value in env.items():
            where = f"env.{name}"
            if not _ENV_NAME_RE.match(name):
                raise InvalidInput("env", f"{name!r} is not a valid environment variable name")
            if not any(fnmatch.fnmatchcase(name, allowed) for allowed in self.policy.env_allowlist):
                allowed = ", ".join(self.policy.env_allowlist) or "none (no --env-allowlist)"
                raise InvalidInput(where, f"may not be overridden; allowed names: {allowed}")
            if len(value) > _MAX_ENV_VALUE or "\x00" in value:
                raise InvalidInput(where, f"must be at most {_MAX_ENV_VALUE} characters, no NUL")
            checked[name] = value
        return checked

    # --- abort and rerun -----------------------------------------------------------------------

    async def abort(self, name: str, identity: Identity) -> ProwJobRecord:
        """Deck's abort: only triggered or pending jobs; merge-patch state aborted + description."""
        if not self.policy.enable_abort:
            raise PermissionDenied(
                "aborting is disabled on this server; start it with --enable-abort "
                "(and give its Role the patch verb)"
            )
        for _ in range(3):
            obj = await self._get_object(name)
            record = ProwJobRecord.from_object(obj)
            spec = obj.get("spec") or {}
            self._authorize(spec.get("rerun_auth_config"), _record_org_repo(record),
                            record.cluster, identity, record.job, "abort")  # fmt: skip
            if record.state not in _ABORTABLE:
                raise NotAbortable(
                    f"ProwJob {name} is {record.state.value}; only triggered or pending jobs "
                    "can be aborted"
                )
            patch = {
                # The precondition makes a job that finished meanwhile fail with Conflict.
                "metadata": {"resourceVersion": record.resource_version},
                "status": {
                    "state": ProwJobState.ABORTED.value,
                    "description": f"{identity.display} successfully aborted {name}.",
                },
            }
            try:
                return ProwJobRecord.from_object(await self.store.patch(name, patch))
            except Conflict:
                continue
        raise NotAbortable(f"ProwJob {name} kept changing; try again")

    async def rerun(self, name: str, mode: RerunMode, identity: Identity) -> TriggerOutcome:
        """Deck's rerun: a new ProwJob from the old spec (ORIGINAL) or from current config."""
        obj = await self._get_object(name)
        record = ProwJobRecord.from_object(obj)
        old_spec: Mapping[str, Any] = obj.get("spec") or {}
        self._authorize(old_spec.get("rerun_auth_config"), _record_org_repo(record),
                        record.cluster, identity, record.job, "rerun")  # fmt: skip
        meta = obj.get("metadata") or {}
        annotations = dict(meta.get("annotations") or {})
        annotations.pop(ANNOTATION_IDEMPOTENCY_KEY, None)
        author = _author(identity, "")
        if author:
            annotations[ANNOTATION_TRIGGERED_BY] = author
        index = self.config.index
        if mode is RerunMode.ORIGINAL:
            spec = dict(old_spec)
            labels = dict(meta.get("labels") or {})
        else:
            job = self._current_job(record)
            raw_refs = old_spec.get("refs")
            refs = parse_refs(raw_refs) if isinstance(raw_refs, Mapping) else None
            rebuilt = build_prowjob(
                job,
                run_as=record.type,
                refs=_refs_for_rebuild(refs, index.config.github_link_url),
                scheduler_enabled=index.config.scheduler_enabled,
                now=self._clock(),
            )
            spec = rebuilt["spec"]
            labels = dict(rebuilt["metadata"].get("labels") or {})
        if author and isinstance(spec.get("pod_spec"), Mapping):
            spec["pod_spec"] = json.loads(json.dumps(spec["pod_spec"]))
            set_container_env(spec["pod_spec"], {"AUTHOR": author})
        scheduler = index.config.scheduler_enabled

        def build() -> ProwJobObject:
            return new_prowjob(spec, labels, annotations, scheduler_enabled=scheduler,
                               now=self._clock())  # fmt: skip

        return self._outcome(await self._create(build))

    def _current_job(self, record: ProwJobRecord) -> Job:
        index = self.config.index
        if record.type is ProwJobType.PERIODIC:
            periodic = index.periodic(record.job)
            if periodic is None:
                raise InvalidInput("mode", f"periodic {record.job} is no longer configured; "
                                   "rerun with mode ORIGINAL")  # fmt: skip
            return periodic
        refs = record.refs
        if refs is None:
            raise InvalidInput("mode", "the ProwJob has no refs; rerun with mode ORIGINAL")
        return index.find(record.type, f"{refs.org}/{refs.repo}", record.job, refs.base_ref)

    async def _get_object(self, name: str) -> ProwJobObject:
        if not name.strip():
            raise InvalidInput("name", "is required: the ProwJob's metadata.name")
        try:
            return await self.store.get(name)
        except ObjectNotFound as exc:
            raise ProwJobNotFound(
                f"no ProwJob named {name!r} in namespace {self.namespace!r}"
            ) from exc

    @property
    def namespace(self) -> str:
        """Where ProwJobs are created."""
        return getattr(self.store, "namespace", None) or self.config.index.config.prowjob_namespace

    def links(self, record: ProwJobRecord) -> tuple[str | None, str | None]:
        """Deck's status link, and its log link once the job has a BuildID."""
        deck = self.deck_url
        if deck is None:
            return None, None
        status = links.status_link(deck, record.name)
        log = links.log_link(deck, record.job, record.build_id) if record.build_id else None
        return status, log

    # --- read ----------------------------------------------------------------------------------

    def get(self, name: str) -> ProwJobRecord | None:
        """The cached ProwJob called `name`, if the watch has delivered it."""
        return self.informer.get(name)

    def list(
        self, job_filter: ProwJobFilter, *, first: int = 50, after: str | None = None
    ) -> ProwJobPage:
        """A page of cached ProwJobs, newest start time first, then by name."""
        if first < 0 or first > 500:
            raise InvalidInput("first", "must be between 0 and 500")
        start_key = _decode_cursor(after) if after else None
        matching = sorted(
            (r for r in self.informer.records() if job_filter.matches(r)), key=_sort_key
        )
        begin = 0
        if start_key is not None:
            begin = next(
                (i for i, r in enumerate(matching) if _sort_key(r) > start_key), len(matching)
            )
        chosen = matching[begin : begin + first]
        return ProwJobPage(
            records=chosen,
            cursors=[_encode_cursor(r) for r in chosen],
            has_next_page=begin + first < len(matching),
            total_count=len(matching),
        )

    async def follow(self, name: str) -> AsyncIterator[ProwJobRecord]:
        """The job's current state, then each visible change; ends after a final state.

        A job the watch has not delivered yet (just created elsewhere) is waited for up to
        `follow_wait` seconds before ProwJobNotFound.
        """
        await self.informer.synced.wait()
        last: tuple[Any, ...] | None = None
        async with self.informer.subscribe(name=name) as changes:
            if self.informer.get(name) is None:
                first = await _next_change(changes, self._follow_wait)
                if first is None:
                    raise ProwJobNotFound(
                        f"no ProwJob named {name!r} in namespace {self.namespace!r}; "
                        "check the name (it is the ProwJob's metadata.name, a UUID)"
                    )
                pending: list[Change] = [first]
            else:
                pending = []
            while True:
                change = pending.pop() if pending else await anext(changes)
                if change.kind.value == "DELETED":
                    return
                record = change.record
                seen = _visible(record)
                if seen != last:
                    last = seen
                    yield record
                if record.is_final:
                    return

    def events(self, job_filter: ProwJobFilter, *, snapshot: bool) -> AsyncIterator[Change]:
        """Every change of a matching ProwJob (optionally the current ones first)."""
        return _iterate(self.informer, job_filter.matches, snapshot)


async def _iterate(
    informer: Informer, predicate: Callable[[ProwJobRecord], bool], snapshot: bool
) -> AsyncIterator[Change]:
    await informer.synced.wait()
    async with informer.subscribe(predicate, snapshot=snapshot) as changes:
        async for change in changes:
            yield change


async def _next_change(changes: AsyncIterator[Change], wait: float) -> Change | None:
    try:
        async with asyncio.timeout(wait):
            return await anext(changes)
    except TimeoutError:
        return None


def _visible(record: ProwJobRecord) -> tuple[Any, ...]:
    return (
        record.state,
        record.build_id,
        record.url,
        record.description,
        record.start_time,
        record.pending_time,
        record.completion_time,
    )


_EPOCH = datetime.min.replace(tzinfo=UTC)


def _sort_key(record: ProwJobRecord) -> tuple[float, str]:
    started = record.start_time or _EPOCH
    return (-started.timestamp(), record.name)


def _encode_cursor(record: ProwJobRecord) -> str:
    key = _sort_key(record)
    return base64.urlsafe_b64encode(json.dumps([key[0], key[1]]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        stamp, name = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return (float(stamp), str(name))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidInput(
            "after", "is not a cursor from this API; pass a pageInfo.endCursor value"
        ) from exc


def _validate(request: TriggerRequest) -> None:
    """Field-level checks that do not need the config; the builder checks the rest."""
    for field_name, value in (("org", request.org), ("repo", request.repo)):
        if request.type is ProwJobType.PERIODIC and not value:
            continue
        _check_name(field_name, value)
    if not request.job.strip():
        raise InvalidInput("job", "is required: the job's name from the Prow config")
    if request.type is ProwJobType.BATCH:
        raise InvalidInput("type", "BATCH jobs are created by Tide; use PRESUBMIT instead")
    if request.type is not ProwJobType.PERIODIC:
        if not request.base_ref:
            raise InvalidInput("base_ref", "is required: the branch to test, e.g. main")
        if len(request.base_ref) > _MAX_LEN or not _REF_RE.match(request.base_ref):
            raise InvalidInput("base_ref", "is not a valid git branch name")
    pr = request.pull_request
    if pr is not None:
        if pr.number <= 0:
            raise InvalidInput("pull_request.number", "must be a positive pull request number")
        if pr.sha and not re.fullmatch(r"[0-9a-f]{40}", pr.sha):
            raise InvalidInput("pull_request.sha", "must be a full 40-character lowercase hex SHA")
    if len(request.author) > _MAX_LEN:
        raise InvalidInput("author", f"must be at most {_MAX_LEN} characters")
    key = request.idempotency_key
    if key and (len(key) > 128 or not key.isprintable()):
        raise InvalidInput("idempotency_key", "must be at most 128 printable characters")


def _check_name(field_name: str, value: str) -> None:
    if not value:
        raise InvalidInput(field_name, f"is required: the GitHub {field_name} name")
    if len(value) > _MAX_LEN or not _NAME_RE.match(value):
        raise InvalidInput(
            field_name, f"{value!r} is not a valid {field_name} name (letters, digits, . _ - /)"
        )


def _author(identity: Identity, requested: str) -> str:
    """With authentication the identity is the author; otherwise the request may name one."""
    return identity.user if identity.authenticated else requested


def _job_org_repo(job: Job, requested: str) -> str:
    """org/repo for authorization: the job's repo, for periodics its first extra ref (or "")."""
    if isinstance(job, Periodic):
        if job.extra_refs:
            first = job.extra_refs[0]
            return f"{first.get('org', '')}/{first.get('repo', '')}"
        return ""
    return requested


def _record_org_repo(record: ProwJobRecord) -> str:
    refs = record.primary_refs
    return f"{refs.org}/{refs.repo}" if refs is not None else ""


def _refs_for_rebuild(refs: Refs | None, link_url: str) -> Refs | None:
    """The old run's refs with links recomputed, for a rerun from the current config."""
    if refs is None:
        return None
    return new_refs(
        link_url,
        refs.org,
        refs.repo,
        refs.base_ref,
        base_sha=refs.base_sha,
        pull=refs.pulls[0] if refs.pulls else None,
    )
