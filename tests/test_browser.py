"""End to end: the real server (waitress, in a subprocess) driven by headless Chromium via Playwright.

Uses Debian's chromium (``apt-get install chromium fonts-wqy-zenhei``; never ``playwright install``).
Set ``NEWS_SEARCH_SCREENSHOTS=DIR`` to keep screenshots of each step, ``CHROMIUM=PATH`` for another
chromium binary.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

from .helpers import SEED_TITLE, ids, serve

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = os.environ.get("NEWS_SEARCH_SCREENSHOTS")

pytestmark = [
    pytest.mark.browser,
    # Skipped on a developer's machine without chromium; never in CI (.ci/run installs it), where a
    # missing browser must fail rather than pass silently.
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason=f"no chromium at {CHROMIUM}: apt-get install chromium fonts-wqy-zenhei (CI installs it)",
    ),
]


@pytest.fixture(scope="module")
def server(index_dir):
    with serve("--index", str(index_dir)) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _failed(request) -> bool:
    """A request that really failed: not one the browser cancelled because the reader moved on to
    another page while it was in flight (a suggestion fetch, the favicon: what every browser does).
    A missing or broken resource still counts, as an error response (see :func:`open_page`)."""
    return "ERR_ABORTED" not in (request.failure or "")


def open_page(browser, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    page.on("requestfailed", lambda request: _failed(request) and problems.append(f"request failed: {request.url}"))
    page.on(
        "response",
        lambda response: response.status >= 400 and problems.append(f"HTTP {response.status}: {response.url}"),
    )
    return context, page, problems


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def hit_ids(page) -> list[str]:
    return page.locator("li.hit").evaluate_all("items => items.map(item => item.dataset.docId)")


def test_search_page_two_filter_and_article(server, browser, news):
    context, page, problems = open_page(browser, 1280, 900)
    page.goto(server.url + "/")
    # The box has the focus: a reader can type straight away.
    expect(page.locator("#q")).to_be_focused()
    shot(page, "desktop-1-home")

    page.keyboard.type("重庆")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    assert hit_ids(page) == ids(news.search("重庆"))
    first = page.locator("li.hit").first
    expect(first.locator(".hit-title mark").first).to_have_text("重庆")
    expect(first.locator(".hit-snippet mark").first).to_be_visible()
    expect(page.locator("#q")).to_have_value("重庆")
    expect(page.locator(".summary strong")).to_have_text(f"{news.search('重庆').total:,}")
    shot(page, "desktop-2-results")

    page.get_by_role("link", name="下一页").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert hit_ids(page) == ids(news.search("重庆", page=2))
    expect(page.locator(".pager-page.is-current")).to_have_text("2")

    source = page.locator('[data-facet="source"][data-value="中国新闻网"] a')
    expect(source).to_be_visible()  # the filter column is open on a wide screen
    expected_count = page.locator('[data-facet="source"][data-value="中国新闻网"]').get_attribute("data-count")
    source.click()
    page.wait_for_url(re.compile(r"source="))
    found = ids(news.search("重庆", source="中国新闻网"))
    assert hit_ids(page) == found and len(found) == min(10, int(expected_count))
    expect(page.locator("li.hit .hit-source")).to_have_text(["中国新闻网"] * len(found))
    expect(page.locator(".active-filters")).to_contain_text("来源：中国新闻网")
    shot(page, "desktop-3-filtered")

    title = page.locator("li.hit .hit-title a").first
    title_text = title.inner_text()
    title.click()
    page.wait_for_url(re.compile(r"/article/"))
    expect(page.locator("h1.article-title")).to_have_text(title_text)
    expect(page.locator(".article-body mark").first).to_have_text("重庆")
    shot(page, "desktop-4-article")

    page.locator(".back a").click()
    page.wait_for_url(re.compile(r"/search\?"))
    assert parse_qs(urlsplit(page.url).query) == {"q": ["重庆"], "source": ["中国新闻网"]}
    assert hit_ids(page) == found
    assert problems == []
    context.close()


def test_phrase_search_and_keyboard(server, browser):
    context, page, problems = open_page(browser, 1280, 900)
    page.goto(server.url + "/search?q=%E9%87%8D%E5%BA%86")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")  # jumps to the search box
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type('"一区两群"')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    first = page.locator("li.hit").first
    expect(first.locator(".hit-title")).to_have_text(SEED_TITLE)
    expect(first.locator(".hit-snippet mark").first).to_have_text("一区两群")
    # Keyboard only: from the search box, at most 3 presses of Tab reach the first result (the
    # search button, then the result), and Enter opens it.
    page.locator("#q").focus()
    presses = 0
    while presses < 3 and not page.evaluate("document.activeElement.closest('.hit-title') !== null"):
        page.keyboard.press("Tab")
        presses += 1
    expect(page.locator("li.hit .hit-title a").first).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/article/"))
    expect(page.locator("h1.article-title")).to_have_text(SEED_TITLE)
    assert problems == []
    context.close()


def test_phone_width(server, browser):
    context, page, problems = open_page(browser, 360, 740)
    page.goto(server.url + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "phone-1-home")

    page.goto(server.url + "/search?q=%E9%87%8D%E5%BA%86%20%E8%BD%A8%E9%81%93%E4%BA%A4%E9%80%9A")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # The search box and its button sit side by side on one line at the top.
    box, button = page.locator("#q").bounding_box(), page.locator(".search-button").bounding_box()
    assert abs(box["y"] - button["y"]) < 2 and button["x"] + button["width"] <= 360
    # Results come first; the filters are folded away until asked for.
    source_filter = page.locator('[data-facet="source"] a').first
    expect(source_filter).to_be_hidden()
    shot(page, "phone-2-results")
    page.locator("#filters > summary").click()
    expect(source_filter).to_be_visible()
    shot(page, "phone-3-filters")

    page.locator("li.hit .hit-title a").first.click()
    page.wait_for_url(re.compile(r"/article/"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot(page, "phone-4-article")
    assert problems == []
    context.close()


def test_unknown_article_page(server, browser):
    context, page, problems = open_page(browser, 1280, 900)
    response = page.goto(server.url + "/article/no-such-article")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("没有找到这篇文章")
    expect(page.locator("#q")).to_be_visible()
    context.close()


def test_suggestions_timeline_and_copies(server, browser, news):
    context, page, problems = open_page(browser, 1280, 900)
    page.goto(server.url + "/")
    # The box takes the focus by autofocus, which Chromium applies at a later frame than the load
    # event: keys typed before it would go nowhere, so wait for the focus as a reader would.
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("重庆")
    expect(page.locator("#q")).to_have_value("重庆")
    # Typing fills the box's datalist from /api/suggest: the list for "重庆" (the one for "重" may
    # come first). Playwright's assertions wait for it (the page's CSP forbids wait_for_function).
    wanted = news.suggest("重庆")
    options = page.locator("#q-suggestions option")
    expect(options).to_have_count(len(wanted))
    for number, word in enumerate(wanted):
        expect(options.nth(number)).to_have_attribute("value", word)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))

    # A bar of the timeline is a link to its period.
    bar = page.locator("a.timeline-bar", has=page.locator("rect.timeline-rect")).last
    period = bar.get_attribute("data-period")
    bar.click()
    page.wait_for_url(re.compile(r"from="))
    dates = page.locator("li.hit .hit-meta time").evaluate_all("times => times.map(t => t.dateTime)")
    assert dates and all(d.startswith(period) for d in dates)
    shot(page, "desktop-5-timeline")

    # Copies of one story are one hit that opens onto the other outlets.
    page.goto(server.url + "/search?q=%E9%BB%9B%E6%B9%96%E8%A7%82%E9%B8%9F%E8%8A%82")
    copies = page.locator("details.hit-copies").first
    copies.locator("summary").click()
    expect(copies.locator("li")).to_have_count(2)
    shot(page, "desktop-6-copies")
    assert problems == []
    context.close()


#: The pages every reader must be able to use, by name: the front page, results with filters and a
#: timeline (of months), an article, a search that finds nothing, a bad parameter (400).
PAGES = {
    "front": "/",
    "results": "/search?q=%E9%87%8D%E5%BA%86&source=%E4%B8%AD%E5%9B%BD%E6%96%B0%E9%97%BB%E7%BD%91",
    "article": None,  # the first result for 重庆, opened from its search
    "empty": "/search?q=zzqqxyzzy",
    "bad": "/search?q=%E9%87%8D%E5%BA%86&page=x",
}
WIDTHS = (320, 360, 1280)
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _page_url(name: str, news) -> str:
    if name == "article":
        return f"/article/{news.search('重庆').hits[0].id}?q=%E9%87%8D%E5%BA%86"
    return PAGES[name]


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_wcag_violation_and_nothing_scrolls_sideways(server, browser, news, width):
    axe = Axe()
    context, page, problems = open_page(browser, width, 800)
    found = {}
    for name in PAGES:
        response = page.goto(server.url + _page_url(name, news))
        assert response.status == (400 if name == "bad" else 200), name
        # One h1 on every page: what a screen reader's heading list starts with.
        assert page.locator("h1").count() == 1, name
        results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
        violations = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in results.response["violations"]
        ]
        if violations:
            found[name] = violations
        # WCAG 1.4.10: the page reflows into the width, nothing is cut off or scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        if name != "front":
            button = page.locator(".site-header .search-button").bounding_box()
            assert button["x"] + button["width"] <= width, name
        shot(page, f"axe-{width}-{name}")
    # The axe run itself completed (its rules ran) on every page.
    assert results.response["testEngine"]["name"] == "axe-core"
    assert found == {}
    # The 400 page's own status (and its console report) is expected; nothing else may fail.
    assert [p for p in problems if "page=x" not in p and "400" not in p] == []
    context.close()


def test_timeline_is_one_tab_stop_with_arrow_keys(server, browser):
    context, page, problems = open_page(browser, 1280, 900)
    page.goto(server.url + "/search?q=%E9%87%8D%E5%BA%86&from=2020-01-01&to=2020-12-31")
    bars = page.locator("a.timeline-bar")
    assert bars.count() > 3
    page.locator("#q").focus()
    on_bar = "document.activeElement.classList.contains('timeline-bar')"
    for _ in range(100):
        page.keyboard.press("Tab")
        if page.evaluate(on_bar):
            break
    assert page.evaluate(on_bar)
    entered = page.evaluate("document.activeElement.dataset.period")
    # The stop is the last bar with articles; one more Tab leaves the chart, Shift+Tab comes back.
    filled = [p for p, c in zip(bars.evaluate_all("bs => bs.map(b => b.dataset.period)"),
                                bars.evaluate_all("bs => bs.map(b => b.dataset.count)"), strict=True) if c != "0"]
    assert entered == filled[-1]
    page.keyboard.press("Tab")
    assert not page.evaluate(on_bar)
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.dataset.period") == entered
    # The arrow keys move along the bars; Home goes to the first; Enter follows the bar in focus.
    page.keyboard.press("ArrowLeft")
    before = page.evaluate("document.activeElement.dataset.period")
    assert before < entered
    page.keyboard.press("Home")
    first = page.evaluate("document.activeElement.dataset.period")
    assert first == bars.first.get_attribute("data-period")
    page.keyboard.press("ArrowRight")
    target = page.evaluate("document.activeElement.dataset.period")
    assert first < target
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"from=" + target))
    assert problems == []
    context.close()

    # Without the script every bar is an ordinary link in the tab order.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    page.goto(server.url + "/search?q=%E9%87%8D%E5%BA%86&from=2020-01-01&to=2020-12-31")
    assert page.locator("a.timeline-bar[tabindex]").count() == 0
    context.close()


@pytest.mark.parametrize("width", [320, 360, 1280])
def test_filter_panel_moves_nothing_with_or_without_script(server, browser, width):
    url = server.url + PAGES["results"]
    tops = {}
    for script in (False, True):
        context = browser.new_context(viewport={"width": width, "height": 800}, java_script_enabled=script)
        page = context.new_page()
        page.goto(url)
        page.wait_for_load_state("load")
        tops[script] = page.locator("li.hit").first.bounding_box()["y"]
        # The filters: closed on a phone (the results come first), a column beside them when wide.
        source_filter = page.locator('[data-facet="source"] a').first
        if width < 900:
            expect(source_filter).to_be_hidden()
            assert tops[script] < 800  # the first result is on the first screen
        else:
            expect(source_filter).to_be_visible()
        context.close()
    assert abs(tops[True] - tops[False]) < 1, tops


def test_touch_targets_on_a_phone(server, browser, news):
    context, page, problems = open_page(browser, 360, 740)
    small = {}
    for name in ("results", "article"):
        page.goto(server.url + _page_url(name, news))
        if name == "results":
            page.locator("#filters > summary").click()
            page.locator("details.hit-copies > summary").first.click()
        # Every control at least 24x24 px (WCAG 2.2's minimum), but links within a sentence.
        sizes = page.locator("a, button, summary, input:not([type=hidden])").evaluate_all("""els => els
            .filter(e => e.checkVisibility())
            .filter(e => !e.closest('p.summary, .hit-snippet, .article-body, .skip-link, .article-footer p'))
            .map(e => { const r = e.getBoundingClientRect();
                        return [e.className.baseVal ?? e.className, e.textContent.trim().slice(0, 12), r.width, r.height]; })
            .filter(([c, t, w, h]) => w > 0 && (w < 24 || h < 24))""")
        if sizes:
            small[name] = sizes
    assert small == {}
    assert problems == []
    context.close()
