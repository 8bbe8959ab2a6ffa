"""Readers for news source files: each turns a file into :class:`Article` records.

Formats (the content decides where it is clear, else the file name):

- page dumps (``.txt``): a web page saved as text, menus and footer around the article
  (:mod:`.pages`);
- ``<doc>`` records: SogouCS/SogouCA exports (many records, no root element, any extension such
  as ``.dat``) and per-article ``<doc><id><url><title><datetime><body>`` files (:mod:`.docxml`);
- JSON (``.json``: an object, an array, or an object holding an array) and JSON Lines
  (``.jsonl``, ``.ndjson``), with field names mapped (:mod:`.jsonfiles`, :mod:`.records`);
- HTML pages (``.html``, ``.htm``, ``.shtml``) through trafilatura (:mod:`.html`);
- RSS and Atom feeds (``.rss``, ``.atom``, or any XML file that is one), and feed URLs
  (``http(s)://``) fetched over HTTP (:mod:`.feeds`);
- database tables, described by a TOML file (``.toml``) and read through SQLAlchemy
  (:mod:`.database`);

each possibly compressed (``.gz``, ``.bz2``, ``.xz``), in UTF-8 (with or without BOM), UTF-16
(with or without BOM), GB18030/GBK/GB2312 or Big5 (:mod:`.encoding`). Text is kept as written (traditional characters
stay traditional).

A file, a JSON line or a record that cannot be read is reported as a
:class:`~search.errors.SourceError` carrying its path (and line), and a one-line reason whose
first words say what kind of problem it is (``empty file``, ``binary file, not text``,
``bad JSON line: …``, ``truncated XML: …``); reading goes on with the rest.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import BinaryIO

from ..errors import SourceError, SourceUnavailable
from .article import Article, headline, normalise_text, text_digest, with_identity
from .database import is_database_file
from .dates import date_from_url, parse_date
from .encoding import declared_encoding, decode, looks_binary, wide_encoding
from .records import DEFAULT_FIELDS, field_map, parse_field_options
from .state import Reading

__all__ = [
    "DEFAULT_FIELDS",
    "Article",
    "Reading",
    "date_from_url",
    "decode",
    "field_map",
    "file_kind",
    "headline",
    "is_url",
    "normalise_text",
    "parse_date",
    "parse_field_options",
    "read_file",
    "read_sources",
    "source_files",
    "text_digest",
]

ErrorHandler = Callable[[SourceError], None]

#: File name endings -> the kind of file, when its content does not say.
EXTENSIONS = {
    ".txt": "page",
    ".text": "page",
    ".xml": "doc",
    ".trec": "doc",
    ".sgml": "doc",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".html": "html",
    ".htm": "html",
    ".shtml": "html",
    ".xhtml": "html",
    ".rss": "feed",
    ".atom": "feed",
}
_COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_COMPRESSION_ERRORS = (EOFError, zlib.error, lzma.LZMAError, gzip.BadGzipFile)
HEAD = 1 << 16

_URL = re.compile(r"(?i)https?://")
_SNIFF_FEED = re.compile(rb"<rss[\s>]|<feed[\s>]|<rdf:RDF[\s>]")
_SNIFF_DOC = re.compile(rb"<doc[\s>]", re.I)
_SNIFF_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)
_SNIFF_JSON = re.compile(rb"(?:\{\s*(?:\"|\})|\[\s*(?:[{\[\"\]0-9-]|true|false|null))")


def _split_name(path: str) -> tuple[str, Callable[..., BinaryIO]]:
    """The file name without a compression suffix, and the function that opens it as bytes."""
    name = os.path.basename(path).lower()
    for suffix, opener in _COMPRESSED.items():
        if name.endswith(suffix):
            return name[: -len(suffix)], opener
    return name, open


def _sniff(head: bytes) -> str | None:
    """The kind of file the first bytes show, when they show it clearly."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:512]
    if start.startswith(b"<"):
        if _SNIFF_FEED.search(head[:4096]) and not _SNIFF_DOC.search(head[:4096]):
            return "feed"
        if _SNIFF_DOC.search(head) and not _SNIFF_HTML.match(start):
            return "doc"
        if _SNIFF_HTML.search(start):
            return "html"
        return None
    if _SNIFF_JSON.match(start):
        return "json"
    return None


def file_kind(name: str, head: bytes) -> str | None:
    """The kind of a file (``page``, ``doc``, ``json``, ``jsonl``, ``html``, ``feed``) from its name and first bytes."""
    extension = os.path.splitext(name)[1]
    by_name = EXTENSIONS.get(extension)
    sniffed = _sniff(head)
    if sniffed == "json" and by_name == "jsonl":
        return "jsonl"
    return sniffed or by_name


