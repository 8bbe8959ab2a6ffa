"""Page dumps: a news web page saved as text, with the site's menus and footer around the article.

The layout of such a page is the same on most Chinese news sites, whatever their markup was::

    menus, breadcrumb            当前位置：首页 > 动态
    title                        市委常委会召开会议 …
    metadata line                2020-06-20 09:53  来源：重庆日报  作者：…
    (share buttons, 原标题)       分享到：微信 微博
    article paragraphs
    bylines                      文|杨帆   记者 张三   编辑：…
    tail                         返回搜狐，查看更多 / 责任编辑：… / 相关新闻 / Copyright … ICP …

The metadata line (a short line near the top holding a date, a source or both) anchors the rest:
the title is the headline above it, the article starts below it and ends at the first line that
only ever follows an article (editor, related links, disclaimer, copyright).
"""

from __future__ import annotations

import os
import re
from datetime import datetime

from ..errors import SourceError
from ..traditional import to_simplified
from . import boilerplate as bp
from .article import Article
from .dates import date_from_url, has_full_date, has_time, parse_date, without_dates, year_in

#: How far into a page its metadata line is looked for.
HEADER_LINES = 40
_META_KEY = re.compile(r"来源|来自|稿源|发布|时间|日期|作者|编辑|记者|责编|浏览|阅读|点击|评论|字号|出处|供稿")
_TODAY = re.compile(r"今天是|今日是|星期|农历|天气|气温|欢迎")
_ORIGINAL_TITLE = re.compile(r"^原标题\s*[:：]")
_SUBTITLE = re.compile(r"^[—－\-]{1,2}")
_URL = re.compile(r"https?://[^\s\"'<>()（）]+")
_COPYRIGHT_YEAR = re.compile(
    r"(?:©|\(c\)|copyright)[^\n]{0,20}?((?:19|20)\d{2})(?:\s*[-–—~]\s*((?:19|20)\d{2}))?", re.I
)
_CLAUSE_END = re.compile(r"[。；;，,、]$")
_BODY_YEAR = re.compile(r"((?:19[89]|20\d)\d)年")


def read_page(path: str, text: str) -> Article:
    """One article from a web page saved as text: title, date, source, byline and clean body.

    :raises SourceError: when no article text can be found
    """
    lines = bp.text_lines(text)
    if not lines:
        raise SourceError(path, "empty file")
    page = _Page(path, text, lines)
    return page.article()


