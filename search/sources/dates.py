"""Publication dates in the forms Chinese news sites write them.

``2020-06-20 09:53``, ``2020年6月20日 9:53``, ``2020年06月20日09:53``, ``2020/6/20``, ``2020.06.20``,
``20200620``, ISO 8601 (the time as written; an offset is dropped), ``二〇二〇年六月二十日``,
Unix timestamps (read as China time), and ``06-20 09:53`` / ``6月20日`` when the year is known
from elsewhere. Dates are naive :class:`~datetime.datetime` in the time the page gives.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")

_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?:[-/.年])\s*(?P<m>\d{1,2})\s*(?:[-/.月])\s*(?P<d>\d{1,2})(?!\d)\s*日?"
    r"(?:\s*(?:星期.|周.|[（(]星期.[)）]))?"
    r"(?:[T\s]*(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})(?:\s*[:分]\s*(?P<S>\d{1,2}))?)?"
)
_SHORT_DATE = re.compile(
    r"(?<![\d.])(?P<m>\d{1,2})\s*(?:[-/]|月)\s*(?P<d>\d{1,2})(?![\d.])\s*日?"
    r"(?:\s*(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{2}))?(?![\d:])"
)
_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d{2})(0[1-9]|1[0-2])([0-3]\d)(?!\d)")
_NUMERALS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0}
_CHINESE_DATE = re.compile(
    r"([〇零一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*([一二三四五六七八九十]{1,3})\s*日"
)
_URL_DATE = re.compile(
    r"/((?:19|20)\d{2})[-_/]?(0[1-9]|1[0-2])[-_/]?([0-3]\d)(?=[/_.\-]|$)"
    r"|[/_t]((?:19|20)\d{2})(0[1-9]|1[0-2])([0-3]\d)[_/.]",
)
#: Unix timestamps are read in China Standard Time, the time the sites themselves show.
CHINA_TIME = timedelta(hours=8)


def _half_width(match: re.Match) -> str:
    char = match.group()
    return " " if char == "\u3000" else chr(ord(char) - 0xFEE0)


def _make_date(y, m, d, hh=None, mm=None, ss=None) -> datetime | None:
    try:
        return datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    except (TypeError, ValueError):
        return None


def _chinese_number(text: str) -> int:
    if len(text) == 4:  # a year, digit by digit
        return int("".join(str(_NUMERALS[c]) for c in text))
    if "十" not in text:
        return _NUMERALS[text]
    tens, _, units = text.partition("十")
    return (_chinese_number(tens) if tens else 1) * 10 + (_chinese_number(units) if units else 0)


def from_timestamp(value: float) -> datetime | None:
    """A Unix timestamp (seconds, or milliseconds when it is that large) in China time."""
    if value > 1e11:
        value /= 1000
    try:
        return (datetime.fromtimestamp(value, UTC) + CHINA_TIME).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def parse_date(text, year: int | None = None) -> datetime | None:
    """The first date (and time) in ``text``, in the usual Chinese and ISO forms, else ``None``.

    :param text: a string, or a number taken as a Unix timestamp
    :param year: the year to assume for a date written without one (``06-20 09:53``)
    """
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return from_timestamp(text) if text > 1e8 else None
    text = str(text)
    if len(text) >= 10 and text[4:5] == "-" and text[:4].isdigit():
        try:  # ISO 8601, the common case of JSON exports: no regular expression needed
            return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            pass
    text = _FULL_WIDTH.sub(_half_width, text)
    if not text.strip():
        return None
    for match in _DATE.finditer(text):
        date = _make_date(*match.group("y", "m", "d", "H", "M", "S"))
        if date:
            return date
    match = _CHINESE_DATE.search(text)
    if match:
        date = _make_date(*(_chinese_number(part) for part in match.groups()))
        if date:
            return date
    for match in _COMPACT.finditer(text):
        date = _make_date(*match.groups())
        if date:
            return date
    stripped = text.strip()
    if stripped.isdigit() and len(stripped) in (10, 13):
        return from_timestamp(int(stripped))
    if year is not None:
        for match in _SHORT_DATE.finditer(text):
            date = _make_date(year, *match.group("m", "d", "H", "M"))
            if date:
                return date
    return None


def has_time(text: str) -> bool:
    """Whether ``text`` holds a clock time (``09:53``)."""
    return bool(re.search(r"\d{1,2}\s*[:：时]\s*\d{2}", text))


def date_from_url(url: str) -> datetime | None:
    """The date many news sites put in their article URLs (``/2020/06-20/``, ``/20200620/``, ``t20200620_``)."""
    if not url:
        return None
    for match in _URL_DATE.finditer(url):
        parts = [g for g in match.groups() if g]
        date = _make_date(*parts)
        if date:
            return date
    return None


def year_in(text: str) -> int | None:
    """A year written in ``text`` (``2020``, between 1990 and 2099), else ``None``."""
    match = re.search(r"(?<!\d)((?:19[89]|20\d)\d)(?!\d)", text or "")
    return int(match.group(1)) if match else None


_ANY_DATE = re.compile(
    _DATE.pattern
    + r"|"
    + _CHINESE_DATE.pattern
    + r"|(?<![\d.])\d{1,2}\s*(?:[-/]|月)\s*\d{1,2}(?![\d.])\s*日?(?:\s*\d{1,2}\s*[:：时]\s*\d{2}(?:\s*[:：分]\s*\d{2})?)?"
    + r"|(?<!\d)\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?(?!\d)"
)


def without_dates(text: str) -> str:
    """``text`` with its dates and clock times blanked out (to find the words around them)."""
    return _ANY_DATE.sub(" ", _FULL_WIDTH.sub(_half_width, text))


def has_full_date(text: str) -> bool:
    """Whether ``text`` holds a date with its year."""
    text = _FULL_WIDTH.sub(_half_width, text)
    return any(_make_date(*m.group("y", "m", "d")) for m in _DATE.finditer(text)) or bool(_CHINESE_DATE.search(text))
