"""Validation time of real documents: Strawberry's limiters (before issue 10) vs CostGuard.

`python -m bench.validation`. "before" is graphql-core's rules plus Strawberry's
QueryDepthLimiter and MaxAliasesLimiter, as the schema used them; "after" is the cost meter
(cost.py) and then graphql-core's rules. Medians of 20 runs (one for the slow bombs).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from graphql import DocumentNode, get_introspection_query, parse, specified_rules, validate
from graphql.language import OperationDefinitionNode
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from prow_graphql.client import documents
from prow_graphql.schema.cost import Limits, Meter, excesses
from prow_graphql.schema.schema import build_schema

SCHEMA = build_schema()._schema


def bomb(levels: int) -> str:
    """Fragments that each spread the previous one twice: 2^levels paths."""
    parts = ["fragment F0 on Query { config { generation } }"]
    parts += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return "{ ..." + f"F{levels}" + " } " + " ".join(parts)


def before(document: DocumentNode) -> object:
    rules = (*specified_rules, depth_validator(12, None, None), alias_validator(30))
    return validate(SCHEMA, document, rules)


def after(document: DocumentNode) -> object:
    limits = Limits()
    meter = Meter(SCHEMA, document, {}, limits)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if any(excesses(meter.operation(o), limits) for o in operations):
        return "refused"
    return validate(SCHEMA, document, specified_rules)


def median_ms(check: Callable[[DocumentNode], Any], document: DocumentNode, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        check(document)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    texts = {"introspection (GraphiQL)": get_introspection_query(descriptions=True)}
    for name in ("ALL_JOBS", "REPO_JOBS", "FOLLOW", "TRIGGER"):
        texts[f"client {name}"] = getattr(documents, name)
    texts["fragment bomb 2^16"] = bomb(16)
    texts["fragment bomb 2^30"] = bomb(30)
    for name, text in texts.items():
        document = parse(text)
        slow = "bomb" in name
        runs = 1 if slow else 20
        was = "(hours)" if "2^30" in name else f"{median_ms(before, document, runs):.2f} ms"
        now = median_ms(after, document, 20)
        print(f"{name:26s} {len(text):5d} chars   before {was:>11s}   after {now:6.2f} ms")


if __name__ == "__main__":
    main()
