"""Authentication modes: bearer tokens from a file, auth-proxy headers, and no auth."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
from pathlib import Path

import pytest

from prow_graphql.errors import ConfigError, Unauthenticated, UserError
from prow_graphql.identity import (
    ANONYMOUS,
    Identity,
    NoAuth,
    ProxyAuthenticator,
    RequestInfo,
    TokenAuthenticator,
    authenticator_for,
    authorization_from_init_payload,
    bearer_token,
    parse_groups,
    parse_token_file,
)

ALICE_TOKEN = "alice-token-0123456789"
BOB_TOKEN = "bob-token-abcdefghijkl"
CAROL_TOKEN = "carol-token-zyxwvutsrq"
CAROL_SHA = hashlib.sha256(CAROL_TOKEN.encode()).hexdigest()

TOKENS_YAML = f"""\
tokens:
  - user: alice
    token: {ALICE_TOKEN}
    groups: [github-org:kubevirt, "github-team:kubevirt/sig-ci"]
    email: alice@example.com
  - user: bob
    token: {BOB_TOKEN}
  - user: carol
    token_sha256: {CAROL_SHA.upper()}
    groups: [github-team-id:42]
"""


def write(path: Path, text: str) -> Path:
    """Write `text` and make sure the file's stat differs from before (mtime may be coarse)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))
    return path


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    return write(tmp_path / "tokens.yaml", TOKENS_YAML)


class CountingTokenAuthenticator(TokenAuthenticator):
    """Counts digest comparisons, to show that every entry is compared."""

    comparisons = 0

    def _digests_equal(self, presented: bytes, known: bytes) -> bool:
        self.comparisons += 1
        return super()._digests_equal(presented, known)


# --- token mode ---------------------------------------------------------------------------


def test_token_maps_to_its_identity(token_file: Path) -> None:
    auth = TokenAuthenticator.from_file(token_file)
    assert len(auth) == 3
    assert auth.authenticate(f"Bearer {ALICE_TOKEN}") == Identity(
        user="alice",
        groups=("github-org:kubevirt", "github-team:kubevirt/sig-ci"),
        authenticated=True,
        email="alice@example.com",
    )
    assert auth.authenticate(f"Bearer {BOB_TOKEN}") == Identity(user="bob", authenticated=True)


def test_sha256_entry_accepts_the_plain_token(token_file: Path) -> None:
    auth = TokenAuthenticator.from_file(token_file)
    carol = auth.authenticate(f"Bearer {CAROL_TOKEN}")
    assert (carol.user, carol.groups, carol.authenticated) == (
        "carol",
        ("github-team-id:42",),
        True,
    )
    # The digest itself is not a token.
    with pytest.raises(Unauthenticated):
        auth.authenticate(f"Bearer {CAROL_SHA}")


@pytest.mark.parametrize(
    "header", ["bearer " + ALICE_TOKEN, "BEARER " + ALICE_TOKEN, f"  Bearer \t{ALICE_TOKEN}  "]
)
def test_bearer_scheme_is_case_insensitive_and_spacing_tolerant(
    token_file: Path, header: str
) -> None:
    assert TokenAuthenticator.from_file(token_file).authenticate(header).user == "alice"


SEND = "send the header 'Authorization: Bearer <token>'"
MISSING = f"authentication required: {SEND}"
UNSUPPORTED = f"unsupported Authorization header: {SEND}"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, MISSING),
        ("", MISSING),
        ("   ", MISSING),
        ("Bearer", UNSUPPORTED),
        ("Bearer ", UNSUPPORTED),
        ("Basic YWxpY2U6cGFzcw==", UNSUPPORTED),
        (ALICE_TOKEN, UNSUPPORTED),
        (f"Bearer {ALICE_TOKEN} extra", UNSUPPORTED),
        (f"Token {ALICE_TOKEN}", UNSUPPORTED),
        ("Bearer not-a-known-token-at-all", f"invalid bearer token: {SEND} with a known token"),
    ],
)
def test_bad_authorization_headers_are_refused_without_echoing_them(
    token_file: Path, header: str | None, message: str
) -> None:
    auth = TokenAuthenticator.from_file(token_file)
    with pytest.raises(Unauthenticated) as caught:
        auth.authenticate(header)
    assert caught.value.message == message
    assert isinstance(caught.value, UserError)
    assert ALICE_TOKEN not in str(caught.value)


def test_every_entry_is_compared_whether_or_not_one_matches(token_file: Path) -> None:
    auth = CountingTokenAuthenticator(TokenAuthenticator.from_file(token_file)._entries)
    auth.authenticate(f"Bearer {ALICE_TOKEN}")  # the first entry
    assert auth.comparisons == 3
    with pytest.raises(Unauthenticated):
        auth.authenticate("Bearer some-unknown-token-value")
    assert auth.comparisons == 6


