import pickle
import sys

import pytest
from whoosh import fields, index
from whoosh.filedb.filestore import RamStorage
from whoosh.qparser import QueryParser

from search.analysis import ChineseAnalyzer, bigrams, fold, segment
from search.schema import build_schema


def tokens(text, **kw):
    return [(t.text, t.pos, t.startchar, t.endchar) for t in ChineseAnalyzer()(text, positions=True, chars=True, **kw)]


def test_positions_are_ordinal_words():
    toks = [(t, p) for t, p, _, _ in tokens("推进一区两群协调发展", mode="query")]
    assert toks == [("推进", 0), ("一区两群", 1), ("协调", 2), ("发展", 3)]


def test_subwords_share_their_word_position():
    toks = tokens("研究部署三峡库区发展")
    by_text = {t: p for t, p, _, _ in toks}
    assert by_text["三峡"] == by_text["库区"] == by_text["三峡库区"]
    assert by_text["发展"] == by_text["三峡库区"] + 1


def test_subwords_of_a_bank_name():
    words = {t for t, *_ in tokens("中国农业发展银行")}
    assert {"农业", "银行"} <= words


def test_query_mode_has_no_subwords():
    assert [t for t, *_ in tokens("三峡库区", mode="query")] == ["三峡库区"]


def test_offsets_are_exact_for_repeated_words():
    text = "重庆，重庆，还是重庆"
    spans = [(s, e) for t, _, s, e in tokens(text) if t == "重庆"]
    assert spans == [(0, 2), (3, 5), (8, 10)]
    assert all(text[s:e] == "重庆" for s, e in spans)


def test_offsets_survive_folding_that_changes_length():
    text = "面积100㎡的房子在重庆"
    toks = tokens(text)
    chongqing = [(s, e) for t, _, s, e in toks if t == "重庆"]
    assert [text[s:e] for s, e in chongqing] == ["重庆"]


def test_full_width_and_case_fold():
    toks = {t for t, *_ in tokens("ＡＩ大会：ＣＰＵ与iPhone １２３")}
    assert {"ai", "cpu", "iphone", "123"} <= toks


def test_punctuation_is_not_a_token():
    assert all(t.strip("，。“”、 ") for t, *_ in tokens("“一区两群”，协调。"))


def test_regional_dictionary_words_stay_whole():
    words = [s.text for s in segment("渝东北三峡库区城镇群和成渝地区双城经济圈", subwords=False)]
    assert "渝东北" in words and "三峡库区" in words and "成渝地区双城经济圈" in words


def test_jieba_global_tokenizer_is_untouched():
    assert [s.text for s in segment("一区两群", subwords=False)] == ["一区两群"]
    jieba = sys.modules["jieba"]
    jieba.dt.initialize()
    assert "一区两群" not in jieba.dt.FREQ
    assert jieba.lcut("推进一区两群") != ["推进", "一区两群"]


def test_analyzer_pickles_as_plain_config():
    analyzer = ChineseAnalyzer()
    list(analyzer("预热"))
    clone = pickle.loads(pickle.dumps(analyzer))
    assert clone == analyzer
    assert pickle.dumps(build_schema())


def test_fold_keeps_one_to_one_for_common_text():
    assert fold("ＡＢＣ……重庆")[1] is None


def test_bigrams_have_consecutive_positions():
    grams = bigrams("三峡库区 iPhone")
    assert [(g.text, g.pos) for g in grams] == [("三峡", 0), ("峡库", 1), ("库区", 2), ("iphone", 3)]


@pytest.fixture()
def ram_index():
    schema = fields.Schema(id=fields.ID(stored=True), body=fields.TEXT(analyzer=ChineseAnalyzer(), phrase=True))
    ix = RamStorage().create_index(schema)
    with ix.writer() as w:
        w.add_document(id="seed", body="研究部署渝东北三峡库区城镇群发展，推进“一区两群”协调发展")
        w.add_document(id="far", body="渝中区的企业家来到东北考察")
    return ix


@pytest.mark.parametrize(
    "query, expected",
    [
        ('"三峡库区城镇群"', ["seed"]),
        ('"一区两群"', ["seed"]),
        ("三峡", ["seed"]),
        ("渝东北", ["seed"]),
        ('"城镇群发展"', ["seed"]),
    ],
)
def test_whoosh_phrase_and_subword_queries(ram_index, query, expected):
    parser = QueryParser("body", ram_index.schema)
    with ram_index.searcher() as s:
        assert sorted(hit["id"] for hit in s.search(parser.parse(query))) == expected


def test_index_round_trips_the_analyzer(tmp_path):
    ix = index.create_in(str(tmp_path), build_schema())
    ix.close()
    reopened = index.open_dir(str(tmp_path))
    assert reopened.schema["body"].analyzer == ChineseAnalyzer()


def _grouped(segments):
    out = {}
    for seg in segments:
        out.setdefault(seg.text, []).append(seg.pos)
    return out


