"""What a search returns: small frozen records, never Whoosh objects.

:class:`SearchPage` is one page of results with its :class:`Hit` records and facet counts
(:class:`FacetValue`); :class:`StoredArticle` is a whole article for the article page. Each has
``to_dict()`` for the JSON of the CLI and the web API (dates in ISO 8601, HTML as strings).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from . import copies as syndication


@dataclass(frozen=True)
class Hit:
    """One search result. ``title_html`` and ``snippet`` are safe HTML: escaped, matches in ``<mark>``."""

    id: str
    title: str
    title_html: str
    snippet: str
    date: datetime | None
    source: str
    url: str
    score: float | None
    #: Official names of the regions the article is about, provinces first.
    regions: tuple[str, ...] = ()
    #: How many other outlets' copies of this story the index holds, and which (earliest first).
    copies: int = 0
    other_copies: tuple[syndication.Member, ...] = ()

    def to_dict(self) -> dict:
        data = asdict(self)
        data["date"] = self.date.isoformat() if self.date else None
        data["title_html"] = str(self.title_html)
        data["snippet"] = str(self.snippet)
        data["regions"] = list(self.regions)
        data["other_copies"] = [member.to_dict() for member in self.other_copies]
        return data


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet and how many matching articles have it."""

    value: str
    count: int


@dataclass(frozen=True)
class SearchPage:
    """One page of results.

    ``facets`` (when asked for) maps a facet name (``source``, ``region``, ``year``, ``month``) to its
    values, most frequent first for ``source`` and ``region``, newest first for ``year``, oldest
    first for ``month`` (``2020-06``, a timeline). Each facet counts the articles that match the
    query and every filter except its own, so the other values stay selectable. ``total`` counts
    hits as listed (copies of one story collapsed into one unless asked otherwise); facets count
    articles. ``did_you_mean`` is a query one typo away, offered when this one found nothing, or
    found something but the correction finds far more. ``searched_as`` is what was searched when
    the query was read as pinyin (``chongqing huoguo`` searched as ``重庆 火锅``; ``query`` is then
    what was typed), else ``None``.
    """

    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: tuple[Hit, ...]
    facets: dict[str, tuple[FacetValue, ...]] = field(default_factory=dict, hash=False)
    did_you_mean: str | None = None
    #: The search ran out of time (:data:`search.timelimit.TIME_LIMIT`), or some shards did not
    #: answer (``missing_shards``): the hits and total are what it had found, and the facets are empty.
    partial: bool = False
    #: False when ``total`` is an estimate (a very broad query): show it as "about N".
    total_exact: bool = True
    searched_as: str | None = None
    #: Shards of a sharded index served by a cluster that did not answer (lost, restarting): the
    #: results are those of the other shards, and ``partial`` is set.
    missing_shards: tuple[int, ...] = ()

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "total_exact": self.total_exact,
            "page": self.page,
            "per_page": self.per_page,
            "took_ms": round(self.took_ms, 2),
            "hits": [hit.to_dict() for hit in self.hits],
            "facets": {name: [asdict(value) for value in values] for name, values in self.facets.items()},
            "did_you_mean": self.did_you_mean,
            "searched_as": self.searched_as,
            "partial": self.partial,
            "missing_shards": list(self.missing_shards),
        }


@dataclass(frozen=True)
class StoredArticle:
    """An article as stored in the index, for the article page."""

    id: str
    title: str
    body: str
    date: datetime | None
    source: str
    url: str
    byline: str
    regions: tuple[str, ...] = ()
    #: Other outlets' copies of this story, earliest first.
    copies: tuple[syndication.Member, ...] = ()

    def to_dict(self) -> dict:
        data = asdict(self)
        data["date"] = self.date.isoformat() if self.date else None
        data["regions"] = list(self.regions)
        data["copies"] = [member.to_dict() for member in self.copies]
        return data


__all__ = ["FacetValue", "Hit", "SearchPage", "StoredArticle"]
