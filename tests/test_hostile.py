"""Hostile articles and queries: every page and every JSON answer keeps them as text.

The index holds articles whose titles, bodies, sources, bylines, ids and URLs are script
injection attempts; each page that can show them (results with facets, filters and pages, the
empty result with suggestions, the article page, error pages, the front page, the JSON API) is
parsed as a browser would and checked by :mod:`tests.audit`.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from search import NewsIndex
from web import create_app

from .audit import fragment_problems, page_problems
from .helpers import write_jsonl

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</title><script>alert(1)</script>",
    '<a href="javascript:alert(1)">点我</a>',
    "<iframe src=javascript:alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<style>body{display:none}</style>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "{{7*7}}{% raw %}",
]
BAD_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "https:javascript:alert(1)",
    'https://example.com/"onmouseover="alert(1)',
    "https://example.com/<script>alert(1)</script>",
]


def hostile_articles() -> list[dict]:
    articles = []
    for i, payload in enumerate(PAYLOADS):
        articles.append(
            {
                "id": f"xss-{i}{payload}" if i % 2 else f"xss-{i}",
                "title": f"{payload}山城快讯{i}",
                "body": f"山城快讯 {payload} 正文第{i}段。\n{payload}\n第二段 山城快讯。",
                "date": f"2021-0{i % 9 + 1}-01",
                "source": f"{payload}报" if i % 3 == 0 else "测试网",
                "byline": f"记者 {payload}",
                "url": BAD_URLS[i % len(BAD_URLS)],
            }
        )
    for j, url in enumerate(BAD_URLS):
        articles.append({"id": f"url-{j}", "title": f"链接测试{j}", "body": f"山城快讯 链接测试{j}。", "url": url})
    return articles


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    write_jsonl(folder / "hostile.jsonl", hostile_articles())
    NewsIndex.rebuild([folder], folder / "ix")
    return folder / "ix"


@pytest.fixture(scope="module")
def client(hostile_index):
    return create_app({"TESTING": True, "INDEX": str(hostile_index), "PER_PAGE": 3}).test_client()


def html_of(response) -> str:
    assert response.status_code < 500, response.status_code
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def assert_clean(html: str) -> None:
    problems = page_problems(html)
    assert not problems, problems


def search_urls() -> list[str]:
    """Result pages that show titles, snippets, facets (a hostile source name), active filters and
    page links (three hits a page)."""
    hostile_source = f"{PAYLOADS[0]}报"
    urls = ["/search?q=" + quote(q) for q in ("山城快讯", "链接测试", *PAYLOADS)]
    urls += [
        "/search?q=" + quote("山城快讯") + "&page=2",
        "/search?q=" + quote("山城快讯") + "&sort=date&from=2021-01-01&to=2021-12-31",
        "/search?q=" + quote("山城快讯") + "&source=" + quote(hostile_source),
        "/search?q=" + quote("山城快讯") + "&source=" + quote(PAYLOADS[1]),  # a source with no hits, shown as chosen
        "/search?q=" + quote(f'"{PAYLOADS[1]} 不存在的词" 山城快讯 找不到'),  # empty result with suggestions
    ]
    return urls


@pytest.mark.parametrize("url", search_urls())
def test_result_pages_show_hostile_text_as_text(client, url):
    page = html_of(client.get(url))
    assert_clean(page)


def test_hostile_titles_sources_and_urls_reach_the_page_escaped(client):
    page = html_of(client.get("/search?q=" + quote("山城快讯") + "&per_page=50"))
    assert_clean(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    assert "&amp;lt;script&amp;gt;" in page  # already-escaped text is escaped again, not unescaped
    assert 'data-facet="source" data-value="&lt;script&gt;alert(1)&lt;/script&gt;报"' in page
    pager = html_of(client.get("/search?q=" + quote("山城快讯")))
    assert 'rel="next"' in pager


def test_no_unsafe_url_becomes_a_link(client):
    for j in range(len(BAD_URLS)):
        page = html_of(client.get(f"/article/url-{j}"))
        assert_clean(page)
        assert ("阅读原文" in page) == BAD_URLS[j].startswith("https://example.com/"), BAD_URLS[j]


@pytest.mark.parametrize("i", range(len(PAYLOADS)))
def test_article_pages_show_hostile_text_as_text(client, i):
    article_id = f"xss-{i}{PAYLOADS[i]}" if i % 2 else f"xss-{i}"
    for query in ("", "?q=" + quote("山城快讯"), "?q=" + quote(PAYLOADS[i]), "?q=" + quote(PAYLOADS[i]) + "&page=x"):
        page = html_of(client.get("/article/" + quote(article_id, safe="") + query))
        assert_clean(page)
        assert f"山城快讯{i}" in page


@pytest.mark.parametrize("payload", PAYLOADS)
def test_error_pages_show_hostile_input_as_text(client, payload):
    urls = [
        "/search?q=" + quote(payload) + "&page=" + quote(payload),
        "/search?q=" + quote(payload) + "&from=" + quote(payload),
        "/search?q=" + quote(payload) + "&sort=" + quote(payload),
        "/search?q=" + quote(payload * 60),  # too long
        "/article/" + quote(payload, safe=""),  # 404
        "/" + quote(payload, safe=""),  # 404
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (400, 404)
        assert_clean(html_of(response))


def test_front_page_lists_hostile_sources_as_text(client):
    page = html_of(client.get("/"))
    assert_clean(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;报" in page


@pytest.mark.parametrize("q", ["山城快讯", "链接测试", *PAYLOADS])
def test_json_carries_no_markup_but_the_marks(client, q):
    response = client.get("/api/search?per_page=50&q=" + quote(q))
    assert response.status_code == 200 and response.mimetype == "application/json"
    raw = response.get_data(as_text=True)
    # The JSON writes < > & as \u escapes: the same data, nothing a browser could read as HTML.
    assert "<" not in raw and ">" not in raw and "&" not in raw.replace("\\u0026", "")
    data = json.loads(raw)
    for hit in data["hits"]:
        for fragment in (hit["title_html"], hit["snippet"]):
            assert not fragment_problems(fragment), fragment
    if q == "山城快讯":
        titles = {hit["title"] for hit in data["hits"]}
        assert f"{PAYLOADS[0]}山城快讯0" in titles  # plain text fields stay the text they are


@pytest.mark.parametrize("payload", PAYLOADS)
def test_json_errors_carry_no_markup(client, payload):
    response = client.get("/api/search?q=" + quote(payload) + "&per_page=" + quote(payload))
    assert response.status_code == 400
    raw = response.get_data(as_text=True)
    assert "<" not in raw and ">" not in raw
    assert json.loads(raw)["param"] == "per_page"
