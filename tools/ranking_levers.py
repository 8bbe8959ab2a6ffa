"""Measure ranking levers: evaluate variants of search.scoring.Ranking on one index.

    python -m tools.ranking_levers --index DIR --queries FILE --qrels FILE \
        "" "coordination=0" "fields=(F('body', 1, 0.75),)" ...

Each variant is keyword arguments for dataclasses.replace(RANKING, ...) ("" is the default
ranking; F is search.scoring.FieldWeight). Queries run through the same query parsing and scoring as
`news-search search`, with Whoosh's searcher directly (no snippets), and are scored by
search.evaluate (ir-measures). docs/ranking.md lists what each lever did.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from search.evaluate import DEPTH, read_qrels, read_queries, score
from search.generations import open_generation
from search.query import parse
from search.scoring import RANKING, FieldWeight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--qrels", required=True)
    parser.add_argument("variants", nargs="*", default=[""])
    args = parser.parse_args()
    queries = read_queries(args.queries)
    qrels = read_qrels(args.qrels)
    whoosh, _generation = open_generation(args.index)
    with whoosh.searcher() as searcher:
        searcher.search(parse(next(iter(queries.values()))).query)  # load jieba before timing
        for variant in args.variants:
            # A measuring tool run by hand: the variant is Python keyword arguments.
            changes = eval(f"dict({variant})", {"F": FieldWeight})
            ranking = dataclasses.replace(RANKING, **changes)
            started = time.perf_counter()
            run = {
                qid: [hit["id"] for hit in searcher.search(parse(text, ranking).query, limit=DEPTH)]
                for qid, text in queries.items()
            }
            seconds = time.perf_counter() - started
            result = score(run, qrels)
            print(
                f"{variant or '(default)':60s} nDCG@10 {result.ndcg10:.4f}  R@100 {result.recall100:.4f}"
                f"  MRR@10 {result.mrr10:.4f}  {1000 * seconds / max(1, len(queries)):.0f} ms/query",
                flush=True,
            )


if __name__ == "__main__":
    main()
