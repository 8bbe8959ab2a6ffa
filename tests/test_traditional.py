"""Traditional characters are folded to simplified ones: 重慶 finds what 重庆 finds, highlights mark
the characters as written."""

from search.analysis import bigrams, fold, segment
from search.traditional import has_traditional, to_simplified

from .helpers import ids


def test_fold_maps_traditional_one_for_one():
    assert fold("重慶兩岸臺灣") == ("重庆两岸台湾", None)
    text = "業者ＡＩ大會"
    folded, origin = fold(text)
    assert folded == "业者AI大会" and origin is None  # same length: offsets need no table


def test_simplified_text_is_left_alone():
    # Characters that are everyday simplified ones too are not folded (乾隆 must not become 干隆).
    for text in ("乾隆年间", "哪吒闹海", "重庆市两江新区"):
        assert to_simplified(text) == text
    assert not has_traditional("重庆市两江新区")


def test_segmentation_uses_the_simplified_dictionary():
    words = [s.text for s in segment("重慶小麵走進台灣夜市")]
    assert words[:2] == ["重庆", "小面"]
    assert segment("重慶小麵")[0].start == 0 and segment("重慶小麵")[0].end == 2
    assert [s.text for s in bigrams("兩岸")] == ["两岸"]


def test_traditional_query_finds_what_simplified_finds(news):
    assert ids(news.search("重慶", per_page=50)) == ids(news.search("重庆", per_page=50))
    assert ids(news.search("兩岸")) == ids(news.search("两岸"))
    assert "trad-noodles" in ids(news.search("两岸"))


def test_simplified_query_finds_traditional_article_and_marks_original_characters(news):
    page = news.search('"两岸业者"')
    assert ids(page) == ["trad-noodles"]
    hit = page.hits[0]
    assert "<mark>兩岸業者</mark>" in hit.title_html
    page = news.search("小面")
    hit = next(h for h in page.hits if h.id == "trad-noodles")
    assert "<mark>小麵</mark>" in hit.snippet
