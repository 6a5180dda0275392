"""The parts of Prow's config.yaml the gateway uses, as frozen dataclasses.

`parse_prow_config` (pure) turns the YAML mapping into a `ProwConfig`, normalising Prow's two forms
of default entries (old `*`/org/repo maps and new `*_entries` lists) into one ordered list each.
It also holds the config-driven parts of job defaulting (decoration and prowjob defaults merging,
presets) so that `prow_graphql.prow.loader` stays about files and jobs. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from prow_graphql.errors import ConfigError
from prow_graphql.prow.decoration import apply_decoration_default, canonical_decoration
from prow_graphql.prow.goyaml import go_string

Json = Mapping[str, Any]

DEFAULT_NAMESPACE = "default"
DEFAULT_GITHUB_LINK_URL = "https://github.com"
DEFAULT_TENANT_ID = "GlobalDefaultID"

# DecorationConfig members that Prow merges field by field instead of replacing them whole.
DECORATION_NESTED_KEYS = frozenset(
    {"utility_images", "resources", "gcs_configuration", "censoring_options", "scheduling_options"}
)
_RERUN_ALLOW_LISTS = ("github_users", "github_team_ids", "github_team_slugs", "github_orgs")


class ConfigErrors(ConfigError):
    """Every error one load found (so people fix them in one go); `errors` holds each of them."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        count = len(errors)
        head = (
            f"{count} error{'' if count == 1 else 's'} in the Prow configuration; "
            "fix all of them, then reload:"
        )
        super().__init__("\n".join([head, *(f"  - {e}" for e in errors)]))
        self.errors = tuple(errors)


def is_mapping(value: Any) -> bool:
    """isinstance(value, Mapping), with a fast path for dict (ABC checks are slow in bulk)."""
    return type(value) is dict or isinstance(value, Mapping)


def is_unset(value: Any) -> bool:
    """Go's zero-value test as Prow's `ApplyDefault` uses it: null, "", empty list or map."""
    if value is None or value == "":
        return True
    return (type(value) in (list, tuple) or is_mapping(value)) and len(value) == 0


def merge_defaults(
    job: Json | None, default: Json | None, nested: Iterable[str] = ()
) -> dict[str, Any] | None:
    """Prow's `ApplyDefault`: the job's set fields win; `nested` members merge one level deeper."""
    if job is None and default is None:
        return None
    if default is None:
        return dict(job or {})
    merged = dict(default)
    if job is None:
        return merged
    nested_keys = frozenset(nested)
    for key, value in job.items():
        if is_unset(value):
            continue
        below = merged.get(key)
        if key in nested_keys and is_mapping(value) and is_mapping(below):
            merged[key] = merge_defaults(value, below)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """A `{repo, cluster, config}` default entry; repo/cluster "" or "*" match everything."""

    repo: str
    cluster: str
    config: Json

    def matches(self, org_repo: str, cluster: str) -> bool:
        """Prow's entry matching (config.go `matches`): exact repo, its org, or wildcard; same
        for cluster (not regex). For Gerrit, the job's repo loses a `-review` suffix of its
        first host label and an http(s):// prefix before the comparison."""
        if self.cluster not in ("", "*", cluster):
            return False
        if self.repo in ("", "*", org_repo):
            return True
        first, dot, rest = org_repo.partition(".")
        if dot and first.endswith("-review"):  # gerrit source.EnsureCodeURL
            org_repo = f"{first.removesuffix('-review')}.{rest}"
        org_repo = org_repo.removeprefix("https://").removeprefix("http://")
        return self.repo in (org_repo, org_repo.split("/", 1)[0])


@dataclass(frozen=True, slots=True)
class Preset:
    """A preset: applies to jobs carrying all of its labels (no labels = every job)."""

    labels: Mapping[str, str] = field(default_factory=dict)
    env: tuple[Json, ...] = ()
    volumes: tuple[Json, ...] = ()
    volume_mounts: tuple[Json, ...] = ()
    tolerations: tuple[Json, ...] = ()
    source_path: str = field(default="", compare=False)

    def applies_to(self, labels: Mapping[str, str]) -> bool:
        """Whether every label of this preset is on the job with the same value."""
        return all(labels.get(key) == value for key, value in self.labels.items())


def select_presets(presets: Iterable[Preset], labels: Mapping[str, str]) -> tuple[Preset, ...]:
    """The presets that apply to a job with these labels, in order."""
    return tuple(p for p in presets if p.applies_to(labels))


