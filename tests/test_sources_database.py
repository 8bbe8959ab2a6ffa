"""Database tables as sources, against SQLite and a real PostgreSQL server started for these tests."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy
import zstandard
from click.testing import CliRunner

from search import NewsIndex, SourceError, SourceUnavailable
from search.cli import cli
from search.generations import current_generation, read_meta

PASSWORD = "s3cret-渝"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A PostgreSQL server of Debian's ``postgresql`` package, in a temporary folder, listening on
    127.0.0.1 and a Unix socket in that folder only, with a password user; stopped afterwards."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        reason = "PostgreSQL server binaries not found (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    bin_dir = Path(found[-1]).parent
    # PostgreSQL refuses to run as root: run it as the postgres user the package creates.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="news-pg-"))
    data = folder / "data"
    (folder / "pw").write_text(PASSWORD)
    if as_user:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(folder / "pw", "postgres", "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(
        [*as_user, bin_dir / "initdb", "-D", data, "-U", "news", "-A", "scram-sha-256", f"--pwfile={folder / 'pw'}"]
        + ["-E", "UTF8", "--locale=C"],
        **run,
    )
    options = f"-k {folder} -h 127.0.0.1 -p {port} -c fsync=off"
    subprocess.run([*as_user, bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w", "start"], **run)
    try:
        admin = sqlalchemy.create_engine(
            f"postgresql+psycopg://news:{PASSWORD}@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text("CREATE DATABASE newsroom"))
        admin.dispose()
        yield f"postgresql+psycopg://news:{PASSWORD}@127.0.0.1:{port}/newsroom"
    finally:
        subprocess.run([*as_user, bin_dir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], check=False, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


class Newsroom:
    """A newsroom's CMS table in a real database, and the TOML source file describing it."""

    def __init__(self, url: str, toml_url: str, folder: Path, kind: str):
        self.engine = sqlalchemy.create_engine(url)
        self.toml_url = toml_url
        self.folder = folder
        self.kind = kind
        stamp = "TIMESTAMP" if kind == "postgresql" else "TEXT"
        with self.engine.begin() as connection:
            connection.execute(sqlalchemy.text("DROP TABLE IF EXISTS articles"))
            connection.execute(
                sqlalchemy.text(
                    "CREATE TABLE articles (article_id INTEGER PRIMARY KEY, headline TEXT, content TEXT,"
                    f" published_at {stamp}, outlet TEXT, link TEXT, updated_at {stamp})"
                )
            )

    def rows(self, rows):
        with self.engine.begin() as connection:
            for row in rows:
                connection.execute(
                    sqlalchemy.text(
                        "INSERT INTO articles VALUES (:id, :title, :body, :date, :source, :url, :modified)"
                    ),
                    row,
                )

    def execute(self, sql: str, **params):
        with self.engine.begin() as connection:
            connection.execute(sqlalchemy.text(sql), params)

    def toml(self, name="newsroom.toml", **changes) -> Path:
        entry = {
            "url": json.dumps(self.toml_url),
            "table": '"articles"',
            "fields": '{ id = "article_id", title = "headline", body = "content", date = "published_at",'
            ' source = "outlet", url = "link" }',
            "modified": '"updated_at"',
            "batch": "2",
            **changes,
        }
        text = "[[database]]\n" + "".join(f"{key} = {value}\n" for key, value in entry.items() if value is not None)
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        return path


def stamp(day: int, hour: int = 9):
    value = datetime(2024, 6, day, hour, 0)
    return value


def row(n: int, day: int = 18, modified: int = 18, **changes):
    return {
        "id": n,
        "title": f"重庆新闻第{n}条：轨道交通建设",
        "body": f"重庆日报讯 这是第{n}条消息，讲述重庆轨道交通第{n}号线的建设进展，内容各不相同。",
        "date": stamp(day),
        "source": "重庆日报",
        "url": f"https://www.cqrb.cn/content/2024-06/{day}/content_{n}.htm",
        "modified": stamp(modified),
        **changes,
    }


