"""Bytes to text: UTF-8 (with or without BOM), GB18030/GBK/GB2312 and Big5, told apart reliably.

UTF-8 is tried first and is all most files need. Only when it fails is the text handed to
charset-normalizer, limited to the Chinese encodings, which tells GB18030 from Big5 by how the
decoded text reads (both decode many of the same byte pairs without error). A file with a rare bad
byte in otherwise clean UTF-8 or GB18030 is read with that byte replaced by U+FFFD rather than lost.
"""

from __future__ import annotations

import codecs
import re

from ..errors import SourceError

#: The Chinese encodings tried after UTF-8, in order of preference when they read equally well.
CHINESE_ENCODINGS = ("gb18030", "big5", "cp950", "big5hkscs")
#: Each byte-order mark and the codec of the text after it (UTF-32-LE's mark starts like UTF-16-LE's:
#: it is tried first).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Control bytes that never occur in text (tab, newlines, form feed and escape do).
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
#: Characters Chinese news text is made of: ASCII, Latin-1, punctuation, CJK, full-width forms.
_PLAUSIBLE = re.compile(r"[\t\n\r\x20-\x7e\u00a0-\u00ff\u2000-\u206f\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_DECLARED = re.compile(rb"""(?i)(?:encoding|charset)\s*=\s*["']?\s*([a-z0-9_.:-]+)""")
#: At most one undecodable byte sequence per this many CJK characters is repaired, not refused.
REPAIRABLE = 1000


def _bom(data: bytes) -> tuple[bytes, str] | None:
    """The byte-order mark at the start of ``data`` and the codec of the text after it, else ``None``."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return bom, encoding
    return None


def wide_encoding(data: bytes) -> str | None:
    """The UTF-16 or UTF-32 codec of ``data`` (the start of a file), with or without a byte-order
    mark, else ``None``.

    Without a mark, UTF-16 shows itself by its zero bytes: the high byte of every ASCII character
    (line breaks, digits, markup) is zero, so nearly all zeros fall on odd offsets (little-endian)
    or on even ones (big-endian), and the text then decodes cleanly, with no control characters.
    Binary data has zeros on both.
    """
    marked = _bom(data)
    if marked:
        return marked[1] if marked[1] != "utf-8" else None
    head = data[:8192]
    head = head[: len(head) - len(head) % 2]
    zeros = head.count(0)
    if zeros < 2:
        return None
    odd = head[1::2].count(0)
    for encoding, share in (("utf-16-le", odd), ("utf-16-be", zeros - odd)):
        if share * 10 < zeros * 9:
            continue
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError:
            # A cut in the middle of a surrogate pair at the end of the sample is not a fault.
            try:
                text = head[:-2].decode(encoding)
            except UnicodeDecodeError:
                return None
        if _CONTROL.search(text.encode("utf-8")):
            return None
        # Other bytes (UTF-8 with a stray zero) read as UTF-16 give private-use and Hangul code points.
        plausible = len(_PLAUSIBLE.findall(text))
        return encoding if plausible * 10 >= len(text) * 9 else None
    return None


def looks_binary(data: bytes) -> bool:
    """Whether ``data`` (the start of a file) holds control bytes that text never has."""
    head = data[:8192]
    if wide_encoding(head):  # UTF-16 and UTF-32 text holds zero bytes
        return False
    if b"\x00" in head:
        return True
    return len(_CONTROL.findall(head)) > max(2, len(head) // 200)


def declared_encoding(data: bytes) -> str | None:
    """The encoding an XML declaration or an HTML ``<meta charset>`` near the top names, if Python knows it."""
    match = _DECLARED.search(data[:2048])
    if not match:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None
    # GB2312 and GBK pages routinely hold characters only their superset GB18030 has.
    return "gb18030" if name in ("gb2312", "gbk", "euc_cn") else name


def decode(data: bytes, path: str, hint: str | None = None) -> str:
    """Text of a file from its bytes.

    :param hint: the encoding the file says it has (XML declaration, HTML meta), tried after UTF-8
    :raises SourceError: for an empty or binary file, or one in no encoding we can tell
    """
    return decode_as(data, path, hint)[0]


def decode_as(data: bytes, path: str, hint: str | None = None) -> tuple[str, str]:
    """:func:`decode`, and the encoding that read the text: the one to try first on the next bytes
    of the same file (read in pieces)."""
    if not data.strip(b" \t\r\n\x0b\x0c\x00") or data in (bom for bom, _ in _BOMS):
        raise SourceError(path, "empty file")
    marked = _bom(data)
    wide = None if marked else wide_encoding(data)
    if marked or wide:
        bom, encoding = marked or (b"", wide)
        try:
            return data[len(bom) :].decode(encoding), encoding
        except UnicodeDecodeError as error:
            where = error.start + len(bom)
            raise SourceError(path, f"unknown text encoding: bad {encoding} text at byte {where}") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        if error.end == len(data) and error.start >= len(data) - 3:
            # A file cut off inside its last character: the rest is good UTF-8.
            try:
                return data[: error.start].decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                pass
    if looks_binary(data):
        raise SourceError(path, "binary file, not text")
    if hint and hint not in ("utf-8", "ascii"):
        try:
            return data.decode(hint), hint
        except (UnicodeDecodeError, LookupError):
            pass
    detected = _detect_chinese(data)
    if detected is not None:
        return detected
    repaired = _repair(data)
    if repaired is not None:
        return repaired
    raise SourceError(path, "unknown text encoding: not UTF-8, GB18030/GBK or Big5")


def _detect_chinese(data: bytes) -> tuple[str, str] | None:
    """The text and its encoding, when one of the Chinese encodings reads ``data`` well."""
    from charset_normalizer import from_bytes  # imported on first need: most corpora are UTF-8

    matches = list(from_bytes(data, cp_isolation=list(CHINESE_ENCODINGS), preemptive_behaviour=False))
    if not matches:
        return None

    def rank(match) -> tuple[float, int]:
        name = codecs.lookup(match.encoding).name
        order = CHINESE_ENCODINGS.index(name) if name in CHINESE_ENCODINGS else len(CHINESE_ENCODINGS)
        return (round(match.chaos, 2), order)

    best = min(matches, key=rank)
    return str(best), codecs.lookup(best.encoding).name


def _repair(data: bytes) -> tuple[str, str] | None:
    """UTF-8 or GB18030 text with a few bad bytes (a cut or a corrupt sector), those bytes replaced;
    and which of the two it was."""
    for encoding in ("utf-8", "gb18030"):
        text = data.decode(encoding, errors="replace")
        bad = text.count("\ufffd")
        cjk = len(_CJK.findall(text))
        # No bad byte at all means the detector found the text itself implausible: not ours to repair.
        if bad and bad * REPAIRABLE <= cjk:
            return text, encoding
    return None


def decode_line(raw: bytes, encoding: str | None) -> tuple[str, str]:
    """One line of a line-oriented file, and the encoding to try first for the next line.

    :raises UnicodeDecodeError: when the line is in no encoding we can tell
    """
    if encoding and encoding != "utf-8":
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        failure = error
    detected = _detect_chinese(raw)
    if detected is None:
        raise failure
    return detected
