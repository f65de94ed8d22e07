"""SHACL validation with pySHACL against ontology/shapes.ttl; returns a typed report.

The report only describes; the caller decides whether violations stop a build.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import pyoxigraph as ox
import rdflib
from pyshacl import validate as shacl_validate
from pyshacl.graph_abstraction import OxigraphDataGraph, to_rdf
from rdflib.namespace import SH

from kg.namespaces import KG, PROV

SOURCE_LINE = rdflib.URIRef(KG + "sourceLine")
FILE_NAME = rdflib.URIRef(KG + "fileName")
DERIVED = rdflib.URIRef(PROV + "wasDerivedFrom")


@dataclass(frozen=True)
class Result:
    severity: str  # Violation | Warning | Info
    shape: str  # the node shape the failed constraint belongs to
    constraint: str  # the property or SPARQL shape that failed
    focus: str
    path: str | None
    value: str | None
    message: str
    source_file: str | None
    source_line: int | None


@dataclass(frozen=True)
class Report:
    conforms: bool
    results: tuple[Result, ...]

    @property
    def violations(self) -> tuple[Result, ...]:
        return tuple(r for r in self.results if r.severity == "Violation")

    def format(self) -> str:
        """Human-readable, grouped by node shape."""
        if not self.results:
            return "Conforms: no SHACL violations."
        groups: dict[str, list[Result]] = defaultdict(list)
        for result in self.results:
            groups[result.shape].append(result)
        lines = [f"{len(self.violations)} violation(s), {len(self.results)} result(s):"]
        for shape in sorted(groups):
            lines.append(f"\n{shape} ({len(groups[shape])})")
            for r in sorted(groups[shape], key=lambda r: (r.source_file or "", r.source_line or 0, r.focus)):
                where = f"{r.source_file or '?'}:{r.source_line}" if r.source_line else (r.source_file or "?")
                lines.append(f"  {where}: {r.severity}: {r.message}")
                lines.append(f"    focus: <{r.focus}>" + (f"  path: <{r.path}>" if r.path else "")
                             + (f"  value: {r.value}" if r.value else ""))
        return "\n".join(lines)


@lru_cache(maxsize=1)
def shapes_graph() -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(data=files("kg.ontology").joinpath("shapes.ttl").read_text(encoding="utf-8"), format="turtle")
    return graph


def to_rdflib(quads: Iterable[ox.Quad | ox.Triple]) -> rdflib.Graph:
    """The union of the quads' graphs as one rdflib Graph (what pySHACL reads)."""
    data = ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in quads),
                        format=ox.RdfFormat.N_TRIPLES)
    graph = rdflib.Graph()
    graph.parse(data=data, format="nt")
    return graph


def validate_graph(data: rdflib.Graph) -> Report:
    """Validate a graph against the project's shapes (SHACL Core + SHACL-SPARQL)."""
    shapes = shapes_graph()
    _conforms, results, _text = shacl_validate(
        data, shacl_graph=shapes, advanced=True, inference="none", allow_warnings=True,
    )
    out = []
    parents = {ps: ns for ns, ps in shapes.subject_objects(SH.property)}
    parents.update({ps: ns for ns, ps in shapes.subject_objects(SH.sparql)})
    for node in results.subjects(rdflib.RDF.type, SH.ValidationResult):
        source = results.value(node, SH.sourceShape)
        focus = results.value(node, SH.focusNode)
        severity = results.value(node, SH.resultSeverity)
        path = results.value(node, SH.resultPath)
        value = results.value(node, SH.value)
        message = results.value(node, SH.resultMessage)
        file_name, line = _origin(data, focus)
        out.append(Result(
            severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
            shape=_name(parents.get(source, source)),
            constraint=_name(source),
            focus=str(focus),
            path=str(path) if isinstance(path, rdflib.URIRef) else None,
            value=value.n3() if value is not None else None,
            message=str(message) if message else "constraint not met",
            source_file=file_name,
            source_line=line,
        ))
    out.sort(key=lambda r: (r.shape, r.constraint, r.focus, r.message, r.value or ""))
    return Report(conforms=not any(r.severity == "Violation" for r in out), results=tuple(out))


