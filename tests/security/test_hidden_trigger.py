"""Attack 5, continued: hidden jobs through the trigger paths (GraphQL triggerJob and
rerunProwJob, REST /manual-trigger, gangway Create). For a caller outside --hidden-jobs-group a
hidden job must answer exactly as a job that does not exist, and no error, hint or "did you
mean" may name one; a caller in the group still triggers it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import (
    RunningGateway,
    TransportWSClient,
    example_settings,
    serve,
    wait_ready,
)
from tests.security.common import ALICE, HIDDEN_GROUP, ROOT_TOKEN, bearer, token_file
from tests.security.test_hidden_jobs import (
    HIDDEN_PERIODIC,
    HIDDEN_REPO,
    TRIGGER,
    TRIGGER_PERIODIC,
    ask,
    hidden_config,
    trigger_all,
)

UNKNOWN = "no-such-job-anywhere"
HIDDEN_TWIN = "pull-gadgets-twin"  # twice in the hidden repo: ambiguous on main
MIXED_TWIN = "pull-widgets-twin"  # once visible, once `hidden: true`, both match main
# Every hidden job name of the config: none may appear in an answer to a non-member.
HIDDEN_NAMES = (
    HIDDEN_PERIODIC, "pull-gadgets-unit", "pull-gadgets-e2e", "pull-gadgets-docs",
    "pull-gadgets-bench", "post-gadgets-publish", HIDDEN_TWIN, "hidden-twin.yaml",
)  # fmt: skip
SHA = "a" * 40
VISIBLE_REPO = "example-org/widgets"
RERUN = """
mutation($name: String!) { rerunProwJob(name: $name, mode: LATEST) {
  __typename ... on Error { message } } }
