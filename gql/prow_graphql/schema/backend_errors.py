"""Backend failures as typed GraphQL errors: a code, whether retrying may help, a safe message.

A failing Kubernetes API is not the caller's fault, but neither is it an unexpected bug: the
caller needs to know whether to retry. The store's own message (URLs, API server text) stays in
the log, never in the answer.
"""

from __future__ import annotations

from graphql import GraphQLError

from prow_graphql import errors


def type_backend_error(error: GraphQLError) -> bool:
    """Give `error` a code, `retryable` and a safe message if it wraps a BackendError."""
    original = error.original_error
    if not isinstance(original, errors.BackendError):
        return False
    code, retryable, advice = errors.backend_advice(original)
    error.message = advice
    error.extensions = {**(error.extensions or {}), "code": code, "retryable": retryable}
    return True
