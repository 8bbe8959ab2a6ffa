"""Hostile queries against the time limit: one budget per search, honest totals.

A search may spend :attr:`NewsIndex.time_limit` seconds; the ranking, phrase matching, counting,
facets and "did you mean" all stop when it is spent, and what was found by then is returned,
flagged ``partial``. Queries that would cost more than any budget (too many phrases) are refused.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import NewsIndex, QueryError, scoring
from search.query import MAX_CLAUSES, parse
from search.timelimit import Budget

LIMIT = 0.05
#: What a search may take beyond its limit: the parse, the page's snippets. Measured as this
#: thread's CPU time, which a busy machine does not stretch (the searches run in this thread).
MARGIN = 0.5


@pytest.fixture(scope="module")
def hurried(index_dir) -> NewsIndex:
    return NewsIndex(index_dir, time_limit=LIMIT, cache_size=0)


@pytest.fixture(scope="module")
def common(news) -> list[str]:
    """The index's most frequent words, as the suggestion data counts them."""
    words = news._suggester().words
    ranked = sorted(zip(words.texts, words.weights, strict=True), key=lambda pair: -pair[1])
    return [text for text, _ in ranked[:12]]


def shapes(words: list[str]):
    word = st.sampled_from(words)
    pair = st.tuples(word, word).map(lambda p: f'"{p[0]} {p[1]}"')
    nonword = st.integers(0, 10**6).map(lambda n: f'"囧{n}烎"')
    field = st.sampled_from(["title", "body", "source"])
    fielded = st.tuples(field, word).map(lambda p: f"{p[0]}:{p[1]}")
    return st.one_of(
        st.tuples(pair, st.integers(2, 80)).map(lambda p: " ".join([p[0]] * p[1])),  # one phrase repeated
        st.lists(pair, min_size=2, max_size=40).map(" ".join),  # many phrases of common words
        st.lists(fielded, min_size=2, max_size=40).map(" ".join),  # many fielded words
        st.lists(nonword, min_size=2, max_size=40).map(" ".join),  # quoted words nobody wrote
        st.lists(word, min_size=2, max_size=100).map(" OR ".join),  # long OR chains
        st.tuples(word, st.integers(1, 100)).map(lambda p: "(" * p[1] + p[0] + ")" * p[1]),  # deep groups
    ).map(lambda q: q[:500])


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_queries_answer_within_the_limit_or_are_refused(hurried, common, data):
    query = data.draw(shapes(common))
    started = time.thread_time()
    try:
        page = hurried.search(query, facets=True)
    except QueryError:
        return
    took = time.thread_time() - started
    assert took < LIMIT + MARGIN, (query, took)
    assert page.partial or page.total_exact or page.total >= len(page.hits)


def test_a_spent_budget_stops_between_phrases(news, common, monkeypatch):
    # Each quoted phrase is matched in three fields; out of time, the ranking stops after the first
    # phrase instead of matching all of them.
    calls = []
    matcher = scoring.Phrase.matcher
    monkeypatch.setattr(scoring.Phrase, "matcher", lambda self, *a, **k: calls.append(self) or matcher(self, *a, **k))
    pairs = [(a, b) for a in common[:4] for b in common[:4] if a != b]
    query = " ".join(f'"{a} {b}"' for a, b in pairs)
    news.clear_cache()
    whole = news.search(query, collapse=False)
    assert not whole.partial and len(calls) >= 3 * len(pairs)
    calls.clear()
    page = news.search(query, collapse=False, page=2, budget=Budget(1e-9))
    assert page.partial and len(calls) <= 3


def test_identical_clauses_are_merged():
    once, many = parse('"重庆 火锅"').query, parse(" ".join(['"重庆 火锅"'] * 30)).query
    assert many == once.with_boost(30.0)
    assert parse(" ".join(["title:重庆"] * 40)).query == parse("title:重庆").query.with_boost(40.0)


def test_too_many_phrases_or_fielded_words_are_refused():
    parse(" ".join(f'"重庆 {n}"' for n in range(MAX_CLAUSES)))
    with pytest.raises(QueryError, match="too many phrases"):
        parse(" ".join(f'"重庆 {n}"' for n in range(MAX_CLAUSES + 1)))
    with pytest.raises(QueryError, match="too many phrases"):
        parse(" ".join(f"title:词{n}" for n in range(MAX_CLAUSES + 1)))


