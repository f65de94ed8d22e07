"""The query workers: a pool of processes that each hold the store open read-only, killed at
the time or memory limit (worker_main is the process's side; WorkerPool the server's)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox

from kg import queries, sparql, sparqltext
from kg import store as stores
from kg.errors import KGError, QueryError, StoreError, UnknownNameError
from kg.server.about import PREFIXES as ABOUT_PREFIXES
from kg.server.about import service_description, void_description
from kg.server.replies import (
    GRAPH_TYPES,
    Reply,
    graph_reply,
    negotiate,
    not_acceptable,
    result_reply,
)

WORKER_STARTUP = 60.0  # seconds a fresh worker may take to import and open the store
DEFAULT_MAX_MEMORY = 2 << 30  # bytes of memory (RSS) a query worker may hold
MEMORY_POLL = 0.1  # seconds between looks at a busy worker's memory


# --- the worker process ----------------------------------------------------------------

class _LiveStore:
    """The worker's store, opened at its first job (a StoreError until there is one) and
    refreshed before each: a build's new generation is read from the next job on."""

    def __init__(self, spec: Path | str):
        self.spec = spec
        self.store: stores.Store | None = None

    def get(self) -> stores.Store:
        if self.store is None:
            self.store = stores.open_store(self.spec)
        else:
            self.store.refresh()
        return self.store


def _run_sparql(db: stores.Store, job: dict) -> Reply:
    """A query with the protocol's dataset if the request gives one (kg.sparql says the
    rest). The handler has refused SERVICE already; a worker that left the network lets
    a SERVICE that got past it fail on no network rather than on a second check."""
    given = bool(job["default_graphs"] or job["named_graphs"])
    cap = job["max_rows"]
    try:
        result = sparql.run_sparql(db, job["query"], allow_service=job.get("isolated", False),
                                   default_graphs=job["default_graphs"] if given else None,
                                   named_graphs=job["named_graphs"] if given else None,
                                   max_rows=cap + 1)
    except sparql.QueryFailed as exc:
        return Reply.error(500, str(exc))
    except QueryError as exc:
        if sparqltext.read(job["query"]).update:
            return Reply.error(403, f"{exc} (updates are refused: this endpoint is read-only)")
        return Reply.error(400, str(exc))
    except StoreError as exc:
        return Reply.error(502, str(exc))
    return result_reply(result, job["accept"], cap, "add LIMIT (and OFFSET to page through it) to the query")


def _run_saved(db: stores.Store, job: dict) -> Reply:
    """A saved query; `limit` / `offset` (kg.server.http) page its rows, so an answer over
    the row cap can be read a page at a time (X-KG-Total-Rows says how many there are)."""
    try:
        result = queries.run_saved(db, job["name"], job["params"])
    except UnknownNameError as exc:
        return Reply.error(400, str(exc), suggestions=exc.suggestions)
    except QueryError as exc:
        return Reply.error(400, str(exc))
    headers = {}
    limit, offset = job.get("limit"), job.get("offset") or 0
    if result.boolean is None and result.triples is None and (limit is not None or offset):
        total = len(result.rows)
        result.rows = result.rows[offset:None if limit is None else offset + limit]
        headers["X-KG-Total-Rows"] = str(total)
    hint = "page it with limit and offset, narrow it with its parameters, or restart the server with a larger --max-rows"
    reply = result_reply(result, job["accept"], job["max_rows"], hint)
    reply.headers.update(headers)
    return reply


