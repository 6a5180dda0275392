"""The ProwJobStore protocol every backend implements, and the types it speaks.

Objects cross this boundary as raw ProwJob JSON (the Kubernetes object as a dict); parsing them into
domain records is `prow.objects`' job. Backends raise only `errors.BackendError` subclasses.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

ProwJobObject = dict[str, Any]
"""A ProwJob as the Kubernetes API serialises it (apiVersion, kind, metadata, spec, status)."""


class EventType(enum.StrEnum):
    """Kubernetes watch event types (ERROR is turned into an exception by the backend)."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One event of a watch stream; for BOOKMARK only `resource_version` is meaningful."""

    type: EventType
    object: ProwJobObject
    resource_version: str


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a list: its items, the list's resourceVersion, and the continue token if more."""

    items: list[ProwJobObject]
    resource_version: str
    continue_token: str | None = None


class ProwJobStore(Protocol):
    """ProwJobs in one namespace: create, get, list, watch, merge-patch."""

    async def create(self, obj: ProwJobObject) -> ProwJobObject:
        """Create `obj` (metadata.name set by the caller); Conflict if the name exists."""
        ...

    async def get(self, name: str) -> ProwJobObject:
        """Return the ProwJob called `name`; ObjectNotFound if there is none."""
        ...

    async def list(
        self,
        *,
        label_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> ListPage:
        """One page of ProwJobs; pass `continue_token` from the previous page for the next."""
        ...

    async def list_each(
        self,
        on_item: Callable[[ProwJobObject], None],
        *,
        label_selector: str | None = None,
        resource_version: str = "0",
    ) -> str:
        """Every ProwJob in one unpaginated list, handed to `on_item` one at a time as it is
        decoded (no whole list is held); returns the list's resourceVersion.

        `resource_version` "0" lets the API server answer from its watch cache (any recent
        state, as client-go's first list asks), "" asks for a consistent read.
        """
        ...

    def watch(
        self,
        resource_version: str,
        *,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]:
        """Changes after `resource_version` (never empty); raises Gone when it is too old.

        The stream ends normally after `timeout_seconds` (server side) or when the server closes
        it; the caller resumes from the last resourceVersion it saw.
        """
        ...

    async def patch(self, name: str, patch: Mapping[str, Any]) -> ProwJobObject:
        """Apply a JSON merge patch (RFC 7386) to `name` and return the new object."""
        ...

    async def aclose(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...
