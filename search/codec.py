"""The index's own posting format: a Whoosh codec whose postings are small integers, compressed.

Whoosh's W3 codec stores a posting block as a pickled tuple of Python lists, deflated; every query
inflates and unpickles it before anything can score it. This codec keeps everything else of W3
(the term table's file, the columns, the segment files) and changes what a term's record and its
postings hold (the format is described in docs/internals.md):

* a **posting list** is a chain of self-describing blocks of up to :data:`BLOCK` postings. A block
  starts with a small header (count, last document, best frequency, shortest and longest field
  length byte, the sizes of its two sections), so a reader can skip it unread; then its *document
  section* (document numbers: the block's first, then gaps; then each frequency less one, left out
  when every frequency is 1) and its *positions section* (for each posting, its first position,
  then gaps). Every number is a LEB128 varint, made and read by numpy a whole array at a time, and
  a section of :data:`COMPRESS_FROM` bytes or more is compressed with Zstandard when that makes it
  smaller. Blocks never refer to the block before them, so lists written in pieces are joined by
  laying the bytes end to end.
* a **term record** (the value in W3's term table) is a flag byte and varints: document frequency,
  total and best frequency, first document and the span to the last, the shortest and longest
  length byte; then either the whole posting list, when it is at most :data:`INLINE` bytes (most
  terms occur once or twice), or where it is in the postings file.
* **stored fields** are a pickle per document compressed with Zstandard, with a dictionary trained
  on the segment's own documents when the segment was written by :mod:`search.writer` (the
  dictionary is a file of the segment).

Whoosh picks a segment's codec from the pickled table of contents, so ``whoosh.index.open_dir``
opens such an index wherever this package can be imported. :func:`check_format` tells an index of
this format from one an older version wrote (W3's, or an older version of this one).
"""

from __future__ import annotations

import pickle
import threading

import numpy as np
import zstandard
from whoosh import formats
from whoosh.codec import base
from whoosh.codec.whoosh3 import (
    W3Codec,
    W3FieldCursor,
    W3FieldWriter,
    W3PerDocReader,
    W3PerDocWriter,
    W3Segment,
    W3TermsReader,
)
from whoosh.columns import VarBytesColumn
from whoosh.matching import LeafMatcher, ReadTooFar
from whoosh.reading import TermInfo, TermNotFound
from whoosh.system import pack_uint, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

#: The version of this format, kept in every segment: an index of another version is refused.
FORMAT_VERSION = 1
#: Postings per block.
BLOCK = 256
#: Sections at least this long are compressed (when it makes them smaller).
COMPRESS_FROM = 64
#: Zstandard level of posting sections (higher levels gain next to nothing on these varints).
POSTINGS_LEVEL = 3
#: Zstandard level of stored fields.
STORED_LEVEL = 6
#: Posting lists of at most this many bytes are kept in the term record.
INLINE = 48
#: Extension of a segment's stored-fields dictionary.
DICT_EXT = ".zdc"

_local = threading.local()


def _compressor(level: int) -> zstandard.ZstdCompressor:
    key = f"c{level}"
    found = getattr(_local, key, None)
    if found is None:
        found = zstandard.ZstdCompressor(level=level)
        setattr(_local, key, found)
    return found


def _decompress(data) -> bytes:
    found = getattr(_local, "d", None)
    if found is None:
        found = _local.d = zstandard.ZstdDecompressor()
    return found.decompress(data)


# Varints ------------------------------------------------------------------------------------------

_SMALL = [bytes([n]) for n in range(128)]


def uvarint(n: int) -> bytes:
    """One unsigned LEB128 varint."""
    if n < 128:
        return _SMALL[n]
    out = bytearray()
    while n >= 128:
        out.append((n & 127) | 128)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_uvarint(buf, at: int) -> tuple[int, int]:
    """The varint at ``at`` of ``buf`` and where the next thing starts."""
    byte = buf[at]
    if byte < 128:
        return byte, at + 1
    value = byte & 127
    shift = 7
    at += 1
    while True:
        byte = buf[at]
        at += 1
        value |= (byte & 127) << shift
        if byte < 128:
            return value, at
        shift += 7


_SHIFTS = [np.uint64(7 * k) for k in range(10)]


