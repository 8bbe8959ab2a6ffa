"""Readers for news source files: each turns a file into :class:`Article` records.

Supported here: page dumps (``.txt``: a web page saved as text, with the site's navigation and
footer around the article) and JSON Lines (``.jsonl``, ``.jsonl.gz``) of
``{id, title, body, date, source, url}`` records.

A file (or a JSON line) that cannot be read is reported as a :class:`~search.errors.SourceError`
carrying its path and a one-line reason, and skipped; the rest is read.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from .errors import SourceError


@dataclass(frozen=True)
class Article:
    """One news article, as read from a source file."""

    id: str
    title: str
    body: str
    published: datetime | None = None
    source: str = ""
    url: str = ""
    byline: str = ""
    path: str = ""
    digest: str = field(default="", compare=False)

    def __post_init__(self):
        if not self.digest:
            object.__setattr__(self, "digest", text_digest(self.body or self.title))


def normalise_text(text: str) -> str:
    """Text reduced for identity: NFKC, no spaces, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def text_digest(text: str) -> str:
    """A stable hash of the normalised text (hex, 20 characters)."""
    return hashlib.sha1(normalise_text(text).encode("utf-8")).hexdigest()[:20]


def headline(article_title: str, body: str, limit: int = 60) -> str:
    """The title to show: the article's own, else the first sentence of the body, shortened."""
    if article_title.strip():
        return article_title.strip()
    first = re.split(r"(?<=[。！？!?])|\n", body.strip(), maxsplit=1)[0].strip()
    return first if len(first) <= limit else first[: limit - 1] + "…"


# Dates ----------------------------------------------------------------------------------------------

_DATE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*(?:[-/.年])\s*(?P<m>\d{1,2})\s*(?:[-/.月])\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[T\s]*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})(?:\s*[:：分]\s*(?P<S>\d{1,2}))?)?"
)
_SHORT_DATE = re.compile(
    r"(?<!\d)(?P<m>\d{1,2})\s*[-/月]\s*(?P<d>\d{1,2})\s*日?(?:\s+(?P<H>\d{1,2})\s*[:：]\s*(?P<M>\d{2}))?(?!\d)"
)


def _make_date(y, m, d, hh=None, mm=None, ss=None) -> datetime | None:
    try:
        return datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError:
        return None


def parse_date(text: str | None, year: int | None = None) -> datetime | None:
    """The first date (and time) in ``text``, in the usual Chinese and ISO forms, else ``None``.

    :param year: the year to assume for a date written without one (``06-20 09:53``)
    """
    if not text:
        return None
    text = unicodedata.normalize("NFKC", str(text))
    match = _DATE.search(text)
    if match:
        return _make_date(*match.group("y", "m", "d", "H", "M", "S"))
    if year is not None:
        match = _SHORT_DATE.search(text)
        if match:
            return _make_date(year, *match.group("m", "d", "H", "M"))
    compact = re.fullmatch(r"\s*((?:19|20)\d{2})(\d{2})(\d{2})\s*", text)
    if compact:
        return _make_date(*compact.groups())
    return None


# Decoding -------------------------------------------------------------------------------------------