def apply_presets(
    presets: Iterable[Preset], labels: Mapping[str, str], spec: Json | None
) -> tuple[Json | None, list[str]]:
    """Apply the presets matching `labels` to a pod spec; returns (new spec, clash messages)."""
    return merge_presets(select_presets(presets, labels), spec)


def merge_presets(matching: Sequence[Preset], spec: Json | None) -> tuple[Json | None, list[str]]:
    """Merge already-selected presets into a pod spec as Prow does: (new spec, clash messages).

    Env and volumeMounts go to every regular container (Prow leaves init containers alone: job
    pod specs may not have any), volumes and tolerations to the pod. A name already present
    (from the job or an earlier preset), or an identical toleration, is a clash. The input is
    not changed; only the touched lists are copied.
    """
    if spec is None or not any(
        p.env or p.volumes or p.volume_mounts or p.tolerations for p in matching
    ):
        return spec, []
    new_spec = dict(spec)
    containers = [dict(c) for c in spec.get("containers") or () if is_mapping(c)]
    clashes: list[str] = []
    for key, attr, what in (
        ("env", "env", "env var"),
        ("volumeMounts", "volume_mounts", "volume mount"),
    ):
        if not any(getattr(p, attr) for p in matching):
            continue
        for container in containers:
            existing = list(container.get(key) or ())
            names = {_name(e) for e in existing}
            for preset in matching:
                for item in getattr(preset, attr):
                    name = _name(item)
                    if name in names:
                        clashes.append(
                            f"{_preset_origin(preset)} adds {what} {name!r}, which container "
                            f"{container.get('name') or '(unnamed)'!r} already has (from the job "
                            "or an earlier preset); remove it from the job or from the preset"
                        )
                        continue
                    names.add(name)
                    existing.append(item)
            container[key] = existing
    new_spec["containers"] = containers
    volumes = list(spec.get("volumes") or ())
    volume_names = {_name(v) for v in volumes}
    tolerations = list(spec.get("tolerations") or ())
    for preset in matching:
        for volume in preset.volumes:
            name = _name(volume)
            if name in volume_names:
                clashes.append(
                    f"{_preset_origin(preset)} adds volume {name!r}, which the pod spec already "
                    "has (from the job or an earlier preset); remove it from the job or the preset"
                )
                continue
            volume_names.add(name)
            volumes.append(volume)
        for toleration in preset.tolerations:
            if toleration in tolerations:
                clashes.append(
                    f"{_preset_origin(preset)} adds toleration {dict(toleration)!r}, which the pod "
                    "spec already has; remove it from the job or from the preset"
                )
                continue
            tolerations.append(toleration)
    if volumes:
        new_spec["volumes"] = volumes
    if tolerations:
        new_spec["tolerations"] = tolerations
    return new_spec, clashes


def _preset_origin(preset: Preset) -> str:
    labels = ", ".join(f"{k}: {v}" for k, v in preset.labels.items()) or "no labels"
    where = f" from {preset.source_path}" if preset.source_path else ""
    return f"preset ({labels}){where}"


def _name(item: Any) -> Any:
    return item.get("name") if is_mapping(item) else None


@dataclass(frozen=True, slots=True)
class PlankConfig:
    """plank.*: URL building and decoration defaults."""

    job_url_template: str = ""
    job_url_prefix_config: Mapping[str, str] = field(default_factory=dict)
    job_url_prefix_disable_append_storage_provider: bool = False
    default_decoration_config_entries: tuple[ConfigEntry, ...] = ()
    job_queue_capacities: Mapping[str, int] = field(default_factory=dict)

    def default_decoration_config(self, org_repo: str, cluster: str) -> dict[str, Any] | None:
        """All entries matching (org_repo, cluster) applied in order; a later entry's set
        fields win (Prow's mergeDefaultDecorationConfig, pointer semantics)."""
        merged: dict[str, Any] | None = None
        for entry in self.default_decoration_config_entries:
            if entry.matches(org_repo, cluster):
                merged = apply_decoration_default(canonical_decoration(entry.config), merged)
        return merged

    def decoration_config_for(
        self, org_repo: str, cluster: str, job_config: Json | None
    ) -> dict[str, Any]:
        """The decoration config of a decorated job: its own set fields over the defaults."""
        default = self.default_decoration_config(org_repo, cluster)
        return apply_decoration_default(canonical_decoration(job_config), default) or {}


