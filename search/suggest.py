"""Suggestions while typing, from the index's frequent words and titles.

At index time :func:`write` puts ``suggest.tsv.zst`` beside the generation (Zstandard-compressed
text: a third of its size; a generation an earlier version wrote has it plain, ``suggest.tsv``,
and is read as well): the index's frequent words
(jieba words of titles and bodies found in at least :data:`MIN_DOCS` articles, weighted by how many
articles hold them; a word of our dictionaries -- ``userdict.txt``, the gazetteer's names -- or of a
title is worth suggesting from one article on) and the titles (weighted by how often the story was republished). Each line is
``kind, key, text, weight``; the key is the text folded as the analysis folds it (traditional to
simplified, full width to ASCII, lower case), so ``重慶`` completes like ``重庆``.

:class:`Suggester` loads the file once per process into sorted arrays (:class:`Packed`: the texts
in one string, a few bytes of offset each, rather than a Python string each): a completion is two
binary searches plus a look at the range (the most frequent one-character prefixes are precomputed), a
few microseconds to a millisecond, cheap enough for every keystroke. The words before the last one
are kept as typed and the last one is completed (``重庆 轨`` -> ``重庆 轨道交通``).

The same words are the vocabulary of "did you mean" (:mod:`search.spelling`):
:meth:`Suggester.neighbours` gives the known words sharing the first or the second half of a word.
"""

from __future__ import annotations

import heapq
import re
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate
from pathlib import Path

import zstandard

from .analysis import DATA_DIR, REGIONAL_DICT, fold

SIDECAR = "suggest.tsv.zst"
#: The same file uncompressed, as earlier versions wrote it.
PLAIN_SIDECAR = "suggest.tsv"
#: A word is suggested when this many articles hold it (one is enough for a word of our
#: dictionaries or of a title).
MIN_DOCS = 2
#: Most words kept (the most frequent ones), besides the words of dictionaries and titles held by
#: fewer than MIN_DOCS articles.
MAX_WORDS = 200_000
#: Longest title offered as a suggestion.
MAX_TITLE = 60

_END = "\U0010ffff"
_CJK = re.compile(r"[\u3400-\u9fff]")
_DIGITS = re.compile(r"^[\d.%]+$")


def key(text: str) -> str:
    """How a suggestion is looked up: folded like the index (t2s, NFKC), lower case."""
    return fold(text)[0].lower()


def _wanted(term: str) -> bool:
    if _DIGITS.match(term):
        return False
    return len(term) >= 2 if _CJK.search(term) else len(term) >= 3


def write(
    generation: Path,
    reader,
    titles: Iterable[tuple[str, int]],
    fields,
    term_counts: dict[bytes, int] | None = None,
    singles: dict[str, int] | None = None,
) -> dict:
    """Write ``suggest.tsv.zst`` for a generation.

    :param reader: the generation's Whoosh reader (its title and body words, with document counts)
    :param titles: ``(title, weight)`` of the articles
    :param term_counts: the documents holding each title and body word (summed over both fields),
        when the rebuild counted them as it wrote the index; else they are read from ``reader``
    :param singles: filled with the number of articles holding each single Chinese character
        (never suggested, but the pinyin table spells with them what no word spells)
    """
    counts: dict[str, int] = defaultdict(int)
    if term_counts is None:
        # Segment by segment (the counts add up): a multi-segment reader merges every term's
        # information across its segments, several times slower.
        pairs = (
            (term, info.doc_frequency())
            for leaf, _ in reader.leaf_readers()
            for name in (fields.TITLE, fields.BODY)
            for term, info in leaf.iter_field(name)
        )
    else:
        pairs = term_counts.items()
    for term, number in pairs:
        text = term.decode("utf-8") if isinstance(term, bytes) else term
        if _wanted(text):
            counts[text] += number
        elif singles is not None and len(text) == 1 and _CJK.match(text):
            singles[text] = singles.get(text, 0) + number
    frequent = [(w, n) for w, n in counts.items() if n >= MIN_DOCS]
    # The most frequent first; equal counts in the order of the words (the same file every time).
    frequent = sorted(frequent, key=lambda item: (-item[1], item[0]))[:MAX_WORDS]
    # Words we know to be words are kept from one article on, beyond the cap on frequent words.
    known = dictionary_words() | _title_words(reader, fields)
    words = frequent + sorted((w, n) for w, n in counts.items() if n < MIN_DOCS and w in known)
    best_titles: dict[str, tuple[str, int]] = {}
    for title, weight in titles:
        title = " ".join((title or "").split())
        if 4 <= len(title) <= MAX_TITLE:
            k = key(title)
            if k not in best_titles or best_titles[k][1] < weight:
                best_titles[k] = (title, weight)
    lines = [f"w\t{w}\t{w}\t{n}" for w, n in words]
    lines += [f"t\t{k}\t{t}\t{n}" for k, (t, n) in best_titles.items()]
    text = ("\n".join(lines) + "\n").encode("utf-8")
    (generation / SIDECAR).write_bytes(zstandard.ZstdCompressor(level=3).compress(text))
    return {"words": len(words), "titles": len(best_titles)}


