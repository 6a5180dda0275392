"""The HTML pages: GraphiQL (or how to build its assets when they are missing) and the dashboard.

Pages are small templates in `templates/` with `$base` (the app's root path) and `$endpoint`
(the GraphQL URL path) filled in; all logic lives in the static JavaScript files.
"""

from __future__ import annotations

import html
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse

from prow_graphql.web.assets import TEMPLATES_DIR, VENDOR_DIR, missing_graphiql_files
from prow_graphql.web.links import PageSettings

# Pages are always revalidated so an upgraded gateway never runs an old page's script.
_NO_CACHE = {"Cache-Control": "no-cache"}


def _render(template: str, **values: str) -> str:
    text = (TEMPLATES_DIR / template).read_text(encoding="utf-8")
    if "$status_and_login" in text:
        # Markup both dashboard pages share (status line, GraphiQL link, token prompt).
        shared = (TEMPLATES_DIR / "status-and-login.html").read_text(encoding="utf-8").strip()
        text = text.replace("$status_and_login", shared)
    return Template(text).substitute({k: html.escape(v) for k, v in values.items()})


def _base(request: Request) -> str:
    root_path: str = request.scope.get("root_path", "")
    return root_path.rstrip("/")


def graphiql_response(request: Request) -> HTMLResponse:
    """The self-hosted GraphiQL page for the GraphQL endpoint at `request`'s path.

    Without the vendored bundle it answers 503 with a page saying to run `make assets`.
    """
    missing = missing_graphiql_files(VENDOR_DIR)
    if missing:
        body = _render(
            "assets-missing.html", missing=", ".join(missing), vendor_dir=str(VENDOR_DIR)
        )
        return HTMLResponse(body, status_code=503, headers=_NO_CACHE)
    body = _render("graphiql.html", base=_base(request), endpoint=request.url.path)
    return HTMLResponse(body, headers=_NO_CACHE)


def dashboard_response(
    request: Request, page: PageSettings, job: str | None = None
) -> HTMLResponse:
    """The live ProwJob list, or with `job` that job's page; filters come from the URL."""
    base = _base(request)
    values = {
        "base": base,
        "endpoint": f"{base}/graphql",
        "auth": page.auth,
        "deck": "on" if page.deck_links else "off",
        "spyglass": "on" if page.spyglass_links else "off",
    }
    if job is None:
        body = _render("dashboard.html", **values)
    else:
        body = _render("job.html", job=job, **values)
    return HTMLResponse(body, headers=_NO_CACHE)
