"""Content negotiation for GraphQL over HTTP (pure)."""

from __future__ import annotations

import pytest
from graphql import GraphQLError
from strawberry.types import ExecutionResult

from prow_graphql.schema.http_view import GRAPHQL_RESPONSE_JSON, JSON, is_request_error, negotiate


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),  # no header: legacy clients
        ("", JSON),
        ("*/*", JSON),
        ("text/html", JSON),  # nothing supported: the spec allows ignoring the header
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON},application/json;q=0.9", GRAPHQL_RESPONSE_JSON),  # Apollo
        (f"application/json,{GRAPHQL_RESPONSE_JSON}", JSON),  # a tie goes to the first listed
        (f"application/json;q=0.5,{GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0,application/json", JSON),  # q=0: not acceptable
        (f"{GRAPHQL_RESPONSE_JSON};q=oops,application/json", JSON),
    ],
)
def test_negotiate(accept: str | None, chosen: str) -> None:
    assert negotiate(accept) == chosen


def test_request_errors_are_those_before_execution() -> None:
    syntax = GraphQLError("Syntax Error")
    field = GraphQLError("boom", path=["prowJob"])
    assert is_request_error(ExecutionResult(data=None, errors=[syntax]))
    assert not is_request_error(ExecutionResult(data=None, errors=[field]))  # execution began
    assert not is_request_error(ExecutionResult(data={"a": 1}, errors=[syntax]))
    assert not is_request_error(ExecutionResult(data={"a": 1}, errors=None))
