"""ProwJob building, the way Prow's pjutil does it: refs, spec, labels, annotations, status.

Pure and synchronous: the caller passes the time (and optionally the name). Nothing here mutates
the job it is given (the job index is shared): everything taken from the job is deep-copied into
plain dicts and lists before it is changed. Like Go's `omitempty`, empty fields are left out.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from prow_graphql.errors import InvalidInput, PullRequestRequired
from prow_graphql.prow.crd_shape import shape_prowjob
from prow_graphql.prow.jobs import Job, JobBase, Periodic, Postsubmit, Presubmit
from prow_graphql.prow.objects import (
    ANNOTATION_TRIGGERED_BY,
    API_VERSION,
    KIND,
    LABEL_BASE_REF,
    LABEL_CONTEXT,
    LABEL_CREATED_BY_PROW,
    LABEL_JOB,
    LABEL_ORG,
    LABEL_PULL,
    LABEL_REPO,
    LABEL_TYPE,
    ProwJobState,
    ProwJobType,
    Pull,
    Refs,
    format_time,
    parse_refs,
)

ENV_AUTHOR = "AUTHOR"
LABEL_VALUE_MAX_LENGTH = 63

_LABEL_VALUE_RE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_NAME_PART_RE = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN_RE = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
)
_ENV_NAME_RE = re.compile(r"[-._A-Za-z][-._A-Za-z0-9]*")
_SHA_RE = re.compile(r"[0-9a-f]{40}")
# GitHub-like org, or a Gerrit host URL (Gerrit jobs use "https://host" as the org).
_ORG_RE = re.compile(r"(?:https?://)?[A-Za-z0-9][A-Za-z0-9._-]*(?::[0-9]+)?")
_REPO_RE = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
_AUTHOR_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\[bot\])?")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")
_MAX_NAME_LENGTH = 255
_MAX_AUTHOR_LENGTH = 256
# Set by Prow's trigger plugin on presubmit ProwJobs; crier's failure comment reads it.
LABEL_IS_OPTIONAL = "prow.k8s.io/is-optional"


# --- refs -----------------------------------------------------------------------------------


def new_refs(
    link_url: str,
    org: str,
    repo: str,
    base_ref: str,
    *,
    base_sha: str = "",
    pull: Pull | None = None,
) -> Refs:
    """Validated refs with links completed from Prow's `github.link_url` (as Prow's trigger does).

    Links are always computed here, never taken from the caller: repo, base commit (when the SHA
    is known), pull request, pull commit (when the SHA is known) and author (when known).
    """
    base = link_url.rstrip("/")
    repo_link = f"{base}/{org}/{repo}"
    pulls: tuple[Pull, ...] = ()
    if pull is not None:
        pull_link = f"{repo_link}/pull/{pull.number}"
        pulls = (
            replace(
                pull,
                link=pull_link,
                commit_link=f"{pull_link}/commits/{pull.sha}" if pull.sha else "",
                author_link=f"{base}/{pull.author}" if pull.author else "",
            ),
        )
    refs = Refs(
        org=org,
        repo=repo,
        repo_link=repo_link,
        base_ref=base_ref,
        base_sha=base_sha,
        base_link=f"{repo_link}/commit/{base_sha}" if base_sha else "",
        pulls=pulls,
    )
    validate_refs(refs)
    return refs


def validate_refs(refs: Refs) -> None:
    """Raise InvalidInput naming the first bad field of user-supplied refs."""
    if not _valid_name(refs.org, _ORG_RE):
        raise InvalidInput("org", f"{refs.org!r} is not a GitHub organisation (or Gerrit host)")
    if not _valid_name(refs.repo, _REPO_RE) or any(
        part in (".", "..") for part in refs.repo.split("/")
    ):
        raise InvalidInput("repo", f"{refs.repo!r} is not a repository name")
    if not _valid_ref(refs.base_ref):
        raise InvalidInput("baseRef", f"{refs.base_ref!r} is not a branch name")
    if refs.base_sha and not _SHA_RE.fullmatch(refs.base_sha):
        raise InvalidInput("baseSha", "give a full commit SHA: 40 lowercase hex characters")
    for pull in refs.pulls:
        if pull.number <= 0:
            raise InvalidInput("pullRequest.number", "give a pull request number greater than 0")
        if pull.sha and not _SHA_RE.fullmatch(pull.sha):
            raise InvalidInput(
                "pullRequest.sha", "give a full commit SHA: 40 lowercase hex characters"
            )
        if pull.author and not _valid_name(pull.author, _AUTHOR_RE):
            raise InvalidInput("pullRequest.author", f"{pull.author!r} is not a GitHub login")


def refs_to_json(refs: Refs) -> dict[str, Any]:
    """Refs as ProwJob JSON (org, repo and each pull's number, author and sha always present)."""
    out: dict[str, Any] = {"org": refs.org, "repo": refs.repo}
    _put(out, "repo_link", refs.repo_link)
    _put(out, "base_ref", refs.base_ref)
    _put(out, "base_sha", refs.base_sha)
    _put(out, "base_link", refs.base_link)
    _put(out, "pulls", [_pull_to_json(p) for p in refs.pulls])
    _put(out, "path_alias", refs.path_alias)
    return out


def _pull_to_json(pull: Pull) -> dict[str, Any]:
    out: dict[str, Any] = {"number": pull.number, "author": pull.author, "sha": pull.sha}
    _put(out, "title", pull.title)
    _put(out, "ref", pull.ref)
    _put(out, "head_ref", pull.head_ref)
    _put(out, "link", pull.link)
    _put(out, "commit_link", pull.commit_link)
    _put(out, "author_link", pull.author_link)
    return out


# --- spec -----------------------------------------------------------------------------------


def build_spec(
    job: Job,
    run_as: ProwJobType,
    refs: Refs | None,
    *,
    stored_refs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The spec for running `job` as `run_as`, like Prow's Presubmit/Postsubmit/Periodic/BatchSpec.

    A presubmit may run as a postsubmit (built from the presubmit, typed postsubmit, no
    rerun_command) or as a batch. Postsubmits and periodics run only as themselves.
    `stored_refs`, given instead of `refs`, are an existing ProwJob's refs (Deck's rerun from
    current config): copied as stored, neither validated nor relinked, only completed from the
    job, because Deck reuses the old run's refs unchanged (its TestLatestRerun keeps a base_sha
    of "foo"), and a run already in the cluster must stay rerunnable.
    """
    if stored_refs is not None:
        refs = parse_refs(stored_refs)
    if isinstance(job, Periodic):
        if run_as is not ProwJobType.PERIODIC:
            raise InvalidInput("type", f"job {job.name!r} is a periodic; run it as a periodic")
        if refs is not None:
            raise InvalidInput(
                "refs", "periodic jobs take no refs: leave out org, repo, baseRef and pullRequest"
            )
        spec = _base_spec(job, ProwJobType.PERIODIC, None)
        spec["report"] = True  # Prow cannot switch reporting off for single periodics
        return _ordered(spec)

    if isinstance(job, Postsubmit) and run_as is not ProwJobType.POSTSUBMIT:
        raise InvalidInput("type", f"job {job.name!r} is a postsubmit; run it as a postsubmit")
    if run_as is ProwJobType.PERIODIC:
        raise InvalidInput(
            "type", f"job {job.name!r} is a presubmit; run it as a presubmit or a postsubmit"
        )
    needs_pull = run_as in (ProwJobType.PRESUBMIT, ProwJobType.BATCH)
    if needs_pull and (refs is None or not refs.pulls):
        raise PullRequestRequired(
            f"running {job.name!r} as a {run_as} needs a pull request: give pullRequest.number"
        )
    if refs is None:
        raise InvalidInput("refs", "give org, repo and baseRef to run a postsubmit")
    if stored_refs is None:
        validate_refs(refs)
    if job.org_repo and f"{refs.org}/{refs.repo}" != job.org_repo:
        raise InvalidInput(
            "repo", f"job {job.name!r} is configured for {job.org_repo}, not {refs.org}/{refs.repo}"
        )

    primary = refs if stored_refs is None else stored_refs
    spec = _base_spec(job, run_as, _complete_primary_refs(primary, job))
    if run_as is not ProwJobType.BATCH:
        _put(spec, "report", not job.skip_report)
    _put(spec, "context", job.context)
    if run_as is ProwJobType.PRESUBMIT and isinstance(job, Presubmit):
        _put(spec, "rerun_command", job.rerun_command)
    if run_as is not ProwJobType.BATCH and job.jenkins_spec is not None:
        source_job = bool(job.jenkins_spec.get("github_branch_source_job"))
        spec["jenkins_spec"] = {"github_branch_source_job": True} if source_job else {}
    return _ordered(spec)


# Go struct order of ProwJobSpec, so YAML renderings read like Prow's.
_SPEC_ORDER = (
    "type",
    "agent",
    "cluster",
    "namespace",
    "job",
    "refs",
    "extra_refs",
    "report",
    "context",
    "rerun_command",
    "max_concurrency",
    "error_on_eviction",
    "pod_spec",
    "jenkins_spec",
    "pipeline_run_spec",
    "tekton_pipeline_run_spec",
    "decoration_config",
    "reporter_config",
    "rerun_auth_config",
    "hidden",
    "prowjob_defaults",
    "job_queue_name",
)


def _base_spec(job: JobBase, kind: ProwJobType, refs: dict[str, Any] | None) -> dict[str, Any]:
    """Prow's specFromJobBase: copies the (already defaulted) job; applies no defaults itself."""
    spec: dict[str, Any] = {"type": str(kind)}
    _put(spec, "agent", job.agent)
    _put(spec, "cluster", job.cluster)
    _put(spec, "namespace", job.namespace)
    _put(spec, "job", job.name)
    _put(spec, "refs", refs)
    _put(spec, "extra_refs", _decorate_extra_refs(job))
    _put(spec, "max_concurrency", job.max_concurrency)
    _put(spec, "error_on_eviction", job.error_on_eviction)
    _put(spec, "pod_spec", _thaw(job.spec))
    _put(spec, "pipeline_run_spec", _thaw(job.pipeline_run_spec))
    _put(spec, "tekton_pipeline_run_spec", _thaw(job.tekton_pipeline_run_spec))
    _put(spec, "decoration_config", _thaw(job.decoration_config))
    _put(spec, "reporter_config", _thaw(job.reporter_config))
    _put(spec, "rerun_auth_config", _rerun_auth_json(job.rerun_auth_config))
    _put(spec, "hidden", job.hidden)
    _put(spec, "prowjob_defaults", _thaw(job.prowjob_defaults))
    _put(spec, "job_queue_name", job.job_queue_name)
    return spec


