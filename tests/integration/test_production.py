"""Production mode over real sockets: identity, per-job authorization, abort/rerun, idempotency,
env overrides, limits, metrics and config hot reload."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import (
    EXAMPLE,
    RunningGateway,
    TransportWSClient,
    example_settings,
    parse_serve_args,
    serve,
    wait_ready,
)

ALICE = "alice-token-0123456789abcdef"  # member of example-org: may run its jobs
BOB = "bob-token-0123456789abcdef0000"  # no memberships
ORG, REPO, JOB = "example-org", "widgets", "post-widgets-push-image"

TRIGGER = """
mutation($input: TriggerJobInput!) { triggerJob(input: $input) { __typename
  ... on TriggerJobSuccess { existing prowJob { name triggeredBy state } manifest }
  ... on Error { message } ... on InvalidInput { field } } }
"""
POSTSUBMIT = {"org": ORG, "repo": REPO, "job": JOB, "type": "POSTSUBMIT", "baseRef": "main"}


def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.yaml"
    path.write_text(
        "tokens:\n"
        f"  - {{user: alice, token: {ALICE}, groups: ['github-org:example-org']}}\n"
        f"  - {{user: bob, token: {BOB}}}\n"
    )
    return path


async def post(gw: RunningGateway, document: str, variables: Any = None, token: str | None = None,
               **kwargs: Any) -> httpx.Response:  # fmt: skip
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:
        return await client.post(
            "/graphql", json={"query": document, "variables": variables or {}}, headers=headers,
            **kwargs,
        )  # fmt: skip


async def total(gw: RunningGateway, token: str | None = None) -> int:
    body = (await post(gw, "{ prowJobs { totalCount } }", token=token)).json()
    count: int = body["data"]["prowJobs"]["totalCount"]
    return count


async def test_token_auth_decides_the_author_and_refuses_strangers(tmp_path: Path) -> None:
    settings = example_settings("--auth", "token", "--token-file", str(token_file(tmp_path)))
    async with serve(settings) as gw:
        await wait_ready(gw)
        # No token, a wrong token, a malformed header: 401 before anything runs.
        for headers in ({}, {"authorization": "Bearer nope"}, {"authorization": "Basic x"}):
            async with httpx.AsyncClient(base_url=gw.url) as client:
                r = await client.post("/graphql", json={"query": "{ repos { org } }"},
                                      headers=headers)  # fmt: skip
            assert r.status_code == 401, r.text
            assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        # The request's author cannot override the identity.
        r = await post(gw, TRIGGER, {"input": {**POSTSUBMIT, "author": "mallory"}}, token=ALICE)
        result = r.json()["data"]["triggerJob"]
        assert result["__typename"] == "TriggerJobSuccess", result
        assert result["prowJob"]["triggeredBy"] == "alice"
        envs = {
            e["value"]
            for c in result["manifest"]["spec"]["pod_spec"]["containers"]
            for e in c["env"]
            if e["name"] == "AUTHOR"
        }
        assert envs == {"alice"}
        # Per-job authorization: bob is authenticated but not a member of example-org.
        r = await post(gw, TRIGGER, {"input": POSTSUBMIT}, token=BOB)
        denied = r.json()["data"]["triggerJob"]
        assert denied["__typename"] == "PermissionDenied"
        assert "bob may not trigger" in denied["message"] and "example-org" in denied["message"]
        assert await total(gw, ALICE) == 1  # only alice's job exists


async def test_websocket_needs_a_token_in_connection_init(tmp_path: Path) -> None:
    settings = example_settings("--auth", "token", "--token-file", str(token_file(tmp_path)))
    async with serve(settings) as gw:
        async with websockets.connect(gw.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        payload = {"Authorization": f"Bearer {ALICE}"}
        async with TransportWSClient.connect(gw.ws_url, payload) as client:
            op = await client.subscribe("subscription { prowJobEvents { type } }")
            assert op == "1"


async def test_proxy_headers_count_only_from_trusted_proxies(tmp_path: Path) -> None:
    headers = {"x-forwarded-user": "alice", "x-forwarded-groups": "github-org:example-org"}
    untrusted = example_settings("--auth", "proxy", "--trusted-proxies", "10.0.0.0/8")
    async with serve(untrusted) as gw:
        async with httpx.AsyncClient(base_url=gw.url) as client:
            r = await client.post("/graphql", json={"query": "{ repos { org } }"},
                                  headers=headers)  # fmt: skip
        assert r.status_code == 401
    trusted = example_settings("--auth", "proxy", "--trusted-proxies", "127.0.0.1/32")
    async with serve(trusted) as gw:
        await wait_ready(gw)
        async with httpx.AsyncClient(base_url=gw.url) as client:
            r = await client.post(
                "/graphql", json={"query": TRIGGER, "variables": {"input": POSTSUBMIT}},
                headers=headers,
            )  # fmt: skip
        assert r.json()["data"]["triggerJob"]["prowJob"]["triggeredBy"] == "alice"


ABORT = """mutation($n: String!) { abortProwJob(name: $n) { __typename
  ... on AbortProwJobSuccess { prowJob { state description } } ... on Error { message } } }"""
RERUN = """mutation($n: String!, $m: RerunMode!) { rerunProwJob(name: $n, mode: $m) { __typename
  ... on TriggerJobSuccess { prowJob { name job type state triggeredBy } }
  ... on Error { message } } }"""


async def test_abort_and_rerun_follow_decks_rules(tmp_path: Path) -> None:
    settings = example_settings(
        "--auth", "token", "--token-file", str(token_file(tmp_path)), "--enable-abort",
        "--sim-pending-after", "60",
    )  # fmt: skip
    async with serve(settings) as gw:
        await wait_ready(gw)
        r = await post(gw, TRIGGER, {"input": POSTSUBMIT}, token=ALICE)
        name = r.json()["data"]["triggerJob"]["prowJob"]["name"]
        denied = (await post(gw, ABORT, {"n": name}, token=BOB)).json()["data"]["abortProwJob"]
        assert denied["__typename"] == "PermissionDenied"
        aborted = (await post(gw, ABORT, {"n": name}, token=ALICE)).json()["data"]["abortProwJob"]
        assert aborted["__typename"] == "AbortProwJobSuccess", aborted
        assert aborted["prowJob"]["state"] == "ABORTED"
        assert aborted["prowJob"]["description"] == f"alice successfully aborted {name}."
        again = (await post(gw, ABORT, {"n": name}, token=ALICE)).json()["data"]["abortProwJob"]
        assert again["__typename"] == "NotAbortable"
        missing = (await post(gw, ABORT, {"n": "nope"}, token=ALICE)).json()["data"]
        assert missing["abortProwJob"]["__typename"] == "ProwJobNotFound"
        for mode in ("ORIGINAL", "LATEST"):
            body = (await post(gw, RERUN, {"n": name, "m": mode}, token=ALICE)).json()
            rerun = body["data"]["rerunProwJob"]
            assert rerun["__typename"] == "TriggerJobSuccess", rerun
            job = rerun["prowJob"]
            assert job["name"] != name and job["job"] == JOB and job["type"] == "POSTSUBMIT"
            assert job["state"] == "TRIGGERED" and job["triggeredBy"] == "alice"
        assert await total(gw, ALICE) == 3


async def test_abort_is_off_unless_enabled() -> None:
    async with serve(example_settings("--sim-pending-after", "60")) as gw:
        await wait_ready(gw)
        r = await post(gw, TRIGGER, {"input": POSTSUBMIT})
        name = r.json()["data"]["triggerJob"]["prowJob"]["name"]
        result = (await post(gw, ABORT, {"n": name})).json()["data"]["abortProwJob"]
        assert result["__typename"] == "PermissionDenied"
        assert "--enable-abort" in result["message"]


async def test_idempotency_key_creates_one_job_across_replicas(tmp_path: Path) -> None:
    from tests.conftest import kube_gateway

    async with kube_gateway(tmp_path) as a:
        api = a.api  # type: ignore[attr-defined]
        kubeconfig = tmp_path / "kubeconfig"
        async with serve(example_settings("--kubeconfig", str(kubeconfig), backend="kube")) as b:
            await wait_ready(a)
            await wait_ready(b)
            variables = {"input": {**POSTSUBMIT, "idempotencyKey": "release-1.2.3"}}
            first, second = await asyncio.gather(
                post(a, TRIGGER, variables), post(b, TRIGGER, variables)
            )
            results = [first.json()["data"]["triggerJob"], second.json()["data"]["triggerJob"]]
            assert {r["__typename"] for r in results} == {"TriggerJobSuccess"}
            assert results[0]["prowJob"]["name"] == results[1]["prowJob"]["name"]
            assert sorted(r["existing"] for r in results) == [False, True]
            # A later retry through either replica still finds it; a new key makes a new job.
            retry = (await post(a, TRIGGER, variables)).json()["data"]["triggerJob"]
            assert retry["existing"] is True
            other = {"input": {**POSTSUBMIT, "idempotencyKey": "release-1.2.4"}}
            fresh = (await post(b, TRIGGER, other)).json()["data"]["triggerJob"]
            assert fresh["existing"] is False
            assert fresh["prowJob"]["name"] != results[0]["prowJob"]["name"]
            assert len(api.objects) == 2


async def test_env_overrides_only_from_the_allowlist() -> None:
    async with serve(example_settings("--env-allowlist", "PARAM_*,DEBUG")) as gw:
        await wait_ready(gw)
        bad = {"input": {**POSTSUBMIT, "env": [{"name": "PATH", "value": "/evil"}]}}
        result = (await post(gw, TRIGGER, bad)).json()["data"]["triggerJob"]
        assert result["__typename"] == "InvalidInput"
        assert result["field"] == "input.env.PATH" and "PARAM_*" in result["message"]
        good = {"input": {**POSTSUBMIT, "dryRun": True,
                          "env": [{"name": "PARAM_LEVEL", "value": "3"}]}}  # fmt: skip
        result = (await post(gw, TRIGGER, good)).json()["data"]["triggerJob"]
        containers = result["manifest"]["spec"]["pod_spec"]["containers"]
        assert all({"name": "PARAM_LEVEL", "value": "3"} in c["env"] for c in containers)
        assert await total(gw) == 0


async def test_limits_reject_abusive_requests() -> None:
    async with serve(example_settings()) as gw:
        aliases = "{ " + " ".join(f"a{i}: config {{ generation }}" for i in range(40)) + " }"
        body = (await post(gw, aliases)).json()
        assert "aliases" in body["errors"][0]["message"].lower()
        tokens = "{ " + " ".join("__typename" for _ in range(3000)) + " }"
        body = (await post(gw, tokens)).json()
        assert "token" in body["errors"][0]["message"].lower()
        async with httpx.AsyncClient(base_url=gw.url) as client:
            r = await client.post("/graphql", content=b"x" * (300 * 1024),
                                  headers={"content-type": "application/json"})  # fmt: skip
        assert r.status_code == 413 and "smaller request" in r.json()["errors"][0]["message"]
        # The server keeps serving after each refusal.
        assert "errors" not in (await post(gw, "{ config { generation } }")).json()


async def test_query_depth_limit() -> None:
    async with serve(example_settings("--max-query-depth", "4")) as gw:
        shallow = "{ prowJobs { edges { node { name } } } }"
        assert "errors" not in (await post(gw, shallow)).json()
        deep = "{ prowJobs { edges { node { refs { pulls { number } } } } } }"
        body = (await post(gw, deep)).json()
        assert "exceeds maximum operation depth of 4" in body["errors"][0]["message"]
        assert body.get("data") is None


async def test_metrics_change_as_requests_are_made() -> None:
    async with serve(example_settings()) as gw:
        await wait_ready(gw)
        metrics = gw.app.state.gateway.metrics

        def value(name: str, **labels: str) -> float:
            body, _ = metrics.render()
            for family in text_string_to_metric_families(body.decode()):
                for sample in family.samples:
                    if sample.name == name and all(sample.labels.get(k) == v
                                                   for k, v in labels.items()):  # fmt: skip
                        return float(sample.value)
            return 0.0

        before = value("prow_graphql_prowjob_creations_total", result="created")
        await post(gw, TRIGGER, {"input": POSTSUBMIT})
        await post(gw, TRIGGER, {"input": {**POSTSUBMIT, "job": "nope"}})
        assert value("prow_graphql_prowjob_creations_total", result="created") == before + 1
        assert value("prow_graphql_requests_total", outcome="user_error") >= 1
        assert value("prow_graphql_requests_total", outcome="success") >= 1
        await asyncio.sleep(0.3)
        assert value("prow_graphql_informer_cache_size") >= 1
        # Open subscriptions are counted on every transport, and uncounted when they end.
        assert value("prow_graphql_active_subscriptions") == 0
        follow = "subscription { prowJobEvents { type } }"
        async with (
            TransportWSClient.connect(gw.ws_url) as a,
            TransportWSClient.connect(gw.ws_url) as b,
        ):
            await a.subscribe(follow)
            await b.subscribe(follow + " ")  # a different document: not shared with a's
            async with asyncio.timeout(5):
                while value("prow_graphql_active_subscriptions") != 2:
                    await asyncio.sleep(0.02)
        async with asyncio.timeout(5):
            while value("prow_graphql_active_subscriptions") != 0:
                await asyncio.sleep(0.02)


async def test_metrics_are_served_on_their_own_port() -> None:
    import sys

    from tests.harness import free_socket

    socks = [free_socket(), free_socket()]
    port, metrics_port = (s.getsockname()[1] for s in socks)
    for s in socks:
        s.close()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "prow_graphql", "serve", "--backend", "memory", "--dev",
        "--config-path", str(EXAMPLE / "config.yaml"), "--job-config-path", str(EXAMPLE / "jobs"),
        "--port", str(port), "--metrics-port", str(metrics_port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            async with asyncio.timeout(20):
                while True:
                    try:
                        r = await client.get(f"http://127.0.0.1:{metrics_port}/metrics")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
        assert r.status_code == 200 and "prow_graphql_requests_total" in r.text
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 15)


def write_atomically(path: Path, text: str) -> None:
    """Replace a file in one step, as a ConfigMap update (a symlink swap) does."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(path)