# The PostgreSQL server takes seconds to start: its half runs in the full suite (and CI), not the
# daily fast one.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def newsroom(request, tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSROOM_PASSWORD", PASSWORD)
    if request.param == "sqlite":
        monkeypatch.setenv("NEWSROOM_DIR", str(tmp_path))
        room = Newsroom(f"sqlite:///{tmp_path}/newsroom.db", "sqlite:///${NEWSROOM_DIR}/newsroom.db", tmp_path, "sqlite")
        room.rows = _sqlite_rows(room)
    else:
        url = request.getfixturevalue("postgres_url")
        room = Newsroom(url, url.replace(PASSWORD, "${NEWSROOM_PASSWORD}"), tmp_path, "postgresql")
    yield room
    room.engine.dispose()


def _sqlite_rows(room):
    insert = room.rows

    def rows(rows):
        # SQLite keeps the times as text, as many CMS exports do.
        insert([{**r, "date": str(r["date"]), "modified": str(r["modified"])} for r in rows])

    return rows


def ids(index) -> set[str]:
    news = NewsIndex.open(index)
    return {h.id for h in news.search("轨道交通", per_page=100, collapse=False).hits}


def test_rebuild_reads_every_row_in_batches_and_keeps_no_password(newsroom, tmp_path):
    newsroom.rows([row(n) for n in range(1, 8)])
    source = newsroom.toml()
    summary = NewsIndex.rebuild([source], tmp_path / "ix")
    assert summary.indexed == 7 and summary.skipped == ()
    assert ids(tmp_path / "ix") == {str(n) for n in range(1, 8)}
    hit = NewsIndex.open(tmp_path / "ix").search("第3号线").hits[0]
    assert (hit.id, hit.source, hit.date) == ("3", "重庆日报", datetime(2024, 6, 18, 9, 0))
    assert hit.url == "https://www.cqrb.cn/content/2024-06/18/content_3.htm"
    generation = current_generation(tmp_path / "ix")
    meta = read_meta(generation)
    assert meta["sources"] == [str(source)]
    assert meta["source_state"][str(source)]["tables"]["articles"]["modified"]
    saved = "".join(p.read_text(errors="replace") for p in generation.iterdir() if p.suffix in (".json", ".tsv"))
    saved += zstandard.ZstdDecompressor().decompressobj().decompress((generation / "suggest.tsv.zst").read_bytes()).decode()
    assert PASSWORD not in saved and "NEWSROOM" not in saved


def test_update_reads_only_changed_rows_and_prunes_deleted_ones(newsroom, tmp_path):
    newsroom.rows([row(n, modified=10 + n) for n in range(1, 6)])
    source = newsroom.toml()
    NewsIndex.rebuild([source], tmp_path / "ix")
    # Changed without touching updated_at: an update that reads only modified rows does not see it.
    newsroom.execute("UPDATE articles SET headline = 'NOT READ' WHERE article_id = 1")
    newsroom.execute(
        "UPDATE articles SET content = :body, updated_at = :modified WHERE article_id = 2",
        body="重庆日报讯 第2条消息已更正：轨道交通2号线延长段今日开通。",
        modified=newsroom_stamp(newsroom, 20),
    )
    newsroom.rows([row(6, day=20, modified=20)])
    newsroom.execute("DELETE FROM articles WHERE article_id = 5")
    summary = NewsIndex.update([source], tmp_path / "ix")
    assert (summary.added, summary.replaced, summary.removed) == (1, 1, 0)
    news = NewsIndex.open(tmp_path / "ix")
    assert news.search("延长段").hits[0].id == "2"
    assert news.search("NOT READ").total == 0
    pruned = NewsIndex.update([source], tmp_path / "ix", prune=True)
    assert (pruned.added, pruned.replaced, pruned.removed) == (0, 0, 1)
    assert ids(tmp_path / "ix") == {"1", "2", "3", "4", "6"}
    meta = read_meta(current_generation(tmp_path / "ix"))
    assert "20" in json.dumps(meta["source_state"])  # the high-water mark moved on


def newsroom_stamp(room, day):
    value = stamp(day)
    return str(value) if room.kind == "sqlite" else value


def test_without_a_modified_column_every_row_is_read(newsroom, tmp_path):
    newsroom.rows([row(n) for n in range(1, 4)])
    source = newsroom.toml(modified=None)
    NewsIndex.rebuild([source], tmp_path / "ix")
    newsroom.execute("UPDATE articles SET headline = '改过的标题：轨道交通' WHERE article_id = 1")
    summary = NewsIndex.update([source], tmp_path / "ix")
    assert (summary.added, summary.replaced, summary.unchanged) == (0, 1, 2)


