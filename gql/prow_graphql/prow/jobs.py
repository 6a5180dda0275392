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


def compile_go_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Go RE2 pattern from Prow config with Python's `re` (raises re.error).

    The two dialects agree on the syntax Prow configs use; Go's `\\z` (end of text) is
    translated to Python's `\\Z`. Go-only syntax such as `\\pL` or a flag group that is not at
    the start is reported as an invalid pattern.
    """
    if "\\z" in pattern:
        out: list[str] = []
        i = 0
        while i < len(pattern):
            pair = pattern[i : i + 2]
            if pair == "\\z":
                out.append("\\Z")
                i += 2
            elif pair.startswith("\\"):
                out.append(pair)
                i += 2
            else:
                out.append(pattern[i])
                i += 1
        pattern = "".join(out)
    return re.compile(pattern)


def default_trigger_for(name: str) -> str:
    """The trigger regex a presubmit gets when it sets neither trigger nor rerun_command.

    Matches a comment line `/test <name>`, also when <name> is one of several space-separated
    names (`/test a <name>, b`); written to be valid both as Go RE2 and as Python `re`.
    """
    return rf"(?m)^/test(?:[ \t]+\S+)*?[ \t]+{re.escape(name)},?(?:\s.*)?$"


def default_rerun_command_for(name: str) -> str:
    """The rerun command a presubmit gets by default: `/test <name>`."""
    return f"/test {name}"


@dataclass(frozen=True)
class Brancher:
    """`branches` / `skip_branches`: unanchored regexes; skip_branches wins; none = all branches.

    Each pattern is compiled on its own (Prow joins them with `|`; for an unanchored search that
    is the same, and it keeps Go-style leading flags like `(?i)` valid in Python).
    """

    branches: tuple[str, ...] = ()
    skip_branches: tuple[str, ...] = ()

    @cached_property
    def _run_res(self) -> tuple[re.Pattern[str], ...]:
        return tuple(compile_go_regex(b) for b in self.branches)

    @cached_property
    def _skip_res(self) -> tuple[re.Pattern[str], ...]:
        return tuple(compile_go_regex(b) for b in self.skip_branches)

    def errors(self) -> list[str]:
        """Messages for patterns that do not compile (empty when all are valid)."""
        found = []
        for key, patterns in (("branches", self.branches), ("skip_branches", self.skip_branches)):
            for pattern in patterns:
                try:
                    compile_go_regex(pattern)
                except re.error as exc:
                    found.append(f"{key}: invalid regular expression {pattern!r}: {exc}")
        return found

    def could_run(self, branch: str) -> bool:
        """Whether a job with these filters runs against base branch `branch`."""
        if any(p.search(branch) for p in self._skip_res):
            return False
        if self.branches:
            return any(p.search(branch) for p in self._run_res)
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
    def _trigger_re(self) -> re.Pattern[str] | None:
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
