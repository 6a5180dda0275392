"""Driving the gateway through its API (not the page) from browser tests."""

from __future__ import annotations

from typing import Any

from tests.harness import RunningGateway, TransportWSClient

TRIGGER = """
mutation ($job: String!, $pr: Int!) {
  triggerJob(input: {org: "example-org", repo: "widgets", job: $job, type: PRESUBMIT,
                     baseRef: "main", pullRequest: {number: $pr}}) {
    __typename
    ... on TriggerJobSuccess { prowJob { name } }
    ... on Error { message }
  }
}
"""

FOLLOW = "subscription ($name: String!) { prowJobUpdated(name: $name) { state } }"

PROW_JOB = "query ($name: String!) { prowJob(name: $name) { state buildId logLink } }"


async def trigger(
    gateway: RunningGateway, job: str, pr: int = 7, headers: dict[str, str] | None = None
) -> str:
    """Trigger a presubmit of example-org/widgets; returns the ProwJob's name."""
    body = await gateway.query(TRIGGER, {"job": job, "pr": pr}, **(headers or {}))
    result = body["data"]["triggerJob"]
    assert result["__typename"] == "TriggerJobSuccess", result
    name: str = result["prowJob"]["name"]
    return name


async def wait_finished(gateway: RunningGateway, name: str) -> str:
    """Follow the ProwJob until its subscription completes; returns its final state."""
    async with TransportWSClient.connect(gateway.ws_url) as client:
        op = await client.subscribe(FOLLOW, {"name": name})
        updates = await client.collect(op)
    state: str = updates[-1]["data"]["prowJobUpdated"]["state"]
    return state


async def prow_job(gateway: RunningGateway, name: str) -> dict[str, Any]:
    """The ProwJob as the API reports it now."""
    body = await gateway.query(PROW_JOB, {"name": name})
    job: dict[str, Any] = body["data"]["prowJob"]
    return job
