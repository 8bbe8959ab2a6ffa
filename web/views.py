"""Pages and JSON: ``/``, ``/search``, ``/search/<facet>`` (every value of a facet),
``/article/<id>``, ``/api/search``, ``/api/suggest``, ``/api/article/<id>``, ``/healthz``.

Each view is one library call plus parameter checking and rendering. Only the highlighter's output
(``Hit.title_html``, ``Hit.snippet``, :meth:`NewsIndex.highlight`), which is
:class:`markupsafe.Markup` built with everything escaped, reaches a template unescaped.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import NotFound

from search import NewsIndex, StoredArticle, timeline
from search.query import MAX_QUERY_LENGTH
from search.searcher import MAX_PAGE
from search.timelimit import Budget

from .errors import ArticleNotFound
from .filters import page_numbers
from .params import MAX_NAME_LENGTH, BadParameter, get_index, search_params, whole_number
from .suggestions import other_queries

bp = Blueprint("web", __name__)

#: Source, region and year values shown on a results page; the rest are on the facet's own page.
FACETS_SHOWN = 10
#: The facets with a page of their own (``/search/<name>``), and their headings.
FACET_PAGES = {"source": "来源", "region": "地区", "year": "年份"}
#: Suggestions offered while typing, at most.
SUGGESTIONS = 8
#: Related articles on an article page.
RELATED = 5


def _article(article_id: str) -> StoredArticle:
    """The stored article with this id.

    :raises ArticleNotFound: for an unknown or over-long id
    """
    stored = get_index().article(article_id) if len(article_id) <= MAX_NAME_LENGTH else None
    if stored is None:
        raise ArticleNotFound(article_id)
    return stored


# Pages ----------------------------------------------------------------------------------------------


@bp.get("/")
def home():
    return render_template("index.html", overview=get_index().overview())


@bp.get("/search")
def search():
    if not request.args.get("q", "").strip():
        return redirect(url_for(".home"))
    params = search_params(request.args)
    # One time budget for everything this page searches: the results, then what to offer instead.
    with Budget(get_index().time_limit) as budget:
        result = params.search(facets=True, budget=budget)
        suggestions = other_queries(params, result.did_you_mean, budget) if result.total == 0 else []
    chart = timeline.build(result.facets.get("month", ()), params.date_from or None, params.date_to or None)
    return render_template(
        "search.html",
        params=params,
        result=result,
        suggestions=suggestions,
        pages=page_numbers(result.page, _last_page(result)),
        facets_shown=FACETS_SHOWN,
        chart=chart,
        copies_shown=any(hit.copies for hit in result.hits),
    )


@bp.get("/search/<name>")
def facet(name: str):
    """Every value of one facet of a search, with its count: what "more" on a results page opens
    (the results page shows the first :data:`FACETS_SHOWN`)."""
    if name not in FACET_PAGES:
        raise NotFound()
    if not request.args.get("q", "").strip():
        return redirect(url_for(".home"))
    params = search_params(request.args)
    # The results page's own search (the same page of hits), so that it is usually cached.
    result = params.search(facets=True, budget=Budget(get_index().time_limit))
    return render_template("facet.html", params=params, result=result, name=name, title=FACET_PAGES[name])


def _last_page(result) -> int:
    """The last page to link to: the last page of hits, or, when the total is an estimate (which
    may count more than there are), two pages past the current one at most."""
    last = min(result.pages, MAX_PAGE)
    return last if result.total_exact else min(last, result.page + 2)


@bp.get("/article/<path:article_id>")
def article(article_id: str):
    stored = _article(article_id)
    try:
        params = search_params(request.args)
    except BadParameter:
        params = None  # the article still shows, unhighlighted, with a way home
    query = params.q if params else ""
    title = NewsIndex.highlight(stored.title, query) if query else stored.title
    body = NewsIndex.highlight(stored.body, query) if query else Markup.escape(stored.body)
    # Marks never span a line break (they cover words and phrases), so splitting keeps them whole.
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    related = get_index().related(stored.id, limit=RELATED)
    return render_template(
        "article.html", article=stored, title=title, paragraphs=paragraphs, params=params, related=related
    )


# JSON -----------------------------------------------------------------------------------------------


@bp.get("/api/search")
def api_search():
    """The same JSON as ``news-search search --json``, facets included (the timeline is drawn from
    the ``month`` facet; there is no ``timeline`` key)."""
    result = search_params(request.args).search(facets=True)
    return jsonify(result.to_dict())


@bp.get("/api/suggest")
def api_suggest():
    """Completions of what is being typed in the search box: a JSON list of strings."""
    q = request.args.get("q", "")
    if len(q) > MAX_QUERY_LENGTH:
        raise BadParameter("q", "搜索词太长了", f"q is too long (at most {MAX_QUERY_LENGTH} characters)")
    limit = whole_number(request.args, "limit", SUGGESTIONS, 20)
    response = jsonify(get_index().suggest(q, limit=limit) if q.strip() else [])
    # The same prefix is asked again and again while typing; the answer changes only with a rebuild.
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/api/article/<path:article_id>")
def api_article(article_id: str):
    """One article as JSON, with its regions, its copies and up to five related articles."""
    stored = _article(article_id)
    data = stored.to_dict()
    data["related"] = [hit.to_dict() for hit in get_index().related(stored.id, limit=RELATED)]
    return jsonify(data)


@bp.get("/healthz")
def healthz():
    health = get_index().health()
    return jsonify({key: health[key] for key in ("status", "documents", "built_at", "generation", "shards")})


__all__ = ["bp"]
