"""Attack 5, continued: hidden ProwJobs through gangway (REST and gRPC) and the prowJobLog
subscription. A caller outside --hidden-jobs-group must get, for a hidden ProwJob, exactly the
answer an unknown one gets, and lists and bulk changes must pass over it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from prow_graphql.gangway import codegen
from tests.harness import RunningGateway, TransportWSClient, example_settings, serve, wait_ready
from tests.integration.test_gangway_grpc import free_port
from tests.security.common import ALICE, HIDDEN_GROUP, ROOT_TOKEN, bearer, token_file
from tests.security.test_hidden_jobs import HIDDEN_PERIODIC, VISIBLE, hidden_config, trigger_all

pb, stubs = codegen.generated()
UNKNOWN = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[tuple[RunningGateway, int]]:
    root = hidden_config(tmp_path)
    port = free_port()
    settings = example_settings(
        "--config-path", str(root / "config.yaml"), "--job-config-path", str(root / "jobs"),
        "--auth", "token", "--token-file", str(token_file(tmp_path)),
        "--hidden-jobs-group", HIDDEN_GROUP, "--sim-pending-after", "30",
        "--grpc-port", str(port), "--enable-abort",
    )  # fmt: skip
    async with serve(settings) as gw:
        await wait_ready(gw)
        yield gw, port


def same_answer(hidden: httpx.Response, unknown: httpx.Response, name: str) -> None:
    """Both answers alike once the asked-for name is taken out."""
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.text.replace(name, UNKNOWN) == unknown.text


async def test_rest_get_list_and_watch_hide_hidden_executions(
    gateway: tuple[RunningGateway, int],
) -> None:
    gw, _ = gateway
    names = await trigger_all(gw)
    hidden = [n for job, n in names.items() if job != VISIBLE]
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:
        for name in hidden:
            for path in ("/v1/executions/{}", "/v1/executions/{}/watch"):
                answer = await client.get(path.format(name), headers=bearer(ALICE))
                unknown = await client.get(path.format(UNKNOWN), headers=bearer(ALICE))
                same_answer(answer, unknown, name)
            member = await client.get(f"/v1/executions/{name}", headers=bearer(ROOT_TOKEN))
            assert member.status_code == 200 and member.json()["id"] == name
        listed = await client.get("/v1/executions", headers=bearer(ALICE))
        assert [e["id"] for e in listed.json()["job_execution"]] == [names[VISIBLE]]
        everything = await client.get("/v1/executions", headers=bearer(ROOT_TOKEN))
        assert {e["id"] for e in everything.json()["job_execution"]} == set(names.values())


async def test_grpc_get_list_watch_and_bulk_pass_over_hidden_executions(
    gateway: tuple[RunningGateway, int],
) -> None:
    gw, port = gateway
    names = await trigger_all(gw)
    alice = (("authorization", f"Bearer {ALICE}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        prow: Any = stubs.ProwStub(channel)

        async def refusal(call: Any, name: str) -> tuple[grpc.StatusCode, str]:
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                result = call(pb.GetJobExecutionRequest(id=name), metadata=alice)
                if hasattr(result, "__aiter__"):
                    _ = [u async for u in result]
                else:
                    await result
            return failed.value.code(), (failed.value.details() or "").replace(name, UNKNOWN)

        for name in (names[HIDDEN_PERIODIC], names["pull-gadgets-unit"]):
            for call in (prow.GetJobExecution, prow.WatchJobExecution):
                hidden = await refusal(call, name)
                assert hidden == await refusal(call, UNKNOWN)
                assert hidden[0] == grpc.StatusCode.NOT_FOUND
        listed = await prow.ListJobExecutions(pb.ListJobExecutionsRequest(), metadata=alice)
        assert [e.id for e in listed.job_execution] == [names[VISIBLE]]


async def test_grpc_bulk_change_passes_over_hidden_executions(
    gateway: tuple[RunningGateway, int],
) -> None:
    gw, port = gateway
    names = await trigger_all(gw)
    alice = (("authorization", f"Bearer {ALICE}"),)
    root = (("authorization", f"Bearer {ROOT_TOKEN}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        prow: Any = stubs.ProwStub(channel)
        # Alice aborts every triggered job she may: the hidden ones must be left alone.
        change = pb.JobStatusChange(current=pb.TRIGGERED, desired=pb.ABORTED)
        await prow.BulkJobStatusChange(
            pb.BulkJobStatusChangeRequest(job_status_change=change), metadata=alice
        )
        for job, name in names.items():
            got = await prow.GetJobExecution(pb.GetJobExecutionRequest(id=name), metadata=root)
            assert (got.job_status == pb.ABORTED) is (job == VISIBLE), (job, got.job_status)


async def test_create_of_a_hidden_job_answers_as_for_an_unknown_job(
    gateway: tuple[RunningGateway, int],
) -> None:
    gw, _ = gateway
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:

        async def create(token: str, job: str) -> httpx.Response:
            body = {"job_name": job, "job_execution_type": "PERIODIC"}
            return await client.post("/v1/executions", json=body, headers=bearer(token))

        hidden = await create(ALICE, HIDDEN_PERIODIC)
        unknown = await create(ALICE, "periodic-no-such-job")
        assert hidden.status_code == unknown.status_code == 500
        assert hidden.json()["message"].replace(HIDDEN_PERIODIC, "X") == unknown.json()[
            "message"
        ].replace("periodic-no-such-job", "X")
        assert (await create(ROOT_TOKEN, HIDDEN_PERIODIC)).status_code == 200


async def test_grpc_create_of_a_hidden_job_answers_as_for_an_unknown_job(
    gateway: tuple[RunningGateway, int],
) -> None:
    _, port = gateway
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        prow: Any = stubs.ProwStub(channel)

        async def refused(token: str, job: str) -> grpc.aio.AioRpcError:
            request = pb.CreateJobExecutionRequest(job_name=job, job_execution_type=pb.PERIODIC)
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await prow.CreateJobExecution(request, metadata=grpc_bearer(token))
            return failed.value

        hidden = await refused(ALICE, HIDDEN_PERIODIC)
        unknown = await refused(ALICE, "periodic-no-such-job")
        assert hidden.code() == unknown.code()
        assert (hidden.details() or "").replace(HIDDEN_PERIODIC, "X") == (
            unknown.details() or ""
        ).replace("periodic-no-such-job", "X")
        request = pb.CreateJobExecutionRequest(
            job_name=HIDDEN_PERIODIC, job_execution_type=pb.PERIODIC
        )
        created = await prow.CreateJobExecution(request, metadata=grpc_bearer(ROOT_TOKEN))
        assert created.id and created.job_name == HIDDEN_PERIODIC


def grpc_bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def test_prow_job_log_of_a_hidden_prowjob_answers_as_for_an_unknown_one(
    gateway: tuple[RunningGateway, int],
) -> None:
    gw, _ = gateway
    names = await trigger_all(gw)
    document = 'subscription { prowJobLog(name: "%s") { kind message } }'
    answers = []
    async with TransportWSClient.connect(gw.ws_url, {"Authorization": f"Bearer {ALICE}"}) as ws:
        for name in (names["pull-gadgets-unit"], UNKNOWN):
            op = await ws.subscribe(document % name)
            message = await ws.receive()
            assert message["id"] == op and message["type"] == "next", message
            answers.append(json.dumps(message["payload"]).replace(name, "NAME"))
            assert (await ws.receive())["type"] == "complete"
    assert answers[0] == answers[1] and "no ProwJob named" in answers[0], answers
