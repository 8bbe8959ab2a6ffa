"""Pages and JSON: ``/``, ``/search``, ``/article/<id>``, ``/api/search``, ``/api/suggest``,
``/api/article/<id>``, ``/healthz``.

Each view is one library call plus parameter checking and rendering. Request parameters are
checked here, before the library sees them, so that a bad one gets a 400 naming the parameter (in
Chinese on pages, in English in JSON); errors are HTML on pages and JSON on ``/api/`` and
``/healthz`` or when the client prefers JSON. Only the highlighter's output (``Hit.title_html``,
``Hit.snippet``, :meth:`NewsIndex.highlight`), which is :class:`markupsafe.Markup` built with
everything escaped, reaches a template unescaped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from search import IndexNotFound, NewsIndex, QueryError, SearchError, timeline
from search.query import MAX_QUERY_LENGTH, QUOTE_MARKS
from search.searcher import MAX_PAGE, SORTS, to_datetime

log = logging.getLogger(__name__)

bp = Blueprint("web", __name__)

#: Longest source name or article id accepted in a URL.
MAX_NAME_LENGTH = 200
#: Source values shown before "more" in the filter list.
SOURCES_SHOWN = 8
#: Suggestions offered while typing, at most.
SUGGESTIONS = 8
#: Related articles on an article page.
RELATED = 5
#: Words of a query that found nothing tried one at a time as suggestions.
SUGGESTED_WORDS = 8


class BadParameter(Exception):
    """A request parameter that cannot be used: a 400 naming it."""

    def __init__(self, param: str, chinese: str, english: str):
        super().__init__(english)
        self.param, self.chinese, self.english = param, chinese, english


def get_index() -> NewsIndex:
    """The app's one :class:`NewsIndex` (opened at its first search, reopened after a rebuild)."""
    return current_app.extensions["news_search"]


# Parameters -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchParams:
    """A checked search request."""

    q: str
    page: int = 1
    per_page: int = 10
    sort: str = "relevance"
    date_from: str = ""
    date_to: str = ""
    source: str = ""
    region: str = ""
    collapse: bool = True

    @property
    def filtered(self) -> bool:
        return bool(self.source or self.date_from or self.date_to or self.region)

    def args(self, **changes) -> dict:
        """URL parameters for this request with ``changes``, leaving out defaults (a changed query or
        filter goes back to page 1 unless ``page`` is given)."""
        if any(key != "page" for key in changes) and "page" not in changes:
            changes["page"] = 1
        params = replace(self, **changes)
        args = {
            "q": params.q,
            "page": params.page if params.page != 1 else None,
            "per_page": params.per_page if params.per_page != current_app.config["PER_PAGE"] else None,
            "sort": params.sort if params.sort != "relevance" else None,
            "from": params.date_from or None,
            "to": params.date_to or None,
            "source": params.source or None,
            "region": params.region or None,
            "collapse": None if params.collapse else "0",
        }
        return {key: value for key, value in args.items() if value not in (None, "")}

    def search(self, **options):
        return get_index().search(
            self.q,
            page=self.page,
            per_page=self.per_page,
            sort=self.sort,
            date_from=self.date_from or None,
            date_to=self.date_to or None,
            source=self.source or None,
            region=self.region or None,
            collapse=self.collapse,
            **options,
        )


def _whole_number(args, name: str, default: int, highest: int) -> int:
    text = args.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= highest:
        raise BadParameter(
            name,
            f"参数 {name} 应为 1 到 {highest} 之间的整数，收到的是“{text[:20]}”",
            f"{name} must be a whole number from 1 to {highest}, got {text[:20]!r}",
        )
    return int(text)


def _day(args, name: str) -> str:
    """A ``YYYY-MM-DD`` date parameter, or ``""`` when absent."""
    text = args.get(name, "").strip()
    if not text:
        return ""
    if len(text) == 10:
        try:
            to_datetime(text)
            return text
        except QueryError:
            pass
    raise BadParameter(
        name,
        f"日期“{text[:20]}”无法识别，请用 YYYY-MM-DD 格式，例如 2020-06-20",
        f"{name} is not a date: {text[:20]!r} (use YYYY-MM-DD)",
    )


