"""``news-search serve``: the real waitress server in a subprocess."""

import json
import subprocess
import sys
from urllib.request import urlopen

import pytest

from .helpers import child_env, serve, write_jsonl


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

    with serve("--index", str(index), "--threads", "4") as server:
        assert get_json(server.url + "/healthz")["documents"] == 20
        with ThreadPoolExecutor(max_workers=6) as pool:
            during = pool.map(status, range(60))
            NewsIndex.rebuild([write_jsonl(tmp_path / "new.jsonl", new)], index)
            statuses = list(during)
        assert set(statuses) == {200}
        assert get_json(server.url + "/healthz")["documents"] == 30
        found = get_json(server.url + "/api/search?q=%E7%A0%81%E5%A4%B4&per_page=50")
        assert found["total"] == 30 and {hit["id"][:4] for hit in found["hits"]} == {"new-"}