def varint_sizes(values: np.ndarray) -> np.ndarray:
    """How many bytes the varint of each value takes."""
    values = np.asarray(values, dtype=np.uint64)
    sizes = np.ones(len(values), dtype=np.int64)
    for k in range(1, 10):
        more = values >= np.uint64(1 << (7 * k))
        if not more.any():
            break
        sizes += more
    return sizes


def encode_varints(values: np.ndarray, sizes: np.ndarray | None = None) -> np.ndarray:
    """The varints of ``values`` (non-negative integers), one after the other, as a uint8 array."""
    values = np.asarray(values, dtype=np.uint64)
    if sizes is None:
        sizes = varint_sizes(values)
    if not len(values) or int(sizes.max()) == 1:
        return values.astype(np.uint8)
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    starts = np.cumsum(sizes) - sizes
    for k in range(int(sizes.max())):
        sel = np.flatnonzero(sizes > k)
        piece = ((values[sel] >> _SHIFTS[k]) & np.uint64(127)).astype(np.uint8)
        piece[sizes[sel] > k + 1] |= 128
        out[starts[sel] + k] = piece
    return out


def decode_varints(data) -> np.ndarray:
    """Every varint of ``data`` (bytes or a uint8 array), as an int64 array.

    Each varint ends at a byte below 128; its value is built from that last byte back to its first
    (seven bits a byte), one pass per byte of the longest varint over only the varints that long,
    so the work is on the varints, not on every byte.
    """
    raw = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    high = raw >= 128
    if not high.any():
        return raw.astype(np.int64)
    ends = np.flatnonzero(~high)
    lengths = np.diff(ends, prepend=-1)
    values = raw[ends].astype(np.int64)
    for k in range(1, int(lengths.max())):
        longer = np.flatnonzero(lengths > k)
        values[longer] = (values[longer] << 7) | (raw[ends[longer] - k] & 127)
    return values


# Blocks -------------------------------------------------------------------------------------------


def _section(data: bytes) -> tuple[bytes, bytes]:
    """A block section as stored, and its size word (the stored length doubled, plus 1 if compressed)."""
    if len(data) >= COMPRESS_FROM:
        packed = _compressor(POSTINGS_LEVEL).compress(data)
        if len(packed) < len(data):
            return packed, uvarint(2 * len(packed) + 1)
    return data, uvarint(2 * len(data))


def block_bytes(count: int, maxid: int, maxweight: int, minlb: int, maxlb: int, docs: bytes, where: bytes) -> bytes:
    """One block from its two sections (their varints, uncompressed)."""
    docs, docs_word = _section(docs)
    where, where_word = _section(where) if where else (b"", b"\x00")
    return b"".join(
        (uvarint(count), uvarint(maxid), uvarint(maxweight), bytes((minlb, maxlb)), docs_word, where_word, docs, where)
    )


def _small_varints(values) -> bytes:
    return b"".join(map(uvarint, values))


def encode_block(ids, freqs, positions, lbs) -> bytes:
    """One block of postings given as lists: ``positions`` is a list of position lists (or None)."""
    if len(ids) <= 16:  # most blocks: plain Python is faster than numpy on a few numbers
        maxweight = max(freqs)
        numbers = [ids[0], *(b - a for a, b in zip(ids, ids[1:], strict=False))]
        if maxweight > 1:
            numbers += [f - 1 for f in freqs]
        where = b""
        if positions is not None:
            where = _small_varints(
                [gap for p in positions for gap in (p[0], *(b - a for a, b in zip(p, p[1:], strict=False)))]
            )
        return block_bytes(len(ids), ids[-1], maxweight, min(lbs), max(lbs), _small_varints(numbers), where)
    ids = np.asarray(ids, dtype=np.int64)
    freqs = np.asarray(freqs, dtype=np.int64)
    gaps = np.diff(ids, prepend=0)
    maxweight = int(freqs.max())
    numbers = gaps if maxweight == 1 else np.concatenate([gaps, freqs - 1])
    where = b""
    if positions is not None:
        flat = np.concatenate([np.diff(np.asarray(p, dtype=np.int64), prepend=0) for p in positions])
        where = encode_varints(flat).tobytes()
    return block_bytes(len(ids), int(ids[-1]), maxweight, min(lbs), max(lbs), encode_varints(numbers).tobytes(), where)


