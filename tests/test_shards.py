"""A sharded index ranks exactly like one index of the same articles.

The same articles (the first few thousand of the team's corpus when it is there, else the seeds)
are indexed as one index and as 1, 2 and 4 shards; every query of the dev sets and a list of
syntax cases (phrases, NOT, title:, OR, pinyin) is searched in each with filters, date sort,
page 3, copies shown or collapsed, and everything a reader sees is compared.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search import NewsIndex
from search.generations import current_generations
from search.shards import load_order, shard_of
from search.updater import update

from .helpers import SHARDS, write_jsonl
from .test_codec import _queries


def _seen(news: NewsIndex, query: str, **options) -> tuple:
    page = news.search(query, facets=True, **options)
    return (
        page.total,
        page.total_exact,
        page.partial,
        [(h.id, h.title, h.snippet, h.date, h.source, h.regions, h.copies, h.other_copies) for h in page.hits],
        [h.score for h in page.hits],
        page.facets,
        page.did_you_mean,
        page.searched_as,
    )


OPTIONS = (
    {},
    {"sort": "date"},
    {"page": 3},
    {"page": 5, "per_page": 7},
    {"collapse": False},
    {"date_from": "2020-01-01", "date_to": "2022-12-31"},
    {"region": "重庆"},
)


def _compare(built, queries, options_list) -> int:
    one = built["one"]
    compared = 0
    for query in queries:
        for options in options_list:
            want = _seen(one, query, **options)
            for shards in SHARDS:
                got = _seen(built[shards], query, **options)
                where = (query, options, shards)
                assert got[:4] == want[:4], where
                assert got[4] == pytest.approx(want[4], rel=1e-9), where
                assert got[5:] == want[5:], where
            compared += 1
    return compared


@pytest.mark.slow
def test_the_layout_one_current_naming_every_shard(built):
    for shards in SHARDS:
        news = built[shards]
        served = current_generations(news.path)
        assert len(served) == shards == news.shards
        assert (news.path / "CURRENT").read_text(encoding="utf-8").split() == [p.name for p in served]
        places = []
        for number, generation in enumerate(served):
            ix_docs = news._shards[number].reader.doc_count_all() if shards > 1 else news.doc_count
            order = load_order(generation, ix_docs)
            places += order.tolist()
            if shards > 1:
                for docnum in range(0, ix_docs, 97):
                    stored = news._shards[number].reader.stored_fields(docnum)
                    assert shard_of(stored["id"], shards) == number
        assert sorted(places) == list(range(built["one"].doc_count))
        assert news.doc_count == built["one"].doc_count
        assert news.info["documents"] == built["one"].info["documents"]


@pytest.mark.slow
def test_the_dev_queries_rank_the_same(built):
    assert _compare(built, _queries(), ({}, {"page": 3})) > 20


@pytest.mark.slow
def test_filters_sorts_and_deep_pages_rank_the_same(built):
    queries = ["重庆", "疫情 防控", '"新冠肺炎"', "重庆 -疫情", "title:重庆", "(疫情 OR 防控) 学校", "什么时候 开学"]
    assert _compare(built, queries, OPTIONS) == len(queries) * len(OPTIONS)
    sources = [value.value for value in built["one"].overview()["facets"]["source"][:2]]
    assert _compare(built, ["重庆", "经济 发展"], [{"source": s} for s in sources]) == 2 * len(sources)


@pytest.mark.slow
def test_a_ranked_query_is_re_scored_in_the_round_that_searches(built, monkeypatch):
    """A keyword query or a question asks each shard once and is re-scored in the merge; only a
    ranked group inside a larger query gathers its candidates in a round of its own (the
    rankings themselves are compared above)."""
    from search import fanout

    asked = []
    search = fanout.Shard.search
    monkeypatch.setattr(
        fanout.Shard, "search", lambda shard, request, budget: asked.append(request) or search(shard, request, budget)
    )
    cases = {"疫情 防控": 1, "什么时候 开学": 1, "重庆": 1, "重庆 -疫情": 1, "(疫情 OR 防控) 学校": 2}
    for shards in (2, 4):  # (one shard is one index here; served by a cluster, it is asked once)
        news = built[shards]
        for query, rounds in cases.items():
            asked.clear()
            news.clear_cache()
            news.search(query)
            assert len(asked) == shards * rounds, (query, shards)
    asked.clear()
    built[2].search("疫情 防控", page=2)
    assert [request.report for request in asked] == [True, True]


@pytest.mark.slow
def test_the_shard_benchmark_records_each_round(built):
    """tools/bench_shards.py's recorder of the fan-out (run there on a cluster) sees each search
    and each shard's own time."""
    from tools.bench_shards import _Watch

    watch = _Watch()
    try:
        for query in ("疫情 防控", "(疫情 OR 防控) 学校"):
            built[4].clear_cache()
            built[4].search(query)
    finally:
        watch.close()
    assert [len(search["rounds"]) for search in watch.searches] == [4, 8]
    figures = watch.figures(4)
    assert figures["searches"] == 2 and len(figures["each_shard_p50"]) == 4
    assert 0 < figures["slowest_shard"]["p50"] <= figures["fan_out"]["p50"]
    assert figures["overhead"]["p50"] >= 0
    built[4].search("重庆 火锅")
    assert len(watch.searches) == 2  # closed: no longer recorded


