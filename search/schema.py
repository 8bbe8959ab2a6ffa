"""The Whoosh schema: the one place that names the index's fields.

Text is indexed twice: as jieba words (``title``, ``body``) for ranking, and as character bigrams
(``grams``, title and body together) so that a quoted phrase matches exactly where its characters
stand side by side, whichever way jieba cut the text around it.
"""

from __future__ import annotations

from whoosh.columns import NumericColumn
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from .analysis import BigramAnalyzer, ChineseAnalyzer

ID_FIELD = "id"
TITLE = "title"
BODY = "body"
GRAMS = "grams"
PUBLISHED = "published"
SOURCE = "source"
URL = "url"
BYLINE = "byline"
PATH = "path"
DIGEST = "digest"
#: Official names of the regions an article is about (search/regions.py), space separated.
REGION = "region"

#: Fields a user may name in a query (``title:重庆``).
QUERYABLE = (TITLE, BODY)


def build_schema() -> Schema:
    """A fresh schema for a new index."""
    words = ChineseAnalyzer()
    return Schema(
        **{
            ID_FIELD: ID(stored=True, unique=True),
            TITLE: TEXT(analyzer=words, stored=True, phrase=True),
            BODY: TEXT(analyzer=words, stored=True, phrase=True),
            GRAMS: TEXT(analyzer=BigramAnalyzer(), stored=False, phrase=True),
            # Undated articles sort as the oldest (Whoosh's default puts them after the newest).
            PUBLISHED: DATETIME(stored=True, sortable=NumericColumn("Q", default=0)),
            SOURCE: ID(stored=True, sortable=True),
            URL: STORED(),
            BYLINE: STORED(),
            PATH: ID(stored=True),
            DIGEST: ID(stored=True),
            # A column too, so that facets count regions without reading stored fields.
            REGION: KEYWORD(stored=True, sortable=True),
        }
    )