class _Block:
    """The header of a block, read from ``buf`` at ``at``."""

    __slots__ = ("count", "maxid", "maxweight", "minlb", "maxlb", "docs", "where", "end")

    def __init__(self, buf, at: int):
        self.count, at = read_uvarint(buf, at)
        self.maxid, at = read_uvarint(buf, at)
        self.maxweight, at = read_uvarint(buf, at)
        self.minlb = buf[at]
        self.maxlb = buf[at + 1]
        docs_word, at = read_uvarint(buf, at + 2)
        where_word, at = read_uvarint(buf, at)
        docs_end = at + (docs_word >> 1)
        self.docs = (at, docs_end, docs_word & 1)
        self.end = docs_end + (where_word >> 1)
        self.where = (docs_end, self.end, where_word & 1)

    def numbers(self, buf, section) -> np.ndarray:
        return decode_varints(self.section(buf, section))

    @staticmethod
    def section(buf, section):
        """A section's varints as bytes (inflated, when it was stored compressed)."""
        start, end, packed = section
        data = buf[start:end]
        return _decompress(data) if packed else data

    def ids_and_freqs(self, buf) -> tuple[np.ndarray, np.ndarray]:
        numbers = self.numbers(buf, self.docs)
        count = self.count
        ids = np.cumsum(numbers[:count])
        if self.maxweight == 1:
            return ids, np.ones(count, dtype=np.int64)
        return ids, numbers[count:] + 1

    def position_gaps(self, buf) -> np.ndarray:
        return self.numbers(buf, self.where)


def read_list(buf, with_positions: bool = False):
    """A whole posting list: (ids, freqs, position gaps or None), as numpy arrays.

    Position gaps are, for each posting in turn, its first position then the gaps to the next.

    Only the block headers are read one by one; the sections of all the blocks are joined and their
    varints decoded at once (a varint ends in its own byte, so joined sections decode as the sum of
    their parts): a long list is a few numpy calls, not a dozen per block.
    """
    at = 0
    end = len(buf)
    if not end:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), (np.zeros(0, np.int64) if with_positions else None)
    block = _Block(buf, 0)
    if block.end >= end:  # one block
        ids, freqs = block.ids_and_freqs(buf)
        return ids, freqs, (block.position_gaps(buf) if with_positions else None)
    docs, where, counts, lasts, weighted = [], [], [], [], []
    while True:
        docs.append(block.section(buf, block.docs))
        if with_positions:
            where.append(block.section(buf, block.where))
        counts.append(block.count)
        lasts.append(block.maxid)
        weighted.append(block.maxweight > 1)
        at = block.end
        if at >= end:
            break
        block = _Block(buf, at)
    numbers = decode_varints(b"".join(docs))
    counts = np.array(counts, dtype=np.int64)
    weighted = np.array(weighted, dtype=bool)
    # A block's numbers: its documents (the first, then gaps), then its frequencies less one when
    # they are not all 1.
    sizes = counts * (1 + weighted)
    first_number = np.cumsum(sizes) - sizes
    first_posting = np.cumsum(counts) - counts
    block_of = np.repeat(np.arange(len(counts)), counts)
    at_number = first_number[block_of] + np.arange(int(counts.sum())) - first_posting[block_of]
    gaps = numbers[at_number]
    # Each block starts from its own first document: as a gap from the last one of the block before.
    gaps[first_posting[1:]] -= np.array(lasts[:-1], dtype=np.int64)
    ids = np.cumsum(gaps)
    freqs = np.ones(len(ids), dtype=np.int64)
    if weighted.any():
        counted = weighted[block_of]
        freqs[counted] = numbers[at_number[counted] + counts[block_of[counted]]] + 1
    return ids, freqs, (decode_varints(b"".join(where)) if with_positions else None)


