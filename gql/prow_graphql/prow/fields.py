"""Typed, Prow-faithful access to one YAML mapping (see `FieldReader`). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from prow_graphql.errors import ConfigError
from prow_graphql.prow.goyaml import go_string

__all__ = ["FieldReader", "Json", "is_mapping", "kind_of"]

Json = Mapping[str, Any]


def is_mapping(value: Any) -> bool:
    """isinstance(value, Mapping), with a fast path for dict (ABC checks are slow in bulk)."""
    return type(value) is dict or isinstance(value, Mapping)


class FieldReader:
    """Typed access to one YAML mapping as Prow's Go structs read it; a value that cannot be
    represented becomes a ConfigError (collected, not raised).

    Keys match case-insensitively (encoding/json; of several spellings the last in byte order
    wins, as the sorted JSON of sigs.k8s.io/yaml is decoded). In string fields, numbers and
    booleans become their Go text (`true` → "true", `1.0` → "1") and null list items ""; a
    mapping or list where Prow wants a string is an error, as it is for Prow.
    """

    def __init__(
        self,
        data: Json,
        path: str,
        errors: list[ConfigError],
        *,
        job: str | None = None,
        prefix: str = "",
    ) -> None:
        self.data = data
        self.path = path
        self.errors = errors
        self.job = job
        self.prefix = prefix
        folded: dict[str, str] = {}
        for key in data:
            if isinstance(key, str):
                low = key.lower()
                if low not in folded or key > folded[low]:
                    folded[low] = key
        self._keys = folded

    def get(self, key: str) -> Any:
        """The raw value under `key` (matched as encoding/json matches field names), or None."""
        actual = self._keys.get(key.lower())
        return None if actual is None else self.data[actual]

    def error(self, message: str) -> None:
        """Record an error about this mapping."""
        self.errors.append(ConfigError(message, path=self.path, job=self.job))

    def _wrong(self, key: str, expected: str, value: Any) -> None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        self.error(
            f"{self.prefix}{key}: expected {expected}, got {kind_of(value)} {shown}; fix the value"
        )

    def child(self, key: str) -> FieldReader | None:
        """A reader over the mapping under `key`, or None when absent."""
        value = self.mapping(key)
        if value is None:
            return None
        return FieldReader(
            value, self.path, self.errors, job=self.job, prefix=f"{self.prefix}{key}."
        )

    def string(self, key: str, default: str = "") -> str:
        """A string field; null or absent gives `default`; scalars become Go's text."""
        value = self.get(key)
        if value is None:
            return default
        if type(value) is str:
            return value
        text = go_string(value)
        if text is None:
            self._wrong(key, "a string", value)
            return default
        return text

    def optional_string(self, key: str) -> str | None:
        """A string field that remembers whether it was set (Go's *string): "" is not None."""
        if self.get(key) is None:
            return None
        return self.string(key)

    def boolean(self, key: str, default: bool = False) -> bool:
        """A boolean field; null or absent gives `default`."""
        value = self.optional_boolean(key)
        return default if value is None else value

    def optional_boolean(self, key: str) -> bool | None:
        """A boolean field that remembers whether it was set (Go's *bool)."""
        value = self.get(key)
        if value is None or isinstance(value, bool):
            return value
        self._wrong(key, "true or false", value)
        return None

    def integer(self, key: str, default: int = 0) -> int:
        """An integer field; null or absent gives `default`.

        A float with no fraction is accepted: the YAML→JSON step writes 3.0 as 3, which Go
        decodes into an int.
        """
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
            return int(value)
        self._wrong(key, "an integer", value)
        return default

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of strings; null or absent gives (); items coerced as in `string`."""
        value = self.get(key)
        if value is None:
            return ()
        if isinstance(value, list):
            texts = [v if type(v) is str else go_string(v) for v in value]
            if None not in texts:
                return tuple(t for t in texts if t is not None)
        self._wrong(key, "a list of strings", value)
        return ()

    def mapping(self, key: str) -> Json | None:
        """A mapping field; null or absent gives None."""
        value = self.get(key)
        if value is None:
            return None
        if is_mapping(value):
            return cast(Json, value)
        self._wrong(key, "a mapping", value)
        return None

    def string_map(self, key: str) -> dict[str, str]:
        """A map of strings to strings (labels, annotations, URL prefixes); values coerced."""
        value = self.mapping(key)
        if value is None:
            return {}
        result: dict[str, str] = {}
        for k, v in value.items():
            text = v if type(v) is str else go_string(v)
            if isinstance(k, str) and text is not None:
                result[k] = text
            else:
                self._wrong(f"{key}.{k}", "a string", v if isinstance(k, str) else k)
        return result

    def mappings(self, key: str) -> tuple[Json, ...]:
        """A list of mappings; null or absent gives ()."""
        value = self.get(key)
        if value is None:
            return ()
        if isinstance(value, list) and all(is_mapping(v) for v in value):
            return tuple(value)
        self._wrong(key, "a list of mappings", value)
        return ()


def kind_of(value: Any) -> str:
    """How messages name a YAML value's type."""
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)
