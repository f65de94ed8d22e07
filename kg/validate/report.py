"""The report: Result, Report and its text, made from pySHACL's results, with the file and
line behind each focus node. Apart because every path (graph, store, screens) ends in it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pyoxigraph as ox
import rdflib
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
    component: str | None = None  # e.g. sh:MinCountConstraintComponent


@dataclass(frozen=True)
class Report:
    conforms: bool
    results: tuple[Result, ...]

    @classmethod
    def of(cls, results: list[Result]) -> Report:
        """The report on `results`, in the one order every path gives them."""
        results = sorted(results, key=lambda r: (r.shape, r.constraint, r.focus, r.message, r.value or ""))
        return cls(conforms=not any(r.severity == "Violation" for r in results), results=tuple(results))

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
