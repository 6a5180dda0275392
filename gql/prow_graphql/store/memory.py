"""Embedded ProwJob store with the Kubernetes API's semantics, for running without a cluster.

One integer resourceVersion counter for the whole store; every write bumps it and records a watch
event in a bounded history shared by all watchers. A watcher is a cursor into that history, so a
slow watcher never blocks writers: when it falls behind the oldest retained event its stream ends
with Gone, as the API server's would. Objects go in and come out as copies. No network I/O here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import uuid
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prow_graphql.errors import Conflict, Gone, ObjectNotFound, Unavailable
from prow_graphql.prow.objects import API_VERSION, GROUP, KIND, PLURAL, format_time
from prow_graphql.store.base import EventType, ListPage, ProwJobObject, WatchEvent
from prow_graphql.store.patch import clone_json, json_merge_patch
from prow_graphql.store.selectors import parse_selector

_RESOURCE = f"{PLURAL}.{GROUP}"
# Set by the store on every write; a merge patch can neither set nor remove them.
_SERVER_FIELDS = ("name", "namespace", "uid", "creationTimestamp", "resourceVersion", "generation")


@dataclass(frozen=True, slots=True)
class _Entry:
    """One history entry: the event and, for list snapshots, the object as it was before it."""

    rv: int
    type: EventType
    obj: ProwJobObject
    prev: ProwJobObject | None


class MemoryStore:
    """ProwJobs of one namespace in memory: create, get, list, watch, merge-patch, delete.

    Stored objects are never mutated in place (writes replace them), so history entries can share
    them safely; everything handed out is a fresh copy.
    """

    def __init__(
        self, namespace: str, *, history_limit: int = 1000, bookmark_interval: float = 60.0
    ) -> None:
        if history_limit < 0:
            raise ValueError("history_limit must be >= 0")
        if bookmark_interval <= 0:
            raise ValueError("bookmark_interval must be > 0")
        self._namespace = namespace
        self._bookmark_interval = bookmark_interval
        self._objects: dict[str, ProwJobObject] = {}
        self._rv = 0
        self._history: deque[_Entry] = deque(maxlen=history_limit)
        self._changed = asyncio.Event()
        self._closed = False

    @property
    def namespace(self) -> str:
        """The namespace every object is created in."""
        return self._namespace

    @property
    def resource_version(self) -> str:
        """The store's current resourceVersion (that of its latest write)."""
        return str(self._rv)

    async def create(self, obj: ProwJobObject) -> ProwJobObject:
        """Create `obj`; sets namespace, resourceVersion, uid, creationTimestamp, generation."""
        self._check_open()
        new: ProwJobObject = clone_json(dict(obj))
        meta = new.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
            raise ValueError("metadata.name is required")
        name: str = meta["name"]
        if meta.get("namespace") not in (None, "", self._namespace):
            raise ValueError(
                f"the namespace of the object ({meta['namespace']}) does not match "
                f"the store's namespace ({self._namespace})"
            )
        if name in self._objects:
            raise Conflict(f'{_RESOURCE} "{name}" already exists')
        new.setdefault("apiVersion", API_VERSION)
        new.setdefault("kind", KIND)
        rv = self._bump()
        meta.update(
            namespace=self._namespace,
            resourceVersion=str(rv),
            uid=str(uuid.uuid4()),
            creationTimestamp=format_time(datetime.now(UTC)),
            generation=1,
        )
        self._objects[name] = new
        self._record(_Entry(rv, EventType.ADDED, new, None))
        return _copy(new)

    async def get(self, name: str) -> ProwJobObject:
        """Return a copy of the ProwJob `name`; ObjectNotFound if there is none."""
        self._check_open()
        return _copy(self._current(name))

    async def list(
        self,
        *,
        label_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListPage:
        """One page sorted by name; every page of a list shows the first page's snapshot.

        A continue token older than the history raises Gone, like the API server's 410.
        """
        self._check_open()
        selector = parse_selector(label_selector)
        if continue_token:
            snapshot_rv, after = _decode_continue(continue_token)
            objects = self._objects_at(snapshot_rv)
        else:
            snapshot_rv, after, objects = self._rv, None, self._objects
        items: list[ProwJobObject] = []
        more = False
        for name in sorted(n for n in objects if after is None or n > after):
            obj = objects[name]
            if not selector.matches(_labels(obj)):
                continue
            if limit is not None and limit > 0 and len(items) >= limit:
                more = True
                break
            items.append(_copy(obj))
        token = None
        if more:
            token = _encode_continue(snapshot_rv, items[-1]["metadata"]["name"])
        return ListPage(items=items, resource_version=str(snapshot_rv), continue_token=token)

    async def list_each(
        self,
        on_item: Callable[[ProwJobObject], None],
        *,
        label_selector: str | None = None,
        resource_version: str = "0",
    ) -> str:
        """Every ProwJob (current state whatever `resource_version` says: this store has no
        older view to offer), each handed to `on_item`; returns the list's resourceVersion."""
        page = await self.list(label_selector=label_selector)
        for item in page.items:
            on_item(item)
        return page.resource_version

    async def watch(
        self,
        resource_version: str,
        *,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncGenerator[WatchEvent, None]:
        """Every event after `resource_version`, then live ones until `timeout_seconds` pass.

        Raises Gone if that version is older than the retained history (or newer than the store),
        also mid-stream when this watcher falls that far behind. Ends normally on timeout or close.
        """
        self._check_open()
        cursor = _parse_rv(resource_version)
        if cursor > self._rv:
            raise Gone(f"too large resource version: {cursor}, current: {self._rv}")
        loop = asyncio.get_running_loop()
        end = math.inf if timeout_seconds is None else loop.time() + timeout_seconds
        next_bookmark = loop.time() + self._bookmark_interval
        while not self._closed and loop.time() < end:
            first = self._first_retained()
            if cursor + 1 < first:
                raise Gone(f"too old resource version: {cursor} ({first - 1})")
            if cursor < self._rv:
                entry = self._history[cursor + 1 - first]
                cursor = entry.rv
                yield WatchEvent(entry.type, _copy(entry.obj), str(entry.rv))
                next_bookmark = loop.time() + self._bookmark_interval
                continue
            deadline = min(end, next_bookmark) if allow_bookmarks else end
            changed = self._changed
            try:
                async with asyncio.timeout_at(None if deadline == math.inf else deadline):
                    await changed.wait()
            except TimeoutError:
                now = loop.time()
                if allow_bookmarks and next_bookmark <= now < end and cursor == self._rv:
                    yield WatchEvent(EventType.BOOKMARK, _bookmark(cursor), str(cursor))
                    next_bookmark = loop.time() + self._bookmark_interval

    async def patch(self, name: str, patch: Mapping[str, Any]) -> ProwJobObject:
        """Merge-patch `name` (RFC 7386); a metadata.resourceVersion in the patch is a precondition.

        Conflict if that precondition fails; a patch that changes nothing writes nothing (as the
        API server does: no new resourceVersion, no event). Server-set metadata cannot be changed.
        """
        self._check_open()
        current = self._current(name)
        cur_meta: dict[str, Any] = current["metadata"]
        patch_meta = patch.get("metadata")
        expected = patch_meta.get("resourceVersion") if isinstance(patch_meta, Mapping) else None
        if expected is not None and str(expected) != cur_meta["resourceVersion"]:
            raise Conflict(
                f'Operation cannot be fulfilled on {_RESOURCE} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again"
            )
        merged = json_merge_patch(current, patch)
        meta = merged.get("metadata")
        meta = dict(meta) if isinstance(meta, Mapping) else {}
        meta.update({k: cur_meta[k] for k in _SERVER_FIELDS})
        merged["metadata"] = meta
        merged["apiVersion"] = current.get("apiVersion", API_VERSION)
        merged["kind"] = current.get("kind", KIND)
        if merged == current:
            return _copy(current)
        rv = self._bump()
        meta["resourceVersion"] = str(rv)
        if _content(merged) != _content(current):
            meta["generation"] = int(cur_meta.get("generation", 1)) + 1
        self._objects[name] = merged
        self._record(_Entry(rv, EventType.MODIFIED, merged, current))
        return _copy(merged)

    async def delete(self, name: str) -> ProwJobObject:
        """Delete `name` (a DELETED event at a new resourceVersion); ObjectNotFound if absent."""
        self._check_open()
        current = self._current(name)
        del self._objects[name]
        rv = self._bump()
        final = dict(current, metadata={**current["metadata"], "resourceVersion": str(rv)})
        self._record(_Entry(rv, EventType.DELETED, final, current))
        return _copy(final)

    def compact(self) -> None:
        """Forget the watch history, so watching from any older version raises Gone."""
        self._history.clear()

    async def aclose(self) -> None:
        """Close the store: open watches end normally, further calls raise Unavailable."""
        self._closed = True
        self._notify()

    def _check_open(self) -> None:
        if self._closed:
            raise Unavailable("the memory store is closed")

    def _current(self, name: str) -> ProwJobObject:
        try:
            return self._objects[name]
        except KeyError:
            raise ObjectNotFound(f'{_RESOURCE} "{name}" not found') from None

    def _bump(self) -> int:
        self._rv += 1
        return self._rv

    def _record(self, entry: _Entry) -> None:
        self._history.append(entry)
        self._notify()

    def _notify(self) -> None:
        # Waiters hold the old event; a fresh one is armed for the next write.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _first_retained(self) -> int:
        # Every write records exactly one entry, so history versions are contiguous.
        return self._history[0].rv if self._history else self._rv + 1

    def _objects_at(self, rv: int) -> dict[str, ProwJobObject]:
        if rv == self._rv:
            return self._objects
        if rv > self._rv:
            raise ValueError(f"continue token from the future: {rv} > {self._rv}")
        if rv + 1 < self._first_retained():
            raise Gone(
                "The provided continue parameter is too old to display a consistent list "
                "result. You can start a new list without the continue parameter."
            )
        objects = dict(self._objects)
        for entry in reversed(self._history):
            if entry.rv <= rv:
                break
            name = entry.obj["metadata"]["name"]
            if entry.prev is None:
                objects.pop(name, None)
            else:
                objects[name] = entry.prev
        return objects


def _copy(obj: ProwJobObject) -> ProwJobObject:
    copied: ProwJobObject = clone_json(obj)
    return copied


def _labels(obj: ProwJobObject) -> Mapping[str, str]:
    labels = (obj.get("metadata") or {}).get("labels")
    return labels if isinstance(labels, Mapping) else {}


def _content(obj: ProwJobObject) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "metadata"}


def _bookmark(rv: int) -> ProwJobObject:
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"resourceVersion": str(rv)}}


def _parse_rv(value: str) -> int:
    try:
        rv = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"invalid resourceVersion {value!r}") from None
    if rv < 0:
        raise ValueError(f"invalid resourceVersion {value!r}")
    return rv


def _encode_continue(rv: int, after: str) -> str:
    raw = json.dumps({"rv": rv, "start": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        rv, after = data["rv"], data["start"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ValueError(f"invalid continue token {token!r}") from None
    if not isinstance(rv, int) or not isinstance(after, str):
        raise ValueError(f"invalid continue token {token!r}")
    return rv, after
