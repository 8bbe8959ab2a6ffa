"""``<doc>`` records: SogouCS/SogouCA exports and per-article XML files.

SogouCS/SogouCA hold many records per file, one after another with no root element, in GB18030
or UTF-8, and are not well-formed XML (bare ``&``, stray ``<`` in text)::

    <doc>
    <url>http://…</url>
    <docno>98590b972ad2f0ea-34913306c0bb3300</docno>
    <contenttitle>…</contenttitle>
    <content>…</content>
    </doc>

Per-article files (``<doc><id><url><title><datetime><body></doc>``) are the one-record case. An
XML parser would refuse most of these files, so records are cut out by their tags instead; each
field is read by name through the field map (unknown tags are ignored). The file is read in
chunks, so a multi-gigabyte export never has to fit in memory; a record that is broken (no text,
a tag not closed, the file cut off inside it) is reported with its number and line, and the rest
of the file is read.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from ..errors import SourceError
from .article import Article
from .encoding import declared_encoding, decode_as
from .records import FieldMap, RecordError, record_article

CHUNK = 4 << 20
_DOC_START = re.compile(r"<doc(?:\s[^>]*)?>", re.I)
_DOC_END = re.compile(r"</doc\s*>", re.I)
_FIELD = re.compile(r"<([A-Za-z_][\w.:-]*)(?:\s[^>]*)?>(.*?)</\1\s*>", re.S)
_OPEN_TAG = re.compile(r"<([A-Za-z_][\w.:-]*)(?:\s[^>]*)?>")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_END_BYTES = re.compile(rb"</doc\s*>", re.I)


def _field_text(value: str) -> str:
    if "<![CDATA[" in value:
        value = _CDATA.sub(lambda m: m.group(1), value)
    if "&" in value:
        value = html.unescape(value)
    # Sogou exports mark paragraph breaks with the private-use character U+E40C.
    return value.replace("\ue40c", "\n")


def _record_fields(record: str) -> tuple[dict[str, str], list[str]]:
    """The fields of one record, and the names of tags opened but never closed."""
    fields: dict[str, str] = {}
    for match in _FIELD.finditer(record):
        fields.setdefault(match.group(1).lower(), _field_text(match.group(2)))
    unclosed = []
    for match in _OPEN_TAG.finditer(_FIELD.sub("", record)):
        unclosed.append(match.group(1).lower())
    return fields, unclosed


def _chunks(handle: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """Pieces of the file that each end just after a ``</doc>`` (the last one: whatever is left)."""
    pending = b""
    while True:
        block = handle.read(CHUNK)
        if not block:
            if pending:
                yield pending, True
            return
        pending += block
        cut = max((match.end() for match in _END_BYTES.finditer(pending)), default=0)
        if cut:
            yield pending[:cut], False
            pending = pending[cut:]


def read_doc_records(
    path: str, handle: BinaryIO, on_error: Callable[[SourceError], None], fields: FieldMap
) -> Iterator[Article]:
    """Every article in a file of ``<doc>`` records; broken records go to ``on_error``.

    :raises SourceError: when the file holds no ``<doc>`` record at all, or cannot be decoded
    """
    encoding: str | None = None
    number = 0  # records seen
    line = 1  # line at the start of the current piece
    found = False
    for piece, last in _chunks(handle):
        if encoding is None:
            hint = declared_encoding(piece)
            text, encoding = decode_as(piece, path, hint)
        else:
            try:
                text = piece.decode(encoding)
            except UnicodeDecodeError:
                # The first piece was plain ASCII (read as UTF-8), or this one is damaged.
                text, encoding = decode_as(piece, path, hint)
        position = 0
        while True:
            start = _DOC_START.search(text, position)
            if start is None:
                break
            found = True
            number += 1
            end = _DOC_END.search(text, start.end())
            following = _DOC_START.search(text, start.end())
            where = line + text.count("\n", 0, start.start())
            if end is None or (following is not None and following.start() < end.start()):
                if end is None and last:
                    on_error(SourceError(path, f"truncated XML: record {number} has no </doc>", line=where))
                    position = len(text)
                    break
                on_error(SourceError(path, f"broken record: record {number} has no </doc>", line=where))
                position = following.start() if following is not None else len(text)
                continue
            position = end.end()
            article = _article(path, text[start.end() : end.start()], number, where, on_error, fields)
            if article is not None:
                yield article
        line += piece.count(b"\n")
    if not found:
        raise SourceError(path, "not a <doc> file: no <doc> record found")


def _article(
    path: str, record: str, number: int, line: int, on_error: Callable[[SourceError], None], fields: FieldMap
) -> Article | None:
    values, unclosed = _record_fields(record)
    wanted = {name for names in fields.values() for name in names}
    broken = [name for name in unclosed if name in wanted]
    if broken:
        on_error(SourceError(path, f"broken record: record {number}: <{broken[0]}> is not closed", line=line))
        return None
    try:
        return record_article(values, path, fields)
    except RecordError as error:
        url = values.get("url", "").strip()
        detail = f" ({url})" if url else ""
        on_error(SourceError(path, f"{error} in record {number}{detail}", line=line))
        return None
