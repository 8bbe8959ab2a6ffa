"""Chinese text analysis: jieba segmentation as a Whoosh tokenizer.

This is the only module that knows jieba.

* Positions are ordinal word positions: the n-th word of a text has position n, so a quoted phrase
  lines up word by word.
* Dictionary words inside a longer word ("sub-words", 三峡 in 三峡库区, 农业 in 中国农业发展银行) are
  emitted at the position of the word that holds them: a search for the short word finds the long
  one, and phrases built from whole words still line up.
* Offsets are exact character offsets into the original text, however often a word repeats and
  whatever normalisation changed, so highlights land on the right characters.
* Text is folded before segmentation: NFKC (full-width letters and digits become ASCII), Latin
  lower case, and traditional characters to simplified ones (OpenCC's table, one character for
  one, see :mod:`search.traditional`), so jieba's simplified dictionary segments both and 重慶
  finds 重庆. Punctuation and spaces are not tokens.
* The words are jieba's; the path through its dictionary is found by jieba-rs (``rjieba``), loaded
  with the same dictionary, and the rest is jieba's own (see :class:`_ClauseCutter`).
* A regional user dictionary shipped in the package is loaded into a private ``jieba.Tokenizer``;
  jieba's global tokenizer is never touched. jieba loads once per process, lazily; the analyzer
  objects hold only plain configuration, so Whoosh can pickle them into the index schema.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
import unicodedata
import warnings
from array import array
from collections import defaultdict
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import NamedTuple

from whoosh.analysis import Token, Tokenizer

from .traditional import to_simplified

DATA_DIR = Path(__file__).parent / "data"
#: Name of the regional dictionary shipped in ``search/data/`` (重庆's districts, 一区两群, ...).
REGIONAL_DICT = "userdict.txt"

# Fold full-width ASCII (U+FF01..U+FF5E) and the ideographic space one to one. Punctuation that NFKC
# would expand into several characters (… -> ...) is mapped to a single stable character instead, so
# that the common case keeps a one-to-one mapping of characters and needs no offset table.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FOLD.update({0x3000: 0x20, 0x2026: 0x22EF, 0x2025: 0x22EF, 0x2033: 0x22, 0x2034: 0x22})

# A token must hold at least one letter, digit or ideograph; punctuation and spaces are skipped.
_WORDLIKE = re.compile(r"[^\W_]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A Latin word holding both letters and digits, and its runs of either.
_MIXED = re.compile(r"(?=.*[a-z])(?=.*[0-9])[a-z0-9]+")
_ALNUM_RUNS = re.compile(r"[a-z]+|[0-9]+")


class Segment(NamedTuple):
    """One token: folded text, character span in the original text, ordinal word position."""

    text: str
    start: int
    end: int
    pos: int
    sub: bool  # True for a sub-word inside a longer word


def fold(text: str) -> tuple[str, list[int] | None]:
    """Normalise ``text`` for matching (NFKC, full-width to ASCII, traditional to simplified).

    :returns: the folded text and, when folding changed its length, a list giving for each folded
        character the index of the original character it came from (``None`` means one to one).
    """
    folded = text.translate(_FOLD)
    if folded.isascii():
        return folded, None
    # One character for one (OpenCC's table): offsets stay valid, 重慶 is searched as 重庆.
    folded = to_simplified(folded)
    normal = unicodedata.normalize("NFKC", folded)
    if len(normal) == len(folded):
        return normal, None
    # Rare: a character that expands (㎡ -> m2) or combines. Fold character by character.
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(folded):
        out = unicodedata.normalize("NFKC", char)
        parts.append(out)
        origin.extend([index] * len(out))
    return "".join(parts), origin


_segmenters: dict[str, object] = {}
_segmenters_lock = threading.Lock()


def cache_dir() -> Path:
    """A private, writable directory for jieba's dictionary cache."""
    configured = os.environ.get("NEWS_SEARCH_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "news-search"
    try:
        path.mkdir(parents=True, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / f"news-search-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def _import_jieba():
    jieba = sys.modules.get("jieba")
    if jieba is not None:
        return jieba
    # jieba 0.42.1 has regexes with invalid escapes: silence exactly those warnings, nothing else.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"invalid escape sequence", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"invalid escape sequence", category=SyntaxWarning)
        import jieba

    return jieba


def _resolve_userdict(userdict: str | None) -> Path | None:
    if not userdict:
        return None
    path = Path(userdict)
    return path if path.is_absolute() or path.exists() else DATA_DIR / userdict


def segmenter(userdict: str | None = REGIONAL_DICT):
    """The process-wide jieba tokenizer for ``userdict`` (loaded on first use: loading is slow)."""
    key = userdict or ""
    seg = _segmenters.get(key)
    if seg is not None:
        return seg
    with _segmenters_lock:
        seg = _segmenters.get(key)
        if seg is None:
            jieba = _import_jieba()
            seg = jieba.Tokenizer()
            directory = cache_dir()
            directory.mkdir(parents=True, exist_ok=True)
            seg.tmp_dir = str(directory)
            # jieba logs its loading at DEBUG to its own stderr handler; keep that quiet while we load.
            log = logging.getLogger("jieba")
            level = log.level
            log.setLevel(logging.WARNING)
            try:
                seg.initialize()
                path = _resolve_userdict(userdict)
                if path is not None:
                    seg.load_userdict(str(path))
            finally:
                log.setLevel(level)
            _segmenters[key] = seg
    return seg


def segment(text: str, *, subwords: bool = True, userdict: str | None = REGIONAL_DICT) -> list[Segment]:
    """Split ``text`` into words with ordinal positions and original character offsets.

    :param subwords: also emit dictionary words inside longer words, at the longer word's position
    """
    seg = segmenter(userdict)
    folded, origin = fold(text)
    freq = seg.FREQ
    out: list[Segment] = []
    append = out.append
    offset = 0
    pos = 0
    for piece in _cut(seg, folded):
        start = offset
        offset += len(piece)
        if not _WORDLIKE.search(piece):
            continue
        end = offset
        if origin is None:
            ostart, oend = start, end
        else:
            ostart, oend = origin[start], origin[end - 1] + 1
        word = piece.lower() if piece.isascii() else piece
        size = len(piece)
        if subwords and size > 2 and not piece.isascii():
            seen = set()
            for n in range(2, size):
                for i in range(size - n + 1):
                    sub = piece[i : i + n]
                    if freq.get(sub) and sub not in seen:
                        seen.add(sub)
                        if origin is None:
                            append(Segment(sub, start + i, start + i + n, pos, True))
                        else:
                            append(Segment(sub, origin[start + i], origin[start + i + n - 1] + 1, pos, True))
        elif subwords and piece.isascii() and size > 1 and _MIXED.fullmatch(word):
            # Letters and digits of a model or event name (gpt4, u19, 5g): "GPT-4" and "GPT4"
            # find each other.
            for run in _ALNUM_RUNS.finditer(word):
                i, j = run.span()
                if origin is None:
                    append(Segment(run.group(), start + i, start + j, pos, True))
                else:
                    append(Segment(run.group(), origin[start + i], origin[start + j - 1] + 1, pos, True))
        append(Segment(word, ostart, oend, pos, False))
        pos += 1
    return out


def pieces(word: str) -> tuple[str, ...]:
    """The letter and digit runs of a folded Latin word that holds both (``gpt4``: gpt, 4), else ()."""
    return tuple(_ALNUM_RUNS.findall(word)) if _MIXED.fullmatch(word) else ()


def bigrams(text: str) -> list[Segment]:
    """Overlapping character bigrams of each run of ideographs; other words whole.

    Positions advance one per token, so a phrase of bigrams matches exactly where the characters
    stand side by side: the bigram field finds a phrase however jieba cut the text around it. A run
    of a single ideograph is emitted as that character.
    """
    folded, origin = fold(text)
    out: list[Segment] = []
    pos = 0
    for match in _RUNS.finditer(folded):
        run = match.group()
        base = match.start()
        if _CJK.match(run):
            if len(run) == 1:
                spans = [(0, 1)]
            else:
                spans = [(i, i + 2) for i in range(len(run) - 1)]
            for i, j in spans:
                s, e = base + i, base + j
                if origin is not None:
                    s, e = origin[s], origin[e - 1] + 1
                out.append(Segment(run[i:j], s, e, pos, False))
                pos += 1
        else:
            s, e = match.span()
            if origin is not None:
                s, e = origin[s], origin[e - 1] + 1
            out.append(Segment(run.lower(), s, e, pos, False))
            pos += 1
    return out


# Runs of ideographs, and runs of other letters and digits (never swallowing an ideograph, so the
# ideographs of "GPT4发布" still make bigrams).
_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


# Indexing fast paths ---------------------------------------------------------------------------------
# Whoosh's Positions format needs, per term, only the list of its positions. word_tokens() and
# gram_tokens() give exactly the terms and positions of segment() and bigrams() (tests pin that)
# for a rebuild's whole chunk of texts at once, without building a Segment per token or an offset
# map: over a large corpus the per-token cost is what counts.


def word_tokens(texts: list[str], userdict: str | None = REGIONAL_DICT) -> Tokens:
    """The words and sub-words of each of ``texts`` (as :func:`segment` gives them), found for all at once.

    jieba segments each clause on its own, so what a clause gives -- its terms (words, the
    sub-words at their word's position, the letter and digit runs of a mixed Latin word), the
    position of each in the clause and its number of words -- is worked out once, and remembered
    for short clauses, which news repeats. A text's tokens are then a few list extensions per
    clause; the terms are numbered and the positions added up on arrays.
    """
    import numpy as np

    seg = segmenter(userdict)
    split = _import_jieba().re_han_default.split
    cutter = _cutter(seg)
    known = _token_caches.setdefault(id(seg), {})
    subwords = _subword_caches.setdefault(userdict or "", {})
    terms: list[str] = []
    offsets = array("I")  # each token's position in its clause
    starts: list[int] = []  # each clause's (with a token) first position in its text
    sizes: list[int] = []  # and its number of tokens
    lengths: list[int] = []
    for text in texts:
        before = len(terms)
        pos = 0
        for block in split(fold(text)[0]):
            if not block:
                continue
            found = known.get(block)
            if found is None:
                found = _block_tokens(block, cutter, seg.FREQ, subwords)
                if len(block) <= _CLAUSE_CACHE_LENGTH:
                    if len(known) >= _CLAUSE_CACHE_SIZE:
                        known.clear()
                    known[block] = found
            block_terms, block_offsets, words = found
            if block_terms:
                terms.extend(block_terms)
                offsets.extend(block_offsets)
                starts.append(pos)
                sizes.append(len(block_terms))
            pos += words
        lengths.append(len(terms) - before)
    positions = np.repeat(np.array(starts, dtype=np.int64), sizes) + np.array(offsets, dtype=np.int64)
    numbered: dict[str, int] = defaultdict(count().__next__)
    ids = np.fromiter(map(numbered.__getitem__, terms), dtype=np.int64, count=len(terms))
    return _ranked(list(numbered), ids, np.repeat(np.arange(len(texts)), lengths), positions, np.array(lengths))


def _block_tokens(block: str, cutter, freq: dict, subwords: dict) -> tuple[tuple[str, ...], tuple[int, ...], int]:
    """What one block of text (see :func:`_block_words`) gives :func:`word_tokens`: its terms, the
    position of each in the block, and its number of words."""
    terms: list[str] = []
    offsets: list[int] = []
    words = 0
    for piece in _block_words(block, cutter):
        # [^\W_] is str.isalnum() per character: a leading letter or digit settles it.
        if not (piece[:1].isalnum() or _WORDLIKE.search(piece)):
            continue
        if piece.isascii():
            piece = piece.lower()
            subs = pieces(piece)  # letter and digit runs of a mixed Latin word (gpt4: gpt, 4)
        elif len(piece) > 2:
            subs = subwords.get(piece)
            if subs is None:
                subs = _subwords_of(piece, freq)
                if len(subwords) >= _SUBWORD_CACHE_SIZE:
                    subwords.clear()
                subwords[piece] = subs
        else:
            subs = ()
        for sub in subs:
            terms.append(sub)
            offsets.append(words)
        terms.append(piece)
        offsets.append(words)
        words += 1
    return tuple(terms), tuple(offsets), words


class _ClauseCutter:
    """jieba's default cut of one clause (``Tokenizer.__cut_DAG``, HMM on), its route found by jieba-rs.

    jieba finds the dictionary words starting at each character (``get_DAG``), then the likeliest
    path through them (``calc``), then hands each run of single characters that is not a word to
    its HMM (``finalseg``). The path is the slow part in Python; jieba-rs (the Rust port of jieba,
    through ``rjieba``) finds it with the same algorithm over the same dictionary, loaded with
    exactly this tokenizer's word frequencies (its own dictionary and user words). The runs of single
    characters still go to jieba's own HMM, as jieba does it. The words are jieba's, word for word
    (tested against ``jieba.Tokenizer.cut``, and checked over a whole corpus: docs/internals.md),
    found faster than by the same algorithm in Python.

    jieba-rs's path without HMM joins a run of single letters and digits into one piece. Such a
    piece is not a dictionary word, so it goes back into the run of single characters; a clause
    where it could also be a dictionary word (only a user dictionary has such words) is cut by jieba.
    """

    def __init__(self, seg, hmm):
        import rjieba

        self.seg = seg
        self.freq = seg.FREQ
        self.signature = _dictionary_signature(seg)
        self.path = rjieba.Jieba.empty()
        add = self.path.add_word
        for word, times in self.freq.items():
            if times:  # jieba keeps the prefixes of its words with a count of 0
                add(word, times, None)
        # jieba's total also counts the earlier count of a word a user dictionary gave again; the
        # log of the total is in every score (and so in how ties round). The difference goes to a
        # character no clause holds (a private-use one), so both totals are the same.
        extra = seg.total - sum(self.freq.values())
        if extra > 0:
            add(_UNSEEN, extra, None)
        self.hmm = hmm
        # The HMM's words for a run of characters (names, mostly: they come back), remembered.
        self.guessed: dict[str, tuple[str, ...]] = {}

    def __call__(self, clause: str) -> list[str]:
        freq = self.freq
        words: list[str] = []
        buf = ""
        for word in self.path.cut(clause, False):
            if len(word) == 1:
                buf += word
                continue
            joined = word.isascii() and word.isalnum()
            if joined == bool(freq.get(word)):  # a joined run that is also a word (or neither): jieba
                return list(self.seg.cut(clause))
            if joined:
                buf += word  # single letters and digits jieba-rs joined: singles, as in jieba
            else:
                if buf:
                    self._singles(buf, words, freq)
                    buf = ""
                words.append(word)
        if buf:
            self._singles(buf, words, freq)
        return words

    def _singles(self, buf: str, words: list[str], freq: dict) -> None:
        if len(buf) == 1:
            words.append(buf)
        elif not freq.get(buf):
            guessed = self.guessed.get(buf)
            if guessed is None:
                if len(self.guessed) >= _GUESSED_SIZE:
                    self.guessed.clear()
                guessed = self.guessed[buf] = tuple(self.hmm(buf))
            words.extend(guessed)
        else:
            words.extend(buf)


def _dictionary_signature(seg) -> tuple[int, int, int]:
    """What tells that ``seg``'s dictionary changed: the dictionary object, its word total and size."""
    return id(seg.FREQ), seg.total, len(seg.FREQ)


_GUESSED_SIZE = 100_000
_UNSEEN = "\ue000"
_cutters: dict[int, _ClauseCutter] = {}


def _cutter(seg) -> _ClauseCutter:
    """The clause cutter of ``seg``: made again, and the clauses remembered forgotten, if its
    dictionary changed (nothing here changes one once :func:`segmenter` has loaded it)."""
    cutter = _cutters.get(id(seg))
    if cutter is None or cutter.signature != _dictionary_signature(seg):
        _clause_caches.pop(id(seg), None)
        _token_caches.pop(id(seg), None)
        cutter = _cutters[id(seg)] = _ClauseCutter(seg, _import_jieba().finalseg.cut)
    return cutter


#: Clauses whose segmentation is remembered, per process (news repeats its short clauses: datelines,
#: bylines, "记者", names), and the longest clause remembered.
_CLAUSE_CACHE_SIZE = 300_000
_CLAUSE_CACHE_LENGTH = 24
_clause_caches: dict[int, dict[str, tuple[str, ...]]] = {}
#: What short blocks give :func:`word_tokens` (see :func:`_block_tokens`), per tokenizer, as many.
_token_caches: dict[int, dict[str, tuple]] = {}


def _cut(seg, text: str) -> Iterator[str]:
    """``seg.cut(text)`` (default mode, HMM on), word for word, faster, remembering short clauses.

    jieba cuts text into clauses (runs of ideographs, letters and digits) and segments each on
    its own (see :class:`_ClauseCutter`), so a clause segments the same wherever it stands.
    """
    jieba = _import_jieba()
    re_han, re_skip = jieba.re_han_default, jieba.re_skip_default
    cut_clause = _cutter(seg)
    cache = _clause_caches.setdefault(id(seg), {})
    for block in re_han.split(text):
        if not block:
            continue
        if re_han.match(block):
            if len(block) > _CLAUSE_CACHE_LENGTH:
                yield from cut_clause(block)
                continue
            words = cache.get(block)
            if words is None:
                if len(cache) >= _CLAUSE_CACHE_SIZE:
                    cache.clear()
                words = cache[block] = tuple(cut_clause(block))
            yield from words
        else:
            yield from _skipped_words(block, re_skip)


def _block_words(block: str, cut_clause) -> list[str]:
    """jieba's words of one block of ``re_han_default.split``: a clause, or what lies between two."""
    jieba = _import_jieba()
    if jieba.re_han_default.match(block):
        return cut_clause(block)
    return _skipped_words(block, jieba.re_skip_default)


def _skipped_words(block: str, re_skip) -> list[str]:
    """What jieba makes of text between clauses: runs of spaces and line breaks, single characters."""
    words: list[str] = []
    for part in re_skip.split(block):
        if re_skip.match(part):
            words.append(part)
        else:
            words.extend(part)
    return words


#: Words whose sub-words are remembered, per dictionary (words repeat: most lookups hit).
_SUBWORD_CACHE_SIZE = 200_000
_subword_caches: dict[str, dict[str, tuple[str, ...]]] = {}


def _subwords_of(word: str, freq: dict) -> tuple[str, ...]:
    """The dictionary words inside ``word`` (shorter than it), shortest first, each once."""
    size = len(word)
    found: list[str] = []
    for n in range(2, size):
        for i in range(size - n + 1):
            sub = word[i : i + n]
            if freq.get(sub) and sub not in found:
                found.append(sub)
    return tuple(found)


class Tokens(NamedTuple):
    """The tokens of many texts at once (:func:`word_tokens`, :func:`gram_tokens`), as numpy arrays."""

    terms: list[str]  # the distinct tokens, sorted
    term: object  # each token's index in ``terms``, tokens in text order then position order
    text: object  # each token's text (its index in the list given)
    pos: object  # each token's position in its text
    lengths: object  # tokens of each text


_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))  # the ideographs of _CJK
_LOW = 21  # bits of a bigram's second character in its number (the first one is above)
_alnum_table = None


