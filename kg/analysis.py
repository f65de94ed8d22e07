"""networkx views of the store: the co-author network and the author-topic network."""

from __future__ import annotations

import heapq
from pathlib import Path

import networkx as nx
import pyoxigraph as ox

from kg.export import write_atomic
from kg.namespaces import PREFIXES

_COAUTHORS = """
SELECT ?a ?aname ?b ?bname (COUNT(DISTINCT ?paper) AS ?papers) WHERE {
  ?paper a schema:ScholarlyArticle ; schema:author ?a, ?b .
  FILTER(STR(?a) < STR(?b))
  ?a schema:name ?aname . ?b schema:name ?bname .
} GROUP BY ?a ?aname ?b ?bname
"""

_AUTHOR_TOPICS = """
SELECT ?a ?aname ?t ?tname (COUNT(DISTINCT ?paper) AS ?papers) WHERE {
  ?paper a schema:ScholarlyArticle ; schema:author ?a ; dcterms:subject ?t .
  ?a schema:name ?aname . ?t skos:prefLabel ?tname .
} GROUP BY ?a ?aname ?t ?tname
"""


def _rows(store: ox.Store, query: str):
    return store.query(query, prefixes=PREFIXES, use_default_graph_as_union=True)


def coauthor_graph(store: ox.Store) -> nx.Graph:
    """People as nodes; an edge per pair who wrote together, weighted by joint papers."""
    graph = nx.Graph(name="co-authors")
    for row in _rows(store, _COAUTHORS):
        graph.add_node(row["a"].value, label=row["aname"].value, kind="person")
        graph.add_node(row["b"].value, label=row["bname"].value, kind="person")
        graph.add_edge(row["a"].value, row["b"].value, weight=int(row["papers"].value))
    for row in _rows(store, "SELECT ?p ?name WHERE { ?p a schema:Person ; schema:name ?name }"):
        if row["p"].value not in graph:  # single authors are people too
            graph.add_node(row["p"].value, label=row["name"].value, kind="person")
    return graph


def topic_graph(store: ox.Store) -> nx.Graph:
    """Bipartite: people and topics; an edge when a person wrote on a topic, weighted by papers."""
    graph = nx.Graph(name="author-topics")
    for row in _rows(store, _AUTHOR_TOPICS):
        graph.add_node(row["a"].value, label=row["aname"].value, kind="person", bipartite=0)
        graph.add_node(row["t"].value, label=row["tname"].value, kind="topic", bipartite=1)
        graph.add_edge(row["a"].value, row["t"].value, weight=int(row["papers"].value))
    return graph


def write_graphml(graph: nx.Graph, path: str | Path) -> None:
    """GraphML with nodes and edges in sorted order, written atomically."""
    ordered = nx.Graph(name=graph.graph.get("name", ""))
    ordered.add_nodes_from(sorted(graph.nodes(data=True)))
    ordered.add_edges_from(sorted((min(u, v), max(u, v), d) for u, v, d in graph.edges(data=True)))
    data = "\n".join(nx.generate_graphml(ordered)) + "\n"
    write_atomic(path, data.encode("utf-8"))


# --- authors sharing topics, without a SPARQL self-join ----------------------------------

_AUTHOR_TOPIC_PAIRS = """
SELECT DISTINCT ?person ?topic WHERE { ?paper schema:author ?person ; dcterms:subject ?topic }
"""
_TOPIC_LABELS = "SELECT ?t ?label WHERE { ?t skos:prefLabel ?label }"
_NAMES = "SELECT ?p ?name WHERE { ?p schema:name ?name }"


def _as_int(value, default: int | None) -> int | None:
    if value is None:
        return default
    return int(value.value if isinstance(value, ox.Literal) else value)


def _as_iri(value) -> str | None:
    if value is None:
        return None
    return value.value if isinstance(value, ox.NamedNode) else str(value)


