"""A remote store: any SPARQL 1.1 Query + Update + Graph Store Protocol endpoint.

`RemoteStore` is a kg.store.Store over the protocols, so the pipeline, saved queries,
`stats`, `show`, `export` and `serve` run unchanged against a server. Decisions (see
README "Remote stores"):

* **Which graphs.** kg's named graphs are the meta graph, the sources it lists
  (`?build prov:used ?source`) and the reconciliation graph; the embedded store's
  default graph (the merge of the sources, see kg.merge) is the graph `graph/merged`
  on a server, which has no default graph of its own that every server would share.
  Every query is sent with `default-graph-uri` = that graph and `named-graph-uri` =
  the named graphs (SPARQL 1.1 Protocol), which gives the embedded store's dataset on
  any server, and keeps out Virtuoso's system graphs and kg's temporary upload
  graphs. A query that names its own dataset (FROM / FROM NAMED) gets exactly that
  dataset, sent as the protocol's parameters too (Virtuoso would otherwise let GRAPH
  reach every graph beside FROM); one with several FROM graphs, which servers union
  without merging (a triple in two of them comes twice), runs here on their merge
  (see kg.dataset).
* **Parameters.** A server has no substitution API, so bound values travel as a
  `VALUES` block placed first inside the query's top-level WHERE group (so FILTERs
  of that group see them, as with Oxigraph's substitutions). The block is built only
  from pyoxigraph term objects, in their N-Triples serialisation, which escapes every
  character that could end a literal or an IRI; no value is ever pasted as text.
* **Builds.** A build onto a server is the embedded pipeline into a temporary
  embedded store (`staging`), whose commit uploads it: one swap of graphs.
* **Writes.** Data goes up as N-Triples through the Graph Store Protocol into
  temporary graphs (in chunks); then one SPARQL Update request drops the old graphs
  and `ADD`s the temporary ones in their place (the meta graph among them). A failure before that request leaves the
  live graphs as they were; temporary graphs are dropped in every case, and those of
  a writer killed before it could drop them by the next push or build (which holds the
  writers' lock, so no live writer's uploads are touched).
* **Credentials** come from the environment only: KG_STORE_USER / KG_STORE_PASSWORD
  (HTTP Basic or Digest, whichever the server asks for).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg import dataset, sparqltext
from kg.errors import StoreError
from kg.mapping import META_GRAPH
from kg.namespaces import mint
from kg.reconcile import RECONCILIATION_GRAPH
from kg.store.local import Staging
from kg.store.local import staging as local_staging
from kg.store.protocol import NEIGHBOUR_PREDICATES, SAME_AS, Graph

CHUNK = 50_000  # triples per upload request
TIMEOUT = 60.0
PROV_USED = "http://www.w3.org/ns/prov#used"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
UPLOAD_PREFIX = "urn:kg:upload:"  # temporary graphs of replace_graphs; never part of kg's dataset


def meta_graph() -> ox.NamedNode:
    return ox.NamedNode(mint(*META_GRAPH.split("/")))


def merged_graph() -> ox.NamedNode:
    """Where a server keeps what the embedded store's default graph holds."""
    return ox.NamedNode(mint("graph", "merged"))


@dataclass(frozen=True)
class Endpoints:
    query: str
    update: str
    store: str


def endpoints(spec: str) -> Endpoints:
    """The three URLs a --store value stands for.

    * `http://host:port` (no path): Oxigraph's layout, /query, /update, /store.
    * `http://host:port/sparql` (or /sparql-auth): Virtuoso's, /sparql for queries,
      /sparql-auth for updates, /sparql-graph-crud-auth for the Graph Store Protocol.
    * `query=URL,update=URL,store=URL`: any other server.
    """
    if spec.lower().startswith("query="):
        parts = dict(p.split("=", 1) for p in spec.split(",") if "=" in p)
        if "query" not in parts:
            raise StoreError(f"--store {spec!r}: expected query=URL[,update=URL][,store=URL]")
        return Endpoints(parts["query"], parts.get("update", parts["query"]), parts.get("store", ""))
    url = urllib.parse.urlsplit(spec)
    base = f"{url.scheme}://{url.netloc}"
    path = url.path.rstrip("/")
    if path in ("/sparql", "/sparql-auth"):
        return Endpoints(base + "/sparql", base + "/sparql-auth", base + "/sparql-graph-crud-auth")
    if path in ("", "/query"):
        return Endpoints(base + "/query", base + "/update", base + "/store")
    raise StoreError(f"--store {spec}: give a server's base URL (Oxigraph), a URL ending in /sparql "
                     "(Virtuoso), or query=URL,update=URL,store=URL")


