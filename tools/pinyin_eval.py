"""Pinyin queries measured on a built index (figures in docs/ranking.md).

    python -m tools.pinyin_eval --index DIR [--json]

* The keyword queries typed as pinyin (each Chinese word converted by pypinyin, in context): words
  apart (``chongqing guidaojiaotong``), every syllable apart, all run together, and initials
  (``cqgdjt``, for information): nDCG@10 of each against the same queries in Chinese, and how many
  were read back as exactly the Chinese words.
* Ordinary Latin queries: every query of the dev sets holding Latin letters, the Latin parts of
  them on their own (``GPT4``, ``iPhone SE 3``), a few everyone types (GPT-4, 5G, COVID, iPhone),
  and the most frequent Latin words of the index: how many were read as pinyin, and which.
* The table: the time to compute it over the index's vocabulary (what a rebuild adds, and what a
  generation without ``pinyin.tsv`` costs on first need), its size, the time to load it, and the
  time to read a query.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import click

from search import NewsIndex, pinyin
from search.evaluate import rank, read_qrels, read_queries, score

#: Latin queries everyone types, besides those of the dev sets.
EVERYDAY = ["GPT-4", "GPT", "5G", "COVID", "COVID-19", "iPhone", "iPhone 14", "ChatGPT", "AI", "NBA", "CPI", "GDP"]
#: The most frequent Latin words of the index checked.
FREQUENT_LATIN = 300
_LATIN_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\- ]*[A-Za-z0-9]|[A-Za-z]")


def typed_as_pinyin(query: str) -> dict[str, str]:
    """``query`` (Chinese words apart) as a reader without an input method would type it."""
    from pypinyin import lazy_pinyin

    words = [lazy_pinyin(word) for word in query.split()]
    return {
        "words apart": " ".join("".join(w) for w in words),
        "syllables apart": " ".join(" ".join(w) for w in words),
        "run together": "".join("".join(w) for w in words),
        "initials": "".join("".join(s[0] for s in w) for w in words),
    }


def keyword_figures(news: NewsIndex, queries: dict[str, str], qrels) -> dict:
    in_chinese = score(rank(news, queries), qrels)
    chinese = in_chinese.ndcg10
    figures = {"chinese": round(chinese, 4), "queries": len(queries), "variants": {}}
    variants = {qid: typed_as_pinyin(text) for qid, text in queries.items()}
    for name in next(iter(variants.values())):
        typed = {qid: forms[name] for qid, forms in variants.items()}
        evaluation = score(rank(news, typed), qrels)
        ndcg = evaluation.ndcg10
        read_back = {qid: news.search(text, per_page=1, snippets=False).searched_as for qid, text in typed.items()}
        exact = sum((read_back[qid] or "").replace(" ", "") == queries[qid].replace(" ", "") for qid in queries)
        misread = {
            typed[qid]: read_back[qid]
            for qid in queries
            if (read_back[qid] or "").replace(" ", "") != queries[qid].replace(" ", "")
        }
        figures["variants"][name] = {
            "ndcg@10": round(ndcg, 4),
            "of_chinese": round(ndcg / chinese, 3) if chinese else None,
            "read_exactly": exact,
            "misread": misread,
            "below_chinese": {
                typed[qid]: [round(values["ndcg@10"], 3), round(in_chinese.per_query[qid]["ndcg@10"], 3)]
                for qid, values in evaluation.per_query.items()
                if values["ndcg@10"] < in_chinese.per_query[qid]["ndcg@10"] - 0.01
            },
        }
    return figures


def latin_queries(paths: list[Path], news: NewsIndex) -> dict[str, list[str]]:
    """The Latin queries checked, by kind."""
    dev = []
    for path in paths:
        dev += [text for text in read_queries(path).values() if re.search("[A-Za-z]", text)]
    parts = sorted(
        {m.group().strip() for text in dev for m in _LATIN_PART.finditer(text) if re.search("[A-Za-z]", m.group())}
    )
    words = news._suggester().words
    latin = sorted(
        ((w, n) for w, n in zip(words.texts, words.weights, strict=True) if re.fullmatch("[a-z]+", w)),
        key=lambda item: -item[1],
    )
    return {
        "dev queries": dev,
        "their Latin parts": parts,
        "everyday": EVERYDAY,
        f"the index's {FREQUENT_LATIN} most frequent Latin words": [w for w, _ in latin[:FREQUENT_LATIN]],
    }


def latin_figures(news: NewsIndex, kinds: dict[str, list[str]]) -> dict:
    figures = {}
    for kind, texts in kinds.items():
        read = {text: news.search(text, per_page=1, snippets=False).searched_as for text in texts}
        figures[kind] = {"queries": len(texts), "read_as_pinyin": {t: r for t, r in read.items() if r}}
    return figures


def table_figures(news: NewsIndex, samples: list[str]) -> dict:
    words = news._suggester().words
    weighted = list(zip(words.texts, words.weights, strict=True))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        lines = pinyin.write(Path(folder), weighted)
        computed = time.perf_counter() - started
        size = (Path(folder) / pinyin.SIDECAR).stat().st_size
        started = time.perf_counter()
        table = pinyin.Table.load(Path(folder), lambda: [])
        loaded = time.perf_counter() - started
        tracemalloc.start()
        table = pinyin.Table.load(Path(folder), lambda: [])
        memory = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    searcher = news._searcher()

    def held(word):
        return searcher.doc_frequency("title", word) + searcher.doc_frequency("body", word)

    timings = []
    for text in samples:
        started = time.perf_counter()
        pinyin.read(text, table, held)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "vocabulary": len(weighted),
        "lines": lines,
        "compute_s": round(computed, 1),
        "file_mb": round(size / 1e6, 1),
        "load_s": round(loaded, 2),
        "memory_mb": round(memory / 1e6),
        "read_ms_median": round(statistics.median(timings), 2),
        "read_ms_max": round(max(timings), 2),
    }


@click.command()
@click.option("--index", required=True, type=click.Path(exists=True, file_okay=False), help="The index to read.")
@click.option(
    "--eval",
    "eval_dir",
    required=True,
    envvar="NEWS_SEARCH_EVAL",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The folder of the dev query sets (keyword-queries-dev.tsv, keyword-qrels-dev.txt, queries-dev.tsv); "
    "also $NEWS_SEARCH_EVAL.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def main(index: str, eval_dir: Path, as_json: bool) -> None:
    """The dev keyword queries typed as pinyin, scored against the same queries in Chinese, and how
    often an ordinary Latin query is read as pinyin."""
    keyword_queries = eval_dir / "keyword-queries-dev.tsv"
    keyword_qrels = eval_dir / "keyword-qrels-dev.txt"
    questions = eval_dir / "queries-dev.tsv"
    # No time limit: the figures compare rankings, not how busy the machine is.
    news = NewsIndex.open(index, time_limit=None)
    queries = read_queries(keyword_queries)
    keyword = keyword_figures(news, queries, read_qrels(keyword_qrels))
    latin = latin_figures(news, latin_queries([keyword_queries, questions], news))
    samples = [form for text in queries.values() for form in typed_as_pinyin(text).values()]
    table = table_figures(news, samples + [t for kind in latin_queries([questions], news).values() for t in kind])
    report = {"keyword": keyword, "latin": latin, "table": table}
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
        return
    print(f"keyword queries ({keyword['queries']}): nDCG@10 in Chinese {keyword['chinese']:.4f}")
    for name, v in keyword["variants"].items():
        print(
            f"  {name:16} nDCG@10 {v['ndcg@10']:.4f} ({v['of_chinese']:.1%} of Chinese), read exactly {v['read_exactly']}"
        )
        for typed, read in v["misread"].items():
            print(f"      {typed} -> {read}")
        for typed, (got, wanted) in v["below_chinese"].items():
            print(f"      below Chinese: {typed}: {got} against {wanted}")
    for kind, v in latin.items():
        print(f"latin, {kind}: {len(v['read_as_pinyin'])} of {v['queries']} read as pinyin {v['read_as_pinyin'] or ''}")
    print("table:", ", ".join(f"{k} {v}" for k, v in table.items()))


if __name__ == "__main__":
    main()
