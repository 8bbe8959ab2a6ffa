"""The cluster benchmark: ``python -m tools.bench_cluster --corpus FILE --out DIR``.

In one run, on this machine, it measures (figures in docs/cluster.md):

* ``local``: today's rebuild (``news-search index rebuild``, one worker process per core) of the
  corpus into ``DIR/local``;
* ``cluster``: the same rebuild through a Ray cluster of two nodes on this machine (one CPU
  each, like the two cores the local rebuild uses) into ``DIR/cluster``;
* what the cluster costs: the seconds each node takes to start (until Ray counts it) and the
  memory (proportional set size, shared pages split) of each node's processes, idle and at the
  highest sampled during the rebuild;
* that both indexes are the same: every file of the generation, byte for byte, except the table
  of contents (random segment id) and the build's record (time, duration).

It runs as root on Linux: first it moves into a network namespace of its own (where 127.0.0.1
is the only address, see tests/ray_cluster.py). Every step is a fresh ``news-search`` process;
the two rebuilds run one after the other (``--order``), so the ratio compares figures of the
same run on the same, shared, noisy machine. Everything is written to ``DIR/bench-cluster.json``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from tests.helpers import child_env
from tests.ray_cluster import LocalCluster, enter_private_network


def _pss(pids) -> int:
    """Bytes of memory of the processes ``pids`` (proportional set size: shared pages split)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


class _Sampler:
    """The highest memory of each node's processes, sampled every ``period`` seconds."""

    def __init__(self, cluster: LocalCluster, period: float = 2.0):
        self.cluster = cluster
        self.period = period
        self.peaks = [0] * len(cluster.members)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for i, node in enumerate(self.cluster.members):
                self.peaks[i] = max(self.peaks[i], _pss(node.pids()))
            self._stop.wait(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def _rebuild(corpus: str, index: Path, cluster: str | None) -> dict:
    shutil.rmtree(index, ignore_errors=True)
    command = [sys.executable, "-m", "search.cli", "index", "rebuild", "--source", corpus, "--index", str(index)]
    command += ["--json"] + (["--cluster", cluster] if cluster else [])
    env = {k: v for k, v in child_env().items() if k != "NEWS_SEARCH_CLUSTER"}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise click.ClickException(f"rebuild into {index} failed: {done.stderr[-2000:]}")
    return {"seconds": round(seconds, 1), "summary": json.loads(done.stdout)}


def _fingerprint(index: Path) -> dict[str, str]:
    """Each file of the served generation by kind (segment id left out) -> its SHA-256."""
    generation = index / (index / "CURRENT").read_text().strip()
    found = {}
    for path in sorted(generation.iterdir()):
        if not path.is_file() or path.suffix == ".toc":
            continue
        kind = path.name.split(".", 1)[1] if path.name.startswith("MAIN_") else path.name
        if kind == "news-search.json":
            meta = json.loads(path.read_text())
            data = json.dumps({k: v for k, v in meta.items() if k not in ("built_at", "seconds")}).encode()
        else:
            data = path.read_bytes()
        found[kind] = hashlib.sha256(data).hexdigest()
    return found


def _count(corpus: str) -> int:
    opener = gzip.open if corpus.endswith(".gz") else open
    with opener(corpus, "rb") as handle:
        return sum(1 for _ in handle)


@click.command()
@click.option("--corpus", envvar="NEWS_SEARCH_CORPUS", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Where the indexes go.")
@click.option("--object-store-mb", default=256, show_default=True, type=click.IntRange(75), help="Per node.")
@click.option("--order", type=click.Choice(["local-first", "cluster-first"]), default="local-first", show_default=True)
def main(corpus, out_dir, object_store_mb, order):
    """Rebuild time through a two-node Ray cluster against today's local rebuild."""
    reason = enter_private_network()
    if reason:
        raise click.ClickException(reason)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "corpus": corpus,
        "articles_in_corpus": _count(corpus),
        "cores": len(os.sched_getaffinity(0)),
        "load_before": os.getloadavg(),
        "object_store_mb_per_node": object_store_mb,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }

    def local():
        click.echo("local rebuild ...", err=True)
        result["local"] = _rebuild(corpus, out / "local", None)
        click.echo(f"  {result['local']['seconds']} s", err=True)

    def cluster():
        cluster = LocalCluster(nodes=1, object_store=object_store_mb * 1024 * 1024)
        try:
            started = time.perf_counter()
            cluster.start()
            head_start = time.perf_counter() - started
            started = time.perf_counter()
            cluster.add_node()
            worker_start = time.perf_counter() - started
            time.sleep(5)  # settled: the agents started, no task yet
            idle = [_pss(node.pids()) for node in cluster.members]
            click.echo("cluster rebuild ...", err=True)
            with _Sampler(cluster) as sampler:
                rebuilt = _rebuild(corpus, out / "cluster", cluster.address)
            click.echo(f"  {rebuilt['seconds']} s", err=True)
            result["cluster"] = {
                **rebuilt,
                "head_start_seconds": round(head_start, 1),
                "worker_start_seconds": round(worker_start, 1),
                "idle_mb": [round(b / 2**20) for b in idle],
                "peak_mb": [round(b / 2**20) for b in sampler.peaks],
            }
        finally:
            cluster.stop()

    for step in (local, cluster) if order == "local-first" else (cluster, local):
        step()
    same = _fingerprint(out / "local") == _fingerprint(out / "cluster")
    result["identical_indexes"] = same
    result["cluster_over_local"] = round(result["cluster"]["seconds"] / result["local"]["seconds"], 3)
    result["load_after"] = os.getloadavg()
    (out / "bench-cluster.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    c = result["cluster"]
    click.echo(
        f"articles indexed: local {result['local']['summary']['indexed']}, cluster {c['summary']['indexed']}\n"
        f"rebuild: local {result['local']['seconds']} s, cluster {c['seconds']} s"
        f" (cluster/local {result['cluster_over_local']})\n"
        f"node start: head {c['head_start_seconds']} s, worker {c['worker_start_seconds']} s\n"
        f"node memory (PSS): idle {c['idle_mb']} MB, peak during the rebuild {c['peak_mb']} MB\n"
        f"identical indexes: {same}"
    )


if __name__ == "__main__":
    main()
