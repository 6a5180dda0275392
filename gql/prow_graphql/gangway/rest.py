"""Gangway's REST/JSON mapping (what grpc-gateway or Envoy transcoding serve), on the gateway.

`POST /v1/executions`, `GET /v1/executions/{id}`, `GET /v1/executions?job_name=&status=`,
`POST /v1/bulk-job-status-update`, and the extension `GET /v1/executions/{id}/watch` (server-sent
events). Bodies and query strings follow the proto3 JSON mapping (protobuf's own parser: enum
names or numbers, camelCase or proto field names, integers as strings); answers use the proto
field names, as OpenShift's Envoy does. Errors are grpc-gateway's `{"code", "message",
"details"}` with its HTTP statuses. Authentication already happened in HttpGuard.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from google.protobuf import json_format
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from prow_graphql.gangway.api import GangwayApi
from prow_graphql.gangway.rules import HTTP_STATUS, ApiError, Code, Message
from prow_graphql.identity import ANONYMOUS, Identity
from prow_graphql.settings import AuthMode

log = logging.getLogger(__name__)

# Form bodies can be sent cross-site without a CORS preflight; with proxy auth (cookies) that
# would be a CSRF hole, so only JSON is accepted there. Bearer tokens are never ambient.
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


def to_json(message: Message) -> dict[str, Any]:
    """A message as proto3 JSON with the proto field names."""
    result: dict[str, Any] = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return result


def error_response(exc: ApiError) -> JSONResponse:
    """grpc-gateway's error body and HTTP status."""
    body = {"code": int(exc.code), "message": exc.message, "details": []}
    return JSONResponse(body, status_code=HTTP_STATUS[exc.code])


