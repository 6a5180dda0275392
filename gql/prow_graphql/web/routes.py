"""The routes the app mounts for the browser pages: /dashboard and /static/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from prow_graphql.settings import Settings
from prow_graphql.web.assets import STATIC_DIR
from prow_graphql.web.links import page_settings
from prow_graphql.web.pages import dashboard_response


class _StaticFiles(StaticFiles):
    """Static files that browsers revalidate (cheap 304s by ETag) instead of guessing freshness.

    With `vendor=False` (--no-graphiql) the GraphiQL bundle under vendor/ is not served.
    """

    def __init__(self, directory: Path, *, vendor: bool) -> None:
        super().__init__(directory=directory)
        self._vendor = vendor

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not self._vendor and path.split("/", 1)[0] == "vendor":
            raise HTTPException(status_code=404)
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = "no-cache"
        return response


def web_routes(settings: Settings, deck_url: Callable[[], str | None]) -> list[BaseRoute]:
    """/dashboard, /dashboard/jobs/{job}, /favicon.ico and /static/ (GraphiQL's bundle under
    /static/vendor/ only when it is on). `deck_url` gives the Deck base from Prow's config."""

    async def dashboard(request: Request) -> Response:
        return dashboard_response(request, page_settings(settings, deck_url()))

    async def job_page(request: Request) -> Response:
        job = request.path_params["job"]
        return dashboard_response(request, page_settings(settings, deck_url()), job=job)

    async def favicon(_: Request) -> Response:
        # Browsers ask for /favicon.ico whatever the page links; answer with the SVG icon.
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    return [
        Route("/dashboard", dashboard, methods=["GET"], name="dashboard"),
        Route("/dashboard/jobs/{job:path}", job_page, methods=["GET"], name="job"),
        Route("/favicon.ico", favicon, methods=["GET"]),
        Mount(
            "/static",
            app=_StaticFiles(STATIC_DIR, vendor=settings.graphiql),
            name="static",
        ),
    ]