def test_a_query_and_a_row_that_cannot_be_read(newsroom, tmp_path):
    newsroom.rows([row(n) for n in range(1, 4)])
    newsroom.rows([row(9, title="", body="")])
    query = '"SELECT article_id, headline, content, published_at, outlet, link, updated_at FROM articles WHERE article_id > 1"'
    source = newsroom.toml(table=None, query=query)
    summary = NewsIndex.rebuild([source], tmp_path / "ix")
    assert summary.indexed == 2
    assert [(s.path, s.reason) for s in summary.skipped] == [
        (f"{source}#query", "bad row: id 9: empty record: no title and no article text")
    ]
    with pytest.raises(SourceError, match="bad row: id 9"):
        NewsIndex.rebuild([source], tmp_path / "strict", strict=True)


def test_sqlite_text_in_no_encoding_is_a_bad_row(tmp_path, monkeypatch):
    room = Newsroom(f"sqlite:///{tmp_path}/newsroom.db", "sqlite:///newsroom.db", tmp_path, "sqlite")
    _sqlite_rows(room)([row(1)])
    room.execute(
        "INSERT INTO articles VALUES (7, '坏行', CAST(:junk AS TEXT), '2024-06-18', 'x', '', '2024-06-18')",
        junk=bytes(range(0x80, 0x100)) * 8,
    )
    summary = NewsIndex.rebuild([room.toml()], tmp_path / "ix")  # a relative SQLite file: beside the TOML
    assert summary.indexed == 1
    assert [s.reason.split(":")[0] for s in summary.skipped] == ["bad row"] and "id 7" in summary.skipped[0].reason


@pytest.mark.parametrize(
    "change, message",
    [
        ({"fields": '{ id = "article_id", title = "headline", body = "text_body" }'}, "no column 'text_body' (fields.body)"),
        ({"modified": '"changed_at"'}, "no column 'changed_at' (modified)"),
        ({"table": '"stories"'}, "cannot read the table stories"),
    ],
)
def test_a_wrong_column_or_table_stops_with_one_line_and_keeps_the_index(newsroom, tmp_path, change, message):
    newsroom.rows([row(n) for n in range(1, 4)])
    NewsIndex.rebuild([newsroom.toml()], tmp_path / "ix")
    served = current_generation(tmp_path / "ix")
    broken = newsroom.toml("broken.toml", **change)
    for attempt in (NewsIndex.rebuild, NewsIndex.update):
        with pytest.raises(SourceUnavailable) as raised:
            attempt([broken], tmp_path / "ix")
        assert str(broken) in str(raised.value) and message in str(raised.value)
        assert "\n" not in str(raised.value)
        assert current_generation(tmp_path / "ix") == served


def test_an_unreachable_database_is_one_line_naming_the_source(tmp_path, monkeypatch):
    runner = CliRunner()
    source = tmp_path / "away.toml"
    source.write_text(
        f'[[database]]\nurl = "postgresql+psycopg://news:${{NEWSROOM_PASSWORD}}@127.0.0.1:{_free_port()}/newsroom"\n'
        'table = "articles"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("NEWSROOM_PASSWORD", PASSWORD)
    result = runner.invoke(cli, ["index", "rebuild", "--source", str(source), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {source}: articles: cannot connect to the database")
    assert result.output.count("\n") == 1 and PASSWORD not in result.output
    monkeypatch.delenv("NEWSROOM_PASSWORD")
    result = runner.invoke(cli, ["index", "rebuild", "--source", str(source), "--index", str(tmp_path / "ix")])
    assert "environment variable NEWSROOM_PASSWORD is not set" in result.output


def test_a_toml_file_that_describes_no_table(tmp_path):
    (tmp_path / "notes.toml").write_text('title = "not a source"\n', encoding="utf-8")
    with pytest.raises(SourceUnavailable, match=r"notes.toml: no \[\[database\]\] table"):
        NewsIndex.rebuild([tmp_path / "notes.toml"], tmp_path / "ix")
