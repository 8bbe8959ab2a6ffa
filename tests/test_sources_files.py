"""Files as a whole: telling the format from the content, compression, and what cannot be read."""

import bz2
import gzip
import os

from search.sources import read_sources

from .helpers import FIXTURES, SEED_PAGE

SOGOU = FIXTURES / "xml" / "news_sohusite_xml.sample.dat"


def read(paths, **options):
    errors = []
    articles = list(read_sources(paths, errors.append, **options))
    return articles, errors


def reasons(errors):
    return sorted((os.path.basename(e.path), e.reason) for e in errors)


def test_unreadable_files_each_get_a_one_line_reason(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.json").write_bytes(b" \r\n\t\n")
    (tmp_path / "junk.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "noise.dat").write_bytes(os.urandom(2048).replace(b"\x00", b"\x01"))
    (tmp_path / "korean.txt").write_bytes(("대한민국의 수도는 서울이다. 오늘 날씨가 좋습니다. " * 20).encode("euc-kr"))
    (tmp_path / "high.txt").write_bytes(bytes(range(0x80, 0x100)) * 8)
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (tmp_path / "table.csv").write_text("id,title\n1,重庆\n", encoding="utf-8")
    (tmp_path / "bad.jsonl.gz").write_bytes(gzip.compress(b'{"title": "x", "body": "y"}\n')[:-12])
    (tmp_path / "good.txt").write_text("重庆新闻\n2020-06-20 09:53 重庆日报\n正文第一段。\n", encoding="utf-8")
    articles, errors = read([tmp_path])
    assert [a.title for a in articles] == ["重庆新闻"]
    found = reasons(errors)
    assert found[:4] == [
        ("bad.jsonl.gz", found[0][1]),
        ("blank.json", "empty file"),
        ("empty.txt", "empty file"),
        ("high.txt", "unknown text encoding: not UTF-8, GB18030/GBK or Big5"),
    ]
    assert found[0][1].startswith("bad compressed file: ")
    assert found[4:] == [
        ("junk.txt", "binary file, not text"),
        ("korean.txt", "unknown text encoding: not UTF-8, GB18030/GBK or Big5"),
        ("noise.dat", "binary file, not text"),
        ("photo.png", "binary file, not text"),
        ("table.csv", "unsupported file type: .csv (not a page dump, <doc> XML, JSON or HTML)"),
    ]
    assert all("\n" not in e.reason and e.path.startswith(str(tmp_path)) for e in errors)
    _, quiet = read([tmp_path / "table.csv"], skip_unknown=True)
    assert quiet == []


def test_content_decides_the_format(tmp_path):
    (tmp_path / "sogou.txt").write_bytes(SOGOU.read_bytes())
    (tmp_path / "page.html.txt").write_text(
        "<!DOCTYPE html><html><head><title>标题</title></head><body><h1>标题</h1>"
        + "<p>这是一篇文章的正文内容，讲述重庆的发展。</p>" * 5
        + "</body></html>",
        encoding="utf-8",
    )
    (tmp_path / "records").write_text('{"title": "甲", "body": "正文甲。"}\n', encoding="utf-8")
    articles, errors = read([tmp_path])
    assert errors == [] or all(e.reason.startswith("empty record") for e in errors)
    by_file = {}
    for article in articles:
        by_file.setdefault(os.path.basename(article.path), []).append(article)
    assert len(by_file["sogou.txt"]) == 12  # its three headline-only records too
    assert by_file["page.html.txt"][0].title == "标题" and "<p>" not in by_file["page.html.txt"][0].body
    assert by_file["records"][0].title == "甲"


def test_compressed_files(tmp_path):
    (tmp_path / "page.txt.gz").write_bytes(gzip.compress(SEED_PAGE.read_bytes()))
    (tmp_path / "sogou.dat.bz2").write_bytes(bz2.compress(SOGOU.read_bytes()))
    articles, errors = read([tmp_path])
    assert errors == []
    assert len(articles) == 13 and articles[0].title.startswith("市委常委会召开会议")


def test_ids_are_stable_and_come_from_the_record_the_url_or_the_text(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        '{"id": "own", "title": "甲", "body": "正文甲。"}\n'
        '{"title": "乙", "body": "正文乙。", "url": "HTTP://News.CN/a#top"}\n'
        '{"title": "丙", "body": "正文丙。", "url": "http://news.cn/a"}\n'
        '{"title": "丁", "body": "正文丁。"}\n',
        encoding="utf-8",
    )
    first, _ = read([tmp_path])
    second, _ = read([tmp_path])
    assert [a.id for a in first] == [a.id for a in second]
    assert first[0].id == "own"
    assert first[1].id == first[2].id and first[1].id.startswith("url-")
    assert first[3].id.startswith("text-")


def test_utf16_without_a_byte_order_mark_is_read(tmp_path):
    page = SEED_PAGE.read_text(encoding="utf-8")
    utf8, _ = read([SEED_PAGE])
    (tmp_path / "le.txt").write_bytes(page.encode("utf-16-le"))
    (tmp_path / "be.txt").write_bytes(page.encode("utf-16-be"))
    (tmp_path / "sogou-le.dat").write_bytes(SOGOU.read_text(encoding="utf-8").encode("utf-16-le"))
    (tmp_path / "lines.jsonl").write_bytes('{"title": "甲", "body": "正文甲。"}\n{"title": "乙"}\n'.encode("utf-16-le"))
    (tmp_path / "pairs.bin").write_bytes(bytes(b for n in range(2048) for b in (n % 256, 0)))  # not text
    articles, errors = read([tmp_path])
    by_file = {}
    for article in articles:
        by_file.setdefault(os.path.basename(article.path), []).append(article)
    assert by_file["le.txt"][0].body == by_file["be.txt"][0].body == utf8[0].body
    assert len(by_file["sogou-le.dat"]) == 12
    assert [a.title for a in by_file["lines.jsonl"]] == ["甲", "乙"]
    assert reasons(errors) == [("pairs.bin", "binary file, not text")]