def positions_of(freqs: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute positions from :func:`read_list`'s gaps, and where each posting's start."""
    starts = np.cumsum(freqs) - freqs
    if not len(gaps):
        return gaps, starts
    running = np.cumsum(gaps)
    # Each posting's positions restart from 0: take away the running sum before its first one.
    before = np.where(starts > 0, running[np.maximum(starts - 1, 0)], 0)
    return running - np.repeat(before, freqs), starts


# Term records -------------------------------------------------------------------------------------


class NewsTermInfo(TermInfo):
    """A term's statistics, and its posting list (in the record) or where that is."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._offset = None
        self._length = None
        self._postings = None
        self._minlb = 255
        self._maxlb = 0

    def extent(self):
        return self._offset, self._length

    def is_inlined(self):
        return self._postings is not None

    def to_bytes(self) -> bytes:
        return record_bytes(
            self._df,
            int(self._weight),
            int(self._maxweight),
            self._minid or 0,
            self._maxid or 0,
            self._minlb,
            self._maxlb,
            self._postings,
            self._offset,
            self._length,
        )

    @classmethod
    def from_bytes(cls, data) -> NewsTermInfo:
        info = cls()
        kind = data[0]
        if kind == _ONE:
            doc, at = read_uvarint(data, 1)
            freq, at = read_uvarint(data, at)
            lb = data[at]
            info._df = 1
            info._weight = info._maxweight = float(freq)
            info._minid = info._maxid = doc
            info._minlb = info._maxlb = lb
            info._minlength = info._maxlength = byte_to_length(lb)
            numbers = uvarint(doc) + (uvarint(freq - 1) if freq > 1 else b"")
            info._postings = block_bytes(1, doc, freq, lb, lb, numbers, bytes(data[at + 1 :]))
            return info
        info._df, at = read_uvarint(data, 1)
        weight, at = read_uvarint(data, at)
        maxweight, at = read_uvarint(data, at)
        minid, at = read_uvarint(data, at)
        span, at = read_uvarint(data, at)
        info._weight = float(weight)
        info._maxweight = float(maxweight)
        info._minid = minid
        info._maxid = minid + span
        info._minlb = data[at]
        info._maxlb = data[at + 1]
        info._minlength = byte_to_length(info._minlb)
        info._maxlength = byte_to_length(info._maxlb)
        at += 2
        if kind == _LIST:
            info._postings = bytes(data[at:])
        else:
            info._length, at = read_uvarint(data, at)
            info._offset = int.from_bytes(data[at : at + 8], "big")
        return info


#: The kinds of term record: where the postings are, the whole list, one posting.
_WHERE, _LIST, _ONE = 0, 1, 2


def record_bytes(df, weight, maxweight, minid, maxid, minlb, maxlb, postings=None, offset=None, length=None) -> bytes:
    """A term record: the statistics, then the postings (``postings``) or their length and offset
    (the offset last, in 8 bytes: a writer may shift it once the record is made).

    The record of a term with one posting is that posting alone: its document, frequency, length
    byte and positions (a third of the size of the general form, for most of the terms).
    """
    if postings is not None and df == 1:
        block = _Block(postings, 0)
        start, end, packed = block.where
        where = _decompress(postings[start:end]) if packed else postings[start:end]
        return b"".join((b"\x02", uvarint(minid), uvarint(weight), bytes((minlb,)), where))
    head = b"".join(
        (
            b"\x01" if postings is not None else b"\x00",
            uvarint(df),
            uvarint(weight),
            uvarint(maxweight),
            uvarint(minid),
            uvarint(maxid - minid),
            bytes((minlb, maxlb)),
        )
    )
    if postings is not None:
        return head + postings
    return head + uvarint(length) + offset.to_bytes(8, "big")


# Writing (Whoosh's generic path: an update's segment, a merge) ----------------------------------


def whole_numbers(weights) -> list[int]:
    """Weights as the whole numbers (frequencies) that postings store."""
    freqs = [int(w) for w in weights]
    if freqs != list(weights):
        raise ValueError("the news codec stores whole-number weights (term frequencies) only")
    return freqs


def check_postings_format(format_) -> None:
    """Refuse a field format whose postings this codec cannot store."""
    if type(format_) not in (formats.Existence, formats.Frequency, formats.Positions) or format_.field_boost != 1.0:
        raise ValueError(f"the news codec does not store postings of the {format_!r} format")


class NewsPostingsWriter(base.PostingsWriter):
    """Writes posting lists one posting at a time (Whoosh's writer, merges); :mod:`search.writer`
    makes the same bytes a whole field at a time."""

    def __init__(self, postfile):
        self._postfile = postfile
        self._terminfo = None
        self._format = None

    def written(self):
        return bool(self._blocks)

    def start_postings(self, format_, terminfo):
        check_postings_format(format_)
        self._format = format_
        self._positions = type(format_) is formats.Positions
        self._decode = format_.decoder("positions") if self._positions else None
        self._terminfo = terminfo
        self._blocks: list[bytes] = []
        self._new_block()

    def _new_block(self):
        self._ids, self._freqs, self._where, self._lbs = [], [], [], []

    def add_posting(self, id_, weight, vbytes, length=None):
        if len(self._ids) >= BLOCK:
            self._write_block()
        freq = int(weight)
        if freq != weight:
            raise ValueError(f"the news codec stores whole-number weights, not {weight!r}")
        self._ids.append(id_)
        self._freqs.append(freq)
        if self._positions:
            self._where.append(self._decode(vbytes))
        self._lbs.append(length_to_byte(length) if length else 0)

    def _write_block(self):
        info = self._terminfo
        info._df += len(self._ids)
        info._weight += sum(self._freqs)
        info._maxweight = max(info._maxweight, max(self._freqs))
        if info._minid is None:
            info._minid = self._ids[0]
        info._maxid = self._ids[-1]
        info._minlb = min(info._minlb, min(self._lbs))
        info._maxlb = max(info._maxlb, max(self._lbs))
        self._blocks.append(encode_block(self._ids, self._freqs, self._where if self._positions else None, self._lbs))
        self._new_block()

    def finish_postings(self):
        if self._ids:
            self._write_block()
        info = self._terminfo
        data = b"".join(self._blocks)
        if len(data) <= INLINE:
            info._postings = data
        else:
            info._offset = self._postfile.tell()
            info._length = len(data)
            self._postfile.write(data)
        info._minlength = byte_to_length(info._minlb)
        info._maxlength = byte_to_length(info._maxlb)
        self._terminfo = None
        return info


class NewsFieldWriter(W3FieldWriter):
    def start_term(self, btext):
        if self._postwriter is None:
            raise Exception("Called start_term before start_field")
        self._btext = btext
        self._postwriter.start_postings(self._fieldobj.format, NewsTermInfo())

    def finish_term(self):
        terminfo = self._postwriter.finish_postings()
        self._tindex.add(pack_ushort(self._fieldid) + self._btext, terminfo.to_bytes())


# Reading ------------------------------------------------------------------------------------------


class NewsLeafMatcher(LeafMatcher):
    """A term's postings through Whoosh's matcher interface (phrases, NOT, sorting, facets)."""

    def __init__(self, buf, format_, term=None, scorer=None):
        self._buf = buf
        self.format = format_
        self._term = term
        self.scorer = scorer
        self._positions = type(format_) is formats.Positions
        self.reset()

    def reset(self):
        self._at = 0
        self._atend = not len(self._buf)
        if not self._atend:
            self._goto(0)

    def _goto(self, at: int):
        self._block = _Block(self._buf, at)
        self._i = 0
        self._ids = self._freqs = self._where = self._starts = None

    def _load(self):
        ids, freqs = self._block.ids_and_freqs(self._buf)
        self._ids = ids.tolist()
        self._freqs = freqs

    def _next_block(self):
        end = self._block.end
        if end >= len(self._buf):
            self._atend = True
        else:
            self._goto(end)

    def copy(self):
        other = NewsLeafMatcher(self._buf, self.format, self._term, self.scorer)
        if self._atend:
            other._atend = True
        else:
            other._goto(self._at_block_start())
            other._i = self._i
        return other

    def _at_block_start(self):
        # Where the current block starts: walk from the beginning (copies are rare).
        at = 0
        while True:
            block = _Block(self._buf, at)
            if block.end == self._block.end:
                return at
            at = block.end

    def is_active(self):
        return not self._atend and self._i < self._block.count

    def id(self):
        if self._ids is None:
            self._load()
        return self._ids[self._i]

    def all_ids(self):
        while self.is_active():
            if self._ids is None:
                self._load()
            yield from self._ids[self._i :]
            self._next_block()

    def weight(self):
        if self._ids is None:
            self._load()
        return float(self._freqs[self._i])

    def _positions_here(self) -> list[int]:
        if self._where is None:
            if self._ids is None:
                self._load()
            gaps = self._block.position_gaps(self._buf)
            absolute, starts = positions_of(self._freqs, gaps)
            self._where = absolute.tolist()
            self._starts = starts.tolist()
        start = self._starts[self._i]
        return self._where[start : start + int(self._freqs[self._i])]

    def value(self):
        if self._positions:
            return self.format.encode(self._positions_here())
        if type(self.format) is formats.Frequency:
            return pack_uint(int(self.weight()))
        return None  # Existence: no value, as W3 reads it

    def value_as(self, astype):
        if astype == "positions" and self._positions:
            return self._positions_here()
        if astype == "frequency":
            return int(self.weight())
        return super().value_as(astype)

    def next(self):
        self._i += 1
        if self._i >= self._block.count:
            self._next_block()
            return True
        return False

    def skip_to(self, targetid):
        if not self.is_active():
            raise ReadTooFar
        if targetid <= self.id():
            return
        while self.is_active() and targetid > self._block.maxid:
            self._next_block()
        while self.is_active() and self.id() < targetid:
            self.next()

    def skip_to_quality(self, minquality):
        skipped = 0
        while self.is_active() and self.block_quality() <= minquality:
            self._next_block()
            skipped += 1
        return skipped

    def block_min_id(self):
        if self._ids is None:
            self._load()
        return self._ids[0]

    def block_max_id(self):
        return self._block.maxid

    def block_min_length(self):
        return byte_to_length(self._block.minlb)

    def block_max_length(self):
        return byte_to_length(self._block.maxlb)

    def block_max_weight(self):
        return float(self._block.maxweight)

    def read_all(self, with_positions: bool = False):
        """The whole list as numpy arrays (see :func:`read_list`), from the start."""
        return read_list(self._buf, with_positions)


class NewsFieldCursor(W3FieldCursor):
    def term_info(self):
        if self._pos is None:
            return None
        return NewsTermInfo.from_bytes(self._tindex.dbfile.get(self._datapos, self._datalen))


class NewsTermsReader(W3TermsReader):
    def cursor(self, fieldname, fieldobj):
        return NewsFieldCursor(self._tindex, fieldname, self._keycoder, self._keydecoder, fieldobj)

    def items(self):
        decode = self._keydecoder
        return ((decode(k), NewsTermInfo.from_bytes(v)) for k, v in self._tindex.items())

    def items_from(self, fieldname, prefix):
        decode = self._keydecoder
        start = self._keycoder(fieldname, prefix)
        return ((decode(k), NewsTermInfo.from_bytes(v)) for k, v in self._tindex.items_from(start))

    def term_info(self, fieldname, tbytes):
        try:
            return NewsTermInfo.from_bytes(self._tindex[self._keycoder(fieldname, tbytes)])
        except KeyError:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}") from None

    # A missing term raises KeyError here, as in W3.
    def frequency(self, fieldname, tbytes):
        return NewsTermInfo.from_bytes(self._tindex[self._keycoder(fieldname, tbytes)]).weight()

    def doc_frequency(self, fieldname, tbytes):
        return NewsTermInfo.from_bytes(self._tindex[self._keycoder(fieldname, tbytes)]).doc_frequency()

    def posting_bytes(self, terminfo):
        """A term's whole posting list, as bytes (or a memory view of the postings file)."""
        if terminfo._postings is not None:
            return terminfo._postings
        return self._postfile.get(terminfo._offset, terminfo._length)

    def matcher(self, fieldname, tbytes, format_, scorer=None):
        info = self.term_info(fieldname, tbytes)
        return NewsLeafMatcher(self.posting_bytes(info), format_, term=(fieldname, tbytes), scorer=scorer)


