"""Building the index: read sources, analyse, write a Whoosh index, publish it as a new generation.

The articles are analysed and written by :mod:`search.writer` into a build directory; copies and
suggestions (:mod:`search.sidecars`) are written beside it, and :mod:`search.generations` publishes
it atomically. A rebuild killed at any moment leaves the served generation untouched.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from whoosh.index import create_in as index_create_in

from . import copies, regions, sidecars
from . import schema as fields
from . import schema as fields_module
from .cluster import TaskPool, cluster_cpus, connect
from .errors import ClusterError, SourceError
from .generations import LOCK_TIMEOUT, building_shards, clean_stale, publish_shards, write_lock
from .schema import build_schema
from .shards import save_order, shard_of
from .sources import Article, Reading, read_sources, source_files
from .sources.article import normalise_url
from .writer import SegmentBuilder, chunk_chars_for, default_workers, worker_pool


@dataclass(frozen=True)
class Skipped:
    """A file, or one record of it, that was not indexed, and why."""

    path: str
    reason: str
    line: int | None = None

    def to_dict(self) -> dict:
        data = {"path": self.path, "reason": self.reason}
        if self.line is not None:
            data["line"] = self.line
        return data


@dataclass(frozen=True)
class RebuildSummary:
    """What a rebuild did."""

    indexed: int
    duplicates: int
    skipped: tuple[Skipped, ...]
    seconds: float
    index_dir: str
    files: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "indexed": self.indexed,
            "duplicates": self.duplicates,
            "files": self.files,
            "skipped": [s.to_dict() for s in self.skipped],
            "skipped_by_reason": dict(self.reasons),
            "seconds": round(self.seconds, 3),
            "index": self.index_dir,
        }


# Documents ------------------------------------------------------------------------------------------


def document(article: Article, tag_regions: bool = True) -> dict:
    """The Whoosh document for an article.

    :param tag_regions: fill the region field here (a rebuild leaves it to :func:`prepare`, run
        in its worker processes)
    """
    doc = {
        fields.ID_FIELD: article.id,
        fields.TITLE: article.title,
        fields.BODY: article.body,
        fields.GRAMS: f"{article.title}\n{article.body}" if article.title else article.body,
        fields.SOURCE: article.source,
        fields.URL: article.url,
        fields.BYLINE: article.byline,
        fields.PATH: article.path,
        fields.DIGEST: article.digest,
    }
    if tag_regions:
        doc[fields.REGION] = _regions(doc)
    if article.published is not None:
        doc[fields.PUBLISHED] = article.published
    return doc


def _regions(doc: dict) -> str:
    return " ".join(regions.tag(doc[fields.TITLE], doc[fields.BODY], doc[fields.SOURCE]))


#: Fields whose words the suggestions are made of (counted while the index is written).
SUGGESTED = (fields.TITLE, fields.BODY)


def known_fields(article: Article) -> dict:
    """The stored fields the sidecars need, kept by a rebuild as it goes (see :class:`sidecars.Built`)."""
    return {
        fields.ID_FIELD: article.id,
        fields.TITLE: article.title,
        fields.SOURCE: article.source,
        fields.PUBLISHED: article.published,
        fields.DIGEST: article.digest,
        copies.EXACT_KEY: copies.exact_key(article.body, article.digest),
    }


def prepare(doc: dict) -> bytes | None:
    """What a rebuild's worker process does with a document before analysing it: tag its regions;
    returns the MinHash of its body (for finding syndicated copies once all are written)."""
    doc[fields.REGION] = _regions(doc)
    return copies.signature(doc[fields.BODY])


class Distinct:
    """Which articles a rebuild (or an update) indexes.

    Only a true re-read is a duplicate: the same id with the same content, or the same record met
    again (the same URL with the same content, e.g. one article in two exports). The same body
    under another id or URL is another outlet's copy of the story: it is indexed with its own
    source, URL and date, and grouped with the others (:mod:`search.copies`). A second, different
    article under an id already taken gets an id its text makes stable."""

    def __init__(self):
        self.ids: set[str] = set()
        #: :func:`record_keys` of every article admitted.
        self.seen: set[tuple[str, str, str]] = set()
        #: Articles left out as duplicates so far.
        self.duplicates = 0

    def admit(self, article: Article) -> Article | None:
        """The article to index (perhaps under another id), or ``None`` for a duplicate."""
        keys = record_keys(article)
        if any(key in self.seen for key in keys):
            self.duplicates += 1
            return None
        if article.id in self.ids:
            # Two different articles under one id (ids of two exports that overlap): keep both.
            article = replace(article, id=f"{article.id}-{article.digest[:8]}")
            if article.id in self.ids:
                self.duplicates += 1
                return None
        self.ids.add(article.id)
        self.seen.update(keys)
        self.seen.add(("id", article.id, article.digest))
        return article


def record_keys(article: Article) -> list[tuple[str, str, str]]:
    """What makes meeting ``article`` again a re-read: its id with its content, its URL with its content."""
    keys = [("id", article.id, article.digest)]
    if article.url:
        keys.append(("url", normalise_url(article.url), article.digest))
    return keys


# Rebuild --------------------------------------------------------------------------------------------

ProgressFn = Callable[[int, int, int], None]


def rebuild(
    sources: Iterable[str | os.PathLike],
    index_dir: str | os.PathLike,
    *,
    strict: bool = False,
    on_progress: ProgressFn | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    fields: Mapping[str, str | Iterable[str]] | None = None,
    workers: int | None = None,
    chunk_chars: int | None = None,
    follow_links: bool = False,
    shards: int = 1,
    cluster: str | None = None,
) -> RebuildSummary:
    """Index every article under ``sources`` into a new generation of ``index_dir`` and serve it.

    :param strict: stop at the first unreadable file or record (raise its :class:`SourceError`)
    :param on_progress: called as ``(files_done, files_total, articles_indexed)``, after each file
        and each chunk of articles analysed
    :param workers: processes analysing articles (default: one per core; ``1``: none, all in this
        process); the index is the same whatever the number
    :param chunk_chars: characters of text per chunk of work (default: from the sources' size)
    :param fields: record field names for JSON and ``<doc>`` files, e.g. ``{"body": "maintext"}``
    :param follow_links: complete a feed entry that has only a summary from its article page
    :param shards: split the index into this many shards (:mod:`search.shards`), ranked as one
    :param cluster: the address of a Ray cluster (``HOST:PORT``) whose tasks analyse the chunks and
        merge them instead of this machine's processes (``workers`` is then ignored);
        ``index_dir`` must be a path every node of the cluster reaches. The index is the same.
    :raises ClusterError: when the cluster cannot be used, or its tasks cannot finish (the
        served index is kept)
    :raises SourceError: in strict mode, or when nothing at all could be indexed
    :raises SourceUnavailable: when a database source cannot be read at all (the index is kept)
    :raises IndexLocked: when another writer holds the index
    """
    started = time.perf_counter()
    sources = [os.fspath(s) for s in sources]
    root = Path(index_dir)
    skipped: list[Skipped] = []

    def on_error(error: SourceError) -> None:
        if strict:
            raise error
        skipped.append(Skipped(error.path, error.reason, error.line))

    shards = _check_shards(shards)
    files = list(source_files(sources))
    reading = Reading(follow_links=follow_links)
    if chunk_chars is None:
        chunk_chars = chunk_chars_for(sum(_size(path) for path in files))
    tasks = None
    if cluster is not None:
        connect(cluster)
        tasks = TaskPool(what="a task of the rebuild")
        workers = cluster_cpus()
    with write_lock(root, lock_timeout):
        clean_stale(root)
        with building_shards(root, shards) as builds:
            for build in builds:
                build.mkdir()
            built = [sidecars.Built() for _ in builds]
            order: list[list[int]] = [[] for _ in builds]
            try:
                indexed, duplicates = _write(
                    built,
                    builds,
                    order,
                    files,
                    on_error,
                    on_progress,
                    default_workers() if workers is None else workers,
                    chunk_chars,
                    fields,
                    reading,
                    tasks,
                )
            except ClusterError as error:
                raise ClusterError(f"{error}; the served index is kept") from None
            if indexed == 0:
                where = ", ".join(sources) or "(no sources given)"
                raise SourceError(where, "no readable articles found; the previous index is kept")
            # copies.json, suggest.tsv.zst beside the new generation (of a sharded index: beside shard 0)
            extras = sidecars.write(builds[0], built[0]) if shards == 1 else sharded_sidecars(builds, built, order)
            meta = {
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "documents": indexed,
                "duplicates": duplicates,
                "sources": sources,
                # What the next update needs of databases (high-water marks) and feeds (ETag).
                "source_state": reading.saved_state(),
                "seconds": round(time.perf_counter() - started, 3),
                **extras,
            }
            metas = [meta]
            if shards > 1:
                meta["shards"] = shards
                metas += [{"shard": i, "shards": shards, "documents": len(order[i])} for i in range(1, shards)]
                meta["shard"] = 0
                meta["shard_documents"] = len(order[0])
            generation = publish_shards(root, builds, metas)[0]
        clean_stale(root)
    reasons = Counter(s.reason.split(":")[0] for s in skipped)
    return RebuildSummary(
        indexed=indexed,
        duplicates=duplicates,
        skipped=tuple(skipped),
        seconds=time.perf_counter() - started,
        index_dir=str(generation.parent),
        files=len(files),
        reasons=dict(reasons),
    )


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _check_shards(shards) -> int:
    try:
        number = int(shards)
    except (TypeError, ValueError):
        number = 0
    if number != shards or not 1 <= number <= MAX_SHARDS:
        raise ValueError(f"shards must be a whole number from 1 to {MAX_SHARDS}, not {shards!r}")
    return number


#: The most shards an index may be split into.
MAX_SHARDS = 64


def _write(
    built: list[sidecars.Built],
    builds: list[Path],
    order: list[list[int]],
    files: list[str],
    on_error: Callable[[SourceError], None],
    on_progress: ProgressFn | None,
    workers: int,
    chunk_chars: int,
    fields: Mapping[str, str | Iterable[str]] | None = None,
    reading: Reading | None = None,
    tasks=None,
) -> tuple[int, int]:
    """Write every article to its shard's build (one build: all of them), in the order read;
    ``order[shard]`` gets each written document's place among all of them."""
    distinct = Distinct()
    indexed = 0
    done = 0
    shards = len(builds)

    def on_chunk(_written: int) -> None:
        if on_progress is not None:
            on_progress(done, len(files), indexed)

    with contextlib.ExitStack() as stack:
        pool = None
        if shards > 1 and tasks is None and workers > 1:
            # The shards' chunks are analysed by one set of worker processes, as many as asked for.
            pool = worker_pool(workers)
            stack.callback(pool.shutdown, wait=True, cancel_futures=True)
        builders = [
            stack.enter_context(
                SegmentBuilder(
                    build,
                    build_schema(),
                    # Each shard keeps its share of the chunks in flight.
                    workers=workers if shards == 1 else max(1, round(workers / shards)),
                    chunk_chars=chunk_chars,
                    on_chunk=on_chunk,
                    prepare=prepare,
                    count_fields=SUGGESTED,
                    tasks=tasks,
                    pool=pool,
                )
            )
            for build in builds
        ]
        for done, path in enumerate(files, 1):
            for article in filter(None, map(distinct.admit, read_sources([path], on_error, fields=fields, reading=reading))):
                shard = shard_of(article.id, shards)
                builders[shard].add(document(article, tag_regions=False))
                built[shard].stored.append(known_fields(article))
                order[shard].append(indexed)
                indexed += 1
            if on_progress is not None:
                on_progress(done, len(files), indexed)
        for builder, into, placed in zip(builders, built, order, strict=True):
            if placed:
                builder.finish()
            elif indexed:
                # A shard no article went to: an empty index, so that it opens like the others.
                index_create_in(builder.directory, build_schema())
            into.signatures = builder.extras
            into.term_counts = builder.term_counts
    return indexed, distinct.duplicates


def sharded_sidecars(builds: list[Path], built: list[sidecars.Built], order: list[list[int]]) -> dict:
    """The index-wide files of a sharded rebuild or update, written beside shard 0 from every shard's
    articles in the order they were read, and each shard's :data:`search.shards.ORDER`."""
    from whoosh import index as whoosh_index
    from whoosh.reading import MultiReader

    total = sum(len(placed) for placed in order)
    place_of: list[tuple[int, int]] = [(0, 0)] * total
    articles: list[tuple[int, dict]] = [(0, {})] * total
    signatures: list[bytes | None] = [None] * total
    counted: dict[bytes, int] | None = {}
    for shard, (into, placed) in enumerate(zip(built, order, strict=True)):
        save_order(builds[shard], placed)
        for local, (place, stored, signature) in enumerate(zip(placed, into.stored, into.signatures, strict=True)):
            place_of[place] = (shard, local)
            articles[place] = (place, stored)
            signatures[place] = signature
        if counted is not None and into.term_counts is not None:
            for term, number in into.term_counts.items():
                counted[term] = counted.get(term, 0) + number
        else:  # not counted as written (an update): the words are read from the shards
            counted = None
    indexes = [whoosh_index.open_dir(str(build)) for build in builds]
    readers = [ix.reader() for ix in indexes]
    try:
        reader = MultiReader(readers)

        def body_of(place: int) -> str:
            shard, local = place_of[place]
            return readers[shard].stored_fields(local).get(fields_module.BODY, "")

        return sidecars.write_from(builds[0], reader, total, articles, signatures, counted, body_of)
    finally:
        for one in readers:
            one.close()
        for ix in indexes:
            ix.close()


__all__ = [
    "Distinct",
    "RebuildSummary",
    "record_keys",
    "Skipped",
    "document",
    "rebuild",
]