@dataclass(frozen=True, slots=True)
class DeckConfig:
    """deck.*: rerun/abort authorization defaults and hidden repos."""

    rerun_auth_config_entries: tuple[ConfigEntry, ...] = ()
    hidden_repos: tuple[str, ...] = ()

    def rerun_auth_config_for(self, org_repo: str, cluster: str) -> Json | None:
        """Deck's config-level RerunAuthConfig for a job: the last matching entry (no merging)."""
        found: Json | None = None
        for entry in self.rerun_auth_config_entries:
            if entry.matches(org_repo, cluster):
                found = entry.config
        return found


@dataclass(frozen=True, slots=True)
class ProwConfig:
    """config.yaml, reduced to what the gateway needs; `raw` keeps the parsed document.

    `presets` holds config.yaml's presets; in a `JobIndex` it holds every preset of the load
    (config.yaml's first, then the job files', in load order).
    """

    prowjob_namespace: str = DEFAULT_NAMESPACE
    pod_namespace: str = DEFAULT_NAMESPACE
    github_link_url: str = DEFAULT_GITHUB_LINK_URL
    scheduler_enabled: bool = False
    decorate_all_jobs: bool = False
    plank: PlankConfig = field(default_factory=PlankConfig)
    deck: DeckConfig = field(default_factory=DeckConfig)
    prowjob_default_entries: tuple[ConfigEntry, ...] = ()
    presets: tuple[Preset, ...] = ()
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    def default_prowjob_defaults(self, org_repo: str, cluster: str) -> dict[str, Any] | None:
        """All `prowjob_default_entries` matching (org_repo, cluster) merged in order."""
        merged: dict[str, Any] | None = None
        for entry in self.prowjob_default_entries:
            if entry.matches(org_repo, cluster):
                merged = merge_defaults(entry.config, merged)
        return merged

    def prowjob_defaults_for(
        self, org_repo: str, cluster: str, job_defaults: Json | None
    ) -> dict[str, Any]:
        """A job's `prowjob_defaults` over the matching entries; tenant_id never ends up empty."""
        merged = merge_defaults(job_defaults, self.default_prowjob_defaults(org_repo, cluster))
        merged = merged or {}
        if is_unset(merged.get("tenant_id")):
            merged["tenant_id"] = DEFAULT_TENANT_ID
        return merged


