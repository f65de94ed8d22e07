"""The reconciliation graph: the quads of each link, its discrepancies and author
alignments, and the schema:sameAs of each alias, in RECONCILIATION_GRAPH.
"""

from __future__ import annotations

from pyoxigraph import Literal, NamedNode, Quad

from kg.mapping import K, S, int_literal
from kg.namespaces import PROV, RDF, XSD, mint
from kg.reconcile.records import STATUSES, Reconciliation

RECONCILIATION_GRAPH = mint("graph", "reconciliation")

_A = NamedNode(RDF + "type")
_DECIMAL = NamedNode(XSD + "decimal")
_DERIVED = NamedNode(PROV + "wasDerivedFrom")


def _decimal(value: float) -> Literal:
    return Literal(f"{value:.2f}", datatype=_DECIMAL)


def map_reconciliation(rec: Reconciliation, aliases: dict[str, str] | None = None) -> list[Quad]:
    """The reconciliation graph (RECONCILIATION_GRAPH): one kg:Reconciliation per guide
    paper with a proposed, accepted or rejected Anthology paper, its discrepancies and
    author alignments, and `<canonical> schema:sameAs <alias>` for each of `aliases`
    (alias IRI -> canonical IRI, see Reconciliation.aliases): the IRIs the guides mint
    for what the default graph merges under the Anthology's. Sorted; no blank nodes."""
    graph = NamedNode(RECONCILIATION_GRAPH)
    out: list[Quad] = []

    def add(s: NamedNode, p: NamedNode, o) -> None:
        out.append(Quad(s, p, o, graph))

    for link in rec.links:
        if link.anthology is None or link.status not in STATUSES:
            continue
        node = NamedNode(link.iri)
        paper = NamedNode(link.paper)
        source = NamedNode(link.guide_source)
        cand = link.anthology
        add(node, _A, K("Reconciliation"))
        add(node, K("guidePaper"), paper)
        add(node, K("anthologyPaper"), NamedNode(mint("anthology", cand.anthology_id)))
        add(node, K("confidence"), _decimal(cand.confidence))
        add(node, K("status"), Literal(link.status))
        for text in link.evidence:
            add(node, K("evidence"), Literal(text))
        add(node, _DERIVED, source)
        for d in link.discrepancies:
            dn = NamedNode(f"{link.iri}/discrepancy/{d.key}")
            add(dn, _A, K("Discrepancy"))
            add(dn, K("reconciliation"), node)
            add(dn, K("discrepancyKind"), Literal(d.kind))
            if d.guide_value is not None:
                add(dn, K("guideValue"), Literal(d.guide_value))
            if d.anthology_value is not None:
                add(dn, K("anthologyValue"), Literal(d.anthology_value))
            if d.guide_position is not None:
                add(dn, K("guidePosition"), int_literal(d.guide_position))
            if d.anthology_position is not None:
                add(dn, K("anthologyPosition"), int_literal(d.anthology_position))
            add(dn, _DERIVED, source)
            if d.line:
                add(dn, K("sourceLine"), int_literal(d.line))
        for person in link.people:
            if person.guide_person == person.anthology_person:
                continue  # one IRI already: nothing to align
            an = NamedNode(f"{link.iri}/author/{person.guide_position}")
            add(an, _A, K("AuthorAlignment"))
            add(an, K("reconciliation"), node)
            add(an, K("guidePerson"), NamedNode(person.guide_person))
            add(an, K("anthologyPerson"), NamedNode(person.anthology_person))
            add(an, K("guidePosition"), int_literal(person.guide_position))
            add(an, K("anthologyPosition"), int_literal(person.anthology_position))
            add(an, K("confidence"), _decimal(person.confidence))
            add(an, K("evidence"), Literal(person.evidence))
    for alias, canonical in sorted((aliases or {}).items()):
        add(NamedNode(canonical), S("sameAs"), NamedNode(alias))
    return sorted(set(out), key=lambda q: (q.subject.value, q.predicate.value, str(q.object)))
