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

import logging
import math
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path

from markupsafe import Markup
from whoosh import query as wq
from whoosh import sorting

from . import copies as syndication
from . import facets as facet_counts
from . import fanout, highlight, pinyin, regions, related, scoring, spelling
from . import schema as fields
from .errors import IndexNotFound, QueryError
from .generations import DEFAULT_INDEX, current_generation, current_generations, open_generation, read_meta
from .indexer import RebuildSummary, rebuild
from .query import ParsedQuery, clean, parse
from .remote import RemoteShards
from .results import Hit, SearchPage, StoredArticle
from .sources import headline
from .suggest import Suggester, dictionary_words
from .timelimit import TIME_LIMIT, Budget
from .timelimit import run as run_limited
from .updater import UpdateSummary, update

log = logging.getLogger(__name__)

SORTS = ("relevance", "date")
MAX_PER_PAGE = 100
MAX_PAGE = 1000
#: Pages kept for repeated queries (per NewsIndex).
CACHE_SIZE = 512
#: Seconds a partial page (the search ran out of time) is kept: a repeat within them gets it at
#: once, while a later one searches again (the machine may be less busy).
PARTIAL_KEPT = 30.0


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

    def __init__(
        self,
        path: str | Path,
        time_limit: float | None = TIME_LIMIT,
        cache_size: int = CACHE_SIZE,
        cluster: str | None = None,
        replicas: int = 1,
    ):
        """:param time_limit: seconds a search may run before it returns partial results (``None``: no limit)
        :param cache_size: pages kept for repeated queries (0: none)
        :param cluster: the address of a Ray cluster whose actors search the shards
            (:mod:`search.remote`); ``None``: this process searches them
        :param replicas: with ``cluster``, actors serving each shard"""
        self.path = Path(path)
        self.time_limit = time_limit
        self._lock = threading.Lock()
        self._index = None
        self._generation: Path | None = None
        # Data kept beside the served generation (copies, suggestions), loaded once each.
        self._sidecars: dict[str, object] = {}
        self._local = threading.local()
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = cache_size
        # Searches under way, by cache key: another request for the same page waits for it.
        self._running: dict[tuple, threading.Event] = {}
        # A sharded index: its shards (search.fanout), and the threads searching them at once.
        self._shards: list[fanout.Shard] = []
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0
        # With a cluster: the actors searching the shards (started or found at the first search).
        self._remote = RemoteShards(self.path, cluster, replicas) if cluster else None

    @classmethod
    def open(
        cls,
        path: str | Path = DEFAULT_INDEX,
        time_limit: float | None = TIME_LIMIT,
        cluster: str | None = None,
        replicas: int = 1,
    ) -> NewsIndex:
        """Open the index at ``path``.

        :param time_limit: seconds a search may run before it returns partial results (``None``: no limit)
        :param cluster: the address of a Ray cluster (``host:port`` of its head) where actors search
            the index's shards, one per shard and replica (see :mod:`search.remote`); the index
            directory must be at the same path on every node
        :param replicas: actors per shard, with ``cluster``
        :raises IndexNotFound: when there is no index there
        """
        index = cls(path, time_limit, cluster=cluster, replicas=replicas)
        index._whoosh()
        return index

    @staticmethod
    def rebuild(sources, path: str | Path = DEFAULT_INDEX, **options) -> RebuildSummary:
        """Rebuild the index at ``path`` from source files or folders (see :func:`search.indexer.rebuild`)."""
        return rebuild(sources, path, **options)

    @staticmethod
    def update(sources=None, path: str | Path = DEFAULT_INDEX, **options) -> UpdateSummary:
        """Add new, replace changed and (``prune=True``) remove gone articles (see :func:`search.updater.update`)."""
        return update(sources, path, **options)

    # The served generation ---------------------------------------------------------------------------

    def _whoosh(self):
        generation = current_generation(self.path)
        if generation is None:
            raise IndexNotFound(str(self.path))
        if generation != self._generation or self._index is None:
            with self._lock:
                if generation != self._generation or self._index is None:
                    served = current_generations(self.path) or [generation]
                    if len(served) > 1 or self._remote is not None:
                        # A sharded index: shard 0's index stands for the whole where one is needed
                        # (its searcher counts words over every shard); searches go to every shard
                        # (with a cluster, to the actors serving them: an index of one shard too).
                        self._shards = fanout.open_shards(served, self.path)
                        self._index, self._generation = self._shards[0].index, served[0]
                        if self._pool is None or self._pool_size < len(served):
                            if self._pool is not None:  # a rebuild with more shards
                                self._pool.shutdown(wait=False)
                            self._pool = ThreadPoolExecutor(len(served), thread_name_prefix="shard")
                            self._pool_size = len(served)
                    else:
                        self._shards = []
                        self._index, self._generation = open_generation(self.path)
                    self._sidecars = {}
                    log.info("Opened %s", self._generation.name)
        return self._index

    @property
    def shards(self) -> int:
        """How many shards the served index has (1: an index that is not sharded)."""
        self._whoosh()
        return len(self._shards) or 1

    def _documents(self, *, deleted: bool = False) -> int:
        """The articles of the whole index (``deleted``: with those deleted but not yet merged away)."""
        ix = self._whoosh()
        if self._shards:
            stats = self._shards[0].stats
            return stats.docs_all if deleted else stats.docs
        return ix.doc_count_all() if deleted else ix.doc_count()

    def _sidecar(self, name: str, load):
        """The served generation's ``name`` data, loaded by ``load(generation, documents)`` once."""
        self._whoosh()
        sidecars = self._sidecars
        value = sidecars.get(name)
        if value is None:
            with self._lock:
                value = sidecars.get(name)
                if value is None:
                    value = load(self._generation, self._documents(deleted=True))
                    sidecars[name] = value
        return value

    def _columns(self, searcher) -> facet_counts.Columns:
        """The facet columns of the index that ``searcher`` (this thread's) reads: read once per
        generation and shared by every thread."""
        held = getattr(self._local, "held", None)
        ix = held[0] if held is not None and held[1] is searcher else None
        kept = self._sidecars.get("columns")
        if ix is None or kept is None or kept[0] is not ix:
            with self._lock:
                kept = self._sidecars.get("columns")
                if ix is None or kept is None or kept[0] is not ix:
                    kept = (ix, facet_counts.Columns(searcher.reader()))
                    if ix is not None and ix is self._index:  # still the served generation
                        self._sidecars["columns"] = kept
        return kept[1]

    def copies(self) -> syndication.Copies:
        """The clusters of syndicated copies in the served generation."""
        return self._sidecar("copies", syndication.Copies.load)

    def _suggester(self) -> Suggester:
        return self._sidecar("suggest", lambda generation, _: Suggester.load(generation))

    @property
    def generation(self) -> str:
        """The name of the generation served (``gen-<stamp>``); one published since is opened first."""
        self._whoosh()
        return self._generation.name

    @property
    def doc_count(self) -> int:
        return self._documents()

    @property
    def info(self) -> dict:
        """What the index holds: documents, when it was built, from which sources."""
        self._whoosh()
        meta = read_meta(self._generation)
        return {
            "documents": self._documents(),
            "built_at": meta.get("built_at"),
            "sources": meta.get("sources", []),
            "generation": self._generation.name,
        }

    def overview(self) -> dict:
        """:attr:`info` plus ``facets``: every article counted by source and by year (for a front
        page); computed once per generation."""
        self._whoosh()
        kept = self._sidecars  # replaced when a new generation is opened
        overview = kept.get("overview")
        if overview is None:  # two threads may both count it once; neither blocks the other
            overview = self.info
            if self._shards:
                parts = self._each_shard(
                    lambda shard: facet_counts.count(
                        shard.searcher(), wq.Every(), None, None, None, None, columns=shard.columns()
                    )
                )
                overview["facets"] = fanout._facets(parts)
            else:
                searcher = self._searcher()
                columns = self._columns(searcher)
                overview["facets"] = facet_counts.count(searcher, wq.Every(), None, None, None, None, columns=columns)
            kept["overview"] = overview
        return overview

    def warm_up(self, everything: bool = False, cluster: bool = True) -> None:
        """Load now what the first search of the served generation would otherwise load inside its
        time limit: the segmenter, the ranking's field lengths and the copies.

        :param everything: also the facet columns, the suggestions, the pinyin table and pypinyin's
            readings (for "did you mean"), and open this thread's searcher: what a server loads
            before its first request. It reads ``CURRENT`` first, so it warms the generation
            published last.
        :param cluster: with ``everything``, of an index searched by a cluster, also start (or
            find) the actors and have them load their shards (not in a process about to fork:
            a connection to Ray does not survive a fork)
        """
        if not everything and self._index is not None and self._sidecars.get("warm"):
            return  # a newly published generation is seen (and warmed) at its first search after
        started = time.perf_counter()
        ix = self._whoosh()
        if not self._sidecars.get("warm"):
            parse("重庆")  # the segmenter and its dictionaries, once per process
            if self._shards:
                self._each_shard(fanout.Shard.warm_up)
            else:
                with ix.reader() as reader:
                    scoring.warm(reader)
            self.copies()
            self._sidecars["warm"] = True
        if everything and not self._sidecars.get("warm everything"):
            self._columns(self._searcher())
            self._suggester()
            if (self._generation / pinyin.SIDECAR).exists():  # else computed aside at its first use
                self._pinyin()
            spelling.warm()
            self._sidecars["warm everything"] = True
            log.info("Loaded %s in %.1f s", self._generation.name, time.perf_counter() - started)
        if everything:
            self._searcher()
            if cluster and self._remote is not None:
                self._remote.ready(self._served())

    def _served(self) -> tuple[str, ...]:
        """The names of the served generations, one per shard."""
        return tuple(shard.generation.name for shard in self._shards)

    def health(self) -> dict:
        """:attr:`info`, and each shard's articles; of an index searched by a cluster, where each
        replica of each shard runs (``"up": false``: it did not answer at once) and ``status``
        ``"degraded"`` when a shard has no replica up (searches are then partial)."""
        info = self.info
        shards = self._shards
        counts = [shard.reader.doc_count() for shard in shards] if shards else [info["documents"]]
        listed = [{"shard": number, "documents": count} for number, count in enumerate(counts)]
        status = "ok"
        if self._remote is not None:
            for entry, replicas in zip(listed, self._remote.health(self._served()), strict=True):
                entry["replicas"] = [{"up": True, **found} if found else {"up": False} for found in replicas]
                entry["up"] = any(replicas)
                if not entry["up"]:
                    status = "degraded"
        return {"status": status, **info, "shards": listed}

    def release_files(self) -> None:
        """Close the index files this thread has open (its searcher), keeping what was loaded from
        them.

        A server's master calls it after :meth:`warm_up` and before it forks its workers: they
        inherit the loaded data, which stays shared with the master (copy-on-write) while nobody
        writes to it, and each opens files of its own at its first search (a file shared between
        processes would share its read position too). A sharded index is closed whole instead:
        nothing of it is shared, and each worker loads it again.
        """
        with self._lock:
            # A sharded index's shards keep their readers open for the index-wide statistics, and
            # its search threads would not exist in a forked worker: both go, and every worker
            # opens the shards again itself.
            if self._close_files(wait=True):
                self._index, self._generation = None, None

    def _close_files(self, wait: bool) -> bool:
        """Close this thread's searcher, the shards and their search threads; whether there were
        shards (their index is then closed too)."""
        held = getattr(self._local, "held", None)
        if held is not None:
            held[1].close()
            self._local.held = None
        sharded = bool(self._shards)
        for shard in self._shards:
            shard.close()
        self._shards = []
        if self._pool is not None:
            self._pool.shutdown(wait=wait)
            self._pool = None
        return sharded

    def _each_shard(self, call) -> list:
        """``call(shard)`` for every shard of a sharded index, at once, in shard order."""
        shards, pool = self._shards, self._pool
        return list(pool.map(call, shards)) if pool is not None else [call(shard) for shard in shards]

    def _searcher(self):
        """This thread's searcher of the served generation (reopened after a rebuild); of a sharded
        index, shard 0's, whose word counts are the whole index's."""
        ix = self._whoosh()
        if self._shards:
            return self._shards[0].searcher()
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
            if not self._close_files(wait=False) and self._index is not None:
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
        facets: bool = False,
        region: str | None = None,
        collapse: bool = True,
        snippets: bool = True,
        budget: Budget | None = None,
        as_typed: bool = False,
    ) -> SearchPage:
        """Search the index.

        A query in Latin letters that reads as pinyin (``chongqing huoguo``, ``cqhg``) is searched
        as the Chinese words it most likely spells (:mod:`search.pinyin`) when they find something:
        ``searched_as`` then says what was searched. A short query (or one that found nothing) is
        offered a correction one typo away when that finds far more (``did_you_mean``).

        :param query: what the reader typed (words, "phrases", AND/OR/NOT, title:...)
        :param sort: ``relevance`` or ``date`` (newest first)
        :param date_from: earliest publication date (date, datetime or ``YYYY-MM-DD``), inclusive
        :param date_to: latest publication date, inclusive
        :param source: only articles from this source (exact name)
        :param facets: also count the matching articles by ``source``, ``region``, ``year`` and ``month``
        :param region: only articles about this region (``万州区``, or a short form: ``万州``; a
            province includes its cities and districts)
        :param collapse: show each story once, however many outlets republished it (``False``: every copy)
        :param snippets: highlight titles and bodies (``False``: ``title_html`` is the escaped
            title and ``snippet`` is empty, for callers that only need the ranking)
        :param budget: the time this search may spend, shared with whatever else the caller does
            for the same request (default: :attr:`time_limit` from now)
        :param as_typed: search the letters as typed, never read as pinyin
        :raises QueryError: for an empty or over-long query, too many phrases, or a bad page, sort
            or date
        """
        started = time.perf_counter()
        query, source = _valid_text(query), _valid_text(source)
        page, per_page = _check_paging(page, per_page)
        if sort not in SORTS:
            raise QueryError(f"unknown sort {sort!r}; use one of: {', '.join(SORTS)}")
        start, end = to_datetime(date_from), to_datetime(date_to, end=True)
        if start and end and start > end:
            raise QueryError("the start date is after the end date")
        self.warm_up()  # one-time loading is not spent from the first search's time limit
        if budget is None:
            with Budget(self.time_limit) as own:
                return self.search(
                    query,
                    page,
                    per_page,
                    sort,
                    date_from,
                    date_to,
                    source,
                    facets,
                    region,
                    collapse,
                    snippets,
                    own,
                    as_typed,
                )
        searcher = self._searcher()
        asked = (page, per_page, sort, start, end, source or None, region or None, facets, collapse, snippets)
        reading = None if as_typed else self._reading(query, searcher, budget)
        if reading is not None:
            result = self._page((reading, *asked), budget, searcher, started)
            if result.total or result.partial:
                return replace(result, query=clean(query), searched_as=result.query)
        # The page with what it offers instead ("did you mean") is kept apart from the bare page,
        # which the check of a correction may have kept.
        offered = (self._generation, "offered", query, *asked)
        kept, _ = self._cached(offered)
        if kept is not None:
            return replace(kept, took_ms=(time.perf_counter() - started) * 1000)
        result = self._page((query, *asked), budget, searcher, started)
        if page != 1 or result.partial or (result.total and not spelling.worth_correcting_beside(query)):
            return result
        # The same filters as the reader's, so that a page offering it finds the check cached.
        suggestion = self.did_you_mean(
            query,
            sort=sort,
            date_from=date_from,
            date_to=date_to,
            source=source,
            region=region,
            collapse=collapse,
            budget=budget,
            more_than=result.total,
        )
        if suggestion:
            result = replace(result, did_you_mean=suggestion)
        if not budget.spent:  # else the correction was not checked: try again next time
            self._remember(offered, result)
        return replace(result, took_ms=(time.perf_counter() - started) * 1000)

    def _page(self, asked: tuple, budget: Budget, searcher, started: float) -> SearchPage:
        """One page for ``asked`` (the query and :meth:`search`'s other arguments), kept for a
        repeat; the same search asked again while it runs (a reload, a crowd, a hostile client)
        waits for the first one instead of running again."""
        key = (self._generation, *asked)
        result, running = self._cached_or_running(key)
        while result is None and running is not None:
            running.wait(None if budget.deadline == math.inf else max(0.0, budget.deadline - time.monotonic()))
            if budget.spent:
                break
            result, running = self._cached_or_running(key)
        if result is not None:
            return replace(result, took_ms=(time.perf_counter() - started) * 1000)
        try:
            result = self._search(asked, budget, searcher)
            result = replace(result, took_ms=(time.perf_counter() - started) * 1000)
            self._remember(key, result)
        finally:
            if running is None:  # this call ran it: let the ones waiting for it look again
                self._finished(key)
        return result

    def _reading(self, query: str, searcher, budget: Budget) -> str | None:
        """``query`` with its pinyin read as Chinese words (:mod:`search.pinyin`), or ``None``."""
        if not _LATIN.search(query):
            return None  # no letters to read: the table is not even loaded

        def latin_articles(word: str) -> int:
            return sum(searcher.doc_frequency(name, word) for name in (fields.TITLE, fields.BODY))

        def together(words: list[str]) -> int:
            """Articles holding every one of ``words`` (counted up to a few hundred)."""
            if budget.spent:
                return 0
            each = [wq.Or([wq.Term(fields.TITLE, w), wq.Term(fields.BODY, w)]) for w in words]
            counted = 0
            for one in [shard.searcher() for shard in self._shards] or [searcher]:
                matcher = wq.And(each).matcher(one)
                while matcher.is_active() and counted < _TOGETHER_COUNTED:
                    counted += 1
                    matcher.next()
            return counted

        def glue(pair: str) -> int:
            return searcher.doc_frequency(fields.GRAMS, pair)

        return pinyin.read(query, self._pinyin(), latin_articles, together, glue)

    def _pinyin(self) -> pinyin.Table:
        """The served generation's pinyin table. A generation written without ``pinyin.tsv`` gets
        it computed in a thread (pypinyin over the whole vocabulary takes long); until then the
        table is empty and nothing is read as pinyin."""
        words = self._suggester().words
        kept = self._sidecars  # replaced when a new generation is opened
        table = kept.get("pinyin")
        if table is not None:
            return table
        with self._lock:
            table = kept.get("pinyin")
            if table is None:
                generation = self._generation
                if (generation / pinyin.SIDECAR).exists():
                    table = kept["pinyin"] = pinyin.Table.load(generation, list)
                else:
                    table = kept["pinyin"] = pinyin.Table(())
                    weighted = list(zip(words.texts, words.weights, strict=True))

                    def compute() -> None:
                        kept["pinyin"] = pinyin.Table.load(generation, lambda: weighted, dictionary_words)

                    threading.Thread(target=compute, name="pinyin-table", daemon=True).start()
        return table

    def _search(self, asked: tuple, budget: Budget, searcher) -> SearchPage:
        """One page of results, found within ``budget`` (``asked``: :meth:`search`'s arguments)."""
        if self._shards:
            return self._search_shards(asked, budget)
        query, page, per_page, sort, start, end, source, region, facets, collapse, snippets = asked
        parsed = parse(query)
        filters = []
        if start or end:
            filters.append(wq.DateRange(fields.PUBLISHED, start or facet_counts.EARLIEST, end or facet_counts.LATEST))
        if source:
            filters.append(wq.Term(fields.SOURCE, source))
        canonical = regions.canonical(region) if region else None
        if canonical:
            filters.append(wq.Term(fields.REGION, canonical))
        flt = None if not filters else filters[0] if len(filters) == 1 else wq.And(filters)

        options = {"limit": page * per_page, "filter": flt}
        if sort == "date":
            options["sortedby"] = sorting.FieldFacet(fields.PUBLISHED, reverse=True)
        clusters = self.copies()
        # normalize() as Whoosh's own parser does (our ranked groups are flat already; it tidies
        # the And/AndNot/Require around them).
        runnable = _bounded_boosts(parsed.query.normalize())
        # Whoosh's estimate ignores filters, phrases and NOT: count those exactly while time allows.
        count = flt is not None or _narrowed(runnable)
        results, total, exact, partial = run_limited(
            searcher, runnable, clusters if collapse else None, options, budget, count=count
        )
        hits = tuple(
            self._extend(
                self._hit(results[i], results.score(i) if sort == "relevance" else None, parsed, snippets),
                results[i],
                results.docnum(i),
                clusters,
            )
            for i in range((page - 1) * per_page, min(page * per_page, results.scored_length()))
        )
        counts = {}
        if facets:
            columns = self._columns(searcher)
            counts, partial = facet_counts.within(
                searcher, runnable, (start, end, source, canonical), budget, partial, columns=columns
            )
        return SearchPage(
            query=parsed.text,
            total=total,
            page=page,
            per_page=per_page,
            took_ms=0.0,
            hits=hits,
            facets=counts,
            partial=partial,
            total_exact=exact,
        )

    def _search_shards(self, asked: tuple, budget: Budget) -> SearchPage:
        """:meth:`_search` of a sharded index: every shard searched at once, their answers merged
        (:mod:`search.fanout`)."""
        query, page, per_page, sort, start, end, source, region, facets, collapse, snippets = asked
        parsed = parse(query)
        canonical = regions.canonical(region) if region else None
        runnable = _bounded_boosts(parsed.query.normalize())
        request = fanout.ShardRequest(
            query,
            page * per_page,
            sort,
            start,
            end,
            source or None,
            canonical,
            facets,
            collapse,
            count=bool(start or end or source or canonical) or _narrowed(runnable),
        )
        merged = self._fan_out(request, budget, runnable)
        hits = self._shard_hits(merged.rows[(page - 1) * per_page : page * per_page], parsed, snippets)
        if merged.missing:
            log.warning("Searched without shards %s: %r", ", ".join(map(str, merged.missing)), query)
        return SearchPage(
            query=parsed.text,
            total=merged.total,
            page=page,
            per_page=per_page,
            took_ms=0.0,
            hits=hits,
            facets=merged.facets,
            partial=merged.partial,
            total_exact=merged.exact,
            missing_shards=merged.missing,
        )

    def _fan_out(self, request: fanout.ShardRequest, budget: Budget, runnable: wq.Query | None = None) -> fanout.Merged:
        """``request`` sent to every shard and their answers merged. A ranked search (``runnable``:
        its query) re-scores its best candidates over the whole index (see :mod:`search.fanout`):
        in the same round when the query allows, else after a first round that gathers them. A
        shard that does not answer the first round (one served by a lost actor) is left out of the
        second too."""
        shards, remote = self._shards, self._remote
        missing: frozenset[int] = frozenset()
        if remote is not None:
            served = self._served()
            began = time.monotonic()
            remote.ready(served)  # the actors load a new generation: not part of the search's time
            budget.excuse(time.monotonic() - began)

            def ask(request: fanout.ShardRequest) -> list[fanout.ShardAnswer]:
                return remote.search(request, served, budget, skip=missing)

        else:

            def ask(request: fanout.ShardRequest) -> list[fanout.ShardAnswer]:
                return self._each_shard(lambda shard: shard.search(request, budget))

        rescoring = "none"  # (a shard that is the whole index re-scores as one index does)
        if request.sort == "relevance" and len(shards) > 1:
            rescoring = "nested" if runnable is None else scoring.rescoring(runnable)
        if rescoring == "top":
            request = replace(request, report=True)
        elif rescoring == "nested":
            gathered = ask(replace(request, gather=True))
            missing = frozenset(answer.shard for answer in gathered if answer.missing)
            reports = [answer.report for answer in gathered]
            if any(reports):
                request = replace(request, chosen=tuple(scoring.choose(reports)))
        answers = ask(request)
        if request.report:
            fanout.settle(answers, runnable)
        return fanout.merge(answers, request, shards[0].stats.docs)

    def _shard_hits(self, rows: list[tuple], parsed: ParsedQuery, snippets: bool) -> tuple[Hit, ...]:
        """The hits of merged rows (``(key, place, cluster, docnum, score)``; a row's shard is found
        by its place)."""
        hits = []
        for _key, place, _cluster, docnum, score in rows:
            shard = self._shard_of_place(place, docnum)
            stored = shard.searcher().stored_fields(docnum)
            hits.append(self._extend(self._hit(stored, score, parsed, snippets), stored, docnum, shard.copies))
        return tuple(hits)

    def _shard_of_place(self, place: int, docnum: int) -> fanout.Shard:
        for shard in self._shards:
            if docnum < len(shard.order) and shard.order[docnum] == place:
                return shard
        raise LookupError(place)

    @staticmethod
    def _extend(hit: Hit, stored, docnum: int, clusters: syndication.Copies) -> Hit:
        """``hit`` with its regions and copies (kept apart from :meth:`_hit` to keep that one small)."""
        others = clusters.others(docnum)
        return replace(
            hit,
            regions=tuple(stored.get(fields.REGION, "").split()),
            copies=len(others),
            other_copies=others,
        )

    def _cached_or_running(self, key) -> tuple[SearchPage | None, threading.Event | None]:
        """The page kept for ``key``, or else the event a search running for it will set (``None``:
        none is running, and the caller is now the one running it)."""
        with self._lock:
            found = self._cache.get(key) if self._cache_size else None
            if found is not None:
                page, kept_at = found
                if not page.partial or time.monotonic() - kept_at < PARTIAL_KEPT:
                    self._cache.move_to_end(key)
                    return page, None
                del self._cache[key]
            running = self._running.get(key)
            if running is None:
                self._running[key] = threading.Event()
            return None, running

    def _cached(self, key) -> tuple[SearchPage | None, float]:
        """The page kept for ``key`` (``None``: none) and when it was kept."""
        with self._lock:
            found = self._cache.get(key) if self._cache_size else None
            if found is None or found[0].partial:
                return None, 0.0
            self._cache.move_to_end(key)
            return found

    def _finished(self, key) -> None:
        with self._lock:
            running = self._running.pop(key, None)
        if running is not None:
            running.set()

    def _remember(self, key, result: SearchPage) -> None:
        if not self._cache_size:
            return
        with self._lock:
            self._cache[key] = (result, time.monotonic())
            self._cache.move_to_end(key)
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
            # A boost such as 重庆^999…9 makes the score infinite, which JSON cannot carry.
            score=round(float(score), 4) if score is not None and math.isfinite(score) else None,
        )

    def _find(self, article_id: str):
        """``(searcher, docnum, copies)`` of the article with this id (``docnum`` ``None``: none)."""
        self._whoosh()
        for shard in self._shards:
            searcher = shard.searcher()
            docnum = searcher.document_number(**{fields.ID_FIELD: article_id})
            if docnum is not None:
                return searcher, docnum, shard.copies
        if self._shards:
            return None, None, None
        searcher = self._searcher()
        return searcher, searcher.document_number(**{fields.ID_FIELD: article_id}), self.copies()

    def article(self, article_id: str) -> StoredArticle | None:
        """The stored article with this id, or ``None``."""
        searcher, docnum, clusters = self._find(article_id)
        stored = searcher.stored_fields(docnum) if docnum is not None else None
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
            regions=tuple(stored.get(fields.REGION, "").split()),
            copies=clusters.others(docnum),
        )

    def related(self, article_id: str, limit: int = 5) -> tuple[Hit, ...]:
        """Up to ``limit`` articles most like this one (on its key terms), its own copies left out
        and other stories' copies collapsed; empty for an unknown id."""
        if self._shards:
            return self._related_shards(article_id, limit)
        clusters = self.copies()
        searcher = self._searcher()
        docnum = searcher.document_number(**{fields.ID_FIELD: article_id})
        if docnum is None:
            return ()
        found = related.more_like(searcher, searcher.stored_fields(docnum), docnum, clusters, limit=limit)
        plain = ParsedQuery("", wq.NullQuery, frozenset(), ())
        hits = []
        for other, score in found:
            stored = searcher.stored_fields(other)
            hits.append(self._extend(self._hit(stored, score, plain), stored, other, clusters))
        return tuple(hits)

    def _related_shards(self, article_id: str, limit: int) -> tuple[Hit, ...]:
        """:meth:`related` of a sharded index: the key terms from the whole index's statistics,
        searched in every shard, the article and its copies left out everywhere."""
        searcher, docnum, clusters = self._find(article_id)
        if docnum is None:
            return ()
        stored = searcher.stored_fields(docnum)
        terms = related.key_terms(searcher, stored.get(fields.TITLE, ""), stored.get(fields.BODY, ""))
        if not terms:
            return ()
        place = int(clusters.order[docnum])
        mask = {place} | {member.docnum for member in clusters.members(docnum)}
        request = fanout.ShardRequest(None, limit, terms=tuple(terms), mask=tuple(sorted(mask)))
        with Budget(None) as budget:
            merged = self._fan_out(replace(request, sort="related"), budget)
        plain = ParsedQuery("", wq.NullQuery, frozenset(), ())
        return self._shard_hits(merged.rows[:limit], plain, True)

    def suggest(self, text: str, limit: int = 8) -> list[str]:
        """Completions of what a reader is typing: frequent words, then titles (a few microseconds)."""
        return self._suggester().complete(text, limit)

    def did_you_mean(self, query: str, budget: Budget | None = None, more_than: int = 0, **filters) -> str | None:
        """A query one typo away from ``query`` that finds something, or ``None``.

        :param budget: the time it may spend (shared with the search that found nothing)
        :param more_than: what ``query`` itself finds: when it finds something, the correction must
            find far more (:func:`search.spelling.far_more`)
        :param filters: as for :meth:`search` (``date_from``, ``source``, ...): the corrected query
            must find something within them
        """
        if budget is None:
            with Budget(self.time_limit) as own:
                return self.did_you_mean(query, own, more_than, **filters)
        correction = spelling.corrected(query, self._suggester())
        if correction is None or budget.spent:
            return None
        try:
            found = self.search(correction, per_page=1, snippets=False, budget=budget, as_typed=True, **filters)
        except QueryError:
            return None
        if not found.total:
            return None
        return correction if not more_than or spelling.far_more(found.total, more_than) else None

    @staticmethod
    def highlight(text: str, query: str) -> Markup:
        """``text`` as safe HTML with the words of ``query`` marked (for a whole article)."""
        try:
            parsed = parse(_valid_text(query))
        except QueryError:
            return highlight.render(text, [])
        return highlight.mark_all(text, parsed.words, parsed.phrases)


