"""The speed benchmark: ``python -m tools.bench --corpus FILE --eval DIR [--n N] [--out DIR]``.

In one run, over the first N articles of the corpus (JSON Lines, ``.jsonl.gz`` is fine), it
measures, each step in a fresh process so that memory figures are its own:

* ``floor``: jieba alone (``jieba.cut``, default mode, HMM on, one process) over title + body:
  the floor for any jieba-based indexer on one core;
* ``rebuild``: our rebuild (``NewsIndex.rebuild``, default settings: one worker per core);
* ``stock-build``: the tutorial way -- ``jieba.analyse.ChineseAnalyzer``, one Whoosh writer,
  default settings;
* ``queries`` and ``stock-queries``: latency of the top 10 for short keyword queries and long
  questions, with and without snippets, and the memory of the process serving the index.

Our rebuild and the floor are repeated ``--repeats`` times, the slow stock build
``--stock-repeats`` times (medians reported); every query is run ``--passes``
times and its median taken, then p50/p95/p99 over the queries. Ratios compare figures of the same
run: the machine is shared and timings are noisy. The table is printed and everything is written
to ``DIR/bench-N.json`` with the machine's description and load averages.

The corpus and the evaluation folder (the query lists) are options, or the environment variables
``NEWS_SEARCH_CORPUS`` and ``NEWS_SEARCH_EVAL``.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import click

from tests.helpers import child_env

DEFAULT_N = 20_000

#: Short keyword queries added to the dev set's, to cover common and rare words.
EXTRA_KEYWORDS = [
    "疫情",
    "经济",
    "重庆",
    "新冠 疫苗",
    "高铁",
    "房价",
    "乡村振兴",
    "碳中和",
    "冬奥会",
    "直播带货",
    "长江 保护",
    "芯片",
    "台风",
    "双减",
    "新能源汽车",
    "一带一路",
    "垃圾分类",
    "医保",
    "地铁 开通",
    '"粤港澳大湾区"',
]


# Helpers ---------------------------------------------------------------------------------------------


def _rss_mb() -> dict:
    """This process's resident memory now and at its peak, in MB (from /proc)."""
    figures = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                figures["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


def _dir_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1)


#: Kinds of file of a generation, by how their names end (the first that fits).
FILE_KINDS = (
    ("postings", (".pst",)),
    ("terms", (".trm",)),
    ("stored", ("_stored.col", ".zdc")),
    ("columns", (".col",)),
    ("signatures", ("signatures.bin", "signatures.keys")),
    ("suggestions", ("suggest.tsv", "suggest.tsv.zst")),
)


def files_mb(generation: Path) -> dict[str, float]:
    """MB of each kind of file of a generation (``other``: the rest)."""
    sizes: dict[str, float] = {}
    for path in generation.rglob("*"):
        if path.is_file():
            kind = next((k for k, ends in FILE_KINDS if path.name.endswith(ends)), "other")
            sizes[kind] = sizes.get(kind, 0) + path.stat().st_size
    return {kind: round(size / 1e6, 1) for kind, size in sorted(sizes.items())}


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)

    def at(q):
        if not ordered:
            return None
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return round(ordered[index], 2)

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": at(1.0), "queries": len(ordered)}


