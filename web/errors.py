"""Error responses: HTML on pages, JSON on ``/api/`` and ``/healthz`` or when the client prefers
JSON. A bad parameter or query is a 400 naming it, an unknown article or page a 404, a missing index
or another library error a 503, any other HTTP error its own status."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from search import IndexNotFound, IndexOutdated, QueryError, SearchError
from search.query import MAX_QUERY_LENGTH

from .params import BadParameter, SearchParams

log = logging.getLogger(__name__)

_HTTP_MESSAGES = {
    404: "页面不存在",
    405: "不支持这种请求方式",
    500: "服务器出了点问题，请稍后再试",
}


class ArticleNotFound(Exception):
    """No article with the id in the URL: a 404."""


def _wants_json() -> bool:
    if request.path.startswith("/api/") or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _error(status: int, chinese: str, english: str, param: str | None = None, detail: str = ""):
    """The response: ``{"error": english, "status": ..., "param": ...}`` in JSON, else the error
    page with the Chinese message (and, on a search, the query back in the search box)."""
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


def install(app: Flask) -> None:
    """The error handlers: what the views raise, what the library raises, and HTTP errors."""

    @app.errorhandler(BadParameter)
    def bad_parameter(error: BadParameter):
        return _error(400, error.chinese, error.english, param=error.param)

    @app.errorhandler(ArticleNotFound)
    def no_article(error: ArticleNotFound):
        return _error(404, "没有找到这篇文章", "no article with this id", param="id")

    @app.errorhandler(QueryError)
    def bad_query(error: QueryError):
        return _error(400, "这个查询无法执行", str(error), param="q", detail=str(error))

    @app.errorhandler(IndexOutdated)
    def outdated_index(error: IndexOutdated):
        log.error("%s", error)
        return _error(
            503,
            "索引需要重建，请稍后再试",
            "the index was written by an older version: rebuild needed",
            detail=error.reason,
        )

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
        response = _error(status, _HTTP_MESSAGES.get(status, error.name), error.description or error.name)
        # A 405 says which methods the URL takes (RFC 9110), as Werkzeug's own response would.
        allowed = [value for name, value in error.get_headers() if name == "Allow"]
        if allowed:
            response = app.make_response(response)
            response.headers["Allow"] = allowed[0]
        return response


__all__ = ["ArticleNotFound", "install"]