def _open(generation: Path):
    """The suggestions beside ``generation`` as a text file (compressed or, from an earlier
    version, plain); :class:`OSError` when there are none."""
    if (generation / SIDECAR).exists():
        return zstandard.open(generation / SIDECAR, "rt", encoding="utf-8")
    return open(generation / PLAIN_SIDECAR, encoding="utf-8")


def word_weights(generation: Path) -> list[tuple[str, int]]:
    """The words (not the titles) of the suggestions beside ``generation``, with the number of
    articles holding each."""
    try:
        with _open(generation) as handle:
            rows = [line.rstrip("\n").split("\t") for line in handle if line.startswith("w\t")]
    except (OSError, zstandard.ZstdError):
        return []
    return [(row[2], int(row[3])) for row in rows if len(row) == 4 and row[3].isdigit()]


def dictionary_words() -> set[str]:
    """The words of our own dictionaries: the regional jieba dictionary and every name of the
    gazetteer (folded as the index folds them)."""
    from .regions import gazetteer

    words = set()
    with open(DATA_DIR / REGIONAL_DICT, encoding="utf-8") as handle:
        for line in handle:
            word = line.split(maxsplit=1)[0] if line.strip() else ""
            if word and not word.startswith("#"):
                words.add(key(word))
    words.update(key(name) for name in gazetteer().by_name)
    return words


def _title_words(reader, fields) -> set[str]:
    """The words of the titles (every segment's title lexicon: terms only, no postings read)."""
    words = set()
    for leaf, _ in reader.leaf_readers():
        words.update(term.decode("utf-8") if isinstance(term, bytes) else term for term in leaf.lexicon(fields.TITLE))
    return words


class Packed(Sequence[str]):
    """Many short texts held as one string and their offsets: read like a list (``len``, ``[i]``,
    iteration, :func:`bisect.bisect_left` on sorted texts) for a small part of a list's memory (a
    Python string costs 50 to 80 bytes besides its characters; here a text costs its characters and
    a four-byte offset, and the memory is in two blocks that no garbage collection walks)."""

    __slots__ = ("_text", "_starts")

    def __init__(self, texts: Iterable[str]):
        texts = texts if isinstance(texts, list) else list(texts)
        self._text = "".join(texts)
        self._starts = array("I", accumulate(map(len, texts), initial=0))

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self._starts) - 1:
            raise IndexError("Packed index out of range")
        starts = self._starts
        return self._text[starts[index] : starts[index + 1]]

    def __iter__(self) -> Iterator[str]:
        text, starts = self._text, self._starts
        return (text[starts[i] : starts[i + 1]] for i in range(len(starts) - 1))


