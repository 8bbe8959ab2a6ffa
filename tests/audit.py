"""Check a page for anything a hostile article or query could have injected.

A page passes when, parsed as a browser would parse it, it holds only the elements our templates
write, no event-handler attributes, no script but our own file, and no link, form or resource
address other than a relative one or an http(s) one. Highlighted HTML fragments (snippets, titles)
may hold only ``<mark>``.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

#: Every element our templates write.
PAGE_TAGS = frozenset(
    "a article body button code datalist dd details div dl dt figcaption figure footer form h1 h2 head "
    "header html input label li link main mark meta nav ol option p q rect section span strong summary "
    "svg time title ul".split()
) | {"script"}
FRAGMENT_TAGS = frozenset({"mark"})
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "poster", "data", "srcset", "xlink:href"})
OUR_SCRIPT = "/static/app.js"


class _Audit(HTMLParser):
    def __init__(self, allowed: frozenset[str]):
        super().__init__(convert_charrefs=True)
        self.allowed = allowed
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        self._element(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._element(tag, attrs)

    def _element(self, tag, attrs):
        if tag not in self.allowed:
            self.problems.append(f"element <{tag}> {attrs}")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name == "style":
                self.problems.append(f"inline style {value!r} on <{tag}>")
            if name in URL_ATTRIBUTES and not safe_address(value):
                self.problems.append(f"unsafe address {name}={value!r} on <{tag}>")
            if tag == "meta" and name == "http-equiv":
                self.problems.append(f"<meta http-equiv={value!r}>")
        if tag == "script":
            self.in_script = True
            if dict(attrs).get("src", "").split("?")[0] != OUR_SCRIPT:
                self.problems.append(f"script that is not ours: {attrs}")

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.problems.append(f"inline script {data[:60]!r}")


def safe_address(value: str) -> bool:
    """A relative address on this site, or an absolute http(s) one."""
    value = value.strip()
    # What browsers ignore inside a URL (tabs, line breaks) must not hide a scheme.
    squeezed = "".join(ch for ch in value if ch not in "\t\n\r")
    try:
        parts = urlsplit(squeezed)
    except ValueError:
        return False
    if parts.scheme:
        return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)
    return not squeezed.startswith("//") and not squeezed.startswith("\\")


def page_problems(html: str) -> list[str]:
    """What is wrong with a whole page (an empty list when nothing)."""
    audit = _Audit(PAGE_TAGS)
    audit.feed(html)
    audit.close()
    return audit.problems


def fragment_problems(html: str) -> list[str]:
    """What is wrong with a highlighted fragment: anything but text and ``<mark>``."""
    audit = _Audit(FRAGMENT_TAGS)
    audit.feed(html)
    audit.close()
    return audit.problems