def _origin(data: rdflib.Graph, focus) -> tuple[str | None, int | None]:
    """The file and line of the record behind a focus node, where the data says."""
    line = data.value(focus, SOURCE_LINE)
    source = data.value(focus, DERIVED)
    if source is None and isinstance(focus, rdflib.URIRef):
        # authorship slots and links are named under their paper or role
        parent = rdflib.URIRef(str(focus).rsplit("/", 2)[0])
        source = data.value(parent, DERIVED)
    file_name = data.value(source, FILE_NAME) if source is not None else None
    return (str(file_name) if file_name else None, int(line) if line is not None else None)


def _name(term) -> str:
    text = str(term)
    for prefix, ns in (("kgsh:", "https://w3id.org/kg/shapes#"),):
        if text.startswith(ns):
            return prefix + text[len(ns):]
    return text


# --- a whole store, batched by focus nodes ------------------------------------------
#
# pyshacl reads an Oxigraph store directly, but its entry point, given focus nodes,
# still enumerates every target of every shape and filters them against a list, and
# it evaluates a node shape's property shapes one focus node at a time, rebuilding
# their constraint components on each call. So validate_store drives pyshacl's Shape
# objects itself: for each node shape it finds the focus nodes once (in the store),
# then hands each property shape (and the node shape's own constraints, sh:sparql and
# sh:nodeKind) a batch of focus nodes at a time. The results are pyshacl's own.

STORE_BATCH = 2000
SCREEN_SLICE = 200
_XSD_STRING = ox.NamedNode("http://www.w3.org/2001/XMLSchema#string")
RDF_TYPE = rdflib.RDF.type


class _StoreGraph(OxigraphDataGraph):
    """pyshacl's view of an Oxigraph store (the union of its graphs), for batches.

    `prefetch` reads everything a batch of focus nodes says (one index scan each)
    so that pyshacl's many `objects()` calls on them are dictionary lookups, values
    seen in several graphs are converted once, and lookups of other nodes (the
    types of the values of sh:class) are remembered for a while.
    """

    _MEMO_LIMIT = 200_000

    def __init__(self, store: ox.Store):
        super().__init__(store)
        self.default_union = True
        self._out: dict[rdflib.term.Node, dict[rdflib.term.Node, list]] = {}
        self._memo: dict[tuple, tuple] = {}
        self._terms: dict[object, rdflib.term.Node] = {}

    # pyshacl writes `datagraph or shapes_graph` for each result: without this, every
    # violation would count the whole store (Dataset.__len__)
    def __bool__(self) -> bool:
        return True

    def _rdf(self, term):
        known = self._terms.get(term)
        if known is None:
            if isinstance(term, ox.NamedNode):
                known = rdflib.URIRef(term.value)
            elif isinstance(term, ox.Literal) and term.datatype == _XSD_STRING:
                known = rdflib.Literal(term.value)  # as rdflib reads a plain literal
            else:
                known = to_rdf(term)
            if len(self._terms) > self._MEMO_LIMIT:
                self._terms.clear()
            self._terms[term] = known
        return known

    def prefetch(self, nodes: Iterable[rdflib.term.Node]) -> None:
        self._out = {}
        impl = self.impl
        for node in nodes:
            if not isinstance(node, rdflib.URIRef):
                continue  # blank nodes: looked up as they come
            found: dict[rdflib.term.Node, list] = {}
            for _s, p, o, _g in impl.quads_for_pattern(ox.NamedNode(node), None, None, None):
                values = found.setdefault(self._rdf(p), [])
                value = self._rdf(o)
                if value not in values:
                    values.append(value)
            self._out[node] = found

    def objects(self, subject=None, predicate=None, unique=False):
        if predicate is not None and not isinstance(subject, (list, tuple)):
            found = self._out.get(subject)
            if found is not None:
                return iter(found.get(predicate, ()))
            if isinstance(subject, rdflib.URIRef) and isinstance(predicate, rdflib.URIRef):
                key = (subject, predicate)
                memo = self._memo.get(key)
                if memo is None:
                    rdf = self._rdf
                    memo = tuple(dict.fromkeys(rdf(q.object) for q in self.impl.quads_for_pattern(
                        ox.NamedNode(subject), ox.NamedNode(predicate), None, None)))
                    self._remember(key, memo)
                return iter(memo)
        return super().objects(subject, predicate, unique)

    def subjects(self, predicate=None, object=None, unique=False):  # noqa: A002 - rdflib's name
        if isinstance(predicate, rdflib.URIRef) and isinstance(object, rdflib.URIRef):
            key = (predicate, object, "in")
            memo = self._memo.get(key)
            if memo is None:
                rdf = self._rdf
                memo = tuple(dict.fromkeys(rdf(q.subject) for q in self.impl.quads_for_pattern(
                    None, ox.NamedNode(predicate), ox.NamedNode(object), None)))
                self._remember(key, memo)
            return iter(memo)
        return super().subjects(predicate, object, unique)

    def _remember(self, key, value) -> None:
        if len(self._memo) > self._MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = value


