"""What the dashboard pages need to know about the server: its auth mode, and whether Deck and
Spyglass links lead anywhere.

Links are shown only for a real Deck: `--deck-url`, or (on the kube backend) the base of Prow's
`job_url_prefix_config`; never for the embedded backend's simulated Prow without --deck-url, and
never for a host of the names reserved for examples (RFC 2606 / RFC 6761: example.com,
*.example, *.invalid, *.test, *.localhost), which cannot be anyone's Deck.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from prow_graphql.settings import Backend, Settings

_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
_RESERVED_TLDS = ("example", "invalid", "test", "localhost")


@dataclass(frozen=True)
class PageSettings:
    """Values the page templates hand to the scripts."""

    auth: str
    links: bool


def is_real_base(url: str | None) -> bool:
    """Whether `url` is an http(s) URL whose host is not reserved for examples."""
    if not url:
        return False
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return False
    if any(host == d or host.endswith("." + d) for d in _RESERVED_DOMAINS):
        return False
    return host.rpartition(".")[2] not in _RESERVED_TLDS


def page_settings(settings: Settings, config_deck_url: str | None) -> PageSettings:
    """PageSettings from the flags and the Deck base found in Prow's config (if any)."""
    if settings.deck_url:
        links = is_real_base(settings.deck_url)
    else:
        links = settings.backend is Backend.KUBE and is_real_base(config_deck_url)
    return PageSettings(auth=settings.auth.value, links=links)
