"""Losing nothing: only a re-read record is a duplicate; another outlet's copy of a story is indexed,
grouped with the others and collapsed into one hit; a record with a title and no body is indexed."""

from __future__ import annotations

import json

import pytest

from search import NewsIndex, copies
from search.indexer import Distinct
from search.sources import Article

from .helpers import write_jsonl

STORY = (
    "新华社重庆6月18日电 记者从重庆市交通运输委员会获悉，重庆轨道交通18号线北段18日正式开通运营，"
    "线路自跳磴站至富华路站，全长约29公里，设车站19座。开通后，大渡口、九龙坡、南岸等区的居民前往主城核心区"
    "的通勤时间将缩短约20分钟。据介绍，18号线采用全自动运行系统，最高运行速度每小时100公里，"
    "早晚高峰行车间隔约6分钟。市交通运输委员会表示，今年全市还将有多条轨道交通线路建成投用。"
)
# 华龙网's copy: one word changed.
CHANGED = STORY.replace("正式开通运营", "开通运营")

NEWS = [
    {
        "id": "xinhua-1",
        "title": "重庆轨道交通18号线北段开通运营",
        "body": STORY,
        "source": "新华网",
        "url": "http://www.news.cn/local/2024-06/18/c_1.htm",
        "date": "2024-06-18 10:00",
    },
    {
        "id": "cqrb-1",
        "title": "轨道交通18号线北段今日开通",
        "body": STORY,
        "source": "重庆日报",
        "url": "https://www.cqrb.cn/content/2024-06/18/content_1.htm",
        "date": "2024-06-18 11:30",
    },
    {
        "id": "cqnews-1",
        "title": "18号线北段开通 通勤缩短20分钟",
        "body": CHANGED,
        "source": "华龙网",
        "url": "https://cq.cqnews.net/html/2024-06/18/content_1.html",
        "date": "2024-06-18 12:00",
    },
]
OUTLETS = {"新华网", "重庆日报", "华龙网"}


@pytest.fixture(scope="module")
def three_outlets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outlets")
    write_jsonl(folder / "a-news.jsonl", NEWS)
    # The same export read twice (a copy of the file in another folder) is a re-read: duplicates.
    write_jsonl(folder / "b-again.jsonl", NEWS[:2])
    # A photo page: a headline, no text.
    write_jsonl(
        folder / "c-photos.jsonl",
        [
            {"id": "photo-1", "title": "图集：嘉陵江畔晚霞满天", "body": "", "source": "上游新闻", "date": "2024-06-19"},
            {"id": "nothing", "title": "", "body": "  "},
        ],
    )
    index = tmp_path_factory.mktemp("outlets-index")
    summary = NewsIndex.rebuild([folder], index)
    return folder, index, summary


def test_every_outlet_is_indexed_and_only_rereads_are_duplicates(three_outlets):
    _, _, summary = three_outlets
    assert summary.indexed == 4  # three outlets and the photo page
    assert summary.duplicates == 2  # the file read again
    assert [(s.reason, s.line) for s in summary.skipped] == [("empty record: no title and no article text", 2)]


def test_three_outlets_are_one_hit_naming_the_other_two(three_outlets):
    _, index, _ = three_outlets
    news = NewsIndex.open(index)
    page = news.search("轨道交通18号线")
    assert page.total == 1 and len(page.hits) == 1
    hit = page.hits[0]
    assert hit.copies == 2
    assert {c.source for c in hit.other_copies} | {hit.source} == OUTLETS
    every = news.search("轨道交通18号线", collapse=False)
    assert {h.source for h in every.hits} == OUTLETS and every.total == 3


def test_the_exact_copy_is_found_with_its_own_source_url_and_date(three_outlets):
    _, index, _ = three_outlets
    news = NewsIndex.open(index)
    page = news.search("轨道交通18号线", source="重庆日报")
    assert [h.id for h in page.hits] == ["cqrb-1"]
    hit = page.hits[0]
    assert hit.url == NEWS[1]["url"] and hit.date.hour == 11
    assert {c.source for c in hit.other_copies} == {"新华网", "华龙网"}


def test_a_title_only_record_is_found_by_its_title(three_outlets):
    _, index, _ = three_outlets
    news = NewsIndex.open(index)
    page = news.search("嘉陵江 晚霞")
    assert [h.id for h in page.hits] == ["photo-1"]
    assert page.hits[0].source == "上游新闻" and page.hits[0].title == "图集：嘉陵江畔晚霞满天"


def test_the_article_page_of_a_title_only_record(three_outlets):
    from web import create_app

    _, index, _ = three_outlets
    client = create_app({"TESTING": True, "INDEX": str(index)}).test_client()
    response = client.get("/article/photo-1")
    assert response.status_code == 200
    assert "图集：嘉陵江畔晚霞满天" in response.get_data(as_text=True)
    listed = client.get("/api/search?q=晚霞")
    assert listed.status_code == 200 and json.loads(listed.data)["hits"][0]["id"] == "photo-1"


def test_identical_bodies_land_in_one_cluster():
    articles = [(n, STORY, None) for n in range(4)]
    assert copies.find_clusters(articles) == [[0, 1, 2, 3]]


def test_distinct_rules():
    distinct = Distinct()

    def article(id_, body, url=""):
        return Article(id=id_, title="t", body=body, url=url)

    assert distinct.admit(article("a", STORY, "http://x.cn/1")) is not None
    assert distinct.admit(article("a", STORY, "http://x.cn/1")) is None  # the same record again
    assert distinct.admit(article("url-b", STORY, "HTTP://X.CN/1#top")) is None  # the same URL and text
    assert distinct.admit(article("b", STORY, "http://y.cn/1")).id == "b"  # a copy elsewhere
    assert distinct.admit(article("c", STORY)).id == "c"  # a copy without a URL
    renamed = distinct.admit(article("a", CHANGED))  # another article under a taken id
    assert renamed is not None and renamed.id.startswith("a-")
    assert distinct.duplicates == 2


def test_update_adds_a_new_outlets_copy_and_skips_a_reread(three_outlets, tmp_path):
    folder, index, _ = three_outlets
    work = tmp_path / "index"
    NewsIndex.rebuild([folder], work)
    extra = tmp_path / "more.jsonl"
    write_jsonl(
        extra,
        [
            {**NEWS[0], "id": "sohu-1", "source": "搜狐新闻", "url": "https://www.sohu.com/a/1"},
            {**NEWS[1], "id": "cqrb-1-again"},  # 重庆日报's record under another id: the same URL
        ],
    )
    summary = NewsIndex.update([folder, extra], work)
    assert (summary.added, summary.replaced, summary.removed, summary.duplicates) == (1, 0, 0, 3)
    news = NewsIndex.open(work)
    hit = news.search("轨道交通18号线").hits[0]
    assert hit.copies == 3 and "搜狐新闻" in {c.source for c in hit.other_copies} | {hit.source}


def test_identical_short_bodies_are_copies_but_captions_are_not():
    brief = "重庆轨道交通十号线二期开通运营，重庆市民出行更方便。"
    caption = "图片新闻：夜景。"

    def key(n):
        return copies.exact_key(brief if n < 2 else caption, "brief" if n < 2 else "caption")

    articles = [(0, brief, None), (1, brief, None), (2, caption, None), (3, caption, None)]
    assert copies.find_clusters(articles, exact=key) == [[0, 1]]
