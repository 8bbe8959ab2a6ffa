"""From what a reader types to a Whoosh query.

The syntax is Whoosh's, trimmed to what a news search box needs: words, "quoted phrases" (also with
Chinese quotes “…” and 「…」), AND / OR / NOT, ``-word``, ``+word``, parentheses, ``title:`` /
``body:`` / ``source:`` and ``word^2``. Anything the parser cannot make sense of falls back to plain
words, so every input gives a query or a clear :class:`~search.errors.QueryError`.

Unfielded words search title and body together and are ranked by :mod:`search.scoring`: BM25F
over both fields, coordination (articles holding every content word first, then those holding the
rarest ones), and for a question asking *when* (时间, 什么时候), articles stating a date first.
Function and question words (的, 是, 哪些, 多少: ``search/data/minorwords.txt``) are *minor*: never
required, and by default not scored. A quoted phrase matches where its characters stand side by
side (through the character-bigram field) or where its words do.

:class:`search.scoring.Ranking` holds every knob of ranking; docs/ranking.md gives what each one
does to the evaluation sets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

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
from whoosh.qparser.syntax import OrGroup

from . import schema as fields
from .analysis import DATA_DIR, ChineseAnalyzer, bigrams, fold, pieces, segment
from .errors import QueryError
from .scoring import RANKING, Excluding, Phrase, Ranked, Ranking, Word

#: Longest query accepted, in characters.
MAX_QUERY_LENGTH = 500
#: Most distinct quoted phrases and fielded words (``title:...``) one query may hold: each is
#: matched on its own, position by position, and a few dozen of common words would take seconds.
MAX_CLAUSES = 16

# The field that unfielded words are parsed into; it exists only in the parsing schema.
_ANY = "text"

#: The list of minor words in ``search/data/``.
MINOR_WORDS = "minorwords.txt"

#: Every character the parser reads as a quotation mark.
QUOTE_MARKS = '"“”「」『』＂„'
_QUOTES = str.maketrans({mark: '"' for mark in QUOTE_MARKS})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")




class _QuotedPhrase(wq.Phrase):
    """What the parser makes of "..."; rewritten by :func:`_rewrite`. Never normalised into a Term."""

    def normalize(self):
        return self


class _GramPhrase(Phrase):
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


class _Chunk(wq.Or):
    """The words jieba cut one chunk of query text into (the parser's "multitoken" query)."""


class _Parser(QueryParser):
    def multitoken_query(self, spec, texts, fieldname, termclass, boost):
        return _Chunk([termclass(fieldname, text) for text in texts], boost=boost)


_parsers: list[QueryParser] = []


def _parser() -> QueryParser:
    if not _parsers:
        plugins = [
            FieldsPlugin(remove_unknown=True),
            PhrasePlugin(),
            GroupPlugin(),
            OperatorsPlugin(),
            # + and - are operators only at the start of a word: 2021-2022 and C++ are words.
            PlusMinusPlugin(plusexpr=r"(?:^|(?<=[\s(]))\+(?=\S)", minusexpr=r"(?:^|(?<=[\s(]))-(?=\S)"),
            BoostPlugin(),
        ]
        _parsers.append(_Parser(_ANY, _parse_schema(), plugins=plugins, phraseclass=_QuotedPhrase, group=OrGroup))
    return _parsers[0]


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
        tree = _parser().parse(cleaned, normalize=False)
    except Exception:  # noqa: BLE001 - any parser failure falls back to plain words
        tree = None
    costly = _costly_clauses(tree) if tree is not None else 0
    if costly > MAX_CLAUSES:
        raise QueryError(f"too many phrases or fielded words ({costly}; at most {MAX_CLAUSES})")
    try:
        final = _build(tree, cleaned, ranking) if tree is not None else None
    except Exception:  # noqa: BLE001 - any failure falls back to plain words
        final = None
    if final is None or _is_empty(final):
        # Whatever the syntax meant, search the words that are there.
        plain = re.sub(r'[():"^*+\-]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b', " ", cleaned)
        final = _build(_parser().parse(plain, normalize=False), plain, ranking) if plain.strip() else None
        if final is None or _is_empty(final):
            raise QueryError("the query holds no searchable words")
    words, phrases = _highlight_terms(final)
    return ParsedQuery(cleaned, final, frozenset(words), tuple(phrases))


@cache
def minor_words() -> frozenset[str]:
    """Function and question words (``search/data/minorwords.txt``)."""
    words: set[str] = set()
    with open(DATA_DIR / MINOR_WORDS, encoding="utf-8") as handle:
        for line in handle:
            words.update(line.split("#", 1)[0].split())
    return frozenset(words)


def _build(parsed: wq.Query, source: str, ranking: Ranking) -> wq.Query:
    # Words that are all minor (a query of only 什么 是) are searched as content words.
    unfielded = _unfielded_words(parsed)
    minor = minor_words() if ranking.minor_words else frozenset()
    if unfielded and all(word in minor for word in unfielded):
        minor = frozenset()
    return _rewrite(parsed, source, ranking, minor)


def _unfielded_words(q: wq.Query) -> list[str]:
    if isinstance(q, wq.Not):
        return []
    if isinstance(q, wq.Term) and not isinstance(q, _QuotedPhrase):
        return [q.text] if q.fieldname == _ANY else []
    if isinstance(q, wq.AndNot):
        return _unfielded_words(q.a)
    if q.is_leaf():
        return []
    return [word for child in q.children() for word in _unfielded_words(child)]


def _costly_clauses(q: wq.Query) -> int:
    """How many distinct quoted phrases and fielded words the parse tree holds."""
    seen: set[tuple] = set()

    def walk(node):
        if isinstance(node, _QuotedPhrase) or (isinstance(node, wq.Phrase) and node.fieldname != _ANY):
            seen.add(("phrase", node.fieldname, tuple(node.words)))
        elif isinstance(node, wq.Term):
            if node.fieldname != _ANY:
                seen.add(("term", node.fieldname, node.text))
        elif not node.is_leaf():
            for child in node.children():
                walk(child)

    walk(q)
    return len(seen)


def _merged(clauses: list[wq.Query]) -> list[wq.Query]:
    """``clauses`` with identical ones (the same phrase twice) made one, their boosts added up.

    Words are left as they are: :class:`search.scoring.Ranked` adds repeated words up itself.
    """
    merged: list[wq.Query] = []
    at: dict[wq.Query, int] = {}
    for clause in clauses:
        try:
            key = None if isinstance(clause, Word) else clause.with_boost(1.0)
            index = at.get(key) if key is not None else None
        except TypeError:  # a query that cannot be hashed is kept as it is
            key = index = None
        if index is None:
            if key is not None:
                at[key] = len(merged)
            merged.append(clause)
        else:
            merged[index] = merged[index].with_boost(merged[index].boost + clause.boost)
    return merged


def _is_empty(q: wq.Query) -> bool:
    return q is wq.NullQuery or isinstance(q, type(wq.NullQuery)) or (not q.is_leaf() and not list(q.children()))


def _term(
    fieldname: str, text: str, boost: float, ranking: Ranking, minor: frozenset[str] = frozenset(), exact: bool = False
) -> wq.Query:
    if fieldname != _ANY:
        return wq.Term(fieldname, text, boost=boost)
    if text in minor:
        return Word(text, ranking, boost=boost, minor=True)
    if exact:  # a quoted word: the word itself, not the words inside it
        return Word(text, ranking, boost=boost)
    return Word(text, ranking, boost=boost, pieces=pieces(text))


def _phrase(q: _QuotedPhrase, source: str, ranking: Ranking) -> wq.Query:
    ranges = [r for r in (q.char_ranges or []) if r[0] is not None]
    phrase_text = source[ranges[0][0] : ranges[-1][1]] if ranges else "".join(q.words)
    words = list(q.words)
    if not words:
        return wq.NullQuery
    if q.fieldname != _ANY:
        if len(words) == 1:
            return wq.Term(q.fieldname, words[0], boost=q.boost)
        return Phrase(q.fieldname, words, slop=q.slop, boost=q.boost)
    options: list[wq.Query] = []
    grams = [seg.text for seg in bigrams(phrase_text)]
    if grams:
        options.append(_GramPhrase(grams, phrase_text.strip(), boost=q.boost))
    if len(words) == 1:
        options.append(_term(_ANY, words[0], q.boost, ranking, exact=True))
    else:
        options.append(Phrase(fields.TITLE, words, boost=q.boost * ranking.phrase_title_boost))
        options.append(Phrase(fields.BODY, words, boost=q.boost))
    return wq.Or(options)


def _rewrite(q: wq.Query, source: str, ranking: Ranking, minor: frozenset[str]) -> wq.Query:
    """Expand the parse tree onto the index's fields; lift NOT out of OR.

    Words of one chunk of text (jieba's cut of 重庆轨道交通) join the group around them, so that
    ``重庆轨道交通`` and ``重庆 轨道交通`` rank alike; each OR group becomes a :class:`Ranked` query.
    """
    if isinstance(q, _QuotedPhrase):
        return _phrase(q, source, ranking)
    if isinstance(q, wq.Term):
        return _term(q.fieldname, q.text, q.boost, ranking, minor)
    if isinstance(q, wq.Not):
        inner = _rewrite(q.query, source, ranking, minor)
        return wq.NullQuery if _is_empty(inner) else wq.Not(inner)
    if isinstance(q, (wq.And, wq.Or)):
        kids: list[wq.Query] = []
        for child in q.subqueries:
            if isinstance(child, _Chunk) and isinstance(q, wq.Or) and child.boost == 1.0:
                kids.extend(_rewrite(grandchild, source, ranking, minor) for grandchild in child.subqueries)
            else:
                kids.append(_rewrite(child, source, ranking, minor))
        kids = [k for k in kids if not _is_empty(k)]
        positive = _merged([k for k in kids if not isinstance(k, wq.Not)])
        negative = _merged([k.query for k in kids if isinstance(k, wq.Not)])
        if not positive:
            return wq.NullQuery
        if len(positive) == 1:
            combined = positive[0] if q.boost == 1.0 else positive[0].with_boost(positive[0].boost * q.boost)
        elif isinstance(q, wq.Or):
            combined = Ranked(positive, ranking, boost=q.boost, wants=_wants(positive))
        else:
            combined = wq.And(positive, boost=q.boost)
        if negative:
            combined = Excluding(combined, negative[0] if len(negative) == 1 else wq.Or(negative))
        return combined
    if isinstance(q, wq.AndNot):
        positive = _rewrite(q.a, source, ranking, minor)
        negative = _rewrite(q.b, source, ranking, minor)
        return positive if _is_empty(negative) else Excluding(positive, negative)
    if isinstance(q, (wq.AndMaybe, wq.Require)):
        return q.__class__(_rewrite(q.a, source, ranking, minor), _rewrite(q.b, source, ranking, minor))
    if isinstance(q, wq.Phrase):
        return Phrase(q.fieldname, q.words, slop=q.slop, boost=q.boost)
    if isinstance(q, (type(wq.NullQuery), wq.Every)):
        return wq.NullQuery
    return q


#: Words that make a question ask for a date.
WHEN_WORDS = frozenset(["时间", "何时", "时候", "日期", "哪天", "哪一天", "哪年", "几月", "几号", "几时", "何年"])


def _wants(clauses: list[wq.Query]) -> str | None:
    """The kind of answer the query asks for, judged from its words (and the words inside them)."""
    for clause in clauses:
        if isinstance(clause, Word) and not clause.minor:
            inside = {seg.text for seg in segment(clause.text)}  # 日期 in 发售日期
            if WHEN_WORDS.intersection(inside):
                return "date"
        elif isinstance(clause, Word) and clause.text in WHEN_WORDS:
            return "date"
    return None


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
        if isinstance(node, Word) and node.minor:
            return
        if isinstance(node, (wq.Phrase, wq.Term)):
            if node.fieldname in fields.QUERYABLE:
                words.update(node.words if isinstance(node, wq.Phrase) else [node.text])
            return
        for child in node.children():
            walk(child)

    walk(q)
    return words, phrases