@lru_cache(maxsize=1)
def _shacl_shapes():
    """pyshacl's parsed shapes: {node shape IRI: (Shape, [property Shape, ...])} for
    the node shapes that select their own focus nodes, and the ShapesGraph."""
    from pyshacl.monkey import apply_patches
    from pyshacl.shapes_graph import ShapesGraph
    from pyshacl.validator import assign_baked_in

    apply_patches()
    assign_baked_in()
    shapes = shapes_graph()
    sg = ShapesGraph(shapes)
    by_node = {s.node: s for s in sg.shapes}  # harvests every shape, property shapes too
    out = {}
    for node, shape in sorted(by_node.items(), key=lambda kv: str(kv[0])):
        if shape.is_property_shape:
            continue
        classes = sorted(str(c) for c in shape.target_classes())
        objects_of = sorted(str(p) for p in shape.target_objects_of())
        if not classes and not objects_of:
            continue  # helpers, used through sh:or and sh:qualifiedValueShape
        props = [by_node[p] for p in sorted(shapes.objects(node, SH.property), key=str)]
        out[str(node)] = (shape, props, tuple(classes), tuple(objects_of))
    return sg, out


def _targets(store: ox.Store, classes: tuple[str, ...], objects_of: tuple[str, ...],
             among: set[str] | None) -> list[str]:
    """The focus nodes of one node shape (IRIs and blank-node ids), sorted."""
    found: set = set()
    rdf_type = ox.NamedNode(str(RDF_TYPE))
    if among is None:
        for cls in classes:
            for row in store.query(f"SELECT DISTINCT ?s WHERE {{ GRAPH ?g {{ ?s a <{cls}> }} }}"):
                found.add(row[0])
        for prop in objects_of:
            for row in store.query(f"SELECT DISTINCT ?o WHERE {{ GRAPH ?g {{ ?s <{prop}> ?o }} }}"):
                found.add(row[0])
    else:
        wanted = {ox.NamedNode(c) for c in classes}
        for iri in among:
            node = ox.NamedNode(iri)
            if wanted and any(q.object in wanted for q in store.quads_for_pattern(node, rdf_type, None, None)):
                found.add(node)
                continue
            for prop in objects_of:
                if next(store.quads_for_pattern(None, ox.NamedNode(prop), node, None), None) is not None:
                    found.add(node)
                    break
    return sorted(found, key=str)


def _as_rdflib(term) -> rdflib.term.Node:
    return rdflib.BNode(term.value) if isinstance(term, ox.BlankNode) else rdflib.URIRef(term.value)


def _run_batches(store: ox.Store, jobs: list[tuple[str, list]], on_batch=None) -> list[Result]:
    """Validate each (node shape, focus nodes) job with pyshacl; the results."""
    from pyshacl.pytypes import SHACLExecutor

    sg, shapes = _shacl_shapes()
    executor = SHACLExecutor(allow_warnings=True)
    graph = _StoreGraph(store)
    prop_iris = {p.node for _s, props, _c, _o in shapes.values() for p in props}
    out: list[Result] = []
    for name, focus in jobs:
        shape, props, _classes, _objects = shapes[name]
        nodes = [_as_rdflib(n) if not isinstance(n, rdflib.term.Node) else n for n in focus]
        if props:  # a node shape without property shapes reads nothing of its nodes
            graph.prefetch(nodes)
        reports = []
        # the node shape's own constraints (sh:sparql, sh:nodeKind), its property
        # shapes skipped: they run next on the whole batch at once
        own = _sparql_candidates(store, name, nodes)
        if own:
            saved = sg._filtered_out_shapes
            sg._filtered_out_shapes = prop_iris
            try:
                reports.extend(shape.validate(executor, graph, focus=own)[1])
            finally:
                sg._filtered_out_shapes = saved
        for prop in props:
            reports.extend(prop.validate(executor, graph, focus=nodes)[1])
        out.extend(_store_results(store, reports, sg))
        if on_batch is not None:
            on_batch(len(nodes))
    return out


