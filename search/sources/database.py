"""Database tables as sources: a TOML file (``*.toml``) of ``[[database]]`` tables, read through
SQLAlchemy.

::

    [[database]]
    url = "postgresql+psycopg://reader:${NEWSROOM_PASSWORD}@127.0.0.1/newsroom"
    table = "articles"                 # or: query = "SELECT ... FROM ... WHERE ..."
    fields = { id = "article_id", title = "headline", body = "content", date = "published_at" }
    modified = "updated_at"            # optional

``${NAME}`` in the URL is read from the environment when the table is read: the index records the
TOML file's path, never the URL. A relative SQLite file (``sqlite:///newsroom.db``) is looked for
beside the TOML file. Fields not named in ``fields`` are found as in JSON records (a
column called ``title``, ``body``, ``content``, ``url``, …; see :mod:`.records`).

Rows are streamed in batches (a server-side cursor where the driver has one), never all in
memory. A rebuild reads every row and remembers the highest ``modified`` value; an update then
reads only the rows modified since (``>=``: a row changed in the same instant as the last read is
read again rather than missed), and, to prune, every id. A database that cannot be reached, a
table or a column that does not exist, raise :class:`~search.errors.SourceUnavailable`: the
rebuild or update stops and the served index is kept. A row that cannot be read is reported with
its key, and reading goes on.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..errors import SourceError, SourceUnavailable, first_line
from .article import Article
from .encoding import decode
from .records import DEFAULT_FIELDS, RecordError, record_article
from .state import Reading

#: Rows fetched from the database at a time.
BATCH = 1000
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KEYS = {"url", "table", "query", "fields", "modified", "batch"}


@dataclass(frozen=True)
class Table:
    """One ``[[database]]`` table of a TOML source file."""

    url: str  # as written: ``${NAME}`` not expanded
    table: str | None
    query: str | None
    fields: dict[str, str]
    modified: str | None
    label: str  # the table's name, or ``query`` (numbered when a file has several)
    batch: int = BATCH


def is_database_file(path: str) -> bool:
    return path.lower().endswith(".toml")


def load(path: str) -> list[Table]:
    """The tables a TOML source file describes.

    :raises SourceUnavailable: for a file that is not TOML or does not describe tables correctly
    """
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise SourceUnavailable(path, f"bad TOML: {error}") from None
    except OSError as error:
        raise SourceUnavailable(path, f"cannot read: {error.strerror or error}") from None
    entries = data.get("database")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise SourceUnavailable(path, "no [[database]] table in this TOML file")
    tables: list[Table] = []
    labels: set[str] = set()
    for number, entry in enumerate(entries, 1):
        where = f"[[database]] {number}"
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            raise SourceUnavailable(path, f"{where}: unknown key {unknown[0]!r}; keys are {', '.join(sorted(_KEYS))}")
        url, table, query = entry.get("url"), entry.get("table"), entry.get("query")
        if not isinstance(url, str) or not url.strip():
            raise SourceUnavailable(path, f"{where}: no url (a SQLAlchemy URL such as sqlite:///newsroom.db)")
        if bool(table) == bool(query) or not isinstance(table or query, str):
            raise SourceUnavailable(path, f'{where}: give either table = "NAME" or query = "SELECT ..."')
        fields = entry.get("fields", {})
        if not isinstance(fields, dict) or not all(isinstance(v, str) and v for v in fields.values()):
            raise SourceUnavailable(path, f"{where}: fields must map article fields to column names")
        wrong = sorted(set(fields) - set(DEFAULT_FIELDS))
        if wrong:
            raise SourceUnavailable(
                path, f"{where}: unknown article field {wrong[0]!r}; choose from {', '.join(DEFAULT_FIELDS)}"
            )
        modified = entry.get("modified")
        if modified is not None and (not isinstance(modified, str) or not modified):
            raise SourceUnavailable(path, f"{where}: modified must name a column")
        batch = entry.get("batch", BATCH)
        if not isinstance(batch, int) or batch < 1:
            raise SourceUnavailable(path, f"{where}: batch must be a positive number of rows")
        label = table or "query"
        if label in labels:
            label = f"{label}-{number}"
        labels.add(label)
        tables.append(Table(url.strip(), table, query, dict(fields), modified, label, batch))
    return tables


def expand(url: str, path: str) -> str:
    """The URL with each ``${NAME}`` replaced by the environment variable ``NAME``."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise SourceUnavailable(path, f"environment variable {name} is not set (used in a database url)")
        return os.environ[name]

    return _ENV.sub(value, url)


