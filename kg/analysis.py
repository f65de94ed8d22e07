"""networkx views of the store: the co-author network and the author-topic network."""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from kg.atomic import write_atomic
from kg.namespaces import PREFIXES
from kg.store import Store

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


def _rows(store: Store, query: str):
    return store.query(query, prefixes=PREFIXES)


def coauthor_graph(store: Store) -> nx.Graph:
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


def topic_graph(store: Store) -> nx.Graph:
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
