"""Gangway must not escape the caps every GraphQL transport has: bounded List pages and
--max-response-bytes, --max-subscriptions-per-identity for REST and gRPC watches,
--max-body-bytes for gRPC messages, and bounded request ids in error messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest

from prow_graphql import rest
from prow_graphql.gangway import codegen
from prow_graphql.gangway.api import GangwayApi
from tests.harness import RunningGateway, example_settings, serve, wait_ready
from tests.integration.test_gangway_grpc import PERIODIC, free_port

pb, stubs = codegen.generated()


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[RunningGateway, int]]:
    port = free_port()
    settings = example_settings(
        "--grpc-port", str(port), "--sim-pending-after", "30",
        "--max-subscriptions-per-identity", "1", "--max-body-bytes", "4096",
        "--max-response-bytes", "1500",
    )  # fmt: skip
    async with serve(settings) as gw:
        await wait_ready(gw)
        yield gw, port


async def create_periodic(client: httpx.AsyncClient) -> str:
    body = {"job_name": PERIODIC, "job_execution_type": "PERIODIC"}
    response = await client.post("/v1/executions", json=body)
    assert response.status_code == 200, response.text
    name: str = response.json()["id"]
    return name


async def test_list_pages_are_bounded_and_capped_in_bytes(
    gateway: tuple[RunningGateway, int],
) -> None:
    gw, _ = gateway
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        for _ in range(12):
            await create_periodic(client)
        small = await client.get("/v1/executions", params={"page_size": 3})
        assert small.status_code == 200 and len(small.json()["job_execution"]) == 3
        # 12 executions are more than --max-response-bytes 1500: refused, not sent.
        whole = await client.get("/v1/executions")
        assert whole.status_code == 429, whole.text
        assert whole.json()["code"] == 8 and "--max-response-bytes" in whole.json()["message"]


async def test_page_size_zero_means_a_default_page_not_everything() -> None:
    # A gateway with the default response cap, and more executions than one default page.
    async with (
        serve(example_settings("--sim-pending-after", "30")) as big,
        httpx.AsyncClient(base_url=big.url, timeout=30) as client,
    ):
        await wait_ready(big)
        for _ in range(52):
            await create_periodic(client)
        page = (await client.get("/v1/executions", params={"page_size": 0})).json()
        assert len(page["job_execution"]) == 50 and page["next_page_token"]
        rest = await client.get("/v1/executions", params={"page_token": page["next_page_token"]})
        assert len(rest.json()["job_execution"]) == 2


async def test_watches_count_against_the_subscription_cap(
    gateway: tuple[RunningGateway, int],
) -> None:
    gw, port = gateway
    async with (
        httpx.AsyncClient(base_url=gw.url, timeout=30) as client,
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        prow: Any = stubs.ProwStub(channel)
        name = await create_periodic(client)
        path = f"/v1/executions/{name}/watch"
        async with client.stream("GET", path) as first:
            assert first.status_code == 200
            lines = first.aiter_lines()  # kept open: closing it would end the stream
            while not (await anext(lines)).startswith("data: "):
                pass  # the watch is open and counted once its first event arrives
            second = await client.get(path)
            assert second.status_code == 429 and second.json()["code"] == 8, second.text
            assert "--max-subscriptions-per-identity" in second.json()["message"]
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                _ = [u async for u in prow.WatchJobExecution(pb.GetJobExecutionRequest(id=name))]
            assert failed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # Closed: the count is released, and a watch over gRPC is admitted.
        updates = prow.WatchJobExecution(pb.GetJobExecutionRequest(id=name))
        assert (await anext(aiter(updates))).id == name
        updates.cancel()


async def test_grpc_messages_are_bounded_by_max_body_bytes(
    gateway: tuple[RunningGateway, int],
) -> None:
    _, port = gateway
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        prow: Any = stubs.ProwStub(channel)
        options = pb.PodSpecOptions(envs={"PAD": "x" * 8000})
        request = pb.CreateJobExecutionRequest(
            job_name=PERIODIC, job_execution_type=pb.PERIODIC, pod_spec_options=options
        )
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await prow.CreateJobExecution(request)
        assert failed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_internal_errors_quote_only_a_bounded_request_id(
    gateway: tuple[RunningGateway, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    gw, _ = gateway

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(GangwayApi, "get", broken)
    monkeypatch.setattr(rest, "parse_fields", broken)
    huge = "A" * 5000
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        for method, path in (("GET", "/v1/executions/x"), ("POST", "/manual-trigger")):
            body = {"org": "example-org", "repo": "widgets", "job": PERIODIC}
            json_body = body if method == "POST" else None
            answer = await client.request(
                method, path, json=json_body, headers={"x-request-id": huge}
            )
            assert answer.status_code == 500, answer.text
            assert huge not in answer.text and len(answer.text) < 300, answer.text
            ok = await client.request(
                method, path, json=json_body, headers={"x-request-id": "req-42"}
            )
            assert "req-42" in ok.text
