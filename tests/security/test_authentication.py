"""Attack 1: authentication decided on the parsed request, on every transport.

With --auth token, nothing that runs an operation may be reached without a valid token, however
the request spells it; only the GraphiQL page, probes and static files are public.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.harness import RunningGateway, example_settings, serve, wait_ready
from tests.security.common import ALICE, bearer, token_file

QUERY = "{ periodics { name } }"
SUBSCRIPTION = "subscription { prowJobEvents(includeSnapshot: true) { type } }"
# Every spelling of the parameter name that Starlette decodes to `query`.
ENCODED_NAMES = ["query", "%71uery", "%71%75%65%72%79", "qu%65ry", "q%75%65ry"]
CREDENTIALS = {"none": None, "wrong": "not-a-token-0123456789abcdef", "good": ALICE}


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[RunningGateway]:
    settings = example_settings("--auth", "token", "--token-file", str(token_file(tmp_path)))
    async with serve(settings) as gw:
        await wait_ready(gw)
        yield gw


@pytest.mark.parametrize("name", ENCODED_NAMES)
@pytest.mark.parametrize("who", CREDENTIALS)
async def test_get_query_needs_a_token_however_the_name_is_encoded(
    gateway: RunningGateway, name: str, who: str
) -> None:
    url = f"{gateway.url}/graphql?{name}={httpx.URL('', params={'q': QUERY}).query.decode()[2:]}"
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url, headers=bearer(CREDENTIALS[who]))
    if who == "good":
        assert response.status_code == 200, response.text
        assert response.json()["data"]["periodics"]
    else:
        assert response.status_code == 401, response.text
        assert "periodics" not in response.text


@pytest.mark.parametrize("who", CREDENTIALS)
async def test_sse_subscription_over_get_and_post_needs_a_token(
    gateway: RunningGateway, who: str
) -> None:
    headers = {"accept": "text/event-stream", **bearer(CREDENTIALS[who])}
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        encoded = httpx.URL("", params={"q": SUBSCRIPTION}).query.decode()[2:]
        requests = [
            client.build_request("GET", f"/graphql?%71uery={encoded}", headers=headers),
            client.build_request("POST", "/graphql", json={"query": SUBSCRIPTION}, headers=headers),
        ]  # fmt: skip
        for request in requests:
            response = await client.send(request, stream=True)
            try:
                if who == "good":
                    assert response.status_code == 200
                    assert response.headers["content-type"].startswith("text/event-stream")
                else:
                    assert response.status_code == 401
            finally:
                await response.aclose()


@pytest.mark.parametrize("who", CREDENTIALS)
async def test_post_needs_a_token(gateway: RunningGateway, who: str) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        response = await client.post(
            "/graphql", json={"query": QUERY}, headers=bearer(CREDENTIALS[who])
        )
    assert response.status_code == (200 if who == "good" else 401), response.text


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
@pytest.mark.parametrize("who", CREDENTIALS)
async def test_websocket_needs_a_token(gateway: RunningGateway, who: str, protocol: str) -> None:
    token = CREDENTIALS[who]
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    async with websockets.connect(gateway.ws_url, subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        # An operation before connection_init must not run either.
        start = "subscribe" if protocol == "graphql-transport-ws" else "start"
        early = {"id": "0", "type": start, "payload": {"query": QUERY}}
        if who != "good":
            await ws.send(json.dumps(early))
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    message = json.loads(await ws.recv())
                    assert message.get("type") not in ("next", "data"), message
            return
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": start, "payload": {"query": SUBSCRIPTION}}))
        stop = "complete" if start == "subscribe" else "stop"
        await ws.send(json.dumps({"id": "1", "type": stop}))


@pytest.mark.parametrize("who", ["none", "wrong"])
async def test_websocket_init_with_bad_credentials_is_closed(
    gateway: RunningGateway, who: str
) -> None:
    token = CREDENTIALS[who]
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    async with websockets.connect(gateway.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                assert json.loads(await ws.recv())["type"] != "connection_ack"
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_only_pages_probes_and_static_files_are_public(gateway: RunningGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "<html" in page.text.lower()
        for path in ("/healthz", "/readyz"):
            assert (await client.get(path)).status_code == 200
        # A GET without an operation that is not the page executes nothing either.
        bare = await client.get("/graphql?variables=%7B%7D", headers={"accept": "application/json"})
        assert bare.status_code != 200 or "data" not in bare.json()
        for method, path in (("POST", "/manual-trigger"), ("POST", "/graphql")):
            response = await client.request(method, path, json={})
            assert response.status_code == 401, (method, path)
