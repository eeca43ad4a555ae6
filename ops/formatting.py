"""Output helpers: aligned text tables, UTC times, durations and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

EMPTY = "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns separated by two spaces; None and '' show as '-', ' ' as blank."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(value))
    lines = [_line(headers, widths), _line(["-" * w for w in widths], widths)]
    lines.extend(_line(row, widths) for row in cells)
    return "\n".join(lines)


def _line(values: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()


def _cell(value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, float):
        return f"{value:.4f}"
    return " ".join(str(value).split())  # one line per row, whatever the text holds


def format_time(value: datetime | None) -> str:
    """'2026-11-23 03:15:07Z' (UTC), or '-'."""
    if value is None:
        return EMPTY
    return to_utc(value).strftime("%Y-%m-%d %H:%M:%SZ")


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with 'Z', for JSON output."""
    if value is None:
        return None
    return to_utc(value).isoformat().replace("+00:00", "Z")


def format_duration(seconds: float | None) -> str:
    """'42s', '3m07s', '2h05m', '1d03h'; '-' when unknown."""
    if seconds is None:
        return EMPTY
    total = int(max(seconds, 0))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """end - start in seconds, or None when either is unknown."""
    if start is None or end is None:
        return None
    return (to_utc(end) - to_utc(start)) / timedelta(seconds=1)


def shorten(text: str | None, limit: int = 80) -> str | None:
    """One line, at most `limit` characters (ends with '...' when cut)."""
    if text is None:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def to_json(value: Any) -> str:
    """Indented, key-sorted JSON; datetimes as ISO 8601 UTC."""

    def default(item: Any) -> Any:
        if isinstance(item, datetime):
            return iso(item)
        raise TypeError(f"not JSON serializable: {type(item).__name__}")

    return json.dumps(value, indent=2, sort_keys=True, default=default)


@dataclass(frozen=True)
class Result:
    """A command's outcome: `data` for --json, `text` for people; exit_code 0 or 1."""

    data: Any
    text: str
    exit_code: int = 0
