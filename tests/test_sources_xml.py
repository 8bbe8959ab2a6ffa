"""<doc> records: SogouCS/SogouCA exports and per-article chinanews files."""

import codecs
import io
import json
import re
from datetime import datetime

from search.sources import read_sources

from .helpers import FIXTURES

XML = FIXTURES / "xml"
SOGOU = XML / "news_sohusite_xml.sample.dat"


def read(paths):
    errors = []
    articles = list(read_sources(paths, errors.append))
    return articles, errors


def sogou_records(data: str):
    """(docno, title, content, line) of each record, read independently of the reader under test."""
    records = []
    for match in re.finditer(r"<doc>(.*?)</doc>", data, re.S):
        fields = dict(re.findall(r"<(\w+)>(.*?)</\1>", match.group(1), re.S))
        line = data.count("\n", 0, match.start()) + 1
        records.append((fields["docno"], fields["contenttitle"], fields["content"], line))
    return records


def test_sogou_export_reads_every_record_with_a_title_or_text():
    records = sogou_records(SOGOU.read_text(encoding="utf-8"))
    articles, errors = read([SOGOU])
    headline_only = [r for r in records if not r[2].strip()]
    assert headline_only and all(r[1].strip() for r in headline_only)
    assert errors == []
    assert [a.id for a in articles] == [r[0] for r in records]
    assert [a.title for a in articles] == [r[1] for r in records]
    assert {a.id for a in articles if not a.body} == {r[0] for r in headline_only}
    first = articles[0]
    assert first.url == "http://gongyi.sohu.com/20120706/n347457739.shtml"
    assert first.published == datetime(2012, 7, 6)  # from the URL: the export has no date field
    assert first.source == "搜狐新闻"
    assert first.title == "深圳地铁将设立ＶＩＰ头等车厢　买双倍票可享坐票"  # as written, full width kept
    assert first.body.startswith("南都讯　记者刘凡")
    assert all("\ue40c" not in a.body for a in articles)  # Sogou's paragraph mark became a line break


def test_sogou_export_in_gb18030_with_any_extension(tmp_path):
    utf8, _ = read([SOGOU])
    copy = tmp_path / "news_sohusite_xml.full"
    copy.write_bytes(SOGOU.read_text(encoding="utf-8").encode("gb18030"))
    articles, errors = read([copy])
    assert [(a.id, a.title, a.body) for a in articles] == [(a.id, a.title, a.body) for a in utf8]
    assert len(articles) == 12 and errors == []


def test_sogou_export_cut_off_inside_a_record(tmp_path):
    data = SOGOU.read_bytes()
    cut = data.rfind(b"<content>") + 40
    copy = tmp_path / "cut.dat"
    copy.write_bytes(data[:cut])
    whole, _ = read([SOGOU])
    articles, errors = read([copy])
    assert [a.id for a in articles] == [a.id for a in whole][:-1]
    assert errors[-1].reason == "truncated XML: record 12 has no </doc>" and errors[-1].line > 1


def test_broken_records_are_reported_and_the_rest_is_read(tmp_path):
    path = tmp_path / "export.dat"
    path.write_text(
        "<doc>\n<url>http://a.cn/1</url>\n<docno>a1</docno>\n<contenttitle>第一条</contenttitle>\n"
        "<content>第一条新闻的内容 & 更多</content>\n</doc>\n"
        "<doc>\n<docno>a2</docno>\n<contenttitle>第二条</contenttitle>\n<content>没有结束标签\n</doc>\n"
        "<doc>\n<docno>a3</docno>\n<contenttitle>第三条</contenttitle>\n<content>第三条内容</content>\n"
        "<doc>\n<docno>a4</docno>\n<contenttitle>第四条</contenttitle>\n<extra>未知标签</extra>\n"
        "<content><![CDATA[第四条 <b>内容</b>]]></content>\n</doc>\n",
        encoding="utf-8",
    )
    articles, errors = read([path])
    assert [(a.id, a.body) for a in articles] == [("a1", "第一条新闻的内容 & 更多"), ("a4", "第四条 <b>内容</b>")]
    assert [(e.line, e.reason) for e in errors] == [
        (7, "broken record: record 2: <content> is not closed"),
        (12, "broken record: record 3 has no </doc>"),
    ]


