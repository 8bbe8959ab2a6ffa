"""What folding, region tagging and suggestions cost, measured against a baseline in the same run.

    python -m tools.bench_features fold [--articles 5000] [--corpus FILE]
    python -m tools.bench_features regions [--articles 5000] [--corpus FILE]
    python -m tools.bench_features suggest --index DIR [--queries 2000]

``fold``: the analysis of title + body (jieba words and character bigrams, as the index does) with
and without folding traditional characters to simplified, and fold() alone, on the same articles.
``regions``: the cost of tagging regions per article.
``suggest``: the latency of suggestions for every prefix of real titles, on a built index.
The corpus is ``--corpus`` or ``$NEWS_SEARCH_CORPUS``, else the 200 articles of tests/fixtures.
"""

from __future__ import annotations

import gzip
import json
import random
import statistics
import time
from pathlib import Path

import click

from search import analysis

FIXTURE_CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "chongqing-200.jsonl"


def articles(path: Path, count: int, seed: int = 8) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    random.Random(seed).shuffle(records)
    return records[:count]


def _best(function, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def _corpus_options(function):
    """The options of the commands that read articles from a corpus (fold, regions)."""
    function = click.option(
        "--corpus",
        default=FIXTURE_CORPUS,
        envvar="NEWS_SEARCH_CORPUS",
        show_envvar=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="JSON Lines corpus (.jsonl.gz too). Default: the 200 articles of tests/fixtures.",
    )(function)
    return click.option(
        "--articles", "count", default=5000, show_default=True, type=click.IntRange(1), help="Articles to use."
    )(function)


@click.group()
def main():
    """What folding, region tagging and suggestions cost, against a baseline in the same run."""


@main.command("fold")
@_corpus_options
def bench_fold(corpus: Path, count: int) -> None:
    """The cost of folding traditional characters to simplified.

    fold() alone, and the analysis of title + body (jieba words and character bigrams, as the index
    does), with and without the folding, on the same articles.
    """
    records = articles(corpus, count)
    texts = [f"{r.get('title', '')}\n{r.get('body', '')}" for r in records]
    chars = sum(map(len, texts))
    analysis.segment("预热")  # load jieba and the OpenCC table outside the timings
    real = analysis.to_simplified

    def analyse():
        for text in texts:
            analysis.segment(text)
            analysis.bigrams(text)

    def fold_only():
        for text in texts:
            analysis.fold(text)

    results = {}
    for label, folding in (("without t2s", lambda text: text), ("with t2s", real)):
        analysis.to_simplified = folding
        try:
            results[label] = (_best(fold_only), _best(analyse, 1))
        finally:
            analysis.to_simplified = real
    changed = sum(1 for text in texts if real(text) != text)
    click.echo(f"{len(texts)} articles, {chars / 1e6:.2f} M characters; {changed} hold traditional characters")
    for label, (fold_s, analyse_s) in results.items():
        click.echo(f"  {label:12}  fold {fold_s * 1000:7.1f} ms  analysis (segment + bigrams) {analyse_s:6.2f} s")
    base, new = results["without t2s"], results["with t2s"]
    click.echo(
        f"  t2s adds {(new[0] - base[0]) * 1000:.1f} ms to fold ({(new[0] / base[0] - 1) * 100:+.0f} %) and "
        f"{(new[1] / base[1] - 1) * 100:+.1f} % to the whole analysis"
    )


@main.command("regions")
@_corpus_options
def bench_regions(corpus: Path, count: int) -> None:
    """The cost of tagging articles with the regions they are about."""
    from search import regions

    records = articles(corpus, count)
    regions.tag("重庆", "")  # load the gazetteer outside the timing
    started = time.perf_counter()
    tagged = [regions.tag(r.get("title", ""), r.get("body", ""), r.get("source", "")) for r in records]
    seconds = time.perf_counter() - started
    with_regions = sum(1 for t in tagged if t)
    click.echo(
        f"{len(records)} articles tagged in {seconds:.2f} s ({seconds / len(records) * 1e6:.0f} µs each); "
        f"{with_regions} have regions"
    )


@main.command("suggest")
@click.option(
    "--index", "index_dir", required=True, type=click.Path(exists=True, file_okay=False), help="A built index."
)
@click.option("--queries", default=2000, show_default=True, type=click.IntRange(1), help="Suggestions to time.")
def bench_suggest(index_dir: str, queries: int) -> None:
    """The latency of suggestions on a built index.

    Every prefix (up to 8 characters) of real titles, repeated up to --queries suggestions.
    """
    from search import NewsIndex

    news = NewsIndex.open(index_dir)
    news.suggest("重")  # load the suggestion data outside the timing
    titles = [hit.title for hit in news.search("重庆", per_page=100).hits]
    prefixes = [title[:n] for title in titles for n in range(1, min(len(title), 8) + 1)]
    prefixes = (prefixes * (queries // max(1, len(prefixes)) + 1))[:queries]
    times = []
    for prefix in prefixes:
        started = time.perf_counter()
        news.suggest(prefix)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    click.echo(
        f"{len(times)} suggestions: median {statistics.median(times):.3f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.3f} ms, max {times[-1]:.3f} ms"
    )


if __name__ == "__main__":
    main()
