"""validate_store (screened by SPARQL, then pyshacl) against validate_graph (pyshacl
in one call): the same results on every broken example of tests/test_shapes.py."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib
from rdflib import Graph
from rdflib.namespace import SH

import kg.validate.screens as screens_module
from kg.validate import validate_graph, validate_store
from tests.test_shapes import CASES, VALID, VALID_VARIANTS, broken

GRAPH = ox.NamedNode("https://w3id.org/kg/graph/test")


def _store(data: Graph) -> ox.Store:
    """A store whose default graph (what its validation reads, as its queries do) holds
    the data; the named graph beside it, the same triples as a source of kg's would
    hold them, changes nothing."""
    store = ox.Store()
    nt = data.serialize(format="nt").encode()
    store.load(nt, ox.RdfFormat.N_TRIPLES)
    store.load(nt, ox.RdfFormat.N_TRIPLES, to_graph=GRAPH)
    return store


def _key(report):
    """Results comparable across the two paths: blank-node labels differ."""
    def plain(text):
        return "_:b" if text is not None and (text.startswith("_:") or ":" not in text) else text
    return sorted((r.shape, r.constraint, plain(r.focus), r.path, plain(r.value), r.message, r.severity)
                  for r in report.results)


def _same(data: Graph) -> None:
    expected = validate_graph(data)
    store = _store(data)
    whole = validate_store(store)
    assert _key(whole) == _key(expected)
    assert whole.conforms == expected.conforms
    # the screens a large store gets (sh:minCount and sh:equals by MINUS) agree too,
    # and those of few nodes beside a common predicate (sh:class, sh:maxCount per node)
    for name, value in (("FEW_FOCUS_NODES", 0), ("NARROW", 0)):
        before = getattr(screens_module, name)
        setattr(screens_module, name, value)
        try:
            assert _key(validate_store(store)) == _key(expected), name
        finally:
            setattr(screens_module, name, before)
    # focus nodes are IRIs: results on blank nodes are out of reach there
    some = validate_store(store, _iris(data))
    assert _key(some) == [k for k in _key(expected) if k[2] != "_:b"]


def _iris(data: Graph) -> set[str]:
    return {str(s) for s in data.subjects() if not str(s).startswith("N") and ":" in str(s)}


def test_valid():
    _same(Graph().parse(data=VALID, format="turtle"))


@pytest.mark.parametrize("update", VALID_VARIANTS.values(), ids=VALID_VARIANTS.keys())
def test_valid_variants(update):
    _same(broken(update))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_matches_pyshacl(case):
    _same(broken(case.update))


# --- a real build of the bundled data, broken in a few places ------------------------

PRO = "http://purl.org/spar/pro/"
SCHEMA = "http://schema.org/"


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    from kg.pipeline import build, bundled_sources
    from kg.store import CURRENT

    path = tmp_path_factory.mktemp("bundled") / "store"
    result = build(bundled_sources(), store=path)
    assert result.written and result.report.conforms, result.report.format()
    store = ox.Store(str((path / CURRENT).resolve()))
    paper = next(iter(store.query(
        f"SELECT ?p WHERE {{ ?p a <{SCHEMA}ScholarlyArticle> ; <{SCHEMA}identifier> ?id }}"
        " ORDER BY ?p LIMIT 1")))[0]
    slots = [row[0] for row in store.query(
        f"SELECT ?s WHERE {{ ?s a <{PRO}RoleInTime> ; <{SCHEMA}position> ?n }} ORDER BY ?s LIMIT 2")]
    # broken in the default graph, which validation reads (the merge of the sources)
    store.update(f"""
        DELETE WHERE {{ {paper} <{SCHEMA}name> ?name }} ;
        INSERT {{ {slots[0]} <{SCHEMA}position> 99 }} WHERE {{ {slots[0]} <{SCHEMA}position> ?n }} ;
        DELETE {{ {slots[1]} <{SCHEMA}position> ?n }} INSERT {{ {slots[1]} <{SCHEMA}position> "two" }}
            WHERE {{ {slots[1]} <{SCHEMA}position> ?n }}
    """)
    expected = {
        ("kgsh:PaperShape", "kgsh:PaperShape-name", paper.value),
        ("kgsh:AuthorshipShape", "kgsh:AuthorshipShape-position", slots[0].value),
        ("kgsh:AuthorshipShape", "kgsh:AuthorshipShape-position-datatype", slots[1].value),
    }
    store.flush()
    return store, expected, {paper.value, slots[0].value, slots[1].value}, str((path / CURRENT).resolve())


def test_breaks_in_a_real_build_are_reported(bundled):
    store, expected, nodes, _path = bundled
    ticks = []
    report = validate_store(store, on_progress=lambda done, total: ticks.append((done, total)))
    found = {(r.shape, r.constraint, r.focus) for r in report.results}
    assert expected <= found, report.format()
    assert not report.conforms
    assert ticks[-1][0] == ticks[-1][1] > 0
    # the same breaks, looked up node by node
    some = validate_store(store, nodes)
    assert expected <= {(r.shape, r.constraint, r.focus) for r in some.results}, some.format()
    assert {r.focus for r in some.results} <= nodes | {r.focus for r in report.results}


def test_screen_queries_in_worker_processes_give_the_same_report(bundled):
    store, expected, _nodes, path = bundled
    alone = validate_store(store)
    shared = validate_store(store, workers=2, path=path)
    assert shared.results == alone.results
    assert expected <= {(r.shape, r.constraint, r.focus) for r in shared.results}


@pytest.mark.parametrize("steps", [
    [("urn:p", True)], [("urn:p", False)],
    [("urn:p", False), ("urn:q", True)], [("urn:p", True), ("urn:q", True), ("urn:r", False)],
], ids=["p", "^p", "^p/q", "p/q/^r"])
def test_a_path_read_by_hash_joins_has_the_pairs_of_the_path(steps):
    """The whole-store screens read a sequence path as a join of one-pattern subqueries
    (so that Oxigraph hash-joins them): the same (?this, ?o) pairs as the path."""
    store = ox.Store()
    nodes = [ox.NamedNode(f"urn:n{i}") for i in range(12)]
    for i, node in enumerate(nodes):  # a few branching, overlapping edges per predicate
        for p in ("urn:p", "urn:q", "urn:r"):
            for j in (i * 7 + len(p), i * 3 + 1):
                store.add(ox.Quad(node, ox.NamedNode(p), nodes[(j + ord(p[-1])) % len(nodes)], GRAPH))
    path = screens_module._path_text(steps)

    def pairs(where: str) -> set:
        return {(r[0], r[1]) for r in store.query(f"SELECT DISTINCT ?this ?o WHERE {{ {where} }}",
                                                  default_graph=GRAPH)}

    expected = pairs(f"?this {path} ?o")
    assert len(expected) > 10
    assert pairs(screens_module._path_scan(steps)) == expected


@pytest.mark.parametrize("case", [c for c in CASES if any(str(k).endswith(("PaperShape-duplicatePosition",
                                                                         "PaperShape-positionGap"))
                                                         for k in c.expect)], ids=lambda c: c.id)
def test_a_store_screen_selects_what_its_constraint_reports(case):
    """A SPARQL constraint's kg:storeScreen (its whole-store form, hash-joined) selects
    at least the focus nodes of its own query, on the broken cases of the byline (a
    screen may select more: its own query then decides on those, and pyshacl reports)."""
    from kg.namespaces import KG
    from kg.validate import shapes_graph

    shapes = shapes_graph()
    screened = [c for c in shapes.subjects(rdflib.URIRef(KG + "storeScreen"), None)]
    assert len(screened) == 4
    store = _store(broken(case.update))
    prefixes = (f"PREFIX pro: <{PRO}>\nPREFIX schema: <{SCHEMA}>\nPREFIX kg: <{KG}>\n"
                "PREFIX prov: <http://www.w3.org/ns/prov#>\n")

    def nodes(text) -> set:
        query = prefixes + str(text).replace("$this", "?this")
        return {row["this"] for row in store.query(query)}

    found = set()
    for constraint in screened:
        own = nodes(shapes.value(constraint, SH.select))
        assert nodes(shapes.value(constraint, rdflib.URIRef(KG + "storeScreen"))) >= own
        found |= own
    assert found  # each case breaks the byline of one paper
