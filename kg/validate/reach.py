"""What a change can reach: the node shapes that may read an edge beyond their focus node.
Apart because only build --add asks it, and it reads the shapes, not the data."""

from __future__ import annotations

from functools import lru_cache

import pyoxigraph as ox
import rdflib
import rdflib.collection
from rdflib.namespace import SH

from kg.validate.shacl import _path_steps, _shacl_shapes, shapes_graph
from kg.validate.targets import _targets

RDF_TYPE = rdflib.RDF.type


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
