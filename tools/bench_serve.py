"""The serving benchmark: ``python -m tools.bench_serve [--index DIR] [--eval DIR] [--baseline REF]``.

In one run, on one index, it starts the real ``news-search serve`` three times in turn -- the
``--baseline`` version's (default ``main``: the code as it was, unpacked from git), then ours with
``--workers 1`` and with ``--workers 2`` -- and for each one measures:

* **load**: locust, headless, ``--clients`` users (default 8) for ``--seconds`` (default 60), each
  asking for result pages of the dev questions and keywords (a random query, a random page 1-3)
  as fast as answers come: requests per second, p50, p95, errors;
* **one client**: every dev query's first result page, one after the other: p50 and p95, beside
  the library's own (``NewsIndex.search``, same queries, with snippets, no page cache) measured in
  this process before any server starts;
* **memory**: resident memory (RSS, and PSS, which counts shared pages once) of the server's
  processes after the load;
* **page weight**: the size of every dev query's first result page, as sent and gzip-compressed.

Our servers run with ``NEWS_SEARCH_PAGE_CACHE=0`` (no kept pages: each request searches); the
baseline keeps its page cache, so a repeated page costs it less, never more. locust runs on the
same machine as the server and takes CPU from it, alike for every server. Ratios compare figures
of this one run; the table is printed and written to ``DIR/serve.json`` with the load averages.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from urllib.parse import quote
from urllib.request import Request, urlopen

import click

from tests.helpers import ROOT, serve, wait_for_workers

#: The locust file: each user asks for result pages as fast as they come back.
LOCUSTFILE = """
import json, os, random
from urllib.parse import quote

from locust import FastHttpUser, constant, task

QUERIES = json.loads(open(os.environ["BENCH_QUERIES"], encoding="utf-8").read())
CHOOSE = random.Random(int(os.environ.get("BENCH_SEED", "1")))


class Reader(FastHttpUser):
    wait_time = constant(0)

    @task
    def result_page(self):
        query, page = CHOOSE.choice(QUERIES), CHOOSE.randint(1, 3)
        self.client.get("/search?q=" + quote(query) + (f"&page={page}" if page > 1 else ""), name="/search")
"""


def read_queries(folder: Path) -> list[str]:
    """The dev questions and keyword queries (``id<TAB>text`` lines)."""
    queries = []
    for name in ("queries-dev.tsv", "keyword-queries-dev.tsv"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if "\t" in line and not line.startswith("#"):
                queries.append(line.split("\t", 1)[1].strip())
    return [q for q in queries if q]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def unpack(ref: str, into: Path) -> Path:
    """The code of git ``ref`` of this repository, unpacked into ``into``."""
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def library_latency(index: str, queries: list[str]) -> dict:
    """The library's own time for each query's first page with snippets (no page cache)."""
    from search import NewsIndex

    news = NewsIndex(index, cache_size=0)
    news.search("重庆")  # open the index, load the segmenter, the copies
    took = []
    for query in queries:
        started = time.perf_counter()
        news.search(query)
        took.append((time.perf_counter() - started) * 1000)
    news.close()
    return {"p50_ms": statistics.median(took), "p95_ms": percentile(took, 0.95)}


def fetch(url: str, compressed: bool = False) -> tuple[int, bytes, float]:
    """GET ``url``: the status, the body as sent, and the milliseconds it took."""
    request = Request(url, headers={"Accept-Encoding": "gzip"} if compressed else {})
    started = time.perf_counter()
    with urlopen(request, timeout=120) as response:
        body = response.read()
        return response.status, body, (time.perf_counter() - started) * 1000


def one_client(url: str, queries: list[str]) -> dict:
    """Every query's first result page, one after the other: latency and weight."""
    took, sizes, packed = [], [], []
    for query in queries:
        status, body, ms = fetch(f"{url}/search?q={quote(query)}")
        assert status == 200, (query, status)
        took.append(ms)
        sizes.append(len(body))
        _, small, _ = fetch(f"{url}/search?q={quote(query)}", compressed=True)
        packed.append(len(small))
    return {
        "p50_ms": statistics.median(took),
        "p95_ms": percentile(took, 0.95),
        "page_bytes_max": max(sizes),
        "page_bytes_median": statistics.median(sizes),
        "page_bytes_sent_max": max(packed),
        "page_bytes_sent_median": statistics.median(packed),
        "heaviest": queries[sizes.index(max(sizes))],
    }


