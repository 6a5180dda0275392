"""Secondary indexes of the informer's cache: the orders pages and snapshots are read in, the
names of the jobs by each `prowJobs` filter (job, org/repo, org, state, type), and what it takes
to count the runs hidden from a caller (spec.hidden, every ref's org and org/repo) without
reading every record.

Kept in step with the cache by the informer (`add` / `remove` per change, `rebuild` after a list);
pure and synchronous. Readers get names; the records stay in the cache.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable, Iterator, Set
from datetime import UTC, datetime
from typing import TypeVar

from prow_graphql.prow.objects import ProwJobRecord, ProwJobState, ProwJobType, Refs

SortKey = tuple[float, str]
K = TypeVar("K")

_EPOCH = datetime.min.replace(tzinfo=UTC)


def newest_first(record: ProwJobRecord) -> SortKey:
    """The page order: newest start time first, then by name (jobs without one sort last)."""
    started = record.start_time or _EPOCH
    return (-started.timestamp(), record.name)


class CacheIndex:
    """Names of cached jobs in name order and newest-first order, and by filter value."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.names: list[str] = []  # sorted: snapshots are read from it in pages
        self.newest: list[SortKey] = []  # sorted: prowJobs pages are read from it
        self._by_job: dict[str, set[str]] = {}
        self._by_org_repo: dict[tuple[str, str], set[str]] = {}
        self._by_org: dict[str, set[str]] = {}
        self._by_state: dict[ProwJobState, set[str]] = {}
        self._by_type: dict[ProwJobType, set[str]] = {}
        self._hidden: set[str] = set()  # spec.hidden
        # Refs other than the primary one (extra_refs; rare): hidden repos match any ref.
        self._by_other_org_repo: dict[tuple[str, str], set[str]] = {}
        self._by_other_org: dict[str, set[str]] = {}

    def rebuild(self, records: Iterable[ProwJobRecord]) -> None:
        """Index exactly `records` (after a list)."""
        self._reset()
        for record in records:
            self._add_to_sets(record)
        self.names = sorted(self._all_names())
        self.newest = sorted(newest_first(r) for r in records)

    def add(self, record: ProwJobRecord) -> None:
        """Index a job new to the cache."""
        bisect.insort(self.names, record.name)
        bisect.insort(self.newest, newest_first(record))
        self._add_to_sets(record)

    def remove(self, record: ProwJobRecord) -> None:
        """Forget a job (`record` as it was indexed)."""
        _discard_sorted(self.names, record.name)
        _discard_sorted(self.newest, newest_first(record))
        name = record.name
        _discard(self._by_job, record.job, name)
        _discard(self._by_state, record.state, name)
        _discard(self._by_type, record.type, name)
        refs = record.primary_refs
        if refs is not None:
            _discard(self._by_org_repo, (refs.org, refs.repo), name)
            _discard(self._by_org, refs.org, name)
        self._hidden.discard(name)
        for other in _other_refs(record):
            _discard(self._by_other_org_repo, (other.org, other.repo), name)
            _discard(self._by_other_org, other.org, name)

    def replace(self, old: ProwJobRecord, new: ProwJobRecord) -> None:
        """A cached job changed; only what moved is re-indexed (usually just its state)."""
        if (
            old.job == new.job
            and old.type is new.type
            and old.start_time == new.start_time
            and old.refs == new.refs
            and old.extra_refs == new.extra_refs
            and old.hidden == new.hidden
        ):
            if old.state is not new.state:
                _discard(self._by_state, old.state, old.name)
                self._by_state.setdefault(new.state, set()).add(new.name)
            return
        self.remove(old)
        self.add(new)

    def candidates(
        self,
        *,
        job: str | None = None,
        org: str | None = None,
        repo: str | None = None,
        state: ProwJobState | None = None,
        type: ProwJobType | None = None,
    ) -> Set[str] | None:
        """The smallest indexed set of names that holds every job matching the filters given;
        None when no filter is indexed (every job is a candidate). A superset when a filter is
        not indexed (repo alone): callers still check each record."""
        sets: list[Set[str]] = []
        if job is not None:
            sets.append(self._by_job.get(job, frozenset()))
        if org is not None and repo is not None:
            sets.append(self._by_org_repo.get((org, repo), frozenset()))
        elif org is not None:
            sets.append(self._by_org.get(org, frozenset()))
        if state is not None:
            sets.append(self._by_state.get(state, frozenset()))
        if type is not None:
            sets.append(self._by_type.get(type, frozenset()))
        return min(sets, key=len) if sets else None

    def hidden_names(self, hidden_repos: Collection[str]) -> Set[str]:
        """Names of the jobs a caller hiding `hidden_repos` may not see (prow/visibility's
        record_hidden: spec.hidden, or any ref in a hidden org or org/repo)."""
        parts: list[Set[str]] = [self._hidden]
        for entry in hidden_repos:
            org, slash, repo = entry.partition("/")
            if slash:
                parts.append(self._by_org_repo.get((org, repo), frozenset()))
                parts.append(self._by_other_org_repo.get((org, repo), frozenset()))
            else:
                parts.append(self._by_org.get(org, frozenset()))
                parts.append(self._by_other_org.get(org, frozenset()))
        non_empty = [p for p in parts if p]
        if len(non_empty) <= 1:
            return non_empty[0] if non_empty else frozenset()
        return set().union(*non_empty)

    def newest_after(self, key: SortKey | None) -> Iterator[SortKey]:
        """Sort keys in page order, starting after `key` (from the start if None)."""
        newest = self.newest
        start = 0 if key is None else bisect.bisect_right(newest, key)
        for i in range(start, len(newest)):
            yield newest[i]

    def _add_to_sets(self, record: ProwJobRecord) -> None:
        name = record.name
        self._by_job.setdefault(record.job, set()).add(name)
        self._by_state.setdefault(record.state, set()).add(name)
        self._by_type.setdefault(record.type, set()).add(name)
        refs = record.primary_refs
        if refs is not None:
            self._by_org_repo.setdefault((refs.org, refs.repo), set()).add(name)
            self._by_org.setdefault(refs.org, set()).add(name)
        if record.hidden:
            self._hidden.add(name)
        for other in _other_refs(record):
            self._by_other_org_repo.setdefault((other.org, other.repo), set()).add(name)
            self._by_other_org.setdefault(other.org, set()).add(name)

    def _all_names(self) -> Iterator[str]:
        for names in self._by_type.values():
            yield from names


def _other_refs(record: ProwJobRecord) -> tuple[Refs, ...]:
    """The refs of `record` besides its primary one (indexed by the filter sets)."""
    return record.extra_refs if record.refs is not None else record.extra_refs[1:]


def _discard_sorted(items: list[SortKey] | list[str], item: SortKey | str) -> None:
    at = bisect.bisect_left(items, item)
    if at < len(items) and items[at] == item:
        del items[at]


def _discard(index: dict[K, set[str]], key: K, name: str) -> None:
    names = index.get(key)
    if names is not None:
        names.discard(name)
        if not names:
            del index[key]