class _Sorted:
    """Texts sorted by key, with weights, and the best few for each one-character prefix."""

    def __init__(self, rows: list[tuple[str, str, int]], top: int = 10):
        rows.sort()
        self.keys = Packed([r[0] for r in rows])
        # A word's text is its key: one copy of it does for both.
        same = all(r[0] == r[1] for r in rows)
        self.texts = self.keys if same else Packed([r[1] for r in rows])
        self.weights = array("I", [r[2] for r in rows])
        by_first: dict[str, list[int]] = defaultdict(list)
        for index, k in enumerate(r[0] for r in rows):
            by_first[k[:1]].append(index)
        self.first = {
            c: heapq.nlargest(top, idx, key=self.weights.__getitem__) for c, idx in by_first.items() if len(idx) > top
        }

    def range(self, prefix: str) -> tuple[int, int]:
        return bisect_left(self.keys, prefix), bisect_left(self.keys, prefix + _END)

    def best(self, prefix: str, limit: int) -> list[int]:
        """Indexes of the ``limit`` heaviest entries whose key starts with ``prefix``."""
        if len(prefix) == 1 and prefix in self.first and limit <= len(self.first[prefix]):
            return self.first[prefix][:limit]
        lo, hi = self.range(prefix)
        if hi - lo <= limit:
            return sorted(range(lo, hi), key=self.weights.__getitem__, reverse=True)
        return heapq.nlargest(limit, range(lo, hi), key=self.weights.__getitem__)

    def weight(self, key: str) -> int:
        """The weight of ``key`` (0 when it is not here)."""
        at = bisect_left(self.keys, key)
        return self.weights[at] if at < len(self.keys) and self.keys[at] == key else 0


class Suggester:
    """The suggestion data of one generation."""

    def __init__(self, words: list[tuple[str, str, int]], titles: list[tuple[str, str, int]]):
        self.words = _Sorted(words)
        self.titles = _Sorted(titles)
        # Words by their reversed key, to find words sharing an ending.
        reversed_keys = sorted((k[::-1], i) for i, k in enumerate(self.words.keys))
        self._reversed_keys = Packed([k for k, _ in reversed_keys])
        self._reversed = array("I", [i for _, i in reversed_keys])

    @classmethod
    def load(cls, generation: Path) -> Suggester:
        """The data written beside ``generation`` (empty when missing)."""
        words: list[tuple[str, str, int]] = []
        titles: list[tuple[str, str, int]] = []
        try:
            with _open(generation) as handle:
                for line in handle:
                    parts = line.rstrip("\n").split("\t")
                    if len(parts) != 4 or not parts[3].isdigit():
                        continue
                    (words if parts[0] == "w" else titles).append((parts[1], parts[2], int(parts[3])))
        except (OSError, zstandard.ZstdError):
            return cls([], [])
        return cls(words, titles)

    def __len__(self) -> int:
        return len(self.words.keys) + len(self.titles.keys)

    def weight(self, word: str) -> int:
        """How many articles hold ``word`` (0 when it is not a suggestion word)."""
        return self.words.weight(key(word))

    def complete(self, typed: str, limit: int = 8) -> list[str]:
        """Up to ``limit`` completions of what was typed: frequent words for the last word, then titles."""
        typed = " ".join((typed or "").split())
        if not typed:
            return []
        head, _, last = typed.rpartition(" ")
        prefix = key(last)
        if not prefix:
            return []
        lead = f"{head} " if head else ""
        whole = key(typed)
        words = []
        for index in self.words.best(prefix, limit + 1):
            text = lead + self.words.texts[index]
            if key(text) != whole:
                words.append(text)
        titles = [] if head else [self.titles.texts[i] for i in self.titles.best(whole, limit)]
        titles = [t for t in titles if t not in words]
        # Words first, then titles; when there are both, titles get at least half of the list.
        keep = limit - min(len(titles), limit // 2)
        out = words[:keep]
        return (out + titles)[:limit]

    def neighbours(self, word: str, most: int = 5000) -> list[tuple[str, str, int]]:
        """Known words that share the first or the second half of ``word``: ``(key, text, weight)``
        each, up to ``most`` of each kind (the candidates of a spelling correction)."""
        typed = key(word)
        half = max(1, len(typed) // 2)
        found: set[int] = set()
        lo, hi = self.words.range(typed[:half])
        found.update(range(lo, min(hi, lo + most)))
        ending = typed[-half:][::-1]
        lo = bisect_left(self._reversed_keys, ending)
        hi = bisect_left(self._reversed_keys, ending + _END)
        found.update(self._reversed[lo : min(hi, lo + most)])
        words = self.words
        return [(words.keys[i], words.texts[i], words.weights[i]) for i in sorted(found)]


__all__ = ["SIDECAR", "Packed", "Suggester", "dictionary_words", "key", "word_weights", "write"]
