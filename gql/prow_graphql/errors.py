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
│   └── ResyncRequired       a live feed's client fell too far behind; subscribe again
└── BackendError             the store (Kubernetes API or memory) failed
    ├── ObjectNotFound       404
    ├── Conflict             409 (AlreadyExists, or a stale resourceVersion)
    ├── Gone                 410: the resourceVersion asked for is too old; list again
    ├── BackendForbidden     401/403 from the API server
    └── Unavailable          transport errors, 5xx, timeouts; retrying may help

Third-party exceptions are mapped into this tree at the edge (`raise ... from exc`).
"""

from __future__ import annotations


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


class ObjectNotFound(BackendError):
    """The store has no object with that name (HTTP 404)."""


class Conflict(BackendError):
    """The object already exists or changed meanwhile (HTTP 409)."""


class Gone(BackendError):
    """The resourceVersion is no longer available (HTTP 410); the caller must list again."""


class BackendForbidden(BackendError):
    """The API server refused our credentials (HTTP 401/403)."""


class Unavailable(BackendError):
    """The store cannot be reached or answered with a server error; retrying may help."""


class Unauthenticated(UserError):
    """The request carries no valid credentials (HTTP 401); the message says what to send."""
