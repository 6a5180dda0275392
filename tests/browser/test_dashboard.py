"""/dashboard in a real browser: recent ProwJobs from the query, live changes from the
subscription, filters from the URL."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.api import prow_job, trigger, wait_finished
from tests.browser.chromium import BROWSER_LOOP
from tests.harness import RunningGateway

pytestmark = BROWSER_LOOP


async def open_dashboard(page: Page, gateway: RunningGateway, query: str = "") -> None:
    await page.goto(f"{gateway.url}/dashboard{query}")
    await expect(page.locator("#status")).to_have_attribute("data-status", "live")


async def test_a_triggered_job_changes_state_live_until_success(
    page: Page, web_gateway: RunningGateway
) -> None:
    await open_dashboard(page, web_gateway, "?org=example-org")
    name = await trigger(web_gateway, "pull-widgets-unit", pr=7)
    row = page.locator(f'#jobs tbody tr[data-name="{name}"]')
    # The simulator holds each state for a few tenths of a second: the row shows one of the
    # running states first, then success, without a reload.
    await expect(row.locator("td.state")).to_have_text(re.compile("^(TRIGGERED|PENDING)$"))
    await expect(row.locator("td.state")).to_have_text("SUCCESS")
    job = await prow_job(web_gateway, name)
    cells = await row.locator("td").all_inner_texts()
    assert cells[:5] == [
        "SUCCESS",
        "pull-widgets-unit",
        "example-org/widgets",
        "#7",
        job["buildId"],
    ]
    assert re.fullmatch(r"\d+s", cells[5]), cells
    # The embedded backend has no Deck (and the example's prow.example.com is no one's): no
    # log links; test_dashboard_v2 covers them with --deck-url.
    assert job["logLink"] and await row.locator("td a", has_text="logs").count() == 0
    assert (
        await row.locator("td a", has_text="#7").get_attribute("href")
        == "https://github.com/example-org/widgets/pull/7"
    )


async def test_finished_jobs_come_from_the_query_and_url_filters_apply(
    page: Page, web_gateway: RunningGateway
) -> None:
    unit = await trigger(web_gateway, "pull-widgets-unit")
    lint = await trigger(web_gateway, "pull-widgets-lint")
    assert await wait_finished(web_gateway, unit) == "SUCCESS"
    assert await wait_finished(web_gateway, lint) == "SUCCESS"

    await open_dashboard(page, web_gateway, "?repo=widgets&job=pull-widgets-lint&state=success")
    rows = page.locator("#jobs tbody tr")
    await expect(rows).to_have_count(1)
    assert await rows.first.get_attribute("data-name") == lint
    await expect(page.locator("select[name=state]")).to_have_value("SUCCESS")
    await expect(page.locator("input[name=job]")).to_have_value("pull-widgets-lint")

    await open_dashboard(page, web_gateway, "?repo=gadgets")
    await expect(page.locator("#empty")).to_be_visible()
    await expect(rows).to_have_count(0)


async def test_the_filter_form_writes_the_url(page: Page, web_gateway: RunningGateway) -> None:
    await open_dashboard(page, web_gateway)
    await page.locator("input[name=org]").fill("example-org")
    await page.locator("select[name=state]").select_option("FAILURE")
    await page.get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(f"{web_gateway.url}/dashboard?org=example-org&state=FAILURE")
    await expect(page.locator("#status")).to_have_attribute("data-status", "live")
    await expect(page.locator("input[name=org]")).to_have_value("example-org")
