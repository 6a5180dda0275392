"""POST /manual-trigger over real sockets: the old service's contract, field names and messages."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from prow_graphql.store.base import ProwJobObject
from tests.conftest import kube_gateway
from tests.harness import RunningGateway, example_settings, serve, wait_ready

ORG, REPO = "example-org", "widgets"
DECK = "https://prow.example.com"  # the origin of plank's "*" job_url_prefix in examples/prow
PRESUBMIT = "pull-widgets-unit"
PRESUBMIT_ONLY = "pull-widgets-lint"  # only a presubmit: the run-as-postsubmit case
POSTSUBMIT = "post-widgets-push-image"
BOTH = "widgets-build"  # a presubmit and a postsubmit of the same name

MISSING = "Missing required fields: org, repo, base_ref, prowtype, prowjob"
PR_REQUIRED = (
    "Pull request number is required for presubmit jobs. Please provide 'pullrequest' parameter."
)
SUCCESS_KEYS = {
    "success", "message", "job_name", "status_link", "log_link",  # the old contract
    "build_id", "state", "url", "dry_run",  # ours
}  # fmt: skip

TOKEN_ALICE = "alice-token-0123456789"
TOKEN_BOB = "bob-token-0123456789ab"


def presubmit_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "org": ORG, "repo": REPO, "base_ref": "main", "prowtype": "presubmit",
        "prowjob": PRESUBMIT, "pullrequest": 42, "user": "alice",
    }  # fmt: skip
    body.update(overrides)
    return body


@pytest.fixture
async def client(gateway: RunningGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as c:
        yield c


async def stored(gw: RunningGateway) -> list[ProwJobObject]:
    """Every ProwJob in the store (authoritative, unlike the informer cache)."""
    page = await gw.app.state.gateway.store.list()
    items: list[ProwJobObject] = page.items
    return items


async def total_count(gw: RunningGateway) -> int:
    body = await gw.query("{ prowJobs { totalCount } }")
    count: int = body["data"]["prowJobs"]["totalCount"]
    return count


def envs(obj: ProwJobObject, name: str) -> list[str]:
    """The values of env `name` in every container of the ProwJob's pod spec."""
    return [
        e["value"]
        for c in obj["spec"]["pod_spec"]["containers"]
        for e in c.get("env", [])
        if e["name"] == name
    ]


# --- success ---------------------------------------------------------------------------------


