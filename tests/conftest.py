"""Fixtures: a real on-disk index built once per session from real and crafted articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import NewsIndex

from .feature_cases import FEATURE_CASES, SEARCH_CASES
from .helpers import FIXTURES, SEED_PAGE, write_jsonl


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

