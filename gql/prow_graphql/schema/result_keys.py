"""The backpressure rule (`prow_graphql.backpressure`) applied to executed subscription results.

A shared stream's followers queue *results*, not changes; to coalesce them per job this module reads
the job a result is about (`prowJobUpdated` streams one job; a `prowJobEvents` result names it in
`prowJob.name`) and merges two results of one job the way the informer merges two changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

from graphql import GraphQLError
from strawberry.types.execution import ExecutionResult

from prow_graphql.backpressure import overflow_error

ONE_JOB = "job"
"""The key of every result of a stream about one job (`prowJobUpdated`): the latest wins."""

_ADDED, _MODIFIED, _DELETED = "ADDED", "MODIFIED", "DELETED"


def result_key(result: Any, replay: bool) -> Hashable | None:
    """The job `result` is about (None: unknown, it takes a queue slot of its own)."""
    if replay:
        return ONE_JOB
    event = _event(result)
    if event is None:
        return None
    for value in event.values():
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            return str(value["name"])
    return None


def merge_results(queued: Any, newer: Any) -> Any | None:
    """Two unsent results of one job as one (see `fanout.merge_changes`): the newer result, with
    its event `type` rewritten when the client never saw the queued one."""
    before, after = _event(queued), _event(newer)
    if before is None or after is None:
        return newer
    kind, new_kind = before.get("type"), after.get("type")
    if kind == _ADDED:
        return None if new_kind == _DELETED else _with_type(newer, after, _ADDED)
    if kind == _DELETED and new_kind == _ADDED:
        return _with_type(newer, after, _MODIFIED)
    return newer


def overflow_result(limit: int) -> ExecutionResult:
    """The last result a follower that fell too far behind gets: a typed error, then the end."""
    error = overflow_error(limit)
    return ExecutionResult(
        data=None,
        errors=[GraphQLError(error.message, extensions={"code": "RESYNC_REQUIRED"})],
    )


def _event(result: Any) -> dict[str, Any] | None:
    data = getattr(result, "data", None)
    if not isinstance(data, dict) or len(data) != 1:
        return None
    event = next(iter(data.values()))
    return event if isinstance(event, dict) else None


def _with_type(result: Any, event: dict[str, Any], kind: str) -> Any:
    if "type" not in event or not isinstance(result, ExecutionResult):
        return result
    (root,) = result.data or {}
    return dataclasses.replace(result, data={root: {**event, "type": kind}})
