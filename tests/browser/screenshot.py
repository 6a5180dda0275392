"""Take the dashboard screenshots used by the README and docs/clients.md (`make screenshot`).

    .venv/bin/python -m tests.browser.screenshot [docs/dashboard.png]

Serves the example config on the embedded backend, runs a few jobs (the simulated plank fails
some at random), opens /dashboard in headless Chromium and captures it with jobs in every state,
then the job page of pull-widgets-unit with its chart and the live log of a running build
(written next to the first, with `-job` before the suffix).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

from tests.browser.chromium import launch, missing_browser
from tests.harness import ROOT, RunningGateway, example_settings, serve, wait_ready

TRIGGER = """
mutation ($repo: String!, $job: String!, $pr: Int!) {
  triggerJob(input: {org: "example-org", repo: $repo, job: $job, type: PRESUBMIT,
                     baseRef: "main", pullRequest: {number: $pr}}) {
    ... on TriggerJobSuccess { prowJob { name } }
  }
}
"""

FINISHED = [
    ("widgets", "pull-widgets-unit", 412),
    ("widgets", "pull-widgets-lint", 412),
    ("gadgets", "pull-gadgets-unit", 97),
    ("widgets", "pull-widgets-e2e", 409),
    ("website", "pull-website-build", 31),
    ("gadgets", "pull-gadgets-docs", 97),
]
RUNNING = [("widgets", "pull-widgets-unit", 415), ("gadgets", "pull-gadgets-e2e", 98)]


async def trigger(gateway: RunningGateway, repo: str, job: str, pr: int) -> str:
    body = await gateway.query(TRIGGER, {"repo": repo, "job": job, "pr": pr})
    name: str = body["data"]["triggerJob"]["prowJob"]["name"]
    return name


async def take(path: Path) -> None:
    """Write the screenshot to `path`."""
    problem = missing_browser()
    if problem:
        sys.exit(problem)
    settings = example_settings(
        "--sim-pending-after", "1", "--sim-complete-after", "2", "--sim-failure-rate", "0.3"
    )
    async with serve(settings) as gateway, async_playwright() as playwright:
        await wait_ready(gateway)
        for repo, job, pr in FINISHED:
            await trigger(gateway, repo, job, pr)
        browser = await launch(playwright)
        page = await browser.new_page(viewport={"width": 1100, "height": 460})
        await page.goto(f"{gateway.url}/dashboard?org=example-org")
        finished = page.locator("td.state.success, td.state.failure")
        await expect(finished).to_have_count(len(FINISHED), timeout=15_000)
        await trigger(gateway, *RUNNING[0])
        await expect(page.locator("td.state.pending")).to_have_count(1, timeout=10_000)
        await trigger(gateway, *RUNNING[1])
        await expect(page.locator("td.state.triggered")).to_have_count(1)
        await page.screenshot(path=path)
        print(f"wrote {path}")
        await job_page(gateway, page, path.with_name(f"{path.stem}-job{path.suffix}"))
        await browser.close()


async def job_page(gateway: RunningGateway, page: Page, path: Path) -> None:
    """pull-widgets-unit's page with a few finished runs and one running, its log streaming."""
    for pr in (416, 417, 418, 419, 420):
        await trigger(gateway, "widgets", "pull-widgets-unit", pr)
        await asyncio.sleep(0.4)
    await page.set_viewport_size({"width": 1100, "height": 700})
    await page.goto(f"{gateway.url}/dashboard/jobs/pull-widgets-unit")
    await expect(page.locator("#chart rect.bar")).to_have_count(7, timeout=15_000)
    await expect(page.locator("#chart rect.bar.pending")).not_to_have_count(0, timeout=15_000)
    await expect(page.locator("#log")).to_contain_text("TestBranchMatching", timeout=15_000)
    await page.screenshot(path=path)
    print(f"wrote {path}")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "dashboard.png"
    asyncio.run(take(target))
