"""The sharded search benchmark: ``python -m tools.bench_shards --corpus FILE --passages FILE --eval DIR --out DIR``.

In one run, on this machine (figures in docs/cluster.md):

* the indexes: the news corpus as one index and as 2 and 4 shards (``news-search index rebuild
  --shards N``, each timed), and the same for the passages the dev questions are judged on;
* ranking: nDCG@10 of the dev keyword set (news) and question set (passages), for one index, each
  sharded index searched by this process's threads, and each searched by the actors of a local
  two-node Ray cluster (``NewsIndex.open(..., cluster=...)``): they must be identical;
* latency of a page of 10 with snippets (each query's median over ``--passes``, the result cache
  cleared), p50/p95 over the dev keywords and questions run on the news indexes, for the same
  ways of searching;
* for the cluster: each shard's own time (measured in its actor), the slowest shard's p50/p95, and
  the fan-out overhead -- the time the fan-out took less the slowest shard's own time in each of its
  rounds (the trips to the actors, pickling, the merge), p50/p95 over the queries; the literal
  "cluster p50 minus the slowest shard's own p50" is reported too; and, for scale, what a bare
  Ray actor call costs on the same cluster beyond the actor's own time, just before each;
* the memory (proportional set size) of each shard actor;
* a projection from those figures: articles per shard for a shard's own p95 of 50 ms, and
  machines for 10 million articles (``--report FILE`` redoes it from an earlier run's JSON).

It runs as root on Linux: it moves into a network namespace of its own first (see
tests/ray_cluster.py). Writes ``DIR/bench-shards.json``.
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from tests.helpers import child_env
from tests.ray_cluster import LocalCluster, enter_private_network
from tools.bench import EXTRA_KEYWORDS, _load, _percentiles, machine
from tools.bench_cluster import _pss

SHARDS = (2, 4)
#: The p95 a page of results should keep to, and the collection the projection is for.
TARGET_MS = 50.0
PROJECTED_ARTICLES = 10_000_000


def _rebuild(corpus: Path, index: Path, shards: int) -> float | None:
    """Seconds of ``news-search index rebuild --shards N`` (skipped when the index is there)."""
    if (index / "CURRENT").exists():
        return None
    started = time.perf_counter()
    command = [sys.executable, "-m", "search.cli", "index", "rebuild", "--source", str(corpus), "--index", str(index)]
    subprocess.run([*command, "--shards", str(shards), "--silent"], check=True, env=child_env())
    return round(time.perf_counter() - started, 1)


class _Watch:
    """Wraps the fan-out to record, per search, its wall time and each round's shard times."""

    def __init__(self):
        from search import fanout, remote, searcher

        self.searches: list[dict] = []
        self._rounds: list[tuple[bool, int, float]] = []
        watch = self
        fan_out = searcher.NewsIndex._fan_out
        remote_search = remote.RemoteShards.search
        local_search = fanout.Shard.search

        def timed_fan_out(self, request, budget, runnable=None):
            watch._rounds = []
            started = time.perf_counter()
            merged = fan_out(self, request, budget, runnable)
            wall = (time.perf_counter() - started) * 1000
            watch.searches.append({"wall": wall, "rounds": list(watch._rounds)})
            return merged

        def timed_remote(self, request, generations, budget, skip=frozenset()):
            answers = remote_search(self, request, generations, budget, skip)
            watch._rounds += [(request.gather, answer.shard, answer.took_ms) for answer in answers]
            return answers

        def timed_local(self, request, budget):
            answer = local_search(self, request, budget)
            watch._rounds.append((request.gather, self.number, answer.took_ms))
            return answer

        self._undo = [
            (searcher.NewsIndex, "_fan_out", fan_out),
            (remote.RemoteShards, "search", remote_search),
            (fanout.Shard, "search", local_search),
        ]
        searcher.NewsIndex._fan_out = timed_fan_out
        remote.RemoteShards.search = timed_remote
        fanout.Shard.search = timed_local

    def close(self) -> None:
        """Stop recording: the wrapped calls are the engine's own again."""
        for owner, name, call in self._undo:
            setattr(owner, name, call)

    def reset(self) -> None:
        self.searches = []

    def figures(self, shards: int) -> dict:
        """The slowest shard's own time, each shard's, and the overhead, over the searches recorded."""
        own = [[] for _ in range(shards)]
        overhead, slowest = [], []
        for search in self.searches:
            per_shard = [0.0] * shards
            rounds = {}
            for gather, shard, took in search["rounds"]:
                per_shard[shard] += took
                rounds[gather] = max(rounds.get(gather, 0.0), took)
            for shard, took in enumerate(per_shard):
                own[shard].append(took)
            slowest.append(max(per_shard))
            overhead.append(search["wall"] - sum(rounds.values()))
        p50s = [statistics.median(times) for times in own if times]
        return {
            "fan_out": _percentiles([s["wall"] for s in self.searches]),
            "slowest_shard": _percentiles(slowest),
            "each_shard_p50": [round(p, 2) for p in p50s],
            "each_shard_p95": [_percentiles(times)["p95"] for times in own if times],
            "overhead": _percentiles(overhead),
            # The wording: the fan-out's p50 less the slowest shard's own p50.
            "p50_less_slowest_shard_p50": round(statistics.median(s["wall"] for s in self.searches) - max(p50s), 2)
            if p50s
            else None,
            "searches": len(self.searches),
        }


