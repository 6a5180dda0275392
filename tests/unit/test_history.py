"""service.history: run selection, nearest-rank percentiles and stats, from literal records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prow_graphql.prow.objects import ProwJobRecord, ProwJobState, ProwJobType, Refs
from prow_graphql.service.history import RunSelector, job_stats, percentile

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(
    name: str, state: str, minute: int, seconds: int | None, branch: str = "main"
) -> ProwJobRecord:
    start = T0 + timedelta(minutes=minute)
    return ProwJobRecord(
        name=name,
        namespace="default",
        resource_version="1",
        type=ProwJobType.PRESUBMIT,
        job="unit",
        state=ProwJobState(state),
        refs=Refs(org="o", repo="r", base_ref=branch),
        start_time=start,
        completion_time=None if seconds is None else start + timedelta(seconds=seconds),
    )


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.9) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert percentile([float(v) for v in range(1, 11)], 0.9) == 9.0


def test_stats_leave_aborted_and_running_runs_out_of_rate_and_durations() -> None:
    runs = [
        run("a", "success", 0, 60),
        run("b", "error", 1, 120),
        run("c", "aborted", 2, 5),
        run("d", "pending", 3, None),
    ]
    stats = job_stats("unit", runs)
    assert (stats.runs, stats.running, stats.succeeded, stats.failed, stats.aborted) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert stats.pass_rate == 0.5
    assert (stats.p50_duration_seconds, stats.p90_duration_seconds) == (60.0, 120.0)
    assert stats.last_run is not None and stats.last_run.name == "d"
    assert stats.last_failure is not None and stats.last_failure.name == "b"


def test_selector_matches_job_repo_and_branch() -> None:
    record = run("a", "success", 0, 1, branch="release")
    assert RunSelector("unit").matches(record)
    assert RunSelector("unit", org="o", repo="r", branch="release").matches(record)
    assert not RunSelector("unit", branch="main").matches(record)
    assert not RunSelector("other").matches(record)
