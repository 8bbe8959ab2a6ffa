"""What a server's memory holds: ``python -m tools.bench_memory pieces|serve --index DIR``.

``pieces``: in this process, the memory each piece of a warmed index holds, loaded one after the
other as a server's master loads them (the imports, the segmenter, the opened index, the field
lengths, the facet columns, the copies, the suggestions, the pinyin table, pypinyin's readings),
then a few searches: what the piece's objects and arrays still take once it is loaded (traced by
``tracemalloc``; the temporary objects a loading makes are not counted, nor what the C library
keeps of them), and the growth of the resident memory (RSS), which the allocator's reuse of freed
memory makes uneven between pieces.

``serve``: the real ``news-search serve`` with ``--workers N`` (default 2): one client asks for
every dev query's first result page and its suggestions (``--eval``), then the RSS and PSS (shared
pages divided among the processes sharing them) of the master and of each worker, and the part of
each worker's memory that is its own (USS: private pages). With ``--publish``, a copy of the
served generation is then published (hard links, a new name) and every worker made to search it,
so that the cost of a generation a worker loads by itself is seen; then the master is sent SIGHUP
(it loads the new generation and forks new workers that share it) and the client asks again.

Figures are printed and, with ``--out FILE``, written as JSON.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import tempfile
import time
import tracemalloc
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

import click

from tools.bench_serve import read_queries

PIECES = ("imports", "segmenter", "open", "field lengths", "facet columns", "copies", "suggestions", "pinyin table")


def _smaps(pid: int | str = "self") -> dict[str, float]:
    """Fields of ``/proc/PID/smaps_rollup`` in MB."""
    figures = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            figures[name] = int(parts[0]) / 1024
    return figures


def process_memory(pid: int) -> dict:
    """RSS, PSS and USS (private pages) of a process, in MB."""
    smaps = _smaps(pid)
    return {
        "rss_mb": round(smaps["Rss"], 1),
        "pss_mb": round(smaps["Pss"], 1),
        "uss_mb": round(smaps["Private_Clean"] + smaps["Private_Dirty"], 1),
    }


@click.group()
def main():
    """Measure what a server's memory holds."""


@main.command()
@click.option("--index", "index", required=True, envvar="NEWS_SEARCH_INDEX", help="An index (also $NEWS_SEARCH_INDEX).")
@click.option("--out", type=Path, help="Write the figures to this JSON file.")
def pieces(index, out):
    """The memory each piece of a warmed index adds, in this process."""
    rows = []
    tracemalloc.start()

    def step(name: str) -> None:
        gc.collect()
        now = _smaps()
        now["held"] = tracemalloc.get_traced_memory()[0] / 2**20
        last = rows[-1]["total"] if rows else {"Rss": 0.0, "held": 0.0}
        rows.append(
            {"piece": name, "total": now, "held_mb": now["held"] - last["held"], "rss_mb": now["Rss"] - last["Rss"]}
        )
        click.echo(f"{name:16s} held +{now['held'] - last['held']:7.1f} MB  RSS +{now['Rss'] - last['Rss']:7.1f} MB")

    import web  # noqa: F401 - the server's imports
    from search import NewsIndex, scoring, spelling
    from search.query import parse

    step("imports")
    parse("重庆")
    step("segmenter")
    news = NewsIndex(index, cache_size=0)
    ix = news._whoosh()
    step("open")
    with ix.reader() as reader:
        scoring.warm(reader)
    step("field lengths")
    news._columns(news._searcher())
    step("facet columns")
    news.copies()
    step("copies")
    news._suggester()
    step("suggestions")
    news._pinyin()
    step("pinyin table")
    spelling.warm()
    step("pypinyin")
    for query in ("重庆 火锅", "chongqing huoguo", "一区两群", "成渝地区双城经济圈"):
        news.search(query, facets=True)
    step("4 searches")
    if out:
        figures = [{k: round(v, 1) if isinstance(v, float) else v for k, v in r.items() if k != "total"} for r in rows]
        out.write_text(json.dumps(figures, indent=2) + "\n")


def _get(url: str) -> None:
    with urlopen(url, timeout=120) as response:
        response.read()


