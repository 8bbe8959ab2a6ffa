"""The ranking behaviours the evaluation numbers rest on (docs/ranking.md), on small crafted indexes."""

import dataclasses

import pytest
from whoosh.filedb.filestore import RamStorage

from search import schema as fields
from search.analysis import segment
from search.query import parse
from search.schema import build_schema
from search.scoring import RANKING

# Unrelated articles, so that the words of the tests are rare (as in a real archive).
FILLER = [
    "市政府召开常务会议，研究部署今年的重点工作。",
    "本市今年粮食总产量再创新高，农民收入稳步增长。",
    "气象台发布暴雨预警，提醒市民注意出行安全。",
    "区教育局组织开展中小学生暑期安全教育活动。",
    "图书馆新馆开放，读者可以在线预约座位。",
    "全市医疗机构推进分级诊疗，群众看病更方便。",
    "体育中心举办全民健身运动会，数千名市民参加。",
    "文化旅游节开幕，各地游客前来观光。",
]


def build(articles):
    """A Whoosh index in memory with the real schema: articles are (id, title, body)."""
    ix = RamStorage().create_index(build_schema())
    with ix.writer() as writer:
        for number, text in enumerate(FILLER):
            writer.add_document(**{fields.ID_FIELD: f"filler-{number}", fields.BODY: text, fields.GRAMS: text})
        for article_id, title, body in articles:
            writer.add_document(
                **{
                    fields.ID_FIELD: article_id,
                    fields.TITLE: title,
                    fields.BODY: body,
                    fields.GRAMS: f"{title}\n{body}" if title else body,
                }
            )
    return ix


def ranked(ix, text, ranking=RANKING, limit=20):
    with ix.searcher() as searcher:
        return [hit[fields.ID_FIELD] for hit in searcher.search(parse(text, ranking).query, limit=limit)]


def test_articles_holding_every_word_come_first():
    ix = build(
        [
            ("one-word", "轨道交通建设提速", "轨道交通新线开通，轨道交通网络加密，轨道交通客流大增。"),
            ("both-words", "", "重庆市民出行选择多，其中轨道交通最受欢迎。"),
        ]
    )
    assert ranked(ix, "重庆 轨道交通")[:2] == ["both-words", "one-word"]


def test_one_chunk_ranks_like_the_words_typed_apart():
    ix = build([("a", "", "重庆轨道交通十号线开通。"), ("b", "", "轨道交通在重庆发展很快。")])
    assert ranked(ix, "重庆轨道交通") == ranked(ix, "重庆 轨道交通")


def test_close_words_rank_above_words_far_apart():
    # The same words in another order: only their distance differs.
    near = "成都建设公园城市，绿道串联社区，居民休闲有了好去处，老人孩子都喜欢来这里散步。"
    far = "成都建设绿道，串联社区，居民休闲有了好去处，老人孩子都喜欢来这里散步，公园城市。"
    assert sorted(s.text for s in segment(near)) == sorted(s.text for s in segment(far))
    ix = build([("far", "", far), ("near", "", near)])
    assert ranked(ix, "成都 公园城市")[:2] == ["near", "far"]
    off = dataclasses.replace(RANKING, proximity=0.0)
    with ix.searcher() as searcher:
        plain = {h[fields.ID_FIELD]: h.score for h in searcher.search(parse("成都 公园城市", off).query)}
        bonus = {h[fields.ID_FIELD]: h.score for h in searcher.search(parse("成都 公园城市").query)}
    assert plain["near"] == pytest.approx(plain["far"])
    # 成都, 公园, 城市: every pair is close in "near"; only 公园-城市 in "far".
    assert bonus["near"] == pytest.approx(plain["near"] * (1 + RANKING.proximity))
    assert bonus["far"] == pytest.approx(plain["far"] * (1 + RANKING.proximity / 3))


def test_only_the_first_page_is_reordered_by_proximity():
    # Proximity refines the order of the best candidates; it does not pull articles up from below.
    articles = [(f"a{n}", "", "成都" + "，城市发展" * n + "，公园城市。") for n in range(1, 25)]
    ix = build(articles)
    off = dataclasses.replace(RANKING, proximity=0.0)
    first = ranked(ix, "成都 公园城市", limit=30)
    assert set(first[: RANKING.proximity_depth]) == set(
        ranked(ix, "成都 公园城市", off, limit=30)[: RANKING.proximity_depth]
    )


def test_minor_words_are_neither_required_nor_enough():
    ix = build(
        [
            ("content", "", "重庆轨道交通运营里程突破五百公里。"),
            ("only-minor", "", "这是什么？这是我们的东西，是的。"),
        ]
    )
    found = ranked(ix, "重庆的轨道交通是什么")
    assert found[0] == "content" and "only-minor" not in found
    # A query of nothing but minor words searches them.
    assert "only-minor" in ranked(ix, "是什么")
    assert parse("重庆的轨道交通是什么").words == frozenset({"重庆", "轨道交通"})


def test_a_query_word_does_not_match_its_parts_apart():
    # 渝东北 is not 东北: dictionary words inside a query word do not find articles on their own.
    ix = build([("whole", "", "研究部署渝东北三峡库区城镇群发展。"), ("apart", "", "渝中区企业家到东北考察。")])
    assert ranked(ix, "渝东北") == ["whole"]


def test_letters_and_digits_of_a_name_find_each_other():
    assert {"gpt", "4"} <= {s.text for s in segment("GPT4发布") if s.sub}
    ix = build([("dash", "", "OpenAI发布GPT-4模型。"), ("joined", "", "OpenAI发布GPT4模型。")])
    assert set(ranked(ix, "gpt4")) == {"dash", "joined"}
    assert set(ranked(ix, "GPT-4")) == {"dash", "joined"}
    ix = build([("dash", "", "OpenAI发布GPT-4模型。"), ("apart", "", "GPT模型有4个版本。")])
    assert ranked(ix, "gpt4") == ["dash"]


