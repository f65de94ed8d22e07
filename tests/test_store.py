"""The store interface (kg.store): one protocol, embedded and on a server.

The server half (RemoteStore against real servers) is in test_remote.py; here, the
embedded store's writes and the description of entities that `kg show`, the pages and
/entity read, checked against the SPARQL query it replaced (kept below as the reference).
"""

from __future__ import annotations

import shutil

import pyoxigraph as ox
import pytest

from kg import facts
from kg import store as stores
from kg.errors import StoreError
from kg.namespaces import PREFIXES, mint
from kg.queries import canonical

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


def sparql_description(store, iri: str) -> facts.Entity | None:
    """kg show's description as one SPARQL query computed it before Store.describe."""
    entity = canonical(store, ox.NamedNode(iri))
    bound = {ox.Variable("e"): entity}
    found: dict[tuple, facts.Fact] = {}
    for row in store.query(_FACTS, prefixes=PREFIXES, substitutions=bound):
        obj = row["o"]
        key = (row["dir"].value, row["p"].value, str(obj))
        fact = found.get(key)
        if fact is None:
            label = row["olabel"].value if row["olabel"] else obj.value
            fact = found[key] = facts.Fact(row["dir"].value, facts.prefixed(row["p"].value), row["p"].value, label,
                                     obj.value if isinstance(obj, ox.NamedNode) else None)
        if row["file"] and row["file"].value not in fact.sources:
            fact.sources.append(row["file"].value)
    if not found:
        return None
    sources = [f"{r['file'].value}:{r['line'].value}" if r["line"] else r["file"].value
               for r in store.query(_SOURCES, prefixes=PREFIXES, substitutions=bound)]
    with_lines = {s.rsplit(":", 1)[0] for s in sources if ":" in s}
    sources = [s for s in sources if ":" in s or s not in with_lines]
    base = mint("")
    aliases = sorted(f.iri for f in found.values() if f.direction == "out" and f.predicate == "schema:sameAs"
                     and f.iri is not None and f.iri.startswith(base))
    label = next((f.value for p in facts._LABEL_PREDICATES for f in found.values()
                  if f.direction == "out" and f.predicate == p), entity.value)
    return facts.Entity(entity.value, facts._kind(store, entity), label, list(found.values()), sources, aliases)


def _entities(store, per_kind: int | None = None) -> list[str]:
    """Every typed IRI of the default graph, or `per_kind` of each type, in IRI order;
    and a few aliases (IRIs a source minted, schema:sameAs a merged node)."""
    rows = store.query("SELECT DISTINCT ?t ?e WHERE { ?e a ?t FILTER(isIRI(?e)) } ORDER BY ?t ?e")
    by_kind: dict[str, list[str]] = {}
    for row in rows:
        by_kind.setdefault(row["t"].value, []).append(row["e"].value)
    picked = [e for iris in by_kind.values() for e in iris[:per_kind]]
    aliases = [r["x"].value for r in store.query(
        "SELECT DISTINCT ?x WHERE { ?e <http://schema.org/sameAs> ?x FILTER(isIRI(?x)) } ORDER BY ?x LIMIT 10")]
    return list(dict.fromkeys(picked + aliases))


def _same(store, iris: list[str]) -> None:
    for iri in iris:
        old, new = sparql_description(store, iri), facts.describe_iri(store, iri)
        if old is not None:  # the query's order of a fact's files was its rows'; now sorted
            for fact in old.facts:
                fact.sources.sort()
        assert new == old, iri


def test_the_description_says_what_the_query_said_on_the_guide(seed_store):
    """Entities of every kind in the guide's store (25 of each): facts in order, labels,
    files, lines, aliases."""
    iris = _entities(seed_store, per_kind=25)
    assert len(iris) > 120
    _same(seed_store, iris)


@pytest.mark.slow
def test_the_description_says_what_the_query_said_on_the_bundled_store(bundled_store):
    """Guide and Anthology merged: aliases from both, authorships with byline lines, the
    people with the most papers (the query took seconds for each of those)."""
    top = [r["p"].value for r in bundled_store.query(
        "SELECT ?p (COUNT(*) AS ?n) WHERE { ?x <http://schema.org/author> ?p } GROUP BY ?p "
        "ORDER BY DESC(?n) ?p LIMIT 3")]
    iris = top + _entities(bundled_store, per_kind=2)
    assert len(iris) > 25
    _same(bundled_store, iris)


def test_a_description_holds_the_entity_its_aliases_and_their_neighbours(bundled_store):
    """Store.describe: the quads of the entity and of its aliases in every graph, and the
    names and provenance of what they touch, nothing else."""
    # a paper of the guide's that the Anthology has too: two IRIs, one node
    paper = next(r["e"] for r in bundled_store.query(
        "SELECT ?e WHERE { ?e a <http://schema.org/ScholarlyArticle> ; <http://schema.org/sameAs> ?x "
        f"FILTER(STRSTARTS(STR(?x), \"{mint('paper', '')}\")) }} ORDER BY ?e LIMIT 1"))
    quads = bundled_store.describe(paper)
    aliases = {paper} | {q.object for q in bundled_store.quads_for_pattern(
        paper, stores.protocol.SAME_AS, None, ox.DefaultGraph())}
    assert len(aliases) >= 3  # the Anthology's IRI, the guide's, the DOI
    mine = [q for q in quads if q.subject in aliases or q.object in aliases]
    expected = {q for a in aliases for pattern in ((a, None, None), (None, None, a))
                for q in bundled_store.quads_for_pattern(*pattern, None)}
    assert set(mine) == expected
    assert {q.predicate for q in quads if q not in expected} <= set(stores.protocol.NEIGHBOUR_PREDICATES)
    graphs = {q.graph_name for q in mine}
    assert ox.DefaultGraph() in graphs and len(graphs) >= 3  # the merge and both sources


