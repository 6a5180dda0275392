"""Finding config files as Prow's walk does, and splitting each parsed file into job sections.

`scan` stats the tree (cheap; its result tells whether anything changed), `parse_file` reads one
file into a `ParsedFile` that the loader caches by (mtime_ns, size, inode).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pathspec

from prow_graphql.errors import ConfigError
from prow_graphql.prow.config import Preset, parse_presets
from prow_graphql.prow.fields import FieldReader, Json
from prow_graphql.prow.yaml_reader import parse_yaml_file

__all__ = ["FileKey", "Fragment", "ParsedFile", "Scan", "parse_file", "scan_files"]

_YAML_SUFFIXES = (".yaml", ".yml")
PROWIGNORE = ".prowignore"
DEFAULT_SUPPLEMENTAL_SUFFIX = "_prowconfig.yaml"
log = logging.getLogger(__name__)

FileKey = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Fragment:
    """One file's job sections, before defaulting: raw job mappings in file order."""

    presets: tuple[Preset, ...] = ()
    presubmits: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    postsubmits: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    periodics: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """The cached result of parsing one file at one (mtime_ns, size, inode)."""

    key: FileKey
    data: Json
    fragment: Fragment
    errors: tuple[ConfigError, ...]


@dataclass(frozen=True, slots=True)
class Scan:
    """config.yaml and job files (in load order), supplemental prow config files, the
    .prowignore files consulted, and problems found while looking."""

    files: tuple[tuple[str, FileKey], ...]
    errors: tuple[ConfigError, ...]
    supplemental: tuple[tuple[str, FileKey], ...] = ()
    ignore_files: tuple[tuple[str, FileKey], ...] = ()

    @property
    def signature(self) -> tuple[Any, ...]:
        errors = tuple(str(e) for e in self.errors)
        return (self.files, errors, self.supplemental, self.ignore_files)


def _file_key(st: os.stat_result) -> FileKey:
    # from a stat that follows symlinks: a ConfigMap swap changes the target's inode
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _prowignore(
    directory: str, watched: list[tuple[str, FileKey]]
) -> pathspec.GitIgnoreSpec | None:
    path = os.path.join(directory, PROWIGNORE)
    try:
        st = os.stat(path)
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    watched.append((path, _file_key(st)))  # an edit to it changes which files load
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ignored(path: str, ignores: tuple[tuple[str, pathspec.GitIgnoreSpec], ...]) -> bool:
    # Each .prowignore speaks for its own subtree; a deeper file's match overrides a shallower one.
    ignored = False
    for directory, spec in ignores:
        result = spec.check_file(os.path.relpath(path, directory))
        if result.include is not None:
            ignored = result.include
    return ignored


def _walk(
    root: str, skip: tuple[int, int] | None, errors: list[ConfigError]
) -> tuple[list[tuple[str, FileKey]], list[tuple[str, FileKey]]]:
    """Collect job files under `root` as Prow's ReadJobConfig walk does: (files, .prowignores).

    Go's filepath.Walk in lexical order; it does not follow symlinked directories (a symlinked
    root yields nothing), while a symlink to a file is read. Names starting with ".." (ConfigMap
    mount internals) are skipped; only *.yaml / *.yml count, minus what a `.prowignore`
    (gitignore syntax, in any directory, for its subtree) excludes. An unreadable directory is
    skipped, as Prow logs and skips it. `skip` is config.yaml's (device, inode).
    """
    found: list[tuple[str, FileKey]] = []
    watched: list[tuple[str, FileKey]] = []

    def visit(directory: str, ignores: tuple[tuple[str, pathspec.GitIgnoreSpec], ...]) -> None:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            log.warning("skipping job config directory %s: %s", directory, exc.strerror)
            return
        spec = _prowignore(directory, watched)
        if spec is not None:
            ignores = (*ignores, (directory, spec))
        for entry in entries:
            if entry.name.startswith(".."):
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            wanted = entry.name.endswith(_YAML_SUFFIXES) and not _ignored(entry.path, ignores)
            if is_dir:
                visit(entry.path, ignores)
                continue
            if not wanted:
                continue
            try:
                target = entry.stat()  # follows symlinks
            except FileNotFoundError:
                errors.append(ConfigError("broken symlink; fix or remove it", path=entry.path))
                continue
            except OSError as exc:
                errors.append(ConfigError(f"cannot read ({exc.strerror})", path=entry.path))
                continue
            if stat.S_ISDIR(target.st_mode):
                errors.append(
                    ConfigError(
                        "a symlink to a directory with a YAML name; Prow reads it as a file and "
                        "fails: rename or remove it",
                        path=entry.path,
                    )
                )
            elif stat.S_ISREG(target.st_mode) and (target.st_dev, target.st_ino) != skip:
                found.append((entry.path, _file_key(target)))

    if os.path.islink(root):
        log.warning(
            "job config path %s is a symlink to a directory; Prow's walk does not follow it, so "
            "no job files are loaded from it (name the directory itself)",
            root,
        )
    else:
        visit(root, ())
    return found, watched


