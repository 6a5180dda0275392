"""JSON merge patch (RFC 7386) and JSON deep copy. Pure, no I/O; inputs are never mutated.

A merge result may share unchanged members with its target: treat both as read-only, or clone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def json_merge_patch(target: Any, patch: Any) -> Any:
    """Return `target` with `patch` merged in: objects merge recursively, null deletes a member,
    anything else (including arrays) replaces."""
    if not isinstance(patch, Mapping):
        return clone_json(patch)
    result: dict[str, Any] = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def clone_json(value: Any) -> Any:
    """Deep-copy JSON data (dicts, lists, scalars); much cheaper than `copy.deepcopy`."""
    if isinstance(value, dict):
        return {k: clone_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone_json(v) for v in value]
    return value
