"""Counts and entity descriptions for `kg stats` and `kg show`."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.errors import QueryError
from kg.namespaces import PREFIXES, mint
from kg.queries import canonical, find_entity

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
    """Entity counts and triples of the default graph (the merge: one node per real
    thing), quads in all graphs, and the number of named graphs."""
    row = next(iter(store.query(_COUNTS, prefixes=PREFIXES)))
    counts = {name: int(row[name].value) for name in KINDS}
    triples = next(iter(store.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")))
    counts["triples"] = int(triples["n"].value)
    counts["quads"] = len(store)
    counts["graphs"] = sum(1 for _ in store.named_graphs())
    return counts


@dataclass
class Fact:
    direction: str  # "out" (entity -> value) or "in" (other -> entity)
    predicate: str  # prefixed name
    predicate_iri: str
    value: str  # label or literal
    iri: str | None  # the other entity, when it is one
    sources: list[str] = field(default_factory=list)  # files of the source graphs that state it


@dataclass
class Entity:
    iri: str
    kind: str
    label: str
    facts: list[Fact]
    sources: list[str]  # "file:line", or "file" where the source has no lines
    aliases: list[str] = field(default_factory=list)  # IRIs the sources minted for it

    def as_json(self) -> dict:
        return {"iri": self.iri, "kind": self.kind, "label": self.label, "aliases": self.aliases,
                "facts": [f.__dict__ for f in self.facts], "sources": self.sources}


# The entity's facts in the default graph (the merge); for each, the files of the source
# graphs that state it, under the IRIs they minted (an alias is schema:sameAs the entity).
_FACTS = """
SELECT ?dir ?p ?o ?olabel ?file ?e WHERE {
  { BIND("out" AS ?dir) ?e ?p ?o
    OPTIONAL { ?e schema:sameAs? ?x . ?o schema:sameAs? ?y . GRAPH ?g { ?x ?p ?y } ?g kg:fileName ?file } }
  UNION
  { BIND("in" AS ?dir) ?o ?p ?e FILTER(?p != pro:isHeldBy)
    OPTIONAL { ?e schema:sameAs? ?x . ?o schema:sameAs? ?y . GRAPH ?g { ?y ?p ?x } ?g kg:fileName ?file } }
  OPTIONAL { ?o schema:name|skos:prefLabel|schema:title|kg:fileName ?olabel }
} ORDER BY ?dir ?p ?o"""

# Where the sources said it: each source's graph, under the IRI it minted.
_SOURCES = """
SELECT DISTINCT ?file ?line ?e WHERE {
  ?e schema:sameAs? ?x .
  { GRAPH ?s { ?x prov:wasDerivedFrom ?s OPTIONAL { ?x kg:sourceLine ?line } } }
  UNION { GRAPH ?s { ?slot pro:isHeldBy ?x ; prov:wasDerivedFrom ?s ; kg:sourceLine ?line } }
  GRAPH ?s { ?s kg:fileName ?file }
} ORDER BY ?file ?line"""

_KINDS = {"Person": "person", "ScholarlyArticle": "paper", "Concept": "topic", "Occupation": "role",
          "ImageObject": "figure", "JobPosting": "posting", "Event": "event", "Place": "place",
          "PostalAddress": "address", "RoleInTime": "authorship", "ConceptScheme": "topic scheme",
          "TopicLink": "topic link", "Dataset": "dataset", "Activity": "build", "Entity": "source"}
_LABEL_PREDICATES = ("schema:name", "skos:prefLabel", "schema:title", "kg:fileName", "kg:printedName",
                     "rdfs:label", "dcterms:title", "schema:caption")


def describe(store: ox.Store, text: str) -> Entity:
    """Everything known about the person, paper, topic or role named `text`."""
    entity = describe_iri(store, find_entity(store, "any", text).value)
    if entity is None:  # pragma: no cover - find_entity found it in the default graph
        raise QueryError(f"the store says nothing about {text!r}")
    return entity


def describe_iri(store: ox.Store, iri: str) -> Entity | None:
    """Everything the default graph says about `iri` (or about the entity it is an alias
    of), with the source files of each fact and the file:line each source read it from;
    None when the store says nothing about it."""
    entity = canonical(store, ox.NamedNode(iri))
    bound = {ox.Variable("e"): entity}
    facts: dict[tuple, Fact] = {}
    for row in store.query(_FACTS, prefixes=PREFIXES, substitutions=bound):
        obj = row["o"]
        key = (row["dir"].value, row["p"].value, str(obj))
        fact = facts.get(key)
        if fact is None:
            label = row["olabel"].value if row["olabel"] else obj.value
            fact = facts[key] = Fact(row["dir"].value, prefixed(row["p"].value), row["p"].value, label,
                                     obj.value if isinstance(obj, ox.NamedNode) else None)
        if row["file"] and row["file"].value not in fact.sources:
            fact.sources.append(row["file"].value)
    if not facts:
        return None
    sources = [f"{r['file'].value}:{r['line'].value}" if r["line"] else r["file"].value
               for r in store.query(_SOURCES, prefixes=PREFIXES, substitutions=bound)]
    with_lines = {s.rsplit(":", 1)[0] for s in sources if ":" in s}
    sources = [s for s in sources if ":" in s or s not in with_lines]
    base = mint("")
    aliases = sorted(f.iri for f in facts.values() if f.direction == "out" and f.predicate == "schema:sameAs"
                     and f.iri is not None and f.iri.startswith(base))
    label = next((f.value for p in _LABEL_PREDICATES for f in facts.values()
                  if f.direction == "out" and f.predicate == p), entity.value)
    return Entity(entity.value, _kind(store, entity), label, list(facts.values()), sources, aliases)


def _kind(store: ox.Store, entity: ox.NamedNode) -> str:
    for quad in store.quads_for_pattern(entity, ox.NamedNode(PREFIXES["rdf"] + "type"), None, ox.DefaultGraph()):
        local = quad.object.value.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        if local in _KINDS:
            return _KINDS[local]
    return "entity"


def prefixed(iri: str) -> str:
    """`schema:name` for an IRI in a known namespace, else `<iri>`."""
    for prefix, ns in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return f"<{iri}>"
