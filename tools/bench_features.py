"""Figures for the features of issue 8: what they cost, measured against a baseline in the same run.

    python -m tools.bench_features fold [--articles 5000] [--corpus FILE]
    python -m tools.bench_features suggest --index DIR [--queries 2000]
    python -m tools.bench_features regions [--articles 5000] [--corpus FILE]

``fold``: the analysis of title + body (jieba words and character bigrams, as the index does) with
and without folding traditional characters to simplified, and fold() alone, on the same articles.
``suggest``: the latency of suggestions for every prefix of real titles, on a built index.
``regions``: the cost of tagging regions per article.
The corpus defaults to the team's shared corpus next to the worktree, else tests/fixtures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import time
from pathlib import Path

from search import analysis
from tools.bench import DEFAULT_CORPUS

ROOT = Path(__file__).resolve().parent.parent


def _corpus_path(given: str | None) -> Path:
    if given:
        return Path(given)
    for candidate in (
        DEFAULT_CORPUS,
        ROOT / "tests" / "fixtures" / "chongqing-200.jsonl",
    ):
        if candidate.exists():
            return candidate
    raise SystemExit("no corpus found; pass --corpus FILE (JSON Lines with title and body)")


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


def bench_fold(args) -> None:
    records = articles(_corpus_path(args.corpus), args.articles)
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
    print(f"{len(texts)} articles, {chars / 1e6:.2f} M characters; {changed} hold traditional characters")
    for label, (fold_s, analyse_s) in results.items():
        print(f"  {label:12}  fold {fold_s * 1000:7.1f} ms  analysis (segment + bigrams) {analyse_s:6.2f} s")
    base, new = results["without t2s"], results["with t2s"]
    print(
        f"  t2s adds {(new[0] - base[0]) * 1000:.1f} ms to fold ({(new[0] / base[0] - 1) * 100:+.0f} %) and "
        f"{(new[1] / base[1] - 1) * 100:+.1f} % to the whole analysis"
    )


def bench_regions(args) -> None:
    from search import regions

    records = articles(_corpus_path(args.corpus), args.articles)
    regions.tag("重庆", "")  # load the gazetteer outside the timing
    started = time.perf_counter()
    tagged = [regions.tag(r.get("title", ""), r.get("body", ""), r.get("source", "")) for r in records]
    seconds = time.perf_counter() - started
    with_regions = sum(1 for t in tagged if t)
    print(
        f"{len(records)} articles tagged in {seconds:.2f} s ({seconds / len(records) * 1e6:.0f} µs each); "
        f"{with_regions} have regions"
    )


def bench_suggest(args) -> None:
    from search import NewsIndex

    news = NewsIndex.open(args.index)
    news.suggest("重")  # load the suggestion data outside the timing
    titles = [hit.title for hit in news.search("重庆", per_page=100).hits]
    prefixes = [title[:n] for title in titles for n in range(1, min(len(title), 8) + 1)]
    prefixes = (prefixes * (args.queries // max(1, len(prefixes)) + 1))[: args.queries]
    times = []
    for prefix in prefixes:
        started = time.perf_counter()
        news.suggest(prefix)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(
        f"{len(times)} suggestions: median {statistics.median(times):.3f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.3f} ms, max {times[-1]:.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fold = sub.add_parser("fold")
    fold.add_argument("--articles", type=int, default=5000)
    fold.add_argument("--corpus")
    fold.set_defaults(run=bench_fold)
    reg = sub.add_parser("regions")
    reg.add_argument("--articles", type=int, default=5000)
    reg.add_argument("--corpus")
    reg.set_defaults(run=bench_regions)
    sug = sub.add_parser("suggest")
    sug.add_argument("--index", required=True)
    sug.add_argument("--queries", type=int, default=2000)
    sug.set_defaults(run=bench_suggest)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
