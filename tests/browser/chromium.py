"""Headless Chromium for the browser tests: Debian's `chromium` package driven by Playwright.

Playwright's own browser downloads are never used (CI has no internet besides package
registries): `make browser-deps` installs /usr/bin/chromium and Playwright is pointed at it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Browser, Playwright

CHROMIUM = Path(os.environ.get("PROW_GRAPHQL_CHROMIUM", "/usr/bin/chromium"))

# No sandbox (containers, root in CI), no GPU, and nothing that phones home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

BROWSER_LOOP = pytest.mark.asyncio(loop_scope="session")
"""Browser tests share the session's event loop with the session-wide browser."""


def missing_browser() -> str | None:
    """Why the browser tests cannot run, or None when Chromium is installed."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return None
    return f"{CHROMIUM} is missing: run `make browser-deps` (installs Debian's chromium package)"


async def launch(playwright: Playwright) -> Browser:
    """Start headless Chromium; Playwright gives it a fresh temporary profile directory."""
    return await playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
