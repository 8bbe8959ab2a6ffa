"""A sharded index searched by Ray actors on a real two-node cluster (:mod:`search.remote`).

The same index searched by this process's threads and by the cluster's actors gives the same
answers; ``news-search serve --cluster`` answers as the library; a shard actor killed under a load
of searches costs no request (the searches that met it are flagged partial, the web page says so,
and Ray's restart makes them whole again); a new generation is picked up without a restart.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import quote
from urllib.request import urlopen

import pytest

from search import NewsIndex
from search.generations import current_generations
from search.remote import stop

from .helpers import ROOT, SHARDS, child_env, serve, write_jsonl
from .test_codec import _queries
from .test_shards import OPTIONS as SHARD_OPTIONS
from .test_shards import _compare

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

QUERIES = [
    "重庆",
    "疫情 防控",
    '"新冠肺炎"',
    "重庆 -疫情",
    "title:重庆",
    "(疫情 OR 防控) 学校",
    "什么时候 开学",
    "chongqing",
    "重庆 火过",
]
OPTIONS = ({}, {"page": 3}, {"sort": "date"}, {"region": "重庆"}, {"collapse": False})


def seen(news: NewsIndex, query: str, **options) -> dict:
    """What a reader sees of a search (all but the time it took)."""
    page = news.search(query, facets=True, **options).to_dict()
    page.pop("took_ms")
    return page


@pytest.fixture(scope="module")
def connected(ray_cluster):
    """This process joined to the test cluster (left again after the module)."""
    from search.cluster import connect

    ray = connect(ray_cluster.address)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def sharded(tmp_path_factory, sources_dir) -> Path:
    path = tmp_path_factory.mktemp("remote") / "ix"
    NewsIndex.rebuild([sources_dir], path, shards=2)
    return path


def test_the_cluster_answers_as_this_process(connected, ray_cluster, sharded, news):
    local = NewsIndex.open(sharded)
    remote = NewsIndex.open(sharded, cluster=ray_cluster.address)
    try:
        for query in QUERIES:
            for options in OPTIONS:
                want = seen(local, query, **options)
                got = seen(remote, query, **options)
                assert got == want, (query, options)
                assert got["missing_shards"] == [] and not got["partial"]
        assert seen(remote, "重庆")["total"] > 0
        hit = remote.search("重庆").hits[0]
        assert [h.id for h in remote.related(hit.id)] == [h.id for h in local.related(hit.id)]
        health = remote.health()
        assert health["status"] == "ok" and len(health["shards"]) == 2
        nodes = {node["NodeID"] for node in ray_cluster.alive_nodes()}
        for shard in health["shards"]:
            (replica,) = shard["replicas"]
            assert replica["up"] and replica["node"] in nodes and replica["address"] == "127.0.0.1"
        assert sum(shard["documents"] for shard in health["shards"]) == news.doc_count
    finally:
        assert stop(sharded, ray_cluster.address, 2) == 2


def test_the_dev_sets_and_syntax_rank_through_the_cluster_as_one_index(connected, ray_cluster, built):
    """The corpus sample as 1, 2 and 4 shards, each searched by the cluster's actors, against one
    index: the same hits, scores, totals, facets and copies for the dev sets (pages 1 and 3) and
    the syntax cases with filters, date sort and deep pages."""
    through = {"one": built["one"]}
    for shards in SHARDS:
        through[shards] = NewsIndex.open(built[shards].path, time_limit=None, cluster=ray_cluster.address)
    try:
        assert _compare(through, _queries(), ({}, {"page": 3})) > 20
        syntax = ["重庆", '"新冠肺炎"', "重庆 -疫情", "title:重庆", "(疫情 OR 防控) 学校"]
        assert _compare(through, syntax, SHARD_OPTIONS) == len(syntax) * len(SHARD_OPTIONS)
        for shards in SHARDS:
            assert through[shards].search("重庆").missing_shards == ()
    finally:
        for shards in SHARDS:
            stop(built[shards].path, ray_cluster.address, shards)


def test_a_replica_lost_leaves_the_searches_whole(connected, ray_cluster, sharded, news):
    remote = NewsIndex.open(sharded, cluster=ray_cluster.address, replicas=2)
    try:
        want = seen(remote, "重庆")
        health = remote.health()
        for shard in health["shards"]:
            assert len({replica["node"] for replica in shard["replicas"]}) == 2, "replicas on both nodes"
        killed = health["shards"][0]["replicas"][0]["pid"]
        os.kill(killed, signal.SIGKILL)
        pages = [seen(remote, query) for query in QUERIES for _ in range(2)]
        assert all(page["missing_shards"] == [] for page in pages), "the other replica answered"
        assert seen(remote, "重庆") == want
        deadline = time.monotonic() + 90
        while killed in [r.get("pid") for r in remote.health()["shards"][0]["replicas"]] or not all(
            r["up"] for s in remote.health()["shards"] for r in s["replicas"]
        ):
            assert time.monotonic() < deadline, "Ray did not restart the replica"
            time.sleep(0.2)
    finally:
        assert stop(sharded, ray_cluster.address, 2) == 4


def test_cli_search_and_status_through_the_cluster(connected, ray_cluster, sharded):
    def cli(*args):
        done = subprocess.run(
            [sys.executable, "-m", "search.cli", *args, "--index", str(sharded)],
            capture_output=True,
            text=True,
            env=child_env(),
            cwd=ROOT,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    try:
        local = json.loads(cli("search", "重庆 -疫情", "--json", "--page", "2"))
        remote = json.loads(cli("search", "重庆 -疫情", "--json", "--page", "2", "--cluster", ray_cluster.address))
        local.pop("took_ms"), remote.pop("took_ms")
        assert remote == local
        status = json.loads(cli("cluster", "status", "--cluster", ray_cluster.address))
        assert status["status"] == "ok" and [s["up"] for s in status["shards"]] == [True, True]
    finally:
        assert stop(sharded, ray_cluster.address, 2) == 2


def test_one_index_is_served_as_one_shard(connected, ray_cluster, index_dir, news):
    remote = NewsIndex.open(index_dir, cluster=ray_cluster.address, replicas=2)
    try:
        for query in QUERIES[:5]:
            assert seen(remote, query) == seen(news, query), query
        (shard,) = remote.health()["shards"]
        assert [replica["up"] for replica in shard["replicas"]] == [True, True]
    finally:
        assert stop(index_dir, ray_cluster.address, 1) == 2


def get(url: str) -> tuple[int, str]:
    try:
        with urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def get_json(url: str) -> dict:
    status, text = get(url)
    assert status == 200, (url, status, text[:300])
    return json.loads(text)


class Load:
    """Readers searching a server from threads until stopped: every answer's status, and for the
    JSON ones, which shards were missing."""

    QUERIES = ["重庆", "疫情 防控", "学校 开学", "title:重庆", "经济 发展", "火锅"]

    def __init__(self, url: str, threads: int = 4):
        self.url = url
        self.answers: list[tuple[float, int, tuple[int, ...] | None]] = []
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(threads)
        self._futures = [self._pool.submit(self._run, n) for n in range(threads)]

    def _run(self, number: int) -> None:
        turn = number
        while not self._stop.is_set():
            query = self.QUERIES[turn % len(self.QUERIES)]
            turn += 1
            status, text = get(f"{self.url}/api/search?q={quote(query)}&page={1 + turn % 3}")
            missing = tuple(json.loads(text)["missing_shards"]) if status == 200 else None
            self.answers.append((time.monotonic(), status, missing))

    def wait_for(self, condition, timeout: float = 90.0) -> float:
        """Wait until an answer given from now on satisfies ``condition(missing)``; when it came."""
        since = time.monotonic()
        deadline = since + timeout
        while time.monotonic() < deadline:
            for at, status, missing in list(self.answers):
                if at > since and status == 200 and condition(missing):
                    return at
            time.sleep(0.05)
        raise TimeoutError(f"no such answer within {timeout:g} s")

    def stop(self) -> list[tuple[float, int, tuple[int, ...] | None]]:
        self._stop.set()
        for future in self._futures:
            future.result()
        self._pool.shutdown()
        return self.answers


def replica_pids(health: dict) -> list[list[int]]:
    return [[replica.get("pid") for replica in shard["replicas"]] for shard in health["shards"]]


def test_serve_on_the_cluster_survives_a_lost_shard_and_picks_up_a_new_generation(ray_cluster, tmp_path, sources_dir):
    index = tmp_path / "ix"
    NewsIndex.rebuild([sources_dir], index, shards=2)
    local = NewsIndex.open(index)
    env = {"NEWS_SEARCH_TIME_LIMIT": "1"}  # a shard that does not answer costs 1 + GRACE seconds
    try:
        with serve("--index", str(index), "--cluster", ray_cluster.address, "--workers", "2", env=env) as server:
            assert "2 shards searched on the Ray cluster at" in server.stderr()
            health = get_json(server.url + "/healthz")
            assert health["status"] == "ok" and health["documents"] == local.doc_count
            nodes = [shard["replicas"][0]["node"] for shard in health["shards"]]
            assert len(set(nodes)) == 2, "the two shards are served by the two nodes"
            for query in ("重庆", '"新冠肺炎"', "重庆 -疫情"):
                found = get_json(f"{server.url}/api/search?q={quote(query)}&page=2&per_page=5")
                want = local.search(query, page=2, per_page=5).to_dict()
                assert [h["id"] for h in found["hits"]] == [h["id"] for h in want["hits"]], query
                assert (found["total"], found["partial"], found["missing_shards"]) == (want["total"], False, [])

            load = Load(server.url)
            try:
                # Killed: Ray starts it again, and the searches are whole again.
                load.wait_for(lambda missing: missing == ())
                (killed,) = replica_pids(health)[1]
                os.kill(killed, signal.SIGKILL)
                deadline = time.monotonic() + 90
                while (pid := replica_pids(get_json(server.url + "/healthz"))[1][0]) in (killed, None):
                    assert time.monotonic() < deadline, "the actor was not restarted"
                    time.sleep(0.2)
                load.wait_for(lambda missing: missing == ())
                # Hung: the searches go on without it, flagged, and the page says so.
                os.kill(pid, signal.SIGSTOP)
                load.wait_for(lambda missing: missing == (1,))
                status, page = get(f"{server.url}/search?q={quote('重庆')}")
                assert status == 200 and "部分索引暂时无法访问" in page
                hung = get_json(server.url + "/healthz")
                assert hung["status"] == "degraded" and [s["up"] for s in hung["shards"]] == [True, False]
                os.kill(pid, signal.SIGKILL)
                os.kill(pid, signal.SIGCONT)
                load.wait_for(lambda missing: missing == ())
            finally:
                answers = load.stop()
            statuses = {status for _, status, _ in answers}
            partial = sum(1 for _, _, missing in answers if missing)
            print(f"{len(answers)} searches, {partial} without shard 1, statuses {statuses}")
            assert statuses == {200}, "no search failed"

            # A new generation: the actors serve it without a restart.
            extra = write_jsonl(tmp_path / "extra.jsonl", [{"id": "new-1", "title": "黔江新闻", "body": "黔江区的新消息"}])
            NewsIndex.rebuild([sources_dir, extra], index, shards=2)
            found = get_json(f"{server.url}/api/search?q={quote('黔江 新消息')}")
            assert [h["id"] for h in found["hits"]][:1] == ["new-1"] and found["missing_shards"] == []
            health = get_json(server.url + "/healthz")
            assert [shard["replicas"][0]["generation"] for shard in health["shards"]] == [
                p.name for p in current_generations(index)
            ]
    finally:
        done = subprocess.run(
            [sys.executable, "-m", "search.cli", "cluster", "stop", "--index", str(index), "--cluster", ray_cluster.address],
            capture_output=True,
            text=True,
            env=child_env(),
            cwd=ROOT,
            timeout=120,
        )
        assert done.returncode == 0 and done.stdout.strip() == f"Stopped 2 actors serving {index}/", done.stderr
