"""Updating an index in place of a rebuild: add new articles, replace changed ones, prune gone ones.

An update reads the sources the way a rebuild does (same readers, same ids, same handling of
re-read records and clashing ids), compares what it read with what the served generation holds,
and writes only the difference. It never touches the served generation: it links the served
generation's files into ``build-<stamp>/`` (Whoosh never rewrites a file it has written; a commit
adds segment files and a new table of contents, and deletions live in that table of contents), opens
one Whoosh writer there, deletes and adds, commits once, and publishes the result exactly like a
rebuild: rename to ``gen-<stamp>/`` and replace ``CURRENT`` atomically. Readers therefore see the
whole update or none of it, a reader already searching keeps its view, and an update killed at
any moment leaves the served index as it was (the next writer removes what it left).

An article is *changed* when its content hash (``digest``, the normalised body) differs from the
indexed one, or when any other stored field differs (title, date, source, URL, byline, or the file
it comes from): what is served is then exactly what a rebuild over the same sources would serve.

With ``prune``, an article whose source is gone is removed. "Gone" means, within the sources given
to this update:

- its file does not exist (it was under a source folder that does exist), or
- its file was read in full, without any problem, and does not hold it, or
- it came from a database table that no longer holds its id (every id is listed on a prune).

A feed's entries are never pruned: a feed lists only its latest entries. A database table with a
``modified`` column is read only from the last update's high-water mark on (its rows not read are
unchanged, not gone); a feed URL is asked conditionally (see :mod:`search.sources.state`).

A file that could not be read, or that had an unreadable record, keeps all of its indexed articles
(its readable records are still added or replaced): a broken or half-written file loses nothing. A
source path that does not exist at all is reported and prunes nothing (an unmounted disk or a typo
must not empty the index), and an update that would leave the index empty is refused.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index

from . import schema as fields
from . import sidecars
from .codec import NewsCodec
from .errors import IndexNotFound, SourceError
from .generations import (
    LOCK_TIMEOUT,
    building,
    building_shards,
    clean_stale,
    current_generation,
    current_generations,
    open_checked,
    publish,
    publish_shards,
    read_meta,
    write_lock,
)
from .indexer import (
    SUGGESTED,
    Distinct,
    ProgressFn,
    Skipped,
    document,
    known_fields,
    prepare,
    rebuild,
    record_keys,
    sharded_sidecars,
)
from .schema import build_schema
from .shards import load_order, shard_of
from .sources import Article, Reading, read_sources, source_files
from .sources.article import normalise_url
from .writer import INDEX_NAME, SegmentBuilder, chunk_chars_for, default_workers

#: Stored fields compared, besides ``digest`` and ``path``, to tell whether an article changed.
_COMPARED = (fields.TITLE, fields.BODY, fields.SOURCE, fields.URL, fields.BYLINE)


@dataclass(frozen=True)
class UpdateSummary:
    """What an update did.

    ``generation`` is the generation served afterwards (a new one when anything changed);
    ``rebuilt`` is true when there was no index yet and the update built one.
    """

    added: int
    replaced: int
    removed: int
    unchanged: int
    duplicates: int
    skipped: tuple[Skipped, ...]
    seconds: float
    index_dir: str
    files: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    generation: str = ""
    rebuilt: bool = False

    @property
    def changed(self) -> int:
        return self.added + self.replaced + self.removed

    def to_dict(self) -> dict:
        return {
            "added": self.added,
            "replaced": self.replaced,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "documents": self.documents,
            "files": self.files,
            "skipped": [s.to_dict() for s in self.skipped],
            "skipped_by_reason": dict(self.reasons),
            "seconds": round(self.seconds, 3),
            "index": self.index_dir,
            "generation": self.generation,
            "rebuilt": self.rebuilt,
        }


@dataclass
class SourcesRead:
    """What reading the sources gave: the articles a rebuild would index, and which files were read whole."""

    articles: list[Article]
    duplicates: int
    files: list[str]
    clean_files: set[str]
    skipped: list[Skipped]
    #: Database tables read in part (rows modified since the last update): every id they hold, by
    #: the path their articles record.
    present: dict[str, set[str]] = field(default_factory=dict)


def update(
    sources: Iterable[str | os.PathLike] | None,
    index_dir: str | os.PathLike,
    *,
    prune: bool = False,
    strict: bool = False,
    on_progress: ProgressFn | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    fields: Mapping[str, str | Iterable[str]] | None = None,
    follow_links: bool = False,
) -> UpdateSummary:
    """Bring the index at ``index_dir`` up to date with ``sources``, writing only what changed.

    :param sources: source files or folders; ``None``: those the index records (the ones its rebuild
        and earlier updates read)
    :param prune: also remove articles whose source is gone (see the module's documentation)
    :param strict: stop at the first unreadable file or record (raise its :class:`SourceError`)
    :param on_progress: called as ``(files_done, files_total, articles_read)`` while reading, then
        as ``(files_total, files_total, articles_written)`` while writing
    :param fields: record field names for JSON and ``<doc>`` files, e.g. ``{"body": "maintext"}``
    :param follow_links: complete a feed entry that has only a summary from its article page
    :raises SourceError: in strict mode, or when the update would leave the index empty
    :raises SourceUnavailable: when a database source cannot be read at all (the index is kept)
    :raises IndexLocked: when another writer holds the index longer than ``lock_timeout`` seconds
    """
    started = time.perf_counter()
    root = Path(index_dir)
    if sources is None:
        generation = current_generation(root)
        if generation is None:
            raise IndexNotFound(str(root), "no index here to update; give --source or run `news-search index rebuild`")
        sources = read_meta(generation).get("sources") or []
        if not sources:
            raise SourceError(str(root), "the index does not record its sources; give them with --source")
    sources = [os.fspath(s) for s in sources]
    if current_generation(root) is None or not _same_schema(current_generation(root)):
        # No index yet, or one written with other fields or in another format (by another version):
        # only a rebuild will do (into as many shards as the index had).
        built = rebuild(
            sources,
            root,
            strict=strict,
            on_progress=on_progress,
            lock_timeout=lock_timeout,
            fields=fields,
            follow_links=follow_links,
            shards=len(current_generations(root) or [None]),
        )
        return UpdateSummary(
            added=built.indexed,
            replaced=0,
            removed=0,
            unchanged=0,
            duplicates=built.duplicates,
            skipped=built.skipped,
            seconds=built.seconds,
            index_dir=built.index_dir,
            files=built.files,
            reasons=built.reasons,
            documents=built.indexed,
            generation=current_generation(root).name,
            rebuilt=True,
        )

    # Reading comes before the lock (a second writer waits for the writing only); the plan is made
    # against whatever generation is served once the lock is held.
    reading = Reading(
        previous=read_meta(current_generation(root)).get("source_state") or {},
        incremental=True,
        list_ids=prune,
        follow_links=follow_links,
    )
    read = read_articles(sources, strict, on_progress, fields, reading)
    with write_lock(root, lock_timeout):
        clean_stale(root)
        served = current_generations(root)
        if served is None or not all(whoosh_index.exists_in(str(shard)) for shard in served):
            raise IndexNotFound(str(root))
        plan = _plan(served, read, sources, prune)
        documents = plan.documents
        generation = served[0]
        if plan.changed:
            if documents == 0:
                raise SourceError(
                    ", ".join(sources) or str(root), "the update would leave the index empty; the index is kept"
                )
            if len(served) == 1:
                generation = _write(root, served[0], plan, sources, on_progress, len(read.files), reading)
            else:
                generation = _write_shards(root, served, plan, sources, on_progress, len(read.files), reading)
            clean_stale(root)
    skipped = tuple(read.skipped)
    return UpdateSummary(
        added=len(plan.added),
        replaced=len(plan.replaced),
        removed=len(plan.removed),
        unchanged=plan.unchanged,
        duplicates=read.duplicates + plan.duplicates,
        skipped=skipped,
        seconds=time.perf_counter() - started,
        index_dir=str(root),
        files=len(read.files),
        reasons=dict(Counter(s.reason.split(":")[0] for s in skipped)),
        documents=documents,
        generation=generation.name,
    )


def _same_schema(generation: Path) -> bool:
    """Whether the generation has the fields and the format this version writes."""
    try:
        index = open_checked(generation)
    except Exception:  # noqa: BLE001 - an unreadable or outdated generation is rebuilt, not updated
        return False
    try:
        return sorted(index.schema.names()) == sorted(build_schema().names())
    finally:
        index.close()


def read_articles(
    sources: list[str],
    strict: bool = False,
    on_progress: ProgressFn | None = None,
    fields: Mapping[str, str | Iterable[str]] | None = None,
    reading: Reading | None = None,
) -> SourcesRead:
    """Read every source as a rebuild would, keeping what a rebuild would index (of a database
    table with a ``modified`` column, on an update, only the rows changed since the last read)."""
    reading = reading if reading is not None else Reading()
    files = list(source_files(sources))
    skipped: list[Skipped] = []
    troubled: set[str] = set()

    def on_error(error: SourceError) -> None:
        if strict:
            raise error
        skipped.append(Skipped(error.path, error.reason, error.line))
        troubled.add(error.path)

    articles: list[Article] = []
    distinct = Distinct()  # the same rules as a rebuild, so both serve the same articles
    for done, path in enumerate(files, 1):
        articles += filter(None, map(distinct.admit, read_sources([path], on_error, fields=fields, reading=reading)))
        if on_progress is not None:
            on_progress(done, len(files), len(articles))
    # A feed file lists only its latest entries: never "read whole".
    clean = {_key(path) for path in files if path not in troubled and path not in reading.kept and os.path.isfile(path)}
    present = {_key(path): ids for path, ids in reading.present.items() if path not in troubled}
    return SourcesRead(articles, distinct.duplicates, files, clean, skipped, present)


@dataclass
class _Plan:
    """What an update writes: articles to add and to replace, ids to remove."""

    added: list[Article] = field(default_factory=list)
    replaced: list[Article] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    duplicates: int = 0
    documents: int = 0
    #: What the served generations hold (see :func:`_indexed`).
    indexed: dict = field(default_factory=dict, repr=False)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)


def _key(path: str) -> str:
    """A path as compared between the index and the sources (the index keeps it as it was given)."""
    return os.path.normpath(os.path.abspath(path))


@dataclass(frozen=True)
class _Indexed:
    """What an update needs to know of an indexed article (not its text: an index can be large)."""

    digest: str
    path: str
    fingerprint: str
    url: str = ""
    #: The article's place in the whole index (of an index that is not sharded: its document number).
    place: int = 0


def _fingerprint(digest: str, published, values) -> str:
    """A hash of everything stored about an article but its file."""
    text = "\x1f".join([digest, repr(published), *values])
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _indexed(served: Path) -> dict[str, _Indexed]:
    """Every article the served generation (one shard of a sharded index) holds, by id."""
    index = whoosh_index.open_dir(str(served))
    try:
        with index.reader() as reader:
            order = load_order(served, reader.doc_count_all())
            return {
                stored[fields.ID_FIELD]: _Indexed(
                    stored.get(fields.DIGEST, ""),
                    stored.get(fields.PATH, ""),
                    _fingerprint(
                        stored.get(fields.DIGEST, ""),
                        stored.get(fields.PUBLISHED),
                        [stored.get(name, "") for name in _COMPARED],
                    ),
                    normalise_url(stored.get(fields.URL, "")) if stored.get(fields.URL) else "",
                    int(order[docnum]),
                )
                for docnum, stored in reader.iter_docs()
            }
    finally:
        index.close()


def _plan(served: list[Path], read: SourcesRead, sources: list[str], prune: bool) -> _Plan:
    """Compare what the sources hold with what the served generations (every shard) hold."""
    indexed = {article_id: known for shard in served for article_id, known in _indexed(shard).items()}
    plan = _Plan(indexed=indexed)
    wanted = {article.id for article in read.articles}
    if prune:
        roots = [_key(s) for s in sources if os.path.isdir(s)]
        for article_id, known in indexed.items():
            if article_id in wanted:
                continue
            held = read.present.get(_key(known.path)) if known.path else None
            if held is not None:
                # A database table: gone when its id is no longer in the table (an id renamed for a
                # clash, ``<id>-<digest>``, by the id it was given).
                if article_id not in held and _renamed_from(article_id) not in held:
                    plan.removed.append(article_id)
            elif _gone(known.path, read.clean_files, roots):
                plan.removed.append(article_id)
    gone = set(plan.removed)
    fresh: list[Article] = []
    for article in read.articles:
        known = indexed.get(article.id)
        if known is None:
            fresh.append(article)
        elif _same(known, article):
            plan.unchanged += 1
        else:
            plan.replaced.append(article)
            gone.add(article.id)
    # A new id holding a record already indexed under another id (its URL with the same content)
    # is a re-read, as in a rebuild; the same body at another URL is a copy, and is added.
    records = {("url", known.url, known.digest) for article_id, known in indexed.items() if article_id not in gone}
    records.update(key for article in plan.replaced for key in record_keys(article))
    for article in fresh:
        keys = record_keys(article)
        if any(key in records for key in keys[1:]):
            plan.duplicates += 1
            continue
        records.update(keys)
        plan.added.append(article)
    plan.documents = len(indexed) - len(plan.removed) + len(plan.added)
    return plan


def _renamed_from(article_id: str) -> str | None:
    """The id an article had before it was renamed ``<id>-<digest>`` for a clash, else ``None``."""
    base, _, suffix = article_id.rpartition("-")
    if base and len(suffix) == 8 and all(c in "0123456789abcdef" for c in suffix):
        return base
    return None


def _gone(path: str, clean_files: set[str], roots: list[str]) -> bool:
    """Whether an indexed article's source is gone: its file was read whole without it, or its
    file, under one of the source folders, does not exist."""
    if not path:
        return False
    key = _key(path)
    if key in clean_files:
        return True
    return not os.path.exists(path) and any(key.startswith(root + os.sep) for root in roots)


def _same(known: _Indexed, article: Article) -> bool:
    """Whether the indexed article is the one read (content hash, every stored field, the file)."""
    if known.digest != article.digest:
        return False
    if known.fingerprint != _fingerprint(article.digest, article.published, [getattr(article, n) for n in _COMPARED]):
        return False
    return known.path == article.path or _key(known.path) == _key(article.path)


# Writing ----------------------------------------------------------------------------------------------


def _link_generation(served: Path, build: Path) -> None:
    """Give ``build`` the Whoosh files of ``served``: hard links (Whoosh never rewrites a file it
    has written), copies where linking is not possible. Whoosh's lock file is left out, and so is
    everything else (our metadata, the sidecar files): those are written anew, never through a link."""
    build.mkdir()
    for entry in served.iterdir():
        # The index's own files (``MAIN_*`` and ``_MAIN_*``).
        whoosh_file = entry.name.startswith((f"{INDEX_NAME}_", f"_{INDEX_NAME}_"))
        if not entry.is_file() or not whoosh_file or entry.name.endswith("WRITELOCK"):
            continue
        target = build / entry.name
        try:
            os.link(entry, target)
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                raise
            shutil.copy2(entry, target)


def _write(
    root: Path,
    served: Path,
    plan: _Plan,
    sources: list[str],
    on_progress: ProgressFn | None,
    files: int,
    reading: Reading,
) -> Path:
    """Write the plan into a new generation beside the served one, then publish it."""
    with building(root) as build:
        _link_generation(served, build)
        index = whoosh_index.open_dir(str(build))
        try:
            writer = index.writer(codec=NewsCodec())
            try:
                for article_id in [*plan.removed, *(a.id for a in plan.replaced)]:
                    writer.delete_by_term(fields.ID_FIELD, article_id)
                for written, article in enumerate([*plan.replaced, *plan.added], 1):
                    writer.add_document(**document(article))
                    if on_progress is not None and written % 100 == 0:
                        on_progress(files, files, written)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
            documents = index.doc_count()
        finally:
            index.close()
        # Copies and suggestions are computed over the whole generation (document numbers change).
        extras = sidecars.write(build, previous=served)  # signatures of unchanged bodies reused
        meta = _updated_meta(read_meta(served), extras, documents, sources, reading, plan)
        return publish(root, build, meta)


def _updated_meta(meta: dict, extras: dict, documents: int, sources, reading, plan) -> dict:
    """The served generation's ``meta`` as the update leaves it (of a sharded index: shard 0's)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    meta.setdefault("rebuilt_at", meta.get("built_at"))
    meta.update(
        {
            **extras,
            "built_at": now,
            "documents": documents,
            # What a plain `index update` reads next time: every source this index came from.
            "sources": list(dict.fromkeys([*meta.get("sources", []), *sources])),
            "source_state": reading.saved_state(),
            "update": {
                "at": now,
                "sources": sources,
                "added": len(plan.added),
                "replaced": len(plan.replaced),
                "removed": len(plan.removed),
            },
        }
    )
    return meta