def _copy(path, tmp_path):
    target = tmp_path / "store"
    shutil.copytree(path, target, symlinks=True)
    return target


def test_replace_graphs_swaps_in_one_step_and_readers_see_it_after_refresh(seed_store_path, tmp_path):
    path = _copy(seed_store_path, tmp_path)
    reader, writer = stores.open_store(path), stores.open_store(path, must_exist=False)
    assert isinstance(reader, stores.LocalStore) and isinstance(reader, stores.Store)
    before, meta = len(reader), ox.NamedNode(mint("graph", "meta"))
    graph = ox.NamedNode("urn:example:notes")
    note = ox.Triple(ox.NamedNode("urn:example:a"), ox.NamedNode("urn:example:says"), ox.Literal("hi"))
    merged = [ox.Triple(q.subject, q.predicate, q.object)
              for q in reader.quads_for_pattern(None, None, None, ox.DefaultGraph())][:10]
    old_meta = len(list(reader.quads_for_pattern(None, None, None, meta)))
    old = reader.generation
    with stores.writer_lock(path):
        writer.replace_graphs({graph: [note], ox.DefaultGraph(): merged}, drop=[meta])
    # the reader keeps the generation it read, on disk, until it refreshes
    assert len(reader) == before and reader.contains_named_graph(meta)
    assert old.is_dir() and (path / stores.CURRENT).resolve() != old
    reader.refresh()
    assert reader.contains_named_graph(graph) and not reader.contains_named_graph(meta)
    assert len(list(reader.quads_for_pattern(None, None, None, ox.DefaultGraph()))) == 10
    assert len(reader) == before - old_meta - _default_size(seed_store_path) + 10 + 1
    # the first generation is read by no one now, the second by the reader until it closes:
    # the next write removes both
    reader.close()
    with stores.writer_lock(path):
        writer.replace_graphs({graph: [note]})
    assert not old.exists()
    assert sorted(p.name for p in path.glob("data-*")) == [(path / stores.CURRENT).resolve().name]


def _default_size(path) -> int:
    store = stores.open_store(path)
    return len(list(store.quads_for_pattern(None, None, None, ox.DefaultGraph())))


def test_a_replace_that_fails_changes_nothing(seed_store_path, tmp_path):
    path = _copy(seed_store_path, tmp_path)
    store = stores.open_store(path)
    live, size = (path / stores.CURRENT).resolve(), len(store)

    def broken():
        yield ox.Triple(ox.NamedNode("urn:example:a"), ox.NamedNode("urn:example:b"), ox.Literal("c"))
        raise OSError("the disk went away")

    with pytest.raises(OSError, match="the disk went away"), stores.writer_lock(path):
        store.replace_graphs({ox.NamedNode("urn:example:g"): broken()})
    store.refresh()
    assert (path / stores.CURRENT).resolve() == live and len(store) == size
    assert sorted(p.name for p in path.glob("data-*")) == [live.name]  # no half-written generation


def test_no_store_is_an_error_at_open_but_not_for_a_build_target(tmp_path):
    with pytest.raises(StoreError, match="no store at"):
        stores.open_store(tmp_path / "none")
    target = stores.open_store(tmp_path / "none", must_exist=False)
    assert target.embedded and not target.exists()
    with pytest.raises(StoreError, match="no store at"):
        len(target)


def test_a_reader_keeps_its_pin_whatever_another_reader_of_the_process_does(seed_store_path, tmp_path,
                                                                              monkeypatch):
    """One pin a generation in a process: a second reader that closes, or fails to open,
    does not let go of the pin the first one reads under (a build would delete it)."""
    from kg.store import local

    path = _copy(seed_store_path, tmp_path)
    first = stores.open_store(path)
    live = first.generation
    second = stores.open_store(path)
    second.close()
    assert live in local._PINS
    monkeypatch.setattr(local.ox.Store, "read_only", lambda _path: (_ for _ in ()).throw(OSError("busy")))
    with pytest.raises(StoreError, match="cannot open the store"):
        stores.open_store(path)
    assert live in local._PINS and len(first) > 0
    first.close()
    assert live not in local._PINS


def test_adding_to_no_store_is_said_before_any_source_is_read(tmp_path):
    """--add needs a store to add to: said at once, not after reading the sources (here
    a broken one, whose error would otherwise come first); nothing is created."""
    from kg.pipeline import build

    broken = tmp_path / "broken.ttl"
    broken.write_text("<a> <b> .\n", encoding="utf-8")
    with pytest.raises(StoreError, match="no store at .* to add to; run `kg build` first"):
        build([broken], store=tmp_path / "none", add=True)
    assert not (tmp_path / "none" / stores.CURRENT).exists()
