"""GraphQL over HTTP as its spec words it, and errors before execution on every transport.

graphql-http's server audits (the GraphQL-over-HTTP spec's own conformance suite) run against a
live gateway; the tests below pin the answers the audits do not look at.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from tests.harness import RunningGateway, TransportWSClient, example_settings, serve, wait_ready
from tests.integration.node_clients import run_node

GRAPHQL_RESPONSE = "application/graphql-response+json"
BROKEN = "subscription { prowJobUpdated(name: "  # a syntax error
FOLLOW = "subscription ($name: String!) { prowJobUpdated(name: $name) { name state } }"
TRIGGER = """
mutation {
  triggerJob(input: {org: "example-org", repo: "widgets", job: "pull-widgets-unit",
                     type: PRESUBMIT, baseRef: "main", pullRequest: {number: 3}}) {
    ... on TriggerJobSuccess { prowJob { name } }
  }
}
"""


@pytest.fixture
async def running() -> AsyncIterator[RunningGateway]:
    async with serve(example_settings()) as gateway:
        await wait_ready(gateway)
        yield gateway


async def test_graphql_http_server_audits_pass(running: RunningGateway) -> None:
    report = await run_node("audit.mjs", running.url + "/graphql")
    assert report["failures"] == [], report["failures"]
    assert report["ok"] > 50 and report["warn"] == report["error"] == 0


async def post(
    gateway: RunningGateway, body: Any, accept: str | None = None, **kwargs: Any
) -> httpx.Response:
    headers = {"accept": accept} if accept else {}
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        return await client.post("/graphql", json=body, headers=headers, **kwargs)


async def test_negotiates_graphql_response_json(running: RunningGateway) -> None:
    preferred = f"{GRAPHQL_RESPONSE},application/json;q=0.9"  # what Apollo Client sends
    ok = await post(running, {"query": "{ __typename }"}, preferred)
    assert ok.status_code == 200 and ok.headers["content-type"] == GRAPHQL_RESPONSE
    legacy = await post(
        running, {"query": "{ __typename }"}, f"application/json,{GRAPHQL_RESPONSE};q=0.5"
    )
    assert legacy.headers["content-type"] == "application/json"
    assert (await post(running, {"query": "{ __typename }"})).headers[
        "content-type"
    ] == "application/json"


async def test_request_errors_are_400_without_data_for_graphql_response_json(
    running: RunningGateway,
) -> None:
    for query in ("{", "{ nope }", "query ($n: Int!) { __typename }"):
        response = await post(running, {"query": query, "variables": {"n": "x"}}, GRAPHQL_RESPONSE)
        assert response.status_code == 400, (query, response.text)
        body = response.json()
        assert "data" not in body and body["errors"], body
        legacy = await post(running, {"query": query, "variables": {"n": "x"}}, "application/json")
        assert legacy.status_code == 200 and "data" not in legacy.json(), legacy.text


async def test_every_refusal_is_a_json_body(running: RunningGateway) -> None:
    json_type = {"content-type": "application/json"}
    async with httpx.AsyncClient(base_url=running.url) as client:
        refusals = [
            await client.post("/graphql", content=b"{not json", headers=json_type),
            await client.post("/graphql", content=b"query", headers={"content-type": "text/plain"}),
            await client.post("/graphql", json={"variables": {}}),
            await client.post("/graphql", json={"query": "{ __typename }", "operationName": "B"}),
            await client.put("/graphql", json={"query": "{ __typename }"}),
            await client.get("/graphql", params={"query": "mutation { __typename }"}),
        ]  # fmt: skip
    for response in refusals:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/json", response.headers
        assert response.json()["errors"][0]["message"], response.text


async def test_methods_not_taken_are_405_with_allow(running: RunningGateway) -> None:
    async with httpx.AsyncClient(base_url=running.url) as client:
        mutation = await client.get("/graphql", params={"query": TRIGGER})
        put = await client.put("/graphql", json={"query": "{ __typename }"})
    assert mutation.status_code == 405 and mutation.headers["allow"] == "POST"
    assert put.status_code == 405 and put.headers["allow"] == "GET, POST"


async def test_plain_post_subscription_names_the_streaming_transports(
    running: RunningGateway,
) -> None:
    response = await post(running, {"query": FOLLOW, "variables": {"name": "x"}})
    assert response.status_code == 400
    message = response.json()["errors"][0]["message"]
    assert "WebSocket" in message and "text/event-stream" in message and "multipart" in message


async def test_multipart_subscription_follows_a_job(running: RunningGateway) -> None:
    name = (await running.query(TRIGGER))["data"]["triggerJob"]["prowJob"]["name"]
    accept = 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json'
    body = {"query": FOLLOW, "variables": {"name": name}}
    async with (
        httpx.AsyncClient(base_url=running.url, timeout=20) as client,
        client.stream("POST", "/graphql", json=body, headers={"accept": accept}) as r,
    ):
        assert r.headers["content-type"].startswith("multipart/mixed")
        text = "".join([chunk async for chunk in r.aiter_text()])
    assert text.rstrip().endswith("--graphql--")
    parts = [p.split("\r\n\r\n", 1)[1] for p in text.split("--graphql") if "\r\n\r\n" in p]
    payloads = [json.loads(p)["payload"] for p in parts if json.loads(p)]  # {} is a heartbeat
    states = [p["data"]["prowJobUpdated"]["state"] for p in payloads]
    assert states[-1] == "SUCCESS" and len(states) == len(set(states)), states


async def test_syntax_error_is_an_error_message_on_graphql_transport_ws(
    running: RunningGateway,
) -> None:
    async with TransportWSClient.connect(running.ws_url) as client:
        op = await client.subscribe(BROKEN)
        error = await client.receive()
        assert error["id"] == op and error["type"] == "error", error
        assert error["payload"][0]["message"].startswith("Syntax Error")
        # The connection stays usable for the client's other operations.
        ok = await client.subscribe("{ __typename }")
        assert (await client.collect(ok)) == [{"data": {"__typename": "Query"}}]


async def legacy_ws(gateway: RunningGateway, query: str) -> list[dict[str, Any]]:
    """Messages for one `start` on the legacy graphql-ws protocol, up to complete or error."""
    messages = []
    async with websockets.connect(gateway.ws_url, subprotocols=["graphql-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        await ws.send(json.dumps({"type": "start", "id": "1", "payload": {"query": query}}))
        async with asyncio.timeout(10):
            while True:
                message = json.loads(await ws.recv())
                if message["type"] in ("connection_ack", "ka"):
                    continue
                messages.append(message)
                if message["type"] in ("complete", "error"):
                    return messages


async def test_legacy_graphql_ws_runs_queries_and_mutations(running: RunningGateway) -> None:
    query = await legacy_ws(running, "{ repos { org } }")
    assert [m["type"] for m in query] == ["data", "complete"]
    assert query[0]["payload"]["data"]["repos"]
    mutation = await legacy_ws(running, TRIGGER)
    assert mutation[0]["payload"]["data"]["triggerJob"]["prowJob"]["name"]
    broken = await legacy_ws(running, BROKEN)
    assert broken[0]["type"] == "error" and broken[0]["payload"]["message"].startswith("Syntax")


async def test_syntax_error_over_sse_is_a_next_event_then_complete(running: RunningGateway) -> None:
    headers = {"accept": "text/event-stream"}
    async with httpx.AsyncClient(base_url=running.url, timeout=10) as client:
        response = await client.post("/graphql", json={"query": BROKEN}, headers=headers)
    events = [block for block in response.text.split("\r\n\r\n") if block.strip()]
    assert [e.splitlines()[0] for e in events] == ["event: next", "event: complete"]
    payload = json.loads(events[0].splitlines()[1].removeprefix("data: "))
    assert "data" not in payload and payload["errors"][0]["message"].startswith("Syntax Error")


async def test_following_an_unknown_job_answers_at_once(running: RunningGateway) -> None:
    # The default follow_wait is 30 s; one GET settles that the job does not exist.
    started = time.monotonic()
    async with TransportWSClient.connect(running.ws_url) as client:
        op = await client.subscribe(FOLLOW, {"name": "no-such-job"})
        message = await client.receive(timeout=5)
    assert message["id"] == op
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert "no-such-job" in errors[0]["message"]
    assert time.monotonic() - started < 5


async def test_client_mistakes_are_logged_at_info(
    running: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await post(running, {"query": "{ nope }"})
    await post(running, {"query": "{"})
    mistakes = [r for r in caplog.records if "rejected operation" in r.getMessage()]
    assert len(mistakes) == 2 and all(r.levelno == logging.INFO for r in mistakes), mistakes
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.records
