"""Facets: the matching articles counted by source, region, year and month.

Each facet counts the articles that match the query and every filter except its own, so the other
values stay selectable; copies of one story each count. The counts read the sortable columns of the
index (no stored fields, no scoring).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from whoosh import collectors, columns

from . import schema as fields
from .results import FacetValue
from .timelimit import Budget

#: The facets a search counts.
FACETS = ("source", "region", "year", "month")
# NumericRange(None, x) on Whoosh's unsigned DATETIME matches everything: a date filter always
# gives both ends.
EARLIEST = datetime(1800, 1, 1)
LATEST = datetime(2200, 1, 1)


def count(searcher, query, start, end, source, region, budget: Budget | None = None) -> dict[str, tuple[FacetValue, ...]]:
    """Count the articles matching ``query`` by source, by region, by year and by month of
    publication, each within every filter but its own (year and month both ignore the dates).

    One pass over the matching document numbers, reading the sortable columns; no scoring.
    """
    reader = searcher.reader()
    sources = _column(reader, fields.SOURCE)
    # Undated articles hold 0 in the column, which reads back as datetime.min.
    published = _column(reader, fields.PUBLISHED)
    # An index built before regions existed has no such column.
    places = _column(reader, fields.REGION) if fields.REGION in reader.schema else None
    low, high = start or EARLIEST, end or LATEST
    dated = start is not None or end is not None
    by_source: Counter[str] = Counter()
    by_region: Counter[str] = Counter()
    by_year: Counter[str] = Counter()
    by_month: Counter[str] = Counter()
    for seen, docnum in enumerate(searcher.docs_for_query(query)):
        if budget is not None and not seen % 1024:
            budget.check()
        name = sources[docnum]
        when = published[docnum]
        tags = places[docnum].split() if places is not None else ()
        in_dates = not dated or low <= when <= high
        in_source = not source or name == source
        in_region = not region or region in tags
        if in_dates and in_region:
            by_source[name] += 1
        if in_dates and in_source:
            by_region.update(tags)
        if when != datetime.min and in_source and in_region:
            by_year[str(when.year)] += 1
            by_month[f"{when.year:04d}-{when.month:02d}"] += 1
    return {
        "source": _most_first(by_source),
        "region": _most_first(by_region),
        "year": tuple(FacetValue(v, n) for v, n in sorted(by_year.items(), reverse=True)),
        "month": tuple(FacetValue(v, n) for v, n in sorted(by_month.items())),
    }


def _column(reader, fieldname: str):
    """The values of a sortable field by document number, across every segment.

    Whoosh's own multi-segment column reader leaves out a segment without a column file for the
    field (a segment where no article has a date, say) and then reads the wrong segment's values
    or fails; each segment's own reader stands in for a missing file with the default value.
    """
    leaves = [(leaf, offset) for leaf, offset in reader.leaf_readers()]
    if len(leaves) == 1:
        return leaves[0][0].column_reader(fieldname, translate=True)
    return columns.MultiColumnReader(
        [leaf.column_reader(fieldname, translate=True) for leaf, _ in leaves], [offset for _, offset in leaves]
    )


def _most_first(counts: Counter[str]) -> tuple[FacetValue, ...]:
    return tuple(FacetValue(v, n) for v, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def within(searcher, query, filters: tuple, budget: Budget, partial: bool) -> tuple[dict, bool]:
    """:func:`count` within ``budget``: ``(facets, partial)``; out of time (or when the search
    itself was), every facet is empty."""
    try:
        if not partial:
            return count(searcher, query, *filters, budget=budget), False
    except collectors.TimeLimit:
        pass
    return {name: () for name in FACETS}, True


__all__ = ["EARLIEST", "FACETS", "LATEST", "count", "within"]