def _rerun_auth_json(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The job's rerun_auth_config as Go encodes it: every RerunAuthConfig field is omitempty,
    so `allow_anyone: false` or an empty list written in the config is left out (an empty
    config stays `{}`: the field is a pointer)."""
    if config is None:
        return None
    out: dict[str, Any] = {}
    for key, value in config.items():
        _put(out, str(key), _thaw(value))
    return out


def _complete_primary_refs(refs: Refs | Mapping[str, Any], job: JobBase) -> dict[str, Any]:
    """Prow's CompletePrimaryRefs: the job's clone settings and decoration defaults win where
    set; otherwise the refs keep their own (stored refs may carry clone_uri, clone_depth...)."""
    out: dict[str, Any] = refs_to_json(refs) if isinstance(refs, Refs) else _thaw(refs)
    _put(out, "path_alias", job.path_alias)
    _put(out, "clone_uri", job.clone_uri)
    _put(out, "skip_submodules", job.skip_submodules)
    _put(out, "clone_depth", job.clone_depth)
    _put(out, "skip_fetch_head", job.skip_fetch_head)
    decoration = job.decoration_config
    if decoration is not None:
        if decoration.get("blobless_fetch") is not None:  # a *bool: false is written too
            out["blobless_fetch"] = decoration["blobless_fetch"]
        _put(out, "sparse_checkout_files", _thaw(decoration.get("sparse_checkout_files")))
    return out


def _decorate_extra_refs(job: JobBase) -> list[dict[str, Any]]:
    """Each extra ref inherits decoration `blobless_fetch` when it does not set its own."""
    extra: list[dict[str, Any]] = [_thaw(r) for r in job.extra_refs]
    decoration = job.decoration_config
    if decoration is not None and decoration.get("blobless_fetch") is not None:
        for ref in extra:
            if ref.get("blobless_fetch") is None:
                ref["blobless_fetch"] = decoration["blobless_fetch"]
    return extra


def _ordered(spec: dict[str, Any]) -> dict[str, Any]:
    return {key: spec[key] for key in _SPEC_ORDER if key in spec}


# --- the ProwJob ----------------------------------------------------------------------------


def build_prowjob(
    job: Job,
    *,
    run_as: ProwJobType,
    refs: Refs | None,
    scheduler_enabled: bool,
    now: datetime,
    name: str | None = None,
    author: str | None = None,
    extra_labels: Mapping[str, str] | None = None,
    extra_annotations: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The complete ProwJob Prow's NewProwJob would create for this run (no namespace).

    Labels are the job's labels overlaid by `extra_labels`; annotations likewise. `env` entries
    and `author` (as env AUTHOR, which wins over `env`) are set in every regular container of the
    pod spec, updating an existing variable of that name or appending it; init containers are
    left alone. `author` is also recorded in the triggered-by annotation.
    """
    overrides = dict(env or {})
    for env_name in overrides:
        if not _ENV_NAME_RE.fullmatch(env_name):
            raise InvalidInput("env", f"{env_name!r} is not a valid environment variable name")
    if author is not None:
        if not author.strip() or len(author) > _MAX_AUTHOR_LENGTH or not author.isprintable():
            raise InvalidInput(
                "author", f"give a printable name of 1 to {_MAX_AUTHOR_LENGTH} characters"
            )
        overrides[ENV_AUTHOR] = author
    _check_keys("labels", extra_labels)
    _check_keys("annotations", extra_annotations)

    spec = build_spec(job, run_as, refs)
    pod_spec = spec.get("pod_spec")
    if overrides and isinstance(pod_spec, dict):
        set_container_env(pod_spec, overrides)

    labels = dict(job.labels)
    if isinstance(job, Presubmit) and run_as is ProwJobType.PRESUBMIT:
        labels[LABEL_IS_OPTIONAL] = "true" if job.optional else "false"
    labels.update(extra_labels or {})
    annotations = {**job.annotations, **(extra_annotations or {})}
    if author is not None:
        annotations[ANNOTATION_TRIGGERED_BY] = author
    return new_prowjob(
        spec, labels, annotations, scheduler_enabled=scheduler_enabled, now=now, name=name
    )


def new_prowjob(
    spec: Mapping[str, Any],
    extra_labels: Mapping[str, str],
    extra_annotations: Mapping[str, str],
    *,
    scheduler_enabled: bool,
    now: datetime,
    name: str | None = None,
) -> dict[str, Any]:
    """Prow's NewProwJob: a copy of `spec` wrapped with name, labels, annotations and status."""
    spec_copy: dict[str, Any] = _thaw(spec)
    _set_slack_report_default(spec_copy)
    labels, annotations = labels_and_annotations(spec_copy, extra_labels, extra_annotations)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    state = ProwJobState.SCHEDULING if scheduler_enabled else ProwJobState.TRIGGERED
    # Every ProwJob the gateway builds passes here: shape it as Prow's CRD makes a cluster store
    # it, so a dryRun manifest is what the API server would keep and a create is never refused
    # for a shape Go's encoder would have fixed.
    return shape_prowjob(
        {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {
                "name": name if name is not None else str(uuid.uuid4()),
                "labels": labels,
                "annotations": annotations,
            },
            "spec": spec_copy,
            "status": {"startTime": format_time(now.astimezone(UTC)), "state": str(state)},
        }
    )


def labels_and_annotations(
    spec: Mapping[str, Any],
    extra_labels: Mapping[str, str],
    extra_annotations: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, str]]:
    """Prow's labels (truncated, sanitised) and annotations (full job and context) for a spec."""
    job = str(spec.get("job") or "")
    context = str(spec.get("context") or "")
    labels = {
        LABEL_CREATED_BY_PROW: "true",
        LABEL_TYPE: str(spec.get("type") or ""),
        LABEL_JOB: truncate_label_value(job),
        LABEL_CONTEXT: truncate_label_value(context),
    }
    refs = spec.get("refs")
    if not isinstance(refs, Mapping):
        extra = spec.get("extra_refs") or ()
        refs = extra[0] if extra and isinstance(extra[0], Mapping) else None
    if refs is not None:
        labels[LABEL_ORG] = str(refs.get("org") or "")
        labels[LABEL_REPO] = str(refs.get("repo") or "")
        labels[LABEL_BASE_REF] = str(refs.get("base_ref") or "")
        pulls = refs.get("pulls") or ()
        if pulls and isinstance(pulls[0], Mapping):
            labels[LABEL_PULL] = str(pulls[0].get("number", ""))
    labels.update(extra_labels)
    sanitised: dict[str, str] = {}
    for key, value in labels.items():
        fixed = sanitise_label_value(value)
        if fixed is not None:
            sanitised[key] = fixed
    annotations = {LABEL_JOB: job, LABEL_CONTEXT: context, **extra_annotations}
    return sanitised, annotations


