"""ProwJobStore over the Kubernetes API (kubernetes_asyncio's CustomObjectsApi, one namespace).

The only module that imports kubernetes_asyncio. It maps every library and transport failure
into `prow_graphql.errors` and must not retry, reconnect or relist: the informer owns that loop.

Library traps handled here (kubernetes_asyncio 36):
- requests have no timeout unless `_request_timeout` is passed; every call passes one;
- a dict PATCH body goes out as application/json-patch+json unless `_content_type` is forced;
- `ApiClient` drops a falsy body, so an empty merge patch is answered with a get;
- the watch stream is read here, not with `watch.Watch` (see `_watch`).
"""

# kubernetes_asyncio ships py.typed but its generated API methods are unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any

import aiohttp
import yaml
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config.config_exception import ConfigException

from prow_graphql.errors import (
    BackendError,
    BackendForbidden,
    Conflict,
    FieldCause,
    Gone,
    ObjectInvalid,
    ObjectNotFound,
    Unavailable,
)
from prow_graphql.prow.objects import GROUP, PLURAL, VERSION
from prow_graphql.store.base import EventType, ListPage, ProwJobObject, WatchEvent
from prow_graphql.store.credentials import credential_refresher
from prow_graphql.store.list_ahead import ListAhead

logger = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
_SERVICE_HOST = "KUBERNETES_SERVICE_HOST"
_SERVICE_PORT = "KUBERNETES_SERVICE_PORT"
_TRANSPORT_ERRORS = (
    aiohttp.ClientError,
    aiohttp.http_exceptions.HttpProcessingError,
    TimeoutError,
    OSError,
)
_CONFIG_ERRORS = (
    ConfigException,
    yaml.YAMLError,
    OSError,
    KeyError,
    TypeError,
    ValueError,
    AssertionError,  # kube_config asserts that the context names a cluster
)
_HINT = (
    "pass --kubeconfig PATH (and --context NAME), set KUBECONFIG, run inside a pod with a "
    "service account, or use --backend memory"
)


def error_for_status(code: int | None, message: str) -> BackendError:
    """The most specific BackendError for an HTTP status code from the API server."""
    if code == 404:
        return ObjectNotFound(message)
    if code == 409:
        return Conflict(message)
    if code == 410:
        return Gone(message)
    if code == 504 and "too large resource version" in message.lower():
        # The server's watch cache is behind our version (a lagging replica, an etcd restore):
        # retrying from it can fail forever; like client-go, list again.
        return Gone(message)
    if code in (401, 403):
        return BackendForbidden(message)
    if code == 429 or (code is not None and code >= 500):
        return Unavailable(message)
    return BackendError(message)


