"""Pinyin queries: Latin letters typed with the input method off, read as the index's Chinese words.

A reader who types ``chongqing huoguo``, ``chongqinghuoguo``, ``chóngqìng``, ``chong2qing4`` or the
initials ``cqhg`` means 重庆火锅. :func:`read` turns such a query into the words of the index it
most likely spells, from the index's own vocabulary (the suggestion words of :mod:`search.suggest`
and the index's single characters, weighted by how many articles hold them) keyed by its pinyin:

* the likeliest sequences of words spelling the letters (a beam search; each word scored by its
  share of all the words' articles, as jieba scores a cut, so that one long frequent word beats two
  short ones; a word of our dictionaries counts :data:`DICTIONARY_PRIOR` times, as readers type
  names: ``chengdu`` is 成都 before 程度);
* single characters only where no word spells the letters (大数据, 进博会: not words of jieba's),
  each judged by how often the index has it beside its neighbours (``glue``: 进博, not 近博);
* of the readings cut like the likeliest one, the best by how likely each word is times how many
  articles hold them all (``together``: 外卖 骑手, not 外卖 旗手).

Spaces, apostrophes (``xi'an``) and tone digits are syllable boundaries: ``fang an`` is 方案.

What stays as typed:

* a word with anything but letters, tone marks and tone digits (``5G``, ``GPT-4``, ``C919``), and
  anything of the query syntax (quotes, ``title:``, ``-word``, AND/OR/NOT);
* letters that no sequence of known words spells (``iPhone``, ``COVID``, ``Minerva``), and single
  characters alone under three syllables (``ai``, ``se``);
* initials (a word without vowels) typed with a capital letter (``GDP`` is an acronym), of fewer
  than three letters (``pk``), that the index holds as a word, or whose words no article holds
  together;
* a Latin word the index holds as a word, unless the reading's rarest word is in
  :data:`FAR_MORE` times as many articles (``Chongqing`` in an English line is still 重庆 to a
  reader of Chinese news).

The table (:data:`SIDECAR`, ``pinyin.tsv``) is written beside each generation at index time
(:func:`write`), as pypinyin is too slow to run over a whole vocabulary while a reader waits; the
searcher computes it aside for a generation written without it. pypinyin is imported only then.
Loaded, the table is held in sorted arrays (:class:`_Groups`), not dicts of Python objects: a few
bisections a lookup, and a search for spellings stops extending letters that no known spelling
starts with.
"""

from __future__ import annotations

import math
import re
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

from .suggest import Packed

SIDECAR = "pinyin.tsv"
#: A Latin word the index holds is read as pinyin only when the reading's rarest word is in this
#: many times as many articles.
FAR_MORE = 10
#: Words whose initials may be typed: the most frequent this many, and the words of our
#: dictionaries (initials are ambiguous, and a rare word read from a few letters surprises more
#: than it helps).
INITIALS_WORDS = 20_000
#: Candidates kept for one spelling (``shiyan``: 实验, 试验, 十堰, ...), the most frequent first.
PER_KEY = 8
#: ... of them tried at each step of a reading, and single characters kept per syllable.
PER_STEP = 4
PER_SINGLE = 2
#: Readings compared by how many articles hold all their words.
READINGS = 8
#: What a single character costs against a word (a log-probability): single characters spell only
#: what no word does.
SINGLE_COST = math.log(1e-4)
#: Words of our dictionaries (regions, the regional dictionary) count this many times their
#: articles when readings are compared: readers type names (chengdu is 成都 before 程度).
DICTIONARY_PRIOR = 10
#: Candidates kept for one string of initials (``hg``: 韩国, 海关, 火锅, ...), the most frequent first.
PER_INITIALS = 4
#: Shortest and longest string of initials read (two letters are too often an abbreviation: PK, QQ).
INITIALS_LETTERS = (3, 8)
#: Longest query read as pinyin, in words.
MAX_WORDS = 20
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


