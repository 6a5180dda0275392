"""Subscriptions over Server-Sent Events: graphql-sse's distinct connections mode (one HTTP
request per operation, `Accept: text/event-stream`), for clients behind proxies that refuse
WebSockets. Driven with httpx streaming over a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.harness import RunningGateway, example_settings, serve, wait_ready

SSE = {"Accept": "text/event-stream"}

TRIGGER = """
mutation ($job: String!) {
  triggerJob(input: {org: "example-org", repo: "widgets", job: $job, type: PRESUBMIT,
                     baseRef: "main", pullRequest: {number: 3}}) {
    __typename
    ... on TriggerJobSuccess { prowJob { name } }
  }
}
"""

FOLLOW = "subscription ($name: String!) { prowJobUpdated(name: $name) { name state buildId } }"

EVENTS = """
subscription ($filter: ProwJobFilter) {
  prowJobEvents(filter: $filter, includeSnapshot: true) { type snapshot prowJob { name state } }
}
"""


@contextlib.asynccontextmanager
async def paced_gateway() -> AsyncIterator[RunningGateway]:
    """The example config with each simulated state held long enough to be seen."""
    settings = example_settings("--sim-pending-after", "0.3", "--sim-complete-after", "0.3")
    async with serve(settings) as gateway:
        await wait_ready(gateway)
        yield gateway


async def trigger(gateway: RunningGateway, job: str = "pull-widgets-unit") -> str:
    body = await gateway.query(TRIGGER, {"job": job})
    result = body["data"]["triggerJob"]
    assert result["__typename"] == "TriggerJobSuccess", result
    name: str = result["prowJob"]["name"]
    return name


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """(event, data) pairs of a text/event-stream body; comments (heartbeats) are skipped."""
    event, data = "", []
    async for line in response.aiter_lines():
        if line == "":
            if event or data:
                yield event or "message", "\n".join(data)
            event, data = "", []
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)


async def read_until_end(response: httpx.Response, limit: int = 50) -> list[tuple[str, Any]]:
    """Every event until the server ends the stream; `next` data decoded from JSON."""
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    events: list[tuple[str, Any]] = []
    async with asyncio.timeout(10), contextlib.aclosing(sse_events(response)) as stream:
        async for event, data in stream:
            events.append((event, json.loads(data) if event == "next" else data))
            assert len(events) <= limit, events
    return events


def distinct(values: list[str]) -> list[str]:
    """`values` without consecutive repeats (a change of BuildID or URL repeats the state)."""
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


async def test_prow_job_updated_streams_each_state_in_order_then_completes() -> None:
    async with paced_gateway() as gateway, httpx.AsyncClient(base_url=gateway.url) as client:
        name = await trigger(gateway)
        request = {"query": FOLLOW, "variables": {"name": name}}
        async with client.stream("POST", "/graphql", json=request, headers=SSE) as response:
            assert response.headers["cache-control"] == "no-cache, no-transform"
            events = await read_until_end(response)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "complete"
    assert set(kinds[:-1]) == {"next"}
    jobs = [data["data"]["prowJobUpdated"] for _, data in events[:-1]]
    assert {job["name"] for job in jobs} == {name}
    assert distinct([job["state"] for job in jobs]) == ["TRIGGERED", "PENDING", "SUCCESS"]
    assert jobs[0]["buildId"] is None
    assert jobs[-1]["buildId"] is not None and jobs[-1]["buildId"].isdigit()


async def test_get_with_query_parameters_works_for_event_source_clients() -> None:
    # Browsers' EventSource can only GET: the operation travels in the query string.
    async with paced_gateway() as gateway, httpx.AsyncClient(base_url=gateway.url) as client:
        name = await trigger(gateway)
        params = {"query": FOLLOW, "variables": json.dumps({"name": name})}
        async with client.stream("GET", "/graphql", params=params, headers=SSE) as response:
            events = await read_until_end(response)
    assert events[-1][0] == "complete"
    assert events[-2][1]["data"]["prowJobUpdated"]["state"] == "SUCCESS"


async def test_live_feed_sends_the_snapshot_then_new_jobs() -> None:
    async with paced_gateway() as gateway, httpx.AsyncClient(base_url=gateway.url) as client:
        earlier = await trigger(gateway, "pull-widgets-lint")
        request = {"query": EVENTS, "variables": {"filter": {"repo": "widgets"}}}
        async with client.stream("POST", "/graphql", json=request, headers=SSE) as response:
            assert response.status_code == 200
            seen: list[tuple[str, str, bool]] = []
            later = ""
            async with asyncio.timeout(10), contextlib.aclosing(sse_events(response)) as stream:
                async for kind, data in stream:
                    assert kind == "next", (kind, data)
                    event = json.loads(data)["data"]["prowJobEvents"]
                    job = event["prowJob"]
                    seen.append((job["name"], job["state"], event["snapshot"]))
                    if not later:
                        # The first event is the snapshot; trigger while the stream is open.
                        later = await trigger(gateway, "pull-widgets-unit")
                    elif job["name"] == later and job["state"] == "SUCCESS":
                        break
                    assert len(seen) < 20, seen
    assert seen[0][0] == earlier and seen[0][2] is True
    assert (later, "SUCCESS", False) in seen
    assert all(not snapshot for name, _, snapshot in seen if name == later)


async def test_invalid_subscription_answers_with_errors_then_completes() -> None:
    async with paced_gateway() as gateway, httpx.AsyncClient(base_url=gateway.url) as client:
        request = {"query": "subscription { nope }"}
        async with client.stream("POST", "/graphql", json=request, headers=SSE) as response:
            events = await read_until_end(response)
    assert [kind for kind, _ in events] == ["next", "complete"]
    payload = events[0][1]
    assert "data" not in payload  # an error before execution leaves no data entry
    assert payload["errors"][0]["message"] == "Cannot query field 'nope' on type 'Subscription'."
