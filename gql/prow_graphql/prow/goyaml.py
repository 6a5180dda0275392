"""Scalars as Prow's YAML stack reads them: go-yaml v2 resolution and sigs.k8s.io/yaml's coercion.

Prow decodes config with sigs.k8s.io/yaml: go-yaml v2 (YAML 1.1) turns each plain scalar into
null, bool, int, float or string; the YAML→JSON step then turns map keys into strings and, where
the Go field is a string, turns numbers and booleans into text (floats as
`strconv.FormatFloat(f, 'g', -1, 32)`). Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "REFS_STRINGS",
    "STRING",
    "coerce_container_strings",
    "coerce_strings",
    "go_float32_text",
    "go_key_text",
    "go_plain_scalar",
    "go_string",
]

# go-yaml v2's resolve table (resolve.go): YAML 1.1 booleans including y/n, nulls, special floats.
_RESOLVE_MAP: dict[str, Any] = {
    **dict.fromkeys(
        ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True
    ),
    **dict.fromkeys(
        ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False
    ),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
# Go's strconv.ParseInt(s, 0, 64) syntax (underscores are removed before, as go-yaml does).
_GO_INT = re.compile(
    r"([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]*)|([1-9][0-9]*))"
)
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
_MAP_HINTS = frozenset("yYnNtTfFoO~")
_NUMBER_HINTS = frozenset("+-0123456789")
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1


class _Str:
    """Marker: the plain scalar stays a string."""


STRING = _Str()


def go_plain_scalar(text: str) -> Any:
    """What go-yaml v2 makes of an unquoted scalar: None, bool, int, float, or `STRING`.

    Timestamps stay strings (go-yaml v2 keeps them as text when decoding into interface{}, which
    is what sigs.k8s.io/yaml does); base-60 numbers (`1:30`) are strings, unlike in PyYAML.
    """
    hint = text[:1]
    if hint not in _NUMBER_HINTS:
        if hint == "" or hint in _MAP_HINTS or hint == ".":
            if text in _RESOLVE_MAP:
                return _RESOLVE_MAP[text]
            if hint == "." and _DOT_FLOAT.fullmatch(text):
                return float(text)
        return STRING
    if text in _RESOLVE_MAP:  # +.inf, -.inf
        return _RESOLVE_MAP[text]
    plain = text.replace("_", "")
    m = _GO_INT.fullmatch(plain)
    if m is not None:
        sign, hexa, octo, bina, legacy_octal, dec = m.groups()
        if hexa is not None:
            value = int(hexa, 16)
        elif octo is not None:
            value = int(octo, 8)
        elif bina is not None:
            value = int(bina, 2)
        elif dec is not None:
            value = int(dec)
        else:
            value = int(legacy_octal or "0", 8)
        if sign == "-":
            value = -value
        if _INT64_MIN <= value <= _INT64_MAX or (sign == "" and value <= _UINT64_MAX):
            return value
    if _YAML_STYLE_FLOAT.fullmatch(plain):
        number = float(plain)
        if not math.isinf(number):  # Go's ParseFloat reports overflow as an error
            return number
    return STRING


def _to_float32(value: float) -> float:
    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def go_float32_text(value: float) -> str:
    """`strconv.FormatFloat(value, 'g', -1, 32)`: the shortest text that reads back as the same
    float32, in %e form when the exponent is < -4 or >= 6 (exponent with at least two digits)."""
    f = _to_float32(value)
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    f = abs(f)
    if f == 0:
        return sign + "0"
    for precision in range(1, 10):
        text = f"{f:.{precision - 1}e}"
        if _to_float32(float(text)) == f:
            break
    mantissa, exp_text = text.split("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    exp = int(exp_text)
    if exp < -4 or exp >= 6:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    point = exp + 1  # digits before the decimal point
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def go_string(value: Any) -> str | None:
    """The text Prow puts in a Go string field for a YAML scalar; None when it has none
    (a mapping or a list: Prow refuses the file)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float32_text(value)
    return None


def go_key_text(key: Any) -> str | None:
    """A YAML map key as sigs.k8s.io/yaml writes it into JSON; None for keys it refuses (null)."""
    if isinstance(key, float):
        text = go_float32_text(key)
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text)
    if key is None:
        return None
    return go_string(key)


_CONTAINER_STRINGS = ("name", "image", "workingDir")
_CONTAINER_STRING_LISTS = ("command", "args")
# prowapi.Refs string fields (extra_refs)
REFS_STRINGS = ("org", "repo", "repo_link", "base_ref", "base_sha", "base_link", "path_alias",
                "clone_uri")  # fmt: skip


def coerce_strings(
    data: Mapping[str, Any],
    keys: tuple[str, ...],
    where: str,
    error: Callable[[str], None],
    *,
    lists: tuple[str, ...] = (),
) -> Mapping[str, Any]:
    """`data` with the scalars under `keys` (and the items of the lists under `lists`) turned
    into Go's text, as Prow's decoder reads string fields; unchanged `data` when nothing needs
    it. A mapping or list where a string belongs is reported to `error` (Prow refuses it)."""
    fixed: dict[str, Any] | None = None
    for key in keys:
        value = data.get(key)
        if value is not None and type(value) is not str:
            fixed = fixed if fixed is not None else dict(data)
            fixed[key] = _text(value, f"{where}.{key}", error)
    for key in lists:
        items = data.get(key)
        if isinstance(items, list) and any(type(v) is not str for v in items):
            fixed = fixed if fixed is not None else dict(data)
            fixed[key] = [v if type(v) is str else _text(v, f"{where}.{key}", error) for v in items]
    return data if fixed is None else fixed


def coerce_container_strings(
    spec: Mapping[str, Any], error: Callable[[str], None]
) -> Mapping[str, Any]:
    """A pod spec whose fields most often written as bare scalars (container name, image,
    command, args, env names and values; nodeSelector values) read as Prow's decoder reads them:
    `true` → "true", `1.0` → "1", null list items → "". Only touched parts are copied."""
    changes: dict[str, Any] = {}
    containers = spec.get("containers")
    if isinstance(containers, list):
        fixed_containers = [_container(c, i, error) for i, c in enumerate(containers)]
        if any(new is not old for new, old in zip(fixed_containers, containers, strict=True)):
            changes["containers"] = fixed_containers
    selector = spec.get("nodeSelector")
    if isinstance(selector, Mapping):
        fixed_selector = coerce_strings(selector, tuple(selector), "spec.nodeSelector", error)
        if fixed_selector is not selector:
            changes["nodeSelector"] = fixed_selector
    return {**spec, **changes} if changes else spec


def _container(container: Any, i: int, error: Callable[[str], None]) -> Any:
    if not isinstance(container, Mapping):
        return container
    where = f"spec.containers[{i}]"
    fixed = coerce_strings(
        container, _CONTAINER_STRINGS, where, error, lists=_CONTAINER_STRING_LISTS
    )
    env = fixed.get("env")
    if isinstance(env, list):
        new_env = [
            coerce_strings(e, ("name", "value"), f"{where}.env", error)
            if isinstance(e, Mapping)
            else e
            for e in env
        ]
        if any(new is not old for new, old in zip(new_env, env, strict=True)):
            fixed = {**fixed, "env": new_env}
    return fixed


def _text(value: Any, where: str, error: Callable[[str], None]) -> str:
    text = go_string(value)
    if text is None:
        error(f"{where}: expected a string, got {type(value).__name__} {value!r}; fix the value")
        return ""
    return text
