"""A timeline of matching articles: bars per month, or per year when the span is long.

Built from the ``month`` facet of a search (which ignores the date filter, like ``year``), so a
chart can show where the chosen period stands and offer the others. The period shown is the date
filter widened to whole years, or everything when there is none; more than
:data:`MAX_MONTHS` months are shown as years. Each bar knows its first and last day, so a click
(a link) can filter to it.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

#: Longest span drawn month by month.
MAX_MONTHS = 36


@dataclass(frozen=True)
class Bar:
    """One month or year."""

    label: str  # 2020-06 or 2020
    start: date
    end: date
    count: int
    selected: bool  # inside the current date filter (all bars when there is none)


@dataclass(frozen=True)
class Timeline:
    unit: str  # "month" or "year"
    bars: tuple[Bar, ...]

    @property
    def highest(self) -> int:
        return max((bar.count for bar in self.bars), default=0)

    @property
    def total(self) -> int:
        return sum(bar.count for bar in self.bars)

    def to_dict(self) -> dict:
        """Plain JSON types: ``{"unit": ..., "bars": [{"label", "start", "end", "count", "selected"}]}``."""
        return {
            "unit": self.unit,
            "bars": [
                {
                    "label": bar.label,
                    "start": bar.start.isoformat(),
                    "end": bar.end.isoformat(),
                    "count": bar.count,
                    "selected": bar.selected,
                }
                for bar in self.bars
            ],
        }


def _month(label: str) -> tuple[int, int]:
    year, month = label.split("-")
    return int(year), int(month)


def build(months: Iterable, date_from: str | date | None = None, date_to: str | date | None = None) -> Timeline | None:
    """The timeline for a ``month`` facet (values ``YYYY-MM`` with counts) and the date filter.

    :returns: ``None`` when no matching article has a date
    """
    counts = {}
    for facet in months:
        counts[_month(facet.value)] = facet.count
    if not counts:
        return None
    start = _as_date(date_from)
    end = _as_date(date_to)
    first, last = min(counts), max(counts)
    if start or end:
        # The filter's years (so a chosen month is seen among its neighbours), within the data.
        lo = (start.year, 1) if start else first
        hi = (end.year, 12) if end else last
        lo, hi = max(lo, min(first, hi)), min(hi, max(last, lo))
        if lo > hi:
            lo, hi = hi, lo
    else:
        lo, hi = first, last
    span = (hi[0] - lo[0]) * 12 + hi[1] - lo[1] + 1
    bars = []
    if span <= MAX_MONTHS:
        year, month = lo
        while (year, month) <= hi:
            first_day = date(year, month, 1)
            last_day = date(year, month, calendar.monthrange(year, month)[1])
            bars.append(
                Bar(
                    f"{year:04d}-{month:02d}",
                    first_day,
                    last_day,
                    counts.get((year, month), 0),
                    _inside(first_day, last_day, start, end),
                )
            )
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return Timeline("month", tuple(bars))
    for year in range(lo[0], hi[0] + 1):
        count = sum(n for (y, _), n in counts.items() if y == year)
        first_day, last_day = date(year, 1, 1), date(year, 12, 31)
        bars.append(Bar(str(year), first_day, last_day, count, _inside(first_day, last_day, start, end)))
    return Timeline("year", tuple(bars))


def _as_date(value) -> date | None:
    if not value:
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _inside(first: date, last: date, start: date | None, end: date | None) -> bool:
    return (start is None or last >= start) and (end is None or first <= end)


__all__ = ["Bar", "MAX_MONTHS", "Timeline", "build"]
