from datetime import date, datetime

import pytest

from search import NewsIndex, QueryError

from .helpers import HIT_FIELDS, SEED_TITLE, ids, write_jsonl


def test_quoted_phrase_finds_the_seed_page_with_the_phrase_marked(news):
    page = news.search('"一区两群"')
    assert page.hits[0].title == SEED_TITLE
    assert "<mark>一区两群</mark>" in page.hits[0].snippet


@pytest.mark.parametrize("query", ['"三峡库区城镇群"', '"库区城镇群"', '"渝东南武陵山区城镇群"', "三峡库区城镇群"])
def test_phrases_of_the_seed_page(news, query):
    assert news.search(query).hits[0].title == SEED_TITLE


def test_phrase_needs_adjacent_characters(news):
    found = ids(news.search('"城镇群三峡"'))
    assert found == []


def test_subword_finds_long_word(news):
    assert SEED_TITLE in [h.title for h in news.search("三峡").hits]
    assert "case-bank" in ids(news.search("农业", per_page=50))


def test_yudongbei_does_not_match_scattered_characters(news):
    found = ids(news.search("渝东北", per_page=100))
    assert found[0] != "case-yu-far" and "case-yu-far" not in found
    assert SEED_TITLE in [h.title for h in news.search("渝东北").hits]


def test_all_words_rank_above_one_word_repeated(news):
    found = ids(news.search("重庆 轨道交通", per_page=100))
    assert found.index("case-all-words") < found.index("case-one-word")


def test_documents_with_some_words_still_come_back(news):
    page = news.search("山城 不存在的词语组合", per_page=100)
    assert "case-xss" in ids(page)


def test_full_width_query_matches(news):
    assert ids(news.search("ａｉ大会"))[0] == "case-fullwidth"
    assert "case-fullwidth" in ids(news.search("cpu"))


def test_title_is_the_first_sentence_when_missing(news):
    hit = next(h for h in news.search("火锅").hits if h.id == "case-one-word")
    assert hit.title == "重庆重庆重庆，重庆是一座山城。"


def test_html_in_sources_is_escaped(news):
    hit = news.search("山城快讯").hits[0]
    assert hit.id == "case-xss"
    assert "<script>" not in hit.title_html and "&lt;script&gt;" in hit.title_html
    assert "<b>" not in hit.snippet and "&lt;b&gt;" in hit.snippet
    assert "<mark>山城快讯</mark>" in hit.snippet


def test_an_exact_copy_from_another_outlet_is_indexed_and_collapsed_with_its_twin(news):
    page = news.search("轨道交通", per_page=100)
    found = [h for h in page.hits if h.id in ("case-all-words", "case-duplicate")]
    assert len(found) == 1 and found[0].copies == 1
    assert {found[0].source, *(c.source for c in found[0].other_copies)} == {"重庆晨报", "另一家报纸"}
    assert "case-duplicate" in ids(news.search("轨道交通", per_page=100, collapse=False))


def test_source_filter(news):
    page = news.search("重庆", source="华龙网", per_page=100)
    assert page.total >= 2 and {h.source for h in page.hits} == {"华龙网"}


def test_date_filter_is_inclusive_and_open_ended(news):
    page = news.search("重庆", date_from="2023-08-01", date_to="2023-08-02", per_page=100)
    assert page.hits and all(date(2023, 8, 1) <= h.date.date() <= date(2023, 8, 2) for h in page.hits)
    up_to = news.search("渝中区", date_to=date(2019, 12, 31), per_page=100)
    assert ids(up_to) == ["case-yu-far"]
    assert all(
        h.date and h.date >= datetime(2023, 1, 1)
        for h in news.search("重庆", date_from="2023-01-01", per_page=100).hits
    )


def test_sort_by_date_is_newest_first(news):
    page = news.search("重庆", sort="date", per_page=50)
    dates = [h.date for h in page.hits if h.date]
    assert dates == sorted(dates, reverse=True) and len(dates) > 10


