"""Mutation resolvers: each calls one service use case and maps expected failures to types."""

from __future__ import annotations

import enum
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from prow_graphql import errors
from prow_graphql.schema import errors as gql_errors
from prow_graphql.schema.context import GraphQLContext
from prow_graphql.schema.inputs import TriggerJobInput
from prow_graphql.schema.types import ProwJob, prow_job
from prow_graphql.service import NotAbortable as NotAbortableError
from prow_graphql.service import RerunMode as DomainRerunMode
from prow_graphql.service import TriggerOutcome

Ctx = Info[GraphQLContext, None]


@strawberry.type(description="The ProwJob was created (or, with dryRun, built but not created).")
class TriggerJobSuccess:
    prow_job: ProwJob
    dry_run: bool
    existing: bool = strawberry.field(
        description="True when the idempotencyKey matched a ProwJob created earlier."
    )
    manifest: JSON = strawberry.field(description="The whole ProwJob object as JSON.")
    status_link: str | None = strawberry.field(description="Deck's page for the ProwJob.")
    log_link: str | None = strawberry.field(description="Deck's log page (once a BuildID exists).")


@strawberry.type(description="The ProwJob was marked aborted; plank deletes its pod.")
class AbortProwJobSuccess:
    prow_job: ProwJob


@strawberry.type(description="Only triggered or pending ProwJobs can be aborted.")
class NotAbortable(gql_errors.Error):
    pass


@strawberry.enum(description="How rerunProwJob builds the new ProwJob (like Deck's rerun).")
class RerunMode(enum.Enum):
    ORIGINAL = "original"
    LATEST = "latest"


AbortProwJobResult = Annotated[
    AbortProwJobSuccess
    | gql_errors.ProwJobNotFound
    | NotAbortable
    | gql_errors.PermissionDenied
    | gql_errors.InvalidInput
    | gql_errors.InvalidProwJob
    | gql_errors.BackendUnavailable
    | gql_errors.BackendForbidden,
    strawberry.union("AbortProwJobResult"),
]

RerunProwJobResult = Annotated[
    TriggerJobSuccess
    | gql_errors.ProwJobNotFound
    | gql_errors.JobNotFound
    | gql_errors.AmbiguousJob
    | gql_errors.PermissionDenied
    | gql_errors.InvalidInput
    | gql_errors.InvalidProwJob
    | gql_errors.BackendUnavailable
    | gql_errors.BackendForbidden,
    strawberry.union("RerunProwJobResult"),
]

TriggerJobResult = Annotated[
    TriggerJobSuccess
    | gql_errors.JobNotFound
    | gql_errors.PullRequestRequired
    | gql_errors.AmbiguousJob
    | gql_errors.InvalidInput
    | gql_errors.PermissionDenied
    | gql_errors.InvalidProwJob
    | gql_errors.BackendUnavailable
    | gql_errors.BackendForbidden,
    strawberry.union("TriggerJobResult"),
]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a ProwJob for a configured job, built exactly as Prow would build it."
    )
    async def trigger_job(self, info: Ctx, input: TriggerJobInput) -> TriggerJobResult:
        ctx = info.context
        try:
            outcome = await ctx.service.trigger(
                input.to_request(), ctx.identity, hidden_repos=ctx.hidden_repos()
            )
        except (errors.UserError, errors.BackendError) as exc:
            return _user_error(exc)
        return _success(outcome)

    @strawberry.mutation(
        description="Abort a triggered or pending ProwJob (like Deck's abort: state aborted, a "
        "description naming you); plank then deletes its pod. Needs --enable-abort."
    )
    async def abort_prow_job(self, info: Ctx, name: str) -> AbortProwJobResult:
        ctx = info.context
        try:
            record = await ctx.service.abort(name, ctx.identity, hidden_repos=ctx.hidden_repos())
        except NotAbortableError as exc:
            return NotAbortable(message=exc.message)
        except errors.ProwJobNotFound as exc:
            return gql_errors.ProwJobNotFound(message=exc.message, name=name)
        except errors.PermissionDenied as exc:
            return gql_errors.PermissionDenied(message=exc.message)
        except errors.InvalidInput as exc:
            return gql_errors.invalid_input(exc, prefix="")
        except errors.BackendError as exc:
            return gql_errors.backend_error(exc)
        return AbortProwJobSuccess(prow_job=prow_job(record, ctx.service.links(record)))

    @strawberry.mutation(
        description="Run a ProwJob again (like Deck's rerun): ORIGINAL copies its spec, LATEST "
        "rebuilds it from the current config."
    )
    async def rerun_prow_job(
        self, info: Ctx, name: str, mode: RerunMode = RerunMode.ORIGINAL
    ) -> RerunProwJobResult:
        ctx = info.context
        try:
            outcome = await ctx.service.rerun(
                name, DomainRerunMode(mode.value), ctx.identity, hidden_repos=ctx.hidden_repos()
            )
        except errors.ProwJobNotFound as exc:
            return gql_errors.ProwJobNotFound(message=exc.message, name=name)
        except (errors.UserError, errors.BackendError) as exc:
            result = _user_error(exc, prefix="")
            if isinstance(result, gql_errors.PullRequestRequired):
                return gql_errors.InvalidInput(
                    message=result.message, field="name", reason=result.message
                )
            return result
        return _success(outcome)


def _user_error(
    exc: errors.UserError | errors.BackendError, prefix: str = "input"
) -> (
    gql_errors.JobNotFound
    | gql_errors.AmbiguousJob
    | gql_errors.PullRequestRequired
    | gql_errors.InvalidInput
    | gql_errors.PermissionDenied
    | gql_errors.InvalidProwJob
    | gql_errors.BackendUnavailable
    | gql_errors.BackendForbidden
):
    """The typed GraphQL result for an expected failure (unknown kinds are re-raised)."""
    if isinstance(exc, errors.BackendError):
        return gql_errors.backend_error(exc)
    if isinstance(exc, errors.InvalidProwJob):
        return gql_errors.invalid_prowjob(exc)
    if isinstance(exc, errors.InvalidInput):
        return gql_errors.invalid_input(exc, prefix)
    if isinstance(exc, errors.JobNotFound):
        return gql_errors.JobNotFound(message=exc.message)
    if isinstance(exc, errors.AmbiguousJob):
        return gql_errors.AmbiguousJob(message=exc.message, candidates=exc.candidates)
    if isinstance(exc, errors.PullRequestRequired):
        return gql_errors.PullRequestRequired(message=exc.message, field="input.pullRequest.number")
    if isinstance(exc, errors.PermissionDenied):
        return gql_errors.PermissionDenied(message=exc.message)
    raise exc


def _success(outcome: TriggerOutcome) -> TriggerJobSuccess:
    return TriggerJobSuccess(
        prow_job=prow_job(outcome.record, (outcome.status_link, outcome.log_link)),
        dry_run=outcome.dry_run,
        existing=outcome.existing,
        manifest=cast(JSON, outcome.prowjob),
        status_link=outcome.status_link,
        log_link=outcome.log_link,
    )
