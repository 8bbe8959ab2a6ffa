"""Which administrative regions an article is about: provinces, prefecture-level cities, and the
districts and counties of 重庆.

The gazetteer (``search/data/regions.tsv``) is made by ``python -m tools.build_regions`` from
国家统计局's 2023 division codes. A bundled table of 458 rows was chosen over a package: the maintained-looking
ones on PyPI (cpca and its forks) carry every township, pull in pandas and answer a different
question (parse one address), while tagging needs a few hundred names, their short forms and a
note of which names are doubtful; the table is small enough to read and review in the repository.

How an article is judged to be *about* a region:

* Names are found by longest match (``万州区`` once, not also ``万州``), in the title and the body,
  on text folded to simplified characters (``萬州`` counts).
* A short form or former name (``万州``, ``开县``) counts only where jieba also reads it as a word,
  or as the start of a word that names a place (``万州人``): ``河南川菜`` holds no ``南川``,
  ``三明治`` no ``三明``, ``北京时间`` no ``北京``.
* A name marked doubtful in the gazetteer (``江北区`` is in 重庆 and in 宁波; ``长寿``, ``日照`` are
  words) counts only when its province is otherwise evident: another of its names is mentioned, or
  the source carries the province's name (``重庆日报``).
* Mentions are weighed: 2 in the title or the first 150 characters of the body (the dateline),
  1 elsewhere, and ½ as one item of a list (``潼南、铜梁、荣昌等27个区县``); a region with 2 or more
  is what the article is about. A passing mention, or a place in a list or two, does not make an
  article about it.
* A district or city brings its province: an article about 万州区 is about 重庆市.

Tags are official names (``重庆市``, ``万州区``), province first. :func:`tag` is pure and its data
loads once per process, so it can run in indexing worker processes.
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .traditional import to_simplified

GAZETTEER = Path(__file__).parent / "data" / "regions.tsv"

#: Weight of a mention in the title or the lead, and elsewhere in the body; what makes "about".
LEAD_CHARS = 150
LEAD_WEIGHT = 2
BODY_WEIGHT = 1
LIST_WEIGHT = 0.5
ABOUT = 2
_LIST_MARKS = frozenset("、,，/")

# A short form may be the start of a longer jieba word when the rest names the place itself.
_PLACE_TAILS = frozenset("市区县省州人籍港站段境城方队") | {"地区", "方面", "市民", "警方", "日报", "晚报", "晨报"}
# Words that start with a region's name without being about it.
_NOT_PLACES = ("北京时间", "三明治", "中山装", "阿里巴巴", "阿里云", "哈密瓜", "和田玉", "香港脚", "长寿命")


@dataclass(frozen=True)
class Region:
    """One division of the gazetteer."""

    code: str
    name: str
    level: str  # province, city or county
    parent: str  # the province's code ("" for a province)


@dataclass(frozen=True)
class _Name:
    region: Region
    short: bool  # a short form or former name: jieba must agree it is a word
    doubtful: bool  # counts only with its province evident


class Gazetteer:
    """The regions and every name they go by, indexed by the names' first two characters."""

    def __init__(self, path: Path = GAZETTEER):
        self.regions: dict[str, Region] = {}
        self.by_name: dict[str, _Name] = {}
        with open(path, encoding="utf-8") as handle:
            lines = [line.rstrip("\n") for line in handle if line.strip() and not line.startswith("#")]
        for line in lines[1:]:
            code, name, level, parent, names, context = (line.split("\t") + [""] * 6)[:6]
            region = Region(code, name, level, parent)
            self.regions[code] = region
            doubtful = set(filter(None, context.split(",")))
            self.by_name[name] = _Name(region, False, name in doubtful)
            for other in filter(None, names.split(",")):
                self.by_name.setdefault(other, _Name(region, True, other in doubtful))
        self.province_names: dict[str, set[str]] = defaultdict(set)
        for name, entry in self.by_name.items():
            if not entry.doubtful:  # a doubtful name must not vouch for its own province
                self.province_names[self.province_of(entry.region)].add(name)
        # Names by their first two characters, longest first, for longest-match scanning.
        starts: dict[str, list[str]] = defaultdict(list)
        for name in self.by_name:
            starts[name[:2]].append(name)
        self.starts = {key: sorted(names, key=len, reverse=True) for key, names in starts.items()}
        # Where a name may start: its first character, then its second (found by the regex engine,
        # so that the scan below runs Python code only there, a few places in a hundred).
        firsts, seconds = ({key[k] for key in self.starts if len(key) == 2} for k in (0, 1))
        self._may_start = re.compile(f"[{_char_class(firsts)}][{_char_class(seconds)}]")
        self.canonical = {name: entry.region.name for name, entry in self.by_name.items()}

    def province_of(self, region: Region) -> str:
        return region.code if region.level == "province" else region.parent

    def mentions(self, text: str) -> list[tuple[int, int, _Name]]:
        """Every gazetteer name in ``text`` (already folded), longest match first, left to right."""
        found = []
        starts = self.starts
        search = self._may_start.search
        match = search(text)
        while match is not None:
            i = match.start()
            for name in starts.get(text[i : i + 2], ()):
                if text.startswith(name, i):
                    found.append((i, i + len(name), self.by_name[name]))
                    i += len(name) - 1
                    break
            match = search(text, i + 1)
        return found


