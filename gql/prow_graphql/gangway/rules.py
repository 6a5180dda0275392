"""Gangway's messages, status codes and validation rules (its messages, word for word).

Pure: works on the messages generated from gangway.proto; raises `ApiError`s.
"""

from __future__ import annotations

import enum
import json
from typing import Any

from prow_graphql import errors
from prow_graphql.prow.objects import ProwJobState, ProwJobType
from prow_graphql.prow.prowjob import is_valid_label_value
from prow_graphql.service import NotAbortable

Message = Any  # a protobuf message of the generated gangway_pb2 module (untyped)


class Code(enum.IntEnum):
    """gRPC status codes."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


# grpc-gateway's HTTPStatusFromCode.
HTTP_STATUS = {
    Code.OK: 200,
    Code.CANCELLED: 499,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
    Code.UNAUTHENTICATED: 401,
}


class ApiError(Exception):
    """A failed call: a gRPC code and gangway's message."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# JobExecutionType / JobExecutionStatus numbers (gangway.proto) ↔ the CRD's values.
TYPES = {
    1: ProwJobType.PERIODIC,
    2: ProwJobType.POSTSUBMIT,
    3: ProwJobType.PRESUBMIT,
    4: ProwJobType.BATCH,
}
TYPE_NUMBERS = {kind: number for number, kind in TYPES.items()}
STATES = {
    1: ProwJobState.TRIGGERED,
    2: ProwJobState.PENDING,
    3: ProwJobState.SUCCESS,
    4: ProwJobState.FAILURE,
    5: ProwJobState.ABORTED,
    6: ProwJobState.ERROR,
    7: ProwJobState.SCHEDULING,
}
STATE_NUMBERS = {state: number for number, state in STATES.items()}
ENUM_NAMES = {
    0: "JOB_EXECUTION_TYPE_UNSPECIFIED",
    1: "PERIODIC",
    2: "POSTSUBMIT",
    3: "PRESUBMIT",
    4: "BATCH",
}


def quote(value: str) -> str:
    """Go's %q for the messages gangway writes."""
    return json.dumps(value)


def validate_create(req: Message) -> None:
    """Gangway's CreateJobExecutionRequest.Validate, with its messages (InvalidArgument)."""
    kind = req.job_execution_type
    if not req.job_name:
        raise ApiError(Code.INVALID_ARGUMENT, "job_name field cannot be empty")
    if kind == 0:
        raise ApiError(
            Code.INVALID_ARGUMENT, "unsupported JobExecutionType: JOB_EXECUTION_TYPE_UNSPECIFIED"
        )
    has_refs = req.HasField("refs")
    if kind == 1 and has_refs:
        raise ApiError(Code.INVALID_ARGUMENT, "periodic jobs cannot also have gitRefs")
    if kind != 1:
        name = ENUM_NAMES.get(kind, str(kind))
        if not has_refs:
            raise ApiError(Code.INVALID_ARGUMENT, f"gitRefs must be defined for {quote(name)}")
        refs = req.refs
        for field, label in (
            ("org", "Org"),
            ("repo", "Repo"),
            ("base_ref", "BaseRef"),
            ("base_sha", "BaseSha"),
        ):
            if not getattr(refs, field):
                raise ApiError(
                    Code.INVALID_ARGUMENT,
                    f"gitRefs: failed to validate: gitRefs: {label} cannot be empty",
                )
        for pull in refs.pulls:
            if len(pull.sha) != 40 or any(c not in "0123456789abcdef" for c in pull.sha):
                raise ApiError(
                    Code.INVALID_ARGUMENT,
                    f"gitRefs: failed to validate: pull: invalid SHA: {quote(pull.sha)}",
                )
    options = req.pod_spec_options
    for what, values in (
        ("environment variable", options.envs),
        ("label", options.labels),
        ("annotation", options.annotations),
    ):
        for key, value in values.items():
            if not key or not value:
                raise ApiError(
                    Code.INVALID_ARGUMENT,
                    f"invalid {what} key/value pair: {quote(key)}, {quote(value)}",
                )
            if what == "label" and not is_valid_label_value(value):
                raise ApiError(
                    Code.INVALID_ARGUMENT,
                    f"invalid label: the following errors found: {quote(value)} must be at most 63 "
                    "characters: alphanumerics, '-', '_' or '.', starting and ending with an "
                    "alphanumeric",
                )


def validate_bulk(req: Message) -> None:
    """Gangway's BulkJobStatusChangeRequest.Validate (InvalidArgument)."""
    change = req.job_status_change
    if change.current == 0:
        raise ApiError(Code.INVALID_ARGUMENT, "current status is unspecified")
    if change.desired == 0:
        raise ApiError(Code.INVALID_ARGUMENT, "desired status is unspecified")
    for field in ("started_after", "started_before"):
        if req.HasField(field):
            stamp = getattr(req, field)
            # Timestamp.CheckValid: 0001-01-01 to 9999-12-31, nanos in [0, 1e9).
            if not -62135596800 <= stamp.seconds <= 253402300799 or not 0 <= stamp.nanos < 10**9:
                raise ApiError(Code.INVALID_ARGUMENT, f"{field} field is invalid")


def api_error(exc: errors.GatewayError) -> ApiError:
    """The service's errors as gangway's codes (lookup failures: Unknown, as gangway)."""
    message = exc.message
    if isinstance(exc, errors.InvalidInput):
        return ApiError(Code.INVALID_ARGUMENT, f"{exc.field}: {exc.reason}")
    if isinstance(exc, errors.JobNotFound | errors.AmbiguousJob):
        return ApiError(Code.UNKNOWN, message)
    if isinstance(exc, errors.ProwJobNotFound | errors.ObjectNotFound):
        return ApiError(Code.NOT_FOUND, message)
    if isinstance(exc, errors.Unauthenticated):
        return ApiError(Code.UNAUTHENTICATED, message)
    if isinstance(exc, errors.PermissionDenied):
        return ApiError(Code.PERMISSION_DENIED, message)
    if isinstance(exc, NotAbortable):
        return ApiError(Code.FAILED_PRECONDITION, message)
    if isinstance(exc, errors.UserError):
        return ApiError(Code.INVALID_ARGUMENT, message)
    if isinstance(exc, errors.BackendError):
        return ApiError(Code.UNAVAILABLE, message)
    return ApiError(Code.INTERNAL, message)
