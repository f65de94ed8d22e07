"""SHACL validation with pySHACL against ontology/shapes.ttl; returns a typed report.

The report only describes; the caller decides whether violations stop a build.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import pyoxigraph as ox
import rdflib
from pyshacl import validate as shacl_validate
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
