"""Prow config files → `JobIndex`, incrementally: the loader that ties the other modules together.

`ConfigLoader` keeps the parsed YAML of every file keyed by (mtime_ns, size, inode), so a reload
re-parses only the files that changed (`files`), then re-runs defaulting (`defaulting`) and
validation (`validation`) and returns a new immutable snapshot (`index`). Every problem of one
load is collected into a single `ConfigErrors`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from prow_graphql.prow.config import ConfigErrors, ProwConfig, collect_prow_config
from prow_graphql.prow.defaulting import BuiltFile, JobBuilder, build_file
from prow_graphql.prow.files import (
    DEFAULT_SUPPLEMENTAL_SUFFIX,
    ParsedFile,
    Scan,
    parse_file,
    scan_files,
)
from prow_graphql.prow.index import JobCounts, JobIndex
from prow_graphql.prow.jobs import Periodic, Postsubmit, Presubmit
from prow_graphql.prow.validation import check_periodics, check_preset_labels, check_repo_jobs
from prow_graphql.prow.yaml_reader import parse_yaml_file

__all__ = [
    "ConfigErrors",
    "ConfigLoader",
    "JobCounts",
    "JobIndex",
    "load_job_index",
    "parse_yaml_file",
]


class ConfigLoader:
    """Loads config.yaml plus the job config tree into `JobIndex` snapshots, incrementally.

    `parse_count` (files parsed since creation) and `last_parsed` (files parsed by the last
    load) make the caching observable. Safe to call from several threads (one load at a time).
    """

    def __init__(
        self,
        config_path: str | os.PathLike[str],
        job_config_path: str | os.PathLike[str] | None = None,
        supplemental_dirs: Sequence[str | os.PathLike[str]] = (),
        supplemental_suffix: str = DEFAULT_SUPPLEMENTAL_SUFFIX,
    ) -> None:
        self.config_path = os.fspath(config_path)
        self.job_config_path = os.fspath(job_config_path) if job_config_path else None
        self.supplemental_dirs = tuple(os.fspath(d) for d in supplemental_dirs)
        self.supplemental_suffix = supplemental_suffix
        self.parse_count = 0
        self.last_parsed: tuple[str, ...] = ()
        self._cache: dict[str, ParsedFile] = {}
        self._built: dict[str, BuiltFile] = {}
        self._built_context: tuple[Any, ...] | None = None
        self._signature: tuple[Any, ...] | None = None
        self._current: JobIndex | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> JobIndex | None:
        """The last snapshot loaded without errors."""
        return self._current

    def load(self) -> JobIndex:
        """Load everything (re-using cached parses of unchanged files); raises ConfigErrors."""
        with self._lock:
            return self._build(self._scan())

    def reload(self) -> JobIndex | None:
        """A new snapshot if any file changed since the last load attempt, else None.

        Raises ConfigErrors when the changed files do not load; `current` keeps the last good
        snapshot and the next reload starts from the files as they are now.
        """
        with self._lock:
            scan = self._scan()
            if self._signature is not None and scan.signature == self._signature:
                return None
            return self._build(scan)

    def _scan(self) -> Scan:
        return scan_files(
            self.config_path,
            self.job_config_path,
            self.supplemental_dirs,
            self.supplemental_suffix,
        )

    def _build(self, scan: Scan) -> JobIndex:
        errors = list(scan.errors)
        cache: dict[str, ParsedFile] = {}
        parsed: list[str] = []
        kinds = [(path, key, "jobs") for path, key in scan.files]
        kinds += [(path, key, "supplemental") for path, key in scan.supplemental]
        for path, key, kind in kinds:
            entry = self._cache.get(path)
            if entry is None or entry.key != key:
                entry = parse_file(path, key, kind="config" if path == self.config_path else kind)
                parsed.append(path)
            cache[path] = entry
            errors.extend(entry.errors)
        self._cache = cache
        self.parse_count += len(parsed)
        self.last_parsed = tuple(parsed)

        config_entry = cache.get(self.config_path)
        config = (
            collect_prow_config(config_entry.data, self.config_path, errors)
            if config_entry is not None
            else ProwConfig()
        )
        fragments = [(path, cache[path].fragment) for path, _ in scan.files]
        presets = config.presets + tuple(p for _, f in fragments for p in f.presets)
        check_preset_labels(presets, errors)

        # Jobs of an unchanged file are re-used when config.yaml and the presets are unchanged
        # too: defaulting depends on nothing else.
        context = (
            config_entry.key if config_entry is not None else None,
            tuple((p, p.source_path) for p in presets),
        )
        reuse = context == self._built_context
        builder = JobBuilder(config, presets, [])
        built: dict[str, BuiltFile] = {}
        presubmits: dict[str, list[Presubmit]] = {}
        postsubmits: dict[str, list[Postsubmit]] = {}
        periodics: list[Periodic] = []
        for path, fragment in fragments:
            jobs = self._built.get(path)
            if not reuse or jobs is None or jobs.key != cache[path].key:
                jobs = build_file(builder, path, cache[path].key, fragment)
            built[path] = jobs
            errors.extend(jobs.errors)
            for org_repo, file_presubmits in jobs.presubmits:
                presubmits.setdefault(org_repo, []).extend(file_presubmits)
            for org_repo, file_postsubmits in jobs.postsubmits:
                postsubmits.setdefault(org_repo, []).extend(file_postsubmits)
            periodics.extend(jobs.periodics)
        self._built = built
        self._built_context = context

        for org_repo, pres in presubmits.items():
            check_repo_jobs("presubmit", org_repo, pres, errors)
        for org_repo, posts in postsubmits.items():
            check_repo_jobs("postsubmit", org_repo, posts, errors)
        check_periodics(periodics, errors)
        # Remembered only now: should anything above crash, the next reload tries again.
        self._signature = scan.signature
        if errors:
            raise ConfigErrors(errors)

        previous = self._current.generation if self._current is not None else 0
        index = JobIndex(
            config=replace(config, presets=presets),
            generation=previous + 1,
            files=[path for path, _ in scan.files],
            presubmits=presubmits,
            postsubmits=postsubmits,
            periodics=periodics,
        )
        self._current = index
        return index


def load_job_index(
    config_path: str | os.PathLike[str],
    job_config_path: str | os.PathLike[str] | None = None,
    supplemental_dirs: Sequence[str | os.PathLike[str]] = (),
) -> JobIndex:
    """Load a snapshot once (no reloads); raises ConfigErrors."""
    return ConfigLoader(config_path, job_config_path, supplemental_dirs).load()
