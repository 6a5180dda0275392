"""The gateway's use cases: trigger a job, read and follow ProwJobs.

GraphQL and REST both call this module; neither builds ProwJobs nor touches the store themselves.
Validation errors are `gql.errors.UserError`s whose `field` uses the domain names below (snake_case,
dotted); each interface renames them to its own vocabulary.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gql.config_state import ConfigState
from gql.errors import Conflict, InvalidInput, ProwJobNotFound
from gql.identity import Identity
from gql.informer import Change, Informer
from gql.prow import links
from gql.prow.objects import ProwJobRecord, ProwJobState, ProwJobType, Pull
from gql.prow.prowjob import build_prowjob, new_refs
from gql.store.base import ProwJobObject, ProwJobStore

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


@dataclass(frozen=True, slots=True)
class TriggerOutcome:
    """The ProwJob created (or, for a dry run, the one that would be)."""

    prowjob: ProwJobObject
    record: ProwJobRecord
    dry_run: bool
    status_link: str | None
    log_link: str | None


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
        dry_run: bool = False,
        follow_wait: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.store = store
        self.informer = informer
        self._deck_url = deck_url
        self._server_dry_run = dry_run
        self._follow_wait = follow_wait
        self._clock = clock

    @property
    def deck_url(self) -> str | None:
        """--deck-url, else the origin of plank's "*" job URL prefix, else None."""
        return self._deck_url or links.deck_url_default(self.config.index.config.plank)

    # --- trigger -------------------------------------------------------------------------------

    async def trigger(self, request: TriggerRequest, identity: Identity) -> TriggerOutcome:
        """Validate, find the job, build the ProwJob exactly as Prow would, and create it."""
        _validate(request)
        index = self.config.index
        org_repo = f"{request.org}/{request.repo}"
        job = index.find(request.type, org_repo, request.job, request.base_ref)
        refs = None
        if request.type is not ProwJobType.PERIODIC:
            pull = None
            if request.pull_request is not None and request.type is ProwJobType.PRESUBMIT:
                pr = request.pull_request
                pull = Pull(number=pr.number, sha=pr.sha, author=pr.author)
            refs = new_refs(
                index.config.github_link_url, request.org, request.repo, request.base_ref, pull=pull
            )
        author = identity.user if identity.authenticated else request.author
        dry_run = request.dry_run or self._server_dry_run
        for attempt in range(2):
            obj = build_prowjob(
                job,
                run_as=request.type,
                refs=refs,
                scheduler_enabled=index.config.scheduler_enabled,
                now=self._clock(),
                author=author or None,
            )
            if dry_run:
                obj.setdefault("metadata", {})["namespace"] = self.namespace
                break
            try:
                obj = await self.store.create(obj)
                break
            except Conflict:
                # A random UUID clashed (or a retried create landed): build a fresh name once.
                if attempt == 1:
                    raise
        record = ProwJobRecord.from_object(obj)
        status_link, log_link = self.links(record)
        return TriggerOutcome(obj, record, dry_run, status_link, log_link)

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


def _check_name(field_name: str, value: str) -> None:
    if not value:
        raise InvalidInput(field_name, f"is required: the GitHub {field_name} name")
    if len(value) > _MAX_LEN or not _NAME_RE.match(value):
        raise InvalidInput(
            field_name, f"{value!r} is not a valid {field_name} name (letters, digits, . _ - /)"
        )
