"""Who is calling: the `Identity` every request carries, and the authentication modes producing it.

`NoAuth` (development: anonymous), `TokenAuthenticator` (bearer tokens from a YAML file, compared in
constant time, re-read when the file changes) and `ProxyAuthenticator` (identity headers from an
auth proxy, believed only from trusted addresses). Pure except reading the token file. Tokens are
never logged, echoed in errors or kept in plain text in memory (only their SHA-256 digests).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import yaml

from prow_graphql.errors import ConfigError, Unauthenticated

log = logging.getLogger(__name__)

IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

HEADER_AUTHORIZATION = "authorization"
HEADER_USER = "x-forwarded-user"
HEADER_EMAIL = "x-forwarded-email"
HEADER_GROUPS = "x-forwarded-groups"

MIN_TOKEN_LENGTH = 16
_MAX_NAME_LENGTH = 256
_MAX_GROUPS = 1000
_BEARER = re.compile(r"bearer[ \t]+(\S+)[ \t]*", re.IGNORECASE)
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
# A user name is one printable token: commas would mean a repeated header, spaces a forged list.
_USER_NAME = re.compile(r"[^\s,\x00-\x1f\x7f]+")
_ENTRY_KEYS = frozenset({"user", "token", "token_sha256", "groups", "email"})
_SEND_BEARER = "send the header 'Authorization: Bearer <token>'"


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
        return cls(peer=peer, headers=_lower_headers(headers))

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


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """One known token, kept as its SHA-256 digest, and the identity it stands for."""

    digest: bytes
    identity: Identity


_FileStamp: TypeAlias = tuple[int, int, int, int]


class TokenAuthenticator:
    """Bearer tokens from a YAML file; re-reads the file when its stat changes."""

    required = True

    def __init__(self, entries: Sequence[TokenEntry], path: Path | None = None) -> None:
        self._entries = tuple(entries)
        self._path = path
        self._stamp: _FileStamp | None = None
        self._failed_stamp: _FileStamp | None = None
        self.last_error: str | None = None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TokenAuthenticator:
        """Load the token file; raises `ConfigError` (naming the entry, never the token)."""
        auth = cls((), Path(path))
        auth.reload()
        return auth

    def __len__(self) -> int:
        return len(self._entries)

    def reload(self) -> bool:
        """Re-read the file if it changed; True if new tokens were loaded. A bad file raises
        `ConfigError` and the previous tokens stay in force."""
        if self._path is None:
            return False
        try:
            stamp = _stamp(self._path)
            if stamp == self._stamp:
                return False
            entries = load_token_file(self._path)
        except OSError as exc:
            self.last_error = f"file {self._path}: cannot read the token file: {exc.strerror}"
            raise ConfigError(self.last_error) from exc
        except ConfigError as exc:
            self._failed_stamp = stamp
            self.last_error = exc.message
            raise
        self._entries, self._stamp, self._failed_stamp, self.last_error = entries, stamp, None, None
        log.info("loaded %d tokens from %s", len(entries), self._path)
        return True

    def authenticate(self, authorization_header: str | None) -> Identity:
        """The identity of a `Bearer <token>` header; raises `Unauthenticated` otherwise."""
        token = bearer_token(authorization_header)
        self._reload_if_changed()
        presented = hashlib.sha256(token.encode("utf-8")).digest()
        found: Identity | None = None
        # Compare against every entry without stopping early, so timing reveals nothing.
        for entry in self._entries:
            if self._digests_equal(presented, entry.digest) and found is None:
                found = entry.identity
        if found is None:
            raise Unauthenticated(f"invalid bearer token: {_SEND_BEARER} with a known token")
        return found

    def authenticate_request(self, request: RequestInfo) -> Identity:
        """`authenticate` on the request's Authorization header."""
        return self.authenticate(request.authorization)

    def _digests_equal(self, presented: bytes, known: bytes) -> bool:
        return hmac.compare_digest(presented, known)

    def _reload_if_changed(self) -> None:
        if self._path is None:
            return
        try:
            stamp: _FileStamp | None = _stamp(self._path)
        except OSError:
            stamp = None
        if stamp is not None and stamp in (self._stamp, self._failed_stamp):
            return
        previous = self.last_error
        try:
            self.reload()
        except ConfigError as exc:
            # Keep serving the tokens we have; say so once per distinct problem, not per request.
            if exc.message != previous:
                log.error("token file not reloaded, keeping %d tokens: %s", len(self), exc)


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
        lowered = _lower_headers(headers.items())
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


def bearer_token(authorization_header: str | None) -> str:
    """The token of a `Bearer <token>` header; raises `Unauthenticated` (never echoing it)."""
    if authorization_header is None or not authorization_header.strip():
        raise Unauthenticated(f"authentication required: {_SEND_BEARER}")
    match = _BEARER.fullmatch(authorization_header.strip())
    if match is None:
        raise Unauthenticated(f"unsupported Authorization header: {_SEND_BEARER}")
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