def _char_class(chars: set[str]) -> str:
    return "".join(re.escape(char) for char in sorted(chars))


_gazetteer: Gazetteer | None = None
_lock = threading.Lock()


def gazetteer() -> Gazetteer:
    """The gazetteer, loaded once per process."""
    global _gazetteer
    if _gazetteer is None:
        with _lock:
            if _gazetteer is None:
                _gazetteer = Gazetteer()
    return _gazetteer


def _is_word(text: str, start: int, end: int) -> bool:
    """Whether jieba reads ``text[start:end]`` as a word (or a word naming the place) in context."""
    from .analysis import segment

    lo, hi = max(0, start - 5), min(len(text), end + 5)
    for seg in segment(text[lo:hi], subwords=False):
        s = seg.start + lo
        if s > start:
            return False
        if s == start:
            tail = text[end : seg.end + lo]
            return seg.end + lo == end or tail in _PLACE_TAILS
        if seg.end + lo > start:
            return False  # the name starts inside a word (河南川菜)
    return False


def _in_list(text: str, found: list, index: int) -> bool:
    """Whether a mention is one item of a list of places (a neighbour mention, a 、 between)."""
    start, end, _ = found[index]
    if index + 1 < len(found) and found[index + 1][0] == end + 1 and text[end] in _LIST_MARKS:
        return True
    return index > 0 and found[index - 1][1] == start - 1 and text[start - 1] in _LIST_MARKS


def tag(title: str, body: str, source: str = "") -> tuple[str, ...]:
    """The official names of the regions an article is about, provinces first (see the module doc)."""
    gaz = gazetteer()
    scores: dict[str, float] = defaultdict(float)
    pending: list[tuple[Region, float]] = []  # doubtful mentions, judged once the evidence is in
    evident: set[str] = set()
    for part, text in (("title", title or ""), ("body", body or "")):
        text = to_simplified(text)
        found = gaz.mentions(text)
        for index, (start, end, name) in enumerate(found):
            code = name.region.code
            if scores[code] >= ABOUT and not name.doubtful:
                continue  # already about it; spare jieba the check
            if text.startswith(_NOT_PLACES, start):
                continue
            if name.short and not _is_word(text, start, end):
                continue
            if _in_list(text, found, index):
                weight = LIST_WEIGHT
            elif part == "title" or start < LEAD_CHARS:
                weight = LEAD_WEIGHT
            else:
                weight = BODY_WEIGHT
            if name.doubtful:
                pending.append((name.region, weight))
            else:
                scores[code] += weight
                evident.add(gaz.province_of(name.region))
    if pending:
        source = to_simplified(source or "")
        for region, weight in pending:
            province = gaz.province_of(region)
            in_source = any(name in source for name in gaz.province_names[province] if len(name) >= 2)
            if province in evident or in_source:
                scores[region.code] += weight
    about = {code for code, score in scores.items() if score >= ABOUT}
    about |= {gaz.regions[code].parent for code in about if gaz.regions[code].parent}
    return tuple(gaz.regions[code].name for code in sorted(about))


def canonical(name: str) -> str:
    """The official name for ``name`` (万州 -> 万州区, 重慶 -> 重庆市); unknown names unchanged."""
    text = to_simplified((name or "").strip())
    return gazetteer().canonical.get(text, text)


def level(name: str) -> str | None:
    """``province``, ``city`` or ``county`` for an official name, else ``None``."""
    entry = gazetteer().by_name.get(name)
    return entry.region.level if entry and not entry.short else None


__all__ = ["Gazetteer", "Region", "canonical", "gazetteer", "level", "tag"]
