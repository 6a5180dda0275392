"""What the dashboard pages need to know about the server: its auth mode, and whether Deck and
Spyglass links lead anywhere.

Spyglass links (status.url) are shown only when Prow's `job_url_prefix_config` has a real base
and a real Prow wrote them (kube backend: the embedded backend's simulated runs exist in no
Spyglass); Deck links (statusLink, logLink) only for a real `--deck-url`, else the same base as
Spyglass. A host of the names reserved for examples (RFC 2606 / RFC 6761: example.com, *.example,
*.invalid, *.test, *.localhost) is never real: such links could only lead nowhere.
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
    deck_links: bool
    spyglass_links: bool


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


def page_settings(settings: Settings, config_base: str | None) -> PageSettings:
    """PageSettings from the flags and the base of `job_url_prefix_config` (if any)."""
    spyglass = settings.backend is Backend.KUBE and is_real_base(config_base)
    deck = is_real_base(settings.deck_url) if settings.deck_url else spyglass
    return PageSettings(auth=settings.auth.value, deck_links=deck, spyglass_links=spyglass)