def _supplemental(
    dirs: Sequence[str], suffix: str, errors: list[ConfigError]
) -> list[tuple[str, FileKey]]:
    """Files ending in `suffix` under each supplemental prow config dir (same walk rules)."""
    found: list[tuple[str, FileKey]] = []

    def visit(directory: str) -> None:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            errors.append(ConfigError(f"cannot list directory ({exc.strerror})", path=directory))
            return
        for entry in entries:
            if entry.name.startswith(".."):
                continue
            if entry.is_dir(follow_symlinks=False):
                visit(entry.path)
            elif entry.path.endswith(suffix):
                try:
                    found.append((entry.path, _file_key(entry.stat())))
                except OSError as exc:
                    errors.append(ConfigError(f"cannot read ({exc.strerror})", path=entry.path))

    for directory in dirs:
        if not os.path.isdir(directory):
            errors.append(
                ConfigError("not a directory; check --supplemental-prow-config-dir", path=directory)
            )
        elif not os.path.islink(directory):
            visit(directory)
    return found


def scan_files(
    config_path: str,
    job_config_path: str | None,
    supplemental_dirs: Sequence[str] = (),
    supplemental_suffix: str = DEFAULT_SUPPLEMENTAL_SUFFIX,
) -> Scan:
    """Stat every input file (cheap); the result's signature tells whether anything changed."""
    errors: list[ConfigError] = []
    files: list[tuple[str, FileKey]] = []
    watched: list[tuple[str, FileKey]] = []
    config_id: tuple[int, int] | None = None
    try:
        st = os.stat(config_path)
        if stat.S_ISDIR(st.st_mode):
            errors.append(
                ConfigError("is a directory; --config-path must name config.yaml", path=config_path)
            )
        else:
            files.append((config_path, _file_key(st)))
            config_id = (st.st_dev, st.st_ino)
    except OSError as exc:
        errors.append(ConfigError(f"cannot read the file ({exc.strerror})", path=config_path))
    if job_config_path:
        try:
            st = os.stat(job_config_path)
        except FileNotFoundError:
            errors.append(
                ConfigError(
                    "the job config path does not exist; check --job-config-path",
                    path=job_config_path,
                )
            )
        except OSError as exc:
            errors.append(ConfigError(f"cannot read ({exc.strerror})", path=job_config_path))
        else:
            if stat.S_ISDIR(st.st_mode):
                first_by_base: dict[str, str] = {}
                found, watched = _walk(job_config_path, config_id, errors)
                for path, key in found:
                    base = os.path.basename(path)
                    if base in first_by_base:
                        errors.append(
                            ConfigError(
                                f"duplicated file name {base!r} (also {first_by_base[base]}); "
                                "job file names must be unique across the whole job config tree "
                                "(Prow's updateconfig keys ConfigMaps by file name): rename one",
                                path=path,
                            )
                        )
                    else:
                        first_by_base[base] = path
                        files.append((path, key))
            elif (st.st_dev, st.st_ino) != config_id:
                files.append((job_config_path, _file_key(st)))
    supplemental = _supplemental(supplemental_dirs, supplemental_suffix, errors)
    return Scan(tuple(files), tuple(errors), tuple(supplemental), tuple(watched))


