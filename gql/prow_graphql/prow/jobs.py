"""Job definitions after Prow's defaulting: Presubmit, Postsubmit, Periodic, and branch matching.

These are produced by `prow.loader` (which applies defaults and presets) and consumed by
`prow.prowjob` (which builds ProwJobs) and the GraphQL layer. Kubernetes-shaped parts (pod spec,
decoration config, extra_refs, ...) stay JSON mappings with Prow's key names; treat them as
read-only, builders deep-copy before changing anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from prow_graphql.prow.goregex import GoRegex, compile_go_regex
from prow_graphql.prow.objects import ProwJobType

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


def default_trigger_for(name: str) -> str:
    """The trigger regex Prow gives a presubmit that sets neither trigger nor rerun_command:
    `/test <name>` on a line, also among several names; the name is not escaped (as in Prow)."""
    return rf"(?m)^/test( | .* ){name},?($|\s.*)"


def default_rerun_command_for(name: str) -> str:
    """The rerun command a presubmit gets by default: `/test <name>`."""
    return f"/test {name}"


@dataclass(frozen=True)
class Brancher:
    """`branches` / `skip_branches`: unanchored RE2 regexes; skip_branches wins; none = all.

    As in Prow, all patterns of a list are joined with `|` into one regex, so an inline flag such
    as `(?i)` at the start of the first pattern applies across the alternatives.
    """

    branches: tuple[str, ...] = ()
    skip_branches: tuple[str, ...] = ()

    @cached_property
    def _run_re(self) -> GoRegex | None:
        return compile_go_regex("|".join(self.branches)) if self.branches else None

    @cached_property
    def _skip_re(self) -> GoRegex | None:
        return compile_go_regex("|".join(self.skip_branches)) if self.skip_branches else None

    def errors(self) -> list[str]:
        """Messages for lists whose joined regex Go rejects (empty when both compile)."""
        found = []
        for key, patterns in (("branches", self.branches), ("skip_branches", self.skip_branches)):
            if patterns:
                joined = "|".join(patterns)
                try:
                    compile_go_regex(joined)
                except re.error as exc:
                    found.append(f"{key}: invalid regular expression {joined!r}: {exc}")
        return found

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

    def describe(self) -> str:
        """Human text for messages: `branches [...]`, `skip_branches [...]` or `all branches`."""
        parts = []
        if self.branches:
            parts.append(f"branches {list(self.branches)}")
        if self.skip_branches:
            parts.append(f"skip_branches {list(self.skip_branches)}")
        return ", ".join(parts) or "all branches"

    def intersects(self, other: Brancher) -> bool:
        """Prow's overlap test for duplicate job names: compares branch strings, not languages.

        Two `branches` lists overlap only if they share an identical entry; a `branches` list
        overlaps a skip-only filter if one of its entries (taken as a branch name) is not
        skipped; two skip-only filters always overlap.
        """
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

    @cached_property
    def _trigger_re(self) -> GoRegex | None:
        return compile_go_regex(self.trigger) if self.trigger else None

    def trigger_matches(self, comment: str) -> bool:
        """Whether a PR comment triggers this job (e.g. `/test <name>`)."""
        return self._trigger_re is not None and self._trigger_re.search(comment) is not None

    @property
    def needs_explicit_trigger(self) -> bool:
        """True when the job runs only when asked (`/test`, or a manual trigger)."""
        return not self.always_run and not self.run_if_changed and not self.skip_if_only_changed


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
    retry: Json | None = None

    @property
    def type(self) -> ProwJobType:
        return ProwJobType.PERIODIC


Job = Presubmit | Postsubmit | Periodic
