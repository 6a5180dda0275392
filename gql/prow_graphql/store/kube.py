"""ProwJobStore over the Kubernetes API (kubernetes_asyncio's CustomObjectsApi, one namespace).

With its siblings kube_errors (failures → our errors), kube_watch (the watch stream) and
kube_config (where the client configuration comes from), the only code that imports
kubernetes_asyncio for ProwJobs. It must not retry, reconnect or relist: the informer owns
that loop.

Library traps handled here (kubernetes_asyncio 36):
- requests have no timeout unless `_request_timeout` is passed; every call passes one;
- a dict PATCH body goes out as application/json-patch+json unless `_content_type` is forced;
- `ApiClient` drops a falsy body, so an empty merge patch is answered with a get;
- the watch stream is read by kube_watch, not with `watch.Watch`.
"""

# kubernetes_asyncio ships py.typed but its generated API methods are unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from prow_graphql.errors import Unavailable
from prow_graphql.prow.objects import GROUP, PLURAL, VERSION
from prow_graphql.store.base import ListPage, ProwJobObject, WatchEvent
from prow_graphql.store.kube_config import load_configuration
from prow_graphql.store.kube_errors import (
    TRANSPORT_ERRORS,
    api_error,
    error_for_status,
    status_message,
    transport_error,
)
from prow_graphql.store.kube_watch import watch_events
from prow_graphql.store.list_ahead import ListAhead
from prow_graphql.store.list_stream import decode_items

__all__ = ["MERGE_PATCH", "KubeStore", "connect", "error_for_status"]

logger = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
# kube-apiserver's --request-timeout default: it answers 504 itself after this long.
_APISERVER_REQUEST_TIMEOUT = 60.0


def _as_object(what: str, result: Any) -> ProwJobObject:
    if not isinstance(result, dict):
        raise Unavailable(f"{what}: the API server answered with {type(result).__name__}")
    return result


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
            raise api_error(what, exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise transport_error(what, exc) from exc
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

    async def list_each(
        self,
        on_item: Callable[[ProwJobObject], None],
        *,
        label_selector: str | None = None,
        resource_version: str = "0",
    ) -> str:
        """One unpaginated list, decoded item by item as the body arrives (see list_stream);
        with `resource_version` "0" the API server answers from its watch cache, several times
        faster than paging through etcd. Returns the list's resourceVersion."""
        what = "list prowjobs"
        options: dict[str, Any] = {"label_selector": label_selector}
        if resource_version:
            options["resource_version"] = resource_version
        # No total timeout: a big namespace's list takes as long as it takes to arrive. Each read
        # must make progress; the first byte may wait until the API server gives up itself.
        timeout = aiohttp.ClientTimeout(
            connect=self._request_timeout,
            sock_read=max(
                self._request_timeout, _APISERVER_REQUEST_TIMEOUT + self._watch_read_slack
            ),
        )
        try:
            response = await self._open_list(what, options, timeout)
            try:
                metadata = await decode_items(response.content, on_item, what)
            finally:
                response.release()
        except ApiException as exc:
            raise api_error(what, exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise transport_error(what, exc) from exc
        list_rv = metadata.get("resourceVersion")
        if not isinstance(list_rv, str) or not list_rv:
            raise Unavailable(f"{what}: the list response carries no resourceVersion")
        return list_rv

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
            response = await self._open_list(what, options, self._request_timeout)
            body: bytes = await response.read()
        except ApiException as exc:
            raise api_error(what, exc) from exc
        except TRANSPORT_ERRORS as exc:
            raise transport_error(what, exc) from exc
        return body

    async def _open_list(self, what: str, options: dict[str, Any], limits: Any) -> Any:
        """The raw list response, its status 200; the typed error for any other answer.
        `limits`: the request timeout (seconds or an aiohttp.ClientTimeout)."""
        response = await self._api.list_namespaced_custom_object(
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            **options,
            _preload_content=False,
            _request_timeout=limits,
        )
        if response.status != 200:
            try:
                body = await response.read()
            finally:
                response.release()
            message = status_message(body) or response.reason or "list failed"
            raise error_for_status(response.status, f"{what}: {message} (HTTP {response.status})")
        return response

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
        # The generator itself, not a wrapper: closing it must close the HTTP response at once.
        return watch_events(
            self._api,
            self.namespace,
            resource_version,
            seconds,
            allow_bookmarks,
            request_timeout=self._request_timeout,
            read_slack=self._watch_read_slack,
        )

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
    """A KubeStore for `namespace`, configured as `kube_config.load_configuration` says."""
    env = os.environ if environ is None else environ
    configuration, source = await load_configuration(kubeconfig, context, env, refresh_interval)
    logger.info("Kubernetes API %s from %s, namespace %s", configuration.host, source, namespace)
    return KubeStore(
        client.ApiClient(configuration),
        namespace,
        request_timeout=request_timeout,
        watch_read_slack=watch_read_slack,
    )
