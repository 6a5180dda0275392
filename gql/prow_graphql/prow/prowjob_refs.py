"""User-supplied refs for a ProwJob: validation, links completed as Prow's trigger does, and
their ProwJob JSON."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from prow_graphql.errors import InvalidInput
from prow_graphql.prow.objects import Pull, Refs
from prow_graphql.prow.omitempty import put

_SHA_RE = re.compile(r"[0-9a-f]{40}")
# GitHub-like org, or a Gerrit host URL (Gerrit jobs use "https://host" as the org).
_ORG_RE = re.compile(r"(?:https?://)?[A-Za-z0-9][A-Za-z0-9._-]*(?::[0-9]+)?")
_REPO_RE = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")
_AUTHOR_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\[bot\])?")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")
_MAX_NAME_LENGTH = 255


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
    put(out, "repo_link", refs.repo_link)
    put(out, "base_ref", refs.base_ref)
    put(out, "base_sha", refs.base_sha)
    put(out, "base_link", refs.base_link)
    put(out, "pulls", [_pull_to_json(p) for p in refs.pulls])
    put(out, "path_alias", refs.path_alias)
    return out


def _pull_to_json(pull: Pull) -> dict[str, Any]:
    out: dict[str, Any] = {"number": pull.number, "author": pull.author, "sha": pull.sha}
    put(out, "title", pull.title)
    put(out, "ref", pull.ref)
    put(out, "head_ref", pull.head_ref)
    put(out, "link", pull.link)
    put(out, "commit_link", pull.commit_link)
    put(out, "author_link", pull.author_link)
    return out


def _valid_name(value: str, pattern: re.Pattern[str]) -> bool:
    return 0 < len(value) <= _MAX_NAME_LENGTH and pattern.fullmatch(value) is not None


def _valid_ref(ref: str) -> bool:
    """A loose `git check-ref-format --branch`: what a branch name cannot contain or end with."""
    if not ref or len(ref) > _MAX_NAME_LENGTH or _REF_FORBIDDEN.search(ref):
        return False
    if ref.startswith(("-", "/", ".")) or ref.endswith(("/", ".", ".lock")):
        return False
    return not any(part.startswith(".") for part in ref.split("/"))
