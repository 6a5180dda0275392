"""Attack 5: hidden jobs (`hidden: true`, deck.hidden_repos) and their ProwJobs, which Deck
hides, must be invisible to callers outside --hidden-jobs-group on every read: queries, both
subscriptions, every transport, and never through a shared execution or a cached result."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import (
    EXAMPLE,
    RunningGateway,
    TransportWSClient,
    example_settings,
    serve,
    wait_ready,
)
from tests.security.common import ALICE, HIDDEN_GROUP, ROOT_TOKEN, bearer, token_file

HIDDEN_PERIODIC = "periodic-cleanup-registry"  # hidden: true
HIDDEN_REPO = "example-org/gadgets"  # in deck.hidden_repos
VISIBLE = "pull-widgets-unit"
TRIGGER = """
mutation($job: String!, $repo: String!, $type: ProwJobType!) {
  triggerJob(input: {org: "example-org", repo: $repo, job: $job, type: $type, baseRef: "main",
                     pullRequest: {number: 1}}) {
    __typename ... on TriggerJobSuccess { prowJob { name } } ... on Error { message } } }
"""
TRIGGER_PERIODIC = """
mutation($job: String!) { triggerJob(input: {org: "", repo: "", job: $job, type: PERIODIC}) {
  __typename ... on TriggerJobSuccess { prowJob { name } } ... on Error { message } } }
