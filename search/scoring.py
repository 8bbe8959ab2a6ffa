"""How an article scores for a query: BM25F over title and body, coordination, answer types.

The query side (:mod:`search.query`) turns what a reader typed into Whoosh queries; the plain words
of it become :class:`Word` queries gathered in one :class:`Ranked` query, which scores every
candidate article in steps (each knob is in :class:`Ranking`; docs/ranking.md gives
what each did to the evaluation sets):

1. **BM25F** (Robertson and Zaragoza): a word's occurrences in the title and in the body are added,
   each weighted and normalised by its own field's length, *before* the term-frequency saturation.
   A word in the title counts like a few more occurrences, not like a second match, so an article
   with a title does not outrank an untitled one merely for having one. The IDF is Robertson and
   Sparck Jones's: a word found in most articles weighs next to nothing.
2. **Coordination**: the sum is multiplied by the share of the query's information the article
   holds (the IDF mass of the matched content words over that of all of them), so articles holding
   every word come first, and of a long question, the rare words count most. *Minor* words
   (function and question words: 的, 是, 多少, 哪些) neither find articles nor count here.
3. **Re-scoring the best candidates** of each segment: a question that asks *when* doubles the
   score of articles that state a date (answer-type matching, as in question-answering retrieval),
   then the first page's articles gain up to a tenth for holding the query's words close together
   (the share of pairs of query words found within a few words of each other: in one sentence, not
   merely in one article).

Scores are computed a posting list at a time into arrays (numpy), then handed to Whoosh as a
matcher over the matching articles in document order, with the best score of each block of them,
so Whoosh's top-N collector skips blocks that cannot make the page, and filters, sorting, paging and
counting work as for any Whoosh query.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
from whoosh import matching
from whoosh import query as wq
from whoosh.columns import NumericColumn
from whoosh.matching import AndNotMatcher, Matcher, NullMatcher, ReadTooFar, WrappingMatcher
from whoosh.util.numeric import byte_to_length

from . import schema as fields
from .codec import NewsLeafMatcher, positions_of
from .timelimit import time_up

_CN_DIGIT = "[一二三四五六七八九十〇零两]"
#: What an article that answers a question of each kind holds: a date (a day or a month, not a
#: bare year) for "when" questions.
ANSWER_PATTERNS = {
    "date": re.compile(
        r"\d{1,2}月\d{1,2}[日号]|\d{4}年\d{1,2}月|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}月(?:初|上旬|中旬|下旬|底)"
        r"|" + _CN_DIGIT + "{1,2}月" + _CN_DIGIT + "{1,3}[日号]"
    ),
}


@dataclass(frozen=True)
class FieldWeight:
    """A text field searched for query words: its BM25F weight and length normalisation ``b``."""

    name: str
    weight: float
    b: float


@dataclass(frozen=True)
class Ranking:
    """The knobs of ranking, in one place (docs/ranking.md: what each one does)."""

    #: Fields searched for unfielded words, with their BM25F weight and length normalisation b.
    fields: tuple[FieldWeight, ...] = field(
        default=(FieldWeight(fields.TITLE, 4.0, 0.5), FieldWeight(fields.BODY, 1.0, 0.75))
    )
    #: BM25 term-frequency saturation.
    k1: float = 1.2
    #: Power of the share of the query's IDF mass an article holds (0: no coordination).
    coordination: float = 1.0
    #: Treat the words of ``search/data/minorwords.txt`` as minor (False: every word is content).
    minor_words: bool = True
    #: Weight of minor words (function and question words) against content words; 0 drops them.
    minor_weight: float = 0.0
    #: The best ``proximity_depth`` candidates (the first page) gain up to this share of their
    #: score for holding pairs of query words within ``proximity_window`` words (0: none).
    proximity: float = 0.1
    proximity_window: int = 10
    proximity_depth: int = 10
    #: A question asking "when" (时间, 什么时候, 日期) multiplies the score of articles stating a
    #: date by 1 + this (0: no answer types).
    answer_boost: float = 1.0
    #: How many of each segment's best candidates are checked for the answer type.
    answer_depth: int = 100
    #: Weight of a quoted phrase's match in the title against one in the body.
    phrase_title_boost: float = 1.5


RANKING = Ranking()


# Statistics and postings ------------------------------------------------------------------------


class _Stats:
    """Collection statistics from the top-level searcher (shared by all segments), or from its
    ``global_stats`` (:class:`search.shards.GlobalStats`: a shard's searcher, which ranks with the
    statistics of the whole index)."""

    def __init__(self, searcher):
        parent = searcher.get_parent()
        self.parent = parent
        self.whole = getattr(parent, "global_stats", None)
        self.docs = max(1, self.whole.docs_all if self.whole is not None else parent.doc_count_all())
        self._avg: dict[str, float] = {}
        self._idf: dict[str, float] = {}

    def avg_length(self, field: str) -> float:
        """The average length of ``field`` over the documents that have it (untitled articles do
        not make titles look long)."""
        avg = self._avg.get(field)
        if avg is None:
            total = self.parent.field_length(field)
            if self.whole is not None:
                having = self.whole.having(field)
            else:
                having = 0
                for leaf, _offset in self.parent.leaf_searchers():
                    having += int(np.count_nonzero(_field_lengths(leaf.reader(), field)))
            avg = self._avg[field] = (total / having) if total and having else 1.0
        return avg

    def idf(self, text: str, field_names: Sequence[str]) -> float:
        value = self._idf.get(text)
        if value is None:
            df = 0
            for name in field_names:
                try:
                    df = max(df, self.parent.doc_frequency(name, text))
                except (KeyError, ValueError):
                    continue
            value = self._idf[text] = math.log(1.0 + (self.docs - df + 0.5) / (df + 0.5))
        return value


_LENGTHS = OrderedDict()
_LENGTHS_LOCK = threading.Lock()
_LENGTHS_KEEP = 64
_LENGTH_COLUMN = NumericColumn("B", default=0)
_BYTE_TO_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)


def _segment_key(reader) -> tuple | None:
    """A key unique to one segment of one index (None when the reader has no single segment).

    Whoosh names segments with the ``random`` module, which forked processes and seeded test runs
    repeat: the folder of the index and the segment's size go into the key too.
    """
    try:
        segment = reader.segment()
        folder = getattr(getattr(reader, "_storage", None), "folder", None)
        return (folder, segment.segment_id(), reader.doc_count_all(), segment.deleted_count())
    except AttributeError:
        return None


def _field_lengths(reader, field: str) -> np.ndarray:
    """The length of ``field`` in every document of a segment (cached per segment)."""
    segment = _segment_key(reader)
    key = None if segment is None else (segment, field)
    if key is not None:
        with _LENGTHS_LOCK:
            found = _LENGTHS.get(key)
            if found is not None:
                _LENGTHS.move_to_end(key)
                return found
    count = reader.doc_count_all()
    lengths = None
    perdoc = getattr(reader, "_perdoc", None)  # Whoosh 2.7: one length byte per document in a column
    column = f"_{field}_len"
    if perdoc is not None and hasattr(perdoc, "column_reader"):
        try:
            if perdoc.has_column(column):
                codes = np.frombuffer(b"".join(perdoc.column_reader(column, _LENGTH_COLUMN)), dtype=np.uint8)
                lengths = _BYTE_TO_LENGTH[codes[:count]]
        except Exception:  # noqa: BLE001 - fall back to the public per-document call
            lengths = None
    if lengths is None or len(lengths) != count:
        lengths = np.array([reader.doc_field_length(d, field, 0) or 0 for d in range(count)], dtype=np.float32)
    if key is not None:
        with _LENGTHS_LOCK:
            _LENGTHS[key] = lengths
            while len(_LENGTHS) > _LENGTHS_KEEP:
                _LENGTHS.popitem(last=False)
    return lengths


def warm(reader, ranking: Ranking | None = None) -> None:
    """Load what the first scored search of an index would: every segment's field lengths."""
    ranking = ranking or RANKING
    for leaf, _ in reader.leaf_readers():
        for weight in ranking.fields:
            if weight.name in leaf.schema:
                _field_lengths(leaf, weight.name)


