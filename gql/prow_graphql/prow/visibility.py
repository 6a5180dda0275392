"""Which jobs and ProwJobs Deck hides: `hidden: true`, and everything of `deck.hidden_repos`.

Deck shows hidden jobs only on instances run with --show-hidden/--hidden-only; the gateway shows
them only to callers in --hidden-jobs-group. An entry of hidden_repos is an org or an org/repo.
Pure functions; the schema applies them to every read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from prow_graphql.identity import Identity
from prow_graphql.prow.objects import ProwJobRecord


def sees_hidden(identity: Identity, group: str | None) -> bool:
    """Whether `identity` may see hidden jobs: an authenticated member of --hidden-jobs-group.
    The one rule every interface (GraphQL, REST, gangway) applies, so none can drift."""
    return group is not None and identity.authenticated and group in identity.groups


def caller_hidden_repos(
    identity: Identity, group: str | None, hidden_repos: tuple[str, ...]
) -> tuple[str, ...] | None:
    """What a caller may not see: None (nothing) for group members, else deck.hidden_repos
    (jobs and ProwJobs marked hidden are hidden too). Computed once per request."""
    return None if sees_hidden(identity, group) else hidden_repos


def repo_hidden(org: str, repo: str, hidden_repos: Collection[str]) -> bool:
    """Whether org/repo is hidden by deck.hidden_repos (as an org or as org/repo)."""
    return org in hidden_repos or f"{org}/{repo}" in hidden_repos


def job_hidden(hidden: bool, org_repo: str | None, hidden_repos: Collection[str]) -> bool:
    """Whether a configured job is hidden (`org_repo` None for periodics)."""
    if hidden:
        return True
    if org_repo is None:
        return False
    org, _, repo = org_repo.partition("/")
    return repo_hidden(org, repo, hidden_repos)


def job_visible(hidden: bool, org_repo: str | None, hidden_repos: Collection[str] | None) -> bool:
    """Whether a configured job is visible to a caller who hides `hidden_repos` (None: all)."""
    return hidden_repos is None or not job_hidden(hidden, org_repo, hidden_repos)


def record_hidden(record: ProwJobRecord, hidden_repos: Collection[str]) -> bool:
    """Whether a ProwJob is hidden: spec.hidden, or any of its refs in a hidden repo."""
    if record.hidden:
        return True
    refs: Iterable[object] = (record.refs, *record.extra_refs)
    return any(
        r is not None and repo_hidden(getattr(r, "org", ""), getattr(r, "repo", ""), hidden_repos)
        for r in refs
    )


def hidden_from(hidden_repos: Collection[str] | None, record: ProwJobRecord) -> bool:
    """Whether `record` is invisible to a caller whose reads hide `hidden_repos` (None: none)."""
    return hidden_repos is not None and record_hidden(record, hidden_repos)