def parse_file(path: str, key: FileKey, *, kind: str) -> ParsedFile:
    """Parse one file: `kind` is "config" (config.yaml), "jobs" or "supplemental"."""
    errors: list[ConfigError] = []
    try:
        data = parse_yaml_file(path)
    except ConfigError as exc:
        return ParsedFile(key, {}, Fragment(), (exc,))
    if kind == "supplemental":
        return ParsedFile(key, data, Fragment(), tuple(supplemental_errors(data, path)))
    fragment = _fragment(data, path, errors, with_presets=kind == "jobs")
    return ParsedFile(key, data, fragment, tuple(errors))


# ProwConfig's JSON fields (pkg/config/config.go); a supplemental file may set only some.
_PROW_CONFIG_FIELDS = frozenset(
    [
        "tide",
        "plank",
        "pipeline",
        "sinker",
        "deck",
        "branch-protection",
        "gerrit",
        "github_reporter",
        "horologium",
        "slack_reporter_configs",
        "in_repo_config",
        "gangway",
        "moonraker",
        "scheduler",
        "jenkins_operators",
        "prowjob_namespace",
        "pod_namespace",
        "log_level",
        "push_gateway",
        "owners_dir_denylist",
        "pubsub_subscriptions",
        "pubsub_triggers",
        "github",
        "status_error_link",
        "default_job_timeout",
        "managed_webhooks",
        "prowjob_default_entries",
        "disabled_clusters",
    ]
)
_SUPPLEMENTAL_FIELDS = frozenset({"branch-protection", "slack_reporter_configs", "tide"})
_SUPPLEMENTAL_TIDE_FIELDS = frozenset({"merge_method", "queries"})


def supplemental_errors(data: Json, path: str) -> list[ConfigError]:
    """Prow's ProwConfig.mergeFrom rule: a supplemental file may set only branch-protection,
    slack_reporter_configs, tide.merge_method and tide.queries (unknown keys are ignored)."""

    def set_(value: Any) -> bool:
        return value not in (None, "", [], {}, False, 0)

    by_lower = {str(k).lower(): v for k, v in sorted(data.items(), key=lambda kv: str(kv[0]))}
    bad = sorted(
        k for k in _PROW_CONFIG_FIELDS - _SUPPLEMENTAL_FIELDS if set_(by_lower.get(k.lower()))
    )
    tide = by_lower.get("tide")
    if isinstance(tide, dict):
        bad += [
            f"tide.{k}"
            for k, v in tide.items()
            if str(k).lower() not in _SUPPLEMENTAL_TIDE_FIELDS and set_(v)
        ]
    if not bad:
        return []
    return [
        ConfigError(
            f"only 'branch-protection', 'slack_reporter_configs', 'tide.merge_method' and "
            f"'tide.queries' may be set in a supplemental prow config; found {', '.join(bad)}: "
            "move them to config.yaml",
            path=path,
        )
    ]


def _fragment(data: Json, path: str, errors: list[ConfigError], *, with_presets: bool) -> Fragment:
    r = FieldReader(data, path, errors)
    periodics = data.get("periodics")
    if periodics is not None and not isinstance(periodics, list):
        r.error("periodics: expected a list of jobs; fix the value")
        periodics = None
    return Fragment(
        presets=parse_presets(r) if with_presets else (),
        presubmits=_repo_sections(r, "presubmits"),
        postsubmits=_repo_sections(r, "postsubmits"),
        periodics=tuple(periodics or ()),
    )


def _repo_sections(r: FieldReader, key: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    section = r.mapping(key)
    if not section:
        return ()
    result = []
    for org_repo, jobs in section.items():
        if not isinstance(org_repo, str) or not org_repo:
            r.error(f"{key}: key {org_repo!r} is not an org/repo string; write it as org/repo")
            continue
        if jobs is None:
            continue
        if not isinstance(jobs, list):
            r.error(f"{key}.{org_repo}: expected a list of jobs, got {type(jobs).__name__}")
            continue
        result.append((org_repo, tuple(jobs)))
    return tuple(result)