def _status_message(body: Any) -> str | None:
    """The `message` of a Kubernetes Status body (bytes, str or dict), if it is one."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return None


def _api_error(what: str, exc: ApiException) -> BackendError:
    message = _status_message(exc.body) or str(exc.reason)
    if exc.status == 422:
        return ObjectInvalid(message, _status_causes(exc.body))
    return error_for_status(exc.status, f"{what}: {message} (HTTP {exc.status})")


def _status_causes(body: Any) -> tuple[FieldCause, ...]:
    """`details.causes` of a Kubernetes Status body: the fields a 422 names."""
    try:
        status = json.loads(body) if isinstance(body, bytes | str) else body
        causes = status["details"]["causes"]
        return tuple(
            FieldCause(str(c.get("field", "")), str(c.get("message", "")), str(c.get("reason", "")))
            for c in causes
            if isinstance(c, dict)
        )
    except (ValueError, KeyError, TypeError):
        return ()


def _transport_error(what: str, exc: BaseException) -> Unavailable:
    detail = str(exc) or type(exc).__name__
    return Unavailable(f"{what}: Kubernetes API unreachable: {detail}")


def _as_object(what: str, result: Any) -> ProwJobObject:
    if not isinstance(result, dict):
        raise Unavailable(f"{what}: the API server answered with {type(result).__name__}")
    return result


def _parse_event(what: str, line: bytes) -> WatchEvent | None:
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
        message = _status_message(obj) or "watch error"
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


class KubeStore:
    """ProwJobs in one namespace of a Kubernetes cluster.

    `request_timeout` bounds every non-watch call; a watch may stay silent for its
    `timeout_seconds` plus `watch_read_slack` before it fails with Unavailable.
    """

    def __init__(
        self,
        api_client: Any,
        namespace: str,
        *,
        request_timeout: float = 30.0,
        watch_read_slack: float = 10.0,
        default_watch_timeout: int = 300,
    ) -> None:
        self.namespace = namespace
        self._client = api_client
        self._api = client.CustomObjectsApi(api_client)
        self._request_timeout = request_timeout
        self._watch_read_slack = watch_read_slack
        self._default_watch_timeout = default_watch_timeout
        self._pages = ListAhead(self._list_body)

    async def __aenter__(self) -> KubeStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> ProwJobObject:
        try:
            result = await method(*args, _request_timeout=self._request_timeout, **kwargs)
        except ApiException as exc:
            raise _api_error(what, exc) from exc
        except _TRANSPORT_ERRORS as exc:
            raise _transport_error(what, exc) from exc
        return _as_object(what, result)

    async def create(self, obj: ProwJobObject) -> ProwJobObject:
        """Create `obj` in our namespace (filled in); Conflict if the name exists."""
        body = copy.deepcopy(obj)
        metadata = body.setdefault("metadata", {})
        if metadata.get("namespace") not in (None, "", self.namespace):
            raise ValueError(
                f"ProwJob namespace {metadata['namespace']!r} is not the store's {self.namespace!r}"
            )
        metadata["namespace"] = self.namespace
        what = f"create prowjob {metadata.get('name')!r}"
        return await self._call(
            what,
            self._api.create_namespaced_custom_object,
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            body,
        )

    async def get(self, name: str) -> ProwJobObject:
        """The ProwJob called `name`; ObjectNotFound if there is none."""
        return await self._call(
            f"get prowjob {name!r}",
            self._api.get_namespaced_custom_object,
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            name,
        )

    async def list(
        self,
        *,
        label_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListPage:
        """One page of ProwJobs; Gone if `continue_token` has expired. The next page is
        fetched while this one is decoded (see list_ahead)."""
        body = await self._pages.page(label_selector, limit, continue_token)
        try:
            result = json.loads(body)
        except ValueError as exc:
            raise Unavailable("list prowjobs: the API server sent a body that is not JSON") from exc
        metadata = (result.get("metadata") if isinstance(result, dict) else None) or {}
        token = metadata.get("continue") or None
        self._pages.discard(unless=token)
        return ListPage(
            items=list(result.get("items") or []),
            resource_version=str(metadata.get("resourceVersion") or ""),
            continue_token=token,
        )

    async def _list_body(
        self, label_selector: str | None, limit: int | None, continue_token: str | None
    ) -> bytes:
        what = "list prowjobs"
        # None means "not set", as _call's callers pass it; the generated stubs say otherwise.
        options: dict[str, Any] = {
            "label_selector": label_selector,
            "limit": limit,
            "_continue": continue_token,
        }
        try:
            response = await self._api.list_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                **options,
                _preload_content=False,
                _request_timeout=self._request_timeout,
            )
            body: bytes = await response.read()
        except ApiException as exc:
            raise _api_error(what, exc) from exc
        except _TRANSPORT_ERRORS as exc:
            raise _transport_error(what, exc) from exc
        if response.status != 200:
            message = _status_message(body) or response.reason or "list failed"
            raise error_for_status(response.status, f"{what}: {message} (HTTP {response.status})")
        return body

    async def patch(self, name: str, patch: Mapping[str, Any]) -> ProwJobObject:
        """Apply a JSON merge patch (sent as application/merge-patch+json)."""
        if not patch:
            return await self.get(name)  # ApiClient would send no body at all
        return await self._call(
            f"patch prowjob {name!r}",
            self._api.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            name,
            dict(patch),
            _content_type=MERGE_PATCH,
        )

    def watch(
        self,
        resource_version: str,
        *,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]:
        """Changes after `resource_version`; see ProwJobStore.watch.

        Ends normally when the server ends the stream (its timeout); raises Gone for 410 (HTTP or
        ERROR event) and Unavailable when the connection breaks or stays silent too long.
        """
        if not resource_version or resource_version == "0":
            raise ValueError("watch needs a concrete resourceVersion from a list or an event")
        if timeout_seconds is not None and timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        seconds = timeout_seconds or self._default_watch_timeout
        return self._watch(resource_version, seconds, allow_bookmarks)

    async def _watch(
        self, resource_version: str, timeout_seconds: int, allow_bookmarks: bool
    ) -> AsyncIterator[WatchEvent]:
        # Read the raw stream rather than use watch.Watch: Watch opens a second ApiClient, turns a
        # half-received line into a str "event", retries 410 on its own, and hides HTTP errors.
        what = f"watch prowjobs from resourceVersion {resource_version}"
        timeout = aiohttp.ClientTimeout(
            connect=self._request_timeout,
            sock_read=timeout_seconds + self._watch_read_slack,
        )
        try:
            response = await self._api.list_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                watch=True,
                resource_version=resource_version,
                allow_watch_bookmarks=allow_bookmarks,
                timeout_seconds=timeout_seconds,
                _preload_content=False,
                _request_timeout=timeout,
            )
        except ApiException as exc:
            raise _api_error(what, exc) from exc
        except _TRANSPORT_ERRORS as exc:
            raise _transport_error(what, exc) from exc
        finished = False
        try:
            if response.status != 200:
                try:
                    body = await response.read()
                except _TRANSPORT_ERRORS as exc:
                    raise _transport_error(what, exc) from exc
                message = _status_message(body) or response.reason or "watch failed"
                raise error_for_status(
                    response.status, f"{what}: {message} (HTTP {response.status})"
                )
            while True:
                try:
                    line = await response.content.readline()
                except _TRANSPORT_ERRORS as exc:
                    raise _transport_error(what, exc) from exc
                if not line:
                    finished = True
                    return
                if not line.endswith(b"\n"):
                    raise Unavailable(f"{what}: the stream ended in the middle of an event")
                event = _parse_event(what, line)
                if event is not None:
                    yield event
        finally:
            if finished:
                response.release()
            else:
                response.close()  # an unfinished stream cannot go back to the pool

    async def aclose(self) -> None:
        """Close the ApiClient's connection pool."""
        await self._pages.aclose()
        await self._client.close()