class _Postings:
    """One term's postings in one segment: document numbers, frequencies and, when asked for,
    positions (``flat``: every posting's positions one after the other, ``starts`` and ``counts``:
    where each posting's are and how many)."""

    __slots__ = ("ids", "freqs", "flat", "starts", "counts")

    def __init__(self, ids: np.ndarray, freqs: np.ndarray, flat=None, starts=None, counts=None):
        self.ids = ids
        self.freqs = freqs
        self.flat = flat
        self.starts = starts
        self.counts = counts

    def positions(self, docs: np.ndarray) -> dict[int, list[int]]:
        """Word positions in each of ``docs`` (ascending) that holds the term."""
        if self.flat is None or not len(self.ids):
            return {}
        index = np.searchsorted(self.ids, docs)
        index = np.minimum(index, len(self.ids) - 1)
        held = self.ids[index] == docs
        flat = self.flat
        return {
            doc: flat[start : start + count].tolist()
            for doc, start, count in zip(
                docs[held].tolist(),
                self.starts[index[held]].tolist(),
                self.counts[index[held]].tolist(),
                strict=True,
            )
        }


def _postings(reader, field: str, text: str, with_values: bool = False) -> _Postings | None:
    """The postings of ``text`` in ``field`` of one segment (None when it has none)."""
    try:
        if (field, text) not in reader:
            return None
        matcher = reader.postings(field, text)
    except (KeyError, ValueError):
        return None
    inner = getattr(matcher, "child", matcher)  # under the deleted-documents filter, if any
    flat = starts = counts = None
    if isinstance(inner, NewsLeafMatcher):
        # The whole list at once, decoded by numpy.
        with_values = with_values and inner.supports("positions")
        doc_ids, counts, gaps = inner.read_all(with_values)
        freqs = counts.astype(np.float32)
        if with_values:
            flat, starts = positions_of(counts, gaps)
    else:  # another codec: one posting at a time
        doc_list, freq_list, where = [], [], []
        with_values = with_values and inner.supports("positions")
        while inner.is_active():
            doc_list.append(inner.id())
            freq_list.append(inner.weight())
            if with_values:
                where.append(inner.value_as("positions"))
            inner.next()
        doc_ids = np.array(doc_list, dtype=np.int64)
        freqs = np.array(freq_list, dtype=np.float32)
        if with_values:
            counts = np.array([len(p) for p in where], dtype=np.int64)
            starts = np.cumsum(counts) - counts
            flat = np.array([x for p in where for x in p], dtype=np.int64)
    if reader.has_deletions():
        keep = np.array([not reader.is_deleted(int(d)) for d in doc_ids], dtype=bool)
        doc_ids, freqs = doc_ids[keep], freqs[keep]
        if flat is not None:
            starts, counts = starts[keep], counts[keep]
    return _Postings(doc_ids, freqs, flat, starts, counts)


