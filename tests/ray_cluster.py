"""A real Ray cluster of several nodes on this machine, for the tests and the cluster benchmark.

Each node is a ``ray start --block`` in a session of its own (``setsid``), so that it is stopped,
or killed as a lost machine would be, by signalling its process group and the rest of its session
(Ray puts each worker in a process group of its own): never with ``ray stop``, which stops every
Ray node of the machine, other people's too.

Ray advertises the machine's own address even when told ``--node-ip-address=127.0.0.1``, so the
nodes and the driver must run in a network namespace where 127.0.0.1 is the only address:
:func:`enter_private_network` moves the calling process there (the test session does it at its
start, before any thread exists, so that every server, browser, database and Ray node of the
session lives there; the benchmark does it too). That needs root on Linux.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .helpers import child_env

#: Set in the environment of a process (and so of its children) once it runs in a private network.
PRIVATE_NET_ENV = "NEWS_SEARCH_PRIVATE_NET"
#: Object store of each test node: Ray's minimum is 75 MiB.
OBJECT_STORE_BYTES = 80 * 1024 * 1024
_CLONE_NEWNET = 0x40000000


def enter_private_network() -> str | None:
    """Move this process into a new network namespace with only the loopback interface, up.

    Only the calling thread moves: call it before any thread is started. Children started later
    are in it too. Returns None when done (or already done), else the one-line reason it cannot be.
    """
    if os.environ.get(PRIVATE_NET_ENV) == "1":
        return None
    if not sys.platform.startswith("linux"):
        return "a Ray test cluster needs Linux (a network namespace of its own)"
    if os.geteuid() != 0:
        return "a Ray test cluster needs root (a network namespace of its own, where 127.0.0.1 is the only address)"
    if shutil.which("ip") is None:
        return "a Ray test cluster needs `ip` (apt-get install iproute2)"
    try:
        if hasattr(os, "unshare"):  # Python 3.12+
            os.unshare(os.CLONE_NEWNET)
        else:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.unshare(_CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        return f"cannot make a network namespace for the Ray test cluster: {error}"
    os.environ[PRIVATE_NET_ENV] = "1"
    return None


def only_loopback() -> bool:
    """Whether this process sees no network interface but the loopback one."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Node:
    """One ``ray start --block`` process (the leader of its process group) and its folder."""

    process: subprocess.Popen
    folder: Path
    head: bool

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def pids(self) -> list[int]:
        """Every process of the node: its session (Ray's workers have process groups of their own)."""
        return _session(self.process.pid)

    def signal(self, number: int) -> None:
        """Signal the node's process group and every other process of its session."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, number)


def _session(sid: int) -> list[int]:
    """The processes of session ``sid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry.name)) == sid:
                    found.append(int(entry.name))
    return found


