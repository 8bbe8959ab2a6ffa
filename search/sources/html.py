"""HTML pages: the article's text, title and date through trafilatura, a maintained extractor.

trafilatura finds the main text, the headline and the publication date (through htmldate, from
the page's meta tags, JSON-LD and text). What it leaves of Chinese page furniture (责编 lines,
返回搜狐) goes through the same line cleaning as page dumps; the source named on the page's
date line (来源：…) is preferred over the site's own name, since sites repost other papers.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from ..errors import SourceError
from ..traditional import to_simplified
from . import boilerplate as bp
from .article import Article
from .dates import parse_date, without_dates
from .pages import article_body
from .sites import site_name

_BLOCKS = ("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "blockquote", "table")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_DOMAIN = re.compile(r"^[\w.-]+\.[a-z]{2,}$", re.I)


@lru_cache(maxsize=1)
def _config():
    from trafilatura.settings import use_config

    config = use_config()
    # Chinese articles are short in characters: look for more text only below 100 of them.
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "100")
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    return config


def fragment_text(fragment: str, whole_page: bool = False) -> str:
    """Text of HTML (a record body with ``<p>`` tags, or a whole page), one block per line."""
    from lxml import etree
    from lxml import html as lxml_html

    fragment = _XML_DECLARATION.sub("", fragment, count=1)
    try:
        if whole_page:
            root = lxml_html.document_fromstring(fragment)
        else:
            root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return re.sub(r"<[^>]+>", "", fragment)
    for bad in root.xpath("//script|//style|//noscript|//head"):
        bad.drop_tree()
    for element in root.iter("br", *_BLOCKS):
        element.tail = "\n" + (element.tail or "")
    return root.text_content()


def read_html(path: str, text: str) -> Article:
    """One article from an HTML page.

    :raises SourceError: when the page holds no article text
    """
    import trafilatura

    try:
        document = trafilatura.bare_extraction(
            text,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            deduplicate=False,
            config=_config(),
        )
    except Exception as error:  # a parser failure on hostile markup is a bad file, not a crash
        raise SourceError(path, f"bad HTML: {type(error).__name__}") from None
    if document is None or not (document.text or "").strip():
        raise SourceError(path, "no article text found in page")
    title = " ".join((document.title or "").split())
    body, bylines, _ = article_body(bp.text_lines(document.text), title)
    if not body:
        raise SourceError(path, "no article text found in page")
    url = document.url or ""
    meta_lines = _meta_lines(text, title)
    published = _published(document.date, meta_lines)
    source = next(
        (s for s in (bp.source_of(without_dates(line)) for line in meta_lines if "来源" in to_simplified(line)) if s),
        "",
    )
    if not source:
        sitename = (document.sitename or "").strip()
        source = site_name("http://" + sitename) if _DOMAIN.match(sitename) else sitename
        source = source or site_name(url)
    lead = bp.lead_byline(body)
    authors = [document.author] if document.author else []
    return Article(
        id="",
        title=title,
        body=body,
        published=published,
        source=source,
        url=url,
        byline="; ".join(dict.fromkeys(a for a in [*authors, lead, *bylines] if a)),
        path=path,
    )


def _meta_lines(page: str, title: str) -> list[str]:
    """Short lines of the page's visible text near its headline: where 来源 and the time stand."""
    lines = bp.text_lines(fragment_text(page, whole_page=True))
    start = next((i for i, line in enumerate(lines) if title and line == title), 0)
    return [
        line
        for line in lines[start : start + 12]
        if len(line) <= 100 and "。" not in line and not bp.ends_sentence(line)
    ]


def _published(found: str | None, meta_lines: list[str]) -> datetime | None:
    """trafilatura's date, with the time of day when the page's date line gives it."""
    date = parse_date(found) if found else None
    for line in meta_lines:
        exact = parse_date(line)
        if exact and (date is None or exact.date() == date.date()):
            return exact
    return date
