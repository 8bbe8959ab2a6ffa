"""The Ray foundation: joining a cluster, its errors, and the real two-node test cluster itself."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from search import ClusterError
from search.cluster import INSTALL, connect

from .helpers import ROOT, child_env
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
    result = __import__("json").loads(done.stdout.strip().splitlines()[-1])
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
