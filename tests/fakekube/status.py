"""`Status` objects exactly as the Kubernetes API server writes them for failures."""

from __future__ import annotations

from typing import Any

GROUP = "prow.k8s.io"
RESOURCE = "prowjobs"
QUALIFIED = f"{RESOURCE}.{GROUP}"

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """A failure the fake answers with a Status body and `code` as the HTTP status."""

    def __init__(self, status: dict[str, Any]) -> None:
        super().__init__(status["message"])
        self.status = status

    @property
    def code(self) -> int:
        return int(self.status["code"])


def status(
    code: int,
    message: str,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A failure Status; `reason` defaults to the one the API server uses for `code`."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or REASONS.get(code, "Unknown"),
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def _details(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "group": GROUP, "kind": RESOURCE, **extra}


def already_exists(name: str) -> ApiError:
    return ApiError(
        status(
            409,
            f'{QUALIFIED} "{name}" already exists',
            reason="AlreadyExists",
            details=_details(name),
        )
    )


def not_found(name: str) -> ApiError:
    return ApiError(status(404, f'{QUALIFIED} "{name}" not found', details=_details(name)))


def conflict(name: str) -> ApiError:
    message = (
        f'Operation cannot be fulfilled on {QUALIFIED} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    return ApiError(status(409, message, details=_details(name)))


def invalid(name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 Invalid; each cause is (field, message)."""
    text = ", ".join(f"{field}: {message}" for field, message in causes)
    details = _details(
        name,
        kind="ProwJob",
        causes=[
            {"reason": "FieldValueInvalid", "message": message, "field": field}
            for field, message in causes
        ],
    )
    return ApiError(status(422, f'ProwJob.{GROUP} "{name}" is invalid: {text}', details=details))


def invalid_causes(name: str, causes: list[dict[str, str]]) -> ApiError:
    """422 Invalid with the API server's causes ({reason, message, field}) and message form."""
    parts = [f"{c['field']}: {c['message']}" for c in causes]
    text = parts[0] if len(parts) == 1 else f"[{', '.join(parts)}]"
    details = _details(name, kind="ProwJob", causes=causes)
    return ApiError(status(422, f'ProwJob.{GROUP} "{name}" is invalid: {text}', details=details))


def bad_request(message: str) -> ApiError:
    return ApiError(status(400, message))


def too_old_resource_version(requested: int, floor: int) -> dict[str, Any]:
    """The Status carried by a watch ERROR event (and by HTTP 410) for an expired watch."""
    return status(410, f"too old resource version: {requested} ({floor})")


def too_large_resource_version(requested: int, current: int) -> ApiError:
    """What the API server answers (HTTP 504) for a watch from a version its cache has not
    reached (after an etcd restore, or from a lagging replica): clients must list again."""
    return ApiError(
        status(
            504,
            f"Too large resource version: {requested}, current: {current}",
            details={
                "causes": [
                    {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
                ],
                "retryAfterSeconds": 1,
            },
        )
    )


def expired_continue() -> ApiError:
    return ApiError(
        status(
            410,
            "The provided continue parameter is too old to display a consistent list result. "
            "You can start a new list without the continue parameter.",
        )
    )
