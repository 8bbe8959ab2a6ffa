"""The timeline: matching articles per month, drawn as SVG on the results page; bars filter."""

import re
from datetime import date
from html import unescape
from urllib.parse import parse_qs, urlsplit

from click.testing import CliRunner

from search import timeline
from search.cli import cli
from search.results import FacetValue


def test_month_facet_adds_up_to_the_years(news):
    page = news.search("重庆", facets=True)
    months = page.facets["month"]
    assert [m.value for m in months] == sorted(m.value for m in months)  # oldest first
    by_year = {}
    for month in months:
        by_year[month.value[:4]] = by_year.get(month.value[:4], 0) + month.count
    assert by_year == {y.value: y.count for y in page.facets["year"]}
    some = months[len(months) // 2]
    first, last = timeline.build([some]).bars[0].start, timeline.build([some]).bars[0].end
    assert news.search("重庆", date_from=first, date_to=last, collapse=False).total == some.count


def test_units_and_gaps():
    months = [FacetValue("2020-03", 2), FacetValue("2020-06", 5)]
    chart = timeline.build(months)
    assert chart.unit == "month" and [b.label for b in chart.bars] == ["2020-03", "2020-04", "2020-05", "2020-06"]
    assert [b.count for b in chart.bars] == [2, 0, 0, 5] and chart.highest == 5
    long = timeline.build([FacetValue("2012-01", 1), FacetValue("2020-06", 4), FacetValue("2020-07", 1)])
    assert long.unit == "year" and long.bars[0].label == "2012" and long.bars[-1].count == 5
    # With a date filter: its years, the chosen month among its neighbours, months outside marked.
    chosen = timeline.build(
        long_months := [FacetValue("2012-01", 1), FacetValue("2020-06", 4)], "2020-06-01", "2020-06-30"
    )
    assert chosen.unit == "month" and chosen.bars[0].label == "2020-01" and len(long_months) == 2
    assert [b.label for b in chosen.bars if b.selected] == ["2020-06"]
    assert chosen.bars[5].end == date(2020, 6, 30)
    assert timeline.build([]) is None


def test_results_page_draws_an_svg_whose_bars_filter(client, news):
    page = client.get("/search", query_string={"q": "重庆"}).get_data(as_text=True)
    svg = re.search(r'<svg class="timeline-chart".*?</svg>', page, re.S).group(0)
    # One text names the chart, read once: the figure's caption, which says that it counts dated
    # articles only; each bar's name is its aria-label alone (no <title> read a second time).
    assert "<title" not in svg and "aria-labelledby" not in svg
    assert 'aria-labelledby="timeline-caption"' in page
    caption = re.search(r'<figcaption class="timeline-caption" id="timeline-caption">(.*?)</figcaption>', page, re.S)
    assert f"图中只计注明日期的 {sum(m.count for m in news.search('重庆', facets=True).facets['month']):,} 篇" in caption.group(1)
    bars = re.findall(
        r'<a class="timeline-bar[^"]*"\s+href="([^"]+)"\s+aria-label="([^"]+)" data-period="([^"]+)" data-count="(\d+)"',
        svg,
    )
    facets = news.search("重庆", facets=True).facets
    chart = timeline.build(facets["month"])
    assert [b[2] for b in bars] == [b.label for b in chart.bars]
    assert sum(int(b[3]) for b in bars) == sum(m.count for m in facets["month"])
    href, label, period, count = max(bars, key=lambda b: int(b[3]))
    assert f"{count} 篇" in unescape(label)
    args = parse_qs(urlsplit(unescape(href)).query)
    assert args["from"][0].startswith(period) and args["to"][0].startswith(period)
    # Following the bar filters to its period: a month is then the current bar; a year opens into
    # its months.
    filtered = client.get(unescape(href)).get_data(as_text=True)
    dates = re.findall(r'<p class="hit-meta"><time datetime="([^"]+)"', filtered)
    assert dates and all(d.startswith(period) for d in dates)
    inner = re.search(r'<svg class="timeline-chart".*?</svg>', filtered, re.S).group(0)
    if chart.unit == "month":
        assert 'aria-current="true"' in inner
    else:
        periods = re.findall(r'data-period="([^"]+)"', inner)
        assert periods[0] == f"{period}-01" and all(p.startswith(period) for p in periods)
    assert "<script" not in svg


def test_api_and_cli_months(client, index_dir):
    data = client.get("/api/search", query_string={"q": "重庆"}).json
    assert data["facets"]["month"] and set(data["facets"]["month"][0]) == {"value", "count"}
    assert re.fullmatch(r"\d{4}-\d{2}", data["facets"]["month"][0]["value"])
    text = CliRunner().invoke(cli, ["search", "重庆", "--index", str(index_dir), "--timeline"]).output
    assert "Articles per year:" in text or "Articles per month:" in text