class _Page:
    def __init__(self, path: str, text: str, lines: list[str]):
        self.path = path
        self.text = text
        self.lines = lines
        self._year: int | None | bool = False
        self.bylines: list[str] = []

    # The year for dates written without one --------------------------------------------------------

    @property
    def year(self) -> int | None:
        if self._year is False:
            self._year = self._context_year()
        return self._year  # type: ignore[return-value]

    def _context_year(self) -> int | None:
        year = year_in(os.path.basename(self.path))
        if year:
            return year
        for url in _URL.findall(self.text):
            date = date_from_url(url)
            if date:
                return date.year
        match = _COPYRIGHT_YEAR.search(self.text)
        if match:
            return int(match.group(2) or match.group(1))
        match = _BODY_YEAR.search(self.text)
        return int(match.group(1)) if match else None

    # Metadata line ---------------------------------------------------------------------------------

    def _date_of(self, line: str) -> datetime | None:
        """The date a metadata-like line holds (with its year, or a day and time in this year)."""
        if len(line) > 100 or "。" in line or _CLAUSE_END.search(line):
            return None
        if has_full_date(line):
            return parse_date(line)
        if has_time(line) or _META_KEY.search(to_simplified(line)):
            return parse_date(line, year=self.year)
        return None

    def _meta_index(self) -> tuple[int | None, datetime | None]:
        best: tuple[int, int, datetime] | None = None
        for index, line in enumerate(self.lines[:HEADER_LINES]):
            date = self._date_of(line)
            if date is None:
                continue
            score = 0
            if _META_KEY.search(to_simplified(line)) or bp.source_of(without_dates(line)):
                score += 2
            if has_time(line):
                score += 1
            if index and self._is_title_candidate(self.lines[index - 1]):
                score += 1
            if _TODAY.search(to_simplified(line)):
                score -= 3
            if best is None or score > best[0]:
                best = (score, index, date)
        if best is None or best[0] < 0:
            return None, None
        return best[1], best[2]

    def _is_meta(self, line: str) -> bool:
        if len(line) > 100 or "。" in line:
            return False
        if bp.is_share(line) or _ORIGINAL_TITLE.match(to_simplified(line)):
            return True
        if _META_KEY.search(to_simplified(line)) and (re.search(r"[:：]", line) or self._date_of(line)):
            return not bp.is_end(line) or bool(re.search(r"来源|作者", to_simplified(line)))
        rest = without_dates(line).strip()
        return bool(rest) and bp.source_of(rest) == rest.strip("【】[]()（）")

    # Title -----------------------------------------------------------------------------------------

    def _is_title_candidate(self, line: str, names: bool = False) -> bool:
        return (
            4 <= len(line) <= 100
            and (names or not _is_source_name(line))
            and not bp.is_nav(line)
            and not bp.is_furniture(line)
            and not bp.ends_sentence(line)
            and "。" not in line
        )

    def _title_above(self, meta: int, shortest: int = 6) -> str:
        run: list[str] = []
        for line in reversed(self.lines[max(0, meta - 6) : meta]):
            # Section names above a date line (新闻中心, 本地新闻) are short; headlines are not.
            if not self._is_title_candidate(line, names=shortest < 6) or len(line) < shortest:
                if run:
                    break
                continue
            run.insert(0, line)
        # A page title ("标题_新浪新闻") beside the headline it repeats, and subtitles, are not it.
        run = [
            line
            for line in run
            if not _SUBTITLE.match(line)
            and not any(
                other != line and line.startswith(other) and re.match(r"\s*[_|｜\-–—]", line[len(other) :])
                for other in run
            )
        ] or run
        return max(run, key=len) if run else ""

    # The article -----------------------------------------------------------------------------------

    def article(self) -> Article:
        lines = self.lines
        meta, published = self._meta_index()
        source = ""
        if meta is not None:
            title = self._title_above(meta)
            start = meta + 1
            source = bp.source_of(without_dates(lines[meta]))
            if not source and meta and _is_source_name(lines[meta - 1]):
                source = lines[meta - 1]  # the paper or account named just above its date
            self._take_byline_parts(lines[meta])
            # More metadata lines (source, author, share buttons) between it and the article.
            while start < len(lines) and (self._is_meta(lines[start]) or bp.is_nav(lines[start])):
                source = source or bp.source_of(without_dates(lines[start]))
                self._take_byline_parts(lines[start])
                start += 1
            if not title:
                # An e-paper layout: the date line stands above the headline.
                if start < len(lines) and self._is_title_candidate(lines[start]) and len(lines[start]) <= 60:
                    title = lines[start]
                    start += 1
                else:
                    title = self._title_above(meta, shortest=4)
        else:
            start = 0
            while start < min(len(lines), HEADER_LINES) and (bp.is_nav(lines[start]) or bp.is_furniture(lines[start])):
                start += 1
            title = ""
            if start < len(lines) - 1 and self._is_title_candidate(lines[start]) and len(lines[start]) <= 60:
                title = lines[start]
                start += 1

        body, bylines, end = article_body(lines[start:], title)
        self.bylines.extend(bylines)
        tail = lines[start + end :]
        if not source:
            source = next((s for s in (bp.source_of(line) for line in tail if "来源" in to_simplified(line)) if s), "")
        if published is None:
            published = self._tail_date(tail)
        if not body:
            raise SourceError(self.path, "no article text found in page")
        lead = bp.lead_byline(body)
        if lead:
            self.bylines.insert(0, lead)
        return Article(
            id="",
            title=title,
            body=body,
            published=published,
            source=source,
            byline="; ".join(dict.fromkeys(self.bylines)),
            path=self.path,
        )

    def _take_byline_parts(self, line: str) -> None:
        for part in re.split(r"\s{2,}|[|｜丨]\s*(?=\S+[:：])|\s+(?=\S{1,4}[:：])", line):
            byline = bp.byline_of(part.strip())
            if byline:
                self.bylines.append(byline)

    def _tail_date(self, tail: list[str]) -> datetime | None:
        for line in tail:
            if re.search(r"发布|时间|日期", to_simplified(line)) and not bp.is_end(line):
                date = self._date_of(line)
                if date:
                    return date
        return None


def _is_source_name(line: str) -> bool:
    """A line that is nothing but a paper, site or station name (重庆日报, 上游新闻)."""
    return len(line) <= 12 and bp.source_of(line) == line


def article_body(lines: list[str], title: str) -> tuple[str, list[str], int]:
    """The article in the lines below a page's headline, the bylines around it, and where it ended.

    :returns: ``(body, bylines, end)``: ``lines[end:]`` is the page's tail
    """
    bylines: list[str] = []
    # The article ends at the first line that only ever follows one.
    end = next((i for i, line in enumerate(lines) if i and bp.is_end(line)), len(lines))
    in_tail = [b for b in map(bp.byline_of, lines[end:]) if b]
    body = lines[:end]
    # The headline repeated at the top of the body (split over lines), 原标题, share buttons.
    compact_title = re.sub(r"\s+", "", title)
    while body and (
        (compact_title and len(body[0]) <= len(compact_title) and re.sub(r"\s+", "", body[0]) in compact_title)
        or _ORIGINAL_TITLE.match(to_simplified(body[0]))
        or bp.is_share(body[0])
        or bp.is_nav(body[0])
    ):
        body.pop(0)
    # Bylines and footer lines at its end.
    trailing: list[str] = []
    while body:
        line = body[-1]
        byline = bp.byline_of(line)
        if byline:
            trailing.insert(0, byline)
        elif not (bp.is_furniture(line) or bp.is_contact(line) or (len(line) <= 2 and "完" not in line)):
            break
        body.pop()
    kept: list[str] = []
    for line in body:
        if bp.is_furniture(line):
            continue
        byline = bp.byline_of(line) if len(line) <= 40 else None
        if byline and len(kept) <= 2:
            # A byline line under the headline (记者 张三 通讯员 李四).
            bylines.append(byline)
            continue
        kept.append(line)
    return "\n".join(kept).strip(), bylines + trailing + in_tail, end
