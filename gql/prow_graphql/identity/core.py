"""The `Identity` every request carries, what authentication may look at, and the
`Authenticator` protocol (with `NoAuth`, the development mode). Shared header and name rules live
here too, so the token and proxy modes judge names the same way.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol, TypeAlias

from prow_graphql.errors import Unauthenticated

IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

HEADER_AUTHORIZATION = "authorization"
HEADER_USER = "x-forwarded-user"
HEADER_EMAIL = "x-forwarded-email"
HEADER_GROUPS = "x-forwarded-groups"

MAX_NAME_LENGTH = 256
_BEARER = re.compile(r"bearer[ \t]+(\S+)[ \t]*", re.IGNORECASE)
# A user name is one printable token: commas would mean a repeated header, spaces a forged list.
USER_NAME = re.compile(r"[^\s,\x00-\x1f\x7f]+")
SEND_BEARER = "send the header 'Authorization: Bearer <token>'"


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated (or, with --auth none, anonymous) caller."""

    user: str = ""
    groups: tuple[str, ...] = ()
    authenticated: bool = False
    email: str = ""

    @property
    def display(self) -> str:
        """How logs and descriptions name the caller."""
        return self.user or "anonymous"


ANONYMOUS = Identity()


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What authentication may look at: the peer's address and the headers (lower-case names)."""

    peer: str | None
    headers: Mapping[str, str]

    @classmethod
    def of(
        cls, peer: str | None, headers: Iterable[tuple[str | bytes, str | bytes]]
    ) -> RequestInfo:
        """From raw header pairs (e.g. Starlette's `headers.raw`); repeats are joined with ", "."""
        return cls(peer=peer, headers=lower_headers(headers))

    @property
    def authorization(self) -> str | None:
        """The Authorization header, if any."""
        return self.headers.get(HEADER_AUTHORIZATION)

    def with_authorization(self, authorization: str | None) -> RequestInfo:
        """A copy whose Authorization is `authorization` (from a WebSocket connection_init)."""
        if authorization is None:
            return self
        return replace(self, headers={**self.headers, HEADER_AUTHORIZATION: authorization})


class Authenticator(Protocol):
    """What the HTTP and WebSocket layers call; `required` is False only for `NoAuth`."""

    @property
    def required(self) -> bool:
        """Whether requests must be authenticated (and so authorized per job)."""
        ...

    def authenticate_request(self, request: RequestInfo) -> Identity:
        """The caller's identity; raises `Unauthenticated` when there is none."""
        ...


class NoAuth:
    """Development mode: everyone is anonymous and the request's own author is used."""

    required = False

    def authenticate_request(self, request: RequestInfo) -> Identity:
        """Always `ANONYMOUS`."""
        return ANONYMOUS


def bearer_token(authorization_header: str | None) -> str:
    """The token of a `Bearer <token>` header; raises `Unauthenticated` (never echoing it)."""
    if authorization_header is None or not authorization_header.strip():
        raise Unauthenticated(f"authentication required: {SEND_BEARER}")
    match = _BEARER.fullmatch(authorization_header.strip())
    if match is None:
        raise Unauthenticated(f"unsupported Authorization header: {SEND_BEARER}")
    return match.group(1)


def authorization_from_init_payload(payload: object) -> str | None:
    """The Authorization value of a graphql-transport-ws connection_init payload, if any.

    Accepts `{"Authorization": ...}` in any letter case, also nested under `"headers"`."""
    if not isinstance(payload, Mapping):
        return None
    for scope in (payload, payload.get("headers")):
        if isinstance(scope, Mapping):
            for key, value in scope.items():
                if isinstance(key, str) and key.lower() == HEADER_AUTHORIZATION:
                    return value if isinstance(value, str) else None
    return None


def lower_headers(pairs: Iterable[tuple[str | bytes, str | bytes]]) -> dict[str, str]:
    """Header pairs as a dict with lower-case names; repeats are joined with ", "."""
    result: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name = (raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name).lower()
        value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


def bad_group(group: str) -> bool:
    """Whether `group` is unusable as a group name (empty, a list, too long, control chars)."""
    return (
        not group.strip()
        or "," in group
        or len(group) > MAX_NAME_LENGTH
        or any(ord(c) < 32 or ord(c) == 127 for c in group)
    )
