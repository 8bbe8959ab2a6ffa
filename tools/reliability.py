"""Reliability drills: kill writers at random moments, and load a real server while the index changes.

::

    python -m tools.reliability [--kills 20] [--load-seconds 60] [--clients 8] [--source PATH ...]
                                [--work DIR] [--seed N] [--update-bench] [--json]
                                [--hostile-seconds 60 [--index DIR]]

**Kill loop.** Each round starts a writer in a child process (``news-search index rebuild`` or
``index update --prune``, in turn), towards the other of two versions of a drill file that sits
beside the sources (some articles changed, some removed, some new), and kills it with SIGKILL at a
random moment of its run (the length of a run is measured first). Then it checks that the served
index is complete, exactly the articles (ids and content hashes) of the version before or of the
version after, never a mix, that it can be searched, and that the same writer run again finishes
and leaves nothing behind.

**Load run.** It starts ``news-search serve`` (gunicorn, one worker per core) on the index, keeps
``--clients`` threads sending requests for ``--load-seconds`` (result pages, the JSON API, article
pages, the front page, health checks, and hostile ones: markup, NUL bytes, unbalanced syntax,
10,000-character queries, absurd pages; each kind has the status it must get), while one writer
rebuilds and updates the index in turn and a second one tries to update it with a short wait (it
must either succeed or be told the index is locked). It counts requests by status, errors by kind
(5xx, connection errors, wrong statuses), latency percentiles, and checks that the server ends
serving the last generation.

**Hostile load** (``--hostile-seconds``): ``--clients`` threads send the costliest query shapes built
from the index's commonest words (many phrases, one phrase repeated, fielded words, long OR chains,
quoted non-words, deep groups) while one more sends cheap queries one at a time; every answer must be
a page or a 400, and the cheap queries' p95 must stay under twice the time limit. ``--index`` serves
an existing index (the whole corpus, say) instead of the drill's own.

**Update against rebuild** (``--update-bench``): the seconds of a rebuild, of an update with 10
articles changed or new, and of an update with nothing to do, on the same index in the same run.

The figures are printed as text (or ``--json``); the exit status is 1 when anything went wrong.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import click

from search.generations import current_generation, open_generation
from search.sources import read_sources
from search.updater import read_articles
from tests.helpers import child_env, serve

DRILL_FILE = "drill.jsonl"


# The index and its two versions -------------------------------------------------------------------------


@dataclass
class Drill:
    """A work folder: the sources (the given ones plus a drill file in two versions) and an index."""

    work: Path
    sources: list[str]
    index: Path
    size: int = 300  # articles in the drill file
    versions: list[dict[str, str]] = field(default_factory=list)  # expected {id: digest} of each version
    article_ids: list[str] = field(default_factory=list)  # ids in both versions, for article pages
    words: list[str] = field(default_factory=list)  # words to search for
    seconds: dict[str, float] = field(default_factory=dict)  # how long a rebuild, an update runs

    def timed(self, kind: str) -> float:
        """How long a run of ``kind`` takes (measured by running one, the first time)."""
        if kind not in self.seconds:
            version = self.served_version()
            self.write_version(1 - (version or 0))
            started = time.monotonic()
            code, err = _run_writer(kind, self, wait=60)
            if code != 0:
                raise RuntimeError(f"{kind} failed: {err[-500:]}")
            self.seconds[kind] = round(time.monotonic() - started, 2)
        return self.seconds[kind]

    @property
    def drill_file(self) -> Path:
        return self.work / "drill" / DRILL_FILE

    def write_version(self, version: int, changed: int = 0) -> None:
        """Write the drill file as ``version``; with ``changed``, that many articles more changed or new."""
        records = drill_records(version, self.size, changed)
        tmp = self.drill_file.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        os.replace(tmp, self.drill_file)

    def served(self) -> dict[str, str]:
        """``{id: digest}`` of the served generation."""
        index, _ = open_generation(self.index)
        try:
            with index.reader() as reader:
                return {stored["id"]: stored.get("digest", "") for _, stored in reader.iter_docs()}
        finally:
            index.close()

    def served_version(self) -> int | None:
        """Which version the served index is, whole (``None``: neither, or no index)."""
        try:
            served = self.served()
        except Exception:  # noqa: BLE001 - any failure to read it is what this reports
            return None
        for number, expected in enumerate(self.versions):
            if served == expected:
                return number
        return None


def drill_records(version: int, n: int = 300, changed: int = 0) -> list[dict]:
    """The drill file: version 1 changes a third of version 0's articles, drops a sixth, adds a sixth;
    ``changed`` changes half that many more articles and adds the other half."""
    records = []
    for i in range(n):
        if version == 1 and i % 6 == 5:
            continue  # removed in version 1
        edited = version == 1 and i % 3 == 0
        records.append(
            {
                "id": f"drill-{i}",
                "title": f"演练稿件{i}号：缙云山防火巡查",
                "body": (
                    f"北碚区缙云山第{i}次防火巡查，巡查队员检查了{i % 17 + 3}处林区道口。"
                    + ("巡查结束后通报了整改情况。" if edited else "现场没有发现隐患。")
                    + f"演练编号{i}。"
                ),
                "date": f"2021-{i % 12 + 1:02d}-{i % 28 + 1:02d}",
                "source": "演练日报",
            }
        )
    if version == 1:
        records += [
            {
                "id": f"drill-new-{i}",
                "title": f"新增稿件{i}号：嘉陵江巡河",
                "body": f"嘉陵江北碚段第{i}次巡河，清理漂浮物{i + 2}吨。演练编号新{i}。",
                "date": "2022-03-01",
                "source": "演练日报",
            }
            for i in range(n // 6)
        ]
    for record in records[: changed // 2]:
        record["body"] += "（本文已更正）"
    records += [
        {
            "id": f"bench-new-{i}",
            "title": f"补充稿件{i}号：北碚夜间巡查",
            "body": f"北碚区夜间巡查第{i}轮，发现并处置隐患{i + 1}处。补充编号{i}。",
            "date": "2022-04-01",
            "source": "演练日报",
        }
        for i in range(changed - changed // 2)
    ]
    return records


def prepare(sources: list[str], work: Path, size: int = 300) -> Drill:
    """Lay out the work folder, learn what a complete index of each version holds, and build one.

    :param size: articles in the drill file (a sixth of them change between the versions)
    """
    (work / "drill").mkdir(parents=True, exist_ok=True)
    drill = Drill(work, [*sources, str(work / "drill")], work / "index", size)
    for version in (1, 0):
        # What the reading rules say (the ones both a rebuild and an update follow).
        drill.write_version(version)
        read = read_articles(drill.sources)
        drill.versions.insert(0, {article.id: article.digest for article in read.articles})
    started = time.monotonic()
    code, err = _run_writer("rebuild", drill, wait=60)
    if code != 0:
        raise RuntimeError(f"the first rebuild failed: {err[-500:]}")
    drill.seconds["rebuild"] = round(time.monotonic() - started, 2)
    if drill.served_version() != 0:
        raise RuntimeError("the first rebuild does not hold what the sources hold")
    both = sorted(set(drill.versions[0]) & set(drill.versions[1]))
    drill.article_ids = both
    drill.words = _words(sources) + ["缙云山", "巡查", "嘉陵江", '"防火巡查"', "北碚 巡河", "演练 -新增"]
    return drill


def _words(sources: list[str], most: int = 40) -> list[str]:
    """Words that occur in the sources' titles, to search for."""
    words: Counter[str] = Counter()
    for article in read_sources(sources, lambda error: None):
        for word in re.findall(r"[\u4e00-\u9fff]{2,4}", article.title):
            words[word] += 1
        if len(words) > 2000:
            break
    return [word for word, _ in words.most_common(most)] or ["重庆"]


