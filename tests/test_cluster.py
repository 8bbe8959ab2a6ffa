"""The Ray foundation: joining a cluster, its errors, and the real two-node test cluster itself."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from search import ClusterError, NewsIndex, writer
from search.cluster import INSTALL, connect
from search.generations import META, current_generation

from .helpers import ROOT, child_env, write_jsonl
from .ray_cluster import LocalCluster, free_port, only_loopback

#: A driver that joins the cluster through search.cluster and runs tasks through its TaskPool.
DRIVER = textwrap.dedent(
    """
    import json, sys, time
    from search.cluster import TaskPool, cluster_cpus, connect

    def where(seconds):
        import os, ray
        time.sleep(seconds)
        return ray.get_runtime_context().get_node_id(), os.getpid()

    ray = connect(sys.argv[1])
    pool = TaskPool(what="a test task")
    started = time.perf_counter()
    futures = [pool.submit(where, 0.5) for _ in range(6)]
    found = [future.result() for future in futures]
    print(json.dumps({"cpus": cluster_cpus(), "nodes": sorted({node for node, _ in found}),
                      "seconds": time.perf_counter() - started}))
    """
)


def test_connect_without_an_address_says_what_to_give(monkeypatch):
    monkeypatch.delenv("NEWS_SEARCH_CLUSTER", raising=False)
    with pytest.raises(ClusterError, match="no cluster address: give --cluster HOST:PORT or set NEWS_SEARCH_CLUSTER"):
        connect(None)


def test_connect_to_nothing_fails_fast_in_one_line():
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ClusterError) as raised:
        connect(address)
    assert time.monotonic() - started < 5
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{address}: cannot reach the Ray cluster")


def test_connect_without_ray_installed_says_what_to_install():
    # A child where `import ray` fails, as where the extra is not installed.
    script = (
        "import sys; sys.modules['ray'] = None\n"
        "from search import ClusterError\n"
        "from search.cluster import connect\n"
        "try:\n    connect('127.0.0.1:6379')\nexcept ClusterError as error:\n    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=child_env(), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"a cluster needs Ray, which is not installed here: {INSTALL}"


@pytest.mark.cluster
@pytest.mark.slow
def test_two_nodes_on_loopback_run_tasks_on_both(ray_cluster):
    assert only_loopback(), "the session runs in a network namespace of its own"
    nodes = ray_cluster.alive_nodes()
    assert len(nodes) == 2
    assert {node["NodeManagerAddress"] for node in nodes} == {"127.0.0.1"}
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, ray_cluster.address],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["cpus"] == 2
    # Six half-second tasks on two one-CPU nodes: both nodes took some.
    assert result["nodes"] == sorted(node["NodeID"] for node in nodes)


@pytest.mark.cluster
@pytest.mark.slow
def test_a_stopped_cluster_leaves_no_process(ray_cluster):
    # A cluster of its own (the session's keeps running): stop() must leave nothing behind.
    with LocalCluster(nodes=1) as cluster:
        assert cluster.processes()
        folder = cluster.folder
    assert cluster.processes() == []
    assert not folder.exists()


# The distributed rebuild ------------------------------------------------------------------------------

#: A rebuild through the cluster, in a driver of its own: argv = address, index, chunk characters,
#: then sources. The merge is cut in two runs (a task each) even for a small index.
REBUILD = textwrap.dedent(
    """
    import json, sys
    import search.writer
    from search import NewsIndex
    search.writer.PARALLEL_MERGE_TERMS = 1000
    summary = NewsIndex.rebuild(sys.argv[4:], sys.argv[2], cluster=sys.argv[1], chunk_chars=int(sys.argv[3]))
    print(json.dumps(summary.to_dict()))
    """
)

QUERIES = ["重庆", "重庆 轨道交通", '"一区两群"', "三峡", "疫情 防控 措施", "涪陵 贷款", "source:华龙网", "重庆 NOT 火锅", "title:重庆"]


def _segment_files(index_dir: Path) -> dict[str, bytes]:
    """The files of the served generation by kind: a segment's files by what follows its random
    id; not the table of contents (which holds that id); the build's record without its time and
    duration."""
    generation = current_generation(index_dir)
    files = {}
    for path in generation.iterdir():
        if path.is_file() and path.suffix != ".toc":
            kind = path.name.split(".", 1)[1] if path.name.startswith("MAIN_") else path.name
            files[kind] = path.read_bytes()
    meta = json.loads(files.pop(META))
    files[META] = {key: value for key, value in meta.items() if key not in ("built_at", "seconds")}
    return files


def _run(args, env=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env or child_env(), cwd=ROOT, timeout=timeout)


@pytest.mark.cluster
@pytest.mark.slow
def test_rebuild_through_the_cluster_equals_a_local_rebuild(ray_cluster, sources_dir, tmp_path, monkeypatch):
    sources = [str(sources_dir), str(ROOT / "seeds")]
    # Today's parallel rebuild, with the same chunks and its merge cut in two runs as well.
    monkeypatch.setattr(writer, "PARALLEL_MERGE_TERMS", 1000)
    NewsIndex.rebuild(sources, tmp_path / "local", workers=2, chunk_chars=60_000)
    done = _run([sys.executable, "-c", REBUILD, ray_cluster.address, str(tmp_path / "cluster"), "60000", *sources])
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    local, remote = _segment_files(tmp_path / "local"), _segment_files(tmp_path / "cluster")
    assert local.keys() == remote.keys()
    assert "pst" in local and "trm" in local
    for kind in local:
        assert local[kind] == remote[kind], kind
    one, two = NewsIndex.open(tmp_path / "local"), NewsIndex.open(tmp_path / "cluster")
    assert one.doc_count == two.doc_count == summary["indexed"] > 1000
    for query in QUERIES:
        for sort in ("relevance", "date"):
            a, b = one.search(query, per_page=20, sort=sort, page=1), two.search(query, per_page=20, sort=sort)
            assert [(h.id, h.score, h.snippet, h.copies) for h in a.hits] == [
                (h.id, h.score, h.snippet, h.copies) for h in b.hits
            ]
            assert a.total == b.total
    assert not list((tmp_path / "cluster").glob("build-*")), "nothing of the build is left"


@pytest.mark.cluster
@pytest.mark.slow
def test_cli_rebuild_takes_the_cluster_from_the_environment(ray_cluster, tmp_path):
    env = dict(child_env(), NEWS_SEARCH_CLUSTER=ray_cluster.address)
    index = tmp_path / "ix"
    done = _run([sys.executable, "-m", "search.cli", "index", "rebuild", "--index", str(index), "--json"], env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["indexed"] == NewsIndex.open(index).doc_count > 1000


def test_cli_rebuild_with_an_unreachable_cluster_fails_in_one_line_and_keeps_the_index(index_dir, tmp_path):
    served = current_generation(index_dir)
    address = f"127.0.0.1:{free_port()}"
    done = _run([sys.executable, "-m", "search.cli", "index", "rebuild", "--index", str(index_dir), "--cluster", address])
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"Error: {address}: cannot reach the Ray cluster (Connection refused); is `ray start --head` running there?"
    ]
    assert current_generation(index_dir) == served
    assert not list(index_dir.glob("build-*"))


def test_cli_rebuild_with_a_cluster_but_no_ray_says_what_to_install(index_dir):
    served = current_generation(index_dir)
    script = "import sys; sys.modules['ray'] = None; from search.cli import main; main()"
    args = ["index", "rebuild", "--index", str(index_dir), "--cluster", "127.0.0.1:6379"]
    done = _run([sys.executable, "-c", script, *args])
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"Error: a cluster needs Ray, which is not installed here: {INSTALL}"]
    assert current_generation(index_dir) == served


@pytest.mark.cluster
@pytest.mark.slow
def test_a_worker_node_lost_mid_rebuild_retries_or_fails_and_the_index_answers_whole(
    ray_cluster, sources_dir, tmp_path
):
    ix = tmp_path / "ix"
    NewsIndex.rebuild([sources_dir], ix, workers=1)
    served, old = current_generation(ix), NewsIndex.open(ix).doc_count
    records = [
        {"id": f"big-{i}", "title": f"黔江新闻{i}", "body": f"黔江区第{i}条消息，山城重庆的发展新闻内容各不相同{i}。" * 20}
        for i in range(4000)
    ]
    big = write_jsonl(tmp_path / "big.jsonl", records)
    # About forty chunks: the worker node is busy with some when it is lost.
    driver = subprocess.Popen(
        [sys.executable, "-c", REBUILD, ray_cluster.address, str(ix), "50000", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(list(ix.glob("build-*/chunks/chunk-*.pst"))) < 2:
            assert driver.poll() is None, driver.communicate()
            time.sleep(0.05)
        worker = next(node for node in ray_cluster.members if not node.head and node.alive)
        ray_cluster.kill_node(worker)
        counts = set()
        while driver.poll() is None:
            news = NewsIndex.open(ix)
            counts.add(news.doc_count)
            assert news.search("黔江" if news.doc_count == len(records) else "涪陵").total > 0
            time.sleep(0.3)
        out, err = driver.communicate()
        print("rebuild after a lost node:", "completed" if driver.returncode == 0 else err.strip().splitlines()[-1])
        if driver.returncode == 0:  # Ray ran the lost tasks again on the node left
            # Ray forwards its workers' log lines ("(raylet) ...") to the driver's stdout too.
            summary = [line for line in out.splitlines() if line.startswith("{")][-1]
            assert json.loads(summary)["indexed"] == len(records)
            assert current_generation(ix) != served
            assert NewsIndex.open(ix).doc_count == len(records)
        else:  # or the rebuild stopped: one line, and the old generation still served
            assert err.strip().splitlines()[-1].endswith("the served index is kept"), err
            assert current_generation(ix) == served
        assert counts <= {old, len(records)}, "readers saw the old or the new index, never a mix"
        assert not list(ix.glob("build-*")), "nothing of the build is left"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
        ray_cluster.restore()
    assert len(ray_cluster.alive_nodes()) == 2