def read_file(
    path: str, on_error: ErrorHandler, *, fields: Mapping | None = None, reading: Reading | None = None
) -> Iterator[Article]:
    """Every article in one file; broken records go to ``on_error``.

    :param fields: the field map for JSON and ``<doc>`` records (:func:`field_map`)
    :param reading: options for feeds (``follow_links``)
    :raises SourceError: when the file as a whole cannot be read
    """
    from .docxml import read_doc_records
    from .jsonfiles import read_json_lines, read_json_text

    fields = fields or field_map()
    name, opener = _split_name(path)
    with opener(path, "rb") as handle:
        head = handle.read(HEAD)
    if not head.strip(b" \t\r\n\x00"):
        raise SourceError(path, "empty file")
    if wide_encoding(head):
        # UTF-16 (or UTF-32) text, rare in practice: read it whole as UTF-8, which every reader
        # (line by line, chunk by chunk) expects.
        with opener(path, "rb") as handle:
            utf8 = decode(handle.read(), path).encode("utf-8")
        head = utf8[:HEAD]

        def opener(_path, _mode, _data=utf8):
            return io.BytesIO(_data)

    if looks_binary(head):
        raise SourceError(path, "binary file, not text")
    kind = file_kind(name, head)
    if kind is None:
        extension = os.path.splitext(name)[1] or "no extension"
        raise SourceError(path, f"unsupported file type: {extension} (not a page dump, <doc> XML, JSON or HTML)")
    if kind == "jsonl":
        with opener(path, "rb") as handle:
            yield from read_json_lines(path, handle, on_error, fields)
        return
    if kind == "doc":
        with opener(path, "rb") as handle:
            yield from read_doc_records(path, handle, on_error, fields)
        return
    with opener(path, "rb") as handle:
        data = handle.read()
    if kind == "feed":
        from .feeds import read_feed_bytes

        yield from read_feed_bytes(path, data, on_error, reading if reading is not None else Reading())
    elif kind == "json":
        yield from read_json_text(path, decode(data, path), on_error, fields)
    elif kind == "html":
        from .html import read_html

        yield read_html(path, decode(data, path, declared_encoding(data)))
    else:
        from .pages import read_page

        yield read_page(path, decode(data, path))


def source_files(paths: Iterable[str | os.PathLike]) -> Iterator[str]:
    """Every file under ``paths`` (files or folders), in a stable order; hidden files are left out."""
    for entry in paths:
        entry = os.fspath(entry)
        if os.path.isdir(entry):
            for root, dirs, files in os.walk(entry):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield os.path.join(root, name)
        else:
            yield entry


def is_url(path: str) -> bool:
    """Whether a source is a feed on the web (``http://`` or ``https://``) rather than a path."""
    return bool(_URL.match(path))


def read_sources(
    paths: Iterable[str | os.PathLike],
    on_error: ErrorHandler,
    *,
    fields: Mapping[str, str | Iterable[str]] | None = None,
    skip_unknown: bool = False,
    reading: Reading | None = None,
) -> Iterator[Article]:
    """Every article in the sources ``paths`` (files, folders, database TOML files, feed URLs);
    problems go to ``on_error``, reading goes on.

    :param fields: record field names to read before the usual ones, e.g. ``{"body": "maintext"}``
    :param skip_unknown: pass over files of no supported type silently (else report them)
    :param reading: what an update remembers and learns (state of databases and feeds, ids
        present, options); default: read everything, as a rebuild does
    :raises SourceUnavailable: for a database that cannot be read at all (the caller must stop:
        going on would lose its articles)
    """
    mapping = field_map(fields)
    reading = reading if reading is not None else Reading()
    for path in source_files(paths):
        if is_url(path):
            from .feeds import read_feed_url

            try:
                for article in read_feed_url(path, on_error, reading):
                    yield with_identity(article)
            except SourceError as error:
                on_error(error)
            continue
        if not os.path.exists(path):
            on_error(SourceError(path, "no such file or folder"))
            continue
        try:
            if is_database_file(path):
                from .database import read_database_file

                for article in read_database_file(path, on_error, reading):
                    yield with_identity(article)
                continue
            for article in read_file(path, on_error, fields=mapping, reading=reading):
                yield with_identity(article)
        except SourceUnavailable:
            raise
        except SourceError as error:
            if skip_unknown and error.reason.startswith("unsupported file type"):
                continue
            on_error(error)
        except _COMPRESSION_ERRORS as error:
            on_error(SourceError(path, f"bad compressed file: {error}"))
        except OSError as error:
            on_error(SourceError(path, f"cannot read: {error.strerror or error}"))
