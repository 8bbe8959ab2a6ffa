"""Highlighting: mark the query's words in a title or a body, escape everything else.

Whoosh's highlighter re-segments the whole stored text of every hit and orders equal-scoring
fragments arbitrarily. Here candidate places are found by plain substring search on the folded
text (every token is a substring of it), the best windows are chosen deterministically (most
distinct query words, then earliest), and only those windows are segmented to confirm which
characters are real word matches, so a snippet costs a few hundred characters of jieba.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from markupsafe import Markup, escape

from .analysis import fold, segment

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SENTENCE_BREAK = re.compile(r"[。！？!?；;\n]")
#: Most occurrences of one word looked at per text.
_MAX_OCCURRENCES = 64


def _folded(text: str) -> tuple[str, list[int] | None]:
    folded, origin = fold(text)
    return folded.translate(_ASCII_LOWER), origin


def _to_original(span: tuple[int, int], origin: list[int] | None) -> tuple[int, int]:
    if origin is None:
        return span
    return origin[span[0]], origin[span[1] - 1] + 1


def _occurrences(folded: str, needles: list[str]) -> list[tuple[int, int, str]]:
    found = []
    for needle in needles:
        if not needle:
            continue
        start = folded.find(needle)
        count = 0
        while start != -1 and count < _MAX_OCCURRENCES:
            found.append((start, start + len(needle), needle))
            start = folded.find(needle, start + 1)
            count += 1
    found.sort()
    return found


def _word_spans(text: str, words: frozenset[str] | set[str], offset: int = 0) -> list[tuple[int, int]]:
    """Spans (in ``text`` coordinates plus ``offset``) of the tokens of ``text`` that are query words."""
    if not words:
        return []
    return [(seg.start + offset, seg.end + offset) for seg in segment(text) if seg.text in words]


def _phrase_spans(text: str, phrases: tuple[str, ...] | list[str], offset: int = 0) -> list[tuple[int, int]]:
    if not phrases:
        return []
    folded, origin = _folded(text)
    spans = []
    for start, end, _ in _occurrences(folded, [p.translate(_ASCII_LOWER) for p in phrases]):
        s, e = _to_original((start, end), origin)
        spans.append((s + offset, e + offset))
    return spans


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans become one, so a phrase cut into words is one mark."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def render(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> Markup:
    """``text[start:end]`` as HTML: ``spans`` in ``<mark>``, everything escaped."""
    end = len(text) if end is None else end
    out = []
    cursor = start
    for s, e in _merge(spans):
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        out.append(escape(text[cursor:s]))
        out.append(Markup("<mark>") + escape(text[s:e]) + Markup("</mark>"))
        cursor = e
    out.append(escape(text[cursor:end]))
    return Markup("").join(out)


def mark_all(text: str, words, phrases=()) -> Markup:
    """The whole of ``text`` with every query word and phrase marked (for titles and article pages)."""
    if not text:
        return Markup("")
    return render(text, _word_spans(text, words) + _phrase_spans(text, phrases))


def snippet(text: str, words, phrases=(), *, fragments: int = 3, width: int = 80, lead: int = 160) -> Markup:
    """Up to ``fragments`` windows of about ``width`` characters around the query's words.

    Windows are scored by the number of distinct words and phrases they hold; ties go to the
    earlier window, and the chosen windows are shown in text order. Without any match, the first
    ``lead`` characters.
    """
    if not text:
        return Markup("")
    folded, origin = _folded(text)
    needles = sorted({w.translate(_ASCII_LOWER) for w in words} | {p.translate(_ASCII_LOWER) for p in phrases})
    hits = _occurrences(folded, needles)
    if not hits:
        cut = min(len(text), lead)
        return render(text, []) if cut == len(text) else render(text, [], 0, cut) + Markup("…")

    # Candidate windows start a little before each occurrence; score by distinct needles inside.
    # (Occurrences are sorted by start: those inside a window are found by bisection, so a long
    # question over a long article costs occurrences x window, not occurrences squared.)
    starts = [start for start, _, _ in hits]
    candidates = []
    seen_windows = set()
    for start in starts:
        lo = max(0, start - width // 4)
        hi = min(len(folded), lo + width)
        lo = max(0, hi - width)
        if (lo, hi) in seen_windows:
            continue
        seen_windows.add((lo, hi))
        inside = set()
        for _start, e, needle in hits[bisect_left(starts, lo) : bisect_left(starts, hi)]:
            if e <= hi:
                inside.add(needle)
        candidates.append((-len(inside), -sum(len(n) for n in inside), lo, hi))
    candidates.sort()
    chosen: list[tuple[int, int]] = []
    for _, _, lo, hi in candidates:
        if len(chosen) >= fragments:
            break
        if all(hi <= c_lo or lo >= c_hi for c_lo, c_hi in chosen):
            chosen.append((lo, hi))
    chosen.sort()

    # Windows snapped to sentence breaks may touch or overlap: those become one fragment.
    ranges = [_to_original(r, origin) for r in _merge([_snap(folded, lo, hi) for lo, hi in chosen])]
    wanted = set(words)
    parts = []
    for lo, hi in ranges:
        window = text[lo:hi]
        parts.append(render(text, _word_spans(window, wanted, lo) + _phrase_spans(window, phrases, lo), lo, hi))
    first, last = (ranges[0][0], ranges[-1][1]) if ranges else (0, 0)
    # One ellipsis wherever text is left out: before, between and after the fragments.
    lead_in = Markup("…") if first > 0 else Markup("")
    tail = Markup("…") if last < len(text) else Markup("")
    return lead_in + Markup(" … ").join(parts) + tail


def _snap(text: str, lo: int, hi: int, reach: int = 12) -> tuple[int, int]:
    """Move window edges to a nearby sentence break, so fragments start and end cleanly."""
    if lo > 0:
        breaks = [m.end() for m in _SENTENCE_BREAK.finditer(text, max(0, lo - reach), lo + reach)]
        if breaks:
            lo = min(breaks, key=lambda b: abs(b - lo))
    if hi < len(text):
        breaks = [m.end() for m in _SENTENCE_BREAK.finditer(text, max(lo + 1, hi - reach), min(len(text), hi + reach))]
        if breaks:
            hi = min(breaks, key=lambda b: abs(b - hi))
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return lo, max(hi, lo + 1)
