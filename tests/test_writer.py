"""The fast segment writer: the same index as Whoosh's own writer, whatever the number of workers."""

from __future__ import annotations

import pytest
from whoosh import index as whoosh_index

from search.indexer import document
from search.schema import build_schema
from search.sources import read_sources
from search.writer import SegmentBuilder


def _contents(ix) -> dict:
    """Everything a reader can see in an index: terms, postings, term statistics, stored fields,
    field lengths and columns."""
    with ix.reader() as reader:
        schema = ix.schema
        terms = {}
        for fieldname, text in reader.all_terms():
            info = reader.term_info(fieldname, text)
            postings = reader.postings(fieldname, text)
            listing = []
            while postings.is_active():
                listing.append((postings.id(), postings.weight(), postings.value()))
                postings.next()
            terms[(fieldname, text)] = (
                info.doc_frequency(),
                info.weight(),
                info.min_length(),
                info.max_length(),
                info.max_weight(),
                info.min_id(),
                info.max_id(),
                listing,
            )
        scorable = [name for name in schema.names() if schema[name].scorable]
        lengths = {
            name: ([reader.doc_field_length(d, name) for d in range(reader.doc_count_all())], reader.field_length(name))
            for name in scorable
        }
        columns = {
            name: list(reader.column_reader(name)) for name in schema.names() if schema[name].column_type is not None
        }
        return {
            "count": reader.doc_count_all(),
            "stored": list(reader.all_stored_fields()),
            "terms": terms,
            "lengths": lengths,
            "columns": columns,
        }


def _documents(sources_dir) -> list[dict]:
    seen = set()
    docs = []
    for article in read_sources([sources_dir], lambda error: None):
        if article.digest not in seen and article.id not in seen:
            seen.update((article.digest, article.id))
            docs.append(document(article))
    return docs


@pytest.fixture(scope="module")
def whoosh_written(tmp_path_factory, sources_dir):
    """The fixture articles written the plain Whoosh way (one writer, add_document)."""
    path = tmp_path_factory.mktemp("whoosh-writer")
    ix = whoosh_index.create_in(str(path), build_schema())
    with ix.writer() as writer:
        for doc in _documents(sources_dir):
            writer.add_document(**doc)
    return _contents(whoosh_index.open_dir(str(path)))


@pytest.mark.parametrize("workers, chunk_chars", [(1, 10**9), (1, 20_000), (2, 20_000)])
def test_same_index_as_whoosh_writer(tmp_path, sources_dir, whoosh_written, workers, chunk_chars):
    with SegmentBuilder(tmp_path, build_schema(), workers=workers, chunk_chars=chunk_chars) as builder:
        for doc in _documents(sources_dir):
            builder.add(doc)
        assert builder.finish() == whoosh_written["count"]
    written = _contents(whoosh_index.open_dir(str(tmp_path)))
    assert written["stored"] == whoosh_written["stored"]
    assert written["lengths"] == whoosh_written["lengths"]
    assert written["columns"] == whoosh_written["columns"]
    assert written["terms"].keys() == whoosh_written["terms"].keys()
    assert written["terms"] == whoosh_written["terms"]
    assert not (tmp_path / "chunks").exists(), "chunk files are removed once merged"