class _Echo:
    """A Ray actor that does nothing but wait: the cost of a call itself."""

    def wait(self, ms: float) -> float:
        started = time.perf_counter()
        if ms:
            time.sleep(ms / 1000)
        return (time.perf_counter() - started) * 1000


def _ray_call(calls: int = 200) -> dict:
    """Milliseconds of a bare actor call on the cluster (an actor placed as the shards are) beyond
    the actor's own time, p50/p95: at once, and when the actor takes 10 ms (as long as a shard's
    search: the caller has waited, idle, for the answer)."""
    import ray

    from search.remote import ACTOR_MEMORY, ACTOR_THREADS

    actor = (
        ray.remote(_Echo)
        .options(num_cpus=0, memory=ACTOR_MEMORY, max_concurrency=ACTOR_THREADS, scheduling_strategy="SPREAD")
        .remote()
    )
    figures = {}
    try:
        ray.get(actor.wait.remote(0))
        for ms in (0, 10):
            extra = []
            for _ in range(calls):
                started = time.perf_counter()
                inside = ray.get(actor.wait.remote(ms))
                extra.append((time.perf_counter() - started) * 1000 - inside)
            figures["at_once" if not ms else "after_10_ms"] = _percentiles(extra)
    finally:
        ray.kill(actor)
    return figures


@contextlib.contextmanager
def _connected(cluster: LocalCluster):
    """This process joined to ``cluster`` while the block runs, and out of it before the cluster
    stops (else an error in the block is lost: Ray ends the process, waiting for the cluster)."""
    from search.cluster import connect

    ray = connect(cluster.address)
    try:
        yield
    finally:
        ray.shutdown()


def _latency(news, queries: list[str], passes: int) -> list[float]:
    """Each query's median milliseconds over ``passes``: a page of 10 with snippets, no cache."""
    from search.errors import QueryError

    times = {query: [] for query in queries}
    for _ in range(passes):
        for query in queries:
            news.clear_cache()
            started = time.perf_counter()
            try:
                page = news.search(query, per_page=10)
                for hit in page.hits:
                    hit.snippet  # noqa: B018 - what a results page reads
            except QueryError:
                pass
            times[query].append((time.perf_counter() - started) * 1000)
    return [statistics.median(t) for t in times.values()]


def _ndcg(news, queries, qrels) -> float:
    from search.evaluate import evaluate

    return round(evaluate(news, queries, qrels).ndcg10, 4)


