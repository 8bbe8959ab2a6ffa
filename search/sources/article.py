"""The :class:`Article` record every reader produces, and what identifies one."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """One news article, as read from a source file."""

    id: str
    title: str
    body: str
    published: datetime | None = None
    source: str = ""
    url: str = ""
    byline: str = ""
    path: str = ""
    digest: str = field(default="", compare=False)

    def __post_init__(self):
        if not self.digest:
            object.__setattr__(self, "digest", text_digest(self.body or self.title))


def normalise_text(text: str) -> str:
    """Text reduced for identity: no white space of any kind (line breaks, indents, full-width
    spaces), lower case.

    (Deliberately no NFKC or full-width folding: over every body of a large corpus it would be the
    slowest step of reading it, and the same article copied twice is the same character for
    character anyway.)
    """
    return "".join(text.split()).lower()


def text_digest(text: str) -> str:
    """A stable hash of the normalised text (hex, 20 characters)."""
    return hashlib.sha1(normalise_text(text).encode("utf-8")).hexdigest()[:20]


def headline(article_title: str, body: str, limit: int = 60) -> str:
    """The title to show: the article's own, else the first sentence of the body, shortened."""
    if article_title.strip():
        return article_title.strip()
    first = re.split(r"(?<=[。！？!?])|\n", body.strip(), maxsplit=1)[0].strip()
    return first if len(first) <= limit else first[: limit - 1] + "…"


def normalise_url(url: str) -> str:
    """A URL as identity: no surrounding space, no fragment, scheme and host in lower case."""
    url = url.strip().split("#", 1)[0]
    match = re.match(r"(?i)([a-z][a-z0-9+.-]*://)([^/?]*)(.*)", url)
    if match:
        url = match.group(1).lower() + match.group(2).lower() + match.group(3)
    return url


def with_identity(article: Article) -> Article:
    """Fill in a stable id: the record's own, else one made from its URL, else from its text.

    The same file read twice gives the same ids, so a rebuild never indexes an article twice.
    """
    if article.id:
        return article
    if article.url:
        key = normalise_url(article.url)
        return replace(article, id="url-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16])
    return replace(article, id="text-" + text_digest(article.title + "\n" + article.body)[:16])
