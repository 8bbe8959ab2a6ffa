"""End to end: a rebuild over a folder mixing every format, encoding and kind of broken file."""

import json
import shutil
from datetime import datetime

import pytest
from click.testing import CliRunner

from search import NewsIndex
from search.cli import cli
from search.generations import open_generation

from .helpers import FIXTURES, SEED_PAGE, SEED_TITLE

PAGES, HTML, XML = FIXTURES / "pages", FIXTURES / "html", FIXTURES / "xml"

#: Every readable article of the folder: title -> (published, source), as the files give them.
EXPECTED = {
    SEED_TITLE: (datetime(2020, 6, 20, 9, 53), "重庆日报"),
    "重庆渝东北生态涵养发展区建设加快推进": (datetime(2020, 6, 20, 10, 12), "重庆日报"),
    "重庆加快建设西部陆海新通道 今年开行班列将超千列": (datetime(2020, 6, 20, 11, 5), "华龙网"),
    "重庆：小面产业年产值突破百亿元": (datetime(2020, 6, 20, 9, 53), "人民网-重庆频道"),  # GB18030 page
    "巫山脆李进入采摘季 果农喜迎丰收": (datetime(2020, 6, 20, 9, 53), "巫山县融媒体中心"),
    "巴南区新增3个市级特色小镇": (datetime(2020, 6, 20, 9, 53), "上游新闻"),
    "成渝地区双城经济圈建设交通先行": (datetime(2020, 6, 20), "重庆日报"),
    "重慶小麵走進台灣夜市 兩岸業者交流熱絡": (datetime(2020, 6, 20, 9, 53), "中央社"),  # Big5
    "重庆两江新区新增一批重点项目": (datetime(2020, 6, 20, 14, 26), "重庆晨报"),
    "重庆高速车流恢复至去年同期水平": (datetime(2020, 4, 1, 17, 8), "中国新闻网"),
    "疫情加速清明祭扫“触网”：预约错峰寄哀思  代祭“勿忘告乃翁”": (datetime(2020, 4, 1, 12, 36), "中国新闻网"),
    "重庆发改委副主任：目前粮食库存可满足10个月以上消费": (
        datetime(2020, 4, 1, 17, 7),
        "中国新闻网",
    ),  # JSONL twin of an XML file
    "江北嘴夜景灯光秀恢复上演": (datetime(2020, 6, 1, 20, 0), "重庆晚报"),
    "两路寸滩保税港区进出口增长": (None, ""),
}
SOGOU_ARTICLES = 12  # the sample's 12 records, 3 of them a headline without content
# The HTML page of the people.cn article is longer than the page dump of it: a second article.
ARTICLES = len(EXPECTED) + 1 + SOGOU_ARTICLES
SKIPPED = [
    ("broken.jsonl", 2, "bad JSON line"),
    ("empty.txt", None, "empty file"),
    ("junk.bin", None, "binary file, not text"),
    ("notes.csv", None, "unsupported file type"),
    ("truncated.xml", 2, "truncated XML"),
    ("weird.txt", None, "unknown text encoding"),
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixed")
    pages = folder / "pages"
    pages.mkdir()
    shutil.copy(SEED_PAGE, pages)
    for name in ("sohu-2020-06-20.txt", "sina-2020-06-20.txt", "county-news.txt", "shangyou-20200620.txt"):
        shutil.copy(PAGES / name, pages)
    shutil.copy(PAGES / "epaper-xinhua.txt", pages / "epaper.TXT")
    (pages / "people-gb18030.txt").write_bytes((PAGES / "people-cq.txt").read_text(encoding="utf-8").encode("gb18030"))
    (pages / "cna-big5.txt").write_bytes((PAGES / "cna-traditional.txt").read_text(encoding="utf-8").encode("big5"))
    sohu = (PAGES / "sohu-2020-06-20.txt").read_text(encoding="utf-8")
    (pages / "sohu-copy-crlf-bom.txt").write_bytes(b"\xef\xbb\xbf" + sohu.replace("\n", "\r\n").encode("utf-8"))
    web = folder / "web"
    web.mkdir()
    for path in HTML.iterdir():
        shutil.copy(path, web)
    exports = folder / "exports"
    exports.mkdir()
    for path in XML.iterdir():
        shutil.copy(path, exports)
    twin = next(
        line
        for line in (FIXTURES / "chongqing-200.jsonl").read_text(encoding="utf-8").splitlines()
        if '"chinanews2020-1016"' in line
    )
    records = [
        {
            "title": "江北嘴夜景灯光秀恢复上演",
            "content": "江北嘴夜景灯光秀今晚恢复上演。",
            "pubtime": "2020-06-01 20:00",
            "source": "重庆晚报",
        },
        {"headline": "两路寸滩保税港区进出口增长", "text": "保税港区前5个月进出口增长。"},
    ]
    (exports / "feed.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    (exports / "broken.jsonl").write_text(twin + "\n{oops\n", encoding="utf-8")
    data = (XML / "chinanews-1013.xml").read_bytes()
    bad = folder / "bad"
    bad.mkdir()
    (bad / "truncated.xml").write_bytes(data[: len(data) // 2])
    (bad / "empty.txt").write_bytes(b"")
    (bad / "junk.bin").write_bytes(bytes(range(256)) * 4)
    (bad / "weird.txt").write_bytes(bytes(range(0x80, 0x100)) * 4)
    (bad / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (folder / ".hidden.txt").write_text("隐藏文件\n不应读取。\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def rebuilt(mixed, tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("mixed-index")
    summary = NewsIndex.rebuild([mixed], index_dir)
    return summary, index_dir


def stored(index_dir):
    index, _ = open_generation(index_dir)
    with index.searcher() as searcher:
        return [dict(fields) for fields in searcher.all_stored_fields()]


def test_every_readable_article_is_indexed_with_its_title_date_and_source(rebuilt):
    summary, index_dir = rebuilt
    documents = stored(index_dir)
    assert summary.indexed == len(documents) == ARTICLES
    by_title = {doc["title"]: doc for doc in documents if not doc["path"].endswith(".html")}
    for title, (published, source) in EXPECTED.items():
        doc = by_title[title]
        assert (doc.get("published"), doc.get("source", "")) == (published, source), title
    sogou = [doc for doc in documents if doc["path"].endswith(".dat")]
    assert len(sogou) == SOGOU_ARTICLES and all(doc["source"] == "搜狐新闻" for doc in sogou)


def test_unreadable_files_and_records_are_listed_with_reasons(rebuilt):
    summary, _ = rebuilt
    found = sorted((s.path.rsplit("/", 1)[1], s.line, s.reason.split(":")[0]) for s in summary.skipped)
    assert found == SKIPPED
    assert summary.reasons == {
        "bad JSON line": 1,
        "empty file": 1,
        "binary file, not text": 1,
        "unsupported file type": 1,
        "truncated XML": 1,
        "unknown text encoding": 1,
    }


def test_duplicates_are_indexed_once_and_counted(rebuilt):
    summary, index_dir = rebuilt
    # The BOM + CRLF copy of the sohu page, and the XML twin of a JSON line.
    assert summary.duplicates == 2
    documents = stored(index_dir)
    assert len({doc["id"] for doc in documents}) == len({doc["digest"] for doc in documents}) == len(documents)
    assert [doc["title"] for doc in documents].count("重庆渝东北生态涵养发展区建设加快推进") == 1


def test_rebuild_twice_gives_the_same_ids(rebuilt, mixed, tmp_path):
    _, index_dir = rebuilt
    NewsIndex.rebuild([mixed], tmp_path / "again")
    assert sorted(d["id"] for d in stored(index_dir)) == sorted(d["id"] for d in stored(tmp_path / "again"))


def test_cli_summary_json_and_strict(mixed, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["index", "rebuild", "--source", str(mixed), "--index", str(tmp_path / "ix"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["indexed"] == ARTICLES and data["duplicates"] == 2
    assert sum(data["skipped_by_reason"].values()) == len(data["skipped"]) == len(SKIPPED)
    lines = {(s["path"].rsplit("/", 1)[1], s.get("line")) for s in data["skipped"]}
    assert ("broken.jsonl", 2) in lines and ("truncated.xml", 2) in lines

    text = runner.invoke(cli, ["index", "rebuild", "--source", str(mixed), "--index", str(tmp_path / "ix")])
    assert text.exit_code == 0 and "skipped by reason: " in text.output and "bad JSON line 1" in text.output

    strict = runner.invoke(
        cli, ["index", "rebuild", "--source", str(mixed), "--index", str(tmp_path / "strict"), "--strict"]
    )
    assert strict.exit_code == 1 and strict.output.startswith("Error: ") and strict.output.count("\n") == 1
    assert "/bad/" in strict.output
    assert not (tmp_path / "strict" / "CURRENT").exists()


def test_cli_field_mapping(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "custom.jsonl").write_text(
        '{"zhengwen": "自定义字段里的正文。", "biaoti": "自定义标题"}\n', encoding="utf-8"
    )
    runner = CliRunner()
    args = ["index", "rebuild", "--source", str(tmp_path / "src"), "--index", str(tmp_path / "ix"), "--json"]
    assert runner.invoke(cli, args).exit_code == 1  # nothing readable without the mapping
    result = runner.invoke(cli, [*args, "--field", "body=zhengwen", "--field", "title=biaoti"])
    assert result.exit_code == 0, result.output
    assert [d["title"] for d in stored(tmp_path / "ix")] == ["自定义标题"]
    bad = runner.invoke(cli, [*args, "--field", "summary=x"])
    assert bad.exit_code == 2 and "unknown article field" in bad.output
