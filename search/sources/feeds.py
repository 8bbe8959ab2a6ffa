"""RSS and Atom feeds as sources: a feed file, or a feed URL fetched over HTTP (feedparser reads both).

Each entry is an article: its ``guid``/``id`` (else its link) is its id, its title, its full
content (``content:encoded``, Atom ``content``) or else its summary as the body (HTML turned into
lines, as for JSON records), its date as the feed writes it, its author, its link; the source is
the entry's own ``<source>``, else the feed's title, else the site's name from the link. An entry
with only a summary can be completed from its article page (``follow_links``), read by the HTML
reader (:mod:`.html`).

Fetching goes through :class:`Fetcher` (httpx): timeouts, a few retries with backoff on network
errors and on 429/5xx answers, a User-Agent saying who fetches, and conditional requests on an
update (the ``ETag`` and ``Last-Modified`` of the last fetch are remembered in the generation's
metadata: a feed that has not changed answers 304 and costs nothing). A URL that cannot be fetched
or a broken feed is reported like a broken file. A feed lists only its latest entries, so an
update never prunes an entry that has left it.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from ..errors import SourceError
from .article import Article
from .dates import parse_date
from .encoding import declared_encoding, decode
from .records import RecordError, record_article
from .sites import site_name
from .state import Reading

#: Seconds to wait to connect, and for each read.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
#: Attempts of one request (the first and the retries), and the first wait between two, doubled each time.
ATTEMPTS = 3
BACKOFF = 0.5
#: Longest wait a server's ``Retry-After`` may ask for.
MAX_WAIT = 10.0
USER_AGENT = "news-search/0.1 (feed reader; +https://github.com/news-search)"
_RETRIED = {429, 500, 502, 503, 504}
_SECTION = re.compile(r"\s+[-|_–—]\s+")
_FIELDS = {name: (name,) for name in ("id", "title", "body", "date", "source", "url", "byline")}


class FetchError(Exception):
    """A URL that could not be fetched; the message is one line."""


class Fetcher:
    """One HTTP client for a read of the sources (connections are kept between requests)."""

    def __init__(self):
        import httpx

        self._client = httpx.Client(
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, headers: dict[str, str] | None = None):
        """The response to ``GET url`` (any status below 400, 304 included).

        :raises FetchError: when it fails after the retries
        """
        import httpx

        wait = BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self._client.get(url, headers=headers or {})
            except httpx.TimeoutException:
                problem, retry_after = "timed out", None
            except httpx.HTTPError as error:
                problem, retry_after = f"cannot connect: {_one_line(error)}", None
            else:
                if response.status_code < 400:
                    return response
                problem = f"HTTP {response.status_code} {response.reason_phrase}".strip()
                if response.status_code not in _RETRIED:
                    raise FetchError(problem)
                retry_after = _retry_after(response.headers.get("retry-after"))
            if attempt == ATTEMPTS:
                raise FetchError(f"{problem} (after {ATTEMPTS} attempts)")
            time.sleep(min(MAX_WAIT, retry_after if retry_after is not None else wait))
            wait *= 2
        raise AssertionError("unreachable")


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def read_feed_url(url: str, on_error: Callable[[SourceError], None], reading: Reading) -> Iterator[Article]:
    """The entries of the feed at ``url``; on an update, nothing when the feed has not changed.

    :raises SourceError: when the feed cannot be fetched or is broken
    """
    reading.kept.add(url)
    previous = reading.previous.get(url, {})
    headers = {}
    if reading.incremental:
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
    fetcher = Fetcher()
    try:
        try:
            response = fetcher.get(url, headers)
        except FetchError as error:
            raise SourceError(url, f"cannot fetch: {error}") from None
        if response.status_code == 304:
            reading.state[url] = dict(previous)
            return
        state = {
            k: v
            for k, v in (
                ("etag", response.headers.get("etag")),
                ("last_modified", response.headers.get("last-modified")),
            )
            if v
        }
        articles = list(_entries(url, response.content, on_error, reading, fetcher))
        reading.state[url] = state
        yield from articles
    finally:
        fetcher.close()


def read_feed_bytes(
    path: str, data: bytes, on_error: Callable[[SourceError], None], reading: Reading
) -> Iterator[Article]:
    """The entries of a feed file."""
    reading.kept.add(path)
    fetcher = Fetcher() if reading.follow_links else None
    try:
        yield from _entries(path, data, on_error, reading, fetcher)
    finally:
        if fetcher is not None:
            fetcher.close()


def _entries(
    where: str, data: bytes, on_error: Callable[[SourceError], None], reading: Reading, fetcher: Fetcher | None
) -> Iterator[Article]:
    import feedparser

    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    kind = parsed.get("version") or ""
    if parsed.get("bozo") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise SourceError(where, f"broken feed: {_one_line(problem) if problem else 'not RSS or Atom'}")
    if not kind and not parsed.entries:
        raise SourceError(where, "broken feed: not RSS or Atom")
    channel = parsed.get("feed", {})
    # "重庆日报 - 要闻": the outlet, without the channel's section.
    feed_title = _SECTION.split(str(channel.get("title", "")).strip(), maxsplit=1)[0]
    for number, entry in enumerate(parsed.entries, 1):
        try:
            article = _article(where, entry, feed_title)
        except RecordError as error:
            on_error(SourceError(where, f"{error} in entry {number}"))
            continue
        if reading.follow_links and fetcher is not None and article.url and not _full_content(entry):
            article = _completed(article, fetcher, on_error)
        yield article


def _full_content(entry) -> str:
    """The entry's full text (``content:encoded``, Atom ``content``), empty when it has only a summary."""
    parts = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
    return "\n".join(parts)


