"""Structured records (a JSON object, an XML ``<doc>``) to articles, whatever their fields are called.

Exports name the same things differently: ``content`` or ``text`` for the body, ``pubtime`` or
``publish_time`` for the date, ``contenttitle`` or ``headline`` for the title. A field map lists,
for each article field, the record fields to take it from, first found wins; callers can put their
own names in front (``{"body": "maintext"}``, dotted paths reach into nested objects).

A record's body is kept as written (each line stripped of its indent), so the same article met in
two formats has the same digest and is indexed once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from . import boilerplate as bp
from .article import Article
from .dates import date_from_url, parse_date
from .sites import site_name

#: Article field -> record fields to read it from, in order of preference.
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("id", "docno", "docid", "doc_id", "_id", "uuid", "guid", "news_id", "article_id"),
    "title": ("title", "contenttitle", "headline", "heading", "subject"),
    "body": (
        "body",
        "content",
        "text",
        "article",
        "maintext",
        "main_text",
        "content_text",
        "fulltext",
        "full_text",
        "paragraphs",
    ),
    "date": (
        "date",
        "datetime",
        "pubtime",
        "publish_time",
        "pub_time",
        "published",
        "published_at",
        "publish_date",
        "pubdate",
        "pub_date",
        "time",
        "created_at",
        "create_time",
        "release_time",
        "ctime",
    ),
    "source": ("source", "source_name", "site", "site_name", "sitename", "media", "publisher", "medium"),
    "url": ("url", "link", "href", "source_url", "article_url", "uri"),
    "byline": ("byline", "author", "authors", "reporter", "writer", "editor"),
}
FieldMap = Mapping[str, tuple[str, ...]]
# Block-level markup says a body is HTML; a lone <b> may as well be literal text.
_HTML_TAG = re.compile(r"</?(?:p|br|div|img|section|article|table|tr|td|li|ul|ol|h[1-6])\b[^>]*>", re.I)


_LINE_BREAKS = re.compile(r"\s*[\r\n\t]+\s*")


class RecordError(ValueError):
    """A record that holds no article; the message is the one-line reason."""


def field_map(overrides: Mapping[str, str | Iterable[str]] | None = None) -> dict[str, tuple[str, ...]]:
    """The default field map with ``overrides`` put in front.

    :param overrides: article field -> a record field name (or several), e.g. ``{"body": "maintext"}``
    :raises ValueError: for an article field that does not exist
    """
    fields = dict(DEFAULT_FIELDS)
    for target, names in (overrides or {}).items():
        if target not in fields:
            raise ValueError(f"unknown article field {target!r}; choose from {', '.join(DEFAULT_FIELDS)}")
        names = (names,) if isinstance(names, str) else tuple(names)
        fields[target] = tuple(n.strip().lower() for n in names if n.strip()) + fields[target]
    return fields


def parse_field_options(options: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``["body=maintext", "date=meta.time,ts"]`` (as typed on the command line) to overrides."""
    overrides: dict[str, tuple[str, ...]] = {}
    for option in options:
        target, sep, names = option.partition("=")
        if not sep or not names.strip():
            raise ValueError(f"{option!r}: expected FIELD=NAME[,NAME...], e.g. body=content")
        overrides[target.strip()] = overrides.get(target.strip(), ()) + tuple(names.split(","))
    field_map(overrides)  # validate the targets
    return overrides


def _lookup(record: Mapping[str, Any], name: str) -> Any:
    value: Any = record
    for key in name.split("."):
        if not isinstance(value, Mapping):
            return None
        found = value.get(key)
        if found is None:
            found = next((v for k, v in value.items() if str(k).lower() == key), None)
        value = found
    return value


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _first(record: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = record.get(name) if "." not in name else _lookup(record, name)
        if not _empty(value):
            return value
    # Field names in another case (Title, PubTime) or nested (meta.title).
    lowered = {str(k).lower(): v for k, v in record.items()}
    for name in names:
        value = lowered.get(name) if "." not in name else _lookup(record, name)
        if not _empty(value):
            return value
    return None


def _text(value: Any, joiner: str = "\n") -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return joiner.join(part for part in (_text(v, joiner) for v in value) if part)
    if isinstance(value, Mapping):
        return _text(_first(value, ("text", "content", "name", "value")), joiner)
    return str(value).strip()


def clean_body(text: str) -> str:
    """A record's body as written: HTML markup turned into lines, indents and blank lines gone."""
    if "<" in text and _HTML_TAG.search(text):
        from .html import fragment_text

        text = fragment_text(text)
    return "\n".join(line for line in map(bp.strip_line, text.splitlines()) if line)


# Records of one export share their keys: which of them serve each article field is worked out
# once per key set (and field map), not once per record.
_PLANS: dict[tuple, tuple[FieldMap, dict[str, tuple[str, ...]]]] = {}


def _plan(record: Mapping[str, Any], fields: FieldMap) -> dict[str, tuple[str, ...]]:
    key = (tuple(record), id(fields))
    cached = _PLANS.get(key)
    if cached is not None:
        return cached[1]
    lowered = {str(k).lower(): k for k in record}
    plan = {}
    for target, names in fields.items():
        present = [name if "." in name or name in record else lowered.get(name) for name in names]
        plan[target] = tuple(dict.fromkeys(name for name in present if name is not None))
    if len(_PLANS) >= 512:
        _PLANS.clear()
    _PLANS[key] = (fields, plan)  # the map is kept alive with its entry, so its id stays its own
    return plan


def _value(record: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = _lookup(record, name) if "." in name else record[name]
        if not _empty(value):
            return value
    return None


def record_article(record: Mapping[str, Any], path: str, fields: FieldMap) -> Article:
    """The article a record holds.

    :raises RecordError: when it is no object, or has neither a title nor a body
    """
    if not isinstance(record, Mapping):
        raise RecordError("bad record: not an object")
    plan = _plan(record, fields)
    body = clean_body(_text(_value(record, plan["body"])))
    title = _LINE_BREAKS.sub(" ", _text(_value(record, plan["title"]))).strip(bp.STRIP)
    if not body and not title:
        # A headline alone (a photo page, a brief) is an article, found by its title.
        raise RecordError("empty record: no title and no article text")
    url = _text(_value(record, plan["url"]))
    raw_date = _value(record, plan["date"])
    published = parse_date(raw_date if isinstance(raw_date, int | float) else _text(raw_date))
    byline = _text(_value(record, plan["byline"]), "、")
    if not byline:
        found = [bp.lead_byline(body), bp.byline_of(body.rsplit("\n", 1)[-1])]
        byline = "; ".join(b for b in found if b)
    return Article(
        id=_text(_value(record, plan["id"])),
        title=title,
        body=body,
        published=published or date_from_url(url),
        source=_text(_value(record, plan["source"])) or site_name(url),
        url=url,
        byline=byline,
        path=path,
    )
