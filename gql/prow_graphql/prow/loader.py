"""Prow config files → `JobIndex`: discovery, YAML parsing, merging, defaulting, validation.

The only module of `prow` that touches the file system. `ConfigLoader` keeps the parsed YAML
of every file keyed by (mtime_ns, size, inode), so a reload re-parses only the files that changed,
then re-runs merging, defaulting and validation over everything and returns a new immutable
snapshot. Every problem of one load is collected into a single `ConfigErrors`.
"""

from __future__ import annotations

import difflib
import gzip
import os
import re
import stat
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import combinations
from typing import Any, TypeVar

import yaml

from prow_graphql.errors import AmbiguousJob, ConfigError, JobNotFound
from prow_graphql.prow.config import (
    DECORATION_NESTED_KEYS,
    DEFAULT_TENANT_ID,
    ConfigErrors,
    FieldReader,
    Json,
    Preset,
    ProwConfig,
    collect_prow_config,
    is_mapping,
    merge_defaults,
    merge_presets,
    parse_presets,
    rerun_auth_config_error,
    select_presets,
)
from prow_graphql.prow.jobs import (
    Brancher,
    Job,
    Periodic,
    Postsubmit,
    Presubmit,
    compile_go_regex,
    default_rerun_command_for,
    default_trigger_for,
)
from prow_graphql.prow.objects import ProwJobType

__all__ = [
    "ConfigErrors",
    "ConfigLoader",
    "JobCounts",
    "JobIndex",
    "load_job_index",
    "parse_yaml_file",
]

_JOB_NAME_RE = re.compile(r"^[A-Za-z0-9\-._]+$")
_JENKINS_JOB_NAME_RE = re.compile(r"^[A-Za-z0-9\-._]([A-Za-z0-9\-._/]*[A-Za-z0-9\-_])?$")
_GO_DURATION_RE = re.compile(r"^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$")
_YAML_SUFFIXES = (".yaml", ".yml")
_KUBERNETES_AGENT = "kubernetes"
_DEFAULT_CLUSTER = "default"


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _fast_construct_document(loader: Any, node: yaml.Node) -> Any:
    """Build plain dicts/lists/strings straight from the node tree.

    Replaces PyYAML's generic, generator-based construction for the tags config files are made
    of (str, map, seq; it cut parse time by about a fifth on the kubevirt config); other tags and
    merge keys go through PyYAML's own code, so the result is what SafeLoader would produce.
    """
    built: dict[yaml.Node, Any] = {}
    in_progress: set[yaml.Node] = set()
    constructors = loader.yaml_constructors

    def build(n: yaml.Node) -> Any:
        if type(n) is yaml.ScalarNode:
            if n.tag == _STR_TAG:
                return n.value
            return constructors[n.tag](loader, n) if n.tag in constructors else _slow(n)
        if n in built:
            return built[n]
        if n in in_progress:
            raise yaml.constructor.ConstructorError(
                None, None, "found a recursive alias, which Prow config cannot use", n.start_mark
            )
        in_progress.add(n)
        if type(n) is yaml.MappingNode and n.tag == _MAP_TAG:
            if any(k.tag == _MERGE_TAG for k, _ in n.value):
                loader.flatten_mapping(n)
            result: Any = {}
            for key_node, value_node in n.value:
                key, value = build(key_node), build(value_node)
                try:
                    result[key] = value
                except TypeError as exc:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        n.start_mark,
                        "found an unhashable key",
                        key_node.start_mark,
                    ) from exc
        elif type(n) is yaml.SequenceNode and n.tag == _SEQ_TAG:
            result = [build(item) for item in n.value]
        else:
            result = _slow(n)
        in_progress.discard(n)
        built[n] = result
        return result

    def _slow(n: yaml.Node) -> Any:
        return loader.construct_object(n, deep=True)

    return build(node)


