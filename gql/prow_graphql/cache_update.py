"""The pure cache update: one watch event applied to a cache, and the changes a relist makes.

Synchronous and I/O-free (the informer's loop calls it); tested with literal data.
"""

from __future__ import annotations

from collections.abc import Mapping

from prow_graphql.fanout import Change, ChangeKind
from prow_graphql.prow.objects import ProwJobRecord
from prow_graphql.store.base import EventType, WatchEvent


def is_newer(candidate: str, current: str) -> bool:
    """True if resourceVersion `candidate` is newer than `current` (opaque ones count as newer)."""
    if candidate.isdigit() and current.isdigit():
        return int(candidate) > int(current)
    return True


def apply(cache: dict[str, ProwJobRecord], event: WatchEvent) -> Change | None:
    """Apply one watch event to `cache` in place; the resulting change, or None if it changes
    nothing (a bookmark, a stale event, or a deletion of an unknown job)."""
    if event.type is EventType.BOOKMARK:
        return None
    meta = event.object.get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        return None
    old = cache.get(name)
    rv = str(meta.get("resourceVersion") or event.resource_version)
    if old is not None and not is_newer(rv, old.resource_version):
        return None
    if event.type is EventType.DELETED:
        if old is None:
            return None
        del cache[name]
        return Change(ChangeKind.DELETED, ProwJobRecord.from_object(event.object))
    record = ProwJobRecord.from_object(event.object)
    cache[name] = record
    return Change(ChangeKind.ADDED if old is None else ChangeKind.MODIFIED, record)


def diff(old: Mapping[str, ProwJobRecord], new: Mapping[str, ProwJobRecord]) -> list[Change]:
    """The changes that turn cache `old` into `new` (after a relist): added, modified, deleted."""
    changes: list[Change] = []
    for name, record in new.items():
        before = old.get(name)
        if before is None:
            changes.append(Change(ChangeKind.ADDED, record))
        elif before.resource_version != record.resource_version:
            changes.append(Change(ChangeKind.MODIFIED, record))
    changes.extend(Change(ChangeKind.DELETED, r) for n, r in old.items() if n not in new)
    return changes
