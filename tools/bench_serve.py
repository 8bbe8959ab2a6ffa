"""The serving benchmark: ``python -m tools.bench_serve [--index DIR] [--eval DIR] [--baseline REF]``.

In one run, on one index, it starts the real ``news-search serve`` three times side by side -- the
``--baseline`` version's (default ``main``: the code as it was, unpacked from git, served as it
served by default), then ours with ``--workers 1`` and with ``--workers 2`` -- and measures:

* **one client**: every dev query's first result page, one after the other: p50 and p95, beside
  the library's own (``NewsIndex.search``, same queries, with snippets, no page cache) measured in
  this process before any server starts; and the **page weight**, as sent and gzip-compressed;
* **load**: locust, headless, ``--clients`` users (default 8) asking for result pages of the dev
  questions and keywords (a random query, a random page 1-3) as fast as answers come, for
  ``--seconds`` (default 60) per server, cut in ``--rounds`` turns taken in rotation so that every
  server meets the same changes in the machine's other load: requests per second, p50, p95,
  errors, and the cores the server's processes used meanwhile;
* **memory**: resident memory (RSS, and PSS, which counts shared pages once) of each server's
  processes after the load.

Ours run with ``NEWS_SEARCH_PAGE_CACHE=0``: each request searches, so the load measures serving
capacity, not how many of the 507 query pages one process's cache holds (``--page-cache`` keeps
it). The baseline cannot be told so: it keeps its cache, which the one-client pass fills with
every query's first page, so a repeated page costs it less, never more. locust runs on the
same machine and takes CPU from the servers, alike for each. Ratios compare figures of this one
run; the table is printed and written to ``DIR/serve.json`` with the load averages.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
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


def fetch(url: str) -> tuple[int, bytes, bytes, float]:
    """GET ``url`` as a browser would (gzip accepted): the status, the body as sent, the body, and
    the milliseconds it took."""
    started = time.perf_counter()
    with urlopen(Request(url, headers={"Accept-Encoding": "gzip"}), timeout=120) as response:
        sent = response.read()
        took = (time.perf_counter() - started) * 1000
        body = gzip.decompress(sent) if response.headers.get("Content-Encoding") == "gzip" else sent
        return response.status, sent, body, took


def one_client(url: str, queries: list[str]) -> dict:
    """Every query's first result page, one after the other: latency and weight."""
    took, sizes, packed = [], [], []
    for query in queries:
        status, sent, body, ms = fetch(f"{url}/search?q={quote(query)}")
        assert status == 200, (query, status)
        took.append(ms)
        sizes.append(len(body))
        packed.append(len(sent))
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
    """locust, headless: ``clients`` users for ``seconds``; requests, errors and the response
    times (a histogram: milliseconds, rounded as locust does, to counts)."""
    locustfile = work / "locustfile.py"
    locustfile.write_text(LOCUSTFILE, encoding="utf-8")
    report = work / f"locust-{seed}.json"
    subprocess.run(
        [
            sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--users", str(clients),
            "--spawn-rate", str(clients), "--run-time", f"{seconds}s", "--host", url,
            "--json-file", str(report.with_suffix("")), "--only-summary", "--loglevel", "WARNING",
            "--exit-code-on-error", "0",
        ],
        env=dict(os.environ, BENCH_QUERIES=str(queries_file), BENCH_SEED=str(seed)),
        check=True,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    stats = json.loads(report.read_text(encoding="utf-8"))
    times: Counter[float] = Counter()
    for entry in stats:
        times.update({float(ms): n for ms, n in entry["response_times"].items()})
    return {
        "requests": sum(entry["num_requests"] for entry in stats),
        "errors": sum(entry["num_failures"] for entry in stats),
        "times": times,
    }


def histogram_percentile(times: Counter, share: float) -> float:
    """The ``share`` percentile of a histogram of response times."""
    total, seen = sum(times.values()), 0
    for ms in sorted(times):
        seen += times[ms]
        if seen >= share * total:
            return ms
    return math.nan


def memory(pid: int) -> dict:
    """Resident memory of a process, in MB: RSS, PSS (shared pages divided among sharers) and USS
    (the pages only this process holds)."""
    from tools.bench_memory import process_memory

    return process_memory(pid)


def server_memory(pids: list[int], workers: int | None) -> dict:
    """The memory of a server's processes (``pids``: the first is the server or gunicorn's master)."""
    processes = {"master" if workers else "server": memory(pids[0])}
    for n, pid in enumerate(pids[1:], 1):
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


def under_load(servers: list[dict], queries_file: Path, options: dict, work: Path) -> None:
    """Each server loaded by locust for ``seconds`` in all, in ``rounds`` turns taken in rotation,
    so that every one meets the same changes in the machine's other load."""
    rounds = options["rounds"]
    turn_seconds = max(1, round(options["seconds"] / rounds))  # locust takes whole seconds
    seconds = turn_seconds * rounds
    totals = {id(s): {"requests": 0, "errors": 0, "times": Counter(), "cpu": 0.0, "load": []} for s in servers}
    for turn in range(rounds):
        for server in servers[turn % len(servers) :] + servers[: turn % len(servers)]:
            click.echo(f"{server['name']}: load, round {turn + 1} of {rounds}", err=True)
            total = totals[id(server)]
            used = cpu_seconds(server["pids"])
            total["load"].append(os.getloadavg()[0])
            got = load(server["url"], queries_file, options["clients"], turn_seconds, options["seed"] + turn, work)
            total["cpu"] += cpu_seconds(server["pids"]) - used
            total["requests"] += got["requests"]
            total["errors"] += got["errors"]
            total["times"].update(got["times"])
    for server in servers:
        total = totals[id(server)]
        server["load"] = {
            "requests": total["requests"],
            "errors": total["errors"],
            "rps": total["requests"] / seconds,
            "p50_ms": histogram_percentile(total["times"], 0.50),
            "p95_ms": histogram_percentile(total["times"], 0.95),
            # How many cores the server had: a busy machine gives fewer than it has.
            "cores_used": round(total["cpu"] / seconds, 2),
            "load_average_1min": total["load"],
        }


@click.command()
@click.option(
    "--index", "index", required=True, envvar="NEWS_SEARCH_INDEX", help="A full-corpus index (also $NEWS_SEARCH_INDEX)."
)
@click.option(
    "--eval",
    "eval_dir",
    required=True,
    envvar="NEWS_SEARCH_EVAL",
    type=Path,
    help="The folder of the dev query sets (also $NEWS_SEARCH_EVAL).",
)
@click.option("--baseline", default="main", show_default=True, help="The git ref of the code to compare with.")
@click.option("--clients", default=8, show_default=True, type=click.IntRange(1))
@click.option("--seconds", default=60, show_default=True, type=click.IntRange(1), help="Load time per server.")
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1), help="Turns the load time is cut in.")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--page-cache", is_flag=True, help="Run our servers with their page cache.")
@click.option("--out", default="docs/benchmarks", show_default=True, type=Path)
def main(index, eval_dir, baseline, clients, seconds, rounds, seed, page_cache, out):
    """Measure news-search serve: throughput under load, one-client latency, memory, page weight."""
    queries = read_queries(eval_dir)
    random.Random(seed).shuffle(queries)
    options = {"clients": clients, "seconds": seconds, "rounds": rounds, "seed": seed, "page_cache": page_cache}
    started = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        queries_file = work / "queries.json"
        queries_file.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
        click.echo(f"library: {len(queries)} queries", err=True)
        library = library_latency(index, queries)
        base = unpack(baseline, work / "baseline")
        ours = {} if page_cache else {"NEWS_SEARCH_PAGE_CACHE": "0"}
        configs = [
            (f"{baseline} (its default serve)", [], base, {}, None),
            ("--workers 1", ["--workers", "1"], ROOT, ours, 1),
            ("--workers 2", ["--workers", "2"], ROOT, ours, 2),
        ]
        with contextlib.ExitStack() as stack:
            runs = []
            for name, args, root, env, workers in configs:
                click.echo(f"{name}: starting, then one client over every query", err=True)
                server = stack.enter_context(serve("--index", index, *args, timeout=600, root=root, env=env))
                pids = [server.process.pid, *(wait_for_workers(server, workers) if workers else [])]
                for query in queries[:4]:  # every worker answers once before the clock starts
                    fetch(f"{server.url}/search?q={quote(query)}")
                runs.append(
                    {"name": name, "url": server.url, "pids": pids, "one_client": one_client(server.url, queries)}
                )
            under_load(runs, queries_file, options, work)
            for run, (_, _, _, _, workers) in zip(runs, configs, strict=True):
                run["memory"] = server_memory(run.pop("pids"), workers)
                del run["url"]
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
    ratios = {name: "n/a" if value is None else f"{value:.2f}x" for name, value in result["ratios"].items()}
    lines += [
        "",
        f"2 workers / 1 worker: {ratios['two_workers_vs_one']} req/s; 2 workers / baseline: "
        f"{ratios['two_workers_vs_baseline']} req/s; page p95 / library p95: "
        f"{ratios['page_p95_vs_library_p95']}",
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