def test_bearer_token_extracts_the_credentials() -> None:
    assert bearer_token("Bearer abc.def-ghi_jkl~=") == "abc.def-ghi_jkl~="


def test_authenticate_request_reads_the_authorization_header(token_file: Path) -> None:
    auth = TokenAuthenticator.from_file(token_file)
    request = RequestInfo.of("127.0.0.1", [(b"Authorization", f"Bearer {BOB_TOKEN}".encode())])
    assert auth.authenticate_request(request).user == "bob"
    assert auth.required is True


def test_tokens_reload_when_the_file_changes(token_file: Path) -> None:
    auth = TokenAuthenticator.from_file(token_file)
    assert auth.authenticate(f"Bearer {ALICE_TOKEN}").user == "alice"
    write(token_file, f"tokens:\n  - user: dave\n    token: {ALICE_TOKEN}\n")
    assert auth.authenticate(f"Bearer {ALICE_TOKEN}").user == "dave"
    with pytest.raises(Unauthenticated):
        auth.authenticate(f"Bearer {BOB_TOKEN}")
    assert len(auth) == 1


def test_explicit_reload_reports_whether_anything_changed(token_file: Path) -> None:
    auth = TokenAuthenticator.from_file(token_file)
    assert auth.reload() is False
    write(token_file, f"tokens:\n  - user: bob\n    token: {BOB_TOKEN}\n")
    assert auth.reload() is True
    assert len(auth) == 1


