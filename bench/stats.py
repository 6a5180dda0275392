"""Percentiles and the one table `make bench` prints."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile with linear interpolation between ranks (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Row:
    """The figures for one follower count N (latencies in ms)."""

    n: int
    push_p50: float
    push_p99: float
    push_max: float
    poll_p50: float
    poll_p99: float
    floor_p50: float
    floor_p99: float
    push_rps: float
    poll_rps: float
    rss_per_subscriber_kib: float
    rss_after_mib: float
    patch_p50: float
    gateway_cpu_ms: float
    floor_cpu_ms: float
    samples: int
    push_missing: int
    poll_missing: int
    poll_failures: int

    @property
    def ratio(self) -> float:
        """How many times lower the push median latency is than the polling median."""
        return self.poll_p50 / self.push_p50 if self.push_p50 > 0 else math.inf

    def summary(self) -> str:
        return (
            f"push p50 {self.push_p50:.1f} ms p99 {self.push_p99:.1f} ms; "
            f"poll p50 {self.poll_p50:.0f} ms; ratio {self.ratio:.0f}x; "
            f"floor p99 {self.floor_p99:.1f} ms"
        )


_COLUMNS = (
    ("followers", 9),
    ("push p50", 8),
    ("push p99", 8),
    ("poll p50", 8),
    ("poll p99", 8),
    ("p50 ratio", 9),
    ("API req/s push", 14),
    ("API req/s poll", 14),
    ("RSS/subscriber", 14),
    ("floor p99", 9),
)


def _cells(row: Row) -> list[str]:
    return [
        f"{row.n:,}",
        f"{row.push_p50:.1f}",
        f"{row.push_p99:.1f}",
        f"{row.poll_p50:.0f}",
        f"{row.poll_p99:.0f}",
        f"{row.ratio:.0f}x",
        f"{row.push_rps:.2f}",
        f"{row.poll_rps:.1f}",
        f"{row.rss_per_subscriber_kib:.1f} KiB",
        f"{row.floor_p99:.1f}",
    ]


def render(
    rows: Sequence[Row],
    args: argparse.Namespace,
    environment: str,
    gateway_requests: dict[str, int],
    elapsed: float,
) -> str:
    """The table, then per-N notes (sample counts, misses) and the gateway's own API requests."""
    period = f"{args.poll_period * 1000:.0f} ms"
    lines = [
        f"prow-graphql bench: push = GraphQL subscription through the gateway; poll = GET every "
        f"{period} (the old service); floor = bare writes to plain sockets",
        f"latencies in ms from just before the status PATCH to each follower's first sight; "
        f"{args.changes} changes per N and side (+{args.warmup} warm-up); API requests counted "
        f"over {args.window:.0f} s with the followers attached",
        environment,
        "",
        " | ".join(title.rjust(width) for title, width in _COLUMNS),
        "-+-".join("-" * width for _, width in _COLUMNS),
    ]
    for row in rows:
        cells = _cells(row)
        lines.append(" | ".join(c.rjust(w) for c, (_, w) in zip(cells, _COLUMNS, strict=True)))
    lines.append("")
    for row in rows:
        notes = [
            f"{row.samples} push samples (max {row.push_max:.1f})",
            f"floor p50 {row.floor_p50:.1f}",
            f"PATCH round trip p50 {row.patch_p50:.1f}",
            f"gateway CPU {row.gateway_cpu_ms:.1f} ms per change (floor process "
            f"{row.floor_cpu_ms:.1f})",
            f"gateway RSS {row.rss_after_mib:.1f} MiB",
        ]
        if row.push_missing:
            notes.append(f"{row.push_missing} push deliveries MISSING")
        if row.poll_missing:
            notes.append(f"{row.poll_missing} poll sightings missing")
        if row.poll_failures:
            notes.append(f"{row.poll_failures} failed polls")
        lines.append(f"  N={row.n:,}: " + ", ".join(notes))
    made = ", ".join(f"{count} {verb}" for verb, count in sorted(gateway_requests.items()))
    lines.append(f"  the gateway's own API requests during the whole run: {made or 'none'}")
    lines.append(f"  run time {elapsed:.0f} s")
    return "\n".join(lines)
