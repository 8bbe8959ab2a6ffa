"""The benchmark script runs end to end (on a handful of articles) and writes its JSON."""

import json
import subprocess
import sys

import pytest

from .helpers import FIXTURES, ROOT, child_env


@pytest.mark.slow
def test_benchmark_runs_and_writes_json(tmp_path):
    evals = tmp_path / "eval"
    evals.mkdir()
    (evals / "keyword-queries-dev.tsv").write_text("k1\t重庆 轨道交通\nk2\t疫情\n", encoding="utf-8")
    (evals / "queries-dev.tsv").write_text("q1\t重庆的粮食库存可以满足多久的消费？\n", encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tools.bench", "--n", "25", "--repeats", "1", "--passes", "1"]
    command += ["--baseline", str(ROOT)]  # this checkout as its own baseline: the comparison runs
    command += ["--corpus", str(FIXTURES / "chongqing-200.jsonl"), "--eval", str(evals), "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=600, check=True)
    assert "ours / floor" in done.stdout
    report = json.loads((out / "bench-25.json").read_text(encoding="utf-8"))
    assert report["input"]["articles"] == 25
    assert report["rebuild"]["documents"] == 25 and report["stock-build"]["documents"] == 25
    assert report["floor"]["seconds"] > 0 and report["rebuild"]["seconds"] > 0
    for name in ("keywords", "questions"):
        assert report["queries"][name]["snippets"]["queries"] > 0
        assert report["stock-queries"]["and"][name]["no_snippets"]["p95"] is not None
    assert report["queries"]["rss_mb"] > 0 and report["machine"]["cores"] >= 1
    assert set(report["ratios"]) >= {"rebuild_vs_floor", "stock_vs_rebuild", "index_vs_baseline"}
    assert report["baseline-rebuild"]["documents"] == 25
    assert report["baseline-queries"]["questions"]["snippets"]["queries"] > 0
    assert report["ratios"]["p95_keywords_snippets_vs_baseline"] is not None
    kinds = report["rebuild"]["files_mb"]
    assert {"postings", "terms", "stored"} <= set(kinds)
    assert sum(kinds.values()) == pytest.approx(report["rebuild"]["index_mb"], abs=0.5)
    assert "baseline index MB" in done.stdout


@pytest.mark.slow
def test_serving_benchmark_runs_and_writes_json(tmp_path, index_dir):
    evals = tmp_path / "eval"
    evals.mkdir()
    (evals / "keyword-queries-dev.tsv").write_text("k1\t重庆 轨道交通\nk2\t三峡\n", encoding="utf-8")
    (evals / "queries-dev.tsv").write_text("q1\t重庆的粮食库存可以满足多久的消费？\n", encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tools.bench_serve", "--index", str(index_dir), "--eval", str(evals)]
    command += ["--baseline", "HEAD", "--seconds", "4", "--rounds", "1", "--clients", "2", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=600, check=True)
    assert "2 workers / 1 worker" in done.stdout
    report = json.loads((out / "serve.json").read_text(encoding="utf-8"))
    assert [run["name"] for run in report["runs"]] == ["HEAD (its default serve)", "--workers 1", "--workers 2"]
    for run in report["runs"]:
        assert run["load"]["errors"] == 0
        assert run["one_client"]["page_bytes_max"] > 1000 and run["memory"]["rss_mb"] > 0
    assert sum(run["load"]["requests"] for run in report["runs"]) > 0
    assert len(report["runs"][2]["memory"]["processes"]) == 3  # the master and two workers
    assert report["library"]["p95_ms"] > 0 and report["ratios"]["page_p95_vs_library_p95"] > 0


@pytest.mark.slow
def test_memory_benchmark_measures_each_piece(tmp_path, index_dir):
    out = tmp_path / "pieces.json"
    command = [sys.executable, "-m", "tools.bench_memory", "pieces", "--index", str(index_dir), "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=600, check=True)
    assert "suggestions" in done.stdout and "pinyin table" in done.stdout
    pieces = {row["piece"]: row for row in json.loads(out.read_text(encoding="utf-8"))}
    assert list(pieces)[:3] == ["imports", "segmenter", "open"] and "pypinyin" in pieces
    assert pieces["segmenter"]["held_mb"] > 10  # jieba's dictionaries
    assert all(row["held_mb"] >= -1 for row in pieces.values())
