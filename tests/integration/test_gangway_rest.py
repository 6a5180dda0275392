"""Gangway's REST/JSON API (/v1/...) over real sockets: bodies shaped like gangway's documentation
and OpenShift's published examples, gangway's validation errors, auth on and off."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from prow_graphql.store.base import ProwJobObject
from tests.harness import (
    EXAMPLE,
    RunningGateway,
    example_settings,
    metric_value,
    serve,
    wait_ready,
)

ORG, REPO = "example-org", "widgets"
SHA = "0123456789abcdef0123456789abcdef01234567"
PULL_SHA = "89abcdef0123456789abcdef0123456789abcdef"
PERIODIC = "periodic-widgets-nightly-e2e"
PRESUBMIT = "pull-widgets-unit"
POSTSUBMIT = "post-widgets-push-image"
TOKEN_ALICE = "alice-token-0123456789"  # a gangway client allowed GlobalDefaultID
TOKEN_BOB = "bob-token-0123456789ab"  # a gangway client allowed another tenant only
TOKEN_CAROL = "carol-token-0123456789"  # authenticated, but no gangway client


def presubmit(**overrides: Any) -> dict[str, Any]:
    """A presubmit request as gangway's docs write it (proto field names)."""
    body: dict[str, Any] = {
        "job_name": PRESUBMIT,
        "job_execution_type": "PRESUBMIT",
        "refs": {
            "org": ORG, "repo": REPO, "base_ref": "main", "base_sha": SHA,
            "pulls": [{"number": 42, "sha": PULL_SHA, "author": "alice"}],
        },
    }  # fmt: skip
    body.update(overrides)
    return body


async def stored(gw: RunningGateway) -> list[ProwJobObject]:
    page = await gw.app.state.gateway.store.list()
    items: list[ProwJobObject] = page.items
    return items


@pytest.fixture
async def gw() -> AsyncIterator[RunningGateway]:
    async with serve(example_settings("--env-allowlist", "PARAM_*")) as running:
        await wait_ready(running)
        yield running


@pytest.fixture
async def client(gw: RunningGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as c:
        yield c


async def sse(client: httpx.AsyncClient, path: str, **headers: str) -> list[dict[str, Any]]:
    """Every `execution` event of a watch stream, until the server ends it."""
    events: list[dict[str, Any]] = []
    async with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


# --- create ----------------------------------------------------------------------------------


async def test_openshift_periodic_example_with_the_type_as_a_string_number(
    gw: RunningGateway, client: httpx.AsyncClient
) -> None:
    # OpenShift's documented call: curl -H "Authorization: Bearer …" -d '{"job_name": "...",
    # "job_execution_type": "1"}' (curl's default form content type: gangway never looked at it;
    # the Authorization header, which no cross-site form can carry, is what lets it through).
    response = await client.post(
        "/v1/executions",
        content=json.dumps({"job_name": PERIODIC, "job_execution_type": "1"}),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "authorization": "Bearer not-checked-with-auth-none",
        },
    )
    assert response.status_code == 200, response.text
    execution = response.json()
    assert execution["job_name"] == PERIODIC
    assert execution["job_type"] == "PERIODIC"
    assert execution["job_status"] == "TRIGGERED"
    [obj] = await stored(gw)
    assert obj["metadata"]["name"] == execution["id"]
    assert obj["spec"]["type"] == "periodic" and "refs" not in obj["spec"]


