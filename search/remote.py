"""Shards searched by Ray actors: a sharded index served by a cluster.

``NewsIndex.open(path, cluster=ADDRESS)`` (and ``news-search serve --cluster ADDRESS``) keeps the
index's shards in Ray actors, :class:`ShardServer`, one per shard and replica, spread over the
cluster's nodes. Each search sends its :class:`search.fanout.ShardRequest` to one replica of
every shard at once and merges the answers (:func:`search.fanout.merge`) as the threads of a
local sharded index do: the same hits, scores and totals. The process that asked keeps the rest
of a search (the query's reading, snippets and stored fields, suggestions, facets of the whole
index), read from the same index directory: a path that every node reaches (a shared filesystem
in production).

The actors are named after the index's path, its shard and replica (:func:`actor_name`) and
detached from the process that started them: every process serving the same index -- each
gunicorn worker, another server -- finds the same actors by name instead of starting its own,
and they outlive a server's restart (:func:`stop` ends them). Ray restarts an actor that dies
(``max_restarts``); the search that met it answers from the other shards, flagged ``partial``
with the shard named in ``missing_shards``, and the next searches reach the restarted actor or
another replica. Every request names the generations the asking process serves, so an actor
opens a new generation (a rebuild, an update) at the first request that names it: nothing to
restart.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
import pickle
import threading
import time
from pathlib import Path

from . import fanout
from .cluster import NAMESPACE, connect
from .errors import first_line
from .timelimit import Budget

log = logging.getLogger(__name__)

#: Seconds a shard may take beyond the search's own time limit before the search goes on without it.
GRACE = 2.0
#: Seconds a shard may take when searches have no time limit.
NO_LIMIT_WAIT = 600.0
#: Seconds a first search waits for the actors to start and load their shards.
STARTUP_WAIT = 120.0
#: Seconds ``/healthz`` waits for each actor to say where it runs.
PING_WAIT = 2.0
#: The most replicas a shard may have.
MAX_REPLICAS = 16
#: The memory each actor reserves in Ray's bookkeeping (about what one holds of a small shard;
#: nothing enforces it).
ACTOR_MEMORY = 256 * 1024 * 1024
#: Searches one actor runs at once (its threads; Python runs one at a time, the rest wait on I/O).
ACTOR_THREADS = 8


#: The version of the calls between a searching process and the actors, part of the actors' names:
#: a server of another version starts actors of its own instead of calling ones it cannot talk to.
PROTOCOL = 2


def actor_name(path: Path, shard: int, replica: int, protocol: int = PROTOCOL) -> str:
    """The Ray name of the actor serving ``shard`` (replica ``replica``) of the index at ``path``
    (an absolute path: the same index has the same name in every process)."""
    digest = hashlib.blake2b(str(path).encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    return f"shard-{digest}-{shard}-{replica}" + (f"-v{protocol}" if protocol > 1 else "")


class ShardServer:
    """One shard of a sharded index, searched on request; run by Ray as an actor.

    It opens the generations named by each request (all of them: the shard's searcher needs the
    whole index's statistics; only its own shard's postings are read) and answers for shard
    ``number``. Nothing is opened before the first request, so a restarted actor is ready at once.
    """

    def __init__(self, path: str, number: int):
        self.path = Path(path)
        self.number = number
        self._lock = threading.Lock()
        self._served: tuple[str, ...] = ()
        self._shards: list[fanout.Shard] = []

    def _shard(self, generations: tuple[str, ...]) -> fanout.Shard:
        if generations != self._served:
            with self._lock:
                if generations != self._served:
                    # The shards of the generation replaced are left to the garbage collector:
                    # searches still running on them finish.
                    self._shards = fanout.open_shards([self.path / name for name in generations], self.path)
                    self._served = generations
                    log.info("Shard %d opened %s", self.number, generations[self.number])
        return self._shards[self.number]

    def search(self, asked: bytes) -> bytes:
        """This shard's :class:`search.fanout.ShardAnswer` to a request, found within its time.

        :param asked: ``(request, generations, seconds)`` pickled (see :func:`_pack`); the answer
            is returned pickled too: Ray passes bytes as they are, which is cheaper than its own
            serialization of each argument and of the answer
        """
        request, generations, seconds = pickle.loads(asked)
        shard = self._shard(tuple(generations))  # opening a generation is not part of the time
        with Budget(seconds) as budget:
            return _pack(shard.search(request, budget))

    def warm_up(self, generations: tuple[str, ...]) -> dict:
        """Open ``generations`` and load what a first search would (the segmenter, the shard's
        field lengths and facet columns); returns :meth:`where`."""
        from .query import parse

        parse("重庆")
        self._shard(tuple(generations)).warm_up()
        return self.where()

    def where(self) -> dict:
        """Where this actor runs and what it serves."""
        import ray

        context = ray.get_runtime_context()
        return {
            "node": context.get_node_id(),
            "address": ray.util.get_node_ip_address(),
            "pid": os.getpid(),
            "generation": self._served[self.number] if self._served else None,
        }


def _pack(value) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


_actor_class = None


def _remote_class(ray):
    global _actor_class
    if _actor_class is None:
        _actor_class = ray.remote(ShardServer)
    return _actor_class


class RemoteShards:
    """The actors serving the shards of the index at ``path`` on the cluster at ``address``, and
    the calls to them.

    :param replicas: actors per shard; a search asks one of them (in turn), and another when the
        one asked is lost
    """

    def __init__(self, path: str | os.PathLike, address: str | None, replicas: int = 1):
        self.path = Path(path).resolve()
        self.address = address
        self.replicas = max(1, int(replicas))
        self._lock = threading.Lock()
        self._actors: list[list] = []
        # The generations the actors were last asked to load, and whether one did not answer since.
        self._ready: tuple[str, ...] = ()
        self._lost = False
        self._turn = itertools.count()
        self.ray = None

    def _start(self, shards: int) -> list[list]:
        """The actors of ``shards`` shards, by shard and replica: found by name, or started."""
        server = _remote_class(self.ray)
        return [
            [
                server.options(
                    name=actor_name(self.path, shard, replica),
                    namespace=NAMESPACE,
                    get_if_exists=True,
                    lifetime="detached",
                    max_restarts=-1,  # Ray starts a dead one again, for as long as it serves
                    max_task_retries=0,  # the search that met it goes on without it
                    max_concurrency=ACTOR_THREADS,
                    # Spread over the nodes, one after another: the replicas of a shard on
                    # different nodes while there are enough. No CPU is reserved (the cores stay
                    # free for a rebuild's tasks), but memory is: Ray's SPREAD puts actors that
                    # reserve nothing all on one node.
                    num_cpus=0,
                    memory=ACTOR_MEMORY,
                    scheduling_strategy="SPREAD",
                ).remote(str(self.path), shard)
                for replica in range(self.replicas)
            ]
            for shard in range(shards)
        ]

    def _ended(self) -> bool:
        """Whether an actor of ours ended for good (``news-search cluster stop``; one that Ray
        restarts is still found by its name)."""
        for shard, replicas in enumerate(self._actors):
            for replica in range(len(replicas)):
                try:
                    self.ray.get_actor(actor_name(self.path, shard, replica), namespace=NAMESPACE)
                except ValueError:
                    return True
        return False

    def ready(self, generations: tuple[str, ...]) -> list[list]:
        """The actors serving ``generations``, by shard and replica: found or started the first
        time, and each asked to load them (a first search, or the first of a new generation,
        waits for that as it would for opening the index itself)."""
        if self._ready == generations and not self._lost:
            return self._actors
        with self._lock:
            if self._lost:
                self._lost = False
                if self._ended():
                    self._actors, self._ready = [], ()
            if self._ready != generations:
                self.ray = connect(self.address)
                if len(self._actors) != len(generations):
                    self._actors = self._start(len(generations))
                refs = [actor.warm_up.remote(generations) for replicas in self._actors for actor in replicas]
                done, _ = self.ray.wait(refs, num_returns=len(refs), timeout=STARTUP_WAIT)
                for ref in done:
                    try:
                        self.ray.get(ref)
                    except self.ray.exceptions.RayError as error:
                        log.warning("A shard actor did not load %s: %s", generations[0], first_line(error))
                self._ready = generations
        return self._actors

    def search(
        self, request, generations: tuple[str, ...], budget: Budget, skip: frozenset[int] = frozenset()
    ) -> list[fanout.ShardAnswer]:
        """Every shard's answer to ``request`` (but those in ``skip``), in shard order: all asked at
        once, each of one replica (in turn). A shard whose replica is lost is asked again of the
        next replica; a shard none of whose replicas answers in time (lost, restarting, out of
        time: the search's time left plus :data:`GRACE`) gives an empty answer marked missing."""
        actors = self.ready(generations)
        first = next(self._turn)
        answers: list[fanout.ShardAnswer | None] = [None] * len(actors)
        pending: dict = {}

        def ask(shard: int, attempt: int) -> None:
            replicas = actors[shard]
            left = budget.deadline - time.monotonic()
            if attempt >= len(replicas) or (attempt and left <= 0):
                return
            seconds = None if math.isinf(left) else max(0.01, left)
            actor = replicas[(first + shard + attempt) % len(replicas)]
            pending[actor.search.remote(_pack((request, generations, seconds)))] = (shard, attempt)

        for shard in range(len(actors)):
            if shard not in skip:
                ask(shard, 0)
        left = budget.deadline - time.monotonic()
        deadline = time.monotonic() + (NO_LIMIT_WAIT if math.isinf(left) else max(0.0, left) + GRACE)
        refs = list(pending)
        try:  # every shard answers in time: one wait for all
            packed = self.ray.get(refs, timeout=max(0.0, deadline - time.monotonic()))
        except self.ray.exceptions.RayError:  # one did not: each seen to in turn, below
            pass
        else:
            for ref, answer in zip(refs, packed, strict=True):
                answers[pending.pop(ref)[0]] = pickle.loads(answer)
        while pending:
            done, _ = self.ray.wait(
                list(pending), num_returns=len(pending), timeout=max(0.0, deadline - time.monotonic())
            )
            if not done:
                break  # out of time: the shards still pending are missing
            for ref in done:
                shard, attempt = pending.pop(ref)
                try:
                    answers[shard] = pickle.loads(self.ray.get(ref))
                except self.ray.exceptions.RayError as error:  # lost, restarting, or its search failed
                    log.warning("Shard %d did not answer: %s", shard, first_line(error))
                    self._lost = True
                    ask(shard, attempt + 1)
        return [answer or fanout.ShardAnswer(shard, partial=True, missing=True) for shard, answer in enumerate(answers)]

    def health(self, generations: tuple[str, ...]) -> list[list[dict | None]]:
        """Where each replica of each shard runs (``None``: it did not answer within
        :data:`PING_WAIT` seconds)."""
        refs = [[actor.where.remote() for actor in replicas] for replicas in self.ready(generations)]
        deadline = time.monotonic() + PING_WAIT
        found = []
        for row in refs:
            answers = []
            for ref in row:
                try:
                    answers.append(self.ray.get(ref, timeout=max(0.01, deadline - time.monotonic())))
                except self.ray.exceptions.RayError:
                    answers.append(None)
            found.append(answers)
        return found


def stop(path: str | os.PathLike, address: str | None, shards: int) -> int:
    """End the actors serving the index at ``path``, every replica of its ``shards`` shards (they
    are detached: they outlive the servers that started them), those of earlier versions too;
    returns how many there were."""
    ray = connect(address)
    resolved = Path(path).resolve()
    stopped = 0
    for shard in range(shards):
        for replica in range(MAX_REPLICAS):
            for protocol in range(1, PROTOCOL + 1):
                try:
                    actor = ray.get_actor(actor_name(resolved, shard, replica, protocol), namespace=NAMESPACE)
                except ValueError:  # none of that name
                    continue
                ray.kill(actor, no_restart=True)
                stopped += 1
    return stopped


__all__ = ["GRACE", "RemoteShards", "ShardServer", "actor_name", "stop"]