@dataclass
class LocalCluster:
    """Ray nodes on this machine, on 127.0.0.1, each with ``cpus`` CPUs and a small object store.

    >>> with LocalCluster(nodes=2) as cluster:   # doctest: +SKIP
    ...     run(["news-search", "index", "rebuild", "--cluster", cluster.address])

    :param env: variables added to every node's environment (their workers inherit them)
    """

    nodes: int = 2
    cpus: int = 1
    object_store: int = OBJECT_STORE_BYTES
    env: dict = field(default_factory=dict)
    timeout: float = 120.0
    members: list[Node] = field(default_factory=list)
    port: int = 0

    def __post_init__(self):
        # Unix socket paths must stay under about 100 bytes: the folder is short, under /tmp.
        self.folder = Path(tempfile.mkdtemp(prefix="rc", dir="/tmp"))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def _environment(self) -> dict:
        return {
            **child_env(),
            "RAY_USAGE_STATS_ENABLED": "0",
            # A lost node is noticed within seconds rather than the default half minute.
            "RAY_health_check_period_ms": "1000",
            "RAY_health_check_failure_threshold": "5",
            **self.env,
        }

    def _start_node(self, head: bool) -> Node:
        number = len(self.members)
        folder = self.folder / f"n{number}"
        folder.mkdir()
        where = ["--head", f"--port={self.port}", "--include-dashboard=false"] if head else [f"--address={self.address}"]
        command = [
            "setsid",
            sys.executable,
            "-m",
            "ray.scripts.scripts",
            "start",
            "--block",
            *where,
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={self.cpus}",
            "--num-gpus=0",
            f"--object-store-memory={self.object_store}",
            f"--temp-dir={folder}",
            "--disable-usage-stats",
        ]
        with open(folder / "log.txt", "wb") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self._environment())
        node = Node(process, folder, head)
        self.members.append(node)
        return node

    def start(self) -> None:
        self.port = free_port()
        self._start_node(head=True)
        for _ in range(self.nodes - 1):
            self._start_node(head=False)
        self.wait_for(self.nodes)

    def add_node(self) -> Node:
        """Start one more worker node and wait until the cluster counts it."""
        node = self._start_node(head=False)
        self.wait_for(sum(m.alive for m in self.members))
        return node

    def kill_node(self, node: Node) -> None:
        """Kill a node at once (SIGKILL to all its processes), as a lost machine."""
        node.signal(signal.SIGKILL)
        node.process.wait(10)

    def restore(self) -> None:
        """Bring the cluster back to ``nodes`` running nodes after some were killed."""
        for node in [m for m in self.members if not m.alive]:
            if node.head:
                raise RuntimeError("the head node died: the cluster cannot be restored")
        while sum(m.alive for m in self.members) < self.nodes:
            self._start_node(head=False)
        self.wait_for(self.nodes)

    def alive_nodes(self) -> list[dict]:
        """The cluster's nodes that Ray counts as alive (``ray.nodes()``), asked from a short-lived driver."""
        return self._nodes(0, 30.0)

    def wait_for(self, count: int) -> list[dict]:
        """Wait until Ray counts exactly ``count`` alive nodes; they are returned."""
        return self._nodes(count, self.timeout)

    def _nodes(self, count: int, timeout: float) -> list[dict]:
        for node in self.members:
            if node.head and not node.alive:
                raise RuntimeError(f"the Ray head node exited: {self.log(node)}")
        script = (
            "import json, sys, time, ray\n"
            "count, deadline = int(sys.argv[2]), time.monotonic() + float(sys.argv[3])\n"
            "while True:\n"
            "    try:\n"
            "        ray.init(address=sys.argv[1], log_to_driver=False, logging_level='ERROR'); break\n"
            "    except Exception:\n"
            "        if time.monotonic() > deadline: raise\n"
            "        time.sleep(0.5)\n"
            "while True:\n"
            "    alive = [n for n in ray.nodes() if n['Alive']]\n"
            "    if not count or len(alive) == count or time.monotonic() > deadline: break\n"
            "    time.sleep(0.3)\n"
            "print(json.dumps(alive))\n"
        )
        if count:
            self._wait_listening(timeout)
        done = subprocess.run(
            [sys.executable, "-c", script, self.address, str(count), str(timeout)],
            capture_output=True,
            text=True,
            env=self._environment(),
            timeout=timeout + 60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"cannot ask the Ray cluster for its nodes: {done.stderr[-2000:]}")
        alive = json.loads(done.stdout.strip().splitlines()[-1])
        if count and len(alive) != count:
            logs = "\n".join(self.log(m) for m in self.members)
            raise RuntimeError(f"the Ray cluster has {len(alive)} nodes alive, not {count}:\n{logs}")
        return alive

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Ray head did not listen within {timeout:g} s") from None
                time.sleep(0.2)

    @staticmethod
    def log(node: Node) -> str:
        try:
            return (node.folder / "log.txt").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def processes(self) -> list[int]:
        """The ids of every process of this cluster still running (all nodes' sessions)."""
        return [pid for node in self.members for pid in node.pids()]

    def stop(self, grace: float = 2.0) -> None:
        """Stop every node (SIGTERM to its processes, SIGKILL after ``grace`` seconds) and
        remove the cluster's folder; no process of the cluster is left."""
        for node in reversed(self.members):
            node.signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        for node in self.members:
            node.signal(signal.SIGKILL)
        for node in self.members:
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.process.wait(10)
        deadline = time.monotonic() + 10
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        shutil.rmtree(self.folder, ignore_errors=True)