def authors_sharing_topics(store: ox.Store, author=None, min_shared=1, limit=None):
    """The answer of queries/authors-sharing-topics.rq, by counting topic bitsets.

    Same rows as the SPARQL (author1, author2, shared, topics; most shared first, then
    by the two names), computed from one author-topic incidence instead of a self-join
    of papers by topic. Parameters may be RDF terms (as `kg.queries.run_saved` binds
    them) or plain values. With `limit`, only the first `limit` rows are made: pairs are
    visited from the authors with most topics down and the search stops once no pair
    left can reach the `limit`-th count (ties at that count are all kept, then cut in
    the query's order, so the rows equal the query's followed by LIMIT).

    GROUP_CONCAT's order is unspecified in SPARQL; here the topic labels are sorted.
    Pairs with the same count and the same two names are ordered by their IRIs.
    """
    from kg.queries import Result  # kg.queries imports nothing from here; avoid a cycle anyway

    author = _as_iri(author)
    min_shared = max(_as_int(min_shared, 1), 1)  # a pair shares at least one topic
    limit = _as_int(limit, None)
    variables = ["author1", "author2", "shared", "topics"]
    if limit is not None and limit <= 0:
        return Result(variables, [])

    labels: dict[str, set] = {}
    for row in _rows(store, _TOPIC_LABELS):
        labels.setdefault(row["t"].value, set()).add(row["label"])
    names: dict[str, ox.Literal] = {}
    for row in _rows(store, _NAMES):
        p, name = row["p"].value, row["name"]
        if p not in names or name.value < names[p].value:  # MIN(?name)
            names[p] = name
    topic_bit: dict[str, int] = {}
    topic_of_bit: list[str] = []
    bits: dict[str, int] = {}
    for row in _rows(store, _AUTHOR_TOPIC_PAIRS):
        person, topic = row["person"], row["topic"].value
        # the query joins ?topic skos:prefLabel and ?a schema:name, and compares STR(?a):
        # topics without a label and people without a name (or blank nodes) drop out
        if topic not in labels or not isinstance(person, ox.NamedNode) or person.value not in names:
            continue
        bit = topic_bit.get(topic)
        if bit is None:
            bit = topic_bit[topic] = len(topic_of_bit)
            topic_of_bit.append(topic)
        bits[person.value] = bits.get(person.value, 0) | (1 << bit)

    found: list[tuple[int, str, str]] = []  # (shared, a1, a2)
    if author is not None:
        mine = bits.get(author, 0)
        if mine:
            for other, theirs in bits.items():
                if other != author:
                    n = (mine & theirs).bit_count()
                    if n >= min_shared:
                        found.append((n, author, other))
    else:
        people = sorted(bits, key=lambda p: -bits[p].bit_count())
        sizes = [bits[p].bit_count() for p in people]
        floor = min_shared  # no pair below it can be in the answer; rises with the top-k
        best: list[int] = []  # min-heap of the `limit` largest counts seen
        for i, a in enumerate(people):
            if sizes[i] < floor:
                break  # every pair left shares at most sizes[i] topics
            ta = bits[a]
            for j in range(i + 1, len(people)):
                if sizes[j] < floor:
                    break
                n = (ta & bits[people[j]]).bit_count()
                if n < floor:
                    continue
                b = people[j]
                found.append((n, a, b) if a < b else (n, b, a))
                if limit is not None:
                    if len(best) < limit:
                        heapq.heappush(best, n)
                    elif n > best[0]:
                        heapq.heapreplace(best, n)
                    if len(best) == limit and best[0] > floor:
                        floor = best[0]
                        found = [f for f in found if f[0] >= floor]
        found = [f for f in found if f[0] >= floor]

    def key(f):
        n, a1, a2 = f
        return (-n, names[a1].value, names[a2].value, a1, a2)

    found.sort(key=key)
    if limit is not None:
        found = found[:limit]
    integer = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
    rows = []
    for n, a1, a2 in found:
        shared = bits[a1] & bits[a2]
        cells = set()
        while shared:
            low = shared & -shared
            cells |= {label.value for label in labels[topic_of_bit[low.bit_length() - 1]]}
            shared ^= low
        rows.append([names[a1], names[a2], ox.Literal(str(n), datatype=integer),
                     ox.Literal("; ".join(sorted(cells)))])
    return Result(variables, rows)