def _is_alnum(points):
    """``chr(point).isalnum()`` for each code point of a numpy array (``[^\\W_]`` in a regex)."""
    import numpy as np

    global _alnum_table
    if _alnum_table is None:
        _alnum_table = np.fromiter((chr(c).isalnum() for c in range(0x10000)), dtype=bool, count=0x10000)
    out = _alnum_table[np.minimum(points, 0xFFFF)]
    for at in np.flatnonzero(points > 0xFFFF).tolist():
        out[at] = chr(points[at]).isalnum()
    return out


def gram_tokens(texts: list[str]) -> Tokens:
    """The bigram tokens of each of ``texts`` (as :func:`bigrams` gives them), found for all at once.

    A rebuild analyses thousands of articles in a chunk: with the texts as one array of code
    points, finding the bigrams, numbering them and telling their positions are a few array
    operations instead of Python code per character (tests compare with :func:`bigrams`).
    A bigram of ideographs is numbered by its two code points; the letter and digit runs between
    ideographs, few, are numbered through a dict.
    """
    import numpy as np

    folded = [fold(text)[0] for text in texts]
    joined = "\n".join(folded)  # a separator that is no token, so no run goes across two texts
    starts = np.zeros(len(folded), dtype=np.int64)
    np.cumsum([len(text) + 1 for text in folded[:-1]], out=starts[1:])
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
    size = len(points)
    cjk = np.zeros(size, dtype=bool)
    for low, high in _CJK_RANGES:
        cjk |= (points >= low) & (points <= high)
    other = _is_alnum(points) & ~cjk

    def before(mask):  # mask of the character before each one
        out = np.zeros(size, dtype=bool)
        out[1:] = mask[:-1]
        return out

    def after(mask):
        out = np.zeros(size, dtype=bool)
        out[:-1] = mask[1:]
        return out

    pair = cjk & after(cjk)  # a bigram starts here
    single = cjk & ~before(cjk) & ~after(cjk)  # an ideograph alone
    run_start = other & ~before(other)
    run_starts = np.flatnonzero(run_start)
    run_ends = np.flatnonzero(other & ~after(other)) + 1
    key = np.zeros(size, dtype=np.int64)
    at = np.flatnonzero(pair)
    key[at] = (points[at] << _LOW) | points[at + 1]
    at = np.flatnonzero(single)
    key[at] = points[at] << _LOW
    words: dict[str, int] = defaultdict(count().__next__)
    runs = [joined[i:j].lower() for i, j in zip(run_starts.tolist(), run_ends.tolist(), strict=True)]
    key[run_starts] = -1 - np.fromiter(map(words.__getitem__, runs), dtype=np.int64, count=len(runs))
    at = np.flatnonzero(pair | single | run_start)
    text = np.searchsorted(starts, at, side="right") - 1
    first = np.searchsorted(at, starts)  # each text's first token
    pos = np.arange(len(at)) - first[text]
    lengths = np.diff(np.append(first, len(at)))
    keys, term = np.unique(key[at], return_inverse=True)
    word_list = list(words)
    low = (1 << _LOW) - 1
    names = [
        word_list[-1 - k] if k < 0 else chr(k >> _LOW) + chr(k & low) if k & low else chr(k >> _LOW)
        for k in keys.tolist()
    ]
    return _ranked(names, term, text, pos, lengths)


