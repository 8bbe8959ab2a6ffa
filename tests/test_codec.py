"""The index's posting format (search/codec.py): its numbers round-trip, an older index is refused,
and searching gives exactly what the older format (Whoosh's W3) gave on the same articles."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec

from search import IndexNotFound, IndexOutdated, NewsIndex, codec
from search import generations as generations_module
from search.cli import cli as cli_main
from search.evaluate import read_queries
from search.generations import current_generation

from .helpers import write_jsonl

ROOT = Path(__file__).resolve().parents[1]


def test_varints_round_trip():
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            np.arange(300),
            rng.integers(0, 2**32, 500),
            np.array([127, 128, 16383, 16384, 2**21 - 1, 2**21, 2**35, 2**63 - 1]),
        ]
    ).astype(np.int64)
    data = codec.encode_varints(values).tobytes()
    assert codec.decode_varints(data).tolist() == values.tolist()
    assert b"".join(map(codec.uvarint, values.tolist())) == data
    at, found = 0, []
    while at < len(data):
        value, at = codec.read_uvarint(data, at)
        found.append(value)
    assert found == values.tolist()
    assert codec.varint_sizes(values).sum() == len(data)


@pytest.mark.parametrize("with_positions", [True, False])
def test_a_list_of_mixed_blocks_reads_as_its_blocks(with_positions):
    # Blocks of every kind in one list (a few postings in plain Python, many through numpy;
    # frequencies all 1 or not; sections compressed or not), read at once as each block alone.
    rng = np.random.default_rng(19)
    sizes = [1, 256, 5, 256, 17, 256, 2, 100]
    steps = rng.integers(1, 3000, sum(sizes))
    steps[262:518] = 1  # the fourth block: every document, its section compressible
    ids = np.cumsum(steps).tolist()
    data, expected, at = [], [], 0
    for number, size in enumerate(sizes):
        chunk = ids[at : at + size]
        at += size
        most = 1 if number % 2 else 6  # odd blocks: every frequency 1
        positions = [sorted(rng.choice(5000, size=int(rng.integers(1, most + 1)), replace=False).tolist()) for _ in chunk]
        freqs = [len(p) for p in positions]
        data.append(codec.encode_block(chunk, freqs, positions, rng.integers(0, 256, size).tolist()))
        expected.append((chunk, freqs, positions))
    got_ids, got_freqs, gaps = codec.read_list(b"".join(data), with_positions=with_positions)
    assert got_ids.tolist() == [i for chunk, _, _ in expected for i in chunk]
    assert got_freqs.tolist() == [f for _, freqs, _ in expected for f in freqs]
    if with_positions:
        flat, starts = codec.positions_of(got_freqs, gaps)
        assert [flat[s : s + f].tolist() for s, f in zip(starts, got_freqs, strict=True)] == [
            p for _, _, positions in expected for p in positions
        ]
    else:
        assert gaps is None
    assert any(codec._Block(block, 0).docs[2] for block in data)  # some section was compressed
    for empty in codec.read_list(b"", with_positions=True):
        assert empty is not None and not len(empty)


@pytest.mark.parametrize("count", [1, 3, 16, 17, 300])
def test_blocks_round_trip(count):
    rng = np.random.default_rng(count)
    ids = np.cumsum(rng.integers(1, 5000, count)).tolist()
    positions = [sorted(rng.choice(2000, size=int(rng.integers(1, 9)), replace=False).tolist()) for _ in ids]
    freqs = [len(p) for p in positions]
    lbs = rng.integers(0, 256, count).tolist()
    data = b"".join(
        codec.encode_block(ids[at : at + 128], freqs[at : at + 128], positions[at : at + 128], lbs[at : at + 128])
        for at in range(0, count, 128)
    )
    got_ids, got_freqs, gaps = codec.read_list(data, with_positions=True)
    assert got_ids.tolist() == ids
    assert got_freqs.tolist() == freqs
    flat, starts = codec.positions_of(got_freqs, gaps)
    assert [flat[s : s + f].tolist() for s, f in zip(starts, freqs, strict=True)] == positions
    # Whoosh's matcher interface reads the same postings, and skips by block.
    from whoosh.formats import Positions

    matcher = codec.NewsLeafMatcher(data, Positions())
    assert list(matcher.all_ids()) == ids
    matcher.reset()
    seen = []
    while matcher.is_active():
        seen.append((matcher.id(), matcher.weight(), matcher.value_as("positions")))
        matcher.next()
    assert seen == [(i, float(f), p) for i, f, p in zip(ids, freqs, positions, strict=True)]
    matcher.reset()
    matcher.skip_to(ids[-1])
    assert matcher.id() == ids[-1]


def _old_format_copy(root: Path, target: Path) -> Path:
    """A copy of the index at ``root`` whose segment is rewritten by Whoosh's writer in Whoosh's
    own format (W3: the format before this codec), document numbers and sidecars unchanged."""
    shutil.copytree(root, target)
    generation = current_generation(target)
    for entry in generation.iterdir():
        if entry.name.startswith(("MAIN", "_MAIN")):
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    source = whoosh_index.open_dir(str(current_generation(root)))
    old = whoosh_index.create_in(str(generation), source.schema)
    with source.reader() as reader, old.writer(codec=W3Codec()) as writer:
        writer.add_reader(reader)
    # add_reader() adds up the lengths as the length bytes give them back (rounded); Whoosh's
    # writer, given the articles, adds up the exact lengths, as ours does.
    toc = old._read_toc()
    toc.segments[0]._fieldlengths = dict(source._segments()[0]._fieldlengths)
    toc.generation += 1  # a table of contents is never rewritten: the next one is read instead
    toc.write(old.storage, old.indexname)
    source.close()
    return target


@pytest.fixture(scope="module")
def old_format(tmp_path_factory, index_dir) -> Path:
    """The session index rewritten in the format before this codec (read only: copy it to change it)."""
    return _old_format_copy(index_dir, tmp_path_factory.mktemp("old-format") / "old")


def test_old_format_is_refused_in_one_line(old_format):
    old = old_format
    with pytest.raises(IndexOutdated) as raised:
        NewsIndex.open(old)
    assert isinstance(raised.value, IndexNotFound)
    message = str(raised.value)
    assert "\n" not in message and "rebuild" in message
    result = CliRunner().invoke(cli_main, ["search", "重庆", "--index", str(old)])
    assert result.exit_code != 0
    assert "rebuild needed" in result.output and len(result.output.strip().splitlines()) == 1


def test_old_format_is_a_503_on_the_web(old_format):
    from web import create_app

    old = old_format
    client = create_app({"TESTING": True, "INDEX": str(old)}).test_client()
    response = client.get("/search?q=重庆", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert "rebuild" in response.get_data(as_text=True)


def test_update_of_an_old_format_index_rebuilds_it(tmp_path, old_format, sources_dir):
    old = Path(shutil.copytree(old_format, tmp_path / "old"))
    summary = NewsIndex.update([str(sources_dir)], old)
    assert summary.rebuilt
    assert NewsIndex.open(old).search("重庆").total > 0


def _articles(limit: int) -> list[dict]:
    """The first ``limit`` articles of the team's corpus when it is there, else the seeds."""
    corpus = Path(os.environ.get("NEWS_SEARCH_CORPUS") or ROOT.parent / "shared" / "corpus" / "news.jsonl.gz")
    if corpus.exists():
        with gzip.open(corpus, "rt", encoding="utf-8") as handle:
            return [json.loads(line) for line in islice(handle, limit)]
    with open(ROOT / "seeds" / "chongqing-1k.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _queries() -> list[str]:
    evals = Path(os.environ.get("NEWS_SEARCH_EVAL") or ROOT.parent / "shared" / "eval")
    found = []
    for name in ("keyword-queries-dev.tsv", "queries-dev.tsv"):
        if (evals / name).exists():
            found += list(read_queries(evals / name).values())
    return found + [
        "重庆",
        "疫情 防控",
        '"新冠肺炎"',
        '"一区两群"',
        '"疫情防控工作"',
        "重庆 -疫情",
        "title:重庆",
        "source:中新网",
        "经济 OR 金融",
        "(疫情 OR 防控) 学校",
        "什么时候 开学",
        "重慶",
        "gpt4",
    ]


def _page(news: NewsIndex, query: str, **options) -> tuple:
    page = news.search(query, per_page=20, facets=True, **options)
    return (
        page.total,
        [(h.id, h.title, h.snippet, h.date, h.source, h.copies) for h in page.hits],
        [h.score for h in page.hits],
        page.facets,
        page.did_you_mean,
    )


@pytest.mark.slow
def test_same_results_as_the_old_format(tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "articles.jsonl", _articles(2000))
    NewsIndex.rebuild([path], tmp_path / "new")
    old_root = _old_format_copy(tmp_path / "new", tmp_path / "old")
    new = NewsIndex.open(tmp_path / "new", time_limit=None)
    monkeypatch.setattr(generations_module, "check_format", lambda segments: None)  # read W3 as before
    old = NewsIndex.open(old_root, time_limit=None)
    assert not isinstance(old._whoosh().reader().segment().codec(), codec.NewsCodec)
    compared = 0
    for query in _queries():
        for options in ({}, {"sort": "date"}):
            try:
                want = _page(old, query, **options)
            except Exception as error:  # noqa: BLE001 - the same error is expected from both
                with pytest.raises(type(error)):
                    _page(new, query, **options)
                continue
            got = _page(new, query, **options)
            assert got[0] == want[0], query
            assert got[1] == want[1], query
            assert got[2] == pytest.approx(want[2], rel=1e-9), query
            assert got[3:] == want[3:], query
            compared += 1
    assert compared > 20
    first = new.search("重庆", per_page=1).hits
    if first:
        assert new.article(first[0].id) == old.article(first[0].id)
        assert [h.id for h in new.related(first[0].id)] == [h.id for h in old.related(first[0].id)]