def _sequence(reader, field: str, pieces: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Documents holding ``pieces`` as consecutive words of ``field``, and how often."""
    if len(pieces) < 2:
        return None
    postings = [_postings(reader, field, piece, with_values=True) for piece in pieces]
    if any(p is None for p in postings):
        return None
    common = postings[0].ids
    for posting in postings[1:]:
        common = np.intersect1d(common, posting.ids, assume_unique=True)
    if not len(common):
        return None
    where = [posting.positions(common) for posting in postings]
    docs, freqs = [], []
    for done, doc in enumerate(common.tolist(), 1):
        if not done % 64 and time_up():
            break
        later = [set(positions[doc]) for positions in where[1:]]
        count = sum(1 for start in where[0][doc] if all(start + i + 1 in held for i, held in enumerate(later)))
        if count:
            docs.append(doc)
            freqs.append(count)
    if not docs:
        return None
    return np.array(docs, dtype=np.int64), np.array(freqs, dtype=np.float32)


# Queries ----------------------------------------------------------------------------------------


class Word(wq.Term):
    """A query word looked up in title and body at once and scored with BM25F.

    ``fieldname`` is the body field, so code that lists a query's terms (highlighting) sees it as a
    body word. A *minor* word (function or question word) only adds to articles found otherwise.
    """

    def __init__(self, text: str, ranking, boost: float = 1.0, minor: bool = False, pieces: tuple[str, ...] = ()):
        super().__init__(fields.BODY, text, boost=boost)
        self.ranking = ranking
        self.minor = minor
        #: The letter and digit runs of a Latin word holding both (gpt4: gpt, 4): an article
        #: holding them side by side (GPT-4, GPT 4) holds the word.
        self.pieces = tuple(pieces)

    def __repr__(self):
        return f"Word({self.text!r}{', minor' if self.minor else ''}, boost={self.boost})"

    def __str__(self):
        return f"{self.text}{'?' if self.minor else ''}" + (f"^{self.boost:g}" if self.boost != 1 else "")

    def __eq__(self, other):
        return (
            type(other) is type(self)
            and self.text == other.text
            and self.boost == other.boost
            and self.minor == other.minor
            and self.pieces == other.pieces
            and self.ranking == other.ranking
        )

    def __hash__(self):
        return hash((type(self), self.text, self.boost, self.minor))

    def copy(self):
        return Word(self.text, self.ranking, self.boost, self.minor, self.pieces)

    def with_boost(self, boost):
        return Word(self.text, self.ranking, boost, self.minor, self.pieces)

    def normalize(self):
        return self

    def estimate_size(self, ixreader):
        return max((ixreader.doc_frequency(f.name, self.text) for f in self.ranking.fields), default=0)

    def matcher(self, searcher, context=None):
        return Ranked([self], self.ranking).matcher(searcher, context)


class Ranked(wq.Or):
    """Articles matching any of the subqueries, ranked by BM25F, coordination, answer type and proximity.

    Subqueries are :class:`Word` queries and any other query (a quoted phrase, a bracketed
    group), which is scored by Whoosh and counts as one more matched unit for coordination.
    """

    def __init__(
        self,
        subqueries,
        ranking,
        boost: float = 1.0,
        wants: str | None = None,
    ):
        super().__init__(list(subqueries), boost=boost)
        self.ranking = ranking
        #: The kind of answer a question asks for ("date" for 什么时候, 时间), or None.
        self.wants = wants
        self._found: dict[str, np.ndarray] = {}

    def __repr__(self):
        return f"Ranked({self.subqueries!r}, boost={self.boost})"

    def __eq__(self, other):
        return (
            type(other) is type(self)
            and self.subqueries == other.subqueries
            and self.boost == other.boost
            and self.wants == other.wants
            and self.ranking == other.ranking
        )

    def __hash__(self):
        return hash((type(self), tuple(self.subqueries), self.boost))

    def copy(self):
        return Ranked(list(self.subqueries), self.ranking, self.boost, self.wants)

    def with_boost(self, boost):
        return Ranked(list(self.subqueries), self.ranking, boost, self.wants)

    def normalize(self):
        return self

    def apply(self, fn):
        return Ranked([fn(q) for q in self.subqueries], self.ranking, self.boost, self.wants)

    @property
    def node(self) -> str:
        """This query's name in a :class:`Reranking` plan."""
        return f"{self!r} {self.wants}"

    def may_rescore(self) -> bool:
        """Whether re-scoring (answer type, proximity) can change this query's scores: it asks for
        an answer type, or has two content words or more."""
        words = [q for q in self.subqueries if isinstance(q, Word)]
        if not words and len(self.subqueries) == 1:
            return False  # the one subquery is searched as it is
        if self.wants and self.ranking.answer_boost:
            return True
        content = {q.text for q in words if not q.minor} or {q.text for q in words}
        return bool(self.ranking.proximity) and len(content) >= 2

    def matcher(self, searcher, context=None):
        scored = context is None or context.weighting is not None
        words = [q for q in self.subqueries if isinstance(q, Word)]
        others = [q for q in self.subqueries if not isinstance(q, Word)]
        if not words and len(others) == 1:
            return others[0].matcher(searcher, context)
        key = _segment_key(searcher.reader())
        if not scored and key is not None and key in self._found:
            # Counting the matches after a scored search (Whoosh's top-N collector does): reuse them.
            ids = self._found[key]
            scores = np.zeros(len(ids))
        else:
            ids, scores = _rank(searcher, context, words, others, self.wants, self.ranking, scored, self.node)
            if key is not None:
                self._found[key] = ids
        if not len(ids):
            return NullMatcher()
        if self.boost != 1.0:
            scores = scores * self.boost
        return ArrayMatcher(ids, scores)


# Scoring ----------------------------------------------------------------------------------------


def _rank(searcher, context, words: list[Word], others: list[wq.Query], wants, ranking, scored: bool, node: str = ""):
    """Document numbers (ascending) and scores of one segment's matches (``node`` names the
    :class:`Ranked` query being scored, for a :class:`Reranking` plan)."""
    reader = searcher.reader()
    count = reader.doc_count_all()
    stats = _Stats(searcher)
    names = [f.name for f in ranking.fields if f.name in searcher.schema]
    field_weights = [f for f in ranking.fields if f.name in searcher.schema]

    # Merge repeated words (的 ... 的): one clause, weight added up like a query-term frequency.
    merged: dict[tuple[str, bool], float] = {}
    pieces: dict[str, tuple[str, ...]] = {}
    for word in words:
        key = (word.text, word.minor)
        merged[key] = merged.get(key, 0.0) + word.boost
        pieces[word.text] = word.pieces
    content = [(text, boost) for (text, minor), boost in merged.items() if not minor]
    minor = [(text, boost) for (text, minor), boost in merged.items() if minor]
    if not content and not others:  # only minor words: they are all there is to search
        content, minor = minor, []

    base = np.zeros(count, dtype=np.float64)
    mass = np.zeros(count, dtype=np.float64)
    found = np.zeros(count, dtype=bool)
    total_mass = 0.0
    k1 = ranking.k1
    lengths = {f.name: _field_lengths(reader, f.name) for f in field_weights} if scored else {}
    # For proximity: which documents hold each content word in which field.
    holders: list[tuple[str, float, dict[str, np.ndarray]]] = []

    def word_score(text: str, keep: bool = False):
        """Pseudo term frequency (BM25F) over the fields, as a dense array; None when absent."""
        tf = None
        where: dict[str, _Postings] = {}
        for f in field_weights:
            posting = _postings(reader, f.name, text, with_values=keep)
            spelled = _sequence(reader, f.name, pieces.get(text, ()))
            unique = True  # each document once: added by indexing, not by np.add.at (slow)
            if posting is not None and len(posting.ids):
                where[f.name] = posting
                if spelled is not None:  # the word and its pieces side by side, added up
                    doc_ids = np.concatenate([posting.ids, spelled[0]])
                    freqs = np.concatenate([posting.freqs, spelled[1]])
                    unique = False
                else:
                    doc_ids, freqs = posting.ids, posting.freqs
            elif spelled is not None:
                doc_ids, freqs = spelled
            else:
                continue
            if tf is None:
                tf = np.zeros(count, dtype=np.float64)
            if scored:
                norm = 1.0 - f.b + f.b * lengths[f.name][doc_ids] / stats.avg_length(f.name)
                if unique:
                    tf[doc_ids] += f.weight * freqs / norm
                else:
                    np.add.at(tf, doc_ids, f.weight * freqs / norm)
            else:
                tf[doc_ids] = 1.0
        if tf is None:
            return None, None, where
        return tf, tf > 0, where

    # The clock is checked between words and clauses and every few dozen matches of a clause:
    # a hostile query (many phrases of common words) stops at the request's time limit, ranked on
    # what was scored by then.
    for text, boost in content:
        idf = stats.idf(text, names)
        total_mass += idf * boost
        tf, hit, where = word_score(text, keep=scored and ranking.proximity > 0)
        if tf is None:
            continue
        found |= hit
        if scored:
            base += boost * idf * tf * (k1 + 1.0) / (tf + k1)
            mass[hit] += idf * boost
            holders.append((text, idf, where))
        if time_up():
            break

    other_mass = (total_mass / len(content)) if content and total_mass else 1.0
    for query in others:
        total_mass += other_mass
        matcher = query.matcher(searcher, context)
        doc_list, score_list = [], []
        while matcher.is_active():
            doc_list.append(matcher.id())
            score_list.append(matcher.score() if scored else 0.0)
            matcher.next()
            if not len(doc_list) % 64 and time_up():
                break
        if doc_list:
            doc_ids = np.array(doc_list, dtype=np.int64)
            found[doc_ids] = True
            if scored:
                base[doc_ids] += np.array(score_list, dtype=np.float64)
                mass[doc_ids] += other_mass
        if time_up():
            break

    ids = np.flatnonzero(found)
    if not scored or not len(ids):
        return ids, np.zeros(len(ids))

    for text, boost in minor if ranking.minor_weight else ():
        if time_up():
            break
        tf, hit, _ = word_score(text)
        if tf is None:
            continue
        idf = stats.idf(text, names)
        base += ranking.minor_weight * boost * idf * tf * (k1 + 1.0) / (tf + k1)

    scores = base[ids]
    if total_mass > 0 and ranking.coordination:
        share = np.minimum(mass[ids] / total_mass, 1.0)
        scores = scores * share**ranking.coordination
    plan = _planned.get()
    if plan is not None:
        return ids, plan.rerank(node, reader, ids, scores, holders, wants, ranking)
    if ((ranking.proximity and len(holders) >= 2) or (wants and ranking.answer_boost)) and not time_up():
        scores = _rerank(reader, ids, scores, holders, wants, ranking)
    return ids, scores


def _best(scores: np.ndarray, depth: int, keys: np.ndarray | None = None) -> np.ndarray:
    """Indexes of the ``depth`` best scores, in document order; of equal scores at the edge, those
    of the smallest ``keys`` (default: the first), as a ranked list orders them."""
    if depth >= len(scores):
        return np.arange(len(scores))
    edge = -np.partition(-scores, depth - 1)[depth - 1]
    above = np.flatnonzero(scores > edge)
    equal = np.flatnonzero(scores == edge)
    if keys is not None and len(equal) > depth - len(above):
        equal = equal[np.argsort(keys[equal], kind="stable")]
    return np.sort(np.concatenate([above, equal[: depth - len(above)]]))


def _has_answer(reader, docs: np.ndarray, wants: str) -> np.ndarray:
    """Whether each of ``docs`` states what a question of kind ``wants`` asks for."""
    pattern = ANSWER_PATTERNS[wants]
    stored = reader.stored_fields
    return np.array([bool(pattern.search(_text_of(stored(doc)))) for doc in docs.tolist()], dtype=bool)


def _rerank(reader, ids: np.ndarray, scores: np.ndarray, holders, wants: str | None, ranking) -> np.ndarray:
    """Re-score the best candidates: answer type, then proximity."""
    scores = scores.copy()
    if wants and ranking.answer_boost:
        top = _best(scores, ranking.answer_depth)
        has = _has_answer(reader, ids[top], wants)
        scores[top[has]] *= 1.0 + ranking.answer_boost
    if ranking.proximity and len(holders) >= 2:
        top = _best(scores, ranking.proximity_depth)
        scores[top] *= 1.0 + ranking.proximity * _proximity(ids[top], holders, ranking.proximity_window)
    return scores


class Reranking:
    """Which candidates of a sharded index are re-scored, chosen over the whole index.

    One index re-scores the best candidates of all its articles (answer type, proximity); a shard
    sees only its own, so the choice is made over every shard's report of its best candidates
    (score, place in the whole index, whether they state an answer) and of the query words it
    holds (:func:`choose`). Two ways:

    - In one round (:meth:`reporting`, when the query's top is the one :class:`Ranked` query that
      may re-score): each shard searches without re-scoring and reports its candidates, with the
      pairs of query words near each other for those that may reach the first page; the merge
      re-scores the chosen ones (:func:`rescored`).
    - In two (any other query that may re-score): :meth:`gathering` plans first, which only
      report, then each shard searches again with its plan from :func:`choose`.
    """

    def __init__(self, order: np.ndarray, chosen: dict | None = None, near: bool = False):
        #: Each document's place in the whole index (equal scores are ordered by it).
        self.order = order
        #: By query: (documents given the answer boost, documents scored for proximity, the query
        #: words found in the whole index); ``None`` while reporting (see :meth:`located`).
        self.chosen = chosen
        #: Report the pairs of near words of the candidates that may reach the first page.
        self.near = near
        #: By query, what this shard reported.
        self.found: dict[str, dict] = {}

    @classmethod
    def gathering(cls, order: np.ndarray) -> Reranking:
        return cls(order, None)

    @classmethod
    def reporting(cls, order: np.ndarray) -> Reranking:
        return cls(order, None, near=True)

    @classmethod
    def located(cls, order: np.ndarray, plan: dict, local: Callable[[int], int]) -> Reranking:
        """The plan of :func:`choose` for a shard, its places turned into the shard's documents
        by ``local``."""
        chosen = {
            node: ({local(place) for place in boosted}, {local(place) for place in near}, words)
            for node, (boosted, near, words) in plan.items()
        }
        return cls(order, chosen)

    def rerank(self, node: str, reader, ids, scores, holders, wants, ranking) -> np.ndarray:
        words = [text for text, _idf, _where in holders]
        if self.chosen is None:
            asks = bool(wants and ranking.answer_boost)
            depth = ranking.answer_depth if asks else ranking.proximity_depth
            keys = self.order[ids]
            top = _best(scores, depth, keys)
            has = _has_answer(reader, ids[top], wants) if asks else np.zeros(len(top), dtype=bool)
            found = self.found.setdefault(node, {"words": set(), "best": [], "asks": asks, "near": {}, "docs": []})
            found["words"].update(words)
            found["best"] += zip(scores[top].tolist(), keys[top].tolist(), has.tolist(), strict=True)
            if self.near:
                found["docs"] += ids[top].tolist()
                if ranking.proximity and len(holders) >= 2:
                    boost = ranking.answer_boost if asks else 0.0
                    reach = _may_reach(scores[top], keys[top], has, boost, ranking.proximity_depth)
                    pairs = _near_pairs(ids[top][reach], holders, ranking.proximity_window)
                    found["near"].update(zip(keys[top][reach].tolist(), pairs, strict=True))
            return scores
        chosen = self.chosen.get(node)
        if chosen is None:
            return scores
        boosted, near, everywhere = chosen
        scores = scores.copy()
        if boosted:
            scores[np.isin(ids, list(boosted))] *= 1.0 + ranking.answer_boost
        if near and ranking.proximity and len(everywhere) >= 2:
            top = np.flatnonzero(np.isin(ids, list(near)))
            share = _proximity(ids[top], holders, ranking.proximity_window, len(everywhere))
            scores[top] *= 1.0 + ranking.proximity * share
        return scores


def rescoring(query: wq.Query) -> str:
    """How a sharded index re-scores ``query`` over the whole index: ``"none"`` (no part of it may
    re-score), ``"top"`` (only its top, a :class:`Ranked` query: in one round) or ``"nested"``
    (in two; see :class:`Reranking`)."""

    def walk(node: wq.Query) -> Iterator[wq.Query]:
        yield node
        for child in node.children():
            yield from walk(child)

    rescore = [node for node in walk(query) if isinstance(node, Ranked) and node.may_rescore()]
    if not rescore:
        return "none"
    return "top" if rescore == [query] and rescore[0] is query else "nested"


def choose(reports: list[dict], ranking: Ranking | None = None) -> list[dict]:
    """Every shard's re-scoring plan from what each reported (:attr:`Reranking.found`), as one
    index would choose over all its articles: by query, (the places in the whole index given the
    answer boost, those scored for proximity, the query words found in the whole index). A shard
    searching with its plan turns the places into its documents (:meth:`Reranking.located`)."""
    ranking = ranking or RANKING
    plans: list[dict] = [{} for _ in reports]
    for node in {node for report in reports for node in report}:
        words = set().union(*(report[node]["words"] for report in reports if node in report))
        best = sorted(
            ((-score, place, has, shard) for shard, r in enumerate(reports) for score, place, has in r.get(node, {}).get("best", ())),
        )
        asks = any(report[node]["asks"] for report in reports if node in report)
        boosted: list[set] = [set() for _ in reports]
        if asks and ranking.answer_boost:
            top = best[: ranking.answer_depth]
            rescored = sorted(
                (negated * (1.0 + ranking.answer_boost) if has else negated, place, has, shard)
                for negated, place, has, shard in top
            )
            for _negated, place, has, shard in top:
                if has:
                    boosted[shard].add(place)
            best = rescored
        near: list[set] = [set() for _ in reports]
        if ranking.proximity and len(words) >= 2:
            for _negated, place, _has, shard in best[: ranking.proximity_depth]:
                near[shard].add(place)
        for shard in range(len(reports)):
            plans[shard][node] = (boosted[shard], near[shard], sorted(words))
    return plans


#: The re-scoring plan of the shard being searched in this thread (``None``: not a shard).
_planned: ContextVar[Reranking | None] = ContextVar("news_search_reranking", default=None)


@contextlib.contextmanager
def planned(plan: Reranking | None) -> Iterator[None]:
    """Make ``plan`` the re-scoring plan of the searches run in this thread while the block runs."""
    token = _planned.set(plan)
    try:
        yield
    finally:
        _planned.reset(token)


def _text_of(stored: dict) -> str:
    title = stored.get(fields.TITLE) or ""
    body = stored.get(fields.BODY) or ""
    return f"{title}\n{body}" if title else body


def _proximity(docs: np.ndarray, holders, window: int, words: int | None = None) -> np.ndarray:
    """For each of ``docs``, the share of pairs of query words found within ``window`` words of
    each other (in the title or in the body), out of the pairs of ``words`` query words (default:
    those ``holders`` has; a shard may lack some of the words the whole index holds)."""
    words = len(holders) if words is None else words
    return np.array(_near_pairs(docs, holders, window), dtype=np.int64) / (words * (words - 1) // 2)


def _near_pairs(docs: np.ndarray, holders, window: int) -> list[int]:
    """For each of ``docs``, the pairs of query words found within ``window`` words of each other
    (in the title or in the body)."""
    positions = [{name: posting.positions(docs) for name, posting in where.items()} for _t, _i, where in holders]
    pairs = [(a, b) for a in range(len(holders)) for b in range(a + 1, len(holders))]
    counts = []
    for doc in docs.tolist():
        near = 0
        for a, b in pairs:
            for name in positions[a].keys() & positions[b].keys():
                first = positions[a][name].get(doc)
                second = positions[b][name].get(doc)
                if first and second and _closest(first, second) <= window:
                    near += 1
                    break
        counts.append(near)
    return counts


def _may_reach(scores: np.ndarray, places: np.ndarray, has: np.ndarray, boost: float, depth: int) -> np.ndarray:
    """Which of a shard's best candidates may be among the whole index's ``depth`` best once those
    stating an answer are boosted (see :func:`choose`): those that fewer than ``depth`` of the
    shard's better candidates outrank. (The whole index's best candidates hold a shard's best
    ones up to some rank; a candidate outranked by ``depth`` of the shard's better ones is out of
    the first ``depth`` whatever that rank.)"""
    ranks = np.lexsort((places, -scores))
    boosted = np.where(has, scores * (1.0 + boost), scores) if boost else scores
    keys = list(zip((-boosted).tolist(), places.tolist(), strict=True))
    seen: list[tuple[float, int]] = []
    reach = np.zeros(len(scores), dtype=bool)
    for i in ranks.tolist():
        position = bisect_left(seen, keys[i])
        reach[i] = position < depth
        seen.insert(position, keys[i])
    return reach


def rescored(found: dict, chosen: tuple, boost: float, ranking: Ranking | None = None) -> dict[int, float]:
    """By place in the whole index, the final scores of one shard's candidates that its plan
    (:func:`choose`) re-scores, from what it reported in one round (:meth:`Reranking.reporting`):
    the same arithmetic, in the same order, as :func:`_rerank` of one index and the matcher of a
    :class:`Ranked` query boosted by ``boost``."""
    ranking = ranking or RANKING
    boosted, near, words = chosen
    every = len(words) * (len(words) - 1) // 2
    scores = {}
    for score, place, _has in found.get("best", ()):
        if place not in boosted and place not in near:
            continue
        if place in boosted:
            score *= 1.0 + ranking.answer_boost
        if place in near and ranking.proximity and every:
            score *= 1.0 + ranking.proximity * (found["near"].get(place, 0) / every)
        scores[place] = score * boost if boost != 1.0 else score
    return scores


def _closest(first: list[int], second: list[int]) -> int:
    """The smallest distance between a position of ``first`` and one of ``second`` (both sorted)."""
    best = abs(first[0] - second[0])
    i = j = 0
    while i < len(first) and j < len(second):
        distance = first[i] - second[j]
        if abs(distance) < best:
            best = abs(distance)
        if distance < 0:
            i += 1
        else:
            j += 1
    return best


# The matcher Whoosh iterates ---------------------------------------------------------------------


class ArrayMatcher(Matcher):
    """Precomputed matches: document numbers in ascending order with their scores.

    Scores are known in advance, so the matcher tells Whoosh's top-N collector the best score of
    each block of documents, and the collector skips blocks that cannot reach its top N.
    """

    BLOCK = 16

    def __init__(self, ids, scores, position: int = 0, _blocks=None):
        self._ids = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)
        self._scores = scores.tolist() if isinstance(scores, np.ndarray) else list(scores)
        self._i = position
        if _blocks is None:
            values = np.asarray(self._scores, dtype=np.float64)
            if len(values):
                block_max = np.maximum.reduceat(values, np.arange(0, len(values), self.BLOCK))
                after = np.maximum.accumulate(block_max[::-1])[::-1]  # best score from a block on
            else:
                block_max = after = np.zeros(0)
            _blocks = (block_max.tolist(), after.tolist())
        self._blocks = _blocks

    def __repr__(self):
        return f"<ArrayMatcher {len(self._ids)} docs>"

    def is_active(self):
        return self._i < len(self._ids)

    def reset(self):
        self._i = 0

    def id(self):
        try:
            return self._ids[self._i]
        except IndexError:
            # Whoosh's AndNotMatcher reads id() after skip_to_quality() may have run this matcher
            # out: an id past the last one, as an exhausted posting list would give.
            return self._ids[-1] + 1 if self._ids else 0

    def all_ids(self):
        return iter(self._ids[self._i :])

    def next(self):
        self._i += 1
        return self._i % self.BLOCK == 0  # True when entering a new block

    def skip_to(self, id):
        if not self.is_active():
            raise ReadTooFar
        if id > self._ids[self._i]:
            self._i = bisect_left(self._ids, id, self._i)

    def weight(self):
        return self._scores[self._i]

    def score(self):
        return self._scores[self._i]

    def value(self):
        return ""

    def supports(self, astype):
        return False

    def copy(self):
        return ArrayMatcher(self._ids, self._scores, self._i, self._blocks)

    def replace(self, minquality=0):
        if not self.is_active() or (minquality and self.max_quality() <= minquality):
            return NullMatcher()
        return self

    def supports_block_quality(self):
        return True

    def max_quality(self):
        return self._blocks[1][self._i // self.BLOCK] if self.is_active() else 0.0

    def block_quality(self):
        return self._blocks[0][self._i // self.BLOCK] if self.is_active() else 0.0

    def skip_to_quality(self, minquality):
        block_max = self._blocks[0]
        block = self._i // self.BLOCK
        skipped = 0
        while block < len(block_max) and block_max[block] <= minquality:
            block += 1
            skipped += 1
        if skipped:
            self._i = min(block * self.BLOCK, len(self._ids))
        return skipped

    def term(self):
        return None


class Phrase(wq.Phrase):
    """Whoosh's phrase query, whose matching stops once the search's budget is spent.

    Whoosh finds a phrase by stepping through the articles holding all its words and comparing
    their positions, in loops of its own; the words' postings here end early when the time is up
    (:class:`_TimedPostings`), so those loops end too, with the matches found so far.
    """

    def matcher(self, searcher, context=None):
        field = searcher.schema[self.fieldname] if self.fieldname in searcher.schema else None
        if field is None or not field.format or not field.format.supports("positions"):
            return super().matcher(searcher, context)
        reader = searcher.reader()
        terms = []
        for word in self.words:
            try:
                word = field.to_bytes(word)
            except ValueError:
                return NullMatcher()
            if (self.fieldname, word) not in reader:
                return NullMatcher()
            terms.append(_TimedTerm(self.fieldname, word))
        found = wq.SpanNear2(terms, slop=self.slop, ordered=True, mindist=1).matcher(searcher, context)
        return found if self.boost == 1.0 else matching.WrappingMatcher(found, boost=self.boost)


class _TimedTerm(wq.Term):
    def matcher(self, searcher, context=None):
        found = super().matcher(searcher, context)
        return found if isinstance(found, matching.NullMatcherClass) else _TimedPostings(found)


class _TimedPostings(WrappingMatcher):
    """A word's postings that end (become inactive) once the search's budget is spent."""

    #: Steps between looks at the clock.
    EVERY = 64

    def __init__(self, child, boost=1.0):
        super().__init__(child, boost)
        self._steps = 0
        self._ended = False

    def _time_up(self) -> bool:
        self._steps += 1
        if not self._steps % self.EVERY and time_up():
            self._ended = True
        return self._ended

    def is_active(self):
        return not self._ended and self.child.is_active()

    def next(self):
        if not self._time_up():
            return self.child.next()
        return False

    def skip_to(self, id):
        if not self._time_up():
            return self.child.skip_to(id)
        return False


class Excluding(wq.AndNot):
    """``a NOT b`` (Whoosh's :class:`~whoosh.query.AndNot`), matched by :class:`_ExcludingMatcher`
    and sized as ``a``: Whoosh's estimate adds ``b``'s matches, so ``重庆 -广告`` was "about"
    every article instead of being counted."""

    def estimate_size(self, ixreader):
        return self.a.estimate_size(ixreader)

    def matcher(self, searcher, context=None):
        return _ExcludingMatcher(
            self.a.matcher(searcher, context), self.b.matcher(searcher, searcher.boolean_context())
        )


class _ExcludingMatcher(AndNotMatcher):
    """Whoosh's AndNotMatcher, except that its first document is checked against the excluded
    matcher whatever document that one starts on. Whoosh's checks it only when both start on the
    same document: ``火锅 -重庆`` listed an article holding 重庆 whenever an article before it
    held 重庆 too (sorted by date, or counted; a scored search happened to skip it)."""

    def _find_first(self):
        if self.a.is_active() and self.b.is_active():
            self._find_next()


__all__ = ["ArrayMatcher", "Excluding", "FieldWeight", "Ranked", "Word"]
