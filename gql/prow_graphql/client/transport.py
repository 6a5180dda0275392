"""GraphQL over HTTP (httpx) and graphql-transport-ws (websockets), with failures mapped to
`prow_graphql.client.errors` at this edge."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from prow_graphql.client.errors import AuthFailed, ServerError, Unreachable

JSONObject = dict[str, Any]

_AUTH_CLOSE_CODES = (4401, 4403)  # graphql-transport-ws: Unauthorized / Forbidden


def graphql_endpoint(url: str) -> str:
    """The GraphQL URL for a gateway's base URL (or its /graphql URL as given)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--url: {url!r} is not an http(s) URL, e.g. http://127.0.0.1:8080")
    path = parts.path.rstrip("/")
    if not path.endswith("/graphql"):
        path += "/graphql"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _error_messages(errors: list[Mapping[str, Any]]) -> str:
    return "; ".join(str(e.get("message", e)) for e in errors)


class GatewayClient:
    """One gateway's GraphQL endpoint; use as `async with GatewayClient(url, token) as c`."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.endpoint = graphql_endpoint(url)
        self._token = token
        self._timeout = timeout
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.AsyncClient(headers=headers, timeout=timeout)

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def execute(
        self, document: str, variables: Mapping[str, Any] | None = None
    ) -> JSONObject:
        """Run a query or mutation; returns `data`, or raises a ClientError."""
        try:
            response = await self._http.post(
                self.endpoint, json={"query": document, "variables": dict(variables or {})}
            )
        except httpx.TimeoutException as exc:
            raise Unreachable(f"{self.endpoint} did not answer within {self._timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"cannot reach {self.endpoint}: {exc or type(exc).__name__} "
                "(is the gateway running? check --url)"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code in (401, 403):
            reason = _snippet(response.text)
            if isinstance(body, dict) and body.get("errors"):
                reason = _error_messages(body["errors"])
            raise AuthFailed(
                f"{self.endpoint} refused the request (HTTP {response.status_code}): "
                f"{reason}; pass --token or set PROW_GRAPHQL_TOKEN"
            )
        if isinstance(body, dict) and body.get("errors"):
            raise ServerError(_error_messages(body["errors"]))
        if response.status_code != 200 or not isinstance(body, dict) or "data" not in body:
            raise Unreachable(
                f"{self.endpoint} is not a GraphQL endpoint (HTTP {response.status_code}: "
                f"{_snippet(response.text)})"
            )
        data: JSONObject = body["data"]
        return data

    async def subscribe(
        self, document: str, variables: Mapping[str, Any] | None = None
    ) -> AsyncIterator[JSONObject]:
        """Each `data` of a graphql-transport-ws subscription, until the server completes it."""
        url = _ws_url(self.endpoint)
        auth = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            async with connect(
                url,
                subprotocols=[Subprotocol("graphql-transport-ws")],
                additional_headers=auth,
                open_timeout=self._timeout,
            ) as ws:
                await _send(ws, {"type": "connection_init", "payload": auth})
                ack = await _receive(ws)
                if ack.get("type") != "connection_ack":
                    raise Unreachable(f"{url}: expected connection_ack, got {ack.get('type')!r}")
                subscribe = {"query": document, "variables": dict(variables or {})}
                await _send(ws, {"id": "1", "type": "subscribe", "payload": subscribe})
                while True:
                    message = await _receive(ws)
                    kind = message.get("type")
                    if kind == "next":
                        payload = message.get("payload") or {}
                        if payload.get("errors"):
                            raise ServerError(_error_messages(payload["errors"]))
                        yield payload.get("data") or {}
                    elif kind == "error":
                        raise ServerError(_error_messages(message.get("payload") or []))
                    elif kind == "complete":
                        return
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise AuthFailed(
                    f"{url} refused the WebSocket (HTTP {status}); "
                    "pass --token or set PROW_GRAPHQL_TOKEN"
                ) from exc
            raise Unreachable(f"{url} refused the WebSocket (HTTP {status})") from exc
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            reason = exc.rcvd.reason if exc.rcvd is not None else ""
            if code in _AUTH_CLOSE_CODES:
                raise AuthFailed(
                    f"{url}: {reason or 'unauthorized'} (close code {code}); "
                    "pass --token or set PROW_GRAPHQL_TOKEN"
                ) from exc
            raise Unreachable(
                f"{url}: connection lost ({reason or code or 'no close frame'})"
            ) from exc
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise Unreachable(
                f"cannot reach {url}: {exc or type(exc).__name__} (is the gateway running?)"
            ) from exc


def _ws_url(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


def _snippet(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


async def _send(ws: ClientConnection, message: JSONObject) -> None:
    await ws.send(json.dumps(message))


async def _receive(ws: ClientConnection) -> JSONObject:
    """The next protocol message, answering pings on the way."""
    while True:
        raw = await ws.recv()
        message = json.loads(raw)
        if not isinstance(message, dict):
            raise Unreachable(f"unexpected WebSocket message: {_snippet(str(raw))}")
        if message.get("type") == "ping":
            await _send(ws, {"type": "pong"})
            continue
        if message.get("type") != "pong":
            return message
