"""prowJobLog: a ProwJob's container log as it is written (types and the subscription resolver)."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from prow_graphql.prow.visibility import hidden_from
from prow_graphql.schema.context import GraphQLContext
from prow_graphql.schema.visibility import hidden_not_found
from prow_graphql.service import LogEvent

Ctx = Info[GraphQLContext, None]


@strawberry.enum(description="What a ProwJobLogEvent says.")
class ProwJobLogEventKind(enum.Enum):
    LINES = "LINES"
    WAITING = strawberry.enum_value(
        "WAITING", description="No log yet: the job has no pod, or its container has not started."
    )
    ENDED = strawberry.enum_value(
        "ENDED", description="The container ended; the subscription completes."
    )
    POD_GONE = strawberry.enum_value(
        "POD_GONE", description="The pod no longer exists; storedLogUrl has the uploaded logs."
    )
    UNAVAILABLE = strawberry.enum_value(
        "UNAVAILABLE", description="The log cannot be read (see message); see storedLogUrl."
    )


@strawberry.type(description="New lines of a container log, or a notice about the log.")
class ProwJobLogEvent:
    kind: ProwJobLogEventKind
    lines: list[str] = strawberry.field(description="For LINES: the lines, without newlines.")
    message: str | None
    stored_log_url: str | None = strawberry.field(
        description="Where the uploaded logs are (status.url, else Deck's log page)."
    )


def log_event(event: LogEvent) -> ProwJobLogEvent:
    """Build the GraphQL view of a LogEvent."""
    return ProwJobLogEvent(
        kind=ProwJobLogEventKind(event.kind.value),
        lines=list(event.lines),
        message=event.message or None,
        stored_log_url=event.stored_log_url or None,
    )


async def prow_job_log(
    info: Ctx, name: str, container: str = "test"
) -> AsyncGenerator[ProwJobLogEvent, None]:
    """Follow `container` of ProwJob `name`'s pod in its build cluster; a ProwJob hidden from
    the caller answers as an unknown one, also when a config reload hides it mid-stream."""
    service = info.context.service
    hidden_repos = info.context.hidden_repos()
    if hidden_repos is not None:
        # follow() also asks the API server (a job created a moment ago is not cached yet);
        states = service.follow(name)
        try:
            record = await anext(states, None)
        finally:
            close = getattr(states, "aclose", None)
            if close is not None:
                await close()  # leave the informer subscription now, not at garbage collection
        if record is not None and hidden_from(hidden_repos, record):
            raise hidden_not_found(service, name)
    # A config reload may hide the job (deck.hidden_repos) while its log streams: look again
    # whenever the generation changes, before the next line goes out.
    generation = service.config.index.generation
    async for event in service.pod_log(name, container):
        if service.config.index.generation != generation:
            generation = service.config.index.generation
            record = service.get(name)
            if record is not None and hidden_from(info.context.hidden_repos(), record):
                raise hidden_not_found(service, name)
        yield log_event(event)