def machine() -> dict:
    """What the figures were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split(":")[1].strip()
    except (OSError, IndexError):
        pass
    from importlib.metadata import version

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "whoosh": version("whoosh-reloaded"),
        "jieba": version("jieba"),
    }


def _articles(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


#: The query lists of the evaluation folder that the benchmark times.
QUERY_FILES = {"keywords": "keyword-queries-dev.tsv", "questions": "queries-dev.tsv"}


def _queries(eval_dir: Path) -> dict[str, list[str]]:
    from search.evaluate import read_queries

    lists = {name: list(read_queries(eval_dir / file).values()) for name, file in QUERY_FILES.items()}
    lists["keywords"] += EXTRA_KEYWORDS
    return lists


# Steps (each runs in its own process) ----------------------------------------------------------------


def step_prepare(args) -> dict:
    """Copy the first N articles of the corpus to one JSON Lines file, the input of every step."""
    opener = gzip.open if str(args.corpus).endswith(".gz") else open
    out = args.work / "articles.jsonl"
    count = chars = 0
    with opener(args.corpus, "rt", encoding="utf-8") as source, open(out, "w", encoding="utf-8") as sink:
        for line in source:
            if count >= args.n:
                break
            if not line.strip():
                continue
            record = json.loads(line)
            chars += len(record.get("title") or "") + len(record.get("body") or "")
            sink.write(line if line.endswith("\n") else line + "\n")
            count += 1
    return {"articles": count, "characters": chars}


def step_floor(args) -> dict:
    """jieba alone over the same text, one process: ``jieba.cut`` in its default mode (HMM on)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    texts = [f"{a.get('title') or ''}\n{a.get('body') or ''}" for a in _articles(args.work / "articles.jsonl")]
    started = time.perf_counter()
    words = 0
    for text in texts:
        for _ in jieba.cut(text):
            words += 1
    seconds = time.perf_counter() - started
    chars = sum(len(t) for t in texts)
    return {"seconds": round(seconds, 2), "chars_per_second": round(chars / seconds), "words": words}


def step_rebuild(args) -> dict:
    """Our rebuild of the same articles, default settings."""
    from search import NewsIndex

    target = args.work / "index-ours"
    shutil.rmtree(target, ignore_errors=True)
    started = time.perf_counter()
    summary = NewsIndex.rebuild([args.work / "articles.jsonl"], target)
    seconds = time.perf_counter() - started
    from search.generations import current_generation
    from search.writer import default_workers

    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "seconds": round(seconds, 2),
        "documents": summary.indexed,
        "docs_per_second": round(summary.indexed / seconds, 1),
        "index_mb": _dir_mb(current_generation(target)),
        "files_mb": files_mb(current_generation(target)),
        "workers": default_workers(),
        "worker_peak_rss_mb": round(children, 1),
        **_rss_mb(),
    }


def _stock_schema():
    from jieba.analyse import ChineseAnalyzer
    from whoosh.fields import ID, TEXT, Schema

    analyzer = ChineseAnalyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(stored=True, analyzer=analyzer),
        content=TEXT(stored=True, analyzer=analyzer),
    )


def step_stock_build(args) -> dict:
    """The tutorial way: jieba's ChineseAnalyzer, one Whoosh writer, default settings."""
    import logging

    import jieba
    from whoosh import index

    jieba.setLogLevel(logging.WARNING)
    target = args.work / "index-stock"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    started = time.perf_counter()
    ix = index.create_in(str(target), _stock_schema())
    count = 0
    with ix.writer() as writer:
        with open(args.work / "articles.jsonl", encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                writer.add_document(
                    id=str(record.get("id") or count), title=record.get("title") or "", content=record.get("body") or ""
                )
                count += 1
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "documents": count,
        "docs_per_second": round(count / seconds, 1),
        "index_mb": _dir_mb(target),
        **_rss_mb(),
    }


def _timed(run, queries: list[str], passes: int) -> list[float]:
    """Median milliseconds of each query over ``passes`` runs."""
    times = {q: [] for q in queries}
    for _ in range(passes):
        for query in queries:
            started = time.perf_counter()
            run(query)
            times[query].append((time.perf_counter() - started) * 1000)
    return [statistics.median(t) for t in times.values()]


def step_queries(args) -> dict:
    """Our search: top 10, with and without snippets, a fresh query each time (no result cache)."""
    from search import NewsIndex
    from search.errors import QueryError

    news = NewsIndex.open(args.work / "index-ours")
    sets = _queries(args.eval)

    def run(snippets):
        def one(query):
            news.clear_cache()
            try:
                page = news.search(query, per_page=10, snippets=snippets)
            except QueryError:
                return
            for hit in page.hits:
                hit.title, hit.snippet  # noqa: B018 - what a results page reads

        return one

    news.search("重庆")  # open the index and load jieba: not part of any query's time
    results = {}
    for name, queries in sets.items():
        results[name] = {
            "snippets": _percentiles(_timed(run(True), queries, args.passes)),
            "no_snippets": _percentiles(_timed(run(False), queries, args.passes)),
        }
    # A repeated query is answered from the cache.
    cached = []
    for query in sets["keywords"]:
        news.search(query)
        started = time.perf_counter()
        news.search(query)
        cached.append((time.perf_counter() - started) * 1000)
    results["repeated_query"] = _percentiles(cached)
    return {**results, **_rss_mb()}


