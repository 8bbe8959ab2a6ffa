"""Pinyin queries: Latin letters read as the index's Chinese words, and what stays as typed."""

import json
import time

import pytest
from click.testing import CliRunner

from search import pinyin
from search.cli import cli
from search.generations import current_generation
from web import create_app

#: A small vocabulary: (word, articles holding it).
WORDS = [
    ("重庆", 500),
    ("火锅", 40),
    ("海关", 60),
    ("韩国", 80),
    ("方案", 30),
    ("反感", 90),
    ("西安", 25),
    ("一区两群", 3),
    ("华为", 200),
    ("贫困", 400),
    ("沙坪坝", 15),
]
#: Latin words an index of Chinese news holds, and in how many articles.
LATIN = {"gdp": 300, "huawei": 4, "chongqing": 2, "iphone": 50, "covid": 80, "se": 9}


@pytest.fixture(scope="module")
def table():
    return pinyin.Table(pinyin._lines(WORDS))


def read(table, query, together=None):
    return pinyin.read(query, table, lambda word: LATIN.get(word, 0), together)


@pytest.mark.parametrize(
    "typed",
    [
        "chongqing huoguo",
        "chongqinghuoguo",
        "Chongqing Huoguo",
        "chóngqìng huǒguō",
        "chong2qing4 huo3guo1",
        "chong qing huo guo",
    ],
)
def test_full_syllables_however_typed(table, typed):
    assert read(table, typed) == "重庆 火锅"


def test_spaces_and_apostrophes_are_syllable_boundaries(table):
    assert read(table, "fangan") == "反感"  # the commoner of two words spelled alike
    assert read(table, "fang an") == "方案"  # fan|gan cannot be cut at the space
    assert read(table, "fang'an") == "方案"
    assert read(table, "xi'an") == read(table, "xian") == "西安"


def test_mixed_queries_keep_the_chinese_and_what_is_not_pinyin(table):
    assert read(table, "chongqing 暴雨") == "重庆 暴雨"
    assert read(table, "shapingba iPhone") == "沙坪坝 iPhone"
    assert read(table, '"chongqing" title:huoguo') is None  # query syntax stays as typed
    assert read(table, "重庆 火锅") is None


@pytest.mark.parametrize("typed", ["GDP", "gdp", "CPI", "5G", "GPT-4", "COVID", "iPhone SE", "AI", "C919", "pk", "se"])
def test_ordinary_latin_queries_stay(table, typed):
    assert read(table, typed) is None


def test_a_latin_word_the_index_holds_needs_a_far_commoner_reading(table):
    assert read(table, "huawei") == "华为"  # 200 articles against 4: far more
    rare = pinyin.Table(pinyin._lines([("华为", 20)]))
    assert pinyin.read("huawei", rare, lambda word: LATIN.get(word, 0)) is None  # 20 < 10 × 4


def test_initials(table):
    assert read(table, "yqlq") == "一区两群"
    # Without counts, the likeliest words; with them, the words found together most.
    assert read(table, "cqhg") == "重庆 韩国"
    together = {("重庆", "火锅"): 30, ("重庆", "海关"): 5}
    assert read(table, "cqhg", lambda words: together.get(tuple(words), 0)) == "重庆 火锅"
    assert read(table, "cqhg", lambda words: 0) is None  # words never found together
    assert read(table, "cq") is None and read(table, "CQHG") is None


def test_the_sidecar_is_written_and_loaded(index_dir):
    generation = current_generation(index_dir)
    lines = (generation / pinyin.SIDECAR).read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("chongqing\tcq\t重庆\tchong qing\t") for line in lines)
    assert len(pinyin.Table.load(generation, lambda: [])) > 1000


# The session index ------------------------------------------------------------------------------


def test_search_reads_pinyin_and_says_so(news):
    chinese = news.search("重庆 万州")
    for typed in ("chongqing wanzhou", "chongqingwanzhou", "Chongqing 万州"):
        page = news.search(typed)
        assert page.searched_as == "重庆 万州" and page.query == " ".join(typed.split())
        assert [h.id for h in page.hits] == [h.id for h in chinese.hits]
        assert "<mark>" in page.hits[0].title_html + page.hits[0].snippet
    assert news.search("yqlq").searched_as == "一区两群"
    assert news.search("重庆").searched_as is None
    assert news.search("5G").searched_as is None