def _fixture_texts():
    import json
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures"
    texts = [(fixtures / "cqrb-2020-06-20.txt").read_text(encoding="utf-8")]
    for line in (fixtures / "chongqing-200.jsonl").read_text(encoding="utf-8").splitlines()[:80]:
        record = json.loads(line)
        texts += [record["title"], record["body"]]
    return texts + ["ＡＩ大会：ＣＰＵ与iPhone １２３", "面积100㎡的房子在重庆", "abc重庆 x_y ①② Ⅱ号 Straße", "", "，。"]


def _by_text(tokens, count):
    """``{term: positions}`` of each text, from :class:`search.analysis.Tokens`."""
    found = [{} for _ in range(count)]
    for term, text, pos in zip(tokens.term.tolist(), tokens.text.tolist(), tokens.pos.tolist(), strict=True):
        found[text].setdefault(tokens.terms[term], []).append(pos)
    return found


def test_indexing_fast_paths_give_exactly_the_analyzer_terms():
    from search.analysis import gram_tokens, word_tokens

    texts = _fixture_texts() + ["中", "㐀", "İstanbul的𠀀𠀁中文", "\ud800孤", "5g", "a1a1 ①"]
    # All the texts at once, as a rebuild's chunk finds them; twice, the second time from memory.
    for analyse, analyzer in [(word_tokens, segment), (word_tokens, segment), (gram_tokens, bigrams)]:
        tokens = analyse(texts)
        assert tokens.terms == sorted(set(tokens.terms))
        for text, terms, length in zip(texts, _by_text(tokens, len(texts)), tokens.lengths.tolist(), strict=True):
            expected = _grouped(analyzer(text))
            assert terms == expected
            assert length == sum(map(len, expected.values()))


def test_remembered_clauses_segment_as_jieba_does():
    from search.analysis import _cut, fold, segmenter

    seg = segmenter()
    for text in _fixture_texts() * 2:  # the second time from the clause cache
        folded = fold(text)[0]
        assert list(_cut(seg, folded)) == list(seg.cut(folded))


@pytest.mark.parametrize(
    "text",
    [
        "买买买，走走走走走，轰轰轰",  # equal scores both ways: jieba takes the longer word first
        "盯住盯紧盯实",  # a tie three words deep (盯+紧盯 against 盯紧+盯), then the HMM
        "还几位男子跑到湖边手牵着手站在冰面上",
        "郭炘蔚】说，㐀㐁是生僻字",  # characters jieba's dictionary does not have
        "渝东北三峡库区城镇群和渝东南武陵山区城镇群",
        "贫困发生率由10.2%降至0.6%，占总数43%左右，www.uscis.gov",  # letters and digits among words
    ],
)
def test_clause_cutter_gives_jiebas_words(text):
    import jieba

    from search.analysis import _cutter, segmenter

    seg = segmenter()
    clauses = [c for c in jieba.re_han_default.split(fold(text)[0]) if jieba.re_han_default.match(c)]
    assert clauses
    for clause in clauses:
        assert _cutter(seg)(clause) == list(seg._Tokenizer__cut_DAG(clause))


def test_a_changed_dictionary_is_seen():
    import jieba

    from search.analysis import _cut, cache_dir

    seg = jieba.Tokenizer()  # a private one: the shared segmenter is never changed
    seg.tmp_dir = str(cache_dir())
    seg.initialize()
    text = "渝东北三峡库区城镇群"
    before = list(_cut(seg, text))
    seg.add_word("库区城镇群", 1_000_000)  # changes the dictionary and its total in place
    after = list(_cut(seg, text))
    assert "库区城镇群" not in before and "库区城镇群" in after
    assert after == list(seg.cut(text))


def test_a_dictionary_word_of_letters_is_cut_as_jieba_does():
    import jieba

    from search.analysis import _cut, cache_dir

    # jieba-rs joins single letters and digits into one piece; when that piece may also be a word
    # of the dictionary, the clause goes to jieba itself.
    seg = jieba.Tokenizer()
    seg.tmp_dir = str(cache_dir())
    seg.initialize()
    seg.add_word("gpt", 1_000_000)
    seg.add_word("ab", 1)
    for text in ["gpt发布", "gptx发布", "abc中文ab", "a1b2发布5g"]:
        assert list(_cut(seg, text)) == list(seg.cut(text))
    assert "gpt" in list(_cut(seg, "gpt发布"))


def test_bigrams_split_latin_from_ideographs():
    grams = bigrams("GPT4发布时间")
    assert [(g.text, g.start, g.end) for g in grams] == [("gpt4", 0, 4), ("发布", 4, 6), ("布时", 5, 7), ("时间", 6, 8)]


def test_letters_and_digits_are_subwords_at_their_word_position():
    text = "发布ＧＰＴ４模型"
    segs = [s for s in segment(text) if s.pos == 1]
    assert {(s.text, s.sub) for s in segs} == {("gpt4", False), ("gpt", True), ("4", True)}
    assert {text[s.start : s.end] for s in segs} == {"ＧＰＴ４", "ＧＰＴ", "４"}
    assert [s.text for s in segment("iPhone 2023")] == ["iphone", "2023"]
    assert [s.text for s in segment("GPT4", subwords=False)] == ["gpt4"]