def load(url: str, queries_file: Path, clients: int, seconds: int, seed: int, work: Path) -> dict:
    """locust, headless: ``clients`` users for ``seconds``; its aggregated figures."""
    locustfile = work / "locustfile.py"
    locustfile.write_text(LOCUSTFILE, encoding="utf-8")
    prefix = work / f"locust-{seed}"
    subprocess.run(
        [
            sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--users", str(clients),
            "--spawn-rate", str(clients), "--run-time", f"{seconds}s", "--host", url, "--csv", str(prefix),
            "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0",
        ],
        env=dict(os.environ, BENCH_QUERIES=str(queries_file), BENCH_SEED=str(seed)),
        check=True,
        cwd=work,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    with open(f"{prefix}_stats.csv", encoding="utf-8") as stats:
        row = next(r for r in csv.DictReader(stats) if r["Name"] == "Aggregated")
    return {
        "requests": int(row["Request Count"]),
        "errors": int(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
    }


def memory(pid: int) -> dict:
    """Resident memory of a process, in MB: RSS, and PSS (shared pages divided among sharers)."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == "Rss":
            rss = int(value.split()[0]) / 1024
        elif name == "Pss":
            pss = int(value.split()[0]) / 1024
    return {"rss_mb": round(rss, 1), "pss_mb": round(pss, 1)}


def server_memory(server, workers: int | None) -> dict:
    pids = wait_for_workers(server, workers) if workers else []
    processes = {"master" if workers else "server": memory(server.process.pid)}
    for n, pid in enumerate(pids, 1):
        processes[f"worker {n}"] = memory(pid)
    return {
        "processes": processes,
        "rss_mb": round(sum(p["rss_mb"] for p in processes.values()), 1),
        "pss_mb": round(sum(p["pss_mb"] for p in processes.values()), 1),
    }


def cpu_seconds(pids: list[int]) -> float:
    """The CPU time (user and system) the processes have used, in seconds."""
    ticks = 0
    for pid in pids:
        after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(after_name[11]) + int(after_name[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(name, args, root, env, workers, index, queries, queries_file, options, work) -> dict:
    click.echo(f"{name}: starting", err=True)
    with serve("--index", index, *args, timeout=600, root=root, env=env) as server:
        if workers:
            wait_for_workers(server, workers)
        for query in queries[:4]:  # every worker answers once before the clock starts
            fetch(f"{server.url}/search?q={quote(query)}")
        single = one_client(server.url, queries)
        click.echo(f"{name}: one client p95 {single['p95_ms']:.0f} ms; load for {options['seconds']} s", err=True)
        pids = [server.process.pid, *(wait_for_workers(server, workers) if workers else [])]
        used, load_before = cpu_seconds(pids), os.getloadavg()[0]
        loaded = load(server.url, queries_file, options["clients"], options["seconds"], options["seed"], work)
        # How many cores the server had: a busy machine gives fewer than it has.
        loaded["cores_used"] = round((cpu_seconds(pids) - used) / options["seconds"], 2)
        loaded["load_average"] = [load_before, os.getloadavg()[0]]
        held = server_memory(server, workers)
    return {"name": name, "one_client": single, "load": loaded, "memory": held}


@click.command()
@click.option("--index", "index", default="/work/fullix", show_default=True, envvar="NEWS_SEARCH_INDEX")
@click.option(
    "--eval", "eval_dir", default="/work/shared/eval", show_default=True, envvar="NEWS_SEARCH_EVAL", type=Path
)
@click.option("--baseline", default="main", show_default=True, help="The git ref of the code to compare with.")
@click.option("--clients", default=8, show_default=True, type=click.IntRange(1))
@click.option("--seconds", default=60, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--out", default="docs/benchmarks", show_default=True, type=Path)
def main(index, eval_dir, baseline, clients, seconds, seed, out):
    """Measure news-search serve: throughput under load, one-client latency, memory, page weight."""
    queries = read_queries(eval_dir)
    random.Random(seed).shuffle(queries)
    options = {"clients": clients, "seconds": seconds, "seed": seed}
    started = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        queries_file = work / "queries.json"
        queries_file.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
        click.echo(f"library: {len(queries)} queries", err=True)
        library = library_latency(index, queries)
        base = unpack(baseline, work / "baseline")
        no_cache = {"NEWS_SEARCH_PAGE_CACHE": "0"}
        runs = [
            measure(f"{baseline} (its default serve)", [], base, {}, None, index, queries, queries_file, options, work),
            measure("--workers 1", ["--workers", "1"], ROOT, no_cache, 1, index, queries, queries_file, options, work),
            measure("--workers 2", ["--workers", "2"], ROOT, no_cache, 2, index, queries, queries_file, options, work),
        ]
    today, one, two = (run["load"]["rps"] for run in runs)
    result = {
        "started": started,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "index": index,
        "queries": len(queries),
        "options": options,
        "library": library,
        "runs": runs,
        "ratios": {
            "two_workers_vs_one": two / one if one else None,
            "two_workers_vs_baseline": two / today if today else None,
            "page_p95_vs_library_p95": runs[2]["one_client"]["p95_ms"] / library["p95_ms"],
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "serve.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    click.echo(table(result))


def table(result: dict) -> str:
    lines = [
        f"library (search with snippets): p50 {result['library']['p50_ms']:.0f} ms, p95 {result['library']['p95_ms']:.0f} ms",
        "",
        "| server | req/s | p50 ms | p95 ms | errors | cores used | 1-client p50 | 1-client p95 | RSS MB (PSS) | page max / median KB | sent (gzip) max / median KB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        load_, single, held = run["load"], run["one_client"], run["memory"]
        lines.append(
            f"| {run['name']} | {load_['rps']:.1f} | {load_['p50_ms']:.0f} | {load_['p95_ms']:.0f} | "
            f"{load_['errors']} of {load_['requests']} | {load_['cores_used']:.2f} | {single['p50_ms']:.0f} | {single['p95_ms']:.0f} | "
            f"{held['rss_mb']:.0f} ({held['pss_mb']:.0f}) | {single['page_bytes_max'] / 1000:.1f} / "
            f"{single['page_bytes_median'] / 1000:.1f} | {single['page_bytes_sent_max'] / 1000:.1f} / "
            f"{single['page_bytes_sent_median'] / 1000:.1f} |"
        )
    ratios = result["ratios"]
    lines += [
        "",
        f"2 workers / 1 worker: {ratios['two_workers_vs_one']:.2f}x req/s; 2 workers / baseline: "
        f"{ratios['two_workers_vs_baseline']:.2f}x req/s; page p95 / library p95: "
        f"{ratios['page_p95_vs_library_p95']:.2f}x",
        f"load average before {result['load_average']['before']}, after {result['load_average']['after']}",
    ]
    for run in result["runs"]:
        per = ", ".join(
            f"{name} {m['rss_mb']:.0f} ({m['pss_mb']:.0f})" for name, m in run["memory"]["processes"].items()
        )
        lines.append(f"memory of {run['name']}: {per} MB")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
