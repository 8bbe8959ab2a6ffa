"""Run the real ``news-search serve`` (waitress) in a subprocess on a free port, for end-to-end tests."""

from __future__ import annotations

import contextlib
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


def child_env() -> dict:
    """The environment for a child Python that imports this checkout's ``search`` and ``web``."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def serve(*args: str, timeout: float = 120.0) -> Iterator[Server]:
    """Start ``news-search serve --port 0 ARGS`` and yield it once it listens; stop it afterwards.

    The port is the one the server reports ("Listening on http://127.0.0.1:PORT/"), so there is
    no race for a free port.
    """
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "stderr.txt"
        with open(log, "wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "search.cli", "serve", "--host", "127.0.0.1", "--port", "0", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                env=child_env(),
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