def test_as_typed_searches_the_letters(news):
    page = news.search("chongqing", as_typed=True)
    assert page.searched_as is None and page.total == 0


def test_cli_json_and_text(index_dir):
    result = CliRunner().invoke(cli, ["search", "shapingba", "--index", str(index_dir), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["searched_as"] == "沙坪坝"
    text = CliRunner().invoke(cli, ["search", "shapingba", "--index", str(index_dir)]).output
    assert "Searched as: 沙坪坝" in text
    typed = CliRunner().invoke(cli, ["search", "shapingba", "--as-typed", "--index", str(index_dir), "--json"])
    assert json.loads(typed.output)["searched_as"] is None


def test_web_page_and_api(index_dir):
    client = create_app({"TESTING": True, "INDEX": str(index_dir)}).test_client()
    page = client.get("/search", query_string={"q": "shapingba"}).get_data(as_text=True)
    assert "以下为「<strong>沙坪坝</strong>」的结果" in page
    assert 'href="/search?q=shapingba&amp;as_typed=1">shapingba</a>' in page
    typed = client.get("/search", query_string={"q": "shapingba", "as_typed": "1"}).get_data(as_text=True)
    assert 'id="searched-as"' not in typed
    assert '<input type="hidden" name="as_typed" value="1">' in typed  # the date filter keeps it
    assert client.get("/api/search", query_string={"q": "shapingba"}).json["searched_as"] == "沙坪坝"
    assert client.get("/api/search", query_string={"q": "沙坪坝"}).json["searched_as"] is None
    bad = client.get("/api/search", query_string={"q": "shapingba", "as_typed": "maybe"})
    assert bad.status_code == 400 and "as_typed" in bad.json["error"]


def test_a_generation_without_the_table_gets_it_computed_aside(tmp_path):
    from search import NewsIndex

    from .feature_cases import SEARCH_CASES
    from .helpers import write_jsonl

    write_jsonl(tmp_path / "cases.jsonl", SEARCH_CASES)
    NewsIndex.rebuild([tmp_path / "cases.jsonl"], tmp_path / "index")
    (current_generation(tmp_path / "index") / pinyin.SIDECAR).unlink()  # as an older version wrote it
    news = NewsIndex.open(tmp_path / "index")
    assert news.search("重庆").total  # a Chinese query never waits for the table
    deadline = time.monotonic() + 120
    while news.search("chongqing", as_typed=False).searched_as is None:
        assert time.monotonic() < deadline, "the table was never computed"
        news.clear_cache()
        time.sleep(0.2)
    assert news.search("chongqing").searched_as == "重庆"


def test_names_of_our_dictionaries_come_first_and_context_picks_characters():
    words = [("成都", 50), ("程度", 300), ("进", 500), ("近", 800), ("博", 100), ("会", 2000), ("外卖", 90)]
    words += [("骑手", 20), ("旗手", 60)]
    table = pinyin.Table(pinyin._lines(words, known={"成都"}))
    assert pinyin.read("chengdu", table, lambda word: 0) == "成都"  # a name before a commoner word
    # Single characters spell what no word does, chosen by the characters beside them.
    pairs = {"进博": 400, "博会": 800, "近博": 2}
    assert pinyin.read("jinbohui", table, lambda word: 0, glue=lambda pair: pairs.get(pair, 0)) == "进博会"
    # Homophones are chosen by how many articles hold all the words of the reading.
    together = {("外卖", "骑手"): 15, ("外卖", "旗手"): 1}
    assert pinyin.read("waimai qishou", table, lambda word: 0) == "外卖 旗手"
    assert pinyin.read("waimai qishou", table, lambda word: 0, lambda w: together.get(tuple(w), 0)) == "外卖 骑手"


def test_table_groups_find_rows_and_tell_whether_longer_keys_go_on():
    groups = pinyin._Groups(
        {"chong": [(5, 5, "冲", "chong")], "chongqing": [(9, 9, "重庆", "chong qing"), (2, 2, "崇庆", "chong qing")]}
    )
    assert len(groups) == 2
    assert groups.get("chongqing") == ([(9, 9, "重庆", "chong qing"), (2, 2, "崇庆", "chong qing")], False)
    assert groups.get("chong") == ([(5, 5, "冲", "chong")], True)  # chongqing goes on from it
    assert groups.get("chongq") == ([], True)
    assert groups.get("chongqingx") == ([], False) and groups.get("a") == ([], False)
    assert pinyin._Groups({}).get("a") == ([], False)

