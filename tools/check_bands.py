"""Checks on a built index that band keys find the same copies as whole MinHashes (figures in
docs/features.md).

    python -m tools.check_bands --index DIR [--json]

``DIR`` is an index whose served generation saved whole MinHashes (``signatures.bin`` of 128
values per article, as written before signatures became band keys). The check:

* **candidate pairs**: those of the whole MinHashes, each LSH band compared value by value (how
  copies were found before), against those of :func:`search.copies.band_keys` (one 64-bit key a
  band): set against set; and, band by band, whether any two different bands share a key;
* **clusters**: :func:`search.copies.find_clusters` run on the band keys, the bodies read from the
  index for the exact check, against the generation's own ``copies.json``: set against set.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np
from whoosh import index as whoosh_index

from search import copies, sidecars
from search import schema as fields
from search.generations import current_generation


def pairs_of_whole_minhashes(matrix: np.ndarray) -> set[tuple[int, int]]:
    """The candidate pairs of rows of whole MinHashes (``uint32``, one row each): rows agreeing on
    every value of a band, the band's values compared as they are."""
    n = len(matrix)
    found: set[tuple[int, int]] = set()
    for start, end in copies.BANDS:
        band = np.ascontiguousarray(matrix[:, start:end]).view(np.dtype((np.void, 4 * (end - start)))).ravel()
        order = np.argsort(band, kind="stable")
        ordered = band[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        for at, size in zip(starts.tolist(), np.diff(np.r_[starts, n]).tolist(), strict=True):
            rows = sorted(order[at : at + size].tolist())
            found.update((rows[i], rows[j]) for i in range(size) for j in range(i + 1, size))
    return found


def distinct_counts(matrix: np.ndarray, keys: np.ndarray) -> list[tuple[int, int]]:
    """For each band, how many different value tuples and how many different keys it holds."""
    counts = []
    for column, (start, end) in enumerate(copies.BANDS):
        band = np.ascontiguousarray(matrix[:, start:end]).view(np.dtype((np.void, 4 * (end - start)))).ravel()
        counts.append((len(np.unique(band)), len(np.unique(keys[:, column]))))
    return counts


def check(index: Path) -> dict:
    generation = current_generation(index)
    kind, *digests = (generation / "signatures.keys").read_text(encoding="utf-8").split("\n")
    if kind != f"# {copies.MINHASH_KIND}":
        raise click.ClickException(f"{generation} holds no whole MinHashes ({kind!r}): check an older index")
    blob = (generation / sidecars.SIGNATURES).read_bytes()
    whole = np.frombuffer(blob, dtype="<u4").reshape(len(digests), copies.NUM_PERM)
    signed = whole.any(axis=1)  # an all-zero row: a body too short to compare
    started = time.perf_counter()
    keys = np.frombuffer(copies.band_keys(blob), dtype="<u8").reshape(len(digests), len(copies.BANDS))
    keys_seconds = time.perf_counter() - started
    rows = np.flatnonzero(signed)

    before = pairs_of_whole_minhashes(whole[rows])
    started = time.perf_counter()
    after = set(copies._candidate_pairs([keys[row].tobytes() for row in rows]))
    pairs_seconds = time.perf_counter() - started
    collisions = [(values, distinct) for values, distinct in distinct_counts(whole[rows], keys[rows]) if values != distinct]

    ix = whoosh_index.open_dir(str(generation))
    with ix.reader() as reader:
        stored = {}
        for docnum, doc in reader.iter_docs():
            digest = doc.get(fields.DIGEST, "")
            stored[docnum] = (doc.get(fields.PUBLISHED), digest, copies.exact_key(doc.get(fields.BODY, ""), digest))
        row_of = {digest: row for row, digest in enumerate(digests)}
        signature_of = {
            docnum: (keys[row_of[digest]].tobytes() if signed[row_of[digest]] else None)
            for docnum, (_, digest, _) in stored.items()
        }
        started = time.perf_counter()
        clusters = copies.find_clusters(
            ((docnum, None, published) for docnum, (published, _, _) in stored.items()),
            lambda docnum: reader.stored_fields(docnum).get(fields.BODY, ""),
            signatures=signature_of.__getitem__,
            exact=lambda docnum: stored[docnum][2],
        )
        clusters_seconds = time.perf_counter() - started
    ix.close()
    saved = json.loads((generation / copies.SIDECAR).read_text(encoding="utf-8"))["clusters"]
    saved_sets = {frozenset(member[0] for member in cluster) for cluster in saved}
    found_sets = {frozenset(cluster) for cluster in clusters}
    return {
        "generation": generation.name,
        "articles": len(digests),
        "signed": int(signed.sum()),
        "bytes_whole": len(blob),
        "bytes_bands": int(len(digests) * copies.SIGNATURE_BYTES),
        "band_keys_seconds": round(keys_seconds, 2),
        "pairs_whole": len(before),
        "pairs_bands": len(after),
        "pairs_identical": before == after,
        "pairs_seconds": round(pairs_seconds, 2),
        "bands_with_a_shared_key": collisions,
        "clusters_saved": len(saved_sets),
        "clusters_bands": len(found_sets),
        "clusters_identical": saved_sets == found_sets,
        "clusters_seconds": round(clusters_seconds, 2),
    }


@click.command()
@click.option("--index", "index_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def main(index_dir: Path, as_json: bool) -> None:
    """Band keys against whole MinHashes on a built index: candidate pairs and clusters."""
    result = check(index_dir)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    for name, value in result.items():
        click.echo(f"{name:>24}  {value}")
    if not (result["pairs_identical"] and result["clusters_identical"]):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
