"""The issue-11 behaviours against the real API server: what it answers to a watch from a
resourceVersion it has not reached, and a paused follower of many changing ProwJobs that still
sees every final state through the gateway."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from prow_graphql.store.kube import connect
from tests.harness import TransportWSClient, example_settings, serve
from tests.realkube import RealKube

TIMEOUT = 60.0  # an upper bound on each wait, never a timing expectation


def prowjob(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": name, "labels": {"prow.k8s.io/job": "periodic-rk"}},
        "spec": {"type": "periodic", "job": "periodic-rk", "agent": "kubernetes"},
        "status": {"state": "triggered", "startTime": "2026-01-01T00:00:00Z"},
    }


async def test_a_watch_from_a_future_resource_version_waits_quietly(
    realkube: RealKube, tmp_path: Path
) -> None:
    """What 1.26 answers a watch from a version it has not reached: no 504, no events, the end
    at its timeout (the fake does the same; its 504 "too large" is an injected fault, as from a
    lagging replica, which the informer answers with a relist)."""
    namespace = realkube.new_namespace("future")
    kubeconfig = realkube.kubeconfig_for(namespace, tmp_path)
    async with await connect(str(kubeconfig), None, namespace) as store:
        current = (await store.list()).resource_version
        ahead = str(int(current) + 1_000_000)
        async with asyncio.timeout(TIMEOUT):
            events = [e async for e in store.watch(ahead, timeout_seconds=2)]
        assert events == []


async def test_the_first_list_streams_whole_from_the_api_servers_cache(
    realkube: RealKube, tmp_path: Path
) -> None:
    """resourceVersion 0 on the real server: one answer (limit ignored), decoded item by item,
    the namespace as it was at the list's resourceVersion, its metadata found after the items."""
    namespace = realkube.new_namespace("stream")
    kubeconfig = realkube.kubeconfig_for(namespace, tmp_path)
    async with await connect(str(kubeconfig), None, namespace) as store:
        names = [f"st-{i:03d}" for i in range(250)]  # ~200 KiB of list: past the tail window
        for chunk in range(0, len(names), 25):
            await asyncio.gather(*(store.create(prowjob(n)) for n in names[chunk : chunk + 25]))
        streamed: list[dict[str, Any]] = []
        list_rv = await store.list_each(streamed.append)
        paged = [await store.list(limit=100)]
        while paged[-1].continue_token is not None and len(paged) < 10:
            paged.append(await store.list(limit=100, continue_token=paged[-1].continue_token))
    consistent = {item["metadata"]["name"]: item for page in paged for item in page.items}
    assert sorted(consistent) == names
    # resourceVersion 0 means "any recent state": the watch cache may not have caught up with
    # the last writes yet (seen here: 3 of 250 just created). What it sends is the namespace at
    # its resourceVersion — the watch from there brings the rest.
    assert int(list_rv) <= int(paged[0].resource_version)
    streamed_by_name = {item["metadata"]["name"]: item for item in streamed}
    assert len(streamed_by_name) == len(streamed) > 0
    for name, item in streamed_by_name.items():
        assert item == consistent[name]
    for name in consistent.keys() - streamed_by_name.keys():
        assert int(consistent[name]["metadata"]["resourceVersion"]) > int(list_rv), name


@pytest.mark.timeout(300)  # 600 writes to a real API server on a shared machine
async def test_a_paused_dashboard_gets_every_final_state(
    realkube: RealKube, tmp_path: Path
) -> None:
    namespace = realkube.new_namespace("paused")
    kubeconfig = realkube.kubeconfig_for(namespace, tmp_path)
    names = [f"rk-{i:03d}" for i in range(120)]
    path = f"/apis/prow.k8s.io/v1/namespaces/{namespace}/prowjobs"
    settings = example_settings(
        "--kubeconfig", str(kubeconfig), "--namespace", namespace, backend="kube"
    )
    async with (
        serve(settings) as gw,
        TransportWSClient.connect(gw.ws_url) as client,
        realkube.async_client() as http,
    ):
        informer = gw.app.state.gateway.informer
        assert informer is not None
        await asyncio.wait_for(informer.synced.wait(), TIMEOUT)
        op = await client.subscribe(
            "subscription { prowJobEvents { type prowJob { name state description } } }"
        )
        async with asyncio.timeout(TIMEOUT):
            while informer.subscriber_count < 1:
                await asyncio.sleep(0.02)
        # The client reads nothing while every job is created and runs to its end, one job
        # after the other (so early final states are followed by hundreds of other changes).
        for name in names:
            assert (await http.post(path, json=prowjob(name))).status_code == 201
            for patch in (
                {"status": {"state": "pending", "description": "running"}},
                {"status": {"description": "still running"}},
                {
                    "status": {
                        "state": "success",
                        "description": "done",
                        "completionTime": "2026-01-01T00:10:00Z",
                    }
                },
            ):
                response = await http.patch(
                    f"{path}/{name}",
                    json=patch,
                    headers={"Content-Type": "application/merge-patch+json"},
                )
                assert response.status_code == 200, response.text
        last: dict[str, str] = {}
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TIMEOUT):
                while len(last) < len(names) or set(last.values()) != {"SUCCESS"}:
                    message = await client.receive(timeout=TIMEOUT)
                    assert message["id"] == op and message["type"] == "next", message
                    assert "errors" not in message["payload"], message
                    job = message["payload"]["data"]["prowJobEvents"]["prowJob"]
                    last[job["name"]] = job["state"]
        assert sorted(last) == names
        assert set(last.values()) == {"SUCCESS"}
