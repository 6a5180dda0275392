"""Expected failures as GraphQL types (part of the schema), built from `errors` exceptions."""

from __future__ import annotations

import re

import strawberry

from prow_graphql import errors


@strawberry.interface(
    description="An expected failure; `message` says what went wrong and the fix."
)
class Error:
    message: str


@strawberry.type(description="No configured job matches (type, org/repo, job, baseRef).")
class JobNotFound(Error):
    pass


@strawberry.type(description="Several configured jobs match; narrow it with baseRef.")
class AmbiguousJob(Error):
    candidates: list[str]


@strawberry.type(description="Running a job as a presubmit needs pullRequest.number.")
class PullRequestRequired(Error):
    field: str


@strawberry.type(description="An input field is invalid; `field` is its path in the request.")
class InvalidInput(Error):
    field: str
    reason: str


@strawberry.type(description="The caller may not do this; `message` says who may.")
class PermissionDenied(Error):
    pass


@strawberry.type(description="No ProwJob with that name.")
class ProwJobNotFound(Error):
    name: str


def graphql_field(domain_field: str, prefix: str = "input") -> str:
    """Rename a domain field path (`pull_request.number` → `input.pullRequest.number`)."""
    camel = ".".join(
        re.sub(r"_([a-z])", lambda m: m.group(1).upper(), part) for part in domain_field.split(".")
    )
    return f"{prefix}.{camel}" if prefix else camel


def invalid_input(exc: errors.InvalidInput, prefix: str = "input") -> InvalidInput:
    """Build InvalidInput with the field renamed to the GraphQL vocabulary."""
    field = graphql_field(exc.field, prefix)
    return InvalidInput(message=f"{field}: {exc.reason}", field=field, reason=exc.reason)
