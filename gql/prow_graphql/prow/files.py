"""Finding config files as Prow's walk does, and splitting each parsed file into job sections.

`scan` stats the tree (cheap; its result tells whether anything changed), `parse_file` reads one
file into a `ParsedFile` that the loader caches by (mtime_ns, size, inode).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any

from prow_graphql.errors import ConfigError
from prow_graphql.prow.config import FieldReader, Json, Preset, parse_presets
from prow_graphql.prow.yaml_reader import parse_yaml_file

__all__ = ["FileKey", "Fragment", "ParsedFile", "Scan", "parse_file", "scan_files"]

_YAML_SUFFIXES = (".yaml", ".yml")

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
    files: tuple[tuple[str, FileKey], ...]
    errors: tuple[ConfigError, ...]

    @property
    def signature(self) -> tuple[Any, ...]:
        return (self.files, tuple(str(e) for e in self.errors))


def _file_key(st: os.stat_result) -> FileKey:
    # from a stat that follows symlinks: a ConfigMap swap changes the target's inode
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _walk(
    root: str, root_stat: os.stat_result, skip: tuple[int, int] | None, errors: list[ConfigError]
) -> list[tuple[str, FileKey]]:
    """Collect *.yaml / *.yml under `root` in lexical order per directory, like Go's Walk.

    Entries whose name starts with ".." are ConfigMap mount internals (`..data`, the timestamped
    directory): skipped; the visible names are symlinks into them and are followed instead.
    `skip` is the (device, inode) of config.yaml, should the tree contain it.
    """
    found: list[tuple[str, FileKey]] = []
    seen_dirs: set[tuple[int, int]] = set()

    def visit(directory: str, st: os.stat_result) -> None:
        if (st.st_dev, st.st_ino) in seen_dirs:  # a symlink loop
            return
        seen_dirs.add((st.st_dev, st.st_ino))
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            errors.append(ConfigError(f"cannot list directory ({exc.strerror})", path=directory))
            return
        for entry in entries:
            if entry.name.startswith(".."):
                continue
            try:
                if entry.is_dir():
                    visit(entry.path, entry.stat())
                elif entry.name.endswith(_YAML_SUFFIXES):
                    target = entry.stat()  # follows symlinks
                    if stat.S_ISREG(target.st_mode) and (target.st_dev, target.st_ino) != skip:
                        found.append((entry.path, _file_key(target)))
            except FileNotFoundError:
                errors.append(ConfigError("broken symlink; fix or remove it", path=entry.path))
            except OSError as exc:
                errors.append(ConfigError(f"cannot read ({exc.strerror})", path=entry.path))

    visit(root, root_stat)
    return found


def scan_files(config_path: str, job_config_path: str | None) -> Scan:
    errors: list[ConfigError] = []
    files: list[tuple[str, FileKey]] = []
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
                for path, key in _walk(job_config_path, st, config_id, errors):
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
    return Scan(tuple(files), tuple(errors))


def parse_file(path: str, key: FileKey, *, is_config: bool) -> ParsedFile:
    errors: list[ConfigError] = []
    try:
        data = parse_yaml_file(path)
    except ConfigError as exc:
        return ParsedFile(key, {}, Fragment(), (exc,))
    fragment = _fragment(data, path, errors, with_presets=not is_config)
    return ParsedFile(key, data, fragment, tuple(errors))


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
