"""Where the static files live, and whether `make assets` has put GraphiQL's bundle there."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# What the GraphiQL page loads from /static/vendor/ (copied from npm packages by `make assets`).
GRAPHIQL_FILES = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphql-ws.min.js",
    "graphiql.min.js",
    "graphiql.min.css",
)


def missing_graphiql_files(vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """The GraphiQL bundle files absent from `vendor_dir` (empty when the assets are built)."""
    return [name for name in GRAPHIQL_FILES if not (vendor_dir / name).is_file()]