def test_when_questions_prefer_articles_stating_a_date():
    undated = "新一代大模型的发布时间已经确定，就在下周。"
    dated = "新一代大模型的发布时间已经确定，就在3月14日。"
    ix = build([("undated", "", undated), ("dated", "", dated)])
    assert parse("大模型发布时间").query.wants == "date"
    assert parse("什么时候发布大模型").query.wants == "date"
    assert parse("大模型 发布").query.wants is None
    assert ranked(ix, "大模型发布时间")[:2] == ["dated", "undated"]
    off = dataclasses.replace(RANKING, answer_boost=0.0)
    with ix.searcher() as searcher:
        boosted = {h[fields.ID_FIELD]: h.score for h in searcher.search(parse("大模型发布时间").query)}
        plain = {h[fields.ID_FIELD]: h.score for h in searcher.search(parse("大模型发布时间", off).query)}
    assert boosted["dated"] == pytest.approx(plain["dated"] * (1 + RANKING.answer_boost))
    assert boosted["undated"] == pytest.approx(plain["undated"])


def test_a_title_adds_to_the_body_without_counting_twice():
    # BM25F: the title's occurrences join the body's before saturation, so a word in the title and
    # the body scores more than in the body alone, but less than two separate matches would.
    body = "武汉持续做好外卖骑手的权益保障工作，外卖骑手有了新保障。"
    ix = build([("both", "外卖骑手权益", body), ("body", "", body), ("title", "外卖骑手权益", "武汉做好各项工作。")])
    with ix.searcher() as searcher:
        scores = {h[fields.ID_FIELD]: h.score for h in searcher.search(parse("外卖骑手").query)}
    assert scores["body"] < scores["both"] < scores["body"] + scores["title"]


def test_hyphen_inside_a_word_is_not_a_not():
    assert "ANDNOT" not in str(parse("2021-2022赛季欧冠冠军").query)
    assert "ANDNOT" in str(parse("贷款 -涪陵").query)
    assert "ANDNOT" not in str(parse("c++ 编程").query)


def test_the_top_of_a_long_list_is_the_same_however_many_are_asked_for():
    articles = [(f"a{n}", "", f"重庆轨道交通第{n}号线" + "，沿线站点" * (n % 7) + "重庆" * (n % 3)) for n in range(300)]
    ix = build(articles)
    with ix.searcher() as searcher:
        query = parse("重庆 轨道交通 站点").query
        top10 = [h[fields.ID_FIELD] for h in searcher.search(query, limit=10)]
        top200 = searcher.search(query, limit=200)
        assert top10 == [h[fields.ID_FIELD] for h in top200][:10]
        assert len(searcher.search(query, limit=10)) == len(top200) == 300


def test_phrases_and_boolean_queries_still_work_beside_ranked_words():
    ix = build([("phrase", "", "推进一区两群协调发展。"), ("loose", "", "一区的工作和两群的工作。")])
    assert ranked(ix, '"一区两群"') == ["phrase"]
    assert ranked(ix, '"一区两群" 发展')[0] == "phrase"
    assert ranked(ix, "一区 NOT 协调") == ["loose"]


def test_ranked_matches_can_be_skipped_to_the_end_under_a_not():
    """Whoosh's AndNotMatcher asks for id() after block skipping ran its positive side out."""
    from whoosh.matching import AndNotMatcher, ListMatcher

    from search.scoring import ArrayMatcher

    positive = ArrayMatcher(list(range(0, 40, 2)), [1.0] * 20)
    matcher = AndNotMatcher(positive, ListMatcher([4, 6]))
    matcher.skip_to_quality(5.0)  # no block reaches 5: the positive side is run out
    assert not matcher.is_active()


@pytest.mark.parametrize("answers", (False, True))
def test_a_shard_reports_the_near_words_of_every_candidate_the_whole_index_may_choose(answers):
    """One-round re-scoring of a sharded index (search.scoring.Reranking.reporting): the
    candidates whose near words a shard reports hold every one that :func:`choose` picks for
    proximity over all shards' reports, whatever the scores (ties included) and answers."""
    import numpy as np

    from search.scoring import Ranking, _best, _may_reach, choose

    ranking = Ranking(answer_depth=30, proximity_depth=5)
    generator = np.random.default_rng(7)
    for _ in range(300):
        shards = int(generator.integers(2, 5))
        reports, reach = [], []
        places = generator.permutation(shards * 60)
        for shard in range(shards):
            size = int(generator.integers(0, 60))
            scores = generator.integers(1, 12, size).astype(float)  # few values: many ties
            keys = places[shard * 60 : shard * 60 + size]
            has = generator.random(size) < 0.4 if answers else np.zeros(size, dtype=bool)
            depth = ranking.answer_depth if answers else ranking.proximity_depth
            top = _best(scores, depth, keys)
            best = list(zip(scores[top].tolist(), keys[top].tolist(), has[top].tolist(), strict=True))
            reports.append({"q": {"words": {"a", "b"}, "best": best, "asks": answers}})
            boost = ranking.answer_boost if answers else 0.0
            chosen = _may_reach(scores[top], keys[top], has[top], boost, ranking.proximity_depth)
            reach.append(set(keys[top][chosen].tolist()))
        plans = choose(reports, ranking)
        picked = [plan["q"][1] for plan in plans]
        assert sum(map(len, picked)) == min(ranking.proximity_depth, sum(len(r["q"]["best"]) for r in reports))
        for near, reported in zip(picked, reach, strict=True):
            assert near <= reported
