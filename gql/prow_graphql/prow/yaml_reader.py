"""Reading one Prow config file: bytes (maybe gzip) → YAML → a plain mapping.

Uses libyaml when available, with a faster construction of plain maps, lists and strings, and
go-yaml v2's scalar resolution (`goyaml`) so that every scalar reads as it does in Prow; map keys
become strings as sigs.k8s.io/yaml makes them. Nothing here knows about jobs.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from typing import Any

import yaml

from prow_graphql.errors import ConfigError
from prow_graphql.prow.fields import Json
from prow_graphql.prow.goyaml import STRING, go_key_text, go_plain_scalar

__all__ = ["parse_yaml_file"]

_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_GO_TAGS: dict[type, str] = {
    type(None): "tag:yaml.org,2002:null",
    bool: "tag:yaml.org,2002:bool",
    int: "tag:yaml.org,2002:int",
    float: "tag:yaml.org,2002:float",
}
_GO_TAG_SET = frozenset(_GO_TAGS.values())
# First characters of every plain scalar go-yaml v2 may read as something other than a string
# ("" is the empty scalar, null); "<" for the merge key.
_NON_STRING_STARTS = frozenset(["", "<", ".", "+", "-", "~", *"0123456789yYnNtTfFoO"])


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
            if n.tag in _GO_TAG_SET:
                scalar = go_plain_scalar(n.value)
                if scalar is not STRING:
                    return scalar
            return constructors[n.tag](loader, n) if n.tag in constructors else _slow(n)
        if n in built:
            return built[n]
        if n in in_progress:
            raise yaml.constructor.ConstructorError(
                None, None, "found a recursive alias, which Prow config cannot use", n.start_mark
            )
        in_progress.add(n)
        if type(n) is yaml.MappingNode and n.tag == _MAP_TAG:
            if loader.saw_merge_key and any(k.tag == _MERGE_TAG for k, _ in n.value):
                loader.flatten_mapping(n)
            result: Any = {}
            for key_node, value_node in n.value:
                key, value = build(key_node), build(value_node)
                if type(key) is not str:  # sigs.k8s.io/yaml writes every key as JSON text
                    text = go_key_text(key)
                    if text is None:
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping",
                            n.start_mark,
                            f"found a key Prow cannot use ({key!r}); write it as a string",
                            key_node.start_mark,
                        )
                    key = text
                result[key] = value
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
    # libyaml when available; plain scalars resolved as go-yaml v2 does (YAML 1.1 booleans with
    # y/n, Go integer syntax, no base-60 numbers, timestamps kept as text), not as PyYAML does.
    base: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def resolve(loader: Any, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            # Most scalars start with a letter no YAML 1.1 keyword starts with: one set lookup.
            if implicit[0] and value[:1] in _NON_STRING_STARTS:
                if value == "<<":
                    loader.saw_merge_key = True
                    return _MERGE_TAG
                scalar = go_plain_scalar(value)
                if scalar is not STRING:
                    return _GO_TAGS[type(scalar)]
            return _STR_TAG
        return _SEQ_TAG if kind is yaml.SequenceNode else _MAP_TAG

    def no_path_resolvers(loader: Any, *args: Any) -> None:
        """Path resolvers are unused: skip PyYAML's bookkeeping for every node."""

    return type(
        "ProwYamlLoader",
        (base,),
        {
            "resolve": resolve,
            "construct_document": _fast_construct_document,
            "descend_resolver": no_path_resolvers,
            "ascend_resolver": no_path_resolvers,
            "saw_merge_key": False,
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
