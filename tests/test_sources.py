import gzip
import json
from datetime import datetime

import pytest

from search.errors import SourceError
from search.sources import date_from_url, headline, parse_date, read_sources

from .helpers import SEED_PAGE, SEED_TITLE


def read(paths):
    errors = []
    articles = list(read_sources(paths, errors.append))
    return articles, errors


def test_seed_page_metadata():
    (article,), errors = read([SEED_PAGE])
    assert errors == []
    assert article.title == SEED_TITLE
    assert article.published == datetime(2020, 6, 20, 9, 53)
    assert article.source == "重庆日报"
    assert "杨帆" in article.byline and "郭浏婷" in article.byline


def test_seed_page_body_is_the_article_only():
    (article,), _ = read([SEED_PAGE])
    assert article.body.startswith("陈敏尔主持并讲话")
    assert article.body.rstrip().endswith("市有关部门负责人列席。")
    for boilerplate in (
        "当前位置",
        "Copyright",
        "版权所有",
        "渝ICP备",
        "公网安备",
        "邮编",
        "举报电话",
        "023-63891685",
        "同茂大道",
        "编辑:",
        "文|",
    ):
        assert boilerplate not in article.body


def test_page_dump_ids_are_stable_across_runs():
    (first,), _ = read([SEED_PAGE])
    (second,), _ = read([SEED_PAGE])
    assert first.id == second.id and first.id.startswith("text-")


def test_jsonl_records_and_bad_lines(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_text(
        json.dumps(
            {
                "id": "a",
                "title": "标题",
                "body": "正文",
                "date": "2020-03-30T23:37:00",
                "source": "中国新闻网",
                "url": "http://x/1",
            },
            ensure_ascii=False,
        )
        + "\n{not json\n\n"
        + json.dumps(
            {"title": "", "body": "没有标题的文章。第二句。", "date": "", "url": "http://x/2"}, ensure_ascii=False
        )
        + "\n[1, 2]\n",
        encoding="utf-8",
    )
    articles, errors = read([path])
    assert [a.title for a in articles] == ["标题", ""]
    assert articles[0].published == datetime(2020, 3, 30, 23, 37)
    assert articles[1].published is None and articles[1].id.startswith("url-")
    assert [(e.line, e.path) for e in errors] == [(2, str(path)), (5, str(path))]
    assert all(isinstance(e, SourceError) and "\n" not in e.reason for e in errors)


def test_jsonl_gz(tmp_path):
    path = tmp_path / "news.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "z", "title": "压缩", "body": "压缩文件里的文章"}, ensure_ascii=False) + "\n")
    articles, errors = read([path])
    assert [a.id for a in articles] == ["z"] and errors == []


def test_unreadable_page_is_reported_with_its_path(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "junk.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    good = tmp_path / "good.txt"
    good.write_text("重庆新闻\n2020-06-20 09:53 重庆日报\n正文第一段。\n", encoding="utf-8")
    articles, errors = read([tmp_path])
    assert [a.title for a in articles] == ["重庆新闻"]
    assert sorted((e.path, e.reason) for e in errors) == [
        (str(empty), "empty file"),
        (str(binary), "binary file, not text"),
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2020-06-20 09:53", datetime(2020, 6, 20, 9, 53)),
        ("2020年6月20日 9:53", datetime(2020, 6, 20, 9, 53)),
        ("2020/6/20", datetime(2020, 6, 20)),
        ("发布时间：2020-4-1 17:08:00", datetime(2020, 4, 1, 17, 8)),
        ("2023-07-26", datetime(2023, 7, 26)),
        ("2020-02-30", None),
        ("", None),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_parse_date_without_year_uses_context():
    assert parse_date("06-20 09:53", year=2020) == datetime(2020, 6, 20, 9, 53)


def test_headline_falls_back_to_first_sentence():
    assert headline("", "第一句话。第二句话。") == "第一句话。"
    assert headline(" 标题 ", "正文") == "标题"
    assert len(headline("", "长" * 200)) == 60


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2020年06月20日09:53", datetime(2020, 6, 20, 9, 53)),
        ("2020年6月20日 星期六 09:53", datetime(2020, 6, 20, 9, 53)),
        ("2020.06.20", datetime(2020, 6, 20)),
        ("２０２０年６月２０日　９：５３", datetime(2020, 6, 20, 9, 53)),
        ("二〇二〇年六月二十日", datetime(2020, 6, 20)),
        ("二〇一九年十二月三十一日", datetime(2019, 12, 31)),
        ("2020-06-20T09:53:00+08:00", datetime(2020, 6, 20, 9, 53)),
        ("20200620", datetime(2020, 6, 20)),
        (1592617980, datetime(2020, 6, 20, 9, 53)),
        (1592617980000, datetime(2020, 6, 20, 9, 53)),
        ("06-20 09:53", None),  # no year given, none assumed
        ("Copyright 2012-2024", None),
    ],
)
def test_parse_date_more_forms(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://www.chinanews.com/cj/2020/04-01/9144383.shtml", datetime(2020, 4, 1)),
        ("http://gongyi.sohu.com/20120706/n347457739.shtml", datetime(2012, 7, 6)),
        ("http://www.xinhuanet.com/2020-06/20/c_1126137296.htm", datetime(2020, 6, 20)),
        ("http://cq.people.com.cn/n2/2020/0620/c365401-34101112.html", datetime(2020, 6, 20)),
        ("http://www.cq.gov.cn/zwxx/t20200620_123.html", datetime(2020, 6, 20)),
        ("http://gongyi.sohu.com/s2008/sourceoflife/", None),
    ],
)
def test_date_from_url(url, expected):
    assert date_from_url(url) == expected


def test_a_few_bad_bytes_do_not_lose_a_gb18030_file(tmp_path):
    text = SEED_PAGE.read_text(encoding="utf-8")
    data = text.encode("gb18030")
    cut = data.index("会议指出".encode("gb18030"))
    path = tmp_path / "damaged.txt"
    path.write_bytes(data[:cut] + b"\xff" + data[cut:])
    (article,), errors = read([path])
    assert errors == [] and article.title == SEED_TITLE and "\ufffd会议指出" in article.body
