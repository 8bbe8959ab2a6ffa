"""``news-search serve``: the real server (gunicorn workers, or waitress) in a subprocess."""

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

import pytest

from search.query import MAX_QUERY_LENGTH

from .helpers import child_env, serve, wait_for_workers, write_jsonl


def get_json(url: str) -> dict:
    with urlopen(url, timeout=10) as response:
        return json.loads(response.read().decode("utf-8"))


@pytest.mark.slow
def test_serve_builds_a_missing_index_then_serves_it(tmp_path):
    records = [
        {
            "id": "a",
            "title": "洪崖洞夜景",
            "body": "洪崖洞的夜景吸引了很多游客。",
            "date": "2023-05-01",
            "source": "重庆晨报",
        },
        {"id": "b", "title": "长江索道", "body": "长江索道排起了长队。", "date": "2023-05-02", "source": "重庆晨报"},
    ]
    source = write_jsonl(tmp_path / "src.jsonl", records)
    index = tmp_path / "ix"
    with serve("--index", str(index), "--source", str(source)) as server:
        health = get_json(server.url + "/healthz")
        assert health["status"] == "ok" and health["documents"] == 2
        found = get_json(server.url + "/api/search?q=%E5%A4%9C%E6%99%AF")  # 夜景
        assert [hit["id"] for hit in found["hits"]] == ["a"]
        with urlopen(server.url + "/", timeout=10) as response:
            assert response.headers["Server"] is None  # no server name or version to look up exploits by
            assert response.headers["X-Frame-Options"] == "DENY"
            assert "已收录 <strong>2</strong> 篇新闻" in response.read().decode("utf-8")
        log = server.stderr()
        assert f"No index in {index}/ yet: building it from {source}" in log
        assert "Indexed 2 articles" in log and "Serving 2 articles" in log
    assert (index / "CURRENT").exists()


