"""Searching an index: filters, sorting, paging and highlighted hits, as small frozen records.

:class:`NewsIndex` is the public entry point. It opens the served generation lazily, once per
process, and notices a rebuild (``CURRENT`` changed) at the next search, so a long-running server
serves the new index without a restart.

Speed: each thread keeps one Whoosh searcher per generation (opening one reads the term index
and column headers again); the last pages asked for are kept, keyed by generation, so a repeated
query (a reader paging back, a popular search) costs nothing; the top of the ranking is found with
Whoosh's block-skipping (blocks that cannot reach the page are not scored), and the number of
matches is counted exactly only while that is cheap -- a huge OR query gets an estimate, said so.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path

from markupsafe import Markup
from whoosh import query as wq
from whoosh import sorting

from . import highlight
from . import schema as fields
from .errors import IndexNotFound, QueryError
from .indexer import RebuildSummary, current_generation, open_generation, read_meta, rebuild
from .query import ParsedQuery, parse
from .sources import Article, headline

SORTS = ("relevance", "date")
MAX_PER_PAGE = 100
MAX_PAGE = 1000
# NumericRange(None, x) on Whoosh's unsigned DATETIME matches everything: always give both ends.
_EARLIEST = datetime(1800, 1, 1)
_LATEST = datetime(2200, 1, 1)
#: Pages kept for repeated queries (per NewsIndex).
CACHE_SIZE = 512
#: Queries whose matches may be more than this are counted approximately: an exact count means
#: matching every document again, without block-skipping, which would cost more than the search.
EXACT_COUNT_LIMIT = 1_000


@dataclass(frozen=True)
class Hit:
    """One search result. ``title_html`` and ``snippet`` are safe HTML: escaped, matches in ``<mark>``."""

    id: str
    title: str
    title_html: str
    snippet: str
    date: datetime | None
    source: str
    url: str
    score: float | None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["date"] = self.date.isoformat() if self.date else None
        data["title_html"] = str(self.title_html)
        data["snippet"] = str(self.snippet)
        return data


@dataclass(frozen=True)
class SearchPage:
    """One page of results."""

    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: tuple[Hit, ...]
    #: False when ``total`` is an estimate (a very broad query): show it as "about N".
    total_exact: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "total_exact": self.total_exact,
            "page": self.page,
            "per_page": self.per_page,
            "took_ms": round(self.took_ms, 2),
            "hits": [hit.to_dict() for hit in self.hits],
        }


@dataclass(frozen=True)
class StoredArticle:
    """An article as stored in the index, for the article page."""

    id: str
    title: str
    body: str
    date: datetime | None
    source: str
    url: str
    byline: str

    def to_dict(self) -> dict:
        data = asdict(self)
        data["date"] = self.date.isoformat() if self.date else None
        return data


def to_datetime(value, *, end: bool = False) -> datetime | None:
    """A filter bound from a date, datetime or ISO text (``2020-06-20``); a bare date at ``end``
    means the end of that day.

    :raises QueryError: for text that is not a date
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, dtime.max if end else dtime.min)
    text = str(value).strip()
    try:
        if len(text) <= 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, dtime.max if end else dtime.min)
        return datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


