import json

from click.testing import CliRunner

from search.cli import cli

from .helpers import SEED_TITLE


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_rebuild_and_search_json(tmp_path, sources_dir):
    ix = str(tmp_path / "ix")
    result = run("index", "rebuild", "--source", str(sources_dir), "--index", ix, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["indexed"] > 200 and summary["skipped"] == [] and summary["seconds"] > 0

    result = run("search", '"一区两群"', "--index", ix, "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["hits"][0]["title"] == SEED_TITLE
    assert "<mark>一区两群</mark>" in data["hits"][0]["snippet"]
    assert data["hits"][0]["date"] == "2020-06-20T09:53:00"
    assert "timeline" not in data

    result = run("search", "重庆", "--index", ix, "--json", "--timeline")
    data = json.loads(result.output)
    chart = data["timeline"]
    assert chart["unit"] in ("month", "year") and chart["bars"]
    # Each bar holds the matches of its month (or year), as the month facet counts them, and no
    # dated match is left out.
    months = {m["value"]: m["count"] for m in data["facets"]["month"]}
    labels = {bar["label"] for bar in chart["bars"]}
    for bar in chart["bars"]:
        assert bar["start"].startswith(bar["label"])
        assert bar["count"] == sum(n for month, n in months.items() if month.startswith(bar["label"]))
    assert {month[: len(next(iter(labels)))] for month in months} <= labels

    result = run(
        "search", "重庆", "--index", ix, "--limit", "3", "--page", "2", "--sort", "date", "--source", "中国新闻网"
    )
    assert result.exit_code == 0 and result.output.startswith(tuple("0123456789"))
    assert result.output.count("中国新闻网") == 3


def test_rebuild_text_summary_lists_skipped_files(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ok.jsonl").write_text('{"id": "1", "title": "标题", "body": "正文"}\n', encoding="utf-8")
    (tmp_path / "src" / "empty.txt").write_text("", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["index", "rebuild", "--source", str(tmp_path / "src"), "--index", str(tmp_path / "ix")]
    )
    assert result.exit_code == 0
    assert "Indexed 1 articles" in result.output and "empty.txt: empty file" in result.output


def test_strict_rebuild_fails_with_one_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text("nope\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["index", "rebuild", "--source", str(tmp_path / "bad.jsonl"), "--index", str(tmp_path / "ix"), "--strict"]
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "bad.jsonl:1" in result.output and result.output.count("\n") == 1


def test_search_errors_are_one_line(tmp_path, index_dir):
    missing = CliRunner().invoke(cli, ["search", "重庆", "--index", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "Error:" in missing.output and "Traceback" not in missing.output
    bad_date = CliRunner().invoke(cli, ["search", "重庆", "--index", str(index_dir), "--from", "soon"])
    assert bad_date.exit_code == 1 and "not a date" in bad_date.output


def test_a_query_may_start_with_a_dash(index_dir):
    # Found by the fuzz test: click took "-0" for an option and stopped with a usage message.
    for query in ["-0", "-重庆 两江", "--重庆"]:
        result = CliRunner().invoke(cli, ["search", query, "--index", str(index_dir), "--json"])
        assert result.exit_code == 0, result.output
        assert "hits" in json.loads(result.output)
    result = CliRunner().invoke(cli, ["suggest", "-重", "--index", str(index_dir)])
    assert result.exit_code == 0, result.output


def test_every_command_is_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for name, command in cli.commands.items():
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for sub in subcommands:
                assert f"news-search {name} {sub}" in readme
        else:
            assert f"news-search {name}" in readme
