"""Running the app for readers: gunicorn worker processes, or waitress threads where gunicorn cannot run.

Searching is Python work under the GIL, so one process keeps one core busy however many threads
it has. :func:`run_gunicorn` serves with gunicorn's pre-forking server: ``workers`` processes
forked from one master, ``threads`` threads each for overlapping I/O. The master builds the app and
warms the served generation before it forks (the segmenter, field lengths, facet columns, copies,
suggestions, pinyin table), then closes the index files it opened and freezes its objects out of
the garbage collector's reach (``gc.freeze``): the workers inherit that memory and share it with
the master for as long as nobody writes to it, and each opens index files of its own (open files
are never shared between processes). A generation published later is loaded by each worker for
itself at its next search; SIGHUP makes the master warm the new one and replace the workers, which
then share it again. The master replaces a worker that dies (the newcomer is forked warm too);
SIGTERM stops accepting and lets the requests in flight finish (up to :data:`GRACEFUL_TIMEOUT`
seconds). gunicorn needs ``fork`` and ``fcntl`` (Linux, macOS, other Unix); elsewhere
:func:`run_waitress` serves from one process with threads.

Neither server names itself in a ``Server`` header (nothing to look up exploits by).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Callable

#: Seconds SIGTERM waits for the requests in flight before the workers are stopped.
GRACEFUL_TIMEOUT = 30
#: Seconds a worker may be unresponsive (its main loop, not a request) before it is replaced.
WORKER_TIMEOUT = 120


def cores() -> int:
    """The cores this process may run on (the default number of workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def gunicorn_available() -> bool:
    """Whether gunicorn can run here (it imports ``fcntl``, which only Unix has)."""
    try:
        import gunicorn.app.base  # noqa: F401
    except ImportError:
        return False
    return True


def _address(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run_waitress(app, host: str, port: int, threads: int, announce: Callable[[str], None]) -> None:
    """Serve ``app`` from this process with ``threads`` threads until interrupted."""
    import waitress

    server = waitress.create_server(app, host=host, port=port, threads=threads, ident="")  # no Server banner
    listening = getattr(server, "effective_listen", None) or [(server.effective_host, server.effective_port)]
    for address, bound in listening:
        announce(_address(address, bound))
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def run_gunicorn(
    app,
    warm_up_master: Callable[[object], object],
    warm_up_worker: Callable[[object], object],
    host: str,
    port: int,
    workers: int,
    threads: int,
    announce: Callable[[str], None],
) -> None:
    """Serve ``app`` from ``workers`` gunicorn worker processes until SIGTERM or SIGINT.

    :param app: the WSGI app, built in this process (the master) and inherited by every worker
    :param warm_up_master: run on the app in the master before the first worker is forked, and
        again on SIGHUP before the new workers are: what it loads is shared by the workers; it
        must leave no index file open
    :param warm_up_worker: run on the app in each worker before its first request (opens the
        worker's own index files)
    :param announce: called with the address listened on once the server is ready (``port`` 0:
        the port the system chose)
    """
    from gunicorn.app.base import BaseApplication

    def warm_master() -> None:
        gc.unfreeze()  # what the last warm-up loaded may go now that a newer one replaces it
        warm_up_master(app)
        gc.collect()  # no garbage left in the pages the workers will share

    _drop_server_header()
    options = {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": WORKER_TIMEOUT,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "proc_name": "news-search",
        # The longest request line gunicorn takes (its default, 4094 bytes, is less than a query
        # of 500 Chinese characters percent-encoded); a longer one gets gunicorn's own 400.
        "limit_request_line": 8190,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "when_ready": lambda arbiter: [
            announce(_address(*listener.sock.getsockname()[:2])) for listener in arbiter.LISTENERS
        ],
        "on_reload": lambda arbiter: warm_master(),
        # The master's objects are moved out of the collector's generations before each fork: a
        # collection in a worker then never writes to them (it would copy every page it touches).
        "pre_fork": lambda arbiter, worker: gc.freeze(),
        "post_worker_init": lambda worker: warm_up_worker(worker.wsgi),
    }

    class Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)
            # No control socket (newer gunicorn opens one in the home directory, shared by every
            # server of the user): this server is stopped and resized by its signals.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self):
            return app

    warm_master()
    Server(prog="news-search serve").run()


def log_to_stderr() -> None:
    """Send the library's notices (a generation opened or loaded, by which process) to stderr, in
    gunicorn's format."""
    logger = logging.getLogger("search")
    if any(getattr(handler, "news_search", False) for handler in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s", "%Y-%m-%d %H:%M:%S %z")
    )
    handler.news_search = True
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _drop_server_header() -> None:
    """Make gunicorn's responses go without their ``Server: gunicorn`` header (gunicorn has no
    setting for it; its response object writes the header in ``default_headers``)."""
    from gunicorn.http import wsgi

    original = wsgi.Response.default_headers
    if getattr(original, "drops_server", False):
        return

    def default_headers(self):
        return [line for line in original(self) if not line.lower().startswith("server:")]

    default_headers.drops_server = True
    wsgi.Response.default_headers = default_headers


def announce_to(stream=None) -> Callable[[str], None]:
    """A function that prints ``Listening on URL/`` to ``stream`` (stdout) at once."""

    def announce(url: str) -> None:
        print(f"Listening on {url}/", file=stream or sys.stdout, flush=True)

    return announce


__all__ = [
    "GRACEFUL_TIMEOUT",
    "WORKER_TIMEOUT",
    "cores",
    "gunicorn_available",
    "log_to_stderr",
    "run_gunicorn",
    "run_waitress",
]
