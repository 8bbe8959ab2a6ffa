"""Ranking quality: run a set of queries over an index and score the ranking against judgments.

Queries are a TSV file (``id<TAB>text`` a line); judgments are TREC qrels (``qid 0 docid grade``).
The measures come from ir-measures (backed by pytrec_eval), not from code of ours:

* nDCG@10 with the grades as gains (2 = mainly about it counts twice as much as 1);
* Recall@100 and MRR@10 with a grade of 1 or more counting as relevant.

A query with judgments that finds nothing scores 0 on every measure (pytrec_eval on its own would
silently leave it out of the mean); a query without any relevant judgment cannot be scored and is
left out.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import ir_measures
from ir_measures import MRR, R, nDCG

from .errors import QueryError, SearchError

#: How many results are ranked per query (Recall is measured at this depth).
DEPTH = 100

NDCG_10 = nDCG @ 10
RECALL_100 = R(rel=1) @ DEPTH
MRR_10 = MRR(rel=1) @ 10
MEASURES = {"ndcg@10": NDCG_10, "recall@100": RECALL_100, "mrr@10": MRR_10}


@dataclass(frozen=True)
class Evaluation:
    """Mean scores over the judged queries, and each query's own."""

    ndcg10: float
    recall100: float
    mrr10: float
    queries: int
    per_query: Mapping[str, Mapping[str, float]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        return {
            "ndcg@10": round(self.ndcg10, 4),
            "recall@100": round(self.recall100, 4),
            "mrr@10": round(self.mrr10, 4),
            "queries": self.queries,
        }


def read_queries(path: str | os.PathLike) -> dict[str, str]:
    """Queries from a TSV file of ``id<TAB>text`` lines (blank lines and ``#`` comments skipped).

    :raises SearchError: when the file cannot be read or a line has no tab
    """
    queries: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            for number, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
                if not row or not "".join(row).strip() or row[0].startswith("#"):
                    continue
                if len(row) < 2 or not row[0].strip():
                    raise SearchError(f"{path}:{number}: expected 'id<TAB>query text'")
                queries[row[0].strip()] = "\t".join(row[1:]).strip()
    except OSError as error:
        raise SearchError(f"{path}: cannot read queries ({error.strerror or error})") from None
    return queries


def read_qrels(path: str | os.PathLike) -> dict[str, dict[str, int]]:
    """TREC qrels as ``{query id: {article id: grade}}``.

    :raises SearchError: when the file cannot be read or parsed
    """
    qrels: dict[str, dict[str, int]] = {}
    try:
        for qrel in ir_measures.read_trec_qrels(os.fspath(path)):
            qrels.setdefault(qrel.query_id, {})[qrel.doc_id] = int(qrel.relevance)
    except OSError as error:
        raise SearchError(f"{path}: cannot read qrels ({error.strerror or error})") from None
    except (ValueError, IndexError) as error:
        raise SearchError(f"{path}: not a TREC qrels file ({error})") from None
    return qrels


def score(run: Mapping[str, list[str]], qrels: Mapping[str, Mapping[str, int]]) -> Evaluation:
    """Score ranked article ids per query against graded judgments.

    :param run: for each query id, article ids best first
    """
    judged = sorted(q for q in run if any(grade >= 1 for grade in qrels.get(q, {}).values()))
    per_query = {q: dict.fromkeys(MEASURES, 0.0) for q in judged}
    names = {measure: name for name, measure in MEASURES.items()}
    # Scores that fall with the rank keep our order exactly (ties would be broken by id).
    trec_run = {q: {doc: float(len(run[q]) - rank) for rank, doc in enumerate(run[q])} for q in judged}
    trec_qrels = {q: dict(qrels[q]) for q in judged}
    for metric in ir_measures.iter_calc(list(MEASURES.values()), trec_qrels, trec_run):
        per_query[metric.query_id][names[metric.measure]] = float(metric.value)

    def mean(name: str) -> float:
        return sum(values[name] for values in per_query.values()) / len(per_query) if per_query else 0.0

    return Evaluation(mean("ndcg@10"), mean("recall@100"), mean("mrr@10"), len(per_query), per_query)


def rank(index, queries: Mapping[str, str], depth: int = DEPTH) -> dict[str, list[str]]:
    """The article ids ``index`` (a :class:`~search.NewsIndex`) ranks first for each query.

    The queries run through :meth:`~search.NewsIndex.search`, as a reader's would, but with every
    copy of a syndicated story listed on its own (``collapse=False``): judgments are per article,
    and the peers' figures count each article too. Collapsing hides the copies of a hit behind it;
    it changes what a page shows, not how articles are ranked.
    """
    run: dict[str, list[str]] = {}
    for qid, text in queries.items():
        try:
            page = index.search(text, per_page=depth, collapse=False, snippets=False)
        except QueryError:
            run[qid] = []
            continue
        run[qid] = [hit.id for hit in page.hits]
    return run


def evaluate(index, queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]]) -> Evaluation:
    """Run ``queries`` over ``index`` (a :class:`~search.NewsIndex`) and score the ranking against ``qrels``."""
    return score(rank(index, queries), qrels)


__all__: Iterable[str] = ["DEPTH", "Evaluation", "evaluate", "rank", "read_qrels", "read_queries", "score"]
