"""Facet counts: each value's count is what filtering on that value would find."""

import pytest


@pytest.mark.parametrize("query", ["重庆", "山城", "轨道交通"])
def test_source_counts_are_what_the_source_filter_finds(news, query):
    # Facets count articles; collapse=False lists every article, copies of one story included.
    page = news.search(query, facets=True, collapse=False)
    counts = {facet.value: facet.count for facet in page.facets["source"]}
    assert sum(counts.values()) == page.total
    for value, count in counts.items():
        if value:  # articles without a source cannot be filtered on
            assert news.search(query, source=value, collapse=False).total == count, value


def test_year_counts_are_what_the_date_filter_finds(news):
    page = news.search("重庆", facets=True)
    years = page.facets["year"]
    assert [f.value for f in years] == sorted((f.value for f in years), reverse=True)
    for facet in years:
        found = news.search(
            "重庆", date_from=f"{facet.value}-01-01", date_to=f"{facet.value}-12-31", collapse=False
        ).total
        assert found == facet.count, facet.value


def test_each_facet_ignores_its_own_filter(news):
    everything = news.search("重庆", facets=True, collapse=False)
    one_source = news.search("重庆", source="中国新闻网", facets=True, collapse=False)
    # The source list is the same with a source chosen, so another one can be picked...
    assert one_source.facets["source"] == everything.facets["source"]
    # ...while the years count only that source's articles.
    assert sum(f.count for f in one_source.facets["year"]) <= one_source.total < everything.total
    one_year = news.search("重庆", date_from="2020-01-01", date_to="2020-12-31", facets=True, collapse=False)
    assert one_year.facets["year"] == everything.facets["year"]
    assert sum(f.count for f in one_year.facets["source"]) == one_year.total


def test_sources_most_frequent_first_and_in_to_dict(news):
    page = news.search("重庆", facets=True)
    counts = [f.count for f in page.facets["source"]]
    assert counts == sorted(counts, reverse=True)
    data = page.to_dict()
    assert data["facets"]["source"][0] == {"value": page.facets["source"][0].value, "count": counts[0]}


def test_facets_only_when_asked(news):
    assert news.search("重庆").facets == {}
    assert news.search("重庆").to_dict()["facets"] == {}


def test_overview_counts_every_article(news):
    overview = news.overview()
    assert overview["documents"] == news.doc_count
    assert sum(f.count for f in overview["facets"]["source"]) == news.doc_count
    assert "重庆晨报" in {f.value for f in overview["facets"]["source"]}


def test_facets_across_segments_where_one_has_no_dates(tmp_path):
    """An update adds a segment; Whoosh's multi-segment column reader skips a segment without a
    column file (no article in it has a date) and misreads the others: counts must stay right."""
    import json

    from search import NewsIndex

    src = tmp_path / "src"
    src.mkdir()
    undated = [{"id": f"u{i}", "title": f"黔江新闻{i}", "body": f"黔江的第{i}条消息。"} for i in range(5)]
    (src / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in undated), encoding="utf-8")
    NewsIndex.rebuild([src], tmp_path / "ix")
    dated = {"id": "d1", "title": "黔江快讯", "body": "黔江的新消息。", "date": "2021-03-04", "source": "华龙网"}
    (src / "b.jsonl").write_text(json.dumps(dated, ensure_ascii=False), encoding="utf-8")
    NewsIndex.update([src], tmp_path / "ix")
    page = NewsIndex.open(tmp_path / "ix").search("黔江", facets=True, collapse=False)
    assert page.total == 6
    assert [(f.value, f.count) for f in page.facets["year"]] == [("2021", 1)]
    assert {f.value: f.count for f in page.facets["source"]} == {"": 5, "华龙网": 1}


def _count_document_by_document(searcher, query, start, end, source, region):
    """The facet counts the straightforward way: each matching document's columns read one by one
    (what :func:`search.facets.count` computes with arrays), for comparison."""
    from collections import Counter
    from datetime import datetime

    from search import schema
    from search.facets import EARLIEST, LATEST

    reader = searcher.reader()
    leaves = list(reader.leaf_readers()) or [(reader, 0)]

    def column(name):
        values = []
        for leaf, _ in leaves:
            values.extend(leaf.column_reader(name, translate=True))
        return values

    sources, published, places = column(schema.SOURCE), column(schema.PUBLISHED), column(schema.REGION)
    low, high = start or EARLIEST, end or LATEST
    dated = start is not None or end is not None
    by = {name: Counter() for name in ("source", "region", "year", "month")}
    for docnum in searcher.docs_for_query(query):
        name, when, tags = sources[docnum], published[docnum], places[docnum].split()
        in_dates = not dated or low <= when <= high
        in_source = not source or name == source
        in_region = not region or region in tags
        if in_dates and in_region:
            by["source"][name] += 1
        if in_dates and in_source:
            by["region"].update(tags)
        if when != datetime.min and in_source and in_region:
            by["year"][str(when.year)] += 1
            by["month"][f"{when.year:04d}-{when.month:02d}"] += 1
    most_first = lambda counts: [(v, n) for v, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]  # noqa: E731
    return {
        "source": most_first(by["source"]),
        "region": most_first(by["region"]),
        "year": sorted(by["year"].items(), reverse=True),
        "month": sorted(by["month"].items()),
    }


@pytest.mark.parametrize(
    "query, start, end, source, region",
    [
        ("重庆", None, None, None, None),
        ("重庆", "2020-01-01", "2020-12-31", None, None),
        ("重庆", None, "2020-03-31", "中国新闻网", None),
        ("重庆 发展", "2018-01-01", None, None, "重庆市"),
        ("轨道交通", None, None, "", "重庆市"),
        ("重庆", "2023-07-01", "2023-07-31", "中国新闻网", "四川省"),
        ("山城 OR 火锅", None, None, "no such source", None),
        ("*", None, None, None, None),
    ],
)
def test_counts_from_columns_are_those_read_document_by_document(news, query, start, end, source, region):
    from whoosh import query as wq

    from search import facets
    from search.query import parse
    from search.searcher import to_datetime

    start, end = to_datetime(start), to_datetime(end, end=True)
    with news._whoosh().searcher() as searcher:
        parsed = wq.Every() if query == "*" else parse(query).query.normalize()
        expected = _count_document_by_document(searcher, parsed, start, end, source, region)
        got = facets.count(searcher, parsed, start, end, source, region)
    assert {name: [(f.value, f.count) for f in values] for name, values in got.items()} == expected
    assert expected["source"] or expected["month"]  # something was counted


def test_facets_stop_at_the_time_limit(news):
    from whoosh import collectors
    from whoosh import query as wq

    from search import facets
    from search.timelimit import Budget

    spent = Budget(1e-9)
    with news._whoosh().searcher() as searcher, pytest.raises(collectors.TimeLimit):
        facets.count(searcher, wq.Every(), None, None, None, None, budget=spent)
    assert facets.within(news._searcher(), wq.Every(), (None,) * 4, spent, False)[1] is True
