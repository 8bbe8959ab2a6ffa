"""Measure ranking levers: evaluate variants of search.scoring.Ranking on one index.

    python -m tools.ranking_levers --index DIR --queries FILE --qrels FILE \
        "" "coordination=0" "fields=(F('body', 1, 0.75),)" ...

Each variant is keyword arguments for dataclasses.replace(RANKING, ...) ("" is the default
ranking; F is search.scoring.FieldWeight). Queries run through the same query parsing and scoring as
`news-search search`, with Whoosh's searcher directly (no snippets), and are scored by
search.evaluate (ir-measures). docs/ranking.md lists what each lever did.
"""

from __future__ import annotations

import dataclasses
import time

import click

from search.evaluate import DEPTH, read_qrels, read_queries, score
from search.generations import open_generation
from search.query import parse
from search.scoring import RANKING, FieldWeight


@click.command()
@click.option(
    "--index", "index_dir", required=True, type=click.Path(exists=True, file_okay=False), help="A built index."
)
@click.option(
    "--queries",
    "queries_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Queries (TSV: id, text).",
)
@click.option(
    "--qrels", "qrels_file", required=True, type=click.Path(exists=True, dir_okay=False), help="Judgments (TREC qrels)."
)
@click.argument("variants", nargs=-1)
def main(index_dir: str, queries_file: str, qrels_file: str, variants: tuple[str, ...]) -> None:
    """Evaluate variants of the ranking (search.scoring.Ranking) on one index.

    Each VARIANT is keyword arguments for dataclasses.replace(RANKING, ...), such as
    "coordination=0" or "fields=(F('body', 1, 0.75),)" (F is FieldWeight); "" or none is the
    default ranking. Prints nDCG@10, Recall@100, MRR@10 and the time per query of each.
    """
    variants = variants or ("",)
    queries = read_queries(queries_file)
    qrels = read_qrels(qrels_file)
    whoosh, _generation = open_generation(index_dir)
    with whoosh.searcher() as searcher:
        searcher.search(parse(next(iter(queries.values()))).query)  # load jieba before timing
        for variant in variants:
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
            click.echo(
                f"{variant or '(default)':60s} nDCG@10 {result.ndcg10:.4f}  R@100 {result.recall100:.4f}"
                f"  MRR@10 {result.mrr10:.4f}  {1000 * seconds / max(1, len(queries)):.0f} ms/query"
            )


if __name__ == "__main__":
    main()
