"""PodLogSource over build clusters' API servers: `GET pods/{pod}/log?follow=true`.

The second (and last) module that imports kubernetes_asyncio: it talks to *other* clusters than
the ProwJob store, through a kubeconfig whose context names are Prow's cluster aliases (the way
plank, sinker and Deck are configured). One ApiClient per alias, made on first use. Failures map
to `prow_graphql.errors` here; it never retries (the log service decides).
"""

# kubernetes_asyncio's generated API methods are unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import yaml
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config.config_exception import ConfigException

from prow_graphql.errors import Unavailable
from prow_graphql.store.kube_errors import error_for_status

logger = logging.getLogger(__name__)

_TRANSPORT_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)
_CONFIG_ERRORS = (ConfigException, yaml.YAMLError, OSError, KeyError, TypeError, ValueError)


class KubePodLogs:
    """Follows container logs in the build clusters of one kubeconfig (contexts = aliases)."""

    def __init__(self, kubeconfig: str, *, connect_timeout: float = 10.0) -> None:
        self._kubeconfig = kubeconfig
        self._connect_timeout = connect_timeout
        self._clients: dict[str, Any] = {}
        self._lock = asyncio.Lock()

    async def _api(self, cluster: str) -> Any:
        async with self._lock:
            api_client = self._clients.get(cluster)
            if api_client is None:
                configuration = client.Configuration()
                try:
                    await config.load_kube_config(
                        config_file=self._kubeconfig,
                        context=cluster,
                        client_configuration=configuration,
                        persist_config=False,
                    )
                except (*_CONFIG_ERRORS, AssertionError) as exc:
                    raise Unavailable(
                        f"cannot reach build cluster {cluster!r}: {exc}; the build-cluster "
                        f"kubeconfig needs a context named {cluster!r} (Prow's cluster alias)"
                    ) from exc
                api_client = self._clients[cluster] = client.ApiClient(configuration)
                logger.info("build cluster %s at %s", cluster, configuration.host)
        return client.CoreV1Api(api_client)

    async def stream(
        self, cluster: str, namespace: str, pod: str, container: str
    ) -> AsyncGenerator[list[str], None]:
        """Batches of complete lines as the API server sends them, until the stream ends."""
        api = await self._api(cluster)
        what = f"log of container {container!r} of pod {namespace}/{pod} in cluster {cluster!r}"
        # No read timeout: a quiet test may write nothing for minutes.
        timeout = aiohttp.ClientTimeout(connect=self._connect_timeout, sock_read=None)
        try:
            response = await api.read_namespaced_pod_log(
                pod,
                namespace,
                container=container,
                follow=True,
                _preload_content=False,
                _request_timeout=timeout,
            )
        except ApiException as exc:
            raise error_for_status(exc.status, f"{what}: {_message(exc.body)}") from exc
        except _TRANSPORT_ERRORS as exc:
            raise Unavailable(f"{what}: {exc or type(exc).__name__}") from exc
        try:
            if response.status != 200:
                body = await response.read()
                raise error_for_status(response.status, f"{what}: {_message(body)}")
            pending = b""
            while True:
                try:
                    chunk = await response.content.readany()
                except _TRANSPORT_ERRORS as exc:
                    raise Unavailable(f"{what}: {exc or type(exc).__name__}") from exc
                if not chunk:
                    break
                *complete, pending = (pending + chunk).split(b"\n")
                if complete:
                    yield [line.decode("utf-8", "replace") for line in complete]
            if pending:
                yield [pending.decode("utf-8", "replace")]
        finally:
            response.close()

    async def aclose(self) -> None:
        """Close every build cluster's connection pool."""
        for api_client in self._clients.values():
            await api_client.close()
        self._clients.clear()


def _message(body: Any) -> str:
    """The `message` of a Kubernetes Status body, else the body as text."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        status = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        return str(body)[:200]
    if isinstance(status, dict) and isinstance(status.get("message"), str):
        return str(status["message"])
    return str(body)[:200]