def truncate_label_value(value: str) -> str:
    """Cut a value longer than 63 characters to 63, then strip trailing '.', '_' and '-'."""
    if len(value) <= LABEL_VALUE_MAX_LENGTH:
        return value
    return value[:LABEL_VALUE_MAX_LENGTH].rstrip("._-")


def sanitise_label_value(value: str) -> str | None:
    """The value if valid, else its path basename if that is valid, else None (drop the label)."""
    if is_valid_label_value(value):
        return value
    trimmed = value.rstrip("/")
    base = trimmed.rsplit("/", 1)[-1] if trimmed else "/"
    return base if is_valid_label_value(base) else None


def is_valid_label_value(value: str) -> bool:
    """Kubernetes label value: at most 63 characters, alphanumeric ends, '-_.' inside."""
    return len(value) <= LABEL_VALUE_MAX_LENGTH and _LABEL_VALUE_RE.fullmatch(value) is not None


def set_container_env(pod_spec: dict[str, Any], values: Mapping[str, str]) -> None:
    """Set each variable in every regular container: update entries of that name, else append."""
    for container in pod_spec.get("containers") or ():
        env: list[dict[str, Any]] = container.setdefault("env", [])
        for env_name, value in values.items():
            found = False
            for index, entry in enumerate(env):
                if entry.get("name") == env_name:
                    env[index] = {"name": env_name, "value": value}  # drops any valueFrom
                    found = True
            if not found:
                env.append({"name": env_name, "value": value})


