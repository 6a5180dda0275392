"""Builds the Strawberry schema with the extensions production needs."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any

import strawberry
from cross_web import HTTPException
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.types.graphql import OperationType

from prow_graphql.metrics import Metrics
from prow_graphql.schema.admission import limited
from prow_graphql.schema.bounded import ByteLRU
from prow_graphql.schema.cost import Limits
from prow_graphql.schema.guard import CostGuard, DocumentCache
from prow_graphql.schema.mutation import Mutation
from prow_graphql.schema.observability import MaskUnexpectedErrors, OperationMetrics, log_errors
from prow_graphql.schema.offload import reads_config_only
from prow_graphql.schema.query import Query
from prow_graphql.schema.result_cache import ConfigResultCache, ResultStore
from prow_graphql.schema.sharing import SharedStreams, is_subscription, share_key
from prow_graphql.schema.subscription import Subscription
from prow_graphql.schema.visibility import class_context, classed


class GatewaySchema(strawberry.Schema):
    """A schema whose identical subscriptions are executed once and shared (see sharing.py)."""

    def __init__(self, *args: Any, shared: SharedStreams | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared = shared

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> Any:
        if not query:
            # Strawberry checks this for plain HTTP only; an SSE request without a query failed
            # mid-stream (a dropped response and an ERROR) instead of a 400.
            raise HTTPException(400, "No GraphQL query found in the request")
        args = (
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            allowed_operation_types,
        )
        found = share_key(query, variable_values, operation_name) if self.shared else None
        if self.shared is None or found is None:
            source = await super().stream(*args)
        else:
            key, replay = found
            # Shared per visibility class, run with a context that knows only the class.
            shared_args = (*args[:2], class_context(context_value), *args[3:])
            source = self.shared.join(
                classed(key, context_value), replay, lambda: self.stream_unshared(*shared_args)
            )
        if not is_subscription(query, operation_name):
            return source
        source = limited(source, context_value)  # --max-subscriptions-per-identity
        metrics = getattr(context_value, "metrics", None)
        return _counted(source, metrics) if metrics is not None else source

    async def execute(self, query: str | None, *args: Any, **kwargs: Any) -> Any:
        """Strawberry's execute; config-only queries in a worker thread (see offload.py)."""
        if query and reads_config_only(query, kwargs.get("operation_name")):
            coroutine = super().execute(query, *args, **kwargs)
            return await asyncio.to_thread(asyncio.run, coroutine)
        return await super().execute(query, *args, **kwargs)

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Client mistakes below ERROR (see observability.log_errors)."""
        context = getattr(execution_context, "context", None)
        log_errors(errors, getattr(context, "request_id", "") or "-")

    async def stream_unshared(self, *args: Any, **kwargs: Any) -> Any:
        """Strawberry's own execution, for the one stream a shared subscription runs."""
        return await strawberry.Schema.stream(self, *args, **kwargs)


async def _counted(
    source: AsyncGenerator[Any, None], metrics: Metrics
) -> AsyncGenerator[Any, None]:
    """`source`, counted as an open subscription until it ends or is closed."""
    with metrics.subscription():
        async with contextlib.aclosing(source):
            async for result in source:
                yield result


def build_schema(
    *,
    mask_errors: bool = True,
    introspection: bool = True,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 2000,
    result_store: ResultStore | None = None,
    shared: SharedStreams | None = None,
    limits: Limits | None = None,
    cache_bytes: int = 64 * 1024 * 1024,
) -> GatewaySchema:
    """The gateway's schema; limits reject abusive documents before execution."""
    limits = limits or Limits()
    limits = dataclasses.replace(limits, max_depth=max_depth, max_aliases=max_aliases)
    extensions: list[Callable[[], SchemaExtension]] = [
        functools.partial(MaxTokensLimiter, max_token_count=max_tokens),
        functools.partial(DocumentCache, parsed=ByteLRU(cache_bytes)),
        functools.partial(CostGuard, limits=limits, validated=ByteLRU(cache_bytes // 4)),
    ]
    if not introspection:
        extensions.append(functools.partial(AddValidationRules, [NoSchemaIntrospectionCustomRule]))
    extensions.append(OperationMetrics)
    if mask_errors:
        extensions.append(MaskUnexpectedErrors)
    if result_store is not None:
        extensions.append(functools.partial(ConfigResultCache, store=result_store))
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        shared=shared,
    )


def export_sdl() -> str:
    """The schema as SDL, as written to schema.graphql."""
    return build_schema().as_str() + "\n"