async def test_presubmit_with_camel_case_names_records_shas_labels_and_annotations(
    gw: RunningGateway, client: httpx.AsyncClient
) -> None:
    body = {
        "jobName": PRESUBMIT,
        "jobExecutionType": 3,
        "refs": {
            "org": ORG, "repo": REPO, "baseRef": "main", "baseSha": SHA,
            "pulls": [{"number": "42", "sha": PULL_SHA, "author": "alice", "title": "Fix"}],
        },
        "podSpecOptions": {
            "envs": {"PARAM_SUITE": "smoke"},
            "labels": {"team": "widgets"},
            "annotations": {"ticket": "CI-1234"},
        },
        "someFutureField": True,  # unknown fields are ignored, as grpc-gateway does
    }  # fmt: skip
    response = await client.post("/v1/executions", json=body)
    assert response.status_code == 200, response.text
    execution = response.json()
    assert execution["job_type"] == "PRESUBMIT" and execution["job_status"] == "TRIGGERED"
    assert execution["refs"]["base_sha"] == SHA  # the request's refs, echoed
    assert execution["pod_spec_options"]["labels"] == {"team": "widgets"}
    [obj] = await stored(gw)
    refs = obj["spec"]["refs"]
    assert refs["base_sha"] == SHA and refs["pulls"][0]["sha"] == PULL_SHA
    assert refs["pulls"][0]["number"] == 42
    assert obj["metadata"]["labels"]["team"] == "widgets"
    assert obj["metadata"]["annotations"]["ticket"] == "CI-1234"
    env = {e["name"]: e["value"] for e in obj["spec"]["pod_spec"]["containers"][0]["env"]}
    assert env["PARAM_SUITE"] == "smoke"


async def test_postsubmit_runs_on_the_base_sha(
    gw: RunningGateway, client: httpx.AsyncClient
) -> None:
    body = presubmit(job_name=POSTSUBMIT, job_execution_type="POSTSUBMIT")
    body["refs"]["pulls"] = []
    response = await client.post("/v1/executions", json=body)
    assert response.status_code == 200, response.text
    [obj] = await stored(gw)
    assert obj["spec"]["type"] == "postsubmit" and obj["spec"]["refs"]["base_sha"] == SHA


def _without(path: str) -> dict[str, Any]:
    body = presubmit()
    body["refs"].pop(path)
    return body


# (body, HTTP status, gRPC code, message): gangway's messages, word for word.
VALIDATION = [
    ({"job_execution_type": "PERIODIC"}, 400, 3, "job_name field cannot be empty"),
    ({"job_name": PERIODIC}, 400, 3, "unsupported JobExecutionType: JOB_EXECUTION_TYPE_UNSPEC"),
    (presubmit(job_name=PERIODIC, job_execution_type="PERIODIC"), 400, 3,
     "periodic jobs cannot also have gitRefs"),
    ({"job_name": PRESUBMIT, "job_execution_type": "PRESUBMIT"}, 400, 3,
     'gitRefs must be defined for "PRESUBMIT"'),
    (_without("org"), 400, 3, "gitRefs: failed to validate: gitRefs: Org cannot be empty"),
    (_without("repo"), 400, 3, "gitRefs: failed to validate: gitRefs: Repo cannot be empty"),
    (_without("base_ref"), 400, 3, "gitRefs: failed to validate: gitRefs: BaseRef cannot be empty"),
    (_without("base_sha"), 400, 3, "gitRefs: failed to validate: gitRefs: BaseSha cannot be empty"),
    (presubmit(refs={"org": ORG, "repo": REPO, "base_ref": "main", "base_sha": SHA,
                     "pulls": [{"number": 1, "sha": "ABC"}]}), 400, 3,
     'gitRefs: failed to validate: pull: invalid SHA: "ABC"'),
    (presubmit(pod_spec_options={"envs": {"PARAM_X": ""}}), 400, 3,
     'invalid environment variable key/value pair: "PARAM_X", ""'),
    (presubmit(pod_spec_options={"labels": {"team": ""}}), 400, 3,
     'invalid label key/value pair: "team", ""'),
    (presubmit(pod_spec_options={"labels": {"team": "not valid!"}}), 400, 3,
     "invalid label: the following errors found"),
    (presubmit(pod_spec_options={"annotations": {"a": ""}}), 400, 3,
     'invalid annotation key/value pair: "a", ""'),
    # An unknown enum name is dropped like an unknown field (protojson's DiscardUnknown).
    (presubmit(job_execution_type="NOT_A_TYPE"), 400, 3, "unsupported JobExecutionType"),
    # Gangway's handler errors are plain Go errors: gRPC Unknown, HTTP 500.
    (presubmit(job_execution_type="BATCH"), 500, 2, "unsupported JobExecutionType type: BATCH"),
    (presubmit(refs={"org": ORG, "repo": REPO, "base_ref": "main", "base_sha": SHA}), 500, 2,
     "at least 1 Pulls is required"),
    (presubmit(job_name="no-such-job"), 500, 2,
     'failed to find associated presubmit job "no-such-job" from orgRepo "example-org/widgets"'),
    ({"job_name": "no-such-periodic", "job_execution_type": 1}, 500, 2,
     'failed to find associated periodic job "no-such-periodic"'),
    # The gateway's own contract on top: env names must be on --env-allowlist.
    (presubmit(pod_spec_options={"envs": {"SECRET": "x"}}), 400, 3, "may not be overridden"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "status", "code", "message"), VALIDATION)