def test_paging_does_not_repeat_or_skip(news):
    first = news.search("重庆", per_page=5)
    second = news.search("重庆", page=2, per_page=5)
    both = news.search("重庆", per_page=10)
    assert ids(first) + ids(second) == ids(both)
    assert first.total == second.total == both.total
    assert news.search("重庆", page=999, per_page=10).hits == ()


def test_boolean_syntax(news):
    with_bank = set(ids(news.search("重庆 AND 贷款", per_page=100)))
    assert "case-bank" in with_bank
    assert "case-bank" not in ids(news.search("贷款 NOT 农业", per_page=100))
    assert "case-bank" not in ids(news.search("贷款 -涪陵", per_page=100))
    either = set(ids(news.search("火锅 OR 贷款", per_page=100)))
    assert {"case-one-word", "case-bank"} <= either


def test_title_field(news):
    found = ids(news.search("title:轨道交通", per_page=100))
    assert found[0] == "case-all-words"
    assert "case-one-word" not in found


@pytest.mark.parametrize(
    "query", ['"unbalanced', "(((重庆", "重庆)))", "title:", "foo:重庆", 'AND "', "重庆^^^", "\x00重庆\x07", "*", "NOT"]
)
def test_malformed_queries_never_raise_anything_but_query_error(news, query):
    try:
        page = news.search(query)
    except QueryError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert page.total >= 0


def test_unknown_field_is_searched_as_words(news):
    assert news.search("foo:重庆").total > 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"query": ""}, "empty query"),
        ({"query": "重" * 501}, "too long"),
        ({"query": "重庆", "page": 0}, "page"),
        ({"query": "重庆", "per_page": 1000}, "per_page"),
        ({"query": "重庆", "sort": "random"}, "sort"),
        ({"query": "重庆", "date_from": "yesterday"}, "not a date"),
        ({"query": "重庆", "date_from": "2024-01-01", "date_to": "2023-01-01"}, "after"),
    ],
)
def test_bad_requests_give_clear_errors(news, kwargs, message):
    with pytest.raises(QueryError, match=message):
        news.search(**kwargs)


def test_article_lookup(news):
    hit = news.search('"一区两群"').hits[0]
    article = news.article(hit.id)
    assert article.title == SEED_TITLE and article.source == "重庆日报"
    assert news.article("no-such-id") is None
    marked = NewsIndex.highlight(article.body, '"一区两群"')
    assert marked.count("<mark>一区两群</mark>") == article.body.count("一区两群")


def test_hit_json_shape(news):
    data = news.search('"一区两群"').to_dict()
    assert set(data) >= {"query", "total", "page", "per_page", "took_ms", "hits"}
    hit = data["hits"][0]
    assert set(hit) == HIT_FIELDS
    assert hit["date"] == "2020-06-20T09:53:00"


def test_snippets_are_deterministic(news):
    first = [h.snippet for h in news.search("重庆 发展").hits]
    assert first == [h.snippet for h in news.search("重庆 发展").hits]
    assert all(s.count("…") <= 6 for s in first)


def test_repeated_query_is_served_from_the_cache(news):
    first = news.search("重庆 火锅")
    again = news.search("重庆 火锅")
    assert again.hits is first.hits and again.total == first.total
    news.clear_cache()
    fresh = news.search("重庆 火锅")
    assert fresh.hits is not first.hits and fresh.hits == first.hits


def test_search_without_snippets_ranks_the_same(news):
    plain = news.search("重庆 轨道交通", snippets=False)
    full = news.search("重庆 轨道交通")
    assert [(h.id, h.score) for h in plain.hits] == [(h.id, h.score) for h in full.hits]
    assert all(h.snippet == "" for h in plain.hits) and any("<mark>" in h.snippet for h in full.hits)
    assert plain.total == full.total and plain.total_exact


