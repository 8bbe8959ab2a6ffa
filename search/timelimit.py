"""The time limit of a search: a query that would run too long returns what it found so far.

A query such as a long list of common words on a large index could otherwise hold a server thread
for a long time. :class:`Budget` is the time one search may spend; :func:`run` finds the page's
hits within it, and the facet counts (:func:`search.facets.within`) stop at the same deadline. Out
of time, the result is the best of the matches found by then, flagged ``partial``.
"""

from __future__ import annotations

import math
import time

from whoosh import collectors

from . import copies as syndication

#: Seconds a search may spend before it returns what it found, flagged ``partial``; ``None`` or 0:
#: no limit.
TIME_LIMIT = 3.0
#: Queries whose matches may be more than this are counted approximately: an exact count means
#: matching every document again, without block-skipping, which would cost more than the search.
EXACT_COUNT_LIMIT = 1_000


class Budget:
    """The time one search may spend, from when it was made; ``seconds`` falsy: no limit."""

    def __init__(self, seconds: float | None):
        self.deadline = time.monotonic() + seconds if seconds else math.inf

    @property
    def spent(self) -> bool:
        """Whether the time is up."""
        return time.monotonic() > self.deadline

    def check(self) -> None:
        """:raises whoosh.collectors.TimeLimit: when the time is up"""
        if time.monotonic() > self.deadline:
            raise collectors.TimeLimit


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


def run(searcher, query, copies, options: dict, budget: Budget):
    """:func:`search.copies.search` within ``budget``: ``(results, total, exact, partial)``.

    Out of time, the results are the best of the matches found so far and ``total`` counts those.
    A broad query's total is Whoosh's estimate (``exact`` False): counting every match again,
    without block-skipping, would cost more than the search.
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
        searcher.search_with_collector(query, collector)
    except collectors.TimeLimit:
        return collector.results(), limited.matched, False, True
    results = collector.results()
    if limited.computes_count():
        return results, len(results), True, False
    estimate = query.estimate_size(searcher.reader())
    if estimate > EXACT_COUNT_LIMIT:
        return results, max(results.scored_length(), min(estimate, searcher.doc_count())), False, False
    # Whoosh skipped low-scoring blocks of documents, so the matches must be counted again: within
    # the time left, else the count so far.
    counted = 0
    for counted, _ in enumerate(collector.all_ids(), 1):
        if not counted % 1024 and budget.spent:
            return results, max(counted, results.scored_length()), False, True
    return results, counted, True, False


__all__ = ["EXACT_COUNT_LIMIT", "TIME_LIMIT", "Budget", "run"]
