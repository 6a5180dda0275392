"""The ProwJob watch stream, read line by line from the API server's raw response.

Not `watch.Watch`: it opens a second ApiClient, turns a half-received line into a str "event",
retries 410 on its own and hides HTTP errors. Yields our `WatchEvent`s; never reconnects.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from prow_graphql.errors import Unavailable
from prow_graphql.prow.objects import GROUP, PLURAL, VERSION
from prow_graphql.store.base import EventType, WatchEvent
from prow_graphql.store.kube_errors import (
    TRANSPORT_ERRORS,
    api_error,
    error_for_status,
    status_message,
    transport_error,
)

logger = logging.getLogger(__name__)


async def watch_events(
    api: Any,
    namespace: str,
    resource_version: str,
    timeout_seconds: int,
    allow_bookmarks: bool,
    *,
    request_timeout: float,
    read_slack: float,
) -> AsyncIterator[WatchEvent]:
    """Events after `resource_version` from CustomObjectsApi `api`, until the server ends the
    stream; Gone for 410, Unavailable when the stream breaks or stays silent past its timeout
    plus `read_slack`."""
    what = f"watch prowjobs from resourceVersion {resource_version}"
    timeout = aiohttp.ClientTimeout(
        connect=request_timeout,
        sock_read=timeout_seconds + read_slack,
    )
    try:
        response = await api.list_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            watch=True,
            resource_version=resource_version,
            allow_watch_bookmarks=allow_bookmarks,
            timeout_seconds=timeout_seconds,
            _preload_content=False,
            _request_timeout=timeout,
        )
    except ApiException as exc:
        raise api_error(what, exc) from exc
    except TRANSPORT_ERRORS as exc:
        raise transport_error(what, exc) from exc
    finished = False
    try:
        if response.status != 200:
            try:
                body = await response.read()
            except TRANSPORT_ERRORS as exc:
                raise transport_error(what, exc) from exc
            message = status_message(body) or response.reason or "watch failed"
            raise error_for_status(response.status, f"{what}: {message} (HTTP {response.status})")
        while True:
            try:
                line = await response.content.readline()
            except TRANSPORT_ERRORS as exc:
                raise transport_error(what, exc) from exc
            if not line:
                finished = True
                return
            if not line.endswith(b"\n"):
                raise Unavailable(f"{what}: the stream ended in the middle of an event")
            event = parse_event(what, line)
            if event is not None:
                yield event
    finally:
        if finished:
            response.release()
        else:
            response.close()  # an unfinished stream cannot go back to the pool


def parse_event(what: str, line: bytes) -> WatchEvent | None:
    """One watch line as our event; ERROR lines raise (410 → Gone). None for unknown types."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise Unavailable(f"{what}: the stream sent a line that is not JSON") from exc
    if not isinstance(data, dict):
        raise Unavailable(f"{what}: the stream sent {type(data).__name__}, not an event")
    if data.get("kind") == "Status":  # some servers fail a watch with a bare Status line
        data = {"type": "ERROR", "object": data}
    kind, obj = data.get("type"), data.get("object")
    if kind == "ERROR":
        code = obj.get("code") if isinstance(obj, dict) else None
        message = status_message(obj) or "watch error"
        raise error_for_status(code, f"{what}: {message} (watch ERROR {code})")
    if not isinstance(obj, dict):
        raise Unavailable(f"{what}: {kind} event without an object")
    try:
        event_type = EventType(str(kind))
    except ValueError:
        logger.warning("%s: ignoring watch event of unknown type %r", what, kind)
        return None
    resource_version = (obj.get("metadata") or {}).get("resourceVersion")
    if not resource_version:
        raise Unavailable(f"{what}: {kind} event without metadata.resourceVersion")
    return WatchEvent(event_type, obj, str(resource_version))