def test_chinanews_articles():
    articles, errors = read([XML / "chinanews-1013.xml", XML / "chinanews-1163.xml"])
    assert errors == []
    first, second = articles
    assert (first.id, first.title, first.published) == (
        "1013",
        "重庆高速车流恢复至去年同期水平",
        datetime(2020, 4, 1, 17, 8),
    )
    assert first.url == "http://www.chinanews.com/cj/2020/04-01/9144383.shtml" and first.source == "中国新闻网"
    assert first.body.startswith("(抗击新冠肺炎)重庆高速车流") and "\t" not in first.body
    assert "韩璐" in first.byline and "孙静波" in first.byline
    assert second.title == "疫情加速清明祭扫“触网”：预约错峰寄哀思  代祭“勿忘告乃翁”"


def test_same_article_as_xml_and_json_has_the_same_digest():
    (xml_article,), _ = read([XML / "chinanews-1016.xml"])
    record = next(
        json.loads(line)
        for line in (FIXTURES / "chongqing-200.jsonl").read_text(encoding="utf-8").splitlines()
        if '"chinanews2020-1016"' in line
    )
    assert xml_article.title == record["title"]
    assert xml_article.digest == __import__("search.sources", fromlist=["text_digest"]).text_digest(record["body"])


def test_truncated_and_foreign_xml(tmp_path):
    data = (XML / "chinanews-1013.xml").read_bytes()
    (tmp_path / "truncated.xml").write_bytes(data[: len(data) // 2])
    (tmp_path / "rss.xml").write_text("<?xml version='1.0'?><rss><channel><item>x</item></channel></rss>")
    (tmp_path / "TREC.sgml").write_text(
        "<DOC>\n<DOCNO>t-1</DOCNO>\n<HEADLINE>三峡库区</HEADLINE>\n<DATE>2020-06-20</DATE>\n<TEXT>三峡库区城镇群。</TEXT>\n</DOC>\n",
        encoding="utf-8",
    )
    articles, errors = read([tmp_path])
    assert [(a.id, a.title, a.published) for a in articles] == [("t-1", "三峡库区", datetime(2020, 6, 20))]
    assert sorted((e.path.rsplit("/", 1)[1], e.reason) for e in errors) == [
        ("rss.xml", "empty record: no title and no article text in entry 1"),  # a feed, its item empty
        ("truncated.xml", "truncated XML: record 1 has no </doc>"),
    ]


def test_declared_encoding_is_honoured(tmp_path):
    text = (XML / "chinanews-1013.xml").read_text(encoding="utf-8").replace("encoding='utf-8'", "encoding='gbk'")
    (tmp_path / "gbk.xml").write_bytes(text.encode("gbk"))
    (article,), errors = read([tmp_path / "gbk.xml"])
    assert errors == [] and article.title == "重庆高速车流恢复至去年同期水平"


def test_the_encoding_of_the_first_piece_reads_the_rest(tmp_path, monkeypatch):
    """A file read in pieces: the codec that read the first one reads the others, whatever it was."""
    from search.sources import docxml

    utf8, _ = read([SOGOU])
    expected = [(a.id, a.title, a.body) for a in utf8]
    assert len(expected) > 3
    data = SOGOU.read_text(encoding="utf-8")
    cases = {
        "gb18030.dat": (data.encode("gb18030"), 2048, 0),
        "bom.dat": (codecs.BOM_UTF8 + data.encode("utf-8"), 2048, 0),
        # One bad byte in the first record: that piece (big enough to be repaired) is read as
        # UTF-8 with one character replaced, and so are the next ones.
        "badbyte.dat": (data.encode("utf-8").replace(b"<content>", b"<content>\xff", 1), 8192, 1),
    }
    for name, (raw, chunk, repaired) in cases.items():
        monkeypatch.setattr(docxml, "CHUNK", chunk)  # instead of 4 MB: the file is read in pieces
        assert len(list(docxml._chunks(io.BytesIO(raw)))) > 1
        (tmp_path / name).write_bytes(raw)
        articles, _errors = read([tmp_path / name])
        got = [(a.id, a.title, a.body) for a in articles]
        assert got[repaired:] == expected[repaired:], name
