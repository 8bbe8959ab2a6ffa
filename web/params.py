"""Search request parameters: checked before the library sees them, so that a bad one gets a 400
naming it (in Chinese on pages, in English in JSON), and turned into URLs and searches."""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import current_app

from search import NewsIndex, QueryError
from search.query import MAX_QUERY_LENGTH
from search.searcher import MAX_PAGE, SORTS, to_datetime

#: Longest source name or article id accepted in a URL.
MAX_NAME_LENGTH = 200


class BadParameter(Exception):
    """A request parameter that cannot be used: a 400 naming it."""

    def __init__(self, param: str, chinese: str, english: str):
        super().__init__(english)
        self.param, self.chinese, self.english = param, chinese, english


def get_index() -> NewsIndex:
    """The app's one :class:`NewsIndex` (opened at its first search, reopened after a rebuild)."""
    return current_app.extensions["news_search"]


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
    #: Search Latin letters as typed, never read as pinyin.
    as_typed: bool = False

    @property
    def filtered(self) -> bool:
        return bool(self.source or self.date_from or self.date_to or self.region)

    def args(self, **changes) -> dict:
        """URL parameters for this request with ``changes``, leaving out defaults (a changed query or
        filter goes back to page 1 unless ``page`` is given)."""
        if any(key != "page" for key in changes) and "page" not in changes:
            changes["page"] = 1
        if "q" in changes and "as_typed" not in changes:
            changes["as_typed"] = False  # another query is read afresh
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
            "as_typed": "1" if params.as_typed else None,
        }
        return {key: value for key, value in args.items() if value not in (None, "")}

    def search(self, **options):
        """This request run on the app's index (``options`` go to :meth:`NewsIndex.search`)."""
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
            as_typed=self.as_typed,
            **options,
        )


def whole_number(args, name: str, default: int, highest: int) -> int:
    """A whole-number parameter from 1 to ``highest``, or ``default`` when absent."""
    text = args.get(name, "").strip()
    if not text:
        return default
    # The length first: int() of thousands of digits is slow, and refused past Python's digit limit.
    if not text.isascii() or not text.isdigit() or len(text) > len(str(highest)) or not 1 <= int(text) <= highest:
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
    as_typed = args.get("as_typed", "").strip().lower()
    if as_typed not in ("", "1", "true", "yes", "0", "false", "no"):
        raise BadParameter("as_typed", "参数 as_typed 只能是 1 或 0", "as_typed must be 1 (true) or 0 (false)")
    config = current_app.config
    return SearchParams(
        q=q,
        page=whole_number(args, "page", 1, MAX_PAGE),
        per_page=whole_number(args, "per_page", config["PER_PAGE"], config["MAX_PER_PAGE"]),
        sort=sort,
        date_from=date_from,
        date_to=date_to,
        source=source,
        region=region,
        collapse=collapse not in ("0", "false", "no"),
        as_typed=as_typed in ("1", "true", "yes"),
    )


__all__ = ["MAX_NAME_LENGTH", "BadParameter", "SearchParams", "get_index", "search_params", "whole_number"]