def test_a_bad_reload_keeps_the_old_tokens_and_logs_once(
    token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    auth = TokenAuthenticator.from_file(token_file)
    write(token_file, f"tokens:\n  - user: eve\n    token: {ALICE_TOKEN}\n    tken: x\n")
    with caplog.at_level(logging.ERROR, logger="prow_graphql.identity"):
        for _ in range(3):
            assert auth.authenticate(f"Bearer {ALICE_TOKEN}").user == "alice"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert ALICE_TOKEN not in caplog.text
    assert auth.last_error == f"file {token_file}: tokens[0] (user eve): unknown keys tken"
    with pytest.raises(ConfigError):
        auth.reload()  # an explicit reload says so (the stamp is remembered as bad, not as good)
    # Fixing the file recovers.
    write(token_file, f"tokens:\n  - user: eve\n    token: {ALICE_TOKEN}\n")
    assert auth.authenticate(f"Bearer {ALICE_TOKEN}").user == "eve"
    assert auth.last_error is None


def test_a_vanished_file_keeps_the_old_tokens(token_file: Path) -> None:
    auth = TokenAuthenticator.from_file(token_file)
    token_file.unlink()
    assert auth.authenticate(f"Bearer {BOB_TOKEN}").user == "bob"
    assert auth.last_error is not None and "cannot read the token file" in auth.last_error
    with pytest.raises(ConfigError):
        auth.reload()


def test_kubernetes_secret_symlink_swap_is_noticed(tmp_path: Path) -> None:
    # A mounted Secret: tokens.yaml -> ..data/tokens.yaml, ..data -> ..<timestamp> (swapped).
    first, second = tmp_path / "..2024_01", tmp_path / "..2024_02"
    first.mkdir()
    second.mkdir()
    (first / "tokens.yaml").write_text(f"tokens:\n  - user: alice\n    token: {ALICE_TOKEN}\n")
    (second / "tokens.yaml").write_text(f"tokens:\n  - user: bob\n    token: {BOB_TOKEN}\n")
    (tmp_path / "..data").symlink_to(first.name)
    (tmp_path / "tokens.yaml").symlink_to("..data/tokens.yaml")
    auth = TokenAuthenticator.from_file(tmp_path / "tokens.yaml")
    assert auth.authenticate(f"Bearer {ALICE_TOKEN}").user == "alice"
    (tmp_path / "..data_tmp").symlink_to(second.name)
    os.replace(tmp_path / "..data_tmp", tmp_path / "..data")
    assert auth.authenticate(f"Bearer {BOB_TOKEN}").user == "bob"
    with pytest.raises(Unauthenticated):
        auth.authenticate(f"Bearer {ALICE_TOKEN}")


NOT_A_LIST = "expected a mapping with a 'tokens' list"
NOT_A_MAPPING = "tokens[0]: expected a mapping with user and token (or token_sha256)"
BAD_USER = "tokens[0]: user must be a non-empty name without spaces or commas"
ONE_OF = "tokens[0] (user a): set exactly one of token and token_sha256"
SHORT = "token must be a string of at least 16 characters without spaces"
ALICE_SHA = hashlib.sha256(ALICE_TOKEN.encode()).hexdigest()
ENTRY_A = f"tokens:\n  - user: a\n    token: {ALICE_TOKEN}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", NOT_A_LIST),
        ("tokens: {}", NOT_A_LIST),
        ("tokens:\n  - alice", NOT_A_MAPPING),
        (f"tokens:\n  - token: {ALICE_TOKEN}", BAD_USER),
        ("tokens:\n  - user: a", ONE_OF),
        (f"{ENTRY_A}    token_sha256: {CAROL_SHA}", ONE_OF),
        ("tokens:\n  - user: a\n    token: short", f"tokens[0] (user a): {SHORT}"),
        ("tokens:\n  - user: a\n    token: 1234567890 1234567890", f"tokens[0] (user a): {SHORT}"),
        (
            "tokens:\n  - user: a\n    token_sha256: abc",
            "tokens[0] (user a): token_sha256 must be 64 hexadecimal digits",
        ),
        (
            f"{ENTRY_A}    groups: a,b",
            "tokens[0] (user a): groups must be a list of names without commas",
        ),
        (
            f"{ENTRY_A}  - user: b\n    token_sha256: {ALICE_SHA}",
            "tokens[1]: same token as tokens[0]",
        ),
        (
            f"tokens:\n  - user: two words\n    token: {ALICE_TOKEN}\n  - user: b\n    token: x",
            f"{BAD_USER}; tokens[1] (user b): {SHORT}",
        ),
    ],
)
def test_token_file_errors_name_the_entry_not_the_token(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_token_file(text, "t.yaml")
    assert caught.value.message == f"file t.yaml: {message}"
    assert ALICE_TOKEN not in caught.value.message


def test_invalid_yaml_reports_the_position_only() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_token_file(f"tokens:\n  - user: a\n    token: [{ALICE_TOKEN}\n", "t.yaml")
    assert caught.value.message.startswith("file t.yaml: not valid YAML at line ")
    assert ALICE_TOKEN not in caught.value.message
    assert caught.value.__cause__ is None


def test_an_empty_token_list_refuses_everyone() -> None:
    auth = TokenAuthenticator(parse_token_file("tokens: []"))
    with pytest.raises(Unauthenticated):
        auth.authenticate(f"Bearer {ALICE_TOKEN}")


def test_from_file_fails_on_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the token file"):
        TokenAuthenticator.from_file(tmp_path / "absent.yaml")


# --- proxy mode ---------------------------------------------------------------------------

PROXY = ProxyAuthenticator(("10.0.0.0/8", ipaddress.ip_network("fd00::/8"), "127.0.0.1"))
HEADERS = {
    "X-Forwarded-User": "alice",
    "X-Forwarded-Email": "alice@example.com",
    "X-Forwarded-Groups": "github-org:kubevirt, github-team:kubevirt/sig-ci,,github-org:kubevirt",
}


@pytest.mark.parametrize("peer", ["10.1.2.3", "127.0.0.1", "fd00::1", "::ffff:10.9.8.7"])
def test_trusted_proxy_headers_make_the_identity(peer: str) -> None:
    assert PROXY.authenticate(peer, HEADERS) == Identity(
        user="alice",
        groups=("github-org:kubevirt", "github-team:kubevirt/sig-ci"),
        authenticated=True,
        email="alice@example.com",
    )


@pytest.mark.parametrize(
    "peer",
    ["11.0.0.1", "127.0.0.2", "fe80::1", "::ffff:192.168.0.1", "::1", "testclient", "", None],
)
def test_identity_headers_from_untrusted_peers_are_ignored(peer: str | None) -> None:
    with pytest.raises(Unauthenticated) as caught:
        PROXY.authenticate(peer, HEADERS)
    assert caught.value.message == (
        "authentication required: sign in through the authentication proxy "
        "(identity headers are accepted only from it)"
    )


def test_trusted_proxy_without_user_headers_is_unauthenticated() -> None:
    with pytest.raises(Unauthenticated) as caught:
        PROXY.authenticate("10.0.0.1", {"X-Forwarded-Groups": "github-org:kubevirt"})
    assert caught.value.message == (
        "authentication required: the authentication proxy sent neither "
        "X-Forwarded-User nor X-Forwarded-Email"
    )


def test_email_alone_names_the_user() -> None:
    identity = PROXY.authenticate("10.0.0.1", {"x-forwarded-email": "bob@example.com"})
    assert identity == Identity(user="bob@example.com", authenticated=True, email="bob@example.com")


def test_a_repeated_user_header_is_refused() -> None:
    request = RequestInfo.of(
        "10.0.0.1", [(b"x-forwarded-user", b"mallory"), (b"X-Forwarded-User", b"alice")]
    )
    assert request.headers["x-forwarded-user"] == "mallory, alice"
    with pytest.raises(Unauthenticated, match="X-Forwarded-User: expected a single name"):
        PROXY.authenticate_request(request)


def test_proxy_authenticate_request_uses_peer_and_headers() -> None:
    request = RequestInfo.of("10.0.0.1", [(k.encode(), v.encode()) for k, v in HEADERS.items()])
    assert PROXY.authenticate_request(request).user == "alice"
    assert PROXY.is_trusted("10.255.255.255") is True
    assert PROXY.is_trusted("9.255.255.255") is False


@pytest.mark.parametrize(
    ("value", "groups"),
    [
        ("", ()),
        (" , ,", ()),
        ("a", ("a",)),
        ("a, b ,a,c", ("a", "b", "c")),
        (
            "github-team:kubevirt/ci,github-team-id:42",
            ("github-team:kubevirt/ci", "github-team-id:42"),
        ),
    ],
)
def test_group_parsing(value: str, groups: tuple[str, ...]) -> None:
    assert parse_groups(value) == groups


def test_groups_with_control_characters_are_refused() -> None:
    with pytest.raises(Unauthenticated, match="X-Forwarded-Groups: malformed group list"):
        parse_groups("ok,bad\x01group")


# --- no auth, factory, WebSocket payloads ------------------------------------------------


def test_no_auth_is_anonymous() -> None:
    auth = NoAuth()
    assert auth.authenticate_request(RequestInfo.of(None, [])) is ANONYMOUS
    assert auth.required is False
    assert ANONYMOUS.display == "anonymous"


def test_authenticator_for_each_mode(token_file: Path) -> None:
    assert isinstance(authenticator_for("none"), NoAuth)
    assert isinstance(authenticator_for("token", token_file=token_file), TokenAuthenticator)
    proxy = authenticator_for("proxy", trusted_proxies=("10.0.0.0/8",))
    assert isinstance(proxy, ProxyAuthenticator)
    assert proxy.trusted == (ipaddress.ip_network("10.0.0.0/8"),)
    with pytest.raises(ValueError, match="--auth token needs --token-file"):
        authenticator_for("token")
    with pytest.raises(ValueError, match="--auth proxy needs --trusted-proxies"):
        authenticator_for("proxy")
    with pytest.raises(ValueError, match="unknown mode 'ldap'"):
        authenticator_for("ldap")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"Authorization": "Bearer abc"}, "Bearer abc"),
        ({"authorization": "Bearer abc"}, "Bearer abc"),
        ({"AUTHORIZATION": "Bearer abc"}, "Bearer abc"),
        ({"headers": {"Authorization": "Bearer abc"}}, "Bearer abc"),
        ({"Authorization": 42}, None),
        ({"token": "abc"}, None),
        ({}, None),
        (None, None),
        ("Bearer abc", None),
        ([["Authorization", "Bearer abc"]], None),
    ],
)
def test_authorization_from_init_payload(payload: object, expected: str | None) -> None:
    assert authorization_from_init_payload(payload) == expected


