"""`POST /manual-trigger`: the REST contract of the older manual-trigger service, on our service.

Reads the old fields from a JSON body and/or URL query parameters, validates them with the old
messages, calls `GatewayService.trigger` (the one trigger path), waits on the informer for the
BuildID (never polling), and answers in the old shape plus a few extra fields. Builds no ProwJobs
and touches no store itself.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Protocol

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from prow_graphql import errors
from prow_graphql.identity import ANONYMOUS, Identity
from prow_graphql.metrics import Outcome
from prow_graphql.prow.objects import ProwJobRecord
from prow_graphql.prow.visibility import caller_hidden_repos
from prow_graphql.rest_fields import (
    PULL_REQUEST_MESSAGE,
    ManualTrigger,
    MissingFields,
    merge_inputs,
    parse_fields,
)
from prow_graphql.service import GatewayService, TriggerOutcome
from prow_graphql.settings import Settings

log = logging.getLogger(__name__)

PATH = "/manual-trigger"
MISSING_MESSAGE = "Missing required fields: org, repo, base_ref, prowtype, prowjob"
SUCCESS_MESSAGE = "ProwJob created successfully"
DRY_RUN_MESSAGE = "Dry run: ProwJob built but not created"
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


class BodyTooLarge(errors.UserError):
    """The request body exceeds --max-body-bytes."""


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
        # The caller's visibility, once per request: a job hidden from them is "not found".
        deck = service.config.index.config.deck
        group = settings.protections.hidden_jobs_group
        hidden = caller_hidden_repos(identity, group, deck.hidden_repos)
        request = manual.to_request(dry_run=settings.dry_run)
        outcome = await service.trigger(request, identity, hidden_repos=hidden)
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
