"""Pure rules about the shape of an HTTP request, decided on what the handlers will parse.

Authentication and CSRF decisions must not look at raw bytes the handler decodes differently
(`%71uery=` is `query=` to Starlette and Strawberry), so every rule here parses the query string
with the same parser the handlers use. No I/O; HttpGuard applies the answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import QueryParams

# Paths whose GET is public (pages, probes, static files); everything else needs an identity.
PUBLIC_PREFIXES = ("/healthz", "/readyz", "/static/", "/dashboard", "/favicon")
GRAPHQL_PATH = "/graphql"
# A header a cross-site form or a "simple" fetch cannot send without a CORS preflight.
CSRF_HEADER = "x-requested-with"
JSON_MEDIA_TYPE = "application/json"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A user string is cut to this many characters before it reaches an error message or a log line.
MAX_ECHO = 200


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused before any handler sees it."""

    status: int
    message: str


def carries_operation(query_string: bytes) -> bool:
    """True if a GET would execute GraphQL: a `query` parameter, however its name is encoded."""
    params = QueryParams(query_string.decode("latin-1"))
    # Strawberry reads request.query_params, which is this very parser; stripping and folding
    # case only errs on the side of demanding credentials.
    return any(key.strip().lower() == "query" for key in params)


def needs_identity(method: str, path: str, query_string: bytes) -> bool:
    """Whether this request must carry credentials when authentication is on.

    Public: GET/HEAD of pages, probes and static files, the GraphiQL page (GET /graphql without
    an operation) and CORS preflights (which never carry credentials). Everything else is not.
    """
    if method == "OPTIONS":
        return False
    if method not in ("GET", "HEAD"):
        return True
    if path == "/" or path.startswith(PUBLIC_PREFIXES):
        return False
    if path == GRAPHQL_PATH:
        return carries_operation(query_string)
    return True


def media_type(content_type: str) -> str:
    """The essence of a Content-Type value (`Application/JSON; charset=x` → `application/json`)."""
    return content_type.split(";", 1)[0].strip().lower()


def csrf_refusal(
    method: str,
    headers: Mapping[bytes, bytes],
    has_query: bool,
    *,
    authorization_is_explicit: bool = False,
) -> Refusal | None:
    """Refuse a state-changing request a browser could send cross-site without a preflight.

    Browsers send forms and "simple" requests (text/plain, form encodings, no body) to any site
    with its cookies, so an authenticating proxy's session would ride along. A JSON Content-Type
    or the X-Requested-With header forces a preflight, which CORS refuses for unlisted origins.
    So does an Authorization header — but only where the caller sets it itself
    (`authorization_is_explicit`: not behind --auth proxy, whose proxy may add one from a
    cookie). That keeps gangway's documented `curl -H "Authorization: …" -d '{…}'` working: curl
    labels such a body as a form.
    """
    if method not in UNSAFE_METHODS or CSRF_HEADER.encode() in headers:
        return None
    if authorization_is_explicit and b"authorization" in headers:
        return None
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    essence = media_type(content_type)
    if essence == JSON_MEDIA_TYPE:
        return None
    if essence:
        return Refusal(
            415,
            f"Content-Type {echo(essence)!r} is not accepted: send a JSON body with "
            f"Content-Type: {JSON_MEDIA_TYPE} (form posts are refused to prevent cross-site "
            "request forgery)",
        )
    what = "fields in the query string" if has_query else "a request without Content-Type"
    return Refusal(
        400,
        f"{what}: send a JSON body with Content-Type: {JSON_MEDIA_TYPE}, or add the "
        "X-Requested-With header (cross-site form posts are refused)",
    )


def echo(text: str, limit: int = MAX_ECHO) -> str:
    """`text` cut to `limit` characters for an error message or a log line."""
    return text if len(text) <= limit else f"{text[:limit]}…({len(text) - limit} more)"


def bounded_request_id(raw: bytes, limit: int = 64) -> str | None:
    """A client-sent X-Request-Id if short and printable, else None (a fresh id is used)."""
    if not raw or len(raw) > limit:
        return None
    text = raw.decode("latin-1")
    if not all(c.isascii() and c.isprintable() and c != " " for c in text):
        return None
    return text