# Stored fields ------------------------------------------------------------------------------------

_STORED = VarBytesColumn()


class NewsPerDocWriter(W3PerDocWriter):
    """W3's per-document writer, with stored fields as Zstandard-compressed pickles."""

    def __init__(self, codec, storage, segment, dictionary: bytes | None = None):
        super().__init__(codec, storage, segment)
        self._set_dictionary(dictionary)

    def _create_column(self, fieldname, column):
        if fieldname == "_stored":
            column = _STORED
        super()._create_column(fieldname, column)

    def _set_dictionary(self, dictionary: bytes | None):
        self._segment.has_dictionary = dictionary is not None
        if dictionary is not None:
            with self._segment.create_file(self._storage, DICT_EXT) as out:
                out.write(dictionary)
        self._zstd = stored_compressor(dictionary)

    def compress(self, stored: dict) -> bytes:
        return self._zstd.compress(pickle.dumps(stored, pickle.HIGHEST_PROTOCOL))

    def finish_doc(self):
        stored = self._storedfields
        if stored:
            self.add_stored_blob(self.compress(stored))
            stored.clear()
        self._indoc = False

    def add_stored_blob(self, blob: bytes) -> None:
        """Add a document's stored fields already compressed (see :func:`stored_compressor`)."""
        VarBytesColumn.Writer.add(self._colwriters["_stored"], self._docnum, blob)


