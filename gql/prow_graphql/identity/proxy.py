"""Auth-proxy authentication: X-Forwarded-User/-Email/-Groups, believed only from trusted peers."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Mapping

from prow_graphql.errors import Unauthenticated
from prow_graphql.identity.core import (
    HEADER_EMAIL,
    HEADER_GROUPS,
    HEADER_USER,
    MAX_NAME_LENGTH,
    USER_NAME,
    Identity,
    IPNetwork,
    RequestInfo,
    bad_group,
    lower_headers,
)

log = logging.getLogger(__name__)

_MAX_GROUPS = 1000


class ProxyAuthenticator:
    """Identity from X-Forwarded-User/-Email/-Groups, believed only from trusted proxies."""

    required = True

    def __init__(self, trusted: Iterable[IPNetwork | str]) -> None:
        self.trusted: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(t, strict=False) if isinstance(t, str) else t for t in trusted
        )

    def is_trusted(self, peer_ip: str | None) -> bool:
        """Whether `peer_ip` lies in a trusted network (IPv4-mapped IPv6 counts as IPv4)."""
        if not peer_ip:
            return False
        try:
            address = ipaddress.ip_address(peer_ip)
        except ValueError:
            return False
        candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(a in net for a in candidates for net in self.trusted)

    def authenticate(self, peer_ip: str | None, headers: Mapping[str, str]) -> Identity:
        """The identity the proxy vouches for; raises `Unauthenticated` for untrusted peers."""
        lowered = lower_headers(headers.items())
        if not self.is_trusted(peer_ip):
            if HEADER_USER in lowered or HEADER_EMAIL in lowered:
                log.warning("ignored identity headers from untrusted peer %s", peer_ip)
            raise Unauthenticated(
                "authentication required: sign in through the authentication proxy "
                "(identity headers are accepted only from it)"
            )
        user = _header_name(lowered, HEADER_USER, "X-Forwarded-User")
        email = _header_name(lowered, HEADER_EMAIL, "X-Forwarded-Email")
        if not user and not email:
            raise Unauthenticated(
                "authentication required: the authentication proxy sent neither "
                "X-Forwarded-User nor X-Forwarded-Email"
            )
        return Identity(
            user=user or email,
            groups=parse_groups(lowered.get(HEADER_GROUPS, "")),
            authenticated=True,
            email=email,
        )

    def authenticate_request(self, request: RequestInfo) -> Identity:
        """`authenticate` on the request's peer address and headers."""
        return self.authenticate(request.peer, request.headers)


def parse_groups(value: str) -> tuple[str, ...]:
    """Comma-separated groups: trimmed, empty items dropped, duplicates removed, order kept."""
    groups = dict.fromkeys(g.strip() for g in value.split(","))
    groups.pop("", None)
    if len(groups) > _MAX_GROUPS or any(bad_group(g) for g in groups):
        raise Unauthenticated("X-Forwarded-Groups: malformed group list")
    return tuple(groups)


def _header_name(headers: Mapping[str, str], name: str, display: str) -> str:
    value = headers.get(name, "").strip()
    if value and (len(value) > MAX_NAME_LENGTH or USER_NAME.fullmatch(value) is None):
        raise Unauthenticated(f"{display}: expected a single name")
    return value
