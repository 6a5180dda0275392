"""`prow-graphql trigger` and `prow-graphql jobs` run as real subprocesses against gateways
served in this test process: exit codes, --follow output, --json output, and the one-line
messages for unreachable servers, unknown jobs and refused credentials."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from prow_graphql.client.errors import AuthFailed
from prow_graphql.client.output import Progress, branches, elapsed, table
from prow_graphql.client.transport import GatewayClient
from tests.harness import ROOT, RunningGateway, example_settings, free_socket, serve, wait_ready

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PROGRESS = re.compile(
    r"^\[ *\d+\.\ds\] (?P<state>[A-Z]+)(?: +build (?P<build>\d+))?(?: (?P<link>http\S+))?$"
)
WIDGETS = ["--org", "example-org", "--repo", "widgets"]


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


async def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> Run:
    """Run `python -m prow_graphql ARGS` (the console script's code) and wait for it to exit."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PROW_GRAPHQL_")}
    environ.update(env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "prow_graphql",
        *args,
        cwd=ROOT,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


@contextlib.asynccontextmanager
async def gateway(*flags: str) -> AsyncIterator[RunningGateway]:
    """The example config; each simulated state lasts long enough for --follow to print it."""
    settings = example_settings("--sim-pending-after", "0.5", "--sim-complete-after", "0.3", *flags)
    async with serve(settings) as running:
        await wait_ready(running)
        yield running


def progress_states(stdout: str) -> list[dict[str, str | None]]:
    """The --follow progress lines (those after the header), parsed."""
    lines = [line for line in stdout.splitlines() if line.startswith("[")]
    matches = [PROGRESS.match(line) for line in lines]
    assert all(matches), lines
    return [m.groupdict() for m in matches if m is not None]


# --- trigger ------------------------------------------------------------------------------------


async def test_follow_prints_each_state_and_exits_0_on_success() -> None:
    async with gateway() as gw:
        run = await cli(
            "trigger", "--url", gw.url, *WIDGETS, "--job", "pull-widgets-unit", "--pr", "12",
            "--follow",
        )  # fmt: skip
        assert run.code == 0, run
        header = run.stdout.splitlines()[:2]
        match = re.fullmatch(
            rf"triggered pull-widgets-unit \(presubmit example-org/widgets@main #12\): "
            rf"ProwJob (?P<name>{UUID})",
            header[0],
        )
        assert match, header
        name = match["name"]
        assert header[1] == f"status: https://prow.example.com/prowjob?prowjob={name}"
        updates = progress_states(run.stdout)
        assert [u["state"] for u in updates] == ["TRIGGERED", "PENDING", "SUCCESS"]
        body = await gw.query(
            "query ($n: String!) { prowJob(name: $n) { state buildId logLink } }", {"n": name}
        )
        job = body["data"]["prowJob"]
        assert job["state"] == "SUCCESS"
        assert updates[1]["build"] == updates[2]["build"] == job["buildId"]
        assert updates[2]["link"] == job["logLink"]
        assert run.stderr == ""


async def test_follow_exits_1_when_the_job_fails() -> None:
    async with gateway("--sim-failure-rate", "1") as gw:
        run = await cli(
            "trigger", "--url", gw.url, *WIDGETS, "--job", "pull-widgets-lint", "--pr", "3",
            "--follow",
        )  # fmt: skip
    assert run.code == 1, run
    assert progress_states(run.stdout)[-1]["state"] == "FAILURE"
    assert re.fullmatch(
        r"prow-graphql: pull-widgets-lint ended FAILURE: https://prow\.example\.com/log\?"
        r"job=pull-widgets-lint&id=\d+\n",
        run.stderr,
    ), run.stderr


async def test_json_follow_prints_one_json_document_per_line() -> None:
    async with gateway() as gw:
        run = await cli(
            "trigger", "--url", gw.url, *WIDGETS, "--job", "widgets-build", "--type", "postsubmit",
            "--json", "--follow",
        )  # fmt: skip
    assert run.code == 0, run
    first, *updates = [json.loads(line) for line in run.stdout.splitlines()]
    assert first["__typename"] == "TriggerJobSuccess"
    assert first["dryRun"] is False
    job = first["prowJob"]
    assert (job["job"], job["type"], job["state"]) == ("widgets-build", "POSTSUBMIT", "TRIGGERED")
    assert job["refs"] == {"org": "example-org", "repo": "widgets", "baseRef": "main", "pulls": []}
    assert {u["prowJob"]["name"] for u in updates} == {job["name"]}
    assert updates[-1]["prowJob"]["state"] == "SUCCESS"
    # Each state once: the trigger's answer showed TRIGGERED, the updates show what came after.
    states = [job["state"]] + [u["prowJob"]["state"] for u in updates]
    assert states == ["TRIGGERED", "PENDING", "SUCCESS"], states


async def test_json_without_follow_returns_at_once() -> None:
    async with gateway() as gw:
        run = await cli(
            "trigger", "--url", gw.url, *WIDGETS, "--job", "pull-widgets-unit", "--pr", "8",
            "--pr-sha", "a" * 40, "--author", "alice", "--json",
        )  # fmt: skip
        assert run.code == 0, run
        (result,) = [json.loads(line) for line in run.stdout.splitlines()]
        name = result["prowJob"]["name"]
        assert result["prowJob"]["refs"]["pulls"] == [{"number": 8, "sha": "a" * 40}]
        body = await gw.query(
            "query ($n: String!) { prowJob(name: $n) { job triggeredBy } }", {"n": name}
        )
        assert body["data"]["prowJob"] == {"job": "pull-widgets-unit", "triggeredBy": "alice"}


async def test_dry_run_prints_the_prowjob_and_creates_nothing() -> None:
    async with gateway() as gw:
        run = await cli(
            "trigger", "--url", gw.url, *WIDGETS, "--job", "pull-widgets-unit", "--pr", "5",
            "--dry-run",
        )  # fmt: skip
        assert run.code == 0, run
        first, rest = run.stdout.split("\n", 1)
        assert re.fullmatch(
            rf"dry run: pull-widgets-unit \(presubmit example-org/widgets@main #5\): "
            rf"ProwJob {UUID} \(nothing created\); the ProwJob:",
            first,
        ), first
        manifest = json.loads(rest)
        assert (manifest["kind"], manifest["spec"]["job"]) == ("ProwJob", "pull-widgets-unit")
        body = await gw.query("{ prowJobs { totalCount } }")
        assert body["data"]["prowJobs"]["totalCount"] == 0


async def test_unknown_job_exits_1_with_the_servers_message() -> None:
    async with gateway() as gw:
        body = await gw.query(
            """mutation { triggerJob(input: {org: "example-org", repo: "widgets", job: "nope",
               type: PRESUBMIT, baseRef: "main", pullRequest: {number: 1}}) {
               __typename ... on Error { message } } }"""
        )
        expected = body["data"]["triggerJob"]
        assert expected["__typename"] == "JobNotFound"
        text = await cli("trigger", "--url", gw.url, *WIDGETS, "--job", "nope", "--pr", "1")
        as_json = await cli(
            "trigger", "--url", gw.url, *WIDGETS, "--job", "nope", "--pr", "1", "--json"
        )
    assert (text.code, text.stdout) == (1, "")
    assert text.stderr == f"prow-graphql: {expected['message']}\n"
    assert as_json.code == 1
    assert json.loads(as_json.stdout) == {"error": expected}


async def test_unreachable_gateway_exits_2_with_one_line() -> None:
    with free_socket() as unused:  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"
        run = await cli("trigger", "--url", url, *WIDGETS, "--job", "x", "--pr", "1")
    assert run.code == 2
    assert run.stdout == ""
    assert run.stderr.startswith(f"prow-graphql: cannot reach {url}/graphql: ")
    assert run.stderr.endswith("(is the gateway running? check --url)\n")
    assert run.stderr.count("\n") == 1


async def test_usage_errors_exit_2() -> None:
    no_url = await cli("trigger", *WIDGETS, "--job", "x", "--pr", "1")
    assert (no_url.code, no_url.stderr) == (
        2,
        "prow-graphql trigger: error: --url is required (or set PROW_GRAPHQL_URL)\n",
    )
    pr_on_postsubmit = await cli(
        "trigger", "--url", "http://127.0.0.1:9", *WIDGETS, "--job", "x", "--type", "postsubmit",
        "--pr", "1",
    )  # fmt: skip
    assert pr_on_postsubmit.code == 2
    assert "--pr only applies to presubmits" in pr_on_postsubmit.stderr
    no_job = await cli("trigger", "--url", "http://127.0.0.1:9", *WIDGETS)
    assert no_job.code == 2
    assert "the following arguments are required: --job" in no_job.stderr


# --- credentials: a gateway with --auth token ---------------------------------------------------

ALICE = "alice-token-0123456789"  # in example-org: may trigger its jobs
MALLORY = "mallory-token-0123456789"  # authenticated, but not in example-org
TOKENS = f"""
tokens:
  - user: alice
    token: "{ALICE}"
    groups: ["github-org:example-org"]
  - user: mallory
    token: "{MALLORY}"
"""


@contextlib.asynccontextmanager
async def authenticating_gateway(tmp_path: Path) -> AsyncIterator[RunningGateway]:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(TOKENS, encoding="utf-8")
    async with gateway("--auth", "token", "--token-file", str(tokens)) as running:
        yield running


async def test_token_authenticates_the_trigger_and_the_subscription(tmp_path: Path) -> None:
    async with authenticating_gateway(tmp_path) as gw:
        flag = await cli(
            "trigger", "--url", gw.url, *WIDGETS, "--job", "pull-widgets-unit", "--pr", "2",
            "--token", ALICE, "--follow",
        )  # fmt: skip
        env = await cli(
            "trigger", *WIDGETS, "--job", "pull-widgets-lint", "--pr", "2", "--follow",
            env={"PROW_GRAPHQL_URL": gw.url, "PROW_GRAPHQL_TOKEN": ALICE},
        )  # fmt: skip
        for run in (flag, env):
            assert run.code == 0, run
            assert [u["state"] for u in progress_states(run.stdout)][-1] == "SUCCESS"
            name = run.stdout.split("ProwJob ", 1)[1].split()[0]
            body = await gw.query(
                "query ($n: String!) { prowJob(name: $n) { triggeredBy } }",
                {"n": name},
                Authorization=f"Bearer {ALICE}",
            )
            assert body["data"]["prowJob"]["triggeredBy"] == "alice"


async def test_missing_token_exits_2_and_a_denial_exits_1(tmp_path: Path) -> None:
    async with authenticating_gateway(tmp_path) as gw:
        missing = await cli("trigger", "--url", gw.url, *WIDGETS, "--job", "x", "--pr", "1")
        denied = await cli(
            "trigger", "--url", gw.url, *WIDGETS, "--job", "pull-widgets-unit", "--pr", "1",
            "--token", MALLORY,
        )  # fmt: skip
        body = await gw.query(
            """mutation { triggerJob(input: {org: "example-org", repo: "widgets",
               job: "pull-widgets-unit", type: PRESUBMIT, baseRef: "main",
               pullRequest: {number: 1}}) { __typename ... on Error { message } } }""",
            Authorization=f"Bearer {MALLORY}",
        )
    assert missing.code == 2
    assert missing.stderr == (
        f"prow-graphql: {gw.url}/graphql refused the request (HTTP 401): authentication "
        "required: send the header 'Authorization: Bearer <token>'; "
        "pass --token or set PROW_GRAPHQL_TOKEN\n"
    )
    refusal = body["data"]["triggerJob"]
    assert refusal["__typename"] == "PermissionDenied"
    assert (denied.code, denied.stdout) == (1, "")
    assert denied.stderr == f"prow-graphql: {refusal['message']}\n"


async def test_refused_websocket_is_an_auth_failure(tmp_path: Path) -> None:
    async with (
        authenticating_gateway(tmp_path) as gw,
        GatewayClient(gw.url, token="not-a-known-token-0123") as client,
    ):
        with pytest.raises(AuthFailed) as refused:
            async for _ in client.subscribe("subscription { prowJobEvents { type } }"):
                pass
    assert refused.value.exit_code == 2
    assert refused.value.message == (
        f"{gw.ws_url}: Forbidden (close code 4403); pass --token or set PROW_GRAPHQL_TOKEN"
    )


# --- jobs ---------------------------------------------------------------------------------------


async def test_jobs_prints_an_aligned_table_of_the_configured_jobs() -> None:
    async with gateway() as gw:
        run = await cli("jobs", *WIDGETS, env={"PROW_GRAPHQL_URL": gw.url})
        body = await gw.query(
            '{ repo(org: "example-org", repo: "widgets") '
            "{ presubmits { name } postsubmits { name } } }"
        )
    assert run.code == 0, run
    header, *rows = run.stdout.splitlines()
    assert header.split() == [
        "REPO", "NAME", "TYPE", "BRANCHES", "ALWAYS_RUN", "OPTIONAL", "RUN_IF_CHANGED", "CONTEXT",
    ]  # fmt: skip
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    for row in rows:  # every cell starts under its header (no cell here contains a blank)
        assert [m.start() for m in re.finditer(r"\S+", row)] == starts, row
    repo = body["data"]["repo"]
    expected = [(j["name"], "presubmit") for j in repo["presubmits"]]
    expected += [(j["name"], "postsubmit") for j in repo["postsubmits"]]
    cells = [row.split() for row in rows]
    assert sorted((c[1], c[2]) for c in cells) == sorted(expected)
    by_key = {(c[1], c[2]): c for c in cells}
    assert by_key["pull-widgets-lint", "presubmit"][4:6] == ["yes", "yes"]
    assert by_key["widgets-build", "presubmit"][3] == "*,!^gh-pages$"
    assert by_key["widgets-build", "postsubmit"][3:6] == ["^main$", "-", "-"]
    assert by_key["pull-widgets-e2e", "presubmit"][6] == "^(cmd|pkg)/"
    assert by_key["pull-widgets-unit", "presubmit"][6] == "-"


async def test_jobs_without_org_lists_every_repo_and_the_periodics() -> None:
    async with gateway() as gw:
        run = await cli("jobs", "--url", gw.url)
        as_json = await cli("jobs", "--url", gw.url, "--json")
        repo_only = await cli("jobs", "--url", gw.url, "--repo", "widgets")
        body = await gw.query(
            "{ periodics { name cron interval minimumInterval } repos { org repo } }"
        )
    assert run.code == 0, run
    cells = [row.split() for row in run.stdout.splitlines()[1:]]
    periodics = {c[1]: c for c in cells if c[2] == "periodic"}
    expected = body["data"]["periodics"]
    assert set(periodics) == {p["name"] for p in expected}
    for p in expected:  # a periodic shows its schedule where other jobs show branches
        schedule = p["cron"] or p["interval"] or p["minimumInterval"]
        assert " ".join(periodics[p["name"]][3:]).startswith(schedule), periodics[p["name"]]
    repos = {f"{r['org']}/{r['repo']}" for r in body["data"]["repos"]}
    assert {c[0] for c in cells if c[2] != "periodic"} == repos
    jobs = json.loads(as_json.stdout)
    assert {j["name"] for j in jobs if j["type"] == "PERIODIC"} == set(periodics)
    assert (repo_only.code, repo_only.stderr) == (
        2,
        "prow-graphql jobs: error: --repo needs --org\n",
    )


async def test_jobs_json_and_unknown_repo() -> None:
    async with gateway() as gw:
        run = await cli("jobs", "--url", gw.url, "--org", "example-org", "--json")
        unknown = await cli("jobs", "--url", gw.url, "--org", "example-org", "--repo", "nope")
        body = await gw.query("{ repos { org repo presubmits { name } postsubmits { name } } }")
    assert run.code == 0, run
    jobs = json.loads(run.stdout)
    expected = sorted(
        (r["repo"], j["name"])
        for r in body["data"]["repos"]
        for j in r["presubmits"] + r["postsubmits"]
    )
    assert sorted((j["repo"], j["name"]) for j in jobs) == expected
    assert {j["org"] for j in jobs} == {"example-org"}
    lint = next(j for j in jobs if j["name"] == "pull-widgets-lint")
    assert (lint["type"], lint["alwaysRun"], lint["optional"]) == ("PRESUBMIT", True, True)
    assert (unknown.code, unknown.stdout) == (1, "")
    assert unknown.stderr == "prow-graphql: no jobs configured for example-org/nope\n"


# --- output formatting (pure) -------------------------------------------------------------------


def test_progress_on_a_pipe_prints_a_line_per_visible_change() -> None:
    out = io.StringIO()
    progress = Progress(out, live=False)
    job: dict[str, Any] = {"state": "PENDING", "buildId": "7", "logLink": "http://d/log"}
    progress.update({"state": "TRIGGERED"}, 0.04)
    progress.update(job, 1.0)
    progress.update({**job, "description": "still running"}, 2.0)  # nothing visible changed
    progress.update({**job, "state": "SUCCESS"}, 75.5)
    progress.close()
    assert out.getvalue().splitlines() == [
        "[   0.0s] TRIGGERED",
        "[   1.0s] PENDING    build 7 http://d/log",
        "[  1m15s] SUCCESS    build 7 http://d/log",
    ]


def test_progress_on_a_terminal_rewrites_one_line() -> None:
    out = io.StringIO()
    progress = Progress(out, live=True)
    progress.update({"state": "PENDING", "buildId": "7"}, 1.0)
    progress.tick(2.0)
    progress.close()
    assert out.getvalue() == (
        "\r[   1.0s] PENDING    build 7\x1b[K\r[   2.0s] PENDING    build 7\x1b[K\n"
    )
    narrow = io.StringIO()
    Progress(narrow, live=True, width=20).update({"state": "PENDING", "buildId": "7"}, 1.0)
    assert narrow.getvalue() == "\r[   1.0s] PENDING …\x1b[K"


def test_table_branches_and_elapsed() -> None:
    assert table(["A", "LONG"], [["xyz", "1"], ["q", ""]]) == "A    LONG\nxyz  1\nq"
    assert branches({"branches": [], "skipBranches": ["^gh-pages$"]}) == "*,!^gh-pages$"
    assert branches({"branches": ["main", "release-1"]}) == "main,release-1"
    assert [elapsed(s) for s in (0.04, 59.94, 60, 3725)] == ["0.0s", "59.9s", "1m00s", "62m05s"]
