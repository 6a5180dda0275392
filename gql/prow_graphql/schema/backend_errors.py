"""Backend failures as typed GraphQL errors: a code, whether retrying may help, a safe message.

A failing Kubernetes API is not the caller's fault, but neither is it an unexpected bug: the
caller needs to know whether to retry. The store's own message (URLs, API server text) stays in
the log, never in the answer.
"""

from __future__ import annotations

from graphql import GraphQLError

from prow_graphql import errors

# (code, retryable, what the caller should do), most specific class first.
_KINDS: tuple[tuple[type[errors.BackendError], str, bool, str], ...] = (
    (errors.Unavailable, "BACKEND_UNAVAILABLE", True,
     "the Kubernetes API is unavailable; retry shortly"),
    (errors.Gone, "BACKEND_GONE", True, "the watch cache is being refreshed; retry shortly"),
    (errors.Conflict, "BACKEND_CONFLICT", True, "the ProwJob changed meanwhile; retry"),
    (errors.BackendForbidden, "BACKEND_FORBIDDEN", False,
     "the gateway's Kubernetes credentials were refused; ask the operator"),
    (errors.ObjectNotFound, "BACKEND_NOT_FOUND", False, "the object no longer exists"),
)  # fmt: skip


def type_backend_error(error: GraphQLError) -> bool:
    """Give `error` a code, `retryable` and a safe message if it wraps a BackendError."""
    original = error.original_error
    if not isinstance(original, errors.BackendError):
        return False
    code, retryable, advice = "BACKEND_ERROR", False, "the ProwJob store failed; ask the operator"
    for kind, kind_code, kind_retryable, kind_advice in _KINDS:
        if isinstance(original, kind):
            code, retryable, advice = kind_code, kind_retryable, kind_advice
            break
    error.message = advice
    error.extensions = {**(error.extensions or {}), "code": code, "retryable": retryable}
    return True