class NewsIndex:
    """A news index on disk: search it, read articles, rebuild it.

    >>> index = NewsIndex.open("index")          # doctest: +SKIP
    >>> page = index.search("一区两群")           # doctest: +SKIP
    >>> page.hits[0].title                       # doctest: +SKIP
    """

    def __init__(self, path: str | Path, cache_size: int = CACHE_SIZE):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._index = None
        self._generation: Path | None = None
        self._local = threading.local()
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def open(cls, path: str | Path = "index") -> NewsIndex:
        """Open the index at ``path``.

        :raises IndexNotFound: when there is no index there
        """
        index = cls(path)
        index._whoosh()
        return index

    @staticmethod
    def rebuild(sources, path: str | Path = "index", **options) -> RebuildSummary:
        """Rebuild the index at ``path`` from source files or folders (see :func:`search.indexer.rebuild`)."""
        return rebuild(sources, path, **options)

    # The served generation ---------------------------------------------------------------------------

    def _whoosh(self):
        generation = current_generation(self.path)
        if generation is None:
            raise IndexNotFound(str(self.path))
        if generation != self._generation or self._index is None:
            with self._lock:
                if generation != self._generation or self._index is None:
                    self._index, self._generation = open_generation(self.path)
        return self._index

    @property
    def doc_count(self) -> int:
        return self._whoosh().doc_count()

    @property
    def info(self) -> dict:
        """What the index holds: documents, when it was built, from which sources."""
        ix = self._whoosh()
        meta = read_meta(self._generation)
        return {
            "documents": ix.doc_count(),
            "built_at": meta.get("built_at"),
            "sources": meta.get("sources", []),
            "generation": self._generation.name,
        }

    def _searcher(self):
        """This thread's searcher of the served generation (reopened after a rebuild)."""
        ix = self._whoosh()
        held = getattr(self._local, "held", None)
        if held is not None and held[0] is ix:
            return held[1]
        if held is not None:
            held[1].close()
        searcher = ix.searcher()
        self._local.held = (ix, searcher)
        return searcher

    def clear_cache(self) -> None:
        """Forget the pages kept for repeated queries."""
        with self._lock:
            self._cache.clear()

    def close(self) -> None:
        with self._lock:
            held = getattr(self._local, "held", None)
            if held is not None:
                held[1].close()
                self._local.held = None
            if self._index is not None:
                self._index.close()
            self._index = None
            self._generation = None
            self._cache.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Searching --------------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        page: int = 1,
        per_page: int = 10,
        sort: str = "relevance",
        date_from=None,
        date_to=None,
        source: str | None = None,
        snippets: bool = True,
    ) -> SearchPage:
        """Search the index.

        :param query: what the reader typed (words, "phrases", AND/OR/NOT, title:...)
        :param sort: ``relevance`` or ``date`` (newest first)
        :param date_from: earliest publication date (date, datetime or ``YYYY-MM-DD``), inclusive
        :param date_to: latest publication date, inclusive
        :param source: only articles from this source (exact name)
        :param snippets: highlight titles and bodies (``False``: ``title_html`` is the escaped
            title and ``snippet`` is empty, for callers that only need the ranking)
        :raises QueryError: for an empty or over-long query or a bad page, sort or date
        """
        started = time.perf_counter()
        page, per_page = _check_paging(page, per_page)
        if sort not in SORTS:
            raise QueryError(f"unknown sort {sort!r}; use one of: {', '.join(SORTS)}")
        start, end = to_datetime(date_from), to_datetime(date_to, end=True)
        if start and end and start > end:
            raise QueryError("the start date is after the end date")
        searcher = self._searcher()
        key = (self._generation, query, page, per_page, sort, start, end, source or None, snippets)
        cached = self._cached(key)
        if cached is not None:
            return SearchPage(
                cached.query,
                cached.total,
                page,
                per_page,
                (time.perf_counter() - started) * 1000,
                cached.hits,
                cached.total_exact,
            )
        parsed = parse(query)
        filters = []
        if start or end:
            filters.append(wq.DateRange(fields.PUBLISHED, start or _EARLIEST, end or _LATEST))
        if source:
            filters.append(wq.Term(fields.SOURCE, source))
        flt = None if not filters else filters[0] if len(filters) == 1 else wq.And(filters)

        options = {"limit": page * per_page, "filter": flt}
        if sort == "date":
            options["sortedby"] = sorting.FieldFacet(fields.PUBLISHED, reverse=True)
        # normalize() flattens nested ORs (as Whoosh's own parser does): the same documents and
        # scores, with half the matcher tree to walk for every candidate document.
        results = searcher.search(parsed.query.normalize(), **options)
        total, exact = _count(results, searcher)
        hits = tuple(
            self._hit(results[i], results.score(i) if sort == "relevance" else None, parsed, snippets)
            for i in range((page - 1) * per_page, min(page * per_page, results.scored_length()))
        )
        took = (time.perf_counter() - started) * 1000
        result = SearchPage(parsed.text, total, page, per_page, took, hits, exact)
        self._remember(key, result)
        return result

    def _cached(self, key) -> SearchPage | None:
        if not self._cache_size:
            return None
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def _remember(self, key, result: SearchPage) -> None:
        if not self._cache_size:
            return
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    @staticmethod
    def _hit(stored, score, parsed: ParsedQuery, snippets: bool = True) -> Hit:
        body = stored.get(fields.BODY, "")
        own_title = stored.get(fields.TITLE, "")
        title = headline(own_title, body)
        return Hit(
            id=stored[fields.ID_FIELD],
            title=title,
            title_html=highlight.mark_all(title, parsed.words, parsed.phrases)
            if snippets
            else highlight.render(title, []),
            snippet=highlight.snippet(body, parsed.words, parsed.phrases) if snippets else Markup(""),
            date=stored.get(fields.PUBLISHED),
            source=stored.get(fields.SOURCE, ""),
            url=stored.get(fields.URL, ""),
            score=round(float(score), 4) if score is not None else None,
        )

    def article(self, article_id: str) -> StoredArticle | None:
        """The stored article with this id, or ``None``."""
        stored = self._searcher().document(**{fields.ID_FIELD: article_id})
        if stored is None:
            return None
        body = stored.get(fields.BODY, "")
        return StoredArticle(
            id=stored[fields.ID_FIELD],
            title=headline(stored.get(fields.TITLE, ""), body),
            body=body,
            date=stored.get(fields.PUBLISHED),
            source=stored.get(fields.SOURCE, ""),
            url=stored.get(fields.URL, ""),
            byline=stored.get(fields.BYLINE, ""),
        )

    @staticmethod
    def highlight(text: str, query: str) -> Markup:
        """``text`` as safe HTML with the words of ``query`` marked (for a whole article)."""
        try:
            parsed = parse(query)
        except QueryError:
            return highlight.render(text, [])
        return highlight.mark_all(text, parsed.words, parsed.phrases)


def _count(results, searcher) -> tuple[int, bool]:
    """How many documents match: exact when Whoosh counted them or counting is cheap, else an
    estimate (never below what was seen, never above the number of documents)."""
    if results.has_exact_length():
        return len(results), True
    estimate = results.q.estimate_size(searcher.reader())
    if estimate <= EXACT_COUNT_LIMIT:
        return len(results), True
    return max(results.scored_length(), min(estimate, searcher.doc_count())), False


def _check_paging(page, per_page) -> tuple[int, int]:
    try:
        page, per_page = int(page), int(per_page)
    except (TypeError, ValueError):
        raise QueryError("page and per_page must be whole numbers") from None
    if page < 1 or page > MAX_PAGE:
        raise QueryError(f"page must be between 1 and {MAX_PAGE}")
    if per_page < 1 or per_page > MAX_PER_PAGE:
        raise QueryError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    return page, per_page


__all__ = ["Article", "Hit", "NewsIndex", "SearchPage", "StoredArticle", "to_datetime"]
