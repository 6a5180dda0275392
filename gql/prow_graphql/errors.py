"""One error tree for the whole package.

GatewayError
├── ConfigError              a Prow config file could not be loaded (names file, job, fix)
├── UserError                the caller asked for something wrong; safe to show verbatim
│   ├── InvalidInput         a field's value is wrong (names the field and the fix)
│   ├── JobNotFound          no configured job matches (type, org/repo, name, base_ref)
│   ├── AmbiguousJob         several configured jobs match
│   ├── PullRequestRequired  a presubmit run needs a pull request number
│   ├── ProwJobNotFound      no ProwJob with that name
│   ├── PermissionDenied     the identity may not do this
│   ├── InvalidProwJob       the cluster's CRD refused the ProwJob a configured job builds
│   └── ResyncRequired       a live feed's client fell too far behind; subscribe again
└── BackendError             the store (Kubernetes API or memory) failed; `retryable` says
    │                        whether the same request may succeed later
    ├── ObjectNotFound       404
    ├── Conflict             409 (AlreadyExists, or a stale resourceVersion)
    ├── Gone                 410: the resourceVersion asked for is too old; list again
    ├── ObjectInvalid        422: the API server refused the object; `causes` name the fields
    ├── BackendForbidden     401/403 from the API server
    └── Unavailable          transport errors, 5xx, timeouts; retrying may help

Third-party exceptions are mapped into this tree at the edge (`raise ... from exc`).
"""

from __future__ import annotations

from dataclasses import dataclass


class GatewayError(Exception):
    """Root of every error this package raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(GatewayError):
    """A Prow configuration error; `path` and `job` say where, the message says what to fix."""

    def __init__(self, message: str, *, path: str | None = None, job: str | None = None) -> None:
        where = ", ".join(p for p in (path and f"file {path}", job and f"job {job!r}") if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.job = job


class UserError(GatewayError):
    """An expected failure caused by the request; its message is safe to show to the caller."""


class InvalidInput(UserError):
    """A request field is invalid; `field` is its dotted path in the request."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class JobNotFound(UserError):
    """No configured job matches the lookup key."""


class AmbiguousJob(UserError):
    """More than one configured job matches; `candidates` describes each one."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


class PullRequestRequired(UserError):
    """Running a job as a presubmit needs a pull request."""


class ProwJobNotFound(UserError):
    """No ProwJob with the given name exists."""


class PermissionDenied(UserError):
    """The caller's identity is not allowed to do this."""


class ResyncRequired(UserError):
    """A subscriber fell too far behind the live feed; it must subscribe again (with a snapshot)."""


class BackendError(GatewayError):
    """The ProwJob store failed."""

    retryable = False
    """True when the same request may succeed later (the failure is transient)."""


class ObjectNotFound(BackendError):
    """The store has no object with that name (HTTP 404)."""


class Conflict(BackendError):
    """The object already exists or changed meanwhile (HTTP 409)."""

    retryable = True


class Gone(BackendError):
    """The resourceVersion is no longer available (HTTP 410); the caller must list again."""

    retryable = True


@dataclass(frozen=True, slots=True)
class FieldCause:
    """One `details.causes[]` entry of a Kubernetes 422: the field path and what is wrong."""

    field: str
    message: str
    reason: str = ""


class ObjectInvalid(BackendError):
    """The API server refused the object (HTTP 422 Invalid); `causes` name each field."""

    def __init__(self, message: str, causes: tuple[FieldCause, ...] = ()) -> None:
        super().__init__(message)
        self.causes = causes


class BackendForbidden(BackendError):
    """The API server refused our credentials (HTTP 401/403)."""


class Unavailable(BackendError):
    """The store cannot be reached or answered with a server error; retrying may help."""

    retryable = True


class InvalidProwJob(UserError):
    """A configured job builds a ProwJob the cluster's ProwJob CRD refuses (HTTP 422).

    Retrying cannot help: the job's config (in `source_path`) or the gateway must change.
    `api_message` is the API server's own text; `causes` its field paths and messages.
    """

    def __init__(
        self, job: str, source_path: str, api_message: str, causes: tuple[FieldCause, ...]
    ) -> None:
        first = f"{causes[0].field}: {causes[0].message}" if causes else api_message
        where = f" (defined in {source_path})" if source_path else ""
        super().__init__(
            f"the Kubernetes API server refused the ProwJob built from job {job!r}{where}: "
            f"{first}; fix the job's config"
        )
        self.job = job
        self.source_path = source_path
        self.api_message = api_message
        self.causes = causes


class Unauthenticated(UserError):
    """The request carries no valid credentials (HTTP 401); the message says what to send."""


# (code, retryable, what the caller should do), most specific class first.
_KINDS: tuple[tuple[type[BackendError], str, bool, str], ...] = (
    (Unavailable, "BACKEND_UNAVAILABLE", True,
     "the Kubernetes API is unavailable; retry shortly"),
    (Gone, "BACKEND_GONE", True, "the watch cache is being refreshed; retry shortly"),
    (Conflict, "BACKEND_CONFLICT", True, "the ProwJob changed meanwhile; retry"),
    (BackendForbidden, "BACKEND_FORBIDDEN", False,
     "the Kubernetes API server refused the gateway's own credentials; an operator must grant "
     "its service account the verb on prowjobs.prow.k8s.io that the gateway's log names"),
    (ObjectNotFound, "BACKEND_NOT_FOUND", False, "the object no longer exists"),
)  # fmt: skip


def backend_advice(failure: BackendError) -> tuple[str, bool, str]:
    """(code, retryable, safe advice) for a store failure: the one table both typed GraphQL
    errors and mutation result types use."""
    for kind, code, retryable, advice in _KINDS:
        if isinstance(failure, kind):
            return code, retryable, advice
    return "BACKEND_ERROR", failure.retryable, "the ProwJob store failed; ask the operator"
