"""Bearer-token authentication: the token file (YAML, see docs/auth.md), its parsing and reloading.

Tokens are never logged, echoed in errors or kept in plain text in memory (only their SHA-256
digests); presented tokens are compared in constant time against every entry.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import yaml

from prow_graphql.errors import ConfigError, Unauthenticated
from prow_graphql.identity.core import (
    SEND_BEARER,
    USER_NAME,
    Identity,
    RequestInfo,
    bad_group,
    bearer_token,
)

log = logging.getLogger(__name__)

MIN_TOKEN_LENGTH = 16
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_ENTRY_KEYS = frozenset({"user", "token", "token_sha256", "groups", "email"})


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
            raise Unauthenticated(f"invalid bearer token: {SEND_BEARER} with a known token")
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
    if not isinstance(user, str) or USER_NAME.fullmatch(user) is None:
        errors.append(f"{where}: user must be a non-empty name without spaces or commas")
    else:
        where = f"{where} (user {user})"
    unknown = sorted(str(k) for k in item if k not in _ENTRY_KEYS)
    if unknown:
        errors.append(f"{where}: unknown keys {', '.join(unknown)}")
    email = item.get("email", "")
    if not isinstance(email, str) or (email and USER_NAME.fullmatch(email) is None):
        errors.append(f"{where}: email must be a single address")
    groups = item.get("groups") or []
    if not isinstance(groups, list) or any(not isinstance(g, str) or bad_group(g) for g in groups):
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


def _has_space(text: str) -> bool:
    return any(c.isspace() for c in text)
