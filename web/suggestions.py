"""Other queries offered on a search page that found nothing, each with how much it finds.

Which queries to try is :func:`search.spelling.alternatives`' decision; this module runs them as
the reader's request would (same filters unless the alternative drops them), within the request's
time budget, and keeps those that find something.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from search import QueryError
from search.spelling import alternatives
from search.timelimit import Budget

from .params import SearchParams


@dataclass(frozen=True)
class Suggestion:
    """Another query worth trying when one found nothing."""

    label: str
    args: dict
    total: int
    #: The query with a typo corrected ("did you mean").
    spelling: bool = False


def other_queries(params: SearchParams, did_you_mean: str | None, budget: Budget, most: int = 4) -> list[Suggestion]:
    """For an empty result: the alternatives that find something, best first, while ``budget`` lasts."""
    suggestions, seen = [], set()
    for alternative in alternatives(params.q, did_you_mean, params.filtered):
        if budget.spent:
            break
        candidate = replace(params, q=alternative.query, page=1, per_page=1)
        if alternative.unfiltered:
            candidate = replace(candidate, source="", region="", date_from="", date_to="")
        if candidate in seen:
            continue
        seen.add(candidate)
        try:
            found = candidate.search(snippets=False, budget=budget)  # only the count is shown
        except QueryError:
            continue
        if found.total:
            args = candidate.args(per_page=params.per_page)
            suggestions.append(Suggestion(alternative.label, args, found.total, alternative.spelling))
        if len(suggestions) >= most:
            break
    return suggestions


__all__ = ["Suggestion", "other_queries"]
