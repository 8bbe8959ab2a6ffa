"""Suggestions while typing (built at index time) and "did you mean" for a query finding nothing."""

import json

import pytest
from click.testing import CliRunner

from search.cli import cli
from search.spelling import _one_edit
from search.suggest import Suggester


def test_completes_frequent_words_then_titles(news):
    found = news.suggest("重庆")
    assert found and all(s.startswith("重庆") for s in found) and len(found) <= 8
    assert "重庆市" in found
    assert "缙云山黛湖观鸟节开幕" in news.suggest("缙云山黛湖")  # a title
    assert news.suggest("重慶")[:3] == news.suggest("重庆")[:3]  # traditional typed, same words
    assert news.suggest("") == [] and news.suggest("　 ") == []


def test_completes_the_last_word_only(news):
    found = news.suggest("2020 重庆")
    assert found and all(s.startswith("2020 重庆") for s in found)


def test_one_edit():
    assert _one_edit("轨到", "轨道") and _one_edit("沙平坝", "沙坪坝") and not _one_edit("沙坪", "沙平坝")
    assert _one_edit("abc", "acb") and _one_edit("abc", "ab") and _one_edit("ab", "abc")
    assert not _one_edit("abc", "abc") and not _one_edit("abcd", "badc")


def test_did_you_mean_prefers_what_sounds_alike(news):
    page = news.search("涪林")
    assert page.total == 0 and page.did_you_mean == "涪陵"  # lin/ling, not the commoner 吉林
    assert news.search(page.did_you_mean).total > 0
    assert news.search("沙平坝").did_you_mean == "沙坪坝"
    assert news.search("重庆").did_you_mean is None
    assert news.search("zzqqxx").did_you_mean is None


def test_did_you_mean_keeps_the_filters(news):
    source = news.search("沙坪坝", facets=True).facets["source"][0].value
    assert news.search("沙平坝", source=source).did_you_mean == "沙坪坝"
    # Nothing was published before 1990: the corrected query would find nothing either.
    assert news.search("沙平坝", date_to="1990-01-01").did_you_mean is None
    assert news.search("沙平坝", source="没有这个来源").did_you_mean is None


def test_api_suggest(client, news):
    response = client.get("/api/suggest", query_string={"q": "重庆"})
    assert response.status_code == 200 and response.json == news.suggest("重庆")
    assert client.get("/api/suggest", query_string={"q": "重庆", "limit": "3"}).json == news.suggest("重庆", 3)
    assert client.get("/api/suggest").json == []
    assert client.get("/api/suggest", query_string={"q": "x" * 600}).status_code == 400
    assert client.get("/api/suggest", query_string={"q": "重", "limit": "99"}).status_code == 400


def test_page_has_suggestions_and_did_you_mean(client):
    home = client.get("/").get_data(as_text=True)
    assert 'list="q-suggestions"' in home and '<datalist id="q-suggestions">' in home
    assert 'data-suggest="/api/suggest"' in home
    page = client.get("/search", query_string={"q": "涪林"}).get_data(as_text=True)
    assert '<p class="did-you-mean">' in page and "<strong>涪陵</strong>" in page


def test_cli(index_dir):
    result = CliRunner().invoke(cli, ["suggest", "重庆", "--index", str(index_dir), "--json"])
    assert result.exit_code == 0 and "重庆市" in json.loads(result.output)
    text = CliRunner().invoke(cli, ["search", "涪林", "--index", str(index_dir)]).output
    assert "Did you mean: 涪陵" in text


def test_words_of_our_dictionaries_are_suggested_from_one_article(news):
    assert news.search('"一区两群"', collapse=False).total == 1
    assert "一区两群" in news.suggest("一区")


