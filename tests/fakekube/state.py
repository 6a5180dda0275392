"""The fake API server's storage: ProwJobs by namespace, one global resourceVersion counter, a
bounded event history (what etcd's compaction window and the watch cache give the real server),
watchers, and consistent paginated lists. Pure bookkeeping: no sockets, no sleeping.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import json
import re
import secrets
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prow_graphql.store.patch import json_merge_patch
from prow_graphql.store.selectors import Selector, SelectorError, parse_selector

from . import schema
from . import status as st

API_VERSION = "prow.k8s.io/v1"
KIND = "ProwJob"
LIST_KIND = "ProwJobList"

Obj = dict[str, Any]
WatchItem = tuple[str, Obj | None]
"""("event", {"type", "object"}) | ("end" | "cut" | "disconnect", None)."""

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_IMMUTABLE_META = ("name", "namespace", "uid", "creationTimestamp")
_WRONG_NAMESPACE = (
    "the namespace of the provided object does not match the namespace sent on the request"
)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One change in the history; `prev` is the object before it (None for ADDED)."""

    rv: int
    type: str
    namespace: str
    name: str
    obj: Obj
    prev: Obj | None


@dataclass(eq=False)
class Watcher:
    """One open watch: its filter and the queue its HTTP stream drains."""

    namespace: str
    selector: Selector
    bookmarks: bool
    last_rv: int
    queue: asyncio.Queue[WatchItem] = field(default_factory=asyncio.Queue)
    stalled: bool = False

    def put_event(self, event_type: str, obj: Obj) -> None:
        self.queue.put_nowait(("event", {"type": event_type, "object": obj}))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _labels(obj: Mapping[str, Any] | None) -> dict[str, str]:
    if not obj:
        return {}
    labels = obj.get("metadata", {}).get("labels") or {}
    return dict(labels) if isinstance(labels, dict) else {}


def _without_metadata(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k != "metadata"}


def encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        rv, start = int(data["rv"]), str(data["start"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise st.bad_request(f"continue key is not valid: {exc}") from exc
    if data.get("v") != "meta.k8s.io/v1" or rv <= 0:
        raise st.bad_request("continue key is not valid: incorrect encoded start resourceVersion")
    return rv, start


class FakeKubeState:
    """ProwJobs in every namespace plus the history watches and continue tokens are served from."""

    def __init__(
        self, *, history_limit: int = 1000, first_resource_version: int = 1, validate: bool = True
    ) -> None:
        self.resource_version = first_resource_version
        self.floor = first_resource_version
        """Oldest resourceVersion one may still watch or continue a list from."""
        self.history_limit = history_limit
        self.validate = validate
        self.stall_new_watches = False
        # A lagging watch cache: every watch from a resourceVersion answers 504 "too large".
        self.watch_cache_behind = False
        self._objects: dict[tuple[str, str], Obj] = {}
        self._history: deque[StoredEvent] = deque()
        self._watchers: set[Watcher] = set()

    # ---- reading -------------------------------------------------------------------------

    def objects(self, namespace: str) -> dict[str, Obj]:
        """Copies of the objects in `namespace`, by name."""
        return {
            name: copy.deepcopy(obj) for (ns, name), obj in self._objects.items() if ns == namespace
        }

    def get(self, namespace: str, name: str) -> Obj:
        obj = self._objects.get((namespace, name))
        if obj is None:
            raise st.not_found(name)
        return copy.deepcopy(obj)

    def list_objects(
        self,
        namespace: str,
        *,
        label_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Obj:
        """A ProwJobList page; continuation pages are served from the first page's snapshot."""
        selector = _selector(label_selector)
        if continue_token:
            list_rv, start = decode_continue(continue_token)
            if list_rv < self.floor:
                raise st.expired_continue()
            snapshot = self._state_at(namespace, list_rv)
        else:
            list_rv, start = self.resource_version, ""
            snapshot = self.objects(namespace)
        names = sorted(
            n for n, obj in snapshot.items() if n >= start and selector.matches(_labels(obj))
        )
        page = names if not limit or limit <= 0 else names[:limit]
        metadata: Obj = {"resourceVersion": str(list_rv)}
        if len(page) < len(names):
            metadata["continue"] = encode_continue(list_rv, page[-1] + "\x00")
            if not label_selector:
                metadata["remainingItemCount"] = len(names) - len(page)
        # The real API server writes a custom resource list's keys sorted: items before
        # metadata, and "continue" present (empty) on the last page.
        metadata.setdefault("continue", "")
        return {
            "apiVersion": API_VERSION,
            "items": [copy.deepcopy(snapshot[n]) for n in page],
            "kind": LIST_KIND,
            "metadata": dict(sorted(metadata.items())),
        }

    def _state_at(self, namespace: str, rv: int) -> dict[str, Obj]:
        """The namespace as it was at `rv`: roll the newer history back (rv >= floor)."""
        objs = self.objects(namespace)
        for event in reversed(self._history):
            if event.rv <= rv:
                break
            if event.namespace != namespace:
                continue
            if event.prev is None:
                objs.pop(event.name, None)
            else:
                objs[event.name] = copy.deepcopy(event.prev)
        return objs

    # ---- writing -------------------------------------------------------------------------

    def create(self, namespace: str, body: Any) -> Obj:
        obj = self._check_body(namespace, body)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise st.bad_request("metadata must be an object")
        name = meta.get("name")
        if not name and meta.get("generateName"):
            name = meta["generateName"] + secrets.token_hex(3)[:5]
        if not name:
            raise st.invalid(
                "", [("metadata.name", "Required value: name or generateName is required")]
            )
        self._check_name(name)
        if (namespace, name) in self._objects:
            raise st.already_exists(name)
        for key in ("resourceVersion", "deletionTimestamp", "managedFields", "selfLink"):
            meta.pop(key, None)
        meta.update(
            name=name, namespace=namespace, uid=str(uuid.uuid4()), generation=1,
            creationTimestamp=_now(),
        )  # fmt: skip
        obj = self._check_schema(name, obj)
        return self._commit("ADDED", namespace, name, obj, None)

    def merge_patch(self, namespace: str, name: str, patch: Any) -> Obj:
        """Apply an RFC 7386 patch; a metadata.resourceVersion in it is a precondition."""
        current = self._objects.get((namespace, name))
        if current is None:
            raise st.not_found(name)
        if not isinstance(patch, dict):
            raise st.bad_request("the body of a merge patch must be a JSON object")
        wanted_rv = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted_rv is not None and str(wanted_rv) != current["metadata"]["resourceVersion"]:
            raise st.conflict(name)
        updated = copy.deepcopy(json_merge_patch(current, patch))
        return self._update(namespace, name, updated, current)

    def replace(self, namespace: str, name: str, body: Any) -> Obj:
        """PUT: the body replaces the object if its metadata.resourceVersion is current."""
        obj = self._check_body(namespace, body)
        current = self._objects.get((namespace, name))
        if current is None:
            raise st.not_found(name)
        wanted_rv = (obj.get("metadata") or {}).get("resourceVersion")
        if not wanted_rv:
            raise st.invalid(
                name,
                [
                    (
                        "metadata.resourceVersion",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )
        if str(wanted_rv) != current["metadata"]["resourceVersion"]:
            raise st.conflict(name)
        return self._update(namespace, name, obj, current)

    def delete(self, namespace: str, name: str) -> Obj:
        current = self._objects.get((namespace, name))
        if current is None:
            raise st.not_found(name)
        return self._commit("DELETED", namespace, name, copy.deepcopy(current), current)

    def _update(self, namespace: str, name: str, updated: Obj, current: Obj) -> Obj:
        meta = updated.get("metadata")
        if not isinstance(meta, dict):
            raise st.bad_request("metadata must be an object")
        if meta.get("name", name) != name:
            wrong = meta.get("name")
            raise st.bad_request(
                f"the name of the object ({wrong}) does not match the name on the URL ({name})"
            )
        if meta.get("namespace", namespace) != namespace:
            raise st.bad_request(_WRONG_NAMESPACE)
        for key in _IMMUTABLE_META:
            meta[key] = current["metadata"][key]
        meta["resourceVersion"] = current["metadata"]["resourceVersion"]
        meta["generation"] = current["metadata"].get("generation", 1)
        updated = self._check_schema(name, updated)
        if updated == current:
            return copy.deepcopy(current)  # a no-op write bumps nothing and emits nothing
        if _without_metadata(updated) != _without_metadata(current):
            updated["metadata"]["generation"] += 1  # no status subresource: status counts too
        return self._commit("MODIFIED", namespace, name, updated, current)

    def _commit(
        self, event_type: str, namespace: str, name: str, obj: Obj, prev: Obj | None
    ) -> Obj:
        self.resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self.resource_version)
        if event_type == "DELETED":
            del self._objects[(namespace, name)]
        else:
            self._objects[(namespace, name)] = obj
        event = StoredEvent(self.resource_version, event_type, namespace, name, obj, prev)
        self._history.append(event)
        while len(self._history) > self.history_limit:
            self.floor = self._history.popleft().rv
        for watcher in list(self._watchers):
            if watcher.namespace == namespace:
                self._deliver(watcher, event)
        return copy.deepcopy(obj)

    def _check_body(self, namespace: str, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise st.bad_request("the body of the request must be a JSON object")
        if "kind" not in body:
            raise st.bad_request("Object 'Kind' is missing in the request body")
        if body.get("apiVersion") != API_VERSION or body.get("kind") != KIND:
            raise st.bad_request(
                f"the API version in the data ({body.get('apiVersion')}) does not match the "
                f"expected API version ({API_VERSION})"
            )
        meta = body.get("metadata") or {}
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise st.bad_request(_WRONG_NAMESPACE)
        return copy.deepcopy(body)

    @staticmethod
    def _check_name(name: Any) -> None:
        if not isinstance(name, str) or len(name) > 253 or not _NAME.match(name):
            raise st.invalid(
                str(name),
                [("metadata.name", "Invalid value: a lowercase RFC 1123 subdomain is required")],
            )

    def _check_schema(self, name: str, obj: Obj) -> Obj:
        """The object pruned and defaulted by Prow's CRD (as the API server stores it); raises
        422 Invalid with the API server's causes when `validate` is on and the schema says no."""
        pruned = schema.prune_and_default(obj)
        if self.validate and (causes := schema.causes(pruned)):
            raise st.invalid_causes(name, causes)
        return pruned

    # ---- watching ------------------------------------------------------------------------

    def open_watch(
        self,
        namespace: str,
        *,
        resource_version: str | None,
        label_selector: str | None = None,
        bookmarks: bool = False,
    ) -> Watcher:
        """Register a watcher with its backlog queued; Expired (410) if the version is gone."""
        selector = _selector(label_selector)
        watcher = Watcher(namespace, selector, bookmarks, self.resource_version)
        watcher.stalled = self.stall_new_watches
        if resource_version in (None, "", "0"):
            # "Start at most recent": synthetic ADDED events for what exists now.
            for obj in sorted(
                self.objects(namespace).values(), key=lambda o: o["metadata"]["name"]
            ):
                if selector.matches(_labels(obj)):
                    watcher.put_event("ADDED", obj)
        else:
            try:
                since = int(str(resource_version))
            except ValueError as exc:
                raise st.bad_request(
                    f"resourceVersion: Invalid value: {resource_version!r}"
                ) from exc
            if since < self.floor:
                raise st.ApiError(st.too_old_resource_version(since, self.floor))
            if self.watch_cache_behind:
                raise st.too_large_resource_version(since, self.resource_version)
            watcher.last_rv = since
            for event in self._events_after(since):
                if event.namespace == namespace:
                    self._deliver(watcher, event)
        self._watchers.add(watcher)
        return watcher

    def close_watch(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    @property
    def watchers(self) -> list[Watcher]:
        return list(self._watchers)

    def bookmark(self) -> Obj:
        """A BOOKMARK event at the current resourceVersion."""
        obj = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"resourceVersion": str(self.resource_version)},
        }
        return {"type": "BOOKMARK", "object": obj}

    def compact(self) -> None:
        """Forget all history: only the current resourceVersion can be watched or continued."""
        self._history.clear()
        self.floor = self.resource_version

    def _events_after(self, rv: int) -> Iterator[StoredEvent]:
        return (event for event in self._history if event.rv > rv)

    @staticmethod
    def _deliver(watcher: Watcher, event: StoredEvent) -> None:
        """Queue `event` as this watcher sees it: selector transitions become ADDED/DELETED."""
        now = watcher.selector.matches(_labels(event.obj))
        before = event.prev is not None and watcher.selector.matches(_labels(event.prev))
        obj = copy.deepcopy(event.obj)
        if event.type == "MODIFIED" and now and not before:
            watcher.put_event("ADDED", obj)
        elif event.type == "MODIFIED" and before and not now:
            gone = copy.deepcopy(event.prev) or {}
            gone["metadata"]["resourceVersion"] = str(event.rv)
            watcher.put_event("DELETED", gone)
        elif now:
            watcher.put_event(event.type, obj)


def _selector(label_selector: str | None) -> Selector:
    try:
        return parse_selector(label_selector)
    except SelectorError as exc:
        raise st.bad_request(f"unable to parse requirement: {exc}") from exc
