"""Caches whole results of queries that read only the config snapshot.

`repos`, `repo`, `periodics` and `job` depend on nothing but the immutable job index, so a
result computed once per (generation, document, variables) is valid until the next reload.
Listing ~500 job definitions then costs a dictionary lookup instead of a full execution.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, FieldNode, OperationType
from strawberry.extensions import SchemaExtension

from prow_graphql.schema.bounded import ByteLRU
from prow_graphql.schema.documents import chosen_operation
from prow_graphql.schema.visibility import classed

CONFIG_ONLY_FIELDS = frozenset({"repos", "repo", "periodics", "job", "__typename"})


class ResultStore:
    """An LRU of execution results bounded in bytes, emptied whenever the config generation
    changes. Each spelling of a query is a separate entry, so entries are weighed by their
    encoded size: a few huge answers cannot pin hundreds of megabytes."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._generation = -1
        self._results: ByteLRU[tuple[str, str | None, str], ExecutionResult] = ByteLRU(max_bytes)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def weight(self) -> int:
        """Bytes held (as encoded JSON)."""
        return self._results.weight

    def get(self, generation: int, key: tuple[str, str | None, str]) -> ExecutionResult | None:
        """The cached result for `key` under `generation`, if any."""
        with self._lock:
            if generation != self._generation:
                self._results.clear()
                self._generation = generation
            result = self._results.get(key)
            if result is None:
                self.misses += 1
                return None
            self.hits += 1
            return result

    def put(
        self, generation: int, key: tuple[str, str | None, str], result: ExecutionResult
    ) -> None:
        """Remember `result` (results with errors are never cached)."""
        if result.errors:
            return
        weight = len(key[0]) + len(key[2]) + len(json.dumps(result.data, default=str))
        with self._lock:
            if generation != self._generation:
                return
            self._results.put(key, result, weight)


class ConfigResultCache(SchemaExtension):
    """Skips execution of config-only queries whose result is already known for this snapshot."""

    def __init__(self, *, store: ResultStore) -> None:
        self.store = store

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        key = _cache_key(ctx.query, ctx.operation_name, ctx.variables, ctx.graphql_document)
        if key is not None:
            key = classed(key, ctx.context)  # answers differ by what the caller may see
        generation = ctx.context.service.config.index.generation if key else -1
        if key is not None:
            cached = self.store.get(generation, key)
            if cached is not None:
                ctx.result = cached
                yield
                return
        yield
        if key is not None and isinstance(ctx.result, ExecutionResult):
            self.store.put(generation, key, ctx.result)


def _cache_key(
    query: str | None, operation_name: str | None, variables: dict[str, Any] | None, document: Any
) -> tuple[str, str | None, str] | None:
    if query is None or document is None:
        return None
    operation = chosen_operation(document, operation_name, OperationType.QUERY)
    if operation is None:
        return None
    for selection in operation.selection_set.selections:
        # Fragments at the root could hide other fields: only plain fields are cacheable.
        if not isinstance(selection, FieldNode) or selection.name.value not in CONFIG_ONLY_FIELDS:
            return None
        if selection.directives:
            return None
    try:
        variables_key = json.dumps(variables or {}, sort_keys=True)
    except (TypeError, ValueError):
        return None
    return (query, operation_name, variables_key)
