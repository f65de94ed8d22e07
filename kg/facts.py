"""Counts and entity descriptions for `kg stats` and `kg show`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.errors import AmbiguousNameError, QueryError, UnknownNameError
from kg.names import fold
from kg.namespaces import PREFIXES, mint
from kg.queries import canonical, expand_iri, find_entity
from kg.store import Store

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


def stats(store: Store) -> dict[str, int]:
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


_KINDS = {"Person": "person", "ScholarlyArticle": "paper", "Concept": "topic", "Occupation": "role",
          "ImageObject": "figure", "JobPosting": "posting", "Event": "event", "Place": "place",
          "PostalAddress": "address", "RoleInTime": "authorship", "ConceptScheme": "topic scheme",
          "TopicLink": "topic link", "Dataset": "dataset", "Activity": "build", "Entity": "source"}
_LABEL_PREDICATES = ("schema:name", "skos:prefLabel", "schema:title", "kg:fileName", "kg:printedName",
                     "rdfs:label", "dcterms:title", "schema:caption")


def describe(store: Store, text: str, pick: int | None = None) -> Entity:
    """Everything known about the person, paper, topic or role named `text`, or about
    the IRI it writes. A name several entities share raises AmbiguousNameError unless
    `pick` says which of them (1 for the first of `candidates`)."""
    try:
        iri = find_entity(store, "any", text).value
    except AmbiguousNameError as exc:
        if pick is None:
            raise
        if pick > len(exc.candidates):
            raise QueryError(f"{text!r} names {len(exc.candidates)} {exc.what}; pick 1 to "
                             f"{len(exc.candidates)}, not {pick}") from None
        iri = exc.candidates[pick - 1]
    except UnknownNameError:
        iri = _qualified(store, text) or expand_iri(text)
        # an IRI the store describes, of any kind (a posting, a place) is shown too
        entity = describe_iri(store, iri) if iri else None
        if entity is None:
            raise
        return entity
    else:
        if pick not in (None, 1):
            raise QueryError(f"{text!r} names one entity; there is no pick {pick}")
    entity = describe_iri(store, iri)
    if entity is None:  # pragma: no cover - find_entity found it in the default graph
        raise QueryError(f"the store says nothing about {text!r}")
    return entity


_QUALIFIED = re.compile(r"(.+?)\s*\(([^()]+)\)\s*")


def _qualified(store: Store, text: str) -> str | None:
    """"Applied Scientist (AGI)": a shared name and, in brackets, words of what tells one
    of its entities apart (as `candidates` words it): that entity's IRI, if only one fits."""
    match = _QUALIFIED.fullmatch(text)
    if not match:
        return None
    try:
        find_entity(store, "any", match[1])
        return None
    except AmbiguousNameError as exc:
        words = fold(match[2])
        fits = [c.iri for c in candidates(store, exc.candidates) if words in fold(c.detail)]
        return fits[0] if len(fits) == 1 else None
    except UnknownNameError:
        return None


@dataclass
class Candidate:
    """One of the entities a shared name names, with what tells it apart."""

    number: int  # what --pick N counts
    iri: str  # what selects it for good
    kind: str
    label: str
    detail: str


def candidates(store: Store, iris: list[str]) -> list[Candidate]:
    """The entities of an ambiguous name, numbered in the given order, each with the facts
    that tell them apart: a role's team, places and postings; a person's papers, years
    and co-authors; a paper's year, venue, first author and identifier."""
    out = []
    for number, iri in enumerate(iris, 1):
        node = ox.NamedNode(iri)
        kind = _kind(store, node)
        label = next((q.object.value for q in store.quads_for_pattern(
            node, ox.NamedNode(PREFIXES["schema"] + "name"), None, ox.DefaultGraph())), iri)
        detail = {"role": _role_detail, "person": _person_detail, "paper": _paper_detail}.get(
            kind, lambda _s, _n: "")(store, node)
        out.append(Candidate(number, iri, kind, label, detail))
    return out


_ROLE_DETAIL = """
SELECT ?e ?team ?place (COUNT(DISTINCT ?job) AS ?n) (MIN(?line) AS ?first) (MAX(?line) AS ?last)
WHERE { ?job schema:relevantOccupation ?e ; schema:jobLocation/schema:name ?place .
        OPTIONAL { ?job schema:employmentUnit/schema:name ?team }
        OPTIONAL { ?job kg:sourceLine ?line } }
GROUP BY ?e ?team ?place ORDER BY DESC(?n) ?place"""

_PERSON_PAPERS = """
SELECT ?e ?title ?year WHERE { ?paper schema:author ?e ; schema:name ?title
                            OPTIONAL { ?paper schema:datePublished ?year } }
ORDER BY ?year ?title"""

_PERSON_COAUTHORS = """
SELECT ?e ?name (COUNT(DISTINCT ?paper) AS ?n)
WHERE { ?paper schema:author ?e, ?other . FILTER(?other != ?e) ?other schema:name ?name }
GROUP BY ?e ?name ORDER BY DESC(?n) ?name LIMIT 4"""

