"""The fake kube-apiserver as a raw ASGI app: auth, routing, fault injection, watch streams.

Raw ASGI rather than Starlette routes because the watch stream must be controlled byte by byte
(headers flushed at once, one JSON document per line, a clean terminating chunk on timeout, and an
abrupt connection drop when a test cuts the stream).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from . import status as st
from .pod_logs import LOG_PATH, FakePodLogs
from .state import API_VERSION, FakeKubeState, Obj, Watcher

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MERGE_PATCH = "application/merge-patch+json"
_KNOWN_PATCH_TYPES = (
    "application/json-patch+json",
    MERGE_PATCH,
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
_RESOURCE = re.compile(
    r"^/apis/prow\.k8s\.io/v1/namespaces/(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)/prowjobs"
    r"(?:/(?P<name>[^/]+))?/?$"
)
_TRUE = frozenset({"1", "t", "true", "y", "yes"})
DEFAULT_WATCH_TIMEOUT = 1800.0
"""Used when a watch names no timeoutSeconds (the real server picks 30-60 minutes)."""

VERSION_INFO = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-fakekube",
    "platform": "linux/amd64",
}
_RESOURCE_LIST = {
    "kind": "APIResourceList",
    "apiVersion": "v1",
    "groupVersion": API_VERSION,
    "resources": [
        {
            "name": "prowjobs",
            "singularName": "prowjob",
            "namespaced": True,
            "kind": "ProwJob",
            "verbs": ["delete", "get", "list", "patch", "create", "update", "watch"],
        }
    ],
}
_GROUP = {
    "name": "prow.k8s.io",
    "versions": [{"groupVersion": API_VERSION, "version": "v1"}],
    "preferredVersion": {"groupVersion": API_VERSION, "version": "v1"},
}


class StreamCut(Exception):
    """Raised inside a watch response so uvicorn drops the connection mid-stream."""


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """What a client sent, for tests that assert on the wire (verb is None for non-API paths)."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str | None
    verb: str | None


@dataclass
class Faults:
    """Injected misbehaviour, changed by the server's fault API while requests are in flight."""

    delay: float = 0.0
    fail_remaining: int = 0
    fail_status: int = 500
    fail_verb: str | None = None
    cut_lists: int = 0  # the next lists send half their body, then drop the connection


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in _TRUE


def _json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


