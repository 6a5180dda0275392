"""GraphQL views of the job index, built once per config snapshot.

The index is immutable between reloads, so converting its jobs to GraphQL objects once per
generation (instead of per request) keeps queries over hundreds of jobs cheap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prow_graphql.prow.index import JobCounts
from prow_graphql.prow.jobs import JobBase
from prow_graphql.prow.loader import JobIndex
from prow_graphql.prow.visibility import job_hidden
from prow_graphql.schema.types import JobDefinition, Repo, job_definition


@dataclass(frozen=True)
class JobViews:
    """Every repo and periodic of one snapshot, as GraphQL objects."""

    generation: int
    repos: tuple[Repo, ...]
    by_repo: dict[str, Repo]
    periodics: tuple[JobDefinition, ...]
    counts: JobCounts  # of what these views show (a caller without hidden jobs counts fewer)


def build_views(index: JobIndex, include_hidden: bool = True) -> JobViews:
    """Convert a whole snapshot (the only place config jobs become GraphQL objects); without
    `include_hidden`, hidden jobs and deck.hidden_repos are left out, as Deck does."""
    hidden_repos = index.config.deck.hidden_repos

    def shown(job: JobBase, org_repo: str | None) -> bool:
        return include_hidden or not job_hidden(job.hidden, org_repo, hidden_repos)

    repos = []
    for org_repo in index.repos():
        org, _, name = org_repo.partition("/")
        presubmits = [job_definition(j) for j in index.presubmits(org_repo) if shown(j, org_repo)]
        postsubmits = [job_definition(j) for j in index.postsubmits(org_repo) if shown(j, org_repo)]
        if include_hidden or presubmits or postsubmits:
            repos.append(Repo(org=org, repo=name, presubmits=presubmits, postsubmits=postsubmits))
    periodics = tuple(job_definition(j) for j in index.periodics if shown(j, None))
    counts = JobCounts(
        presubmits=sum(len(r.presubmits) for r in repos),
        postsubmits=sum(len(r.postsubmits) for r in repos),
        periodics=len(periodics),
        repos=sum(1 for r in repos if r.presubmits or r.postsubmits),
    )
    return JobViews(
        generation=index.generation,
        repos=tuple(repos),
        by_repo={f"{r.org}/{r.repo}": r for r in repos},
        periodics=periodics,
        counts=counts,
    )


class JobViewCache:
    """Holds the views of the newest snapshot asked for; rebuilt when the generation changes."""

    def __init__(self) -> None:
        # One entry per visibility class (with and without hidden jobs).
        self._views: dict[bool, JobViews] = {}
        self._lock = threading.Lock()

    def get(self, index: JobIndex, include_hidden: bool = True) -> JobViews:
        """Views for `index`, built on first use of its generation."""
        views = self._views.get(include_hidden)
        if views is not None and views.generation == index.generation:
            return views
        with self._lock:
            views = self._views.get(include_hidden)
            if views is None or views.generation != index.generation:
                views = build_views(index, include_hidden)
                self._views[include_hidden] = views
            return views
