"""SHACL validation with pySHACL against ontology/shapes.ttl; returns a typed report.

The report only describes; the caller decides whether violations stop a build.
"""

from __future__ import annotations

import errno
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import pyoxigraph as ox
import rdflib
import rdflib.collection
from pyshacl import validate as shacl_validate
from pyshacl.graph_abstraction import OxigraphDataGraph, to_rdf
from rdflib.namespace import SH

from kg.errors import SourceError
from kg.namespaces import KG, PROV

SOURCE_LINE = rdflib.URIRef(KG + "sourceLine")
_XSD = "http://www.w3.org/2001/XMLSchema#"
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
    component: str | None = None  # e.g. sh:MinCountConstraintComponent


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
                focus = r.focus if r.focus.startswith(('"', "_:")) else f"<{r.focus}>"
                lines.append(f"    focus: {focus}" + (f"  path: <{r.path}>" if r.path else "")
                             + (f"  value: {r.value}" if r.value else ""))
        return "\n".join(lines)


# --- XSD's lexical rules, on both paths ----------------------------------------------
#
# rdflib reads " 1"^^xsd:integer as 1 and "TRUE"^^xsd:boolean as true (and writes them
# back as "1" and "true"); neither form is in XSD's lexical space, Oxigraph keeps them
# as they are and calls them invalid, and SHACL's sh:datatype reports an ill-typed
# literal. So that a file (rdflib) and a store (Oxigraph, then rdflib terms for
# pySHACL) give the same answer, rdflib reads these datatypes by XSD's rules here:
# a lexical form outside the lexical space has no value, stays as written, and is
# ill-typed. (rdflib.term.bind would log a warning on every rebinding.)

_INTEGER_LEXICAL = re.compile(r"[+-]?[0-9]+")
_INTEGER_TYPES = ("integer", "long", "int", "short", "byte", "nonNegativeInteger", "positiveInteger",
                  "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt", "unsignedShort",
                  "unsignedByte")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _xsd_integer(lexical: str) -> int | None:
    return int(lexical) if _INTEGER_LEXICAL.fullmatch(lexical) else None


def _xsd_boolean(lexical: str) -> bool | None:
    return _BOOLEANS.get(lexical)


def follow_xsd_lexical_rules() -> None:
    """Make rdflib read integers and booleans by XSD's lexical rules (see above).
    Called again before each reading: pyshacl.validate puts rdflib's own boolean
    reader back after it has read the shapes."""
    mapping = rdflib.term._toPythonMapping
    for name in _INTEGER_TYPES:
        mapping[rdflib.URIRef(_XSD + name)] = _xsd_integer
    mapping[rdflib.URIRef(_XSD + "boolean")] = _xsd_boolean


follow_xsd_lexical_rules()


@lru_cache(maxsize=1)
def shapes_graph() -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(data=files("kg.ontology").joinpath("shapes.ttl").read_text(encoding="utf-8"), format="turtle")
    return graph


def to_rdflib(quads: Iterable[ox.Quad | ox.Triple]) -> rdflib.Graph:
    """The union of the quads' graphs as one rdflib Graph (what pySHACL reads)."""
    data = ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in quads),
                        format=ox.RdfFormat.N_TRIPLES)
    follow_xsd_lexical_rules()
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
        out.append(_result(severity, source, parents, focus, path, value,
                           str(message) if message else None, _origin(data, focus),
                           results.value(node, SH.sourceConstraintComponent)))
    out.sort(key=lambda r: (r.shape, r.constraint, r.focus, r.message, r.value or ""))
    return Report(conforms=not any(r.severity == "Violation" for r in out), results=tuple(out))


def validate_files(paths: Iterable[str | Path]) -> Report:
    """Validate RDF files (any syntax Oxigraph reads, by suffix) as one graph: a
    dataset with a default graph (kg's N-Quads / TriG export: the merge of the
    sources) as its default graph, else all of its triples. One plain pySHACL call:
    the reference the store's validation must agree with."""
    quads: list[ox.Quad] = []
    for path in paths:
        path = Path(path)
        try:
            with path.open("rb") as stream:  # opened here: errno names what is wrong
                head = stream.read(1 << 16)
                if re.search(rb"<!ENTITY", head):
                    raise SourceError(path, None, "declares XML entities (<!ENTITY ...>), which kg does not "
                                                  "expand (a few hundred bytes of them can expand to gigabytes); "
                                                  "write the values out and remove the DOCTYPE")
                stream.seek(0)
                quads.extend(ox.parse(stream, format=_format_of(path)))
        except (SyntaxError, ValueError) as exc:
            line = re.search(r"line (\d+)", str(exc))
            raise SourceError(path, int(line[1]) if line else None,
                              f"cannot parse as RDF ({exc}); fix the file or leave it out") from exc
        except MemoryError:
            raise SourceError(path, None, "too large to validate in memory; validate it in parts, or "
                                          "build it into a store and run kg validate there") from None
        except IsADirectoryError:
            raise SourceError(path, None, "is a directory; name the RDF files in it") from None
        except OSError as exc:
            reason = {errno.ENOENT: "no such file", errno.ELOOP: "a loop of symbolic links",
                      errno.EACCES: "permission denied: it cannot be read"}.get(exc.errno, exc.strerror or str(exc))
            raise SourceError(path, None, f"cannot read: {reason}") from None
    default = [q for q in quads if isinstance(q.graph_name, ox.DefaultGraph)]
    return validate_graph(to_rdflib(default if default and len(default) < len(quads) else quads))


def _format_of(path: Path) -> ox.RdfFormat:
    """The RDF syntax a file's suffix names (.gz files are not read here)."""
    suffix = path.suffix.lower().lstrip(".")
    found = ox.RdfFormat.from_extension(suffix) if suffix else None
    if found is None:
        raise SourceError(path, None, "unknown RDF syntax; name the file .ttl, .nt, .nq, .trig, .rdf or .jsonld")
    return found


