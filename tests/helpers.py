"""Helpers shared by the tests and the reliability drill (``tools/reliability.py``).

The fixture files and the seed article's title, writing JSON Lines sources, the ids of a page of
results, and running the real ``news-search serve`` (gunicorn, or waitress with ``--server waitress``)
in a child process on a free port, and the worker processes of such a server.
Fixtures (the session index) live in ``conftest.py``; crafted articles in ``feature_cases.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
SEED_PAGE = FIXTURES / "cqrb-2020-06-20.txt"
SEED_TITLE = "市委常委会召开会议 研究部署渝东北三峡库区城镇群和渝东南武陵山区城镇群发展"

#: The keys of one hit, in the Python API's ``to_dict()``, the CLI's ``--json`` and ``/api/search``.
HIT_FIELDS = {
    "id",
    "title",
    "title_html",
    "snippet",
    "date",
    "source",
    "url",
    "score",
    "regions",
    "copies",
    "other_copies",
}


#: The shard counts of the sharded indexes compared with one index (the ``built`` fixture).
SHARDS = (1, 2, 4)


def write_jsonl(path: Path, records) -> Path:
    """Write ``records`` (dicts) to ``path`` as JSON Lines; return the path."""
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def ids(page) -> list[str]:
    """The ids of a page of results, in rank order."""
    return [hit.id for hit in page.hits]


def child_env() -> dict:
    """The environment for a child Python that imports this checkout's packages, whatever is installed."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


@dataclass
class Server:
    """A running ``news-search serve``: its address, process and the file its stderr goes to."""

    url: str
    process: subprocess.Popen
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def serve(*args: str, timeout: float = 120.0, root: Path = ROOT, env: dict | None = None) -> Iterator[Server]:
    """Start ``news-search serve --port 0 ARGS`` and yield it once it listens; stop it afterwards.

    The port is the one the server reports ("Listening on http://127.0.0.1:PORT/"), so there is
    no race for a free port. ``root``: the checkout whose code runs (another version's, for a
    benchmark); ``env``: variables added to the environment.
    """
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "stderr.txt"
        with open(log, "wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "search.cli", "serve", "--host", "127.0.0.1", "--port", "0", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                env={**(child_env() if root == ROOT else dict(os.environ, PYTHONPATH=str(root))), **(env or {})},
                cwd=tmp,
            )
        try:
            url = _wait_for_address(process, log, timeout)
            yield Server(url, process, log)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            process.stdout.close()


def workers(server: Server) -> list[int]:
    """The process ids of a gunicorn server's workers (the children of its master process)."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sorted(int(child) for child in children)


def wait_for_workers(server: Server, count: int, timeout: float = 60.0, other_than=()) -> list[int]:
    """Wait until the server runs ``count`` workers (none of them in ``other_than``); their ids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = workers(server)
        if len(pids) == count and not set(pids) & set(other_than):
            return pids
        time.sleep(0.1)
    raise TimeoutError(f"the server did not run {count} workers within {timeout:g} s: {server.stderr()}")


def _wait_for_address(process: subprocess.Popen, log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline().decode("utf-8", "replace")
            found = re.search(r"Listening on (http://\S+?)/?$", line.strip())
            if found:
                return found.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}): {log.read_text(errors='replace')}")
    raise TimeoutError(f"the server did not listen within {timeout:g} s: {log.read_text(errors='replace')}")
