"""The schema extension that applies cost limits, then runs (cached) standard validation.

It replaces Strawberry's QueryDepthLimiter, MaxAliasesLimiter and ValidationCache: cost is
measured first, in linear time (cost.py); only a document within every limit reaches
graphql-core's validation, whose result is then cached under a byte budget (bounded.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from prow_graphql.schema.bounded import ByteLRU
from prow_graphql.schema.cost import Cost, Limits, Meter, excesses

COST_CODE = "QUERY_TOO_COMPLEX"


class CostGuard(SchemaExtension):
    """Refuses operations over a cost limit with one typed error per limit exceeded."""

    def __init__(self, *, limits: Limits, validated: ByteLRU[str, list[GraphQLError]]) -> None:
        self.limits = limits
        self.validated = validated

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is None or ctx.query is None:
            yield
            return
        meter = Meter(ctx.schema._schema, document, ctx.variables, self.limits)
        operations = [
            d
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
            and (ctx.operation_name is None or (d.name and d.name.value == ctx.operation_name))
        ]
        cost = Cost()
        for operation in operations:
            cost = _worst(cost, meter.operation(operation))
        over = excesses(cost, self.limits)
        if over:
            # Setting the errors before Strawberry validates makes it skip validation entirely.
            ctx.pre_execution_errors = [
                GraphQLError(
                    e.message,
                    extensions={
                        "code": COST_CODE,
                        "limit": e.limit,
                        "flag": e.flag,
                        "value": e.value,
                        "maximum": e.maximum,
                    },
                )
                for e in over
            ]
            yield
            return
        errors = self.validated.get(ctx.query)
        if errors is None:
            errors = validate_document(ctx.schema._schema, document, tuple(ctx.validation_rules))
            self.validated.put(ctx.query, errors, len(ctx.query) + 1024 * len(errors))
        ctx.pre_execution_errors = errors
        yield


def _worst(a: Cost, b: Cost) -> Cost:
    return Cost(
        max(a.depth, b.depth),
        max(a.aliases, b.aliases),
        max(a.spreads, b.spreads),
        max(a.nodes, b.nodes),
    )


# A parsed document takes ~100 bytes of Python objects per character of dense GraphQL text.
PARSED_BYTES_PER_CHAR = 128


class DocumentCache(SchemaExtension):
    """Strawberry's ParserCache, bounded by the estimated size of the parsed documents."""

    def __init__(self, *, parsed: ByteLRU[str, DocumentNode]) -> None:
        self.parsed = parsed

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        query = ctx.query
        if query is not None:
            document = self.parsed.get(query)
            if document is None:
                try:
                    document = parse(query, **ctx.parse_options)
                except GraphQLError:
                    # Raised here it would escape Strawberry's handling (the SSE path dropped
                    # the response); Strawberry parses again and reports the error itself.
                    yield
                    return
                self.parsed.put(query, document, PARSED_BYTES_PER_CHAR * len(query))
            ctx.graphql_document = document
        yield


TOO_LARGE_CODE = "RESPONSE_TOO_LARGE"


def capped(encoded: str | bytes, data: object, limit: int) -> str | bytes:
    """`encoded`, or a small typed error in its place when it is longer than `limit` bytes.

    The estimate in cost.py stops most oversized answers before execution; this is the hard
    stop for the rest (long strings, lists larger than assumed), on every transport.
    """
    if len(encoded) <= limit:
        return encoded
    error = {
        "message": f"the response would be {len(encoded)} bytes, more than the maximum of "
        f"{limit}; select fewer fields or items, or ask the operator to raise "
        "--max-response-bytes",
        "extensions": {"code": TOO_LARGE_CODE, "limit": "maxResponseBytes",
                       "flag": "--max-response-bytes", "maximum": limit},
    }  # fmt: skip
    replacement: dict[str, object]
    if isinstance(data, dict) and isinstance(data.get("payload"), dict):
        # A WebSocket `next` message: keep the envelope, replace the result.
        replacement = {**data, "payload": {"data": None, "errors": [error]}}
    else:
        replacement = {"data": None, "errors": [error]}
    return json.dumps(replacement)
