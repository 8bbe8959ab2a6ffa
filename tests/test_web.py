"""The web front end through Flask's test client, on the session's real index."""

from __future__ import annotations

import json
import re
from datetime import datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from search import NewsIndex
from search.cli import cli
from web import create_app
from web.filters import link_url

from .helpers import HIT_FIELDS, SEED_TITLE, ids, write_jsonl


def doc_ids(html: str) -> list[str]:
    """Result ids in page order (from the data-doc-id attributes of the result list)."""
    return re.findall(r'<li class="hit" data-doc-id="([^"]*)"', html)


def facet_counts(html: str, name: str) -> dict[str, int]:
    pattern = rf'data-facet="{name}" data-value="([^"]*)" data-count="(\d+)"'
    return {unescape(value): int(count) for value, count in re.findall(pattern, html)}


def facet_link(html: str, name: str, value: str) -> str:
    item = re.search(rf'data-facet="{name}" data-value="{value}".*?</li>', html, re.S).group(0)
    return links(item)[0]


def links(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', html)]


def text(response) -> str:
    return response.get_data(as_text=True)


# Front page -----------------------------------------------------------------------------------------


def test_front_page_is_a_chinese_search_box(client, news):
    page = text(client.get("/"))
    assert '<html lang="zh-CN">' in page
    box = re.search(r"<input[^>]*id=\"q\"[^>]*>", page, re.S).group(0)
    assert 'name="q"' in box and "autofocus" in box
    assert '<label class="visually-hidden" for="q">' in page
    assert f"已收录 <strong>{news.doc_count:,}</strong> 篇新闻" in page
    assert "重庆晨报" in page  # the sources it holds


def test_assets_are_ours(client):
    page = text(client.get("/"))
    for url in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert not url.startswith(("http:", "https:", "//")), url
    for asset in ("/static/style.css", "/static/app.js", "/static/favicon.svg"):
        assert client.get(asset).status_code == 200


def test_static_files_under_versioned_urls_are_immutable(client, app, tmp_path):
    import hashlib
    from pathlib import Path

    page = text(client.get("/"))
    for name in ("style.css", "app.js", "favicon.svg"):
        url = unescape(re.search(rf'"(/static/{re.escape(name)}\?v=[0-9a-f]+)"', page).group(1))
        body = (Path(app.static_folder) / name).read_bytes()
        assert url.endswith("?v=" + hashlib.sha256(body).hexdigest()[:12])
        response = client.get(url)
        assert response.status_code == 200
        cache = response.headers["Cache-Control"]
        assert "max-age=31536000" in cache and "immutable" in cache and "no-cache" not in cache, cache
        # Without the version, or with a stale one, the file is revalidated: never pinned.
        for other in (f"/static/{name}", f"/static/{name}?v=000000000000"):
            cache = client.get(other).headers["Cache-Control"]
            assert "immutable" not in cache and "no-cache" in cache, (other, cache)


def test_static_version_follows_the_file(tmp_path, index_dir):
    from web import assets

    app = create_app({"TESTING": True, "INDEX": str(index_dir)})
    app.static_folder = str(tmp_path)
    (tmp_path / "style.css").write_text("a {}")
    with app.test_request_context():
        first = assets.static_url("style.css")
        (tmp_path / "style.css").write_text("a { color: red }")
        second = assets.static_url("style.css")
        assert first != second and first.startswith("/static/style.css?v=")
        assert assets.static_url("missing.css") == "/static/missing.css"


def _meta(page: str, name: str) -> str | None:
    found = re.search(rf'<meta name="{name}" content="([^"]*)">', page)
    return unescape(found.group(1)) if found else None


def test_every_page_describes_itself_and_only_content_is_indexed(client, news):
    home = text(client.get("/"))
    assert f"已收录 {news.doc_count:,} 篇新闻" in _meta(home, "description") and _meta(home, "robots") is None
    results = text(client.get("/search", query_string={"q": "重庆"}))
    assert _meta(results, "description").startswith("“重庆”的搜索结果：找到")
    first = news.search("重庆").hits[0].id
    article = text(client.get(f"/article/{first}", query_string={"q": "重庆"}))
    stored = news.article(first)
    assert _meta(article, "description")[:20] == stored.body.replace("\n", " ")[:20]
    assert _meta(article, "robots") is None
    for url, status in [
        ("/search?q=%E9%87%8D%E5%BA%86", 200),
        ("/search/source?q=%E9%87%8D%E5%BA%86", 200),
        ("/search?q=%E9%87%8D%E5%BA%86&page=x", 400),
        ("/no-such-page", 404),
        ("/article/no-such-article", 404),
    ]:
        response = client.get(url)
        assert response.status_code == status, url
        page = text(response)
        assert _meta(page, "robots") == "noindex", url
        assert _meta(page, "description"), url


def test_security_headers(client):
    response = client.get("/search?q=重庆")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# Results --------------------------------------------------------------------------------------------


def test_results_in_library_order_with_marks_and_the_query_in_the_box(client, news):
    response = client.get("/search", query_string={"q": "重庆 轨道交通"})
    assert response.status_code == 200
    page = text(response)
    expected = news.search("重庆 轨道交通")
    assert doc_ids(page) == ids(expected) and len(ids(expected)) == 10
    assert 'value="重庆 轨道交通"' in page
    assert f"找到 <strong>{expected.total:,}</strong> 篇相关新闻" in page and "毫秒" in page
    assert page.count("<mark>") >= 10
    assert "<title>重庆 轨道交通 - " in page


def test_hit_shows_date_source_article_link_and_original(client):
    page = text(client.get("/search?q=轨道交通建设提速"))
    hit = re.search(r'<li class="hit" data-doc-id="case-all-words">.*?</li>', page, re.S).group(0)
    assert "<mark>轨道交通</mark>" in hit
    assert "2023-08-01 10:00" in hit and "重庆晨报" in hit
    hrefs = links(hit)
    assert any(h.startswith("/article/case-all-words?") and "q=" in h for h in hrefs)
    assert "https://example.com/a" in hrefs


def test_phrase_finds_the_seed_page(client, news):
    page = text(client.get('/search?q="一区两群"'))
    first = re.search(r'<li class="hit" data-doc-id="([^"]*)">.*?</li>', page, re.S)
    assert first.group(1) == news.search('"一区两群"').hits[0].id
    assert SEED_TITLE in first.group(0) and "<mark>一区两群</mark>" in first.group(0)


def test_second_page_continues_the_first(client, news):
    first = text(client.get("/search?q=重庆"))
    next_link = re.search(r'<a class="pager-step" rel="next" href="([^"]*)"', first).group(1)
    second = text(client.get(unescape(next_link)))
    assert doc_ids(second) == ids(news.search("重庆", page=2))
    assert not set(doc_ids(first)) & set(doc_ids(second))
    assert '<span class="pager-page is-current" aria-current="page">2</span>' in second
    assert 'rel="prev"' in second and "这是第 2 页" in second


def test_sort_by_date_is_newest_first(client, news):
    page = text(client.get("/search?q=重庆&sort=date"))
    assert doc_ids(page) == ids(news.search("重庆", sort="date"))
    dates = re.findall(r'<p class="hit-meta"><time datetime="([^"]+)"', page)
    assert dates == sorted(dates, reverse=True) and len(dates) == 10
    assert '<span class="sort-option is-current" aria-current="true">最新</span>' in page


def test_source_filter_with_counts_beside_each_value(client, news):
    page = text(client.get("/search?q=重庆"))
    expected = {f.value: f.count for f in news.search("重庆", facets=True).facets["source"]}
    assert facet_counts(page, "source") == expected
    filtered = text(client.get(facet_link(page, "source", "中国新闻网")))
    assert doc_ids(filtered) == ids(news.search("重庆", source="中国新闻网"))
    assert filtered.count('<span class="hit-source">中国新闻网</span>') == len(doc_ids(filtered)) > 0
    assert "来源：中国新闻网" in filtered  # the active filter, removable
    # The other sources stay on offer, with their counts.
    assert facet_counts(filtered, "source") == expected


def test_date_filter(client, news):
    page = text(client.get("/search?q=重庆&from=2020-01-01&to=2020-12-31"))
    found = doc_ids(page)
    assert found == ids(news.search("重庆", date_from="2020-01-01", date_to="2020-12-31"))
    assert found and all(d.startswith("2020-") for d in re.findall(r'<time datetime="([^"]+)"', page))
    assert 'value="2020-01-01"' in page and 'value="2020-12-31"' in page
    years = facet_counts(page, "year")
    # Facets count articles, the total counts stories (copies collapsed).
    articles = news.search("重庆", date_from="2020-01-01", date_to="2020-12-31", collapse=False).total
    assert years["2020"] == articles


def test_new_query_keeps_the_filters_shown(client):
    page = text(client.get("/search?q=重庆&sort=date&source=中国新闻网"))
    form = re.search(r'<form class="search-form" id="search-form".*?</form>', page, re.S).group(0)
    assert '<input type="hidden" name="sort" value="date">' in form
    assert '<input type="hidden" name="source" value="中国新闻网">' in form
    assert 'name="page"' not in form


def test_empty_result_says_so_and_suggests_what_finds_something(client, news):
    page = text(client.get('/search?q="山城快讯重庆"'))
    assert doc_ids(page) == [] and "没有找到与" in page
    suggestion = re.search(r'<ul class="suggestions">.*?</ul>', page, re.S).group(0)
    href = links(suggestion)[0]
    assert parse_qs(urlsplit(href).query)["q"] == ["山城快讯重庆"]
    assert f"{news.search('山城快讯重庆').total:,} 篇" in suggestion
    assert "减少关键词" in page


def test_empty_result_under_filters_offers_to_drop_them(client):
    page = text(client.get("/search?q=轨道交通&source=测试网"))
    assert doc_ids(page) == [] and "不限来源、地区和日期" in page


def test_page_past_the_end(client):
    page = text(client.get("/search?q=轨道交通&page=50"))
    assert doc_ids(page) == [] and "回到第 1 页" in page


def test_blank_query_goes_home(client):
    for url in ("/search", "/search?q=", "/search?q=%20%20"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/"


# Safety ---------------------------------------------------------------------------------------------


def test_html_in_articles_is_escaped_and_unsafe_urls_are_not_links(client):
    page = text(client.get("/search?q=山城快讯"))
    assert doc_ids(page)[0] == "case-xss"
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>加粗</b>" not in page
    assert "javascript:" not in page.lower()
    article = text(client.get("/article/case-xss?q=山城快讯"))
    assert "<script>alert(1)</script>" not in article and "&lt;b&gt;加粗&lt;/b&gt;" in article
    assert "javascript:" not in article.lower() and "<mark>山城快讯</mark>" in article


def test_query_is_escaped_everywhere(client):
    page = text(client.get("/search", query_string={"q": '"><script>alert(1)</script>'}))
    assert "<script>alert(1)</script>" not in page
    assert "&#34;&gt;&lt;script&gt;" in page or "&quot;&gt;&lt;script&gt;" in page


@pytest.mark.parametrize(
    "url, safe",
    [
        ("https://example.com/a?b=1", True),
        ("http://example.com", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("  javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox", False),
        ("//example.com/a", False),
        ("/relative", False),
        ("ftp://example.com", False),
        ("https://", False),
        ("", False),
    ],
)
def test_only_http_urls_become_links(url, safe):
    assert (link_url(url) is not None) is safe


# Bad parameters -------------------------------------------------------------------------------------

BAD = [
    ("page", "abc"),
    ("page", "0"),
    ("page", "-1"),
    ("page", "1.5"),
    ("page", "1001"),
    ("page", "１"),
    ("per_page", "0"),
    ("per_page", "51"),
    ("per_page", "10000000000000000000000"),
    ("per_page", "ten"),
    ("sort", "score"),
    ("from", "2020-13-01"),
    ("from", "yesterday"),
    ("to", "2020/01/01"),
    ("to", "2020-01-01T00:00:00"),
    ("q", "重" * 501),
    ("source", "源" * 201),
]


@pytest.mark.parametrize("param, value", BAD)
def test_bad_parameter_is_a_400_page(client, param, value):
    args = {"q": "重庆", param: value}
    response = client.get("/search", query_string=args)
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = text(response)
    assert '<h1 class="error-message"' in page and "Traceback" not in page
    assert '<html lang="zh-CN">' in page


@pytest.mark.parametrize("param, value", BAD)
def test_bad_parameter_is_a_400_json(client, param, value):
    response = client.get("/api/search", query_string={"q": "重庆", param: value})
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert response.json["param"] == param and response.json["error"]


def test_start_after_end_is_a_400(client):
    response = client.get("/api/search?q=重庆&from=2021-01-01&to=2020-01-01")
    assert response.status_code == 400 and "after" in response.json["error"]
    assert client.get("/search?q=重庆&from=2021-01-01&to=2020-01-01").status_code == 400


def test_query_the_library_refuses_is_a_400(client):
    page = client.get("/search?q=。。")
    assert page.status_code == 400 and "这个查询无法执行" in text(page)
    api = client.get("/api/search?q=。。")
    assert api.status_code == 400 and api.json["error"] == "the query holds no searchable words"


def test_errors_as_json_when_asked(client):
    response = client.get("/search?q=重庆&page=x", headers={"Accept": "application/json"})
    assert response.status_code == 400 and response.json["param"] == "page"
    response = client.get("/article/no-such-article", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.json["status"] == 404


def test_api_needs_a_query(client):
    response = client.get("/api/search")
    assert response.status_code == 400 and response.json["param"] == "q"


def test_unknown_pages_and_methods(client):
    assert client.get("/nowhere").status_code == 404
    assert client.get("/api/nowhere").json["status"] == 404
    response = client.post("/search?q=重庆")
    assert response.status_code == 405 and "不支持这种请求方式" in text(response)


# Article page ---------------------------------------------------------------------------------------


def test_article_page_marks_the_query_and_leads_back(client, news):
    hit = news.search('"一区两群"').hits[0]
    response = client.get(f"/article/{hit.id}", query_string={"q": '"一区两群"', "page": "1", "sort": "date"})
    assert response.status_code == 200
    page = text(response)
    article = news.article(hit.id)
    assert f'<h1 class="article-title">{SEED_TITLE}</h1>' in page
    assert page.count("<mark>一区两群</mark>") >= 1
    assert "2020年6月20日 09:53" in page and article.source in page
    back = next(h for h in links(page) if h.startswith("/search?"))
    assert parse_qs(urlsplit(back).query) == {"q": ['"一区两群"'], "sort": ["date"]}
    # Every paragraph of the body is there.
    assert page.count("<p>") >= len([p for p in article.body.split("\n") if p.strip()])


def test_article_without_query_has_no_marks(client):
    page = text(client.get("/article/case-all-words"))
    assert "<mark>" not in page and "重庆轨道交通十号线二期开通运营" in page
    assert 'href="/"' in page  # back home


def test_article_with_an_unusable_query_still_shows(client):
    response = client.get("/article/case-all-words", query_string={"q": "重" * 600})
    assert response.status_code == 200 and "<mark>" not in text(response)


@pytest.mark.parametrize("article_id", ["no-such-article", "a/b/c", "x" * 300, "%00"])
def test_unknown_article_is_a_404_page(client, article_id):
    response = client.get(f"/article/{article_id}")
    assert response.status_code == 404
    assert "没有找到这篇文章" in text(response) and '<input class="search-input"' in text(response)


# JSON -----------------------------------------------------------------------------------------------


def test_api_is_the_cli_json_plus_facets(client, index_dir):
    args = {"q": "重庆", "page": "2", "per_page": "5", "sort": "date", "from": "2020-01-01", "to": "2023-12-31"}
    api = client.get("/api/search", query_string=args).json
    result = CliRunner().invoke(
        cli,
        ["search", "重庆", "--index", str(index_dir), "--page", "2", "--limit", "5", "--sort", "date"]
        + ["--from", "2020-01-01", "--to", "2023-12-31", "--json"],
    )
    assert result.exit_code == 0
    from_cli = json.loads(result.output)
    api.pop("took_ms"), from_cli.pop("took_ms")
    assert api == from_cli
    assert set(api["hits"][0]) == HIT_FIELDS
    assert api["facets"]["source"] and {"value", "count"} == set(api["facets"]["source"][0])
    assert datetime.fromisoformat(api["hits"][0]["date"]).year >= 2020


def test_api_source_filter(client, news):
    data = client.get("/api/search?q=重庆&source=重庆晨报").json
    assert [h["id"] for h in data["hits"]] == ids(news.search("重庆", source="重庆晨报"))
    assert {h["source"] for h in data["hits"]} == {"重庆晨报"}


def test_healthz(client, news):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok" and response.json["documents"] == news.doc_count
    assert datetime.fromisoformat(response.json["built_at"]).year >= 2024


# Configuration and the index's lifecycle ------------------------------------------------------------


def test_configuration_from_the_environment(monkeypatch, index_dir):
    monkeypatch.setenv("NEWS_SEARCH_INDEX", str(index_dir))
    monkeypatch.setenv("NEWS_SEARCH_PER_PAGE", "3")
    monkeypatch.setenv("NEWS_SEARCH_SITE_NAME", "山城新闻")
    monkeypatch.setenv("NEWS_SEARCH_PAGE_CACHE", "0")
    app = create_app()
    assert app.config["INDEX"] == str(index_dir) and app.config["PER_PAGE"] == 3
    index = app.extensions["news_search"]
    index.search("重庆")
    assert not index._cache  # nothing kept
    page = text(app.test_client().get("/search?q=重庆"))
    assert len(doc_ids(page)) == 3 and "山城新闻" in page
    # A test config wins over the environment.
    assert create_app({"PER_PAGE": 7}).config["PER_PAGE"] == 7


def test_nothing_is_opened_before_a_request_and_a_missing_index_is_a_503(tmp_path):
    app = create_app({"TESTING": True, "INDEX": str(tmp_path / "none")})  # does not raise
    client = app.test_client()
    assert not (tmp_path / "none").exists()
    home = client.get("/")
    assert home.status_code == 503 and "索引尚未建立" in text(home)
    assert client.get("/healthz").status_code == 503
    assert client.get("/api/search?q=重庆").json["status"] == 503


def test_a_rebuilt_index_is_served_without_a_restart(tmp_path):
    first = write_jsonl(tmp_path / "first.jsonl", [{"id": "old-1", "title": "旧闻", "body": "朝天门码头的旧闻。"}])
    NewsIndex.rebuild([first], tmp_path / "ix")
    client = create_app({"TESTING": True, "INDEX": str(tmp_path / "ix")}).test_client()
    assert doc_ids(text(client.get("/search?q=码头"))) == ["old-1"]
    before = client.get("/healthz").json
    assert "已收录 <strong>1</strong> 篇" in text(client.get("/"))

    records = [
        {"id": "new-1", "title": "新闻一", "body": "朝天门码头迎来新游轮。", "source": "重庆晨报"},
        {"id": "new-2", "title": "新闻二", "body": "解放碑步行街夜景。", "source": "重庆晨报"},
    ]
    NewsIndex.rebuild([write_jsonl(tmp_path / "second.jsonl", records)], tmp_path / "ix")
    assert doc_ids(text(client.get("/search?q=码头"))) == ["new-1"]
    after = client.get("/healthz").json
    assert after["documents"] == 2 and after["generation"] != before["generation"]
    assert "已收录 <strong>2</strong> 篇" in text(client.get("/"))
    assert client.get("/article/old-1").status_code == 404


def test_flask_run_finds_the_app(monkeypatch, index_dir):
    from flask.cli import ScriptInfo

    monkeypatch.setenv("NEWS_SEARCH_INDEX", str(index_dir))
    app = ScriptInfo(app_import_path="web").load_app()  # what `flask --app web run` does
    assert app.test_client().get("/healthz").json["documents"] > 200


def test_templates_never_mark_stored_text_safe():
    from pathlib import Path

    import web

    for template in (Path(web.__file__).parent / "templates").glob("*.html"):
        assert not re.search(r"\|\s*safe\b", template.read_text(encoding="utf-8")), template.name
