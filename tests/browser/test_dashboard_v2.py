"""Dashboard v2 in Chromium: desktop and phone widths without horizontal overflow, distinct state
colours, the job page's chart and stats updating live, its live log pane, the token prompt, and
Deck links only for a real Deck. Screenshots land in each test's tmp dir."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Page, expect

from tests.browser.api import trigger, wait_finished
from tests.browser.chromium import BROWSER_LOOP
from tests.harness import RunningGateway, example_settings, serve, wait_ready

pytestmark = BROWSER_LOOP

JOB = "pull-widgets-unit"
TOKEN = "browser-token-0123456789"


@contextlib.asynccontextmanager
async def running(*flags: str) -> AsyncIterator[RunningGateway]:
    settings = example_settings("--sim-pending-after", "0.6", "--sim-complete-after", "1.2", *flags)
    async with serve(settings) as gateway:
        await wait_ready(gateway)
        yield gateway


async def overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no horizontal scrolling)."""
    width: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


async def live(page: Page) -> None:
    await expect(page.locator("#status")).to_have_attribute("data-status", "live")


async def test_list_fits_desktop_and_phone_widths_with_distinct_state_colours(
    page: Page, tmp_path: Path
) -> None:
    async with running() as gw:
        for pr in (1, 2):
            await wait_finished(gw, await trigger(gw, JOB, pr=pr))
        await page.goto(f"{gw.url}/dashboard")
        await live(page)
        await trigger(gw, "pull-widgets-lint", pr=3)
        triggered = page.locator("#jobs span.state.triggered")
        await expect(triggered).to_have_count(1)
        for width in (1440, 420):
            await page.set_viewport_size({"width": width, "height": 900})
            await page.screenshot(path=tmp_path / f"dashboard-{width}.png", full_page=True)
            assert await overflow(page) == 0, f"horizontal overflow at {width}px"
        await expect(page.locator("#jobs span.state.pending")).to_have_count(1)
        colours = await page.evaluate(
            """() => Object.fromEntries(['triggered', 'pending', 'success'].map(s => {
                 const probe = document.createElement('span');
                 probe.className = 'state ' + s;
                 document.body.append(probe);
                 const colour = getComputedStyle(probe).backgroundColor;
                 probe.remove();
                 return [s, colour];
               }))"""
        )
        assert len(set(colours.values())) == 3, colours
        # the job name leads to the job page
        await page.locator("#jobs a", has_text="pull-widgets-lint").first.click()
        await expect(page).to_have_url(f"{gw.url}/dashboard/jobs/pull-widgets-lint")


async def test_empty_states_say_why(page: Page) -> None:
    async with running() as gw:
        await page.goto(f"{gw.url}/dashboard")
        await live(page)
        await expect(page.locator("#empty")).to_contain_text("No ProwJobs yet")
        await page.goto(f"{gw.url}/dashboard?repo=nothing-here")
        await live(page)
        await expect(page.locator("#empty")).to_have_text("No ProwJobs match these filters.")


async def test_job_page_chart_stats_and_log_update_live(page: Page, tmp_path: Path) -> None:
    async with running() as gw:
        first = await trigger(gw, JOB, pr=1)
        await wait_finished(gw, first)
        await page.goto(f"{gw.url}/dashboard/jobs/{JOB}")
        await live(page)
        await expect(page.locator("#stat-runs b")).to_have_text("1")
        await expect(page.locator("#stat-pass-rate b")).to_have_text("100%")
        await expect(page.locator("#chart rect.bar")).to_have_count(1)

        second = await trigger(gw, JOB, pr=2)
        bar = page.locator(f'#chart rect.bar[data-name="{second}"]')
        await expect(bar).to_have_class("bar pending selected", timeout=10_000)
        # the newest run's output streams into the log pane while it runs
        await expect(page.locator("#log")).to_contain_text("go test -v -count=1 ./...")
        await page.screenshot(path=tmp_path / "job-running.png", full_page=True)
        await expect(bar).to_have_class("bar success selected")
        await expect(page.locator("#log")).to_contain_text("ok  \texample.com/widgets")
        await expect(page.locator("#log .notice").last).to_contain_text("container 'test'")
        await expect(page.locator("#stat-runs b")).to_have_text("2")
        await expect(page.locator("#chart rect.bar")).to_have_count(2)
        await page.screenshot(path=tmp_path / "job-finished.png", full_page=True)
        await page.set_viewport_size({"width": 420, "height": 900})
        assert await overflow(page) == 0
        await page.screenshot(path=tmp_path / "job-420.png", full_page=True)


