"""Job definitions after Prow's defaulting: Presubmit, Postsubmit, Periodic, and branch matching.

These are produced by `gql.prow.loader` (which applies defaults and presets) and consumed by
`gql.prow.prowjob` (which builds ProwJobs) and the GraphQL layer. Kubernetes-shaped parts (pod spec,
decoration config, extra_refs, ...) stay JSON mappings with Prow's key names; treat them as
read-only, builders deep-copy before changing anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from gql.prow.objects import ProwJobType

Json = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class EnvVar:
    """A container env var as the GraphQL layer shows it (value_from kept as JSON)."""

    name: str
    value: str = ""
    value_from: Json | None = None


@dataclass(frozen=True, slots=True)
class ContainerView:
    """The parts of a pod-spec container a dashboard needs."""

    name: str
    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[EnvVar, ...] = ()


@dataclass(frozen=True)
class Brancher:
    """`branches` / `skip_branches`: unanchored regexes; skip_branches wins; none = all branches."""

    branches: tuple[str, ...] = ()
    skip_branches: tuple[str, ...] = ()

    @cached_property
    def _run_re(self) -> re.Pattern[str] | None:
        return re.compile("|".join(self.branches)) if self.branches else None

    @cached_property
    def _skip_re(self) -> re.Pattern[str] | None:
        return re.compile("|".join(self.skip_branches)) if self.skip_branches else None

    def could_run(self, branch: str) -> bool:
        """Whether a job with these filters runs against base branch `branch`."""
        if self._skip_re is not None and self._skip_re.search(branch):
            return False
        if self._run_re is not None:
            return self._run_re.search(branch) is not None
        return True

    @property
    def runs_against_all(self) -> bool:
        """True when neither branches nor skip_branches is set."""
        return not self.branches and not self.skip_branches

    def intersects(self, other: Brancher) -> bool:
        """Prow's overlap test for duplicate job names: compares branch strings, not languages."""
        if self.runs_against_all or other.runs_against_all:
            return True
        if self.branches:
            if other.branches:
                return bool(set(self.branches) & set(other.branches))
            return any(other.could_run(b) for b in self.branches)
        if not other.branches:
            return True  # both only skip some branches: they overlap somewhere
        return other.intersects(self)


@dataclass(frozen=True)
class JobBase:
    """Fields every job type has, after defaulting (agent, cluster, namespace, decoration, presets).

    `spec` is the pod spec with presets already applied; `decoration_config` is the merged config
    when `decorate` is true, else None.
    """

    name: str
    source_path: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    agent: str = "kubernetes"
    cluster: str = "default"
    namespace: str = "default"
    max_concurrency: int = 0
    error_on_eviction: bool = False
    decorate: bool = False
    decoration_config: Json | None = None
    spec: Json | None = None
    pipeline_run_spec: Json | None = None
    tekton_pipeline_run_spec: Json | None = None
    reporter_config: Json | None = None
    rerun_auth_config: Json | None = None
    hidden: bool = False
    prowjob_defaults: Json | None = None
    job_queue_name: str = ""
    path_alias: str = ""
    clone_uri: str = ""
    skip_submodules: bool = False
    clone_depth: int = 0
    skip_fetch_head: bool = False
    extra_refs: tuple[Json, ...] = ()

    @property
    def type(self) -> ProwJobType:  # overridden by each job type
        raise NotImplementedError

    @cached_property
    def containers(self) -> tuple[ContainerView, ...]:
        """The pod spec's regular containers, as a dashboard shows them."""
        return tuple(
            ContainerView(
                name=str(c.get("name") or ""),
                image=str(c.get("image") or ""),
                command=tuple(str(x) for x in c.get("command") or ()),
                args=tuple(str(x) for x in c.get("args") or ()),
                env=tuple(
                    EnvVar(
                        name=str(e.get("name") or ""),
                        value=str(e.get("value") or ""),
                        value_from=e.get("valueFrom"),
                    )
                    for e in c.get("env") or ()
                ),
            )
            for c in (self.spec or {}).get("containers") or ()
        )


@dataclass(frozen=True)
class Presubmit(JobBase):
    """A job run against pull requests of `org_repo`."""

    org_repo: str = ""
    brancher: Brancher = field(default_factory=Brancher)
    always_run: bool = False
    optional: bool = False
    trigger: str = ""
    rerun_command: str = ""
    run_before_merge: bool = False
    run_if_changed: str = ""
    skip_if_only_changed: str = ""
    context: str = ""
    skip_report: bool = False
    jenkins_spec: Json | None = None

    @property
    def type(self) -> ProwJobType:
        return ProwJobType.PRESUBMIT

    def could_run(self, branch: str) -> bool:
        """Whether this job runs against `branch` (branches / skip_branches)."""
        return self.brancher.could_run(branch)


@dataclass(frozen=True)
class Postsubmit(JobBase):
    """A job run on commits pushed to branches of `org_repo`. `always_run` None = unset."""

    org_repo: str = ""
    brancher: Brancher = field(default_factory=Brancher)
    always_run: bool | None = None
    run_if_changed: str = ""
    skip_if_only_changed: str = ""
    context: str = ""
    skip_report: bool = False
    jenkins_spec: Json | None = None

    @property
    def type(self) -> ProwJobType:
        return ProwJobType.POSTSUBMIT

    def could_run(self, branch: str) -> bool:
        """Whether this job runs against `branch` (branches / skip_branches)."""
        return self.brancher.could_run(branch)


@dataclass(frozen=True)
class Periodic(JobBase):
    """A job run on a timer: exactly one of cron, interval, minimum_interval."""

    cron: str = ""
    interval: str = ""
    minimum_interval: str = ""
    tags: tuple[str, ...] = ()

    @property
    def type(self) -> ProwJobType:
        return ProwJobType.PERIODIC


Job = Presubmit | Postsubmit | Periodic
