"""Attack 6: inputs that used to surface as unexpected errors (crafted cursors, a failing
backend) are typed, client mistakes are not logged as ERROR, and request ids cannot forge logs."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from prow_graphql.settings import Settings
from tests.conftest import kube_gateway
from tests.harness import (
    EXAMPLE,
    RunningGateway,
    example_settings,
    parse_serve_args,
    serve,
    wait_ready,
)

CRAFTED = [
    base64.urlsafe_b64encode(b"[" * 100_000).decode(),  # nested until RecursionError
    base64.urlsafe_b64encode(b'{"a": 1, "b": 2}').decode(),
    base64.urlsafe_b64encode(b"[[1], [2]]").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "not base64 at all!",
    "A" * 100_000,
]
PAGE = "query($after: String) { prowJobs(after: $after) { totalCount } }"
TRIGGER = """mutation { triggerJob(input: {org: "example-org", repo: "widgets",
  job: "post-widgets-push-image", type: POSTSUBMIT, baseRef: "main"}) {
    __typename ... on BackendUnavailable { message retryable }
    ... on BackendForbidden { message retryable } } }"""


async def post(gw: RunningGateway, query: str, variables: Any = None, **headers: str) -> Any:
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
    assert response.status_code < 500, response.text
    return response.json()


def production_settings() -> Settings:
    """The example config without --dev: unexpected errors are masked."""
    return parse_serve_args([
        "--config-path", str(EXAMPLE / "config.yaml"), "--job-config-path", str(EXAMPLE / "jobs"),
        "--backend", "memory",
    ])  # fmt: skip


@pytest.mark.parametrize("dev", [True, False])
async def test_crafted_cursors_are_invalid_input(
    caplog: pytest.LogCaptureFixture, dev: bool
) -> None:
    async with serve(example_settings() if dev else production_settings()) as gw:
        await wait_ready(gw)
        for cursor in CRAFTED:
            body = await post(gw, PAGE, {"after": cursor})
            [error] = body["errors"]
            assert error["message"].startswith("after: is not a cursor"), error
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_backend_failures_are_typed_and_say_whether_to_retry(tmp_path: Path) -> None:
    async with kube_gateway(tmp_path) as gw:
        await wait_ready(gw)
        faults = gw.api.app.faults  # type: ignore[attr-defined]
        faults.fail_status, faults.fail_verb, faults.fail_remaining = 503, "create", 100
        # A mutation's backend failure is a typed member of its result union (no `errors`).
        result = (await post(gw, TRIGGER))["data"]["triggerJob"]
        assert result["__typename"] == "BackendUnavailable", result
        assert result["retryable"] is True and "retry" in result["message"], result
        assert "injected" not in result["message"]  # the API server's own text stays in the log
        faults.fail_status, faults.fail_remaining = 403, 100
        result = (await post(gw, TRIGGER))["data"]["triggerJob"]
        assert result["__typename"] == "BackendForbidden" and result["retryable"] is False
        assert "injected" not in result["message"]
        faults.fail_remaining = 0
        assert (await post(gw, TRIGGER))["data"]["triggerJob"]["__typename"] == "TriggerJobSuccess"


async def test_client_mistakes_are_logged_below_error_with_bounded_request_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with serve(example_settings()) as gw:
        # U+0085 (NEL) ends a line for many log readers; httpx refuses CR/LF themselves.
        forged = "x\x85ERROR forged log line"
        for request_id in (forged.encode("latin-1"), b"r" * 10_000):
            body = await post(gw, "{ nope }", **{"x-request-id": request_id})  # type: ignore[arg-type]
            assert body["errors"]
        body = await post(gw, "{ nope }", **{"x-request-id": "trace-123"})
    rejected = [r for r in caplog.records if "rejected operation" in r.getMessage()]
    assert len(rejected) == 3 and all(r.levelno == logging.INFO for r in rejected)
    assert all("\x85" not in r.getMessage() and len(r.getMessage()) < 500 for r in rejected)
    assert "trace-123" in rejected[-1].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