def _entity_rdf(db: stores.Store, job: dict) -> Reply:
    """An entity as RDF (/entity with an RDF Accept): what the default graph says about
    it and what points at it, under its canonical IRI (an alias redirects there)."""
    try:
        entity = queries.canonical(db, ox.NamedNode(job["iri"]))
    except ValueError:
        return Reply.error(400, f"{job['iri']!r} is not an IRI")
    if entity.value != job["iri"]:
        return Reply(303, "text/plain; charset=utf-8", b"", {"Location": job["location"] + entity.value})
    # two lookups, not Store.describe: its neighbours' quads are not wanted here, and an
    # authorship class has 17,720 nodes pointing at it
    default = ox.DefaultGraph()
    triples = [ox.Triple(q.subject, q.predicate, q.object)
               for pattern in ((entity, None, None), (None, None, entity))
               for q in db.quads_for_pattern(*pattern, default)]
    if not triples:
        return Reply.error(404, f"the store says nothing about <{entity.value}>")
    if len(triples) > job["max_rows"]:
        return Reply.error(422, f"<{entity.value}> has more than {job['max_rows']} triples, this server's limit")
    media = negotiate(job["accept"], GRAPH_TYPES)
    return graph_reply(sorted(set(triples), key=str), media) if media else not_acceptable(GRAPH_TYPES)


def _about(db: stores.Store, job: dict) -> Reply:
    """The Service Description or VoID + DCAT, in the RDF syntax the client asks for."""
    media = negotiate(job["accept"], GRAPH_TYPES)
    if media is None:
        return not_acceptable(GRAPH_TYPES)
    describe = service_description if job["what"] == "service" else void_description
    return graph_reply(describe(db, job["base"]), media, ABOUT_PREFIXES)


def _dump(db: stores.Store, _job: dict) -> Reply:
    """Every graph as N-Quads, the bytes `kg export -f nquads` writes (void:dataDump)."""
    from kg import export

    return Reply(200, "application/n-quads", export.export_bytes(db, "nquads"))


def execute(db: stores.Store, job: dict) -> Reply:
    """Answer one job: {"kind": "sparql" | "saved", ...}. Runs in a worker process."""
    if job["kind"] == "sparql":
        return _run_sparql(db, job)
    if job["kind"] == "saved":
        return _run_saved(db, job)
    if job["kind"] in _JOBS:
        return _JOBS[job["kind"]](db, job)
    if job["kind"] in ("entity", "overview", "suggest"):  # the web page's (kg/web)
        from kg.web import pages
        status, content_type, body, headers = pages.web_job(db, job)
        return Reply(status, content_type, body, headers)
    return Reply.error(500, f"unknown job kind {job['kind']!r}")


_JOBS = {"entity_rdf": _entity_rdf, "about": _about, "dump": _dump}


def _drop_network() -> bool:
    """Leave the network (Linux user + network namespace): a SERVICE that got past the
    keyword check finds no network. Best effort; True when it worked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.unshare(0x10000000 | 0x40000000) == 0  # CLONE_NEWUSER | CLONE_NEWNET
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)  # the server is gone: stop whatever query is running


def worker_main(fd: str, root: str, parent: str) -> None:
    """The worker process: answer jobs from the server over the socket `fd` until it closes."""
    conn = Connection(int(fd))
    parent = int(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    spec = stores.store_path(root)  # a directory, or a server's URL kept as it is
    # before any thread starts (unshare needs a single thread); a store on a server needs
    # the network, and SERVICE is then refused by the second check (kg.sparql)
    isolated = False if stores.is_url(spec) else _drop_network()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    live = _LiveStore(spec)
    try:
        live.get()
    except KGError:
        pass  # reported with the first job
    conn.send(("ready", isolated))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = execute(live.get(), {**job, "isolated": isolated})
        except StoreError as exc:
            reply = Reply.error(503, str(exc))
        except MemoryError:
            reply = Reply.error(503, "the query needed more memory than this worker could get; make it "
                                     "more selective or add LIMIT")
        except Exception as exc:  # noqa: BLE001 - the worker must answer, not die
            reply = Reply.error(500, f"internal error: {type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except OSError:
            return


# --- the pool (in the server process) -----------------------------------------------------

class _Timeout(Exception):
    pass


class _Died(Exception):
    pass


class _OutOfMemory(Exception):
    pass


def _rss(pid: int) -> int | None:
    """A process's resident memory in bytes (Linux /proc); None where unknown."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class _Worker:
    """One worker process, started with subprocess rather than multiprocessing's spawn:
    spawn re-imports the caller's main module, which breaks scripts without a main guard."""

    def __init__(self, root: Path):
        ours, theirs = socket.socketpair()
        # only the installed code: -P keeps the working directory off sys.path (a json.py
        # beside the store would be imported by every worker), and PYTHONPATH names only
        # the folder kg itself was imported from (for a checkout run without installing):
        # this file is kg/server/workers.py, so that folder is two above its own
        home = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": home, "PYTHONSAFEPATH": "1"}
        code = "import sys; from kg.server.workers import worker_main; worker_main(*sys.argv[1:])"
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-P", "-c", code, str(theirs.fileno()), str(root), str(os.getpid())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env)
        self.conn = Connection(ours.detach())
        self.ready = False
        self.isolated: bool | None = None

    def wait_ready(self) -> None:
        if self.ready:
            return
        try:
            if not self.conn.poll(WORKER_STARTUP):
                raise _Died(f"did not start within {WORKER_STARTUP:g} s")
            _, self.isolated = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise _Died(f"exited while starting (code {self.process.poll()})") from exc
        self.ready = True

    def call(self, job: dict, timeout: float, max_memory: int | None = None) -> Reply:
        """The worker's answer; _Timeout past `timeout` s, _OutOfMemory when its memory
        passes `max_memory` bytes (looked at every MEMORY_POLL s)."""
        self.wait_ready()
        try:
            self.conn.send(job)
            deadline = time.monotonic() + timeout
            while not self.conn.poll(min(MEMORY_POLL, max(0.0, deadline - time.monotonic()))):
                if max_memory is not None and (_rss(self.process.pid) or 0) > max_memory:
                    raise _OutOfMemory
                if time.monotonic() >= deadline:
                    raise _Timeout
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            try:
                code = self.process.wait(1)
            except subprocess.TimeoutExpired:
                code = None
            raise _Died(f"exited with code {code}") from exc

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.conn.close()


