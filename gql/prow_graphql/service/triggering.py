"""Triggering a job: validation, lookup, authorization, build, create; idempotency keys."""

from __future__ import annotations

import fnmatch
import re
import uuid
from collections.abc import Callable, Collection, Mapping

from prow_graphql.errors import (
    Conflict,
    InvalidInput,
    InvalidProwJob,
    ObjectInvalid,
    ObjectNotFound,
)
from prow_graphql.identity import Identity
from prow_graphql.metrics import CreateResult
from prow_graphql.prow.jobs import Job, Periodic
from prow_graphql.prow.objects import ANNOTATION_IDEMPOTENCY_KEY, ProwJobRecord, ProwJobType, Pull
from prow_graphql.prow.prowjob import build_prowjob, new_refs
from prow_graphql.service.core import ServiceCore, author_of
from prow_graphql.service.models import TriggerOutcome, TriggerRequest
from prow_graphql.store.base import ProwJobObject

# Names of idempotent ProwJobs: uuid5(namespace, identity + key) is the same on every replica, so
# the API server's AlreadyExists decides which of two concurrent calls creates the job.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f0c1e52-8a51-4a0e-9d3b-5b7c2f0e4d11")
_IDEMPOTENCY_HOPS = 8
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_ENV_VALUE = 4096
_MAX_LEN = 253

# Kubernetes name segments for org/repo/branch: generous, but no whitespace or control characters.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_REF_RE = re.compile(r"^[^\s~^:?*\[\\]+$")
_SHA_RE = re.compile(r"[0-9a-f]{40}")


class Triggering(ServiceCore):
    """The trigger use case."""

    async def trigger(
        self,
        request: TriggerRequest,
        identity: Identity,
        *,
        hidden_repos: Collection[str] | None,
    ) -> TriggerOutcome:
        """Validate, find the job, authorize, build the ProwJob exactly as Prow would, create it.

        `hidden_repos` is the caller's visibility (None: sees hidden jobs), required so that no
        interface can forget it: a job hidden from the caller is not found, with the message an
        unknown name gets, before anything (authorization, building) could tell it apart."""
        _validate(request)
        if self.policy.require_shas:
            _require_shas(request)
        env = self._validate_env(request.env)
        index = self.config.index
        org_repo = f"{request.org}/{request.repo}"
        job = index.find(request.type, org_repo, request.job, request.base_ref, hidden_repos)
        self._authorize(job.rerun_auth_config, _job_org_repo(job, org_repo), job.cluster,
                        identity, job.name, "trigger")  # fmt: skip
        refs = None
        if request.type is not ProwJobType.PERIODIC:
            pull = None
            if request.pull_request is not None and request.type is ProwJobType.PRESUBMIT:
                pr = request.pull_request
                pull = Pull(number=pr.number, sha=pr.sha, author=pr.author)
            refs = new_refs(
                index.config.github_link_url,
                request.org,
                request.repo,
                request.base_ref,
                base_sha=request.base_sha,
                pull=pull,
            )
        author = author_of(identity, request.author)
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
                extra_labels=request.labels,
                extra_annotations={**request.annotations, **annotations},
                env=env,
            )

        if dry_run:
            obj = build(None, {})
            obj.setdefault("metadata", {})["namespace"] = self.namespace
            self._count(CreateResult.DRY_RUN)
            return self._outcome(obj, dry_run=True)
        try:
            if request.idempotency_key:
                return await self._create_idempotent(
                    request.idempotency_key, identity, author, build
                )
            return self._outcome(await self._create(lambda: build(None, {})))
        except ObjectInvalid as exc:
            # The cluster's CRD refused what this job builds: say which job and file to fix.
            raise InvalidProwJob(job.name, job.source_path, exc.message, exc.causes) from exc

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
    if request.base_sha:
        if request.type is ProwJobType.PERIODIC:
            raise InvalidInput("baseSha", "periodics have no refs; leave baseSha out")
        if not _SHA_RE.fullmatch(request.base_sha):
            raise InvalidInput("baseSha", "must be a full 40-character lowercase hex SHA")
    pr = request.pull_request
    if pr is not None:
        if pr.number <= 0:
            raise InvalidInput("pull_request.number", "must be a positive pull request number")
        if pr.sha and not _SHA_RE.fullmatch(pr.sha):
            raise InvalidInput("pull_request.sha", "must be a full 40-character lowercase hex SHA")
    if len(request.author) > _MAX_LEN:
        raise InvalidInput("author", f"must be at most {_MAX_LEN} characters")
    key = request.idempotency_key
    if key and (len(key) > 128 or not key.isprintable()):
        raise InvalidInput("idempotency_key", "must be at most 128 printable characters")


def _require_shas(request: TriggerRequest) -> None:
    """--require-shas: what gangway insists on, so that every run can gate a merge (Tide counts
    a presubmit only with the PR head and base SHAs it tested) and crier can report it."""
    if request.type is ProwJobType.PERIODIC:
        return
    if not request.base_sha:
        raise InvalidInput(
            "baseSha", "is required by this server (--require-shas): the base branch's commit"
        )
    pr = request.pull_request
    if request.type is ProwJobType.PRESUBMIT and pr is not None and not pr.sha:
        raise InvalidInput(
            "pullRequest.sha", "is required by this server (--require-shas): the PR head commit"
        )


def _check_name(field_name: str, value: str) -> None:
    if not value:
        raise InvalidInput(field_name, f"is required: the GitHub {field_name} name")
    if len(value) > _MAX_LEN or not _NAME_RE.match(value):
        raise InvalidInput(
            field_name, f"{value!r} is not a valid {field_name} name (letters, digits, . _ - /)"
        )


def _job_org_repo(job: Job, requested: str) -> str:
    """org/repo for authorization: the job's repo, for periodics its first extra ref (or "")."""
    if isinstance(job, Periodic):
        if job.extra_refs:
            first = job.extra_refs[0]
            return f"{first.get('org', '')}/{first.get('repo', '')}"
        return ""
    return requested