def _set_slack_report_default(spec: dict[str, Any]) -> None:
    """Prow's setReportDefault: an explicitly empty job_states_to_report means report: false."""
    reporter = spec.get("reporter_config")
    slack = reporter.get("slack") if isinstance(reporter, dict) else None
    if not isinstance(slack, dict) or slack.get("report") is not None:
        return
    states = slack.get("job_states_to_report")
    slack["report"] = not (states is not None and len(states) == 0)
    if states is not None and len(states) == 0:
        del slack["job_states_to_report"]  # Go's omitempty drops the empty list


# --- helpers --------------------------------------------------------------------------------


def _check_keys(field: str, values: Mapping[str, str] | None) -> None:
    for key, value in (values or {}).items():
        if not _is_qualified_name(key):
            raise InvalidInput(
                field, f"{key!r} is not a valid key: use [prefix/]name, name up to 63 characters"
            )
        if not isinstance(value, str):
            raise InvalidInput(field, f"the value of {key!r} must be a string")


def _is_qualified_name(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.fullmatch(prefix)):
        return False
    return len(name) <= 63 and _NAME_PART_RE.fullmatch(name) is not None


def _valid_name(value: str, pattern: re.Pattern[str]) -> bool:
    return 0 < len(value) <= _MAX_NAME_LENGTH and pattern.fullmatch(value) is not None


def _valid_ref(ref: str) -> bool:
    """A loose `git check-ref-format --branch`: what a branch name cannot contain or end with."""
    if not ref or len(ref) > _MAX_NAME_LENGTH or _REF_FORBIDDEN.search(ref):
        return False
    if ref.startswith(("-", "/", ".")) or ref.endswith(("/", ".", ".lock")):
        return False
    return not any(part.startswith(".") for part in ref.split("/"))


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` unless Go's omitempty would drop the value (None, False, 0, "", [])."""
    if value is None or value is False or value == "" or value == []:
        return
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return
    target[key] = value


def _thaw(value: Any) -> Any:
    """Deep copy into plain dicts and lists (mappings may be read-only proxies)."""
    if isinstance(value, Mapping):
        return {str(k): _thaw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(v) for v in value]
    return value
