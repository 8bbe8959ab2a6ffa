"""Other queries offered on a search page that found nothing, each with how much it finds."""

from __future__ import annotations

from dataclasses import dataclass, replace

from search import QueryError
from search.query import QUOTE_MARKS

from .params import SearchParams

#: Words of a query that found nothing tried one at a time as suggestions.
SUGGESTED_WORDS = 8


@dataclass(frozen=True)
class Suggestion:
    """Another query worth trying when one found nothing."""

    label: str
    args: dict
    total: int
    #: The query with a typo corrected ("did you mean").
    spelling: bool = False


def other_queries(params: SearchParams, did_you_mean: str | None = None, most: int = 4) -> list[Suggestion]:
    """For an empty result: the spelling the index knows ("did you mean", first), the query without
    filters, without quotes, or one word at a time, each only if it finds something."""
    candidates: list[tuple[str, SearchParams, bool]] = []
    if did_you_mean and did_you_mean != params.q:
        candidates.append((did_you_mean, replace(params, q=did_you_mean), True))
    if params.filtered:
        unfiltered = replace(params, source="", region="", date_from="", date_to="")
        candidates.append(("不限来源、地区和日期", unfiltered, False))
    unquoted = params.q.translate({ord(c): " " for c in QUOTE_MARKS}).strip()
    if unquoted != params.q and unquoted:
        candidates.append((unquoted, replace(params, q=unquoted), False))
    words = unquoted.split()
    if len(words) > 1:
        # The first few words only: a query of hundreds of words must not cost hundreds of searches.
        candidates.extend((word, replace(params, q=word), False) for word in words[:SUGGESTED_WORDS])
    suggestions, seen = [], set()
    for label, candidate, spelling in candidates:
        candidate = replace(candidate, page=1, per_page=1)
        if candidate in seen:
            continue
        seen.add(candidate)
        try:
            total = candidate.search(snippets=False).total  # only the count is shown
        except QueryError:
            continue
        if total:
            suggestions.append(Suggestion(label, candidate.args(per_page=params.per_page), total, spelling))
        if len(suggestions) >= most:
            break
    return suggestions


__all__ = ["Suggestion", "other_queries"]
