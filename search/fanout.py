"""Searching a sharded index: one call per shard, and the merge of their answers.

The seam between the two is plain data, so that the shards can run anywhere: a
:class:`ShardRequest` goes to every shard (:meth:`Shard.search`, run by threads here, and the same
call can run in a Ray actor holding one shard), each returns a :class:`ShardAnswer`, and
:func:`merge` makes one page of them as one index of the same articles would have found it:

- Ranked queries re-score their best candidates (answer type, proximity) over the whole index
  (:class:`search.scoring.Reranking`). Most queries (one ranked group of words: a keyword
  query, a question) take one round: each shard searches without re-scoring and ``report``s its
  best candidates, and :func:`settle` re-scores the chosen ones before the merge. Other queries
  that may re-score take two: a first round (``gather``) reports each shard's best candidates,
  :func:`search.scoring.choose` picks the ones to re-score, and the second round searches with
  that choice. A shard that is the whole index (one shard served by a cluster) re-scores as one
  index does, in one round.
- Hits are ordered by score (or date), equal ones by their place in the whole index, as one
  index orders them by document number; each shard returns the first ``page * per_page`` of its
  own list, which holds every hit the merged list's page can need.
- Copies are collapsed across shards: each shard keeps the best copy of a story among its
  articles, the merge keeps the best of those. A shard's collapsed list never ranks a story's best
  copy lower than the merged list does, so ``page * per_page`` from each shard is still enough.
- Totals add up, less the stories counted in several shards (each shard names the clusters it
  counted); a total that one index would estimate is estimated the same way, from the whole
  index's statistics. Facet counts add up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from whoosh import collectors, sorting
from whoosh import query as wq

from . import copies as syndication
from . import facets as facet_counts
from . import schema as fields
from . import scoring
from .generations import open_checked
from .results import FacetValue
from .shards import GlobalStats, ShardCopies, StatsSearcher, load_order
from .timelimit import EXACT_COUNT_LIMIT, Budget, _Deadline, spending


@dataclass(frozen=True)
class ShardRequest:
    """What every shard is asked (plain data: it may be sent to another process)."""

    #: The query as the searcher runs it (see :meth:`search.NewsIndex.search`), or ``None`` with
    #: ``terms``: an OR of weighted words over title and body (related articles).
    query: str | None
    limit: int
    sort: str = "relevance"
    start: object = None
    end: object = None
    source: str | None = None
    region: str | None = None
    facets: bool = False
    collapse: bool = True
    #: Count the matches exactly while time allows (a filter, a phrase or a NOT).
    count: bool = False
    terms: tuple[tuple[str, float], ...] = ()
    #: Places in the whole index of articles left out (an article and its copies).
    mask: tuple[int, ...] = ()
    #: Only report the best candidates of each ranked query (first round).
    gather: bool = False
    #: By shard, the candidates to re-score (second round; see :func:`search.scoring.choose`).
    chosen: tuple[dict, ...] | None = None
    #: Search without re-scoring and report the candidates, for :func:`settle` (one round).
    report: bool = False


@dataclass
class ShardAnswer:
    """One shard's answer (plain data)."""

    shard: int
    #: ``(sort key, place in the whole index, cluster number or 0, document number, score)`` of
    #: the shard's first ``limit`` hits, best first.
    rows: list[tuple] = field(default_factory=list)
    #: The shard's matches counted exactly (copies collapsed), or ``None`` when estimated.
    counted: int | None = 0
    #: The clusters of copies among the matches counted.
    clusters: list[int] = field(default_factory=list)
    #: Whoosh's estimate of the whole index's matches (from the whole index's statistics).
    estimate: int = 0
    #: The collector counted every match as it went (no block skipping: a sort by date, a query
    #: whose matcher cannot skip).
    computes: bool = False
    #: ``counted`` was scaled up from a count that ran out of time.
    extrapolated: bool = False
    partial: bool = False
    #: The shard did not answer (a shard served elsewhere: lost, restarting, out of time).
    missing: bool = False
    #: Milliseconds the shard took to answer (of its own work, not counting the trip).
    took_ms: float = 0.0
    facets: dict = field(default_factory=dict)
    #: What :attr:`search.scoring.Reranking.found` gathered or reported.
    report: dict = field(default_factory=dict)
    #: Reported in one round: rows of the top query's candidates among the hits that are not in
    #: ``rows`` (scored without re-scoring); :func:`settle` keeps those it re-scores.
    candidates: list[tuple] = field(default_factory=list)


