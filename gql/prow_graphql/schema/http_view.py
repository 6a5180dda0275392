"""GraphQL over HTTP as its specification words it, on top of Strawberry's ASGI view.

Strawberry answers every result as `application/json` with 200, renders its own refusals as
`text/plain`, and refuses a mutation over GET with a 400. The GraphQL-over-HTTP spec asks for:
- content negotiation: `application/graphql-response+json` when the client prefers it, and then
  a 400 for request errors (parse, validation, variable coercion), whose body has no `data`;
- a JSON body (`{"errors": [...]}`) for every refusal, so clients and GraphiQL can show it;
- 405 with `Allow` for a method or operation the endpoint does not take that way.
A subscription sent without a streaming `Accept` gets a 400 that names the transports that carry
subscriptions, instead of being executed as a query (which can only fail).
This module must not change what a result contains beyond the spec's `data` rule.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from prow_graphql.schema.context import GraphQLContext

log = logging.getLogger(__name__)

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
STREAMING_HINT = (
    "subscriptions need a streaming transport: a WebSocket to this URL (graphql-transport-ws "
    "or graphql-ws), Server-Sent Events (POST with 'Accept: text/event-stream'), or multipart "
    "HTTP ('Accept: multipart/mixed;subscriptionSpec=1.0')"
)
_REQUEST_ERROR = "prow_graphql_request_error"


class HTTPError(HTTPException):
    """A refusal with extra response headers (e.g. `Allow` on a 405)."""

    def __init__(self, status_code: int, reason: str, headers: dict[str, str]) -> None:
        super().__init__(status_code, reason)
        self.headers = headers


def negotiate(accept: str | None) -> str:
    """The media type to answer with: the supported type the client ranks highest.

    No `Accept`, or one naming neither type, gets `application/json` (the spec allows ignoring
    an unsatisfiable header, and legacy clients send `*/*` or nothing). Ties go to the type
    listed first, as clients list the one they prefer first.
    """
    best, best_q = JSON, -1.0
    for part in (accept or "").split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        if media == "*/*" or media == "application/*":
            media = JSON
        if media not in (JSON, GRAPHQL_RESPONSE_JSON):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q and q > 0:
            best, best_q = media, q
    return best


def is_request_error(result: ExecutionResult) -> bool:
    """Whether execution never started: no data, and no error belongs to a field."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


def error_response(status: int, message: str, media_type: str, headers: dict[str, str]) -> Response:
    """A refusal as a GraphQL response body."""
    body = {"errors": [{"message": message, "extensions": {"code": _code(status)}}]}
    return Response(json.dumps(body), status_code=status, media_type=media_type, headers=headers)


def _code(status: int) -> str:
    codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}
    if status >= 500:
        return "INTERNAL_SERVER_ERROR"
    return codes.get(status, "BAD_REQUEST")


class GraphQLOverHTTP(GraphQL[GraphQLContext, None]):
    """Strawberry's ASGI view with the spec's negotiation, status codes and error bodies."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        media_type = negotiate(request.headers.get("accept"))
        try:
            response = await self.run(request)
        except HTTPException as exc:
            headers = getattr(exc, "headers", {})
            response = error_response(exc.status_code, exc.reason, media_type, headers)
        except Exception:
            request_id = scope.get("state", {}).get("request_id", "")
            log.exception("unexpected error serving /graphql (request %s)", request_id)
            message = f"internal error; quote request id {request_id} when reporting it"
            response = error_response(500, message, media_type, {})
        else:
            _negotiated(response, media_type, bool(scope.get("state", {}).get(_REQUEST_ERROR)))
        await response(scope, receive, send)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        if is_request_error(result):
            # GraphQL spec: an error raised before execution begins leaves no `data` entry.
            processed.pop("data", None)
            request.scope.setdefault("state", {})[_REQUEST_ERROR] = True
        return processed

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: GraphQLContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # Strawberry's own steps, except that a subscription is not executed as a single
        # result (it could only fail) and a mutation over GET is a 405.
        method = request_adapter.method
        if not isinstance(request_data.operation_name, str | None):
            # Strawberry passes any JSON value on; caches keyed by the name would fail on it.
            raise HTTPException(400, "operationName must be a string or null")
        allowed = (
            {OperationType.QUERY}
            if method == "GET"
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(400, STREAMING_HINT) from exc
            reason = exc.as_http_error_reason(method)
            raise HTTPError(405, reason, {"Allow": "POST"}) from exc
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request") from exc

    def is_request_allowed(self, request: Any) -> bool:
        # Strawberry answers other methods with a 405 that has no `Allow`; ours has one.
        if request.method in ("GET", "POST"):
            return True
        raise HTTPError(405, "GraphQL takes GET and POST requests", {"Allow": "GET, POST"})


def _negotiated(response: Response, media_type: str, request_error: bool) -> None:
    """Give a JSON result the negotiated type, and a request error its 400 where the spec says."""
    if response.headers.get("content-type") != JSON:
        return  # a stream (SSE, multipart) or a page: not a single GraphQL response
    if media_type == GRAPHQL_RESPONSE_JSON:
        response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
        if request_error and response.status_code == 200:
            response.status_code = 400
