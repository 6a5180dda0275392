"""Reading the live cache: get, pages with cursors, following one job, event streams."""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence, Set
from typing import Any

from prow_graphql.cache_index import newest_first
from prow_graphql.errors import (
    BackendError,
    InvalidInput,
    JobNotFound,
    ObjectNotFound,
    ProwJobNotFound,
)
from prow_graphql.informer import Change, ChangeKind, Informer
from prow_graphql.prow.loader import JobIndex
from prow_graphql.prow.objects import ProwJobRecord
from prow_graphql.prow.visibility import job_hidden, record_hidden
from prow_graphql.service.core import ServiceCore
from prow_graphql.service.history import JobStats, RunSelector, job_stats, sort_key
from prow_graphql.service.models import ProwJobFilter, ProwJobPage
from prow_graphql.service.visible import VisibleFilter


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
        f = job_filter
        index = self.informer.index
        candidates = index.candidates(job=f.job, org=f.org, repo=f.repo, state=f.state, type=f.type)
        if candidates is not None and len(candidates) <= _SORT_AT_MOST:
            return _page_of_few(self.informer, candidates, f, first, start_key)
        # Walk the newest-first index from the cursor; stop one past the page.
        chosen: list[ProwJobRecord] = []
        for key in index.newest_after(start_key):
            name = key[1]
            if candidates is not None and name not in candidates:
                continue
            record = self.informer.get(name)
            if record is not None and f.matches(record):
                chosen.append(record)
                if len(chosen) > first:
                    break
        total = self._total(f, candidates)
        page = chosen[:first]
        return ProwJobPage(
            records=page,
            cursors=[_encode_cursor(r) for r in page],
            has_next_page=len(chosen) > first,
            total_count=total,
        )

    def _total(self, f: ProwJobFilter, candidates: Set[str] | None) -> int:
        """How many cached jobs match `f`: from the index's set sizes when they say it exactly
        (no filter, or one indexed filter, minus what the caller may not see), else a scan."""
        index = self.informer.index
        plain, hidden_repos = _split_visibility(f)
        hidden: Set[str] = frozenset()
        if plain is not None and hidden_repos is not None:
            hidden = index.hidden_names(hidden_repos)
        if plain == ProwJobFilter():
            return len(self.informer) - len(hidden)
        if plain is not None and candidates is not None and _one_indexed_filter(plain):
            if len(hidden) < len(candidates):
                return len(candidates) - sum(1 for n in hidden if n in candidates)
            return sum(1 for n in candidates if n not in hidden)
        names = candidates if candidates is not None else index.names
        return sum(1 for n in names if (r := self.informer.get(n)) is not None and f.matches(r))

    def job_runs(
        self,
        selector: RunSelector,
        *,
        first: int = 50,
        after: str | None = None,
        hidden_repos: Collection[str] | None = None,
    ) -> ProwJobPage:
        """A page of the selected job's runs, newest first; JobNotFound for an unknown job.

        `hidden_repos` (None: the caller sees everything) hides Deck's hidden jobs and runs."""
        runs = self._runs(selector, hidden_repos)
        return paginate(runs, first=first, after=after)

    def job_stats(
        self, selector: RunSelector, *, hidden_repos: Collection[str] | None = None
    ) -> JobStats:
        """Pass rate, durations and the last failure of the selected job's cached runs."""
        return job_stats(selector.job, self._runs(selector, hidden_repos))

    def _runs(
        self, selector: RunSelector, hidden_repos: Collection[str] | None
    ) -> Sequence[ProwJobRecord]:
        """The selected job's visible runs; JobNotFound when the job is neither configured (and
        visible) nor has a visible run in the cache (a job removed from the config still has
        history)."""
        job = selector.job
        if not job.strip():
            raise InvalidInput("job", "is required: the job's name as in the Prow config")
        names = self.informer.index.candidates(job=job) or ()
        runs = [
            r
            for name in names
            if (r := self.informer.get(name)) is not None
            and r.job == job
            and (hidden_repos is None or not record_hidden(r, hidden_repos))
        ]
        if runs or is_configured(self.config.index, job, hidden_repos):
            return [r for r in runs if selector.matches(r)]
        raise JobNotFound(
            f"no job named {job!r} is configured and the cache holds no run of it; check the "
            "name (the `name:` of a presubmit, postsubmit or periodic)"
        )

    async def follow(self, name: str) -> AsyncIterator[ProwJobRecord]:
        """The job's current state, then each visible change; ends after a final state.

        A job missing from the cache is looked up with one GET: absent there too, it is
        ProwJobNotFound at once; present (just created, the watch not there yet), its state
        comes from the GET and the watch follows. Only when the API server cannot answer is
        the watch waited for, up to `follow_wait` seconds.
        """
        await self.informer.wait_synced(self._follow_wait)
        last: tuple[Any, ...] | None = None
        async with self.informer.subscribe(name=name) as changes:
            pending: list[Change] = []
            if self.informer.get(name) is None:
                found = await self._look_up(name)
                if found is not None:
                    pending.append(Change(ChangeKind.ADDED, found))
                else:
                    first = await _next_change(changes, self._follow_wait)
                    if first is None:
                        raise self._not_found(name)
                    pending.append(first)
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

    async def _look_up(self, name: str) -> ProwJobRecord | None:
        """The job as the API server has it; ProwJobNotFound when it has none."""
        try:
            obj = await self.store.get(name)
        except ObjectNotFound as exc:
            raise self._not_found(name) from exc
        except BackendError:
            return None  # cannot tell: let the watch show it, within follow_wait
        return ProwJobRecord.from_object(obj)

    def _not_found(self, name: str) -> ProwJobNotFound:
        return ProwJobNotFound(
            f"no ProwJob named {name!r} in namespace {self.namespace!r}; "
            "check the name (it is the ProwJob's metadata.name, a UUID)"
        )

    def events(self, job_filter: ProwJobFilter, *, snapshot: bool) -> AsyncIterator[Change]:
        """Every change of a matching ProwJob (optionally the current ones first)."""
        return _iterate(self.informer, job_filter.matches, snapshot, self._follow_wait)