def article_path(path: str, table: Table) -> str:
    """What an article read from ``table`` records as its path: the TOML file and the table."""
    return f"{path}#{table.label}"


def read_database_file(path: str, on_error: Callable[[SourceError], None], reading: Reading) -> Iterator[Article]:
    """Every article of the tables a TOML source file describes (only rows modified since the last
    read, when ``reading`` is incremental and a table has a ``modified`` column)."""
    tables = load(path)
    previous = reading.previous.get(path, {}).get("tables", {})
    saved: dict[str, dict] = {}
    for table in tables:
        mark = _load_mark(previous.get(table.label, {}).get("modified")) if reading.incremental else None
        reader = _TableReader(path, table, on_error)
        yield from reader.read(mark, reading.list_ids)
        saved[table.label] = {"modified": _save_mark(reader.mark if reader.mark is not None else mark)}
        if reader.ids is not None:
            reading.present[article_path(path, table)] = reader.ids
    reading.state[path] = {"tables": saved}


def _save_mark(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if value is None or isinstance(value, int | float | str):
        return value
    return str(value)


def _load_mark(value: Any) -> Any:
    if isinstance(value, dict):
        if "datetime" in value:
            return datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return date.fromisoformat(value["date"])
        return None
    return value


def _sqlite_text(data: bytes) -> str | bytes:
    """SQLite text as ``str``, or the raw bytes when they are not UTF-8 (decoded per row later)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


class _TableReader:
    def __init__(self, path: str, table: Table, on_error: Callable[[SourceError], None]):
        self.path = path
        self.table = table
        self.on_error = on_error
        self.where = article_path(path, table)
        self.mark: Any = None
        self.ids: set[str] | None = None

    def fail(self, reason: str) -> SourceUnavailable:
        return SourceUnavailable(self.path, f"{self.table.label}: {reason}")

    def engine(self):
        import sqlalchemy
        from sqlalchemy import event, exc

        url = expand(self.table.url, self.path)
        try:
            parsed = sqlalchemy.engine.make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
                # A relative SQLite file is next to the TOML file, wherever the command runs.
                folder = os.path.dirname(os.path.abspath(self.path))
                parsed = parsed.set(database=os.path.join(folder, os.path.expanduser(parsed.database)))
            engine = sqlalchemy.create_engine(parsed, poolclass=sqlalchemy.pool.NullPool)
        except exc.NoSuchModuleError as error:
            raise self.fail(f"no driver for this database url ({first_line(error)})") from None
        except (exc.ArgumentError, ValueError) as error:
            raise self.fail(f"bad database url: {first_line(error)}") from None
        except ImportError as error:
            raise self.fail(f"the database driver is not installed: {error.name or error}") from None
        if engine.dialect.name == "sqlite":
            event.listen(
                engine, "connect", lambda connection, _record: setattr(connection, "text_factory", _sqlite_text)
            )
        return engine

    def read(self, mark: Any, list_ids: bool) -> Iterator[Article]:
        import sqlalchemy
        from sqlalchemy import exc

        engine = self.engine()
        try:
            try:
                connection = engine.connect()
            except exc.SQLAlchemyError as error:
                raise self.fail(f"cannot connect to the database: {first_line(error)}") from None
            with connection:
                source, columns = self._source(connection)
                chosen = self._columns(columns)
                wanted = [sqlalchemy.column(name) for name in chosen.values()]
                statement = sqlalchemy.select(*wanted).select_from(source)
                modified = self._modified(columns)
                if modified is not None:
                    statement = statement.add_columns(sqlalchemy.column(modified).label("__modified"))
                    if mark is not None:
                        statement = statement.where(sqlalchemy.column(modified) >= mark)
                self.mark = mark
                try:
                    result = connection.execution_options(stream_results=True, yield_per=self.table.batch).execute(
                        statement
                    )
                    for row in result:
                        values = dict(zip(chosen, row, strict=False))
                        if modified is not None:
                            self._advance(row[-1])
                        article = self._article(values)
                        if article is not None:
                            yield article
                except exc.SQLAlchemyError as error:
                    raise self.fail(f"reading failed: {first_line(error)}") from None
                if list_ids:
                    id_column = sqlalchemy.column(chosen["id"])
                    try:
                        found = connection.execution_options(stream_results=True, yield_per=10 * self.table.batch)
                        self.ids = {
                            _key_text(v)
                            for v in found.execute(sqlalchemy.select(id_column).select_from(source)).scalars()
                        }
                    except exc.SQLAlchemyError as error:
                        raise self.fail(f"listing ids failed: {first_line(error)}") from None
        finally:
            engine.dispose()

    def _source(self, connection):
        """The table (or the query, as a subquery) and its column names."""
        import sqlalchemy
        from sqlalchemy import exc

        if self.table.table:
            schema, _, name = self.table.table.rpartition(".")
            probe = sqlalchemy.table(name, schema=schema or None)
        else:
            probe = sqlalchemy.text(self.table.query).columns().subquery("src")
        try:
            if self.table.table:
                columns = list(
                    connection.execute(
                        sqlalchemy.select(sqlalchemy.text("*")).select_from(probe).where(sqlalchemy.false())
                    ).keys()
                )
            else:
                query = self.table.query.strip().rstrip(";")
                columns = list(
                    connection.execute(sqlalchemy.text(f"SELECT * FROM ({query}) AS src WHERE 1 = 0")).keys()
                )
        except exc.SQLAlchemyError as error:
            connection.rollback()
            what = f"table {self.table.table}" if self.table.table else "query"
            raise self.fail(f"cannot read the {what}: {first_line(error)}") from None
        if self.table.table:
            source = sqlalchemy.table(name, *(sqlalchemy.column(c) for c in columns), schema=schema or None)
        else:
            query = self.table.query.strip().rstrip(";")
            source = sqlalchemy.text(query).columns(*(sqlalchemy.column(c) for c in columns)).subquery("src")
        return source, columns

    def _find(self, columns: list[str], name: str) -> str | None:
        if name in columns:
            return name
        return next((c for c in columns if c.lower() == name.lower()), None)

    def _columns(self, columns: list[str]) -> dict[str, str]:
        """Article field -> the column it is read from."""
        chosen: dict[str, str] = {}
        for target, names in DEFAULT_FIELDS.items():
            named = self.table.fields.get(target)
            if named is not None:
                found = self._find(columns, named)
                if found is None:
                    raise self.fail(f"no column {named!r} (fields.{target}); the columns are {', '.join(columns)}")
                chosen[target] = found
                continue
            found = next((c for c in (self._find(columns, n) for n in names) if c is not None), None)
            if found is not None:
                chosen[target] = found
        if "id" not in chosen:
            raise self.fail(f"no id column: name it with fields.id; the columns are {', '.join(columns)}")
        if "title" not in chosen and "body" not in chosen:
            raise self.fail(f"no title or body column: name them in fields; the columns are {', '.join(columns)}")
        return chosen

    def _modified(self, columns: list[str]) -> str | None:
        if self.table.modified is None:
            return None
        found = self._find(columns, self.table.modified)
        if found is None:
            raise self.fail(f"no column {self.table.modified!r} (modified); the columns are {', '.join(columns)}")
        return found

    def _advance(self, value: Any) -> None:
        if value is None:
            return
        try:
            if self.mark is None or value > self.mark:
                self.mark = value
        except TypeError:  # values of mixed types (a text column of dates): the last one read wins
            self.mark = value

    def _article(self, values: dict[str, Any]) -> Article | None:
        key = _key_text(values["id"]) if values.get("id") is not None else "?"
        record: dict[str, Any] = {}
        try:
            for name, value in values.items():
                record[name] = _value(value, f"{self.where} row {key}")
            article = record_article(record, self.where, _FIELDS)
        except (RecordError, SourceError) as error:
            reason = error.reason if isinstance(error, SourceError) else str(error)
            self.on_error(SourceError(self.where, f"bad row: id {key}: {reason}"))
            return None
        return article


#: Rows are read into records under the article fields' own names.
_FIELDS = {target: (target,) for target in DEFAULT_FIELDS}


def _key_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value).strip()


def _value(value: Any, where: str) -> Any:
    """A column value as the record readers take it: text, a number or a date's ISO form."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        if not value:
            return ""
        return decode(value, where)  # raises SourceError: bytes in no encoding we can tell
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


__all__ = ["BATCH", "Table", "article_path", "expand", "is_database_file", "load", "read_database_file"]