# Writers -----------------------------------------------------------------------------------------------


def _writer_args(kind: str, drill: Drill, wait: float) -> list[str]:
    args = [sys.executable, "-m", "search.cli", "index", kind, "--index", str(drill.index), "--silent"]
    for source in drill.sources:
        args += ["--source", source]
    if kind == "update":
        args += ["--prune", "--wait", f"{wait:g}"]
    return args


def _start_writer(kind: str, drill: Drill, wait: float = 60) -> subprocess.Popen:
    return subprocess.Popen(
        _writer_args(kind, drill, wait),
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _run_writer(kind: str, drill: Drill, wait: float) -> tuple[int, str]:
    """Run a writer to its end: its exit status and what it wrote to stderr."""
    process = _start_writer(kind, drill, wait)
    _, err = process.communicate()
    return process.returncode, err.decode("utf-8", "replace").strip()


def _leftovers(index: Path) -> str:
    """What a killed writer left, which tells when it was killed."""
    current = current_generation(index)
    if list(index.glob("build-*")):
        return "while writing"
    if current is not None and any(p.name > current.name for p in index.glob("gen-*")):
        return "between rename and pointer swap"
    if list(index.glob("CURRENT.*.tmp")):
        return "while writing the pointer"
    return "before writing or after publishing"


def percentiles(latencies: list[float], wanted=(50, 95)) -> dict[str, float]:
    """``{"p50": ..., "max": ...}`` of ``latencies`` (ms), for the ``wanted`` percentiles."""
    if not latencies:
        return {}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {**{f"p{n}": round(cuts[n - 1], 1) for n in wanted}, "max": round(max(latencies), 1)}


# Kill loop ---------------------------------------------------------------------------------------------


@dataclass
class KillFigures:
    rounds: int = 0
    killed: int = 0
    finished_before_kill: int = 0
    served_complete: int = 0
    served_incomplete: int = 0
    recovered: int = 0
    not_recovered: int = 0
    killed_at: dict[str, int] = field(default_factory=dict)
    by_writer: dict[str, int] = field(default_factory=dict)
    writer_seconds: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def kill_loop(drill: Drill, kills: int, rng: random.Random) -> KillFigures:
    """Kill ``kills`` writers at random moments; check the served index and the recovery each time."""
    figures = KillFigures()
    killed_at: Counter[str] = Counter()
    by_writer: Counter[str] = Counter()
    for round_number in range(kills):
        kind = ("rebuild", "update")[round_number % 2]
        # How long the writer runs, to spread the kills over the whole of a run.
        seconds = drill.timed(kind)
        version = drill.served_version()
        if version is None:
            raise RuntimeError("the drill index is not in a known version")
        before = version
        version = 1 - version
        drill.write_version(version)
        # Anywhere in the run, or (every other time, on average) near its end, where it publishes.
        low = 0.0 if rng.random() < 0.5 else 0.8
        delay = rng.uniform(low, 1.1) * seconds
        process = _start_writer(kind, drill)
        time.sleep(delay)
        figures.rounds += 1
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            figures.killed += 1
            by_writer[kind] += 1
        else:
            figures.finished_before_kill += 1
        process.wait()
        process.stderr.close()
        killed_at[_leftovers(drill.index)] += 1
        served = drill.served_version()
        if served in (before, version):
            figures.served_complete += 1
        else:
            figures.served_incomplete += 1
            figures.problems.append(f"round {round_number}: served index is neither version after killing {kind}")
        # The same writer again, to the end: it must clean up and succeed. (Its length is the one
        # the next kill of its kind is spread over: the machine may be busier or quieter by then.)
        started = time.monotonic()
        code, err = _run_writer(kind, drill, wait=60)
        drill.seconds[kind] = round(time.monotonic() - started, 2)
        ok = code == 0 and drill.served_version() == version and not list(drill.index.glob("build-*"))
        if ok:
            figures.recovered += 1
        else:
            figures.not_recovered += 1
            figures.problems.append(f"round {round_number}: {kind} after the kill did not recover: {err[-200:]}")
    figures.killed_at = dict(killed_at)
    figures.by_writer = dict(by_writer)
    figures.writer_seconds = dict(drill.seconds)
    return figures


# Load run ----------------------------------------------------------------------------------------------


@dataclass
class Request:
    kind: str
    path: str
    expect: tuple[int, ...]


@dataclass
class LoadFigures:
    seconds: float = 0.0
    clients: int = 0
    requests: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    rebuilds: int = 0
    updates: int = 0
    updates_refused_locked: int = 0
    writer_failures: int = 0
    generations_published: int = 0
    generations_seen_by_server: int = 0
    served_last_generation: bool = False
    problems: list[str] = field(default_factory=list)


def _requests(drill: Drill, rng: random.Random) -> Iterator[Request]:
    """An endless mix of requests, each with the statuses it may get."""
    hostile = [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "重庆\x00发展",
        "((((重庆",
        '"一区两群',
        "title:",
        "nosuchfield:重庆",
        "重庆^" + "9" * 300,
        "\ufffd\u202e重庆",
        "AND OR NOT",
    ]
    while True:
        word = rng.choice(drill.words)
        roll = rng.random()
        if roll < 0.35:
            yield Request("search page", f"/search?q={quote(word)}&page={rng.choice([1, 1, 2])}", (200,))
        elif roll < 0.55:
            sort = rng.choice(["relevance", "date"])
            yield Request("api", f"/api/search?q={quote(word)}&sort={sort}&per_page={rng.choice([10, 50])}", (200,))
        elif roll < 0.65:
            article_id = rng.choice(drill.article_ids)
            yield Request("article", f"/article/{quote(article_id, safe='')}?q={quote(word)}", (200,))
        elif roll < 0.75:
            yield Request("front page", "/", (200,))
        elif roll < 0.90:
            q = rng.choice(hostile)
            yield Request("hostile query", f"/search?q={quote(q)}", (200, 400))
        else:
            bad = rng.choice(
                [
                    f"/api/search?q={quote(word)}&page={10**9}",
                    f"/api/search?q={quote(word)}&per_page=1000000",
                    f"/api/search?q={quote('重' * 10_000)}",
                    f"/search?q={quote(word)}&from=2020-13-45",
                ]
            )
            # A URL longer than the server takes (the 10,000-character query) is refused by the
            # server itself with 414, before the app would have said 400.
            yield Request("bad parameter", bad, (400, 414) if len(bad) > 8000 else (400,))


def _get(host: str, port: int, path: str, timeout: float = 60) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Accept": "text/html,application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def load_run(drill: Drill, seconds: float, clients: int, rng: random.Random, threads: int = 4) -> LoadFigures:
    """Load the real server for ``seconds`` with ``clients`` threads while writers change the index."""
    figures = LoadFigures(seconds=seconds, clients=clients)
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    generations: set[str] = set()
    published: set[str] = set()
    stop = threading.Event()  # clients and writers
    writers_done = threading.Event()  # the monitor

    with serve("--index", str(drill.index.resolve()), "--threads", str(threads)) as server:
        address = urlsplit(server.url)
        host, port, process = address.hostname, address.port, server.process

        def client(seed: int) -> None:
            requests = _requests(drill, random.Random(seed))
            while not stop.is_set():
                request = next(requests)
                started = time.perf_counter()
                try:
                    status, body = _get(host, port, request.path)
                except (OSError, http.client.HTTPException) as error:
                    with lock:
                        errors[f"connection: {type(error).__name__}"] += 1
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    statuses[str(status)] += 1
                    kinds[request.kind] += 1
                    if status >= 500:
                        errors[f"{status} on {request.kind}"] += 1
                    elif status not in request.expect:
                        errors[f"unexpected {status} on {request.kind}"] += 1

        def writer() -> None:
            version = drill.served_version() or 0
            turn = 0
            while not stop.is_set():
                kind = ("update", "update", "rebuild")[turn % 3]
                turn += 1
                version = 1 - version
                drill.write_version(version)
                code, err = _run_writer(kind, drill, wait=120)
                with lock:
                    if code == 0:
                        figures.rebuilds += kind == "rebuild"
                        figures.updates += kind == "update"
                        published.add(current_generation(drill.index).name)
                    else:
                        figures.writer_failures += 1
                        figures.problems.append(f"{kind} failed: {err[-200:]}")

        def monitor() -> None:
            # What the server says it serves, five times a second, until the last writer is done.
            while not writers_done.wait(0.2):
                try:
                    status, body = _get(host, port, "/healthz")
                except (OSError, http.client.HTTPException) as error:
                    with lock:
                        errors[f"connection: {type(error).__name__}"] += 1
                    continue
                with lock:
                    statuses[str(status)] += 1
                    kinds["healthz"] += 1
                    if status != 200:
                        errors[f"{status} on healthz"] += 1
                    else:
                        generations.add(json.loads(body)["generation"])

        def second_writer() -> None:
            # Another writer now and then, with a short wait: it updates, or is told the index is locked.
            while not stop.wait(rng.uniform(1, 4)):
                code, err = _run_writer("update", drill, wait=0.5)
                with lock:
                    if code == 0:
                        figures.updates += 1
                    elif "is writing this index" in err:
                        figures.updates_refused_locked += 1
                    else:
                        figures.writer_failures += 1
                        figures.problems.append(f"concurrent update failed: {err[-200:]}")

        workers = [threading.Thread(target=client, args=(rng.random(),), daemon=True) for _ in range(clients)]
        workers += [threading.Thread(target=task, daemon=True) for task in (writer, second_writer)]
        watcher = threading.Thread(target=monitor, daemon=True)
        for thread in [*workers, watcher]:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in workers:
            thread.join(600)
        time.sleep(0.5)
        writers_done.set()
        watcher.join(60)
        # The server serves the last generation written.
        status, body = _get(host, port, "/healthz")
        last = current_generation(drill.index)
        figures.served_last_generation = (
            status == 200 and last is not None and json.loads(body)["generation"] == last.name
        )
        if drill.served_version() is None:
            figures.problems.append("the index after the load run is neither version")
        if process.poll() is not None:
            figures.problems.append(f"the server exited with {process.returncode}")
    figures.requests = sum(statuses.values())
    figures.by_status = dict(sorted(statuses.items()))
    figures.by_kind = dict(kinds.most_common())
    figures.errors = dict(errors.most_common())
    figures.generations_published = len(published)
    figures.generations_seen_by_server = len(generations & published)
    figures.latency_ms = percentiles(latencies, (50, 90, 99))
    if not figures.served_last_generation:
        figures.problems.append("the server did not end serving the last generation")
    return figures


# Hostile load ------------------------------------------------------------------------------------------


@dataclass
class HostileFigures:
    seconds: float = 0.0
    clients: int = 0
    time_limit: float = 0.0
    hostile_requests: int = 0
    hostile_by_status: dict[str, int] = field(default_factory=dict)
    hostile_latency_ms: dict[str, float] = field(default_factory=dict)
    cheap_requests: int = 0
    cheap_latency_ms: dict[str, float] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def common_words(index: Path, most: int = 24) -> list[str]:
    """The index's most frequent words (from its suggestion data)."""
    from search import NewsIndex

    with NewsIndex.open(index) as news:
        words = news._suggester().words
        ranked = sorted(zip(words.texts, words.weights, strict=True), key=lambda pair: -pair[1])
    return [text for text, _ in ranked[:most]] or ["重庆"]


def hostile_queries(words: list[str], rng: random.Random) -> Iterator[str]:
    """An endless mix of the costliest query shapes built from ``words`` (the commonest first):
    phrases of common words, one phrase repeated, fielded words, long OR chains, quoted non-words
    (refused: too many phrases), deep groups; each at most 500 characters."""
    common = words[:12]
    while True:
        shape = rng.randrange(6)
        if shape == 0:  # many distinct phrases of common words (16: the most a query may hold)
            pairs = {(rng.choice(common), rng.choice(common)) for _ in range(40)}
            query = " ".join(f'"{a} {b}"' for a, b in list(pairs)[:16])
        elif shape == 1:  # one phrase repeated
            query = " ".join([f'"{rng.choice(common)} {rng.choice(common)}"'] * 60)
        elif shape == 2:  # fielded words
            query = " ".join(f"{rng.choice(['title', 'body'])}:{word}" for word in rng.sample(common, 8) * 2)
        elif shape == 3:  # a long OR chain
            query = " OR ".join(rng.choice(words) for _ in range(120))
        elif shape == 4:  # quoted words nobody wrote
            query = " ".join(f'"囧{rng.randrange(10**6)}烎"' for _ in range(40))
        else:  # deep groups
            depth = rng.randrange(20, 120)
            query = "(" * depth + " ".join(rng.sample(common, 4)) + ")" * depth
        yield query[:500]


def hostile_load(index: Path, seconds: float, clients: int, rng: random.Random, threads: int = 4) -> HostileFigures:
    """``clients`` threads send the costliest query shapes to a real server for ``seconds`` while
    one more sends cheap ones, one at a time: the cheap ones must still be answered within about
    twice the time limit, and nothing may get a 5xx."""
    time_limit = float(os.environ.get("NEWS_SEARCH_TIME_LIMIT", "3") or 0)
    figures = HostileFigures(seconds=seconds, clients=clients, time_limit=time_limit)
    words = common_words(index)
    lock = threading.Lock()
    hostile_ms: list[float] = []
    cheap_ms: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    stop = threading.Event()

    with serve("--index", str(index.resolve()), "--threads", str(threads)) as server:
        address = urlsplit(server.url)
        host, port = address.hostname, address.port

        def ask(path: str, expect: tuple[int, ...], into: list[float]) -> None:
            started = time.perf_counter()
            try:
                status, _ = _get(host, port, path, timeout=max(60.0, 20 * time_limit))
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    errors[f"connection: {type(error).__name__}"] += 1
                return
            with lock:
                into.append((time.perf_counter() - started) * 1000)
                if into is hostile_ms:
                    statuses[str(status)] += 1
                if status >= 500 or status not in expect:
                    errors[f"{status} on {'a hostile' if into is hostile_ms else 'a cheap'} query"] += 1

        def attacker(seed: int) -> None:
            queries = hostile_queries(words, random.Random(seed))
            while not stop.is_set():
                ask(f"/search?q={quote(next(queries))}", (200, 400), hostile_ms)

        def reader() -> None:
            own = random.Random(rng.random())
            while not stop.is_set():
                ask(f"/search?q={quote(own.choice(words[12:] or words))}", (200,), cheap_ms)

        threads_ = [threading.Thread(target=attacker, args=(rng.random(),), daemon=True) for _ in range(clients)]
        threads_.append(threading.Thread(target=reader, daemon=True))
        for thread in threads_:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads_:
            thread.join(600)
        if server.process.poll() is not None:
            figures.problems.append(f"the server exited with {server.process.returncode}")
    figures.hostile_requests = len(hostile_ms)
    figures.hostile_by_status = dict(sorted(statuses.items()))
    figures.hostile_latency_ms = percentiles(hostile_ms)
    figures.cheap_requests = len(cheap_ms)
    figures.cheap_latency_ms = percentiles(cheap_ms)
    figures.errors = dict(errors.most_common())
    if time_limit and cheap_ms and figures.cheap_latency_ms["p95"] > 2000 * time_limit:
        figures.problems.append(
            f"cheap queries' p95 {figures.cheap_latency_ms['p95']:g} ms is over twice the time limit ({time_limit:g} s)"
        )
    if not cheap_ms:
        figures.problems.append("no cheap query was answered")
    return figures


# Update against rebuild --------------------------------------------------------------------------------


def update_bench(drill: Drill, changed: int = 10) -> dict:
    """Seconds of a rebuild (the drill's first, of the same sources), of an update with ``changed``
    articles changed or new, and of an update with nothing left to do, in the same run (each a
    ``news-search`` process, so each pays for starting Python)."""
    version = drill.served_version() or 0
    timings = {"rebuild": drill.seconds["rebuild"]}
    for name in ("update", "unchanged update"):  # the second finds the first's changes already in
        drill.write_version(version, changed)
        started = time.monotonic()
        code, err = _run_writer("update", drill, wait=60)
        if code != 0:
            raise RuntimeError(f"{name} failed: {err[-500:]}")
        timings[name] = round(time.monotonic() - started, 2)
    drill.write_version(version)
    _run_writer("update", drill, wait=60)  # back to a known version for the other drills
    return {
        "documents": len(drill.versions[version]),
        "changed": changed,
        "seconds": timings,
        "rebuild_over_update": round(timings["rebuild"] / timings["update"], 1),
    }


# Command -----------------------------------------------------------------------------------------------


def run(
    sources: list[str],
    work: Path,
    kills: int,
    load_seconds: float,
    clients: int,
    seed: int,
    size: int = 300,
    bench: bool = False,
    hostile_seconds: float = 0,
    hostile_index: Path | None = None,
) -> dict:
    """The drills; the figures as a dict (``ok`` says whether all went well).

    :param hostile_index: an index to serve in the hostile load (default: the drill's own)
    """
    rng = random.Random(seed)
    started = time.monotonic()
    report: dict = {"sources": sources, "seed": seed}
    drill = None
    if bench or kills or load_seconds or (hostile_seconds and hostile_index is None):
        drill = prepare(sources, work, size)
        report["documents"] = [len(v) for v in drill.versions]
    if bench:
        report["update_bench"] = update_bench(drill)
    if kills:
        report["kill_loop"] = asdict(kill_loop(drill, kills, rng))
    if load_seconds:
        report["load_run"] = asdict(load_run(drill, load_seconds, clients, rng))
    if hostile_seconds:
        index = hostile_index or drill.index
        report["hostile_load"] = {"index": str(index), **asdict(hostile_load(index, hostile_seconds, clients, rng))}
    report["seconds"] = round(time.monotonic() - started, 1)
    report["ok"] = ok(report)
    return report


def ok(report: dict) -> bool:
    kill = report.get("kill_loop", {})
    load = report.get("load_run", {})
    hostile = report.get("hostile_load", {})
    return not (
        kill.get("served_incomplete")
        or kill.get("not_recovered")
        or kill.get("problems")
        or load.get("errors")
        or load.get("writer_failures")
        or load.get("problems")
        or hostile.get("errors")
        or hostile.get("problems")
    )


def format_report(report: dict) -> str:
    lines = []
    if "documents" in report:
        lines.append(
            f"Sources: {', '.join(report['sources'])} (+ a drill file); versions of {report['documents']} articles"
        )
    bench = report.get("update_bench")
    if bench:
        lines += [
            f"Update against rebuild ({bench['documents']} articles, {bench['changed']} changed or new):",
            f"  seconds              {bench['seconds']}",
            f"  rebuild / update     {bench['rebuild_over_update']}x",
        ]
    kill = report.get("kill_loop")
    if kill:
        lines += [
            "Kill loop (SIGKILL at a random moment of a rebuild or an update):",
            f"  writers killed       {kill['killed']} of {kill['rounds']} ({kill['by_writer']}; "
            f"{kill['finished_before_kill']} finished before the kill)",
            f"  killed               {kill['killed_at']}",
            f"  served index whole   {kill['served_complete']} of {kill['rounds']}",
            f"  recovered            {kill['recovered']} of {kill['rounds']}",
            f"  one run takes        {kill['writer_seconds']} s",
        ]
    load = report.get("load_run")
    if load:
        lines += [
            f"Load run ({load['clients']} clients for {load['seconds']:g} s against news-search serve):",
            f"  requests served      {load['requests']} {load['by_status']}",
            f"  by kind              {load['by_kind']}",
            f"  errors               {load['errors'] or 'none'}",
            f"  latency (ms)         {load['latency_ms']}",
            f"  writers              {load['rebuilds']} rebuilds, {load['updates']} updates, "
            f"{load['updates_refused_locked']} updates told the index was locked, {load['writer_failures']} failed",
            f"  generations          {load['generations_published']} published, "
            f"{load['generations_seen_by_server']} seen served; last one served: {load['served_last_generation']}",
        ]
    hostile = report.get("hostile_load")
    if hostile:
        lines += [
            f"Hostile load ({hostile['clients']} clients sending the costliest queries for {hostile['seconds']:g} s, "
            f"one more sending cheap ones; time limit {hostile['time_limit']:g} s; index {hostile['index']}):",
            f"  hostile requests     {hostile['hostile_requests']} {hostile['hostile_by_status']}, "
            f"latency (ms) {hostile['hostile_latency_ms']}",
            f"  cheap requests       {hostile['cheap_requests']}, latency (ms) {hostile['cheap_latency_ms']}",
            f"  errors               {hostile['errors'] or 'none'}",
        ]
    problems = (kill or {}).get("problems", []) + (load or {}).get("problems", []) + (hostile or {}).get("problems", [])
    lines += [f"  problem: {problem}" for problem in problems]
    lines.append(f"{'OK' if report['ok'] else 'FAILED'} in {report['seconds']:g} s")
    return "\n".join(lines)


@click.command()
@click.option(
    "--source",
    "sources",
    multiple=True,
    default=("seeds",),
    show_default=True,
    type=click.Path(exists=True),
    help="A source file or folder to index beside the drill file (repeatable).",
)
@click.option(
    "--kills", default=20, show_default=True, type=click.IntRange(0), help="Writers to kill (0: no kill loop)."
)
@click.option(
    "--load-seconds",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Length of the load run (0: no load run).",
)
@click.option(
    "--clients", default=8, show_default=True, type=click.IntRange(1), help="Concurrent clients in the load run."
)
@click.option(
    "--work",
    type=click.Path(file_okay=False, path_type=Path),
    help="Work folder, kept afterwards. Default: a temporary one, removed afterwards.",
)
@click.option("--seed", type=int, help="Random seed, to repeat a run. Default: a random one (in the --json figures).")
@click.option("--update-bench", is_flag=True, help="Also time an update of 10 articles against a rebuild.")
@click.option(
    "--hostile-seconds",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Length of the hostile load: --clients send the costliest queries, one more cheap ones (0: none).",
)
@click.option(
    "--index",
    "hostile_index",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="An index to serve in the hostile load, read only (default: the drill's own, built from --source).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def main(sources, kills, load_seconds, clients, work, seed, update_bench, hostile_seconds, hostile_index, as_json):
    """Kill writers at random moments, and load a real server while the index changes.

    The kill loop SIGKILLs rebuilds and updates at random moments and checks that the served index
    is whole (one version or the other) and that the next writer recovers. The load run sends
    requests, hostile ones too, to news-search serve while writers rebuild and update the index.
    Prints the figures; the exit status is 1 when anything went wrong.
    """
    seed = seed if seed is not None else random.randrange(10**6)
    folder = work or Path(tempfile.mkdtemp(prefix="news-search-drill-"))
    try:
        report = run(
            list(sources),
            folder,
            kills,
            load_seconds,
            clients,
            seed,
            bench=update_bench,
            hostile_seconds=hostile_seconds,
            hostile_index=hostile_index,
        )
    finally:
        if work is None:
            shutil.rmtree(folder, ignore_errors=True)
    click.echo(json.dumps(report, ensure_ascii=False, indent=1) if as_json else format_report(report))
    if not report["ok"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