# all pairs: the edges and the names apart, joined in Python; as one SPARQL join
# Oxigraph takes 13 s on the whole Anthology, the two reads 4 s
_AUTHOR_EDGES = "SELECT ?paper ?a WHERE { ?paper schema:author ?a }"
_ALL_NAMES = "SELECT ?s ?name WHERE { ?s schema:name ?name }"


def _joined_incidence(store: ox.Store):
    """Rows (paper, title, a, name) of `?paper schema:author ?a ; schema:name ?title .
    ?a schema:name ?name`, from two plain reads."""
    names: dict[str, list[ox.Literal]] = {}
    for row in _rows(store, _ALL_NAMES):
        names.setdefault(row["s"].value, []).append(row["name"])
    for row in _rows(store, _AUTHOR_EDGES):
        paper, a = row["paper"], row["a"]
        for title in names.get(paper.value, ()):
            for name in names.get(a.value, ()):
                yield {"paper": paper, "title": title, "a": a, "name": name}
# one person's papers, with the person bound (a triple pattern, so Oxigraph seeds the
# join with it; the .rq's COALESCE filter cannot, and reads every co-author pair)
_PAPERS_OF = """
SELECT ?paper ?title ?a ?name ?author WHERE {
  ?paper schema:author ?author ; schema:author ?a ; schema:name ?title . ?a schema:name ?name
}
"""


def coauthors(store: ox.Store, author=None):
    """The answer of queries/coauthors.rq from the paper-author incidence.

    Same rows as the SPARQL (author1, author2, papers, titles; most papers first, then
    by the two names): with `author`, the pairs (author, co-author); without, every
    pair once, the IRI of author1 sorting before that of author2. Titles are sorted
    (GROUP_CONCAT's order is unspecified); equal rows are ordered by their IRIs.
    """
    from kg.queries import Result

    author = _as_iri(author)
    variables = ["author1", "author2", "papers", "titles"]
    if author is not None:
        incidence = store.query(_PAPERS_OF, prefixes=PREFIXES, use_default_graph_as_union=True,
                                substitutions={ox.Variable("author"): ox.NamedNode(author)})
    else:
        incidence = _joined_incidence(store)
    titles: dict[str, set[str]] = {}
    authors: dict[str, set[str]] = {}
    names: dict[str, ox.Literal] = {}
    for row in incidence:
        a, name = row["a"], row["name"]
        if not isinstance(a, ox.NamedNode):
            continue  # the query compares STR(?a1) < STR(?a2): blank nodes have no STR
        paper = row["paper"].value
        titles.setdefault(paper, set()).add(row["title"].value)
        authors.setdefault(paper, set()).add(a.value)
        if a.value not in names or name.value < names[a.value].value:  # MIN(?name)
            names[a.value] = name

    pairs: dict[tuple[str, str], list[str]] = {}
    for paper, group in authors.items():
        people = sorted(group)
        if author is not None:
            partners = [(author, b) for b in people if b != author]
        else:
            partners = [(a, b) for i, a in enumerate(people) for b in people[i + 1:]]
        for pair in partners:
            pairs.setdefault(pair, []).append(paper)

    integer = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
    ranked = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), names[kv[0][0]].value,
                                                   names[kv[0][1]].value, kv[0]))
    rows = []
    for (a1, a2), papers in ranked:
        cells = sorted({t for paper in papers for t in titles[paper]})
        rows.append([names[a1], names[a2], ox.Literal(str(len(papers)), datatype=integer),
                     ox.Literal("; ".join(cells))])
    return Result(variables, rows)