def _write_shards(
    root: Path,
    served: list[Path],
    plan: _Plan,
    sources: list[str],
    on_progress: ProgressFn | None,
    files: int,
    reading: Reading,
) -> Path:
    """Write the plan into a new generation of every shard, then publish them together.

    Each article goes to its shard as in a rebuild (:func:`search.shards.shard_of`). A shard the
    update changes is written again, as a rebuild writes it: the articles it keeps (from their
    stored fields), in their order, then the new and changed ones, in the order read. Its ranking
    then needs no per-segment step and its statistics count no deleted article; the cost is that
    shard's analysis again. A shard the update leaves alone is linked as it is. The whole index's
    order is the same (the articles kept, then the ones written), so the updated index ranks
    exactly like one index rebuilt from its articles in that order. The index-wide files (copies,
    suggestions, pinyin) are computed again over every shard.
    """
    shards = len(served)
    written = [*plan.replaced, *plan.added]
    gone = set(plan.removed) | {article.id for article in plan.replaced}
    kept = sorted((known.place, article_id) for article_id, known in plan.indexed.items() if article_id not in gone)
    place = {article_id: number for number, (_old, article_id) in enumerate(kept)}
    place.update((article.id, number) for number, article in enumerate(written, len(kept)))
    known_signatures = sidecars._load_signatures(served[0])
    built, order = [], []
    with building_shards(root, shards) as builds:
        done = 0
        for number, (shard, build) in enumerate(zip(served, builds, strict=True)):
            mine = [article for article in written if shard_of(article.id, shards) == number]
            deleted = {article_id for article_id in gone if shard_of(article_id, shards) == number}
            if mine or deleted:
                into = _rewrite_shard(shard, build, deleted, mine)
            else:
                _link_generation(shard, build)
                index = whoosh_index.open_dir(str(build))
                try:
                    with index.reader() as reader:
                        articles, signatures = sidecars._read(reader, known_signatures)
                finally:
                    index.close()
                into = sidecars.Built([stored for _, stored in articles], signatures)
            built.append(into)
            order.append([place[stored[fields.ID_FIELD]] for stored in into.stored])
            done += len(mine)
            if on_progress is not None:
                on_progress(files, files, done)
        extras = sharded_sidecars(builds, built, order)
        meta = _updated_meta(read_meta(served[0]), extras, len(place), sources, reading, plan)
        meta.update(
            {
                "shards": shards,
                "shard": 0,
                "shard_documents": len(order[0]),
            }
        )
        metas = [meta] + [{"shard": i, "shards": shards, "documents": len(order[i])} for i in range(1, shards)]
        return publish_shards(root, builds, metas)[0]