def _projection(rows: dict, documents: int, index_bytes: int, cores_per_machine: int) -> dict:
    """On paper, from the cluster runs of one and two shards (one actor a core on this 2-core
    machine; with four, four actors share two cores and their times measure the sharing): the
    slowest shard's own p95 of the keyword set as a straight line of its articles, the articles a
    shard may hold for its own p95 to stay at :data:`TARGET_MS`, and what 10 million articles
    then need. The page's other work (snippets, "did you mean", the fan-out) is reported apart:
    it is the searching process's, not the shards'."""
    points = []
    for shards in (1, 2):
        name = f"{shards} shards, cluster" if shards > 1 else "one index, cluster"
        points.append((documents // shards, rows[name]["keywords_fan_out"]["slowest_shard"]["p95"]))
    (n1, p1), (n2, p2) = points
    slope = (p1 - p2) / (n1 - n2)
    intercept = p1 - slope * n1
    per_shard = int((TARGET_MS - intercept) / slope) if slope > 0 else None
    shards = math.ceil(PROJECTED_ARTICLES / per_shard) if per_shard else None
    two = rows["2 shards, cluster"]
    actor_mb = max(two["actor_pss_mb"])
    return {
        "points": points,
        "target_shard_p95_ms": TARGET_MS,
        "ms_per_1000_articles": round(slope * 1000, 4),
        "ms_at_zero": round(intercept, 2),
        "articles_per_shard": per_shard,
        "shards_for_10M": shards,
        "index_gb_per_shard": round(per_shard * index_bytes / documents / 1e9, 2) if per_shard else None,
        "actor_mb": actor_mb,
        "cores_per_machine": cores_per_machine,
        # One core per shard (a shard searches one query at a time), one replica.
        "machines_for_10M": math.ceil(shards / cores_per_machine) if shards else None,
        "rest_of_page_p95_ms": round(two["keywords"]["p95"] - two["keywords_fan_out"]["slowest_shard"]["p95"], 2),
        "fan_out_overhead_p50_ms": two["keywords_fan_out"]["overhead"]["p50"],
    }


@click.command()
@click.option("--corpus", envvar="NEWS_SEARCH_CORPUS", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--passages", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="rgb-passages.jsonl.gz")
@click.option("--eval", "eval_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--one", type=click.Path(exists=True, file_okay=False, path_type=Path), help="A one-index build of the corpus to reuse.")
@click.option("--passes", default=3, show_default=True, type=click.IntRange(1))
@click.option("--cores-per-machine", default=16, show_default=True, type=click.IntRange(1), help="For the projection.")
@click.option("--report", "report_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Only redo the projection of an earlier run's JSON.")
def main(corpus, passages, eval_dir, out_dir, one, passes, cores_per_machine, report_file):
    """Sharded search on a local two-node Ray cluster against one index (see the module's doc)."""
    if report_file is not None:
        earlier = json.loads(report_file.read_text(encoding="utf-8"))
        earlier["projection"] = _projection(earlier["runs"], earlier["documents"], earlier["index_bytes"], cores_per_machine)
        report_file.write_text(json.dumps(earlier, indent=1, ensure_ascii=False), encoding="utf-8")
        print(json.dumps(earlier["projection"], indent=1))
        return
    if not (corpus and passages and eval_dir and out_dir):
        raise click.UsageError("give --corpus, --passages, --eval and --out (or --report FILE)")
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(), "rebuild_s": {}}
    news_paths = {1: one or out_dir / "news-one", **{n: out_dir / f"news-s{n}" for n in SHARDS}}
    passage_paths = {1: out_dir / "rgb-one", **{n: out_dir / f"rgb-s{n}" for n in SHARDS}}
    for shards, path in news_paths.items():
        report["rebuild_s"][f"news-{shards}"] = _rebuild(corpus, path, shards)
    for shards, path in passage_paths.items():
        report["rebuild_s"][f"passages-{shards}"] = _rebuild(passages, path, shards)
    print(json.dumps(report["rebuild_s"]), flush=True)

    why = enter_private_network()
    if why:
        raise SystemExit(f"cannot run a cluster here: {why}")
    from search import NewsIndex
    from search.evaluate import read_qrels, read_queries
    from search.remote import stop

    keywords = read_queries(eval_dir / "keyword-queries-dev.tsv")
    questions = read_queries(eval_dir / "queries-dev.tsv")
    keyword_qrels = read_qrels(eval_dir / "keyword-qrels-dev.txt")
    question_qrels = read_qrels(eval_dir / "qrels-dev.txt")
    texts = {"keywords": [*keywords.values(), *EXTRA_KEYWORDS], "questions": list(questions.values())}
    watch = _Watch()
    rows = {}
    with LocalCluster(nodes=2, cpus=1, object_store=256 * 1024 * 1024, timeout=300) as cluster, _connected(cluster):
        report["load_start"] = _load()
        for shards, path in news_paths.items():
            for where in ("local", "cluster"):
                name = f"{shards} shard{'s' if shards > 1 else ''}, {where}" if shards > 1 else f"one index, {where}"
                address = cluster.address if where == "cluster" else None
                news = NewsIndex.open(path, cluster=address)
                ranking = NewsIndex.open(passage_paths[shards], time_limit=None, cluster=address)
                whole = NewsIndex.open(path, time_limit=None, cluster=address)
                row = {
                    "ndcg_keywords": _ndcg(whole, keywords, keyword_qrels),
                    "ndcg_questions": _ndcg(ranking, questions, question_qrels),
                }
                whole.close()
                news.search("重庆")  # opened, warmed, the actors started
                if address:  # the cost of a call itself, on the cluster as it is now
                    row["ray_call_ms"] = _ray_call()
                for kind, queries in texts.items():
                    watch.reset()
                    row[kind] = _percentiles(_latency(news, queries, passes))
                    if address or shards > 1:
                        row[f"{kind}_fan_out"] = watch.figures(news.shards)
                if address:
                    health = news.health()
                    row["actor_pss_mb"] = [
                        round(_pss([r["pid"] for r in s["replicas"] if r.get("pid")]) / 1e6, 1) for s in health["shards"]
                    ]
                    row["nodes"] = [s["replicas"][0].get("node", "")[:8] for s in health["shards"]]
                    stop(path, address, news.shards)
                    stop(passage_paths[shards], address, news.shards)
                row["load"] = _load()
                rows[name] = row
                news.close()
                ranking.close()
                print(name, json.dumps(row), flush=True)
        report["load_end"] = _load()
    report["runs"] = rows

    documents = NewsIndex.open(news_paths[1]).doc_count
    index_bytes = sum(f.stat().st_size for f in news_paths[1].rglob("*") if f.is_file())
    report["documents"], report["index_bytes"] = documents, index_bytes
    report["projection"] = _projection(rows, documents, index_bytes, cores_per_machine)
    print("projection", json.dumps(report["projection"]), flush=True)
    (out_dir / "bench-shards.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