async def test_gangway_validation_errors(
    gw: RunningGateway,
    client: httpx.AsyncClient,
    body: dict[str, Any],
    status: int,
    code: int,
    message: str,
) -> None:
    response = await client.post("/v1/executions", json=body)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["code"] == code and message in error["message"] and error["details"] == []
    assert await stored(gw) == []


async def test_a_body_that_is_not_a_json_object_is_invalid_argument(
    client: httpx.AsyncClient,
) -> None:
    for content in ("[1]", "{", '"x"'):
        response = await client.post(
            "/v1/executions", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400 and response.json()["code"] == 3, content


# --- read and watch --------------------------------------------------------------------------


async def test_get_and_watch_fill_build_id_url_and_refs(
    gw: RunningGateway, client: httpx.AsyncClient
) -> None:
    created = (await client.post("/v1/executions", json=presubmit())).json()
    events = await sse(client, f"/v1/executions/{created['id']}/watch")
    statuses = [e["job_status"] for e in events]
    assert statuses[-1] in ("SUCCESS", "FAILURE") and "PENDING" in statuses
    final = events[-1]
    assert final["build_id"] and final["job_url"].startswith("https://prow.example.com/view/")
    assert "completion_time" in final and final["create_time"].endswith("Z")

    got = (await client.get(f"/v1/executions/{created['id']}")).json()
    assert got["id"] == created["id"] and got["build_id"] == final["build_id"]
    assert got["refs"]["base_sha"] == SHA and got["refs"]["pulls"][0]["sha"] == PULL_SHA

    missing = await client.get("/v1/executions/no-such-id")
    assert missing.status_code == 404 and missing.json()["code"] == 5
    missing = await client.get("/v1/executions/no-such-id/watch")
    assert missing.status_code == 404 and missing.json()["code"] == 5


async def test_list_filters_orders_newest_first_and_pages(
    gw: RunningGateway, client: httpx.AsyncClient
) -> None:
    ids = []
    for _ in range(3):
        created = await client.post("/v1/executions", json=presubmit())
        ids.append(created.json()["id"])
    await client.post("/v1/executions", json={"job_name": PERIODIC, "job_execution_type": 1})
    for execution_id in ids:  # wait until each has finished
        await sse(client, f"/v1/executions/{execution_id}/watch")

    listed = (await client.get("/v1/executions", params={"job_name": PRESUBMIT})).json()
    executions = listed["job_execution"]
    assert {e["id"] for e in executions} == set(ids)
    stamps = [e["create_time"] for e in executions]
    assert stamps == sorted(stamps, reverse=True)
    assert "next_page_token" not in listed

    done = executions[0]["job_status"]
    for status in (done, {"SUCCESS": "3", "FAILURE": "4"}[done]):
        page = (await client.get("/v1/executions", params={"status": status})).json()
        assert all(e["job_status"] == done for e in page["job_execution"])

    first = await client.get("/v1/executions", params={"job_name": PRESUBMIT, "page_size": 2})
    first_page = first.json()
    assert len(first_page["job_execution"]) == 2 and first_page["next_page_token"]
    second = await client.get(
        "/v1/executions",
        params={"job_name": PRESUBMIT, "pageSize": "2", "pageToken": first_page["next_page_token"]},
    )
    rest = second.json()
    assert len(rest["job_execution"]) == 1 and "next_page_token" not in rest
    paged = [e["id"] for e in first_page["job_execution"] + rest["job_execution"]]
    assert paged == [e["id"] for e in executions]

    bad = await client.get("/v1/executions", params={"status": "NOPE"})
    assert bad.status_code == 400 and bad.json()["code"] == 3


# --- bulk status change ----------------------------------------------------------------------


async def test_bulk_status_change_aborts_matching_triggered_jobs() -> None:
    settings = example_settings("--enable-abort", "--sim-pending-after", "60")
    async with serve(settings) as gw, httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        await wait_ready(gw)
        pre = (await client.post("/v1/executions", json=presubmit())).json()
        periodic = {"job_name": PERIODIC, "job_execution_type": 1}
        per = (await client.post("/v1/executions", json=periodic)).json()
        body = {
            "job_status_change": {"current": "TRIGGERED", "desired": "ABORTED"},
            "job_type": "PRESUBMIT",
            "refs": {"org": ORG, "repo": REPO},
            "started_after": "2020-01-01T00:00:00Z",
        }
        for _ in range(100):  # the informer must have seen the new job
            if gw.app.state.gateway.service.get(pre["id"]) is not None:
                break
            await asyncio.sleep(0.02)
        response = await client.post("/v1/bulk-job-status-update", json=body)
        assert response.status_code == 200 and response.json() == {}, response.text
        states = {o["metadata"]["name"]: o["status"]["state"] for o in await stored(gw)}
        assert states == {pre["id"]: "aborted", per["id"]: "triggered"}

        for bad, message in (
            ({"job_status_change": {"desired": "ABORTED"}}, "current status is unspecified"),
            ({"job_status_change": {"current": 1}}, "desired status is unspecified"),
        ):
            response = await client.post("/v1/bulk-job-status-update", json=bad)
            assert response.status_code == 400 and response.json()["message"] == message


async def test_bulk_status_change_needs_enable_abort(client: httpx.AsyncClient) -> None:
    await client.post("/v1/executions", json={"job_name": PERIODIC, "job_execution_type": 1})
    body = {"job_status_change": {"current": "TRIGGERED", "desired": "ABORTED"}}
    for _ in range(100):
        response = await client.post("/v1/bulk-job-status-update", json=body)
        if response.status_code != 200:
            break
        await asyncio.sleep(0.02)
    assert response.status_code == 403 and "--enable-abort" in response.json()["message"]


# --- authentication and tenants --------------------------------------------------------------


def tenant_settings(tmp_path: Path) -> Any:
    """Token auth; config.yaml with gangway clients named by the tokens' groups."""
    config = tmp_path / "config.yaml"
    config.write_text(
        (EXAMPLE / "config.yaml").read_text() + "\ngangway:\n  allowed_api_clients:\n"
        "    - gcp: {endpoint_api_consumer_type: PROJECT, endpoint_api_consumer_number: '111'}\n"
        "      allowed_jobs_filters: [{tenant_id: GlobalDefaultID}]\n"
        "    - gcp: {endpoint_api_consumer_type: PROJECT, endpoint_api_consumer_number: '222'}\n"
        "      allowed_jobs_filters: [{tenant_id: other-tenant}]\n"
    )
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        "tokens:\n"
        f"  - {{user: alice, token: {TOKEN_ALICE},"
        " groups: ['github-org:example-org', 'gcp-PROJECT-111']}\n"
        f"  - {{user: bob, token: {TOKEN_BOB}, groups: ['github-org:example-org', '222']}}\n"
        f"  - {{user: carol, token: {TOKEN_CAROL}, groups: ['github-org:example-org']}}\n"
    )
    return example_settings(
        "--config-path", str(config), "--auth", "token", "--token-file", str(tokens),
        "--enable-abort", "--sim-pending-after", "60",
    )  # fmt: skip