_PAPER_DETAIL = """
SELECT ?e (SAMPLE(?year) AS ?y) (SAMPLE(COALESCE(?event, ?volume)) AS ?v) (SAMPLE(?id) AS ?i)
       (MIN(?first) AS ?f)
WHERE { OPTIONAL { ?e schema:datePublished ?year }
        OPTIONAL { ?e kg:presentedAt/schema:name ?event }
        OPTIONAL { ?e schema:isPartOf/schema:name ?volume }
        OPTIONAL { ?e schema:identifier ?id }
        OPTIONAL { ?slot pro:relatesToDocument ?e ; schema:position 1 ; pro:isHeldBy/schema:name ?first } }
GROUP BY ?e"""


def _rows(store: Store, query: str, node: ox.NamedNode) -> list:
    """The rows of a query about one entity, bound as ?e (so each query projects ?e)."""
    return list(store.query(query, prefixes=PREFIXES, substitutions={ox.Variable("e"): node}))


def _role_detail(store: Store, node: ox.NamedNode) -> str:
    rows = _rows(store, _ROLE_DETAIL, node)
    teams = sorted({r["team"].value for r in rows if r["team"]})
    places = ", ".join(r["place"].value + (f" ({r['n'].value})" if int(r["n"].value) > 1 else "")
                       for r in rows)
    postings = sum(int(r["n"].value) for r in rows)
    lines = [int(r[k].value) for r in rows for k in ("first", "last") if r[k]]
    parts = [f"team {', '.join(teams)}" if teams else "",
             f"{postings} posting{'s' if postings != 1 else ''} in {places}" if rows else "",
             (f"guide lines {min(lines)}-{max(lines)}" if min(lines) != max(lines)
              else f"guide line {lines[0]}") if lines else ""]
    return "; ".join(p for p in parts if p)


def _person_detail(store: Store, node: ox.NamedNode) -> str:
    papers = _rows(store, _PERSON_PAPERS, node)
    if not papers:
        return "no papers"
    years = sorted({r["year"].value for r in papers if r["year"]})
    title = _short(papers[0]["title"].value)
    more = f" and {len(papers) - 1} more" if len(papers) > 1 else ""
    coauthors = [r["name"].value for r in _rows(store, _PERSON_COAUTHORS, node)]
    with_ = (f"; with {', '.join(coauthors[:3])}{' and others' if len(coauthors) > 3 else ''}"
             if coauthors else "")
    return (f"{len(papers)} paper{'s' if len(papers) != 1 else ''} ({', '.join(years) or 'no year'}): "
            f"{title!r}{more}{with_}")


def _paper_detail(store: Store, node: ox.NamedNode) -> str:
    row = next(iter(_rows(store, _PAPER_DETAIL, node)), None)
    if row is None:  # pragma: no cover - an aggregate always answers one row
        return ""
    parts = [row["y"].value if row["y"] else "", _short(row["v"].value) if row["v"] else "",
             f"first author {row['f'].value}" if row["f"] else "",
             row["i"].value if row["i"] else ""]
    return "; ".join(p for p in parts if p)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


_SAME_AS = ox.NamedNode(PREFIXES["schema"] + "sameAs")
_HELD_BY = ox.NamedNode(PREFIXES["pro"] + "isHeldBy")
_DERIVED = ox.NamedNode(PREFIXES["prov"] + "wasDerivedFrom")
_LINE = ox.NamedNode(PREFIXES["kg"] + "sourceLine")
_FILE = ox.NamedNode(PREFIXES["kg"] + "fileName")
_TYPE = ox.NamedNode(PREFIXES["rdf"] + "type")
# how a fact's other end is named, best first
_OBJECT_LABELS = tuple(ox.NamedNode(PREFIXES[p] + n) for p, n in
                       (("schema", "name"), ("skos", "prefLabel"), ("schema", "title"), ("kg", "fileName")))


class _Described:
    """The store's description of an entity (Store.describe), indexed: the default
    graph's triples (the merge) and, for each triple a source graph states, its graphs."""

    def __init__(self, quads: list[ox.Quad]):
        self.default: list[ox.Quad] = []
        self.out: dict[tuple, list] = {}  # (subject, predicate) -> objects, default graph
        self.graphs: dict[tuple, list[ox.NamedNode]] = {}  # (s, p, o) -> named graphs
        self.named: dict[tuple, list[tuple]] = {}  # (s, p) -> (object, graph), named graphs
        self.held: dict = {}  # person -> (authorship, graph) of pro:isHeldBy, named graphs
        for q in quads:
            if isinstance(q.graph_name, ox.DefaultGraph):
                self.default.append(q)
                self.out.setdefault((q.subject, q.predicate), []).append(q.object)
            else:
                self.graphs.setdefault((q.subject, q.predicate, q.object), []).append(q.graph_name)
                self.named.setdefault((q.subject, q.predicate), []).append((q.object, q.graph_name))
                if q.predicate == _HELD_BY:
                    self.held.setdefault(q.object, []).append((q.subject, q.graph_name))

    def aliases(self, node) -> list:
        """The node and what it is schema:sameAs (the path `schema:sameAs?`)."""
        return [node, *self.out.get((node, _SAME_AS), ())]

    def stated_in(self, s, p, o) -> list[ox.NamedNode]:
        """The source graphs that state (s p o): under any alias of s and of o."""
        return [g for x in self.aliases(s) for y in self.aliases(o) for g in self.graphs.get((x, p, y), ())]

    def in_graph(self, s, p, graph) -> list:
        """The objects of (s p ?) in a named graph."""
        return [o for o, g in self.named.get((s, p), ()) if g == graph]

    def label(self, node) -> str | None:
        for predicate in _OBJECT_LABELS:
            values = self.out.get((node, predicate))
            if values:
                return min(v.value for v in values)
        return None