def values_block(bindings: dict[ox.Variable, ox.NamedNode | ox.Literal]) -> str:
    """`VALUES (?a ?b) { (<iri> "lit") }` from term objects, never from raw text."""
    names, terms = [], []
    for var, term in bindings.items():
        if not isinstance(var, ox.Variable):
            raise TypeError(f"substitution keys must be pyoxigraph Variables, not {type(var).__name__}")
        if not isinstance(term, (ox.NamedNode, ox.Literal)):
            raise TypeError("only IRIs and literals can be bound on a remote store, "
                            f"not {type(term).__name__}")
        names.append(str(var))  # "?name", validated by ox.Variable
        terms.append(str(term))  # N-Triples: every special character escaped
    return f" VALUES ({' '.join(names)}) {{ ({' '.join(terms)}) }} "


def with_bindings(text: str, bindings: dict | None) -> str:
    """`text` with `bindings` as a VALUES block first inside its WHERE group."""
    return sparqltext.with_values(text, values_block(bindings)) if bindings else text


# --- HTTP ------------------------------------------------------------------------------

class _Http:
    """urllib with Basic or Digest credentials from the environment.

    The challenge is fetched with a body-less probe before the first request to a
    URL, so a large upload is never sent only to be refused (Virtuoso closes the
    connection on a 401 while the body is still arriving).
    """

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.user = os.environ.get("KG_STORE_USER")
        self.password = os.environ.get("KG_STORE_PASSWORD") or ""
        self.challenges: dict[str, dict[str, str] | None] = {}
        self.count = 0

    def request(self, method: str, url: str, data: bytes | None = None,
                headers: dict[str, str] | None = None) -> bytes:
        headers = dict(headers or {})
        path = _short(url)
        if self.user is not None and path not in self.challenges:
            self.challenges[path] = self._probe(url)
        for attempt in (1, 2):
            if self.user is not None and self.challenges.get(path):
                headers["Authorization"] = self._authorization(self.challenges[path], method, url)
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return resp.read()
            except urllib.error.HTTPError as exc:
                challenge = _challenge(exc.headers.get("WWW-Authenticate"))
                if exc.code == 401 and self.user is not None and challenge and attempt == 1:
                    self.challenges[path] = challenge  # stale nonce: once more with the new one
                    continue
                body = exc.read()[:300].decode("utf-8", "replace").strip().replace("\n", " ")
                hint = " (set KG_STORE_USER / KG_STORE_PASSWORD)" if exc.code in (401, 403) else ""
                raise RemoteError(exc.code, f"{method} {path}: HTTP {exc.code}{hint}: {body}") from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise StoreError(f"cannot reach the store at {path}: {reason}") from None
        raise AssertionError("unreachable")

    def _probe(self, url: str) -> dict[str, str] | None:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=self.timeout):
                return None
        except urllib.error.HTTPError as exc:
            return _challenge(exc.headers.get("WWW-Authenticate")) if exc.code == 401 else None
        except (urllib.error.URLError, OSError) as exc:
            raise StoreError(f"cannot reach the store at {_short(url)}: {getattr(exc, 'reason', exc)}") from None

    def _authorization(self, challenge: dict[str, str], method: str, url: str) -> str:
        if challenge["scheme"] == "basic":
            return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        split = urllib.parse.urlsplit(url)
        uri = split.path + (f"?{split.query}" if split.query else "")
        realm, nonce = challenge.get("realm", ""), challenge.get("nonce", "")
        md5 = lambda text: hashlib.md5(text.encode()).hexdigest()
        ha1 = md5(f"{self.user}:{realm}:{self.password}")
        ha2 = md5(f"{method}:{uri}")
        self.count += 1
        nc, cnonce = f"{self.count:08x}", uuid.uuid4().hex[:16]
        fields = {"username": self.user, "realm": realm, "nonce": nonce, "uri": uri}
        if "auth" in [q.strip() for q in challenge.get("qop", "").split(",")]:
            fields["response"] = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            extra = f", qop=auth, nc={nc}, cnonce=\"{cnonce}\""
        else:
            fields["response"] = md5(f"{ha1}:{nonce}:{ha2}")
            extra = ""
        if "opaque" in challenge:
            fields["opaque"] = challenge["opaque"]
        return "Digest " + ", ".join(f'{k}="{v}"' for k, v in fields.items()) + extra