async def test_with_auth_every_route_needs_a_token_and_tenants_decide(tmp_path: Path) -> None:
    async with (
        serve(tenant_settings(tmp_path)) as gw,
        httpx.AsyncClient(base_url=gw.url, timeout=30) as client,
    ):
        await wait_ready(gw)
        for method, path in (("POST", "/v1/executions"), ("GET", "/v1/executions"),
                             ("GET", "/v1/executions/x"), ("GET", "/v1/executions/x/watch"),
                             ("POST", "/v1/bulk-job-status-update")):  # fmt: skip
            response = await client.request(method, path, json=presubmit())
            assert response.status_code == 401, (method, path)

        def auth(token: str) -> dict[str, str]:
            return {"authorization": f"Bearer {token}"}

        response = await client.post("/v1/executions", json=presubmit(), headers=auth(TOKEN_BOB))
        assert response.status_code == 403, response.text
        assert response.json() == {
            "code": 7, "message": "client is not authorized to execute the given job",
            "details": [],
        }  # fmt: skip
        response = await client.post("/v1/executions", json=presubmit(), headers=auth(TOKEN_CAROL))
        assert response.status_code == 400 and "could not find allowed client" in response.text
        assert await stored(gw) == []

        response = await client.post("/v1/executions", json=presubmit(), headers=auth(TOKEN_ALICE))
        assert response.status_code == 200, response.text
        [obj] = await stored(gw)
        assert obj["metadata"]["annotations"]["prow-graphql.prow.k8s.io/triggered-by"] == "alice"
        listed = await client.get("/v1/executions", headers=auth(TOKEN_CAROL))
        assert [e["id"] for e in listed.json()["job_execution"]] == [obj["metadata"]["name"]]

        # Bulk: bob's client may not touch GlobalDefaultID jobs (skipped); carol is no client.
        bulk = {"job_status_change": {"current": "TRIGGERED", "desired": "ABORTED"}}
        response = await client.post("/v1/bulk-job-status-update", json=bulk,
                                     headers=auth(TOKEN_CAROL))  # fmt: skip
        assert response.status_code == 400 and "could not find allowed client" in response.text
        response = await client.post("/v1/bulk-job-status-update", json=bulk,
                                     headers=auth(TOKEN_BOB))  # fmt: skip
        assert response.status_code == 200, response.text
        assert [o["status"]["state"] for o in await stored(gw)] == ["triggered"]
        response = await client.post("/v1/bulk-job-status-update", json=bulk,
                                     headers=auth(TOKEN_ALICE))  # fmt: skip
        assert response.status_code == 200, response.text
        assert [o["status"]["state"] for o in await stored(gw)] == ["aborted"]


