"""Mainstream GraphQL clients, each with its defaults, against a live gateway.

Each client runs a query, the triggerJob mutation, and a prowJobUpdated subscription that it
follows until the server completes it: graphql-ws, graphql-sse, Apollo Client (GraphQLWsLink, and
HttpLink alone, which sends subscriptions as multipart HTTP)
from npm; Python's gql with its default WebSocket transport (which offers the legacy graphql-ws
protocol first) and its aiohttp transport (subscriptions as multipart HTTP).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.websockets import WebsocketsTransport

from tests.harness import RunningGateway, example_settings, serve, wait_ready
from tests.integration.node_clients import run_node

REPOS = "query Repos { repos { org repo } }"
TRIGGER = """
mutation Trigger {
  triggerJob(input: {org: "example-org", repo: "widgets", job: "pull-widgets-unit",
                     type: PRESUBMIT, baseRef: "main", pullRequest: {number: 7}}) {
    __typename
    ... on TriggerJobSuccess { prowJob { name } }
    ... on Error { message }
  }
}
"""
FOLLOW = "subscription Follow($name: String!) { prowJobUpdated(name: $name) { name state } }"
EXAMPLE_REPOS = {"example-org/gadgets", "example-org/website", "example-org/widgets"}


@pytest.fixture
async def running() -> AsyncIterator[RunningGateway]:
    async with serve(example_settings()) as gateway:
        await wait_ready(gateway)
        yield gateway


def assert_followed(outcome: dict[str, Any]) -> None:
    assert {f"{r['org']}/{r['repo']}" for r in outcome["repos"]} == EXAMPLE_REPOS
    assert outcome["job"]
    # The first state comes at once, each change once, and the stream ends at the final state.
    assert outcome["states"][-1] == "SUCCESS", outcome
    assert len(outcome["states"]) == len(set(outcome["states"])), outcome


@pytest.mark.parametrize("client", ["graphql-ws", "graphql-sse", "apollo", "apollo-http"])
async def test_javascript_client(running: RunningGateway, client: str) -> None:
    outcome = await run_node("clients.mjs", client, running.url + "/graphql")
    assert outcome["client"] == client
    assert_followed(outcome)


async def follow_with_gql(transport: Any) -> dict[str, Any]:
    async with Client(transport=transport, fetch_schema_from_transport=True) as session:
        repos = (await session.execute(GraphQLRequest(REPOS)))["repos"]
        result = (await session.execute(GraphQLRequest(TRIGGER)))["triggerJob"]
        assert result["__typename"] == "TriggerJobSuccess", result
        job = result["prowJob"]["name"]
        follow = GraphQLRequest(FOLLOW, variable_values={"name": job})
        states = [update["prowJobUpdated"]["state"] async for update in session.subscribe(follow)]
    return {"repos": repos, "job": job, "states": states}


async def test_python_gql_default_websocket_transport(running: RunningGateway) -> None:
    transport = WebsocketsTransport(url=running.ws_url)
    assert_followed(await follow_with_gql(transport))
    # Its default offers the legacy protocol first; the gateway ran every operation on it.
    assert transport.subprotocol == "graphql-ws"


async def test_python_gql_aiohttp_transport(running: RunningGateway) -> None:
    assert_followed(await follow_with_gql(AIOHTTPTransport(url=running.url + "/graphql")))