class Shard:
    """One shard of a sharded index, searched with the whole index's statistics."""

    def __init__(self, number: int, generation: Path, index, stats: GlobalStats, whole: syndication.Copies):
        self.number = number
        self.generation = generation
        self.index = index
        self.reader = stats.readers[number]
        self.stats = stats
        self.order = load_order(generation, self.reader.doc_count_all())
        self.copies = ShardCopies(whole, self.order)
        self._local = threading.local()
        self._columns: facet_counts.Columns | None = None
        self._lock = threading.Lock()
        self._by_place: tuple[np.ndarray, np.ndarray] | None = None

    def searcher(self) -> StatsSearcher:
        """This thread's searcher of the shard."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._local.searcher = StatsSearcher(self.index.reader(), self.stats, fromindex=self.index)
        return searcher

    def local(self, place: int) -> int:
        """The document number in this shard of the article at ``place`` in the whole index."""
        if self._by_place is None:
            ranked = np.argsort(self.order, kind="stable")
            self._by_place = (self.order[ranked], ranked)
        places, ranked = self._by_place
        return int(ranked[np.searchsorted(places, place)])

    def columns(self) -> facet_counts.Columns:
        if self._columns is None:
            with self._lock:
                if self._columns is None:
                    self._columns = facet_counts.Columns(self.reader)
        return self._columns

    def warm_up(self) -> None:
        scoring.warm(self.reader)
        self.columns()
        if len(self.order):
            self.local(int(self.order[0]))

    def close(self) -> None:
        self.reader.close()
        self.index.close()

    def search(self, request: ShardRequest, budget: Budget) -> ShardAnswer:
        """This shard's part of a search."""
        started = time.perf_counter()
        answer = self._search(request, budget)
        answer.took_ms = (time.perf_counter() - started) * 1000
        return answer

    def _search(self, request: ShardRequest, budget: Budget) -> ShardAnswer:
        from .query import parse
        from .searcher import _bounded_boosts

        searcher = self.searcher()
        answer = ShardAnswer(self.number)
        if request.query is not None:
            runnable = _bounded_boosts(parse(request.query).query.normalize())
        else:
            runnable = wq.Or(
                [wq.Term(name, term, boost=weight) for term, weight in request.terms for name in (fields.BODY, fields.TITLE)]
            )
        if request.gather:
            plan = scoring.Reranking.gathering(self.order)
            with scoring.planned(plan), spending(budget):
                try:
                    runnable.matcher(searcher, searcher.context())
                except collectors.TimeLimit:
                    answer.partial = True
            answer.report = plan.found
            return answer
        if len(self.stats.readers) == 1:  # the whole index: re-scored as one index is
            plan = None
        elif request.report:
            plan = scoring.Reranking.reporting(self.order)
        else:
            chosen = request.chosen[self.number] if request.chosen is not None else {}
            plan = scoring.Reranking.located(self.order, chosen, self.local)
        filters = []
        if request.start or request.end:
            filters.append(
                wq.DateRange(
                    fields.PUBLISHED, request.start or facet_counts.EARLIEST, request.end or facet_counts.LATEST
                )
            )
        if request.source:
            filters.append(wq.Term(fields.SOURCE, request.source))
        if request.region:
            filters.append(wq.Term(fields.REGION, request.region))
        allow = None if not filters else filters[0] if len(filters) == 1 else wq.And(filters)
        options = {"limit": request.limit}
        if request.sort == "date":
            options["sortedby"] = sorting.FieldFacet(fields.PUBLISHED, reverse=True)
        copies = self.copies if request.collapse else None
        mask = {int(i) for i in np.flatnonzero(np.isin(self.order, list(request.mask)))} if request.mask else None
        with scoring.planned(plan):
            collector = self._run(searcher, runnable, copies, allow, mask, options, request, budget, answer)
        if request.report and isinstance(runnable, scoring.Ranked):
            answer.report = plan.found
            answer.candidates = self._candidates(plan.found.get(runnable.node), runnable.boost, collector, answer)
        if request.facets:
            filters = (request.start, request.end, request.source, request.region)
            answer.facets, partial = facet_counts.within(
                searcher, runnable, filters, budget, answer.partial, columns=self.columns()
            )
            answer.partial = answer.partial or partial
        return answer

    def _candidates(self, found: dict | None, boost: float, collector, answer: ShardAnswer) -> list[tuple]:
        """Rows of the reported candidates that are hits (through the filters and the mask) but
        not among the answer's rows: any of them may rise into the page once re-scored."""
        if not found:
            return []
        listed = {row[3] for row in answer.rows}
        allow, restrict = getattr(collector, "_allow", None), getattr(collector, "_restrict", None)
        keys = self.copies._cluster if isinstance(collector, syndication._Collapse) else {}
        rows = []
        for docnum, (score, place, _has) in zip(found["docs"], found["best"], strict=True):
            if docnum in listed or (allow is not None and docnum not in allow):
                continue
            if restrict is not None and docnum in restrict:
                continue
            score = score * boost if boost != 1.0 else score
            rows.append((-score, place, keys.get(docnum, 0), docnum, score))
        return rows

    def _run(self, searcher, runnable, copies, allow, mask, options, request, budget, answer):
        """The hits, and what the total needs (see :func:`search.timelimit.run`, which this
        follows for one shard of the whole); returns the collector."""
        limited = _Deadline(searcher.collector(**options), budget)
        if copies:
            collector = syndication._Collapse(limited, copies._cluster, allow=allow, restrict=mask)
        elif allow is not None or mask:
            collector = collectors.FilterCollector(limited, allow, restrict=mask)
        else:
            collector = limited
        keys = copies._cluster if copies else {}
        try:
            with spending(budget):
                searcher.search_with_collector(runnable, collector)
        except collectors.TimeLimit:
            answer.partial = True
        results = collector.results()
        found = results.scored_length()
        order = self.order
        relevance = request.sort != "date"  # ranked by score (a search, related articles)
        for i in range(found):
            key, docnum = results.top_n[i]
            score = results.score(i) if relevance else None
            answer.rows.append(
                (-key if relevance else key, int(order[docnum]), keys.get(docnum, 0), docnum, score)
            )
        if answer.partial or budget.cut:
            answer.partial = True
            answer.counted = limited.matched if answer.partial else found
            return collector
        # Whether the whole index's total is counted or estimated is decided by the merge, as one
        # index decides it (see search.timelimit.run): from the number of matches of all shards,
        # the whole index's estimate and the request. A shard counts its own matches unless that
        # decision can only be "estimate" (its own matches already fill the page).
        answer.estimate = runnable.estimate_size(searcher.global_reader())
        answer.computes = limited.computes_count()
        if answer.computes:
            answer.counted = len(results)
            answer.clusters = sorted(collector.best) if copies else []
            return collector
        if found < request.limit:  # it saw every match of this shard
            answer.counted = found
            answer.clusters = sorted({row[2] for row in answer.rows if row[2]})
            return collector
        if answer.estimate > EXACT_COUNT_LIMIT and not request.count:
            answer.counted = None
            return collector
        counted, clusters, last = 0, set(), -1
        try:
            with spending(budget):
                for docnum in collector.all_ids():
                    counted += 1
                    number = keys.get(docnum)
                    if number:
                        clusters.add(number)
                    if not counted % 1024:
                        last = docnum
                        budget.check()
        except collectors.TimeLimit:
            # As one index does: the count so far, scaled to the whole shard, is an estimate.
            share = (last + 1) / max(1, searcher.doc_count_all())
            counted = max(found, round(counted / share) if share else counted)
            answer.extrapolated = True
        answer.counted = counted
        answer.clusters = sorted(clusters)
        return collector


