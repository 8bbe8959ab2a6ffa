"""What templates use besides their context: safe outbound links, dates as readers write them,
and the page numbers of a result list."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import Flask

#: China Standard Time (no daylight saving): when the index was built, as readers count time.
CHINA_TIME = timezone(timedelta(hours=8))


def link_url(url: str) -> str | None:
    """``url`` if it is an absolute http(s) address that is safe to link to, else ``None``."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return parts.geturl()


def short_date(value: datetime | None) -> str:
    """``2020-06-20``, or ``2020-06-20 09:53`` when the time of day is known."""
    if value is None or value == datetime.min:
        return ""
    return value.strftime("%Y-%m-%d" if value.time() == datetime.min.time() else "%Y-%m-%d %H:%M")


def long_date(value: datetime | None) -> str:
    """``2020年6月20日``, or ``2020年6月20日 09:53`` when the time of day is known."""
    if value is None or value == datetime.min:
        return ""
    text = f"{value.year}年{value.month}月{value.day}日"
    return text if value.time() == datetime.min.time() else f"{text} {value:%H:%M}"


def local_time(iso: str | None) -> str:
    """An ISO 8601 timestamp (``2020-06-20T01:53:00+00:00``) as ``2020-06-20 09:53`` China time."""
    if not iso:
        return ""
    try:
        value = datetime.fromisoformat(iso)
    except ValueError:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(CHINA_TIME)
    return value.strftime("%Y-%m-%d %H:%M")


def page_numbers(current: int, last: int, around: int = 2) -> list[int | None]:
    """Page links to show: the first, the last and a few around the current one; ``None`` for a gap."""
    shown = {1, last} | set(range(max(1, current - around), min(last, current + around) + 1))
    numbers: list[int | None] = []
    for number in sorted(shown):
        if numbers and number - numbers[-1] > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def install(app: Flask) -> None:
    """Make ``link_url`` a template global and the dates template filters."""
    app.add_template_global(link_url)
    app.add_template_filter(short_date)
    app.add_template_filter(long_date)
    app.add_template_filter(local_time)


__all__ = ["install", "link_url", "local_time", "long_date", "page_numbers", "short_date"]