def test_serve_fails_in_one_line_when_nothing_can_be_indexed(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "search.cli", "serve", "--index", str(tmp_path / "ix"), "--source", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ") and "Traceback" not in result.stderr


@pytest.mark.slow
def test_running_server_serves_a_rebuilt_index_under_load(tmp_path):
    """Requests in flight on several threads while the index is rebuilt: none fails, and the new
    index is served without a restart."""
    from concurrent.futures import ThreadPoolExecutor
    from urllib.error import HTTPError

    from search import NewsIndex

    old = [{"id": f"old-{i}", "title": f"旧闻{i}", "body": f"朝天门码头第{i}条旧闻。"} for i in range(20)]
    new = [{"id": f"new-{i}", "title": f"新闻{i}", "body": f"朝天门码头第{i}条新闻。"} for i in range(30)]
    index = tmp_path / "ix"
    NewsIndex.rebuild([write_jsonl(tmp_path / "old.jsonl", old)], index)

    def status(_):
        try:
            with urlopen(server.url + "/search?q=%E7%A0%81%E5%A4%B4", timeout=30) as response:  # 码头
                return response.status
        except HTTPError as error:
            return error.code

    with serve("--index", str(index), "--threads", "4", "--server", "waitress") as server:
        assert get_json(server.url + "/healthz")["documents"] == 20
        with ThreadPoolExecutor(max_workers=6) as pool:
            during = pool.map(status, range(60))
            NewsIndex.rebuild([write_jsonl(tmp_path / "new.jsonl", new)], index)
            statuses = list(during)
        assert set(statuses) == {200}
        assert get_json(server.url + "/healthz")["documents"] == 30
        found = get_json(server.url + "/api/search?q=%E7%A0%81%E5%A4%B4&per_page=50")
        assert found["total"] == 30 and {hit["id"][:4] for hit in found["hits"]} == {"new-"}


def cpu_ticks(pid: int) -> int:
    """The CPU time a process has used (user and system), in clock ticks."""
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(after_name[11]) + int(after_name[12])


def open_generations(pid: int) -> set[str]:
    """The index generations (``gen-...``) a process has files open in."""
    names = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        names.update(part for part in Path(target).parts if part.startswith("gen-"))
    return names


def logged(server, pid: int, notice: str) -> bool:
    """Whether process ``pid`` of the server wrote ``notice`` (a line of the library's log) to stderr."""
    return any(f"[{pid}] [INFO] {notice}" in line for line in server.stderr().splitlines())


def memory_mb(pid: int) -> tuple[float, float]:
    """A process's resident memory and the part of it only this process holds (its private
    pages, the rest being shared with others), in MB."""
    figures = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            figures[name] = int(value.split()[0]) / 1024
    return figures["Rss"], figures["Private_Clean"] + figures["Private_Dirty"]


def status_of(url: str) -> int:
    with urlopen(url, timeout=30) as response:
        response.read()
        return response.status


def search_url(server, query: str, **params) -> str:
    extra = "".join(f"&{key}={value}" for key, value in params.items())
    return f"{server.url}/search?q={quote(query)}{extra}"


@pytest.mark.slow
def test_gunicorn_workers_each_open_the_index_and_all_answer(index_dir):
    with serve("--index", str(index_dir), "--workers", "2", "--threads", "2") as server:
        pids = wait_for_workers(server, 2)
        assert "with gunicorn, 2 workers of 2 threads" in server.stderr()
        with urlopen(server.url + "/", timeout=10) as response:
            assert response.headers["Server"] is None  # gunicorn's name is not sent either
        generation = get_json(server.url + "/healthz")["generation"]
        # Each worker opened the index itself, after the fork (warmed up before its first request).
        for pid in pids:
            assert open_generations(pid) == {generation}, pid
        before = {pid: cpu_ticks(pid) for pid in pids}
        # Pages not asked before (no cache), from 8 clients at once: both workers search.
        urls = [search_url(server, word, page=page) for word in ("重庆", "发展", "经济") for page in range(1, 21)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(status_of, urls)) == {200}
        used = {pid: cpu_ticks(pid) - before[pid] for pid in pids}
        assert all(ticks > 0 for ticks in used.values()), used
        # The longest query the app takes, in Chinese (9 bytes a character in the URL), reaches it.
        longest = search_url(server, "重庆" * (MAX_QUERY_LENGTH // 2))
        assert len(longest) > 4500 and status_of(longest) == 200


@pytest.mark.slow
def test_the_master_warms_the_index_and_the_workers_share_it(index_dir):
    """gunicorn's master loads the served generation before it forks; the workers inherit it (they
    load nothing themselves), open index files of their own, and answer as the library does."""
    from search import NewsIndex

    library = NewsIndex(index_dir, cache_size=0)
    generation = library.generation
    with serve("--index", str(index_dir), "--workers", "2", "--threads", "2") as server:
        master = server.process.pid
        pids = wait_for_workers(server, 2)
        assert get_json(server.url + "/healthz")["generation"] == generation
        assert logged(server, master, f"Loaded {generation}")
        # The master keeps what it loaded but no file of the index open: the workers' files are
        # their own (a file shared between processes would share its read position).
        assert open_generations(master) == set()
        deadline = time.monotonic() + 60
        while not all(open_generations(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in pids:
            assert open_generations(pid) == {generation}, pid
        before = {pid: cpu_ticks(pid) for pid in pids}
        expected = {}
        for query, page in [("重庆", 1), ("发展", 2), ("经济", 1), ("chongqing", 1), ("轨道交通", 1)]:
            found = library.search(query, page=page, facets=True).to_dict()
            del found["took_ms"]
            expected[f"{server.url}/api/search?q={quote(query)}&page={page}"] = found
        for prefix in ("重", "重庆 轨", "chong"):
            expected[f"{server.url}/api/suggest?q={quote(prefix)}"] = library.suggest(prefix)
        with ThreadPoolExecutor(max_workers=8) as pool:
            urls = list(expected) * 8
            answers = list(pool.map(get_json, urls))
        used = {pid: cpu_ticks(pid) - before[pid] for pid in pids}
        assert all(ticks > 0 for ticks in used.values()), used  # both workers answered
        for url, answer in zip(urls, answers, strict=True):  # every answer is the library's
            if isinstance(answer, dict):
                del answer["took_ms"]
            assert answer == expected[url], url
        for pid in pids:  # nothing of the generation was loaded, or opened anew, by a worker
            assert not logged(server, pid, f"Opened {generation}") and not logged(server, pid, f"Loaded {generation}")
        # Most of each worker's memory is shared with the master (and the other worker).
        held = {pid: memory_mb(pid) for pid in pids}
        assert all(private < resident / 2 for resident, private in held.values()), held


@pytest.mark.slow
def test_a_killed_worker_is_replaced(index_dir):
    with serve("--index", str(index_dir), "--workers", "2", "--threads", "2") as server:
        first, second = wait_for_workers(server, 2)
        os.kill(first, signal.SIGKILL)
        replaced = wait_for_workers(server, 2, other_than=[first])
        assert second in replaced
        newcomer = (set(replaced) - {second}).pop()
        deadline = time.monotonic() + 60
        while not open_generations(newcomer) and time.monotonic() < deadline:  # warming up
            time.sleep(0.1)
        assert open_generations(newcomer)
        assert not logged(server, newcomer, "Opened ")  # forked from the warm master: nothing to load
        with ThreadPoolExecutor(max_workers=4) as pool:
            urls = [search_url(server, "重庆", page=page) for page in range(1, 13)]
            assert set(pool.map(status_of, urls)) == {200}
        assert server.process.poll() is None


@pytest.mark.slow
def test_every_worker_serves_a_rebuilt_index(tmp_path):
    from search import NewsIndex

    old = [{"id": f"old-{i}", "title": f"旧闻{i}", "body": f"朝天门码头第{i}条旧闻。"} for i in range(20)]
    new = [{"id": f"new-{i}", "title": f"新闻{i}", "body": f"朝天门码头第{i}条新闻。"} for i in range(30)]
    index = tmp_path / "ix"
    NewsIndex.rebuild([write_jsonl(tmp_path / "old.jsonl", old)], index)
    with serve("--index", str(index), "--workers", "2", "--threads", "2") as server:
        pids = wait_for_workers(server, 2)
        NewsIndex.rebuild([write_jsonl(tmp_path / "new.jsonl", new)], index)
        generation = NewsIndex.open(index).generation
        urls = [search_url(server, "码头", page=1, per_page=50)] * 2 + [server.url + "/healthz"] * 40
        deadline = time.monotonic() + 60
        # Until every worker has answered since the rebuild (each then has the new generation open).
        while not all(generation in open_generations(pid) for pid in pids) and time.monotonic() < deadline:
            with ThreadPoolExecutor(max_workers=8) as pool:
                assert set(pool.map(status_of, urls)) == {200}
        assert all(generation in open_generations(pid) for pid in pids)
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(get_json, [server.url + "/healthz"] * 40))
        assert {(a["documents"], a["generation"]) for a in answers} == {(30, generation)}
        assert wait_for_workers(server, 2) == pids  # no restart
        # Each worker loaded the new generation itself (the master's is the old one).
        assert all(logged(server, pid, f"Opened {generation}") for pid in pids)
        assert not logged(server, server.process.pid, f"Opened {generation}")

        # SIGHUP: the master warms the new generation and forks new workers, which share it.
        server.process.send_signal(signal.SIGHUP)
        newcomers = wait_for_workers(server, 2, other_than=pids)
        assert logged(server, server.process.pid, f"Loaded {generation}")
        assert open_generations(server.process.pid) == set()
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(get_json, [server.url + "/healthz"] * 20))
            found = list(
                pool.map(get_json, [search_url(server, "码头", per_page=50).replace("/search", "/api/search")] * 8)
            )
        assert {(a["documents"], a["generation"]) for a in answers} == {(30, generation)}
        assert all(f["total"] == 30 and {hit["id"][:4] for hit in f["hits"]} == {"new-"} for f in found)
        assert not any(logged(server, pid, f"Opened {generation}") for pid in newcomers)


@pytest.mark.slow
def test_sigterm_lets_a_request_in_flight_finish(tmp_path):
    import itertools

    from search import NewsIndex

    from .helpers import FIXTURES

    # Enough articles for a search of many phrases of common words to take a while.
    records = [json.loads(line) for line in (FIXTURES / "chongqing-200.jsonl").read_text(encoding="utf-8").splitlines()]
    many = [dict(r, id=f"{r['id']}-{k}", body=f"{r['body']} 第{k}版") for k in range(10) for r in records]
    index = tmp_path / "ix"
    NewsIndex.rebuild([write_jsonl(tmp_path / "many.jsonl", many)], index)
    common = ["重庆", "编辑", "记者", "工作", "重庆市", "责任", "进行", "通过", "相关", "开展"]
    slow = " OR ".join(f'"{a} {b}"' for a, b in itertools.islice(itertools.permutations(common, 2), 16))
    finished = {}

    def ask(url):
        with urlopen(url, timeout=60) as response:
            finished["body"] = response.read()
            finished["status"] = response.status
        finished["at"] = time.monotonic()

    with serve("--index", str(index), "--workers", "1", "--threads", "2") as server:
        wait_for_workers(server, 1)
        assert get_json(server.url + "/healthz")["status"] == "ok"  # the worker is warmed up
        with ThreadPoolExecutor(max_workers=1) as pool:
            asked = pool.submit(ask, search_url(server, slow, per_page=50, collapse=0))
            time.sleep(0.3)
            stopped_at = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            asked.result()
        assert finished["status"] == 200 and finished["body"].rstrip().endswith(b"</html>")
        assert finished["at"] > stopped_at  # it was in flight when the server was told to stop
        assert server.process.wait(60) == 0
        assert "Shutting down" in server.stderr() or "Handling signal: term" in server.stderr()


def test_serve_help_names_both_servers():
    result = subprocess.run(
        [sys.executable, "-m", "search.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(),
    )
    assert "--workers" in result.stdout and "waitress" in result.stdout and "gunicorn" in result.stdout


@pytest.mark.slow
def test_gunicorn_workers_search_a_sharded_index_as_the_library_does(tmp_path):
    # The master warms the index before forking; with shards, each worker opens them again
    # (their readers and search threads are the master's own) and answers as the library does.
    from search import NewsIndex

    index = tmp_path / "index"
    source = tmp_path / "news.jsonl"
    write_jsonl(source, [
        {"id": f"n{number}", "title": f"重庆新闻{number}", "body": f"重庆 经济 发展 第{number}篇 火锅"}
        for number in range(60)
    ])
    NewsIndex.rebuild([str(source)], index, shards=3)
    expected = NewsIndex.open(index).search("重庆", page=2)
    with serve("--index", str(index), "--workers", "2", "--threads", "2") as server:
        wait_for_workers(server, 2)
        urls = [f"{server.url}/api/search?q={quote('重庆')}&page=2"] * 12
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(get_json, urls))
    want = (expected.total, [hit.id for hit in expected.hits])
    assert expected.total == 60 and len(expected.hits) == 10
    assert {(a["total"], tuple(h["id"] for h in a["hits"])) for a in answers} == {(want[0], tuple(want[1]))}
