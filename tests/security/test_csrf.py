"""Attack 4: a cross-site form post riding an authenticating proxy's session (CSRF).

With --auth proxy the browser's cookie reaches the proxy, which adds identity headers: any form
on any site could trigger jobs as the user. State-changing requests must carry a JSON body or a
header a form cannot send; the refusal says why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.harness import RunningGateway, example_settings, serve, wait_ready

# What the proxy adds for a logged-in user (the gateway trusts 127.0.0.1 here).
USER = {"x-forwarded-user": "alice", "x-forwarded-groups": "github-org:example-org"}
FIELDS = {
    "org": "example-org", "repo": "widgets", "base_ref": "main", "prowtype": "postsubmit",
    "prowjob": "post-widgets-push-image",
}  # fmt: skip
MUTATION = (
    'mutation { triggerJob(input: {org: "example-org", repo: "widgets", '
    'job: "post-widgets-push-image", type: POSTSUBMIT, baseRef: "main"}) { __typename } }'
)


@pytest.fixture
async def gateway() -> AsyncIterator[RunningGateway]:
    settings = example_settings("--auth", "proxy", "--trusted-proxies", "127.0.0.1/32")
    async with serve(settings) as gw:
        await wait_ready(gw)
        yield gw


async def count(client: httpx.AsyncClient) -> int:
    response = await client.post(
        "/graphql", json={"query": "{ prowJobs { totalCount } }"}, headers=USER
    )
    total: int = response.json()["data"]["prowJobs"]["totalCount"]
    return total


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", None],
)
async def test_form_posts_to_manual_trigger_are_refused(
    gateway: RunningGateway, content_type: str | None
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        headers = {**USER, **({"content-type": content_type} if content_type else {})}
        # The fields in the query string (a form's action URL) and in a text/plain body.
        response = await client.post(
            "/manual-trigger", params=FIELDS, content=b'{"org": "x"}', headers=headers
        )
        if content_type is None:
            assert response.status_code == 400, response.text
        else:
            assert response.status_code == 415, response.text
        message = response.json()["message"]
        assert "application/json" in message and "cross-site" in message
        assert await count(client) == 0


async def test_form_posts_of_graphql_mutations_are_refused(gateway: RunningGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        for content_type, body in (
            ("application/x-www-form-urlencoded", httpx.QueryParams({"query": MUTATION})),
            ("text/plain", f'{{"query": {MUTATION!r}}}'.replace("'", '"')),
        ):
            response = await client.post(
                "/graphql", content=str(body), headers={**USER, "content-type": content_type}
            )
            assert response.status_code == 415, response.text
            assert "cross-site" in response.json()["errors"][0]["message"]
        # A mutation in a GET's query string never runs either.
        response = await client.get("/graphql", params={"query": MUTATION}, headers=USER)
        assert response.status_code in (400, 405), response.text
        assert await count(client) == 0


async def test_json_and_scripted_requests_still_work(gateway: RunningGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        response = await client.post("/manual-trigger", json=FIELDS, headers=USER)
        assert response.status_code == 200, response.text
        scripted = {**USER, "x-requested-with": "curl"}
        response = await client.post("/manual-trigger", params=FIELDS, headers=scripted)
        assert response.status_code == 200, response.text
        response = await client.post("/graphql", json={"query": MUTATION}, headers=USER)
        assert response.json()["data"]["triggerJob"]["__typename"] == "TriggerJobSuccess"
        assert await count(client) == 3