def _ranked(names: list[str], ids, text, pos, lengths) -> Tokens:
    """:class:`Tokens` of tokens numbered ``ids`` in ``names``: numbered again in term order."""
    import numpy as np

    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return Tokens([names[i] for i in order], rank[ids], text, pos, lengths)


class _SegmentTokenizer(Tokenizer):
    """Shared Whoosh plumbing: turn a list of :class:`Segment` into a stream of tokens."""

    def _segments(self, value: str, mode: str) -> list[Segment]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __eq__(self, other):
        return other is not None and self.__class__ is other.__class__ and self.__dict__ == other.__dict__

    def __hash__(self):
        return hash((self.__class__, tuple(sorted(self.__dict__.items()))))

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        for seg in self._segments(value, mode):
            token.text = seg.text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[seg.start : seg.end]
            if positions:
                token.pos = start_pos + seg.pos
            if chars:
                token.startchar = start_char + seg.start
                token.endchar = start_char + seg.end
            yield token


class ChineseTokenizer(_SegmentTokenizer):
    """jieba words with ordinal positions; sub-words at their word's position (not when querying).

    :param userdict: a dictionary file name in ``search/data/`` or a path; ``None`` for jieba's own
    """

    def __init__(self, userdict: str | None = REGIONAL_DICT):
        self.userdict = userdict

    def _segments(self, value, mode):
        # A query uses whole words only: its sub-words are already found through the index side.
        return segment(value, subwords=mode != "query", userdict=self.userdict)


class BigramTokenizer(_SegmentTokenizer):
    """Character bigrams of Chinese text (see :func:`bigrams`)."""

    def _segments(self, value, mode):
        return bigrams(value)


def ChineseAnalyzer(userdict: str | None = REGIONAL_DICT) -> ChineseTokenizer:  # noqa: N802 - Whoosh style
    """The analyzer for Chinese text fields."""
    return ChineseTokenizer(userdict)


def BigramAnalyzer() -> BigramTokenizer:  # noqa: N802 - Whoosh style
    """The analyzer for the character-bigram field."""
    return BigramTokenizer()
