"""Reading the live cache: get, pages with cursors, following one job, event streams."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from prow_graphql.errors import InvalidInput, ProwJobNotFound
from prow_graphql.informer import Change, Informer
from prow_graphql.prow.objects import ProwJobRecord
from prow_graphql.service.core import ServiceCore
from prow_graphql.service.models import ProwJobFilter, ProwJobPage


class Reads(ServiceCore):
    """Queries and subscriptions over the informer's cache."""

    def get(self, name: str) -> ProwJobRecord | None:
        """The cached ProwJob called `name`, if the watch has delivered it."""
        return self.informer.get(name)

    def list(
        self, job_filter: ProwJobFilter, *, first: int = 50, after: str | None = None
    ) -> ProwJobPage:
        """A page of cached ProwJobs, newest start time first, then by name."""
        if first < 0 or first > 500:
            raise InvalidInput("first", "must be between 0 and 500")
        start_key = _decode_cursor(after) if after else None
        matching = sorted(
            (r for r in self.informer.records() if job_filter.matches(r)), key=_sort_key
        )
        begin = 0
        if start_key is not None:
            begin = next(
                (i for i, r in enumerate(matching) if _sort_key(r) > start_key), len(matching)
            )
        chosen = matching[begin : begin + first]
        return ProwJobPage(
            records=chosen,
            cursors=[_encode_cursor(r) for r in chosen],
            has_next_page=begin + first < len(matching),
            total_count=len(matching),
        )

    async def follow(self, name: str) -> AsyncIterator[ProwJobRecord]:
        """The job's current state, then each visible change; ends after a final state.

        A job the watch has not delivered yet (just created elsewhere) is waited for up to
        `follow_wait` seconds before ProwJobNotFound.
        """
        await self.informer.synced.wait()
        last: tuple[Any, ...] | None = None
        async with self.informer.subscribe(name=name) as changes:
            if self.informer.get(name) is None:
                first = await _next_change(changes, self._follow_wait)
                if first is None:
                    raise ProwJobNotFound(
                        f"no ProwJob named {name!r} in namespace {self.namespace!r}; "
                        "check the name (it is the ProwJob's metadata.name, a UUID)"
                    )
                pending: list[Change] = [first]
            else:
                pending = []
            while True:
                change = pending.pop() if pending else await anext(changes)
                if change.kind.value == "DELETED":
                    return
                record = change.record
                seen = _visible(record)
                if seen != last:
                    last = seen
                    yield record
                if record.is_final:
                    return

    def events(self, job_filter: ProwJobFilter, *, snapshot: bool) -> AsyncIterator[Change]:
        """Every change of a matching ProwJob (optionally the current ones first)."""
        return _iterate(self.informer, job_filter.matches, snapshot)


async def _iterate(
    informer: Informer, predicate: Callable[[ProwJobRecord], bool], snapshot: bool
) -> AsyncIterator[Change]:
    await informer.synced.wait()
    async with informer.subscribe(predicate, snapshot=snapshot) as changes:
        async for change in changes:
            yield change


async def _next_change(changes: AsyncIterator[Change], wait: float) -> Change | None:
    try:
        async with asyncio.timeout(wait):
            return await anext(changes)
    except TimeoutError:
        return None


def _visible(record: ProwJobRecord) -> tuple[Any, ...]:
    return (
        record.state,
        record.build_id,
        record.url,
        record.description,
        record.start_time,
        record.pending_time,
        record.completion_time,
    )


_EPOCH = datetime.min.replace(tzinfo=UTC)


def _sort_key(record: ProwJobRecord) -> tuple[float, str]:
    started = record.start_time or _EPOCH
    return (-started.timestamp(), record.name)


def _encode_cursor(record: ProwJobRecord) -> str:
    key = _sort_key(record)
    return base64.urlsafe_b64encode(json.dumps([key[0], key[1]]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        # A real cursor is well under 1 KB; a crafted one may nest JSON until RecursionError.
        if len(cursor) > 1024:
            raise ValueError("too long")
        stamp, name = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return (float(stamp), str(name))
    except (ValueError, TypeError, RecursionError, binascii.Error) as exc:
        raise InvalidInput(
            "after", "is not a cursor from this API; pass a pageInfo.endCursor value"
        ) from exc
