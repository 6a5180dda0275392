"""GraphQL input types and their conversion into service requests."""

from __future__ import annotations

import strawberry

from prow_graphql.errors import InvalidInput
from prow_graphql.schema.types import ProwJobState, ProwJobType
from prow_graphql.service import ProwJobFilter as DomainFilter
from prow_graphql.service import PullRequestInput as DomainPullRequest
from prow_graphql.service import TriggerRequest


@strawberry.input(description="The pull request a presubmit run tests.")
class PullRequestInput:
    number: int
    sha: str | None = strawberry.field(
        default=None,
        description="PR head commit (40 lowercase hex). Omitted: clonerefs tests whatever the "
        "PR's head is when the pod starts, and the run cannot gate a merge (Tide counts only "
        "runs that name the head SHA) nor report a commit status. Required with --require-shas.",
    )
    author: str | None = None


@strawberry.input(description="An environment variable override.")
class EnvInput:
    name: str
    value: str


@strawberry.input(description="What to run.")
class TriggerJobInput:
    org: str = strawberry.field(description="GitHub org (for periodics: ignored, may be empty).")
    repo: str = strawberry.field(description="Repository name (for periodics: may be empty).")
    job: str = strawberry.field(description="Job name from the Prow config.")
    type: ProwJobType = strawberry.field(
        description="The type to run as; a presubmit may be run as POSTSUBMIT."
    )
    base_ref: str = strawberry.field(default="", description="Branch to test, e.g. main.")
    base_sha: str | None = strawberry.field(
        default=None,
        description="Commit of baseRef to test (40 lowercase hex), written to refs.base_sha "
        "(PULL_BASE_SHA). Omitted: clonerefs checks out the branch head when the pod starts; "
        "such a run cannot gate a merge (Tide needs the base SHA a presubmit was tested "
        "against). Required with --require-shas. Not allowed for periodics.",
    )
    pull_request: PullRequestInput | None = strawberry.field(
        default=None, description="Required to run as PRESUBMIT."
    )
    author: str | None = strawberry.field(
        default=None,
        description="Recorded as env AUTHOR and an annotation; with authentication on, the "
        "caller's identity is used instead.",
    )
    dry_run: bool = strawberry.field(
        default=False, description="Build and return the ProwJob without creating it."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retries with the same key (from the same caller) return the ProwJob the "
        "first call created instead of creating another, on any replica.",
    )
    env: list[EnvInput] | None = strawberry.field(
        default=None,
        description="Env overrides for every container; only names on the server's "
        "--env-allowlist are accepted.",
    )

    def to_request(self) -> TriggerRequest:
        """The service request this input stands for."""
        pr = self.pull_request
        return TriggerRequest(
            org=self.org.strip(),
            repo=self.repo.strip(),
            job=self.job.strip(),
            type=self.type.to_domain(),
            base_ref=self.base_ref.strip(),
            base_sha=(self.base_sha or "").strip(),
            pull_request=DomainPullRequest(
                number=pr.number, sha=(pr.sha or "").strip(), author=(pr.author or "").strip()
            )
            if pr is not None
            else None,
            author=(self.author or "").strip(),
            dry_run=self.dry_run,
            env=_env(self.env),
            idempotency_key=(self.idempotency_key or "").strip(),
        )


def _env(entries: list[EnvInput] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in entries or ():
        if entry.name in env:
            raise InvalidInput(f"env.{entry.name}", "is given twice; give each name once")
        env[entry.name] = entry.value
    return env


def to_filter(
    org: str | None,
    repo: str | None,
    job: str | None,
    type_: ProwJobType | None,
    state: ProwJobState | None,
) -> DomainFilter:
    """The service filter for GraphQL filter values."""
    return DomainFilter(
        org=org,
        repo=repo,
        job=job,
        type=type_.to_domain() if type_ is not None else None,
        state=state.to_domain() if state is not None else None,
    )
