"""Syndicated copies: near-identical stories collapse into one hit that names the other outlets."""

import json
from datetime import datetime

from click.testing import CliRunner
from whoosh import query as wq
from whoosh.fields import ID, Schema
from whoosh.index import create_in

from search import copies
from search.cli import cli
from search.scoring import ArrayMatcher

from .feature_cases import PORTAL, REPRINT, STORY
from .helpers import ids

COPIES = {"copy-wire", "copy-reprint", "copy-portal"}


def test_clusters_near_duplicates_not_rewrites_or_templates():
    day = datetime(2024, 6, 18)
    other = STORY.replace("缙云山", "四面山").replace("黛湖", "洪海").replace("四十余种", "三十余种")
    other = other.replace("观鸟爱好者", "摄影爱好者").replace("北碚区", "江津区").replace("夜间观测", "清晨观测")
    articles = [
        (0, STORY, day),
        (1, REPRINT, day),
        (2, PORTAL, datetime(2024, 6, 19)),
        (3, other, day),  # the same template, another place and event: not a copy
        (4, STORY, datetime(2025, 6, 18)),  # the same text a year later (an anniversary): not a copy
        (5, "太短的文字也会雷同。", day),
        (6, "太短的文字也会雷同。", day),
    ]
    assert copies.find_clusters(articles) == [[0, 1, 2]]


def test_shingles_ignore_punctuation_spacing_and_script():
    assert copies.shingles("重慶小麵，走進 台灣夜市！") == copies.shingles("重庆小面走进台湾夜市")
    assert copies.shingles("短") == []


def test_search_collapses_copies_into_one_hit(news):
    page = news.search("黛湖观鸟节")
    found = [h for h in page.hits if h.id in COPIES]
    assert len(found) == 1
    hit = found[0]
    assert hit.copies == 2
    assert {c.id for c in hit.other_copies} == COPIES - {hit.id}
    assert {c.source for c in hit.other_copies} | {hit.source} == {"新华社", "华龙网", "搜狐新闻"}
    # A write-up of its own is a separate hit.
    assert "copy-own-story" in ids(page)


def test_no_collapse_lists_every_copy_and_totals_agree(news):
    collapsed = news.search("黛湖观鸟节", per_page=50)
    every = news.search("黛湖观鸟节", per_page=50, collapse=False)
    assert COPIES <= set(ids(every))
    assert every.total == collapsed.total + 2
    assert all(h.copies == 2 for h in every.hits if h.id in COPIES)
    # The total is what paging through the hits gives, with any sort and filter.
    for options in ({}, {"sort": "date"}, {"date_from": "2024-06-18", "date_to": "2024-06-30"}):
        pages = [news.search("黛湖观鸟节", per_page=2, page=n, **options) for n in (1, 2, 3)]
        listed = [h.id for p in pages for h in p.hits]
        assert len(listed) == len(set(listed)) == pages[0].total, options


def test_filter_keeps_the_copy_that_passes(news):
    # Only the portal's copy is from 搜狐新闻: it is the hit, even if the wire story ranks higher.
    page = news.search("黛湖观鸟节", source="搜狐新闻")
    assert ids(page) == ["copy-portal"] and page.hits[0].copies == 2


def test_article_lists_its_copies(news):
    article = news.article("copy-reprint")
    assert [c.id for c in article.copies] == ["copy-wire", "copy-portal"]  # earliest first
    assert news.article("copy-own-story").copies == ()


def test_cli_no_collapse(index_dir):
    run = CliRunner().invoke
    text = run(cli, ["search", "黛湖观鸟节", "--index", str(index_dir)]).output
    assert "2 other copies:" in text
    data = json.loads(run(cli, ["search", "黛湖观鸟节", "--index", str(index_dir), "--no-collapse", "--json"]).output)
    assert COPIES <= {h["id"] for h in data["hits"]}
    assert all(h["copies"] == 2 and len(h["other_copies"]) == 2 for h in data["hits"] if h["id"] in COPIES)


def test_api_and_page(client):
    data = client.get("/api/search", query_string={"q": "黛湖观鸟节"}).json
    hit = next(h for h in data["hits"] if h["id"] in COPIES)
    assert hit["copies"] == 2 and {c["source"] for c in hit["other_copies"]} <= {"新华社", "华龙网", "搜狐新闻"}
    every = client.get("/api/search", query_string={"q": "黛湖观鸟节", "collapse": "0"}).json
    assert every["total"] == data["total"] + 2
    assert client.get("/api/search", query_string={"q": "x", "collapse": "maybe"}).status_code == 400
    page = client.get("/search", query_string={"q": "黛湖观鸟节"}).get_data(as_text=True)
    assert '<details class="hit-copies" data-copies="2">' in page and "另有 2 篇相同报道" in page
    assert "逐篇显示" in page and "collapse=0" in page
    page = client.get("/search", query_string={"q": "黛湖观鸟节", "collapse": "0"}).get_data(as_text=True)
    assert page.count('data-copies="2"') == 3 and "合并多家媒体转载的相同报道" in page