def stored_compressor(dictionary: bytes | None) -> zstandard.ZstdCompressor:
    """What compresses a pickle of stored fields for a segment with ``dictionary``."""
    if dictionary is None:
        return zstandard.ZstdCompressor(level=STORED_LEVEL)
    return zstandard.ZstdCompressor(level=STORED_LEVEL, dict_data=zstandard.ZstdCompressionDict(dictionary))


class NewsPerDocReader(W3PerDocReader):
    def __init__(self, storage, segment):
        super().__init__(storage, segment)
        self._stored_column = None
        self._lock = threading.Lock()
        dictionary = None
        if getattr(segment, "has_dictionary", False):
            with segment.open_file(storage, DICT_EXT) as handle:
                dictionary = handle.read()
        self._dict = zstandard.ZstdCompressionDict(dictionary) if dictionary is not None else None
        self._local = threading.local()

    def _decompressor(self):
        found = getattr(self._local, "d", None)
        if found is None:
            found = self._local.d = (
                zstandard.ZstdDecompressor(dict_data=self._dict)
                if self._dict is not None
                else zstandard.ZstdDecompressor()
            )
        return found

    def stored_fields(self, docnum):
        column = self._cached_reader("_stored", _STORED)
        blob = column[docnum]
        if not blob:
            return {}
        return pickle.loads(self._decompressor().decompress(blob))


