"""Prow's cron syntax check: robfig/cron v3 with SecondOptional | Minute | Hour | Dom | Month | Dow
| Descriptor, as `pkg/config` builds its `cronParser`. Validation only (horologium schedules).

No maintained Python library parses this dialect (croniter has no optional seconds field, treats
`?` and day-of-week 7 differently and has no `@every`), so this is a small parser of the grammar;
the messages follow robfig's, so Prow's table cases read the same here. Pure.
"""

from __future__ import annotations

import re
import zoneinfo

__all__ = ["cron_error", "go_duration_error"]

_DESCRIPTORS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# (min, max, names) of second, minute, hour, day of month, month, day of week
_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}),
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, _MONTHS),
    (0, 6, _DAYS),
)
_GO_DURATION = re.compile(r"[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)")
_ATOI = re.compile(r"[-+]?\d+")


def go_duration_error(text: str) -> str | None:
    """None when Go's time.ParseDuration accepts `text`, else Go's message."""
    if _GO_DURATION.fullmatch(text):
        return None
    return f'time: invalid duration "{text}"'


def _int_or_name(expr: str, names: dict[str, int]) -> int:
    if names and expr.lower() in names:
        return names[expr.lower()]
    if not _ATOI.fullmatch(expr):
        raise ValueError(f"failed to parse int from {expr}")
    value = int(expr)
    if value < 0:
        raise ValueError(f"negative number ({value}) not allowed: {expr}")
    return value


def _check_range(expr: str, low: int, high: int, names: dict[str, int]) -> None:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = low, high
    else:
        start = _int_or_name(low_and_high[0], names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], names)
        else:
            raise ValueError(f"too many hyphens: {expr}")
    if len(range_and_step) == 2:
        step = _int_or_name(range_and_step[1], {})
        if len(low_and_high) == 1:  # "N/step" means "N-max/step"
            end = high
    elif len(range_and_step) > 2:
        raise ValueError(f"too many slashes: {expr}")
    else:
        step = 1
    if start < low:
        raise ValueError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise ValueError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise ValueError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ValueError(f"step of range should be a positive number: {expr}")


def cron_error(spec: str) -> str | None:
    """None when Prow's cron parser accepts `spec`, else robfig's error message."""
    try:
        _parse(spec)
    except ValueError as exc:
        return str(exc)
    return None


def _parse(spec: str) -> None:
    if not spec:
        raise ValueError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        rest = spec.split("=", 1)[1]
        name, _, spec = rest.partition(" ")
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"provided bad location {name}: {exc}") from exc
        spec = spec.strip()
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return
        if spec.startswith("@every "):
            duration = spec[len("@every ") :]
            if go_duration_error(duration) is not None:
                raise ValueError(f"failed to parse duration {spec}: {go_duration_error(duration)}")
            return
        raise ValueError(f"unrecognized descriptor: {spec}")
    fields = spec.split()
    if len(fields) not in (5, 6):
        shown = "[" + " ".join(fields) + "]"
        raise ValueError(f"expected 5 to 6 fields, found {len(fields)}: {shown}")
    if len(fields) == 5:
        fields = ["0", *fields]  # the optional seconds field
    for field, (low, high, names) in zip(fields, _BOUNDS, strict=True):
        for expr in (part for part in field.split(",") if part):  # Go's FieldsFunc
            _check_range(expr, low, high, names)