class FakeKubeApp:
    """ASGI callable serving prowjobs.prow.k8s.io/v1 from a FakeKubeState."""

    def __init__(
        self,
        state: FakeKubeState,
        *,
        token: str,
        bookmark_interval: float | None = 60.0,
        record_limit: int = 10_000,
    ) -> None:
        self.state = state
        self.token = token
        self.bookmark_interval = bookmark_interval
        self.faults = Faults()
        self.counts: collections.Counter[str] = collections.Counter()
        self.requests: collections.deque[RecordedRequest] = collections.deque(maxlen=record_limit)
        self.pod_logs = FakePodLogs()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        method: str = scope["method"]
        path: str = scope["path"]
        query = dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        match = _RESOURCE.match(path)
        verb = (
            _verb(method, match is not None and match["name"] is not None, query) if match else None
        )
        self.requests.append(
            RecordedRequest(method, path, query, headers.get("content-type"), verb)
        )

        if path in ("/version", "/version/"):
            return await _respond(send, 200, VERSION_INFO)
        if path in ("/healthz", "/livez", "/readyz"):
            return await _respond_text(send, 200, b"ok")
        if headers.get("authorization") != f"Bearer {self.token}":
            return await _respond(send, 401, st.status(401, "Unauthorized"))
        self.counts[verb or "discovery"] += 1
        if self.faults.delay > 0:
            await asyncio.sleep(self.faults.delay)
        if self._take_fault(verb):
            code = self.faults.fail_status
            return await _respond(send, code, st.status(code, f"fakekube: injected {code}"))
        if log := LOG_PATH.match(path):
            return await self.pod_logs.serve(log["ns"], log["pod"], query, receive, send)
        if match is None:
            return await self._discovery(path, send)
        namespace, name = match["ns"], match["name"]
        try:
            if verb == "watch":
                return await self._watch(namespace, query, receive, send)
            code, result = self._dispatch(verb, namespace, name, body, query, headers)
        except st.ApiError as exc:
            return await _respond(send, exc.code, exc.status)
        if verb == "list" and self.faults.cut_lists > 0:
            self.faults.cut_lists -= 1
            payload = _json(result)
            await _start_stream(send)
            await send(
                {
                    "type": "http.response.body",
                    "body": payload[: len(payload) // 2],
                    "more_body": True,
                }
            )
            raise StreamCut("fakekube: list body cut")
        await _respond(send, code, result)

    def _take_fault(self, verb: str | None) -> bool:
        faults = self.faults
        if faults.fail_remaining <= 0 or (faults.fail_verb and faults.fail_verb != verb):
            return False
        faults.fail_remaining -= 1
        return True

    def _dispatch(
        self,
        verb: str | None,
        namespace: str,
        name: str | None,
        body: bytes,
        query: dict[str, str],
        headers: dict[str, str],
    ) -> tuple[int, Obj]:
        state = self.state
        if verb == "list":
            limit = _int(query.get("limit"), "limit")
            from_cache = query.get("resourceVersion") == "0" and not query.get("continue")
            if from_cache:
                limit = None  # served whole from the watch cache, as the real one does
            page = state.list_objects(
                namespace,
                label_selector=query.get("labelSelector"),
                limit=limit,
                continue_token=query.get("continue") or None,
            )
            if from_cache:
                # The real watch cache answers in its map's order, not by name.
                random.Random(page["metadata"]["resourceVersion"]).shuffle(page["items"])
            return 200, page
        if verb == "create":
            return 201, state.create(namespace, _parse(body))
        assert name is not None
        if verb == "get":
            return 200, state.get(namespace, name)
        if verb == "delete":
            return 200, state.delete(namespace, name)
        if verb == "update":
            return 200, state.replace(namespace, name, _parse(body))
        if verb == "patch":
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != MERGE_PATCH:
                raise _unsupported_patch(content_type)
            return 200, state.merge_patch(namespace, name, _parse(body))
        raise st.ApiError(st.status(405, f"the server does not allow this method: {verb}"))

    async def _discovery(self, path: str, send: Send) -> None:
        documents: dict[str, Obj] = {
            "/api": {"kind": "APIVersions", "versions": ["v1"]},
            "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_GROUP]},
            "/apis/prow.k8s.io": {"kind": "APIGroup", "apiVersion": "v1", **_GROUP},
            "/apis/prow.k8s.io/v1": _RESOURCE_LIST,
        }
        document = documents.get(path.rstrip("/"))
        if document is None:
            not_found = st.status(
                404, "the server could not find the requested resource", details={}
            )
            return await _respond(send, 404, not_found)
        await _respond(send, 200, document)

    async def _watch(
        self, namespace: str, query: dict[str, str], receive: Receive, send: Send
    ) -> None:
        """A chunked stream of JSON lines; 410 answers as an ERROR event inside HTTP 200."""
        timeout = _int(query.get("timeoutSeconds"), "timeoutSeconds")
        try:
            watcher = self.state.open_watch(
                namespace,
                resource_version=query.get("resourceVersion"),
                label_selector=query.get("labelSelector"),
                bookmarks=_truthy(query.get("allowWatchBookmarks")),
            )
        except st.ApiError as exc:
            if exc.code != 410:
                raise
            await _start_stream(send)
            await _send_line(send, {"type": "ERROR", "object": exc.status})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        loop = asyncio.get_running_loop()
        handles: list[asyncio.TimerHandle] = []
        seconds = float(timeout) if timeout and timeout > 0 else DEFAULT_WATCH_TIMEOUT
        handles.append(loop.call_later(seconds, watcher.queue.put_nowait, ("end", None)))
        if watcher.bookmarks and self.bookmark_interval:
            handles.append(self._schedule_bookmarks(watcher, handles))
        disconnect = asyncio.create_task(_await_disconnect(receive, watcher))
        try:
            await _start_stream(send)
            while True:
                kind, payload = await watcher.queue.get()
                if kind == "cut":
                    raise StreamCut("fakekube: watch stream cut")
                if kind == "disconnect":
                    return
                if watcher.stalled:
                    continue
                if kind == "end":
                    break
                assert payload is not None
                if payload["type"] != "ERROR":
                    watcher.last_rv = int(payload["object"]["metadata"]["resourceVersion"])
                await _send_line(send, payload)
        finally:
            self.state.close_watch(watcher)
            for handle in handles:
                handle.cancel()
            disconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await disconnect
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _schedule_bookmarks(
        self, watcher: Watcher, handles: list[asyncio.TimerHandle]
    ) -> asyncio.TimerHandle:
        assert self.bookmark_interval
        interval = self.bookmark_interval

        def tick() -> None:
            watcher.queue.put_nowait(("event", self.state.bookmark()))
            handles.append(asyncio.get_running_loop().call_later(interval, tick))

        return asyncio.get_running_loop().call_later(interval, tick)


def _verb(method: str, has_name: bool, query: dict[str, str]) -> str:
    if method == "GET":
        if has_name:
            return "get"
        return "watch" if _truthy(query.get("watch")) else "list"
    if method == "POST" and not has_name:
        return "create"
    return {"PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(method, method.lower())


def _int(value: str | None, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError as exc:
        raise st.bad_request(f"{field}: Invalid value: {value!r}") from exc


def _parse(body: bytes) -> Any:
    if not body:
        raise st.bad_request("the request body is empty")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise st.bad_request(f"the request body is not valid JSON: {exc}") from exc


def _unsupported_patch(content_type: str) -> st.ApiError:
    if content_type in _KNOWN_PATCH_TYPES:
        message = f"fakekube implements only {MERGE_PATCH} (got {content_type})"
    else:
        accepted = ", ".join(_KNOWN_PATCH_TYPES[:2] + _KNOWN_PATCH_TYPES[3:])
        message = (
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{accepted}"
        )
    return st.ApiError(st.status(415, message))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _await_disconnect(receive: Receive, watcher: Watcher) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    watcher.queue.put_nowait(("disconnect", None))


async def _respond(send: Send, code: int, body: Any) -> None:
    payload = _json(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def _respond_text(send: Send, code: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _start_stream(send: Send) -> None:
    # No content-length: uvicorn answers with Transfer-Encoding: chunked, as the API server does.
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-cache, private")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})


async def _send_line(send: Send, event: Obj) -> None:
    await send({"type": "http.response.body", "body": _json(event) + b"\n", "more_body": True})
