"""Who is calling: the `Identity` every request carries, and the authentication modes producing it.

`NoAuth` (development: anonymous), `TokenAuthenticator` (bearer tokens from a YAML file, see
`tokens`) and `ProxyAuthenticator` (identity headers from an auth proxy, see `proxy`). This module
picks the mode and re-exports the public names, so callers import from `prow_graphql.identity`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prow_graphql.identity.core import (
    ANONYMOUS,
    HEADER_AUTHORIZATION,
    HEADER_EMAIL,
    HEADER_GROUPS,
    HEADER_USER,
    Authenticator,
    Identity,
    IPNetwork,
    NoAuth,
    RequestInfo,
    authorization_from_init_payload,
    bearer_token,
)
from prow_graphql.identity.proxy import ProxyAuthenticator, parse_groups
from prow_graphql.identity.tokens import (
    MIN_TOKEN_LENGTH,
    TokenAuthenticator,
    TokenEntry,
    load_token_file,
    parse_token_file,
)

__all__ = [
    "ANONYMOUS",
    "HEADER_AUTHORIZATION",
    "HEADER_EMAIL",
    "HEADER_GROUPS",
    "HEADER_USER",
    "MIN_TOKEN_LENGTH",
    "Authenticator",
    "IPNetwork",
    "Identity",
    "NoAuth",
    "ProxyAuthenticator",
    "RequestInfo",
    "TokenAuthenticator",
    "TokenEntry",
    "authenticator_for",
    "authorization_from_init_payload",
    "bearer_token",
    "load_token_file",
    "parse_groups",
    "parse_token_file",
]


def authenticator_for(
    mode: str,
    *,
    token_file: str | os.PathLike[str] | None = None,
    trusted_proxies: Iterable[IPNetwork | str] = (),
) -> Authenticator:
    """The authenticator for `--auth none|token|proxy`; raises ValueError for a wrong setup."""
    if mode == "none":
        return NoAuth()
    if mode == "token":
        if token_file is None:
            raise ValueError("--auth token needs --token-file")
        return TokenAuthenticator.from_file(token_file)
    if mode == "proxy":
        proxy = ProxyAuthenticator(trusted_proxies)
        if not proxy.trusted:
            raise ValueError("--auth proxy needs --trusted-proxies")
        return proxy
    raise ValueError(f"--auth: unknown mode {mode!r}; use none, token or proxy")