def step_stock_queries(args) -> dict:
    """The tutorial way of searching: QueryParser on ``content``, a searcher per query, top 10,
    Whoosh's highlighter for snippets; AND grouping (the parser's default) and OR grouping."""
    import logging

    import jieba
    from whoosh import index
    from whoosh.qparser import OrGroup, QueryParser

    jieba.setLogLevel(logging.WARNING)
    ix = index.open_dir(str(args.work / "index-stock"))
    sets = _queries(args.eval)
    results = {}
    for grouping, parser in (
        ("and", QueryParser("content", ix.schema)),
        ("or", QueryParser("content", ix.schema, group=OrGroup)),
    ):

        def run(snippets, parser=parser):
            def one(query):
                with ix.searcher() as searcher:
                    hits = searcher.search(parser.parse(query), limit=10)
                    for hit in hits:
                        hit["title"]  # noqa: B018
                        if snippets:
                            hit.highlights("content")

            return one

        results[grouping] = {}
        for name, queries in sets.items():
            results[grouping][name] = {
                "snippets": _percentiles(_timed(run(True), queries, args.passes)),
                "no_snippets": _percentiles(_timed(run(False), queries, args.passes)),
            }
    return {**results, **_rss_mb()}


STEPS = {
    "prepare": step_prepare,
    "floor": step_floor,
    "rebuild": step_rebuild,
    "stock-build": step_stock_build,
    "queries": step_queries,
    "stock-queries": step_stock_queries,
}


# The run ---------------------------------------------------------------------------------------------


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _run_step(name: str, args, checkout: Path | None = None) -> dict:
    """Run one step in a fresh Python process, so that its memory figures are its own.

    :param checkout: run the step of another checkout of this repository (its own code), in a
        scratch folder of its own
    """
    work = args.work if checkout is None else args.work / "baseline"
    command = [sys.executable, "-m", "tools.bench", "--step", name, "--n", str(args.n), "--work", str(work)]
    command += ["--corpus", str(args.corpus), "--eval", str(args.eval), "--passes", str(args.passes)]
    env = child_env()
    if checkout is not None:
        work.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.work / "articles.jsonl", work / "articles.jsonl")
        env["PYTHONPATH"] = str(checkout)
    load_before = _load()
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env, cwd=checkout).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["load_before"], result["load_after"] = load_before, _load()
    return result


def _median_run(name: str, args, repeats: int, checkout: Path | None = None) -> dict:
    runs = [_run_step(name, args, checkout) for _ in range(repeats)]
    best = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {**best, "runs_seconds": [r["seconds"] for r in runs]}


def run(args) -> dict:
    args.work.mkdir(parents=True, exist_ok=True)
    report = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "n": args.n,
        "repeats": args.repeats,
        "stock_repeats": args.stock_repeats,
        "passes": args.passes,
        "machine": machine(),
        "load_at_start": _load(),
    }
    report["input"] = _run_step("prepare", args)
    # The stock build is the longest step: first, while the run is fresh.
    builds = [("stock-build", args.stock_repeats), ("floor", args.repeats), ("rebuild", args.repeats)]
    for name, repeats in builds[1:] if args.skip_stock else builds:
        report[name] = _median_run(name, args, repeats)
        _save(report, args)
    report["queries"] = _run_step("queries", args)
    if args.baseline is not None:
        # Another version of this code (today's, before a change) on the same articles, same run.
        report["baseline"] = {"checkout": str(args.baseline)}
        report["baseline-rebuild"] = _median_run("rebuild", args, args.repeats, args.baseline)
        report["baseline-queries"] = _run_step("queries", args, args.baseline)
        shutil.rmtree(args.work / "baseline", ignore_errors=True)
        _save(report, args)
    if not args.skip_stock:
        report["stock-queries"] = _run_step("stock-queries", args)
    report["ratios"] = ratios(report)
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    _save(report, args)
    return report


