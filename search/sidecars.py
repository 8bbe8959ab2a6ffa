"""Data computed over a whole generation after its documents are written, kept beside it.

A rebuild or an update calls :func:`write` on the finished build directory, before it is
published, for the near-duplicate clusters (:mod:`search.copies`, ``copies.json``) and the
suggestions (:mod:`search.suggest`, ``suggest.tsv``, from the index's words and the titles). A
rebuild hands over what it already holds (:class:`Built`: a few stored fields, the MinHash
signatures its workers computed, the word counts of the merge); an update has the stored articles
and the term index read again. :class:`search.NewsIndex` loads each file once per process and generation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index

from . import copies, suggest
from . import schema as fields


def write(generation: Path, built: Built | None = None) -> dict:
    """Write the sidecar files of a finished generation; returns figures for its metadata.

    :param built: what the rebuild already knows of each document (saves reading every stored
        document again); without it, everything is read from the generation
    """
    ix = whoosh_index.open_dir(str(generation))
    try:
        with ix.reader() as reader:
            documents = reader.doc_count_all()
            titles: list[tuple[int, str]] = []

            def stored_articles():
                if built is not None:
                    for docnum, stored in enumerate(built.stored):
                        titles.append((docnum, stored[fields.TITLE]))
                        yield docnum, stored
                    return
                for docnum, stored in reader.iter_docs():
                    titles.append((docnum, stored.get(fields.TITLE, "")))
                    yield docnum, stored

            def body_of(docnum: int) -> str:
                return reader.stored_fields(docnum).get(fields.BODY, "")

            signatures = built.signatures.__getitem__ if built is not None else None
            found = copies.write(generation, stored_articles(), documents, fields, body_of, signatures)
            clusters = copies.Copies.load(generation, documents)
            weighted = ((title, 1 + len(clusters.others(docnum))) for docnum, title in titles)
            counted = built.term_counts if built is not None else None
            words = suggest.write(generation, reader, weighted, fields, counted)
    finally:
        ix.close()
    return {"copies": found, "suggestions": words}


@dataclass
class Built:
    """What a rebuild knows of each document once it is written, in document order: a few stored
    fields (id, title, source, date) and the body's MinHash (:func:`search.copies.signature`); and
    the number of documents holding each title and body word, summed over both fields."""

    stored: list[dict] = field(default_factory=list)
    signatures: list[bytes | None] = field(default_factory=list)
    term_counts: dict[bytes, int] | None = None


__all__ = ["Built", "write"]
