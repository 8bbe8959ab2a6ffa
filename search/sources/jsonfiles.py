"""JSON (``.json``: one article object, an array of them, or an object holding such an array) and
JSON Lines (``.jsonl``, ``.ndjson``: one object per line), with field names mapped
(:mod:`search.sources.records`).

JSON Lines are streamed line by line, so a corpus of any size reads in constant memory; a bad
line is reported with its number and the rest is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

from ..errors import SourceError
from .article import Article
from .encoding import decode_line
from .records import FieldMap, RecordError, record_article

#: Keys under which exports commonly put their list of articles.
_LIST_KEYS = ("articles", "data", "items", "docs", "documents", "records", "results", "list", "news", "rows")


def _reason(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} (column {error.colno})"
    return str(error)


def read_json_lines(
    path: str, handle: BinaryIO, on_error: Callable[[SourceError], None], fields: FieldMap
) -> Iterator[Article]:
    """Articles from a JSON Lines stream; a bad line goes to ``on_error`` with its number."""
    encoding: str | None = None
    for number, raw in enumerate(handle, 1):
        if not raw.strip():
            continue
        try:
            text, encoding = decode_line(raw, encoding)
        except UnicodeDecodeError:
            on_error(SourceError(path, "bad JSON line: unknown text encoding", line=number))
            continue
        article = _line_article(path, number, text, on_error, fields)
        if article is not None:
            yield article


def _line_article(
    path: str, number: int, text: str, on_error: Callable[[SourceError], None], fields: FieldMap
) -> Article | None:
    """The article of one JSON line (``None``, reported, when it cannot be read)."""
    try:
        record = json.loads(text)
    except ValueError as error:
        on_error(SourceError(path, f"bad JSON line: {_reason(error)}", line=number))
        return None
    try:
        return record_article(record, path, fields)
    except RecordError as error:
        on_error(SourceError(path, str(error), line=number))
        return None


def _records(data: Any) -> tuple[list[Any], bool]:
    """The records a JSON document holds, and whether it is a list of them."""
    if isinstance(data, list):
        return data, True
    if isinstance(data, Mapping):
        for key in _LIST_KEYS:
            value = data.get(key)
            if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
                return value, True
        lists = [v for v in data.values() if isinstance(v, list) and v and all(isinstance(v2, Mapping) for v2 in v)]
        if len(lists) == 1 and not any(isinstance(v, str) and len(v) > 20 for v in data.values()):
            return lists[0], True
    return [data], False


def read_json_text(
    path: str, text: str, on_error: Callable[[SourceError], None], fields: FieldMap
) -> Iterator[Article]:
    """Articles from a JSON document (or JSON Lines saved as ``.json``).

    :raises SourceError: when the text is not JSON
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data" and text.lstrip().startswith("{"):
            yield from _lines_of(path, text, on_error, fields)
            return
        where = f"line {error.lineno} column {error.colno}"
        raise SourceError(path, f"bad JSON: {error.msg} ({where})") from None
    records, many = _records(data)
    for number, record in enumerate(records, 1):
        try:
            yield record_article(record, path, fields)
        except RecordError as error:
            reason = f"{error} in record {number}" if many else str(error)
            on_error(SourceError(path, reason))


def _lines_of(path: str, text: str, on_error: Callable[[SourceError], None], fields: FieldMap) -> Iterator[Article]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        article = _line_article(path, number, line, on_error, fields)
        if article is not None:
            yield article