def test_did_you_mean_shares_the_budget(news):
    assert news.did_you_mean("沙平坝") == "沙坪坝"
    assert news.did_you_mean("沙平坝", budget=Budget(1e-9)) is None


def test_totals_are_counted_under_a_filter_a_phrase_or_a_not(news):
    unknown = news.search("重庆", source="没有这个来源")
    assert unknown.total == 0 and unknown.total_exact and not unknown.hits
    nothing = news.search("重庆 -重庆")
    assert nothing.total == 0 and nothing.total_exact
    counts = {v.value: v.count for v in news.search("重庆", facets=True, collapse=False).facets["source"]}
    source, articles = max(((v, n) for v, n in counts.items() if v), key=lambda item: item[1])
    filtered = news.search("重庆", source=source, collapse=False)
    assert filtered.total_exact and filtered.total == articles
    last = news.search("重庆", source=source, collapse=False, page=filtered.pages)
    assert last.hits


# The web: numbers, totals and headers ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["page", "per_page"])
@pytest.mark.parametrize("digits", [7, 4_300, 4_301, 50_000])
def test_absurd_whole_numbers_are_a_400(client, name, digits):
    for path in ("/search", "/api/search"):
        response = client.get(path, query_string={"q": "重庆", name: "9" * digits})
        assert response.status_code == 400, (path, digits)
    assert client.get("/api/suggest", query_string={"q": "重", "limit": "9" * digits}).status_code == 400


def test_an_unknown_source_is_the_nothing_found_page(client):
    page = client.get("/search", query_string={"q": "重庆", "source": "不存在"}).get_data(as_text=True)
    assert "没有找到与 <q>重庆</q> 相关的新闻" in page
    assert 'class="summary"' not in page and "已经没有结果了" not in page
    data = client.get("/api/search", query_string={"q": "重庆", "source": "不存在"}).get_json()
    assert data["total"] == 0 and data["total_exact"] and not data["hits"]
    assert client.get("/api/search", query_string={"q": "重庆 -重庆"}).get_json()["total"] == 0


def test_a_source_gets_as_many_pages_as_it_has_hits(client, news):
    counts = {v.value: v.count for v in news.search("重庆", facets=True, collapse=False).facets["source"] if v.value}
    source = min((s for s, n in counts.items() if n > 10), key=counts.get)
    data = client.get("/api/search", query_string={"q": "重庆", "source": source, "collapse": "0"}).get_json()
    assert data["total"] == counts[source] and data["total_exact"]
    last = -(-counts[source] // 10)
    page = client.get("/search", query_string={"q": "重庆", "source": source, "collapse": "0"}).get_data(as_text=True)
    assert f'aria-label="第 {last} 页"' in page and f'aria-label="第 {last + 1} 页"' not in page


def test_an_estimated_total_says_about(client, monkeypatch):
    from search import timelimit

    monkeypatch.setattr(timelimit, "EXACT_COUNT_LIMIT", 5)
    page = client.get("/search", query_string={"q": "重庆 新闻 发展", "collapse": "0", "page": "2"})
    html = page.get_data(as_text=True)
    assert "找到约" in html
    linked = [int(n) for n in re.findall(r'aria-label="第 (\d+) 页"', html)]
    assert linked and max(linked) <= 4  # never the estimate's last page, which may hold no hits


def test_headers_say_what_is_allowed_and_forbid_framing(client):
    response = client.post("/search")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert client.get("/").headers["X-Frame-Options"] == "DENY"


def test_heavy_searches_take_turns():
    """Past a quarter second a search needs one of the process's heavy slots; without one it is
    out of time at once, and a slot given back serves the next one."""
    from search import timelimit

    budgets = [Budget(60) for _ in range(timelimit.HEAVY_SLOTS + 1)]
    for budget in budgets:
        budget.started -= 1  # as if it had been searching for a second
    try:
        held, left_out = budgets[:-1], budgets[-1]
        assert not any(budget.spent for budget in held)
        assert left_out.spent and left_out.spent
        held[0].close()
        with Budget(60) as next_one:
            next_one.started -= 1
            assert not next_one.spent
        assert not Budget(60).spent  # a new search is not heavy yet
    finally:
        for budget in budgets:
            budget.close()
