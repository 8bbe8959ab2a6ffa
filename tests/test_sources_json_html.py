"""JSON, JSON Lines with field mapping, and HTML pages."""

import json
from datetime import datetime

import pytest

from search.sources import field_map, parse_field_options, read_sources

from .helpers import FIXTURES

HTML = FIXTURES / "html"


def read(paths, **options):
    errors = []
    articles = list(read_sources(paths, errors.append, **options))
    return articles, errors


def dump(path, data, encoding="utf-8"):
    path.write_bytes(json.dumps(data, ensure_ascii=False).encode(encoding))
    return path


def test_json_object_array_and_wrapped_array(tmp_path):
    one = dump(tmp_path / "one.json", {"headline": "一篇", "content": "正文一。", "pubtime": "2020年6月20日 9:53"})
    many = dump(
        tmp_path / "many.json",
        [
            {
                "title": "甲",
                "text": "正文甲。",
                "publish_time": "2020-06-20 09:53:00",
                "link": "http://cq.people.com.cn/a",
            },
            {"title": "乙", "body": ""},
            {"title": "", "body": " "},
            {"title": "丙", "body": ["第一段。", "第二段。"], "author": ["张三", "李四"], "date": 1592617980},
            "不是对象",
        ],
    )
    wrapped = dump(tmp_path / "wrapped.json", {"code": 0, "data": [{"id": 7, "title": "丁", "content": "正文丁。"}]})
    articles, errors = read([one, many, wrapped])
    assert [(a.title, a.body) for a in articles] == [
        ("一篇", "正文一。"),
        ("甲", "正文甲。"),
        ("乙", ""),  # a headline alone is an article
        ("丙", "第一段。\n第二段。"),
        ("丁", "正文丁。"),
    ]
    assert articles[0].published == datetime(2020, 6, 20, 9, 53)
    assert articles[1].published == datetime(2020, 6, 20, 9, 53) and articles[1].source == "人民网"
    assert articles[3].published == datetime(2020, 6, 20, 9, 53) and articles[3].byline == "张三、李四"
    assert articles[4].id == "7"
    assert [e.reason for e in errors] == [
        "empty record: no title and no article text in record 3",
        "bad record: not an object in record 5",
    ]


def test_field_mapping_is_configurable(tmp_path):
    path = dump(
        tmp_path / "custom.json", [{"meta": {"heading": "自定义"}, "zhengwen": "自定义正文。", "ts": "2021-01-02"}]
    )
    _, errors = read([path])
    assert errors and errors[0].reason.startswith("empty record")
    fields = parse_field_options(["title=meta.heading", "body=zhengwen", "date=ts"])
    (article,), errors = read([path], fields=fields)
    assert errors == [] and (article.title, article.body, article.published) == (
        "自定义",
        "自定义正文。",
        datetime(2021, 1, 2),
    )
    with pytest.raises(ValueError, match="unknown article field"):
        field_map({"summary": "x"})
    with pytest.raises(ValueError, match="FIELD=NAME"):
        parse_field_options(["body"])


def test_json_lines_with_bad_lines_and_a_gbk_line(tmp_path):
    path = tmp_path / "news.ndjson"
    lines = [
        json.dumps({"id": "1", "title": "甲", "content": "正文。"}, ensure_ascii=False).encode("utf-8"),
        b'{"id": "2", "title": ',
        json.dumps({"id": "3", "title": "重庆", "body": "重庆日报的报道。"}, ensure_ascii=False).encode("gbk"),
        b"[1, 2]",
    ]
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    articles, errors = read([path])
    assert [(a.id, a.title) for a in articles] == [("1", "甲"), ("3", "重庆")]
    assert [(e.line, e.reason.split(":")[0]) for e in errors] == [(2, "bad JSON line"), (4, "bad record")]


def test_json_lines_saved_as_json_and_bad_json(tmp_path):
    lines = tmp_path / "lines.json"
    lines.write_text(
        '{"title": "甲", "body": "正文甲。"}\n{"title": "乙", "body": "正文乙。"}\nnope\n', encoding="utf-8"
    )
    broken = tmp_path / "broken.json"
    broken.write_text('[{"title": "甲", "body": "正文"},', encoding="utf-8")
    articles, errors = read([lines, broken])
    assert [a.title for a in articles] == ["甲", "乙"]
    assert sorted((e.path.rsplit("/", 1)[1], e.line, e.reason.split(":")[0]) for e in errors) == [
        ("broken.json", None, "bad JSON"),
        ("lines.json", 3, "bad JSON line"),
    ]


def test_html_body_in_a_record_becomes_text(tmp_path):
    path = dump(
        tmp_path / "h.json", {"title": "甲", "content": "<p>第一段&amp;</p><p>第二段<br>第三行</p><script>x()</script>"}
    )
    (article,), _ = read([path])
    assert article.body == "第一段&\n第二段\n第三行"


@pytest.mark.parametrize(
    "name, title, published, source, byline, first, last",
    [
        (
            "people-cq.html",
            "重庆：小面产业年产值突破百亿元",
            datetime(2020, 6, 20, 9, 53),
            "人民网-重庆频道",
            "王欣",
            "人民网重庆6月20日电",
            "附加值持续提升。",
        ),
        (
            "sohu-article.htm",
            "重庆两江新区新增一批重点项目",
            datetime(2020, 6, 20, 14, 26),
            "重庆晨报",
            "李明",
            "6月20日，重庆两江新区",
            "经济运行呈现稳中向好态势。",
        ),
    ],
)
def test_html_pages(name, title, published, source, byline, first, last):
    (article,), errors = read([HTML / name])
    assert errors == []
    assert (article.title, article.published, article.source) == (title, published, source)
    assert byline in article.byline
    assert article.body.startswith(first) and article.body.endswith(last)
    for boilerplate in (
        "首页",
        "推荐阅读",
        "夜经济",
        "Copyright",
        "ICP",
        "返回搜狐",
        "责任编辑",
        "责编",
        "声明",
        "分享",
    ):
        assert boilerplate not in article.body
    assert "<" not in article.body


def test_html_in_gbk_as_declared(tmp_path):
    page = (HTML / "people-cq.html").read_text(encoding="utf-8").replace("Copyright &copy;", "Copyright")
    (tmp_path / "gbk.html").write_bytes(page.encode("gbk"))
    (article,), errors = read([tmp_path / "gbk.html"])
    assert errors == [] and article.title == "重庆：小面产业年产值突破百亿元"


def test_html_without_an_article(tmp_path):
    (tmp_path / "menu.html").write_text("<html><body><ul><li><a href='/'>首页</a></li></ul></body></html>")
    articles, errors = read([tmp_path / "menu.html"])
    assert articles == [] and [e.reason for e in errors] == ["no article text found in page"]
