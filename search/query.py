"""From what a reader types to a Whoosh query.

The syntax is Whoosh's, trimmed to what a news search box needs: words, "quoted phrases" (also with
Chinese quotes “…” and 「…」), AND / OR / NOT, ``-word``, ``+word``, parentheses, ``title:`` /
``body:`` / ``source:`` and ``word^2``. Anything the parser cannot make sense of falls back to plain
words, so every input gives a query or a clear :class:`~search.errors.QueryError`.

Unfielded words search title and body. Several words: an article holding all of them ranks first
(the strict reading of the query is added with a large boost), but articles holding some of them
still come back (the loose reading), so long questions work. A quoted phrase matches where its
characters stand side by side (through the character-bigram field) or where its words do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from whoosh import query as wq
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import (
    BoostPlugin,
    FieldsPlugin,
    GroupPlugin,
    OperatorsPlugin,
    PhrasePlugin,
    PlusMinusPlugin,
    QueryParser,
)
from whoosh.qparser.syntax import AndGroup, OrGroup

from . import schema as fields
from .analysis import ChineseAnalyzer, bigrams, fold
from .errors import QueryError

#: Longest query accepted, in characters.
MAX_QUERY_LENGTH = 500

# The field that unfielded words are parsed into; it exists only in the parsing schema.
_ANY = "text"

_QUOTES = str.maketrans({"“": '"', "”": '"', "「": '"', "」": '"', "『": '"', "』": '"', "＂": '"', "„": '"'})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Ranking:
    """The knobs of ranking, in one place."""

    title_boost: float = 1.5
    #: Extra weight of the strict reading (all words) over the loose one (any word).
    all_words_boost: float = 3.0


RANKING = Ranking()


class _QuotedPhrase(wq.Phrase):
    """What the parser makes of "..."; rewritten by :func:`_rewrite`. Never normalised into a Term."""

    def normalize(self):
        return self


class _GramPhrase(wq.Phrase):
    """A phrase on the bigram field that remembers the text it was made from, for highlighting."""

    def __init__(self, words, text, boost=1.0):
        super().__init__(fields.GRAMS, words, boost=boost)
        self.phrase_text = text

    def normalize(self):
        return self


def _parse_schema() -> Schema:
    words = ChineseAnalyzer()
    return Schema(
        **{
            _ANY: TEXT(analyzer=words),
            fields.TITLE: TEXT(analyzer=words),
            fields.BODY: TEXT(analyzer=words),
            fields.SOURCE: ID(),
        }
    )


_parsers: dict[str, QueryParser] = {}


def _parser(group) -> QueryParser:
    parser = _parsers.get(group.__name__)
    if parser is None:
        plugins = [
            FieldsPlugin(remove_unknown=True),
            PhrasePlugin(),
            GroupPlugin(),
            OperatorsPlugin(),
            PlusMinusPlugin(),
            BoostPlugin(),
        ]
        parser = QueryParser(_ANY, _parse_schema(), plugins=plugins, phraseclass=_QuotedPhrase, group=group)
        _parsers[group.__name__] = parser
    return parser


@dataclass(frozen=True)
class ParsedQuery:
    """A query ready to run, and what to highlight for it."""

    text: str
    query: wq.Query
    words: frozenset[str]  # terms to mark in title and body
    phrases: tuple[str, ...]  # folded phrase texts to mark as a whole


def clean(text: str) -> str:
    """The query text as parsed: control characters out, quotes and full-width forms folded."""
    text = _CONTROL.sub(" ", text or "")
    text, _ = fold(text.translate(_QUOTES))
    return " ".join(text.split())


def parse(text: str, ranking: Ranking = RANKING) -> ParsedQuery:
    """Parse what a reader typed.

    :raises QueryError: for an empty or over-long query
    """
    if text is not None and len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"query is too long ({len(text)} characters; at most {MAX_QUERY_LENGTH})")
    cleaned = clean(text)
    if not cleaned:
        raise QueryError("empty query: type one or more words")
    try:
        strict = _rewrite(_parser(AndGroup).parse(cleaned), cleaned, ranking)
        loose = _rewrite(_parser(OrGroup).parse(cleaned), cleaned, ranking)
    except Exception:  # noqa: BLE001 - any parser failure falls back to plain words
        strict = loose = None
    if loose is None or _is_empty(loose):
        # Whatever the syntax meant, search the words that are there.
        plain = re.sub(r'[():"^*+\-]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b', " ", cleaned)
        strict = _rewrite(_parser(AndGroup).parse(plain), plain, ranking) if plain.strip() else None
        loose = _rewrite(_parser(OrGroup).parse(plain), plain, ranking) if plain.strip() else None
        if loose is None or _is_empty(loose):
            raise QueryError("the query holds no searchable words")
    if strict is None or _is_empty(strict) or strict == loose:
        final = loose
    else:
        final = wq.Or([strict.with_boost(strict.boost * ranking.all_words_boost), loose])
    words, phrases = _highlight_terms(loose)
    return ParsedQuery(cleaned, final, frozenset(words), tuple(phrases))


def _is_empty(q: wq.Query) -> bool:
    return q is wq.NullQuery or isinstance(q, type(wq.NullQuery)) or (not q.is_leaf() and not list(q.children()))


def _term(fieldname: str, text: str, boost: float, ranking: Ranking) -> wq.Query:
    if fieldname != _ANY:
        return wq.Term(fieldname, text, boost=boost)
    return wq.Or(
        [wq.Term(fields.TITLE, text, boost=boost * ranking.title_boost), wq.Term(fields.BODY, text, boost=boost)]
    )


def _phrase(q: _QuotedPhrase, source: str, ranking: Ranking) -> wq.Query:
    ranges = [r for r in (q.char_ranges or []) if r[0] is not None]
    phrase_text = source[ranges[0][0] : ranges[-1][1]] if ranges else "".join(q.words)
    words = list(q.words)
    if not words:
        return wq.NullQuery
    if q.fieldname != _ANY:
        if len(words) == 1:
            return wq.Term(q.fieldname, words[0], boost=q.boost)
        return wq.Phrase(q.fieldname, words, slop=q.slop, boost=q.boost)
    options: list[wq.Query] = []
    grams = [seg.text for seg in bigrams(phrase_text)]
    if grams:
        options.append(_GramPhrase(grams, phrase_text.strip(), boost=q.boost))
    if len(words) == 1:
        options.append(_term(_ANY, words[0], q.boost, ranking))
    else:
        options.append(wq.Phrase(fields.TITLE, words, boost=q.boost * ranking.title_boost))
        options.append(wq.Phrase(fields.BODY, words, boost=q.boost))
    return wq.Or(options)


def _rewrite(q: wq.Query, source: str, ranking: Ranking) -> wq.Query:
    """Expand the parse tree onto the index's fields; lift NOT out of OR."""
    if isinstance(q, _QuotedPhrase):
        return _phrase(q, source, ranking)
    if isinstance(q, wq.Term):
        return _term(q.fieldname, q.text, q.boost, ranking)
    if isinstance(q, wq.Not):
        inner = _rewrite(q.query, source, ranking)
        return wq.NullQuery if _is_empty(inner) else wq.Not(inner)
    if isinstance(q, (wq.And, wq.Or)):
        kids = [_rewrite(child, source, ranking) for child in q.subqueries]
        kids = [k for k in kids if not _is_empty(k)]
        positive = [k for k in kids if not isinstance(k, wq.Not)]
        negative = [k.query for k in kids if isinstance(k, wq.Not)]
        if not positive:
            return wq.NullQuery
        combined = positive[0] if len(positive) == 1 else q.__class__(positive, boost=q.boost)
        if negative:
            combined = wq.AndNot(combined, negative[0] if len(negative) == 1 else wq.Or(negative))
        return combined
    if isinstance(q, wq.AndNot):
        positive = _rewrite(q.a, source, ranking)
        negative = _rewrite(q.b, source, ranking)
        return positive if _is_empty(negative) else wq.AndNot(positive, negative)
    if isinstance(q, (wq.AndMaybe, wq.Require)):
        return q.__class__(_rewrite(q.a, source, ranking), _rewrite(q.b, source, ranking))
    if isinstance(q, wq.Phrase):
        return wq.Phrase(q.fieldname, q.words, slop=q.slop, boost=q.boost)
    if isinstance(q, (type(wq.NullQuery), wq.Every)):
        return wq.NullQuery
    return q


def _highlight_terms(q: wq.Query) -> tuple[set[str], list[str]]:
    words: set[str] = set()
    phrases: list[str] = []

    def walk(node, negated=False):
        if negated:
            return
        if isinstance(node, wq.AndNot):
            walk(node.a)
            return
        if isinstance(node, wq.Not):
            return
        if isinstance(node, _GramPhrase):
            if node.phrase_text not in phrases:
                phrases.append(node.phrase_text)
            return
        if isinstance(node, (wq.Phrase, wq.Term)):
            if node.fieldname in fields.QUERYABLE:
                words.update(node.words if isinstance(node, wq.Phrase) else [node.text])
            return
        for child in node.children():
            walk(child)

    walk(q)
    return words, phrases
