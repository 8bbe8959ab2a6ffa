"""Ray, optional: connecting this process to a cluster, and running work there.

Ray is an extra (``pip install 'news-search[cluster]'``): nothing here imports it until a cluster
is asked for, so the embedded engine never needs it. :func:`connect` joins this process to a
running cluster once (``ray.init``, in the ``news-search`` namespace, where named actors are
found); every failure -- Ray missing, no address, a cluster that cannot be reached -- is a
:class:`ClusterError`, one line that the CLI prints as is.

:class:`TaskPool` runs functions as Ray tasks anywhere in the cluster behind the two calls of
:class:`concurrent.futures.ProcessPoolExecutor` that :mod:`search.writer` uses (``submit``,
``shutdown``), so the rebuild's work has one code path, dispatched to local processes or to the
cluster. Tasks are retried by Ray when a worker or a node dies (``max_retries``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from concurrent.futures import Future

from .errors import ClusterError, first_line

#: The environment variable that gives the cluster's address when ``--cluster`` does not.
ADDRESS_ENV = "NEWS_SEARCH_CLUSTER"
#: The Ray namespace of everything this package starts (named actors are looked up in it).
NAMESPACE = "news-search"
#: What to install for ``--cluster``.
INSTALL = "pip install 'news-search[cluster]'"
#: Seconds to wait for the cluster's address to answer before giving up (``ray.init`` itself
#: retries an unreachable address for minutes).
REACH_TIMEOUT = 10.0
#: How often Ray runs a task again after its worker or node died.
TASK_RETRIES = 3

_lock = threading.Lock()
_connected: str | None = None


def cluster_address(given: str | None = None) -> str | None:
    """The cluster address to use: ``given``, else ``$NEWS_SEARCH_CLUSTER``, else None (no cluster)."""
    return (given or os.environ.get(ADDRESS_ENV) or "").strip() or None


def import_ray():
    """The ``ray`` module, or a :class:`ClusterError` saying what to install."""
    try:
        import ray
    except ImportError:
        raise ClusterError(f"a cluster needs Ray, which is not installed here: {INSTALL}") from None
    return ray


def connect(address: str | None = None):
    """Join this process to the Ray cluster at ``address`` (``host:port`` of its head node; default
    ``$NEWS_SEARCH_CLUSTER``), once per process; returns the ``ray`` module.

    :raises ClusterError: no address, Ray not installed, the cluster cannot be reached, or this
        process is already connected to another cluster
    """
    global _connected
    address = cluster_address(address)
    if address is None:
        raise ClusterError(f"no cluster address: give --cluster HOST:PORT or set {ADDRESS_ENV}")
    ray = import_ray()
    with _lock:
        if ray.is_initialized():
            if _connected not in (None, address):
                raise ClusterError(f"{address}: this process is already connected to the cluster at {_connected}")
            return ray
        _check_reachable(address)
        try:
            ray.init(
                address=address,
                namespace=NAMESPACE,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except Exception as error:  # Ray raises ConnectionError, RuntimeError, ValueError...
            raise ClusterError(f"{address}: cannot join the Ray cluster: {first_line(error)}") from None
        _connected = address
    return ray


def check_cluster(address: str) -> None:
    """What :func:`connect` checks first, without joining: Ray is installed and something listens
    at ``address`` (for a process that forks before it joins).

    :raises ClusterError: when either is not so
    """
    import_ray()
    _check_reachable(address)


def _check_reachable(address: str) -> None:
    """Fail fast, with one line, when nothing listens at ``host:port``."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return  # another form of address ("auto", "ray://..."): Ray reads it
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_TIMEOUT):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ClusterError(
            f"{address}: cannot reach the Ray cluster ({reason}); is `ray start --head` running there?"
        ) from None


def cluster_cpus() -> int:
    """The CPUs of the connected cluster (at least 1)."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)))


class TaskPool:
    """Functions run as Ray tasks on a connected cluster, behind ``submit``/``shutdown`` like a
    :class:`concurrent.futures.ProcessPoolExecutor`.

    A task that dies with its worker or node is run again by Ray up to ``retries`` times; a
    task that cannot finish makes its future fail with a :class:`ClusterError` (an error the
    function itself raised comes back as is). The functions must be importable on every node
    (module-level functions of an installed package), and so must their arguments.

    :param what: what the tasks do, for error messages ("analysing a chunk")
    """

    def __init__(self, *, retries: int = TASK_RETRIES, what: str = "a task"):
        self.ray = import_ray()
        if not self.ray.is_initialized():
            raise ClusterError("not connected to a cluster: call search.cluster.connect() first")
        self.retries = retries
        self.what = what
        self._remote = {}
        self._refs: dict[Future, object] = {}

    def submit(self, function, *args) -> Future:
        remote = self._remote.get(function)
        if remote is None:
            remote = self._remote[function] = self.ray.remote(num_cpus=1, max_retries=self.retries)(function)
        ref = remote.remote(*args)
        future = _TaskFuture(self.ray, ref)
        future.set_running_or_notify_cancel()
        self._refs[future] = ref
        ref.future().add_done_callback(lambda done: self._settle(future, done))
        return future

    def _settle(self, future: Future, done: Future) -> None:
        self._refs.pop(future, None)
        try:
            future.set_result(done.result())
        except BaseException as error:  # handed to the waiting thread
            future.set_exception(self._translated(error))

    def _translated(self, error: BaseException) -> BaseException:
        exceptions = self.ray.exceptions
        if isinstance(error, exceptions.RayTaskError):
            cause = getattr(error, "cause", None)
            if isinstance(cause, Exception) and not isinstance(cause, exceptions.RayError):
                return cause  # the function's own error (a SourceError, ...)
        if isinstance(error, exceptions.RayError | ConnectionError):
            return ClusterError(f"{self.what} could not finish on the cluster: {first_line(error)}")
        return error

    def __reduce__(self):
        # Handed to a task (which may submit tasks of its own): only the settings travel.
        return TaskPool, (), {"retries": self.retries, "what": self.what}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Cancel the tasks still running (when ``cancel_futures``); their futures fail."""
        if cancel_futures:
            for ref in list(self._refs.values()):
                try:
                    self.ray.cancel(ref, force=True)
                except Exception:  # already finished or gone: nothing to stop
                    pass
        self._refs.clear()


class _TaskFuture(Future):
    """The future of one task. Waiting for its result inside another task goes through
    ``ray.get``, which lends the waiting task's CPU to the cluster meanwhile: a task waiting for
    a task it started never holds the only free CPU that one needs."""

    def __init__(self, ray, ref):
        super().__init__()
        self._ray = ray
        self._ref = ref

    def result(self, timeout=None):
        if not self.done():
            try:
                self._ray.get(self._ref, timeout=timeout)
            except Exception:  # the error itself comes through the done callback, translated
                pass
        return super().result(timeout)


__all__ = [
    "ADDRESS_ENV",
    "INSTALL",
    "NAMESPACE",
    "TaskPool",
    "check_cluster",
    "cluster_address",
    "cluster_cpus",
    "connect",
]
