"""The parts of Prow's config.yaml the gateway uses, as frozen dataclasses.

`parse_prow_config` (pure) turns the YAML mapping into a `ProwConfig`, normalising Prow's two forms
of default entries (old `*`/org/repo maps and new `*_entries` lists) into one ordered list each.
It also holds the config-driven parts of job defaulting (default entries, prowjob defaults); the
decoration merge lives in `decoration`, presets in `presets`, typed YAML access in `fields` (their
names stay importable from here). No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prow_graphql.errors import ConfigError
from prow_graphql.prow.decoration import apply_decoration_default, canonical_decoration
from prow_graphql.prow.fields import FieldReader as FieldReader  # re-exported
from prow_graphql.prow.fields import Json as Json  # re-exported
from prow_graphql.prow.fields import is_mapping as is_mapping  # re-exported
from prow_graphql.prow.fields import kind_of
from prow_graphql.prow.presets import Preset as Preset  # re-exported
from prow_graphql.prow.presets import apply_presets as apply_presets  # re-exported
from prow_graphql.prow.presets import merge_presets as merge_presets  # re-exported
from prow_graphql.prow.presets import parse_presets as parse_presets  # re-exported
from prow_graphql.prow.presets import select_presets as select_presets  # re-exported

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
            r.error(f"{r.prefix}{key}.{name}: expected a mapping, got {kind_of(value)}")
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
