"""Counts and entity descriptions for `kg stats` and `kg show`."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from kg.namespaces import PREFIXES
from kg.queries import find_entity

_COUNTS = """
SELECT
  (COUNT(DISTINCT ?paper) AS ?papers) (COUNT(DISTINCT ?person) AS ?people)
  (COUNT(DISTINCT ?slot) AS ?authorships) (COUNT(DISTINCT ?topic) AS ?topics)
  (COUNT(DISTINCT ?role) AS ?roles) (COUNT(DISTINCT ?posting) AS ?postings)
  (COUNT(DISTINCT ?place) AS ?locations) (COUNT(DISTINCT ?figure) AS ?figures)
WHERE {
  { ?paper a schema:ScholarlyArticle } UNION { ?person a schema:Person }
  UNION { ?slot a pro:RoleInTime } UNION { ?topic a skos:Concept }
  UNION { ?role a schema:Occupation } UNION { ?posting a schema:JobPosting }
  UNION { ?place a schema:Place } UNION { ?figure a schema:ImageObject }
}
"""


KINDS = ("papers", "people", "authorships", "topics", "roles", "postings", "locations", "figures")


def stats(store: ox.Store) -> dict[str, int]:
    """Entity counts, distinct triples over all graphs, and the number of sources."""
    row = next(iter(store.query(_COUNTS, prefixes=PREFIXES, use_default_graph_as_union=True)))
    counts = {name: int(row[name].value) for name in KINDS}
    triples = next(iter(store.query("SELECT (COUNT(*) AS ?n) { SELECT DISTINCT ?s ?p ?o { GRAPH ?g { ?s ?p ?o } } }")))
    counts["triples"] = int(triples["n"].value)
    counts["quads"] = len(store)
    counts["graphs"] = sum(1 for _ in store.named_graphs())
    return counts


@dataclass(frozen=True)
class Fact:
    direction: str  # "out" (entity -> value) or "in" (other -> entity)
    predicate: str  # prefixed name
    value: str  # label or literal
    iri: str | None  # the other entity, when it is one


@dataclass(frozen=True)
class Entity:
    iri: str
    kind: str
    label: str
    facts: tuple[Fact, ...]
    sources: tuple[str, ...]  # "file:line"


def describe(store: ox.Store, text: str) -> Entity:
    """Everything the store says about one entity, with labels and provenance."""
    entity = find_entity(store, "any", text)
    kind = _kind(store, entity)
    q = """
    SELECT ?dir ?p ?o ?olabel ?e WHERE {
      { BIND("out" AS ?dir) ?e ?p ?o }
      UNION { BIND("in" AS ?dir) ?o ?p ?e FILTER(?p != pro:isHeldBy) }
      OPTIONAL { ?o schema:name|skos:prefLabel ?olabel }
    } ORDER BY ?dir ?p ?o"""
    facts = []
    seen = set()
    for row in store.query(q, prefixes=PREFIXES, use_default_graph_as_union=True,
                           substitutions={ox.Variable("e"): entity}):
        key = (row["dir"].value, row["p"].value, row["o"].value)
        if key in seen:
            continue
        seen.add(key)
        obj = row["o"]
        label = row["olabel"].value if row["olabel"] else obj.value
        facts.append(Fact(row["dir"].value, _prefixed(row["p"].value), label,
                          obj.value if isinstance(obj, ox.NamedNode) else None))
    src = """
    SELECT DISTINCT ?file ?line ?e WHERE {
      { ?e prov:wasDerivedFrom ?s OPTIONAL { ?e kg:sourceLine ?line } }
      UNION { ?slot pro:isHeldBy ?e ; prov:wasDerivedFrom ?s ; kg:sourceLine ?line }
      ?s kg:fileName ?file
    } ORDER BY ?file ?line"""
    sources = tuple(
        f"{row['file'].value}:{row['line'].value}" if row["line"] else row["file"].value
        for row in store.query(src, prefixes=PREFIXES, use_default_graph_as_union=True,
                               substitutions={ox.Variable("e"): entity}))
    with_lines = {s.split(":")[0] for s in sources if ":" in s}
    sources = tuple(s for s in sources if ":" in s or s not in with_lines)
    label = next((f.value for f in facts if f.direction == "out"
                  and f.predicate in ("schema:name", "skos:prefLabel")), entity.value)
    return Entity(entity.value, kind, label, tuple(facts), sources)


_KINDS = {"Person": "person", "ScholarlyArticle": "paper", "Concept": "topic", "Occupation": "role"}


def _kind(store: ox.Store, entity: ox.NamedNode) -> str:
    for quad in store.quads_for_pattern(entity, ox.NamedNode(PREFIXES["rdf"] + "type"), None, None):
        local = quad.object.value.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        if local in _KINDS:
            return _KINDS[local]
    return "entity"


def _prefixed(iri: str) -> str:
    for prefix, ns in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return f"<{iri}>"
