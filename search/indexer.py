"""Building the index: read sources, analyse, write a Whoosh index, swap it in atomically.

An index directory holds generations::

    index/
      CURRENT            the name of the generation being served (replaced atomically)
      gen-<stamp>/       a complete Whoosh index, plus news-search.json (when and from what)
      build-<stamp>/     a rebuild under way (or left by one that died; removed by the next)
      .write.lock        held by the one process writing (rebuild or update)

A rebuild (or an update, :mod:`search.updater`) writes a new generation beside the served one and
then replaces ``CURRENT``; readers that still hold the previous generation keep reading it (the
one before the current is kept, and any other for :data:`GRACE` seconds after it was replaced),
and readers that open the index afterwards see the new one. A rebuild killed at any moment leaves
``CURRENT`` and its generation untouched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index

from . import copies, regions, sidecars
from . import schema as fields
from .errors import IndexLocked, IndexNotFound, SearchError, SourceError
from .schema import build_schema
from .sources import Article, read_sources, source_files
from .writer import SegmentBuilder, chunk_chars_for, default_workers

POINTER = "CURRENT"
META = "news-search.json"
LOCK = ".write.lock"
#: Seconds a second writer waits for the first before giving up.
LOCK_TIMEOUT = 10.0
#: Seconds a replaced generation is kept for requests that were still reading it.
GRACE = 120.0


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


# Generations ----------------------------------------------------------------------------------------


def current_generation(index_dir: str | os.PathLike) -> Path | None:
    """The directory of the generation being served, or ``None`` when there is none."""
    root = Path(index_dir)
    try:
        name = (root / POINTER).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    path = root / name
    if not name or "/" in name or not path.is_dir():
        return None
    return path


def open_generation(index_dir: str | os.PathLike):
    """The Whoosh index being served from ``index_dir`` and its directory.

    :raises IndexNotFound: when there is none
    """
    generation = current_generation(index_dir)
    if generation is None or not whoosh_index.exists_in(str(generation)):
        raise IndexNotFound(str(index_dir))
    return whoosh_index.open_dir(str(generation)), generation


def read_meta(generation: Path) -> dict:
    """The metadata written beside a generation (empty when missing)."""
    try:
        return json.loads((generation / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-{os.getpid()}"


@contextlib.contextmanager
def write_lock(index_dir: str | os.PathLike, timeout: float = LOCK_TIMEOUT):
    """Hold the index's writer lock; wait up to ``timeout`` seconds for another writer.

    The lock is an ``flock`` on a file: the kernel drops it when its holder dies, so a killed
    rebuild never leaves the index locked.

    :raises IndexLocked: when another writer still holds it after ``timeout`` seconds
    """
    root = Path(index_dir)
    root.mkdir(parents=True, exist_ok=True)
    handle = open(root / LOCK, "a+")
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read(32).strip()
                    holder = f" (process {holder})" if holder.isdigit() else ""
                    raise IndexLocked(
                        f"{root}: another rebuild or update{holder} is writing this index; "
                        f"waited {timeout:g} s, try again when it has finished"
                    ) from None
                time.sleep(0.1)
        # Who holds it, for the message a waiting writer gives up with.
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def _clean_stale(root: Path) -> None:
    """Remove what dead rebuilds left, and generations older than the one before the current
    (unless replaced less than :data:`GRACE` seconds ago: a request may still be reading them)."""
    current = current_generation(root)
    generations = sorted(p for p in root.glob("gen-*") if p.is_dir())
    keep = set()
    if current is not None:
        keep.add(current.name)
        older = [p for p in generations if p.name < current.name]
        if older:
            keep.add(older[-1].name)
            # Generation names sort by time: each one was replaced when the next one was published.
            now = time.time()
            for old, successor in zip(older, [*older[1:], current], strict=True):
                if now - _published_at(successor) < GRACE:
                    keep.add(old.name)
    for path in root.glob("build-*"):
        shutil.rmtree(path, ignore_errors=True)
    for path in generations:
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    for path in root.glob(f"{POINTER}.*.tmp"):
        path.unlink(missing_ok=True)


def _published_at(generation: Path) -> float:
    """When a generation was published (its metadata is written just before)."""
    try:
        return (generation / META).stat().st_mtime
    except OSError:
        return generation.stat().st_mtime if generation.exists() else 0.0


def _sync_files(folder: Path) -> None:
    """Flush a finished build's files to disk before ``CURRENT`` names it (a crash of the machine,
    not only of the process, must not leave ``CURRENT`` naming files that never reached the disk)."""
    for path in folder.iterdir():
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _publish(root: Path, build: Path) -> Path:
    """Turn a finished build into the served generation, atomically."""
    _sync_files(build)
    generation = root / ("gen-" + build.name[len("build-") :])
    os.rename(build, generation)
    tmp = root / f"{POINTER}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(generation.name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, root / POINTER)
    with contextlib.suppress(OSError):
        dir_fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return generation


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
_SUGGESTED = (fields.TITLE, fields.BODY)


def _known(article: Article) -> dict:
    """The stored fields the sidecars need, kept by a rebuild as it goes (see :class:`sidecars.Built`)."""
    return {
        fields.ID_FIELD: article.id,
        fields.TITLE: article.title,
        fields.SOURCE: article.source,
        fields.PUBLISHED: article.published,
        fields.DIGEST: article.digest,
    }


def prepare(doc: dict) -> bytes | None:
    """What a rebuild's worker process does with a document before analysing it: tag its regions;
    returns the MinHash of its body (for finding syndicated copies once all are written)."""
    doc[fields.REGION] = _regions(doc)
    return copies.signature(doc[fields.BODY])


class Distinct:
    """Which articles a rebuild (or an update) indexes: the same body met twice is indexed once,
    and a second, different article under an id already taken gets an id its text makes stable."""

    def __init__(self):
        self.ids: set[str] = set()
        self.bodies: set[str] = set()
        #: Articles left out as duplicates so far.
        self.duplicates = 0

    def admit(self, article: Article) -> Article | None:
        """The article to index (perhaps under another id), or ``None`` for a duplicate."""
        if article.digest in self.bodies:
            self.duplicates += 1
            return None
        if article.id in self.ids:
            # Two different articles under one id (ids of two exports that overlap): keep both.
            article = replace(article, id=f"{article.id}-{article.digest[:8]}")
            if article.id in self.ids:
                self.duplicates += 1
                return None
        self.ids.add(article.id)
        self.bodies.add(article.digest)
        return article


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
) -> RebuildSummary:
    """Index every article under ``sources`` into a new generation of ``index_dir`` and serve it.

    :param strict: stop at the first unreadable file or record (raise its :class:`SourceError`)
    :param on_progress: called as ``(files_done, files_total, articles_indexed)``, after each file
        and each chunk of articles analysed
    :param workers: processes analysing articles (default: one per core; ``1``: none, all in this
        process); the index is the same whatever the number
    :param chunk_chars: characters of text per chunk of work (default: from the sources' size)
    :param fields: record field names for JSON and ``<doc>`` files, e.g. ``{"body": "maintext"}``
    :raises SourceError: in strict mode, or when nothing at all could be indexed
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

    files = list(source_files(sources))
    if chunk_chars is None:
        chunk_chars = chunk_chars_for(sum(_size(path) for path in files))
    with write_lock(root, lock_timeout):
        _clean_stale(root)
        build = root / ("build-" + _stamp())
        build.mkdir()
        try:
            built = sidecars.Built()
            indexed, duplicates = _write(
                built,
                build,
                files,
                on_error,
                on_progress,
                default_workers() if workers is None else workers,
                chunk_chars,
                fields,
            )
            if indexed == 0:
                where = ", ".join(sources) or "(no sources given)"
                raise SourceError(where, "no readable articles found; the previous index is kept")
            extras = sidecars.write(build, built)  # copies.json, suggest.tsv beside the new generation
            seconds = time.perf_counter() - started
            meta = {
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "documents": indexed,
                "duplicates": duplicates,
                "sources": sources,
                "seconds": round(seconds, 3),
                **extras,
            }
            (build / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
            generation = _publish(root, build)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
        _clean_stale(root)
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


def _write(
    built: sidecars.Built,
    build: Path,
    files: list[str],
    on_error: Callable[[SourceError], None],
    on_progress: ProgressFn | None,
    workers: int,
    chunk_chars: int,
    fields: Mapping[str, str | Iterable[str]] | None = None,
) -> tuple[int, int]:
    distinct = Distinct()
    indexed = 0
    done = 0

    def on_chunk(_written: int) -> None:
        if on_progress is not None:
            on_progress(done, len(files), indexed)

    with SegmentBuilder(
        build,
        build_schema(),
        workers=workers,
        chunk_chars=chunk_chars,
        on_chunk=on_chunk,
        prepare=prepare,
        count_fields=_SUGGESTED,
    ) as builder:
        for done, path in enumerate(files, 1):
            for article in filter(None, map(distinct.admit, read_sources([path], on_error, fields=fields))):
                builder.add(document(article, tag_regions=False))
                built.stored.append(_known(article))
                indexed += 1
            if on_progress is not None:
                on_progress(done, len(files), indexed)
        if indexed:
            builder.finish()
        built.signatures = builder.extras
        built.term_counts = builder.term_counts
    return indexed, distinct.duplicates


def ensure_index(
    sources: Iterable[str | os.PathLike], index_dir: str | os.PathLike, **options
) -> RebuildSummary | None:
    """Build the index from ``sources`` if ``index_dir`` has none; ``None`` when it already had one."""
    if current_generation(index_dir) is not None:
        return None
    return rebuild(sources, index_dir, **options)


__all__ = [
    "Distinct",
    "RebuildSummary",
    "Skipped",
    "current_generation",
    "document",
    "ensure_index",
    "open_generation",
    "read_meta",
    "rebuild",
    "write_lock",
    "IndexNotFound",
    "SearchError",
]
