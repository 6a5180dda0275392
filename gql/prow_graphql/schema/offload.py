"""Which queries run in a worker thread instead of on the event loop.

A query that reads only the config snapshot (`repos`, `repo`, `periodics`, `job`) touches
nothing but immutable data and thread-safe caches, yet listing every job with its containers
takes ~0.5 s at the scale of a 1,650-job config: on the loop that stalls /healthz, every
subscription and the watch. In a thread, the GIL's switch interval (5 ms) keeps the loop
answering. Anything else (ProwJobs from the informer cache, mutations) stays on the loop.
"""

from __future__ import annotations

from graphql import FieldNode, OperationType

from prow_graphql.schema.bounded import short_text_cache
from prow_graphql.schema.documents import chosen_operation, parse_bounded

CONFIG_ONLY_FIELDS = frozenset({"repos", "repo", "periodics", "job", "__typename"})


@short_text_cache(maxsize=512)
def reads_config_only(query: str, operation_name: str | None) -> bool:
    """Whether the operation is a query whose root fields all read only the config snapshot."""
    document = parse_bounded(query)
    if document is None:
        return False
    operation = chosen_operation(document, operation_name, OperationType.QUERY)
    if operation is None:
        return False
    # Fragments at the root could hide other fields: only plain fields qualify.
    return all(
        isinstance(s, FieldNode) and s.name.value in CONFIG_ONLY_FIELDS
        for s in operation.selection_set.selections
    )
