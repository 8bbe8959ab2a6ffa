"""RSS and Atom feeds as sources: files, and URLs served by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
from datetime import datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from search import NewsIndex
from search.cli import cli
from search.generations import current_generation, read_meta
from search.sources import feeds, read_sources

from .helpers import FIXTURES

FEEDS = FIXTURES / "feeds"
RSS = FEEDS / "cqrb-rss.xml"
ATOM = FEEDS / "xinhua-atom.xml"


class Site:
    """What the test server serves: path -> (body, content type), and what it was asked."""

    def __init__(self):
        self.files: dict[str, tuple[bytes, str]] = {}
        self.failures: dict[str, int] = {}  # path -> how many 503s to answer first
        self.requests: list[tuple[str, dict]] = []
        self.version = 1

    def put(self, path: str, body: bytes, kind: str = "application/rss+xml; charset=utf-8"):
        self.files[path] = (body, kind)
        self.version += 1


def _handler(site: Site):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            site.requests.append((self.path, dict(self.headers)))
            if site.failures.get(self.path):
                site.failures[self.path] -= 1
                self.send_response(503)
                self.send_header("Retry-After", "0")
                self.end_headers()
                return
            if self.path not in site.files:
                self.send_error(404)
                return
            body, kind = site.files[self.path]
            etag = f'"v{hash(body) & 0xFFFFFFFF:x}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", formatdate(usegmt=True))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def site():
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield site
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(feeds, "BACKOFF", 0.01)


def read(paths, **options):
    errors = []
    return list(read_sources(paths, errors.append, **options)), errors


def test_rss_and_atom_files_give_every_entry_with_its_metadata():
    articles, errors = read([RSS, ATOM])
    assert errors == []
    by_id = {a.id: a for a in articles}
    first = by_id["cqrb-1001"]
    assert first.title == "重庆轨道交通18号线北段开通运营"
    assert first.published == datetime(2024, 6, 18, 10, 0)  # the time the feed gives (+0800)
    assert first.source == "重庆日报" and first.byline == "记者 王翔"
    assert first.url == "https://www.cqrb.cn/content/2024-06/18/content_1001.htm"
    assert "全自动运行系统" in first.body and "<p>" not in first.body  # the full content, not the summary
    assert by_id["cqrb-1003"].title == "图集：嘉陵江畔晚霞满天" and by_id["cqrb-1003"].body == ""
    atom = by_id["tag:cq.xinhuanet.com,2024:c_1130001"]
    assert atom.source == "新华网 重庆频道" and atom.published == datetime(2024, 6, 18, 11, 20)
    assert "森林覆盖率达到55.06%" in atom.body
    assert by_id["tag:cq.xinhuanet.com,2024:c_1130002"].body == "重庆市气象台发布暴雨蓝色预警，提醒渝东北地区做好防汛准备。"


def test_a_broken_feed_file_is_reported_like_a_broken_file(tmp_path):
    (tmp_path / "broken.rss").write_bytes((FEEDS / "broken.xml").read_bytes())
    (tmp_path / "ok.xml").write_bytes(RSS.read_bytes())
    articles, errors = read([tmp_path])
    assert len(articles) == 3
    assert [(Path(e.path).name, e.reason.split(":")[0]) for e in errors] == [("broken.rss", "broken feed")]


def test_a_feed_url_is_fetched_with_a_user_agent_and_indexed(site, tmp_path):
    site.put("/rss/yaowen.xml", RSS.read_bytes())
    summary = NewsIndex.rebuild([f"{site.base}/rss/yaowen.xml"], tmp_path / "ix")
    assert summary.indexed == 3 and summary.skipped == ()
    assert site.requests[0][1]["User-Agent"] == feeds.USER_AGENT
    hit = NewsIndex.open(tmp_path / "ix").search("18号线").hits[0]
    assert hit.id == "cqrb-1001" and hit.source == "重庆日报"
    state = read_meta(current_generation(tmp_path / "ix"))["source_state"][f"{site.base}/rss/yaowen.xml"]
    assert state["etag"].startswith('"v') and state["last_modified"].endswith("GMT")


def test_update_asks_conditionally_adds_and_replaces_what_changed_and_never_prunes(site, tmp_path):
    url = f"{site.base}/rss/yaowen.xml"
    site.put(url.removeprefix(site.base), RSS.read_bytes())
    NewsIndex.rebuild([url], tmp_path / "ix")
    served = current_generation(tmp_path / "ix")

    unchanged = NewsIndex.update([url], tmp_path / "ix", prune=True)
    assert site.requests[-1][1].get("If-None-Match", "").startswith('"v')
    assert unchanged.changed == 0 and current_generation(tmp_path / "ix") == served

    # The next day's feed: one new entry, one corrected, two older ones gone from the feed.
    text = RSS.read_text(encoding="utf-8")
    first_item = text.index("<item>")
    new_item = """<item>
      <title>重庆启动夏季消费季活动</title>
      <link>https://www.cqrb.cn/content/2024-06/19/content_1004.htm</link>
      <guid isPermaLink="false">cqrb-1004</guid>
      <pubDate>Wed, 19 Jun 2024 08:00:00 +0800</pubDate>
      <description><![CDATA[<p>19日，重庆夏季消费季活动启动，推出文旅、餐饮等一千余场促消费活动。</p>]]></description>
    </item>
    """
    corrected = text[:first_item] + new_item + text[first_item:].replace("全长约29公里", "全长约28.7公里")
    corrected = corrected[: corrected.index("<item>", corrected.index("cqrb-1001"))] + "</channel>\n</rss>\n"
    site.put("/rss/yaowen.xml", corrected.encode("utf-8"))
    summary = NewsIndex.update([url], tmp_path / "ix", prune=True)
    assert (summary.added, summary.replaced, summary.removed) == (1, 1, 0)
    news = NewsIndex.open(tmp_path / "ix")
    assert news.search("夏季消费季").hits[0].id == "cqrb-1004"
    assert news.search("28.7公里").total == 1
    assert {"cqrb-1002", "cqrb-1003"} <= {h.id for h in news.search("成渝 OR 嘉陵江", per_page=50).hits}


def test_retries_then_reports_an_unreachable_url_like_a_broken_file(site, tmp_path):
    site.put("/flaky.xml", ATOM.read_bytes(), "application/atom+xml")
    site.failures["/flaky.xml"] = 2  # two 503s, then the feed: within the attempts
    summary = NewsIndex.rebuild([f"{site.base}/flaky.xml", f"{site.base}/missing.xml", RSS], tmp_path / "ix")
    assert summary.indexed == 5
    assert [s.reason for s in summary.skipped] == ["cannot fetch: HTTP 404 Not Found"]
    assert [p for p, _ in site.requests].count("/flaky.xml") == 3
    site.failures["/flaky.xml"] = 5
    _, errors = read([f"{site.base}/flaky.xml"])
    assert errors[0].reason == f"cannot fetch: HTTP 503 Service Unavailable (after {feeds.ATTEMPTS} attempts)"
    strict = CliRunner().invoke(
        cli, ["index", "rebuild", "--strict", "--source", f"{site.base}/missing.xml", "--index", str(tmp_path / "s")]
    )
    assert strict.exit_code == 1 and strict.output == f"Error: {site.base}/missing.xml: cannot fetch: HTTP 404 Not Found\n"


def test_follow_links_completes_a_summary_from_the_article_page(site, tmp_path):
    feed = RSS.read_text(encoding="utf-8").replace("https://www.cqrb.cn/content/2024-06/18/content_1002.htm", f"{site.base}/content_1002.htm")
    feed = feed.replace("https://www.cqrb.cn/content/2024-06/17/content_1003.htm", f"{site.base}/gone.htm")
    site.put("/rss.xml", feed.encode("utf-8"))
    site.put("/content_1002.htm", (FEEDS / "pages" / "content_1002.html").read_bytes(), "text/html; charset=utf-8")
    summary = NewsIndex.rebuild([f"{site.base}/rss.xml"], tmp_path / "ix", follow_links=True)
    assert summary.indexed == 3
    assert [s.path for s in summary.skipped] == [f"{site.base}/gone.htm"]
    assert "its summary is indexed" in summary.skipped[0].reason
    news = NewsIndex.open(tmp_path / "ix")
    hit = news.search("渝西高铁").hits[0]  # only on the article page
    assert hit.id == "cqrb-1002" and hit.title == "成渝地区双城经济圈建设重大项目集中开工"
    assert hit.source == "重庆日报"
    # The entry with full content is not fetched again.
    assert not any(p.endswith("content_1001.htm") for p, _ in site.requests)
    plain = NewsIndex.rebuild([f"{site.base}/rss.xml"], tmp_path / "plain")
    assert plain.skipped == () and NewsIndex.open(tmp_path / "plain").search("渝西高铁").total == 0
