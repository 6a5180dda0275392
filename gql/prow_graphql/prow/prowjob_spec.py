"""A ProwJob's spec for running a job, the way Prow's pjutil builds it (specFromJobBase,
CompletePrimaryRefs), keys in Go's struct order. Copies the job; never changes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prow_graphql.errors import InvalidInput, PullRequestRequired
from prow_graphql.prow.jobs import Job, JobBase, Periodic, Postsubmit, Presubmit
from prow_graphql.prow.objects import ProwJobType, Refs, parse_refs
from prow_graphql.prow.omitempty import put, thaw
from prow_graphql.prow.prowjob_refs import refs_to_json, validate_refs


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
        put(spec, "report", not job.skip_report)
    put(spec, "context", job.context)
    if run_as is ProwJobType.PRESUBMIT and isinstance(job, Presubmit):
        put(spec, "rerun_command", job.rerun_command)
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
    put(spec, "agent", job.agent)
    put(spec, "cluster", job.cluster)
    put(spec, "namespace", job.namespace)
    put(spec, "job", job.name)
    put(spec, "refs", refs)
    put(spec, "extra_refs", _decorate_extra_refs(job))
    put(spec, "max_concurrency", job.max_concurrency)
    put(spec, "error_on_eviction", job.error_on_eviction)
    put(spec, "pod_spec", thaw(job.spec))
    put(spec, "pipeline_run_spec", thaw(job.pipeline_run_spec))
    put(spec, "tekton_pipeline_run_spec", thaw(job.tekton_pipeline_run_spec))
    put(spec, "decoration_config", thaw(job.decoration_config))
    put(spec, "reporter_config", thaw(job.reporter_config))
    put(spec, "rerun_auth_config", _rerun_auth_json(job.rerun_auth_config))
    put(spec, "hidden", job.hidden)
    put(spec, "prowjob_defaults", thaw(job.prowjob_defaults))
    put(spec, "job_queue_name", job.job_queue_name)
    return spec


def _rerun_auth_json(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The job's rerun_auth_config as Go encodes it: every RerunAuthConfig field is omitempty,
    so `allow_anyone: false` or an empty list written in the config is left out (an empty
    config stays `{}`: the field is a pointer)."""
    if config is None:
        return None
    out: dict[str, Any] = {}
    for key, value in config.items():
        put(out, str(key), thaw(value))
    return out


def _complete_primary_refs(refs: Refs | Mapping[str, Any], job: JobBase) -> dict[str, Any]:
    """Prow's CompletePrimaryRefs: the job's clone settings and decoration defaults win where
    set; otherwise the refs keep their own (stored refs may carry clone_uri, clone_depth...)."""
    out: dict[str, Any] = refs_to_json(refs) if isinstance(refs, Refs) else thaw(refs)
    put(out, "path_alias", job.path_alias)
    put(out, "clone_uri", job.clone_uri)
    put(out, "skip_submodules", job.skip_submodules)
    put(out, "clone_depth", job.clone_depth)
    put(out, "skip_fetch_head", job.skip_fetch_head)
    decoration = job.decoration_config
    if decoration is not None:
        if decoration.get("blobless_fetch") is not None:  # a *bool: false is written too
            out["blobless_fetch"] = decoration["blobless_fetch"]
        put(out, "sparse_checkout_files", thaw(decoration.get("sparse_checkout_files")))
    return out


def _decorate_extra_refs(job: JobBase) -> list[dict[str, Any]]:
    """Each extra ref inherits decoration `blobless_fetch` when it does not set its own."""
    extra: list[dict[str, Any]] = [thaw(r) for r in job.extra_refs]
    decoration = job.decoration_config
    if decoration is not None and decoration.get("blobless_fetch") is not None:
        for ref in extra:
            if ref.get("blobless_fetch") is None:
                ref["blobless_fetch"] = decoration["blobless_fetch"]
    return extra


def _ordered(spec: dict[str, Any]) -> dict[str, Any]:
    return {key: spec[key] for key in _SPEC_ORDER if key in spec}
