"""The fast rebuild: the same index as Whoosh's own writer, whatever the number of worker processes.

Whoosh's writer writes its own format (W3: pickled blocks) or, given it, our codec (as an update
does); the index the fast writer makes in our codec must read exactly like either: the same terms,
statistics, postings with their positions, stored fields, lengths and columns."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from search import NewsIndex
from search import writer as writer_module
from search.codec import NewsCodec
from search.generations import current_generation
from search.indexer import document
from search.schema import build_schema
from search.sources import read_sources
from search.writer import SegmentBuilder

from .helpers import child_env, write_jsonl


def _contents(ix) -> dict:
    """Everything a reader sees in an index: terms and their statistics, postings with their
    positions, stored fields, field lengths, columns."""
    with ix.reader() as reader:
        schema = ix.schema
        terms = {}
        for fieldname, text in reader.all_terms():
            info = reader.term_info(fieldname, text)
            postings = reader.postings(fieldname, text)
            listing = []
            while postings.is_active():
                listing.append((postings.id(), postings.weight(), postings.value()))
                postings.next()
            terms[(fieldname, text)] = (
                info.doc_frequency(),
                info.weight(),
                info.min_length(),
                info.max_length(),
                info.max_weight(),
                info.min_id(),
                info.max_id(),
                listing,
            )
        count = reader.doc_count_all()
        scorable = [name for name in schema.names() if schema[name].scorable]
        return {
            "count": count,
            "stored": list(reader.all_stored_fields()),
            "terms": terms,
            "lengths": {
                name: ([reader.doc_field_length(d, name) for d in range(count)], reader.field_length(name))
                for name in scorable
            },
            "columns": {
                name: list(reader.column_reader(name))
                for name in schema.names()
                if schema[name].column_type is not None
            },
        }


@pytest.fixture(scope="module")
def documents(sources_dir) -> list[dict]:
    """Whoosh documents of the seed page, 60 real articles and the crafted cases, duplicates out."""
    seen = set()
    docs = []
    for article in read_sources([sources_dir], lambda error: None):
        if article.digest not in seen and article.id not in seen:
            seen.update((article.digest, article.id))
            docs.append(document(article))
    return docs[:61] + docs[-7:]


def _whoosh_write(path, documents, codec=None) -> dict:
    ix = whoosh_index.create_in(str(path), build_schema())
    with ix.writer(codec=codec) as writer:
        for doc in documents:
            writer.add_document(**doc)
    return _contents(whoosh_index.open_dir(str(path)))


@pytest.fixture(scope="module")
def whoosh_written(tmp_path_factory, documents):
    """The same documents written the plain Whoosh way (one writer, add_document, Whoosh's W3 format)."""
    return _whoosh_write(tmp_path_factory.mktemp("whoosh-writer"), documents)


def test_whoosh_writer_through_our_codec_reads_like_w3(tmp_path, documents, whoosh_written):
    """Whoosh's writer through our codec (an update's path) and through its own give the same index."""
    ours = _whoosh_write(tmp_path, documents, NewsCodec())
    assert ours["terms"] == whoosh_written["terms"]
    assert ours == whoosh_written


@pytest.mark.parametrize(
    "workers, chunk_chars, parallel_merge, block_limit",
    [
        (1, 10**9, False, None),
        (1, 8_000, False, None),
        (2, 8_000, False, None),
        (2, 8_000, True, None),
        # Blocks of 3 postings: most terms of 68 articles then span several blocks, so the
        # whole-field path (one block a term) and the block-by-block one both write many terms.
        (1, 10**9, False, 3),
    ],
)
def test_same_index_as_whoosh_writer(
    tmp_path, documents, whoosh_written, workers, chunk_chars, parallel_merge, block_limit, monkeypatch
):
    if parallel_merge:  # the merge shared with a child process, as for a large rebuild
        monkeypatch.setattr(writer_module, "PARALLEL_MERGE_TERMS", 0)
    if block_limit is not None:
        monkeypatch.setattr(writer_module, "_BLOCK_LIMIT", block_limit)
    with SegmentBuilder(tmp_path, build_schema(), workers=workers, chunk_chars=chunk_chars) as builder:
        for doc in documents:
            builder.add(doc)
        assert builder.finish() == whoosh_written["count"]
    written = _contents(whoosh_index.open_dir(str(tmp_path)))
    assert written["stored"] == whoosh_written["stored"]
    assert written["lengths"] == whoosh_written["lengths"]
    assert written["columns"] == whoosh_written["columns"]
    assert written["terms"].keys() == whoosh_written["terms"].keys()
    assert written["terms"] == whoosh_written["terms"]
    assert not (tmp_path / "chunks").exists(), "chunk files are removed once merged"


QUERIES = ["重庆", "重庆 轨道交通", '"一区两群"', "三峡", "疫情 防控 措施", "涪陵 贷款", "source:华龙网"]


@pytest.mark.slow
def test_parallel_rebuild_serves_the_same_results(tmp_path, sources_dir):
    NewsIndex.rebuild([sources_dir], tmp_path / "one", workers=1)
    summary = NewsIndex.rebuild([sources_dir], tmp_path / "two", workers=2, chunk_chars=30_000)
    one, two = NewsIndex.open(tmp_path / "one"), NewsIndex.open(tmp_path / "two")
    assert one.doc_count == two.doc_count == summary.indexed
    for query in QUERIES:
        for sort in ("relevance", "date"):
            a, b = one.search(query, per_page=20, sort=sort), two.search(query, per_page=20, sort=sort)
            assert [(h.id, h.score, h.snippet) for h in a.hits] == [(h.id, h.score, h.snippet) for h in b.hits]
            assert a.total == b.total
    assert one.article("case-bank") == two.article("case-bank")


def _processes_with(marker: str) -> list[int]:
    """Processes whose environment holds ``marker`` (the workers of a rebuild started with it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_killed_parallel_rebuild_keeps_serving_and_leaves_no_workers(tmp_path, sources_dir):
    ix_dir = tmp_path / "ix"
    NewsIndex.rebuild([sources_dir], ix_dir, workers=1)
    served = current_generation(ix_dir)
    records = [
        {
            "id": f"big-{i}",
            "title": f"黔江新闻{i}",
            "body": f"黔江区第{i}条消息，山城重庆的发展新闻内容各不相同{i}。" * 20,
        }
        for i in range(4000)
    ]
    big = write_jsonl(tmp_path / "big.jsonl", records)
    marker = f"NEWS_SEARCH_TEST_{uuid.uuid4().hex}"
    script = "import sys; from search import NewsIndex; NewsIndex.rebuild([sys.argv[1]], sys.argv[2], workers=2, chunk_chars=50_000)"
    env = dict(child_env(), **{marker: "1"})
    proc = subprocess.Popen([sys.executable, "-c", script, str(big), str(ix_dir)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(ix_dir.glob("build-*/chunks/chunk-*")):
        time.sleep(0.05)
    assert list(ix_dir.glob("build-*/chunks/chunk-*")), "the workers wrote chunks"
    assert len(_processes_with(marker)) >= 2, "the rebuild runs worker processes"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert current_generation(ix_dir) == served
    assert NewsIndex.open(ix_dir).search("涪陵").total > 0
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(marker) == [], "the workers left when their parent died"
    NewsIndex.rebuild([sources_dir], ix_dir, workers=1)
    assert not list(ix_dir.glob("build-*"))


def test_failing_chunk_fails_the_rebuild_and_keeps_the_index(tmp_path, sources_dir):
    ix_dir = tmp_path / "ix"
    NewsIndex.rebuild([sources_dir], ix_dir, workers=1)
    served = current_generation(ix_dir)
    with SegmentBuilder(tmp_path / "build", build_schema(), workers=2, chunk_chars=10) as builder:
        builder.add({"id": "ok", "title": "重庆", "body": "重庆新闻"})
        with pytest.raises(Exception):  # noqa: B017 - whatever the worker raised comes back
            builder.add({"id": "bad", "title": "重庆", "body": "重庆", "no_such_field": "x"})
            builder.finish()
    assert current_generation(ix_dir) == served


def test_merge_shared_with_a_child_writes_the_same_files(tmp_path, documents, monkeypatch):
    def build(folder, threshold):
        monkeypatch.setattr(writer_module, "PARALLEL_MERGE_TERMS", threshold)
        with SegmentBuilder(folder, build_schema(), workers=2, chunk_chars=8_000) as builder:
            for doc in documents:
                builder.add(doc)
            builder.finish()
        return {p.suffix: p.read_bytes() for p in folder.iterdir() if p.suffix in (".pst", ".trm")}

    alone, shared = build(tmp_path / "alone", 10**12), build(tmp_path / "shared", 0)
    assert len(alone) == 2
    assert alone.keys() == shared.keys()
    for name in alone:
        assert alone[name] == shared[name], name


def test_term_table_file_reads_like_whooshs(tmp_path):
    from whoosh.filedb import filetables
    from whoosh.filedb.filestore import FileStorage

    from search.writer import _TermTableWriter

    storage = FileStorage(str(tmp_path))
    items = sorted({f"词{i}".encode() + bytes([i % 7]): b"v" * (i % 13) for i in range(3000)}.items())
    for name, writer_class in (("whoosh", filetables.OrderedHashWriter), ("ours", _TermTableWriter)):
        writer = writer_class(storage.create_file(name))
        writer.extras["fieldmap"] = {"body": 0}
        for key, value in items:
            writer.add(key, value)
        writer.close()
    ours = filetables.OrderedHashReader.open(storage, "ours")
    whooshs = filetables.OrderedHashReader.open(storage, "whoosh")
    assert list(ours.items()) == list(whooshs.items()) == items
    assert ours.extras == whooshs.extras
    for key, value in items:
        assert ours[key] == value
    for missing in (b"", "词".encode(), "词5".encode() + bytes([6]), b"x" * 40):
        assert missing not in ours
    prefix = "词12".encode()
    assert list(ours.keys_from(prefix)) == list(whooshs.keys_from(prefix))
    assert (tmp_path / "ours").stat().st_size < (tmp_path / "whoosh").stat().st_size