async def _iterate(
    informer: Informer, predicate: Callable[[ProwJobRecord], bool], snapshot: bool, wait: float
) -> AsyncIterator[Change]:
    await informer.wait_synced(wait)
    async with informer.subscribe(predicate, snapshot=snapshot) as changes:
        async for change in changes:
            yield change


async def _next_change(changes: AsyncIterator[Change], wait: float) -> Change | None:
    try:
        async with asyncio.timeout(wait):
            return await anext(changes)
    except TimeoutError:
        return None


_SORT_AT_MOST = 2000  # fewer candidates than this: sorting them beats walking the whole index


def _page_of_few(
    informer: Informer,
    names: Iterable[str],
    f: ProwJobFilter,
    first: int,
    start_key: tuple[float, str] | None,
) -> ProwJobPage:
    matching = sorted(
        (r for n in names if (r := informer.get(n)) is not None and f.matches(r)), key=_sort_key
    )
    begin = 0
    if start_key is not None:
        begin = bisect.bisect_right(matching, start_key, key=_sort_key)
    chosen = matching[begin : begin + first]
    return ProwJobPage(
        records=chosen,
        cursors=[_encode_cursor(r) for r in chosen],
        has_next_page=begin + first < len(matching),
        total_count=len(matching),
    )


def _split_visibility(f: ProwJobFilter) -> tuple[ProwJobFilter | None, Collection[str] | None]:
    """`f` as its plain filter and the repos its caller may not see (None: sees all); no plain
    filter for a subclass this module does not know (its count is then a scan)."""
    if type(f) is ProwJobFilter:
        return f, None
    if type(f) is VisibleFilter:
        fields = {name: getattr(f, name) for name in _PLAIN_FIELDS}
        return ProwJobFilter(**fields), f.hidden_repos
    return None, None


_PLAIN_FIELDS = tuple(field.name for field in dataclasses.fields(ProwJobFilter))


def _one_indexed_filter(f: ProwJobFilter) -> bool:
    """Whether the index's candidate set is exactly the matching set (`f` a plain filter)."""
    if f.org is not None and f.repo is not None:
        return f.job is None and f.state is None and f.type is None
    given = [v for v in (f.job, f.org, f.repo, f.state, f.type) if v is not None]
    return len(given) == 1 and f.repo is None


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


_sort_key = newest_first


def paginate(records: Iterable[ProwJobRecord], *, first: int, after: str | None) -> ProwJobPage:
    """A page of `records` in `sort_key` order, starting after the cursor `after`."""
    if first < 0 or first > 500:
        raise InvalidInput("first", "must be between 0 and 500")
    start_key = _decode_cursor(after) if after else None
    matching = sorted(records, key=sort_key)
    begin = 0
    if start_key is not None:
        begin = next((i for i, r in enumerate(matching) if sort_key(r) > start_key), len(matching))
    chosen = matching[begin : begin + first]
    return ProwJobPage(
        records=chosen,
        cursors=[_encode_cursor(r) for r in chosen],
        has_next_page=begin + first < len(matching),
        total_count=len(matching),
    )


def _encode_cursor(record: ProwJobRecord) -> str:
    key = sort_key(record)
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


def is_configured(index: JobIndex, job: str, hidden_repos: Collection[str] | None = None) -> bool:
    """Whether any presubmit, postsubmit or periodic of the config is named `job` (and, with
    `hidden_repos`, is not hidden as Deck hides jobs)."""
    periodic = index.periodic(job)
    if periodic is not None and (
        hidden_repos is None or not job_hidden(periodic.hidden, None, hidden_repos)
    ):
        return True
    return any(
        j.name == job and (hidden_repos is None or not job_hidden(j.hidden, org_repo, hidden_repos))
        for org_repo in index.repos()
        for j in (*index.presubmits(org_repo), *index.postsubmits(org_repo))
    )
