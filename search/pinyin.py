"""Pinyin queries: Latin letters typed with the input method off, read as the index's Chinese words.

A reader who types ``chongqing huoguo``, ``chongqinghuoguo``, ``chóngqìng``, ``chong2qing4`` or the
initials ``cqhg`` means 重庆火锅. :func:`read` turns such a query into the words of the index it
most likely spells: the index's own vocabulary (the suggestion words of :mod:`search.suggest`,
weighted by how many articles hold them) keyed by its pinyin, and the likeliest sequence of words
spelling the letters (each word scored by its share of all word occurrences, as jieba scores a cut,
so that one long frequent word beats two short ones). Spaces and apostrophes (``xi'an``) are kept
as syllable boundaries: ``fang an`` is 方案, never 反感.

What stays as typed:

* a word with anything but letters, tone marks and tone digits (``5G``, ``GPT-4``, ``C919``), and
  anything of the query syntax (quotes, ``title:``, ``-word``, AND/OR/NOT);
* letters that no sequence of known words spells (``iPhone``, ``COVID``, ``Minerva``);
* initials (a word without vowels) typed with a capital letter (``GDP`` is an acronym), of fewer
  than three letters (``pk``), or that the index holds as a word; several words read from initials
  must be found together in some article (the readings are compared by how many articles hold all
  their words: ``cqhg`` is 重庆 火锅 rather than 重庆 海关);
* a Latin word the index holds as a word, unless the reading's rarest word is in
  :data:`FAR_MORE` times as many articles (``Chongqing`` in an English line is still 重庆 to a
  reader of Chinese news; ``ai`` alone is one syllable, never read at all).

The table (:data:`SIDECAR`, ``pinyin.tsv``: a word and its syllables per line) is written beside
each generation at index time (:func:`write`), as pypinyin is too slow to run over a whole
vocabulary while a reader waits; a generation written without it gets it computed once, when first
needed. pypinyin is imported only then.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

SIDECAR = "pinyin.tsv"
#: A Latin word the index holds is read as pinyin only when the reading's rarest word is in this
#: many times as many articles.
FAR_MORE = 10
#: Words whose initials may be typed: the most frequent this many (initials are ambiguous, and a
#: rare word read from two letters surprises more than it helps).
INITIALS_WORDS = 20_000
#: Candidates kept for one spelling (``shiyan``: 实验, 试验, 十堰, ...), the most frequent first.
PER_KEY = 8
#: Candidates kept for one string of initials (``hg``: 韩国, 海关, 火锅, ...), the most frequent first.
PER_INITIALS = 4
#: Readings of a string of initials compared by how many articles hold all their words.
INITIALS_READINGS = 8
#: Shortest and longest string of initials read (two letters are too often an abbreviation: PK, QQ).
INITIALS_LETTERS = (3, 8)
#: Longest query read as pinyin, in words.
MAX_WORDS = 8
#: Longest run of letters read, per word typed.
MAX_LETTERS = 60

_CJK_WORD = re.compile(r"^[\u3400-\u9fff]+$")
_SYLLABLE = re.compile(r"^[a-z]+$")
_TONED = re.compile(r"^(?:[a-zA-Z]+[1-5]?|')+$")
_VOWELS = frozenset("aeiouv")


def syllables_of(words: Iterable[str]) -> Iterable[tuple[str, str]]:
    """``(word, syllables)`` for each all-Chinese word, syllables toneless and apart (``chong qing``)."""
    from pypinyin import lazy_pinyin

    for word in words:
        if not _CJK_WORD.match(word):
            continue
        spelled = lazy_pinyin(word)
        if len(spelled) == len(word) and all(_SYLLABLE.match(s) for s in spelled):
            yield word, " ".join(spelled)


def _lines(weighted: Iterable[tuple[str, int]]) -> list[str]:
    """The table's lines for ``(word, articles)``: the heaviest first, each ``chongqing, cq, 重庆,
    chong qing, articles`` (the keys computed here, so that loading only splits lines)."""
    weights = dict(weighted)
    rows = sorted(((-weights[w], w, s) for w, s in syllables_of(weights) if weights[w] > 0))
    return [f"{s.replace(' ', '')}\t{''.join(p[0] for p in s.split())}\t{w}\t{s}\t{-n}" for n, w, s in rows]


def write(generation: Path, weighted: Iterable[tuple[str, int]]) -> int:
    """Write ``pinyin.tsv`` beside ``generation`` for ``(word, articles)``; returns its lines."""
    lines = _lines(weighted)
    (generation / SIDECAR).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)


class Table:
    """Known words by their pinyin, full (``chongqing``) and initials (``cq``)."""

    def __init__(self, lines: Iterable[str]):
        """:param lines: as :func:`write` writes them, the heaviest word first"""
        full: dict[str, list[tuple[int, str, str]]] = {}
        initials: dict[str, list[tuple[int, str]]] = {}
        total = taken = 0
        for line in lines:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5 or not parts[4].isdigit():
                continue
            key, letters, word, spelled, weight = parts
            weight = int(weight)
            total += weight
            same = full.setdefault(key, [])
            if len(same) < PER_KEY:
                same.append((weight, word, spelled))
            if taken < INITIALS_WORDS:
                taken += 1
                kept = initials.setdefault(letters, [])
                if len(kept) < PER_INITIALS:
                    kept.append((weight, word))
        self.total = total
        self.full = full
        self.initials = initials
        self.longest = max(map(len, full), default=0)
        self.longest_initials = max(map(len, initials), default=0)

    def __len__(self) -> int:
        return len(self.full)

    @classmethod
    def load(cls, generation: Path, weighted: Callable[[], Iterable[tuple[str, int]]]) -> Table:
        """The table of ``generation``: its ``pinyin.tsv``, or, when it has none, computed from
        ``weighted()``, the ``(word, articles)`` of the vocabulary (slow: pypinyin over every word)."""
        try:
            with open(generation / SIDECAR, encoding="utf-8") as handle:
                return cls(handle)
        except OSError:
            return cls(_lines(weighted()))

    def spell(self, letters: str, bounds: frozenset[int]) -> list[tuple[str, int]] | None:
        """The likeliest known words spelling ``letters`` (each ``(word, articles)``), with a
        syllable boundary at each of ``bounds``; ``None`` when no sequence of words does."""
        n = len(letters)
        if not n or self.total <= 0:
            return None
        best: list[tuple[float, list[tuple[str, int]]] | None] = [None] * (n + 1)
        best[0] = (0.0, [])
        for i in range(n):
            if best[i] is None:
                continue
            score, words = best[i]
            for j in range(i + 2, min(n, i + self.longest) + 1):
                found = self._word(letters, i, j, bounds)
                if found is None:
                    continue
                word, weight = found
                total = score + math.log(weight / self.total)
                if best[j] is None or total > best[j][0]:
                    best[j] = (total, [*words, (word, weight)])
        return best[n][1] if best[n] is not None else None

    def abbreviated(self, letters: str, most: int = INITIALS_READINGS) -> list[list[tuple[str, int]]]:
        """Up to ``most`` readings of ``letters`` as the initials of known words, likeliest first
        (each a list of ``(word, articles)``)."""
        if self.total <= 0 or not INITIALS_LETTERS[0] <= len(letters) <= INITIALS_LETTERS[1]:
            return []
        found: list[tuple[float, list[tuple[str, int]]]] = []

        def extend(at: int, score: float, words: list[tuple[str, int]]) -> None:
            if at == len(letters):
                found.append((score, words))
                return
            for end in range(at + 2, min(len(letters), at + self.longest_initials) + 1):
                for weight, word in self.initials.get(letters[at:end], ()):
                    extend(end, score + math.log(weight / self.total), [*words, (word, weight)])

        extend(0, 0.0, [])
        found.sort(key=lambda item: -item[0])
        return [words for _, words in found[:most]]

    def _word(self, letters: str, i: int, j: int, bounds: frozenset[int]) -> tuple[str, int] | None:
        piece = letters[i:j]
        inside = [b - i for b in bounds if i < b < j]
        for weight, word, spelled in self.full.get(piece, ()):
            if inside:
                edges, at = set(), 0
                for syllable in spelled.split():
                    at += len(syllable)
                    edges.add(at)
                if not all(b in edges for b in inside):
                    continue
            return word, weight
        return None


@dataclass(frozen=True)
class _Typed:
    """One word of the query as typed, and its letters for reading (``None``: not pinyin)."""

    text: str
    letters: str | None = None
    #: Syllable boundaries inside it (apostrophes, tone digits), as offsets in ``letters``.
    bounds: tuple[int, ...] = ()
    initials: bool = False


def _typed(word: str) -> _Typed:
    if word in ("AND", "OR", "NOT"):
        return _Typed(word)
    plain = unicodedata.normalize("NFD", word.replace("ü", "v").replace("Ü", "V").replace("’", "'"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    if not plain.isascii() or not _TONED.match(plain) or plain.startswith("'"):
        return _Typed(word)
    letters, bounds = "", []
    for char in plain:
        if char.isalpha():
            letters += char.lower()
        elif letters and (not bounds or bounds[-1] != len(letters)):
            bounds.append(len(letters))
    if len(letters) < 2 or len(letters) > MAX_LETTERS:
        return _Typed(word)
    initials = not (_VOWELS & set(letters))
    if initials and (not word.islower() or any(c.isdigit() or c == "'" for c in word)):
        return _Typed(word)  # GDP, CPI's kin: capitals make an acronym; tones and apostrophes need syllables
    return _Typed(word, letters, tuple(b for b in bounds if b < len(letters)), initials)


def read(
    query: str,
    table: Table,
    latin_articles: Callable[[str], int],
    together: Callable[[list[str]], int] | None = None,
) -> str | None:
    """``query`` with its pinyin read as the index's Chinese words (``None``: nothing to read).

    :param latin_articles: how many articles hold a Latin word (lower case) as a word
    :param together: how many articles hold all of these words: initials are read as the likely
        readings whose words are found together most (without it, as the likeliest reading)
    """
    if not len(table):
        return None
    words = [_typed(w) for w in query.split()]
    if not words or len(words) > MAX_WORDS or all(w.letters is None for w in words):
        return None
    out: list[str] = []
    changed = False
    i = 0
    while i < len(words):
        if words[i].letters is None:
            out.append(words[i].text)
            i += 1
            continue
        j = i + 1
        while j < len(words) and words[j].letters is not None and words[j].initials == words[i].initials:
            j += 1
        run = words[i:j]
        spelled = _read_run(run, table, latin_articles, together)
        if spelled is None and len(run) > 1:
            pieces = [_read_run([w], table, latin_articles, together) or w.text for w in run]
            spelled = " ".join(pieces) if pieces != [w.text for w in run] else None
        if spelled is not None:
            out.append(spelled)
            changed = True
        else:
            out.extend(w.text for w in run)
        i = j
    return " ".join(out) if changed else None


def _read_run(run: list[_Typed], table: Table, latin_articles, together) -> str | None:
    letters, bounds = "", set()
    for typed in run:
        if letters:
            bounds.add(len(letters))
        bounds.update(len(letters) + b for b in typed.bounds)
        letters += typed.letters
    held = max(latin_articles(typed.text.lower()) for typed in run)
    if run[0].initials:
        if held:
            return None  # a Latin word the index holds is never read as a guess from initials
        readings = table.abbreviated(letters)
        if together is not None and readings and len(readings[0]) > 1:
            counted = [(together([word for word, _ in words]), -rank) for rank, words in enumerate(readings)]
            most, rank = max(counted)
            found = readings[-rank] if most else None
        else:
            found = readings[0] if readings else None
    else:
        found = table.spell(letters, frozenset(bounds))
        # A Latin word the index holds keeps its meaning unless the reading is far more common.
        if found and held and min(weight for _, weight in found) < FAR_MORE * held:
            return None
    return " ".join(word for word, _ in found) if found else None


__all__ = ["FAR_MORE", "SIDECAR", "Table", "read", "syllables_of", "write"]
