"""Syndicated copies: the same story republished by several outlets, found at index time.

Only a re-read record is dropped while indexing (:class:`search.indexer.Distinct`); another
outlet's copy is indexed with its own source, URL and date, whether its body is the same to the
character or nearly so: a 新华社 story reprinted with another headline, a ``原标题：`` line, a
dateline or an editor's name added, a paragraph cut. This module finds them all. After a rebuild
has written its documents, :func:`write` takes the MinHash of each body's character 5-grams
(datasketch), kept as one 64-bit key per LSH band (:func:`signature`, computed by the rebuild's
workers, or by an update for the bodies it has not seen before), finds candidate pairs with
MinHash LSH (rows agreeing on a band's key), keeps the pairs that were
published within :data:`WINDOW_DAYS` of each other (undated articles pass) and whose exact Jaccard
similarity is at least :data:`THRESHOLD`, and joins them into clusters. The clusters go beside
the index as ``copies.json`` (one generation, one file), loaded once per process.

Why these numbers (sampled pairs and clusters of the team's corpus read by hand; the counts are in
docs/features.md): at 0.8 or above, pairs and clusters were one story; between 0.7 and 0.8, many
were not copies (templated stock reports of one company on different days, or two outlets' own
write-ups of one event). Templated reports a year apart (纪念孙中山逝世96周年 / 97周年) come above
the threshold, hence the date window. Texts under :data:`MIN_SHINGLES` 5-grams (about 60
characters) are too short to tell a copy from a template.

Searching collapses each cluster into its best hit (a collector that keeps the best hit of each
cluster, after the filters), which carries how many other copies exist and where they ran.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from whoosh import collectors

from .traditional import to_simplified

SIDECAR = "copies.json"
#: Least Jaccard similarity of two bodies' 5-gram sets for them to be copies.
THRESHOLD = 0.8
#: Similarity the LSH index is tuned to propose as candidates (below THRESHOLD, for recall).
CANDIDATE = 0.6
#: Copies run within this many days of each other (when both are dated).
WINDOW_DAYS = 3
#: Bodies with fewer distinct 5-grams than this are never clustered as near copies.
MIN_SHINGLES = 60
#: Identical bodies (the same digest) of at least this many characters are copies however short
#: (a brief run word for word by two outlets); shorter ones (a caption) are left apart.
MIN_EXACT_CHARS = 20
SHINGLE = 5
NUM_PERM = 128
#: Only the first this many characters of a body are compared (copies agree from the start; long
#: articles would otherwise cost time for nothing).
MAX_CHARS = 2000
_SEED = 8
#: datasketch's permutation scheme, named rather than left to its default, which datasketch has
#: changed between versions: saved signatures must not change with the library.
SCHEME = "affine32"
#: Bytes of a :func:`minhash` (four per permutation).
MINHASH_BYTES = 4 * NUM_PERM
#: The settings a MinHash's bytes depend on (the shingle hash itself, in :func:`shingles`, is not
#: described: change this text if it changes).
MINHASH_KIND = f"minhash {SCHEME} perm={NUM_PERM} seed={_SEED} shingle={SHINGLE} chars={MAX_CHARS}"
#: The LSH bands, ``(start, end)`` ranges of MinHash values: those of datasketch's ``MinHashLSH``
#: tuned for :data:`CANDIDATE` with :data:`NUM_PERM` permutations (fixed here, checked against
#: datasketch by a test: saved signatures must not change with the library).
BANDS = tuple((start, start + 7) for start in range(0, 126, 7))
#: Bytes of a :func:`signature`: one 64-bit key per band.
SIGNATURE_BYTES = 8 * len(BANDS)
#: What a signature's bytes depend on: signatures saved under another description are not reused.
SIGNATURE_KIND = f"bands {len(BANDS)}x7 mix64 of {MINHASH_KIND}"

_NONWORD = re.compile(r"[\W_]+")


def shingles(body: str) -> list[int]:
    """The distinct hashed character 5-grams of ``body``, ignoring spaces, punctuation and case."""
    return _shingle_array(body).tolist()


def _shingle_array(body: str):
    """:func:`shingles` as a sorted numpy array of ``uint32``."""
    import numpy as np

    text = _NONWORD.sub("", to_simplified(body[:MAX_CHARS])).lower()
    if len(text) < SHINGLE:
        return np.zeros(0, dtype=np.uint32)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(codes) - SHINGLE + 1
    hashed = np.zeros(count, dtype=np.uint64)
    for k in range(SHINGLE):  # a polynomial hash of each window, vectorised
        hashed = hashed * np.uint64(1_000_003) + codes[k : k + count]
    return np.unique((hashed & np.uint64(0xFFFFFFFF)).astype(np.uint32))


#: The entry of a stored-article dict (:func:`write`) holding its :func:`exact_key`.
EXACT_KEY = "exact"


def exact_key(body: str, digest: str) -> str | None:
    """The key identical copies share: the body's digest, when the body is long enough to be a
    story rather than a caption (:data:`MIN_EXACT_CHARS`)."""
    return digest if len("".join(body.split())) >= MIN_EXACT_CHARS else None


def _identity(value):
    return value


@dataclass(frozen=True)
class Member:
    """One article of a cluster of copies."""

    docnum: int
    id: str
    source: str
    date: datetime | None

    def to_dict(self) -> dict:
        return {"id": self.id, "source": self.source, "date": self.date.isoformat() if self.date else None}


def minhash(body: str) -> bytes | None:
    """The MinHash of a body's 5-grams, :data:`NUM_PERM` ``uint32`` values as bytes (``None`` when
    the body is too short to compare).

    The values are those of datasketch's ``MinHash.update_batch`` (a test holds them equal), done
    on the 5-gram array itself: ``update_batch`` would first copy every value through a Python
    list and a call of the hash function (the identity here), work this skips.
    """
    import numpy as np
    from datasketch.minhash import _fmix  # the "affine32" scheme's mixing (datasketch is pinned)

    grams = _shingle_array(body)
    if len(grams) < MIN_SHINGLES:
        return None
    base = _base()
    a, b = base.permutations
    permuted = _fmix(grams.reshape(-1, 1), 32) * a + b  # uint32: wraps around, as in datasketch
    # Hash values are below 2**32 (datasketch's hash range): four bytes each are enough.
    return np.minimum(base.hashvalues, permuted.min(axis=0)).astype("<u4").tobytes()


def signature(body: str) -> bytes | None:
    """What finding copies keeps of a body: the :func:`band_keys` of its :func:`minhash`
    (``None`` when the body is too short to compare).

    A rebuild computes it in its worker processes, beside the analysis, and hands it to
    :func:`find_clusters` through ``signatures``; it is saved beside the generation for updates.
    """
    hashed = minhash(body)
    return None if hashed is None else band_keys(hashed)


def band_keys(minhashes: bytes) -> bytes:
    """One 64-bit key per LSH band of each MinHash in ``minhashes`` (rows of :data:`MINHASH_BYTES`).

    LSH only ever asks whether two MinHashes agree on all the values of a band, so a band's seven
    values are kept as one key mixing them all (splitmix64's finaliser after each value): equal
    bands give equal keys, and unequal ones the same key with a chance of about 2**-64 per pair.
    """
    import numpy as np

    matrix = np.frombuffer(minhashes, dtype="<u4").reshape(-1, NUM_PERM).astype(np.uint64)
    # Every band at once: (articles, bands, rows), the bands' first values one after another.
    rows = BANDS[0][1] - BANDS[0][0]
    bands = matrix[:, BANDS[0][0] : BANDS[-1][1]].reshape(len(matrix), len(BANDS), rows)
    keys = np.repeat(np.array([start + 1 for start, _ in BANDS], dtype=np.uint64)[None, :], len(matrix), axis=0)
    for row in range(rows):
        keys = _mix64(keys * np.uint64(0x9E3779B97F4A7C15) + bands[:, :, row])
    return keys.astype("<u8").tobytes()


def _mix64(x):
    """splitmix64's finaliser: every bit of ``x`` (``uint64`` array) moves every bit of the result."""
    import numpy as np

    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


_BASE = None


def _base():
    global _BASE
    if _BASE is None:
        from datasketch import MinHash

        _BASE = MinHash(num_perm=NUM_PERM, seed=_SEED, hashfunc=_identity, scheme=SCHEME)
    return _BASE


def find_clusters(
    articles: Iterable[tuple[int, str, datetime | None]],
    body_of: Callable[[int], str] | None = None,
    threshold: float = THRESHOLD,
    window_days: int = WINDOW_DAYS,
    signatures: Callable[[int], bytes | None] | None = None,
    exact: Callable[[int], str | None] | None = None,
) -> list[list[int]]:
    """Clusters (lists of at least two document numbers, earliest first) of near-identical bodies.

    MinHash LSH proposes candidate pairs (tuned for :data:`CANDIDATE` similarity, so that pairs
    near the threshold are not lost to the sketches' sampling error); each candidate pair is then
    checked on the exact Jaccard similarity of the two bodies' 5-gram sets.

    :param articles: ``(docnum, body, published)`` for every article (``body`` may be ``None``
        when ``signatures`` and ``body_of`` are given)
    :param body_of: the body of a document, read again for the exact check (default: kept from
        ``articles``, which holds every body in memory)
    :param signatures: a document's :func:`signature`, computed beforehand (default: from its body)
    :param exact: a document's :func:`exact_key` (the digest of a body long enough to be an exact
        copy, else ``None``): documents with the same key are copies whatever their length
    """
    docnums: list[int] = []
    signed_rows: list[bytes] = []
    dates: dict[int, datetime | None] = {}
    kept: dict[int, str] = {}
    same: dict[str, list[int]] = {}
    for docnum, body, published in articles:
        key = exact(docnum) if exact is not None else None
        if key:
            same.setdefault(key, []).append(docnum)
            dates[docnum] = published if published and published != datetime.min else None
        signed = signatures(docnum) if signatures is not None else signature(body)
        if signed is None:
            continue
        docnums.append(docnum)
        signed_rows.append(signed)
        dates[docnum] = published if published and published != datetime.min else None
        if body_of is None:
            kept[docnum] = body
    read = body_of or kept.__getitem__

    candidates: list[tuple[int, int]] = []
    for first, second in _candidate_pairs(signed_rows):
        a, b = sorted((docnums[first], docnums[second]))
        day_a, day_b = dates[a], dates[b]
        if day_a and day_b and abs((day_a - day_b).days) > window_days:
            continue
        candidates.append((a, b))

    # Identical bodies: each with the next one of the same text in date order, within the window.
    identical: set[tuple[int, int]] = set()
    for group in same.values():
        group.sort(key=lambda d: (dates[d] or datetime.max, d))
        for a, b in zip(group, group[1:], strict=False):
            day_a, day_b = dates[a], dates[b]
            if not (day_a and day_b and abs((day_a - day_b).days) > window_days):
                identical.add((min(a, b), max(a, b)))
    candidates.extend(identical)
    members = list(dict.fromkeys([*docnums, *(d for group in same.values() if len(group) > 1 for d in group)]))
    parent = {docnum: docnum for docnum in members}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    grams_of: dict[int, set[int]] = {}

    def grams(docnum: int) -> set[int]:
        if docnum not in grams_of:
            grams_of[docnum] = set(shingles(read(docnum)))
        return grams_of[docnum]

    for a, b in sorted(candidates):
        if root(a) == root(b):
            continue
        if (a, b) in identical:
            parent[root(b)] = root(a)
            continue
        first, second = grams(a), grams(b)
        shared = len(first & second)
        if shared >= threshold * (len(first) + len(second) - shared):  # of the union
            parent[root(b)] = root(a)
    groups: dict[int, list[int]] = {}
    for docnum in members:
        groups.setdefault(root(docnum), []).append(docnum)
    clusters = [g for g in groups.values() if len(g) > 1]
    for group in clusters:
        group.sort(key=lambda d: (dates[d] or datetime.max, d))
    clusters.sort(key=lambda g: g[0])
    return clusters


def _candidate_pairs(signed_rows: list[bytes]):
    """The pairs ``(i, j)``, ``i < j``, of rows (:func:`signature`) whose MinHashes agree on all the
    values of at least one LSH band: the pairs datasketch's ``MinHashLSH`` (its bands, for
    :data:`CANDIDATE`) would propose, found with one sort per band rather than a dictionary of every
    band of every row (a sort is array work; a dictionary is Python work per row and band)."""
    import numpy as np

    if len(signed_rows) < 2:
        return []
    matrix = np.frombuffer(b"".join(signed_rows), dtype="<u8").reshape(len(signed_rows), len(BANDS))
    n = len(signed_rows)
    found = []
    for column in range(len(BANDS)):
        band = matrix[:, column]
        order = np.argsort(band, kind="stable")
        ordered = band[order]
        # Runs of equal bands: each run of k rows gives its k(k-1)/2 pairs.
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        sizes = np.diff(np.r_[starts, n])
        twos = starts[sizes == 2]  # most runs: one pair each, found at once
        low, high = np.minimum(order[twos], order[twos + 1]), np.maximum(order[twos], order[twos + 1])
        found.append(low * n + high)
        for at, size in zip(starts[sizes > 2].tolist(), sizes[sizes > 2].tolist(), strict=True):
            rows = np.sort(order[at : at + size])
            i, j = np.triu_indices(size, 1)
            found.append(rows[i] * n + rows[j])
    codes = np.unique(np.concatenate(found))
    return zip((codes // n).tolist(), (codes % n).tolist(), strict=True)


def write(
    generation: Path,
    stored_articles: Iterable[tuple[int, dict]],
    documents: int,
    fields,
    body_of: Callable[[int], str],
    signatures: Callable[[int], bytes | None],
) -> dict:
    """Find the copies among a generation's stored articles and write ``copies.json`` beside it.

    :param stored_articles: ``(docnum, stored fields)`` of every document (bodies not needed; the
        :func:`exact_key` under :data:`EXACT_KEY`)
    :param body_of: reads one document's body again (for the exact check of candidate pairs)
    :param fields: the schema module (field names)
    :param signatures: each document's :func:`signature`
    :returns: figures for the generation's metadata
    """
    info: dict[int, tuple[str, str, datetime | None]] = {}
    keys: dict[int, str | None] = {}

    def bodies():
        for docnum, stored in stored_articles:
            published = stored.get(fields.PUBLISHED)
            info[docnum] = (stored.get(fields.ID_FIELD, ""), stored.get(fields.SOURCE, ""), published)
            keys[docnum] = stored.get(EXACT_KEY)
            yield docnum, None, published

    clusters = find_clusters(bodies(), body_of, signatures=signatures, exact=keys.get)
    data = {
        "documents": documents,
        "threshold": THRESHOLD,
        "window_days": WINDOW_DAYS,
        "clusters": [[[d, info[d][0], info[d][1], _iso(info[d][2])] for d in cluster] for cluster in clusters],
    }
    (generation / SIDECAR).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return {"clusters": len(clusters), "in_clusters": sum(len(c) for c in clusters)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value and value != datetime.min else None


class Copies:
    """The clusters of one generation: which documents are copies of which."""

    def __init__(self, clusters: list[tuple[Member, ...]]):
        self.clusters = clusters
        self._cluster: dict[int, int] = {}
        for number, cluster in enumerate(clusters, 1):
            for member in cluster:
                self._cluster[member.docnum] = number

    @classmethod
    def load(cls, generation: Path, documents: int) -> Copies:
        """The clusters written beside ``generation`` (none when missing or made for other documents)."""
        try:
            data = json.loads((generation / SIDECAR).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls([])
        if data.get("documents") != documents:
            return cls([])
        clusters = [
            tuple(Member(d, i, s, datetime.fromisoformat(w) if w else None) for d, i, s, w in cluster)
            for cluster in data.get("clusters", [])
        ]
        return cls(clusters)

    def __len__(self) -> int:
        return len(self.clusters)

    def key(self, docnum: int) -> int | None:
        """The cluster number of a document (``None`` when it has no copies)."""
        return self._cluster.get(docnum)

    def members(self, docnum: int) -> tuple[Member, ...]:
        """Every article of the document's cluster, itself included (empty when it has no copies)."""
        number = self._cluster.get(docnum)
        return self.clusters[number - 1] if number else ()

    def others(self, docnum: int) -> tuple[Member, ...]:
        """The document's copies, earliest first, itself left out."""
        return tuple(m for m in self.members(docnum) if m.docnum != docnum)


class _Collapse(collectors.WrappingCollector):
    """Keeps the best hit of each cluster of copies, after the filter and the mask.

    Whoosh 2.7's own ``CollapseCollector`` cannot be used here: under a ``FilterCollector`` its
    collapsing is skipped (the filter calls ``collect`` on it directly), its recount of all matches
    fails (``subsearchers``), and its total is one too high for each hit replaced by a better copy.
    """

    def __init__(self, child, keys: dict[int, int], allow=None, restrict=None):
        super().__init__(child)
        self.keys = keys
        self.allow, self.restrict = allow, restrict

    def prepare(self, top_searcher, q, context):
        self.child.prepare(top_searcher, q, context)
        combine = top_searcher._filter_to_comb
        self._allow = combine(self.allow) if self.allow is not None else None
        self._restrict = combine(self.restrict) if self.restrict else None
        self.best: dict[int, tuple] = {}
        self.replaced = 0

    def _passes(self, docnum: int) -> bool:
        return (self._allow is None or docnum in self._allow) and (
            self._restrict is None or docnum not in self._restrict
        )

    def collect_matches(self):
        for sub_docnum in self.child.matches():
            self.collect(sub_docnum)

    def collect(self, sub_docnum):
        docnum = self.child.offset + sub_docnum
        if not self._passes(docnum):
            return None
        key = self.keys.get(docnum)
        if key is None:
            return self.child.collect(sub_docnum)
        sortkey = self.child.sort_key(sub_docnum)
        best = self.best.get(key)
        if best is None:
            self.best[key] = (sortkey, docnum)
            return self.child.collect(sub_docnum)
        if sortkey < best[0]:  # a better copy of a story already listed takes its place
            self.child.remove(best[1])
            self.replaced += 1
            self.best[key] = (sortkey, docnum)
            found = self.child.collect(sub_docnum)
            _reset_floor(self.child)
            return found
        return None

    def all_ids(self):
        seen: set[int] = set()
        for docnum in self.child.all_ids():
            if not self._passes(docnum):
                continue
            key = self.keys.get(docnum)
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            yield docnum

    def count(self):
        if self.child.computes_count():
            return self.child.count() - self.replaced
        return sum(1 for _ in self.all_ids())

    def results(self):
        results = self.child.results()
        results.collector = self
        return results


def _reset_floor(collector) -> None:
    """Set the lowest score a top-N collector still takes to what its list holds after a copy
    replaced another.

    Whoosh's ``TopCollector.remove`` sets that floor to the lowest score left even when the list
    is no longer full, and the collector then skips blocks of documents that would have filled
    it; after the better copy is added, the floor is the lowest score of a full list, else none.
    """
    while collector is not None and not hasattr(collector, "minscore"):
        collector = getattr(collector, "child", None)
    items = getattr(collector, "items", None)
    if collector is None or items is None or getattr(collector, "limit", None) is None:
        return
    collector.minscore = items[0][0] if len(items) >= collector.limit else 0


def search(searcher, query, copies: Copies | None, *, limit, filter=None, mask=None, sortedby=None):
    """``searcher.search(query, limit=..., filter=..., mask=..., sortedby=...)`` with each cluster of
    copies collapsed into its best hit.

    :param copies: the generation's clusters, or ``None`` to show every copy
    """
    if not copies:
        return searcher.search(query, limit=limit, filter=filter, mask=mask, sortedby=sortedby)
    collector = searcher.collector(limit=limit, sortedby=sortedby)
    collector = _Collapse(collector, copies._cluster, allow=filter, restrict=mask)
    searcher.search_with_collector(query, collector)
    return collector.results()


def collapsing(child, copies: Copies, allow=None):
    """``child`` (a Whoosh collector) wrapped to collapse each cluster of copies into its best hit,
    keeping only the documents in ``allow`` (a filter query), for callers that build their own."""
    return _Collapse(child, copies._cluster, allow=allow)


__all__ = [
    "EXACT_KEY",
    "Copies",
    "Member",
    "SIDECAR",
    "THRESHOLD",
    "band_keys",
    "collapsing",
    "exact_key",
    "find_clusters",
    "minhash",
    "search",
    "shingles",
    "signature",
    "write",
]
