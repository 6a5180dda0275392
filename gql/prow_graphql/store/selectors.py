"""Kubernetes label selectors: parse the string form once, match label maps. Pure, no I/O.

Supports the set-based grammar the API server accepts: `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
`k notin (a,b)`, `k`, `!k`, `k>n`, `k<n`, joined by commas (AND). Shared by the memory store and
the fake kube-apiserver used in tests, so both filter exactly alike.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_KEY_RE = re.compile(rf"(?:{_DNS_LABEL}(?:\.{_DNS_LABEL})*/)?{_NAME}")
_VALUE_RE = re.compile(rf"(?:{_NAME})?")
_INT_RE = re.compile(r"-?[0-9]+")

_KEY_TOKEN = r"[^\s!=<>(),]+"
_NOT_EXISTS = re.compile(rf"!\s*({_KEY_TOKEN})")
_SET = re.compile(rf"({_KEY_TOKEN})\s+(in|notin)\s*\((.*)\)", re.DOTALL)
_EQUALITY = re.compile(rf"({_KEY_TOKEN})\s*(==|!=|=)\s*(.*)", re.DOTALL)
_COMPARE = re.compile(rf"({_KEY_TOKEN})\s*([<>])\s*(.*)", re.DOTALL)
_EXISTS = re.compile(_KEY_TOKEN)


class SelectorError(ValueError):
    """The selector string is malformed (the API server answers 400 for these)."""


class Operator(enum.StrEnum):
    """How a requirement compares a label's value."""

    EQUALS = "="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GREATER_THAN = ">"
    LESS_THAN = "<"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One comma-separated term of a selector."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True if `labels` satisfy this term (negations also match when the key is absent)."""
        op = self.operator
        value = labels.get(self.key)
        if op is Operator.EXISTS:
            return value is not None
        if op is Operator.DOES_NOT_EXIST:
            return value is None
        if op is Operator.EQUALS or op is Operator.IN:
            return value is not None and value in self.values
        if op is Operator.NOT_EQUALS or op is Operator.NOT_IN:
            return value is None or value not in self.values
        if value is None or not _INT_RE.fullmatch(value):
            return False
        bound = int(self.values[0])
        return int(value) > bound if op is Operator.GREATER_THAN else int(value) < bound


@dataclass(frozen=True, slots=True)
class Selector:
    """A parsed selector: every requirement must match (an empty selector matches everything)."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True if `labels` satisfy every requirement."""
        return all(r.matches(labels) for r in self.requirements)


def parse_selector(text: str | None) -> Selector:
    """Parse a label selector string; raises SelectorError naming the bad term."""
    if text is None or not text.strip():
        return Selector()
    return Selector(tuple(_parse_term(term) for term in _split_terms(text)))


def matches(selector: str | None, labels: Mapping[str, str]) -> bool:
    """Convenience: parse `selector` and match `labels` (parse once yourself in loops)."""
    return parse_selector(selector).matches(labels)


def _split_terms(text: str) -> list[str]:
    terms: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
            if depth > 1:
                raise SelectorError(f"nested parentheses in label selector {text!r}")
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unbalanced ')' in label selector {text!r}")
        elif ch == "," and depth == 0:
            terms.append(text[start:i])
            start = i + 1
    if depth:
        raise SelectorError(f"unbalanced '(' in label selector {text!r}")
    terms.append(text[start:])
    stripped = [t.strip() for t in terms]
    if any(not t for t in stripped):
        raise SelectorError(f"empty term in label selector {text!r}")
    return stripped


def _parse_term(term: str) -> Requirement:
    if m := _NOT_EXISTS.fullmatch(term):
        return Requirement(_key(m[1], term), Operator.DOES_NOT_EXIST)
    if m := _SET.fullmatch(term):
        values = tuple(_value(v.strip(), term) for v in m[3].split(","))
        if values == ("",):
            raise SelectorError(f"empty value set in {term!r}")
        op = Operator.IN if m[2] == "in" else Operator.NOT_IN
        return Requirement(_key(m[1], term), op, tuple(dict.fromkeys(values)))
    if m := _EQUALITY.fullmatch(term):
        op = Operator.NOT_EQUALS if m[2] == "!=" else Operator.EQUALS
        return Requirement(_key(m[1], term), op, (_value(m[3].strip(), term),))
    if m := _COMPARE.fullmatch(term):
        bound = m[3].strip()
        if not _INT_RE.fullmatch(bound):
            raise SelectorError(f"{term!r}: {m[2]} needs an integer, got {bound!r}")
        op = Operator.GREATER_THAN if m[2] == ">" else Operator.LESS_THAN
        return Requirement(_key(m[1], term), op, (bound,))
    if _EXISTS.fullmatch(term):
        return Requirement(_key(term, term), Operator.EXISTS)
    raise SelectorError(f"cannot parse label selector term {term!r}")


def _key(key: str, term: str) -> str:
    prefix, _, _name = key.rpartition("/")
    if not _KEY_RE.fullmatch(key) or len(prefix) > 253:
        raise SelectorError(f"invalid label key {key!r} in {term!r}")
    return key


def _value(value: str, term: str) -> str:
    if not _VALUE_RE.fullmatch(value):
        raise SelectorError(f"invalid label value {value!r} in {term!r}")
    return value
