"""``news-search serve``: the real waitress server in a subprocess."""

import json
import subprocess
import sys
from urllib.request import urlopen

from .conftest import write_jsonl
from .server import child_env, serve


def get_json(url: str) -> dict:
    with urlopen(url, timeout=10) as response:
        return json.loads(response.read().decode("utf-8"))


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
            assert response.headers["Server"] == "waitress"
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
