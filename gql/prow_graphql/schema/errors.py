"""Expected failures as GraphQL types (part of the schema), built from `errors` exceptions."""

from __future__ import annotations

import logging
import re

import strawberry

from prow_graphql import errors

log = logging.getLogger(__name__)


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


@strawberry.type(description="One field the Kubernetes API server refused, in its own words.")
class ApiFieldError:
    field: str = strawberry.field(
        description="The field path, e.g. spec.pod_spec.containers[0].name."
    )
    message: str


@strawberry.type(
    description="The cluster's ProwJob CRD refused the ProwJob this job builds (HTTP 422). "
    "Retrying cannot help: fix the job's config in `sourceFile`."
)
class InvalidProwJob(Error):
    field: str | None = strawberry.field(description="The first refused field's path.")
    causes: list[ApiFieldError]
    api_message: str = strawberry.field(description="The API server's message, verbatim.")
    job: str
    source_file: str | None = strawberry.field(description="The config file defining the job.")
    retryable: bool = False


@strawberry.type(
    description="The ProwJob store (Kubernetes API) failed or is unreachable; `retryable` says "
    "whether the same request may succeed later."
)
class BackendUnavailable(Error):
    retryable: bool


@strawberry.type(
    description="The Kubernetes API server refused the gateway's own credentials (401/403): an "
    "operator must grant its service account access to prowjobs; retrying cannot help."
)
class BackendForbidden(Error):
    retryable: bool = False


def invalid_prowjob(exc: errors.InvalidProwJob | errors.ObjectInvalid) -> InvalidProwJob:
    """A 422 from the API server, with the job and file when the caller knows them."""
    causes = [ApiFieldError(field=c.field, message=c.message) for c in exc.causes]
    if isinstance(exc, errors.InvalidProwJob):
        return InvalidProwJob(
            message=exc.message, field=causes[0].field if causes else None, causes=causes,
            api_message=exc.api_message, job=exc.job, source_file=exc.source_path or None,
        )  # fmt: skip
    return InvalidProwJob(
        message=f"the Kubernetes API server refused the ProwJob: {exc.message}",
        field=causes[0].field if causes else None,
        causes=causes, api_message=exc.message, job="", source_file=None,
    )  # fmt: skip


def backend_error(
    exc: errors.BackendError,
) -> InvalidProwJob | BackendForbidden | BackendUnavailable:
    """The typed result for a store failure; says whether retrying may help."""
    if isinstance(exc, errors.ObjectInvalid):
        return invalid_prowjob(exc)
    # The API server's own text (URLs, namespaces, service accounts) goes to the log only.
    log.warning("backend failure: %r", exc)
    _, retryable, advice = errors.backend_advice(exc)
    if isinstance(exc, errors.BackendForbidden):
        return BackendForbidden(message=advice, retryable=False)
    return BackendUnavailable(message=advice, retryable=retryable)
