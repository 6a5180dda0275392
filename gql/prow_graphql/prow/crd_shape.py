"""Shape a ProwJob the way Prow writes it and a real API server stores it, driven by Prow's CRD.

Prow decodes job configs into Go structs and encodes ProwJobs with encoding/json; the CRD
(generated from those structs) is the contract the API server enforces. `shape_prowjob` walks a
built ProwJob against the CRD's `openAPIV3Schema` (`data/prowjob_schema.json`, see its SOURCE.md):
- scalars take the schema's type in Go's text (`true` → "true", `1` → "1", `1.5` → "1.5");
- int-or-string quantities take resource.Quantity's canonical string (`0.5` → "500m");
- `null` becomes the Go zero value in lists and required fields, and is dropped elsewhere (the API
  server prunes nulls);
- required keys that are missing get Go's zero value ("", 0, false, [], {} filled in turn);
- schema defaults are applied to absent keys (the API server defaults on create);
- keys the schema does not know are dropped (pruning), except under
  x-kubernetes-preserve-unknown-fields; JSON keys match case-insensitively, as in encoding/json.
A value that cannot take the schema's type (a list where a string belongs) is left for the API
server to reject with its own field path. `metadata` is left alone: the API server owns ObjectMeta.

Pure: the schema is read once from the package's data (no other I/O), inputs are never mutated.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from prow_graphql.prow.go_values import canonical_quantity, go_string

# Node kinds: the JSON type after Go's decoding, plus the two int-or-string flavours.
_OBJECT, _ARRAY, _STRING, _INTEGER, _NUMBER, _BOOLEAN = (
    "object",
    "array",
    "string",
    "integer",
    "number",
    "boolean",
)
_INT_OR_STRING, _QUANTITY, _ANY = "int-or-string", "quantity", "any"
_DROP: Any = object()  # sentinel: the key is left out


@dataclass(slots=True)
class SchemaNode:
    """One compiled schema node: what shaping needs, looked up in O(1) per key."""

    kind: str
    properties: dict[str, SchemaNode] = field(default_factory=dict)
    folded: dict[str, str] = field(default_factory=dict)  # lower-case key → declared key
    items: SchemaNode | None = None
    additional: SchemaNode | None = None
    required: tuple[str, ...] = ()
    defaults: tuple[tuple[str, Any], ...] = ()
    preserve_unknown: bool = False


def compile_schema(schema: Mapping[str, Any]) -> SchemaNode:
    """Compile an openAPIV3Schema node (structural: every node has a type or int-or-string)."""
    if schema.get("x-kubernetes-int-or-string"):
        return SchemaNode(_QUANTITY if "pattern" in schema else _INT_OR_STRING)
    kind = str(schema.get("type") or _ANY)
    node = SchemaNode(
        kind, preserve_unknown=bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    )
    props = schema.get("properties") or {}
    node.properties = {name: compile_schema(sub) for name, sub in props.items()}
    node.folded = {name.lower(): name for name in props}
    if isinstance(schema.get("items"), Mapping):
        node.items = compile_schema(schema["items"])
    if isinstance(schema.get("additionalProperties"), Mapping):
        node.additional = compile_schema(schema["additionalProperties"])
    node.required = tuple(r for r in schema.get("required") or () if r in node.properties)
    node.defaults = tuple((name, sub["default"]) for name, sub in props.items() if "default" in sub)
    return node


@functools.cache
def prowjob_schema() -> Mapping[str, Any]:
    """The CRD's openAPIV3Schema as the package carries it (read once)."""
    text = resources.files("prow_graphql.prow").joinpath("data/prowjob_schema.json").read_text()
    schema: Mapping[str, Any] = json.loads(text)
    return schema


@functools.cache
def _root() -> SchemaNode:
    return compile_schema(prowjob_schema())


def shape_prowjob(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A new ProwJob dict shaped by the CRD; `metadata` is copied as given."""
    root = _root()
    shaped = shape(obj, root, keep={"metadata"})
    if not isinstance(shaped, dict):  # a ProwJob is an object; anything else is left alone
        return dict(obj)
    return shaped


def shape(value: Any, node: SchemaNode, keep: frozenset[str] | set[str] = frozenset()) -> Any:
    """`value` shaped by `node`; returns _DROP for a null the API server would prune."""
    if value is None:
        return _DROP
    kind = node.kind
    if kind == _STRING:
        if isinstance(value, bool | int | float):
            return go_string(value)
        return value
    if kind == _OBJECT:
        return _shape_object(value, node, keep) if isinstance(value, Mapping) else value
    if kind == _ARRAY:
        if not isinstance(value, list | tuple) or node.items is None:
            return value
        items = node.items
        out = []
        for item in value:
            shaped = shape(item, items)
            out.append(zero_value(items) if shaped is _DROP else shaped)
        return out
    if kind == _QUANTITY:
        canonical = canonical_quantity(value)
        return value if canonical is None else canonical
    if kind in (_INTEGER, _INT_OR_STRING):
        if isinstance(value, float) and value.is_integer():
            return int(value)  # YAML 1.0: Go reads the JSON number 1 into an int
        return value
    return value


def _shape_object(
    value: Mapping[str, Any], node: SchemaNode, keep: frozenset[str] | set[str]
) -> Any:
    out: dict[str, Any] = {}
    properties = node.properties
    additional = node.additional
    for raw_key, sub_value in value.items():
        key = str(raw_key)
        if key in keep:
            out[key] = sub_value
            continue
        sub = properties.get(key)
        if sub is None and properties:
            declared = node.folded.get(key.lower())
            if declared is not None and declared not in value:
                key, sub = declared, properties[declared]
        if sub is None:
            if additional is not None:
                shaped = shape(sub_value, additional)
                out[key] = zero_value(additional) if shaped is _DROP else shaped
            elif node.preserve_unknown:
                out[key] = sub_value
            continue  # pruned, as the API server does
        shaped = shape(sub_value, sub)
        if shaped is not _DROP:
            out[key] = shaped
    for key, default in node.defaults:
        if key not in out:
            out[key] = _copy(default)
    for key in node.required:
        if key not in out:
            out[key] = zero_value(properties[key])
    return out


def zero_value(node: SchemaNode) -> Any:
    """Go's zero value for a field of this schema, as encoding/json writes it."""
    kind = node.kind
    if kind == _STRING:
        return ""
    if kind in (_INTEGER, _NUMBER, _INT_OR_STRING):
        return 0
    if kind == _QUANTITY:
        return "0"
    if kind == _BOOLEAN:
        return False
    if kind == _ARRAY:
        return []
    if kind == _OBJECT:
        return _shape_object({}, node, frozenset())
    return {}


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