def _save(report: dict, args) -> Path:
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bench-{args.n}.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def ratios(report: dict) -> dict:
    floor, ours = report["floor"]["seconds"], report["rebuild"]["seconds"]
    out = {"rebuild_vs_floor": round(ours / floor, 3)}
    if "baseline-queries" in report:
        base = report["baseline-rebuild"]
        out["baseline_rebuild_vs_floor"] = round(base["seconds"] / floor, 3)
        out["index_vs_baseline"] = round(report["rebuild"]["index_mb"] / base["index_mb"], 3)
        for name in ("keywords", "questions"):
            for kind in ("snippets", "no_snippets"):
                theirs = report["baseline-queries"][name][kind]["p95"]
                mine = report["queries"][name][kind]["p95"]
                out[f"p95_{name}_{kind}_vs_baseline"] = round(mine / theirs, 3) if theirs else None
    if "stock-build" not in report:
        return out
    out["stock_vs_rebuild"] = round(report["stock-build"]["seconds"] / ours, 2)
    for name in ("keywords", "questions"):
        for kind in ("snippets", "no_snippets"):
            mine = report["queries"][name][kind]["p95"]
            for grouping in ("and", "or"):
                theirs = report["stock-queries"][grouping][name][kind]["p95"]
                out[f"p95_{name}_{kind}_vs_stock_{grouping}"] = round(mine / theirs, 3) if theirs else None
    return out


def table(report: dict) -> str:
    """The figures as a plain-text table."""
    lines = [
        f"news-search benchmark: {report['input']['articles']:,} articles, "
        f"{report['input']['characters']:,} characters ({report['started']})",
        f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, {report['machine']['memory']}; "
        f"load at start {report['load_at_start']}",
        "",
        f"{'rebuild':<34}{'seconds':>10}{'docs/s':>10}{'index MB':>10}{'peak MB':>16}",
    ]
    floor = report["floor"]
    lines.append(f"{'jieba.cut alone, 1 process (floor)':<34}{floor['seconds']:>10}")
    for label, key in (
        ("ours (" + str(report["rebuild"].get("workers")) + " workers)", "rebuild"),
        ("baseline (another checkout)", "baseline-rebuild"),
        ("stock", "stock-build"),
    ):
        if key not in report:
            continue
        r = report[key]
        peak = r.get("peak_rss_mb")
        if key in ("rebuild", "baseline-rebuild"):
            peak = f"{peak}+{r['worker_peak_rss_mb']}"
        lines.append(f"{label:<34}{r['seconds']:>10}{r['docs_per_second']:>10}{r['index_mb']:>10}{peak!s:>16}")
    ratio = report["ratios"]
    stock = report.get("stock-queries")
    baseline = report.get("baseline-queries")
    for key in ("rebuild", "baseline-rebuild"):
        if "files_mb" in report.get(key, {}):
            kinds = ", ".join(f"{kind} {mb}" for kind, mb in report[key]["files_mb"].items())
            lines.append(f"  {key.replace('-rebuild', '')} index MB: {kinds}")
    lines += [
        f"ours / floor = {ratio['rebuild_vs_floor']}   stock / ours = {ratio.get('stock_vs_rebuild', '-')}",
        "",
        f"{'queries, top 10 (ms)':<40}{'p50':>8}{'p95':>8}{'p99':>8}",
    ]
    for name in ("keywords", "questions"):
        for kind in ("snippets", "no_snippets"):
            p = report["queries"][name][kind]
            lines.append(f"{'ours ' + name + ', ' + kind.replace('_', ' '):<40}{p['p50']:>8}{p['p95']:>8}{p['p99']:>8}")
            if baseline:
                b = baseline[name][kind]
                label = f"baseline {name}, {kind.replace('_', ' ')}"
                lines.append(f"{label:<40}{b['p50']:>8}{b['p95']:>8}{b['p99']:>8}")
            for grouping in ("and", "or") if stock else ():
                s = stock[grouping][name][kind]
                label = f"stock {grouping.upper()} {name}, {kind.replace('_', ' ')}"
                lines.append(f"{label:<40}{s['p50']:>8}{s['p95']:>8}{s['p99']:>8}")
    cached = report["queries"]["repeated_query"]
    lines += [
        f"{'ours, a repeated query (cache)':<40}{cached['p50']:>8}{cached['p95']:>8}{cached['p99']:>8}",
        "",
        f"serving process: ours {report['queries']['rss_mb']} MB resident (peak {report['queries']['peak_rss_mb']})"
        + (f", baseline {baseline['rss_mb']} MB (peak {baseline['peak_rss_mb']})" if baseline else "")
        + (f", stock {stock['rss_mb']} MB (peak {stock['peak_rss_mb']})" if stock else ""),
    ]
    for key, value in ratio.items():
        if key.startswith(("p95", "index", "baseline")):
            lines.append(f"  {key}: {value}")
    return "\n".join(lines)