async def test_proxy_auth_accepts_only_json_bodies() -> None:
    settings = example_settings("--auth", "proxy", "--trusted-proxies", "127.0.0.1/32")
    async with serve(settings) as gw, httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        await wait_ready(gw)
        headers = {"x-forwarded-user": "alice", "x-forwarded-groups": "github-org:example-org"}
        # Behind the proxy an Authorization header may come from the user's cookie: no pass.
        form = {**headers, "content-type": "text/plain", "authorization": "Bearer from-proxy"}
        response = await client.post("/v1/executions", content=json.dumps(presubmit()),
                                     headers=form)  # fmt: skip
        assert response.status_code == 415 and "application/json" in response.text
        response = await client.post("/v1/executions", json=presubmit(), headers=headers)
        assert response.status_code == 200, response.text


async def test_calls_are_counted_in_metrics_by_method_and_status_code() -> None:
    # --metrics-port equal to --port: /metrics is served beside the API.
    settings = example_settings("--port", "8080", "--metrics-port", "8080")
    async with serve(settings) as gw, httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        await wait_ready(gw)
        assert (await client.post("/v1/executions", json=presubmit())).status_code == 200
        assert (await client.get("/v1/executions/nope")).status_code == 404
        assert (await client.get("/v1/executions/nope/watch")).status_code == 404
        # gangway answers an unknown presubmit with a plain error: UNKNOWN, HTTP 500.
        bad = await client.post("/v1/executions", json=presubmit(job_name="no-such-job"))
        assert bad.status_code == 500 and bad.json()["code"] == 2
        exposition = (await client.get("/metrics")).text

    def calls(method: str, code: str) -> float:
        labels = {"transport": "rest", "method": method, "code": code}
        return metric_value(exposition, "prow_graphql_gangway_requests_total", **labels)

    assert calls("CreateJobExecution", "OK") == 1
    assert calls("CreateJobExecution", "UNKNOWN") == 1
    assert calls("GetJobExecution", "NOT_FOUND") == 1
    assert calls("WatchJobExecution", "NOT_FOUND") == 1
    assert calls("ListJobExecutions", "OK") == 0
    latency = {"transport": "rest", "method": "CreateJobExecution"}
    count = "prow_graphql_gangway_request_duration_seconds_count"
    assert metric_value(exposition, count, **latency) == 2