RELOAD_QUERY = (
    '{ repo(org: "example-org", repo: "widgets") { presubmits { name } } '
    "config { generation lastError } }"
)


async def test_hot_reload_swaps_good_config_and_keeps_it_on_errors(tmp_path: Path) -> None:
    config = tmp_path / "prow"
    shutil.copytree(EXAMPLE, config)
    settings = parse_serve_args(
        ["--config-path", str(config / "config.yaml"), "--job-config-path", str(config / "jobs"),
         "--backend", "memory", "--dev", "--config-reload-interval", "0.05"]
    )  # fmt: skip
    async with serve(settings) as gw:
        jobs_file = config / "jobs" / "example-org" / "widgets" / "widgets-presubmits.yaml"
        original = jobs_file.read_text()
        write_atomically(
            jobs_file,
            original.replace("    - name: pull-widgets-lint", "    - name: pull-widgets-lint2", 1),
        )
        async with asyncio.timeout(10):
            while True:
                body = (await post(gw, RELOAD_QUERY)).json()["data"]
                names = {j["name"] for j in body["repo"]["presubmits"]}
                if "pull-widgets-lint2" in names:
                    break
                await asyncio.sleep(0.05)
        generation = body["config"]["generation"]
        assert "pull-widgets-lint" not in names and body["config"]["lastError"] is None
        write_atomically(jobs_file, original + "\n  this: is: not: yaml: [\n")
        async with asyncio.timeout(10):
            while (await post(gw, RELOAD_QUERY)).json()["data"]["config"]["lastError"] is None:
                await asyncio.sleep(0.05)
        body = (await post(gw, RELOAD_QUERY)).json()["data"]
        assert "widgets-presubmits.yaml" in body["config"]["lastError"]
        assert body["config"]["generation"] == generation  # the last good config still serves
        assert "pull-widgets-lint2" in {j["name"] for j in body["repo"]["presubmits"]}