@main.command()
@click.option("--index", "index", required=True, envvar="NEWS_SEARCH_INDEX", help="An index (also $NEWS_SEARCH_INDEX).")
@click.option(
    "--eval", "eval_dir", required=True, envvar="NEWS_SEARCH_EVAL", type=Path, help="The dev query sets' folder."
)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1))
@click.option("--publish", is_flag=True, help="Then publish a copy of the generation and load it in every worker.")
@click.option(
    "--scratch", type=Path, help="Where --publish puts its copy (best on the index's file system: hard links)."
)
@click.option("--out", type=Path, help="Write the figures to this JSON file.")
def serve(index, eval_dir, workers, publish, scratch, out):
    """The memory of a real server's processes after one client asked for every dev query."""
    from search.generations import current_generation
    from tests.helpers import serve as serving
    from tests.helpers import wait_for_workers

    queries = read_queries(eval_dir)
    result: dict = {"index": index, "workers": workers, "queries": len(queries)}
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        if publish:  # a copy of the index (hard links) whose generation can be republished
            index = _linked_copy(Path(index), Path(tmp) / "ix")
        with serving("--index", str(index), "--workers", str(workers), timeout=600) as server:
            pids = wait_for_workers(server, workers)
            for query in queries:
                _get(f"{server.url}/search?q={quote(query)}")
                _get(f"{server.url}/api/suggest?q={quote(query[:2])}")
            result["served"] = _memory(server.process.pid, pids)
            click.echo(_line("after one client", result["served"]))
            if publish:
                started = time.monotonic()
                _republish(Path(index), current_generation(index))
                _get(f"{server.url}/healthz")
                while not all(_opened(pid, current_generation(index).name) for pid in pids):
                    for query in queries[:20]:
                        _get(f"{server.url}/search?q={quote(query)}")
                        _get(f"{server.url}/api/suggest?q={quote(query[:2])}")
                    if time.monotonic() - started > 600:
                        raise click.ClickException("the workers did not all open the new generation")
                for query in queries:
                    _get(f"{server.url}/search?q={quote(query)}")
                result["republished"] = _memory(server.process.pid, pids)
                click.echo(_line("after a new generation", result["republished"]))
                server.process.send_signal(signal.SIGHUP)  # the master loads it, new workers share it
                pids = wait_for_workers(server, workers, timeout=600, other_than=pids)
                for query in queries:
                    _get(f"{server.url}/search?q={quote(query)}")
                    _get(f"{server.url}/api/suggest?q={quote(query[:2])}")
                result["after_sighup"] = _memory(server.process.pid, pids)
                click.echo(_line("after SIGHUP", result["after_sighup"]))
            click.echo(server.stderr()[-3000:], err=True)
    if out:
        out.write_text(json.dumps(result, indent=2) + "\n")


def _memory(master: int, pids: list[int]) -> dict:
    processes = {"master": process_memory(master)}
    processes.update({f"worker {n}": process_memory(pid) for n, pid in enumerate(pids, 1)})
    return {
        "processes": processes,
        "rss_mb": round(sum(p["rss_mb"] for p in processes.values()), 1),
        "pss_mb": round(sum(p["pss_mb"] for p in processes.values()), 1),
    }


def _line(name: str, memory: dict) -> str:
    each = ", ".join(
        f"{k} {v['rss_mb']:.0f}/{v['pss_mb']:.0f}/{v['uss_mb']:.0f}" for k, v in memory["processes"].items()
    )
    return f"{name}: PSS {memory['pss_mb']:.0f} MB in all (RSS/PSS/USS MB: {each})"


def _opened(pid: int, generation: str) -> bool:
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if generation in os.readlink(fd):
                return True
        except OSError:
            continue
    return False


def _linked_copy(index: Path, into: Path) -> Path:
    """A copy of ``index``'s served generation under ``into``, its files hard-linked (or copied)."""
    from search.generations import current_generation

    generation = current_generation(index)
    into.mkdir()
    shutil.copytree(generation, into / generation.name, copy_function=_link)
    (into / "CURRENT").write_text(generation.name + "\n")
    return into


def _link(source, target) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _republish(index: Path, generation: Path) -> None:
    """Publish the same files again as a new generation (what an update that changed nothing would)."""
    name = generation.name + "-again"
    shutil.copytree(generation, index / name, copy_function=_link)
    tmp = index / "CURRENT.tmp"
    tmp.write_text(name + "\n")
    tmp.replace(index / "CURRENT")


if __name__ == "__main__":
    main()