class FieldReader:
    """Typed access to one YAML mapping as Prow's Go structs read it; a value that cannot be
    represented becomes a ConfigError (collected, not raised).

    Keys match case-insensitively (encoding/json; of several spellings the last in byte order
    wins, as the sorted JSON of sigs.k8s.io/yaml is decoded). In string fields, numbers and
    booleans become their Go text (`true` → "true", `1.0` → "1") and null list items ""; a
    mapping or list where Prow wants a string is an error, as it is for Prow.
    """

    def __init__(
        self,
        data: Json,
        path: str,
        errors: list[ConfigError],
        *,
        job: str | None = None,
        prefix: str = "",
    ) -> None:
        self.data = data
        self.path = path
        self.errors = errors
        self.job = job
        self.prefix = prefix
        folded: dict[str, str] = {}
        for key in data:
            if isinstance(key, str):
                low = key.lower()
                if low not in folded or key > folded[low]:
                    folded[low] = key
        self._keys = folded

    def get(self, key: str) -> Any:
        """The raw value under `key` (matched as encoding/json matches field names), or None."""
        actual = self._keys.get(key.lower())
        return None if actual is None else self.data[actual]

    def error(self, message: str) -> None:
        """Record an error about this mapping."""
        self.errors.append(ConfigError(message, path=self.path, job=self.job))

    def _wrong(self, key: str, expected: str, value: Any) -> None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        self.error(
            f"{self.prefix}{key}: expected {expected}, got {_kind(value)} {shown}; fix the value"
        )

    def child(self, key: str) -> FieldReader | None:
        """A reader over the mapping under `key`, or None when absent."""
        value = self.mapping(key)
        if value is None:
            return None
        return FieldReader(
            value, self.path, self.errors, job=self.job, prefix=f"{self.prefix}{key}."
        )

    def string(self, key: str, default: str = "") -> str:
        """A string field; null or absent gives `default`; scalars become Go's text."""
        value = self.get(key)
        if value is None:
            return default
        if type(value) is str:
            return value
        text = go_string(value)
        if text is None:
            self._wrong(key, "a string", value)
            return default
        return text

    def optional_string(self, key: str) -> str | None:
        """A string field that remembers whether it was set (Go's *string): "" is not None."""
        if self.get(key) is None:
            return None
        return self.string(key)

    def boolean(self, key: str, default: bool = False) -> bool:
        """A boolean field; null or absent gives `default`."""
        value = self.optional_boolean(key)
        return default if value is None else value

    def optional_boolean(self, key: str) -> bool | None:
        """A boolean field that remembers whether it was set (Go's *bool)."""
        value = self.get(key)
        if value is None or isinstance(value, bool):
            return value
        self._wrong(key, "true or false", value)
        return None

    def integer(self, key: str, default: int = 0) -> int:
        """An integer field; null or absent gives `default`.

        A float with no fraction is accepted: the YAML→JSON step writes 3.0 as 3, which Go
        decodes into an int.
        """
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
            return int(value)
        self._wrong(key, "an integer", value)
        return default

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of strings; null or absent gives (); items coerced as in `string`."""
        value = self.get(key)
        if value is None:
            return ()
        if isinstance(value, list):
            texts = [v if type(v) is str else go_string(v) for v in value]
            if None not in texts:
                return tuple(t for t in texts if t is not None)
        self._wrong(key, "a list of strings", value)
        return ()

    def mapping(self, key: str) -> Json | None:
        """A mapping field; null or absent gives None."""
        value = self.get(key)
        if value is None:
            return None
        if is_mapping(value):
            return cast(Json, value)
        self._wrong(key, "a mapping", value)
        return None

    def string_map(self, key: str) -> dict[str, str]:
        """A map of strings to strings (labels, annotations, URL prefixes); values coerced."""
        value = self.mapping(key)
        if value is None:
            return {}
        result: dict[str, str] = {}
        for k, v in value.items():
            text = v if type(v) is str else go_string(v)
            if isinstance(k, str) and text is not None:
                result[k] = text
            else:
                self._wrong(f"{key}.{k}", "a string", v if isinstance(k, str) else k)
        return result

    def mappings(self, key: str) -> tuple[Json, ...]:
        """A list of mappings; null or absent gives ()."""
        value = self.get(key)
        if value is None:
            return ()
        if isinstance(value, list) and all(is_mapping(v) for v in value):
            return tuple(value)
        self._wrong(key, "a list of mappings", value)
        return ()


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def parse_prow_config(data: Json, path: str) -> ProwConfig:
    """Parse config.yaml's mapping into a ProwConfig; raises ConfigErrors listing every problem."""
    errors: list[ConfigError] = []
    config = collect_prow_config(data, path, errors)
    if errors:
        raise ConfigErrors(errors)
    return config


def collect_prow_config(data: Json, path: str, errors: list[ConfigError]) -> ProwConfig:
    """Like `parse_prow_config`, but appends problems to `errors` and returns a best effort."""
    r = FieldReader(data, path, errors)
    link_url = DEFAULT_GITHUB_LINK_URL
    github = r.child("github")
    if github is not None:
        link_url = github.string("link_url").rstrip("/") or DEFAULT_GITHUB_LINK_URL
    scheduler = r.child("scheduler")
    return ProwConfig(
        prowjob_namespace=r.string("prowjob_namespace") or DEFAULT_NAMESPACE,
        pod_namespace=r.string("pod_namespace") or DEFAULT_NAMESPACE,
        github_link_url=link_url,
        scheduler_enabled=scheduler.boolean("enabled") if scheduler is not None else False,
        decorate_all_jobs=r.boolean("decorate_all_jobs"),
        plank=_parse_plank(r.child("plank")),
        deck=_parse_deck(r.child("deck")),
        prowjob_default_entries=_parse_entries(r, "prowjob_default_entries", "config"),
        presets=parse_presets(r, "presets"),
        raw=data,
    )


def _parse_plank(r: FieldReader | None) -> PlankConfig:
    if r is None:
        return PlankConfig()
    entries = _parse_entries(r, "default_decoration_config_entries", "config")
    by_key = _parse_config_map(r, "default_decoration_configs")
    # The singular `default_decoration_config` key was removed from Prow in 2020: Prow's decoder
    # ignores it, so it is ignored here too (never merged into the defaults).
    if entries and by_key:
        r.error(
            "plank.default_decoration_configs and plank.default_decoration_config_entries are "
            "mutually exclusive; use only the entries list"
        )
    elif by_key:
        entries = _map_to_entries(by_key)
    capacities: dict[str, int] = {}
    for name, value in (r.mapping("job_queue_capacities") or {}).items():
        if isinstance(value, int) and not isinstance(value, bool):
            capacities[str(name)] = value
        else:
            r.error(f"plank.job_queue_capacities.{name}: expected an integer, got {value!r}")
    return PlankConfig(
        job_url_template=r.string("job_url_template"),
        job_url_prefix_config=r.string_map("job_url_prefix_config"),
        job_url_prefix_disable_append_storage_provider=r.boolean(
            "jobURLPrefixDisableAppendStorageProvider"
        ),
        default_decoration_config_entries=entries,
        job_queue_capacities=capacities,
    )


