"""The cost meter on literal documents (no server): what it counts and that it stays linear."""

from __future__ import annotations

import time
from typing import Any

from graphql import OperationDefinitionNode, get_introspection_query, parse

from prow_graphql.schema.cost import Cost, Limits, Meter, excesses
from prow_graphql.schema.schema import build_schema

SCHEMA = build_schema()._schema


def measure(text: str, variables: dict[str, Any] | None = None) -> Cost:
    document = parse(text)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return Meter(SCHEMA, document, variables, Limits()).operation(operation)


def test_each_fragment_is_measured_once() -> None:
    parts = ["fragment F0 on Query { config { generation } }"]
    parts += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 200)]
    started = time.perf_counter()
    cost = measure("{ ...F199 } " + " ".join(parts))
    assert time.perf_counter() - started < 0.5
    assert cost.spreads == 2**200 - 1 and cost.depth == 1


def test_cycles_and_unknown_fragments_cost_nothing_more() -> None:
    cyclic = (
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A config { generation } }"
    )
    assert measure(cyclic).spreads == 3
    assert measure("{ ...Nope }").spreads == 1


def test_lists_count_their_page_or_the_assumed_size() -> None:
    edges = "edges { node { name } }"
    assert measure(f"{{ prowJobs(first: 10) {{ {edges} }} }}").nodes == 1 + 10 * 3
    assert measure(f"{{ prowJobs {{ {edges} }} }}").nodes == 1 + 50 * 3  # the default, 50
    by_variable = f"query($n: Int) {{ prowJobs(first: $n) {{ {edges} }} }}"
    assert measure(by_variable, {"n": 7}).nodes == 1 + 7 * 3
    assert measure(by_variable, {}).nodes == 1 + 500 * 3  # unknown: the largest page
    assert measure("{ periodics { name } }").nodes == 20 * 2  # --assumed-list-size items


def test_introspection_and_aliases() -> None:
    assert not excesses(measure(get_introspection_query(descriptions=True)), Limits())
    aliased = "{ " + " ".join(f"a{i}: periodics {{ name }}" for i in range(31)) + " }"
    [over] = excesses(measure(aliased), Limits())
    assert over.limit == "maxAliases" and over.flag == "--max-aliases" and over.value == 31
    assert "--max-aliases" in over.message