def _origin(data: rdflib.Graph, focus) -> tuple[str | None, int | None]:
    """The file and line of the record behind a focus node, where the data says."""
    line = data.value(focus, SOURCE_LINE)
    source = data.value(focus, DERIVED)
    if source is None and isinstance(focus, rdflib.URIRef):
        # authorship slots and links are named under their paper or role
        parent = rdflib.URIRef(str(focus).rsplit("/", 2)[0])
        source = data.value(parent, DERIVED)
    file_name = data.value(source, FILE_NAME) if source is not None else None
    number = line.value if isinstance(line, rdflib.Literal) and isinstance(line.value, int) else None
    return (str(file_name) if file_name else None, number)


def _result(severity, source, parents: dict, focus, path, value, message: str | None,
            origin: tuple[str | None, int | None], component=None) -> Result:
    """One Result from the fields of a pyshacl validation result, either path's."""
    if isinstance(value, rdflib.Literal) and value.datatype == rdflib.XSD.string:
        value = rdflib.Literal(str(value))  # a SPARQL constraint's value, from the store
    return Result(
        severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
        shape=_name(parents.get(source, source)),
        constraint=_name(source),
        focus=str(focus) if isinstance(focus, rdflib.URIRef) else focus.n3(),
        path=str(path) if isinstance(path, rdflib.URIRef) else None,
        value=value.n3() if value is not None else None,
        message=message or "constraint not met",
        source_file=origin[0],
        source_line=origin[1],
        component=_name(component) if component is not None else None,
    )


def _name(term) -> str:
    text = str(term)
    for prefix, ns in (("kgsh:", "https://w3id.org/kg/shapes#"), ("sh:", str(SH))):
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
_DEFAULT = ox.DefaultGraph()  # what a store's validation reads: the merge of its sources
SCREEN_SLICE = 200
_XSD_STRING = ox.NamedNode("http://www.w3.org/2001/XMLSchema#string")
RDF_TYPE = rdflib.RDF.type


# {(subject, predicate): [(literal as the store holds it, literal as stated)]}, terms
Stated = dict[tuple, list[tuple]]
_PROBE = ox.NamedNode("urn:kg:probe")


def stated_literals(triples: Iterable[ox.Triple | ox.Quad], also=None) -> Stated:
    """The literals of `triples` that an Oxigraph store rewrites on load, with their
    subject and predicate, as stored and as stated. Oxigraph 0.5 types the integer
    types (xsd:int, long, short, byte, nonNegativeInteger, ...) as xsd:integer and
    writes numbers, booleans, dates and durations in canonical form: a store alone
    would validate `"3"^^xsd:int` as an xsd:integer. Found by loading each distinct
    literal into a scratch store (what the store does, not a list of what it did).
    A stored form that is also stated as it is (in `triples`, or where `also(triple)`
    says so) stays beside the stated one."""
    triples = list(triples)
    literals = list({t.object for t in triples if isinstance(t.object, ox.Literal)
                     and t.object.datatype != _XSD_STRING})
    if not literals:
        return {}
    probe = ox.Store()
    probe.extend(ox.Quad(ox.NamedNode(f"urn:kg:probe:{i}"), _PROBE, literal, _DEFAULT)
                 for i, literal in enumerate(literals))
    rewritten = {}
    for quad in probe.quads_for_pattern(None, _PROBE, None, _DEFAULT):
        said = literals[int(quad.subject.value.rsplit(":", 1)[1])]
        if quad.object != said:
            rewritten[said] = quad.object
    out: Stated = {}
    # only a triple whose object is a stored form can say that form is stated as it is
    # (a set of every triple held a 10,000-paper guide's merge at its peak: +0.3 GB)
    stored_forms = set(rewritten.values())
    said = {(t.subject, t.predicate, t.object) for t in triples if t.object in stored_forms}
    for t in triples:
        if t.object in rewritten:
            stored = rewritten[t.object]
            pairs = out.setdefault((t.subject, t.predicate), [])
            if (t.subject, t.predicate, stored) in said or (
                    also is not None and also(ox.Triple(t.subject, t.predicate, stored))):
                pairs.append((stored, stored))
            pairs.append((stored, t.object))
    return {key: list(dict.fromkeys(pairs)) for key, pairs in out.items()}


class _StoreGraph(OxigraphDataGraph):
    """pyshacl's view of an Oxigraph store (the union of its graphs), for batches.

    `prefetch` reads everything a batch of focus nodes says (one index scan each)
    so that pyshacl's many `objects()` calls on them are dictionary lookups, values
    seen in several graphs are converted once, and lookups of other nodes (the
    types of the values of sh:class) are remembered for a while.
    """

    _MEMO_LIMIT = 200_000

    def __init__(self, store: ox.Store, stated: Stated | None = None):
        super().__init__(store)
        follow_xsd_lexical_rules()
        self.default_union = False  # the default graph: the merge of the sources
        self._out: dict[rdflib.term.Node, dict[rdflib.term.Node, list]] = {}
        self._memo: dict[tuple, tuple] = {}
        self._terms: dict[object, rdflib.term.Node] = {}
        # {(subject, predicate): {value as stored: [values as stated]}}, rdflib terms
        self._stated: dict[tuple, dict] = {}
        for (subject, predicate), pairs in (stated or {}).items():
            into = self._stated.setdefault((_rdflib_term(subject), _rdflib_term(predicate)), {})
            for stored, said in pairs:
                into.setdefault(_rdflib_term(stored), []).append(_rdflib_term(said))

    def _as_stated(self, subject, predicate, values):
        """`values` of (subject, predicate) with those the store rewrote on load put
        back as the source stated them (see Stated)."""
        swap = self._stated.get((subject, predicate))
        if not swap:
            return values
        out = []
        for value in values:
            for said in swap.get(value, (value,)):
                if said not in out:
                    out.append(said)
        return out

    # pyshacl writes `datagraph or shapes_graph` for each result: without this, every
    # violation would count the whole store (Dataset.__len__)
    def __bool__(self) -> bool:
        return True

    def _rdf(self, term):
        known = self._terms.get(term)
        if known is None:
            known = _rdflib_term(term)
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
            for _s, p, o, _g in impl.quads_for_pattern(ox.NamedNode(node), None, None, _DEFAULT):
                values = found.setdefault(self._rdf(p), [])
                value = self._rdf(o)
                if value not in values:
                    values.append(value)
            if self._stated:
                found = {p: self._as_stated(node, p, values) for p, values in found.items()}
            self._out[node] = found

    def objects(self, subject=None, predicate=None, unique=False):
        if isinstance(subject, rdflib.Literal):  # a literal focus node says nothing
            return iter(())
        if predicate is not None and not isinstance(subject, (list, tuple)):
            found = self._out.get(subject)
            if found is not None:
                return iter(found.get(predicate, ()))
            if isinstance(subject, rdflib.URIRef) and isinstance(predicate, rdflib.URIRef):
                key = (subject, predicate)
                memo = self._memo.get(key)
                if memo is None:
                    rdf = self._rdf
                    memo = tuple(self._as_stated(subject, predicate, list(dict.fromkeys(
                        rdf(q.object) for q in self.impl.quads_for_pattern(
                            ox.NamedNode(subject), ox.NamedNode(predicate), None, _DEFAULT)))))
                    self._remember(key, memo)
                return iter(memo)
        if predicate is not None and not isinstance(subject, (list, tuple)):  # blank nodes
            values = [self._rdf(q.object) for q in self.impl.quads_for_pattern(
                _ox_term(subject), ox.NamedNode(predicate), None, _DEFAULT)]
            return iter(self._as_stated(subject, predicate, list(dict.fromkeys(values))))
        return super().objects(subject, predicate, unique)

    def subjects(self, predicate=None, object=None, unique=False):
        if isinstance(predicate, rdflib.URIRef) and isinstance(object, rdflib.URIRef):
            key = (predicate, object, "in")
            memo = self._memo.get(key)
            if memo is None:
                rdf = self._rdf
                memo = tuple(dict.fromkeys(rdf(q.subject) for q in self.impl.quads_for_pattern(
                    None, ox.NamedNode(predicate), ox.NamedNode(object), _DEFAULT)))
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