def test_cache_follows_a_rebuild(tmp_path):
    source = write_jsonl(tmp_path / "a.jsonl", [{"id": "a1", "title": "万州", "body": "万州新闻"}])
    NewsIndex.rebuild([source], tmp_path / "ix", workers=1)
    news = NewsIndex.open(tmp_path / "ix")
    assert [h.id for h in news.search("万州").hits] == ["a1"]
    write_jsonl(source, [{"id": "a2", "title": "万州", "body": "万州的另一条新闻"}])
    NewsIndex.rebuild([source], tmp_path / "ix", workers=1)
    assert [h.id for h in news.search("万州").hits] == ["a2"]


def test_snippet_fragments_are_joined_by_one_ellipsis():
    from search.highlight import snippet

    body = "开头的话。" * 30 + "三峡库区的新闻。" + "中间的话。" * 40 + "武陵山区的新闻。" + "结尾的话。" * 30
    html = str(snippet(body, {"三峡库区", "武陵山区"}))
    assert "<mark>三峡库区</mark>" in html and "<mark>武陵山区</mark>" in html
    assert html.startswith("…") and html.endswith("…")
    assert html.count("…") == 3 and "… …" not in html


def test_snippet_windows_that_touch_become_one_fragment():
    """Windows snapped to sentence breaks that meet or overlap show as one piece of text: an
    ellipsis only stands where text is left out."""
    import json
    import re
    from html import unescape
    from pathlib import Path

    from search.highlight import snippet

    seeds = Path(__file__).resolve().parent.parent / "seeds" / "chongqing-1k.jsonl"
    bodies = [json.loads(line)["body"] for line in seeds.read_text(encoding="utf-8").splitlines()[:300]]
    # A seed article whose best windows about 重庆 meet at "…全覆盖。此次…".
    body = next(b for b in bodies if "实现重庆主城5G网络全覆盖。此次" in b)
    checked = [body] + bodies[:100]
    for text in checked:
        html = str(snippet(text, {"重庆"}))
        plain = unescape(re.sub(r"</?mark>", "", html)).removeprefix("…").removesuffix("…")
        pieces = plain.split(" … ")
        at = None
        for piece in pieces:
            found = text.find(piece, at or 0)
            assert found >= 0
            assert at is None or found > at, "text is left out between two fragments"
            at = found + len(piece)
    assert "全覆盖。此次" in re.sub(r"</?mark>", "", str(snippet(body, {"重庆"})))


def _all_ids(news, query: str, **options) -> tuple[list[str], int]:
    first = news.search(query, per_page=50, collapse=False, **options)
    listed = [h.id for h in first.hits]
    for number in range(2, (first.total + 49) // 50 + 1):
        listed += [h.id for h in news.search(query, per_page=50, page=number, collapse=False, **options).hits]
    return listed, first.total


@pytest.mark.parametrize(
    ("query", "positive", "negative"), [("火锅 -重庆", "火锅", "重庆"), ("重庆 -火锅", "重庆", "火锅")]
)
def test_not_removes_every_article_matching_the_word(news, query, positive, negative):
    # case-one-word holds both 火锅 and 重庆, and articles numbered before it hold 重庆: Whoosh's
    # AndNotMatcher let it through when the matches were counted or sorted by date.
    expected = set(_all_ids(news, positive)[0]) - set(_all_ids(news, negative)[0])
    for options in ({}, {"sort": "date"}, {"source": "重庆晨报"}):
        listed, total = _all_ids(news, query, **options)
        wanted = (
            expected if not options.get("source") else {i for i in expected if news.article(i).source == "重庆晨报"}
        )
        assert set(listed) == wanted and total == len(listed), options


def test_a_not_query_is_counted_like_its_positive_side(news, monkeypatch):
    # Whoosh estimates a NOT b as a + b matches: a broad b made the total an estimate ("about"
    # every article) though a alone is few enough to count.
    from search import timelimit as module

    alone = news.search("轨道交通", collapse=False)
    assert alone.total_exact and alone.total < news.search("重庆", collapse=False).total
    monkeypatch.setattr(module, "EXACT_COUNT_LIMIT", alone.total)
    news.clear_cache()
    page = news.search("轨道交通 -火锅", collapse=False)
    assert page.total_exact and page.total == len(_all_ids(news, "轨道交通 -火锅")[0])
