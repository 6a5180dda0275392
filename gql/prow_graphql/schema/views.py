"""GraphQL views of the job index, built once per config snapshot.

The index is immutable between reloads, so converting its jobs to GraphQL objects once per
generation (instead of per request) keeps queries over hundreds of jobs cheap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prow_graphql.prow.loader import JobIndex
from prow_graphql.schema.types import JobDefinition, Repo, job_definition


@dataclass(frozen=True)
class JobViews:
    """Every repo and periodic of one snapshot, as GraphQL objects."""

    generation: int
    repos: tuple[Repo, ...]
    by_repo: dict[str, Repo]
    periodics: tuple[JobDefinition, ...]


def build_views(index: JobIndex) -> JobViews:
    """Convert a whole snapshot (the only place config jobs become GraphQL objects)."""
    repos = []
    for org_repo in index.repos():
        org, _, name = org_repo.partition("/")
        repos.append(
            Repo(
                org=org,
                repo=name,
                presubmits=[job_definition(j) for j in index.presubmits(org_repo)],
                postsubmits=[job_definition(j) for j in index.postsubmits(org_repo)],
            )
        )
    return JobViews(
        generation=index.generation,
        repos=tuple(repos),
        by_repo={f"{r.org}/{r.repo}": r for r in repos},
        periodics=tuple(job_definition(j) for j in index.periodics),
    )


class JobViewCache:
    """Holds the views of the newest snapshot asked for; rebuilt when the generation changes."""

    def __init__(self) -> None:
        self._views: JobViews | None = None
        self._lock = threading.Lock()

    def get(self, index: JobIndex) -> JobViews:
        """Views for `index`, built on first use of its generation."""
        views = self._views
        if views is not None and views.generation == index.generation:
            return views
        with self._lock:
            views = self._views
            if views is None or views.generation != index.generation:
                views = build_views(index)
                self._views = views
            return views