def test_minhash_is_datasketchs_minhash_of_the_shingles():
    # minhash() applies datasketch's permutations to the 5-gram array itself; the values must be
    # those of MinHash.update_batch (saved signatures are reused across rebuilds).
    for body in (STORY, REPRINT, PORTAL, STORY[::-1], STORY.upper() + "ＡＢＣ ４２"):
        sketch = copies._base().copy()
        sketch.update_batch(copies.shingles(body))
        assert copies.minhash(body) == sketch.hashvalues.astype("<u4").tobytes()
        assert copies.signature(body) == copies.band_keys(copies.minhash(body))
        assert len(copies.signature(body)) == copies.SIGNATURE_BYTES == 144
    for short in ("太短的文字也会雷同。", "重庆" * 100):  # short; long, but too few distinct 5-grams
        assert copies.minhash(short) is None and copies.signature(short) is None


def test_bands_are_datasketchs_lsh_bands():
    from datasketch import MinHashLSH

    assert list(copies.BANDS) == MinHashLSH(threshold=copies.CANDIDATE, num_perm=copies.NUM_PERM).hashranges


def test_a_band_key_changes_with_any_value_of_its_band_only():
    import numpy as np

    values = np.frombuffer(copies.minhash(STORY), dtype="<u4").copy()
    keys = np.frombuffer(copies.band_keys(values.tobytes()), dtype="<u8")
    for position in (0, 6, 7, 60, 125, 126):
        changed = values.copy()
        changed[position] ^= 1
        other = np.frombuffer(copies.band_keys(changed.tobytes()), dtype="<u8")
        moved = [band for band, (start, end) in enumerate(copies.BANDS) if start <= position < end]
        assert np.flatnonzero(keys != other).tolist() == moved  # 126 and 127 are in no band


def _variants():
    """Bodies that share some LSH bands and not others: a story with ever more of it rewritten."""
    import random

    chance = random.Random(19)
    bodies = []
    for base in (STORY, REPRINT, PORTAL, STORY[::-1]):
        text = list(base * 2)
        for _ in range(14):
            for _ in range(6):
                text[chance.randrange(len(text))] = chance.choice("重庆山城江北渝中区两江新区")
            bodies.append("".join(text))
    return bodies


def test_candidate_pairs_are_datasketchs_lsh_candidates():
    from datasketch import MinHashLSH

    bodies = _variants()
    lsh = MinHashLSH(threshold=copies.CANDIDATE, num_perm=copies.NUM_PERM)
    sketches = []
    for number, body in enumerate(bodies):
        sketches.append(copies._base().copy())
        sketches[-1].update_batch(copies.shingles(body))
        lsh.insert(number, sketches[-1])
    expected = set()
    for number, sketch in enumerate(sketches):
        expected |= {(min(number, other), max(number, other)) for other in lsh.query(sketch) if other != number}
    found = set(copies._candidate_pairs([copies.signature(body) for body in bodies]))
    assert found == expected
    assert 0 < len(found) < len(bodies) * (len(bodies) - 1) // 2  # some pairs proposed, not all


class _Scored(wq.Query):
    """A query matching given documents with given scores (a real Whoosh matcher over a real
    index), to place a better copy of a story early in a long list."""

    def __init__(self, scores: dict[int, float]):
        self.scores = scores

    def matcher(self, searcher, context=None):
        docs = sorted(self.scores)
        return ArrayMatcher(docs, [self.scores[d] for d in docs])


def test_a_better_copy_does_not_make_the_page_skip_hits(tmp_path):
    """A copy replacing a worse one while the page is not yet full leaves room for every later
    hit: the page is the best of all the stories, however many blocks of documents come after."""
    schema = Schema(id=ID(stored=True))
    ix = create_in(str(tmp_path), schema)
    writer = ix.writer()
    for number in range(80):
        writer.add_document(id=f"doc{number}")
    writer.commit()
    # Doc 0 is the best hit; docs 1 and 2 are one story (2 the better copy); every other
    # document, in later blocks, scores less than doc 0 and must fill the page.
    scores = {0: 9.0, 1: 1.0, 2: 2.0, **{d: 3.0 - d / 100 for d in range(20, 80)}}
    member = [copies.Member(d, f"doc{d}", "", None) for d in (1, 2)]
    clusters = copies.Copies([tuple(member)])
    with ix.searcher() as searcher:
        results = copies.search(searcher, _Scored(scores), clusters, limit=10)
        got = [results.docnum(i) for i in range(results.scored_length())]
    want = sorted((d for d in scores if d != 1), key=lambda d: -scores[d])[:10]
    assert got == want