"""
ABORT = """
mutation($name: String!) { abortProwJob(name: $name) { __typename ... on Error { message } } }
"""


def twin(name: str, branch: str, hidden: bool = False) -> str:
    # Prow's duplicate check compares branch strings, so `main` and `ma.n` load, yet both run
    # against main: the lookup finds two and answers AmbiguousJob, naming both files.
    flag = "      hidden: true\n" if hidden else ""
    return (
        f"    - name: {name}\n      branches: [{branch}]\n{flag}"
        "      spec:\n        containers:\n          - image: alpine:3.20\n"
        "            command: [sh]\n"
    )


def trigger_config(tmp_path: Path) -> Path:
    root = hidden_config(tmp_path)
    gadgets = root / "jobs" / "example-org" / "gadgets"
    (gadgets / "hidden-twin.yaml").write_text(
        "presubmits:\n  example-org/gadgets:\n"
        + twin(HIDDEN_TWIN, "main") + twin(HIDDEN_TWIN, "ma.n")
    )  # fmt: skip
    widgets = root / "jobs" / "example-org" / "widgets"
    (widgets / "mixed-twin.yaml").write_text(
        "presubmits:\n  example-org/widgets:\n"
        + twin(MIXED_TWIN, "main") + twin(MIXED_TWIN, "ma.n", hidden=True)
    )  # fmt: skip
    return root


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[RunningGateway]:
    root = trigger_config(tmp_path)
    settings = example_settings(
        "--config-path", str(root / "config.yaml"), "--job-config-path", str(root / "jobs"),
        "--auth", "token", "--token-file", str(token_file(tmp_path)),
        "--hidden-jobs-group", HIDDEN_GROUP, "--sim-pending-after", "30",
        "--build-id-wait", "0", "--enable-abort",  # /manual-trigger answers without a BuildID
    )  # fmt: skip
    async with serve(settings) as gw:
        await wait_ready(gw)
        yield gw


def no_hidden_name(text: str) -> None:
    leaked = [name for name in HIDDEN_NAMES if name in text]
    assert not leaked, f"{leaked} in {text}"


async def graphql_trigger(gw: RunningGateway, token: str, job: str, repo: str, kind: str) -> Any:
    if kind == "PERIODIC":
        return (await ask(gw, token, TRIGGER_PERIODIC, job=job))["triggerJob"]
    return (await ask(gw, token, TRIGGER, job=job, repo=repo, type=kind))["triggerJob"]


@pytest.mark.parametrize(
    ("job", "repo", "kind", "member"),
    [
        # hidden: true (and rerun_auth_config: root only)
        (HIDDEN_PERIODIC, "", "PERIODIC", "TriggerJobSuccess"),
        ("pull-gadgets-unit", "gadgets", "PRESUBMIT", "TriggerJobSuccess"),  # deck.hidden_repos
        ("post-gadgets-publish", "gadgets", "POSTSUBMIT", "TriggerJobSuccess"),
        (HIDDEN_TWIN, "gadgets", "PRESUBMIT", "AmbiguousJob"),  # naming its files
        (HIDDEN_PERIODIC, "widgets", "PRESUBMIT", "JobNotFound"),  # "a periodic has that name"
    ],
)
async def test_graphql_trigger_of_a_hidden_job_answers_like_an_unknown_one(
    gateway: RunningGateway, job: str, repo: str, kind: str, member: str
) -> None:
    hidden = await graphql_trigger(gateway, ALICE, job, repo, kind)
    unknown = await graphql_trigger(gateway, ALICE, UNKNOWN, repo, kind)
    assert unknown["__typename"] == "JobNotFound"
    assert hidden == {**unknown, "message": unknown["message"].replace(UNKNOWN, job)}
    no_hidden_name(hidden["message"].replace(job, UNKNOWN))
    allowed = await graphql_trigger(gateway, ROOT_TOKEN, job, repo, kind)
    assert allowed["__typename"] == member, allowed


@pytest.mark.parametrize(
    ("typo", "repo", "kind"),
    [
        ("periodic-cleanup-registr", "", "PERIODIC"),
        ("pull-gadgets-uni", "gadgets", "PRESUBMIT"),
        ("post-gadgets-publis", "gadgets", "POSTSUBMIT"),
    ],
)
async def test_trigger_suggestions_never_name_hidden_jobs(
    gateway: RunningGateway, typo: str, repo: str, kind: str
) -> None:
    answer = await graphql_trigger(gateway, ALICE, typo, repo, kind)
    assert answer["__typename"] == "JobNotFound"
    no_hidden_name(answer["message"])
    body = manual_body(typo, repo or "widgets", kind.lower())
    if kind != "PERIODIC":
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
            response = await client.post("/manual-trigger", json=body, headers=bearer(ALICE))
        assert response.status_code == 404
        no_hidden_name(response.text)
    member = await graphql_trigger(gateway, ROOT_TOKEN, typo, repo, kind)
    assert "Did you mean" in member["message"]  # members still get them


async def test_a_visible_job_is_not_ambiguous_with_a_hidden_twin(gateway: RunningGateway) -> None:
    alice = await graphql_trigger(gateway, ALICE, MIXED_TWIN, "widgets", "PRESUBMIT")
    assert alice["__typename"] == "TriggerJobSuccess", alice
    root = await graphql_trigger(gateway, ROOT_TOKEN, MIXED_TWIN, "widgets", "PRESUBMIT")
    assert root["__typename"] == "AmbiguousJob", root


async def test_rerun_and_abort_of_a_hidden_prowjob_are_not_found(gateway: RunningGateway) -> None:
    names = await trigger_all(gateway)
    for document, field, allowed in ((RERUN, "rerunProwJob", "TriggerJobSuccess"),
                                     (ABORT, "abortProwJob", "AbortProwJobSuccess")):  # fmt: skip
        unknown = (await ask(gateway, ALICE, document, name=UNKNOWN))[field]
        assert unknown["__typename"] == "ProwJobNotFound"
        for job in (HIDDEN_PERIODIC, "pull-gadgets-unit"):
            name = names[job]
            hidden = (await ask(gateway, ALICE, document, name=name))[field]
            assert hidden == {**unknown, "message": unknown["message"].replace(UNKNOWN, name)}
            member = (await ask(gateway, ROOT_TOKEN, document, name=name))[field]
            assert member["__typename"] == allowed, member


def manual_body(job: str, repo: str, prowtype: str) -> dict[str, Any]:
    return {
        "org": "example-org", "repo": repo, "base_ref": "main", "prowtype": prowtype,
        "prowjob": job, "pullrequest": 1,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("job", "repo", "prowtype"),
    [
        ("pull-gadgets-unit", "gadgets", "presubmit"),
        ("post-gadgets-publish", "gadgets", "postsubmit"),
        (HIDDEN_TWIN, "gadgets", "presubmit"),
        (HIDDEN_PERIODIC, "widgets", "presubmit"),
    ],
)
async def test_manual_trigger_of_a_hidden_job_answers_like_an_unknown_one(
    gateway: RunningGateway, job: str, repo: str, prowtype: str
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        hidden = await client.post(
            "/manual-trigger", json=manual_body(job, repo, prowtype), headers=bearer(ALICE)
        )
        unknown = await client.post(
            "/manual-trigger", json=manual_body(UNKNOWN, repo, prowtype), headers=bearer(ALICE)
        )
    assert unknown.status_code == 404
    assert hidden.status_code == unknown.status_code
    assert hidden.content == unknown.content.replace(UNKNOWN.encode(), job.encode())
    if job == "pull-gadgets-unit":
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
            body = manual_body(job, repo, prowtype)
            allowed = await client.post("/manual-trigger", json=body, headers=bearer(ROOT_TOKEN))
        assert allowed.status_code == 200 and allowed.json()["success"], allowed.text


def gangway_body(job: str, kind: str, repo: str = "gadgets") -> dict[str, Any]:
    body: dict[str, Any] = {"job_name": job, "job_execution_type": kind}
    if kind != "PERIODIC":
        body["refs"] = {
            "org": "example-org", "repo": repo, "base_ref": "main", "base_sha": SHA,
            "pulls": [{"number": 1, "sha": SHA, "author": "alice"}],
        }  # fmt: skip
    return body


@pytest.mark.parametrize(
    ("job", "kind"),
    [(HIDDEN_PERIODIC, "PERIODIC"), ("pull-gadgets-unit", "PRESUBMIT"), (HIDDEN_TWIN, "PRESUBMIT")],
)
async def test_gangway_create_of_a_hidden_job_answers_like_an_unknown_one(
    gateway: RunningGateway, job: str, kind: str
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        hidden = await client.post(
            "/v1/executions", json=gangway_body(job, kind), headers=bearer(ALICE)
        )
        unknown = await client.post(
            "/v1/executions", json=gangway_body(UNKNOWN, kind), headers=bearer(ALICE)
        )
    assert unknown.status_code >= 400
    assert hidden.status_code == unknown.status_code
    assert hidden.content == unknown.content.replace(UNKNOWN.encode(), job.encode())
    if job != HIDDEN_TWIN:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
            allowed = await client.post(
                "/v1/executions", json=gangway_body(job, kind), headers=bearer(ROOT_TOKEN)
            )
        assert allowed.status_code == 200, allowed.text


LOG = "subscription($name: String!) { prowJobLog(name: $name) { kind lines } }"


async def test_prow_job_log_ends_when_a_reload_hides_the_job_mid_stream(tmp_path: Path) -> None:
    root = trigger_config(tmp_path)
    settings = example_settings(
        "--config-path", str(root / "config.yaml"), "--job-config-path", str(root / "jobs"),
        "--auth", "token", "--token-file", str(token_file(tmp_path)),
        "--hidden-jobs-group", HIDDEN_GROUP, "--sim-pending-after", "0",
        "--sim-complete-after", "12",  # a test line about every two seconds
    )  # fmt: skip
    async with serve(settings) as gw:
        await wait_ready(gw)
        job = await graphql_trigger(gw, ROOT_TOKEN, "pull-widgets-unit", "widgets", "PRESUBMIT")
        name = job["prowJob"]["name"]
        async with TransportWSClient.connect(gw.ws_url, {"Authorization": f"Bearer {ALICE}"}) as ws:
            op = await ws.subscribe(LOG, {"name": name})
            first = await ws.receive()
            assert first["id"] == op and first["type"] == "next", first
            assert "errors" not in first["payload"], first
            # Hide example-org/widgets, the run's repo, and reload the config.
            config = root / "config.yaml"
            hidden = f"hidden_repos: [{HIDDEN_REPO}]"
            config.write_text(
                config.read_text().replace(hidden, f"hidden_repos: [{HIDDEN_REPO}, {VISIBLE_REPO}]")
            )
            later = time.time() + 5
            os.utime(config, (later, later))
            assert gw.app.state.gateway.service.config.reload() is True
            while True:
                message = await ws.receive(timeout=15)
                payload = message.get("payload")
                if message["type"] == "error" or (
                    isinstance(payload, dict) and "errors" in payload
                ):
                    break
                assert message["type"] == "next", message  # no end while the job runs
                assert payload["data"]["prowJobLog"]["kind"] != "ENDED", message
    assert "no ProwJob named" in json.dumps(message)
