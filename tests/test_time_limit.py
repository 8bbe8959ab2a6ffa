"""Hostile queries against the time limit: one budget per search, honest totals.

A search may spend :attr:`NewsIndex.time_limit` seconds; the ranking, phrase matching, counting,
facets and "did you mean" all stop when it is spent, and what was found by then is returned,
flagged ``partial``. Queries that would cost more than any budget (too many phrases) are refused.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import NewsIndex, QueryError, scoring
from search.query import MAX_CLAUSES, parse
from search.timelimit import Budget

LIMIT = 0.05
#: What a search may take beyond its limit: the page's snippets, the parse, a busy machine.
MARGIN = 1.0


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
    started = time.monotonic()
    try:
        page = hurried.search(query, facets=True)
    except QueryError:
        return
    took = time.monotonic() - started
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
