"""Data computed over a whole generation after its documents are written, kept beside it.

A rebuild or an update calls :func:`write` on the finished build directory, before it is
published, for the near-duplicate clusters (:mod:`search.copies`, ``copies.json``) and the
suggestions (:mod:`search.suggest`, ``suggest.tsv.zst``, from the index's words and the titles) and the
pinyin of the suggestion words (:mod:`search.pinyin`, ``pinyin.tsv``). A
rebuild hands over what it already holds (:class:`Built`: a few stored fields, the MinHash
signatures its workers computed, the word counts of the merge); an update has the stored articles
and the term index read again. :class:`search.NewsIndex` loads each file once per process and
generation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index

from . import copies, pinyin, suggest
from . import schema as fields

#: The copies signature (:func:`search.copies.signature`: a key per LSH band) of every article of
#: a generation, by the digest of its body: an update computes only those of articles it has not
#: seen (``signatures.keys`` holds a line naming how they were computed,
#: :data:`search.copies.SIGNATURE_KIND`, then the digests in order). A generation written before
#: signatures were band keys holds whole MinHashes (:data:`search.copies.MINHASH_KIND`): an update
#: reads them and turns them into band keys, which are a function of them.
SIGNATURES = "signatures.bin"


def write(generation: Path, built: Built | None = None, previous: Path | None = None) -> dict:
    """Write the sidecar files of a finished generation; returns figures for its metadata.

    :param built: what the rebuild already knows of each document (saves reading every stored
        document again); without it, the stored documents are read from the generation
    :param previous: the generation this one was updated from: the signatures of the bodies it
        already held are taken from there instead of being computed again
    """
    ix = whoosh_index.open_dir(str(generation))
    try:
        with ix.reader() as reader:
            documents = reader.doc_count_all()
            if built is None:
                articles, signatures = _read(reader, _load_signatures(previous))
                counted = None
            else:
                articles, signatures, counted = list(enumerate(built.stored)), built.signatures, built.term_counts

            def body_of(docnum: int) -> str:
                return reader.stored_fields(docnum).get(fields.BODY, "")

            return write_from(generation, reader, documents, articles, signatures, counted, body_of)
    finally:
        ix.close()


def write_from(generation: Path, reader, documents: int, articles, signatures, counted, body_of) -> dict:
    """:func:`write` from what it reads: ``reader`` (the index's words; of a sharded index, a
    reader over every shard), ``articles`` as ``(docnum, stored)`` (of a sharded index, the number
    is the article's place in the whole index, :mod:`search.shards`), their ``signatures``, the
    words ``counted`` by the rebuild (or ``None``) and ``body_of(docnum)``."""
    by_docnum = dict(zip((docnum for docnum, _ in articles), signatures, strict=True))
    found = copies.write(generation, articles, documents, fields, body_of, by_docnum.__getitem__)
    clusters = copies.Copies.load(generation, documents)
    weighted = ((stored[fields.TITLE], 1 + len(clusters.others(docnum))) for docnum, stored in articles)
    singles: dict[str, int] = {}
    words = suggest.write(generation, reader, weighted, fields, counted, singles)
    vocabulary = suggest.word_weights(generation) + list(singles.items())
    words["pinyin"] = pinyin.write(generation, vocabulary, suggest.dictionary_words())
    _save_signatures(generation, [stored[fields.DIGEST] for _, stored in articles], signatures)
    return {"copies": found, "suggestions": words}


def _read(reader, known: dict[str, bytes | None]) -> tuple[list[tuple[int, dict]], list[bytes | None]]:
    """The stored articles of a generation and their signatures (from ``known`` by digest, else
    computed from the body)."""
    articles, signatures = [], []
    for docnum, stored in reader.iter_docs():
        digest = stored.get(fields.DIGEST, "")
        # An article stored without a digest (an index written by another version) has its own body signed.
        signature = known[digest] if digest and digest in known else copies.signature(stored.get(fields.BODY, ""))
        light = {name: stored.get(name) for name in (fields.ID_FIELD, fields.SOURCE, fields.PUBLISHED)}
        exact = copies.exact_key(stored.get(fields.BODY, ""), digest) if digest else None
        light[copies.EXACT_KEY] = exact
        articles.append((docnum, {**light, fields.TITLE: stored.get(fields.TITLE, ""), fields.DIGEST: digest}))
        signatures.append(signature)
    return articles, signatures


_NONE = bytes(copies.SIGNATURE_BYTES)  # a body too short to compare (no signature is all zeros)
_KIND_LINE = f"# {copies.SIGNATURE_KIND}"
_MINHASH_KIND_LINE = f"# {copies.MINHASH_KIND}"


def _save_signatures(generation: Path, digests: list[str], signatures: list[bytes | None]) -> None:
    with open(generation / SIGNATURES, "wb") as out:
        out.writelines(signature or _NONE for signature in signatures)
    (generation / SIGNATURES).with_suffix(".keys").write_text("\n".join([_KIND_LINE, *digests]), encoding="utf-8")


def _load_signatures(generation: Path | None) -> dict[str, bytes | None]:
    """The signatures saved beside ``generation`` by digest (empty when there are none or they were
    computed another way; whole MinHashes of an earlier version are turned into band keys)."""
    if generation is None:
        return {}
    try:
        blob = (generation / SIGNATURES).read_bytes()
        kind, *digests = (generation / SIGNATURES).with_suffix(".keys").read_text(encoding="utf-8").split("\n")
    except OSError:
        return {}
    if kind == _MINHASH_KIND_LINE and len(blob) == copies.MINHASH_BYTES * len(digests):
        blob = _band_keys_of_minhashes(blob)
        kind = _KIND_LINE
    size = copies.SIGNATURE_BYTES
    if kind != _KIND_LINE or len(blob) != size * len(digests):
        return {}  # computed otherwise (another version): compute them again
    pieces = (blob[i : i + size] for i in range(0, len(blob), size))
    return {digest: (None if piece == _NONE else piece) for digest, piece in zip(digests, pieces, strict=True)}


def _band_keys_of_minhashes(blob: bytes) -> bytes:
    """Saved whole MinHashes as saved band keys (an all-zero row, no MinHash, stays all zeros)."""
    import numpy as np

    rows = np.frombuffer(blob, dtype="<u4").reshape(-1, copies.NUM_PERM)
    keys = np.frombuffer(copies.band_keys(blob), dtype="<u8").reshape(len(rows), -1).copy()
    keys[~rows.any(axis=1)] = 0
    return keys.astype("<u8").tobytes()


@dataclass
class Built:
    """What a rebuild knows of each document once it is written, in document order: a few stored
    fields (id, title, source, date, digest) and the body's copies signature
    (:func:`search.copies.signature`);
    and the number of documents holding each title and body word, summed over both fields."""

    stored: list[dict] = field(default_factory=list)
    signatures: list[bytes | None] = field(default_factory=list)
    term_counts: dict[bytes, int] | None = None


__all__ = ["SIGNATURES", "Built", "write", "write_from"]