# The codec and its segments -----------------------------------------------------------------------


class NewsSegment(W3Segment):
    """A W3 segment that records the format version it was written in."""

    def __init__(self, codec, indexname, doccount=0, segid=None, deleted=None):
        super().__init__(codec, indexname, doccount, segid, deleted)
        self.format_version = FORMAT_VERSION
        self.has_dictionary = False


class NewsCodec(W3Codec):
    """Whoosh's W3 codec with this module's postings, term records and stored fields."""

    def __init__(self):
        super().__init__(blocklimit=BLOCK, compression=0, inlinelimit=0)

    def per_document_writer(self, storage, segment):
        return NewsPerDocWriter(self, storage, segment)

    def field_writer(self, storage, segment):
        return NewsFieldWriter(self, storage, segment)

    def postings_writer(self, dbfile, byteids=False):
        if byteids:
            raise ValueError("the news codec stores no term vectors")
        return NewsPostingsWriter(dbfile)

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        data = terminfo._postings if terminfo._postings is not None else dbfile.get(terminfo._offset, terminfo._length)
        return NewsLeafMatcher(data, format_, term=term, scorer=scorer)

    def per_document_reader(self, storage, segment):
        return NewsPerDocReader(storage, segment)

    def terms_reader(self, storage, segment):
        name = segment.make_filename(self.TERMS_EXT)
        return NewsTermsReader(
            self, storage.open_file(name), storage.file_length(name), segment.open_file(storage, self.POSTS_EXT)
        )

    def new_segment(self, storage, indexname):
        return NewsSegment(self, indexname)


def check_format(toc_segments) -> str | None:
    """Why an index of these segments cannot be read by this version (None: it can)."""
    for segment in toc_segments:
        if not isinstance(segment, NewsSegment):
            return "it was written by an older version (Whoosh's W3 postings)"
        version = getattr(segment, "format_version", None)
        if version != FORMAT_VERSION:
            return f"it was written in posting format {version}, this version reads {FORMAT_VERSION}"
    return None


__all__ = ["FORMAT_VERSION", "NewsCodec", "NewsSegment", "check_format", "read_list"]