def _challenge(header: str | None) -> dict[str, str] | None:
    if not header:
        return None
    scheme = header.split(None, 1)[0].lower()
    if scheme not in ("basic", "digest"):
        return None
    fields = {k.lower(): a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header)}
    fields["scheme"] = scheme
    return fields


class RemoteError(StoreError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _short(url: str) -> str:
    return url.split("?", 1)[0]


# --- the store -------------------------------------------------------------------------

class RemoteStore:
    """A SPARQL 1.1 server as a kg.store.Store."""

    embedded = False

    def __init__(self, query_url: str, update_url: str | None = None, gsp_url: str | None = None,
                 timeout: float = TIMEOUT):
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.gsp_url = gsp_url or ""
        self.http = _Http(timeout)
        self._graphs: list[ox.NamedNode] | None = None
        self._merged = False  # whether the server holds kg's merged graph
        self._version: str | None = None

    @classmethod
    def from_spec(cls, spec: str, timeout: float = TIMEOUT) -> RemoteStore:
        ends = endpoints(spec)
        return cls(ends.query, ends.update, ends.store, timeout)

    def __repr__(self) -> str:
        return f"RemoteStore({self.query_url})"

    # graphs ---------------------------------------------------------------------------
    def kg_graphs(self, refresh: bool = False) -> list[ox.NamedNode]:
        """kg's named graphs: the meta graph, the sources it lists and the reconciliation
        graph; [] for an empty server."""
        if self._graphs is None or refresh:
            meta, links, merged = meta_graph(), ox.NamedNode(RECONCILIATION_GRAPH), merged_graph()
            q = (f"SELECT DISTINCT ?g WHERE {{ GRAPH {meta} {{ ?build <{PROV_USED}> ?g }} }}")
            rows = self._select(q, graphs=[meta])
            sources = sorted({r["g"].value for r in rows if isinstance(r["g"], ox.NamedNode)})
            present = {r["g"].value for r in self._select(
                f"SELECT ?g WHERE {{ VALUES ?g {{ {meta} {links} {merged} }} "
                "FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } }", graphs=[meta, links, merged])}
            self._merged = merged.value in present
            self._graphs = ([meta] if meta.value in present else []) + [ox.NamedNode(s) for s in sources] \
                + ([links] if links.value in present else [])
        return list(self._graphs)

    def named_graphs(self) -> Iterator[ox.NamedNode]:
        return iter(self.kg_graphs())

    def contains_named_graph(self, graph: ox.NamedNode) -> bool:
        return graph in self.kg_graphs()

    def is_empty(self) -> bool:
        return not self.kg_graphs()

    def exists(self) -> bool:
        """Whether the server holds kg's graphs (a build can add to it)."""
        return not self.is_empty()

    def _dataset(self) -> tuple[list[ox.NamedNode], list[ox.NamedNode]]:
        """(default graphs, named graphs) to send with a query: the merge as the default
        graph (or, from a server kg pushed to before it kept one, the union)."""
        named = self.kg_graphs()
        return ([merged_graph()] if self._merged else named), named

    # reading --------------------------------------------------------------------------
    def query(self, query: str, prefixes: dict[str, str] | None = None,
              use_default_graph_as_union: bool = False, substitutions: dict | None = None,
              default_graph=None, named_graphs=None, **_ignored):
        """Like pyoxigraph's Store.query: QuerySolutions, QueryBoolean or QueryTriples,
        over kg's dataset (see the module docstring), or the one given as `default_graph`
        and `named_graphs` (the protocol's dataset, overriding FROM as SPARQL says);
        `use_default_graph_as_union` is accepted for compatibility and changes nothing."""
        text = with_bindings(sparqltext.with_prefixes(query, prefixes), substitutions)
        _check_syntax(text)
        found = sparqltext.read(text)
        if found.form not in sparqltext.QUERY_FORMS:
            raise SyntaxError("not a SPARQL query (SELECT, ASK, CONSTRUCT or DESCRIBE)")
        if default_graph is not None or named_graphs is not None:
            given = default_graph if isinstance(default_graph, list) else [default_graph]
            default = [g for g in given if isinstance(g, ox.NamedNode)]
            named = list(named_graphs or [])
        elif found.dataset:  # as SPARQL says, whatever the server's habits: sent as parameters
            if dataset.merges(found.default_graphs):
                return dataset.query_merged(text, found.default_graphs, found.named_graphs, self._graph_triples)
            default = [ox.NamedNode(g) for g in found.default_graphs]
            named = [ox.NamedNode(g) for g in found.named_graphs]
        else:
            default, named = self._dataset()
        if found.form in ("SELECT", "ASK"):
            data = self._post_query(text, default, named, "application/sparql-results+json")
            try:
                return _results(data, ask=found.form == "ASK")
            except SyntaxError as exc:
                raise StoreError(f"the store at {self.query_url} sent unreadable results: {exc}") from None
        data = self._post_query(text, default, named, "application/n-triples")
        try:
            triples = list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
        except SyntaxError as exc:
            raise StoreError(f"the store at {self.query_url} sent unreadable triples: {exc}") from None
        # a real QueryTriples, as callers test for it: replay the triples in memory
        scratch = ox.Store()
        scratch.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
        return scratch.query("CONSTRUCT WHERE { ?s ?p ?o }")

    def _graph_triples(self, graph: ox.NamedNode) -> Iterator[ox.Triple]:
        """The triples of one of the server's graphs (for a query with several FROM)."""
        return (ox.Triple(q.subject, q.predicate, q.object)
                for q in self._quads(None, None, None, graph, [graph]))

    def quads_for_pattern(self, subject=None, predicate=None, object=None, graph_name=None) -> Iterator[ox.Quad]:
        """As pyoxigraph's: `graph_name` None for every graph (the default one too),
        ox.DefaultGraph() for the merge, a NamedNode for one named graph."""
        default, named = self._dataset()
        if isinstance(graph_name, ox.DefaultGraph):
            return iter(self._as_default(self._quads(subject, predicate, object, None, default)))
        if graph_name is not None:
            return iter(self._quads(subject, predicate, object, graph_name, named))
        found = self._quads(subject, predicate, object, None, named)
        if self._merged:
            found += self._as_default(self._quads(subject, predicate, object, None, default))
        return iter(found)

    @staticmethod
    def _as_default(quads: list[ox.Quad]) -> list[ox.Quad]:
        return [ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads]

    def _quads(self, subject, predicate, object, graph_name, graphs: list[ox.NamedNode]) -> list[ox.Quad]:
        bindings = {ox.Variable(n): t for n, t in (("s", subject), ("p", predicate), ("o", object),
                                                  ("g", graph_name)) if t is not None}
        head = values_block(bindings) if bindings else ""
        return self._select_quads(head + "GRAPH ?g { ?s ?p ?o }", graphs)

    def _select_quads(self, where: str, graphs: list[ox.NamedNode]) -> list[ox.Quad]:
        """The ?s ?p ?o ?g rows of a WHERE group, all of them: a server may cut answers
        short without saying so (Virtuoso's ResultSetMaxRows), so they are checked
        against a count and, if cut, read in ordered pages of the size it allows."""
        q = f"SELECT ?s ?p ?o ?g WHERE {{ {where} }}"
        rows = self._select(q, graphs=graphs)
        total = int(self._select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}", graphs=graphs)[0]["n"].value)
        if len(rows) < total:
            page, rows = max(len(rows), 1), []
            while len(rows) < total:
                chunk = self._select(f"{q} ORDER BY ?g ?s ?p ?o LIMIT {page} OFFSET {len(rows)}", graphs)
                if not chunk:
                    raise StoreError(f"the store at {self.query_url} sent {len(rows)} of {total} quads")
                rows += chunk
        return [ox.Quad(r["s"], r["p"], r["o"], r["g"]) for r in rows]

    def __len__(self) -> int:
        default, named = self._dataset()
        graphs = named + (default if self._merged else [])
        rows = self._select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", graphs=graphs)
        return int(rows[0]["n"].value) if rows else 0

    def dump(self, output=None, format: ox.RdfFormat | None = None, *, from_graph: Graph | None = None):
        """As pyoxigraph's Store.dump, from the quads the server sends."""
        quads = self.quads_for_pattern(None, None, None, from_graph)
        if from_graph is not None:  # distinct: a merge of graphs may state a triple twice
            quads = list(dict.fromkeys(ox.Triple(q.subject, q.predicate, q.object) for q in quads))
        return ox.serialize(quads, output, format)

    def describe(self, iri: ox.NamedNode) -> list[ox.Quad]:
        """As kg.store.protocol.describe_quads says, in three reads (the aliases, the
        quads around them, the neighbours': a few requests each, not one a node).
        Blank nodes next to the entity are not followed: a server cannot be asked about
        them again."""
        aliases = [iri, *(q.object for q in self.quads_for_pattern(iri, SAME_AS, None, ox.DefaultGraph())
                          if isinstance(q.object, ox.NamedNode))]
        found = dict.fromkeys(self._around(aliases, "{ ?x ?p ?o BIND(?x AS ?s) } UNION "
                                                    "{ ?s ?p ?x BIND(?x AS ?o) }"))
        inner = set(aliases)
        near = list(dict.fromkeys(t for q in found for t in (q.subject, q.object, q.graph_name)
                                  if isinstance(t, ox.NamedNode) and t not in inner))
        if near:
            wanted = " ".join(str(p) for p in NEIGHBOUR_PREDICATES)
            found.update(dict.fromkeys(self._around(near, f"VALUES ?p {{ {wanted} }} ?x ?p ?o BIND(?x AS ?s)")))
        return list(found)

    def _around(self, nodes: list[ox.NamedNode], pattern: str) -> list[ox.Quad]:
        """The quads a `pattern` over ?x (one of `nodes`) finds as ?s ?p ?o, in each graph
        of kg's dataset (the merge as the default graph; from a server kg pushed to before
        it kept one, the union of the named graphs, as quads_for_pattern has it)."""
        default, named = self._dataset()
        graphs = named + (default if self._merged else [])
        merged = merged_graph()
        found: list[ox.Quad] = []
        for start in range(0, len(nodes), 500):  # a bounded query text
            values = " ".join(str(n) for n in nodes[start:start + 500])
            for quad in self._select_quads(f"VALUES ?x {{ {values} }} GRAPH ?g {{ {pattern} }}", graphs):
                graph = ox.DefaultGraph() if quad.graph_name == merged else quad.graph_name
                found.append(ox.Quad(quad.subject, quad.predicate, quad.object, graph))
                if not self._merged:
                    found.append(ox.Quad(quad.subject, quad.predicate, quad.object, ox.DefaultGraph()))
        return list(dict.fromkeys(found))

    @property
    def version(self) -> str:
        """A digest of kg's meta graph (the build's sources with their digests and the
        graphs' sizes): a build that changes what the server holds changes it. Read once
        between refreshes."""
        if self._version is None:
            meta = self._quads(None, None, None, None, [meta_graph()])
            self._version = hashlib.sha256("\n".join(sorted(map(str, meta))).encode()).hexdigest()[:16]
        return self._version

    def refresh(self) -> None:
        self._graphs = self._version = None  # a writer may have changed kg's graphs

    def close(self) -> None:
        """Nothing is held open between requests."""

    # writing --------------------------------------------------------------------------
    @contextmanager
    def staging(self, *, extend: bool, on_stage: Callable[[str], None] | None = None
                ) -> Iterator[Staging]:
        """An embedded store in a temporary folder (with `extend`, a copy of what the
        server holds), whose commit uploads its graphs here in one swap (see push)."""
        note = on_stage or (lambda _m: None)
        with tempfile.TemporaryDirectory(prefix="kg-remote-build-") as scratch:
            root = Path(scratch) / "store"
            if extend:
                if self.is_empty():
                    raise StoreError(f"no kg data at {self.query_url} to add to; run `kg build` first")
                note("reading the server's graphs")
                with local_staging(root, extend=False) as seed:
                    seed.add(self.quads_for_pattern(None, None, None, None))
                    seed.commit(optimize=False)
            with local_staging(root, extend=extend) as stage:
                stage.publish = lambda built: push(built, self, on_stage=on_stage)
                yield stage

    def update(self, text: str) -> None:
        self.http.request("POST", self.update_url, urllib.parse.urlencode({"update": text}).encode(),
                          {"Content-Type": "application/x-www-form-urlencoded"})

    def upload(self, graph: ox.NamedNode, triples: Sequence[ox.Triple], chunk: int = CHUNK) -> None:
        """Put N-Triples into `graph` (replacing it) through the Graph Store Protocol, in chunks."""
        if not self.gsp_url:
            raise StoreError("this --store has no Graph Store Protocol URL (store=...) to upload to")
        for start in range(0, max(len(triples), 1), chunk):
            body = ox.serialize(triples[start:start + chunk], format=ox.RdfFormat.N_TRIPLES)
            method = "PUT" if start == 0 else "POST"
            url = f"{self.gsp_url}?{urllib.parse.urlencode({'graph': graph.value})}"
            self.http.request(method, url, body, {"Content-Type": "application/n-triples"})

    def replace_graphs(self, contents: Mapping[Graph, Iterable[ox.Triple]],
                       drop: Iterable[ox.NamedNode] = (), on_stage: Callable[[str], None] | None = None,
                       chunk: int = CHUNK) -> None:
        """Make each graph hold exactly the given triples (ox.DefaultGraph(): the merge,
        kept as graph/merged), and drop those in `drop`, all in one swap.

        Uploads go to temporary graphs first; one update request then moves them in.
        If anything fails before that request the live graphs are untouched.
        """
        note = on_stage or (lambda _m: None)
        contents = {merged_graph() if isinstance(g, ox.DefaultGraph) else g: list(t)
                    for g, t in contents.items()}
        token = uuid.uuid4().hex[:12]
        temps = {g: ox.NamedNode(f"{UPLOAD_PREFIX}{token}:{i}") for i, g in enumerate(contents)}
        try:
            for graph, triples in contents.items():
                note(f"uploading {len(triples)} triples for {graph.value}")
                self.upload(temps[graph], triples, chunk)
            ops = [f"DROP SILENT GRAPH {g}" for g in drop if g not in contents]
            for graph, temp in temps.items():
                # an empty graph may not exist as a temp: clear the target instead
                ops.append(f"DROP SILENT GRAPH {graph}")
                ops.append(f"ADD SILENT {temp} TO {graph}")
            note("swapping graphs")
            self.update(" ;\n".join(ops))
        finally:
            self._graphs = None
            if temps:
                with contextlib.suppress(StoreError):  # the original error matters more
                    self.update(" ;\n".join(f"DROP SILENT GRAPH {t}" for t in temps.values()))

    def upload_graphs(self) -> list[ox.NamedNode]:
        """Every temporary upload graph on the server (urn:kg:upload:*), whoever left it.

        Asked without kg's dataset, so the server's own graph list is searched. Oxigraph
        lists empty graphs too with `GRAPH ?g {}`; Virtuoso answers that with one unbound
        row, and holds no empty graphs: there, graphs with a triple are asked for."""
        pick = f'FILTER(isIRI(?g) && STRSTARTS(STR(?g), "{UPLOAD_PREFIX}"))'
        rows = list(_results(self._post_query(f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{}} {pick} }}",
                                              None, None, "application/sparql-results+json"), ask=False))
        if not rows or any(r["g"] is None for r in rows):
            text = f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {pick} }}"
            rows = list(_results(self._post_query(text, None, None, "application/sparql-results+json"),
                                 ask=False))
        return sorted((r["g"] for r in rows if isinstance(r["g"], ox.NamedNode)), key=lambda g: g.value)

    def drop_upload_graphs(self) -> int:
        """Drop every temporary upload graph; how many there were.

        Only for a writer holding stores.writer_lock on this server: no other writer can
        then be live, so each such graph is a dead writer's (a build or push killed
        between its upload and its clean-up)."""
        stale = self.upload_graphs()
        if stale:
            self.update(" ;\n".join(f"DROP SILENT GRAPH {g}" for g in stale))
        return len(stale)

    # plumbing -------------------------------------------------------------------------
    def _post_query(self, text: str, default: list[ox.NamedNode] | None, named: list[ox.NamedNode] | None,
                    accept: str) -> bytes:
        """POST a query with the dataset given (None: the query's own, as written)."""
        form = [("query", text)]
        if default is not None:
            form += [("default-graph-uri", g.value) for g in default or [ox.NamedNode("urn:kg:empty")]]
        if named is not None:
            # nothing in the store yet: an empty dataset, not the server's default
            form += [("named-graph-uri", g.value) for g in named or [ox.NamedNode("urn:kg:empty")]]
        try:
            return self.http.request("POST", self.query_url, urllib.parse.urlencode(form).encode(),
                                     {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept})
        except RemoteError as exc:
            if exc.status == 400:
                raise SyntaxError(f"the server refused the query: {exc}") from None
            raise

    def _select(self, text: str, graphs: list[ox.NamedNode]) -> list[ox.QuerySolution]:
        """A SELECT with `graphs` as both the default and the named graphs."""
        data = self._post_query(text, graphs, graphs, "application/sparql-results+json")
        return list(_results(data, ask=False))


