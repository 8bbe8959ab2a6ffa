"""Writing a Whoosh index fast: articles analysed in worker processes, posting lists merged once.

Whoosh's own writer sends every posting through a generic pipeline written in Python (a sorting
pool, temporary run files, several method calls per posting), which on a large corpus costs more
than jieba's own segmentation, on one core. This module writes the same index -- the same
terms, postings, stored fields and columns in the files of :mod:`search.codec` (the tests compare
it with Whoosh's own writer through that codec) -- with much less work per posting, on every core:

* The parent process reads the articles (the caller feeds :meth:`SegmentBuilder.add`), numbers
  them in reading order and hands them out in chunks.
* A worker process analyses a chunk (jieba words and sub-words, character bigrams), groups the
  postings by term and writes each term's posting list in the codec's block format, with the final
  document numbers, to the chunk's file; it also pickles and compresses each stored document
  (with a Zstandard dictionary the parent trained on the first chunk's documents).
* The parent writes the per-document data (stored fields, field lengths, sortable columns) as the
  chunks come back, in order, and at the end merges the chunks into the one postings file of a
  single segment (a large merge is shared with a child process, see :func:`_merge`). A posting
  list is a chain of self-describing blocks, so a term found in several chunks gets its blocks
  laid end to end, without decoding them; a short list goes into the term's record.

Chunks are cut from the input alone (by characters of text), so the index is the same whatever
the number of worker processes; a small input is analysed in the parent, without any worker.

The same work can run on a Ray cluster instead (``tasks=``, a :class:`search.cluster.TaskPool`):
chunks are analysed by tasks anywhere in the cluster, and the merge is a task too (its second
run another task), all writing into the build directory, a path every node reaches. Only the
dispatch differs; the functions that do the work, and so the index, are the same.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import mmap
import multiprocessing
import os
import pickle
import shutil
import struct
import threading
import time
from array import array
from collections import defaultdict, deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from functools import partial
from hashlib import md5
from itertools import groupby, islice
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

import zstandard
from whoosh import formats
from whoosh.codec.whoosh3 import W3Codec
from whoosh.filedb import filetables
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC
from whoosh.system import pack_ushort
from whoosh.util.numeric import length_to_byte

from . import codec
from .analysis import BigramTokenizer, ChineseTokenizer, gram_tokens, segmenter, word_tokens

#: Name of the index inside a generation directory (Whoosh's default).
INDEX_NAME = "MAIN"
#: Text characters per chunk: bounds and the number of chunks aimed at for a large input. Bigger
#: chunks mean less work per posting (a term's list is written once per chunk, and merged from
#: fewer pieces) and more memory in each worker (about 60 bytes a posting while it is written).
MIN_CHUNK_CHARS = 1_000_000
MAX_CHUNK_CHARS = 8_000_000
TARGET_CHUNKS = 4

_CODEC = codec.NewsCodec()
_BLOCK_LIMIT = codec.BLOCK
_PROTOCOL = pickle.HIGHEST_PROTOCOL
#: Documents whose stored fields train the Zstandard dictionary (from the first chunk), and its size.
DICT_SAMPLES = 500
DICT_SIZE = 256 * 1024


def default_workers() -> int:
    """Worker processes for a rebuild: one per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def chunk_chars_for(total_bytes: int) -> int:
    """Characters of text per chunk for sources of ``total_bytes`` (a rough size is enough)."""
    # About 3 bytes a character in UTF-8; compressed sources are larger than they look, which only
    # makes chunks bigger, up to the bound.
    return max(MIN_CHUNK_CHARS, min(MAX_CHUNK_CHARS, total_bytes // 3 // TARGET_CHUNKS))


# Analysing a chunk (in a worker) ---------------------------------------------------------------------


def _fast_postings(field):
    """What makes the postings of a field we can index without Whoosh (called once a chunk), else None."""
    fmt = field.format
    if type(fmt) is not formats.Positions or fmt.field_boost != 1.0:
        return None
    analyzer = field.analyzer
    if type(analyzer) is ChineseTokenizer:
        return partial(_ChunkPostings, partial(word_tokens, userdict=analyzer.userdict))
    if type(analyzer) is BigramTokenizer:
        return partial(_ChunkPostings, gram_tokens)
    return None


class _ChunkPostings:
    """The postings of one positions field of a chunk, found for the whole chunk at once.

    Adding a document only keeps its text. When the chunk is written, ``tokenize`` (an
    :mod:`search.analysis` function: :func:`word_tokens`, :func:`gram_tokens`) gives every token
    of every document as arrays, and one stable sort groups them into postings. A document's length
    is known only then (:meth:`lengths`).
    """

    def __init__(self, tokenize):
        self.tokenize = tokenize
        self.texts: list[str] = []
        self.docnums = array("I")
        self._tokens = None

    def add(self, docnum: int, text: str) -> None:
        self.texts.append(text)
        self.docnums.append(docnum)

    def tokens(self):
        if self._tokens is None:
            self._tokens = self.tokenize(self.texts)
            self.texts = []
        return self._tokens

    def lengths(self) -> Iterator[tuple[int, int]]:
        """``(docnum, length)`` of each document added."""
        return zip(self.docnums, self.tokens().lengths.tolist(), strict=True)

    def grouped(self, lbs: array | None, first: int) -> _Grouped:
        """The postings in term order (terms sorted, each term's in document order), in arrays."""
        import numpy as np

        tokens = self.tokens()
        # Postings are (term, document) pairs: one stable sort puts them in term then document
        # order, each one's tokens together, in position order.
        paired = tokens.term * len(self.docnums) + tokens.text
        order = np.argsort(paired, kind="stable")
        paired = paired[order]
        starts = np.flatnonzero(np.diff(paired, prepend=-1))  # each posting's first token
        freqs = np.diff(np.append(starts, len(paired))).astype(np.uint32)
        heads = order[starts]
        positions = tokens.pos[order]
        return _grouped(
            tokens.terms,
            np.bincount(tokens.term[heads], minlength=len(tokens.terms)),
            np.frombuffer(self.docnums, dtype=np.uint32)[tokens.text[heads]],
            freqs,
            starts,
            positions,
            lbs,
            first,
        )


def _grouped(terms, counts, docs, freqs, heads, positions, lbs: array | None, first: int) -> _Grouped:
    """A positions field's postings, in term then document order.

    :param counts: postings of each term
    :param docs: document of each posting; ``freqs``: its count; ``heads``: where its first
        position is in ``positions``
    :param positions: the positions of every posting, one posting after the other
    """
    import numpy as np

    ends = np.cumsum(counts)
    gaps = positions.astype(np.int64)
    gaps[1:] -= positions[:-1]
    gaps[heads] = positions[heads]  # each posting's first position, then gaps
    posting_lbs = np.zeros(len(docs), dtype=np.uint8) if lbs is None else np.frombuffer(lbs, np.uint8)[docs - first]
    return _Grouped(terms, counts, ends - counts, ends, docs, freqs, gaps, posting_lbs)


class _Grouped(NamedTuple):
    """A positions field's postings grouped by term: term ``i`` has postings ``starts[i]:ends[i]``."""

    terms: list[str]
    counts: object  # numpy arrays, by term
    starts: object
    ends: object
    docs: object  # numpy arrays, by posting
    freqs: object
    gaps: object  # by position: each posting's first position, then the gaps to its next
    lbs: object


class _ChunkAnalyser:
    """Postings of one chunk of documents, grouped by field and term, written as the codec's blocks."""

    def __init__(self, schema, first_docnum: int, dictionary: bytes | None = None):
        self.schema = schema
        self._zstd = codec.stored_compressor(dictionary)
        self.first = first_docnum
        self.count = 0
        # field -> _ChunkPostings, or term -> (docnums, weights, values) for other fields
        self.postings: dict[str, object] = {}
        # field -> length byte of each document of the chunk (scorable fields)
        self.length_bytes: dict[str, array] = {}
        self.docs: list[tuple] = []
        self._fast = {name: _fast_postings(schema[name]) for name in schema.names()}

    def add(self, doc: dict) -> None:
        schema = self.schema
        docnum = self.first + self.count
        stored = {}
        lengths = []
        column_values = []
        for name in sorted(doc):
            value = doc[name]
            if value is None or name.startswith("_"):
                continue
            field = schema[name]
            length = 0
            if field.indexed:
                fast = self._fast[name]
                if fast is not None:
                    postings = self.postings.get(name)
                    if postings is None:
                        postings = self.postings[name] = fast()
                    length = postings.add(docnum, value)  # None: known when the chunk is written
                else:
                    length = self._add_generic(self.postings.setdefault(name, {}), docnum, field, value)
                if field.scorable:
                    self.length_bytes.setdefault(name, array("B", bytes(self.count))).append(
                        length_to_byte(length or 0)
                    )
                    if length:
                        lengths.append((name, length))
            if field.stored:
                stored[name] = value
            if field.column_type is not None:
                column_values.append((name, field.to_column_value(value)))
        for column in self.length_bytes.values():
            if len(column) == self.count:  # a scorable field this document does not have
                column.append(0)
        blob = self._zstd.compress(pickle.dumps(stored, _PROTOCOL)) if stored else None
        self.docs.append((blob, lengths, column_values))
        self.count += 1

    @staticmethod
    def _add_generic(terms: dict, docnum: int, field, value) -> int:
        length = 0
        for tbytes, freq, weight, vbytes in field.index(value):
            length += freq
            entry = terms.get(tbytes)
            if entry is None:
                terms[tbytes] = ([docnum], [weight], [vbytes])
            else:
                entry[0].append(docnum)
                entry[1].append(weight)
                entry[2].append(vbytes)
        return length

    def _known_lengths(self, name: str, lengths: Iterator[tuple[int, int]]) -> None:
        """Put in the lengths of a field that are known only once the whole chunk is analysed."""
        column = self.length_bytes[name]
        for docnum, length in lengths:
            if length:
                column[docnum - self.first] = length_to_byte(length)
                self.docs[docnum - self.first][1].append((name, length))

    def write(self, path: Path) -> dict[str, int]:
        """Write every posting list to ``path`` and the term table beside it.

        :returns: the number of terms of each field, in the (sorted) order written
        """
        for name, postings in self.postings.items():
            if isinstance(postings, _ChunkPostings) and name in self.length_bytes:
                self._known_lengths(name, postings.lengths())
        counts = {}
        tables = []
        keys = []
        offset = 0
        with open(path, "wb") as out:
            for name in sorted(self.postings):
                postings = self.postings[name]
                lbs = self.length_bytes.get(name)
                if isinstance(postings, _ChunkPostings):
                    field_keys, blocks, table = _position_lists(postings.grouped(lbs, self.first), offset)
                else:
                    fmt = self.schema[name].format
                    field_keys, blocks, table = _generic_lists(postings, fmt, lbs, self.first, offset)
                out.writelines(blocks)
                offset += sum(map(len, blocks))
                keys.extend(field_keys)
                tables.append(table)
                counts[name] = len(field_keys)
                self.postings[name] = None
        path.with_suffix(".keys").write_bytes(b"".join(keys))
        path.with_suffix(".stats").write_bytes(b"".join(tables))
        return counts


def _generic_lists(postings: dict, format_, lbs: array | None, first: int, offset: int):
    """``(keys, blocks, table)`` of a field indexed the generic way: one term at a time."""
    codec.check_postings_format(format_)
    decode = format_.decoder("positions") if type(format_) is formats.Positions else None
    keys = []
    blocks = []
    records = []
    for key in sorted(postings):
        docs, weights, values = postings[key]
        freqs = codec.whole_numbers(weights)
        doc_lbs = [0] * len(docs) if lbs is None else [lbs[d - first] for d in docs]
        data = b"".join(
            codec.encode_block(
                docs[at : at + _BLOCK_LIMIT],
                freqs[at : at + _BLOCK_LIMIT],
                None if decode is None else list(map(decode, values[at : at + _BLOCK_LIMIT])),
                doc_lbs[at : at + _BLOCK_LIMIT],
            )
            for at in range(0, len(docs), _BLOCK_LIMIT)
        )
        keys.append(key)
        blocks.append(data)
        stats = (len(docs), sum(freqs), min(doc_lbs), max(doc_lbs), max(freqs), docs[0], docs[-1], len(data))
        records.append(_RECORD.pack(len(key), *stats, offset))
        offset += len(data)
    return keys, blocks, b"".join(records)


def _position_lists(grouped: _Grouped, offset: int):
    """``(keys, blocks, table)`` of a positions field, done a whole field at a time.

    A term's postings are cut into blocks of :data:`_BLOCK_LIMIT`; the varints of every document
    gap, frequency and position gap of the field are made at once (numpy), and each block is cut
    from them; the table is one numpy structured array. ``blocks`` is every block's bytes, in
    order. They are the bytes :func:`search.codec.encode_block` makes block by block (the tests
    compare the index with Whoosh's own writer through the codec).
    """
    import numpy as np

    terms, counts, starts, ends, docs, freqs, gaps, lbs = grouped
    size = len(terms)
    keys = [term.encode("utf-8") for term in terms]
    table = np.zeros(size, dtype=_RECORD_DTYPE)
    if not size:
        return keys, [], table.tobytes()
    freqs = freqs.astype(np.int64)
    table["key"] = np.fromiter(map(len, keys), dtype=np.uint16, count=size)
    table["df"] = counts
    table["weight"] = np.add.reduceat(freqs, starts)
    table["minlb"] = np.minimum.reduceat(lbs, starts)
    table["maxlb"] = np.maximum.reduceat(lbs, starts)
    table["maxweight"] = np.maximum.reduceat(freqs, starts)
    table["minid"] = docs[starts]
    table["maxid"] = docs[ends - 1]

    # The blocks: a term's postings in runs of _BLOCK_LIMIT (nearly every term has one run).
    per_term = (counts + _BLOCK_LIMIT - 1) // _BLOCK_LIMIT
    owner = np.repeat(np.arange(size), per_term)
    firsts = np.cumsum(per_term) - per_term  # each term's first block
    b_starts = starts[owner] + (np.arange(len(owner)) - firsts[owner]) * _BLOCK_LIMIT
    b_ends = np.minimum(b_starts + _BLOCK_LIMIT, ends[owner])
    wmax = np.maximum.reduceat(freqs, b_starts)
    # Document gaps: a block's first document, then differences.
    doc_gaps = np.diff(docs.astype(np.int64), prepend=0)
    doc_gaps[b_starts] = docs[b_starts]
    doc_bytes, doc_at = _varints(doc_gaps)
    freq_bytes, freq_at = _varints(freqs - 1)
    where_bytes, where_at = _varints(gaps)
    token_at = np.zeros(len(freqs) + 1, dtype=np.int64)
    np.cumsum(freqs, out=token_at[1:])
    where_at = where_at[token_at]  # by posting
    several = (wmax > 1).tolist()
    blocks = list(
        map(
            codec.block_bytes,
            (b_ends - b_starts).tolist(),
            docs[b_ends - 1].tolist(),
            wmax.tolist(),
            np.minimum.reduceat(lbs, b_starts).tolist(),
            np.maximum.reduceat(lbs, b_starts).tolist(),
            [
                doc_bytes[a:b] + freq_bytes[c:d] if more else doc_bytes[a:b]
                for a, b, c, d, more in zip(
                    doc_at[b_starts].tolist(),
                    doc_at[b_ends].tolist(),
                    freq_at[b_starts].tolist(),
                    freq_at[b_ends].tolist(),
                    several,
                    strict=True,
                )
            ],
            list(map(where_bytes.__getitem__, map(slice, where_at[b_starts].tolist(), where_at[b_ends].tolist()))),
        )
    )
    lengths = np.fromiter(map(len, blocks), dtype=np.int64, count=len(blocks))
    spans = np.add.reduceat(lengths, firsts)
    table["length"] = spans
    table["offset"] = offset + np.cumsum(spans) - spans
    return keys, blocks, table.tobytes()


def _varints(values):
    """The varints of ``values`` as bytes, and where each value's starts (one more at the end)."""
    import numpy as np

    sizes = codec.varint_sizes(values)
    at = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(sizes, out=at[1:])
    return codec.encode_varints(values, sizes).tobytes(), at


#: One term of a chunk's table: key length, its statistics, the length of its posting list and
#: where that is in the chunk's file (little-endian, packed): a struct for term-by-term code, a
#: numpy structured type for whole fields.
_RECORD_FIELDS = (
    ("key", "H"),
    ("df", "I"),
    ("weight", "Q"),
    ("minlb", "B"),
    ("maxlb", "B"),
    ("maxweight", "I"),
    ("minid", "I"),
    ("maxid", "I"),
    ("length", "Q"),
    ("offset", "Q"),
)
_RECORD = struct.Struct("<" + "".join(code for _, code in _RECORD_FIELDS))
_RECORD_DTYPE = [(name, "<" + code) for name, code in _RECORD_FIELDS]


def analyse_chunk(
    schema, number: int, first_docnum: int, docs: list[dict], directory: str, prepare=None, dictionary=None
) -> dict:
    """Analyse one chunk of documents and write its postings; return what the parent needs.

    :param prepare: called with each document before it is analysed (it may add fields); what it
        returns is handed back, in document order, as the chunk's ``extras``
    :param dictionary: the Zstandard dictionary stored fields are compressed with (None: none)
    """
    analyser = _ChunkAnalyser(schema, first_docnum, dictionary)
    extras = [] if prepare is not None else None
    for doc in docs:
        if prepare is not None:
            extras.append(prepare(doc))
        analyser.add(doc)
    path = Path(directory) / f"chunk-{number:05d}.pst"
    terms = analyser.write(path)  # first: it completes the documents' lengths
    return {
        "number": number,
        "first": first_docnum,
        "count": analyser.count,
        "docs": analyser.docs,
        "terms": terms,
        "path": str(path),
        "extras": extras,
    }


_task_ready = False


def analyse_chunk_task(*args) -> dict:
    """:func:`analyse_chunk` as a cluster task: the worker process is prepared as a local worker is
    (jieba loaded, the collector tuned) the first time it runs one."""
    global _task_ready
    if not _task_ready:
        _prepare_worker()
        _task_ready = True
    return analyse_chunk(*args)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` processes that analyse chunks (jieba loaded once in each)."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_process_context(),
        initializer=_init_worker,
        initargs=(os.getpid(),),
    )


def _process_context():
    """How to start workers: fork a single-threaded parent (fast, and a caller's script without a
    ``__main__`` guard is not run again); spawn from a threaded one (a server), where fork is unsafe."""
    method = "fork" if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


#: Collection thresholds in a worker: analysing makes millions of short-lived lists and dicts and
#: almost no cycles; at Python's default threshold the collector would run over and over in every
#: chunk, to free nothing.
_WORKER_GC = (50_000, 20, 100)


def _prepare_worker() -> None:
    """Load jieba once; set the collector for analysing."""
    segmenter()
    gc.freeze()  # what is loaded now (jieba's dictionary) is never garbage
    gc.set_threshold(*_WORKER_GC)


def _init_worker(parent_pid: int) -> None:
    """Prepare a worker process, and make it leave if the parent dies (a killed rebuild must not
    leave workers behind)."""
    _prepare_worker()

    def watch():
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# The parent: hand out chunks, write per-document data, merge ----------------------------------------


class SegmentBuilder:
    """Build a one-segment Whoosh index in ``directory`` from documents given in order.

    >>> with SegmentBuilder(path, schema, workers=2) as builder:   # doctest: +SKIP
    ...     for doc in docs:
    ...         builder.add(doc)
    ...     builder.finish()

    :param workers: worker processes (``0`` or ``1``: analyse in this process)
    :param chunk_chars: characters of text per chunk (see :func:`chunk_chars_for`)
    :param on_chunk: called with the number of documents written so far, as chunks complete
    :param prepare: a module-level function called with each document before it is analysed (in
        the worker analysing its chunk, or here when there are no workers); it may add fields,
        such as ones computed from the text, and what it returns is kept, in document order, in
        :attr:`extras`
    :param count_fields: fields whose terms' document counts are kept in :attr:`term_counts`
    :param tasks: a pool of cluster tasks (:class:`search.cluster.TaskPool`) that analyses every
        chunk and merges them instead of this machine's processes; ``workers`` is then the
        number of chunks analysed at once (the cluster's CPUs)
    :param pool: worker processes (:func:`worker_pool`) shared with other builders, which analyse
        this one's chunks too, at most ``2 * workers`` at a time (the shards of a rebuild); the
        caller shuts it down
    """

    def __init__(
        self,
        directory,
        schema,
        *,
        workers: int = 1,
        chunk_chars: int = MAX_CHUNK_CHARS,
        on_chunk=None,
        prepare=None,
        count_fields=(),
        tasks=None,
        pool=None,
    ):
        self.directory = Path(directory)
        self.tasks = tasks
        self.shared = pool
        self.schema = schema
        self.workers = workers
        self.chunk_chars = chunk_chars
        self.on_chunk = on_chunk
        self.prepare = prepare
        self.count_fields = frozenset(count_fields)
        #: After :meth:`finish`: the number of documents holding each term of ``count_fields``.
        self.term_counts: dict[bytes, int] = {}
        #: What ``prepare`` returned for each document, in document order.
        self.extras: list = []
        self.storage = FileStorage(str(self.directory))
        self.storage.create()
        self.scratch = self.directory / "chunks"
        self.scratch.mkdir()
        self.segment = _CODEC.new_segment(self.storage, INDEX_NAME)
        self.perdoc: codec.NewsPerDocWriter | None = None  # made with the first chunk's dictionary
        self.dictionary: bytes | None = None
        self._docs: list[dict] = []
        self._chars = 0
        self._count = 0
        self._written = 0
        self._number = 0
        self._pool = None  # a ProcessPoolExecutor, or the cluster's tasks
        self._pending: dict[int, Future] = {}
        self._done: dict[int, dict] = {}
        self._chunks: list[dict] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Stop the workers (also when a rebuild fails half way)."""
        if self._pool is not None:
            for future in self._pending.values():
                future.cancel()
            if self._pool is not self.shared:
                self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # Feeding --------------------------------------------------------------------------------------

    def add(self, doc: dict) -> None:
        """Add one document (field name -> value, as for Whoosh's ``add_document``)."""
        self._docs.append(doc)
        self._count += 1
        self._chars += len(doc.get("title") or "") + len(doc.get("body") or "") + 1
        if self._chars >= self.chunk_chars:
            self._submit()

    def _start(self, docs: list[dict]) -> None:
        """Train the stored fields' dictionary on the first chunk's documents; open the per-document writer."""
        self.dictionary = train_dictionary(self.schema, docs)
        self.perdoc = codec.NewsPerDocWriter(_CODEC, self.storage, self.segment, self.dictionary)

    def _submit(self, last: bool = False) -> None:
        docs, self._docs, self._chars = self._docs, [], 0
        number, first = self._number, self._count - len(docs)
        self._number += 1
        if self.perdoc is None:
            self._start(docs)
        work = (self.schema, number, first, docs, str(self.scratch), self.prepare, self.dictionary)
        if self.tasks is None and self.shared is None and (self.workers <= 1 or (last and self._pool is None)):
            # One process, or a single chunk: starting workers would cost more than they save.
            self._complete(analyse_chunk(*work))
            return
        if self._pool is None:
            self._pool = self.tasks or self.shared or worker_pool(self.workers)
        # Keep at most one chunk waiting per worker: the parent must not read the whole input ahead.
        while len(self._pending) >= 2 * self.workers:
            self._collect(block=True)
        self._pending[number] = self._pool.submit(analyse_chunk if self.tasks is None else analyse_chunk_task, *work)
        self._collect(block=False)

    def _collect(self, block: bool) -> None:
        if not self._pending:
            return
        done, _ = wait(self._pending.values(), timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for number in [n for n, f in self._pending.items() if f in done]:
            self._complete(self._pending.pop(number).result())

    def _complete(self, result: dict) -> None:
        # Per-document data goes in document order, so results wait for the chunks before them.
        self._done[result["number"]] = result
        while len(self._chunks) in self._done:
            chunk = self._done.pop(len(self._chunks))
            self._write_docs(chunk)
            if chunk["extras"] is not None:
                self.extras += chunk.pop("extras")
            self._chunks.append(chunk)
            if self.on_chunk is not None:
                self.on_chunk(self._written)

    def _write_docs(self, chunk: dict) -> None:
        perdoc = self.perdoc
        schema = self.schema
        docnum = chunk["first"]
        assert docnum == self._written
        for blob, lengths, column_values in chunk.pop("docs"):
            perdoc.start_doc(docnum)
            for name, length in lengths:
                perdoc.add_field(name, schema[name], None, length)
            if blob is not None:
                perdoc.add_stored_blob(blob)
            for name, value in column_values:
                perdoc.add_column_value(name, schema[name].column_type, value)
            perdoc.finish_doc()
            docnum += 1
        self._written = docnum

    # Finishing ------------------------------------------------------------------------------------

    def finish(self) -> int:
        """Analyse what is left, merge the chunks, write the segment and its table of contents.

        :returns: the number of documents in the index
        """
        if self._docs:
            self._submit(last=True)
        while self._pending:
            self._collect(block=True)
        self.close()
        if self.perdoc is None:
            self._start([])
        self.perdoc.close()
        if self.tasks is None:
            self.term_counts = _merge(self.storage, self.segment, self._chunks, self.count_fields, self.workers)
        else:
            light = [{k: chunk[k] for k in ("path", "number", "terms")} for chunk in self._chunks]
            merging = self.tasks.submit(
                merge_task,
                str(self.directory),
                self.segment,
                light,
                tuple(self.count_fields),
                self.workers,
                self.tasks,
                PARALLEL_MERGE_TERMS,
            )
            self.term_counts = merging.result()
        self.segment.set_doc_count(self._written)
        TOC(self.schema, [self.segment], 0).write(self.storage, INDEX_NAME)
        shutil.rmtree(self.scratch, ignore_errors=True)
        return self._written


def train_dictionary(schema, docs: list[dict]) -> bytes | None:
    """A Zstandard dictionary trained on the stored fields of (up to :data:`DICT_SAMPLES` of)
    ``docs``; None when there are too few to train one worth having."""
    samples = []
    for doc in docs[:DICT_SAMPLES]:
        stored = {
            name: value
            for name, value in sorted(doc.items())
            if value is not None and not name.startswith("_") and name in schema and schema[name].stored
        }
        if stored:
            samples.append(pickle.dumps(stored, _PROTOCOL))
    if len(samples) < 100:
        return None
    try:
        return zstandard.train_dictionary(DICT_SIZE, samples, level=codec.STORED_LEVEL).as_bytes()
    except zstandard.ZstdError:
        return None


#: The key of an entry of :func:`_entries`.
_KEY = itemgetter(0)


def _entries(stats: bytes, keys: bytes, number: int) -> Iterator[tuple]:
    """The term table of a chunk as ``(key, chunk number, record)`` in order."""
    at = 0
    for record in _RECORD.iter_unpack(stats):
        end = at + record[0]
        yield keys[at:end], number, record
        at = end


def _open_map(path: Path):
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return b""
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


#: Fewest terms for the merge to be shared with a second process (below, it costs more than it saves).
PARALLEL_MERGE_TERMS = 200_000


def merge_task(directory: str, segment, chunks: list[dict], count_fields, workers, tasks, split_terms) -> dict:
    """:func:`_merge` as a cluster task, in the segment's ``directory``; its second run, if any,
    is another task of ``tasks``."""
    return _merge(FileStorage(directory), segment, chunks, count_fields, workers, tasks, split_terms)


def _merge(
    storage, segment, chunks: list[dict], count_fields=(), workers: int = 1, tasks=None, split_terms=None
) -> dict[bytes, int]:
    """Write the segment's postings file and term table from the chunks' posting lists.

    With ``workers`` > 1 and enough terms, the fields are cut in two runs of about equal numbers of
    terms: a child process (or a task of ``tasks``) merges the second run into a file of its own
    while this one merges the first, then the child's part is appended (its offsets and positions
    shifted).

    :param count_fields: fields whose terms are counted on the way
    :param split_terms: fewest terms worth the cut (default :data:`PARALLEL_MERGE_TERMS`)
    :returns: the number of documents holding each term of ``count_fields`` (summed over them)
    """
    names = sorted({name for chunk in chunks for name in chunk["terms"]})
    split = _split(names, chunks, split_terms) if workers > 1 else len(names)
    out = segment.create_file(storage, W3Codec.POSTS_EXT)
    termfile = _TermTableWriter(segment.create_file(storage, W3Codec.TERMS_EXT))
    termfile.extras["fieldmap"] = {name: number for number, name in enumerate(names)}
    pool = part = None
    try:
        if split < len(names):
            pool = tasks or ProcessPoolExecutor(max_workers=1, mp_context=_process_context())
            part = Path(chunks[0]["path"]).with_name("merge-part")
            light = [{k: chunk[k] for k in ("path", "number", "terms")} for chunk in chunks]
            future = pool.submit(_merge_part, light, names, split, str(part), tuple(count_fields))
        counts = _merge_fields(chunks, names, 0, split, out.file.write, termfile.add, count_fields)
        if part is not None:
            more = future.result()
            offset = out.file.tell()
            with open(part.with_suffix(".pst"), "rb") as source:
                shutil.copyfileobj(source, out.file, 16 << 20)
            termfile.add_part(part, offset)
            for key, number in more.items():
                counts[key] += number
    finally:
        if pool is not None and pool is not tasks:
            pool.shutdown(wait=True, cancel_futures=True)
    termfile.close()
    out.close()
    return counts


def _split(names: list[str], chunks: list[dict], split_terms: int | None = None) -> int:
    """Where to cut the sorted fields in two runs of about equal numbers of terms (``len(names)``:
    not worth cutting, under ``split_terms``, default :data:`PARALLEL_MERGE_TERMS`)."""
    sizes = [sum(chunk["terms"].get(name, 0) for chunk in chunks) for name in names]
    total = sum(sizes)
    if total < (PARALLEL_MERGE_TERMS if split_terms is None else split_terms) or len(names) < 2:
        return len(names)
    best, best_gap, running = len(names), total, 0
    for at in range(1, len(names)):
        running += sizes[at - 1]
        gap = abs(total - 2 * running)
        if gap < best_gap:
            best, best_gap = at, gap
    return best


def _merge_part(chunks: list[dict], names: list[str], first: int, path: str, count_fields) -> dict[bytes, int]:
    """In a child process: merge the fields ``names[first:]`` into ``path.pst`` (offsets from 0)
    and their term records into ``path.terms`` / ``path.index`` (see :meth:`_TermTableWriter.add_part`)."""
    part = Path(path)
    recorder = _TermRecorder()
    with open(part.with_suffix(".pst"), "wb") as out:
        counts = _merge_fields(chunks, names, first, len(names), out.write, recorder.add, count_fields)
    recorder.save(part)
    return dict(counts)


def _merge_fields(chunks, names, first, last, write, add_term, count_fields) -> dict[bytes, int]:
    """Merge the posting lists of the fields ``names[first:last]`` (numbered by their place in
    ``names``): each term's blocks go to ``write`` (offsets counted from 0), its key and info to
    ``add_term``."""
    counts: dict[bytes, int] = defaultdict(int)
    offset = 0
    maps = []
    try:
        postings = []
        streams = []
        for chunk in chunks:
            path = Path(chunk["path"])
            postings.append(_open_map(path))
            maps.append(postings[-1])
            stats, keys = _open_map(path.with_suffix(".stats")), _open_map(path.with_suffix(".keys"))
            maps += [stats, keys]
            stream = _entries(stats, keys, chunk["number"])
            # Each chunk's table holds its fields in the same sorted order: skip the earlier ones.
            skip = sum(chunk["terms"].get(name, 0) for name in names[:first])
            deque(islice(stream, skip), maxlen=0)
            streams.append(stream)
        for fieldid in range(first, last):
            name = names[fieldid]
            prefix = pack_ushort(fieldid)
            parts = [
                islice(stream, chunk["terms"][name])
                for stream, chunk in zip(streams, chunks, strict=True)
                if name in chunk["terms"]
            ]
            merged = heapq.merge(*parts) if len(parts) > 1 else parts[0]
            counted = counts if name in count_fields else None
            for key, pieces in groupby(merged, key=_KEY):
                offset, df = _write_term(write, add_term, prefix + key, list(pieces), postings, offset)
                if counted is not None:
                    counted[key] += df
    finally:
        stream = streams = parts = merged = None
        for buffer in maps:
            if isinstance(buffer, mmap.mmap):
                with contextlib.suppress(BufferError):  # still exported by an unfinished iterator
                    buffer.close()
    return counts


def _write_term(write, add_term, key: bytes, pieces: list, postings: list, offset: int) -> tuple[int, int]:
    """Write one term's posting list from its ``pieces`` (one per chunk holding it, laid end to
    end) and add its record (holding the list itself when it is short); returns the offset after
    it and its document frequency."""
    _, number, record = pieces[0]
    _, df, weight, minlb, maxlb, maxweight, minid, maxid, length, start = record
    if len(pieces) == 1:
        data = postings[number][start : start + length]
    else:
        parts = []
        for i, (_, number, record) in enumerate(pieces):
            _, p_df, p_weight, p_minlb, p_maxlb, p_maxweight, _, p_maxid, p_length, p_start = record
            parts.append(postings[number][p_start : p_start + p_length])
            if i:
                df += p_df
                weight += p_weight
                minlb = min(minlb, p_minlb)
                maxlb = max(maxlb, p_maxlb)
                maxweight = max(maxweight, p_maxweight)
                maxid = p_maxid
        data = b"".join(parts)
    if len(data) <= codec.INLINE:
        add_term(key, codec.record_bytes(df, weight, maxweight, minid, maxid, minlb, maxlb, postings=data))
        return offset, df
    write(data)
    add_term(
        key, codec.record_bytes(df, weight, maxweight, minid, maxid, minlb, maxlb, offset=offset, length=len(data))
    )
    return offset + len(data), df


class _TermTableWriter(filetables.OrderedHashWriter):
    """Whoosh's term table file, written with fewer calls: records are gathered and written in
    large pieces, and the hash of a key is taken from its MD5 digest directly. The file is the one
    ``OrderedHashWriter`` writes (keys must come in order, as there), except that each hash table
    has half again as many slots as keys instead of twice as many: Whoosh's reader probes until an
    empty slot, which a table of that load still has close by, and the tables take a quarter less."""

    def __init__(self, dbfile):
        super().__init__(dbfile)
        self._position = dbfile.tell()
        self._pending: list[bytes] = []
        self._pending_size = 0

    def add(self, key: bytes, value: bytes) -> None:
        record, hashed = _record(key, value)
        position = self._position
        self.index.append(position)
        self.buckets[hashed & 255].append((hashed, position))
        self._pending.append(record)
        self._position = position + len(record)
        self._pending_size += len(record)
        if self._pending_size >= 1 << 20:
            self._flush()

    def add_part(self, part: Path, offset: int) -> None:
        """Append the term records a :class:`_TermRecorder` saved at ``part``, whose postings were
        appended to the postings file at ``offset``."""
        import numpy as np

        blob = np.fromfile(part.with_suffix(".terms"), dtype=np.uint8)
        index = np.fromfile(part.with_suffix(".index"), dtype=np.int64).reshape(3, -1)
        positions, hashes, at = index
        at = at[at >= 0]
        if len(at):
            # Each record's posting offset: 8 big-endian bytes, shifted by where its postings went.
            spots = at[:, None] + np.arange(8)
            shifted = (blob[spots].view(">i8") + offset).astype(">i8")
            blob[spots] = shifted.view(np.uint8).reshape(-1, 8)
        base = self._position
        buckets = self.buckets
        append = self.index.append
        for position, hashed in zip((positions + base).tolist(), hashes.tolist(), strict=True):
            append(position)
            buckets[hashed & 255].append((hashed, position))
        self._flush()
        self.dbfile.write(blob.tobytes())
        self._position = base + len(blob)

    def _flush(self) -> None:
        self.dbfile.write(b"".join(self._pending))
        self._pending.clear()
        self._pending_size = 0

    def _write_hashes(self) -> None:
        self._flush()
        pointer = filetables._pointer.pack
        null = (0, 0)
        for entries in self.buckets:
            position = self.dbfile.tell()
            slots = len(entries) + len(entries) // 2 + (1 if entries else 0)
            self.directory.append((position, slots))
            table = [null] * slots
            for hashed, at in entries:
                slot = (hashed >> 8) % slots
                while table[slot] != null:
                    slot = (slot + 1) % slots
                table[slot] = (hashed, at)
            self.dbfile.write(b"".join([pointer(h, a) for h, a in table]))


def _record(key: bytes, value: bytes) -> tuple[bytes, int]:
    """A term table record (Whoosh's: the two lengths, the key, the value) and its key's hash."""
    # md5_hash(): the low 32 bits of the digest read as one big number are its last 4 bytes.
    hashed = int.from_bytes(md5(key, usedforsecurity=False).digest()[12:], "big")
    return filetables._lengths.pack(len(key), len(value)) + key + value, hashed


#: Bytes of a term record's posting offset (the record's last).
_OFFSET_SIZE = 8


class _TermRecorder:
    """Term records as :class:`_TermTableWriter` writes them, kept for a file of their own (a
    part merged in a child process): the records, and for each its position, its key's hash and
    where its posting offset is."""

    def __init__(self):
        self.records: list[bytes] = []
        self.size = 0
        self.positions = array("q")
        self.hashes = array("q")
        self.offsets = array("q")

    def add(self, key: bytes, value: bytes) -> None:
        record, hashed = _record(key, value)
        self.positions.append(self.size)
        self.hashes.append(hashed)
        # A record holding its postings has no offset to shift.
        self.offsets.append(self.size + len(record) - _OFFSET_SIZE if value[0] == 0 else -1)
        self.records.append(record)
        self.size += len(record)

    def save(self, part: Path) -> None:
        with open(part.with_suffix(".terms"), "wb") as out:
            out.writelines(self.records)
        with open(part.with_suffix(".index"), "wb") as out:
            for numbers in (self.positions, self.hashes, self.offsets):
                out.write(numbers.tobytes())
