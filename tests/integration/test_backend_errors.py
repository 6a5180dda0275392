"""Store failures reach the caller as typed results that say whether a retry can help.

On the fake API server (which injects faults) and on the real one (whose CRD refuses what a
broken job config builds): GraphQL answers InvalidProwJob / BackendUnavailable / BackendForbidden,
REST answers a 4xx/5xx body with the same facts, never "Unexpected error.".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import job_dir, kube_gateway, realkube_gateway
from tests.harness import RunningGateway, wait_ready
from tests.realkube import RealKube

TRIGGER = """
mutation($input: TriggerJobInput!) {
  triggerJob(input: $input) {
    __typename
    ... on Error { message }
    ... on InvalidProwJob { field causes { field message } apiMessage job sourceFile retryable }
    ... on BackendUnavailable { retryable }
    ... on BackendForbidden { retryable }
  }
}
"""
POSTSUBMIT = {
    "org": "example-org", "repo": "widgets", "job": "post-widgets-push-image",
    "type": "POSTSUBMIT", "baseRef": "main",
}  # fmt: skip
REST_POSTSUBMIT = {
    "org": "example-org", "repo": "widgets", "base_ref": "main", "prowtype": "postsubmit",
    "prowjob": "post-widgets-push-image",
}  # fmt: skip
BROKEN_JOBS = """
postsubmits:
  example-org/broken:
  - name: post-broken
    spec:
      containers:
      - image: golang:1.22
        command: [make, test]
        resources:
          limits:
            cpu: lots  # not a quantity: Prow's CRD pattern refuses it
"""


async def trigger(gw: RunningGateway, request: dict[str, Any]) -> dict[str, Any]:
    body = await gw.query(TRIGGER, {"input": request})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["triggerJob"]
    return result


async def manual_trigger(gw: RunningGateway, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        return await client.post("/manual-trigger", json=body)


@pytest.mark.parametrize(
    ("status", "typename", "retryable", "rest_status"),
    [
        (500, "BackendUnavailable", True, 503),
        (503, "BackendUnavailable", True, 503),
        (403, "BackendForbidden", False, 502),
        (401, "BackendForbidden", False, 502),
    ],
)
async def test_store_failures_are_typed_and_say_whether_to_retry(
    tmp_path: Path,
    status: int,
    typename: str,
    retryable: bool,
    rest_status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with kube_gateway(tmp_path) as gw:
        await wait_ready(gw)
        api = gw.api  # type: ignore[attr-defined]
        api.fail_next(10, status=status, verb="create")
        result = await trigger(gw, POSTSUBMIT)
        response = await manual_trigger(gw, REST_POSTSUBMIT)
        api.fail_next(0)
    assert result["__typename"] == typename, result
    assert result["retryable"] is retryable
    advice = "retry shortly" if retryable else "grant its service account"
    # The caller gets advice; the API server's own text goes to the operator's log only.
    assert advice in result["message"] and "injected" not in result["message"], result
    assert response.status_code == rest_status
    body = response.json()
    assert body["success"] is False and body["retryable"] is retryable
    assert advice in body["message"] and "injected" not in body["message"], body
    logged = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(f"injected {status}" in m for m in logged), logged


@pytest.fixture
def broken_jobs(tmp_path: Path) -> Path:
    return job_dir(tmp_path, "broken.yaml", BROKEN_JOBS)


async def test_a_prowjob_the_crd_refuses_is_an_invalid_prowjob_result(
    realkube: RealKube, tmp_path: Path, broken_jobs: Path
) -> None:
    async with realkube_gateway(realkube, tmp_path, job_config=broken_jobs) as gw:
        await wait_ready(gw)
        result = await trigger(gw, {**POSTSUBMIT, "repo": "broken", "job": "post-broken"})
        response = await manual_trigger(
            gw, {**REST_POSTSUBMIT, "repo": "broken", "prowjob": "post-broken"}
        )
    field = "spec.pod_spec.containers[0].resources.limits.cpu"
    assert result["__typename"] == "InvalidProwJob", result
    assert result["field"] == field
    assert result["job"] == "post-broken" and result["retryable"] is False
    assert result["sourceFile"].endswith("broken.yaml")
    assert "should match" in result["causes"][0]["message"]
    assert result["apiMessage"].startswith('ProwJob.prow.k8s.io "')
    assert "post-broken" in result["message"] and "broken.yaml" in result["message"]

    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False and body["retryable"] is False
    assert body["field"] == field and body["source_file"].endswith("broken.yaml")
    assert "should match" in body["message"]
