"""What the CLI prints: job tables, progress lines, and a live line for terminals.

Formatting is pure (strings in, strings out); only `Progress` writes, to the stream it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

FINAL_STATES = ("SUCCESS", "FAILURE", "ABORTED", "ERROR")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, without trailing blanks."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *rows)
    ]
    return "\n".join(lines)


def branches(job: Mapping[str, Any]) -> str:
    """`main,release-1` for listed branches, `*` for all; skipped branches as `!name`."""
    names = list(job.get("branches") or []) or ["*"]
    names += [f"!{b}" for b in job.get("skipBranches") or []]
    return ",".join(names)


def yes_no(value: bool | None) -> str:
    """yes / no, or - where the field does not apply (optional for postsubmits)."""
    return "-" if value is None else ("yes" if value else "no")


def elapsed(seconds: float) -> str:
    """`4.2s` under a minute, `3m07s` above."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def progress_key(job: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a progress line shows; a new line is printed only when this changes."""
    return (job.get("state"), job.get("buildId"), job.get("logLink") or job.get("url"))


def progress_line(job: Mapping[str, Any], seconds: float) -> str:
    """`[  4.2s] PENDING    build 1234  https://…/log` for one state of a ProwJob."""
    parts = [f"[{elapsed(seconds):>7}]", f"{job.get('state', '?'):<10}"]
    if job.get("buildId"):
        parts.append(f"build {job['buildId']}")
    link = job.get("logLink") or job.get("url")
    if link:
        parts.append(str(link))
    return " ".join(parts).rstrip()


class Progress:
    """Prints progress: plain lines on pipes and files, one rewritten line on a terminal
    (`width`: the terminal's, 0 for unknown)."""

    def __init__(self, stream: TextIO, *, live: bool, width: int = 0) -> None:
        self._stream = stream
        self._live = live
        self._width = width
        self._last_key: tuple[Any, ...] | None = None
        self._job: Mapping[str, Any] | None = None
        self._last_line = ""

    def update(self, job: Mapping[str, Any], seconds: float) -> None:
        """Show a new state of the job (plain mode: only when state, BuildID or link changed)."""
        self._job = job
        key = progress_key(job)
        if self._live:
            self._draw(progress_line(job, seconds))
        elif key != self._last_key:
            self._stream.write(progress_line(job, seconds) + "\n")
            self._stream.flush()
        self._last_key = key

    def tick(self, seconds: float) -> None:
        """Refresh the elapsed time of the live line (no-op on pipes)."""
        if self._live and self._job is not None:
            self._draw(progress_line(self._job, seconds))

    def print_above(
        self, lines: Sequence[str], *, err: TextIO | None = None, notice: str = ""
    ) -> None:
        """Print log `lines` (and a `notice` on `err`) above the live line, then redraw it."""
        if self._live and self._job is not None:
            self._stream.write("\r\x1b[K")
        for line in lines:
            self._stream.write(line + "\n")
        self._stream.flush()
        if notice:
            (err or self._stream).write(notice + "\n")
            (err or self._stream).flush()
        if self._live and self._job is not None and self._last_line:
            self._draw(self._last_line)

    def close(self) -> None:
        """End the live line so that later output starts on a fresh line."""
        if self._live and self._job is not None:
            self._stream.write("\n")
            self._stream.flush()
            self._job = None

    def _draw(self, line: str) -> None:
        # A wrapped line could not be rewritten in place: cut it to the terminal's width.
        if self._width > 1 and len(line) >= self._width:
            line = line[: self._width - 2] + "…"
        self._last_line = line
        # \r returns to the line's start, ESC[K clears what the previous, longer line left.
        self._stream.write(f"\r{line}\x1b[K")
        self._stream.flush()
