"""`kg serve`: a read-only SPARQL 1.1 Protocol endpoint at /sparql and the saved queries at /queries.

Standard-library HTTP in the main process; every query runs in a worker process that is killed
when its time limit passes, so a runaway query really stops.

Answers, by design:

- time limit (`timeout`, default 30 s): a query still running is killed with its worker and the
  answer is 503 with a JSON message (header `X-KG-Timeout`); no partial result is ever sent.
  The clock starts when a worker takes the query; waiting for a free worker is bounded too.
- row cap (`max_rows`, default 10,000 rows or triples): a larger answer is an error, 422 with a
  JSON message (header `X-KG-Max-Rows`) saying to add LIMIT/OFFSET. Never a silent truncation.
- refused: updates (`update=`, `application/sparql-update`, or an update in `query`) and SERVICE
  are 403; requests over `max_request` bytes are 413 (414 for a GET URL); unsupported Accept 406.
- errors are `{"error": "..."}` (plus `suggestions` for an unknown name) with the right status.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import difflib
import ipaddress
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, unquote, urlsplit

import pyoxigraph as ox

from kg import queries, render, sparql, sparqltext
from kg import store as stores
from kg.errors import KGError, QueryError, StoreError, UnknownNameError
from kg.namespaces import PREFIXES

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7878
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_REQUEST = 64 * 1024
WORKER_STARTUP = 60.0  # seconds a fresh worker may take to import and open the store
DEFAULT_MAX_MEMORY = 2 << 30  # bytes of memory (RSS) a query worker may hold
MEMORY_POLL = 0.1  # seconds between looks at a busy worker's memory
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})

JSON_TYPE = "application/json"

# media type -> format name, in the order preferred when the client does not care
SOLUTION_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/json": "json",
    "application/xml": "xml",
    "text/plain": "table",  # the table `kg query` prints
}
BOOLEAN_TYPES = {k: v for k, v in SOLUTION_TYPES.items() if v in ("json", "xml", "table")}
GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "ntriples",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "rdfxml",
    "application/json": "jsonld",
    "text/plain": "ntriples",
}
_RESULTS_FORMATS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
                    "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV}
_RDF_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
                "jsonld": ox.RdfFormat.JSON_LD, "rdfxml": ox.RdfFormat.RDF_XML}


@dataclass
class Reply:
    """An HTTP answer as the worker and the handler pass it around (picklable)."""

    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, status: int, message: str, headers: dict[str, str] | None = None, **extra) -> Reply:
        body = json.dumps({"error": message, **extra}, ensure_ascii=False).encode("utf-8")
        return cls(status, JSON_TYPE, body, dict(headers or {}))


class HTTPError(Exception):
    """A request the handler answers with an error status and a message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, **extra):
        super().__init__(message)
        self.reply = Reply.error(status, message, headers, **extra)


# --- what a query is, read without running it ------------------------------------------

