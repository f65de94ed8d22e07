"""SPARQL 1.1 dataset semantics where the engines fall short: several FROM graphs.

A query's default graph named by several FROM clauses (or `default-graph-uri`
parameters) is their RDF merge: a triple in two of them is there once. Oxigraph 0.5
unions them instead, a triple once per graph that holds it (its issue #1919, fixed
after 0.5.13), and a server does the same or worse. Such a query runs here on a
scratch store whose default graph is the merge, with exactly the named graphs the
query asked for. One FROM graph, or none, needs none of this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import pyoxigraph as ox

from kg import sparqltext


def merges(default_graphs: Sequence[str]) -> bool:
    """Whether a default graph made of these graphs needs merging (two or more)."""
    return len(set(default_graphs)) > 1


def query_merged(text: str, default_graphs: Sequence[str], named_graphs: Sequence[str],
                 triples_of: Callable[[ox.NamedNode], Iterable[ox.Triple]], **options):
    """Run `text` with the merge of `default_graphs` as its default graph and
    `named_graphs` as its named graphs, whatever FROM clauses it has; `triples_of`
    reads one graph of the store. `options` go to Store.query (prefixes, substitutions)."""
    scratch = ox.Store()
    default = ox.DefaultGraph()
    for iri in dict.fromkeys(default_graphs):
        scratch.extend(ox.Quad(t.subject, t.predicate, t.object, default) for t in triples_of(ox.NamedNode(iri)))
    named = [ox.NamedNode(iri) for iri in dict.fromkeys(named_graphs)]
    for graph in named:
        scratch.extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples_of(graph))
    return scratch.query(text, default_graph=default, named_graphs=named, **options)


def with_merged_from(text: str, triples_of: Callable[[ox.NamedNode], Iterable[ox.Triple]],
                     prefixes: dict[str, str] | None = None, **options):
    """The answer of a query whose own FROM clauses name several graphs, on their merge;
    None when the query needs nothing of the kind (run it as it is)."""
    reading = sparqltext.read(text, prefixes)
    if not merges(reading.default_graphs):
        return None
    return query_merged(text, reading.default_graphs, reading.named_graphs, triples_of,
                        prefixes=prefixes, **options)


def store_triples(store: ox.Store) -> Callable[[ox.NamedNode], Iterable[ox.Triple]]:
    """`triples_of` for an embedded store."""
    def triples_of(graph: ox.NamedNode) -> Iterable[ox.Triple]:
        return (ox.Triple(q.subject, q.predicate, q.object)
                for q in store.quads_for_pattern(None, None, None, graph))
    return triples_of