def test_websocket_payload_authenticates_a_connection(token_file: Path) -> None:
    auth = TokenAuthenticator.from_file(token_file)
    upgrade = RequestInfo.of("127.0.0.1", [(b"origin", b"http://localhost")])
    with pytest.raises(Unauthenticated):
        auth.authenticate_request(upgrade)
    payload = {"Authorization": f"Bearer {CAROL_TOKEN}"}
    request = upgrade.with_authorization(authorization_from_init_payload(payload))
    assert auth.authenticate_request(request).user == "carol"
    assert upgrade.with_authorization(None) is upgrade


def test_a_repeated_user_header_in_starlette_headers_is_refused() -> None:
    from starlette.datastructures import Headers

    headers = Headers(raw=[(b"x-forwarded-user", b"mallory"), (b"x-forwarded-user", b"alice")])
    with pytest.raises(Unauthenticated, match="X-Forwarded-User: expected a single name"):
        PROXY.authenticate("10.0.0.1", headers)


def test_the_token_file_example_in_the_docs_parses() -> None:
    import re

    docs = Path(__file__).resolve().parents[2] / "docs" / "auth.md"
    block = re.search(r"```yaml\n(.*?)```", docs.read_text(), re.S)
    assert block is not None
    users = [e.identity.user for e in parse_token_file(block.group(1), "docs/auth.md")]
    assert users == ["alice", "release-bot"]
