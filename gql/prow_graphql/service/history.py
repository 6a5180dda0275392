"""How a job has been doing: its runs and their statistics, computed from cached ProwJobRecords.

Pure and synchronous: records in, values out. Reading the cache and deciding whether a job exists
belongs to `Reads`; this module only selects, sorts and counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from prow_graphql.prow.objects import ProwJobRecord, ProwJobState

# Aborted runs are left out of the pass rate: someone stopped them, they did not fail.
_FAILED = frozenset({ProwJobState.FAILURE, ProwJobState.ERROR})


@dataclass(frozen=True, slots=True)
class RunSelector:
    """Which runs of a job: by name, optionally narrowed to an org, repo and base branch.

    Org, repo and branch come from the run's refs (for periodics, the first extra ref), as the
    `prow.k8s.io/refs.*` labels and Deck's filters use them.
    """

    job: str
    org: str | None = None
    repo: str | None = None
    branch: str | None = None

    def matches(self, record: ProwJobRecord) -> bool:
        """Whether `record` is a run of the selected job on the selected repo and branch."""
        if record.job != self.job:
            return False
        if self.org is None and self.repo is None and self.branch is None:
            return True
        refs = record.primary_refs
        if refs is None:
            return False
        return (
            (self.org is None or refs.org == self.org)
            and (self.repo is None or refs.repo == self.repo)
            and (self.branch is None or refs.base_ref == self.branch)
        )


@dataclass(frozen=True, slots=True)
class JobStats:
    """Counts, pass rate and durations of a job's runs (those in the cache)."""

    job: str
    runs: int
    running: int
    succeeded: int
    failed: int
    aborted: int
    pass_rate: float | None
    p50_duration_seconds: float | None
    p90_duration_seconds: float | None
    last_run: ProwJobRecord | None
    last_failure: ProwJobRecord | None


def duration_seconds(record: ProwJobRecord) -> float | None:
    """completionTime - startTime, or None while the run has not finished."""
    if record.start_time is None or record.completion_time is None:
        return None
    return max(0.0, (record.completion_time - record.start_time).total_seconds())


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of `values` (one of the values, never an interpolation)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


_EPOCH = datetime.min.replace(tzinfo=UTC)


def sort_key(record: ProwJobRecord) -> tuple[float, str]:
    """Newest start time first, then by name; a run without a startTime sorts last."""
    started = record.start_time or _EPOCH
    return (-started.timestamp(), record.name)


def newest_first(records: Iterable[ProwJobRecord]) -> list[ProwJobRecord]:
    """`records` in `sort_key` order."""
    return sorted(records, key=sort_key)


def job_stats(job: str, runs: Iterable[ProwJobRecord]) -> JobStats:
    """Statistics over `runs` (already selected): pass rate = successes / (successes +
    failures + errors); p50/p90 over the durations of finished, non-aborted runs."""
    ordered = newest_first(runs)
    succeeded = sum(1 for r in ordered if r.state is ProwJobState.SUCCESS)
    failed = sum(1 for r in ordered if r.state in _FAILED)
    aborted = sum(1 for r in ordered if r.state is ProwJobState.ABORTED)
    durations = [
        d
        for r in ordered
        if r.state is ProwJobState.SUCCESS or r.state in _FAILED
        if (d := duration_seconds(r)) is not None
    ]
    judged = succeeded + failed
    return JobStats(
        job=job,
        runs=len(ordered),
        running=sum(1 for r in ordered if not r.is_final),
        succeeded=succeeded,
        failed=failed,
        aborted=aborted,
        pass_rate=succeeded / judged if judged else None,
        p50_duration_seconds=percentile(durations, 0.5),
        p90_duration_seconds=percentile(durations, 0.9),
        last_run=ordered[0] if ordered else None,
        last_failure=next((r for r in ordered if r.state in _FAILED), None),
    )
