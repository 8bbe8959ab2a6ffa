"""Data computed over a whole generation after its documents are written, kept beside it.

A rebuild calls :func:`write` on the finished build directory, before it is published: one pass
over the stored articles feeds the near-duplicate clustering (:mod:`search.copies`,
``copies.json``) and the suggestions (:mod:`search.suggest`, ``suggest.tsv``, from the index's
words and the titles). :class:`search.NewsIndex` loads each file once per process and generation.
"""

from __future__ import annotations

from pathlib import Path

from whoosh import index as whoosh_index

from . import copies, suggest
from . import schema as fields


def write(generation: Path) -> dict:
    """Write the sidecar files of a finished generation; returns figures for its metadata."""
    ix = whoosh_index.open_dir(str(generation))
    try:
        with ix.reader() as reader:
            titles: list[tuple[int, str]] = []

            def stored_articles():
                for docnum, stored in reader.iter_docs():
                    titles.append((docnum, stored.get(fields.TITLE, "")))
                    yield docnum, stored

            def body_of(docnum: int) -> str:
                return reader.stored_fields(docnum).get(fields.BODY, "")

            found = copies.write(generation, stored_articles(), reader.doc_count_all(), fields, body_of)
            clusters = copies.Copies.load(generation, reader.doc_count_all())
            weighted = ((title, 1 + len(clusters.others(docnum))) for docnum, title in titles)
            words = suggest.write(generation, reader, weighted, fields)
    finally:
        ix.close()
    return {"copies": found, "suggestions": words}


__all__ = ["write"]
