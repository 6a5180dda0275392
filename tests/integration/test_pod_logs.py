"""prowJobLog end to end over graphql-transport-ws: the simulated plank's log on both backends,
and line-by-line streaming, waiting and gone pods against the fake API server's pods/log."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from prow_graphql.prow.objects import format_time
from tests.conftest import kube_gateway
from tests.harness import RunningGateway, TransportWSClient, example_settings, serve, wait_ready

POD_NAMESPACE = "test-pods"  # pod_namespace of examples/prow/config.yaml
LOG = """
subscription Log($name: String!, $container: String) {
  prowJobLog(name: $name, container: $container) { kind lines message storedLogUrl }
}
"""
TRIGGER = """
mutation($i: TriggerJobInput!) {
  triggerJob(input: $i) { ... on TriggerJobSuccess { prowJob { name } } ... on Error { message } }
}
"""


@pytest.fixture
async def kube(tmp_path: Path) -> AsyncIterator[RunningGateway]:
    async with kube_gateway(tmp_path) as gw:
        await wait_ready(gw)
        yield gw


def events(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p["data"]["prowJobLog"] for p in payloads]


def lines(payloads: list[dict[str, Any]]) -> list[str]:
    return [line for e in events(payloads) for line in e["lines"]]


# The real API server has no kubelet, so no pod logs: the log legs are the embedded backend and
# the fake API server, which serves pods/log.
@pytest.mark.parametrize("gateway", ["memory", "kube"], indirect=True)
async def test_follows_the_simulated_test_log_to_its_end(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    body = await gateway.query(
        TRIGGER,
        {"i": {"org": "example-org", "repo": "widgets", "job": "pull-widgets-unit",
               "type": "PRESUBMIT", "baseRef": "main", "pullRequest": {"number": 1}}},
    )  # fmt: skip
    name = body["data"]["triggerJob"]["prowJob"]["name"]
    async with TransportWSClient.connect(gateway.ws_url) as ws:
        received = await ws.collect(await ws.subscribe(LOG, {"name": name}))
    text = lines(received)
    assert text[0].startswith("+ ./hack/run-tests.sh") and "go test -v -count=1 ./..." in text
    assert text[-2:] == ["PASS", "ok  \texample.com/widgets\t0.123s"]
    assert len(text) == len(set(text))  # no line twice
    last = events(received)[-1]
    assert last["kind"] == "ENDED" and last["lines"] == []
    assert last["storedLogUrl"].startswith("https://prow.example.com/view/")


def _pending_job(name: str, *, state: str = "pending") -> dict[str, Any]:
    now = format_time(datetime.now(UTC))
    status: dict[str, Any] = {
        "state": state,
        "startTime": now,
        "pendingTime": now,
        "pod_name": name,
        "build_id": "1",
        "url": f"https://prow.example.com/view/gs/example-prow-artifacts/logs/e2e/{name}",
    }
    if state != "pending":
        status["completionTime"] = now
    return {
        "apiVersion": "prow.k8s.io/v1",
        "kind": "ProwJob",
        "metadata": {"name": name, "labels": {"prow.k8s.io/job": "e2e"}},
        # agent jenkins: the simulated plank leaves it alone, the test plays the pod
        "spec": {"type": "periodic", "job": "e2e", "agent": "jenkins", "cluster": "default"},
        "status": status,
    }


async def _create(gateway: RunningGateway, obj: dict[str, Any]) -> str:
    api = gateway.api  # type: ignore[attr-defined]
    name: str = obj["metadata"]["name"]
    api.create_object(obj)
    api.set_status(name, obj["status"])
    return name


async def test_streams_each_line_as_the_container_writes_it(kube: RunningGateway) -> None:
    pods = kube.api.pod_logs  # type: ignore[attr-defined]
    name = await _create(kube, _pending_job(str(uuid.uuid4())))
    pods.write(POD_NAMESPACE, name, "test", "line 1")
    async with TransportWSClient.connect(kube.ws_url) as ws:
        op = await ws.subscribe(LOG, {"name": name})
        first = await ws.receive()
        assert first["payload"]["data"]["prowJobLog"]["lines"] == ["line 1"]
        for i in range(2, 5):
            pods.write(POD_NAMESPACE, name, "test", f"line {i}")
            message = await ws.receive()
            assert message["payload"]["data"]["prowJobLog"]["lines"] == [f"line {i}"]
        pods.end(POD_NAMESPACE, name, "test")
        rest = await ws.collect(op)
    assert [e["kind"] for e in events(rest)] == ["ENDED"]
    request = next(r for r in kube.api.requests if r.path.endswith("/log"))  # type: ignore[attr-defined]
    assert request.path == f"/api/v1/namespaces/{POD_NAMESPACE}/pods/{name}/log"
    assert request.query == {"container": "test", "follow": "True"}


async def test_waits_for_a_container_that_has_not_started(kube: RunningGateway) -> None:
    pods = kube.api.pod_logs  # type: ignore[attr-defined]
    name = str(uuid.uuid4())
    pods.create_pod(POD_NAMESPACE, name)
    await _create(kube, _pending_job(name))
    async with TransportWSClient.connect(kube.ws_url) as ws:
        op = await ws.subscribe(LOG, {"name": name})
        waiting = (await ws.receive())["payload"]["data"]["prowJobLog"]
        assert waiting["kind"] == "WAITING" and "waiting to start" in waiting["message"]
        pods.write(POD_NAMESPACE, name, "test", "started")
        pods.end(POD_NAMESPACE, name, "test")
        rest = await ws.collect(op)
    assert lines(rest) == ["started"] and events(rest)[-1]["kind"] == "ENDED"


async def test_says_when_the_pod_is_gone_and_links_the_stored_logs(kube: RunningGateway) -> None:
    name = await _create(kube, _pending_job(str(uuid.uuid4()), state="failure"))
    async with TransportWSClient.connect(kube.ws_url) as ws:
        received = await ws.collect(await ws.subscribe(LOG, {"name": name}))
    (gone,) = events(received)
    assert gone["kind"] == "POD_GONE"
    assert gone["storedLogUrl"].endswith(name)
    assert f"pod {name} is gone; the stored logs are at https://" in gone["message"]


async def test_an_unknown_container_is_reported_not_retried(kube: RunningGateway) -> None:
    pods = kube.api.pod_logs  # type: ignore[attr-defined]
    name = await _create(kube, _pending_job(str(uuid.uuid4()), state="success"))
    pods.write(POD_NAMESPACE, name, "test", "done")
    pods.end(POD_NAMESPACE, name, "test")
    async with TransportWSClient.connect(kube.ws_url) as ws:
        received = await ws.collect(await ws.subscribe(LOG, {"name": name, "container": "nope"}))
    (event,) = events(received)
    assert event["kind"] == "UNAVAILABLE" and "not valid" in event["message"]


async def test_unknown_job_is_an_error() -> None:
    async with serve(dataclasses.replace(example_settings(), follow_wait=0.1)) as gateway:
        await wait_ready(gateway)
        async with TransportWSClient.connect(gateway.ws_url) as ws:
            op = await ws.subscribe(LOG, {"name": "no-such-prowjob"})
            message = await ws.receive()
    assert message["id"] == op and message["type"] in ("error", "next")
    assert "no ProwJob named 'no-such-prowjob'" in str(message["payload"])


async def test_a_pending_job_reads_the_log_while_it_runs(kube: RunningGateway) -> None:
    # The lines of a job that is still pending arrive before it finishes.
    pods = kube.api.pod_logs  # type: ignore[attr-defined]
    name = await _create(kube, _pending_job(str(uuid.uuid4())))
    async with TransportWSClient.connect(kube.ws_url) as ws:
        op = await ws.subscribe(LOG, {"name": name})
        await asyncio.sleep(0.1)  # the pod exists only once the container writes
        pods.write(POD_NAMESPACE, name, "test", "hello")
        got: list[str] = []
        while not got:
            got = (await ws.receive())["payload"]["data"]["prowJobLog"]["lines"]
        assert got == ["hello"]
        assert kube.api.objects[name]["status"]["state"] == "pending"  # type: ignore[attr-defined]
        pods.end(POD_NAMESPACE, name, "test")
        await ws.collect(op)


async def test_without_a_build_cluster_kubeconfig_live_logs_are_off(tmp_path: Path) -> None:
    from tests.fakekube import FakeKubeServer

    async with FakeKubeServer() as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        async with serve(example_settings("--kubeconfig", str(kubeconfig), backend="kube")) as gw:
            await wait_ready(gw)
            name = str(uuid.uuid4())
            obj = _pending_job(name)
            api.create_object(obj)
            api.set_status(name, obj["status"])
            async with TransportWSClient.connect(gw.ws_url) as ws:
                received = await ws.collect(await ws.subscribe(LOG, {"name": name}))
    (event,) = events(received)
    assert event["kind"] == "UNAVAILABLE" and "--build-cluster-kubeconfig" in event["message"]
    assert event["storedLogUrl"].endswith(name)
    assert not [r for r in api.requests if r.path.endswith("/log")]


async def test_unsubscribing_closes_the_build_cluster_stream(kube: RunningGateway) -> None:
    api = kube.api  # type: ignore[attr-defined]
    name = await _create(kube, _pending_job(str(uuid.uuid4())))
    api.pod_logs.write(POD_NAMESPACE, name, "test", "running")
    async with TransportWSClient.connect(kube.ws_url) as ws:
        op = await ws.subscribe(LOG, {"name": name})
        assert (await ws.receive())["payload"]["data"]["prowJobLog"]["lines"] == ["running"]
        assert api.pod_logs.open_streams == 1
        await ws.ws.send(json.dumps({"id": op, "type": "complete"}))
        await api.wait_for(lambda: api.pod_logs.open_streams == 0)