@lru_cache(maxsize=1)
def _sparql_screens() -> dict[str, list[str] | None]:
    """Per node shape: its SPARQL constraints as batch queries over `?this`, or None
    when the shape has constraints of its own that are not SPARQL (sh:nodeKind)."""
    shapes = shapes_graph()
    prefixes = "".join(f"PREFIX {p}: <{n}>\n" for decl in shapes.objects(None, SH.declare)
                       for p, n in [(shapes.value(decl, SH.prefix), shapes.value(decl, SH.namespace))])
    out: dict[str, list[str] | None] = {}
    for node in set(shapes.subjects(SH.sparql, None)) | set(shapes.subjects(SH.nodeKind, None)):
        if (node, rdflib.RDF.type, SH.NodeShape) not in shapes:
            continue
        queries: list[str] | None = []
        if shapes.value(node, SH.nodeKind) is not None:
            queries = None
        for constraint in shapes.objects(node, SH.sparql):
            text = str(shapes.value(constraint, SH.select) or "")
            where = re.search(r"WHERE\s*\{", text, re.IGNORECASE)
            if queries is None or where is None or "$this" not in text \
                    or text.upper().count("SELECT") != 1:
                queries = None
                break
            body = text.replace("$this", "?this")
            queries.append(prefixes + body[:where.end()] + " VALUES ?this { %s } " + body[where.end():])
        out[str(node)] = queries
    return out


def _sparql_candidates(store: ox.Store, name: str, nodes: list) -> list:
    """The focus nodes a node shape's own constraints must look at: for SPARQL
    constraints, those the constraint's query returns when run once over the whole
    batch (`$this` joined to VALUES rather than pre-bound node by node, which
    Oxigraph answers by scanning for each node); pyshacl then reports on them."""
    screens = _sparql_screens()
    if name not in screens:
        return []  # nothing of its own: only property shapes
    queries = screens[name]
    if queries is None:
        return nodes
    iris = [n for n in nodes if isinstance(n, rdflib.URIRef)]
    found = {n for n in nodes if not isinstance(n, rdflib.URIRef)}  # blank nodes: no screen
    # Oxigraph's cost grows faster than the VALUES block (2,000 nodes: 100x the time
    # of 200), so the batch is screened in slices
    for start in range(0, len(iris), SCREEN_SLICE):
        values = " ".join(f"<{n}>" for n in iris[start:start + SCREEN_SLICE])
        for query in queries:
            for row in store.query(query % values, use_default_graph_as_union=True):
                this = row["this"]
                if isinstance(this, ox.NamedNode):
                    found.add(rdflib.URIRef(this.value))
    return [n for n in nodes if n in found]


def _store_results(store: ox.Store, reports, sg) -> list[Result]:
    shapes = sg.graph
    parents = {ps: ns for ns, ps in shapes.subject_objects(SH.property)}
    parents.update({ps: ns for ns, ps in shapes.subject_objects(SH.sparql)})
    results = []
    for _text, node, triples in reports:
        fields: dict = {}
        messages = []
        for s, p, o in triples:
            if s != node:
                continue
            value = o[1] if isinstance(o, tuple) else o
            if p == SH.resultMessage:
                messages.append(str(value))
            else:
                fields.setdefault(p, value)
        source = fields.get(SH.sourceConstraint) or fields.get(SH.sourceShape)
        source = source if isinstance(source, rdflib.URIRef) else fields.get(SH.sourceShape)
        focus = fields.get(SH.focusNode)
        severity = fields.get(SH.resultSeverity)
        path = fields.get(SH.resultPath)
        value = fields.get(SH.value)
        shape_of = fields.get(SH.sourceShape)
        file_name, line = _store_origin(store, focus)
        results.append(Result(
            severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
            shape=_name(parents.get(shape_of, shape_of)),
            constraint=_name(shape_of),
            focus=str(focus),
            path=str(path) if isinstance(path, rdflib.URIRef) else None,
            value=value.n3() if value is not None else None,
            message=messages[0] if messages else "constraint not met",
            source_file=file_name,
            source_line=line,
        ))
    return results


