"""Shared fixtures: a real on-disk index built once per session from real and crafted articles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search import NewsIndex

from .feature_cases import CASES as FEATURE_CASES

FIXTURES = Path(__file__).parent / "fixtures"
SEED_PAGE = FIXTURES / "cqrb-2020-06-20.txt"
SEED_TITLE = "市委常委会召开会议 研究部署渝东北三峡库区城镇群和渝东南武陵山区城镇群发展"

#: Articles made for one behaviour each; ids say what they are for.
CASES = [
    {
        "id": "case-all-words",
        "title": "轨道交通建设提速",
        "body": "重庆轨道交通十号线二期开通运营，重庆市民出行更方便。",
        "date": "2023-08-01T10:00:00",
        "source": "重庆晨报",
        "url": "https://example.com/a",
    },
    {
        "id": "case-one-word",
        "title": "",
        "body": "重庆重庆重庆，重庆是一座山城。重庆的火锅很有名。重庆夜景也美。",
        "date": "2023-08-02T10:00:00",
        "source": "重庆晨报",
        "url": "",
    },
    {
        "id": "case-yu-far",
        "title": "川渝合作",
        "body": "川渝两地携手发展，渝中区的企业家来到东北考察冰雪旅游产业。",
        "date": "2019-01-05",
        "source": "华龙网",
        "url": "",
    },
    {
        "id": "case-xss",
        "title": "<script>alert(1)</script>山城快讯",
        "body": '<b>加粗</b> 山城快讯 & 更多 "引号" 内容。',
        "date": "2021-05-01",
        "source": "测试网",
        "url": "javascript:alert(1)",
    },
    {
        "id": "case-bank",
        "title": "",
        "body": "中国农业发展银行重庆市分行向涪陵区发放贷款三亿元。",
        "date": "2022-03-03",
        "source": "华龙网",
        "url": "",
    },
    {
        "id": "case-fullwidth",
        "title": "ＡＩ大会开幕",
        "body": "第二届ＡＩ大会在重庆召开，ＣＰＵ和ＧＰＵ厂商参展。",
        "date": "2021-09-09",
        "source": "华龙网",
        "url": "",
    },
    {
        "id": "case-duplicate",
        "title": "轨道交通建设提速",
        "body": "重庆轨道交通十号线二期开通运营，重庆市民出行更方便。",
        "date": "2023-08-01T10:00:00",
        "source": "另一家报纸",
        "url": "",
    },
]


def write_jsonl(path: Path, records) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sources_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sources")
    (folder / SEED_PAGE.name).write_bytes(SEED_PAGE.read_bytes())
    (folder / "chongqing-200.jsonl").write_bytes((FIXTURES / "chongqing-200.jsonl").read_bytes())
    write_jsonl(folder / "cases.jsonl", CASES)
    write_jsonl(folder / "features.jsonl", FEATURE_CASES)
    return folder


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, sources_dir) -> Path:
    path = tmp_path_factory.mktemp("index")
    NewsIndex.rebuild([sources_dir], path)
    return path


@pytest.fixture(scope="session")
def news(index_dir) -> NewsIndex:
    return NewsIndex.open(index_dir)


def ids(page) -> list[str]:
    return [hit.id for hit in page.hits]


#: The keys of one hit, in the Python API's ``to_dict()``, the CLI's ``--json`` and ``/api/search``.
HIT_FIELDS = {
    "id",
    "title",
    "title_html",
    "snippet",
    "date",
    "source",
    "url",
    "score",
    "regions",
    "copies",
    "other_copies",
}
