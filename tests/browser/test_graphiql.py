"""GraphiQL served by the gateway itself: it loads with no internet and runs queries and
subscriptions against this gateway."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import Page, expect

from tests.browser.api import trigger
from tests.browser.chromium import BROWSER_LOOP
from tests.harness import RunningGateway, example_settings, serve, wait_ready

pytestmark = BROWSER_LOOP


async def open_graphiql(page: Page, gateway: RunningGateway) -> list[str]:
    """Open /graphql; returns the list the page's request URLs are recorded into."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(f"{gateway.url}/graphql")
    await expect(page.locator(".graphiql-execute-button")).to_be_visible()
    return requested


async def run_in_graphiql(page: Page, document: str) -> None:
    """Replace the query editor's text (as a user pasting it) and press GraphiQL's run button."""
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.insert_text(document)
    # GraphiQL parses the edit (operation name included) after a short debounce, then saves it.
    await page.wait_for_function(
        "doc => localStorage.getItem('graphiql:query') === doc", arg=document
    )
    await page.locator(".graphiql-execute-button").click()


async def test_graphiql_is_self_hosted_and_runs_a_query(
    page: Page, web_gateway: RunningGateway
) -> None:
    requested = await open_graphiql(page, web_gateway)
    await run_in_graphiql(page, '{ repo(org: "example-org", repo: "widgets") { fullName } }')
    response = page.locator(".graphiql-response")
    await expect(response).to_contain_text('"fullName": "example-org/widgets"')
    gateway_host = urlsplit(web_gateway.url).netloc
    assert {urlsplit(url).netloc for url in requested if url.startswith("http")} == {gateway_host}
    assert any(url.endswith("/static/vendor/graphiql.min.js") for url in requested)


async def test_graphiql_subscription_shows_each_update(
    page: Page, web_gateway: RunningGateway
) -> None:
    await open_graphiql(page, web_gateway)
    await run_in_graphiql(
        page,
        'subscription { prowJobEvents(filter: {repo: "widgets"}) { type prowJob { name state } } }',
    )
    response = page.locator(".graphiql-response")
    # The subscription runs (the button turns into "stop") before anything is triggered.
    await expect(page.locator(".graphiql-execute-button")).to_have_attribute(
        "aria-label", re.compile("Stop", re.IGNORECASE)
    )
    # GraphiQL shows the latest event: each job's name, then its final state, in turn.
    for job in ("pull-widgets-unit", "pull-widgets-lint"):
        name = await trigger(web_gateway, job)
        await expect(response).to_have_text(re.compile(f'"{name}",\\s*"state": "SUCCESS"'))


async def test_graphiql_sends_the_headers_pane_token_with_subscriptions(
    page: Page, tmp_path: Path
) -> None:
    token = "alice-token-0123456789"
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        f'tokens: [{{user: alice, token: "{token}", groups: ["github-org:example-org"]}}]\n',
        encoding="utf-8",
    )
    flags = ("--sim-pending-after", "0.3", "--auth", "token", "--token-file", str(tokens))
    async with serve(example_settings(*flags)) as gateway:
        await wait_ready(gateway)
        await open_graphiql(page, gateway)
        await page.get_by_role("button", name="Headers").click()
        headers = page.locator("section.graphiql-editor-tool .graphiql-editor:not(.hidden)")
        await headers.locator(".CodeMirror").click()
        await page.keyboard.insert_text(f'{{"Authorization": "Bearer {token}"}}')
        await run_in_graphiql(page, "subscription { prowJobEvents { prowJob { name state } } }")
        await expect(page.locator(".graphiql-execute-button")).to_have_attribute(
            "aria-label", re.compile("^Stop")
        )
        name = await trigger(
            gateway, "pull-widgets-unit", headers={"Authorization": f"Bearer {token}"}
        )
        response = page.locator(".graphiql-response")
        await expect(response).to_have_text(re.compile(f'"{name}",\\s*"state": "SUCCESS"'))