async def test_json_body_creates_and_answers_with_the_build_id(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    await wait_ready(gateway)
    response = await client.post("/manual-trigger", json=presubmit_body())
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == SUCCESS_KEYS
    name, build_id = body["job_name"], body["build_id"]
    assert body["success"] is True and body["message"] == "ProwJob created successfully"
    assert body["dry_run"] is False
    assert build_id.isdigit(), body  # the simulator starts the job within 50 ms
    assert body["status_link"] == f"{DECK}/prowjob?prowjob={name}"
    assert body["log_link"] == f"{DECK}/log?job={PRESUBMIT}&id={build_id}"
    assert body["state"] in ("pending", "success", "failure")
    assert body["url"] == (
        "https://prow.example.com/view/gs/example-prow-artifacts/pr-logs/pull/"
        f"example-org_widgets/42/{PRESUBMIT}/{build_id}"
    )
    [obj] = await stored(gateway)
    assert obj["metadata"]["name"] == name
    spec = obj["spec"]
    assert spec["type"] == "presubmit" and spec["job"] == PRESUBMIT
    assert spec["refs"]["base_ref"] == "main"
    assert spec["refs"]["repo_link"] == f"https://github.com/{ORG}/{REPO}"
    assert [(p["number"], p["link"]) for p in spec["refs"]["pulls"]] == [
        (42, f"https://github.com/{ORG}/{REPO}/pull/42")
    ]
    assert "base_sha" not in spec["refs"]
    assert envs(obj, "AUTHOR") == ["alice"]


async def test_query_parameters_work_like_a_json_body(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    params = {
        "org": ORG, "repo": REPO, "base_ref": "main", "prowtype": "postsubmit",
        "prowjob": POSTSUBMIT, "user": "bob",
    }  # fmt: skip
    # Query-string fields need the X-Requested-With header (a form post cannot send it: CSRF).
    scripted = {"x-requested-with": "curl"}
    response = await client.post("/manual-trigger", params=params, headers=scripted)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == SUCCESS_KEYS and body["message"] == "ProwJob created successfully"
    [obj] = await stored(gateway)
    assert obj["metadata"]["name"] == body["job_name"]
    assert obj["spec"]["type"] == "postsubmit" and obj["spec"]["job"] == POSTSUBMIT
    assert "pulls" not in obj["spec"]["refs"]
    assert envs(obj, "AUTHOR") == ["bob"]
    # The pull request number arrives as a string in a query string.
    response = await client.post(
        "/manual-trigger", params={**params, "prowtype": "presubmit", "prowjob": PRESUBMIT,
                                   "pullrequest": "7"}, headers=scripted,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    created = {o["metadata"]["name"]: o for o in await stored(gateway)}
    pulls = created[response.json()["job_name"]]["spec"]["refs"]["pulls"]
    assert [p["number"] for p in pulls] == [7]


async def test_body_fields_win_over_query_parameters(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        "/manual-trigger",
        params={"prowjob": "no-such-job", "org": ORG},
        json=presubmit_body(prowjob=PRESUBMIT_ONLY, org=None),
    )
    assert response.status_code == 200, response.text
    [obj] = await stored(gateway)
    assert obj["spec"]["job"] == PRESUBMIT_ONLY  # body over query; a null body field is absent
    assert obj["spec"]["refs"]["org"] == ORG


async def test_presubmit_runs_as_postsubmit_without_a_pull_request(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    body = presubmit_body(prowtype="postsubmit", prowjob=PRESUBMIT_ONLY)
    del body["pullrequest"]
    response = await client.post("/manual-trigger", json=body)
    assert response.status_code == 200, response.text
    [obj] = await stored(gateway)
    assert obj["spec"]["type"] == "postsubmit" and obj["spec"]["job"] == PRESUBMIT_ONLY
    assert obj["metadata"]["labels"]["prow.k8s.io/type"] == "postsubmit"
    assert "pulls" not in obj["spec"]["refs"]
    assert "rerun_command" not in obj["spec"]
    # A pull request number given with prowtype=postsubmit is ignored, as the old service did.
    response = await client.post("/manual-trigger", json={**body, "pullrequest": 5})
    assert response.status_code == 200, response.text
    objects = {o["metadata"]["name"]: o for o in await stored(gateway)}
    assert "pulls" not in objects[response.json()["job_name"]]["spec"]["refs"]


async def test_a_name_defined_as_both_types_runs_the_definition_of_the_requested_type(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    # The old service looked in presubmits first; we take the postsubmit when one exists (see
    # docs/rest.md). Visible through branch filters: the postsubmit runs only on main.
    body = presubmit_body(prowtype="postsubmit", prowjob=BOTH, base_ref="release-1.0")
    response = await client.post("/manual-trigger", json=body)
    assert response.status_code == 404, response.text
    assert response.json()["message"] == f"Job {BOTH} not found in config for {ORG}/{REPO}"
    assert "does not run against that branch" in response.json()["detail"]
    response = await client.post("/manual-trigger", json={**body, "base_ref": "main"})
    assert response.status_code == 200, response.text
    [obj] = await stored(gateway)
    assert obj["spec"]["type"] == "postsubmit" and obj["spec"]["job"] == BOTH


# --- errors ----------------------------------------------------------------------------------


async def test_each_missing_field_is_named_and_nothing_is_created(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    for field in ("org", "repo", "base_ref", "prowtype", "prowjob"):
        for absent in ("delete", None, "", "   "):
            body = presubmit_body()
            if absent == "delete":
                del body[field]
            else:
                body[field] = absent
            response = await client.post("/manual-trigger", json=body)
            assert response.status_code == 400, (field, absent)
            assert response.json() == {"success": False, "message": MISSING, "missing": [field]}
    response = await client.post("/manual-trigger", headers={"x-requested-with": "test"})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "message": MISSING,
        "missing": ["org", "repo", "base_ref", "prowtype", "prowjob"],
    }
    assert await stored(gateway) == []


async def test_unknown_job_is_404_with_the_old_message(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    for prowtype in ("presubmit", "postsubmit"):
        body = presubmit_body(prowtype=prowtype, prowjob="pull-widgets-unti")
        response = await client.post("/manual-trigger", json=body)
        assert response.status_code == 404, response.text
        answer = response.json()
        assert set(answer) == {"success", "message", "detail"}
        assert answer["success"] is False
        assert answer["message"] == f"Job pull-widgets-unti not found in config for {ORG}/{REPO}"
        assert "Did you mean: pull-widgets-unit" in answer["detail"]
    response = await client.post("/manual-trigger", json=presubmit_body(repo="nothing"))
    assert response.json()["message"] == f"Job {PRESUBMIT} not found in config for {ORG}/nothing"
    assert await stored(gateway) == []


async def test_presubmit_without_pull_request_gets_the_old_message(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    for missing in ("delete", None, "", 0, "0"):
        body = presubmit_body()
        if missing == "delete":
            del body["pullrequest"]
        else:
            body["pullrequest"] = missing
        response = await client.post("/manual-trigger", json=body)
        assert response.status_code == 400, (missing, response.text)
        assert response.json() == {"success": False, "message": PR_REQUIRED, "field": "pullrequest"}
    assert await stored(gateway) == []
    assert await total_count(gateway) == 0


BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    ("pullrequest", {"pullrequest": "abc"},
     "pullrequest: must be a pull request number (an integer), not 'abc'"),
    ("pullrequest", {"pullrequest": True},
     "pullrequest: must be a pull request number (an integer), not a boolean"),
    ("pullrequest", {"pullrequest": 4.5},
     "pullrequest: must be a pull request number (an integer), not a number"),
    ("pullrequest", {"pullrequest": [42]},
     "pullrequest: must be a pull request number (an integer), not an array"),
    ("pullrequest", {"pullrequest": -3}, "pullrequest: must be between 1 and 2147483647"),
    ("pullrequest", {"pullrequest": 2**31}, "pullrequest: must be between 1 and 2147483647"),
    ("pullrequest", {"pullrequest": "9" * 400},
     "pullrequest: must be a pull request number (an integer), not other text"),
    ("prowtype", {"prowtype": "weekly"},
     "prowtype: must be presubmit or postsubmit, not 'weekly'"),
    ("prowtype", {"prowtype": "periodic"},
     "prowtype: must be presubmit or postsubmit, not 'periodic'"),
    ("org", {"org": 123}, "org: must be a string, not a number"),
    ("repo", {"repo": {"name": "widgets"}}, "repo: must be a string, not an object"),
    ("prowjob", {"prowjob": "x" * 254}, "prowjob: must be at most 253 characters"),
    ("user", {"user": "u" * 300}, "user: must be at most 253 characters"),
    ("user", {"user": "eve\nAUTHOR=root"},
     "user: must not contain control or separator characters"),
    ("base_ref", {"base_ref": "main..x~1"}, "base_ref: is not a valid git branch name"),
    ("org", {"org": "bad org!"},
     "org: 'bad org!' is not a valid org name (letters, digits, . _ - /)"),
]  # fmt: skip


async def test_bad_values_are_400_naming_the_field(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    for field, overrides, message in BAD_INPUTS:
        response = await client.post("/manual-trigger", json=presubmit_body(**overrides))
        assert response.status_code == 400, (overrides, response.text)
        assert response.json() == {"success": False, "message": message, "field": field}
    assert await stored(gateway) == []


RAW_BODIES: list[tuple[bytes, str]] = [
    (b"{bad", "body: is not valid JSON (Expecting property name enclosed in double quotes at "
     "line 1 column 2); send a JSON object with org, repo, base_ref, prowtype, prowjob (or URL "
     "query parameters)"),
    (b"[1, 2]", "body: must be a JSON object, not an array"),
    (b'"org"', "body: must be a JSON object, not a string"),
    (b"null", "body: must be a JSON object, not null"),
    (b'{"org": "\xc3\x28"}', "body: is not valid JSON text; send a JSON object with org, repo, "
     "base_ref, prowtype, prowjob (or URL query parameters)"),
    (b"[" * 100_000, "body: is nested too deeply; send a JSON object with org, repo, base_ref, "
     "prowtype, prowjob (or URL query parameters)"),
    (b'{"org": "\\ud800", "repo": "widgets"}', "org: must be valid Unicode text"),
]  # fmt: skip


async def test_malformed_bodies_are_400(gateway: RunningGateway, client: httpx.AsyncClient) -> None:
    for raw, message in RAW_BODIES:
        response = await client.post(
            "/manual-trigger", content=raw, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, (raw[:20], response.text)
        assert response.json()["success"] is False
        assert response.json()["message"] == message, raw[:20]
    response = await client.post(
        "/manual-trigger?org=a&org=b&repo=widgets", headers={"x-requested-with": "test"}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "org: is given more than once in the query string"
    assert await stored(gateway) == []


async def test_other_methods_and_oversized_bodies_are_refused(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    response = await client.get("/manual-trigger", params=presubmit_body())
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json() == {"success": False, "message": "use POST /manual-trigger"}

    async def chunks() -> AsyncIterator[
        bytes
    ]:  # no Content-Length: the limit is enforced while reading
        yield b'{"org": "'
        for _ in range(300):
            yield b"x" * 1024
        yield b'"}'

    response = await client.post(
        "/manual-trigger", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert response.json()["success"] is False
    assert await stored(gateway) == []


# --- waiting for the BuildID, dry run --------------------------------------------------------


async def test_short_wait_with_a_slow_plank_answers_without_the_build_id() -> None:
    settings = example_settings("--build-id-wait", "0.1", "--sim-pending-after", "5")
    async with serve(settings) as gw, httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        await wait_ready(gw)
        started = time.monotonic()
        response = await client.post("/manual-trigger", json=presubmit_body())
        elapsed = time.monotonic() - started
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True and body["message"] == "ProwJob created successfully"
        assert body["build_id"] == "" and body["log_link"] == "" and body["url"] == ""
        assert body["state"] == "triggered"
        assert body["status_link"] == f"{DECK}/prowjob?prowjob={body['job_name']}"
        assert elapsed < 2.0, elapsed  # 0.1 s wait, not the default 15 s
        assert [o["metadata"]["name"] for o in await stored(gw)] == [body["job_name"]]


@pytest.mark.parametrize("backend", ["memory", "kube"])
async def test_server_dry_run_builds_without_creating(backend: str, tmp_path: Path) -> None:
    running = (
        serve(example_settings("--dry-run"))
        if backend == "memory"
        else kube_gateway(tmp_path, "--dry-run")
    )
    async with running as gw, httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        await wait_ready(gw)
        response = await client.post("/manual-trigger", json=presubmit_body())
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == SUCCESS_KEYS | {"prowjob"}
        assert body["success"] is True and body["dry_run"] is True
        assert body["message"] == "Dry run: ProwJob built but not created"
        assert body["build_id"] == "" and body["log_link"] == "" and body["state"] == "triggered"
        prowjob = body["prowjob"]
        assert prowjob["metadata"]["name"] == body["job_name"]
        assert prowjob["spec"]["job"] == PRESUBMIT and prowjob["spec"]["type"] == "presubmit"
        assert envs(prowjob, "AUTHOR") == ["alice"]
        assert await stored(gw) == []
        assert await total_count(gw) == 0


# --- identity and metrics --------------------------------------------------------------------


def token_settings(tmp_path: Path) -> Any:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        "tokens:\n"
        f"  - {{user: alice, token: {TOKEN_ALICE}, groups: ['github-org:example-org']}}\n"
        f"  - {{user: bob, token: {TOKEN_BOB}}}\n"
    )
    return example_settings("--auth", "token", "--token-file", str(tokens))


async def test_with_token_auth_the_identity_is_the_author_and_others_are_refused(
    tmp_path: Path,
) -> None:
    async with (
        serve(token_settings(tmp_path)) as gw,
        httpx.AsyncClient(base_url=gw.url, timeout=30) as client,
    ):
        await wait_ready(gw)
        spoofed = presubmit_body(user="mallory")
        response = await client.post("/manual-trigger", json=spoofed)
        assert response.status_code == 401, response.text
        assert response.json()["success"] is False
        response = await client.post(
            "/manual-trigger", json=spoofed, headers={"authorization": f"Bearer {TOKEN_BOB}"}
        )
        assert response.status_code == 403, response.text
        refused = response.json()
        assert refused["success"] is False and "example-org" in refused["message"]
        assert await stored(gw) == []

        response = await client.post(
            "/manual-trigger", json=spoofed, headers={"authorization": f"Bearer {TOKEN_ALICE}"}
        )
        assert response.status_code == 200, response.text
        [obj] = await stored(gw)
        assert obj["metadata"]["name"] == response.json()["job_name"]
        assert envs(obj, "AUTHOR") == ["alice"]  # not "mallory": the request cannot override it


async def test_requests_are_counted_by_outcome(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    metrics = getattr(gateway.app.state.gateway, "metrics", None)
    if metrics is None:
        pytest.skip("the gateway has no metrics yet")

    def count(outcome: str) -> float:
        value = metrics.registry.get_sample_value(
            "prow_graphql_manual_trigger_requests_total", {"outcome": outcome}
        )
        return float(value or 0.0)

    assert (count("success"), count("user_error")) == (0.0, 0.0)
    await client.post("/manual-trigger", json=presubmit_body(prowjob="nope"))
    await client.post("/manual-trigger", json=presubmit_body(pullrequest="x"))
    await client.post("/manual-trigger", json=presubmit_body())
    assert (count("success"), count("user_error")) == (1.0, 2.0)
    assert (
        metrics.registry.get_sample_value("prow_graphql_manual_trigger_duration_seconds_count")
        == 3.0
    )


# --- SHAs (§8.6) -----------------------------------------------------------------------------

BASE_SHA = "0123456789abcdef0123456789abcdef01234567"
PULL_SHA = "89abcdef0123456789abcdef0123456789abcdef"


async def test_base_and_pull_shas_are_written_to_refs(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    body = presubmit_body(base_sha=BASE_SHA, pull_sha=PULL_SHA)
    response = await client.post("/manual-trigger", json=body)
    assert response.status_code == 200, response.text
    (created,) = await stored(gateway)
    refs = created["spec"]["refs"]
    assert (refs["base_sha"], refs["pulls"][0]["sha"]) == (BASE_SHA, PULL_SHA)


async def test_a_bad_sha_is_400_naming_the_old_style_field(
    gateway: RunningGateway, client: httpx.AsyncClient
) -> None:
    for field in ("base_sha", "pull_sha"):
        response = await client.post("/manual-trigger", json=presubmit_body(**{field: "abc"}))
        assert response.status_code == 400, response.text
        assert response.json() == {
            "success": False,
            "message": f"{field}: must be a full 40-character lowercase hex SHA",
            "field": field,
        }
    assert await stored(gateway) == []


async def test_require_shas_refuses_runs_that_could_never_gate_a_merge() -> None:
    async with serve(example_settings("--require-shas")) as gw:
        await wait_ready(gw)
        async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
            response = await client.post("/manual-trigger", json=presubmit_body())
            assert response.status_code == 400
            assert response.json()["field"] == "base_sha"
            assert "--require-shas" in response.json()["message"]
            response = await client.post("/manual-trigger", json=presubmit_body(base_sha=BASE_SHA))
            assert response.json()["field"] == "pull_sha"
            body = presubmit_body(base_sha=BASE_SHA, pull_sha=PULL_SHA)
            response = await client.post("/manual-trigger", json=body)
            assert response.status_code == 200, response.text