def _parse_deck(r: FieldReader | None) -> DeckConfig:
    if r is None:
        return DeckConfig()
    entries = _parse_entries(r, "default_rerun_auth_configs", "rerun_auth_configs")
    by_key = _parse_config_map(r, "rerun_auth_configs")
    if entries and by_key:
        r.error(
            "deck.rerun_auth_configs and deck.default_rerun_auth_configs are mutually "
            "exclusive; use only default_rerun_auth_configs"
        )
    elif by_key:
        entries = _map_to_entries(by_key, empty_key_first=True)
    for entry in entries:
        message = rerun_auth_config_error(entry.config)
        if message:
            r.error(f"deck rerun auth config for repo {entry.repo or '*'!r}: {message}")
    return DeckConfig(rerun_auth_config_entries=entries, hidden_repos=r.strings("hidden_repos"))


def rerun_auth_config_error(config: Json) -> str | None:
    """Prow's RerunAuthConfig check: allow_anyone excludes every allow list."""
    if config.get("allow_anyone") is True and any(config.get(k) for k in _RERUN_ALLOW_LISTS):
        return (
            "allow_anyone: true cannot be combined with github_users, github_team_ids, "
            "github_team_slugs or github_orgs; remove allow_anyone or the allow lists"
        )
    return None


def _parse_entries(r: FieldReader, key: str, config_key: str) -> tuple[ConfigEntry, ...]:
    entries = []
    for i, item in enumerate(r.mappings(key)):
        er = FieldReader(item, r.path, r.errors, prefix=f"{r.prefix}{key}[{i}].")
        entries.append(
            ConfigEntry(
                repo=er.string("repo"),
                cluster=er.string("cluster"),
                config=er.mapping(config_key) or {},
            )
        )
    return tuple(entries)


def _parse_config_map(r: FieldReader, key: str) -> dict[str, Json]:
    result: dict[str, Json] = {}
    for name, value in (r.mapping(key) or {}).items():
        if is_mapping(value):
            result[str(name)] = value
        elif value is not None:
            r.error(f"{r.prefix}{key}.{name}: expected a mapping, got {_kind(value)}")
    return result


def _map_to_entries(
    by_key: Mapping[str, Json], *, empty_key_first: bool = False
) -> tuple[ConfigEntry, ...]:
    # Prow's order: "*" first, then orgs, then org/repos; sorted within a group (Prow iterates a
    # Go map there, but at most one org and one org/repo key can match a given job). Deck's
    # rerun-auth map puts "" before "*" (defaultRerunAuthMapToSlice).
    first = [k for k in ("", "*") if k in by_key] if empty_key_first else ["*"] * ("*" in by_key)
    orgs = sorted(k for k in by_key if k not in first and k != "*" and "/" not in k)
    repos = sorted(k for k in by_key if "/" in k)
    keys = first + orgs + repos
    return tuple(ConfigEntry(repo=k, cluster="", config=by_key[k]) for k in keys)


def parse_presets(r: FieldReader, key: str = "presets") -> tuple[Preset, ...]:
    """The `presets` list of a config or job file (each remembers the file it came from)."""
    presets = []
    for i, item in enumerate(r.mappings(key)):
        pr = FieldReader(item, r.path, r.errors, prefix=f"{key}[{i}].")
        parts = {k: pr.mappings(k) for k in ("env", "volumes", "volumeMounts")}
        for part, items in parts.items():
            for j, entry in enumerate(items):
                if not isinstance(entry.get("name"), str) or not entry.get("name"):
                    pr.error(f"{key}[{i}].{part}[{j}] has no name; give it a `name:`")
        presets.append(
            Preset(
                labels=pr.string_map("labels"),
                env=parts["env"],
                volumes=parts["volumes"],
                volume_mounts=parts["volumeMounts"],
                tolerations=pr.mappings("tolerations"),
                source_path=r.path,
            )
        )
    return tuple(presets)
