"""Light result pages: ten values a facet with a page for the rest, short links, gzip."""

from __future__ import annotations

import gzip
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from web.compress import accepts_gzip
from web.views import FACETS_SHOWN

from .test_web import facet_counts, links, text


def more_link(html: str, name: str) -> str | None:
    found = re.search(rf'<p class="more"><a href="(/search/{name}\?[^"]*)"', html)
    return unescape(found.group(1)) if found else None


def test_results_show_the_ten_most_frequent_values_and_link_to_the_rest(client, news):
    everything = news.search("重庆", facets=True)
    regions = everything.facets["region"]
    assert len(regions) > FACETS_SHOWN  # the test index has enough regions to need "more"
    page = text(client.get("/search?q=重庆"))
    shown = facet_counts(page, "region")
    assert shown == {f.value: f.count for f in regions[:FACETS_SHOWN]}
    href = more_link(page, "region")
    assert href and parse_qs(urlsplit(href).query) == {"q": ["重庆"]}
    assert f"全部{len(regions)}个地区" in page
    # The facet's own page: every value, each a link that filters the results by it.
    full = text(client.get(href))
    assert facet_counts(full, "region") == {f.value: f.count for f in regions}
    last = regions[-1].value
    filtered = [link for link in links(full) if parse_qs(urlsplit(link).query).get("region") == [last]]
    assert filtered and urlsplit(filtered[0]).path == "/search"
    assert "<h1" in full and "返回“重庆”的搜索结果" in full


def test_a_chosen_value_beyond_the_first_ten_stays_in_view(client, news):
    regions = news.search("重庆", facets=True).facets["region"]
    rare = regions[-1].value
    page = text(client.get(f"/search?q=重庆&region={rare}"))
    assert rare in facet_counts(page, "region")
    assert 'aria-current="true"' in page


def test_facet_page_keeps_the_filters_and_marks_the_current_value(client, news):
    source = next(f.value for f in news.search("重庆", facets=True).facets["source"] if f.value)
    page = text(client.get(f"/search/source?q=重庆&source={source}&sort=date"))
    assert re.search(r'aria-current="true" href="[^"]*"', page)
    back = next(link for link in links(page) if "搜索结果" in page and link.startswith("/search?"))
    assert parse_qs(urlsplit(back).query) == {"q": ["重庆"], "source": [source], "sort": ["date"]}


def test_year_page_lists_every_year(client, news):
    years = news.search("重庆", facets=True).facets["year"]
    page = text(client.get("/search/year?q=重庆"))
    assert facet_counts(page, "year") == {f.value: f.count for f in years}


@pytest.mark.parametrize(
    "url, status", [("/search/nosuch?q=重庆", 404), ("/search/region?q=重庆&page=x", 400), ("/search/region", 302)]
)
def test_facet_page_errors(client, url, status):
    assert client.get(url).status_code == status


def test_links_carry_only_parameters_that_differ_from_the_defaults(client):
    page = text(client.get("/search?q=重庆&page=1&per_page=10&sort=relevance&collapse=1"))
    for link in links(page):
        parts = urlsplit(link)
        if parts.path.startswith(("/search", "/article")):
            args = parse_qs(parts.query)
            assert args.get("page", ["2"]) != ["1"], link
            assert "per_page" not in args, link
            assert args.get("sort", ["date"]) == ["date"], link
            assert args.get("collapse", ["0"]) == ["0"], link


def test_pages_and_json_are_gzipped_when_accepted(client):
    plain = client.get("/search?q=重庆")
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    packed = client.get("/search?q=重庆", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    body = gzip.decompress(packed.get_data())
    assert body == plain.get_data() and len(packed.get_data()) < len(body) / 3
    assert int(packed.headers["Content-Length"]) == len(packed.get_data())
    api = client.get("/api/search?q=重庆", headers={"Accept-Encoding": "gzip"})
    assert api.headers["Content-Encoding"] == "gzip" and gzip.decompress(api.get_data()).startswith(b"{")
    css = client.get("/static/style.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip" and b"facet" in gzip.decompress(css.get_data())
    # Refused (q=0), or not text: sent as it is.
    assert "Content-Encoding" not in client.get("/search?q=重庆", headers={"Accept-Encoding": "gzip;q=0"}).headers
    assert "Content-Encoding" not in client.get("/static/favicon.svg", headers={"Accept-Encoding": "identity"}).headers


@pytest.mark.parametrize(
    "header, accepted",
    [
        ("gzip", True),
        ("GZIP;q=0.5", True),
        ("gzip;q=0", False),
        ("*", True),
        ("*;q=0", False),
        ("br", False),
        ("", False),
        ("gzip;q=x", False),
        ("br, *;q=0.1", True),
        ("*, gzip;q=0", False),
    ],
)
def test_accept_encoding(header, accepted):
    assert accepts_gzip(header) is accepted


def test_result_pages_are_light(client):
    for query in ("重庆", "发展", "重庆 OR 经济 OR 交通"):
        for extra in ("", "&collapse=0", "&page=2"):
            body = client.get(f"/search?q={query}{extra}").get_data()
            assert len(body) <= 60_000, (query, extra, len(body))
