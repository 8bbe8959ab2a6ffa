"""The time limit of a search: a query that would run too long returns what it found so far.

A query such as a long list of common words on a large index could otherwise hold a server thread
for a long time. :class:`Budget` is the time one request may spend, shared by everything it does:
:func:`run` finds the page's hits within it (the scoring loops check it through :func:`time_up`),
the facet counts (:func:`search.facets.within`) and "did you mean" stop at the same deadline. Out of
time, the result is the best of the matches found by then, flagged ``partial``.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import weakref
from collections.abc import Iterator
from contextvars import ContextVar

from whoosh import collectors

from . import copies as syndication

#: Seconds a search may spend before it returns what it found, flagged ``partial``; ``None`` or 0:
#: no limit.
TIME_LIMIT = 3.0
#: Queries whose matches may be more than this are counted approximately: an exact count means
#: matching every document again, without block-skipping, which would cost more than the search.
EXACT_COUNT_LIMIT = 1_000


class Budget:
    """The time one request may spend, from when it was made; ``seconds`` falsy: no limit.

    A request that is still searching after :data:`HEAVY_AFTER` seconds is a heavy one: it goes on
    only while it holds one of the process's :data:`HEAVY_SLOTS` slots, and is otherwise out of
    time at once (partial). A few costly searches then run to their limit while every other thread
    stays free for cheap ones, whatever a crowd of costly queries arriving together does. A held
    slot is given back by :meth:`close` (or when the budget is dropped).
    """

    def __init__(self, seconds: float | None):
        self.started = time.monotonic()
        self.deadline = self.started + seconds if seconds else math.inf
        #: Some part of a search stopped early for want of time (see :func:`time_up`).
        self.cut = False
        self._slot: weakref.finalize | None = None

    @property
    def spent(self) -> bool:
        """Whether the time is up (for a heavy request without a slot, it is)."""
        now = time.monotonic()
        if now > self.deadline:
            return True
        if self._slot is None and now - self.started > HEAVY_AFTER and self.deadline != math.inf:
            if not _heavy.acquire(blocking=False):
                self.deadline = now
                return True
            self._slot = weakref.finalize(self, _heavy.release)
        return False

    def check(self) -> None:
        """:raises whoosh.collectors.TimeLimit: when the time is up"""
        if self.spent:
            raise collectors.TimeLimit

    def excuse(self, seconds: float) -> None:
        """Give back ``seconds`` spent waiting for something to load, not searching."""
        self.started += seconds
        self.deadline += seconds

    def close(self) -> None:
        """Give back the heavy slot, if this budget holds one."""
        if self._slot is not None:
            self._slot()

    def __enter__(self) -> Budget:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


#: Seconds after which a search is heavy (see :class:`Budget`).
HEAVY_AFTER = 0.25
#: Heavy searches one process runs at once.
HEAVY_SLOTS = 2
_heavy = threading.BoundedSemaphore(HEAVY_SLOTS)


_spending: ContextVar[Budget | None] = ContextVar("news_search_budget", default=None)


@contextlib.contextmanager
def spending(budget: Budget) -> Iterator[None]:
    """Make ``budget`` the one :func:`check` checks, in this thread, while the block runs."""
    token = _spending.set(budget)
    try:
        yield
    finally:
        _spending.reset(token)


def time_up() -> bool:
    """Whether the budget being spent (if any) is spent, for loops deep inside a search (scoring,
    phrase matching) that Whoosh's collector never sees: such a loop stops and keeps what it has,
    and the budget remembers that the search was cut short (:attr:`Budget.cut`)."""
    budget = _spending.get()
    if budget is None or not budget.spent:
        return False
    budget.cut = True
    return True


class _Deadline(collectors.WrappingCollector):
    """Collects like its child until the budget is spent, then raises ``TimeLimit``.

    Like Whoosh's ``TimeLimitCollector(use_alarm=False)`` (the clock is checked at every match, so
    it works in any thread), without a timer thread for every search, and placed inside the filter
    (Whoosh's wrapper, put around a filtered collector, bypasses the filter).
    """

    def __init__(self, child, budget: Budget):
        super().__init__(child)
        self.budget = budget
        self.matched = 0

    def computes_count(self):
        return self.child.computes_count()

    def collect(self, sub_docnum):
        key = self.child.collect(sub_docnum)
        self.matched += 1
        self.budget.check()
        return key


def run(searcher, query, copies, options: dict, budget: Budget, count: bool = False):
    """:func:`search.copies.search` within ``budget``: ``(results, total, exact, partial)``.

    Out of time, the results are the best of the matches found so far and ``total`` counts those.
    A broad query's total is Whoosh's estimate (``exact`` False): counting every match again,
    without block-skipping, would cost more than the search.

    :param count: count the matches whatever the estimate, while the budget lasts (a filter, a
        phrase or a NOT makes Whoosh's estimate meaningless); out of time, the total is the count
        so far scaled to the whole index (``exact`` False)
    """
    options = dict(options)
    allow = options.pop("filter", None)
    limited = _Deadline(searcher.collector(**options), budget)
    if copies:
        collector = syndication.collapsing(limited, copies, allow)
    elif allow is not None:
        collector = collectors.FilterCollector(limited, allow)
    else:
        collector = limited
    try:
        with spending(budget):
            searcher.search_with_collector(query, collector)
    except collectors.TimeLimit:
        return collector.results(), limited.matched, False, True
    results = collector.results()
    found = results.scored_length()
    if budget.cut:  # the scoring stopped early: these are the matches of what it had scored
        return results, found, False, True
    if limited.computes_count():
        return results, len(results), True, False
    if found < options["limit"]:
        # Whoosh skips blocks of documents only once it holds a full page: it saw every match.
        return results, found, True, False
    estimate = query.estimate_size(searcher.reader())
    if estimate > EXACT_COUNT_LIMIT and not count:
        return results, max(found, min(estimate, searcher.doc_count())), False, False
    # Whoosh skipped low-scoring blocks of documents, so the matches must be counted again.
    counted, last = 0, -1
    try:
        with spending(budget):
            for docnum in collector.all_ids():
                counted += 1
                if not counted % 1024:
                    last = docnum
                    budget.check()
    except collectors.TimeLimit:
        share = (last + 1) / max(1, searcher.doc_count_all())  # matches come in document order
        return results, max(found, round(counted / share) if share else counted), False, False
    return results, counted, True, False


__all__ = ["EXACT_COUNT_LIMIT", "TIME_LIMIT", "Budget", "run", "spending", "time_up"]
