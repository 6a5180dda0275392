"""`POST /manual-trigger`: the REST contract of the older manual-trigger service, on our service.

Reads the old fields from a JSON body and/or URL query parameters, validates them with the old
messages, calls `GatewayService.trigger` (the one trigger path), waits on the informer for the
BuildID (never polling), and answers in the old shape plus a few extra fields. Builds no ProwJobs
and touches no store itself.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from prow_graphql import errors
from prow_graphql.identity import ANONYMOUS, Identity
from prow_graphql.metrics import Outcome
from prow_graphql.prow.objects import ProwJobRecord, ProwJobType
from prow_graphql.service import GatewayService, PullRequestInput, TriggerOutcome, TriggerRequest
from prow_graphql.settings import Settings

log = logging.getLogger(__name__)

PATH = "/manual-trigger"
REQUIRED_FIELDS = ("org", "repo", "base_ref", "prowtype", "prowjob")
OPTIONAL_FIELDS = ("pullrequest", "user")
MISSING_MESSAGE = "Missing required fields: org, repo, base_ref, prowtype, prowjob"
PULL_REQUEST_MESSAGE = (
    "Pull request number is required for presubmit jobs. Please provide 'pullrequest' parameter."
)
SUCCESS_MESSAGE = "ProwJob created successfully"
DRY_RUN_MESSAGE = "Dry run: ProwJob built but not created"
MAX_FIELD_LENGTH = 253
MAX_PULL_REQUEST = 2**31 - 1
# What to tell a caller whose body is unusable.
_SEND = "send a JSON object with org, repo, base_ref, prowtype, prowjob (or URL query parameters)"
_DIGITS = re.compile(r"[0-9]{1,10}")
_PROWTYPES = {"presubmit": ProwJobType.PRESUBMIT, "postsubmit": ProwJobType.POSTSUBMIT}
# Service and GraphQL field names → this endpoint's vocabulary.
_FIELD_NAMES = {
    "job": "prowjob",
    "type": "prowtype",
    "baseRef": "base_ref",
    "pull_request.number": "pullrequest",
    "pullRequest.number": "pullrequest",
    "baseSha": "base_sha",
    "pull_request.sha": "pull_sha",
    "pullRequest.sha": "pull_sha",
    "author": "user",
}
_OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE"]


class RestGateway(Protocol):
    """What the endpoint needs of `app.Gateway` (a Protocol, so this module needs no app)."""

    @property
    def service(self) -> GatewayService:
        """The running service."""
        ...

    @property
    def settings(self) -> Settings:
        """The server's settings."""
        ...


@dataclass(frozen=True, slots=True)
class ManualTrigger:
    """A validated /manual-trigger request, in the old service's terms."""

    org: str
    repo: str
    base_ref: str
    prowtype: ProwJobType
    prowjob: str
    pullrequest: int | None = None
    user: str = ""
    base_sha: str = ""
    pull_sha: str = ""

    def to_request(self, *, dry_run: bool) -> TriggerRequest:
        """The service request; the pull request is passed only when running as a presubmit."""
        pull = None
        if self.prowtype is ProwJobType.PRESUBMIT and self.pullrequest is not None:
            pull = PullRequestInput(number=self.pullrequest, sha=self.pull_sha)
        return TriggerRequest(
            org=self.org,
            repo=self.repo,
            job=self.prowjob,
            type=self.prowtype,
            base_ref=self.base_ref,
            base_sha=self.base_sha,
            pull_request=pull,
            author=self.user,
            dry_run=dry_run,
        )


