"""HTTP: the server (KGServer, make_server, serve), its routing and request handler, Host
checks and request limits; queries go to the worker pool, answers come back as Replies."""

from __future__ import annotations

import gzip
import ipaddress
import json
import os
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO
from urllib.parse import parse_qs, unquote, urlsplit

import pyoxigraph as ox

from kg import queries
from kg import store as stores
from kg.errors import KGError
from kg.server.about import DUMP, PAGING, openapi
from kg.server.queryform import query_form
from kg.server.replies import (
    GRAPH_TYPES,
    JSON_TYPE,
    HTTPError,
    Reply,
    format_as_accept,
    negotiate,
    not_acceptable,
    offers_for,
)
from kg.server.workers import DEFAULT_MAX_MEMORY, WorkerPool

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7878
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_REQUEST = 64 * 1024
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
GZIP_FROM = 1024  # bytes: smaller answers go out as they are
HTML_TYPE = "text/html"


@dataclass(frozen=True)
class Limits:
    """The limits a request is held to; GET / shows them so a client can plan its queries."""

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


def accepts_gzip(header: str | None) -> bool:
    """Whether Accept-Encoding allows gzip (named or *, with q above 0)."""
    for part in (header or "").split(","):
        coding, *params = [p.strip().lower() for p in part.split(";")]
        if coding in ("gzip", "x-gzip", "*"):
            q = next((p[2:] for p in params if p.startswith("q=")), "1")
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


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
    """Routes /sparql, /queries, /queries/NAME and the web page (kg/web); everything else is 404."""

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

    def do_HEAD(self) -> None:
        """GET's headers without its body (the answer is computed, then not sent)."""
        self._dispatch()

    def do_OPTIONS(self) -> None:
        """What a path allows; with --cors, the preflight a browser sends before a POST."""
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
        body, headers = reply.body, dict(reply.headers)
        if len(body) >= GZIP_FROM and accepts_gzip(self.headers.get("Accept-Encoding")):
            body = gzip.compress(body, compresslevel=5, mtime=0)
            headers["Content-Encoding"] = "gzip"
        if self.server.cors:
            headers.update(self.server.cors_headers())
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Vary", "Accept, Accept-Encoding, Origin" if self.server.cors else "Accept, Accept-Encoding")
            for key, value in headers.items():
                self.send_header(key, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client left

    def _base(self) -> str:
        """This server's URL as the client named it (a Host this server answers to, in
        the plain name[:port] form; anything else gets the address it listens on)."""
        host = (self.headers.get("Host") or "").strip()
        if re.fullmatch(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?", host):
            return f"http://{host}"
        return self.server.url

    def _route(self) -> Reply:
        url = urlsplit(self.path)
        path = url.path
        if self.command == "OPTIONS":
            return self._options(path)
        if path == "/sparql":
            self._allow("GET", "POST")
            return self._sparql(url.query)
        if path == "/.well-known/void":
            self._allow("GET")
            return self._about("void")
        if path == "/context.jsonld":  # the context kg's JSON-LD export embeds, published
            self._allow("GET")
            from kg.export import jsonld_context
            return Reply(200, "application/ld+json", jsonld_context(), {"Cache-Control": "max-age=3600"})
        if path == "/openapi.json":
            self._allow("GET")
            body = json.dumps(openapi(self._base()), indent=1, ensure_ascii=False)
            return Reply(200, JSON_TYPE, body.encode("utf-8"))
        if path == DUMP:
            self._allow("GET")
            return self.server.pool.run({"kind": "dump"}, max(self.server.limits.timeout, 300.0))
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
        if path in ("/api/overview", "/api/suggest"):  # the home page's numbers; search as you type
            self._allow("GET")
            job = {"kind": path[len("/api/"):], "q": _single(self._url_fields(url.query), "q")}
            return self.server.pool.run(job, self.server.limits.timeout)
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
        if "GET" in methods:
            methods = (*methods, "HEAD")
        if self.command not in methods:
            raise HTTPError(405, f"{self.command} is not allowed here; use {' or '.join(methods)}",
                            {"Allow": ", ".join(methods)})

    def _options(self, path: str) -> Reply:
        """OPTIONS: 204 with Allow (and, with --cors, the preflight's answer)."""
        methods = "GET, POST, HEAD, OPTIONS" if path == "/sparql" else "GET, HEAD, OPTIONS"
        return Reply(204, "text/plain; charset=utf-8", b"", {"Allow": methods})

    def _about(self, what: str) -> Reply:
        accept = self.headers.get("Accept")
        if negotiate(accept, GRAPH_TYPES) is None:
            return not_acceptable(GRAPH_TYPES)
        job = {"kind": "about", "what": what, "base": self._base(), "accept": accept}
        return self.server.pool.run(job, self.server.limits.timeout)

    def _accept(self, fields: dict[str, list[str]], offers: dict[str, str]) -> str | None:
        """The Accept header, or what `format=` / `output=` asks for in its place."""
        given = _single(fields, "format") or _single(fields, "output")
        return format_as_accept(given, offers) if given else self.headers.get("Accept")

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
        if self.command in ("GET", "HEAD") and "query" not in fields:
            return self._about("service")  # SPARQL 1.1 Service Description
        text = _single(fields, "query")
        if text is None or not text.strip():
            raise HTTPError(400, "no query: pass query=SPARQL (GET or form POST), or POST it as "
                                 "application/sparql-query")
        if len(text.encode("utf-8")) > self.server.limits.max_request:
            raise HTTPError(413, f"the query is over this server's limit of {self.server.limits.max_request} bytes")
        offers = offers_for(query_form(text))
        accept = self._accept(fields, offers)
        if negotiate(accept, offers) is None:
            return not_acceptable(offers)
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
        iri = iri.strip() if (iri or "").strip() else None
        if fmt == "html" and iri is not None:  # Linked Data: the same IRI as Turtle, N-Triples, JSON-LD
            offers = {HTML_TYPE: "html", **GRAPH_TYPES}
            accept = self._accept(fields, GRAPH_TYPES) if ("format" in fields or "output" in fields) \
                else self.headers.get("Accept")
            media = negotiate(accept, offers)
            if media is None:
                return not_acceptable(offers)
            if media != HTML_TYPE:
                job = {"kind": "entity_rdf", "iri": iri, "accept": accept, "location": "/entity?iri=",
                       "max_rows": self.server.limits.max_rows}
                return self.server.pool.run(job, self.server.limits.timeout)
        job = {"kind": "entity", "iri": iri, "name": name, "entity_kind": kind, "format": fmt}
        return self.server.pool.run(job, self.server.limits.timeout)

    def _saved(self, name: str, url_query: str) -> Reply:
        saved = queries.saved_queries()
        if name not in saved:
            close = queries.close_query_names(name)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise HTTPError(404, f"no saved query named {name!r}; {hint}GET /queries lists them",
                            suggestions=close)
        query = saved[name]
        fields = self._url_fields(url_query)
        known = {p.name: p for p in query.params}
        paging = {key: self._count(fields, key) for key in PAGING if key not in known}
        params = {}
        for key in fields:
            if key in paging or key in ("format", "output"):
                continue
            value = _single(fields, key)
            if not value.strip():
                raise HTTPError(400, f"parameter {key} is empty; give it a value or leave it out")
            params[key] = value
        for key in params:
            if key not in known:
                raise HTTPError(400, f"query {name} has no parameter {key!r}; its parameters: "
                                     f"{', '.join(sorted(known)) or 'none'} (and limit, offset to page)")
        for p in query.params:
            if p.required and p.default is None and p.name not in params:
                raise HTTPError(400, f"query {name} needs the parameter {p.name} (?{p.name}=VALUE): "
                                     f"{p.description}")
        offers = offers_for(query_form(query.text))
        accept = self._accept(fields, offers)
        if negotiate(accept, offers) is None:
            return not_acceptable(offers)
        job = {"kind": "saved", "name": name, "params": params, "accept": accept,
               "max_rows": self.server.limits.max_rows, "limit": paging.get("limit"),
               "offset": paging.get("offset")}
        return self.server.pool.run(job, self.server.limits.timeout)

    @staticmethod
    def _count(fields: dict[str, list[str]], key: str) -> int | None:
        value = _single(fields, key)
        if value is None:
            return None
        if not value.strip().isdigit():
            raise HTTPError(400, f"{key} must be a whole number of rows, not {value!r}")
        return int(value)


class KGServer(ThreadingHTTPServer):
    """The HTTP server; `server_close` also stops the query workers."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], family: int, pool: WorkerPool, limits: Limits,
                 log: IO[str] | None, allowed_hosts: frozenset[str] = frozenset(), cors: str | None = None):
        self.address_family = family
        self.cors = cors
        self.pool = pool
        self.limits = limits
        self.allowed_hosts = allowed_hosts
        self._log = log
        self._log_lock = threading.Lock()
        super().__init__(address, Handler)

    def cors_headers(self) -> dict[str, str]:
        """CORS for the --cors origin: reading answers, and the preflight of a POST."""
        return {"Access-Control-Allow-Origin": self.cors, "Access-Control-Allow-Methods": "GET, POST, HEAD, OPTIONS",
                "Access-Control-Allow-Headers": "Accept, Content-Type",
                "Access-Control-Expose-Headers": "X-KG-Rows, X-KG-Total-Rows, X-KG-Max-Rows",
                "Access-Control-Max-Age": "600"}

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
                max_memory: int | None = DEFAULT_MAX_MEMORY, allow_hosts: tuple[str, ...] = (),
                cors: str | None = None) -> KGServer:
    """A bound, not yet serving, server; call `serve_forever()`, then `shutdown()` and `server_close()`.

    A host that is not loopback is refused unless `public`. `log` gets one line per request.
    Requests whose Host header is not a loopback name, `host` or one of `allow_hosts`
    are refused (403); a query worker whose memory passes `max_memory` bytes is stopped.
    `cors` (an origin such as https://yasgui.example, or *) lets pages there read answers.
    """
    root = stores.store_path(store_path)
    # fail now, not at the first request; not pinning: the workers read it, with pins of their own
    stores.open_store(root).close()
    if timeout <= 0 or max_rows < 1 or max_request < 1 or (max_memory is not None and max_memory < 1):
        raise KGError("timeout, max_rows and max_request must be positive")
    if cors is not None and cors != "*" and not re.fullmatch(r"https?://[^/\s]+", cors):
        raise KGError(f"--cors {cors!r} is not an origin; give scheme://host[:port] (no path), or *")
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
                        allowed, cors)
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
