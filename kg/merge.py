"""The default graph: every source's graph merged into one node per real thing.

Each source keeps its own statements, in its own IRIs, in its named graph. The
default graph, which queries read, is their RDF merge after two rules:

* **Canonical IRIs.** A guide paper linked to its Anthology record (status auto or
  accepted) and the guide people reconciliation aligns with Anthology people, or
  name_variants.yaml resolves to one, take the Anthology's IRI: the Anthology is the
  authoritative record of these papers and people, and its IRIs are its own stable
  IDs. The aliases are stated as `<canonical> schema:sameAs <alias>`.
* **One value where the shapes allow one.** When several sources state a property
  that the shapes of a node's classes allow once (a paper's title, source line, ...),
  the most authoritative source's values stay: the Anthology, then hand-made RDF
  files (a curator's statement), then guides by graph IRI. Names and labels that
  lose become `schema:alternateName` / `skos:altLabel`; other values stay only in
  their source's graph. A paper's `schema:author` edges come from one byline, the
  most authoritative source's, named by `kg:bylineSource` when there are several;
  every source's byline slots stay, with the positions printed there.

Anthology collections are merged as they stream in (they name nothing by another
IRI); `merged_triples` merges the rest against what the default graph holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import pyoxigraph as ox

from kg.namespaces import KG, PRO, RDF, SCHEMA, SKOS

# source kinds, most authoritative first
ANTHOLOGY, RDF_FILE, GUIDE, DERIVED = 0, 1, 2, 3

SAME_AS = ox.NamedNode(SCHEMA + "sameAs")
A = ox.NamedNode(RDF + "type")
AUTHOR = ox.NamedNode(SCHEMA + "author")
RELATES = ox.NamedNode(PRO + "relatesToDocument")
BYLINE_SOURCE = ox.NamedNode(KG + "bylineSource")
DERIVED_FROM = ox.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom")
# a label that loses to another source's becomes one of these
LABELS = {
    ox.NamedNode(SCHEMA + "name"): ox.NamedNode(SCHEMA + "alternateName"),
    ox.NamedNode(SKOS + "prefLabel"): ox.NamedNode(SKOS + "altLabel"),
}
DEFAULT = ox.DefaultGraph()

Rank = tuple[int, str]  # (source kind, graph IRI): smaller wins


@lru_cache(maxsize=1)
def functional() -> dict[str, frozenset[str]]:
    """Per class IRI: the properties its node shape allows once (sh:maxCount 1 on a
    plain path), read from the shipped shapes."""
    sh = "http://www.w3.org/ns/shacl#"
    data = files("kg.ontology").joinpath("shapes.ttl").read_bytes()
    shapes = ox.Store()
    shapes.load(data, format=ox.RdfFormat.TURTLE)
    rows = shapes.query(f"""
        SELECT ?class ?path WHERE {{
          ?shape <{sh}targetClass> ?class ; <{sh}property> ?ps .
          ?ps <{sh}path> ?path ; <{sh}maxCount> 1 .
          FILTER(isIRI(?path))
        }}""")
    out: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        out[row["class"].value].add(row["path"].value)
    return {cls: frozenset(paths) for cls, paths in out.items()}


@dataclass(frozen=True)
class Aliases:
    """alias IRI -> canonical IRI; an IRI that is not an alias is its own canonical."""

    canonical: Mapping[str, str]

    def __call__(self, term):
        if isinstance(term, ox.NamedNode):
            target = self.canonical.get(term.value)
            if target is not None:
                return ox.NamedNode(target)
        return term

    def __len__(self) -> int:
        return len(self.canonical)


def canonical_quads(quads: Iterable[ox.Quad], aliases: Aliases) -> list[ox.Quad]:
    """The quads with every alias replaced by its canonical IRI, except the aliases a
    schema:sameAs names (which say what the canonical IRI is also known as). A quad
    naming no alias is kept as it is, not copied (a big guide's are most of them)."""
    if not aliases:
        return list(quads)
    out = []
    for q in quads:
        subject, obj = q.subject, q.object
        new_subject = aliases(subject)
        new_obj = obj if q.predicate == SAME_AS else aliases(obj)
        out.append(q if new_subject is subject and new_obj is obj
                   else ox.Quad(new_subject, q.predicate, new_obj, q.graph_name))
    return out


def merged_triples(quads: Iterable[ox.Quad], aliases: Aliases, rank: Callable[[ox.NamedNode], Rank],
                   store: ox.Store) -> set[ox.Triple]:
    """The default graph's share of `quads` (the sources other than Anthology
    collections, in their source form), merged with what `store`'s default graph
    already holds (the Anthology's, whose values rank first): see the module docstring."""
    rewritten = canonical_quads(quads, aliases)
    outside_rank: Rank = (ANTHOLOGY, "")
    by_subject: dict[ox.NamedNode | ox.BlankNode, list[ox.Quad]] = defaultdict(list)
    slots: dict = defaultdict(set)  # paper -> the graphs whose byline slots relate to it
    for q in rewritten:
        by_subject[q.subject].append(q)
        if q.predicate == RELATES:
            slots[q.object].add(q.graph_name)
    kept: set[ox.Triple] = set()
    shapes = functional()
    for subject, said in by_subject.items():
        outside = {}

        def held(predicate, subject=subject, outside=outside) -> list:
            """What the default graph already says of `subject` with `predicate`."""
            found = outside.get(predicate)
            if found is None:
                found = outside[predicate] = [q.object for q in store.quads_for_pattern(
                    subject, predicate, None, DEFAULT)]
            return found

        classes = {q.object.value for q in said if q.predicate == A} | {t.value for t in held(A)}
        once = set().union(*(shapes.get(c, ()) for c in classes)) if classes else set()
        by_predicate: dict[ox.NamedNode, list[ox.Quad]] = defaultdict(list)
        for q in said:
            by_predicate[q.predicate].append(q)
        byline = _byline(subject, said, slots, rank, store) if AUTHOR in by_predicate else None
        for predicate, group in by_predicate.items():
            if predicate == AUTHOR and byline is not None:
                graph, several = byline
                kept.update(ox.Triple(q.subject, q.predicate, q.object) for q in group
                            if q.graph_name == graph)
                if several and isinstance(graph, ox.NamedNode):
                    kept.add(ox.Triple(subject, BYLINE_SOURCE, graph))
                continue
            if predicate not in LABELS and predicate.value not in once:
                kept.update(ox.Triple(q.subject, q.predicate, q.object) for q in group)
                continue
            there = held(predicate)
            best = outside_rank if there else min(rank(q.graph_name) for q in group)
            winners = set(there) | {q.object for q in group if rank(q.graph_name) == best}
            for q in group:
                if q.object in winners:
                    kept.add(ox.Triple(q.subject, q.predicate, q.object))
                elif predicate in LABELS:
                    kept.add(ox.Triple(q.subject, LABELS[predicate], q.object))
    return kept


def _byline(paper, said: list[ox.Quad], slots: dict, rank, store: ox.Store):
    """(the graph whose byline gives `paper` its schema:author edges, whether several
    sources have a byline for it); the Anthology's if it has one."""
    slot = next(store.quads_for_pattern(None, RELATES, paper, DEFAULT), None)
    graphs = slots.get(paper, set())
    if slot is not None:
        source = next(store.quads_for_pattern(slot.subject, DERIVED_FROM, None, DEFAULT), None)
        return (source.object if source is not None else None), bool(graphs)
    authored = {q.graph_name for q in said if q.predicate == AUTHOR}
    candidates = graphs or authored
    if not candidates:
        return None
    return min(candidates, key=rank), len(candidates) > 1
