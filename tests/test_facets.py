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