async def test_token_prompt_signs_in_and_asks_again_when_refused(
    page: Page, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        f'tokens:\n  - user: alice\n    token: "{TOKEN}"\n    groups: ["github-org:example-org"]\n',
        encoding="utf-8",
    )
    async with running("--auth", "token", "--token-file", str(tokens)) as gw:
        await page.goto(f"{gw.url}/dashboard")
        login = page.locator("#login")
        await expect(login).to_be_visible()
        await login.locator("input").fill("wrong-token")
        await login.get_by_role("button", name="Sign in").click()
        await expect(login).to_be_visible()
        await expect(login.locator(".problem")).to_contain_text("refused")
        await page.screenshot(path=tmp_path / "token-refused.png")
        await login.locator("input").fill(TOKEN)
        await login.get_by_role("button", name="Sign in").click()
        await live(page)
        await expect(login).to_be_hidden()
        assert await page.evaluate("sessionStorage.getItem('prow-graphql-token')") == TOKEN
        name = await trigger(gw, JOB, headers={"Authorization": f"Bearer {TOKEN}"})
        await expect(page.locator(f'#jobs tr[data-name="{name}"]')).to_have_count(1)
        # the same tab keeps its token across pages
        await page.goto(f"{gw.url}/dashboard/jobs/{JOB}")
        await live(page)
        await expect(login).to_be_hidden()


async def test_deck_links_only_with_a_real_deck(page: Page) -> None:
    async with running("--deck-url", "https://prow.k8s.io") as gw:
        name = await trigger(gw, JOB)
        await wait_finished(gw, name)
        await page.goto(f"{gw.url}/dashboard")
        await live(page)
        link = page.locator(f'#jobs tr[data-name="{name}"] a', has_text="logs")
        # Deck's log page on the Deck named; never the example config's prow.example.com
        href = await link.get_attribute("href") or ""
        assert href.startswith("https://prow.k8s.io/log?job=pull-widgets-unit&id="), href
    async with running("--deck-url", "https://prow.example.com") as gw:
        name = await trigger(gw, JOB)
        await page.goto(f"{gw.url}/dashboard")
        await live(page)
        await expect(page.locator(f'#jobs tr[data-name="{name}"]')).to_have_count(1)
        assert await page.locator("#jobs a", has_text="logs").count() == 0


async def test_favicon_is_served(page: Page) -> None:
    async with running() as gw:
        failed: list[str] = []
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
        await page.goto(f"{gw.url}/dashboard")
        await live(page)
        response = await page.request.get(f"{gw.url}/favicon.ico")
        assert response.status == 200
        assert failed == []


async def test_error_and_reconnecting_states(page: Page) -> None:
    async with running() as gw:
        await page.goto(f"{gw.url}/dashboard/jobs/no-such-job")
        status = page.locator("#status")
        await expect(status).to_have_attribute("data-status", "error")
        await expect(status).to_contain_text("no job named 'no-such-job'")
        await expect(page.locator("#loading")).to_be_hidden()
        await page.goto(f"{gw.url}/dashboard")
        await live(page)
    # the gateway is gone: the page says so and keeps retrying
    await expect(status).to_have_attribute("data-status", "reconnecting")
    await expect(status).to_contain_text("reconnecting in")
