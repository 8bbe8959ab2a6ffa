"""Property-based tests (hypothesis): whatever a reader types and whatever a source file holds,
the answer is a result or one of our own one-line errors, never an unexpected exception or a 500.

The number of examples is kept small for the normal run; ``NEWS_SEARCH_FUZZ_EXAMPLES=2000 python
-m pytest tests/test_fuzz.py`` runs many more.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import math
import os
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import NewsIndex, QueryError, SourceError
from search.cli import cli
from search.sources import read_sources

from .audit import fragment_problems, page_problems
from .helpers import FIXTURES, write_jsonl

EXAMPLES = int(os.environ.get("NEWS_SEARCH_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Queries ---------------------------------------------------------------------------------------------

#: Pieces of query syntax, good and broken, to put together at random.
SYNTAX = [
    "重庆", "一区两群", "轨道交通", "a", "AI", "2020", '"', "“", "”", "「", "(", ")", "[", "]", "{", "}",
    "AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO", "-", "+", "^", "^2", "^0", "^-1", "^99999999999999999999",
    "^" + "9" * 400, "*", "?", "~", "~2", ":", "title:", "body:", "source:", "grams:", "published:", "id:",
    "nosuchfield:", "url:", "digest:", "\\", "'", "<script>", "&", "%", "\x00", "\n", "\t", "\r", "\x7f", "\u200b",
    "\u202e", "\ufeff", "\ud800", "\udfff", "\U0010ffff", "😀", "ＡＩ", "　", "\u0301",
]  # fmt: skip
ANY_CHAR = st.characters(exclude_categories=())  # every code point, lone surrogates included
queries = st.one_of(
    st.text(ANY_CHAR, max_size=80),
    st.lists(st.sampled_from(SYNTAX), max_size=60).map(" ".join),
    st.lists(st.sampled_from(SYNTAX), max_size=60).map("".join),
    st.integers(1, 400).map(lambda n: "(" * n + "重庆" + ")" * n),
    st.integers(1, 400).map(lambda n: "(" * n + "重庆"),
    st.integers(1, 300).map(lambda n: '"重庆' * n),
    st.tuples(st.text(ANY_CHAR, min_size=1, max_size=8), st.integers(400, 10_000)).map(
        lambda t: (t[0] * t[1])[: t[1]]
    ),  # long, up to 10,000 characters
)
pages = st.one_of(st.integers(-5, 10**12), st.sampled_from(["1", "x", "", None, "1e3", "٣", 2.5, float("nan")]))
dates = st.one_of(st.none(), st.text(ANY_CHAR, max_size=20), st.dates().map(str), st.sampled_from(["2020-02-30"]))


def one_line(message: str) -> bool:
    return bool(message) and "\n" not in message and "Traceback" not in message


@FUZZ
@given(q=queries)
def test_library_search_gives_results_or_a_query_error(news, q):
    try:
        page = news.search(q, facets=True)
    except QueryError as error:
        assert one_line(str(error))
        return
    data = page.to_dict()
    json.dumps(data, allow_nan=False, ensure_ascii=False).encode("utf-8")  # valid JSON, writable as UTF-8
    for hit in data["hits"]:
        assert hit["score"] is None or math.isfinite(hit["score"])
        assert not fragment_problems(hit["title_html"]) and not fragment_problems(hit["snippet"])


@FUZZ
@given(
    q=queries,
    page=pages,
    per_page=pages,
    sort=st.one_of(st.sampled_from(["relevance", "date"]), st.text(ANY_CHAR, max_size=10)),
    date_from=dates,
    date_to=dates,
    source=st.one_of(st.none(), st.text(ANY_CHAR, max_size=30)),
)
def test_library_search_parameters_give_results_or_a_query_error(
    news, q, page, per_page, sort, date_from, date_to, source
):
    try:
        news.search(
            q, page=page, per_page=per_page, sort=sort, date_from=date_from, date_to=date_to, source=source, facets=True
        )
    except QueryError as error:
        assert one_line(str(error))


@FUZZ
@given(text=st.text(ANY_CHAR, max_size=200), q=queries)
def test_highlighting_any_text_for_any_query_is_escaped(text, q):
    html = str(NewsIndex.highlight(text, q))
    assert not fragment_problems(html)


# The web API and pages ---------------------------------------------------------------------------------


def encode(value) -> str:
    """A query-string value as a client might send it: text as UTF-8, bytes as they are (any)."""
    if isinstance(value, bytes):
        return quote_from_bytes(value)
    return quote(str(value).encode("utf-8", "surrogatepass"))


raw_values = st.one_of(queries, st.binary(max_size=40), pages)
PARAMS = ["q", "page", "per_page", "sort", "from", "to", "source"]


@FUZZ
@given(params=st.dictionaries(st.sampled_from(PARAMS), raw_values), path=st.sampled_from(["/api/search", "/search"]))
def test_web_answers_any_request_with_a_page_or_a_400(client, params, path):
    query_string = "&".join(f"{name}={encode(value)}" for name, value in params.items())
    response = client.get(f"{path}?{query_string}")
    if path == "/search" and response.status_code == 302:
        return  # no query: back to the front page
    assert response.status_code in (200, 400), response.status_code
    body = response.get_data(as_text=True)
    if path == "/api/search":
        data = json.loads(body)
        assert "<" not in body and (response.status_code == 200) == ("hits" in data)
        if response.status_code == 400:
            assert one_line(data["error"]) and data["param"] in PARAMS
    else:
        assert not page_problems(body)


@FUZZ
@given(article_id=st.one_of(st.text(ANY_CHAR, max_size=300), st.binary(max_size=60)), q=raw_values)
def test_article_pages_answer_any_id_with_a_page_or_a_404(client, article_id, q):
    path = "/article/" + (quote_from_bytes(article_id) if isinstance(article_id, bytes) else encode(article_id))
    response = client.get(f"{path}?q={encode(q)}")
    assert response.status_code in (200, 404, 308), response.status_code
    if response.status_code != 308:
        assert not page_problems(response.get_data(as_text=True))


# The CLI -------------------------------------------------------------------------------------------------


@settings(FUZZ, max_examples=max(10, EXAMPLES // 3))
@given(q=queries, as_json=st.booleans())
def test_cli_search_gives_results_or_one_error_line(index_dir, q, as_json):
    args = ["search", q, "--index", str(index_dir)] + (["--json"] if as_json else [])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code == 1:
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ")
    elif as_json:
        json.loads(result.output)


# Source readers -----------------------------------------------------------------------------------------

SUFFIXES = [
    ".txt", ".xml", ".dat", ".json", ".jsonl", ".ndjson", ".html", ".htm", ".shtml", "", ".csv",
    ".gz", ".jsonl.gz", ".xml.bz2", ".txt.xz", ".json.gz",
]  # fmt: skip
#: Starts that lead each reader past its first checks.
HEADS = [
    b"", b"{", b'{"id": "1", "body": "', b"[", b'[{"title": "', b"<doc>", b"<doc><content>",
    b"<docs><doc><url>http://a.b/", b"<html><body><p>", b"<!DOCTYPE html><html><head><title>",
    b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00",
    "重庆日报 2020-06-20 09:53 来源：".encode(), "标题\n2020年6月20日 9:53 来源：重庆日报\n".encode("gb18030"),
]  # fmt: skip
COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}
#: Real files of every format, to be cut short anywhere.
SAMPLES = sorted(
    [p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in {".txt", ".xml", ".dat", ".htm", ".html", ".jsonl"}]
)


def read_all(path: Path) -> tuple[list, list[SourceError]]:
    errors: list[SourceError] = []
    articles = list(read_sources([path], errors.append))
    for error in errors:
        assert isinstance(error, SourceError) and one_line(error.reason), error
    return articles, errors


def compressed(data: bytes, suffix: str, compress: bool) -> bytes:
    for ending, function in COMPRESS.items():
        if suffix.endswith(ending) and compress:
            return function(data)
    return data


@settings(FUZZ, max_examples=EXAMPLES * 2)
@given(
    head=st.sampled_from(HEADS),
    body=st.binary(max_size=600),
    suffix=st.sampled_from(SUFFIXES),
    compress=st.booleans(),
)
def test_readers_report_any_bytes_as_source_errors(tmp_path_factory, head, body, suffix, compress):
    path = tmp_path_factory.mktemp("bytes") / f"file{suffix}"
    path.write_bytes(compressed(head + body, suffix, compress))
    articles, errors = read_all(path)
    assert all(article.path == str(path) for article in articles)
    assert all(error.path == str(path) for error in errors)


@settings(FUZZ, max_examples=EXAMPLES * 2)
@given(sample=st.sampled_from(SAMPLES), cut=st.floats(0, 1), compress=st.sampled_from(["", ".gz", ".bz2", ".xz"]))
def test_readers_report_truncated_files_as_source_errors(tmp_path_factory, sample, cut, compress):
    data = sample.read_bytes()
    if compress:
        data = COMPRESS[compress](data)
    path = tmp_path_factory.mktemp("cut") / (sample.name + compress)
    path.write_bytes(data[: int(len(data) * cut)])
    read_all(path)


@settings(FUZZ, max_examples=max(5, EXAMPLES // 10))
@given(
    broken=st.lists(
        st.tuples(st.sampled_from(SUFFIXES), st.sampled_from(HEADS), st.binary(max_size=300)), min_size=1, max_size=4
    )
)
def test_a_folder_with_broken_files_still_indexes_the_rest(tmp_path_factory, broken):
    folder = tmp_path_factory.mktemp("folder")
    good = [{"id": f"good-{i}", "title": f"好新闻{i}", "body": f"完好的文章第{i}篇，缙云山。"} for i in range(3)]
    write_jsonl(folder / "good.jsonl", good)
    for i, (suffix, head, body) in enumerate(broken):
        (folder / f"broken-{i}{suffix}").write_bytes(head + body)
    summary = NewsIndex.rebuild([folder], folder.parent / (folder.name + "-ix"))
    assert summary.files == len(broken) + 1
    assert {s.path for s in summary.skipped} <= {str(p) for p in folder.iterdir()}
    found = NewsIndex.open(folder.parent / (folder.name + "-ix")).search("缙云山", per_page=50)
    assert {hit.id for hit in found.hits} >= {"good-0", "good-1", "good-2"}