def search_params(args) -> SearchParams:
    """Check the parameters of a search request.

    :raises BadParameter: for a missing or over-long query, a bad page, per_page, sort, date or source
    """
    q = args.get("q", "").strip()
    if not q:
        raise BadParameter("q", "请输入要搜索的词", "q is required: the words to search for")
    if len(q) > MAX_QUERY_LENGTH:
        raise BadParameter(
            "q",
            f"搜索词太长了（{len(q)} 个字符），请控制在 {MAX_QUERY_LENGTH} 个字符以内",
            f"q is too long ({len(q)} characters; at most {MAX_QUERY_LENGTH})",
        )
    sort = args.get("sort", "").strip() or "relevance"
    if sort not in SORTS:
        raise BadParameter(
            "sort", "排序方式只能是 relevance（相关度）或 date（时间）", f"sort must be one of: {', '.join(SORTS)}"
        )
    date_from, date_to = _day(args, "from"), _day(args, "to")
    if date_from and date_to and date_from > date_to:
        raise BadParameter("from", "开始日期晚于结束日期", "from is after to")
    source = args.get("source", "").strip()
    if len(source) > MAX_NAME_LENGTH:
        raise BadParameter("source", "来源名称太长", f"source is too long (at most {MAX_NAME_LENGTH} characters)")
    region = args.get("region", "").strip()
    if len(region) > MAX_NAME_LENGTH:
        raise BadParameter("region", "地区名称太长", f"region is too long (at most {MAX_NAME_LENGTH} characters)")
    collapse = args.get("collapse", "").strip().lower()
    if collapse not in ("", "1", "true", "yes", "0", "false", "no"):
        raise BadParameter("collapse", "参数 collapse 只能是 1 或 0", "collapse must be 1 (true) or 0 (false)")
    config = current_app.config
    return SearchParams(
        q=q,
        page=_whole_number(args, "page", 1, MAX_PAGE),
        per_page=_whole_number(args, "per_page", config["PER_PAGE"], config["MAX_PER_PAGE"]),
        sort=sort,
        date_from=date_from,
        date_to=date_to,
        source=source,
        region=region,
        collapse=collapse not in ("0", "false", "no"),
    )


# Pages ----------------------------------------------------------------------------------------------


@bp.get("/")
def home():
    return render_template("index.html", overview=get_index().overview())


@bp.get("/search")
def search():
    if not request.args.get("q", "").strip():
        return redirect(url_for(".home"))
    params = search_params(request.args)
    result = params.search(facets=True)
    suggestions = _suggestions(params, result.did_you_mean) if result.total == 0 else []
    chart = timeline.build(result.facets.get("month", ()), params.date_from or None, params.date_to or None)
    return render_template(
        "search.html",
        params=params,
        result=result,
        suggestions=suggestions,
        pages=_page_numbers(result.page, min(result.pages, MAX_PAGE)),
        sources_shown=SOURCES_SHOWN,
        chart=chart,
        copies_shown=any(hit.copies for hit in result.hits),
    )


@bp.get("/article/<path:article_id>")
def article(article_id: str):
    stored = get_index().article(article_id) if len(article_id) <= MAX_NAME_LENGTH else None
    if stored is None:
        return _error(404, "没有找到这篇文章", "no article with this id", param="id")
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
    limit = _whole_number(request.args, "limit", SUGGESTIONS, 20)
    response = jsonify(get_index().suggest(q, limit=limit) if q.strip() else [])
    # The same prefix is asked again and again while typing; the answer changes only with a rebuild.
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/api/article/<path:article_id>")
def api_article(article_id: str):
    """One article as JSON, with its regions, its copies and up to five related articles."""
    stored = get_index().article(article_id) if len(article_id) <= MAX_NAME_LENGTH else None
    if stored is None:
        return _error(404, "没有找到这篇文章", "no article with this id", param="id")
    data = stored.to_dict()
    data["related"] = [hit.to_dict() for hit in get_index().related(stored.id, limit=RELATED)]
    return jsonify(data)


