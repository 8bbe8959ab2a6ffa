import json
import signal
import subprocess
import sys
import time

import pytest

from search import IndexLocked, IndexNotFound, NewsIndex, SourceError
from search.generations import current_generation, open_generation, write_lock

from .helpers import child_env, write_jsonl


def articles(prefix, n, word):
    return [
        {"id": f"{prefix}-{i}", "title": f"{word}新闻{i}", "body": f"{word}的第{i}条消息，内容各不相同{prefix}{i}。"}
        for i in range(n)
    ]


@pytest.fixture()
def small_sources(tmp_path):
    first = write_jsonl(tmp_path / "first.jsonl", articles("a", 5, "涪陵"))
    second = write_jsonl(tmp_path / "second.jsonl", articles("b", 7, "万州"))
    return first, second


def test_counts_and_summary(tmp_path, small_sources):
    first, _ = small_sources
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "body": "好的"}\nnot json\n', encoding="utf-8")
    summary = NewsIndex.rebuild([first, bad], tmp_path / "ix")
    assert summary.indexed == 6 and summary.files == 2
    assert [(s.path, s.line) for s in summary.skipped] == [(str(bad), 2)]
    data = summary.to_dict()
    assert data["indexed"] == 6 and data["skipped"][0]["reason"].startswith("bad JSON line")
    assert NewsIndex.open(tmp_path / "ix").doc_count == 6


def test_open_without_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexNotFound, match="rebuild"):
        NewsIndex.open(tmp_path / "nothing")


def test_rebuild_swaps_atomically_for_open_readers(tmp_path, small_sources):
    first, second = small_sources
    ix_dir = tmp_path / "ix"
    NewsIndex.rebuild([first], ix_dir)
    news = NewsIndex.open(ix_dir)
    assert news.search("涪陵").total == 5
    old_index, old_generation = open_generation(ix_dir)
    with old_index.searcher() as held:
        NewsIndex.rebuild([second], ix_dir)
        # A reader that was open keeps its complete old view...
        assert held.doc_count() == 5
        assert len(list(held.documents())) == 5
    # ...and the same NewsIndex object serves the new generation without reopening by hand.
    assert news.search("万州").total == 7
    assert news.search("涪陵").total == 0
    assert current_generation(ix_dir) != old_generation
    assert old_generation.exists(), "the previous generation is kept for readers still on it"


def test_failed_rebuild_keeps_the_served_index(tmp_path, small_sources):
    first, _ = small_sources
    ix_dir = tmp_path / "ix"
    NewsIndex.rebuild([first], ix_dir)
    before = current_generation(ix_dir)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="no readable articles"):
        NewsIndex.rebuild([empty], ix_dir)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{oops\n", encoding="utf-8")
    with pytest.raises(SourceError, match="bad JSON"):
        NewsIndex.rebuild([first, broken], ix_dir, strict=True)
    assert current_generation(ix_dir) == before
    assert NewsIndex.open(ix_dir).search("涪陵").total == 5
    assert not list(ix_dir.glob("build-*"))


def test_second_writer_waits_then_fails_clearly(tmp_path, small_sources):
    first, _ = small_sources
    ix_dir = tmp_path / "ix"
    with write_lock(ix_dir):
        started = time.monotonic()
        with pytest.raises(IndexLocked, match="another rebuild or update"):
            NewsIndex.rebuild([first], ix_dir, lock_timeout=0.5)
        assert time.monotonic() - started >= 0.5
    assert NewsIndex.rebuild([first], ix_dir).indexed == 5


@pytest.mark.slow
def test_killed_rebuild_leaves_the_previous_index_serving(tmp_path, small_sources):
    first, _ = small_sources
    ix_dir = tmp_path / "ix"
    NewsIndex.rebuild([first], ix_dir)
    served = current_generation(ix_dir)
    big = write_jsonl(tmp_path / "big.jsonl", articles("c", 3000, "黔江"))
    # The child says when it is half-way (its first progress report, with the build being written)
    # and waits there to be killed: a kill at a known moment, however fast the machine.
    midway = tmp_path / "midway"
    script = (
        "import pathlib, sys, time\n"
        "from search import NewsIndex\n"
        "def progress(*_):\n"
        "    pathlib.Path(sys.argv[3]).touch()\n"
        "    time.sleep(600)\n"
        "NewsIndex.rebuild([sys.argv[1]], sys.argv[2], on_progress=progress)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(big), str(ix_dir), str(midway)], env=child_env())
    deadline = time.monotonic() + 60
    while not midway.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the rebuild never reported progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert current_generation(ix_dir) == served
    assert NewsIndex.open(ix_dir).search("涪陵").total == 5
    assert list(ix_dir.glob("build-*")), "the killed rebuild left its partial build behind"
    # The next rebuild cleans up after it and succeeds.
    NewsIndex.rebuild([first], ix_dir)
    assert not list(ix_dir.glob("build-*"))
    assert NewsIndex.open(ix_dir).doc_count == 5


def test_meta_records_when_and_what(tmp_path, small_sources):
    first, _ = small_sources
    NewsIndex.rebuild([first], tmp_path / "ix")
    info = NewsIndex.open(tmp_path / "ix").info
    assert info["documents"] == 5 and info["built_at"] and info["sources"] == [str(first)]
    meta = json.loads((current_generation(tmp_path / "ix") / "news-search.json").read_text(encoding="utf-8"))
    assert meta["documents"] == 5
