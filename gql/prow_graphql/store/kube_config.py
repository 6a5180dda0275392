"""Where the Kubernetes client configuration comes from: the in-cluster service account inside a
pod, else a kubeconfig (with credentials refreshed in memory, never written back)."""

# kubernetes_asyncio's config loaders are unannotated.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import os
from collections.abc import Mapping

import yaml
from kubernetes_asyncio import client, config
from kubernetes_asyncio.config.config_exception import ConfigException

from prow_graphql.errors import Unavailable
from prow_graphql.store.credentials import credential_refresher

_SERVICE_HOST = "KUBERNETES_SERVICE_HOST"
_SERVICE_PORT = "KUBERNETES_SERVICE_PORT"
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


async def load_configuration(
    kubeconfig: str | None,
    context: str | None,
    env: Mapping[str, str],
    refresh_interval: float,
) -> tuple[client.Configuration, str]:
    """The client configuration and a description of its source: in-cluster config inside a pod
    (when neither kubeconfig nor context is given), else the kubeconfig given, in $KUBECONFIG or
    at ~/.kube/config. Unavailable (with a hint) when there is none or it is unusable."""
    configuration = client.Configuration()
    if kubeconfig is None and context is None and env.get(_SERVICE_HOST) and env.get(_SERVICE_PORT):
        source = "the in-cluster service account"
        try:
            config.load_incluster_config(client_configuration=configuration, environ=dict(env))
        except _CONFIG_ERRORS as exc:
            raise Unavailable(f"cannot use {source}: {exc}; {_HINT}") from exc
        return configuration, source
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
    return configuration, source


def _existing_files(paths: str) -> list[str]:
    return [p for p in paths.split(os.pathsep) if p and os.path.isfile(os.path.expanduser(p))]


def _default_kubeconfig(env: Mapping[str, str]) -> str:
    home = env.get("HOME")
    return os.path.join(home, ".kube", "config") if home else "~/.kube/config"
