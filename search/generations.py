"""Generations: how an index directory is served, written and cleaned up.

An index directory holds generations::

    index/
      CURRENT            the name of the generation being served (replaced atomically)
      gen-<stamp>/       a complete Whoosh index, plus news-search.json (when and from what)
      gen-<stamp>-s<i>/  shard i of a sharded index (``--shards N``): an ordinary generation each;
                         CURRENT then names all N, one a line, and shard 0 holds the index-wide
                         files (copies, suggestions, pinyin: see :mod:`search.shards`)
      build-<stamp>/     a rebuild or update under way (or left by one that died; removed by the next)
      .write.lock        held by the one process writing (rebuild or update)

A writer (:func:`search.indexer.rebuild`, :func:`search.updater.update`) holds :func:`write_lock`,
fills a build directory from :func:`building` and hands it to :func:`publish`, which replaces
``CURRENT``. Readers that still hold the previous generation keep reading it (the one before the
current is kept, and any other for :data:`GRACE` seconds after it was replaced), and readers that
open the index afterwards see the new one. A writer killed at any moment leaves ``CURRENT`` and its
generation untouched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import pickle
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index

from .codec import check_format
from .errors import IndexLocked, IndexNotFound, IndexOutdated

#: The index directory used when none is given (the CLI and the web also read ``$NEWS_SEARCH_INDEX``).
DEFAULT_INDEX = "index"
POINTER = "CURRENT"
META = "news-search.json"
LOCK = ".write.lock"
#: Seconds a second writer waits for the first before giving up.
LOCK_TIMEOUT = 10.0
#: Seconds a replaced generation is kept for requests that were still reading it.
GRACE = 120.0


def current_generation(index_dir: str | os.PathLike) -> Path | None:
    """The directory of the generation being served (of a sharded index: its first shard, which
    also holds the index-wide files), or ``None`` when there is none."""
    served = current_generations(index_dir)
    return served[0] if served else None


def current_generations(index_dir: str | os.PathLike) -> list[Path] | None:
    """The generations being served, one per shard in shard order (one for an index that is not
    sharded), or ``None`` when there is none or one of them is missing."""
    root = Path(index_dir)
    try:
        names = (root / POINTER).read_text(encoding="utf-8").split()
    except OSError:
        return None
    paths = [root / name for name in names]
    if not names or any("/" in name or not path.is_dir() for name, path in zip(names, paths, strict=True)):
        return None
    return paths


def shard_suffix(index: int, shards: int) -> str:
    """What a shard's build and generation names end with (nothing for an index of one shard)."""
    return f"-s{index}" if shards > 1 else ""


_SHARD = re.compile(r"-s\d+$")


def _set_of(name: str) -> str:
    """The name of the rebuild or update a generation belongs to (its shards share it)."""
    return _SHARD.sub("", name)


def open_generation(index_dir: str | os.PathLike):
    """The Whoosh index being served from ``index_dir`` and its directory.

    :raises IndexNotFound: when there is none
    """
    generation = current_generation(index_dir)
    if generation is None or not whoosh_index.exists_in(str(generation)):
        raise IndexNotFound(str(index_dir))
    return open_checked(generation, index_dir), generation


def open_checked(generation: str | os.PathLike, index_dir: str | os.PathLike | None = None):
    """The Whoosh index of ``generation``, once its format is known to be this version's.

    :raises IndexOutdated: when an older version wrote it
    """
    shown = str(index_dir if index_dir is not None else generation)
    try:
        index = whoosh_index.open_dir(str(generation))
        why = check_format(index._segments())
    except (AttributeError, ImportError, ModuleNotFoundError, pickle.UnpicklingError, TypeError, ValueError) as error:
        # A table of contents naming classes this version does not have.
        raise IndexOutdated(shown, f"the index cannot be read by this version ({type(error).__name__})") from error
    if why is not None:
        index.close()
        raise IndexOutdated(shown, why)
    return index


def read_meta(generation: Path) -> dict:
    """The metadata written beside a generation (empty when missing)."""
    try:
        return json.loads((generation / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def write_lock(index_dir: str | os.PathLike, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
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


@contextlib.contextmanager
def building(root: Path) -> Iterator[Path]:
    """A new build directory's path (not yet created); removed again if the block raises.

    Call inside :func:`write_lock`; hand the finished build to :func:`publish`.
    """
    with building_shards(root, 1) as (build,):
        yield build


@contextlib.contextmanager
def building_shards(root: Path, shards: int) -> Iterator[list[Path]]:
    """The paths of ``shards`` new build directories of one rebuild (not yet created), removed
    again if the block raises; hand them to :func:`publish_shards`."""
    stamp = "build-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + f"-{os.getpid()}"
    builds = [root / (stamp + shard_suffix(i, shards)) for i in range(shards)]
    try:
        yield builds
    except BaseException:
        for build in builds:
            shutil.rmtree(build, ignore_errors=True)
        raise


def publish(root: Path, build: Path, meta: dict) -> Path:
    """Write ``meta`` beside a finished build and make it the served generation, atomically."""
    return publish_shards(root, [build], [meta])[0]


def publish_shards(root: Path, builds: list[Path], metas: list[dict]) -> list[Path]:
    """Write each meta beside its finished build and make them together the served generations,
    atomically: ``CURRENT`` names them all (one a line, in shard order) and is replaced in one
    rename, so a reader sees every shard of this rebuild or none of them."""
    generations = []
    for build, meta in zip(builds, metas, strict=True):
        (build / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        _sync_files(build)
    for build in builds:
        generation = root / ("gen-" + build.name[len("build-") :])
        os.rename(build, generation)
        generations.append(generation)
    tmp = root / f"{POINTER}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write("".join(generation.name + "\n" for generation in generations))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, root / POINTER)
    with contextlib.suppress(OSError):
        dir_fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return generations


def clean_stale(root: Path) -> None:
    """Remove what dead writers left, and generations older than the one before the current
    (unless replaced less than :data:`GRACE` seconds ago: a request may still be reading them)."""
    current = current_generations(root)
    generations = sorted(p for p in root.glob("gen-*") if p.is_dir())
    # The shards of one rebuild or update are kept or removed together, as one set.
    sets: dict[str, Path] = {}
    for path in generations:
        sets.setdefault(_set_of(path.name), path)
    keep = set()
    if current is not None:
        served = _set_of(current[0].name)
        keep.add(served)
        older = sorted(name for name in sets if name < served)
        if older:
            keep.add(older[-1])
            # Generation names sort by time: each one was replaced when the next one was published.
            now = time.time()
            for old, successor in zip(older, [*older[1:], served], strict=True):
                if now - _published_at(sets[successor]) < GRACE:
                    keep.add(old)
    for path in root.glob("build-*"):
        shutil.rmtree(path, ignore_errors=True)
    for path in generations:
        if _set_of(path.name) not in keep:
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


__all__ = [
    "DEFAULT_INDEX",
    "GRACE",
    "LOCK_TIMEOUT",
    "META",
    "building",
    "building_shards",
    "clean_stale",
    "current_generation",
    "current_generations",
    "open_checked",
    "open_generation",
    "publish",
    "publish_shards",
    "read_meta",
    "shard_suffix",
    "write_lock",
]