@click.command()
@click.option(
    "--corpus",
    envvar="NEWS_SEARCH_CORPUS",
    show_envvar=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON Lines corpus (.jsonl.gz too); the first N articles are used.",
)
@click.option(
    "--eval",
    "eval_dir",
    envvar="NEWS_SEARCH_EVAL",
    show_envvar=True,
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Folder with the query lists ({', '.join(QUERY_FILES.values())}).",
)
@click.option("--n", default=DEFAULT_N, show_default=True, type=click.IntRange(1), help="Articles to use.")
@click.option(
    "--out",
    default=Path("bench-results"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where bench-N.json goes.",
)
@click.option(
    "--work",
    type=click.Path(file_okay=False, path_type=Path),
    help="Scratch folder for the indexes. Default: OUT/work-N.",
)
@click.option(
    "--repeats", default=3, show_default=True, type=click.IntRange(1), help="Runs of each build step (median)."
)
@click.option(
    "--stock-repeats", default=1, show_default=True, type=click.IntRange(1), help="Runs of the slow stock build."
)
@click.option("--passes", default=3, show_default=True, type=click.IntRange(1), help="Runs of each query (median).")
@click.option("--skip-stock", is_flag=True, help="Leave out the slow stock setup.")
@click.option(
    "--baseline",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Another checkout of this repository (say, main before a change): its rebuild and queries "
    "are timed too, in the same run, and compared.",
)
@click.option(
    "--report",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Only print the table of an earlier run's JSON.",
)
@click.option("--step", type=click.Choice(sorted(STEPS)), hidden=True)
def main(corpus, eval_dir, n, out, work, repeats, stock_repeats, passes, skip_stock, baseline, report, step):
    """Time our rebuild and queries against jieba alone and the tutorial Whoosh + jieba setup.

    Over the first N articles of the corpus, each step in a fresh process: jieba alone (the floor
    of any jieba-based indexer), our rebuild, the stock build, and the latency of the top 10 for
    keyword queries and questions, ours and stock. Prints a table and writes OUT/bench-N.json.
    """
    if report:
        click.echo(table(json.loads(report.read_text(encoding="utf-8"))))
        return
    if corpus is None or not corpus.is_file():
        where = f" at {corpus}" if corpus else ""
        raise click.ClickException(f"no corpus{where}: give --corpus FILE or set NEWS_SEARCH_CORPUS")
    if eval_dir is None:
        raise click.ClickException("no query lists: give --eval DIR or set NEWS_SEARCH_EVAL")
    missing = [file for file in QUERY_FILES.values() if not (eval_dir / file).is_file()]
    if missing:
        raise click.ClickException(f"no {', '.join(missing)} in {eval_dir}: give --eval DIR or set NEWS_SEARCH_EVAL")
    args = SimpleNamespace(
        corpus=corpus.resolve(),
        eval=eval_dir.resolve(),
        n=n,
        out=out,
        work=(work or out / f"work-{n}").resolve(),
        repeats=repeats,
        stock_repeats=stock_repeats,
        passes=passes,
        skip_stock=skip_stock,
        baseline=baseline.resolve() if baseline else None,
    )
    if step:
        click.echo(json.dumps(STEPS[step](args)))
        return
    figures = run(args)
    click.echo(table(figures))
    click.echo(f"\nwritten to {_save(figures, args)}")


if __name__ == "__main__":
    main()
