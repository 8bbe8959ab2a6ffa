"""The ``news-search`` command: a thin layer over the library.

Every command is one library call plus argument parsing and output; library errors become a
one-line ``Error: ...`` and a non-zero exit.
"""

from __future__ import annotations

import json
import os
import sys

import click

from .errors import SearchError
from .evaluate import evaluate, read_qrels, read_queries
from .indexer import rebuild as rebuild_index
from .searcher import MAX_PER_PAGE, SORTS, NewsIndex

DEFAULT_INDEX = "index"
DEFAULT_SOURCES = ("seeds",)


def _index_option(function):
    return click.option(
        "--index",
        "index_dir",
        default=lambda: os.environ.get("NEWS_SEARCH_INDEX", DEFAULT_INDEX),
        show_default="index/ (or $NEWS_SEARCH_INDEX)",
        type=click.Path(file_okay=False),
        help="Index directory.",
    )(function)


def _fail(error: Exception) -> click.ClickException:
    return click.ClickException(str(error))


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group()
@click.version_option(package_name="news-search")
def cli():
    """Full-text search over Chinese regional news."""


@cli.group()
def index():
    """Build and maintain the index."""


@index.command("rebuild")
@click.option(
    "--source",
    "sources",
    multiple=True,
    type=click.Path(),
    help="A source file or folder (repeatable). Default: seeds/.",
)
@_index_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--strict", is_flag=True, help="Stop at the first unreadable file, exit non-zero.")
@click.option("--silent", is_flag=True, help="No progress bar.")
def index_rebuild(sources, index_dir, as_json, strict, silent):
    """Rebuild the index from source files, then swap it in atomically.

    The index being served stays in place until the new one is complete.
    """
    sources = list(sources) or list(DEFAULT_SOURCES)
    show_bar = not (silent or as_json) and sys.stderr.isatty()
    try:
        summary = _run_rebuild(sources, index_dir, strict, show_bar)
    except SearchError as error:
        raise _fail(error) from None
    if as_json:
        _echo_json(summary.to_dict())
        return
    click.echo(
        f"Indexed {summary.indexed} articles from {summary.files} files in {summary.seconds:.1f} s"
        f" ({summary.duplicates} duplicates, {len(summary.skipped)} skipped) -> {summary.index_dir}"
    )
    for skipped in summary.skipped:
        where = f"{skipped.path}:{skipped.line}" if skipped.line else skipped.path
        click.echo(f"  skipped {where}: {skipped.reason}", err=True)


def _run_rebuild(sources, index_dir, strict, show_bar):
    if not show_bar:
        return rebuild_index(sources, index_dir, strict=strict)
    bar = None

    def progress(done, total, indexed):
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Indexing", file=sys.stderr, show_pos=True)
            bar.__enter__()
        bar.label = f"Indexing ({indexed} articles)"
        bar.update(done - bar.pos)

    try:
        return rebuild_index(sources, index_dir, strict=strict, on_progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


@cli.command("search")
@click.argument("query")
@_index_option
@click.option(
    "--limit", "per_page", default=10, show_default=True, type=click.IntRange(1, MAX_PER_PAGE), help="Hits per page."
)
@click.option("--page", default=1, show_default=True, type=click.IntRange(1), help="Page number.")
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--from", "date_from", metavar="DATE", help="Earliest publication date, YYYY-MM-DD.")
@click.option("--to", "date_to", metavar="DATE", help="Latest publication date, YYYY-MM-DD.")
@click.option("--source", help="Only articles from this source.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def search_command(query, index_dir, per_page, page, sort, date_from, date_to, source, as_json):
    """Search the index for QUERY (words, "phrases", AND/OR/NOT, -word, title:...)."""
    try:
        result = NewsIndex.open(index_dir).search(
            query, page=page, per_page=per_page, sort=sort, date_from=date_from, date_to=date_to, source=source
        )
    except SearchError as error:
        raise _fail(error) from None
    if as_json:
        _echo_json(result.to_dict())
        return
    first = (result.page - 1) * result.per_page + 1
    click.echo(f"{result.total} results ({result.took_ms:.0f} ms)")
    for rank, hit in enumerate(result.hits, first):
        date = hit.date.strftime("%Y-%m-%d") if hit.date else "----------"
        click.echo(f"{rank:3}. {hit.title}")
        click.echo(f"     {date}  {hit.source or '-'}  {hit.id}")


@cli.command("eval")
@click.option(
    "--queries",
    "queries_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Queries: a TSV file of 'id<TAB>query text' lines.",
)
@click.option(
    "--qrels",
    "qrels_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Relevance judgments: TREC qrels ('qid 0 docid grade').",
)
@_index_option
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def eval_command(queries_file, qrels_file, index_dir, as_json):
    """Measure ranking quality: nDCG@10, Recall@100 and MRR@10 of the queries over the index."""
    try:
        queries = read_queries(queries_file)
        qrels = read_qrels(qrels_file)
        result = evaluate(NewsIndex.open(index_dir), queries, qrels)
    except SearchError as error:
        raise _fail(error) from None
    if as_json:
        _echo_json(result.to_dict())
        return
    click.echo(f"nDCG@10     {result.ndcg10:.4f}")
    click.echo(f"Recall@100  {result.recall100:.4f}")
    click.echo(f"MRR@10      {result.mrr10:.4f}")
    unjudged = len(queries) - result.queries
    note = f" ({unjudged} without relevant judgments left out)" if unjudged else ""
    click.echo(f"queries     {result.queries}{note}")


def main():  # pragma: no cover - console script entry point
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