def test_a_correction_beside_results_when_it_finds_far_more(news):
    page = news.search("涪林榨菜")  # found through 榨菜 alone
    corrected = news.search("涪陵榨菜")
    assert 0 < page.total and corrected.total >= 3 * page.total and page.did_you_mean == "涪陵榨菜"
    assert news.search("沙平坝美食").did_you_mean == "沙坪坝美食"  # 沙 / 平坝 joined, then corrected
    assert news.search("涪陵榨菜").did_you_mean is None
    assert news.search("涪林榨菜", page=2).did_you_mean is None  # the first page only
    # Within the reader's filters: before 1990 the correction finds nothing either.
    assert news.search("涪林榨菜", date_to="1990-01-01").did_you_mean is None


def test_a_correction_is_offered_beside_results_on_the_page(client):
    page = client.get("/search", query_string={"q": "涪林榨菜"}).get_data(as_text=True)
    assert 'id="did-you-mean"' in page and "<strong>涪陵榨菜</strong>" in page and "找到" in page
    assert client.get("/api/search", query_string={"q": "涪林榨菜"}).json["did_you_mean"] == "涪陵榨菜"


def test_packed_texts_read_like_a_sorted_list():
    from bisect import bisect_left

    from search.suggest import Packed

    texts = sorted(["重庆", "重庆市", "轨道交通", "", "a", "成渝地区双城经济圈", "😀表情"])
    packed = Packed(texts)
    assert len(packed) == len(texts) and list(packed) == texts
    assert [packed[i] for i in range(len(texts))] == texts
    assert packed[-1] == texts[-1] and packed[1:3] == texts[1:3]
    for probe in ("重", "重庆", "重庆市x", "", "z", "\U0010ffff"):
        assert bisect_left(packed, probe) == bisect_left(texts, probe), probe
    with pytest.raises(IndexError):
        packed[len(texts)]
    assert list(Packed([])) == [] and len(Packed([])) == 0


def test_suggester_weights_and_neighbours_from_packed_arrays():
    words = [("重庆", "重庆", 30), ("重庆市", "重庆市", 20), ("重床", "重床", 1), ("成都", "成都", 25)]
    titles = [("重庆火锅节开幕", "重庆火锅节开幕", 3)]
    suggester = Suggester(words, titles)
    assert suggester.weight("重庆") == 30 and suggester.weight("重慶") == 30 and suggester.weight("重") == 0
    assert suggester.words.texts is suggester.words.keys  # a word's text is its key: kept once
    assert {text for _, text, _ in suggester.neighbours("重庆")} == {"重庆", "重庆市", "重床"}
    assert {text for _, text, _ in suggester.neighbours("成渝")} == {"成都"}
    assert suggester.complete("重") == ["重庆", "重庆市", "重床", "重庆火锅节开幕"]


def test_suggestions_are_saved_compressed_and_read_plain_from_an_older_generation(index_dir, tmp_path):
    import shutil

    import zstandard

    from search import NewsIndex, suggest
    from search.generations import current_generation

    served = current_generation(index_dir)
    packed = (served / suggest.SIDECAR).read_bytes()
    text = zstandard.ZstdDecompressor().decompressobj().decompress(packed).decode("utf-8")
    assert len(packed) < len(text.encode("utf-8")) and text.startswith(("w\t", "t\t"))
    older = tmp_path / "older"
    shutil.copytree(index_dir, older)
    generation = current_generation(older)
    (generation / suggest.SIDECAR).unlink()
    (generation / suggest.PLAIN_SIDECAR).write_text(text, encoding="utf-8")  # as an earlier version wrote it
    expected = NewsIndex.open(index_dir)
    plain = NewsIndex.open(older)
    for typed in ("重庆", "轨", "重庆 轨"):
        assert plain.suggest(typed) == expected.suggest(typed) and expected.suggest(typed)
    assert suggest.word_weights(generation) == suggest.word_weights(served) != []
    (generation / suggest.SIDECAR).write_bytes(packed[: len(packed) // 2])  # cut short: taken before the plain one
    assert suggest.Suggester.load(generation).complete("重庆") == []  # unreadable: no suggestions, no error
