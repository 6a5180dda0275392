"""Kubernetes API failures as `prow_graphql.errors`: HTTP status codes, Status bodies, ApiException
and transport errors each map to the most specific BackendError. Maps only; never retries."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from prow_graphql.errors import (
    BackendError,
    BackendForbidden,
    Conflict,
    FieldCause,
    Gone,
    ObjectInvalid,
    ObjectNotFound,
    Unavailable,
)

# What a broken or silent connection raises (aiohttp, the socket, our timeouts).
TRANSPORT_ERRORS = (
    aiohttp.ClientError,
    aiohttp.http_exceptions.HttpProcessingError,
    TimeoutError,
    OSError,
)


def error_for_status(code: int | None, message: str) -> BackendError:
    """The most specific BackendError for an HTTP status code from the API server."""
    if code == 404:
        return ObjectNotFound(message)
    if code == 409:
        return Conflict(message)
    if code == 410:
        return Gone(message)
    if code == 504 and "too large resource version" in message.lower():
        # The server's watch cache is behind our version (a lagging replica, an etcd restore):
        # retrying from it can fail forever; like client-go, list again.
        return Gone(message)
    if code in (401, 403):
        return BackendForbidden(message)
    if code == 429 or (code is not None and code >= 500):
        return Unavailable(message)
    return BackendError(message)


def status_message(body: Any) -> str | None:
    """The `message` of a Kubernetes Status body (bytes, str or dict), if it is one."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return None


def api_error(what: str, exc: ApiException) -> BackendError:
    """The BackendError for an ApiException (422: ObjectInvalid naming the fields)."""
    message = status_message(exc.body) or str(exc.reason)
    if exc.status == 422:
        return ObjectInvalid(message, _status_causes(exc.body))
    return error_for_status(exc.status, f"{what}: {message} (HTTP {exc.status})")


def _status_causes(body: Any) -> tuple[FieldCause, ...]:
    """`details.causes` of a Kubernetes Status body: the fields a 422 names."""
    try:
        status = json.loads(body) if isinstance(body, bytes | str) else body
        causes = status["details"]["causes"]
        return tuple(
            FieldCause(str(c.get("field", "")), str(c.get("message", "")), str(c.get("reason", "")))
            for c in causes
            if isinstance(c, dict)
        )
    except (ValueError, KeyError, TypeError):
        return ()


def transport_error(what: str, exc: BaseException) -> Unavailable:
    """Unavailable for a connection that failed (one of TRANSPORT_ERRORS)."""
    detail = str(exc) or type(exc).__name__
    return Unavailable(f"{what}: Kubernetes API unreachable: {detail}")
