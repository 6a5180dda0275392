"""Prow's CRD schema applied as kube-apiserver applies it to a ProwJob: prune, default, validate.

The schema is the one the package carries (derived from Prow's CRD). Pruning and defaulting walk
it here (structural-schema semantics: unknown fields dropped unless
x-kubernetes-preserve-unknown-fields, nulls in object fields dropped, defaults for absent fields);
validation is jsonschema's (types, required, enum, pattern, minimum, anyOf/not, int-or-string as
its anyOf) plus two Kubernetes keywords (`x-kubernetes-list-type` duplicates, `date-time`). Errors
become the `causes` a real API server writes: same fields, reasons and message forms, checked
against a real kube-apiserver 1.26 by tests/integration/test_fake_vs_real.py.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from jsonschema import Draft4Validator, FormatChecker, ValidationError
from jsonschema.validators import extend

from prow_graphql.prow.crd_shape import prowjob_schema

Cause = dict[str, str]
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def prune_and_default(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `obj` as the API server stores it before validating (metadata untouched)."""
    schema = prowjob_schema()
    out = {k: copy.deepcopy(v) for k, v in obj.items() if k == "metadata"}
    for key, value in obj.items():
        sub = schema["properties"].get(key)
        if key != "metadata" and sub is not None and value is not None:
            out[key] = _prune(value, sub)
    return out


def _prune(value: Any, schema: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return copy.deepcopy(value)
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = props.get(key) if props else None
            if sub is None and isinstance(extra, Mapping):
                sub = extra
            if sub is not None and item is not None:
                out[key] = _prune(item, sub)
        for key, sub in (props or {}).items():
            if key not in out and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [_prune(item, schema["items"]) for item in value]
    return copy.deepcopy(value)


def _list_type(
    validator: Any, list_type: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """x-kubernetes-list-type: `set` and `map` (by x-kubernetes-list-map-keys) forbid duplicates."""
    if not isinstance(instance, list) or list_type not in ("set", "map"):
        return
    seen: set[str] = set()
    keys = schema.get("x-kubernetes-list-map-keys") or ()
    for index, item in enumerate(instance):
        if list_type == "map" and isinstance(item, dict):
            identity = json.dumps([item.get(k) for k in keys])
        else:
            identity = json.dumps(item, sort_keys=True)
        if identity in seen:
            error = ValidationError("Duplicate value", validator="x-kubernetes-list-type")
            error.path.append(index)
            error.instance = item
            yield error
        seen.add(identity)


_format_checker = FormatChecker(())


@_format_checker.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@functools.cache
def _validator() -> Any:
    kind = extend(Draft4Validator, {"x-kubernetes-list-type": _list_type})
    return kind(prowjob_schema(), format_checker=_format_checker)


def causes(obj: Mapping[str, Any]) -> list[Cause]:
    """The API server's `details.causes` for a pruned and defaulted ProwJob (empty: valid)."""
    found: list[Cause] = []
    for error in _validator().iter_errors({k: v for k, v in obj.items() if k != "metadata"}):
        for cause in _to_causes(error):
            if cause not in found:
                found.append(cause)
    return found


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return _JSON_TYPES.get(type(value), "object")


def _quote(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value) if value is not None else "null"


def _to_causes(error: ValidationError) -> list[Cause]:
    field = _path(error.absolute_path)
    kind, value = error.validator, error.instance
    if kind == "required":
        missing = [r for r in error.validator_value if r not in value]
        return [_cause("FieldValueRequired", _path([*error.absolute_path, m]), "Required value")
                for m in missing]  # fmt: skip
    if kind == "type":
        got = _type_name(value)
        return [_type_cause(field, got, str(error.validator_value))]
    if kind == "anyOf" and error.schema.get("x-kubernetes-int-or-string"):
        # The API server reports an int-or-string mismatch three times, in this order.
        got = _type_name(value)
        return [
            _type_cause(field, got, "integer,string"),
            _any_of(field),
            _type_cause(field, got, "integer"),
        ]
    if kind == "anyOf":
        out = [_any_of(field)]
        for sub in error.context or ():
            if sub.validator == "not":
                message = f'Invalid value: "": "{field}" must not validate the schema (not)'
                out.append(_cause("FieldValueInvalid", "<nil>", message))
        return out
    if kind == "enum":
        allowed = ", ".join(_quote(v) for v in error.validator_value)
        message = f"Unsupported value: {_quote(value)}: supported values: {allowed}"
        return [_cause("FieldValueNotSupported", field, message)]
    if kind == "pattern":
        pattern = error.validator_value
        message = f"Invalid value: {_quote(value)}: {field} in body should match '{pattern}'"
        return [_cause("FieldValueInvalid", field, message)]
    if kind == "minimum":
        message = (
            f"Invalid value: {json.dumps(value)}: {field} in body should be greater than or "
            f"equal to {error.validator_value}"
        )
        return [_cause("FieldValueInvalid", field, message)]
    if kind == "format":
        fmt, shown = error.validator_value, _quote(value)
        message = f"Invalid value: {shown}: {field} in body must be of type {fmt}: {shown}"
        return [_cause("FieldValueTypeInvalid", field, message)]
    if kind == "x-kubernetes-list-type":
        return [_cause("FieldValueDuplicate", field, f"Duplicate value: {_go_syntax(value)}")]
    return [_cause("FieldValueInvalid", field, f"Invalid value: {error.message}")]


def _go_syntax(value: Any) -> str:
    """Go's %#v of a decoded JSON value, as the API server prints a duplicate list item."""
    if isinstance(value, dict):
        items = ", ".join(f"{json.dumps(k)}:{_go_syntax(value[k])}" for k in sorted(value))
        return f"map[string]interface {{}}{{{items}}}"
    if isinstance(value, list):
        return f"[]interface {{}}{{{', '.join(_go_syntax(v) for v in value)}}}"
    if value is None:
        return "interface {}(nil)"
    return json.dumps(value)


def _type_cause(field: str, got: str, wanted: str) -> Cause:
    message = f'Invalid value: "{got}": {field} in body must be of type {wanted}: "{got}"'
    return _cause("FieldValueTypeInvalid", field, message)


def _any_of(field: str) -> Cause:
    message = f'Invalid value: "": "{field}" must validate at least one schema (anyOf)'
    return _cause("FieldValueInvalid", "<nil>", message)


def _cause(reason: str, field: str, message: str) -> Cause:
    return {"reason": reason, "message": message, "field": field}