def decode(data: bytes, path: str) -> str:
    """Bytes of a text file to text: UTF-8 (with or without BOM), else GB18030, else Big5.

    :raises SourceError: for an empty or binary file, or an encoding that cannot be told
    """
    if not data.strip():
        raise SourceError(path, "empty file")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(path, "binary file, not text")
    for encoding in ("utf-8-sig", "gb18030", "big5"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SourceError(path, "unknown text encoding")


# Page dumps -----------------------------------------------------------------------------------------

_BULLETS = "•·●◆■□▪▶►>|*-—　 \t\ufeff"
_NAV = re.compile(r"当前位置|首页\s*[>»＞]|^全\s*部$|^(?:首页|返回|登录|注册|搜索|导航|菜单)$")
_FOOTER = re.compile(
    r"copyright|版权所有|all rights reserved|ICP|公网安备|网安备|许可证|举报电话|举报邮箱|违法和不良信息"
    r"|未经.{0,8}授权|不得复制|建立镜像|^地址\s*[:：]|^邮编\s*[:：]|^(?:联系)?电话\s*[:：]|^传真\s*[:：]"
    r"|返回搜狐|查看更多|^分享到|扫一扫|打印本页|关闭窗口|^上一篇|^下一篇|^相关(?:新闻|阅读|推荐)",
    re.IGNORECASE,
)
_BYLINE = re.compile(
    r"^(?:[(（【\[]?\s*)?(?:文\s*[|｜丨/]|图\s*[|｜丨/]|(?:本报|特约)?记者|通讯员|(?:责任|实习)?编辑|责编|校对|审核|监制|作者)"
    r"\s*[:：|｜丨]?\s*\S"
)
_SOURCE_NAME = re.compile(
    r"(?:来源|来自|稿源)\s*[:：]\s*(?P<named>[^\s|｜]{2,20})"
    r"|(?P<paper>[\u4e00-\u9fffA-Za-z]{2,14}?(?:日报|晚报|早报|商报|时报|报|新闻网|网|电视台|广播电视台|台|新闻社|社|客户端|新闻))(?![\u4e00-\u9fff])"
)
_SENTENCE_END = re.compile(r"[。！？!?；;：:，,]$")


def _clean_line(line: str) -> str:
    return line.strip().strip(_BULLETS).strip()


def _is_footer(line: str) -> bool:
    return len(line) <= 80 and bool(_FOOTER.search(line))


def read_page_dump(path: str, text: str) -> Article:
    """One article from a web page saved as text: title, date, source, byline and clean body.

    :raises SourceError: when no article text can be found
    """
    lines = [_clean_line(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        raise SourceError(path, "no text in page")

    # The metadata line: a short line near the top that holds a date.
    meta_index, published = None, None
    for index, line in enumerate(lines[:20]):
        if len(line) <= 80 and not _SENTENCE_END.search(line):
            published = parse_date(line)
            if published:
                meta_index = index
                break

    header = lines[:meta_index] if meta_index is not None else []
    candidates = [line for line in header if not _NAV.search(line) and len(line) >= 4]
    if candidates:
        title = max(candidates, key=len)
        body_lines = lines[meta_index + 1 :]
    else:
        # No metadata line: the first headline-looking line is the title.
        body_lines = [line for line in lines if not _NAV.search(line)]
        title = ""
        if body_lines and 4 <= len(body_lines[0]) <= 60 and not _SENTENCE_END.search(body_lines[0]):
            title = body_lines.pop(0)

    source = ""
    if meta_index is not None:
        source = _source_name(lines[meta_index])

    # The footer: from the end, drop boilerplate and take byline lines, up to the last text line.
    bylines: list[str] = []
    while body_lines and (_is_footer(body_lines[-1]) or _BYLINE.match(body_lines[-1]) or len(body_lines[-1]) <= 2):
        line = body_lines.pop()
        if _BYLINE.match(line) and not _is_footer(line):
            bylines.insert(0, line)
    # Headline lines repeated at the top of the body (the title split over lines).
    compact_title = re.sub(r"\s+", "", title)
    while body_lines and len(body_lines[0]) < len(compact_title) and re.sub(r"\s+", "", body_lines[0]) in compact_title:
        body_lines.pop(0)
    body_lines = [line for line in body_lines if not _is_footer(line) and not _NAV.search(line)]
    body = "\n".join(body_lines).strip()
    if not body:
        raise SourceError(path, "no article text found in page")
    return Article(
        id="",
        title=title,
        body=body,
        published=published,
        source=source,
        byline="; ".join(bylines),
        path=path,
    )


def _source_name(line: str) -> str:
    rest = _DATE.sub(" ", line)
    match = _SOURCE_NAME.search(rest)
    if not match:
        return ""
    return (match.group("named") or match.group("paper") or "").strip()


# JSON Lines -----------------------------------------------------------------------------------------


def _record_article(record: dict, path: str) -> Article:
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    body = str(record.get("body") or "").strip()
    title = str(record.get("title") or "").strip()
    if not body and not title:
        raise ValueError("record has neither title nor body")
    return Article(
        id=str(record.get("id") or "").strip(),
        title=title,
        body=body,
        published=parse_date(record.get("date")),
        source=str(record.get("source") or "").strip(),
        url=str(record.get("url") or "").strip(),
        path=path,
    )


def read_jsonl(path: str, on_error: Callable[[SourceError], None]) -> Iterator[Article]:
    """Articles from a JSON Lines file (gzip-compressed when the name ends in ``.gz``)."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                try:
                    yield _record_article(json.loads(raw), path)
                except (ValueError, UnicodeDecodeError) as error:
                    reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
                    on_error(SourceError(path, f"bad JSON line: {reason}", line=number))
    except (OSError, EOFError) as error:
        on_error(SourceError(path, f"cannot read: {error.strerror or error}"))


# Files ----------------------------------------------------------------------------------------------


def _read_text_file(path: str, on_error: Callable[[SourceError], None]) -> Iterator[Article]:
    with open(path, "rb") as handle:
        data = handle.read()
    yield read_page_dump(path, decode(data, path))


READERS: dict[str, Callable[[str, Callable[[SourceError], None]], Iterator[Article]]] = {
    ".txt": _read_text_file,
    ".jsonl": read_jsonl,
    ".jsonl.gz": read_jsonl,
}


def reader_for(path: str):
    """The reader for a file name, by its extension, or ``None``."""
    name = path.lower()
    for suffix in sorted(READERS, key=len, reverse=True):
        if name.endswith(suffix):
            return READERS[suffix]
    return None


def source_files(paths: Iterable[str | os.PathLike]) -> Iterator[str]:
    """Every file under ``paths`` (files or folders), in a stable order; hidden files are left out."""
    for entry in paths:
        entry = os.fspath(entry)
        if os.path.isdir(entry):
            for root, dirs, files in os.walk(entry):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield os.path.join(root, name)
        else:
            yield entry


def _with_identity(article: Article) -> Article:
    """Fill in a stable id: the record's own, else its URL, else the hash of its text."""
    if article.id:
        return article
    if article.url:
        return _replace(article, id="url-" + hashlib.sha1(article.url.encode("utf-8")).hexdigest()[:16])
    return _replace(article, id="text-" + text_digest(article.title + "\n" + article.body)[:16])


def _replace(article: Article, **changes) -> Article:
    from dataclasses import replace

    return replace(article, **changes)


def read_sources(
    paths: Iterable[str | os.PathLike],
    on_error: Callable[[SourceError], None],
    *,
    skip_unknown: bool = True,
) -> Iterator[Article]:
    """Every article in the files under ``paths``; problems go to ``on_error``, reading goes on.

    :param skip_unknown: pass over files of unknown type silently (else report them)
    """
    for path in source_files(paths):
        if not os.path.exists(path):
            on_error(SourceError(path, "no such file or folder"))
            continue
        reader = reader_for(path)
        if reader is None:
            if not skip_unknown:
                on_error(SourceError(path, "unsupported file type"))
            continue
        try:
            for article in reader(path, on_error):
                yield _with_identity(article)
        except SourceError as error:
            on_error(error)
        except OSError as error:
            on_error(SourceError(path, f"cannot read: {error.strerror or error}"))