def _published(entry) -> datetime | None:
    """The entry's date as the feed writes it (the local time it gives, as for every source)."""
    for name in ("published", "updated", "dc_date", "created"):
        raw = entry.get(name)
        if not raw:
            continue
        found = parse_date(raw)
        if found is not None:
            return found
        try:
            return email.utils.parsedate_to_datetime(raw).replace(tzinfo=None)  # RFC 822, RSS's own form
        except (TypeError, ValueError, IndexError):
            continue
    return None


def _article(where: str, entry, feed_title: str) -> Article:
    body = _full_content(entry) or entry.get("summary", "") or entry.get("description", "")
    link = str(entry.get("link", "")).strip()
    source: Any = entry.get("source", {})
    source_title = str(source.get("title", "")).strip() if isinstance(source, dict) else ""
    record = {
        "id": str(entry.get("id", "")).strip() or link,
        "title": entry.get("title", ""),
        "body": body,
        "source": source_title or feed_title or site_name(link),
        "url": link,
        "byline": entry.get("author", ""),
    }
    article = record_article(record, where, _FIELDS)
    published = _published(entry)
    if published is not None:
        from dataclasses import replace

        article = replace(article, published=published)
    return article


def _completed(article: Article, fetcher: Fetcher, on_error: Callable[[SourceError], None]) -> Article:
    """The article with the text of its page, when the page holds more than the feed's summary."""
    from dataclasses import replace

    from .html import read_html

    try:
        response = fetcher.get(article.url)
        page = read_html(article.url, decode(response.content, article.url, declared_encoding(response.content)))
    except FetchError as error:
        on_error(SourceError(article.url, f"cannot fetch the article page: {error}; its summary is indexed"))
        return article
    except SourceError as error:
        on_error(SourceError(article.url, f"{error.reason}; its summary is indexed"))
        return article
    if len(page.body) <= len(article.body):
        return article
    return replace(article, body=page.body, byline=article.byline or page.byline, digest="")


__all__ = ["ATTEMPTS", "BACKOFF", "USER_AGENT", "FetchError", "Fetcher", "read_feed_bytes", "read_feed_url"]
