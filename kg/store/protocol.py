"""What a kg store is to the layers above it: the `Store` protocol, how a --store value
names one, and the description of an entity that every store gives the same way.

Two stores implement it: kg.store.local.LocalStore (a directory of generations on
disk) and kg.store.remote.RemoteStore (a SPARQL 1.1 server). Everything above the
store (the pipeline, exports, queries, descriptions, the server) speaks only to this.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable

import pyoxigraph as ox

from kg.namespaces import KG, PROV, SCHEMA, SKOS

DEFAULT_STORE = ".kg"

SAME_AS = ox.NamedNode(SCHEMA + "sameAs")
# what a description also holds of each node next to the entity: how to name it, which
# node it stands for, and where a source said it (see describe_quads)
NEIGHBOUR_PREDICATES = tuple(ox.NamedNode(p) for p in (
    SCHEMA + "name", SKOS + "prefLabel", SCHEMA + "title", KG + "fileName", SCHEMA + "sameAs",
    PROV + "wasDerivedFrom", KG + "sourceLine"))

Graph = ox.NamedNode | ox.DefaultGraph


def store_path(value: str | os.PathLike | None = None) -> Path | str:
    """The store a --store value names: the argument, else `KG_STORE`, else `.kg` here;
    a directory as a Path, a server (see is_url) as the string it is."""
    chosen = value or os.environ.get("KG_STORE") or DEFAULT_STORE
    return chosen if is_url(chosen) else Path(chosen)


def is_url(value: object) -> bool:
    """Whether a --store value names a server (kg.store.remote) rather than a directory."""
    return isinstance(value, str) and value.lower().startswith(("http://", "https://", "query="))


@runtime_checkable
class Store(Protocol):
    """A kg store: its reads are pyoxigraph's own API (which a read-only pyoxigraph
    Store has as it is), plus a dump, an entity's description and atomic writes.

    The dataset is kg's: a default graph that is the merge of the sources (one node per
    real paper and person, see kg.merge), and named graphs for each source, the meta
    graph and the reconciliation graph. Writes never show half-done: either through
    `staging` (a new version built embedded, then `Staging.commit`, one swap) or
    `replace_graphs`. Writers hold kg.store.writer_lock(spec) first."""

    embedded: bool
    """Whether reads are in-process (a pattern lookup costs microseconds: engines ask
    thousands) or over a network (one query beats thousands of lookups)."""

    @property
    def version(self) -> str:
        """A token that changes when a writer swaps in a new version (an embedded
        store's generation; a digest of a server's meta graph), for caches of what was
        read."""

    def query(self, query: str, *, prefixes: dict[str, str] | None = None,
              substitutions: dict | None = None, default_graph=None, named_graphs=None):
        """Solutions, a boolean or triples; parameters bound as RDF terms."""

    def quads_for_pattern(self, subject, predicate, object, graph_name=None) -> Iterator[ox.Quad]:
        """The quads matching a pattern (None: any), the default graph (the merge) included."""

    def named_graphs(self) -> Iterator[ox.NamedNode]:
        """Each source's graph, the meta graph and the reconciliation graph."""

    def contains_named_graph(self, graph: ox.NamedNode) -> bool: ...

    def __len__(self) -> int:
        """Quads in all graphs."""

    def dump(self, output=None, format: ox.RdfFormat | None = None, *,
             from_graph: Graph | None = None) -> bytes | None:
        """One graph's triples (or, without `from_graph`, every quad) serialised in
        `format`, as pyoxigraph's Store.dump: written to `output` (a path or a binary
        file), else returned. What kg.export orders and formats."""

    def describe(self, iri: ox.NamedNode) -> list[ox.Quad]:
        """The quads that describe an entity (what kg show and the entity pages read):
        see describe_quads."""

    def staging(self, *, extend: bool, on_stage: Callable[[str], None] | None = None
                ) -> AbstractContextManager:
        """A new version of the store to write (a kg.store.local.Staging: an embedded
        store, a copy of this one's quads when `extend`), made live by its `commit`
        in one swap; dropped if the block raises or returns without committing."""

    def replace_graphs(self, contents: Mapping[Graph, Iterable[ox.Triple]],
                       drop: Iterable[ox.NamedNode] = (), on_stage: Callable[[str], None] | None = None
                       ) -> None:
        """Make each graph of `contents` hold exactly its triples (ox.DefaultGraph(): the
        merge) and remove the graphs in `drop`, all in one atomic swap."""

    def exists(self) -> bool:
        """Whether the store holds kg's graphs: a build's target need not."""

    def refresh(self) -> None:
        """Read the live version from now on, if a writer has swapped in a new one."""

    def close(self) -> None:
        """Stop reading (an embedded store lets a later build delete what this read)."""


def in_process(store) -> bool:
    """Whether `store` reads in this process (see Store.embedded); a bare pyoxigraph
    Store (a staging store, an in-memory one) does."""
    return getattr(store, "embedded", True)


def describe_quads(store, iri: ox.NamedNode) -> list[ox.Quad]:
    """An entity's description, by pattern lookups on `store`: every quad, in any graph,
    with the entity or an alias of it (its schema:sameAs in the default graph) as
    subject or object; and for each other node of those quads, its quads (in any graph)
    whose predicate is one of NEIGHBOUR_PREDICATES: a symmetric concise bounded
    description of the entity with the names and provenance of what it touches.
    Enough for kg.facts to say every fact, its label and the sources that state it,
    without a query that walks sameAs paths for each (3 s on the bundled store)."""
    found: dict[ox.Quad, None] = {}
    aliases = [iri, *(q.object for q in store.quads_for_pattern(iri, SAME_AS, None, ox.DefaultGraph())
                      if not isinstance(q.object, ox.Literal))]
    inner = set(aliases)
    for node in aliases:
        found.update(dict.fromkeys(store.quads_for_pattern(node, None, None, None)))
        found.update(dict.fromkeys(store.quads_for_pattern(None, None, node, None)))
    neighbours: dict = {}
    for quad in list(found):
        for term in (quad.subject, quad.object, quad.graph_name):
            if isinstance(term, (ox.NamedNode, ox.BlankNode)) and term not in inner:
                neighbours[term] = None
    for node in neighbours:
        for predicate in NEIGHBOUR_PREDICATES:
            found.update(dict.fromkeys(store.quads_for_pattern(node, predicate, None, None)))
    return list(found)
