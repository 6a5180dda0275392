"""`JobIndex`: the immutable snapshot of every configured job, and the one-job lookup."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from prow_graphql.errors import AmbiguousJob, JobNotFound
from prow_graphql.prow.config import ProwConfig
from prow_graphql.prow.jobs import Job, Periodic, Postsubmit, Presubmit
from prow_graphql.prow.objects import ProwJobType
from prow_graphql.prow.visibility import job_visible

__all__ = ["JobCounts", "JobIndex"]

_J = TypeVar("_J", Presubmit, Postsubmit, Periodic)


@dataclass(frozen=True, slots=True)
class JobCounts:
    """How many jobs a snapshot holds; `repos` counts org/repo keys with pre- or postsubmits."""

    presubmits: int
    postsubmits: int
    periodics: int
    repos: int


class JobIndex:
    """An immutable snapshot of every configured job, looked up by org/repo and by name."""

    __slots__ = (
        "_periodic_by_name",
        "_periodics",
        "_post_by_name",
        "_postsubmits",
        "_pre_by_name",
        "_presubmits",
        "_repos",
        "config",
        "counts",
        "files",
        "generation",
        "loaded_at",
    )

    def __init__(
        self,
        *,
        config: ProwConfig,
        generation: int,
        files: Sequence[str],
        presubmits: Mapping[str, Sequence[Presubmit]],
        postsubmits: Mapping[str, Sequence[Postsubmit]],
        periodics: Sequence[Periodic],
        loaded_at: datetime | None = None,
    ) -> None:
        self.config = config
        self.generation = generation
        self.loaded_at = loaded_at or datetime.now(UTC)
        self.files = tuple(files)
        self._presubmits = {k: tuple(v) for k, v in presubmits.items() if v}
        self._postsubmits = {k: tuple(v) for k, v in postsubmits.items() if v}
        self._periodics = tuple(periodics)
        self._repos = tuple(sorted(set(self._presubmits) | set(self._postsubmits)))
        self._pre_by_name = _by_name(self._presubmits)
        self._post_by_name = _by_name(self._postsubmits)
        self._periodic_by_name: dict[str, Periodic] = {}
        for periodic in self._periodics:
            self._periodic_by_name.setdefault(periodic.name, periodic)
        self.counts = JobCounts(
            presubmits=sum(len(v) for v in self._presubmits.values()),
            postsubmits=sum(len(v) for v in self._postsubmits.values()),
            periodics=len(self._periodics),
            repos=len(self._repos),
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, "counts"):  # set last in __init__: from then on the snapshot is frozen
            raise AttributeError(f"JobIndex is immutable; cannot set {name!r}")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"JobIndex(generation={self.generation}, counts={self.counts})"

    def repos(self) -> tuple[str, ...]:
        """Sorted "org/repo" keys that have presubmits or postsubmits."""
        return self._repos

    def presubmits(self, org_repo: str) -> tuple[Presubmit, ...]:
        """The presubmits of `org_repo` in config order (empty when none)."""
        return self._presubmits.get(org_repo, ())

    def postsubmits(self, org_repo: str) -> tuple[Postsubmit, ...]:
        """The postsubmits of `org_repo` in config order (empty when none)."""
        return self._postsubmits.get(org_repo, ())

    @property
    def periodics(self) -> tuple[Periodic, ...]:
        """Every periodic in config order."""
        return self._periodics

    def periodic(self, name: str) -> Periodic | None:
        """The periodic named `name`, or None."""
        return self._periodic_by_name.get(name)

    def find(
        self,
        type: ProwJobType,
        org_repo: str,
        name: str,
        base_ref: str,
        hidden_repos: Collection[str] | None = None,
    ) -> Job:
        """The one job to run as `type` for (org_repo, name, base_ref); raises JobNotFound or
        AmbiguousJob with a message that says what to change.

        PRESUBMIT (and BATCH) look in presubmits; POSTSUBMIT in postsubmits, falling back to a
        presubmit of that name when no postsubmit has it (run-as-postsubmit, as the old
        manual-trigger service allowed); PERIODIC by name only (org_repo, base_ref ignored).
        Branch filters use Prow's unanchored matching (`could_run`).

        `hidden_repos` is the caller's visibility (None: sees every job). Jobs Deck hides from
        that caller are left out of everything here, lookups, hints and suggestions alike, so
        a hidden job answers exactly as a job that does not exist and no message names one.
        """
        view = _View(self, hidden_repos)
        if type is ProwJobType.PERIODIC:
            periodic = view.periodic(name)
            if periodic is None:
                names = [p.name for p in view.periodics()]
                raise JobNotFound(
                    f"Job {name} not found in config: no periodic is named {name!r}."
                    f"{_suggest(name, names)} Check the job name (periodics are looked up by "
                    "name only)."
                )
            return periodic
        candidates: tuple[Presubmit, ...] | tuple[Postsubmit, ...]
        if type is ProwJobType.POSTSUBMIT:
            candidates = view.post_named(org_repo, name)
            kind = "postsubmit"
            if not candidates:
                candidates = view.pre_named(org_repo, name)
                kind = "presubmit (run as a postsubmit)"
        else:
            candidates = view.pre_named(org_repo, name)
            kind = "presubmit"
        if not candidates:
            raise JobNotFound(_not_configured(view, type, org_repo, name))
        matching = [job for job in candidates if job.could_run(base_ref)]
        if len(matching) == 1:
            return matching[0]
        if not matching:
            where = "; ".join(f"{j.brancher.describe()} (in {j.source_path})" for j in candidates)
            raise JobNotFound(
                f"Job {name} not found in config for {org_repo} on branch {base_ref!r}: the "
                f"{kind} {name!r} does not run against that branch. It is configured for: "
                f"{where}. Use a base_ref those branch filters accept."
            )
        described = [f"{j.source_path} ({j.brancher.describe()})" for j in matching]
        raise AmbiguousJob(
            f"Job {name} is ambiguous for {org_repo} on branch {base_ref!r}: {len(matching)} "
            f"{kind} definitions match: {'; '.join(described)}. Make their branch filters "
            "disjoint in the Prow config.",
            described,
        )


@dataclass(frozen=True, slots=True)
class _View:
    """The part of a JobIndex one caller may see (hidden_repos None: all of it)."""

    index: JobIndex
    hidden_repos: Collection[str] | None

    def _keep(self, jobs: tuple[_J, ...], org_repo: str | None) -> tuple[_J, ...]:
        if self.hidden_repos is None:
            return jobs
        return tuple(j for j in jobs if job_visible(j.hidden, org_repo, self.hidden_repos))

    def periodics(self) -> tuple[Periodic, ...]:
        return self._keep(self.index.periodics, None)

    def periodic(self, name: str) -> Periodic | None:
        if self.hidden_repos is None:
            return self.index.periodic(name)
        return next((p for p in self.periodics() if p.name == name), None)

    def pre_named(self, org_repo: str, name: str) -> tuple[Presubmit, ...]:
        return self._keep(self.index._pre_by_name.get((org_repo, name), ()), org_repo)

    def post_named(self, org_repo: str, name: str) -> tuple[Postsubmit, ...]:
        return self._keep(self.index._post_by_name.get((org_repo, name), ()), org_repo)

    def presubmits(self, org_repo: str) -> tuple[Presubmit, ...]:
        return self._keep(self.index.presubmits(org_repo), org_repo)

    def postsubmits(self, org_repo: str) -> tuple[Postsubmit, ...]:
        return self._keep(self.index.postsubmits(org_repo), org_repo)


def _not_configured(view: _View, type: ProwJobType, org_repo: str, name: str) -> str:
    if type is ProwJobType.POSTSUBMIT:
        what = f"no postsubmit or presubmit of {org_repo} is named {name!r}."
        names = [j.name for j in view.postsubmits(org_repo) + view.presubmits(org_repo)]
    else:
        what = f"no presubmit of {org_repo} is named {name!r}."
        names = [j.name for j in view.presubmits(org_repo)]
        if view.post_named(org_repo, name):
            what += " A postsubmit has that name: run it as a postsubmit."
    if view.periodic(name) is not None:
        what += " A periodic has that name: run it as a periodic."
    if not view.presubmits(org_repo) and not view.postsubmits(org_repo):
        what += f" {org_repo} has no presubmits or postsubmits at all; check org and repo."
    else:
        what += _suggest(name, names)
    return f"Job {name} not found in config for {org_repo}: {what}"


def _by_name(
    jobs_by_repo: Mapping[str, tuple[Any, ...]],
) -> dict[tuple[str, str], tuple[Any, ...]]:
    grouped: dict[tuple[str, str], list[Any]] = {}
    for org_repo, jobs in jobs_by_repo.items():
        for job in jobs:
            grouped.setdefault((org_repo, job.name), []).append(job)
    return {k: tuple(v) for k, v in grouped.items()}


def _suggest(name: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(names)), n=3, cutoff=0.6)
    return f" Did you mean: {', '.join(close)}?" if close else ""