#: The range a reader's boost (重庆^2) is held to: Whoosh divides by a boost of 0 (a crash) and an
#: enormous one makes scores infinite.
_BOOSTS = (1e-6, 1e6)


def _bounded_boosts(query: wq.Query) -> wq.Query:
    """``query`` with every boost held to :data:`_BOOSTS` (a copy, when one is out of range)."""

    def bound(node):
        boost = getattr(node, "boost", 1.0)
        if not _BOOSTS[0] <= boost <= _BOOSTS[1]:  # NaN too
            node.boost = 1.0 if math.isnan(boost) else min(max(boost, _BOOSTS[0]), _BOOSTS[1])
        return node

    return query.accept(bound)


_SURROGATES = re.compile("[\ud800-\udfff]")
_LATIN = re.compile("[A-Za-z]")
#: Articles counted at most when readings of pinyin initials are compared.
_TOGETHER_COUNTED = 500


def _narrowed(query: wq.Query) -> bool:
    """Whether ``query`` holds a phrase or a NOT, whose matches Whoosh's estimate overcounts."""
    if isinstance(query, (wq.Phrase, wq.AndNot, wq.Not)):
        return True
    return not query.is_leaf() and any(_narrowed(child) for child in query.children())


def _valid_text(text):
    """``text`` with lone surrogates (from undecodable bytes: text no UTF-8 can carry) made U+FFFD."""
    if isinstance(text, str) and not text.isascii():
        return _SURROGATES.sub("\ufffd", text)
    return text


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


__all__ = ["NewsIndex", "to_datetime"]
