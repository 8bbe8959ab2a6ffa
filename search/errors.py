"""Errors raised by the engine.

Every error carries a one-line, human-readable reason; the CLI and the web front end show it as is.
"""

from __future__ import annotations


class SearchError(Exception):
    """Base class of every error this package raises on purpose."""


class IndexNotFound(SearchError):
    """There is no usable index at the given path."""

    def __init__(self, path: str, reason: str = "no index here; run `news-search index rebuild` first"):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class IndexOutdated(IndexNotFound):
    """The index was written by an older version of this package, in a format this one does not
    read: it must be rebuilt (an index is never misread)."""

    def __init__(self, path: str, why: str):
        super().__init__(path, f"{why}; rebuild needed: run `news-search index rebuild`")


class QueryError(SearchError):
    """A search request that cannot be answered (bad page, date, sort key, ...)."""


class SourceError(SearchError):
    """A source file (or one record in it) that cannot be read.

    :param path: the file, as given to the reader
    :param reason: one line saying what is wrong
    :param line: the 1-based line number for line-oriented formats (JSON Lines)
    """

    def __init__(self, path: str, reason: str, line: int | None = None):
        self.path = str(path)
        self.reason = reason
        self.line = line
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


class SourceUnavailable(SourceError):
    """A source that cannot be read at all: a database that cannot be reached, a table or column
    that does not exist, a TOML source file that describes no table. Unlike a broken file, it
    stops the rebuild or update (reading on would lose all its articles); the served index is kept."""


class IndexLocked(SearchError):
    """Another process is writing to the index."""


class ClusterError(SearchError):
    """A Ray cluster that cannot be used: Ray not installed, no address, a cluster that cannot be
    reached, or work that could not finish there (the served index is kept)."""


def first_line(error: BaseException) -> str:
    """An error's own message in one line (a wrapped driver error: the driver's message, not the
    wrapper's, which repeats the statement)."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip() or type(original).__name__
    return text.splitlines()[0].strip()