async def connect(
    kubeconfig: str | None,
    context: str | None,
    namespace: str,
    *,
    request_timeout: float = 30.0,
    watch_read_slack: float = 10.0,
    environ: Mapping[str, str] | None = None,
    refresh_interval: float = 30.0,
) -> KubeStore:
    """A KubeStore for `namespace`: in-cluster config inside a pod (when neither kubeconfig nor
    context is given), else the kubeconfig given, in $KUBECONFIG or at ~/.kube/config."""
    env = os.environ if environ is None else environ
    configuration = client.Configuration()
    if kubeconfig is None and context is None and env.get(_SERVICE_HOST) and env.get(_SERVICE_PORT):
        source = "the in-cluster service account"
        try:
            config.load_incluster_config(client_configuration=configuration, environ=dict(env))
        except _CONFIG_ERRORS as exc:
            raise Unavailable(f"cannot use {source}: {exc}; {_HINT}") from exc
    else:
        paths = kubeconfig or env.get("KUBECONFIG") or _default_kubeconfig(env)
        found = _existing_files(paths)
        if not found:
            raise Unavailable(f"no Kubernetes client configuration found at {paths!r}; {_HINT}")
        source = f"kubeconfig {os.pathsep.join(found)!r}"
        try:
            # persist_config=False: never write refreshed credentials back into the user's file.
            loader = await config.load_kube_config(
                config_file=os.pathsep.join(found),
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
        except _CONFIG_ERRORS as exc:
            raise Unavailable(f"cannot use {source}: {exc}; {_HINT}") from exc
        configuration.refresh_api_key_hook = credential_refresher(
            loader, refresh_interval, _CONFIG_ERRORS
        )
    logger.info("Kubernetes API %s from %s, namespace %s", configuration.host, source, namespace)
    return KubeStore(
        client.ApiClient(configuration),
        namespace,
        request_timeout=request_timeout,
        watch_read_slack=watch_read_slack,
    )


def _existing_files(paths: str) -> list[str]:
    return [p for p in paths.split(os.pathsep) if p and os.path.isfile(os.path.expanduser(p))]


def _default_kubeconfig(env: Mapping[str, str]) -> str:
    home = env.get("HOME")
    return os.path.join(home, ".kube", "config") if home else "~/.kube/config"