"""
CONFIG_READS = "{ periodics { name } repos { org repo presubmits { name } } }"
EVENTS = "subscription { prowJobEvents(includeSnapshot: true) { prowJob { name job } } }"
LIVE = "subscription { prowJobEvents { prowJob { name job } } }"


def hidden_config(tmp_path: Path) -> Path:
    """The example config with one hidden periodic and one hidden repo."""
    root = tmp_path / "prow"
    shutil.copytree(EXAMPLE, root)
    config = root / "config.yaml"
    config.write_text(
        config.read_text().replace("deck:\n", f"deck:\n  hidden_repos: [{HIDDEN_REPO}]\n", 1)
    )
    periodics = root / "jobs" / "periodics.yaml"
    text = periodics.read_text()
    marker = f"  - name: {HIDDEN_PERIODIC}\n"
    assert marker in text
    extra = "    hidden: true\n    rerun_auth_config:\n      github_users: [root]\n"
    periodics.write_text(text.replace(marker, marker + extra, 1))
    return root


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[RunningGateway]:
    root = hidden_config(tmp_path)
    settings = example_settings(
        "--config-path", str(root / "config.yaml"), "--job-config-path", str(root / "jobs"),
        "--auth", "token", "--token-file", str(token_file(tmp_path)),
        "--hidden-jobs-group", HIDDEN_GROUP, "--sim-pending-after", "30",
    )  # fmt: skip
    async with serve(settings) as gw:
        await wait_ready(gw)
        yield gw


async def ask(gw: RunningGateway, token: str, query: str, **variables: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
        )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def trigger_all(gw: RunningGateway) -> dict[str, str]:
    """ProwJob names by job: one visible, one in a hidden repo, one hidden periodic."""
    names = {}
    for job, repo, kind in ((VISIBLE, "widgets", "PRESUBMIT"),
                            ("pull-gadgets-unit", "gadgets", "PRESUBMIT")):  # fmt: skip
        data = await ask(gw, ROOT_TOKEN, TRIGGER, job=job, repo=repo, type=kind)
        assert data["triggerJob"]["__typename"] == "TriggerJobSuccess", data
        names[job] = data["triggerJob"]["prowJob"]["name"]
    data = await ask(gw, ROOT_TOKEN, TRIGGER_PERIODIC, job=HIDDEN_PERIODIC)
    assert data["triggerJob"]["__typename"] == "TriggerJobSuccess", data
    names[HIDDEN_PERIODIC] = data["triggerJob"]["prowJob"]["name"]
    return names


def config_names(data: dict[str, Any]) -> set[str]:
    names = {p["name"] for p in data["periodics"]}
    names |= {f"{r['org']}/{r['repo']}" for r in data["repos"]}
    names |= {j["name"] for r in data["repos"] for j in r["presubmits"]}
    return names


async def test_config_reads_hide_hidden_jobs_and_repos(gateway: RunningGateway) -> None:
    # The member asks first, so a cached answer for the member would leak if keys ignored class.
    everything = config_names(await ask(gateway, ROOT_TOKEN, CONFIG_READS))
    assert {HIDDEN_PERIODIC, HIDDEN_REPO, "pull-gadgets-unit"} <= everything
    shown = config_names(await ask(gateway, ALICE, CONFIG_READS))
    assert not shown & {HIDDEN_PERIODIC, HIDDEN_REPO, "pull-gadgets-unit"}, shown
    assert VISIBLE in shown
    lookup = "{ job(type: PERIODIC, name: $name) { name } }".replace(
        "$name", f'"{HIDDEN_PERIODIC}"'
    )
    job = await ask(gateway, ALICE, lookup)
    repo = await ask(gateway, ALICE, '{ repo(org: "example-org", repo: "gadgets") { org } }')
    assert job["job"] is None and repo["repo"] is None


async def test_job_counts_count_only_what_the_caller_sees(gateway: RunningGateway) -> None:
    counts = "{ config { jobCounts { presubmits postsubmits periodics repos } } }"
    reads = "{ periodics { name } repos { presubmits { name } postsubmits { name } } }"
    for token in (ROOT_TOKEN, ALICE):
        got = (await ask(gateway, token, counts))["config"]["jobCounts"]
        seen = await ask(gateway, token, reads)
        repos = [r for r in seen["repos"] if r["presubmits"] or r["postsubmits"]]
        assert got == {
            "presubmits": sum(len(r["presubmits"]) for r in repos),
            "postsubmits": sum(len(r["postsubmits"]) for r in repos),
            "periodics": len(seen["periodics"]),
            "repos": len(repos),
        }, token
    root = (await ask(gateway, ROOT_TOKEN, counts))["config"]["jobCounts"]
    alice = (await ask(gateway, ALICE, counts))["config"]["jobCounts"]
    assert alice["periodics"] == root["periodics"] - 1  # the hidden periodic
    assert alice["repos"] == root["repos"] - 1  # the hidden repo


async def test_prowjob_reads_hide_hidden_prowjobs(gateway: RunningGateway) -> None:
    names = await trigger_all(gateway)
    hidden = {names[HIDDEN_PERIODIC], names["pull-gadgets-unit"]}
    listing = "{ prowJobs { totalCount edges { node { name } } } }"
    root = await ask(gateway, ROOT_TOKEN, listing)
    alice = await ask(gateway, ALICE, listing)
    assert root["prowJobs"]["totalCount"] == 3
    assert alice["prowJobs"]["totalCount"] == 1
    assert [e["node"]["name"] for e in alice["prowJobs"]["edges"]] == [names[VISIBLE]]
    for name in hidden:
        one = f'{{ prowJob(name: "{name}") {{ name }} }}'
        assert (await ask(gateway, ALICE, one))["prowJob"] is None
        assert (await ask(gateway, ROOT_TOKEN, one))["prowJob"]["name"] == name


async def test_subscriptions_hide_hidden_prowjobs_on_every_transport(
    gateway: RunningGateway,
) -> None:
    names = await trigger_all(gateway)
    hidden = {names[HIDDEN_PERIODIC], names["pull-gadgets-unit"]}
    # WebSocket snapshot: the member's and the other caller's streams side by side.
    async with (
        TransportWSClient.connect(gateway.ws_url, {"Authorization": f"Bearer {ROOT_TOKEN}"}) as r,
        TransportWSClient.connect(gateway.ws_url, {"Authorization": f"Bearer {ALICE}"}) as a,
    ):
        root_op, alice_op = await r.subscribe(EVENTS), await a.subscribe(EVENTS)
        root_seen = {(await r.receive())["payload"]["data"]["prowJobEvents"]["prowJob"]["name"]
                     for _ in range(3)}  # fmt: skip
        assert root_seen == set(names.values()) and root_op
        first = await a.receive()
        assert first["id"] == alice_op
        assert first["payload"]["data"]["prowJobEvents"]["prowJob"]["name"] == names[VISIBLE]
        with pytest.raises(TimeoutError):
            await a.receive(timeout=0.5)
        # prowJobUpdated of a hidden ProwJob: the very error an unknown name gets (completing
        # quietly instead would tell the caller the name exists).
        follow = 'subscription { prowJobUpdated(name: "%s") { name } }'
        unknown = "00000000-0000-0000-0000-000000000000"
        answers = []
        for name in (names["pull-gadgets-unit"], unknown):
            op = await a.subscribe(follow % name)
            message = await a.receive()
            assert message["id"] == op and message["type"] == "next", message
            answers.append(json.dumps(message["payload"]).replace(name, "NAME"))
            assert (await a.receive())["type"] == "complete"
        assert answers[0] == answers[1] and "no ProwJob named" in answers[0], answers
    # SSE: the same.
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        headers = {"accept": "text/event-stream", **bearer(ALICE)}
        async with client.stream("POST", "/graphql", json={"query": EVENTS},
                                  headers=headers) as response:  # fmt: skip
            seen = []
            async for line in response.aiter_lines():
                if line.startswith("data:") and "prowJobEvents" in line:
                    seen.append(json.loads(line[5:])["data"]["prowJobEvents"]["prowJob"]["name"])
                    break
        assert seen == [names[VISIBLE]] and not hidden & set(seen)


async def test_shared_live_feed_never_crosses_visibility_classes(
    gateway: RunningGateway,
) -> None:
    # Identical live subscriptions are executed once per class; the member subscribes first,
    # so if the key ignored the class, alice would follow the member's execution.
    async with (
        TransportWSClient.connect(gateway.ws_url, {"Authorization": f"Bearer {ROOT_TOKEN}"}) as r,
        TransportWSClient.connect(gateway.ws_url, {"Authorization": f"Bearer {ALICE}"}) as a,
    ):
        await r.subscribe(LIVE)
        await a.subscribe(LIVE)
        await asyncio.sleep(0.2)  # both attached before the first change
        names = await trigger_all(gateway)
        root_seen = set()
        while len(root_seen) < 3:
            root_seen.add(
                (await r.receive())["payload"]["data"]["prowJobEvents"]["prowJob"]["name"]
            )
        alice_seen = {(await a.receive())["payload"]["data"]["prowJobEvents"]["prowJob"]["name"]}
        with pytest.raises(TimeoutError):
            alice_seen.add(
                (await a.receive(timeout=1))["payload"]["data"]["prowJobEvents"]["prowJob"]["name"]
            )
        assert alice_seen == {names[VISIBLE]}
