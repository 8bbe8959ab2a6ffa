"""The reliability drill in small (the long one is ``python -m tools.reliability``), and searches cut
off by the time limit."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from search import NewsIndex
from search.cli import cli
from tools.reliability import drill_records, format_report, run
from web import create_app

from .audit import page_problems


@pytest.mark.slow
def test_drill_kills_writers_and_loads_the_real_server_without_an_error(tmp_path):
    """Writers killed at random moments leave a whole index and recover; a server under load while
    the index is rebuilt and updated answers every request as it should and serves the last one."""
    report = run([], tmp_path / "work", kills=1, load_seconds=5, clients=3, seed=7, size=60)
    kill, load = report["kill_loop"], report["load_run"]
    assert report["ok"], format_report(report)
    assert kill["rounds"] == 1 and kill["served_complete"] == 1 and kill["recovered"] == 1
    assert load["requests"] > 20 and not load["errors"] and load["writer_failures"] == 0
    assert set(load["by_status"]) <= {"200", "400"} and load["by_kind"]["bad parameter"] >= 0
    assert load["generations_published"] >= 1 and load["served_last_generation"]
    assert "served index whole   1 of 1" in format_report(report)


@pytest.mark.slow
def test_hostile_load_gets_pages_or_400s_and_cheap_queries_still_answer(tmp_path, index_dir, monkeypatch):
    """The costliest query shapes from eight clients: no 5xx, some refused, and a ninth client's
    cheap queries are answered all along."""
    monkeypatch.setenv("NEWS_SEARCH_TIME_LIMIT", "0.5")
    report = run(
        [], tmp_path / "work", kills=0, load_seconds=0, clients=8, seed=3, hostile_seconds=6, hostile_index=index_dir
    )
    hostile = report["hostile_load"]
    # Latency is the drill's figure to report, not this test's to assert (the machine may be busy).
    assert not hostile["errors"] and all("p95" in problem for problem in hostile["problems"]), format_report(report)
    assert hostile["time_limit"] == 0.5
    assert set(hostile["hostile_by_status"]) <= {"200", "400"} and hostile["hostile_by_status"].get("400")
    assert hostile["cheap_requests"] >= 1 and hostile["hostile_requests"] > hostile["clients"]
    assert "Hostile load" in format_report(report)


def test_update_bench_drill_file_changes_and_adds_articles():
    """The update benchmark's ``changed`` articles really differ: half edited, half new."""
    for version in (0, 1):
        plain = {r["id"]: r["body"] for r in drill_records(version, 60)}
        tweaked = {r["id"]: r["body"] for r in drill_records(version, 60, 10)}
        assert len(tweaked) - len(plain) == 5, "five articles added"
        assert sum(1 for i, body in plain.items() if tweaked[i] != body) == 5, "five articles changed"


def test_a_search_out_of_time_returns_partial_results(index_dir, news):
    complete = news.search("重庆", per_page=20, facets=True)
    assert not complete.partial and complete.total > 20
    hurried = NewsIndex(index_dir, time_limit=1e-9).search("重庆", per_page=20, facets=True)
    assert hurried.partial and hurried.to_dict()["partial"] is True
    # What it found by then: real hits of the query, fewer of them, and no facets.
    assert 1 <= hurried.total < complete.total and hurried.hits
    assert hurried.facets and not any(hurried.facets.values())
    assert {hit.id for hit in hurried.hits} <= {hit.id for hit in news.search("重庆", per_page=100).hits}
    # The same, filtered: the filter still holds.
    source = next(facet.value for facet in complete.facets["source"] if facet.value)
    filtered = NewsIndex(index_dir, time_limit=1e-9).search("重庆", source=source)
    assert filtered.partial and {hit.source for hit in filtered.hits} == {source}


def test_partial_results_are_flagged_on_the_page_and_in_the_api(index_dir):
    client = create_app({"TESTING": True, "INDEX": str(index_dir), "TIME_LIMIT": 1e-9}).test_client()
    response = client.get("/search?q=重庆")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="partial-note"' in page and "部分结果" in page
    assert not page_problems(page)
    data = client.get("/api/search?q=重庆").get_json()
    assert data["partial"] is True and data["hits"]
    relaxed = create_app({"TESTING": True, "INDEX": str(index_dir), "TIME_LIMIT": 0}).test_client()
    assert relaxed.get("/api/search?q=重庆").get_json()["partial"] is False
    assert 'id="partial-note"' not in relaxed.get("/search?q=重庆").get_data(as_text=True)


def test_cli_time_limit(index_dir):
    runner = CliRunner()
    hurried = runner.invoke(cli, ["search", "重庆", "--index", str(index_dir), "--time-limit", "1e-9", "--json"])
    assert hurried.exit_code == 0 and json.loads(hurried.stdout)["partial"] is True
    hurried = runner.invoke(cli, ["search", "重庆", "--index", str(index_dir), "--time-limit", "1e-9"])
    assert "ran out of time" in hurried.stderr
    relaxed = runner.invoke(cli, ["search", "重庆", "--index", str(index_dir), "--json"])
    assert json.loads(relaxed.stdout)["partial"] is False
