"""Fixtures: a real on-disk index built once per session from real and crafted articles; a real
two-node Ray cluster for the tests marked ``cluster``.

At its start, as root on Linux, the session moves into a network namespace of its own where
127.0.0.1 is the only address (see :mod:`tests.ray_cluster`): every server, browser, database and
Ray node of the session runs there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from search import NewsIndex

from .feature_cases import FEATURE_CASES, SEARCH_CASES
from .helpers import FIXTURES, ROOT, SEED_PAGE, SHARDS, write_jsonl
from .ray_cluster import LocalCluster, enter_private_network

#: Why this session cannot run a Ray cluster (None: it can); set by :func:`pytest_configure`.
_no_cluster: str | None = None


def pytest_configure(config):
    # Before any thread of the session exists: only the calling thread changes namespace.
    global _no_cluster
    _no_cluster = enter_private_network()
    try:
        import ray  # noqa: F401
    except ImportError:
        _no_cluster = _no_cluster or "Ray is not installed: pip install -e '.[cluster]'"


@pytest.fixture(scope="session")
def ray_cluster():
    """A real Ray cluster of two nodes (one CPU each) on 127.0.0.1, for the whole session.

    Skipped, with the reason, where it cannot run (not root, not Linux, no Ray), except in CI
    (``CI`` set), where that is a failure. A test that kills a node calls ``restore()`` after.
    """
    if _no_cluster is not None:
        if os.environ.get("CI"):
            pytest.fail(_no_cluster)
        pytest.skip(_no_cluster)
    with LocalCluster(nodes=2) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def sources_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sources")
    (folder / SEED_PAGE.name).write_bytes(SEED_PAGE.read_bytes())
    (folder / "chongqing-200.jsonl").write_bytes((FIXTURES / "chongqing-200.jsonl").read_bytes())
    write_jsonl(folder / "cases.jsonl", SEARCH_CASES)
    write_jsonl(folder / "features.jsonl", FEATURE_CASES)
    return folder


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, sources_dir) -> Path:
    path = tmp_path_factory.mktemp("index")
    NewsIndex.rebuild([sources_dir], path)
    return path


@pytest.fixture(scope="session")
def news(index_dir) -> NewsIndex:
    return NewsIndex.open(index_dir)


@pytest.fixture(scope="session")
def app(index_dir):
    """The web app over the session index (read only)."""
    from web import create_app

    return create_app({"TESTING": True, "INDEX": str(index_dir)})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[int | str, NewsIndex]:
    """The same articles (the first few thousand of the team's corpus when it is there, else the
    seeds) as one index (``"one"``) and as 1, 2 and 4 shards, opened without a time limit."""
    from .test_codec import _articles

    folder = tmp_path_factory.mktemp("shards")
    articles = int(os.environ.get("NEWS_SEARCH_SHARD_ARTICLES", "3000"))
    source = write_jsonl(folder / "articles.jsonl", _articles(articles))
    sources = [source, ROOT / "seeds" / "chongqing-1k.jsonl"]
    NewsIndex.rebuild(sources, folder / "one")
    opened: dict[int | str, NewsIndex] = {"one": NewsIndex.open(folder / "one", time_limit=None)}
    for shards in SHARDS:
        NewsIndex.rebuild(sources, folder / f"s{shards}", shards=shards)
        opened[shards] = NewsIndex.open(folder / f"s{shards}", time_limit=None)
    yield opened
    for news in opened.values():
        news.close()