def _order(term) -> tuple:
    """The order of a fact's other end: blank nodes, IRIs, then literals, numbers (and
    years) by value, the rest by their text, then datatype and language. SPARQL's ORDER
    BY for the values kg's sources write (checked against it in tests/test_store.py);
    it leaves ties between other kinds of literal to the engine."""
    if isinstance(term, ox.BlankNode):
        return (0, 0.0, term.value, "", "")
    if not isinstance(term, ox.Literal):
        return (1, 0.0, term.value, "", "")
    kind = term.datatype.value.rsplit("#", 1)[-1]
    number = float("inf")
    if kind in ("integer", "decimal", "double", "float", "int", "long", "gYear"):
        try:
            number = float(term.value)
        except ValueError:
            pass
    return (2, number, term.value, term.datatype.value, term.language or "")


def describe_iri(store: Store, iri: str) -> Entity | None:
    """Everything the default graph says about `iri` (or about the entity it is an alias
    of), with the source files of each fact and the file:line each source read it from;
    None when the store says nothing about it. Read from the store's description of the
    entity (Store.describe: its quads and its neighbours' names and provenance)."""
    entity = canonical(store, ox.NamedNode(iri))
    seen = _Described(store.describe(entity))
    files = {q.subject: q.object.value for q in seen.default if q.predicate == _FILE}
    facts: list[tuple[tuple, Fact]] = []
    ends = [("out", q, q.object, seen.stated_in(entity, q.predicate, q.object))
            for q in seen.default if q.subject == entity]
    ends += [("in", q, q.subject, seen.stated_in(q.subject, q.predicate, entity))
             for q in seen.default if q.object == entity and q.predicate != _HELD_BY]
    for direction, q, other, stated in ends:
        label = seen.label(other) if not isinstance(other, ox.Literal) else None
        fact = Fact(direction, prefixed(q.predicate.value), q.predicate.value, label or other.value,
                    other.value if isinstance(other, ox.NamedNode) else None,
                    sorted({files[g] for g in stated if g in files}))
        facts.append(((direction, q.predicate.value, _order(other)), fact))
    if not facts:
        return None
    ordered = [fact for _key, fact in sorted(facts, key=lambda kf: kf[0])]
    base = mint("")
    aliases = sorted(f.iri for f in ordered if f.direction == "out" and f.predicate == "schema:sameAs"
                     and f.iri is not None and f.iri.startswith(base))
    label = next((f.value for p in _LABEL_PREDICATES for f in ordered
                  if f.direction == "out" and f.predicate == p), entity.value)
    return Entity(entity.value, _kind_of(seen.out.get((entity, _TYPE), ())), label, ordered,
                  _sources(seen, entity), aliases)


def _sources(seen: _Described, entity: ox.NamedNode) -> list[str]:
    """Where the sources said it: "file:line" for each line a source read it from (the
    entity, or an authorship it holds: its byline), "file" for a source without lines."""
    found: set[tuple[str, int | None]] = set()
    for x in seen.aliases(entity):
        pairs = []
        for source, graph in seen.named.get((x, _DERIVED), ()):
            if source == graph:  # stated by a source, in its own graph
                pairs += [(graph, line) for line in seen.in_graph(x, _LINE, graph) or [None]]
        for slot, graph in seen.held.get(x, ()):
            if graph in seen.in_graph(slot, _DERIVED, graph):
                pairs += [(graph, line) for line in seen.in_graph(slot, _LINE, graph)]
        for graph, line in pairs:
            for name in seen.in_graph(graph, _FILE, graph):
                found.add((name.value, None if line is None else int(line.value)))
    ordered = sorted(found, key=lambda fl: (fl[0], -1 if fl[1] is None else fl[1]))
    with_lines = {f for f, line in ordered if line is not None}
    return [f"{f}:{line}" if line is not None else f for f, line in ordered
            if line is not None or f not in with_lines]


def _kind(store: Store, entity: ox.NamedNode) -> str:
    return _kind_of(q.object for q in store.quads_for_pattern(entity, _TYPE, None, ox.DefaultGraph()))


def _kind_of(classes) -> str:
    """"person", "paper", ... for the first of an entity's classes kg names; else "entity"."""
    for cls in classes:
        local = cls.value.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        if local in _KINDS:
            return _KINDS[local]
    return "entity"


def prefixed(iri: str) -> str:
    """`schema:name` for an IRI in a known namespace, else `<iri>`."""
    for prefix, ns in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(ns):
            return f"{prefix}:{iri[len(ns):]}"
    return f"<{iri}>"