@dataclass
class Merged:
    """The merged answer: the first ``limit`` rows and the total."""

    rows: list[tuple]
    total: int
    exact: bool
    partial: bool
    facets: dict
    #: The shards that did not answer (the answer is then partial).
    missing: tuple[int, ...] = ()


def settle(answers: list[ShardAnswer], top: scoring.Ranked) -> None:
    """Re-score the rows of a one-round search (``report``) as one index would have: the plans of
    :func:`search.scoring.choose` over every shard's report, applied to each shard's rows and the
    candidates it re-scores (``top``: the query searched, a :class:`search.scoring.Ranked`, whose
    ranking knobs apply).
    """
    reports = [answer.report for answer in answers]
    if not any(reports):
        return
    node = top.node
    for answer, plan in zip(answers, scoring.choose(reports, top.ranking), strict=True):
        if node not in answer.report:
            continue
        final = scoring.rescored(answer.report[node], plan[node], top.boost, top.ranking)
        if not final:
            continue
        rows = [row for row in answer.candidates if row[1] in final]
        rows += answer.rows
        answer.rows = [(-final[row[1]], *row[1:4], final[row[1]]) if row[1] in final else row for row in rows]


def merge(answers: list[ShardAnswer], request: ShardRequest, documents: int) -> Merged:
    """One answer from every shard's, as one index of all their articles would have given it.

    :param documents: the articles of the whole index (the ceiling of an estimated total)
    """
    rows = sorted(row for answer in answers for row in answer.rows)
    if request.collapse:
        seen: set[int] = set()
        kept = []
        for row in rows:
            if row[2]:
                if row[2] in seen:
                    continue
                seen.add(row[2])
            kept.append(row)
        rows = kept
    found = min(len(rows), request.limit)
    rows = rows[: request.limit]
    partial = any(answer.partial for answer in answers)
    if partial:
        total, exact = sum(a.counted or 0 for a in answers), False
        total = max(total, found)
    elif any(answer.extrapolated for answer in answers) and all(a.counted is not None for a in answers):
        total, exact = max(found, sum(answer.counted for answer in answers)), False
    else:
        # One index's decision (search.timelimit.run): exact when its collector counts as it goes,
        # when it holds fewer matches than the hits asked for, or when a count is asked for or the
        # estimate is small; else the estimate.
        estimate = max((answer.estimate for answer in answers), default=0)
        counted = None
        if all(answer.counted is not None for answer in answers):
            counted = sum(answer.counted for answer in answers)
            if request.collapse:
                counted -= sum(len(a.clusters) for a in answers) - len({c for a in answers for c in a.clusters})
        computes = any(answer.computes for answer in answers if answer.rows)
        if counted is not None and (
            computes or counted < request.limit or request.count or estimate <= EXACT_COUNT_LIMIT
        ):
            total, exact = counted, True
        else:
            total, exact = max(found, min(estimate, documents)), False
    facets = _facets([answer.facets for answer in answers]) if request.facets else {}
    if request.facets and partial:
        facets = {name: () for name in facet_counts.FACETS}
    missing = tuple(answer.shard for answer in answers if answer.missing)
    return Merged(rows, total, exact, partial, facets, missing)


def _facets(parts: list[dict]) -> dict:
    """Facet counts of every shard added up, in the order one index lists them."""
    merged = {}
    for name in facet_counts.FACETS:
        counts: dict[str, int] = {}
        for part in parts:
            for value in part.get(name, ()):
                counts[value.value] = counts.get(value.value, 0) + value.count
        if name == "year":
            ordered = sorted(counts.items(), key=lambda item: item[0], reverse=True)
        elif name == "month":
            ordered = sorted(counts.items())
        else:
            ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        merged[name] = tuple(FacetValue(value, n) for value, n in ordered)
    return merged


def open_shards(generations: list[Path], index_dir) -> list[Shard]:
    """Every shard of a sharded index's served generations, with the index-wide statistics and
    copies (kept beside shard 0)."""
    indexes = [open_checked(generation, index_dir) for generation in generations]
    stats = GlobalStats([ix.reader() for ix in indexes])
    whole = syndication.Copies.load(generations[0], stats.docs_all)
    return [
        Shard(number, generation, ix, stats, whole)
        for number, (generation, ix) in enumerate(zip(generations, indexes, strict=True))
    ]


__all__ = ["Merged", "Shard", "ShardAnswer", "ShardRequest", "merge", "open_shards", "settle"]
