"""Mutation resolvers: each calls one service use case and maps expected failures to types."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gql import errors
from gql.schema import errors as gql_errors
from gql.schema.context import GraphQLContext
from gql.schema.inputs import TriggerJobInput
from gql.schema.types import ProwJob, prow_job

Ctx = Info[GraphQLContext, None]


@strawberry.type(description="The ProwJob was created (or, with dryRun, built but not created).")
class TriggerJobSuccess:
    prow_job: ProwJob
    dry_run: bool
    manifest: JSON = strawberry.field(description="The whole ProwJob object as JSON.")
    status_link: str | None = strawberry.field(description="Deck's page for the ProwJob.")
    log_link: str | None = strawberry.field(description="Deck's log page (once a BuildID exists).")


TriggerJobResult = Annotated[
    TriggerJobSuccess
    | gql_errors.JobNotFound
    | gql_errors.PullRequestRequired
    | gql_errors.AmbiguousJob
    | gql_errors.InvalidInput
    | gql_errors.PermissionDenied,
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
            outcome = await ctx.service.trigger(input.to_request(), ctx.identity)
        except errors.InvalidInput as exc:
            return gql_errors.invalid_input(exc)
        except errors.JobNotFound as exc:
            return gql_errors.JobNotFound(message=exc.message)
        except errors.AmbiguousJob as exc:
            return gql_errors.AmbiguousJob(message=exc.message, candidates=exc.candidates)
        except errors.PullRequestRequired as exc:
            return gql_errors.PullRequestRequired(
                message=exc.message, field="input.pullRequest.number"
            )
        except errors.PermissionDenied as exc:
            return gql_errors.PermissionDenied(message=exc.message)
        return TriggerJobSuccess(
            prow_job=prow_job(outcome.record, (outcome.status_link, outcome.log_link)),
            dry_run=outcome.dry_run,
            manifest=cast(JSON, outcome.prowjob),
            status_link=outcome.status_link,
            log_link=outcome.log_link,
        )
