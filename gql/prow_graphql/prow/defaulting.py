"""Prow's defaulting (finalizeJobConfig) and per-job validation: raw job mappings → job objects.

Pure: takes the parsed mappings of one file and the config, returns defaulted jobs and errors.

At ~400 lines on purpose: `JobBuilder` is one object (the shared job base, its per-repo/cluster
default caches, the three job kinds); the checks already live in job_checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from prow_graphql.errors import ConfigError
from prow_graphql.prow.config import (
    DEFAULT_TENANT_ID,
    FieldReader,
    Json,
    Preset,
    ProwConfig,
    is_mapping,
    merge_defaults,
    merge_presets,
    rerun_auth_config_error,
    select_presets,
)
from prow_graphql.prow.decoration import apply_decoration_default, canonical_decoration
from prow_graphql.prow.files import FileKey, Fragment
from prow_graphql.prow.goregex import compile_go_regex
from prow_graphql.prow.goyaml import (
    REFS_STRINGS,
    coerce_container_strings,
    coerce_strings,
    go_string,
)
from prow_graphql.prow.job_checks import (
    check_agent,
    check_annotations,
    check_clone_uri,
    check_decoration,
    check_labels,
    check_periodic_schedule,
    check_pod_spec,
    check_reporting,
)
from prow_graphql.prow.jobs import (
    Brancher,
    Periodic,
    Postsubmit,
    Presubmit,
    default_rerun_command_for,
    default_trigger_for,
)

__all__ = ["BuiltFile", "JobBuilder", "build_file"]

_JOB_NAME_RE = re.compile(r"^[A-Za-z0-9\-._]+$")
_JENKINS_JOB_NAME_RE = re.compile(r"^[A-Za-z0-9\-._]([A-Za-z0-9\-._/]*[A-Za-z0-9\-_])?$")
_KUBERNETES_AGENT = "kubernetes"
_DEFAULT_CLUSTER = "default"


class JobBuilder:
    """Turns raw job mappings into defaulted Presubmit / Postsubmit / Periodic objects."""

    def __init__(
        self, config: ProwConfig, presets: tuple[Preset, ...], errors: list[ConfigError]
    ) -> None:
        self.config = config
        self.presets = presets
        self.errors = errors
        self._decoration_defaults: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._prowjob_defaults: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._matching_presets: dict[frozenset[tuple[str, str]], tuple[Preset, ...]] = {}

    def _presets_for(self, labels: Mapping[str, str]) -> tuple[Preset, ...]:
        # Jobs share a handful of label sets; select presets once per set.
        key = frozenset(labels.items())
        found = self._matching_presets.get(key)
        if found is None:
            found = self._matching_presets[key] = select_presets(self.presets, labels)
        return found

    def _reader(self, raw: Any, path: str, what: str) -> tuple[FieldReader, str] | None:
        if not is_mapping(raw):
            self.errors.append(
                ConfigError(
                    f"{what} is {type(raw).__name__}, not a mapping; each job is a mapping "
                    "with at least `name:`",
                    path=path,
                )
            )
            return None
        r = FieldReader(raw, path, self.errors)
        raw_name = r.get("name")
        name = go_string(raw_name)  # Prow reads `name: 123` as "123"
        if name is None:
            r.error(f"{what} has name {raw_name!r}, a {type(raw_name).__name__}; write a string")
            return None
        if not name:
            r.error(f"{what} has no name; add `name:` (letters, digits, '-', '.', '_')")
            return None
        r.job = name
        return r, name

    def _decoration(self, repo: str, cluster: str, job: Json | None) -> dict[str, Any]:
        key = (repo, cluster)
        if key not in self._decoration_defaults:
            self._decoration_defaults[key] = self.config.plank.default_decoration_config(
                repo, cluster
            )
        merged = apply_decoration_default(canonical_decoration(job), self._decoration_defaults[key])
        return merged or {}

    def _prowjob_default(self, repo: str, cluster: str, job: Json | None) -> dict[str, Any]:
        key = (repo, cluster)
        if key not in self._prowjob_defaults:
            self._prowjob_defaults[key] = self.config.default_prowjob_defaults(repo, cluster)
        merged = merge_defaults(job, self._prowjob_defaults[key]) or {}
        if not merged.get("tenant_id"):
            merged["tenant_id"] = DEFAULT_TENANT_ID
        return merged

    def _base(self, r: FieldReader, name: str, repo: str, kind: str) -> dict[str, Any]:
        config = self.config
        agent = r.string("agent") or _KUBERNETES_AGENT
        pattern = _JENKINS_JOB_NAME_RE if agent == "jenkins" else _JOB_NAME_RE
        if not pattern.match(name):
            r.error(
                f"job name {name!r} is invalid: it must match {pattern.pattern} (letters, "
                "digits, '-', '.', '_'); rename the job"
            )
        cluster = r.string("cluster") or _DEFAULT_CLUSTER
        max_concurrency = r.integer("max_concurrency")
        if max_concurrency < 0:
            r.error(
                f"max_concurrency is {max_concurrency}; it must be 0 (no limit) or a positive "
                "number"
            )
        labels = r.string_map("labels")
        decorate_set = r.optional_boolean("decorate")
        decorate = config.decorate_all_jobs if decorate_set is None else decorate_set
        job_decoration = r.mapping("decoration_config")
        spec = r.mapping("spec")
        if spec is not None and not all(is_mapping(c) for c in spec.get("containers") or ()):
            r.error("spec.containers: every container must be a mapping; fix the list")
            spec = None
        if spec is not None:
            spec = coerce_container_strings(spec, r.error)
        spec, clashes = merge_presets(self._presets_for(labels), spec)
        for clash in clashes:
            r.error(clash)
        rerun_auth_config = r.mapping("rerun_auth_config")
        if rerun_auth_config:
            message = rerun_auth_config_error(rerun_auth_config)
            if message:
                r.error(f"rerun_auth_config: {message}")
        queue = r.string("job_queue_name")
        if queue and queue not in config.plank.job_queue_capacities:
            r.error(
                f"job_queue_name {queue!r} is not in plank.job_queue_capacities; add it there "
                "or fix the name"
            )
        base = {
            "name": name,
            "source_path": r.path,
            "labels": labels,
            "annotations": r.string_map("annotations"),
            "agent": agent,
            "cluster": cluster,
            # nil or empty both mean pod_namespace (whatever Prow's field comment says)
            "namespace": r.string("namespace") or config.pod_namespace,
            "max_concurrency": max_concurrency,
            "error_on_eviction": r.boolean("error_on_eviction"),
            "decorate": decorate,
            # Undecorated jobs keep their own block unmerged (plank decorates whenever a ProwJob
            # has a decoration_config, so `decorate: false` + a block still decorates).
            "decoration_config": (
                self._decoration(repo, cluster, job_decoration)
                if decorate
                else canonical_decoration(job_decoration)
            ),
            "spec": spec,
            "pipeline_run_spec": r.mapping("pipeline_run_spec"),
            "tekton_pipeline_run_spec": r.mapping("tekton_pipeline_run_spec"),
            "reporter_config": r.mapping("reporter_config"),
            "rerun_auth_config": rerun_auth_config,
            "hidden": r.boolean("hidden"),
            "prowjob_defaults": self._prowjob_default(repo, cluster, r.mapping("prowjob_defaults")),
            "job_queue_name": queue,
            "path_alias": r.string("path_alias"),
            "clone_uri": r.string("clone_uri"),
            "skip_submodules": r.boolean("skip_submodules"),
            "clone_depth": r.integer("clone_depth"),
            "skip_fetch_head": r.boolean("skip_fetch_head"),
            "extra_refs": _extra_refs(r),
        }
        self._check(r, kind, base)
        return base

    def _check(self, r: FieldReader, kind: str, base: dict[str, Any]) -> None:
        """Prow's validateJobBase over the defaulted values (see `job_checks`)."""
        decoration = base["decoration_config"]
        spec = base["spec"]
        containers = [c for c in (spec or {}).get("containers") or () if is_mapping(c)]
        messages = [
            *check_agent(
                agent=base["agent"],
                has_spec=spec is not None,
                has_pipeline_run_spec=bool(
                    base["pipeline_run_spec"] or base["tekton_pipeline_run_spec"]
                ),
                decorated=decoration is not None,
                error_on_eviction=base["error_on_eviction"],
                namespace=base["namespace"],
                pod_namespace=self.config.pod_namespace,
            ),
            *check_pod_spec(kind, spec, decoration),
            *check_labels(base["labels"]),
            *check_annotations(base["annotations"]),
        ]
        if containers:  # Prow checks the rest only for jobs with containers
            messages += check_clone_uri(base["clone_uri"], decoration)
            messages += check_decoration(decoration, containers)
        for message in messages:
            r.error(message)

    @staticmethod
    def _brancher(r: FieldReader) -> Brancher:
        brancher = Brancher(
            branches=r.strings("branches"), skip_branches=r.strings("skip_branches")
        )
        for message in brancher.errors():
            r.error(f"{message}; fix the pattern (Go RE2 syntax, matched unanchored)")
        return brancher

    @staticmethod
    def _change_filters(r: FieldReader, always_run: bool) -> tuple[str, str]:
        run_if_changed = r.string("run_if_changed")
        skip_if_only_changed = r.string("skip_if_only_changed")
        for key, pattern in (
            ("run_if_changed", run_if_changed),
            ("skip_if_only_changed", skip_if_only_changed),
        ):
            if pattern:
                try:
                    compile_go_regex(pattern)
                except re.error as exc:
                    r.error(f"{key}: invalid regular expression {pattern!r}: {exc}; fix it")
                if always_run:
                    r.error(
                        f"always_run: true and {key} are mutually exclusive; remove one of them"
                    )
        if run_if_changed and skip_if_only_changed:
            r.error("run_if_changed and skip_if_only_changed are mutually exclusive; keep only one")
        return run_if_changed, skip_if_only_changed

    def presubmit(self, raw: Any, org_repo: str, path: str, index: int) -> Presubmit | None:
        """A defaulted presubmit, or None when it has no usable name (error recorded)."""
        got = self._reader(raw, path, f"presubmit #{index + 1} of {org_repo}")
        if got is None:
            return None
        r, name = got
        base = self._base(r, name, org_repo, "presubmit")
        always_run = r.boolean("always_run")
        run_if_changed, skip_if_only_changed = self._change_filters(r, always_run)
        trigger, rerun_command = r.string("trigger"), r.string("rerun_command")
        if not trigger and not rerun_command:
            trigger, rerun_command = default_trigger_for(name), default_rerun_command_for(name)
        elif not trigger or not rerun_command:
            r.error(
                "trigger and rerun_command must both be set or both be left out; set the "
                "missing one (rerun_command must be a comment the trigger regex matches)"
            )
        else:
            try:
                if not compile_go_regex(trigger).search(rerun_command):
                    r.error(
                        f"rerun_command {rerun_command!r} does not match trigger {trigger!r}; "
                        "change one so the trigger matches the rerun command"
                    )
            except re.error as exc:
                r.error(f"trigger: invalid regular expression {trigger!r}: {exc}; fix it")
        context, skip_report = r.string("context") or name, r.boolean("skip_report")
        for message in check_reporting(base["labels"], skip_report, context):
            r.error(message)
        return Presubmit(
            **base,
            org_repo=org_repo,
            brancher=self._brancher(r),
            always_run=always_run,
            optional=r.boolean("optional"),
            trigger=trigger,
            rerun_command=rerun_command,
            run_before_merge=r.boolean("run_before_merge"),
            run_if_changed=run_if_changed,
            skip_if_only_changed=skip_if_only_changed,
            context=context,
            skip_report=skip_report,
            jenkins_spec=r.mapping("jenkins_spec"),
        )

    def postsubmit(self, raw: Any, org_repo: str, path: str, index: int) -> Postsubmit | None:
        """A defaulted postsubmit, or None when it has no usable name (error recorded)."""
        got = self._reader(raw, path, f"postsubmit #{index + 1} of {org_repo}")
        if got is None:
            return None
        r, name = got
        base = self._base(r, name, org_repo, "postsubmit")
        always_run = r.optional_boolean("always_run")
        run_if_changed, skip_if_only_changed = self._change_filters(r, always_run is True)
        context, skip_report = r.string("context") or name, r.boolean("skip_report")
        for message in check_reporting(base["labels"], skip_report, context):
            r.error(message)
        return Postsubmit(
            **base,
            org_repo=org_repo,
            brancher=self._brancher(r),
            always_run=always_run,
            run_if_changed=run_if_changed,
            skip_if_only_changed=skip_if_only_changed,
            context=context,
            skip_report=skip_report,
            jenkins_spec=r.mapping("jenkins_spec"),
        )

    def periodic(self, raw: Any, path: str, index: int) -> Periodic | None:
        """A defaulted periodic, or None when it has no usable name (error recorded)."""
        got = self._reader(raw, path, f"periodic #{index + 1}")
        if got is None:
            return None
        r, name = got
        extra_refs = _extra_refs(r)
        repo = ""
        if extra_refs:  # Prow matches default entries of periodics by their first extra ref
            repo = f"{extra_refs[0].get('org') or ''}/{extra_refs[0].get('repo') or ''}"
        base = self._base(r, name, repo, "periodic")
        schedule = {k: r.string(k) for k in ("cron", "interval", "minimum_interval")}
        retry = r.mapping("retry")
        for message in check_periodic_schedule(
            name, schedule["cron"], schedule["interval"], schedule["minimum_interval"], retry
        ):
            r.error(message)
        return Periodic(
            **base,
            cron=schedule["cron"],
            interval=schedule["interval"],
            minimum_interval=schedule["minimum_interval"],
            tags=r.strings("tags"),
            retry=retry,
        )


