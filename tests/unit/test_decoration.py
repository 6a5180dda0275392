"""Decoration defaulting with Go's pointer semantics (§8.3)."""

from __future__ import annotations

from typing import Any

import pytest

from prow_graphql.prow.decoration import apply_decoration_default, canonical_decoration

DEFAULTS: dict[str, Any] = {
    "timeout": "1m",
    "grace_period": "10s",
    "utility_images": {
        "clonerefs": "clonerefs",
        "initupload": "initupload",
        "entrypoint": "entrypoint",
        "sidecar": "sidecar",
    },
    "gcs_configuration": {
        "bucket": "bucket",
        "path_prefix": "prefix",
        "path_strategy": "legacy",
        "default_org": "org",
        "default_repo": "repo",
    },
    "gcs_credentials_secret": "secretName",
    "s3_credentials_secret": "s3-secret",
    "ssh_key_secrets": ["first", "second"],
    "ssh_host_fingerprints": ["primero", "segundo"],
    "skip_cloning": True,
}


def _with(**changes: Any) -> dict[str, Any]:
    return {**DEFAULTS, **changes}


@pytest.mark.parametrize(
    ("provided", "expected"),
    [
        ({}, DEFAULTS),
        ({"timeout": "10m"}, _with(timeout="10m")),
        ({"grace_period": "10h"}, _with(grace_period="10h")),
        (
            {
                "utility_images": {
                    "clonerefs": "c-s",
                    "initupload": "i-s",
                    "entrypoint": "e-s",
                    "sidecar": "s-s",
                }
            },
            _with(
                utility_images={
                    "clonerefs": "c-s",
                    "initupload": "i-s",
                    "entrypoint": "e-s",
                    "sidecar": "s-s",
                }
            ),
        ),
        (
            {
                "gcs_configuration": {
                    "bucket": "bucket-1",
                    "path_prefix": "prefix-2",
                    "path_strategy": "explicit",
                    "default_org": "org2",
                    "default_repo": "repo2",
                    "compress_file_types": ["txt", "json"],
                }
            },
            _with(
                gcs_configuration={
                    "bucket": "bucket-1",
                    "path_prefix": "prefix-2",
                    "path_strategy": "explicit",
                    "default_org": "org2",
                    "default_repo": "repo2",
                    "compress_file_types": ["txt", "json"],
                }
            ),
        ),
        (
            {"gcs_credentials_secret": "somethingSecret"},
            _with(gcs_credentials_secret="somethingSecret"),
        ),
        ({"gcs_credentials_secret": ""}, _with(gcs_credentials_secret="")),
        ({"s3_credentials_secret": "overwritten"}, _with(s3_credentials_secret="overwritten")),
        ({"s3_credentials_secret": ""}, _with(s3_credentials_secret="")),
        (
            {"default_service_account_name": "gcs-upload-sa"},
            _with(default_service_account_name="gcs-upload-sa"),
        ),
        ({"ssh_key_secrets": ["my", "special"]}, _with(ssh_key_secrets=["my", "special"])),
        (
            {"utility_images": {"clonerefs": "c-s", "initupload": "i-s"}},
            _with(
                utility_images={
                    "clonerefs": "c-s",
                    "initupload": "i-s",
                    "entrypoint": "entrypoint",
                    "sidecar": "sidecar",
                }
            ),
        ),
        (
            {"gcs_configuration": {"bucket": "bucket-1"}},
            _with(gcs_configuration={**DEFAULTS["gcs_configuration"], "bucket": "bucket-1"}),
        ),
        ({"skip_cloning": False}, _with(skip_cloning=False)),
        (
            {"ssh_host_fingerprints": ["unique", "print"]},
            _with(ssh_host_fingerprints=["unique", "print"]),
        ),
        ({"upload_ignores_interrupts": True}, _with(upload_ignores_interrupts=True)),
        ({"upload_ignores_interrupts": False}, _with(upload_ignores_interrupts=False)),
    ],
)
def test_decoration_defaulting_does_not_overwrite(
    provided: dict[str, Any], expected: dict[str, Any]
) -> None:
    """Go's TestDecorationDefaultingDoesntOverwrite (pkg/apis/prowjobs/v1/types_test.go)."""
    assert apply_decoration_default(provided, DEFAULTS) == expected


def test_empty_slices_and_strings_are_unset_but_empty_pointers_are_set() -> None:
    merged = apply_decoration_default(
        {
            "ssh_key_secrets": [],
            "github_app_id": "",
            "censor_secrets": False,
            "utility_images": {"clonerefs": ""},
        },
        {
            "ssh_key_secrets": ["k"],
            "github_app_id": "123",
            "censor_secrets": True,
            "utility_images": {"clonerefs": "c"},
        },
    )
    assert merged == {
        "ssh_key_secrets": ["k"],
        "github_app_id": "123",
        "censor_secrets": False,
        "utility_images": {"clonerefs": "c"},
    }


def test_null_is_unset() -> None:
    assert apply_decoration_default({"timeout": None}, {"timeout": "2h"}) == {"timeout": "2h"}


def test_media_types_are_unioned_and_the_default_wins() -> None:
    merged = apply_decoration_default(
        {"gcs_configuration": {"mediaTypes": {"log": "text/plain", "md": "text/markdown"}}},
        {
            "gcs_configuration": {
                "bucket": "b",
                "mediaTypes": {"log": "text/x-log", "json": "application/json"},
            }
        },
    )
    assert merged == {
        "gcs_configuration": {
            "bucket": "b",
            "mediaTypes": {"log": "text/x-log", "md": "text/markdown", "json": "application/json"},
        }
    }


def test_nested_pointer_members_merge_per_field() -> None:
    merged = apply_decoration_default(
        {"resources": {"sidecar": {}}, "scheduling_options": {"tolerations": []}},
        {
            "resources": {
                "sidecar": {"requests": {"cpu": "1"}},
                "clonerefs": {"limits": {"cpu": "2"}},
            },
            "scheduling_options": {"tolerations": [{"key": "k"}], "affinity": {"a": 1}},
        },
    )
    assert merged == {
        "resources": {"sidecar": {}, "clonerefs": {"limits": {"cpu": "2"}}},
        "scheduling_options": {"tolerations": [], "affinity": {"a": 1}},
    }


def test_one_side_missing_returns_a_copy_of_the_other() -> None:
    assert apply_decoration_default(None, None) is None
    assert apply_decoration_default(None, {"timeout": "1h"}) == {"timeout": "1h"}
    assert apply_decoration_default({"timeout": "1h"}, None) == {"timeout": "1h"}


def test_keys_match_case_insensitively_last_spelling_in_byte_order_wins() -> None:
    assert canonical_decoration(
        {"Timeout": "1h", "timeout": "2h", "GCS_Configuration": {"Bucket": "b"}, "unknown": 1}
    ) == {"gcs_configuration": {"bucket": "b"}, "timeout": "2h", "unknown": 1}
