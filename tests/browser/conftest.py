"""Browser-test fixtures: one headless Chromium per session, a fresh browser context (own
storage) and a gateway per test, and a screenshot when a test fails.

Everything here runs in the session's event loop (the browser outlives single tests); the test
modules mark themselves with `pytestmark = BROWSER_LOOP`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from prow_graphql.web.assets import missing_graphiql_files
from tests.browser.chromium import launch, missing_browser
from tests.harness import RunningGateway, example_settings, serve, wait_ready


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Remember each phase's outcome on the item so the `page` fixture can see a failure.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium (Debian's package), started once for all browser tests."""
    problem = missing_browser()
    if problem is None and missing_graphiql_files():
        problem = (
            f"GraphiQL assets missing ({', '.join(missing_graphiql_files())}): run `make assets`"
        )
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def web_gateway() -> AsyncIterator[RunningGateway]:
    """The example config on the embedded backend, paced so a browser can see each state."""
    settings = example_settings("--sim-pending-after", "0.3", "--sim-complete-after", "0.6")
    async with serve(settings) as gateway:
        await wait_ready(gateway)
        yield gateway


@pytest_asyncio.fixture(loop_scope="session")
async def page(
    browser: Browser, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Page]:
    """A page in a fresh browser context; on failure a screenshot lands in tmp_path."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = await context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            shot = tmp_path / f"{request.node.name}.png"
            await page.screenshot(path=shot, full_page=True)
            print(f"screenshot: {shot}; page errors: {errors}")
        else:
            assert not errors, f"uncaught JavaScript errors: {errors}"
    finally:
        await context.close()
