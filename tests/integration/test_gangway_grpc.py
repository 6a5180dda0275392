"""Gangway's gRPC API over a real socket, with a client generated from gangway.proto: create →
watch → get → list → bulk status change; health, reflection, authentication."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from prow_graphql.gangway import codegen
from tests.conftest import kube_gateway
from tests.harness import example_settings, free_socket, metric_value, serve, wait_ready

SHA = "0123456789abcdef0123456789abcdef01234567"
PRESUBMIT = "pull-widgets-unit"
PERIODIC = "periodic-widgets-nightly-e2e"
TOKEN = "alice-token-0123456789"

pb, stubs = codegen.generated()


def free_port() -> int:
    with free_socket() as sock:
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    port = free_port()
    settings = example_settings(
        "--grpc-port",
        str(port),
        "--enable-abort",
        "--sim-pending-after",
        "1",
        "--sim-complete-after",
        "0.5",
    )
    async with serve(settings) as gw:
        await wait_ready(gw)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            yield ch


async def test_create_watch_get_list_and_bulk_change(channel: grpc.aio.Channel) -> None:
    prow: Any = stubs.ProwStub(channel)
    request = pb.CreateJobExecutionRequest(
        job_name=PRESUBMIT,
        job_execution_type=pb.PRESUBMIT,
        refs=pb.Refs(
            org="example-org",
            repo="widgets",
            base_ref="main",
            base_sha=SHA,
            pulls=[pb.Pull(number=7, sha=SHA, author="alice")],
        ),
    )
    created = await prow.CreateJobExecution(request)
    assert created.id and created.job_status == pb.TRIGGERED and created.job_type == pb.PRESUBMIT

    statuses = []
    async for execution in prow.WatchJobExecution(pb.GetJobExecutionRequest(id=created.id)):
        statuses.append(execution.job_status)
    assert statuses[0] == pb.TRIGGERED and pb.PENDING in statuses
    assert statuses[-1] in (pb.SUCCESS, pb.FAILURE)

    got = await prow.GetJobExecution(pb.GetJobExecutionRequest(id=created.id))
    assert got.job_status == statuses[-1] and got.build_id and got.job_url
    assert got.refs.base_sha == SHA and got.completion_time.seconds > 0

    listed = await prow.ListJobExecutions(pb.ListJobExecutionsRequest(job_name=PRESUBMIT))
    assert [e.id for e in listed.job_execution] == [created.id]

    periodic = await prow.CreateJobExecution(
        pb.CreateJobExecutionRequest(job_name=PERIODIC, job_execution_type=pb.PERIODIC)
    )
    updates = prow.WatchJobExecution(pb.GetJobExecutionRequest(id=periodic.id))
    first = await anext(aiter(updates))  # the gateway has seen it: the bulk change will too
    assert first.job_status == pb.TRIGGERED
    await prow.BulkJobStatusChange(
        pb.BulkJobStatusChangeRequest(
            job_status_change=pb.JobStatusChange(current=pb.TRIGGERED, desired=pb.ABORTED),
            job_type=pb.PERIODIC,
        )
    )
    rest = [u.job_status async for u in updates]
    assert rest[-1] == pb.ABORTED

    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await prow.CreateJobExecution(pb.CreateJobExecutionRequest(job_name=PRESUBMIT))
    assert failed.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert failed.value.details() == "unsupported JobExecutionType: JOB_EXECUTION_TYPE_UNSPECIFIED"
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await prow.GetJobExecution(pb.GetJobExecutionRequest(id="no-such-id"))
    assert failed.value.code() is grpc.StatusCode.NOT_FOUND
    change = pb.JobStatusChange(current=pb.PENDING, desired=pb.ABORTED)
    for field in ("started_after", "started_before"):
        bad = pb.BulkJobStatusChangeRequest(job_status_change=change)
        getattr(bad, field).seconds = 10**12  # past year 9999: Timestamp.CheckValid fails
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await prow.BulkJobStatusChange(bad)
        assert failed.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert failed.value.details() == f"{field} field is invalid"


async def test_health_and_reflection(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    answer = await health.Check(health_pb2.HealthCheckRequest(service="Prow"))
    assert answer.status == health_pb2.HealthCheckResponse.SERVING

    reflection: Any = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    responses = [r async for r in reflection.ServerReflectionInfo(iter([request]))]
    names = {s.name for s in responses[0].list_services_response.service}
    assert {"Prow", "grpc.health.v1.Health"} <= names


async def test_with_token_auth_calls_need_the_bearer_metadata(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        f"tokens:\n  - {{user: alice, token: {TOKEN}, groups: ['github-org:example-org']}}\n"
    )
    port = free_port()
    settings = example_settings(
        "--grpc-port", str(port), "--auth", "token", "--token-file", str(tokens),
        "--port", "8080", "--metrics-port", "8080",  # /metrics beside the API
    )  # fmt: skip
    async with serve(settings) as gw, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        await wait_ready(gw)
        prow: Any = stubs.ProwStub(ch)
        request = pb.CreateJobExecutionRequest(job_name=PERIODIC, job_execution_type=pb.PERIODIC)
        for call in (
            prow.CreateJobExecution(request),
            prow.ListJobExecutions(pb.ListJobExecutionsRequest()),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await call
            assert failed.value.code() is grpc.StatusCode.UNAUTHENTICATED
        created = await prow.CreateJobExecution(
            request, metadata=(("authorization", f"Bearer {TOKEN}"),)
        )
        obj = await gw.app.state.gateway.store.get(created.id)
        assert obj["metadata"]["annotations"]["prow-graphql.prow.k8s.io/triggered-by"] == "alice"
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=gw.url, headers=bearer, timeout=10) as http:
            exposition = (await http.get("/metrics")).text

    def calls(method: str, code: str) -> float:
        labels = {"transport": "grpc", "method": method, "code": code}
        return metric_value(exposition, "prow_graphql_gangway_requests_total", **labels)

    # Every call is counted, refused ones too, by the status code the caller got.
    assert calls("CreateJobExecution", "UNAUTHENTICATED") == 1
    assert calls("ListJobExecutions", "UNAUTHENTICATED") == 1
    assert calls("CreateJobExecution", "OK") == 1


async def test_with_proxy_auth_the_trusted_peer_names_the_caller() -> None:
    port = free_port()
    settings = example_settings(
        "--grpc-port", str(port), "--auth", "proxy", "--trusted-proxies", "127.0.0.1/32"
    )
    async with serve(settings) as gw, grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
        await wait_ready(gw)
        prow: Any = stubs.ProwStub(ch)
        request = pb.CreateJobExecutionRequest(job_name=PERIODIC, job_execution_type=pb.PERIODIC)
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await prow.CreateJobExecution(request)
        assert failed.value.code() is grpc.StatusCode.UNAUTHENTICATED
        headers = (("x-forwarded-user", "alice"), ("x-forwarded-groups", "github-org:example-org"))
        created = await prow.CreateJobExecution(request, metadata=headers)
        obj = await gw.app.state.gateway.store.get(created.id)
        assert obj["metadata"]["annotations"]["prow-graphql.prow.k8s.io/triggered-by"] == "alice"


async def test_on_the_kube_backend_create_watch_get_and_bulk(tmp_path: Path) -> None:
    port = free_port()
    async with (
        kube_gateway(tmp_path, "--grpc-port", str(port), "--enable-abort") as gw,
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch,
    ):
        await wait_ready(gw)
        prow: Any = stubs.ProwStub(ch)
        request = pb.CreateJobExecutionRequest(job_name=PERIODIC, job_execution_type=pb.PERIODIC)
        created = await prow.CreateJobExecution(request)
        got = await prow.GetJobExecution(pb.GetJobExecutionRequest(id=created.id))
        assert got.id == created.id  # from the cache, or from the API server if not there yet
        watched = [e async for e in prow.WatchJobExecution(pb.GetJobExecutionRequest(id=got.id))]
        assert watched[-1].job_status in (pb.SUCCESS, pb.FAILURE) and watched[-1].build_id
        listed = await prow.ListJobExecutions(pb.ListJobExecutionsRequest(job_name=PERIODIC))
        assert [e.id for e in listed.job_execution] == [created.id]
        change = pb.JobStatusChange(current=watched[-1].job_status, desired=pb.ERROR)
        await prow.BulkJobStatusChange(pb.BulkJobStatusChangeRequest(job_status_change=change))
        obj = await gw.app.state.gateway.store.get(created.id)
        assert obj["status"]["state"] == "error"