def _lines(weighted: Iterable[tuple[str, int]], known: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The table's lines for ``(word, articles)`` (single characters too): the likeliest first,
    each ``chongqing, cq, 重庆, chong qing, articles, prior``; the prior is the article count, times
    :data:`DICTIONARY_PRIOR` for a word of ``known`` (the keys are computed here, so that loading
    only splits lines)."""
    weights = dict(weighted)
    rows = []
    for word, spelled in syllables_of(weights):
        weight = weights[word]
        if weight > 0:
            prior = weight * DICTIONARY_PRIOR if word in known and len(word) > 1 else weight
            rows.append((-prior, word, spelled, weight))
    rows.sort()
    return [
        f"{s.replace(' ', '')}\t{''.join(p[0] for p in s.split())}\t{w}\t{s}\t{n}\t{-prior}" for prior, w, s, n in rows
    ]


def write(generation: Path, weighted: Iterable[tuple[str, int]], known: frozenset[str] | set[str] = frozenset()) -> int:
    """Write ``pinyin.tsv`` beside ``generation`` for ``(word, articles)`` (the words of ``known``
    preferred); returns its lines."""
    lines = _lines(weighted, known)
    (generation / SIDECAR).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)


#: One way of reading letters: ``(word, articles, prior)`` each.
Reading = list[tuple[str, int, int]]


class Table:
    """Known words by their pinyin, full (``chongqing``) and initials (``cq``), and the single
    characters, which spell only what no word does."""

    def __init__(self, lines: Iterable[str]):
        """:param lines: as :func:`write` writes them, the likeliest word first"""
        full: dict[str, list[tuple[int, int, str, str]]] = {}
        singles: dict[str, list[tuple[int, int, str, str]]] = {}
        initials: dict[str, list[tuple[int, int, str]]] = {}
        total = taken = 0
        for line in lines:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6 or not parts[4].isdigit() or not parts[5].isdigit():
                continue
            key, letters, word, spelled, weight, prior = parts
            weight, prior = int(weight), int(prior)
            if len(word) == 1:
                same = singles.setdefault(key, [])
                if len(same) < PER_SINGLE:
                    same.append((prior, weight, word, spelled))
                continue
            total += prior
            same = full.setdefault(key, [])
            if len(same) < PER_KEY:
                same.append((prior, weight, word, spelled))
            if taken < INITIALS_WORDS or prior > weight:  # the most frequent words, and our dictionaries'
                taken += 1
                kept = initials.setdefault(letters, [])
                if len(kept) < PER_INITIALS:
                    kept.append((prior, weight, word))
        self.total = total
        self.full = _Groups(full)
        self.singles = _Groups(singles)
        self.initials = _Groups(initials)
        self.longest = max(map(len, full), default=0)
        self.longest_initials = max(map(len, initials), default=0)

    def __len__(self) -> int:
        return len(self.full)

    @classmethod
    def load(
        cls,
        generation: Path,
        weighted: Callable[[], Iterable[tuple[str, int]]],
        known: Callable[[], set[str]] = frozenset,
    ) -> Table:
        """The table of ``generation``: its ``pinyin.tsv``, or, when it has none, computed from
        ``weighted()``, the ``(word, articles)`` of the vocabulary, the words of ``known()``
        preferred (slow: pypinyin over every word)."""
        try:
            with open(generation / SIDECAR, encoding="utf-8") as handle:
                return cls(handle)
        except OSError:
            return cls(_lines(weighted(), known()))

    def _score(self, prior: int, single: bool) -> float:
        return math.log(prior / self.total) + (SINGLE_COST if single else 0.0)

    def spell(
        self, letters: str, bounds: frozenset[int], glue: Callable[[str], int] | None = None, most: int = READINGS
    ) -> list[Reading]:
        """Up to ``most`` readings of ``letters`` as known words, likeliest first, with a syllable
        boundary at each of ``bounds`` (a beam search over the letters).

        :param glue: how many articles hold two characters side by side: a single character after
            another word is scored by how often it follows that word's last character (进博会, not
            近博会), else by how common it is
        """
        n = len(letters)
        if not n or self.total <= 0:
            return []
        beams: list[list[tuple[float, Reading]]] = [[] for _ in range(n + 1)]
        beams[0] = [(0.0, [])]
        for i in range(n):
            if not beams[i]:
                continue
            for j in range(i + 1, min(n, i + self.longest) + 1):
                found, longer = self._words(letters, i, j, bounds)
                beam = beams[j]
                for score, words in beams[i] if found else ():
                    for prior, weight, word, single in found:
                        if single and words and glue is not None:
                            cost = math.log((glue(words[-1][0][-1] + word) + 0.5) / self.total) + SINGLE_COST
                        else:
                            cost = self._score(prior, single)
                        if words and len(words[-1][0]) == 1 and glue is not None:
                            # A single character is also judged by what follows it (进博, not 近博).
                            cost += math.log((glue(words[-1][0] + word[0]) + 0.5) / (words[-1][1] + 1))
                        beam.append((score + cost, [*words, (word, weight, prior)]))
                if len(beam) > most:
                    beam.sort(key=lambda item: -item[0])
                    del beam[most:]
                if not longer:  # no known spelling goes on from letters[i:j]: none spells more
                    break
        final = sorted(beams[n], key=lambda item: -item[0])
        return [words for _, words in final[:most]]

    def abbreviated(self, letters: str, most: int = READINGS) -> list[Reading]:
        """Up to ``most`` readings of ``letters`` as the initials of known words, likeliest first."""
        if self.total <= 0 or not INITIALS_LETTERS[0] <= len(letters) <= INITIALS_LETTERS[1]:
            return []
        found: list[tuple[float, Reading]] = []

        def extend(at: int, score: float, words: Reading) -> None:
            if at == len(letters):
                found.append((score, words))
                return
            for end in range(at + 2, min(len(letters), at + self.longest_initials) + 1):
                rows, longer = self.initials.get(letters[at:end])
                for prior, weight, word in rows:
                    extend(end, score + self._score(prior, False), [*words, (word, weight, prior)])
                if not longer:
                    break

        extend(0, 0.0, [])
        found.sort(key=lambda item: -item[0])
        return [words for _, words in found[:most]]

    def _words(
        self, letters: str, i: int, j: int, bounds: frozenset[int]
    ) -> tuple[list[tuple[int, int, str, bool]], bool]:
        """The words spelling ``letters[i:j]`` whose syllables end at each of ``bounds`` inside, and
        whether any word or character spells more letters starting with these."""
        piece = letters[i:j]
        inside = [b - i for b in bounds if i < b < j]
        found = []
        words, longer = self.full.get(piece)
        singles, longer_single = self.singles.get(piece)
        for prior, weight, word, spelled in words:
            if inside:
                edges, at = set(), 0
                for syllable in spelled.split():
                    at += len(syllable)
                    edges.add(at)
                if not all(b in edges for b in inside):
                    continue
            found.append((prior, weight, word, False))
            if len(found) == PER_STEP:
                break
        if not inside:
            found += [(prior, weight, word, True) for prior, weight, word, _ in singles]
        return found, longer or longer_single


class _Groups:
    """Rows grouped by key (``(prior, weight, text, ...)``), as compact as a table of a few hundred
    thousand rows allows: the keys sorted in one :class:`~search.suggest.Packed` string, the rows
    of each key one after another in arrays (a dict of lists of tuples of Python objects costs
    several times more, and every object of it is walked by the garbage collector)."""

    def __init__(self, groups: dict[str, list[tuple]]):
        keys = sorted(groups)
        rows = [row for key in keys for row in groups[key]]
        self._keys = Packed(keys)
        self._starts = array("I", accumulate((len(groups[key]) for key in keys), initial=0))
        self._prior = array("q", [row[0] for row in rows])
        self._weight = array("q", [row[1] for row in rows])
        self._texts = [Packed([row[k] for row in rows]) for k in range(2, len(rows[0]) if rows else 2)]

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, key: str) -> tuple[list[tuple], bool]:
        """The rows of ``key`` (none when it has none), and whether a longer key starts with it."""
        keys = self._keys
        at = bisect_left(keys, key)
        rows = []
        if at < len(keys) and keys[at] == key:
            texts = self._texts
            rows = [
                (self._prior[i], self._weight[i], *(column[i] for column in texts))
                for i in range(self._starts[at], self._starts[at + 1])
            ]
            at += 1
        return rows, at < len(keys) and keys[at].startswith(key)


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
    glue: Callable[[str], int] | None = None,
) -> str | None:
    """``query`` with its pinyin read as the index's Chinese words (``None``: nothing to read).

    :param latin_articles: how many articles hold a Latin word (lower case) as a word
    :param together: how many articles hold all of these words: of the likely readings made of
        words only, the one whose words are found together most wins (without it, the likeliest)
    :param glue: how many articles hold these two characters side by side (:meth:`Table.spell`)
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
        spelled = _read_run(run, table, latin_articles, together, glue)
        if spelled is None and len(run) > 1:
            pieces = [_read_run([w], table, latin_articles, together, glue) or w.text for w in run]
            spelled = " ".join(pieces) if pieces != [w.text for w in run] else None
        if spelled is not None:
            out.append(spelled)
            changed = True
        else:
            out.extend(w.text for w in run)
        i = j
    return " ".join(out) if changed else None


