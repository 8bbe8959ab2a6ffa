"""Spelling: "did you mean" for a query that finds little or nothing, and other queries to offer instead.

A word the index does not know is corrected to a known word one edit away (a character replaced,
added, dropped or two neighbours swapped), chosen among the suggestion words
(:class:`search.suggest.Suggester`) that share its first or its second half. Most slips in
Chinese come from 拼音 input, so a replacement that sounds the same (轨到 -> 轨道, dao) or nearly
the same (涪林 -> 涪陵, lin/ling; z/zh, n/l, an/ang, ...) is preferred over a more frequent word that
sounds different (吉林); readings come from pypinyin, loaded only when a correction is wanted.

:func:`corrected` corrects a whole query word by word; a word typed without spaces (涪林榨菜) is cut
by jieba and its pieces corrected, a character jieba left alone joined to its neighbour first
(沙平坝美食 -> 沙坪坝美食). The searcher then checks that the correction finds something -- when the
query itself finds something, that it finds :func:`far_more`, and only for a short query
(:func:`worth_correcting_beside`), as each check is one more search. :func:`alternatives` lists what
a page that found nothing may offer instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .query import QUOTE_MARKS, clean
from .suggest import Suggester, key

#: A word "did you mean" may correct: letters, digits and ideographs, no field name or operator.
_PLAIN_WORD = re.compile(r"^[^\W_]+$")
_CJK = re.compile(r"[\u3400-\u9fff]")
#: Longest query corrected, in words: a correction is searched again, and a long query is costly.
MAX_CORRECTED_WORDS = 8
#: Words of a query that found nothing offered one at a time (each is searched to count it).
MAX_SINGLE_WORDS = 8
#: A query that found something is offered a correction only when it is this short (words, characters).
MAX_BESIDE_WORDS = 4
MAX_BESIDE_CHARS = 24
#: ... and when the correction finds this many times as many articles, and at least MIN_GAIN more.
MANY_MORE = 3
MIN_GAIN = 5


def closest(suggester: Suggester, word: str) -> str | None:
    """The most frequent known word one edit away from ``word`` (``None`` when there is none)."""
    typed = key(word)
    if len(typed) < 2 or suggester.weight(word):
        return None
    best: tuple[int, int, str] | None = None
    for candidate, text, weight in suggester.neighbours(word):
        if abs(len(candidate) - len(typed)) <= 1 and _one_edit(typed, candidate):
            rank = (_sounds_alike(typed, candidate), weight, text)
            if best is None or rank[:2] > best[:2]:
                best = rank
    return best[2] if best else None


def corrected(query: str, suggester: Suggester) -> str | None:
    """``query`` with each word the index does not know replaced by :func:`closest`; ``None`` when
    nothing changed (or the query is longer than :data:`MAX_CORRECTED_WORDS` words)."""
    try:
        text = clean(query)
    except Exception:  # noqa: BLE001 - a query that cannot be cleaned has nothing to correct
        return None
    parts = re.split(r'(\s+|["()])', text)
    words = [i for i, part in enumerate(parts) if part and _PLAIN_WORD.match(part) and part not in ("AND", "OR", "NOT")]
    if len(words) > MAX_CORRECTED_WORDS:
        return None
    changed = False
    for index in words:
        if suggester.weight(parts[index]):
            continue
        replacement = closest(suggester, parts[index]) or _corrected_pieces(suggester, parts[index])
        if replacement:
            parts[index] = replacement
            changed = True
    return "".join(parts) if changed else None


def _corrected_pieces(suggester: Suggester, word: str) -> str | None:
    """``word`` (Chinese typed without spaces) cut by jieba, each unknown piece corrected; a
    character jieba left alone is tried joined to the next piece first, as a slip often splits a word
    (沙平坝 is cut 沙 / 平坝)."""
    if len(word) < 3 or not _CJK.search(word):
        return None
    from .analysis import segment

    pieces = [s.text for s in segment(word, subwords=False)]
    out, changed, i = [], False, 0
    while i < len(pieces):
        piece = pieces[i]
        if len(piece) == 1 and i + 1 < len(pieces) and not suggester.weight(piece + pieces[i + 1]):
            fixed = closest(suggester, piece + pieces[i + 1])
            if fixed:
                out.append(fixed)
                changed, i = True, i + 2
                continue
        fixed = closest(suggester, piece) if len(piece) >= 2 and not suggester.weight(piece) else None
        out.append(fixed or piece)
        changed, i = changed or bool(fixed), i + 1
    return "".join(out) if changed else None


def worth_correcting_beside(query: str) -> bool:
    """Whether a query that found something is short enough to be offered a correction as well."""
    return len(query) <= MAX_BESIDE_CHARS and len(query.split()) <= MAX_BESIDE_WORDS


def far_more(corrected_finds: int, query_finds: int) -> bool:
    """Whether a correction finds enough more than the query to be offered beside its results."""
    return corrected_finds >= max(MANY_MORE * query_finds, query_finds + MIN_GAIN)


@dataclass(frozen=True)
class Alternative:
    """A query a page that found nothing may offer instead (if it finds something)."""

    #: What the link says.
    label: str
    query: str
    #: Search without the reader's source, region and date filters.
    unfiltered: bool = False
    #: The spelling the index knows ("did you mean").
    spelling: bool = False


def alternatives(query: str, did_you_mean: str | None, filtered: bool) -> list[Alternative]:
    """What to offer when ``query`` found nothing, best first: the corrected spelling, the same
    query without filters (when ``filtered``), without quotes, then its words one at a time."""
    offered = []
    if did_you_mean and did_you_mean != query:
        offered.append(Alternative(did_you_mean, did_you_mean, spelling=True))
    if filtered:
        offered.append(Alternative("不限来源、地区和日期", query, unfiltered=True))
    unquoted = query.translate({ord(c): " " for c in QUOTE_MARKS}).strip()
    if unquoted != query and unquoted:
        offered.append(Alternative(unquoted, unquoted))
    words = unquoted.split()
    if len(words) > 1:
        # The first few words only: a query of hundreds of words must not cost hundreds of searches.
        offered.extend(Alternative(word, word) for word in words[:MAX_SINGLE_WORDS])
    return offered


_FUZZY = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ing", "in"), ("eng", "en"), ("ang", "an"), ("l", "n"))


def warm() -> None:
    """Load pypinyin's tables now (a server's master does, so that its workers share them)."""
    _readings("重")


@lru_cache(maxsize=65536)
def _readings(char: str) -> tuple[frozenset[str], frozenset[str]]:
    """The toneless readings of a character, exact and with the usual fuzzy pairs merged."""
    if not _CJK.match(char):
        return frozenset(), frozenset()
    from pypinyin import Style, pinyin

    exact = frozenset(pinyin(char, style=Style.NORMAL, heteronym=True)[0])
    fuzzy = set()
    for reading in exact:
        for long, short in _FUZZY:
            if reading.startswith(long) or reading.endswith(long):
                reading = reading.replace(long, short)
        fuzzy.add(reading)
    return exact, frozenset(fuzzy)


def _sounds_alike(typed: str, candidate: str) -> int:
    """2 when the one replaced character sounds the same, 1 when nearly, else 0."""
    if len(typed) != len(candidate):
        return 0
    diff = [i for i in range(len(typed)) if typed[i] != candidate[i]]
    if len(diff) != 1:
        return 0
    a, b = _readings(typed[diff[0]]), _readings(candidate[diff[0]])
    if a[0] & b[0]:
        return 2
    return 1 if a[1] & b[1] else 0


def _one_edit(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one character replaced, added or dropped, or two neighbours swapped."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) != 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


__all__ = ["Alternative", "alternatives", "closest", "corrected", "far_more", "warm", "worth_correcting_beside"]
