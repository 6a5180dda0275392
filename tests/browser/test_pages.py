"""The pages over plain HTTP: what GraphiQL loads (our files only), the message shown when the
assets were never built, and what --no-graphiql turns off."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from prow_graphql.web import pages
from prow_graphql.web.assets import GRAPHIQL_FILES
from tests.harness import example_settings, serve

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@contextlib.asynccontextmanager
async def gateway_client(*flags: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a gateway serving the example config with `flags`."""
    async with (
        serve(example_settings(*flags)) as gateway,
        httpx.AsyncClient(base_url=gateway.url) as client,
    ):
        yield client


async def test_graphiql_page_loads_only_files_served_by_the_gateway() -> None:
    async with gateway_client() as client:
        page = await client.get("/graphql", headers=HTML)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert urls == [
            "/static/vendor/graphiql.min.css",
            "/static/vendor/react.production.min.js",
            "/static/vendor/react-dom.production.min.js",
            "/static/vendor/graphql-ws.min.js",
            "/static/vendor/graphiql.min.js",
            "/static/graphiql-start.js",
        ]
        assert 'data-endpoint="/graphql"' in page.text
        for url in urls:
            response = await client.get(url)
            assert response.status_code == 200, url
            assert response.headers["cache-control"] == "no-cache"
            assert len(response.content) > 1000, url


async def test_missing_assets_give_a_page_that_says_make_assets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pages, "VENDOR_DIR", tmp_path)
    async with gateway_client() as client:
        page = await client.get("/graphql", headers=HTML)
        assert page.status_code == 503
        assert "<pre>make assets</pre>" in page.text
        assert ", ".join(GRAPHIQL_FILES) in page.text
        # The API itself still answers.
        query = await client.post("/graphql", json={"query": "{ repos { org } }"})
        assert query.status_code == 200


async def test_dashboard_page_and_its_script() -> None:
    async with gateway_client() as client:
        page = await client.get("/dashboard")
        assert page.status_code == 200
        assert '<script type="module" src="/static/dashboard.js">' in page.text
        assert 'data-endpoint="/graphql"' in page.text
        script = await client.get("/static/dashboard.js")
        assert script.status_code == 200
        assert "graphql-transport-ws" in (await client.get("/static/common.js")).text
        icon = await client.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
        assert (await client.get("/static/../app.py")).status_code == 404


async def test_no_graphiql_serves_neither_the_ide_nor_its_bundle() -> None:
    async with gateway_client("--no-graphiql") as client:
        assert (await client.get("/graphql", headers=HTML)).status_code == 404
        assert (await client.get("/static/vendor/graphiql.min.js")).status_code == 404
        assert (await client.get("/dashboard")).status_code == 200
        assert (await client.get("/static/dashboard.js")).status_code == 200