def _read_run(run: list[_Typed], table: Table, latin_articles, together, glue) -> str | None:
    letters, bounds = "", set()
    for typed in run:
        if letters:
            bounds.add(len(letters))
        bounds.update(len(letters) + b for b in typed.bounds)
        letters += typed.letters
    # How many articles hold the Latin words as typed (all of them: at most the rarest's count).
    held = min(latin_articles(typed.text.lower()) for typed in run)
    initials = run[0].initials
    if initials and held:
        return None  # a Latin word the index holds is never read as a guess from initials
    readings = table.abbreviated(letters) if initials else table.spell(letters, frozenset(bounds), glue)
    readings = [r for r in readings if _plausible(r, held)]
    if not readings:
        return None
    found = readings[0]
    # Readings of several words cut as the likeliest one is (homophones: 成都 / 程度, 骑手 / 旗手; no
    # single character) compared by how many articles hold all their words, then by likelihood.
    # Other cuts are not: more, shorter words are always found together more often.
    cut = [len(word) for word, _, _ in found]
    whole = [r for r in readings if len(r) > 1 and min(cut) > 1 and [len(word) for word, _, _ in r] == cut]
    if together is not None and whole and found in whole:
        # How likely each word is, times how often they go together (so that a common word found
        # with anything does not beat the name found with the rest: 重庆 轨道交通, not 采取 轨道交通).
        counts = [together([word for word, _, _ in r]) for r in whole]
        if not any(counts):
            return None if initials else _joined(found)  # for initials, a guess too far
        scored = [
            (sum(math.log(prior) for _, _, prior in r) + math.log(count + 0.5), -rank)
            for rank, (r, count) in enumerate(zip(whole, counts, strict=True))
        ]
        found = whole[-max(scored)[1]]
    return _joined(found)


def _plausible(reading: Reading, held: int) -> bool:
    """Whether ``reading`` may stand for Latin words the index holds in ``held`` articles: one made
    of words needs its rarest word in :data:`FAR_MORE` times as many; one of single characters
    only, three syllables at least and Latin words the index does not hold."""
    words = [weight for word, weight, _ in reading if len(word) > 1]
    if not words:
        return len(reading) >= 3 and not held
    return not held or min(words) >= FAR_MORE * held


def _joined(reading: Reading) -> str:
    """The words of a reading, a space between two words, none beside a single character (which
    the query's segmentation then joins as the index's did: 进博会, 大数据)."""
    out = ""
    for index, (word, _, _) in enumerate(reading):
        if index and len(word) > 1 and len(reading[index - 1][0]) > 1:
            out += " "
        out += word
    return out


__all__ = ["FAR_MORE", "SIDECAR", "Table", "read", "syllables_of", "write"]
