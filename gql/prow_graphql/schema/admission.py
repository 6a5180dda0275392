"""Admits each subscription against the caller's --max-subscriptions-per-identity.

The limiter travels in `context.extra` (set by the app); a subscription over the limit yields one
typed error instead of results. The count is taken when the stream starts and given back when
it ends, however it ends.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from graphql import GraphQLError
from strawberry.types import ExecutionResult

from prow_graphql.admission import ConnectionLimiter, caller_key

LIMITER = "subscription_limiter"
CODE = "TOO_MANY_SUBSCRIPTIONS"


def limiter_of(context: object) -> ConnectionLimiter | None:
    extra = getattr(context, "extra", None)
    found = extra.get(LIMITER) if isinstance(extra, dict) else None
    return found if isinstance(found, ConnectionLimiter) else None


def key_of(context: Any) -> str:
    """The caller a subscription counts against (its user, else its address)."""
    request = getattr(context, "request", None)
    client = getattr(request, "client", None)
    return caller_key(context.identity, getattr(client, "host", None))


def refusal_error(limiter: ConnectionLimiter, key: str) -> GraphQLError:
    return GraphQLError(
        limiter.refusal(key.split(":", 1)[1]),
        extensions={"code": CODE, "flag": limiter.flag, "maximum": limiter.limit},
    )


def limited(source: Any, context: object) -> Any:
    """`source`, counted against the caller's subscriptions (unchanged without a limiter)."""
    limiter = limiter_of(context)
    if limiter is None or not hasattr(source, "__aiter__"):
        return source
    return _admitted(source, limiter, key_of(context))


async def _admitted(
    source: AsyncGenerator[Any, None], limiter: ConnectionLimiter, key: str
) -> AsyncGenerator[Any, None]:
    if not limiter.acquire(key):
        await source.aclose()
        yield ExecutionResult(data=None, errors=[refusal_error(limiter, key)])
        return
    try:
        async for result in source:
            yield result
    finally:
        limiter.release(key)
        await source.aclose()
