"""The web front end: a search box, ranked and highlighted results, filters and article pages.

``create_app(config=None)`` builds the Flask app (``flask --app web run`` finds it). Settings come
from defaults, then ``NEWS_SEARCH_*`` environment variables (``NEWS_SEARCH_INDEX=/srv/index``), then
the ``config`` mapping given by the caller (the ``news-search serve`` command or a test).

Nothing is opened at import time or in ``create_app``: the app holds one :class:`search.NewsIndex`
per process, which opens the index at the first request, keeps one Whoosh searcher per thread
and notices a rebuilt index at the next search, so a running server serves a new index without a
restart.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from search import NewsIndex
from search.generations import DEFAULT_INDEX
from search.searcher import CACHE_SIZE, MAX_PER_PAGE
from search.timelimit import TIME_LIMIT

#: Settings and their defaults; each can be set as ``NEWS_SEARCH_<NAME>`` in the environment.
DEFAULTS = {
    # The index directory (as written by `news-search index rebuild`).
    "INDEX": DEFAULT_INDEX,
    # Hits per page by default, and the most a request may ask for.
    "PER_PAGE": 10,
    "MAX_PER_PAGE": 50,
    # The name shown in the header and page titles.
    "SITE_NAME": "渝闻搜索",
    "TAGLINE": "重庆新闻全文检索",
    # Queries offered on the front page.
    "EXAMPLES": ["一区两群", "成渝地区双城经济圈", "轨道交通", "长江禁捕", "火锅"],
    # Seconds a search may run before it stops with the results found so far (flagged partial);
    # 0 or null: no limit.
    "TIME_LIMIT": TIME_LIMIT,
    # Pages of results each process keeps for repeated searches (0: none).
    "PAGE_CACHE": CACHE_SIZE,
    # The Ray cluster (host:port of its head) whose actors search the shards; null: this process
    # searches them. With it, the actors serving each shard.
    "CLUSTER": None,
    "REPLICAS": 1,
}


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON with ``<``, ``>`` and ``&`` written as ``\\u`` escapes: the same data for any
    JSON reader, but nothing in it that a browser, or a page that embeds it, could take for HTML."""

    def dumps(self, obj, **kwargs) -> str:
        text = super().dumps(obj, **kwargs)
        # These characters can only stand inside JSON strings, where an escape means the same.
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def create_app(config: Mapping | None = None) -> Flask:
    """Build the app.

    :param config: settings that win over the defaults and the environment (``INDEX``, ``PER_PAGE``,
        ``MAX_PER_PAGE``, ``SITE_NAME``, ``TAGLINE``, ``EXAMPLES``, ``TIME_LIMIT``, ``PAGE_CACHE``, ``CLUSTER``,
        ``REPLICAS``, and Flask's own
        such as ``TESTING``)
    """
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("NEWS_SEARCH")
    if config is not None:
        app.config.from_mapping(config)
    app.config["INDEX"] = str(app.config["INDEX"])
    app.config["MAX_PER_PAGE"] = max(1, min(int(app.config["MAX_PER_PAGE"]), MAX_PER_PAGE))
    app.config["PER_PAGE"] = max(1, min(int(app.config["PER_PAGE"]), app.config["MAX_PER_PAGE"]))
    app.json = SafeJSONProvider(app)
    app.json.ensure_ascii = False
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.json.sort_keys = False

    # One index per process; NewsIndex opens nothing until the first search.
    app.config["TIME_LIMIT"] = max(0.0, float(app.config["TIME_LIMIT"] or 0)) or None
    app.config["PAGE_CACHE"] = max(0, int(app.config["PAGE_CACHE"]))
    app.extensions["news_search"] = NewsIndex(
        app.config["INDEX"],
        time_limit=app.config["TIME_LIMIT"],
        cache_size=app.config["PAGE_CACHE"],
        cluster=str(app.config["CLUSTER"] or "") or None,
        replicas=int(app.config["REPLICAS"] or 1),
    )

    from . import assets, compress, errors, filters, views

    app.register_blueprint(views.bp)
    errors.install(app)
    filters.install(app)
    assets.install(app)
    app.context_processor(lambda: {"site_name": app.config["SITE_NAME"], "tagline": app.config["TAGLINE"]})
    app.after_request(_security_headers)
    compress.install(app)
    return app


def _security_headers(response):
    """What a browser may do with a response: load scripts, styles and images from this site only
    (images also as data: URLs), no plugins, no framing, no type sniffing, no referrer to other sites."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("X-Frame-Options", "DENY")  # for browsers without frame-ancestors
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def warm_up(app: Flask) -> int:
    """Open the index and load the segmenter, the field lengths, the copies, the facet columns, the
    suggestions and the pinyin table now, so that the first reader does not wait for them.

    :returns: the number of articles in the index
    :raises search.IndexNotFound: when there is no index
    """
    index: NewsIndex = app.extensions["news_search"]
    index.warm_up(everything=True)
    return index.doc_count


def warm_up_to_fork(app: Flask) -> int:
    """:func:`warm_up`, then close the index files this process has open, keeping what was loaded:
    run in a server's master before it forks its workers, which share that memory.

    :returns: the number of articles in the index
    """
    index: NewsIndex = app.extensions["news_search"]
    index.warm_up(everything=True, cluster=False)  # the workers join the cluster: Ray does not survive a fork
    index.release_files()
    return index.doc_count


__all__ = ["DEFAULTS", "create_app", "warm_up", "warm_up_to_fork"]
