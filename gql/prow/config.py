"""The parts of Prow's config.yaml the gateway uses, as frozen dataclasses.

`parse_prow_config` (pure) turns the YAML mapping into a `ProwConfig`, normalising Prow's two forms of
default entries (old `*`/org/repo maps and new `*_entries` lists) into one ordered list each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Json = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """A `{repo, cluster, config}` default entry; repo/cluster "" or "*" match everything."""

    repo: str
    cluster: str
    config: Json

    def matches(self, org_repo: str, cluster: str) -> bool:
        """Prow's entry matching: exact repo, its org, or wildcard; same for cluster (not regex)."""
        cluster_ok = self.cluster in ("", "*", cluster)
        org = org_repo.split("/", 1)[0]
        repo_ok = self.repo in ("", "*", org_repo, org)
        return cluster_ok and repo_ok


@dataclass(frozen=True, slots=True)
class Preset:
    """A preset: applies to jobs carrying all of its labels (no labels = every job)."""

    labels: Mapping[str, str] = field(default_factory=dict)
    env: tuple[Json, ...] = ()
    volumes: tuple[Json, ...] = ()
    volume_mounts: tuple[Json, ...] = ()
    tolerations: tuple[Json, ...] = ()


@dataclass(frozen=True, slots=True)
class PlankConfig:
    """plank.*: URL building and decoration defaults."""

    job_url_template: str = ""
    job_url_prefix_config: Mapping[str, str] = field(default_factory=dict)
    job_url_prefix_disable_append_storage_provider: bool = False
    default_decoration_config_entries: tuple[ConfigEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class DeckConfig:
    """deck.*: rerun/abort authorization defaults and hidden repos."""

    rerun_auth_config_entries: tuple[ConfigEntry, ...] = ()
    hidden_repos: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProwConfig:
    """config.yaml, reduced to what the gateway needs; `raw` keeps the parsed document."""

    prowjob_namespace: str = "default"
    pod_namespace: str = "default"
    github_link_url: str = "https://github.com"
    scheduler_enabled: bool = False
    decorate_all_jobs: bool = False
    plank: PlankConfig = field(default_factory=PlankConfig)
    deck: DeckConfig = field(default_factory=DeckConfig)
    prowjob_default_entries: tuple[ConfigEntry, ...] = ()
    presets: tuple[Preset, ...] = ()
    raw: Json = field(default_factory=dict, repr=False, compare=False)
