"""kg.engines.authors_sharing_topics gives the rows of queries/authors-sharing-topics.rq."""

from __future__ import annotations

import importlib.util
from itertools import groupby
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import engines, queries
from kg.errors import QueryError, UnknownNameError
from kg.namespaces import XSD

BENCH = Path(__file__).resolve().parents[1] / "bench" / "synthetic.py"
QUERY = "authors-sharing-topics"


def _synthetic():
    spec = importlib.util.spec_from_file_location("bench_synthetic", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory):
    """About 10k triples from bench/synthetic.py, in an on-disk store."""
    tmp = tmp_path_factory.mktemp("synthetic")
    bench = _synthetic()
    quads = bench.write(tmp / "graph.nq", 10_000, seed=7)
    assert 9_000 <= quads <= 12_000
    bench.load(tmp / "graph.nq", tmp / "store")
    return ox.Store.read_only(str(tmp / "store"))


def sparql(store, **params) -> list[list]:
    """The .rq text run as SPARQL, with the same bindings run_saved makes; no parameter columns."""
    query = queries.get_query(QUERY)
    by_name = {p.name: p for p in query.params}
    bindings = {ox.Variable(k): queries.bind(store, by_name[k], str(v))
                for k, v in params.items() if k != "limit"}
    if "min_shared" not in params:
        bindings[ox.Variable("min_shared")] = queries.bind(store, by_name["min_shared"], "1")
    result = queries.run_sparql(store, query.text, bindings)
    assert result.variables[:4] == ["author1", "author2", "shared", "topics"]
    rows = [row[:4] for row in result.rows]
    return rows[: params["limit"]] if "limit" in params else rows


def fast(store, **params) -> list[list]:
    result = queries.run_saved(store, QUERY, {k: str(v) for k, v in params.items()})
    assert result.variables == ["author1", "author2", "shared", "topics"]
    return result.rows


def _key(row):
    return (row[0], row[1], row[2], frozenset(row[3].value.split("; ")))


def assert_same(got: list[list], expected: list[list]) -> None:
    """Row by row, topics as sets; rows the query's order cannot tell apart (same count and
    the same two names) may come in any order among themselves."""
    assert len(got) == len(expected)
    order = lambda row: (int(row[2].value), row[0].value, row[1].value)
    for (k1, g1), (k2, g2) in zip(groupby(got, order), groupby(expected, order), strict=True):
        assert k1 == k2
        assert sorted(map(_key, g1), key=str) == sorted(map(_key, g2), key=str)
    for a, b in zip(got, expected):
        assert a[2].datatype == b[2].datatype == ox.NamedNode(XSD + "integer")
        assert a[0] == b[0] and a[1] == b[1]  # the same literals, datatype included


@pytest.mark.parametrize("params", [{}, {"min_shared": 2}, {"author": "Samson Tan"},
                                    {"author": "samson tan", "min_shared": 2},
                                    {"limit": 5}, {"limit": 100}, {"min_shared": 2, "limit": 3}])
def test_seed_fast_path_equals_the_sparql(seed_store, params):
    expected = sparql(seed_store, **params)
    assert expected
    assert_same(fast(seed_store, **params), expected)


@pytest.mark.parametrize("params", [{}, {"min_shared": 2}, {"min_shared": 3}, {"limit": 1},
                                    {"limit": 100}, {"limit": 100, "min_shared": 2}])
def test_synthetic_fast_path_equals_the_sparql(synthetic_store, params):
    expected = sparql(synthetic_store, **params)
    assert len(expected) >= min(params.get("limit", 50), 50)
    assert_same(fast(synthetic_store, **params), expected)


def test_synthetic_by_author_equals_the_sparql(synthetic_store):
    top = sparql(synthetic_store, limit=1)[0][0].value  # a prolific author, by name
    for params in ({"author": top}, {"author": top, "min_shared": 2}, {"author": top, "limit": 7}):
        expected = sparql(synthetic_store, **params)
        assert expected
        assert {row[0].value for row in expected} == {top}
        assert_same(fast(synthetic_store, **params), expected)


def test_limit_cuts_ties_at_the_boundary_as_the_query_does(synthetic_store):
    full = sparql(synthetic_store)
    counts = [int(row[2].value) for row in full]
    # limits falling inside a run of equal counts: the pruned search must keep every tied pair
    # and cut them in the query's order (by the two names)
    inside = [k for k in range(1, min(len(full), 400)) if counts[k - 1] == counts[k]]
    assert 100 in inside or inside, "the synthetic graph should have ties"
    for k in sorted({100, *inside[:: max(1, len(inside) // 8)]}):
        if counts[k - 1] == counts[k]:
            assert_same(fast(synthetic_store, limit=k), full[:k])
    assert_same(fast(synthetic_store, limit=100), full[:100])


def test_ties_in_a_hand_made_graph():
    """Five people on the same two topics and one more on one: a 10-way tie at 2 shared."""
    store = ox.Store()
    s, skos, dc = "http://schema.org/", "http://www.w3.org/2004/02/skos/core#", "http://purl.org/dc/terms/"
    g = ox.DefaultGraph()  # what the queries read
    add = lambda a, p, o: store.add(ox.Quad(a, ox.NamedNode(p), o, g))
    topics = [ox.NamedNode(f"https://example.org/t{i}") for i in range(2)]
    for i, t in enumerate(topics):
        add(t, skos + "prefLabel", ox.Literal(f"Topic {i}"))
    names = ["Eve", "Dan", "Cy", "Bo", "Al", "Zed"]
    for i, name in enumerate(names):
        person = ox.NamedNode(f"https://example.org/p{i}")
        add(person, s + "name", ox.Literal(name))
        paper = ox.NamedNode(f"https://example.org/paper{i}")
        add(paper, s + "author", person)
        for t in topics[: 1 if name == "Zed" else 2]:
            add(paper, dc + "subject", t)
    for k in range(1, 16):
        assert_same(engines.authors_sharing_topics(store, limit=k).rows, sparql(store, limit=k))
    assert len(engines.authors_sharing_topics(store).rows) == 15


def test_plain_values_and_terms_give_the_same(seed_store):
    person = queries.find_entity(seed_store, "person", "Samson Tan")
    a = engines.authors_sharing_topics(seed_store, author=person.value, min_shared=2)
    b = engines.authors_sharing_topics(seed_store, author=person, min_shared=ox.Literal("2", datatype=ox.NamedNode(XSD + "integer")))
    assert a.rows == b.rows and a.rows


def test_parameters_go_through_the_same_checks(seed_store):
    with pytest.raises(QueryError, match="must be an integer"):
        queries.run_saved(seed_store, QUERY, {"limit": "ten"})
    with pytest.raises(QueryError, match="has no parameter 'top'"):
        queries.run_saved(seed_store, QUERY, {"top": "3"})
    with pytest.raises(UnknownNameError):
        queries.run_saved(seed_store, QUERY, {"author": "Nobody Atall Here"})
    assert queries.run_saved(seed_store, QUERY, {"limit": "0"}).rows == []
    assert queries.get_query(QUERY).engine == "authors_sharing_topics"