class WorkerPool:
    """Worker processes that each hold the store open read-only; one query at a time each."""

    def __init__(self, root: Path, size: int, max_memory: int | None = DEFAULT_MAX_MEMORY):
        self.root = root
        self.size = size
        self.max_memory = max_memory
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(size):
            self._add()

    def _add(self) -> None:
        with self._lock:
            if self._closed:
                return
            worker = _Worker(self.root)
            self._all.add(worker)
        self._idle.put(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)
        self._add()  # a fresh one starts now, ready by the next query

    def network_isolated(self) -> bool | None:
        """Whether a worker could leave the network (starts one if needed); None if unknown."""
        try:
            worker = self._idle.get(timeout=WORKER_STARTUP)
        except queue.Empty:
            return None
        try:
            worker.wait_ready()
            self._idle.put(worker)
            return worker.isolated
        except _Died:
            self._discard(worker)
            return None

    def run(self, job: dict, timeout: float) -> Reply:
        """The worker's reply; 503 when the time limit passed (the worker is killed)."""
        try:
            worker = self._idle.get(timeout=timeout)
        except queue.Empty:
            return Reply.error(503, f"all {self.size} query workers stayed busy for {timeout:g} s; "
                                    "try again shortly", {"Retry-After": "5"})
        healthy = False
        try:
            reply = worker.call(job, timeout, self.max_memory)
            healthy = True
            return reply
        except _OutOfMemory:
            limit = f"{self.max_memory / (1 << 30):g} GB" if self.max_memory >= 1 << 30 else \
                f"{self.max_memory >> 20} MB"
            return Reply.error(503, f"the query needed more than {limit} of memory, this server's limit a "
                                    "query (kg serve --max-memory), and was stopped; no result was sent. "
                                    "Make it more selective or add LIMIT", {"X-KG-Memory-Limit": str(self.max_memory)})
        except _Timeout:
            return Reply.error(503, f"the query ran longer than {timeout:g} s, this server's time limit "
                                    "(kg serve --timeout), and was stopped; no result was sent. Make it "
                                    "more selective or add LIMIT", {"X-KG-Timeout": f"{timeout:g}"})
        except _Died as exc:
            return Reply.error(500, f"the query worker {exc} (out of memory?); the query was not answered")
        finally:
            if healthy:
                self._idle.put(worker)
            elif not self._closed:
                self._discard(worker)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.kill()