class MissingFields(errors.InvalidInput):
    """One or more required fields are absent or empty; `missing` lists them in contract order."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(missing[0], "is required")
        self.missing = missing


class BodyTooLarge(errors.UserError):
    """The request body exceeds --max-body-bytes."""


def parse_fields(fields: Mapping[str, object]) -> ManualTrigger:
    """Validate the old contract's fields; raises `InvalidInput` (or `PullRequestRequired`)
    naming the field in the old vocabulary."""
    optional = ("user", "base_sha", "pull_sha")
    values = {name: _text(name, fields.get(name)) for name in (*REQUIRED_FIELDS, *optional)}
    missing = [name for name in REQUIRED_FIELDS if not values[name]]
    if missing:
        raise MissingFields(missing)
    prowtype = _PROWTYPES.get(values["prowtype"].lower())
    if prowtype is None:
        raise errors.InvalidInput(
            "prowtype", f"must be presubmit or postsubmit, not {values['prowtype']!r}"
        )
    pullrequest = _pull_request(fields.get("pullrequest"))
    if prowtype is ProwJobType.PRESUBMIT and pullrequest is None:
        raise errors.PullRequestRequired(PULL_REQUEST_MESSAGE)
    return ManualTrigger(
        org=values["org"],
        repo=values["repo"],
        base_ref=values["base_ref"],
        prowtype=prowtype,
        prowjob=values["prowjob"],
        pullrequest=pullrequest,
        user=values["user"],
        base_sha=values["base_sha"],
        pull_sha=values["pull_sha"],
    )


def _text(name: str, value: object) -> str:
    """A string field, stripped; "" when absent or null."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise errors.InvalidInput(name, f"must be a string, not {_json_type(value)}")
    value = value.strip()
    if len(value) > MAX_FIELD_LENGTH:
        raise errors.InvalidInput(name, f"must be at most {MAX_FIELD_LENGTH} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a "\ud800" JSON escape
        raise errors.InvalidInput(name, "must be valid Unicode text") from exc
    if not value.isprintable():
        raise errors.InvalidInput(name, "must not contain control or separator characters")
    return value


def _pull_request(value: object) -> int | None:
    """The PR number: an integer or a string of digits; absent, null, "" and 0 mean none."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if _DIGITS.fullmatch(value) is None:
            shown = repr(value) if len(value) <= 40 and value.isprintable() else "other text"
            raise errors.InvalidInput(
                "pullrequest", f"must be a pull request number (an integer), not {shown}"
            )
        value = int(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.InvalidInput(
            "pullrequest", f"must be a pull request number (an integer), not {_json_type(value)}"
        )
    if value == 0:
        return None
    if not 0 < value <= MAX_PULL_REQUEST:
        raise errors.InvalidInput("pullrequest", f"must be between 1 and {MAX_PULL_REQUEST}")
    return value


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a string" if isinstance(value, str) else type(value).__name__


def merge_inputs(query: list[tuple[str, str]], body: bytes) -> dict[str, object]:
    """Query parameters overlaid by the JSON body's fields; raises InvalidInput for a body that
    is not a JSON object or a field given twice in the query string."""
    known = (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)
    fields: dict[str, object] = {}
    for key, value in query:
        if key in known:
            if key in fields:
                raise errors.InvalidInput(key, "is given more than once in the query string")
            fields[key] = value
    if body.strip():
        try:
            parsed = json.loads(body)
        except RecursionError as exc:
            raise errors.InvalidInput("body", f"is nested too deeply; {_SEND}") from exc
        except json.JSONDecodeError as exc:
            raise errors.InvalidInput(
                "body", f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                f"{_SEND}"
            ) from exc  # fmt: skip
        except ValueError as exc:  # not UTF-8/16/32, or an integer too long to convert
            raise errors.InvalidInput("body", f"is not valid JSON text; {_SEND}") from exc
        if not isinstance(parsed, dict):
            raise errors.InvalidInput("body", f"must be a JSON object, not {_json_type(parsed)}")
        # A null field counts as absent, so it does not hide a query parameter.
        fields.update((key, value) for key, value in parsed.items() if value is not None)
    return fields


def error_response(exc: errors.GatewayError, manual: ManualTrigger | None) -> JSONResponse:
    """The old `{"success": false, "message": ...}` shape, with an HTTP status per error type."""
    status = 400
    body: dict[str, Any] = {"success": False, "message": exc.message}
    if isinstance(exc, MissingFields):
        body["message"] = MISSING_MESSAGE
        body["missing"] = exc.missing
    elif isinstance(exc, errors.InvalidInput):
        field = _FIELD_NAMES.get(exc.field, exc.field)
        body["message"] = f"{field}: {exc.reason}"
        body["field"] = field
    elif isinstance(exc, errors.PullRequestRequired):
        body["message"] = PULL_REQUEST_MESSAGE
        body["field"] = "pullrequest"
    elif isinstance(exc, errors.JobNotFound):
        status = 404
        if manual is not None:
            body["message"] = (
                f"Job {manual.prowjob} not found in config for {manual.org}/{manual.repo}"
            )
        body["detail"] = exc.message
    elif isinstance(exc, errors.AmbiguousJob):
        status = 409
        body["candidates"] = exc.candidates
    elif isinstance(exc, errors.Unauthenticated):
        status = 401
    elif isinstance(exc, errors.PermissionDenied):
        status = 403
    elif isinstance(exc, BodyTooLarge):
        status = 413
    elif isinstance(exc, errors.InvalidProwJob):
        # The job's config builds a ProwJob the cluster refuses: the config must change.
        status = 422
        body["field"] = exc.causes[0].field if exc.causes else None
        body["api_message"] = exc.api_message
        body["source_file"] = exc.source_path
        body["retryable"] = False
    elif isinstance(exc, errors.BackendError):
        # The API server's own text stays in the log (see errors.backend_advice).
        log.warning("manual-trigger: backend failure: %r", exc)
        _, retryable, advice = errors.backend_advice(exc)
        status = 503 if retryable else 502
        body["message"] = advice
        body["retryable"] = retryable
    return JSONResponse(body, status_code=status)


def success_body(
    outcome: TriggerOutcome, record: ProwJobRecord, links: tuple[str | None, str | None]
) -> dict[str, Any]:
    """The old success shape, plus build_id, state, url, dry_run (and the ProwJob if dry)."""
    status_link, log_link = links
    body: dict[str, Any] = {
        "success": True,
        "message": DRY_RUN_MESSAGE if outcome.dry_run else SUCCESS_MESSAGE,
        "job_name": record.name,
        "status_link": status_link or "",
        "log_link": log_link or "",
        "build_id": record.build_id,
        "state": record.state.value,
        "url": record.url,
        "dry_run": outcome.dry_run,
    }
    if outcome.dry_run:
        body["prowjob"] = outcome.prowjob
    return body


def _outcome_label(status: int) -> Outcome:
    if status < 400:
        return Outcome.SUCCESS
    if status == 401:
        return Outcome.UNAUTHENTICATED
    if status == 403:
        return Outcome.FORBIDDEN
    if status in (405, 413):
        return Outcome.REJECTED
    return Outcome.USER_ERROR if status < 500 else Outcome.ERROR


class ManualTriggerEndpoint:
    """The handler of `POST /manual-trigger` for one gateway."""

    def __init__(self, gateway: RestGateway) -> None:
        self._gateway = gateway

    async def handle(self, request: Request) -> Response:
        """Answer one request and record its outcome and latency."""
        started = time.perf_counter()
        response = await self._handle(request)
        metrics = getattr(self._gateway, "metrics", None)
        if metrics is not None:
            metrics.observe_manual_trigger(
                _outcome_label(response.status_code), time.perf_counter() - started
            )
        return response

    async def _handle(self, request: Request) -> Response:
        if request.method != "POST":
            body = {"success": False, "message": f"use POST {PATH}"}
            return JSONResponse(body, status_code=405, headers={"Allow": "POST"})
        manual: ManualTrigger | None = None
        try:
            raw = await self._read_body(request)
            manual = parse_fields(merge_inputs(request.query_params.multi_items(), raw))
            return await self._trigger(manual, _identity(request))
        except errors.GatewayError as exc:
            return error_response(exc, manual)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is listening; nothing was created
        except Exception:
            # HttpGuard's bounded id: the caller's header is echoed only once checked.
            request_id = getattr(request.state, "request_id", "") or uuid.uuid4().hex
            log.exception("manual-trigger failed unexpectedly (request id %s)", request_id)
            body = {
                "success": False,
                "message": f"internal error; quote request id {request_id} when reporting it",
            }
            return JSONResponse(body, status_code=500)

    async def _read_body(self, request: Request) -> bytes:
        limit = self._gateway.settings.max_body_bytes
        too_large = BodyTooLarge(f"request body too large: at most {limit} bytes")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    async def _trigger(self, manual: ManualTrigger, identity: Identity) -> Response:
        settings = self._gateway.settings
        service = self._gateway.service
        outcome = await service.trigger(manual.to_request(dry_run=settings.dry_run), identity)
        record = outcome.record
        if not outcome.dry_run:
            log.info(
                "manual-trigger created ProwJob %s (job %s) for %s",
                record.name, record.job, identity.display,
            )  # fmt: skip
            if not record.build_id and settings.build_id_wait > 0:
                # A convenience for log_link, not a correctness bound: Prow may keep a job
                # triggered for longer (e.g. max_concurrency); we then answer without the ID.
                seen = await service.informer.wait_for(
                    record.name, _has_build_id_or_ended, settings.build_id_wait
                )
                record = seen or record
        return JSONResponse(success_body(outcome, record, service.links(record)))


def _has_build_id_or_ended(record: ProwJobRecord) -> bool:
    return bool(record.build_id) or record.is_final


def _identity(request: Request) -> Identity:
    """The identity the auth middleware put on the request (anonymous without one)."""
    identity = getattr(request.state, "identity", ANONYMOUS)
    return identity if isinstance(identity, Identity) else ANONYMOUS


def rest_routes(gateway: RestGateway) -> list[BaseRoute]:
    """The REST routes to mount on the app: `/manual-trigger`."""
    endpoint = ManualTriggerEndpoint(gateway)
    return [Route(PATH, endpoint.handle, methods=["POST", *_OTHER_METHODS])]
