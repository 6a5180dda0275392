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
    """The figures for one follower count N."""

    n: int
    gateway_p50: float
    gateway_p99: float
    gateway_max: float
    polling_p50: float
    polling_p99: float
    gateway_rps: float
    polling_rps: float
    rss_per_subscriber_kib: float
    rss_after_mib: float
    samples: int
    missing: int
    polling_missing: int
    polling_failures: int

    @property
    def ratio(self) -> float:
        """How many times lower the gateway's median latency is than polling's."""
        return self.polling_p50 / self.gateway_p50 if self.gateway_p50 > 0 else math.inf

    def summary(self) -> str:
        return (
            f"gateway p50 {self.gateway_p50:.1f} ms p99 {self.gateway_p99:.1f} ms; "
            f"polling p50 {self.polling_p50:.1f} ms; ratio {self.ratio:.0f}x"
        )


_HEADER = (
    ("followers", "{:>9}"),
    ("push p50", "{:>8}"),
    ("push p99", "{:>8}"),
    ("push max", "{:>8}"),
    ("poll p50", "{:>8}"),
    ("poll p99", "{:>8}"),
    ("p50 ratio", "{:>9}"),
    ("API req/s push", "{:>14}"),
    ("API req/s poll", "{:>14}"),
    ("RSS/subscriber", "{:>14}"),
)


def _cells(row: Row) -> list[str]:
    return [
        f"{row.n:,}",
        f"{row.gateway_p50:.1f}",
        f"{row.gateway_p99:.1f}",
        f"{row.gateway_max:.1f}",
        f"{row.polling_p50:.0f}",
        f"{row.polling_p99:.0f}",
        f"{row.ratio:.0f}x",
        f"{row.gateway_rps:.2f}",
        f"{row.polling_rps:.1f}",
        f"{row.rss_per_subscriber_kib:.1f} KiB",
    ]


def render(
    rows: Sequence[Row],
    args: argparse.Namespace,
    environment: str,
    gateway_requests: dict[str, int],
    elapsed: float,
) -> str:
    """The table, with what each column means and what the run could not measure."""
    lines = [
        "prow-graphql bench: push (GraphQL subscription via the gateway) vs poll (GET every "
        f"{args.poll_period * 1000:.0f} ms); latencies in ms from the PATCH to each follower",
        f"  {environment}; {args.changes} changes per N and side (+{args.warmup} warm-up); "
        f"API requests counted over {args.window:.0f} s with the followers attached",
        "",
        " | ".join(fmt.format(title) for title, fmt in _HEADER),
        "-+-".join("-" * len(fmt.format(title)) for title, fmt in _HEADER),
    ]
    for row in rows:
        cells = _cells(row)
        lines.append(" | ".join(fmt.format(c) for c, (_, fmt) in zip(cells, _HEADER, strict=True)))
    lines.append("")
    for row in rows:
        notes = [f"{row.samples} push samples", f"gateway RSS {row.rss_after_mib:.1f} MiB"]
        if row.missing:
            notes.append(f"{row.missing} push deliveries MISSING")
        if row.polling_missing:
            notes.append(f"{row.polling_missing} changes no poller saw")
        if row.polling_failures:
            notes.append(f"{row.polling_failures} failed polls")
        lines.append(f"  N={row.n:,}: " + ", ".join(notes))
    made = ", ".join(f"{count} {verb}" for verb, count in sorted(gateway_requests.items()))
    lines.append(f"  the gateway's own API requests over the whole run: {made or 'none'}")
    lines.append(f"  run time {elapsed:.0f} s")
    return "\n".join(lines)
