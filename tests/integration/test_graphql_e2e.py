"""End to end over real sockets, on both backends: browse, trigger, follow, typed errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.harness import (
    EXAMPLE,
    KUBEVIRT,
    RunningGateway,
    TransportWSClient,
    example_settings,
    fields,
    parse_serve_args,
    serve,
    wait_ready,
)

ORG, REPO = "example-org", "widgets"
PRESUBMIT = "pull-widgets-unit"
POSTSUBMIT = "post-widgets-push-image"
PRESUBMIT_ONLY = "pull-widgets-lint"  # defined only as a presubmit: run-as-postsubmit case
PERIODIC = "periodic-widgets-nightly-e2e"

TRIGGER = """
mutation Trigger($input: TriggerJobInput!) {
  triggerJob(input: $input) {
    __typename
    ... on TriggerJobSuccess {
      dryRun statusLink logLink manifest
      prowJob { name type job state buildId triggeredBy refs { org repo baseRef repoLink
                pulls { number link } } labels { key value } }
    }
    ... on Error { message }
    ... on InvalidInput { field reason }
    ... on AmbiguousJob { candidates }
    ... on PullRequestRequired { field }
  }
}
"""

FOLLOW = """
subscription Follow($name: String!) {
  prowJobUpdated(name: $name) { name state buildId url pendingTime completionTime }
}
"""

EVENTS = """
subscription Events($filter: ProwJobFilter) {
  prowJobEvents(filter: $filter) { type snapshot prowJob { name state buildId } }
}
"""


async def trigger(gw: RunningGateway, **fields_: Any) -> dict[str, Any]:
    body = await gw.query(TRIGGER, {"input": fields_})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["triggerJob"]
    return result


async def test_lists_configured_jobs_of_a_repo(gateway: RunningGateway) -> None:
    body = await gateway.query(
        "query($o: String!, $r: String!) { repo(org: $o, repo: $r) { org repo fullName "
        "presubmits { name type context alwaysRun branches containers { image } } "
        "postsubmits { name type } } }",
        {"o": ORG, "r": REPO},
    )
    repo = body["data"]["repo"]
    assert repo["fullName"] == f"{ORG}/{REPO}"
    names = {j["name"] for j in repo["presubmits"]}
    assert {PRESUBMIT, PRESUBMIT_ONLY} <= names
    assert all(j["type"] == "PRESUBMIT" for j in repo["presubmits"])
    unit = next(j for j in repo["presubmits"] if j["name"] == PRESUBMIT)
    assert unit["context"] == PRESUBMIT  # Prow defaults context to the job name
    assert unit["containers"] and unit["containers"][0]["image"]
    assert POSTSUBMIT in {j["name"] for j in repo["postsubmits"]}


async def test_presubmit_trigger_then_follow_to_success(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    result = await trigger(
        gateway,
        org=ORG,
        repo=REPO,
        job=PRESUBMIT,
        type="PRESUBMIT",
        baseRef="main",
        pullRequest={"number": 42},
        author="alice",
    )
    assert result["__typename"] == "TriggerJobSuccess", result
    job = result["prowJob"]
    assert job["type"] == "PRESUBMIT" and job["job"] == PRESUBMIT
    assert job["state"] == "TRIGGERED" and job["buildId"] is None
    assert job["triggeredBy"] == "alice"
    assert job["refs"]["pulls"] == [
        {"number": 42, "link": f"https://github.com/{ORG}/{REPO}/pull/42"}
    ]
    labels = {kv["key"]: kv["value"] for kv in job["labels"]}
    assert labels["prow.k8s.io/refs.pull"] == "42"
    assert labels["prow.k8s.io/type"] == "presubmit"
    envs = [
        e
        for c in result["manifest"]["spec"]["pod_spec"]["containers"]
        for e in c.get("env", [])
        if e["name"] == "AUTHOR"
    ]
    assert envs and all(e["value"] == "alice" for e in envs)

    async with TransportWSClient.connect(gateway.ws_url) as client:
        op = await client.subscribe(FOLLOW, {"name": job["name"]})
        updates = await client.collect(op)
    states = fields(updates, "prowJobUpdated", "state")
    # The subscription may join after TRIGGERED has passed, but never skips the final state
    # and never goes backwards.
    order = ["TRIGGERED", "PENDING", "SUCCESS"]
    assert states[-1] == "SUCCESS"
    assert [order.index(s) for s in states] == sorted(order.index(s) for s in states)
    final = updates[-1]["data"]["prowJobUpdated"]
    assert final["buildId"] and final["buildId"].isdigit()
    assert final["completionTime"] is not None and final["pendingTime"] is not None


async def test_subscription_sees_every_state_in_order(gateway: RunningGateway) -> None:
    """Subscribing to the feed before triggering shows TRIGGERED, PENDING (BuildID), SUCCESS."""
    await wait_ready(gateway)
    async with TransportWSClient.connect(gateway.ws_url) as client:
        op = await client.subscribe(EVENTS, {"filter": {"job": POSTSUBMIT}})
        await asyncio.sleep(0.05)  # let the subscription register before the job exists
        result = await trigger(
            gateway, org=ORG, repo=REPO, job=POSTSUBMIT, type="POSTSUBMIT", baseRef="main"
        )
        name = result["prowJob"]["name"]
        seen: list[tuple[str, str, str | None]] = []
        async with asyncio.timeout(20):
            while not seen or seen[-1][1] != "SUCCESS":
                message = await client.receive()
                assert message["id"] == op and message["type"] == "next", message
                event = message["payload"]["data"]["prowJobEvents"]
                assert event["prowJob"]["name"] == name
                seen.append((event["type"], event["prowJob"]["state"], event["prowJob"]["buildId"]))
    assert seen[0][:2] == ("ADDED", "TRIGGERED")
    pending = [s for s in seen if s[1] == "PENDING"]
    assert pending and pending[0][2] and pending[0][2].isdigit()
    assert [s[1] for s in seen] == ["TRIGGERED", "PENDING", "SUCCESS"]


async def test_presubmit_run_as_postsubmit(gateway: RunningGateway) -> None:
    result = await trigger(
        gateway, org=ORG, repo=REPO, job=PRESUBMIT_ONLY, type="POSTSUBMIT", baseRef="main"
    )
    assert result["__typename"] == "TriggerJobSuccess", result
    assert result["prowJob"]["type"] == "POSTSUBMIT"
    assert result["prowJob"]["refs"]["pulls"] == []
    assert "rerun_command" not in result["manifest"]["spec"]


async def test_dry_run_creates_nothing(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    before = await gateway.query("{ prowJobs { totalCount } }")
    result = await trigger(
        gateway, org=ORG, repo=REPO, job=POSTSUBMIT, type="POSTSUBMIT", baseRef="main", dryRun=True
    )
    assert result["__typename"] == "TriggerJobSuccess" and result["dryRun"] is True
    assert result["manifest"]["kind"] == "ProwJob"
    assert result["manifest"]["spec"]["job"] == POSTSUBMIT
    await asyncio.sleep(0.2)  # a created job would reach the cache well within this
    name = result["prowJob"]["name"]
    assert (await gateway.query("query($n: String!) { prowJob(name: $n) { name } }", {"n": name}))[
        "data"
    ]["prowJob"] is None
    after = await gateway.query("{ prowJobs { totalCount } }")
    assert after == before


@pytest.mark.parametrize(
    ("input_", "typename", "needle"),
    [
        (
            {"org": ORG, "repo": REPO, "job": "no-such-job", "type": "PRESUBMIT",
             "baseRef": "main", "pullRequest": {"number": 1}},
            "JobNotFound",
            "no-such-job",
        ),
        (
            {"org": ORG, "repo": REPO, "job": PRESUBMIT, "type": "PRESUBMIT", "baseRef": "main"},
            "PullRequestRequired",
            "pullRequest",
        ),
        (
            {"org": "", "repo": REPO, "job": PRESUBMIT, "type": "POSTSUBMIT", "baseRef": "main"},
            "InvalidInput",
            "input.org",
        ),
        (
            {"org": ORG, "repo": REPO, "job": PRESUBMIT, "type": "PRESUBMIT", "baseRef": "main",
             "pullRequest": {"number": 3, "sha": "not-a-sha"}},
            "InvalidInput",
            "input.pullRequest.sha",
        ),
        (
            {"org": ORG, "repo": REPO, "job": PRESUBMIT, "type": "PRESUBMIT", "baseRef": "main",
             "pullRequest": {"number": -5}},
            "InvalidInput",
            "input.pullRequest.number",
        ),
        (
            {"org": ORG, "repo": REPO, "job": POSTSUBMIT, "type": "POSTSUBMIT", "baseRef": ""},
            "InvalidInput",
            "input.baseRef",
        ),
    ],
)  # fmt: skip
async def test_typed_errors_create_nothing(
    gateway: RunningGateway, input_: dict[str, Any], typename: str, needle: str
) -> None:
    await wait_ready(gateway)
    result = await trigger(gateway, **input_)
    assert result["__typename"] == typename, result
    assert needle in result["message"]
    if typename == "InvalidInput":
        assert result["field"] == needle
    await asyncio.sleep(0.1)
    assert (await gateway.query("{ prowJobs { totalCount } }"))["data"]["prowJobs"][
        "totalCount"
    ] == 0


async def test_ambiguous_job(tmp_path: Path) -> None:
    """Two same-named presubmits whose branch regexes differ as strings but both match `main`."""
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "dup.yaml").write_text(
        json.dumps(
            {
                "presubmits": {
                    "o/r": [
                        {"name": "dup", "branches": ["main"], "spec": _spec()},
                        {"name": "dup", "branches": ["^main$"], "spec": _spec()},
                    ]
                }
            }
        )
    )
    (tmp_path / "config.yaml").write_text("prowjob_namespace: default\n")
    settings = parse_serve_args(
        ["--config-path", str(tmp_path / "config.yaml"), "--job-config-path", str(jobs),
         "--backend", "memory", "--dev"]
    )  # fmt: skip
    async with serve(settings) as gw:
        result = await trigger(
            gw, org="o", repo="r", job="dup", type="PRESUBMIT", baseRef="main",
            pullRequest={"number": 1},
        )  # fmt: skip
        assert result["__typename"] == "AmbiguousJob", result
        assert len(result["candidates"]) == 2
        # A branch only one of them matches is not ambiguous.
        result = await trigger(
            gw, org="o", repo="r", job="dup", type="PRESUBMIT", baseRef="main-2",
            pullRequest={"number": 1},
        )  # fmt: skip
        assert result["__typename"] == "TriggerJobSuccess", result


def _spec() -> dict[str, Any]:
    return {"containers": [{"image": "alpine:3.20", "command": ["true"]}]}


async def test_prowjobs_connection_pages_newest_first(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    names = []
    for _ in range(3):
        result = await trigger(
            gateway, org=ORG, repo=REPO, job=POSTSUBMIT, type="POSTSUBMIT", baseRef="main"
        )
        names.append(result["prowJob"]["name"])
        await asyncio.sleep(1.05)  # startTime has second precision: make the order observable
    query = (
        "query($after: String, $job: String) { prowJobs(first: 2, after: $after, "
        "filter: {job: $job}) { totalCount pageInfo { hasNextPage endCursor } "
        "edges { node { name } } } }"
    )
    first = (await gateway.query(query, {"job": POSTSUBMIT}))["data"]["prowJobs"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["name"] for e in first["edges"]] == names[::-1][:2]
    rest = (
        await gateway.query(query, {"job": POSTSUBMIT, "after": first["pageInfo"]["endCursor"]})
    )["data"]["prowJobs"]
    assert [e["node"]["name"] for e in rest["edges"]] == names[:1]
    assert rest["pageInfo"]["hasNextPage"] is False
    bad = await gateway.query(query, {"job": POSTSUBMIT, "after": "garbage!"})
    assert "after" in bad["errors"][0]["message"]


async def test_legacy_graphql_ws_protocol(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    result = await trigger(
        gateway, org=ORG, repo=REPO, job=POSTSUBMIT, type="POSTSUBMIT", baseRef="main"
    )
    name = result["prowJob"]["name"]
    async with websockets.connect(gateway.ws_url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "start",
                    "payload": {"query": FOLLOW, "variables": {"name": name}},
                }
            )
        )
        states = []
        async with asyncio.timeout(20):
            while True:
                message = json.loads(await ws.recv())
                if message["type"] in ("connection_ack", "ka"):
                    continue
                if message["type"] == "complete":
                    break
                assert message["type"] == "data", message
                states.append(message["payload"]["data"]["prowJobUpdated"]["state"])
    assert states[-1] == "SUCCESS"


async def test_follow_unknown_job_is_an_error(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    settings_wait = gateway.app.state.gateway.service
    settings_wait._follow_wait = 0.2
    async with TransportWSClient.connect(gateway.ws_url) as client:
        op = await client.subscribe(FOLLOW, {"name": "does-not-exist"})
        message = await client.receive()
    assert message["id"] == op
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert "does-not-exist" in errors[0]["message"]


async def test_health_and_readiness(gateway: RunningGateway) -> None:
    await wait_ready(gateway)
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        assert (await client.get("/healthz")).json() == {"ok": True}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True


async def test_kubevirt_config_lists_its_largest_repo() -> None:
    if not KUBEVIRT.is_dir():
        pytest.skip(f"{KUBEVIRT} is not present beside the repository")
    settings = parse_serve_args(
        ["--config-path", str(KUBEVIRT / "config.yaml"),
         "--job-config-path", str(KUBEVIRT / "jobs"), "--backend", "memory", "--dev"]
    )  # fmt: skip
    async with serve(settings) as gw:
        index = gw.app.state.gateway.config.index
        expected = [j.name for j in index.presubmits("kubevirt/kubevirt")]
        body = await gw.query(
            '{ repo(org: "kubevirt", repo: "kubevirt") { presubmits { name cluster decorate } } }'
        )
        got = body["data"]["repo"]["presubmits"]
        assert [j["name"] for j in got] == expected and len(expected) > 100
        assert all(j["decorate"] for j in got)  # decorate_all_jobs: true in that config
        body = await gw.query("{ config { jobCounts { presubmits postsubmits periodics } } }")
        counts = body["data"]["config"]["jobCounts"]
        assert counts == {"presubmits": 1399, "postsubmits": 109, "periodics": 147}


def test_example_paths_exist() -> None:
    assert (EXAMPLE / "config.yaml").is_file()
    assert example_settings().backend.value == "memory"


BASE = "0123456789abcdef0123456789abcdef01234567"
HEAD = "89abcdef0123456789abcdef0123456789abcdef"


async def test_base_and_head_shas_go_into_refs(gateway: RunningGateway) -> None:
    """§8.6: the SHAs Tide and crier need end up in refs (PULL_BASE_SHA / PULL_PULL_SHA)."""
    result = await trigger(
        gateway,
        org=ORG,
        repo=REPO,
        job="pull-widgets-unit",
        type="PRESUBMIT",
        baseRef="main",
        baseSha=BASE,
        pullRequest={"number": 7, "sha": HEAD, "author": "alice"},
        dryRun=True,
    )
    refs = result["manifest"]["spec"]["refs"]
    assert refs["base_sha"] == BASE
    assert refs["base_link"] == f"https://github.com/{ORG}/{REPO}/commit/{BASE}"
    assert refs["pulls"][0]["sha"] == HEAD
    assert result["manifest"]["metadata"]["labels"]["prow.k8s.io/is-optional"] == "false"


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"baseSha": "abc"}, "input.baseSha", "must be a full 40-character lowercase hex SHA"),
        (
            {"baseSha": BASE.upper()},
            "input.baseSha",
            "must be a full 40-character lowercase hex SHA",
        ),
        (
            {"pullRequest": {"number": 7, "sha": "xyz"}},
            "input.pullRequest.sha",
            "must be a full 40-character lowercase hex SHA",
        ),
    ],
)
async def test_bad_shas_are_invalid_input(
    gateway: RunningGateway, fields: dict[str, Any], field: str, reason: str
) -> None:
    base = {"org": ORG, "repo": REPO, "job": "pull-widgets-unit", "type": "PRESUBMIT"}
    base.update({"baseRef": "main", "pullRequest": {"number": 7}, "dryRun": True})
    result = await trigger(gateway, **{**base, **fields})
    assert (result["__typename"], result["field"], result["reason"]) == (
        "InvalidInput",
        field,
        reason,
    )
