"""A full-text search engine for Chinese regional news, built on Whoosh and jieba.

The public Python API::

    from search import NewsIndex

    NewsIndex.rebuild(["seeds"], "index")
    page = NewsIndex.open("index").search("一区两群")
    for hit in page.hits:
        print(hit.title, hit.date, hit.source)
"""

from .errors import (
    ClusterError,
    IndexLocked,
    IndexNotFound,
    IndexOutdated,
    QueryError,
    SearchError,
    SourceError,
    SourceUnavailable,
)
from .indexer import RebuildSummary, Skipped
from .results import FacetValue, Hit, SearchPage, StoredArticle
from .searcher import NewsIndex
from .sources import Article
from .updater import UpdateSummary

__all__ = [
    "Article",
    "ClusterError",
    "FacetValue",
    "Hit",
    "IndexLocked",
    "IndexNotFound",
    "IndexOutdated",
    "NewsIndex",
    "QueryError",
    "RebuildSummary",
    "SearchError",
    "SearchPage",
    "Skipped",
    "SourceError",
    "SourceUnavailable",
    "StoredArticle",
    "UpdateSummary",
]
