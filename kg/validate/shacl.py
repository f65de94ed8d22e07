"""The project's shapes (rdflib's graph, pySHACL's Shape objects) and plain pySHACL on an
rdflib graph or files. Apart because it needs no store: it is what the store paths must match."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import pyoxigraph as ox
import rdflib
import rdflib.collection
from pyshacl import validate as shacl_validate
from rdflib.namespace import SH

from kg.errors import SourceError
from kg.sources import rdf
from kg.validate.report import Report, _origin, _result
from kg.validate.xsd import follow_xsd_lexical_rules


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
    return Report.of(out)


def validate_files(paths: Iterable[str | Path]) -> Report:
    """Validate RDF files (any syntax Oxigraph reads, by suffix) as one graph: a
    dataset with a default graph (kg's N-Quads / TriG export: the merge of the
    sources) as its default graph, else all of its triples. One plain pySHACL call:
    the reference the store's validation must agree with."""
    quads: list[ox.Quad] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            raise SourceError(path, None, "is a directory; name the RDF files in it")
        fmt = _format_of(path)
        quads.extend(rdf.parse(path, rdf.read_bytes(path, "expected an RDF file"), fmt))
    default = [q for q in quads if isinstance(q.graph_name, ox.DefaultGraph)]
    return validate_graph(to_rdflib(default if default and len(default) < len(quads) else quads))


def _format_of(path: Path) -> ox.RdfFormat:
    """The RDF syntax a file's suffix names (.gz files are not read here)."""
    suffix = path.suffix.lower().lstrip(".")
    found = ox.RdfFormat.from_extension(suffix) if suffix else None
    if found is None:
        raise SourceError(path, None, "unknown RDF syntax; name the file .ttl, .nt, .nq, .trig, .rdf or .jsonld")
    return found

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
