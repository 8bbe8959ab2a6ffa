"""Regions: which provinces, cities and 重庆 districts an article is about, and the region filter."""

import json

import pytest
from click.testing import CliRunner

from search import regions
from search.cli import cli

from .helpers import ids

# Tagging ---------------------------------------------------------------------------------------------


def test_gazetteer_has_every_chongqing_district_and_county():
    gaz = regions.gazetteer()
    chongqing = [r.name for r in gaz.regions.values() if r.parent == "50"]
    assert len(chongqing) == 38
    assert {"万州区", "涪陵区", "黔江区", "开州区", "巫山县", "石柱土家族自治县"} <= set(chongqing)
    for region in gaz.regions.values():
        if region.level != "province":
            assert gaz.regions[region.parent].level == "province", region


@pytest.mark.parametrize(
    ("title", "body", "source", "expected"),
    [
        # Short forms and former names count; a district brings its province.
        ("万州：滨江步道开放", "记者从万州获悉，万州滨江步道建成。", "", ("重庆市", "万州区")),
        ("开县新城", "开县是重庆东北部的县，开县人口众多。", "", ("重庆市", "开州区")),
        ("萬州新聞", "萬州區今日發布消息。", "", ("重庆市", "万州区")),
        # A person named 江北; 江北区 of 宁波; 江北区 of 重庆 (told by the source or by other names).
        ("乡村教师", "他叫江北，是一名教师。江北今年三十五岁。", "", ()),
        ("宁波江北区出台新政", "宁波市江北区今天发布通知，江北区将补贴。", "", ("浙江省", "宁波市")),
        ("江北区出台新政", "江北区今天发布通知，江北区将补贴。", "重庆日报", ("重庆市", "江北区")),
        # A doubtful name in the source does not vouch for its own province (宁波 has a 江北区 too).
        ("江北区出台新政", "江北区今天发布通知，江北区将补贴。", "宁波江北区融媒体", ()),
        ("江北区出台新政", "江北区今天发布通知，江北区将补贴。", "", ()),
        (
            "观音桥夜市",
            "江北区观音桥商圈客流大增，渝中区解放碑也一样，江北区将继续。",
            "",
            ("重庆市", "渝中区", "江北区"),
        ),
        # Places listed are not what the article is about, unless it comes back to them.
        (
            "暴雨",
            "潼南、铜梁、荣昌、涪陵等区县出现暴雨，其中铜梁、荣昌出现大暴雨。铜梁区蒲吕镇雨量最大。",
            "",
            ("重庆市", "铜梁区"),
        ),
        # Names that are not the place: 隆重庆祝, 三明治, 北京时间, 河南川菜 (no 南川).
        ("大会隆重庆祝", "会议隆重庆祝建党节，三明治很受欢迎。北京时间6月20日。", "", ()),
        ("河南川菜馆开业", "这家河南川菜馆开在郑州。", "", ("河南省", "郑州市")),
        # A passing mention deep in the body is not what the article is about.
        ("菜价稳定", "本市菜价稳定。" + "蔬菜供应充足。" * 30 + "部分蔬菜来自云南。", "", ()),
    ],
)
def test_tag(title, body, source, expected):
    assert regions.tag(title, body, source) == expected


def test_canonical_names():
    assert regions.canonical("万州") == "万州区"
    assert regions.canonical("重慶") == "重庆市"
    assert regions.canonical("开县") == "开州区"
    assert regions.canonical("不存在的地方") == "不存在的地方"


# The index ------------------------------------------------------------------------------------------


def test_hits_carry_their_regions(news):
    hit = news.search("滨江步道").hits[0]
    assert hit.id == "region-wanzhou" and hit.regions == ("重庆市", "万州区")
    by_id = {h.id: h for h in news.search("江北区", per_page=50, collapse=False).hits}
    assert by_id["region-jiangbei"].regions == ("重庆市", "江北区")
    assert by_id["region-ningbo"].regions == ("浙江省", "宁波市")
    assert news.article("region-person").regions == ()


def test_region_filter_and_short_forms(news):
    found = news.search("步道", region="万州区")
    assert ids(found) == ["region-wanzhou"]
    assert ids(news.search("步道", region="万州")) == ids(found)
    assert news.search("滨江步道", region="涪陵区").total == 0
    # A province includes its districts.
    assert "region-wanzhou" in ids(news.search("步道", region="重庆市", per_page=50))


def test_region_facet_counts_are_what_the_filter_finds(news):
    page = news.search("重庆", facets=True, collapse=False)
    counts = {f.value: f.count for f in page.facets["region"]}
    assert counts["重庆市"] >= counts.get("万州区", 0) > 0
    for value in list(counts)[:6]:
        assert news.search("重庆", region=value, collapse=False).total == counts[value], value
    # The region facet ignores its own filter; the others count within it.
    one = news.search("重庆", region="万州区", facets=True, collapse=False)
    assert one.facets["region"] == page.facets["region"]
    assert sum(f.count for f in one.facets["source"]) == one.total


def test_cli_region(index_dir):
    result = CliRunner().invoke(cli, ["search", "步道", "--index", str(index_dir), "--region", "万州", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [h["id"] for h in data["hits"]] == ["region-wanzhou"]
    assert data["hits"][0]["regions"] == ["重庆市", "万州区"]
    text = CliRunner().invoke(cli, ["search", "步道", "--index", str(index_dir), "--region", "万州"]).output
    assert "regions: 重庆市 万州区" in text


def test_api_and_page_region(client, news):
    data = client.get("/api/search", query_string={"q": "步道", "region": "万州区"}).json
    assert [h["id"] for h in data["hits"]] == ["region-wanzhou"]
    assert {"value": "万州区", "count": 1} in data["facets"]["region"]
    page = client.get("/search", query_string={"q": "重庆"}).get_data(as_text=True)
    assert 'data-facet="region" data-value="重庆市"' in page
    filtered = client.get("/search", query_string={"q": "步道", "region": "万州区"}).get_data(as_text=True)
    assert "地区：万州区" in filtered and 'data-doc-id="region-wanzhou"' in filtered
    assert client.get("/api/search", query_string={"q": "步道", "region": "x" * 300}).status_code == 400