def parse_groups(value: str) -> tuple[str, ...]:
    """Comma-separated groups: trimmed, empty items dropped, duplicates removed, order kept."""
    groups = dict.fromkeys(g.strip() for g in value.split(","))
    groups.pop("", None)
    if len(groups) > _MAX_GROUPS or any(_bad_group(g) for g in groups):
        raise Unauthenticated("X-Forwarded-Groups: malformed group list")
    return tuple(groups)


def load_token_file(path: Path) -> tuple[TokenEntry, ...]:
    """Read and parse a token file (see docs/auth.md); raises `ConfigError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the token file: {exc}", path=str(path)) from exc
    return parse_token_file(text, str(path))


def parse_token_file(text: str, path: str = "<tokens>") -> tuple[TokenEntry, ...]:
    """Parse token-file YAML; errors name entries by index and user, never by token."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # The YAML error's own text may quote a token; report only where it happened.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"not valid YAML{where}", path=path) from None
    if not isinstance(data, Mapping) or not isinstance(data.get("tokens"), list):
        raise ConfigError("expected a mapping with a 'tokens' list", path=path)
    errors: list[str] = []
    entries: list[TokenEntry] = []
    seen: dict[bytes, int] = {}
    for i, item in enumerate(data["tokens"]):
        entry = _parse_entry(i, item, errors)
        if entry is None:
            continue
        if entry.digest in seen:
            errors.append(f"tokens[{i}]: same token as tokens[{seen[entry.digest]}]")
            continue
        seen[entry.digest] = i
        entries.append(entry)
    if errors:
        raise ConfigError("; ".join(errors), path=path)
    return tuple(entries)


def _parse_entry(i: int, item: Any, errors: list[str]) -> TokenEntry | None:
    where = f"tokens[{i}]"
    if not isinstance(item, Mapping):
        errors.append(f"{where}: expected a mapping with user and token (or token_sha256)")
        return None
    count = len(errors)
    user = item.get("user")
    if not isinstance(user, str) or _USER_NAME.fullmatch(user) is None:
        errors.append(f"{where}: user must be a non-empty name without spaces or commas")
    else:
        where = f"{where} (user {user})"
    unknown = sorted(str(k) for k in item if k not in _ENTRY_KEYS)
    if unknown:
        errors.append(f"{where}: unknown keys {', '.join(unknown)}")
    email = item.get("email", "")
    if not isinstance(email, str) or (email and _USER_NAME.fullmatch(email) is None):
        errors.append(f"{where}: email must be a single address")
    groups = item.get("groups") or []
    if not isinstance(groups, list) or any(not isinstance(g, str) or _bad_group(g) for g in groups):
        errors.append(f"{where}: groups must be a list of names without commas")
    digest = _entry_digest(where, item.get("token"), item.get("token_sha256"), errors)
    if len(errors) > count or digest is None:
        return None
    identity = Identity(
        user=str(user),
        groups=tuple(dict.fromkeys(g.strip() for g in groups)),
        authenticated=True,
        email=str(email),
    )
    return TokenEntry(digest=digest, identity=identity)


def _entry_digest(where: str, token: Any, token_sha256: Any, errors: list[str]) -> bytes | None:
    if (token is None) == (token_sha256 is None):
        errors.append(f"{where}: set exactly one of token and token_sha256")
        return None
    if token is not None:
        if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH or _has_space(token):
            errors.append(
                f"{where}: token must be a string of at least {MIN_TOKEN_LENGTH} characters "
                "without spaces"
            )
            return None
        return hashlib.sha256(token.encode("utf-8")).digest()
    if not isinstance(token_sha256, str) or _SHA256_HEX.fullmatch(token_sha256) is None:
        errors.append(f"{where}: token_sha256 must be 64 hexadecimal digits")
        return None
    return bytes.fromhex(token_sha256)


def _stamp(path: Path) -> _FileStamp:
    # stat() follows symlinks, so a Kubernetes Secret's ..data swap changes the inode.
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def _lower_headers(pairs: Iterable[tuple[str | bytes, str | bytes]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name = (raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name).lower()
        value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


def _header_name(headers: Mapping[str, str], name: str, display: str) -> str:
    value = headers.get(name, "").strip()
    if value and (len(value) > _MAX_NAME_LENGTH or _USER_NAME.fullmatch(value) is None):
        raise Unauthenticated(f"{display}: expected a single name")
    return value


def _bad_group(group: str) -> bool:
    return (
        not group.strip()
        or "," in group
        or len(group) > _MAX_NAME_LENGTH
        or any(ord(c) < 32 or ord(c) == 127 for c in group)
    )


def _has_space(text: str) -> bool:
    return any(c.isspace() for c in text)
