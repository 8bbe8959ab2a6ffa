"""A sharded index: its articles split over N ordinary generations, ranked as one index.

``news-search index rebuild --shards N`` routes each article to shard :func:`shard_of` (a stable
hash of its id, the same in every process and on every machine) and writes each shard as an
ordinary generation, all published together (:func:`search.generations.publish_shards`). Every
shard keeps, in :data:`ORDER`, the place each of its documents has in the whole index: the
document number it would have in one index of the same articles. Equal scores are ordered by
it, as one index orders them by document number.

What the ranking needs of the whole index is taken from all shards, never from one:

- :class:`GlobalStats`: document frequencies, the number of articles, each field's length and
  how many articles have the field, summed over the shards' readers;
- :class:`StatsSearcher`: a Whoosh searcher of one shard whose statistics are those (BM25F of
  phrases and fielded words, the estimates of how many articles match);
- the copies clusters, suggestions and pinyin table, computed once over all articles and kept
  in shard 0's generation; :class:`ShardCopies` is the clusters as one shard sees them.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np
from whoosh.searching import Searcher

from . import copies as syndication

#: Each document's place in the whole index, as little-endian 32-bit numbers in document order.
ORDER = "order.bin"


def shard_of(article_id: str, shards: int) -> int:
    """The shard an article goes to: a hash of its id that no process or version changes
    (Python's own ``hash`` is salted per process)."""
    if shards <= 1:
        return 0
    digest = hashlib.blake2b(article_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % shards


def save_order(generation: Path, ordinals) -> None:
    np.asarray(ordinals, dtype="<u4").tofile(generation / ORDER)


def load_order(generation: Path, documents: int) -> np.ndarray:
    """The place in the whole index of each document of a shard (its own numbers when the shard
    has no order file: an index of one shard)."""
    try:
        order = np.fromfile(generation / ORDER, dtype="<u4").astype(np.int64)
    except OSError:
        return np.arange(documents, dtype=np.int64)
    if len(order) != documents:
        return np.arange(documents, dtype=np.int64)
    return order


class GlobalStats:
    """The collection statistics of the whole index, summed over its shards' readers.

    The readers are shared by every thread searching the shards, and a Whoosh reader is not safe
    to use from two threads at once (its term table is read by seeking one file): every lookup
    holds the lock, and its answer is cached.
    """

    def __init__(self, readers):
        self.readers = list(readers)
        self.docs_all = sum(r.doc_count_all() for r in self.readers)
        self.docs = sum(r.doc_count() for r in self.readers)
        self._lock = threading.Lock()
        self._df: dict[tuple[str, object], int] = {}
        self._lengths: dict[str, float] = {}
        self._having: dict[str, int] = {}

    def doc_frequency(self, fieldname: str, text) -> int:
        key = (fieldname, text)
        found = self._df.get(key)
        if found is None:
            with self._lock:
                found = 0
                for reader in self.readers:
                    try:
                        found += reader.doc_frequency(fieldname, text)
                    except (KeyError, ValueError):
                        continue
                if len(self._df) > 200_000:
                    self._df.clear()
                self._df[key] = found
        return found

    def field_length(self, fieldname: str) -> float:
        found = self._lengths.get(fieldname)
        if found is None:
            with self._lock:
                found = self._lengths[fieldname] = sum(r.field_length(fieldname) for r in self.readers)
        return found

    def having(self, fieldname: str) -> int:
        """How many articles have ``fieldname`` (a length above 0)."""
        from .scoring import _field_lengths

        found = self._having.get(fieldname)
        if found is None:
            with self._lock:
                found = 0
                for reader in self.readers:
                    for leaf, _offset in reader.leaf_readers():
                        found += int(np.count_nonzero(_field_lengths(leaf, fieldname)))
                self._having[fieldname] = found
        return found


class _WholeIndexCounts:
    """Document frequencies and counts of the whole index (``self._stats``), not of one shard."""

    _stats: GlobalStats

    def doc_frequency(self, fieldname, text):
        return self._stats.doc_frequency(fieldname, text)

    def doc_count_all(self):
        return self._stats.docs_all

    def doc_count(self):
        return self._stats.docs


class _GlobalReader(_WholeIndexCounts):
    """A shard's reader whose document frequencies and counts are the whole index's (for Whoosh's
    estimates of how many articles a query matches)."""

    def __init__(self, reader, stats: GlobalStats):
        self._reader, self._stats = reader, stats

    def __getattr__(self, name):
        return getattr(self._reader, name)


class StatsSearcher(Searcher):
    """A Whoosh searcher of one shard that scores with the whole index's statistics.

    Whoosh's scorers ask the top searcher (``get_parent()``) for the IDF of a term and the average
    length of a field; :mod:`search.scoring` asks it for :attr:`global_stats`. Counting and
    iterating documents stay the shard's own.
    """

    def __init__(self, reader, stats: GlobalStats, **kwargs):
        super().__init__(reader, **kwargs)
        self.global_stats = stats
        self.doc_frequency = stats.doc_frequency  # Whoosh copies the reader's method onto the searcher

    def _subsearcher(self, reader):
        raise NotImplementedError("a shard's searcher reads one segment")

    def idf(self, fieldname, text):
        cache = self._idf_cache
        term = (fieldname, text)
        if term not in cache:
            cache[term] = self.weighting.idf(_Parent(self.global_stats), fieldname, text)
        return cache[term]

    def field_length(self, fieldname):
        return self.global_stats.field_length(fieldname)

    def avg_field_length(self, fieldname, default=None):
        if not self.schema[fieldname].scorable:
            return default
        return self.global_stats.field_length(fieldname) / (self.global_stats.docs_all or 1)

    def key_terms_from_text(self, fieldname, text, numterms=5, model=None, normalize=True):
        """Whoosh's key terms of ``text``, weighed against the whole index's words."""
        from whoosh import classify
        from whoosh.reading import MultiReader

        stats = self.global_stats
        with stats._lock:  # the shared readers, one thread at a time
            expander = classify.Expander(MultiReader(stats.readers), fieldname, model=model or classify.Bo1Model)
            expander.add_text(text)
            return expander.expanded_terms(numterms, normalize=normalize)

    def global_reader(self) -> _GlobalReader:
        return _GlobalReader(self.reader(), self.global_stats)


class _Parent(_WholeIndexCounts):
    """What a Whoosh weighting model asks of the top searcher to compute an IDF."""

    def __init__(self, stats: GlobalStats):
        self._stats = stats

    def get_parent(self):
        return self


class ShardCopies(syndication.Copies):
    """The index-wide clusters of copies as one shard sees them: its own document numbers mapped
    to the clusters' numbers, whose members are numbered by their place in the whole index."""

    def __init__(self, whole: syndication.Copies, order: np.ndarray):
        self.clusters = whole.clusters
        self.whole = whole
        self.order = order
        self._cluster = {}
        for local, place in enumerate(order.tolist()):
            number = whole._cluster.get(place)
            if number is not None:
                self._cluster[local] = number

    def members(self, docnum: int):
        return self.whole.members(int(self.order[docnum])) if docnum in self._cluster else ()

    def others(self, docnum: int):
        place = int(self.order[docnum])
        return tuple(m for m in self.members(docnum) if m.docnum != place)


__all__ = ["ORDER", "GlobalStats", "ShardCopies", "StatsSearcher", "load_order", "save_order", "shard_of"]
