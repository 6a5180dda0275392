"""Attack 3: memory held on the caller's behalf (huge WebSocket messages, many spellings of a
query filling the caches, connection floods) and echoed caller text stays bounded."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from prow_graphql.app import Gateway
from tests.harness import RunningGateway, TransportWSClient, example_settings, serve, wait_ready
from tests.security.common import HEALTHZ_BOUND, probing

LIMIT = 256 * 1024  # the default --max-body-bytes


def gateway_of(gw: RunningGateway) -> Gateway:
    gateway: Gateway = gw.app.state.gateway
    return gateway


async def test_websocket_messages_are_bound_by_the_body_limit() -> None:
    async with serve(example_settings()) as gw:
        async with probing(gw) as probe:
            for _ in range(5):
                async with websockets.connect(
                    gw.ws_url,
                    subprotocols=["graphql-transport-ws"],
                    max_size=None,  # type: ignore[list-item]
                ) as ws:
                    payload = {"query": "{ __typename }", "pad": "x" * (4 * 1024 * 1024)}
                    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
                    with pytest.raises(websockets.ConnectionClosed) as closed:
                        await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        assert probe.worst < HEALTHZ_BOUND
        # Just under the limit is an ordinary (if odd) message.
        async with websockets.connect(gw.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            payload = {"pad": "x" * (LIMIT - 1024)}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"


async def test_caches_stay_within_their_byte_budget() -> None:
    budget = 1024 * 1024
    async with serve(example_settings("--cache-bytes", str(budget))) as gw:
        await wait_ready(gw)
        job = "name labels { key value } containers { name image command args env { name } }"
        async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
            for i in range(300):
                # Each spelling is a different cache key with the same (large) answer.
                query = f"{{ periodics {{ {job} }} a{i}: repos {{ org repo }} }}" + " " * i
                response = await client.post("/graphql", json={"query": query})
                assert "errors" not in response.json()
        gateway = gateway_of(gw)
        assert 0 < gateway.result_store.weight <= budget
        assert gateway.result_store.hits + gateway.result_store.misses >= 300


async def test_connections_per_caller_are_capped() -> None:
    settings = example_settings("--max-connections-per-identity", "2")
    async with serve(settings) as gw:
        await wait_ready(gw)
        async with TransportWSClient.connect(gw.ws_url), TransportWSClient.connect(gw.ws_url):
            # A third WebSocket is refused at connection_init, with the flag named.
            async with websockets.connect(gw.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
                await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
            # So is an SSE stream, with 429 and a message.
            async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:
                response = await client.post(
                    "/graphql",
                    json={"query": "subscription { prowJobEvents { type } }"},
                    headers={"accept": "text/event-stream"},
                )
            assert response.status_code == 429
            assert "--max-connections-per-identity" in response.json()["errors"][0]["message"]
        # Closing connections frees their places.
        async with TransportWSClient.connect(gw.ws_url), TransportWSClient.connect(gw.ws_url):
            assert len(gateway_of(gw).connections) == 2
        assert len(gateway_of(gw).connections) == 0


async def test_echoed_caller_text_is_truncated(caplog: pytest.LogCaptureFixture) -> None:
    async with serve(example_settings()) as gw:
        name = "f" * 200_000
        async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
            response = await client.post("/graphql", json={"query": f"{{ {name} }}"})
        body: dict[str, Any] = response.json()
        message = body["errors"][0]["message"]
        assert "Cannot query field" in message and len(message) < 1200
        assert len(response.content) < 5000
        assert all(len(r.getMessage()) < 2000 for r in caplog.records)
        assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_subscriptions_per_caller_are_capped() -> None:
    settings = example_settings(
        "--max-subscriptions-per-identity",
        "2",
        "--sim-pending-after",
        "600",
        "--sim-complete-after",
        "900",
    )
    events = "subscription { prowJobEvents { type } }"
    async with serve(settings) as gw:
        await wait_ready(gw)
        # Following a job that keeps running is an unshared subscription that stays open (an
        # unknown name would end at once).
        created = await gw.query(
            'mutation { triggerJob(input: {org: "example-org", repo: "widgets", '
            'job: "post-widgets-push-image", type: POSTSUBMIT, baseRef: "main"}) '
            "{ ... on TriggerJobSuccess { prowJob { name } } } }"
        )
        name = created["data"]["triggerJob"]["prowJob"]["name"]
        follow = f'subscription {{ prowJobUpdated(name: "{name}") {{ name }} }}'
        async with (
            TransportWSClient.connect(gw.ws_url) as one,
            TransportWSClient.connect(gw.ws_url) as two,
        ):
            await one.subscribe(events)  # shared execution
            followed = await two.subscribe(follow)  # unshared
            current = await two.receive()  # the job's current state comes first
            assert current["id"] == followed and current["type"] == "next", current
            await asyncio.sleep(0.2)
            third = await two.subscribe(events)
            message = await two.receive()
            assert message["id"] == third and message["type"] == "error", message
            error = message["payload"][0]
            assert error["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
            assert "--max-subscriptions-per-identity" in error["message"]
            # SSE counts too.
            sse = {"accept": "text/event-stream"}
            async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:
                body = (await client.post("/graphql", json={"query": follow}, headers=sse)).text
            assert "TOO_MANY_SUBSCRIPTIONS" in body
        async with TransportWSClient.connect(gw.ws_url) as again:
            await again.subscribe(events)
            await asyncio.sleep(0.2)
            assert len(gateway_of(gw).subscriptions) == 1