@pytest.mark.slow
def test_copies_are_collapsed_across_shards(built):
    """A story whose copies went to different shards is one hit, with every copy listed, and
    the page after it is not short of hits."""
    one, four = built["one"], built[4]
    clusters = one.copies().clusters
    spread = [c for c in clusters if len({shard_of(m.id, 4) for m in c}) > 1]
    assert spread, "no story has copies in two shards: the sample is too small"
    title = one.article(spread[0][0].id).title
    for options in ({}, {"collapse": False}, {"page": 2, "per_page": 3}):
        assert _seen(four, title, **options) == _seen(one, title, **options)


@pytest.mark.slow
def test_articles_related_suggestions_and_overview_are_the_same(built):
    one = built["one"]
    ids = [hit.id for hit in one.search("重庆", per_page=8).hits]
    for shards in SHARDS:
        news = built[shards]
        for article_id in ids:
            assert news.article(article_id) == one.article(article_id)
            got, want = news.related(article_id), one.related(article_id)
            assert [h.id for h in got] == [h.id for h in want]
            assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-9)
        assert news.article("no-such-id") is None and news.related("no-such-id") == ()
        assert news.suggest("重庆 轨") == one.suggest("重庆 轨")
        assert news.overview()["facets"] == one.overview()["facets"]
        assert news.did_you_mean("重庆 火过") == one.did_you_mean("重庆 火过")


@pytest.mark.slow
@pytest.mark.parametrize("shards", (2, 4))
def test_an_updated_sharded_index_ranks_as_one_index_of_its_articles(tmp_path, shards):
    """``index update`` of a sharded index routes removed, changed and new articles to their
    shards: it then ranks like one index rebuilt from the same articles in the order the update
    keeps them (those kept, then the changed and new ones as read). One index *updated* is not the
    reference: its deleted documents still count in its statistics and it re-scores per segment."""
    seeds = Path(__file__).resolve().parent.parent / "seeds" / "chongqing-1k.jsonl"
    records = [json.loads(line) for line in seeds.read_text(encoding="utf-8").splitlines() if line.strip()]
    first, extra = records[:800], records[800:]
    source = write_jsonl(tmp_path / "a.jsonl", first)
    NewsIndex.rebuild([source], tmp_path / "sharded", shards=shards)
    removed = {r["id"] for r in first[10:40]}
    changed = {r["id"] for r in first[100:115]}
    now = [dict(r, title=r["title"] + "（更新）") if r["id"] in changed else r for r in first if r["id"] not in removed]
    write_jsonl(tmp_path / "a.jsonl", now)
    added = write_jsonl(tmp_path / "b.jsonl", extra)
    summary = update([source, added], tmp_path / "sharded", prune=True)
    assert (summary.removed, summary.replaced) == (30, 15) and summary.added > 150
    served = current_generations(tmp_path / "sharded")
    assert len(served) == shards and len({_set(p.name) for p in served}) == 1
    order = [r for r in now if r["id"] not in changed] + [r for r in now if r["id"] in changed] + extra
    NewsIndex.rebuild([write_jsonl(tmp_path / "order.jsonl", order)], tmp_path / "one")
    one = NewsIndex.open(tmp_path / "one", time_limit=None)
    news = NewsIndex.open(tmp_path / "sharded", time_limit=None)
    try:
        assert news.doc_count == one.doc_count == summary.documents
        queries = ["重庆", "疫情 防控", "重庆 -疫情", '"一区两群"', "什么时候 开学", "经济 发展", "轨道交通", "title:重庆"]
        for query in queries:
            for options in ({}, {"page": 3}, {"collapse": False}, {"sort": "date"}, {"region": "重庆"}):
                got, want = _seen(news, query, **options), _seen(one, query, **options)
                assert got[:4] == want[:4], (query, options)
                assert got[4] == pytest.approx(want[4], rel=1e-9), (query, options)
                assert got[5:] == want[5:], (query, options)
        for record in (first[100], extra[0]):
            assert news.article(record["id"]) == one.article(record["id"])
        assert news.article(first[10]["id"]) is None
        assert news.suggest("重庆 轨") == one.suggest("重庆 轨")
        assert news.overview()["facets"] == one.overview()["facets"]
    finally:
        one.close()
        news.close()


def _set(name: str) -> str:
    return name.rsplit("-s", 1)[0]