def query_form(text: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE, or None when unclear (the engine then decides).

    Raises HTTPError 403 for an update or a SERVICE clause (read by kg.sparqltext, as the
    grammar reads it), 400 for nesting deeper than the engine takes.
    """
    reading = sparqltext.read(text, PREFIXES)
    if reading.service:
        raise HTTPError(403, "SERVICE is refused: this endpoint answers from its own store only "
                             "and makes no network requests; remove the SERVICE clause")
    if reading.update:
        raise HTTPError(403, "updates are refused: this endpoint is read-only (SELECT, ASK, CONSTRUCT, "
                             "DESCRIBE); rebuild the store with `kg build` to change data")
    if reading.depth > sparqltext.MAX_DEPTH:
        raise HTTPError(400, f"the query nests {reading.depth} groups or parentheses deep, more than "
                             f"the {sparqltext.MAX_DEPTH} this endpoint accepts; flatten it")
    return reading.form if reading.form in sparqltext.QUERY_FORMS else None


def offers_for(form: str | None) -> dict[str, str]:
    if form == "ASK":
        return BOOLEAN_TYPES
    if form in ("CONSTRUCT", "DESCRIBE"):
        return GRAPH_TYPES
    return SOLUTION_TYPES


# --- content negotiation ---------------------------------------------------------------

def negotiate(accept: str | None, offers: dict[str, str]) -> str | None:
    """The offered media type the Accept header prefers (the first offer if it has no say)."""
    ranges = []
    for part in (accept or "").split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if "/" not in media:
            continue
        q = 1.0
        for param in pieces[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((media, q))
    if not ranges:
        return next(iter(offers))
    best, best_q = None, 0.0
    for offer in offers:  # in preference order: a tie keeps the earlier offer
        kind = offer.split("/")[0]
        q, specificity = 0.0, -1
        for media, mq in ranges:
            level = 2 if media == offer else 1 if media == f"{kind}/*" else 0 if media == "*/*" else -1
            if level > specificity:
                q, specificity = mq, level
        if specificity >= 0 and q > best_q:
            best, best_q = offer, q
    return best


def _not_acceptable(offers: dict[str, str]) -> Reply:
    return Reply.error(406, "cannot answer in any media type the Accept header allows; this answer "
                            "is available as " + ", ".join(offers))


def _content_type(media: str) -> str:
    return f"{media}; charset=utf-8" if media.startswith("text/") else media


# --- serialising answers (in the worker) -----------------------------------------------

def solutions_reply(result: queries.Result, media: str) -> Reply:
    """Rows or a boolean in the negotiated format; written by Oxigraph's serialisers."""
    fmt = (BOOLEAN_TYPES if result.boolean is not None else SOLUTION_TYPES)[media]
    if fmt == "table":
        body = render.format_result(result, "table") + "\n"
        return Reply(200, _content_type(media), body.encode("utf-8"))
    if result.boolean is not None:
        doc = {"head": {}, "boolean": result.boolean}
    else:
        doc = {"head": {"vars": result.variables},
               "results": {"bindings": [{v: render.json_term(t) for v, t in zip(result.variables, row)
                                         if t is not None} for row in result.rows]}}
    parsed = ox.parse_query_results(json.dumps(doc, ensure_ascii=False).encode("utf-8"),
                                    format=ox.QueryResultsFormat.JSON)
    body = parsed.serialize(format=_RESULTS_FORMATS[fmt])
    headers = {} if result.boolean is not None else {"X-KG-Rows": str(len(result.rows))}
    return Reply(200, _content_type(media), body, headers)


def graph_reply(triples: list[ox.Triple], media: str) -> Reply:
    fmt = _RDF_FORMATS[GRAPH_TYPES[media]]
    body = ox.serialize(triples, format=fmt, prefixes=PREFIXES if fmt == ox.RdfFormat.TURTLE else None)
    return Reply(200, _content_type(media), body, {"X-KG-Rows": str(len(triples))})


def _too_many(max_rows: int, what: str, hint: str) -> Reply:
    return Reply.error(422, f"the answer has more than {max_rows} {what}, this server's limit "
                            f"(kg serve --max-rows); {hint}. Nothing was sent rather than a cut-off answer",
                       {"X-KG-Max-Rows": str(max_rows)})


def result_reply(result: queries.Result, accept: str | None, max_rows: int, hint: str) -> Reply:
    if result.triples is not None:
        if len(result.triples) > max_rows:
            return _too_many(max_rows, "triples", hint)
        media = negotiate(accept, GRAPH_TYPES)
        return graph_reply(result.triples, media) if media else _not_acceptable(GRAPH_TYPES)
    if result.boolean is None and len(result.rows) > max_rows:
        return _too_many(max_rows, "rows", hint)
    offers = BOOLEAN_TYPES if result.boolean is not None else SOLUTION_TYPES
    media = negotiate(accept, offers)
    return solutions_reply(result, media) if media else _not_acceptable(offers)


# --- the worker process ----------------------------------------------------------------

class _LiveStore:
    """The worker's read-only store, reopened when a build swaps in a new generation."""

    def __init__(self, root: Path | str):
        self.root = root
        self.target: str | None = None
        self.db: ox.Store | None = None
        self.generation: Path | None = None  # the one this worker pins

    def get(self) -> ox.Store:
        if stores.is_url(self.root):  # a server: no generations to follow
            if self.db is None:
                self.db = stores.open_store(self.root)
            return self.db
        try:
            target = os.readlink(Path(self.root) / stores.CURRENT)
        except OSError:
            target = None
        if self.db is None or target != self.target:
            self.db = None
            if self.generation is not None:  # let the next build remove the old one
                stores.release(self.generation)
                self.generation = None
            self.db, self.generation = stores.open_generation(self.root)
            self.target = self.generation.name
        return self.db


def _run_sparql(db: ox.Store, job: dict) -> Reply:
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


def _run_saved(db: ox.Store, job: dict) -> Reply:
    try:
        result = queries.run_saved(db, job["name"], job["params"])
    except UnknownNameError as exc:
        return Reply.error(400, str(exc), suggestions=exc.suggestions)
    except QueryError as exc:
        return Reply.error(400, str(exc))
    hint = "narrow it with its parameters, or restart the server with a larger --max-rows"
    return result_reply(result, job["accept"], job["max_rows"], hint)


def execute(db: ox.Store, job: dict) -> Reply:
    """Answer one job: {"kind": "sparql" | "saved", ...}. Runs in a worker process."""
    if job["kind"] == "sparql":
        return _run_sparql(db, job)
    if job["kind"] == "saved":
        return _run_saved(db, job)
    if job["kind"] == "entity":  # the web page's entity pages (kg/web)
        from kg.web import pages
        status, content_type, body, headers = pages.entity_job(db, job)
        return Reply(status, content_type, body, headers)
    return Reply.error(500, f"unknown job kind {job['kind']!r}")


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
        # the folder kg itself was imported from (for a checkout run without installing)
        home = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": home, "PYTHONSAFEPATH": "1"}
        code = "import sys; from kg.server import worker_main; worker_main(*sys.argv[1:])"
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


# --- HTTP --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    timeout: float = DEFAULT_TIMEOUT
    max_rows: int = DEFAULT_MAX_ROWS
    max_request: int = DEFAULT_MAX_REQUEST
    max_memory: int | None = DEFAULT_MAX_MEMORY


def host_allowed(header: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request's Host header names this server: a loopback name or address,
    or one of `allowed` (the --host given, --allow-host names). A page elsewhere that
    rebinds its own name to 127.0.0.1 sends its own name, and is refused."""
    if header is None:
        return True  # HTTP/1.0 without Host: no name was used to reach us
    host = header.strip().lower()
    if host.startswith("["):  # [::1]:7878
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.rstrip(".")
    if host in LOOPBACK_NAMES or host in allowed:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _form(text: str) -> dict[str, list[str]]:
    try:
        return parse_qs(text, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=200)
    except UnicodeDecodeError as exc:
        raise HTTPError(400, "a parameter is not valid UTF-8 once percent-decoded") from exc
    except ValueError as exc:
        raise HTTPError(400, f"cannot read the parameters: {exc}") from exc


def _single(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise HTTPError(400, f"parameter {name} is given {len(values)} times; give it once")
    return values[0]


def _graph_iris(fields: dict[str, list[str]], name: str) -> list[str]:
    for value in fields.get(name, []):
        try:
            ox.NamedNode(value)
        except ValueError as exc:
            raise HTTPError(400, f"{name} {value!r} is not an absolute IRI") from exc
    return list(fields.get(name, []))


def _wants_html(accept: str | None) -> bool:
    """A browser asking for / gets the page; a client that asks for JSON only gets the index."""
    if not accept:
        return True
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return "text/html" in types or not any(t in ("application/json", "application/*") for t in types)


def _asset(name: str) -> Reply:
    from kg.web import pages
    found = pages.asset(name)
    if found is None:
        raise HTTPError(404, f"no asset named {name!r}")
    body, content_type = found
    return Reply(200, content_type, body, {**pages.SECURITY_HEADERS, "Cache-Control": "no-cache"})


class Handler(BaseHTTPRequestHandler):
    """Routes /sparql, /queries and /queries/NAME; everything else is 404."""

    protocol_version = "HTTP/1.1"
    server_version = "kg"
    timeout = 60  # a client that stalls mid-request does not hold a thread for ever
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s\n"
    server: KGServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer on a kept-alive connection
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    do_DELETE = do_PATCH = do_PUT

    def log_request(self, code="-", size="-") -> None:
        pass  # one line per request is written by _dispatch, with the time taken

    def log_message(self, format: str, *args) -> None:
        self.server.log(f"{self.address_string()} {format % args}")

    def _dispatch(self) -> None:
        start = time.monotonic()
        self._consumed = False
        try:
            if not host_allowed(self.headers.get("Host"), self.server.allowed_hosts):
                raise HTTPError(403, f"Host {self.headers.get('Host')!r} is not a name of this server; it answers "
                                     "loopback names and the --host it was given (kg serve --allow-host NAME "
                                     "adds one)")
            reply = self._route()
        except HTTPError as exc:
            reply = exc.reply
        except Exception:  # noqa: BLE001 - answer 500 and keep serving
            self.server.log(traceback.format_exc().rstrip())
            reply = Reply.error(500, "internal server error; the server log has the details")
        if not self._consumed:
            self._skip_body()  # a body we did not read would be taken for the next request
        self._send(reply)
        path = self.path if len(self.path) <= 160 else self.path[:159] + "…"
        self.server.log(f'{self.address_string()} "{self.command} {path}" {reply.status} '
                        f"{len(reply.body)} {1000 * (time.monotonic() - start):.1f}ms")

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Vary", "Accept")
            for key, value in reply.headers.items():
                self.send_header(key, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True  # the client left

    def _route(self) -> Reply:
        url = urlsplit(self.path)
        path = url.path
        if path == "/sparql":
            self._allow("GET", "POST")
            return self._sparql(url.query)
        if path in ("/queries", "/queries/"):
            self._allow("GET")
            return self._list_queries()
        if path.startswith("/queries/"):
            self._allow("GET")
            return self._saved(unquote(path[len("/queries/"):]), url.query)
        # --- the web page (kg/web) ---
        if path in ("/", "/index.html") and _wants_html(self.headers.get("Accept")):
            self._allow("GET")
            return _asset("index.html")
        if path.startswith("/static/"):
            self._allow("GET")
            return _asset(path[len("/static/"):])
        if path == "/favicon.ico":
            self._allow("GET")
            return Reply(204, "image/x-icon", b"")  # no icon; and no 404 in the browser's console
        if path == "/api/config":
            self._allow("GET")
            from kg.web import pages
            return Reply(200, JSON_TYPE, json.dumps(pages.page_config(), indent=1).encode("utf-8"))
        if path in ("/entity", "/api/entity"):
            self._allow("GET")
            return self._entity(url.query, "json" if path == "/api/entity" else "html")
        # --- end web page ---
        if path == "/":
            self._allow("GET")
            body = {"sparql": "/sparql", "queries": "/queries",
                    "limits": {"timeout_seconds": self.server.limits.timeout,
                               "max_rows": self.server.limits.max_rows,
                               "max_request_bytes": self.server.limits.max_request,
                               "max_memory_bytes": self.server.limits.max_memory}}
            return Reply(200, JSON_TYPE, json.dumps(body, indent=1).encode("utf-8"))
        raise HTTPError(404, f"nothing at {path}; the endpoint is /sparql and the saved queries are at /queries")

    def _allow(self, *methods: str) -> None:
        if self.command not in methods:
            raise HTTPError(405, f"{self.command} is not allowed here; use {' or '.join(methods)}",
                            {"Allow": ", ".join(methods)})

    def _url_fields(self, query: str) -> dict[str, list[str]]:
        if len(query) > self.server.limits.max_request:
            raise HTTPError(414, f"the URL's query string is {len(query)} bytes, over this server's limit of "
                                 f"{self.server.limits.max_request}; POST the query instead")
        return _form(query)

    def _skip_body(self) -> None:
        """Read and drop a body we will not use, so that the connection stays in step."""
        self._consumed = True
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding") or (length and not length.isdigit()):
            self.close_connection = True
            return
        remaining = int(length or 0)
        if remaining > 16 * self.server.limits.max_request:
            self.close_connection = True  # not worth reading: drop the connection after answering
            return
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                self.close_connection = True
                return
            remaining -= len(chunk)

    def _body(self) -> bytes:
        self._consumed = True
        limit = self.server.limits.max_request
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise HTTPError(411, "send the body with a Content-Length (chunked bodies are not accepted)")
        length = self.headers.get("Content-Length")
        if length is None:
            raise HTTPError(411, "a POST needs a Content-Length header")
        if not length.strip().isdigit():
            self.close_connection = True
            raise HTTPError(400, f"bad Content-Length {length!r}")
        size = int(length)
        if size > limit:
            self._skip_body()
            raise HTTPError(413, f"the request body is {size} bytes, over this server's limit of {limit}")
        body = self.rfile.read(size)
        if len(body) < size:
            self.close_connection = True
            raise HTTPError(400, f"the body ended after {len(body)} of {size} bytes")
        return body

    def _sparql(self, url_query: str) -> Reply:
        fields = self._url_fields(url_query)
        if self.command == "POST":
            media = self.headers.get_content_type()
            body = self._body()
            if media == "application/x-www-form-urlencoded":
                try:
                    fields = _form(body.decode("ascii"))
                except UnicodeDecodeError as exc:
                    raise HTTPError(400, "a form body must be percent-encoded ASCII") from exc
            elif media == "application/sparql-update":
                raise HTTPError(403, "updates are refused: this endpoint is read-only")
            elif media == "application/sparql-query":
                try:
                    fields = {**fields, "query": [body.decode("utf-8")]}
                except UnicodeDecodeError as exc:
                    raise HTTPError(400, "the query is not valid UTF-8") from exc
            else:
                raise HTTPError(415, f"cannot read a {media} body; POST application/sparql-query, or "
                                     "application/x-www-form-urlencoded with query=")
        if "update" in fields:
            raise HTTPError(403, "updates are refused: this endpoint is read-only")
        text = _single(fields, "query")
        if text is None or not text.strip():
            raise HTTPError(400, "no query: pass query=SPARQL (GET or form POST), or POST it as "
                                 "application/sparql-query")
        if len(text.encode("utf-8")) > self.server.limits.max_request:
            raise HTTPError(413, f"the query is over this server's limit of {self.server.limits.max_request} bytes")
        offers = offers_for(query_form(text))
        accept = self.headers.get("Accept")
        if negotiate(accept, offers) is None:
            return _not_acceptable(offers)
        job = {"kind": "sparql", "query": text, "accept": accept, "max_rows": self.server.limits.max_rows,
               "default_graphs": _graph_iris(fields, "default-graph-uri"),
               "named_graphs": _graph_iris(fields, "named-graph-uri")}
        return self.server.pool.run(job, self.server.limits.timeout)

    def _list_queries(self) -> Reply:
        listing = [{"name": q.name, "summary": q.summary, "description": q.description,
                    "params": [p.__dict__ for p in q.params], "url": f"/queries/{q.name}"}
                   for q in queries.saved_queries().values()]
        return Reply(200, JSON_TYPE, json.dumps(listing, indent=1, ensure_ascii=False).encode("utf-8"))

    def _entity(self, url_query: str, fmt: str) -> Reply:
        """/entity?iri=IRI (or ?name=TEXT[&kind=person|paper|topic|role], which redirects)."""
        fields = self._url_fields(url_query)
        iri, name, kind = _single(fields, "iri"), _single(fields, "name"), _single(fields, "kind")
        if not (iri or "").strip() and not (name or "").strip():
            raise HTTPError(400, "give iri=IRI, or name=TEXT (and kind=person|paper|topic|role)")
        if kind is not None and kind not in queries.ENTITY_KINDS + ("any",):
            raise HTTPError(400, f"kind must be one of {', '.join(queries.ENTITY_KINDS)}, not {kind!r}")
        job = {"kind": "entity", "iri": iri.strip() if (iri or "").strip() else None, "name": name,
               "entity_kind": kind, "format": fmt}
        return self.server.pool.run(job, self.server.limits.timeout)

    def _saved(self, name: str, url_query: str) -> Reply:
        saved = queries.saved_queries()
        if name not in saved:
            close = difflib.get_close_matches(name, saved, n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise HTTPError(404, f"no saved query named {name!r}; {hint}GET /queries lists them",
                            suggestions=close)
        query = saved[name]
        params = {}
        fields = self._url_fields(url_query)
        for key in fields:
            value = _single(fields, key)
            if not value.strip():
                raise HTTPError(400, f"parameter {key} is empty; give it a value or leave it out")
            params[key] = value
        known = {p.name: p for p in query.params}
        for key in params:
            if key not in known:
                raise HTTPError(400, f"query {name} has no parameter {key!r}; its parameters: "
                                     f"{', '.join(sorted(known)) or 'none'}")
        for p in query.params:
            if p.required and p.default is None and p.name not in params:
                raise HTTPError(400, f"query {name} needs the parameter {p.name} (?{p.name}=VALUE): "
                                     f"{p.description}")
        offers = offers_for(query_form(query.text))
        accept = self.headers.get("Accept")
        if negotiate(accept, offers) is None:
            return _not_acceptable(offers)
        job = {"kind": "saved", "name": name, "params": params, "accept": accept,
               "max_rows": self.server.limits.max_rows}
        return self.server.pool.run(job, self.server.limits.timeout)


class KGServer(ThreadingHTTPServer):
    """The HTTP server; `server_close` also stops the query workers."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], family: int, pool: WorkerPool, limits: Limits,
                 log: IO[str] | None, allowed_hosts: frozenset[str] = frozenset()):
        self.address_family = family
        self.pool = pool
        self.limits = limits
        self.allowed_hosts = allowed_hosts
        self._log = log
        self._log_lock = threading.Lock()
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def log(self, line: str) -> None:
        if self._log is not None:
            with self._log_lock:
                print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {line}", file=self._log, flush=True)

    def server_close(self) -> None:
        super().server_close()
        self.pool.close()


def is_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def make_server(store_path: str | os.PathLike, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                timeout: float = DEFAULT_TIMEOUT, max_rows: int = DEFAULT_MAX_ROWS,
                max_request: int = DEFAULT_MAX_REQUEST, workers: int | None = None,
                public: bool = False, log: IO[str] | None = None,
                max_memory: int | None = DEFAULT_MAX_MEMORY, allow_hosts: tuple[str, ...] = ()) -> KGServer:
    """A bound, not yet serving, server; call `serve_forever()`, then `shutdown()` and `server_close()`.

    A host that is not loopback is refused unless `public`. `log` gets one line per request.
    Requests whose Host header is not a loopback name, `host` or one of `allow_hosts`
    are refused (403); a query worker whose memory passes `max_memory` bytes is stopped.
    """
    root = stores.store_path(store_path)
    if stores.is_url(root):
        stores.open_store(root)  # fail now, not at the first request
    else:  # the same check, not pinning: the workers read it, with pins of their own
        _db, generation = stores.open_generation(root)
        del _db
        stores.release(generation)
    if timeout <= 0 or max_rows < 1 or max_request < 1 or (max_memory is not None and max_memory < 1):
        raise KGError("timeout, max_rows and max_request must be positive")
    if not public and not is_loopback(host):
        raise KGError(f"{host} is not a loopback address; serving the store beyond this machine "
                      "must be asked for explicitly (kg serve --host HOST)")
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError) as exc:
        raise KGError(f"cannot resolve host {host!r}: {exc}") from exc
    pool = WorkerPool(root, workers or max(1, min(4, os.cpu_count() or 1)), max_memory)
    allowed = frozenset(name.lower().rstrip(".") for name in (host, *allow_hosts))
    try:
        return KGServer((host, port), family, pool, Limits(timeout, max_rows, max_request, max_memory), log,
                        allowed)
    except OSError as exc:
        pool.close()
        raise KGError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from exc


def serve(store_path: str | os.PathLike, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
          on_ready: Callable[[KGServer], None] | None = None, **options) -> None:
    """Serve until interrupted (Ctrl-C); `options` are make_server's."""
    server = make_server(store_path, host, port, **options)
    try:
        if on_ready is not None:
            on_ready(server)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
