"""Decoration config defaulting as Prow's `DecorationConfig.ApplyDefault` does it. Pure.

Go decides per field whether it is "set": pointer fields (most of them) are set when present
and not null — even `""`, `false` or `{}` — so `gcs_credentials_secret: ""` wins over a
default secret (Prow's documented way to switch to workload identity); slice fields are set when
non-empty; plain string fields when non-empty. `gcs_configuration.mediaTypes` maps are unioned
with the default winning on a clash. Keys match case-insensitively, as encoding/json does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["apply_decoration_default", "canonical_decoration"]

Json = Mapping[str, Any]
_Set = Callable[[Any], bool]


def _pointer_set(value: Any) -> bool:
    return value is not None


def _non_empty(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


# DecorationConfig fields whose Go type is a slice or a plain string: "set" means non-empty.
_NON_EMPTY_FIELDS = frozenset(
    {
        "ssh_key_secrets",
        "ssh_host_fingerprints",
        "github_api_endpoints",
        "sparse_checkout_files",
        "github_app_id",
    }
)
_UTILITY_IMAGES = ("clonerefs", "initupload", "entrypoint", "sidecar")  # strings
_RESOURCES = ("clonerefs", "initupload", "place_entrypoint", "sidecar")  # pointers
_GCS_STRINGS = (
    "bucket",
    "path_prefix",
    "path_strategy",
    "default_org",
    "default_repo",
    "job_url_prefix",
    "local_output_dir",
)
_GCS_FIELDS = (*_GCS_STRINGS, "mediaTypes", "compress_file_types")
_CENSORING = (
    "censoring_concurrency",
    "censoring_buffer_size",
    "include_directories",
    "exclude_directories",
    "minimum_secret_length",
)
_SCHEDULING = ("affinity", "tolerations")
_DECORATION_FIELDS = (
    "timeout",
    "grace_period",
    "utility_images",
    "resources",
    "gcs_configuration",
    "gcs_credentials_secret",
    "s3_credentials_secret",
    "default_service_account_name",
    "ssh_key_secrets",
    "ssh_host_fingerprints",
    "blobless_fetch",
    "sparse_checkout_files",
    "skip_cloning",
    "cookiefile_secret",
    "oauth_token_secret",
    "github_api_endpoints",
    "github_app_id",
    "github_app_private_key_secret",
    "censor_secrets",
    "censoring_options",
    "upload_ignores_interrupts",
    "set_limit_equals_memory_request",
    "default_memory_request",
    "scheduling_options",
    "pod_pending_timeout",
    "pod_running_timeout",
    "pod_unscheduled_timeout",
    "run_as_user",
    "run_as_group",
    "fs_group",
)
_NESTED_FIELDS: dict[str, tuple[str, ...]] = {
    "utility_images": _UTILITY_IMAGES,
    "resources": _RESOURCES,
    "gcs_configuration": _GCS_FIELDS,
    "censoring_options": _CENSORING,
    "scheduling_options": _SCHEDULING,
}


def _canonical_keys(data: Json, fields: tuple[str, ...]) -> dict[str, Any]:
    """Rename keys to the field they decode into, case-insensitively; of several spellings of
    one field the last in byte order wins (encoding/json reads sigs.k8s.io/yaml's sorted JSON)."""
    known = frozenset(fields)
    if all(key in known for key in data):
        return dict(data)
    by_lower = {f.lower(): f for f in fields}
    out: dict[str, Any] = {}
    for key in sorted(data, key=str):
        out[by_lower.get(str(key).lower(), key)] = data[key]
    return out


def canonical_decoration(config: Json | None) -> dict[str, Any] | None:
    """A decoration config with keys spelled as Prow's JSON tags (nested members included)."""
    if config is None:
        return None
    out = _canonical_keys(config, _DECORATION_FIELDS)
    for name, fields in _NESTED_FIELDS.items():
        value = out.get(name)
        if isinstance(value, Mapping):
            out[name] = _canonical_keys(value, fields)
    return out


def _fill(merged: dict[str, Any], default: Json, fields: tuple[str, ...], is_set: _Set) -> None:
    for field in fields:
        if not is_set(merged.get(field)) and field in default:
            merged[field] = default[field]


def _apply_nested(
    value: Any, default: Any, fields: tuple[str, ...], is_set: _Set
) -> dict[str, Any] | None:
    if value is None:
        return dict(default) if isinstance(default, Mapping) else default
    if not isinstance(default, Mapping) or not isinstance(value, Mapping):
        return dict(value) if isinstance(value, Mapping) else value
    merged = dict(value)
    _fill(merged, default, fields, is_set)
    return merged


def _apply_gcs(value: Any, default: Any) -> Any:
    if value is None or not isinstance(default, Mapping) or not isinstance(value, Mapping):
        return _apply_nested(value, default, (), _pointer_set)
    merged = dict(value)
    _fill(merged, default, _GCS_STRINGS, _non_empty)
    _fill(merged, default, ("compress_file_types",), _pointer_set)
    default_types = default.get("mediaTypes")
    if isinstance(default_types, Mapping) and default_types:
        own = merged.get("mediaTypes")
        # Go's maps.Copy(merged, default): the default's entry wins on a clash.
        merged["mediaTypes"] = {**(own if isinstance(own, Mapping) else {}), **default_types}
    return merged


def apply_decoration_default(config: Json | None, default: Json | None) -> dict[str, Any] | None:
    """`config.ApplyDefault(default)`: `config`'s set fields win, unset ones come from `default`.

    Inputs must have canonical keys (`canonical_decoration`); neither input is changed.
    """
    if config is None and default is None:
        return None
    if config is None or default is None:
        return dict(config if config is not None else default or {})
    merged = dict(config)
    for name, fields in _NESTED_FIELDS.items():
        if name == "gcs_configuration":
            value = _apply_gcs(merged.get(name), default.get(name))
        else:
            is_set = _non_empty if name == "utility_images" else _pointer_set
            value = _apply_nested(merged.get(name), default.get(name), fields, is_set)
        if value is not None:
            merged[name] = value
    for field in _DECORATION_FIELDS:
        if field in _NESTED_FIELDS:
            continue
        is_set = _non_empty if field in _NON_EMPTY_FIELDS else _pointer_set
        if not is_set(merged.get(field)) and field in default:
            merged[field] = default[field]
    return merged