def _rewrite_shard(served: Path, build: Path, deleted: set[str], articles: list[Article]) -> sidecars.Built:
    """One shard written again into ``build``: the served shard's articles but ``deleted``, in their
    order, then ``articles``; returns what the index-wide files need of it."""
    index = whoosh_index.open_dir(str(served))
    try:
        with index.reader() as reader:
            kept = [
                Article(
                    id=stored[fields.ID_FIELD],
                    title=stored.get(fields.TITLE, ""),
                    body=stored.get(fields.BODY, ""),
                    published=stored.get(fields.PUBLISHED),
                    source=stored.get(fields.SOURCE, ""),
                    url=stored.get(fields.URL, ""),
                    byline=stored.get(fields.BYLINE, ""),
                    path=stored.get(fields.PATH, ""),
                    digest=stored.get(fields.DIGEST, ""),
                )
                for _docnum, stored in reader.iter_docs()
                if stored[fields.ID_FIELD] not in deleted
            ]
    finally:
        index.close()
    every = [*kept, *articles]
    build.mkdir()
    into = sidecars.Built()
    with SegmentBuilder(
        build,
        build_schema(),
        workers=default_workers(),
        chunk_chars=chunk_chars_for(sum(len(a.body) + len(a.title) for a in every) * 3),
        prepare=prepare,
        count_fields=SUGGESTED,
    ) as builder:
        for article in every:
            builder.add(document(article, tag_regions=False))
            into.stored.append(known_fields(article))
        if every:
            builder.finish()
        else:  # a shard left with no article: an empty index, so that it opens like the others
            whoosh_index.create_in(str(build), build_schema())
        into.signatures = builder.extras
        into.term_counts = builder.term_counts
    return into


__all__ = ["SourcesRead", "UpdateSummary", "read_articles", "update"]