class GangwayRest:
    """The handlers of the /v1 routes."""

    def __init__(self, api: GangwayApi, auth: AuthMode, max_response_bytes: int) -> None:
        self._api = api
        self._auth = auth
        self._max_response_bytes = max_response_bytes

    def _answer(self, message: Message) -> Response:
        """The message as JSON, or RESOURCE_EXHAUSTED when it is over --max-response-bytes
        (the cap every GraphQL answer has; a REST answer must not escape it)."""
        body = json.dumps(to_json(message), separators=(",", ":")).encode()
        limit = self._max_response_bytes
        if len(body) > limit:
            raise ApiError(
                Code.RESOURCE_EXHAUSTED,
                f"the response would be {len(body)} bytes, more than the maximum of {limit}; "
                "ask for a smaller page_size, or ask the operator to raise --max-response-bytes",
            )
        return Response(body, media_type="application/json")

    async def _guard(self, request: Request, method: str, call: Callable[[], Any]) -> Response:
        started = time.monotonic()
        code = Code.OK
        try:
            return await call()  # type: ignore[no-any-return]
        except ApiError as exc:
            code = exc.code
            return error_response(exc)
        except ClientDisconnect:
            code = Code.CANCELLED
            return Response(status_code=400)
        except Exception:
            code = Code.INTERNAL
            request_id = _request_id(request)
            log.exception("gangway request failed unexpectedly (request id %s)", request_id)
            return error_response(
                ApiError(Code.INTERNAL, f"internal error; quote request id {request_id}")
            )
        finally:
            self._api.observe("rest", method, code, time.monotonic() - started)

    async def _body(self, request: Request, message: Message) -> Message:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if self._auth is AuthMode.PROXY and content_type in _FORM_TYPES:
            raise ApiError(Code.INVALID_ARGUMENT, "send the body as Content-Type: application/json")
        raw = await request.body()
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except (ValueError, RecursionError) as exc:
            raise ApiError(Code.INVALID_ARGUMENT, f"the body is not valid JSON: {exc}") from exc
        return _parse(parsed, message)

    async def create(self, request: Request) -> Response:
        """POST /v1/executions"""

        async def call() -> Response:
            req = await self._body(request, self._api.pb.CreateJobExecutionRequest())
            return self._answer(await self._api.create(req, _identity(request)))

        return await self._guard(request, "CreateJobExecution", call)

    async def get(self, request: Request) -> Response:
        """GET /v1/executions/{id}"""

        async def call() -> Response:
            return self._answer(await self._api.get(request.path_params["id"], _identity(request)))

        return await self._guard(request, "GetJobExecution", call)

    async def list(self, request: Request) -> Response:
        """GET /v1/executions?job_name=&status= (extension: page_size, page_token)"""

        async def call() -> Response:
            query: dict[str, Any] = {}
            for key, value in request.query_params.multi_items():
                if key in query:
                    raise ApiError(Code.INVALID_ARGUMENT, f"{key} is given more than once")
                query[key] = value
            req = self._api.pb.ListJobExecutionsRequest()
            # grpc-gateway ignores unknown query parameters but refuses unknown enum names.
            known = {n for f in req.DESCRIPTOR.fields for n in (f.name, f.json_name)}
            req = _parse({k: v for k, v in query.items() if k in known}, req, strict=True)
            return self._answer(self._api.list(req, _identity(request)))

        return await self._guard(request, "ListJobExecutions", call)

    async def bulk(self, request: Request) -> Response:
        """POST /v1/bulk-job-status-update: answers `{}` (google.protobuf.Empty)."""

        async def call() -> Response:
            req = await self._body(request, self._api.pb.BulkJobStatusChangeRequest())
            await self._api.bulk(req, _identity(request))
            return JSONResponse({})

        return await self._guard(request, "BulkJobStatusChange", call)

    async def watch(self, request: Request) -> Response:
        """Extension: GET /v1/executions/{id}/watch as text/event-stream, one `execution`
        event per visible change; an `error` event with the grpc-gateway body if it fails."""
        name = request.path_params["id"]
        peer = request.client.host if request.client else None
        started = time.monotonic()
        updates = self._api.watch(name, _identity(request), peer)
        try:  # fail before the 200 when the job does not exist
            first = await anext(updates)
        except StopAsyncIteration:
            first = None
        except ApiError as exc:
            await updates.aclose()
            self._api.observe("rest", "WatchJobExecution", exc.code, time.monotonic() - started)
            return error_response(exc)
        self._api.observe("rest", "WatchJobExecution", Code.OK, time.monotonic() - started)

        async def events() -> AsyncIterator[str]:
            try:
                if first is not None:
                    yield _event("execution", to_json(first))
                async for update in updates:
                    yield _event("execution", to_json(update))
            except ApiError as exc:
                yield _event("error", {"code": int(exc.code), "message": exc.message})
            finally:
                await updates.aclose()

        headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _parse(data: object, message: Message, *, strict: bool = False) -> Message:
    """Proto3 JSON into `message`; unknown fields (and so unknown enum names, as protojson's
    DiscardUnknown does) are dropped unless `strict`."""
    if not isinstance(data, dict):
        raise ApiError(Code.INVALID_ARGUMENT, "the body must be a JSON object")
    try:
        json_format.ParseDict(data, message, ignore_unknown_fields=not strict)
    except (json_format.ParseError, RecursionError) as exc:
        raise ApiError(Code.INVALID_ARGUMENT, str(exc)) from exc
    return message


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _identity(request: Request) -> Identity:
    identity = getattr(request.state, "identity", ANONYMOUS)
    return identity if isinstance(identity, Identity) else ANONYMOUS


def _request_id(request: Request) -> str:
    """HttpGuard's bounded request id: a caller's x-request-id is never echoed unchecked."""
    request_id = getattr(request.state, "request_id", None)
    return request_id if isinstance(request_id, str) and request_id else uuid.uuid4().hex


def gangway_routes(api: GangwayApi, auth: AuthMode, max_response_bytes: int) -> list[BaseRoute]:
    """The /v1 routes to mount on the app."""
    rest = GangwayRest(api, auth, max_response_bytes)
    return [
        Route("/v1/executions", rest.create, methods=["POST"]),
        Route("/v1/executions", rest.list, methods=["GET"]),
        Route("/v1/executions/{id}/watch", rest.watch, methods=["GET"]),
        Route("/v1/executions/{id}", rest.get, methods=["GET"]),
        Route("/v1/bulk-job-status-update", rest.bulk, methods=["POST"]),
    ]