def _results(data: bytes, ask: bool):
    """SPARQL JSON results; Virtuoso answers ASK as one row of ?__ASK_RETVAL: make it a boolean,
    and writes xsd:boolean values as 0 / 1: make them the canonical false / true."""
    if b'#boolean"' in data:
        doc = json.loads(data)
        for row in doc.get("results", {}).get("bindings", []):
            for term in row.values():
                if term.get("datatype") == XSD_BOOLEAN and term.get("value") in ("0", "1"):
                    term["value"] = "true" if term["value"] == "1" else "false"
        data = json.dumps(doc).encode("utf-8")
    answer = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON)
    if ask and isinstance(answer, ox.QuerySolutions):
        rows = list(answer)
        value = bool(rows) and rows[0][0] is not None and rows[0][0].value in ("1", "true")
        answer = ox.parse_query_results(b'{"head":{},"boolean":%s}' % (b"true" if value else b"false"),
                                        format=ox.QueryResultsFormat.JSON)
    return answer


def _check_syntax(text: str) -> None:
    """Parse locally (on an empty in-memory store) so errors read as they do embedded."""
    try:
        ox.Store().query(text)
    except SyntaxError:
        raise
    except Exception:  # noqa: BLE001, S110 - evaluation problems are the server's to report
        pass


