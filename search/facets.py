"""Facets: the matching articles counted by source, region, year and month.

Each facet counts the articles that match the query and every filter except its own, so the other
values stay selectable; copies of one story each count. The facet fields are read once per
generation from the sortable columns of the index into numpy arrays (:class:`Columns`); a search
then only lists its matching document numbers and counts them with array operations (no stored
fields, no scoring, no Python loop over the matches).
"""

from __future__ import annotations

from datetime import datetime
from itertools import islice

import numpy as np
from whoosh import collectors
from whoosh.util.times import datetime_to_long

from . import schema as fields
from .results import FacetValue
from .timelimit import Budget

#: The facets a search counts.
FACETS = ("source", "region", "year", "month")
# NumericRange(None, x) on Whoosh's unsigned DATETIME matches everything: a date filter always
# gives both ends.
EARLIEST = datetime(1800, 1, 1)
LATEST = datetime(2200, 1, 1)
# Matching document numbers are taken this many at a time, the time budget checked in between.
_CHUNK = 8192
_MICROSECONDS_A_DAY = 86_400 * 1_000_000


class Columns:
    """The facet fields of one index (one generation), by document number, as arrays.

    ``source``: each document's source as a number into ``source_names``; ``stamp``: the
    publication time as Whoosh stores it (microseconds since ``datetime.min``; 0: undated);
    ``month``: ``year * 12 + month - 1`` (-1: undated); regions as pairs
    (``region_doc[i]`` has ``region_names[region[i]]``), as many as tags.
    """

    def __init__(self, reader):
        leaves = list(reader.leaf_readers()) or [(reader, 0)]
        self.documents = reader.doc_count_all()
        sources, stamps, tags = [], [], []
        for leaf, _offset in leaves:  # leaf readers come in document number order
            sources.extend(_values(leaf, fields.SOURCE))
            stamps.extend(_values(leaf, fields.PUBLISHED, translate=False))
            # An index built before regions existed has no such column.
            tags.extend(_values(leaf, fields.REGION) if fields.REGION in reader.schema else [""] * leaf.doc_count_all())
        names, codes = np.unique(np.array(sources, dtype=object).astype(str), return_inverse=True)
        self.source_names: list[str] = names.tolist()
        self.source = codes.astype(np.int32)
        self.stamp = np.array(stamps, dtype=np.int64)
        days = (self.stamp // _MICROSECONDS_A_DAY).astype("timedelta64[D]") + np.datetime64("0001-01-01", "D")
        month = days.astype("datetime64[M]").astype(np.int64) + 1970 * 12
        self.month = np.where(self.stamp == 0, -1, month)
        region_docs, region_tags = [], []
        for docnum, text in enumerate(tags):
            for tag in text.split():
                region_docs.append(docnum)
                region_tags.append(tag)
        names, codes = np.unique(np.array(region_tags, dtype=str), return_inverse=True)
        self.region_names: list[str] = names.tolist()
        self.region_code = {name: i for i, name in enumerate(self.region_names)}
        self.region = codes.astype(np.int32)
        self.region_doc = np.array(region_docs, dtype=np.int32)

    def with_region(self, region: str) -> np.ndarray:
        """A mask of the documents about ``region``."""
        mask = np.zeros(self.documents, dtype=bool)
        code = self.region_code.get(region)
        if code is not None:
            mask[self.region_doc[self.region == code]] = True
        return mask


def _values(leaf, fieldname: str, translate: bool = True) -> list:
    """Every value of a sortable field in one segment, in document order (the default value where
    the segment has no column file for it)."""
    return list(leaf.column_reader(fieldname, translate=translate))


def matching(searcher, query, budget: Budget | None = None) -> np.ndarray:
    """The document numbers matching ``query``, as an array (the budget checked between chunks)."""
    found = searcher.docs_for_query(query)
    chunks = []
    while True:
        if budget is not None:
            budget.check()
        chunk = np.fromiter(islice(found, _CHUNK), dtype=np.int64)
        if not len(chunk):
            break
        chunks.append(chunk)
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)


def count(
    searcher, query, start, end, source, region, budget: Budget | None = None, columns: Columns | None = None
) -> dict[str, tuple[FacetValue, ...]]:
    """Count the articles matching ``query`` by source, by region, by year and by month of
    publication, each within every filter but its own (year and month both ignore the dates).

    :param columns: the index's :class:`Columns` (read from ``searcher`` when not given)
    """
    columns = columns if columns is not None else Columns(searcher.reader())
    docs = matching(searcher, query, budget)
    everything = np.ones(len(docs), dtype=bool)
    stamp = columns.stamp[docs]
    in_dates = everything
    if start is not None or end is not None:
        low, high = datetime_to_long(start or EARLIEST), datetime_to_long(end or LATEST)
        in_dates = (stamp >= low) & (stamp <= high)
    in_source = everything
    if source:
        in_source = columns.source[docs] == (
            columns.source_names.index(source) if source in columns.source_names else -1
        )
    in_region = columns.with_region(region)[docs] if region else everything

    by_source = np.bincount(columns.source[docs[in_dates & in_region]], minlength=len(columns.source_names))
    chosen = np.zeros(columns.documents, dtype=bool)
    chosen[docs[in_dates & in_source]] = True
    by_region = np.bincount(columns.region[chosen[columns.region_doc]], minlength=len(columns.region_names))
    months = columns.month[docs[in_source & in_region]]
    month_values, month_counts = np.unique(months[months >= 0], return_counts=True)
    by_year: dict[int, int] = {}
    for month, n in zip(month_values.tolist(), month_counts.tolist(), strict=True):
        by_year[month // 12] = by_year.get(month // 12, 0) + n
    return {
        "source": _most_first(columns.source_names, by_source),
        "region": _most_first(columns.region_names, by_region),
        "year": tuple(FacetValue(str(year), n) for year, n in sorted(by_year.items(), reverse=True)),
        "month": tuple(
            FacetValue(f"{month // 12:04d}-{month % 12 + 1:02d}", n)
            for month, n in zip(month_values.tolist(), month_counts.tolist(), strict=True)
        ),
    }


def _most_first(names: list[str], counts: np.ndarray) -> tuple[FacetValue, ...]:
    """The values counted at least once, the most frequent first, ties by value."""
    order = sorted((-n, names[i]) for i, n in enumerate(counts.tolist()) if n)
    return tuple(FacetValue(name, -n) for n, name in order)


def within(
    searcher, query, filters: tuple, budget: Budget, partial: bool, columns: Columns | None = None
) -> tuple[dict, bool]:
    """:func:`count` within ``budget``: ``(facets, partial)``; out of time (or when the search
    itself was), every facet is empty."""
    try:
        if not partial:
            return count(searcher, query, *filters, budget=budget, columns=columns), False
    except collectors.TimeLimit:
        pass
    return {name: () for name in FACETS}, True


__all__ = ["EARLIEST", "FACETS", "LATEST", "Columns", "count", "matching", "within"]