@dataclass(frozen=True, slots=True)
class BuiltFile:
    """The defaulted jobs of one file (and their errors), for re-use by the next load."""

    key: FileKey
    presubmits: tuple[tuple[str, tuple[Presubmit, ...]], ...]
    postsubmits: tuple[tuple[str, tuple[Postsubmit, ...]], ...]
    periodics: tuple[Periodic, ...]
    errors: tuple[ConfigError, ...]


_J = TypeVar("_J")


def _build_per_repo(
    per_repo: Iterable[tuple[str, Sequence[Any]]],
    build: Callable[[Any, str, str, int], _J | None],
    path: str,
) -> tuple[tuple[str, tuple[_J, ...]], ...]:
    """Build each org/repo's raw jobs with `build`, dropping those that failed (errors recorded)."""
    return tuple(
        (
            org_repo,
            tuple(
                job
                for i, raw in enumerate(raws)
                if (job := build(raw, org_repo, path, i)) is not None
            ),
        )
        for org_repo, raws in per_repo
    )


def build_file(builder: JobBuilder, path: str, key: FileKey, fragment: Fragment) -> BuiltFile:
    errors: list[ConfigError] = []
    builder.errors = errors
    presubmits = _build_per_repo(fragment.presubmits, builder.presubmit, path)
    postsubmits = _build_per_repo(fragment.postsubmits, builder.postsubmit, path)
    periodics = tuple(
        periodic
        for i, raw in enumerate(fragment.periodics)
        if (periodic := builder.periodic(raw, path, i)) is not None
    )
    return BuiltFile(key, presubmits, postsubmits, periodics, tuple(errors))


def _extra_refs(r: FieldReader) -> tuple[Json, ...]:
    """extra_refs with their string fields read as Go reads them (`base_ref: 1.0` → "1")."""
    return tuple(
        coerce_strings(ref, REFS_STRINGS, f"extra_refs[{i}]", r.error)
        for i, ref in enumerate(r.mappings("extra_refs"))
    )