def open_remote(spec: str) -> RemoteStore:
    store = RemoteStore.from_spec(spec)
    if store.is_empty():
        raise StoreError(f"no kg data at {spec}; run `kg build --store {spec}` or `kg push` first")
    return store


# --- build and push ----------------------------------------------------------------------

def push(source, target: RemoteStore | str, *, chunk: int = CHUNK, on_stage=None) -> dict[str, int]:
    """Copy a store's graphs (an embedded one's, or any kg.store.Store's) to a server
    (a RemoteStore or its --store value), its default graph (the merge) as
    graph/merged; graphs the server has from kg but the source lacks are dropped.
    Running it twice changes nothing the second time. The caller holds
    kg.store.writer_lock(target): upload graphs a killed writer left are dropped first."""
    remote = target if isinstance(target, RemoteStore) else RemoteStore.from_spec(target)
    note = on_stage or (lambda _m: None)
    stale = remote.drop_upload_graphs()
    if stale:
        note(f"dropped {stale} upload graph(s) a killed writer left")
    existing = remote.kg_graphs(refresh=True) + ([merged_graph()] if remote._merged else [])
    graphs = sorted(source.named_graphs(), key=lambda g: g.value)
    contents = {g: _triples(source, g) for g in graphs}
    contents[merged_graph()] = _triples(source, ox.DefaultGraph())
    drop = [g for g in existing if g not in contents]
    remote.replace_graphs(contents, drop=drop, on_stage=on_stage, chunk=chunk)
    return {g.value: len(t) for g, t in contents.items()}


def _triples(store, graph: Graph) -> list[ox.Triple]:
    return sorted((ox.Triple(q.subject, q.predicate, q.object)
                   for q in store.quads_for_pattern(None, None, None, graph)), key=str)