def _store_origin(store: ox.Store, focus) -> tuple[str | None, int | None]:
    """The file and line of the record behind a focus node, from the store."""
    if not isinstance(focus, rdflib.URIRef):
        return None, None
    line_p, derived_p, file_p = (ox.NamedNode(str(x)) for x in (SOURCE_LINE, DERIVED, FILE_NAME))

    def first(s, p):
        quad = next(store.quads_for_pattern(s, p, None, None), None)
        return quad.object if quad is not None else None

    node = ox.NamedNode(str(focus))
    line = first(node, line_p)
    source = first(node, derived_p)
    if source is None:  # authorship slots and links are named under their paper or role
        parent = ox.NamedNode(str(focus).rsplit("/", 2)[0])
        source = first(parent, derived_p)
        line = line or first(parent, line_p)
    file_name = first(source, file_p) if isinstance(source, ox.NamedNode) else None
    try:
        number = int(line.value) if line is not None else None
    except ValueError:
        number = None
    return (file_name.value if file_name is not None else None), number


def plan_store_validation(store: ox.Store, focus_nodes: Iterable[str] | None = None,
                          batch: int = STORE_BATCH) -> list[tuple[str, list]]:
    """The (node shape, focus nodes) batches that validating `store` takes.

    Every focus node of every node shape with a target, or with `focus_nodes` only
    those among them (and only the shapes that target them)."""
    _sg, shapes = _shacl_shapes()
    among = None if focus_nodes is None else set(focus_nodes)
    jobs = []
    for name, (_shape, _props, classes, objects_of) in shapes.items():
        nodes = _targets(store, classes, objects_of, among)
        jobs.extend((name, nodes[i:i + batch]) for i in range(0, len(nodes), batch))
    return jobs


def validate_store(store: ox.Store, focus_nodes: Iterable[str] | None = None, *,
                   workers: int = 1, path: str | None = None, batch: int = STORE_BATCH,
                   on_progress=None) -> Report:
    """SHACL-validate an Oxigraph store (the union of its graphs) with pyshacl.

    Without `focus_nodes`, every focus node of every shape is validated; with them
    (IRIs), only those nodes, each against the shapes that target it. Batches of
    `batch` focus nodes go through pyshacl together. With `workers` > 1 and `path`
    (the store's directory, flushed), the batches are shared among that many worker
    processes, each with its own read-only view of the store. `on_progress(done,
    total)` is called after each batch, with counts of focus nodes.
    """
    jobs = plan_store_validation(store, focus_nodes, batch)
    total = sum(len(nodes) for _n, nodes in jobs)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress(done, total)

    if on_progress is not None:
        on_progress(0, total)
    if workers > 1 and path is not None and len(jobs) > 1:
        results = _run_in_workers(path, jobs, workers, tick)
    else:
        results = _run_batches(store, jobs, tick)
    results.sort(key=lambda r: (r.shape, r.constraint, r.focus, r.message, r.value or ""))
    return Report(conforms=not any(r.severity == "Violation" for r in results), results=tuple(results))


def _worker(path: str, jobs: list[tuple[str, list[str]]]) -> list[Result]:
    store = ox.Store.read_only(path)
    return _run_batches(store, [(name, [rdflib.URIRef(n) if not n.startswith("_:") else rdflib.BNode(n[2:])
                                        for n in nodes]) for name, nodes in jobs])


def _run_in_workers(path: str, jobs, workers: int, tick) -> list[Result]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # terms cross the process boundary as strings; spawn, not fork: the parent holds
    # the store open for writing
    plain = [(name, [n.value if isinstance(n, ox.NamedNode) else f"_:{n.value}" for n in nodes])
             for name, nodes in jobs]
    results: list[Result] = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        # several batches per task keep the per-task overhead small
        chunks = [plain[i:i + 4] for i in range(0, len(plain), 4)]
        futures = {pool.submit(_worker, path, chunk): sum(len(n) for _s, n in chunk) for chunk in chunks}
        for future in as_completed(futures):
            results.extend(future.result())
            tick(futures[future])
    return results
