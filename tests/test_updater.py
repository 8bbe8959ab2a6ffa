"""Incremental updates: what they add, replace and prune, that they equal a rebuild, that they are
atomic for readers and survive being killed, and that two writers never clash."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from search import IndexLocked, NewsIndex, SourceError
from search.cli import cli
from search.generations import current_generation, open_generation, write_lock
from search.updater import update

from .feature_cases import STORY
from .helpers import child_env, write_jsonl


def records(prefix, n, word, start=0):
    return [
        {
            "id": f"{prefix}-{i}",
            "title": f"{word}新闻{i}",
            "body": f"{word}的第{i}条消息，内容各不相同{prefix}{i}。",
            "date": f"2021-03-{i % 28 + 1:02d}",
            "source": "重庆日报",
        }
        for i in range(start, start + n)
    ]


def snapshot(index_dir) -> dict:
    """Every stored article by id (what a reader can see), from the served generation."""
    index, _ = open_generation(index_dir)
    try:
        with index.searcher() as searcher:
            return {stored["id"]: stored for stored in searcher.documents()}
    finally:
        index.close()


def comparable(stored: dict) -> dict:
    """A stored article without its file path (which differs between two copies of the sources)."""
    return {key: value for key, value in stored.items() if key != "path"}


@pytest.fixture()
def src(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", records("a", 6, "涪陵"))
    write_jsonl(folder / "b.jsonl", records("b", 4, "万州"))
    return folder


def test_update_adds_replaces_and_leaves_the_rest(tmp_path, src):
    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    before = snapshot(ix)
    news = NewsIndex.open(ix)
    assert news.search("黔江").total == 0

    changed = records("a", 6, "涪陵")
    changed[0]["body"] = "涪陵榨菜丰收，这是改写过的正文。"  # content changed
    changed[1]["title"] = "涪陵新闻一（更正）"  # same body, corrected title
    write_jsonl(src / "a.jsonl", changed + records("c", 3, "黔江"))
    summary = NewsIndex.update([src], ix)

    assert (summary.added, summary.replaced, summary.removed, summary.unchanged) == (3, 2, 0, 8)
    assert summary.documents == 13 and summary.changed == 5 and not summary.rebuilt
    after = snapshot(ix)
    assert len(after) == 13
    assert after["a-0"]["body"] == "涪陵榨菜丰收，这是改写过的正文。"
    assert after["a-1"]["title"] == "涪陵新闻一（更正）"
    assert all(after[key] == before[key] for key in before if key not in ("a-0", "a-1"))
    # The same NewsIndex object serves the update at its next search.
    assert news.search("黔江").total == 3
    assert news.search("榨菜").total == 1
    assert news.doc_count == 13


def test_nothing_changed_writes_nothing(tmp_path, src):
    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    served = current_generation(ix)
    summary = NewsIndex.update([src], ix)
    assert (summary.added, summary.replaced, summary.removed, summary.unchanged) == (0, 0, 0, 10)
    assert current_generation(ix) == served and summary.generation == served.name
    assert not list(ix.glob("build-*"))


def test_prune_removes_gone_files_and_gone_records_only(tmp_path, src):
    ix = tmp_path / "ix"
    write_jsonl(src / "c.jsonl", records("c", 2, "黔江"))
    NewsIndex.rebuild([src], ix)
    assert len(snapshot(ix)) == 12

    (src / "b.jsonl").unlink()  # a whole file gone
    write_jsonl(src / "a.jsonl", records("a", 4, "涪陵"))  # a-4, a-5 gone from a file read whole
    # c.jsonl now has a broken line: its records that can be read stay, and nothing of it is pruned.
    (src / "c.jsonl").write_text(
        json.dumps(records("c", 1, "黔江")[0], ensure_ascii=False) + "\n{broken\n", encoding="utf-8"
    )

    kept = NewsIndex.update([src], ix)  # without --prune nothing is removed
    assert kept.removed == 0 and kept.documents == 12
    pruned = NewsIndex.update([src], ix, prune=True)
    assert pruned.removed == 6 and pruned.documents == 6
    assert sorted(snapshot(ix)) == ["a-0", "a-1", "a-2", "a-3", "c-0", "c-1"]
    assert [(s.path, s.line) for s in pruned.skipped] == [(str(src / "c.jsonl"), 2)]


def test_prune_never_empties_the_index_from_a_missing_source(tmp_path, src):
    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    served = current_generation(ix)
    # A source that is not there at all (an unmounted disk, a typo) prunes nothing.
    summary = NewsIndex.update([tmp_path / "not-there"], ix, prune=True)
    assert summary.removed == 0 and summary.skipped[0].reason == "no such file or folder"
    assert current_generation(ix) == served
    # A source folder that is there but empty would empty the index: refused, index kept.
    empty = tmp_path / "empty"
    empty.mkdir()
    for name in ("a.jsonl", "b.jsonl"):
        (src / name).unlink()
    with pytest.raises(SourceError, match="would leave the index empty"):
        NewsIndex.update([src], ix, prune=True)
    assert current_generation(ix) == served and len(snapshot(ix)) == 10
    assert not list(ix.glob("build-*"))


def test_update_serves_what_a_rebuild_would(tmp_path, src):
    """After any mix of changes, an update with --prune holds exactly what a rebuild over the same
    sources holds: the same ids and the same stored fields (duplicates and id clashes included)."""
    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    a = records("a", 6, "涪陵")
    a[2]["body"] = "完全不同的正文。"
    a.append(dict(records("z", 1, "江津")[0], body=a[3]["body"]))  # same body as a-3: a copy, indexed
    a.append(dict(records("z", 2, "江津")[1], id="a-0"))  # clashes with a-0: kept under a-0-<digest>
    a.append(dict(a[4]))  # the same record twice: a duplicate
    write_jsonl(src / "a.jsonl", a)
    (src / "b.jsonl").unlink()
    write_jsonl(src / "d.jsonl", records("d", 5, "綦江"))
    summary = NewsIndex.update([src], ix, prune=True)
    assert summary.duplicates == 1

    fresh = tmp_path / "fresh"
    NewsIndex.rebuild([src], fresh)
    updated, rebuilt = snapshot(ix), snapshot(fresh)
    assert sorted(updated) == sorted(rebuilt)
    assert {key: comparable(value) for key, value in updated.items()} == {
        key: comparable(value) for key, value in rebuilt.items()
    }
    news = NewsIndex.open(ix)
    assert news.search("綦江").total == 5 and news.search("万州").total == 0


def test_new_article_with_an_indexed_body_is_a_copy_and_a_reread_is_a_duplicate(tmp_path, src):
    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    copy = dict(records("a", 1, "涪陵")[0], id="copy-1", source="转载网", url="http://zz.cn/1")
    write_jsonl(tmp_path / "copy.jsonl", [copy])
    summary = NewsIndex.update([tmp_path / "copy.jsonl"], ix)
    assert (summary.added, summary.duplicates) == (1, 0)
    # The same record again (from another file: its path is replaced), then under another id (its
    # URL and text): a re-read.
    write_jsonl(tmp_path / "again.jsonl", [copy, dict(copy, id="copy-2")])
    summary = NewsIndex.update([tmp_path / "again.jsonl"], ix)
    assert (summary.added, summary.replaced, summary.duplicates) == (0, 1, 1)
    # Under another id only (the indexed one is not read this time): a re-read of an indexed record.
    write_jsonl(tmp_path / "third.jsonl", [dict(copy, id="copy-3")])
    summary = NewsIndex.update([tmp_path / "third.jsonl"], ix)
    assert (summary.added, summary.duplicates) == (0, 1)


def test_update_without_sources_reads_those_the_index_came_from(tmp_path, src):
    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    write_jsonl(src / "c.jsonl", records("c", 2, "黔江"))
    assert NewsIndex.update(None, ix).added == 2
    extra = write_jsonl(tmp_path / "extra.jsonl", records("e", 1, "长寿"))
    assert NewsIndex.update([extra], ix).added == 1
    # The index now records both, so a plain update reads both.
    write_jsonl(extra, records("e", 2, "长寿"))
    write_jsonl(src / "c.jsonl", records("c", 3, "黔江"))
    assert NewsIndex.update(None, ix).added == 2
    assert NewsIndex.open(ix).info["sources"] == [str(src), str(extra)]


def test_update_builds_a_missing_index(tmp_path, src):
    summary = update([src], tmp_path / "ix")
    assert summary.rebuilt and summary.added == 10 and summary.documents == 10
    assert NewsIndex.open(tmp_path / "ix").doc_count == 10


def test_update_is_atomic_for_readers_and_leaves_the_served_files_alone(tmp_path, src):
    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    served = current_generation(ix)
    digests = {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in served.iterdir() if p.is_file()}
    old_index, _ = open_generation(ix)
    with old_index.searcher() as held:
        write_jsonl(src / "c.jsonl", records("c", 50, "黔江"))
        (src / "b.jsonl").unlink()
        NewsIndex.update([src], ix, prune=True)
        # A reader that was open keeps its whole old view, not a mix.
        assert held.doc_count() == 10 and len(list(held.documents())) == 10
    old_index.close()
    # Files are linked, never rewritten: the previous generation is byte for byte what it was.
    assert {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in served.iterdir() if p.is_file()} == digests
    assert current_generation(ix) != served
    assert NewsIndex.open(ix).doc_count == 56
    # A later rebuild still works on an updated index.
    NewsIndex.rebuild([src], ix)
    assert NewsIndex.open(ix).doc_count == 56


def _start_child(code: str, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], env=child_env())


def _wait_for_build(ix: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not list(ix.glob("build-*")):
        assert proc.poll() is None, "the writer ended before it started writing"
        assert time.monotonic() < deadline, "the writer never started writing"
        time.sleep(0.02)


UPDATE = "import sys; from search import NewsIndex; NewsIndex.update([sys.argv[1]], sys.argv[2], prune=True)"
REBUILD = "import sys; from search import NewsIndex; NewsIndex.rebuild([sys.argv[1]], sys.argv[2])"


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.5])
def test_killed_update_leaves_the_index_intact(tmp_path, src, delay):
    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    served, before = current_generation(ix), snapshot(ix)
    write_jsonl(src / "c.jsonl", records("c", 800, "黔江"))
    proc = _start_child(UPDATE, src, ix)
    _wait_for_build(ix, proc)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Either the update had not been published (the old index, whole) or it had (the new one, whole).
    now = snapshot(ix)
    if current_generation(ix) == served:
        assert now == before
    else:
        assert len(now) == 810
    assert NewsIndex.open(ix).search("涪陵").total == 6
    # The next update finishes the job and removes what the killed one left.
    summary = NewsIndex.update([src], ix, prune=True)
    assert summary.documents == 810 and len(snapshot(ix)) == 810
    assert not list(ix.glob("build-*"))


@pytest.mark.slow
@pytest.mark.parametrize("first", [REBUILD, UPDATE], ids=["rebuild", "update"])
def test_second_writer_waits_then_fails_clearly(tmp_path, src, first):
    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    big = tmp_path / "big"
    big.mkdir()
    write_jsonl(big / "c.jsonl", records("c", 1500, "黔江"))
    proc = _start_child(first, big, ix)
    try:
        _wait_for_build(ix, proc)
        started = time.monotonic()
        with pytest.raises(IndexLocked, match=rf"another rebuild or update \(process {proc.pid}\).*waited 0.5 s"):
            NewsIndex.update([src], ix, lock_timeout=0.5)
        assert time.monotonic() - started >= 0.5
        result = CliRunner().invoke(cli, ["index", "update", "--source", str(src), "--index", str(ix), "--wait", "0.2"])
        assert result.exit_code == 1 and result.output.startswith("Error: ") and len(result.output.splitlines()) == 1
        assert proc.wait(120) == 0
    finally:
        proc.kill()
    # The first writer's work is whole, and the index takes the next writer.
    assert NewsIndex.open(ix).search("黔江", per_page=1).hits[0].id.startswith("c-")
    assert NewsIndex.open(ix).doc_count == (1500 if first == REBUILD else 1510)
    assert NewsIndex.update([src], ix).documents == 1510


def test_lock_names_its_holder_and_is_released(tmp_path):
    ix = tmp_path / "ix"
    with write_lock(ix):
        assert (ix / ".write.lock").read_text().strip() == str(os.getpid())
    with write_lock(ix, timeout=0):
        pass


def test_cli_update_summary(tmp_path, src):
    ix = tmp_path / "ix"
    runner = CliRunner()
    assert runner.invoke(cli, ["index", "rebuild", "--source", str(src), "--index", str(ix)]).exit_code == 0
    write_jsonl(src / "c.jsonl", records("c", 2, "黔江"))
    (src / "b.jsonl").unlink()
    result = runner.invoke(cli, ["index", "update", "--index", str(ix), "--prune", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["added"], data["removed"], data["unchanged"], data["documents"]) == (2, 4, 6, 8)
    assert data["generation"] == current_generation(ix).name
    result = runner.invoke(cli, ["index", "update", "--index", str(ix), "--source", str(src)])
    assert result.exit_code == 0
    assert result.output.startswith("Up to date: 0 added, 0 replaced, 0 removed, 8 unchanged")


def test_an_index_with_other_fields_is_rebuilt(tmp_path, src):
    """An index written by a version with other fields cannot take this version's documents: the
    update rebuilds it instead of failing."""
    from whoosh import fields as whoosh_fields
    from whoosh import index as whoosh_index

    ix = tmp_path / "ix"
    old = ix / "gen-20000101T000000000000Z-1"
    old.mkdir(parents=True)
    schema = whoosh_fields.Schema(id=whoosh_fields.ID(stored=True, unique=True), body=whoosh_fields.TEXT(stored=True))
    with whoosh_index.create_in(str(old), schema).writer() as writer:
        writer.add_document(id="old-1", body="旧版本的索引")
    (ix / "CURRENT").write_text(old.name + "\n", encoding="utf-8")
    summary = NewsIndex.update([src], ix)
    assert summary.rebuilt and summary.documents == 10
    assert sorted(snapshot(ix)) == sorted(r["id"] for r in records("a", 6, "") + records("b", 4, ""))


def test_update_recomputes_copies_and_leaves_the_served_sidecars_alone(tmp_path, src):
    story = (
        "綦江区东溪古镇今年启动保护性修缮，修缮范围包括太平桥、王爷庙和沿河吊脚楼，"
        "施工方按照原有形制更换腐朽木构件，镇上商户在施工期间照常营业，游客可沿临时步道参观。"
    ) * 3
    write_jsonl(src / "story.jsonl", [{"id": "story-1", "title": "东溪古镇修缮", "body": story, "source": "重庆日报"}])
    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    served = current_generation(ix)
    sidecars = {p.name: p.read_bytes() for p in served.iterdir() if p.suffix in (".json", ".tsv", ".zst")}
    reprint = {"id": "story-2", "title": "东溪古镇修缮", "body": story + "（转载）", "source": "綦江网"}
    write_jsonl(src / "reprint.jsonl", [reprint])
    assert NewsIndex.update([src], ix).added == 1
    hits = NewsIndex.open(ix).search("东溪古镇").hits
    assert len(hits) == 1 and hits[0].copies == 1  # the reprint is known as a copy of the story
    assert {p.name: p.read_bytes() for p in served.iterdir() if p.suffix in (".json", ".tsv", ".zst")} == sidecars


def test_update_takes_unchanged_bodies_signatures_from_the_served_generation(tmp_path, src):
    """The MinHash of an unchanged body is read from the generation it was served in, not computed
    again; new bodies get theirs computed; the files hold the same as a computation from scratch."""
    from search import copies, sidecars

    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    served = current_generation(ix)
    kind, *digests = (served / "signatures.keys").read_text(encoding="utf-8").split("\n")
    assert kind == f"# {copies.SIGNATURE_KIND}"
    blob = bytearray((served / sidecars.SIGNATURES).read_bytes())
    size = len(blob) // len(digests)
    assert size == copies.SIGNATURE_BYTES == 144 and len(digests) == NewsIndex.open(ix).doc_count
    fresh = {digest: bytes(blob[i * size : (i + 1) * size]) for i, digest in enumerate(digests)}
    # Mark the first article's saved signature: an update that reuses it carries the mark over.
    blob[:size] = b"\x07" * size
    (served / sidecars.SIGNATURES).write_bytes(bytes(blob))

    write_jsonl(src / "c.jsonl", records("c", 3, "黔江"))
    NewsIndex.update([src], ix)
    generation = current_generation(ix)
    _, *new_digests = (generation / "signatures.keys").read_text(encoding="utf-8").split("\n")
    new_blob = (generation / sidecars.SIGNATURES).read_bytes()
    saved = {digest: new_blob[i * size : (i + 1) * size] for i, digest in enumerate(new_digests)}
    assert len(saved) == len(fresh) + 3
    assert saved[digests[0]] == b"\x07" * size, "the unchanged body's signature was reused"
    assert all(saved[d] == fresh[d] for d in digests[1:])


def _save_whole_minhashes(generation: Path, marked_body: str | None = None) -> list[str]:
    """Rewrite a generation's saved signatures as an earlier version saved them: the whole MinHash of
    each body (the first one's replaced by that of ``marked_body``, when given); returns the digests."""
    from whoosh import index as whoosh_index

    from search import copies, sidecars

    with whoosh_index.open_dir(str(generation)).reader() as reader:
        stored = [fields for _, fields in reader.iter_docs()]
    digests = [fields["digest"] for fields in stored]
    hashed = [copies.minhash(fields["body"]) for fields in stored]
    if marked_body is not None:
        hashed[0] = copies.minhash(marked_body)
    (generation / sidecars.SIGNATURES).write_bytes(b"".join(h or bytes(copies.MINHASH_BYTES) for h in hashed))
    keys = "\n".join([f"# {copies.MINHASH_KIND}", *digests])
    (generation / "signatures.keys").write_text(keys, encoding="utf-8")
    return digests


def _saved(generation: Path) -> dict:
    from search import copies, sidecars

    kind, *digests = (generation / "signatures.keys").read_text(encoding="utf-8").split("\n")
    assert kind == f"# {copies.SIGNATURE_KIND}"
    blob = (generation / sidecars.SIGNATURES).read_bytes()
    size = copies.SIGNATURE_BYTES
    assert len(blob) == size * len(digests)
    return {digest: blob[i * size : (i + 1) * size] for i, digest in enumerate(digests)}


def test_update_reads_whole_minhashes_an_earlier_version_saved(tmp_path, src):
    """A generation whose signatures are whole MinHashes (before they were band keys) is updated
    without computing them again: they are turned into band keys, the same as computed ones."""
    from search import copies

    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    served = current_generation(ix)
    fresh = _saved(served)
    marker = STORY  # a body of none of the articles
    digests = _save_whole_minhashes(served, marked_body=marker)

    write_jsonl(src / "c.jsonl", records("c", 3, "黔江"))
    NewsIndex.update([src], ix)
    saved = _saved(current_generation(ix))
    assert len(saved) == len(fresh) + 3
    assert saved[digests[0]] == copies.signature(marker), "the saved MinHash was read, not computed again"
    assert all(saved[d] == fresh[d] for d in digests[1:])  # turned into the very keys a rebuild saves


def test_update_finds_copies_of_old_articles_through_saved_signatures(tmp_path, src):
    """A new article that reprints an old one is clustered with it, the old one's signature read
    from the served generation (in either saved form), not from its body."""
    story = (
        "綦江区东溪古镇今年启动保护性修缮，修缮范围包括太平桥、王爷庙和沿河吊脚楼，"
        "施工方按照原有形制更换腐朽木构件，镇上商户在施工期间照常营业，游客可沿临时步道参观。"
    ) * 3
    for form in ("band keys", "whole minhashes"):
        folder, ix = tmp_path / form / "src", tmp_path / form / "ix"
        folder.mkdir(parents=True)
        write_jsonl(folder / "story.jsonl", [{"id": "story-1", "title": "东溪古镇修缮", "body": story}])
        write_jsonl(folder / "a.jsonl", records("a", 6, "万州"))
        NewsIndex.rebuild([folder], ix)
        if form == "whole minhashes":
            _save_whole_minhashes(current_generation(ix))
        reprint = {"id": "story-2", "title": "东溪古镇修缮工程", "body": "（转载）" + story, "source": "綦江网"}
        write_jsonl(folder / "reprint.jsonl", [reprint])
        assert NewsIndex.update([folder], ix).added == 1
        hits = NewsIndex.open(ix).search("东溪古镇").hits
        assert len(hits) == 1 and hits[0].copies == 1, form
        assert {hits[0].id, *(member.id for member in hits[0].other_copies)} == {"story-1", "story-2"}, form


def test_update_computes_again_signatures_saved_another_way(tmp_path, src):
    """Signatures saved under another description (another MinHash scheme, seed, shingle...) are
    not reused: the update computes every one again."""
    from search import sidecars

    ix = tmp_path / "ix"
    NewsIndex.rebuild([src], ix)
    served = current_generation(ix)
    keys = served / "signatures.keys"
    kind, *digests = keys.read_text(encoding="utf-8").split("\n")
    fresh = (served / sidecars.SIGNATURES).read_bytes()
    (served / sidecars.SIGNATURES).write_bytes(b"\x07" * len(fresh))
    keys.write_text("\n".join([kind.replace("affine32", "legacy"), *digests]), encoding="utf-8")

    write_jsonl(src / "c.jsonl", records("c", 3, "黔江"))
    NewsIndex.update([src], ix)
    generation = current_generation(ix)
    _, *new_digests = (generation / "signatures.keys").read_text(encoding="utf-8").split("\n")
    blob = (generation / sidecars.SIGNATURES).read_bytes()
    size = len(fresh) // len(digests)
    saved = {digest: blob[i * size : (i + 1) * size] for i, digest in enumerate(new_digests)}
    assert all(saved[d] == fresh[i * size : (i + 1) * size] for i, d in enumerate(digests))
