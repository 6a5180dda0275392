"""Staleness is visible: /readyz and `cacheStatus` when the watch keeps failing, 504 "too large
resource version" answered by a relist, and exec-plugin tokens refreshed before they expire.

Everything runs against the fake API server over real sockets; waits are bounded, never timed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from prow_graphql.errors import BackendForbidden, Gone
from prow_graphql.informer import Informer
from prow_graphql.store.kube import connect
from tests.fakekube import FakeKubeServer
from tests.harness import RunningGateway, TransportWSClient, example_settings, serve

TIMEOUT = 15.0  # an upper bound on each wait, never a timing expectation
NS = "default"

CACHE_STATUS = "{ cacheStatus { synced lastSyncedAt failingForSeconds stale size } }"


def prowjob(name: str, state: str = "triggered") -> dict[str, Any]:
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": name, "labels": {"prow.k8s.io/job": "periodic-stale"}},
        "spec": {"job": "periodic-stale", "type": "periodic", "agent": "kubernetes"},
        "status": {"state": state, "startTime": "2026-01-01T00:00:00Z"},
    }


@contextlib.asynccontextmanager
async def gateway_on(
    kube: FakeKubeServer, tmp_path: Path, *extra: str
) -> AsyncIterator[tuple[RunningGateway, Informer]]:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    settings = example_settings("--kubeconfig", str(kubeconfig), *extra, backend="kube")
    async with serve(settings) as gw:
        informer = gw.app.state.gateway.informer
        assert informer is not None
        await asyncio.wait_for(informer.synced.wait(), TIMEOUT)
        yield gw, informer


async def readyz_until(gw: RunningGateway, code: int) -> dict[str, Any]:
    """Poll /readyz (bounded) until it answers `code`; its body."""
    async with httpx.AsyncClient(base_url=gw.url, timeout=5) as client:
        async with asyncio.timeout(TIMEOUT):
            while True:
                response = await client.get("/readyz")
                if response.status_code == code:
                    body: dict[str, Any] = response.json()
                    return body
                await asyncio.sleep(0.05)


async def test_readyz_fails_while_the_watch_keeps_failing_and_recovers(tmp_path: Path) -> None:
    async with (
        FakeKubeServer(bookmark_interval=None) as kube,
        gateway_on(kube, tmp_path, "--stale-after", "0.5") as (gw, informer),
    ):
        kube.create_object(prowjob("before"))
        healthy = await readyz_until(gw, 200)
        assert healthy["cache"]["stale"] is False
        status = (await gw.query(CACHE_STATUS))["data"]["cacheStatus"]
        assert status["synced"] and status["lastSyncedAt"] and not status["stale"]

        await kube.stop()  # every list/watch now fails: the cache can only grow stale
        stale = await readyz_until(gw, 503)
        assert stale["ready"] is False and stale["cache"]["stale"] is True
        assert stale["cache"]["failing_for_seconds"] >= 0.5
        status = (await gw.query(CACHE_STATUS))["data"]["cacheStatus"]
        assert status["stale"] is True and status["failingForSeconds"] >= 0.5

        kube.create_object(prowjob("meanwhile"))
        await kube.start()
        recovered = await readyz_until(gw, 200)
        assert recovered["cache"]["stale"] is False
        await kube.wait_for(lambda: informer.get("meanwhile") is not None, within=TIMEOUT)


async def test_watch_answered_too_large_resource_version_relists(tmp_path: Path) -> None:
    async with (
        FakeKubeServer(bookmark_interval=None) as kube,
        gateway_on(kube, tmp_path) as (_, informer),
    ):
        kube.create_object(prowjob("a"))
        await kube.wait_for(lambda: informer.get("a") is not None, within=TIMEOUT)
        relists = informer.stats.relists
        kube.lag_watch_cache()
        assert kube.cut_watches() == 1
        kube.set_status("a", {"state": "success", "completionTime": "2026-01-01T00:00:05Z"})
        # Retrying the same version would get 504 forever; a list reads the change at once.
        await kube.wait_for(lambda: informer.stats.relists > relists, within=TIMEOUT)
        await kube.wait_for(
            lambda: (r := informer.get("a")) is not None and r.state.value == "success",
            within=TIMEOUT,
        )
        kube.lag_watch_cache(False)
        kube.create_object(prowjob("b"))
        await kube.wait_for(lambda: informer.get("b") is not None, within=TIMEOUT)


async def test_too_large_resource_version_is_gone_at_the_store(tmp_path: Path) -> None:
    async with FakeKubeServer(namespace=NS, bookmark_interval=None) as kube:
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
        async with await connect(str(kubeconfig), None, NS) as store:
            kube.lag_watch_cache()
            with pytest.raises(Gone, match="Too large resource version"):
                async with asyncio.timeout(TIMEOUT):
                    async for _ in store.watch(kube.resource_version, timeout_seconds=5):
                        pass


EXEC_PLUGIN = """
import datetime, json, pathlib, sys
token = pathlib.Path(sys.argv[1]).read_text().strip()
runs = pathlib.Path(sys.argv[2])
runs.write_text(str(int(runs.read_text() or 0) + 1) if runs.exists() else "1")
# Expires in a minute: inside kubernetes_asyncio's 5-minute skew, so it counts as expiring now.
expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)
print(json.dumps({
    "apiVersion": "client.authentication.k8s.io/v1beta1",
    "kind": "ExecCredential",
    "status": {"token": token, "expirationTimestamp": expiry.strftime("%Y-%m-%dT%H:%M:%SZ")},
}))
"""


async def test_exec_plugin_token_is_refreshed_when_it_expires(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(EXEC_PLUGIN)
    token_file, runs = tmp_path / "token", tmp_path / "runs"
    async with FakeKubeServer(namespace=NS, bookmark_interval=None) as kube:
        token_file.write_text(kube.token)
        section = {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(plugin), str(token_file), str(runs)],
        }
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", exec_plugin=section)
        async with await connect(str(kubeconfig), None, NS, refresh_interval=0) as store:
            kube.create_object(prowjob("a"))
            assert [o["metadata"]["name"] for o in (await store.list()).items] == ["a"]
            # The cluster's token expires: the old one is refused from now on ...
            kube.rotate_token("rotated-token")
            with pytest.raises(BackendForbidden):
                await store.get("a")
            # ... and once the plugin hands out the new one, the same store works again.
            token_file.write_text("rotated-token")
            assert (await store.get("a"))["metadata"]["name"] == "a"
            assert int(runs.read_text()) >= 2


async def test_waiting_for_the_first_sync_is_bounded(tmp_path: Path) -> None:
    async with FakeKubeServer(bookmark_interval=None) as kube:
        kube.fail_next(1_000_000, status=500, verb="list")
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
        settings = example_settings(
            "--kubeconfig", str(kubeconfig), "--follow-wait", "0.2", backend="kube"
        )
        async with serve(settings) as gw, TransportWSClient.connect(gw.ws_url) as ws:
            op = await ws.subscribe('subscription { prowJobUpdated(name: "x") { name } }')
            message = await ws.receive(timeout=TIMEOUT)
            assert message["id"] == op and message["type"] in ("next", "error"), message
            # Typed and retryable; the detail ("not synced within 0.2s") goes to the log.
            payload = json.dumps(message["payload"])
            assert "BACKEND_UNAVAILABLE" in payload and '"retryable": true' in payload, message
