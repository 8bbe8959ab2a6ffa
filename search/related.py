"""Related articles: more like this one, on its key terms, its own copies left out.

The key terms are the words of the article that are most telling against the whole index
(Whoosh's ``key_terms_from_text`` with the Bo1 model over the body, the title's words added with a
boost); numbers and one-character words are left out. The query is an OR of those terms over
title and body; the article and its syndicated copies are masked out, and copies of another story
are collapsed, so five related articles are five stories.
"""

from __future__ import annotations

import re

from whoosh import query as wq

from . import copies as syndication
from . import schema as fields

#: Key terms taken from the body; how much more a key term counts when the title has it too.
BODY_TERMS = 12
TITLE_BOOST = 1.5
_USEFUL = re.compile(r"^(?!\d+$)[^\W_]{2,}$")


def key_terms(searcher, title: str, body: str) -> list[tuple[str, float]]:
    """The article's telling words with weights, highest first: key terms of the body (weights
    scaled to 1 for the best), those also in the title :data:`TITLE_BOOST` times more, and the title's
    other words by how rare they are in the index."""
    weights: dict[str, float] = {}
    if body:
        terms = searcher.key_terms_from_text(fields.BODY, body, numterms=BODY_TERMS * 2)
        for term, weight in terms:
            if _USEFUL.match(term) and len(weights) < BODY_TERMS:
                weights[term] = weight
    top = max(weights.values(), default=1.0)
    weights = {term: weight / top for term, weight in weights.items()}
    if title:
        analyzer = searcher.schema[fields.TITLE].analyzer
        words = {t.text for t in analyzer(title, mode="query") if _USEFUL.match(t.text)}
        rarity = {w: searcher.idf(fields.BODY, w) for w in words if searcher.doc_frequency(fields.BODY, w) > 1}
        rarest = max(rarity.values(), default=1.0)
        for word, idf in rarity.items():
            if word in weights:
                weights[word] *= TITLE_BOOST
            else:
                weights[word] = idf / rarest * 0.5
    return sorted(weights.items(), key=lambda item: -item[1])


def more_like(searcher, stored: dict, docnum: int, clusters: syndication.Copies, limit: int = 5):
    """``[(docnum, score)]`` of up to ``limit`` articles like the stored one, best first."""
    terms = key_terms(searcher, stored.get(fields.TITLE, ""), stored.get(fields.BODY, ""))
    if not terms:
        return []
    subqueries = []
    for term, weight in terms:
        subqueries.append(wq.Term(fields.BODY, term, boost=weight))
        subqueries.append(wq.Term(fields.TITLE, term, boost=weight))
    exclude = {docnum} | {member.docnum for member in clusters.members(docnum)}
    results = syndication.search(searcher, wq.Or(subqueries), clusters, limit=limit, mask=exclude)
    return [(results.docnum(i), results.score(i)) for i in range(min(limit, results.scored_length()))]


__all__ = ["key_terms", "more_like"]
