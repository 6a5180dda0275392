"""Schema extensions for operations: request metrics, and error masking that logs a request id."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from prow_graphql.errors import BackendError, Unauthenticated, UserError
from prow_graphql.metrics import Outcome
from prow_graphql.request_rules import echo
from prow_graphql.schema.backend_errors import type_backend_error

log = logging.getLogger(__name__)


class OperationMetrics(SchemaExtension):
    """Counts and times every operation by type, name and outcome."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        ctx = self.execution_context
        metrics = getattr(ctx.context, "metrics", None)
        if metrics is None:
            return
        try:
            op_type = ctx.operation_type.value if ctx.operation_type is not None else "unknown"
        except RuntimeError:  # the document did not parse, or names no such operation
            op_type = "unknown"
        metrics.observe_request(
            op_type, ctx.operation_name, _outcome(ctx), time.perf_counter() - started
        )


def _outcome(ctx: object) -> str:
    errors = getattr(ctx, "pre_execution_errors", None) or []
    result = getattr(ctx, "result", None)
    errors = list(errors) + list(getattr(result, "errors", None) or [])
    if not errors:
        typename = _result_typename(result)
        failed = typename is not None and not typename.endswith("Success")
        return Outcome.USER_ERROR if failed else Outcome.SUCCESS
    originals = [e.original_error for e in errors]
    if any(isinstance(o, Unauthenticated) for o in originals):
        return Outcome.UNAUTHENTICATED
    if all(o is None or isinstance(o, UserError) for o in originals):
        return Outcome.REJECTED if any(o is None for o in originals) else Outcome.USER_ERROR
    return Outcome.ERROR


def _result_typename(result: object) -> str | None:
    data = getattr(result, "data", None)
    if isinstance(data, dict) and len(data) == 1:
        value = next(iter(data.values()))
        if isinstance(value, dict):
            typename = value.get("__typename")
            return typename if isinstance(typename, str) else None
    return None


class MaskUnexpectedErrors(MaskErrors):
    """MaskErrors that logs each masked error once with the request id, for correlation."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=self._should_mask, error_message="Unexpected error.")

    def _should_mask(self, error: GraphQLError) -> bool:
        original = error.original_error
        if original is None or isinstance(original, (*CLIENT_FAULTS, BackendError)):
            return False  # BackendErrors are typed by log_errors instead
        request_id = getattr(self.execution_context.context, "request_id", "")
        log.error(
            "unexpected error at %s (request %s): %r",
            ".".join(map(str, error.path or [])) or "operation",
            request_id,
            original,
            exc_info=original,
            extra={"request_id": request_id},
        )
        return True


MAX_MESSAGE = 1000
# Exceptions that mean the request was wrong (Strawberry raises the last three for documents
# that name no runnable operation): shown as they are, logged at INFO.
CLIENT_FAULTS = (UserError, CannotGetOperationTypeError, InvalidOperationTypeError,
                 MissingQueryError)  # fmt: skip


def log_errors(errors: list[GraphQLError], request_id: str = "-") -> None:
    """Log each error of an operation at a level that matches whose fault it is, and bound
    its message.

    Client mistakes (syntax, validation, limits, UserError) are INFO, cut to a bounded length:
    a stream of bad requests must not flood ERROR nor echo megabytes of caller text. Anything
    else is a server fault: ERROR with its traceback.
    """
    for error in errors:
        # Messages echo caller text (an unknown 200 KB field name): answer with a bounded one.
        error.message = echo(error.message, MAX_MESSAGE)
        original = error.original_error
        if isinstance(original, BackendError):
            log.warning("backend failure (request %s): %r", request_id, original,
                        extra={"request_id": request_id})  # fmt: skip
            type_backend_error(error)
        elif original is None or isinstance(original, CLIENT_FAULTS):
            log.info("rejected operation (request %s): %s", request_id, echo(str(error.message)),
                     extra={"request_id": request_id})  # fmt: skip
        else:
            log.error("operation failed (request %s): %s", request_id, echo(error.message),
                      exc_info=original, extra={"request_id": request_id})  # fmt: skip