@bp.get("/healthz")
def healthz():
    info = get_index().info
    return jsonify(status="ok", documents=info["documents"], built_at=info["built_at"], generation=info["generation"])


# Helpers --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Suggestion:
    """Another query worth trying when one found nothing."""

    label: str
    args: dict
    total: int
    #: The query with a typo corrected ("did you mean").
    spelling: bool = False


def _suggestions(params: SearchParams, did_you_mean: str | None = None, most: int = 4) -> list[Suggestion]:
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


def _page_numbers(current: int, last: int, around: int = 2) -> list[int | None]:
    """Page links to show: the first, the last and a few around the current one; ``None`` for a gap."""
    shown = {1, last} | set(range(max(1, current - around), min(last, current + around) + 1))
    numbers: list[int | None] = []
    for number in sorted(shown):
        if numbers and number - numbers[-1] > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def link_url(url: str) -> str | None:
    """``url`` if it is an absolute http(s) address that is safe to link to, else ``None``."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return parts.geturl()


def short_date(value: datetime | None) -> str:
    if value is None or value == datetime.min:
        return ""
    return value.strftime("%Y-%m-%d" if value.time() == datetime.min.time() else "%Y-%m-%d %H:%M")


def long_date(value: datetime | None) -> str:
    if value is None or value == datetime.min:
        return ""
    text = f"{value.year}年{value.month}月{value.day}日"
    return text if value.time() == datetime.min.time() else f"{text} {value:%H:%M}"


#: China Standard Time (no daylight saving): when the index was built, as readers count time.
CHINA_TIME = timezone(timedelta(hours=8))


def local_time(iso: str | None) -> str:
    """An ISO 8601 timestamp (``2020-06-20T01:53:00+00:00``) as ``2020-06-20 09:53`` China time."""
    if not iso:
        return ""
    try:
        value = datetime.fromisoformat(iso)
    except ValueError:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(CHINA_TIME)
    return value.strftime("%Y-%m-%d %H:%M")


# Errors ---------------------------------------------------------------------------------------------


def _wants_json() -> bool:
    if request.path.startswith("/api/") or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _error(status: int, chinese: str, english: str, param: str | None = None, detail: str = ""):
    if _wants_json():
        body = {"error": english, "status": status}
        if param:
            body["param"] = param
        return jsonify(body), status
    params = None
    if request.endpoint == "web.search":
        q = request.args.get("q", "").strip()[:MAX_QUERY_LENGTH]
        params = SearchParams(q=q, per_page=current_app.config["PER_PAGE"])
    page = render_template("error.html", status=status, message=chinese, detail=detail, params=params, param=param)
    return page, status


_HTTP_MESSAGES = {
    404: "页面不存在",
    405: "不支持这种请求方式",
    500: "服务器出了点问题，请稍后再试",
}


def install(app: Flask) -> None:
    """Error handlers, template helpers and response headers."""

    @app.errorhandler(BadParameter)
    def bad_parameter(error: BadParameter):
        return _error(400, error.chinese, error.english, param=error.param)

    @app.errorhandler(QueryError)
    def bad_query(error: QueryError):
        return _error(400, "这个查询无法执行", str(error), param="q", detail=str(error))

    @app.errorhandler(IndexNotFound)
    def no_index(error: IndexNotFound):
        log.error("%s", error)
        return _error(503, "索引尚未建立，请稍后再试", "the index is not built yet", detail="news-search index rebuild")

    @app.errorhandler(SearchError)
    def search_error(error: SearchError):
        log.error("%s", error)
        return _error(503, "搜索暂时不可用，请稍后再试", str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        return _error(status, _HTTP_MESSAGES.get(status, error.name), error.description or error.name)

    app.add_template_global(link_url)
    app.add_template_filter(short_date)
    app.add_template_filter(long_date)
    app.add_template_filter(local_time)

    @app.context_processor
    def site():
        return {"site_name": app.config["SITE_NAME"], "tagline": app.config["TAGLINE"]}

    @app.after_request
    def headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


__all__ = ["BadParameter", "SearchParams", "bp", "get_index", "install", "link_url", "search_params"]
