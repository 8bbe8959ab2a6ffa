"""Traditional characters folded to simplified, one character for one, for matching.

``重慶`` must find what ``重庆`` finds, and ``兩岸`` what ``两岸`` finds. The analysis folds text
before segmenting it (index and query alike, see :func:`search.analysis.fold`), so folding here
makes both sides meet, and jieba's simplified dictionary then segments traditional text well.

The mapping is OpenCC's (through its maintained Python binding, ``opencc``): each traditional
character is converted on its own with the ``t2s`` configuration, and only conversions to exactly
one character are kept. One character for one keeps every offset into the original text, so
highlights mark the characters the reader sees (traditional ones included) without an offset
table. Phrase-level conversion is not needed for matching: both sides go through the same table,
and the few characters whose simplified form depends on the phrase (``乾隆`` vs ``乾燥``) are
folded the same way in the article and in the query.

Most articles hold no traditional character at all, so a compiled character class finds out
first (a scan in C) and only texts that need it are translated.
"""

from __future__ import annotations

import re
import threading
import unicodedata

# CJK Unified Ideographs and Extension A, CJK Compatibility Ideographs, Extension B.
_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF))

# Characters OpenCC would change that are also everyday simplified characters in their own right;
# folding them would corrupt simplified text (乾隆 -> 干隆, 哪吒 -> 哪咤) for the sake of rare
# traditional uses. On news text they are most of what folding would change in simplified text.
_KEEP = frozenset("乾吒")

_lock = threading.Lock()
_table: dict[int, int] | None = None
_search = None


def _build() -> tuple[dict[int, int], object]:
    import opencc

    converter = opencc.OpenCC("t2s.json")
    chars = [chr(code) for low, high in _RANGES for code in range(low, high + 1)]
    # One call, one character per line: OpenCC converts each on its own (no phrase context).
    converted = converter.convert("\n".join(chars)).split("\n")
    table: dict[int, int] = {}
    for char, simple in zip(chars, converted, strict=True):
        if 0xF900 <= ord(char) <= 0xFAFF:
            # A compatibility ideograph: its NFKC form, then that form's simplified one.
            base = unicodedata.normalize("NFKC", char)
            simple = converter.convert(base) if len(base) == 1 else base
        if len(simple) == 1 and simple != char and char not in _KEEP:
            table[ord(char)] = ord(simple)
    # A class of the BMP characters is a bitmap that re scans fast; listing the few hundred
    # Extension B characters one by one would make it far slower, so any Extension B character
    # (rare in news) sends its text through the table.
    bmp = "".join(re.escape(chr(code)) for code in sorted(table) if code <= 0xFFFF)
    pattern = re.compile(f"[{bmp}\U00020000-\U0002a6df]")
    return table, pattern.search


def table() -> dict[int, int]:
    """The ``str.translate`` table from traditional to simplified characters (built once per process)."""
    global _table, _search
    if _table is None:
        with _lock:
            if _table is None:
                built, search = _build()
                _search = search
                _table = built
    return _table


def to_simplified(text: str) -> str:
    """``text`` with traditional characters replaced by simplified ones; same length, same offsets."""
    if _table is None:
        table()
    if _search(text) is None:
        return text
    return text.translate(_table)


def has_traditional(text: str) -> bool:
    """Whether ``text`` may hold a character that folding changes (a quick test, in C)."""
    if _table is None:
        table()
    return _search(text) is not None


__all__ = ["has_traditional", "table", "to_simplified"]