_SUBCLASS = ox.NamedNode(str(rdflib.RDFS.subClassOf))
_TYPE = ox.NamedNode(str(rdflib.RDF.type))


def _instances_of(store: ox.Store, classes: Iterable[str]) -> dict[str, frozenset]:
    """Per class IRI, the classes whose instances are its SHACL instances: itself and
    its subclasses in the data (rdfs:subClassOf*, as sh:targetClass reads them)."""
    if next(store.quads_for_pattern(None, _SUBCLASS, None, _DEFAULT), None) is None:
        return {c: frozenset((ox.NamedNode(c),)) for c in classes}  # the usual case: no lookups
    out = {}
    for c in classes:
        found = {ox.NamedNode(c)}
        todo = [ox.NamedNode(c)]
        while todo:  # bounded: each class is expanded once
            for q in store.quads_for_pattern(None, _SUBCLASS, todo.pop(), _DEFAULT):
                if q.subject not in found:
                    found.add(q.subject)
                    todo.append(q.subject)
        out[c] = frozenset(found)
    return out


def _term(node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """A focus node given as an IRI string or an Oxigraph term."""
    return ox.NamedNode(node) if isinstance(node, str) else node


def _types(store: ox.Store, node) -> set:
    if isinstance(node, ox.Literal):
        return set()
    return {q.object for q in store.quads_for_pattern(node, _TYPE, None, _DEFAULT)}


def _wanted(store: ox.Store, classes: tuple[str, ...], known: dict) -> frozenset:
    """The classes whose instances are targets of `classes`, worked out once per
    `known` (asked for every node a screen flags)."""
    key = ("wanted", classes)
    wanted = known.get(key)
    if wanted is None:
        closure = known.setdefault("classes", {})
        missing = [c for c in classes if c not in closure]
        if missing:
            closure.update(_instances_of(store, missing))
        wanted = known[key] = frozenset().union(*(closure[c] for c in classes))
    return wanted


def _targets(store: ox.Store, classes: tuple[str, ...], objects_of: tuple[str, ...],
             among: set | None, known: dict | None = None) -> list:
    """The focus nodes of one node shape (Oxigraph terms), sorted. With `among` (IRI
    strings or terms: blank nodes and literals too), only those nodes; `known` caches
    what was read of them across shapes."""
    found: set = set()
    known = {} if known is None else known
    wanted = _wanted(store, tuple(classes), known)
    if among is None:
        for cls in wanted:  # a query reads faster than quads_for_pattern (no Quad objects)
            if isinstance(cls, ox.NamedNode):
                found.update(row[0] for row in store.query(f"SELECT DISTINCT ?s WHERE {{ ?s a <{cls.value}> }}"))
            else:
                found.update(q.subject for q in store.quads_for_pattern(None, _TYPE, cls, _DEFAULT))
        for prop in objects_of:
            for row in store.query(f"SELECT DISTINCT ?o WHERE {{ ?s <{prop}> ?o }}"):
                found.add(row[0])
        return sorted(found, key=str)
    for node in map(_term, among):
        types = known.get(node)
        if types is None:  # each node's types are read once, for every shape
            types = known[node] = _types(store, node)
        if wanted & types:
            found.add(node)
            continue
        for prop in objects_of:
            key = (node, prop)
            hit = known.get(key)
            if hit is None:
                hit = known[key] = next(store.quads_for_pattern(
                    None, ox.NamedNode(prop), node, _DEFAULT), None) is not None
            if hit:
                found.add(node)
                break
    return sorted(found, key=str)


def _as_rdflib(term) -> rdflib.term.Node:
    """A focus node for pyshacl: an IRI, a blank node or (sh:targetObjectsOf) a literal."""
    if isinstance(term, rdflib.term.Node):
        return term
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    return _rdflib_term(term)


def _rdflib_term(term) -> rdflib.term.Node:
    """An Oxigraph term as rdflib reads it from a file (a plain literal has no datatype)."""
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if term.datatype == _XSD_STRING:
        return rdflib.Literal(term.value)
    return to_rdf(term)


def _ox_term(node):
    if isinstance(node, rdflib.BNode):
        return ox.BlankNode(str(node))
    return ox.NamedNode(str(node))


def _own_results(shape, sg, prop_iris, executor, graph, nodes) -> list:
    """pyshacl's reports of a node shape's own constraints (sh:sparql, sh:nodeKind) on
    `nodes`, its property shapes skipped (they run apart, on whole batches)."""
    saved = sg._filtered_out_shapes
    sg._filtered_out_shapes = prop_iris
    try:
        return shape.validate(executor, graph, focus=nodes)[1]
    finally:
        sg._filtered_out_shapes = saved


def _run_batches(store: ox.Store, jobs: list[tuple[str, list]], on_batch=None,
                 stated: Stated | None = None) -> list[Result]:
    """Validate each (node shape, focus nodes) job with pyshacl; the results."""
    from pyshacl.pytypes import SHACLExecutor

    sg, shapes = _shacl_shapes()
    executor = SHACLExecutor(allow_warnings=True)
    graph = _StoreGraph(store, stated)
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
            reports.extend(_own_results(shape, sg, prop_iris, executor, graph, own))
        for prop in props:
            reports.extend(prop.validate(executor, graph, focus=nodes)[1])
        out.extend(_store_results(store, reports, sg))
        if on_batch is not None:
            on_batch(len(nodes))
    return out


@lru_cache(maxsize=1)
def _sparql_screens() -> dict[str, list[tuple[str, str]] | None]:
    """Per node shape: its SPARQL constraints as (batch query over `?this` with a
    VALUES slot, whole-store query: the constraint's kg:storeScreen if it has one), or
    None when the shape has constraints of its own that are not SPARQL (sh:nodeKind)."""
    shapes = shapes_graph()
    prefixes = "".join(f"PREFIX {p}: <{n}>\n" for decl in shapes.objects(None, SH.declare)
                       for p, n in [(shapes.value(decl, SH.prefix), shapes.value(decl, SH.namespace))])
    out: dict[str, list[tuple[str, str]] | None] = {}
    for node in set(shapes.subjects(SH.sparql, None)) | set(shapes.subjects(SH.nodeKind, None)):
        if (node, rdflib.RDF.type, SH.NodeShape) not in shapes:
            continue
        queries: list[tuple[str, str]] | None = []
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
            whole = shapes.value(constraint, rdflib.URIRef(KG + "storeScreen"))
            queries.append((prefixes + body[:where.end()] + " VALUES ?this { %s } " + body[where.end():],
                            prefixes + (str(whole).replace("$this", "?this") if whole is not None else body)))
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
        for query, _whole in queries:
            for row in store.query(query % values):
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
        focus = fields.get(SH.focusNode)
        results.append(_result(fields.get(SH.resultSeverity), fields.get(SH.sourceShape), parents, focus,
                               fields.get(SH.resultPath), fields.get(SH.value),
                               messages[0] if messages else None, _store_origin(store, focus),
                               fields.get(SH.sourceConstraintComponent)))
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


# --- a whole store, screened by constraint --------------------------------------------
#
# Reading the store term by term from Python costs microseconds a quad (6 M quads:
# minutes), while Oxigraph scans one predicate and hashes it far faster. So, for a
# whole store, each property shape made only of the components below is first turned
# into SPARQL that returns its *candidate* focus nodes: a superset of those pyshacl
# would report (one-pattern scans joined by hash, MINUS and GROUP BY; no per-node
# lookups). pyshacl then validates only (shape, candidates) pairs, so every result is
# still pyshacl's own. Other property shapes get all their focus nodes, as before.

# what a value needs, in SPARQL, to pass pyshacl's sh:datatype check: its datatype,
# and a lexical form rdflib parses into the Python type pyshacl asks for (gYear: rdflib
# never marks it ill-typed, so pyshacl passes any)
_DATATYPE_OK = {
    _XSD + "string": f"isLiteral(?o) && datatype(?o) = <{_XSD}string>",
    _XSD + "integer": f"isLiteral(?o) && datatype(?o) = <{_XSD}integer> && REGEX(STR(?o), '^[+-]?[0-9]+$')",
    _XSD + "boolean": f"isLiteral(?o) && datatype(?o) = <{_XSD}boolean> && STR(?o) IN ('true', 'false', '1', '0')",
    _XSD + "gYear": f"isLiteral(?o) && datatype(?o) = <{_XSD}gYear>",
}
_NODE_KIND_OK = {
    SH.IRI: "isIRI(?o)", SH.BlankNode: "isBlank(?o)", SH.Literal: "isLiteral(?o)",
    SH.BlankNodeOrIRI: "!isLiteral(?o)", SH.BlankNodeOrLiteral: "!isIRI(?o)", SH.IRIOrLiteral: "!isBlank(?o)",
}
# patterns for which XPath (Oxigraph) matching implies Python re matching
_SAFE_PATTERN = re.compile(r"[\^$\[\]{}a-zA-Z0-9,.+*?/\-]*")
_SCREENED = {SH.path, SH.message, SH.severity, SH.name, SH.description, SH.minCount, SH.maxCount,
             SH.datatype, SH["class"], SH.nodeKind, SH["in"], SH.minInclusive, SH.maxInclusive,
             SH.pattern, SH.flags, SH.equals, rdflib.RDF.type}


def _path_steps(shapes: rdflib.Graph, path) -> list[tuple[str, bool]] | None:
    """A path as (predicate IRI, forward?) steps; None for other kinds of path."""
    if isinstance(path, rdflib.URIRef):
        return [(str(path), True)]
    inverse = shapes.value(path, SH.inversePath)
    if isinstance(inverse, rdflib.URIRef):
        return [(str(inverse), False)]
    if shapes.value(path, rdflib.RDF.first) is not None:
        steps = [_path_steps(shapes, step) for step in rdflib.collection.Collection(shapes, path)]
        return None if not steps or None in steps else [s for part in steps for s in part]
    return None


def _path_text(steps: list[tuple[str, bool]]) -> str:
    """A path's steps in SPARQL property path syntax (`<p>/^<q>`)."""
    return "/".join(f"<{p}>" if forward else f"^<{p}>" for p, forward in steps)


def _path_scan(steps: list[tuple[str, bool]]) -> str:
    """`?this <path> ?o` for reading a path over the whole store. A sequence path is
    written as a join of one-pattern subqueries: Oxigraph then scans each step once
    and joins them by hash, where the path syntax makes it look up the next step
    node by node (the whole Anthology: sh:equals on bylines 4.6 s -> 1.8 s)."""
    if len(steps) == 1:
        p, forward = steps[0]
        return f"?this <{p}> ?o" if forward else f"?o <{p}> ?this"
    parts, here = [], "?this"
    for i, (p, forward) in enumerate(steps):
        there = "?o" if i == len(steps) - 1 else f"?_step{i + 1}"
        pattern = f"{here} <{p}> {there}" if forward else f"{there} <{p}> {here}"
        parts.append(f"{{ SELECT {here} {there} WHERE {{ {pattern} }} }}")
        here = there
    return " ".join(parts)


# below this many focus nodes, sh:minCount and sh:equals are screened node by node
# (FILTER NOT EXISTS): on 0-20 k nodes ~0 s, where MINUS reads the whole path (~0.7 s)
FEW_FOCUS_NODES = 20_000


# sh:class and sh:maxCount are screened from the focus nodes' own values when those
# are fewer than 1/NARROW of the triples of the path's first predicate
NARROW = 20


def _screen_queries(prop, targets: str, few: bool = False, narrow=None) -> list[str] | None:
    """SPARQL selecting ?this for every focus node that may fail property shape
    `prop` (plus others: false positives are filtered by pyshacl), or None.
    `narrow(predicate)`: whether the focus nodes are few beside that predicate's uses."""
    shapes = shapes_graph()
    if any(p not in _SCREENED for p in shapes.predicates(prop)):
        return None
    steps = _path_steps(shapes, shapes.value(prop, SH.path))
    if steps is None:
        return None
    path, scan = _path_text(steps), _path_scan(steps)
    # few nodes beside a common predicate: read from the nodes, not store-wide (a
    # topic scheme's prov:wasDerivedFrom among 791 k, volumes' schema:isPartOf among
    # 210 k, each flagged node then looked up to be dropped)
    from_nodes = few and narrow is not None and narrow(steps[0][0])
    lookup = few and len(steps) == 1 and steps[0][1]
    queries = []
    low, high = shapes.value(prop, SH.minCount), shapes.value(prop, SH.maxCount)
    if low is not None and int(low) == 1 and high is not None and not lookup:
        # "exactly one" in one pass, the focus nodes and the path's pairs grouped by
        # node: 0.67 s for 377 k authorship nodes where MINUS + GROUP BY took 1.2 s.
        # COUNT without DISTINCT: a value stated in two graphs counts twice, which can
        # only add candidates, and none is missed (one row is one value)
        queries.append(f"SELECT ?this WHERE {{ {{ {targets} }} UNION {{ {scan} }} }} GROUP BY ?this "
                       f"HAVING (COUNT(?o) < 1 || COUNT(?o) > {int(high)})")
        low = high = None
    if low is not None and int(low) > 0:
        having = "" if int(low) == 1 else f" GROUP BY ?this HAVING (COUNT(DISTINCT ?o) >= {int(low)})"
        # few nodes, one predicate: a lookup each (MINUS would read every ?o of the path in
        # the store first); a longer path is evaluated whole per node by Oxigraph: MINUS
        if lookup and not having:
            queries.append(f"SELECT DISTINCT ?this WHERE {{ {targets} FILTER NOT EXISTS {{ ?this {path} ?o }} }}")
        else:
            inner = f"{{ {scan} }}" if not having else f"{{ SELECT ?this WHERE {{ {scan} }}{having} }}"
            queries.append(f"SELECT DISTINCT ?this WHERE {{ {targets} MINUS {inner} }}")
    if high is not None:
        queries.append(f"SELECT ?this WHERE {{ {f'{targets} ?this {path} ?o' if from_nodes else scan} }} "
                       f"GROUP BY ?this HAVING (COUNT(DISTINCT ?o) > {int(high)})")
    ok = []
    datatype = shapes.value(prop, SH.datatype)
    if datatype is not None:
        if str(datatype) not in _DATATYPE_OK:
            return None
        ok.append(_DATATYPE_OK[str(datatype)])
    kind = shapes.value(prop, SH.nodeKind)
    if kind is not None:
        ok.append(_NODE_KIND_OK[kind])
    members = shapes.value(prop, SH["in"])
    if members is not None:
        terms = list(rdflib.collection.Collection(shapes, members))
        ok.append("(" + " || ".join(f"sameTerm(?o, {t.n3()})" for t in terms) + ")" if terms else "false")
    for bound, op in ((SH.minInclusive, ">="), (SH.maxInclusive, "<=")):
        limit = shapes.value(prop, bound)
        if limit is not None:
            if not isinstance(limit, rdflib.Literal) or type(limit.value) is not int:
                return None
            ok.append(_DATATYPE_OK[_XSD + "integer"] + f" && ?o {op} {limit.value}")
    pattern = shapes.value(prop, SH.pattern)
    if pattern is not None:
        flags = str(shapes.value(prop, SH.flags) or "")
        if not _SAFE_PATTERN.fullmatch(str(pattern)) or flags not in ("", "i"):
            return None
        ok.append(f"REGEX(STR(?o), '{pattern}', '{flags}')")
    if ok:
        queries.append(f"SELECT DISTINCT ?this WHERE {{ {scan} "
                       f"FILTER (COALESCE(!({' && '.join(f'({c})' for c in ok)}), true)) }}")
    cls = shapes.value(prop, SH["class"])
    if cls is not None:
        typed = f"?o a ?k . ?k <{rdflib.RDFS.subClassOf}>* <{cls}>"
        if from_nodes:
            queries.append(f"SELECT DISTINCT ?this WHERE {{ {targets} ?this {path} ?o "
                           f"FILTER NOT EXISTS {{ {typed} }} }}")
        else:
            queries.append(f"SELECT DISTINCT ?this WHERE {{ {scan} MINUS {{ {typed} }} }}")
    other = shapes.value(prop, SH.equals)
    if other is not None:
        if not isinstance(other, rdflib.URIRef):
            return None
        if few:  # a lookup per focus node beats computing both sides over the store
            queries.append(f"SELECT DISTINCT ?this WHERE {{ {{ {targets} ?this {path} ?o FILTER NOT EXISTS "
                           f"{{ ?this <{other}> ?o }} }} UNION {{ {targets} ?this <{other}> ?o FILTER NOT EXISTS "
                           f"{{ ?this {path} ?o }} }} }}")
        else:  # the (node, value) pairs found on one side only: one pass, half the time of two MINUS
            queries.append(f"SELECT DISTINCT ?this WHERE {{ {{ SELECT ?this ?o WHERE {{ "
                           f"{{ {scan} BIND (1 AS ?side) }} UNION {{ ?this <{other}> ?o BIND (2 AS ?side) }} }} "
                           f"GROUP BY ?this ?o HAVING (COUNT(DISTINCT ?side) != 2) }} }}")
    return queries


# --- what a change can reach (build --add validates only what it can affect) ---------

# constraint parameters that hand value nodes to other shapes: what those read is not
# worked out here, so a shape using them counts as reading anything
_NESTED = {SH.node, SH["or"], SH["and"], SH.xone, SH["not"], SH.qualifiedValueShape, SH.property}
# what a nested shape may say and still read nothing but its value node itself
_VALUE_ONLY = {SH.datatype, SH.nodeKind, SH["in"], SH.pattern, SH.flags, SH.languageIn, SH.minLength,
               SH.maxLength, SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive,
               SH.hasValue, SH.message, SH.severity, SH.name, SH.description, SH.deactivated, rdflib.RDF.type}
_THIS = rdflib.Variable("this")


def _sparql_reads(shapes: rdflib.Graph, text: str) -> set[tuple[str, bool]] | None:
    """The edges a SPARQL constraint reads on nodes other than its focus node: each
    triple pattern that does not touch $this reads its predicate forward at its subject
    and backward at its object; one that touches $this reads only edges of the focus
    node, whose own changes it is checked for anyway. None when a predicate is a
    variable (anything may be read)."""
    from rdflib.paths import Path as RdfPath
    from rdflib.plugins.sparql import prepareQuery
    from rdflib.plugins.sparql.parserutils import CompValue

    namespaces = {str(shapes.value(d, SH.prefix)): str(shapes.value(d, SH.namespace))
                  for d in shapes.objects(None, SH.declare)}
    algebra = prepareQuery(text, initNs=namespaces).algebra
    reads: set[tuple[str, bool]] = set()
    todo = [algebra]
    while todo:  # bounded: the query's own tree
        item = todo.pop()
        if isinstance(item, CompValue):
            triples = item.get("triples")
            if triples:
                flat = []
                for block in triples:  # BGP: (s, p, o) tuples; TriplesBlock: lists of terms in a row
                    if isinstance(block, tuple) and len(block) == 3:
                        flat.append(block)
                    else:
                        terms = list(block)
                        flat.extend(tuple(terms[i:i + 3]) for i in range(0, len(terms) - 2, 3))
                for subject, predicate, obj in flat:
                    if _THIS in (subject, obj):
                        continue
                    if isinstance(predicate, rdflib.Variable):
                        return None
                    iris = ([str(predicate)] if isinstance(predicate, rdflib.URIRef) else
                            [str(t) for t in _path_iris(predicate)] if isinstance(predicate, RdfPath) else [])
                    reads |= {(iri, forward) for iri in iris for forward in (True, False)}
            todo.extend(v for k, v in item.items() if k != "triples")
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
    return reads


def _path_iris(path) -> list:
    """Every IRI in an rdflib property path."""
    if isinstance(path, rdflib.URIRef):
        return [path]
    out = []
    for part in (getattr(path, "args", None) or [getattr(path, "path", None) or getattr(path, "arg", None)]):
        if part is not None:
            out.extend(_path_iris(part))
    return out


def _reads_nothing(shapes: rdflib.Graph, node) -> bool:
    """Whether a nested shape (of sh:or, sh:qualifiedValueShape, ...) constrains only its
    value node itself (datatype, language, ...), reading no edge."""
    for p, o in shapes.predicate_objects(node):
        if p in (SH["or"], SH["and"], SH.xone):
            if not all(_reads_nothing(shapes, n) for n in rdflib.collection.Collection(shapes, o)):
                return False
        elif p in (SH["not"], SH.node, SH.qualifiedValueShape):
            if not _reads_nothing(shapes, o):
                return False
        elif p not in _VALUE_ONLY:
            return False
    return True


@lru_cache(maxsize=1)
def _reads_beyond_focus() -> dict[str, frozenset[tuple[str, bool]] | None]:
    """Per node shape with targets: the edges (predicate IRI, read forward?) it may read
    on nodes other than its focus node, None if it may read anything. sh:class reads
    a value's rdf:type (and the classes' rdfs:subClassOf); a path's later steps read
    the edges they follow; a SPARQL constraint what _sparql_reads says; a nested shape
    that constrains its value node only, nothing more."""
    shapes = shapes_graph()
    subclass = str(rdflib.RDFS.subClassOf)
    out: dict[str, frozenset[tuple[str, bool]] | None] = {}
    for name, (_shape, props, _classes, _objects_of) in _shacl_shapes()[1].items():
        node = rdflib.URIRef(name)
        reads: set[tuple[str, bool]] | None = set()
        nested = [o for p in _NESTED - {SH.property} for o in shapes.objects(node, p)]
        if nested:
            out[name] = None
            continue
        for owner in [node, *(p.node for p in props)]:
            for constraint in shapes.objects(owner, SH.sparql):
                found = _sparql_reads(shapes, str(shapes.value(constraint, SH.select) or ""))
                if found is None or reads is None:
                    reads = None
                    break
                reads |= found
        for prop in (p.node for p in props):
            if reads is None:
                break
            steps = _path_steps(shapes, shapes.value(prop, SH.path))
            if steps is None:
                reads = None
                break
            for p in _NESTED - {SH.property}:
                for o in shapes.objects(prop, p):
                    members = list(rdflib.collection.Collection(shapes, o)) if p in (SH["or"], SH["and"], SH.xone) \
                        else [o]
                    if not all(_reads_nothing(shapes, m) for m in members):
                        reads = None
            if reads is None:
                break
            reads |= set(steps[1:])
            if shapes.value(prop, SH["class"]) is not None:
                reads |= {(str(RDF_TYPE), True), (subclass, True), (subclass, False)}
        out[name] = None if reads is None else frozenset(reads)
    return out


def shapes_reading(edges: set[tuple[str, bool]]) -> list[str]:
    """The node shapes that may read one of `edges` on a node other than their focus."""
    return [name for name, reads in _reads_beyond_focus().items()
            if reads is None or not reads.isdisjoint(edges)]


def focus_of_any(store: ox.Store, node, names: list[str], known: dict) -> bool:
    """Whether `node` is a focus node of one of the node shapes `names`."""
    shapes = _shacl_shapes()[1]
    return any(_targets(store, shapes[n][2], shapes[n][3], (node,), known) for n in names)


def _target_pattern(classes, objects_of, closure: dict[str, frozenset]) -> str:
    """The focus nodes of a node shape in SPARQL; a class with subclasses in the data
    through rdfs:subClassOf* (the plain form otherwise: Oxigraph plans it better)."""
    parts = [f"{{ ?this a <{c}> }}" if len(closure[c]) == 1 else f"{{ ?this a/<{_SUBCLASS.value}>* <{c}> }}"
             for c in classes] + [f"{{ [] <{p}> ?this }}" for p in objects_of]
    return " UNION ".join(parts)


class _Screen:
    """Runs screen queries on one store, each distinct query once, and knows which
    node is a focus node of which node shape."""

    def __init__(self, store: ox.Store):
        self.store = store
        self._rows: dict[str, set] = {}
        self.known: dict = {}  # what _targets read: nodes' types, classes' subclasses
        self._counts: dict[str, int] = {}
        self.recording: list[str] | None = None  # when set, rows() only notes the query

    def count(self, targets: str) -> int:
        """The number of focus nodes a target pattern selects (asked once)."""
        found = self._counts.get(targets)
        if found is None:
            found = self._counts[targets] = int(next(iter(self.store.query(
                f"SELECT (COUNT(DISTINCT ?this) AS ?n) WHERE {{ {targets} }}")))[0].value)
        return found

    def used_more(self, predicate: str, times: int) -> bool:
        """Whether more than `times` triples have `predicate` (read no further)."""
        key = f"{predicate} {times}"
        found = self._counts.get(key)
        if found is None:
            found = self._counts[key] = int(next(iter(self.store.query(
                f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT * WHERE {{ ?s <{predicate}> ?o }} LIMIT {times + 1} }}")))[0].value)
        return found > times

    def run_in_workers(self, queries: list[str], path: str, workers: int) -> None:
        """Answer `queries` in `workers` processes, each with its own read-only view of
        the store at `path`: the screen is Oxigraph's work, and runs one query per core."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # the likely slow ones (whole-store aggregates, node constraints) first, so
        # that no core is left with a long query at the end
        todo = sorted(set(queries) - set(self._rows), key=lambda q: (not _heavy(q), q))
        # spawn, not fork: the parent holds the store open for writing
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for query, found in zip(todo, pool.map(_screen_worker, [(path, q) for q in todo])):
                self._rows[query] = set(found)

    def rows(self, query: str) -> set:
        found = self._rows.get(query)
        if found is None and self.recording is not None:
            self.recording.append(query)
            return set()
        if found is None:
            found = {row[0] for row in self.store.query(query)
                     if row[0] is not None}
            self._rows[query] = found
        return found

    def is_focus(self, node, classes, objects_of) -> bool:
        return bool(_targets(self.store, classes, objects_of, (node,), self.known))

    def closure(self, classes) -> dict[str, frozenset]:
        _wanted(self.store, tuple(classes), self.known)  # reads the classes' subclasses
        return self.known["classes"]


def _heavy(query: str) -> bool:
    return "GROUP BY" in query or query.startswith("PREFIX")


_WORKER_STORES: dict[str, ox.Store] = {}


def _screen_worker(job: tuple[str, str]) -> list:
    """One screen query in a worker process; its nodes (terms pickle as they are)."""
    path, query = job
    store = _WORKER_STORES.get(path)
    if store is None:
        store = _WORKER_STORES[path] = ox.Store.read_only(path)
    return [row[0] for row in store.query(query) if row[0] is not None]


def _screened_jobs(store: ox.Store, batch: int, workers: int = 1, path: str | None = None,
                   extra: frozenset = frozenset()):
    """(node shape, [(property shapes or None for the node's own constraints,
    focus nodes)]) for a whole store, and the number of focus nodes. With `workers`
    and `path`, the screen queries run in worker processes first."""
    screen = _Screen(store)
    if workers > 1 and path is not None:
        screen.recording = []
        _plan_screened(store, batch, screen, extra)
        queries, screen.recording = screen.recording, None
        screen.run_in_workers(queries, path, workers)
    return _plan_screened(store, batch, screen, extra)


def _plan_screened(store: ox.Store, batch: int, screen: _Screen, extra: frozenset = frozenset()):
    """The screened plan; `extra` nodes are candidates of every screened property
    shape that targets them (subjects of literals the store rewrote: see Stated)."""
    _sg, shapes = _shacl_shapes()
    total = 0
    plan = []
    sparql = _sparql_screens()
    dry = screen.recording is not None  # only collecting the queries: read nothing else
    for name, (_shape, props, classes, objects_of) in shapes.items():
        targets = _target_pattern(classes, objects_of, screen.closure(classes))
        count = screen.count(targets)
        total += count
        every = None  # all focus nodes, only read if something needs them
        steps: list[tuple[list | None, list]] = []

        def all_nodes(classes=classes, objects_of=objects_of):
            nonlocal every
            if dry:
                return []
            if every is None:
                every = _targets(store, classes, objects_of, None, screen.known)
            return every

        def focus_of(found, classes=classes, objects_of=objects_of):
            return sorted((n for n in found if screen.is_focus(n, classes, objects_of)), key=str)

        if name in sparql:
            own = sparql[name]
            if own is None:  # sh:nodeKind of the node itself
                kind = shapes_graph().value(rdflib.URIRef(name), SH.nodeKind)
                test = _NODE_KIND_OK.get(kind, "false").replace("?o", "?this")
                found = screen.rows(f"SELECT DISTINCT ?this WHERE {{ {targets} FILTER (!({test})) }}")
                if shapes_graph().value(rdflib.URIRef(name), SH.sparql) is not None:
                    found = all_nodes()
                steps.append((None, focus_of(found)))
            else:
                found = set()
                for _batch, whole in own:
                    found |= screen.rows(whole)
                nodes = focus_of(found)
                if nodes and not dry:
                    # a whole-store screen may flag more than its constraint (kg:storeScreen
                    # forms count per paper, not per byline): the constraint's own query,
                    # over the flagged nodes in VALUES batches, keeps those it reports
                    exact = set(_sparql_candidates(store, name, [_as_rdflib(n) for n in nodes]))
                    nodes = [n for n in nodes if _as_rdflib(n) in exact]
                steps.append((None, nodes))
        for prop in props:
            queries = _screen_queries(prop.node, targets, few=count < FEW_FOCUS_NODES,
                                      narrow=lambda p, count=count: screen.used_more(p, count * NARROW))
            if queries is None:
                steps.append(([prop], all_nodes()))
                continue
            found = set(extra)
            for query in queries:
                found |= screen.rows(query)
            if found:
                steps.append(([prop], focus_of(found)))
        for props_, nodes in steps:
            for i in range(0, len(nodes), batch):
                plan.append((name, props_, nodes[i:i + batch]))
        plan.append((name, "done", count))
    return plan, total


def _run_screened(store: ox.Store, plan, tick, stated: Stated | None = None) -> list[Result]:
    from pyshacl.pytypes import SHACLExecutor

    sg, shapes = _shacl_shapes()
    executor = SHACLExecutor(allow_warnings=True)
    graph = _StoreGraph(store, stated)
    prop_iris = {p.node for _s, props, _c, _o in shapes.values() for p in props}
    out: list[Result] = []
    for name, props, focus in plan:
        if props == "done":
            tick(focus)
            continue
        if not focus:
            continue
        shape = shapes[name][0]
        nodes = [_as_rdflib(n) for n in focus]
        reports = []
        if props is None:
            reports.extend(_own_results(shape, sg, prop_iris, executor, graph, nodes))
        else:
            graph.prefetch(nodes)
            for prop in props:
                reports.extend(prop.validate(executor, graph, focus=nodes)[1])
        out.extend(_store_results(store, reports, sg))
    return out


def plan_store_validation(store: ox.Store, focus_nodes: Iterable | None = None,
                          batch: int = STORE_BATCH) -> list[tuple[str, list]]:
    """The (node shape, focus nodes) batches that validating `store` takes.

    Every focus node of every node shape with a target, or with `focus_nodes` only
    those among them (and only the shapes that target them)."""
    _sg, shapes = _shacl_shapes()
    among = None if focus_nodes is None else set(focus_nodes)
    known: dict = {}
    jobs = []
    for name, (_shape, _props, classes, objects_of) in shapes.items():
        nodes = _targets(store, classes, objects_of, among, known)
        jobs.extend((name, nodes[i:i + batch]) for i in range(0, len(nodes), batch))
    return jobs


def validate_store(store: ox.Store, focus_nodes: Iterable | None = None, *,
                   workers: int = 1, path: str | None = None, batch: int = STORE_BATCH,
                   on_progress=None, stated: Stated | None = None) -> Report:
    """SHACL-validate an Oxigraph store's default graph with pyshacl.

    Without `focus_nodes`, every focus node of every shape is validated; with them
    (IRI strings or terms, blank nodes and literals too), only those nodes, each
    against the shapes that target it. Batches of `batch` focus nodes go through
    pyshacl together. With `workers` > 1 and `path` (the store's directory, flushed),
    the work is shared among that many worker processes, each with its own read-only
    view of the store. `stated`: literals as the sources stated them where the store
    rewrote them (see stated_literals). `on_progress(done, total)` is called after
    each batch, with counts of focus nodes.
    """
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress(done, total)

    if focus_nodes is None:
        extra = frozenset(subject for subject, _p in (stated or {}))
        plan, total = _screened_jobs(store, batch, workers, path, extra)
        if on_progress is not None:
            on_progress(0, total)
        results = _run_screened(store, plan, tick, stated)
        results.sort(key=lambda r: (r.shape, r.constraint, r.focus, r.message, r.value or ""))
        return Report(conforms=not any(r.severity == "Violation" for r in results), results=tuple(results))
    jobs = plan_store_validation(store, focus_nodes, batch)
    total = sum(len(nodes) for _n, nodes in jobs)
    if on_progress is not None:
        on_progress(0, total)
    if workers > 1 and path is not None and len(jobs) > 1:
        results = _run_in_workers(path, jobs, workers, tick, stated)
    else:
        results = _run_batches(store, jobs, tick, stated)
    results.sort(key=lambda r: (r.shape, r.constraint, r.focus, r.message, r.value or ""))
    return Report(conforms=not any(r.severity == "Violation" for r in results), results=tuple(results))


def _worker(path: str, jobs: list[tuple[str, list]], stated: Stated | None) -> list[Result]:
    return _run_batches(ox.Store.read_only(path), jobs, stated=stated)


def _run_in_workers(path: str, jobs, workers: int, tick, stated: Stated | None = None) -> list[Result]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # Oxigraph terms pickle as they are (blank nodes keep the store's ids); spawn, not
    # fork: the parent holds the store open for writing
    results: list[Result] = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        # several batches per task keep the per-task overhead small
        chunks = [jobs[i:i + 4] for i in range(0, len(jobs), 4)]
        futures = {pool.submit(_worker, path, chunk, stated): sum(len(n) for _s, n in chunk) for chunk in chunks}
        for future in as_completed(futures):
            results.extend(future.result())
            tick(futures[future])
    return results
