"""Strawberry's ParserCache, made safe for streaming transports.

Strawberry's ParserCache parses while *entering* its hook, so a syntax error escapes the code that
turns it into a result. Over HTTP a generic handler catches it; over WebSocket and SSE the
stream just dies (a bare `complete`, a cut SSE stream). Here a document that does not parse is
left for Strawberry to parse again inside its own error handling, which reports it as a
pre-execution error on every transport. Only broken documents are parsed twice.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import ParserCache


class SafeParserCache(ParserCache):
    """ParserCache whose parse failures become ordinary GraphQL errors."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query:
            try:
                context.graphql_document = self.cached_parse_document(
                    context.query, **context.parse_options
                )
            except GraphQLError:
                context.graphql_document = None  # Strawberry parses and reports it
        yield