def _make_yaml_loader() -> type[Any]:
    # libyaml when available. Timestamps stay strings: Prow's YAML→JSON step never makes dates,
    # and a branch or tag like 2024-01-01 must not turn into a datetime.date.
    base: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    resolvers = {
        first: [(tag, rx) for tag, rx in pairs if tag != "tag:yaml.org,2002:timestamp"]
        for first, pairs in base.yaml_implicit_resolvers.items()
    }
    by_first = {k: tuple(v) for k, v in resolvers.items()}
    wildcard = by_first.pop(None, ())

    def resolve(loader: Any, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        # Resolver.resolve without path resolvers (unused here): one dict lookup per scalar.
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in by_first.get(value[:1], ()) + wildcard:
                    if regexp.match(value):
                        return str(tag)
            return _STR_TAG
        return _SEQ_TAG if kind is yaml.SequenceNode else _MAP_TAG

    return type(
        "ProwYamlLoader",
        (base,),
        {
            "yaml_implicit_resolvers": resolvers,
            "resolve": resolve,
            "construct_document": _fast_construct_document,
        },
    )


_YamlLoader = _make_yaml_loader()


def parse_yaml_file(path: str) -> Json:
    """Read one YAML (or gzip-compressed YAML) file whose top level must be a mapping."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file ({exc.strerror}); check the path and its permissions", path=path
        ) from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ConfigError(f"broken gzip data ({exc}); re-create the file", path=path) from exc
    try:
        data = yaml.load(raw, Loader=_YamlLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise ConfigError(f"invalid YAML{where}: {what}; fix the syntax", path=path) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}; fix the syntax", path=path) from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"the top level is {type(data).__name__}, not a mapping; a Prow config file is a "
            "mapping with keys such as presubmits:, postsubmits:, periodics:, presets:",
            path=path,
        )
    return data


# ---------------------------------------------------------------------------------------------
# The snapshot


@dataclass(frozen=True, slots=True)
class JobCounts:
    """How many jobs a snapshot holds; `repos` counts org/repo keys with pre- or postsubmits."""

    presubmits: int
    postsubmits: int
    periodics: int
    repos: int


class JobIndex:
    """An immutable snapshot of every configured job, looked up by org/repo and by name."""

    __slots__ = (
        "_periodic_by_name",
        "_periodics",
        "_post_by_name",
        "_postsubmits",
        "_pre_by_name",
        "_presubmits",
        "_repos",
        "config",
        "counts",
        "files",
        "generation",
        "loaded_at",
    )

    def __init__(
        self,
        *,
        config: ProwConfig,
        generation: int,
        files: Sequence[str],
        presubmits: Mapping[str, Sequence[Presubmit]],
        postsubmits: Mapping[str, Sequence[Postsubmit]],
        periodics: Sequence[Periodic],
        loaded_at: datetime | None = None,
    ) -> None:
        self.config = config
        self.generation = generation
        self.loaded_at = loaded_at or datetime.now(UTC)
        self.files = tuple(files)
        self._presubmits = {k: tuple(v) for k, v in presubmits.items() if v}
        self._postsubmits = {k: tuple(v) for k, v in postsubmits.items() if v}
        self._periodics = tuple(periodics)
        self._repos = tuple(sorted(set(self._presubmits) | set(self._postsubmits)))
        self._pre_by_name = _by_name(self._presubmits)
        self._post_by_name = _by_name(self._postsubmits)
        self._periodic_by_name: dict[str, Periodic] = {}
        for periodic in self._periodics:
            self._periodic_by_name.setdefault(periodic.name, periodic)
        self.counts = JobCounts(
            presubmits=sum(len(v) for v in self._presubmits.values()),
            postsubmits=sum(len(v) for v in self._postsubmits.values()),
            periodics=len(self._periodics),
            repos=len(self._repos),
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, "counts"):  # set last in __init__: from then on the snapshot is frozen
            raise AttributeError(f"JobIndex is immutable; cannot set {name!r}")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"JobIndex(generation={self.generation}, counts={self.counts})"

    def repos(self) -> tuple[str, ...]:
        """Sorted "org/repo" keys that have presubmits or postsubmits."""
        return self._repos

    def presubmits(self, org_repo: str) -> tuple[Presubmit, ...]:
        """The presubmits of `org_repo` in config order (empty when none)."""
        return self._presubmits.get(org_repo, ())

    def postsubmits(self, org_repo: str) -> tuple[Postsubmit, ...]:
        """The postsubmits of `org_repo` in config order (empty when none)."""
        return self._postsubmits.get(org_repo, ())

    @property
    def periodics(self) -> tuple[Periodic, ...]:
        """Every periodic in config order."""
        return self._periodics

    def periodic(self, name: str) -> Periodic | None:
        """The periodic named `name`, or None."""
        return self._periodic_by_name.get(name)

    def find(self, type: ProwJobType, org_repo: str, name: str, base_ref: str) -> Job:
        """The one job to run as `type` for (org_repo, name, base_ref); raises JobNotFound or
        AmbiguousJob with a message that says what to change.

        PRESUBMIT (and BATCH) look in presubmits; POSTSUBMIT in postsubmits, falling back to a
        presubmit of that name when no postsubmit has it (run-as-postsubmit, as the old
        manual-trigger service allowed); PERIODIC by name only (org_repo, base_ref ignored).
        Branch filters use Prow's unanchored matching (`could_run`).
        """
        if type is ProwJobType.PERIODIC:
            periodic = self.periodic(name)
            if periodic is None:
                names = [p.name for p in self._periodics]
                raise JobNotFound(
                    f"Job {name} not found in config: no periodic is named {name!r}."
                    f"{_suggest(name, names)} Check the job name (periodics are looked up by "
                    "name only)."
                )
            return periodic
        candidates: tuple[Presubmit, ...] | tuple[Postsubmit, ...]
        if type is ProwJobType.POSTSUBMIT:
            candidates = self._post_by_name.get((org_repo, name), ())
            kind = "postsubmit"
            if not candidates:
                candidates = self._pre_by_name.get((org_repo, name), ())
                kind = "presubmit (run as a postsubmit)"
        else:
            candidates = self._pre_by_name.get((org_repo, name), ())
            kind = "presubmit"
        if not candidates:
            raise JobNotFound(self._not_configured(type, org_repo, name))
        matching = [job for job in candidates if job.could_run(base_ref)]
        if len(matching) == 1:
            return matching[0]
        if not matching:
            where = "; ".join(f"{j.brancher.describe()} (in {j.source_path})" for j in candidates)
            raise JobNotFound(
                f"Job {name} not found in config for {org_repo} on branch {base_ref!r}: the "
                f"{kind} {name!r} does not run against that branch. It is configured for: "
                f"{where}. Use a base_ref those branch filters accept."
            )
        described = [f"{j.source_path} ({j.brancher.describe()})" for j in matching]
        raise AmbiguousJob(
            f"Job {name} is ambiguous for {org_repo} on branch {base_ref!r}: {len(matching)} "
            f"{kind} definitions match: {'; '.join(described)}. Make their branch filters "
            "disjoint in the Prow config.",
            described,
        )

    def _not_configured(self, type: ProwJobType, org_repo: str, name: str) -> str:
        if type is ProwJobType.POSTSUBMIT:
            what = f"no postsubmit or presubmit of {org_repo} is named {name!r}."
            names = [j.name for j in self.postsubmits(org_repo) + self.presubmits(org_repo)]
        else:
            what = f"no presubmit of {org_repo} is named {name!r}."
            names = [j.name for j in self.presubmits(org_repo)]
            if self._post_by_name.get((org_repo, name)):
                what += " A postsubmit has that name: run it as a postsubmit."
        if self.periodic(name) is not None:
            what += " A periodic has that name: run it as a periodic."
        if org_repo not in self._presubmits and org_repo not in self._postsubmits:
            what += f" {org_repo} has no presubmits or postsubmits at all; check org and repo."
        else:
            what += _suggest(name, names)
        return f"Job {name} not found in config for {org_repo}: {what}"


def _by_name(
    jobs_by_repo: Mapping[str, tuple[Any, ...]],
) -> dict[tuple[str, str], tuple[Any, ...]]:
    grouped: dict[tuple[str, str], list[Any]] = {}
    for org_repo, jobs in jobs_by_repo.items():
        for job in jobs:
            grouped.setdefault((org_repo, job.name), []).append(job)
    return {k: tuple(v) for k, v in grouped.items()}


def _suggest(name: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(names)), n=3, cutoff=0.6)
    return f" Did you mean: {', '.join(close)}?" if close else ""


# ---------------------------------------------------------------------------------------------
# Files


FileKey = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class _Fragment:
    """One file's job sections, before defaulting: raw job mappings in file order."""

    presets: tuple[Preset, ...] = ()
    presubmits: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    postsubmits: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    periodics: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class _Parsed:
    """The cached result of parsing one file at one (mtime_ns, size, inode)."""

    key: FileKey
    data: Json
    fragment: _Fragment
    errors: tuple[ConfigError, ...]


@dataclass(frozen=True, slots=True)
class _Scan:
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


def _scan(config_path: str, job_config_path: str | None) -> _Scan:
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
    return _Scan(tuple(files), tuple(errors))


def _parse_file(path: str, key: FileKey, *, is_config: bool) -> _Parsed:
    errors: list[ConfigError] = []
    try:
        data = parse_yaml_file(path)
    except ConfigError as exc:
        return _Parsed(key, {}, _Fragment(), (exc,))
    fragment = _fragment(data, path, errors, with_presets=not is_config)
    return _Parsed(key, data, fragment, tuple(errors))


def _fragment(data: Json, path: str, errors: list[ConfigError], *, with_presets: bool) -> _Fragment:
    r = FieldReader(data, path, errors)
    periodics = data.get("periodics")
    if periodics is not None and not isinstance(periodics, list):
        r.error("periodics: expected a list of jobs; fix the value")
        periodics = None
    return _Fragment(
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


# ---------------------------------------------------------------------------------------------
# Defaulting (Prow's finalizeJobConfig) and per-job validation


class _JobBuilder:
    """Turns raw job mappings into defaulted Presubmit / Postsubmit / Periodic objects."""

    def __init__(
        self, config: ProwConfig, presets: tuple[Preset, ...], errors: list[ConfigError]
    ) -> None:
        self.config = config
        self.presets = presets
        self.errors = errors
        self._decoration_defaults: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._prowjob_defaults: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._matching_presets: dict[frozenset[tuple[str, str]], tuple[Preset, ...]] = {}

    def _presets_for(self, labels: Mapping[str, str]) -> tuple[Preset, ...]:
        # Jobs share a handful of label sets; select presets once per set.
        key = frozenset(labels.items())
        found = self._matching_presets.get(key)
        if found is None:
            found = self._matching_presets[key] = select_presets(self.presets, labels)
        return found

    def _reader(self, raw: Any, path: str, what: str) -> tuple[FieldReader, str] | None:
        if not is_mapping(raw):
            self.errors.append(
                ConfigError(
                    f"{what} is {type(raw).__name__}, not a mapping; each job is a mapping "
                    "with at least `name:`",
                    path=path,
                )
            )
            return None
        name = raw.get("name")
        if name is not None and not isinstance(name, str):
            self.errors.append(
                ConfigError(
                    f"{what} has name {name!r}, which YAML read as {type(name).__name__}, not "
                    "a string; quote the name",
                    path=path,
                )
            )
            return None
        if not name:
            self.errors.append(
                ConfigError(
                    f"{what} has no name; add `name:` (letters, digits, '-', '.', '_')", path=path
                )
            )
            return None
        return FieldReader(raw, path, self.errors, job=name), name

    def _decoration(self, repo: str, cluster: str, job: Json | None) -> dict[str, Any]:
        key = (repo, cluster)
        if key not in self._decoration_defaults:
            self._decoration_defaults[key] = self.config.plank.default_decoration_config(
                repo, cluster
            )
        return merge_defaults(job, self._decoration_defaults[key], DECORATION_NESTED_KEYS) or {}

    def _prowjob_default(self, repo: str, cluster: str, job: Json | None) -> dict[str, Any]:
        key = (repo, cluster)
        if key not in self._prowjob_defaults:
            self._prowjob_defaults[key] = self.config.default_prowjob_defaults(repo, cluster)
        merged = merge_defaults(job, self._prowjob_defaults[key]) or {}
        if not merged.get("tenant_id"):
            merged["tenant_id"] = DEFAULT_TENANT_ID
        return merged

    def _base(self, r: FieldReader, name: str, repo: str) -> dict[str, Any]:
        config = self.config
        agent = r.string("agent") or _KUBERNETES_AGENT
        pattern = _JENKINS_JOB_NAME_RE if agent == "jenkins" else _JOB_NAME_RE
        if not pattern.match(name):
            r.error(
                f"job name {name!r} is invalid: it must match {pattern.pattern} (letters, "
                "digits, '-', '.', '_'); rename the job"
            )
        cluster = r.string("cluster") or _DEFAULT_CLUSTER
        max_concurrency = r.integer("max_concurrency")
        if max_concurrency < 0:
            r.error(
                f"max_concurrency is {max_concurrency}; it must be 0 (no limit) or a positive "
                "number"
            )
        labels = r.string_map("labels")
        decorate_set = r.optional_boolean("decorate")
        decorate = config.decorate_all_jobs if decorate_set is None else decorate_set
        job_decoration = r.mapping("decoration_config")
        spec = r.mapping("spec")
        if spec is not None:
            containers = spec.get("containers")
            if not isinstance(containers, list) or not containers:
                r.error("spec.containers must list at least one container; add one")
            elif not all(is_mapping(c) for c in containers):
                r.error("spec.containers: every container must be a mapping; fix the list")
        elif agent == _KUBERNETES_AGENT:
            r.error("agent kubernetes needs a `spec:` (a pod spec with at least one container)")
        spec, clashes = merge_presets(self._presets_for(labels), spec)
        for clash in clashes:
            r.error(clash)
        rerun_auth_config = r.mapping("rerun_auth_config")
        if rerun_auth_config:
            message = rerun_auth_config_error(rerun_auth_config)
            if message:
                r.error(f"rerun_auth_config: {message}")
        queue = r.string("job_queue_name")
        if queue and queue not in config.plank.job_queue_capacities:
            r.error(
                f"job_queue_name {queue!r} is not in plank.job_queue_capacities; add it there "
                "or fix the name"
            )
        return {
            "name": name,
            "source_path": r.path,
            "labels": labels,
            "annotations": r.string_map("annotations"),
            "agent": agent,
            "cluster": cluster,
            # nil or empty both mean pod_namespace (whatever Prow's field comment says)
            "namespace": r.string("namespace") or config.pod_namespace,
            "max_concurrency": max_concurrency,
            "error_on_eviction": r.boolean("error_on_eviction"),
            "decorate": decorate,
            "decoration_config": (
                self._decoration(repo, cluster, job_decoration) if decorate else None
            ),
            "spec": spec,
            "pipeline_run_spec": r.mapping("pipeline_run_spec"),
            "tekton_pipeline_run_spec": r.mapping("tekton_pipeline_run_spec"),
            "reporter_config": r.mapping("reporter_config"),
            "rerun_auth_config": rerun_auth_config,
            "hidden": r.boolean("hidden"),
            "prowjob_defaults": self._prowjob_default(repo, cluster, r.mapping("prowjob_defaults")),
            "job_queue_name": queue,
            "path_alias": r.string("path_alias"),
            "clone_uri": r.string("clone_uri"),
            "skip_submodules": r.boolean("skip_submodules"),
            "clone_depth": r.integer("clone_depth"),
            "skip_fetch_head": r.boolean("skip_fetch_head"),
            "extra_refs": r.mappings("extra_refs"),
        }

    @staticmethod
    def _brancher(r: FieldReader) -> Brancher:
        brancher = Brancher(
            branches=r.strings("branches"), skip_branches=r.strings("skip_branches")
        )
        for message in brancher.errors():
            r.error(f"{message}; fix the pattern (Go RE2 syntax, matched unanchored)")
        return brancher

    @staticmethod
    def _change_filters(r: FieldReader, always_run: bool) -> tuple[str, str]:
        run_if_changed = r.string("run_if_changed")
        skip_if_only_changed = r.string("skip_if_only_changed")
        for key, pattern in (
            ("run_if_changed", run_if_changed),
            ("skip_if_only_changed", skip_if_only_changed),
        ):
            if pattern:
                try:
                    compile_go_regex(pattern)
                except re.error as exc:
                    r.error(f"{key}: invalid regular expression {pattern!r}: {exc}; fix it")
                if always_run:
                    r.error(
                        f"always_run: true and {key} are mutually exclusive; remove one of them"
                    )
        if run_if_changed and skip_if_only_changed:
            r.error("run_if_changed and skip_if_only_changed are mutually exclusive; keep only one")
        return run_if_changed, skip_if_only_changed

    def presubmit(self, raw: Any, org_repo: str, path: str, index: int) -> Presubmit | None:
        """A defaulted presubmit, or None when it has no usable name (error recorded)."""
        got = self._reader(raw, path, f"presubmit #{index + 1} of {org_repo}")
        if got is None:
            return None
        r, name = got
        base = self._base(r, name, org_repo)
        always_run = r.boolean("always_run")
        run_if_changed, skip_if_only_changed = self._change_filters(r, always_run)
        trigger, rerun_command = r.string("trigger"), r.string("rerun_command")
        if not trigger and not rerun_command:
            trigger, rerun_command = default_trigger_for(name), default_rerun_command_for(name)
        elif not trigger or not rerun_command:
            r.error(
                "trigger and rerun_command must both be set or both be left out; set the "
                "missing one (rerun_command must be a comment the trigger regex matches)"
            )
        else:
            try:
                if not compile_go_regex(trigger).search(rerun_command):
                    r.error(
                        f"rerun_command {rerun_command!r} does not match trigger {trigger!r}; "
                        "change one so the trigger matches the rerun command"
                    )
            except re.error as exc:
                r.error(f"trigger: invalid regular expression {trigger!r}: {exc}; fix it")
        return Presubmit(
            **base,
            org_repo=org_repo,
            brancher=self._brancher(r),
            always_run=always_run,
            optional=r.boolean("optional"),
            trigger=trigger,
            rerun_command=rerun_command,
            run_before_merge=r.boolean("run_before_merge"),
            run_if_changed=run_if_changed,
            skip_if_only_changed=skip_if_only_changed,
            context=r.string("context") or name,
            skip_report=r.boolean("skip_report"),
            jenkins_spec=r.mapping("jenkins_spec"),
        )

    def postsubmit(self, raw: Any, org_repo: str, path: str, index: int) -> Postsubmit | None:
        """A defaulted postsubmit, or None when it has no usable name (error recorded)."""
        got = self._reader(raw, path, f"postsubmit #{index + 1} of {org_repo}")
        if got is None:
            return None
        r, name = got
        base = self._base(r, name, org_repo)
        always_run = r.optional_boolean("always_run")
        run_if_changed, skip_if_only_changed = self._change_filters(r, always_run is True)
        return Postsubmit(
            **base,
            org_repo=org_repo,
            brancher=self._brancher(r),
            always_run=always_run,
            run_if_changed=run_if_changed,
            skip_if_only_changed=skip_if_only_changed,
            context=r.string("context") or name,
            skip_report=r.boolean("skip_report"),
            jenkins_spec=r.mapping("jenkins_spec"),
        )

    def periodic(self, raw: Any, path: str, index: int) -> Periodic | None:
        """A defaulted periodic, or None when it has no usable name (error recorded)."""
        got = self._reader(raw, path, f"periodic #{index + 1}")
        if got is None:
            return None
        r, name = got
        extra_refs = r.mappings("extra_refs")
        repo = ""
        if extra_refs:  # Prow matches default entries of periodics by their first extra ref
            repo = f"{extra_refs[0].get('org') or ''}/{extra_refs[0].get('repo') or ''}"
        base = self._base(r, name, repo)
        schedule = {k: r.string(k) for k in ("cron", "interval", "minimum_interval")}
        chosen = [k for k, v in schedule.items() if v]
        if len(chosen) != 1:
            found = " and ".join(chosen) if chosen else "none of them"
            r.error(
                f"a periodic needs exactly one of cron, interval, minimum_interval (found "
                f"{found}); keep exactly one"
            )
        for key in ("interval", "minimum_interval"):
            if schedule[key] and not _GO_DURATION_RE.match(schedule[key]):
                r.error(
                    f"{key}: {schedule[key]!r} is not a duration; write it like 30m, 2h or 1h30m"
                )
        return Periodic(
            **base,
            cron=schedule["cron"],
            interval=schedule["interval"],
            minimum_interval=schedule["minimum_interval"],
            tags=r.strings("tags"),
            retry=r.mapping("retry"),
        )


@dataclass(frozen=True, slots=True)
class _Built:
    """The defaulted jobs of one file (and their errors), for re-use by the next load."""

    key: FileKey
    presubmits: tuple[tuple[str, tuple[Presubmit, ...]], ...]
    postsubmits: tuple[tuple[str, tuple[Postsubmit, ...]], ...]
    periodics: tuple[Periodic, ...]
    errors: tuple[ConfigError, ...]


_J = TypeVar("_J")


def _build_per_repo(
    per_repo: Iterable[tuple[str, Sequence[Any]]],
    build: Callable[[Any, str, str, int], _J | None],
    path: str,
) -> tuple[tuple[str, tuple[_J, ...]], ...]:
    """Build each org/repo's raw jobs with `build`, dropping those that failed (errors recorded)."""
    return tuple(
        (
            org_repo,
            tuple(
                job
                for i, raw in enumerate(raws)
                if (job := build(raw, org_repo, path, i)) is not None
            ),
        )
        for org_repo, raws in per_repo
    )


def _build_file(builder: _JobBuilder, path: str, key: FileKey, fragment: _Fragment) -> _Built:
    errors: list[ConfigError] = []
    builder.errors = errors
    presubmits = _build_per_repo(fragment.presubmits, builder.presubmit, path)
    postsubmits = _build_per_repo(fragment.postsubmits, builder.postsubmit, path)
    periodics = tuple(
        periodic
        for i, raw in enumerate(fragment.periodics)
        if (periodic := builder.periodic(raw, path, i)) is not None
    )
    return _Built(key, presubmits, postsubmits, periodics, tuple(errors))


# ---------------------------------------------------------------------------------------------
# Cross-job validation


def _check_preset_labels(presets: Sequence[Preset], errors: list[ConfigError]) -> None:
    first: dict[str, Preset] = {}
    for preset in presets:
        for key, value in preset.labels.items():
            pair = f"{key}:{value}"
            if pair in first:
                errors.append(
                    ConfigError(
                        f"presets: the label {pair!r} selects more than one preset (also in "
                        f"{first[pair].source_path or 'the same file'}); each label:value pair "
                        "may belong to one preset only: merge the presets or rename the label",
                        path=preset.source_path or None,
                    )
                )
            else:
                first[pair] = preset


def _overlap(a: Brancher, b: Brancher) -> bool:
    try:
        return a.intersects(b)
    except re.error:  # an invalid pattern is already reported; don't report it twice
        return False


def _check_repo_jobs(
    kind: str,
    org_repo: str,
    jobs: Sequence[Presubmit] | Sequence[Postsubmit],
    errors: list[ConfigError],
) -> None:
    by_name: dict[str, list[Presubmit | Postsubmit]] = {}
    by_context: dict[str, list[Presubmit | Postsubmit]] = {}
    for job in jobs:
        by_name.setdefault(job.name, []).append(job)
        by_context.setdefault(job.context, []).append(job)
    for name, group in by_name.items():
        for a, b in combinations(group, 2):
            if _overlap(a.brancher, b.brancher):
                errors.append(
                    ConfigError(
                        f"{kind} {name!r} of {org_repo} is defined more than once for "
                        f"overlapping branches ({b.brancher.describe()} here; "
                        f"{a.brancher.describe()} in {a.source_path}); rename one of them or "
                        "make their `branches` disjoint",
                        path=b.source_path,
                        job=name,
                    )
                )
    for context, group in by_context.items():
        for a, b in combinations(group, 2):
            if a.name != b.name and _overlap(a.brancher, b.brancher):
                errors.append(
                    ConfigError(
                        f"{kind}s {a.name!r} ({a.source_path}) and {b.name!r} of {org_repo} "
                        f"report to the same GitHub context {context!r} on overlapping "
                        "branches; give one of them a different `context:`",
                        path=b.source_path,
                        job=b.name,
                    )
                )


def _check_periodics(periodics: Sequence[Periodic], errors: list[ConfigError]) -> None:
    first: dict[str, Periodic] = {}
    for periodic in periodics:
        if periodic.name in first:
            errors.append(
                ConfigError(
                    f"periodic {periodic.name!r} is defined more than once (also in "
                    f"{first[periodic.name].source_path}); periodic names must be unique: "
                    "rename one",
                    path=periodic.source_path,
                    job=periodic.name,
                )
            )
        else:
            first[periodic.name] = periodic


# ---------------------------------------------------------------------------------------------
# The loader


class ConfigLoader:
    """Loads config.yaml plus the job config tree into `JobIndex` snapshots, incrementally.

    `parse_count` (files parsed since creation) and `last_parsed` (files parsed by the last
    load) make the caching observable. Safe to call from several threads (one load at a time).
    """

    def __init__(
        self,
        config_path: str | os.PathLike[str],
        job_config_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.config_path = os.fspath(config_path)
        self.job_config_path = os.fspath(job_config_path) if job_config_path else None
        self.parse_count = 0
        self.last_parsed: tuple[str, ...] = ()
        self._cache: dict[str, _Parsed] = {}
        self._built: dict[str, _Built] = {}
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
            return self._build(_scan(self.config_path, self.job_config_path))

    def reload(self) -> JobIndex | None:
        """A new snapshot if any file changed since the last load attempt, else None.

        Raises ConfigErrors when the changed files do not load; `current` keeps the last good
        snapshot and the next reload starts from the files as they are now.
        """
        with self._lock:
            scan = _scan(self.config_path, self.job_config_path)
            if self._signature is not None and scan.signature == self._signature:
                return None
            return self._build(scan)

    def _build(self, scan: _Scan) -> JobIndex:
        errors = list(scan.errors)
        cache: dict[str, _Parsed] = {}
        parsed: list[str] = []
        for path, key in scan.files:
            entry = self._cache.get(path)
            if entry is None or entry.key != key:
                entry = _parse_file(path, key, is_config=path == self.config_path)
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
        _check_preset_labels(presets, errors)

        # Jobs of an unchanged file are re-used when config.yaml and the presets are unchanged
        # too: defaulting depends on nothing else.
        context = (
            config_entry.key if config_entry is not None else None,
            tuple((p, p.source_path) for p in presets),
        )
        reuse = context == self._built_context
        builder = _JobBuilder(config, presets, [])
        built: dict[str, _Built] = {}
        presubmits: dict[str, list[Presubmit]] = {}
        postsubmits: dict[str, list[Postsubmit]] = {}
        periodics: list[Periodic] = []
        for path, fragment in fragments:
            jobs = self._built.get(path)
            if not reuse or jobs is None or jobs.key != cache[path].key:
                jobs = _build_file(builder, path, cache[path].key, fragment)
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
            _check_repo_jobs("presubmit", org_repo, pres, errors)
        for org_repo, posts in postsubmits.items():
            _check_repo_jobs("postsubmit", org_repo, posts, errors)
        _check_periodics(periodics, errors)
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
    config_path: str | os.PathLike[str], job_config_path: str | os.PathLike[str] | None = None
) -> JobIndex:
    """Load a snapshot once (no reloads); raises ConfigErrors."""
    return ConfigLoader(config_path, job_config_path).load()
