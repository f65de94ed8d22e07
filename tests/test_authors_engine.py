"""kg.engines.authors gives the rows of queries/authors.rq (its `#+ engine:`)."""

from __future__ import annotations

import pyoxigraph as ox

from kg import engines, queries

S = "http://schema.org/"
TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def sparql(store) -> list[list]:
    return queries.run_sparql(store, queries.get_query("authors").text).rows


def comparable(rows) -> list[tuple]:
    """Rows with the aliases cell sorted (GROUP_CONCAT's order is unspecified); an unbound
    cell is () and an empty one ("",), so that lists of rows sort."""
    return [(r[0].value, int(r[1].value), () if r[2] is None else tuple(sorted(r[2].value.split("; "))))
            for r in rows]


def ranks(rows) -> list[tuple]:
    return [(-int(r[1].value), r[0].value) for r in rows]


def test_engine_rows_equal_the_sparql(bundled_store):
    expected = sparql(bundled_store)
    got = queries.run_saved(bundled_store, "authors")
    assert got.variables == ["name", "papers", "aliases"]
    assert sorted(comparable(got.rows)) == sorted(comparable(expected))
    assert ranks(got.rows) == ranks(expected) == sorted(ranks(expected))
    assert len(expected) > 5000
    assert any(r[2] is not None for r in got.rows) and any(r[2] is None for r in got.rows)


def _edge_store() -> ox.Store:
    """People without papers, with several names and aliases, a blank-node person, an
    author who is not typed a person, and facts repeated in two graphs."""
    g1, g2 = ox.NamedNode("https://example.org/g1"), ox.NamedNode("https://example.org/g2")
    person, paper = ox.NamedNode(S + "Person"), ox.NamedNode(S + "ScholarlyArticle")
    name, alias, author = ox.NamedNode(S + "name"), ox.NamedNode(S + "alternateName"), ox.NamedNode(S + "author")
    ada, bob, cy, dee = (ox.NamedNode(f"https://example.org/p/{n}") for n in ("ada", "bob", "cy", "dee"))
    blank, untyped = ox.BlankNode("someone"), ox.NamedNode("https://example.org/p/untyped")
    p1, p2, p3 = (ox.NamedNode(f"https://example.org/paper/{i}") for i in (1, 2, 3))
    quads = []
    for g in (g1, g2):  # everything about Ada twice
        quads += [(ada, TYPE, person, g), (ada, name, ox.Literal("Ada"), g),
                  (ada, alias, ox.Literal("A. L."), g), (p1, author, ada, g)]
    quads += [
        (ada, alias, ox.Literal("Countess"), g1),
        (bob, TYPE, person, g1), (bob, name, ox.Literal("Bob"), g1), (bob, name, ox.Literal("Robert"), g2),
        (cy, TYPE, person, g1), (cy, name, ox.Literal("Ada"), g1),  # a namesake with no paper
        (dee, TYPE, person, g1),  # no name: not listed
        (blank, TYPE, person, g1), (blank, name, ox.Literal("Anon"), g1), (blank, alias, ox.Literal("?"), g1),
        (untyped, name, ox.Literal("Not a person"), g1),
        (p1, TYPE, paper, g1), (p2, TYPE, paper, g1), (p3, TYPE, paper, g1),
        (p1, author, bob, g1), (p2, author, bob, g1), (p2, author, ada, g2), (p3, author, blank, g1),
        (p3, author, untyped, g1), (p2, author, dee, g1),
    ]
    store = ox.Store()
    store.extend(ox.Quad(*q) for q in quads)
    # the default graph, which queries read, is the merge of the graphs (as a build makes it)
    store.extend(ox.Quad(s, p, o, ox.DefaultGraph()) for s, p, o, _g in quads)
    return store


def test_edge_cases_equal_the_sparql():
    store = _edge_store()
    got, expected = engines.authors(store).rows, sparql(store)
    assert sorted(comparable(got)) == sorted(comparable(expected))
    assert ranks(got) == ranks(expected) == sorted(ranks(expected))
    assert comparable(got) == [
        ("Ada", 2, ("A. L.", "Countess")),  # p1 twice (two graphs) counts once
        ("Bob", 2, ()), ("Robert", 2, ()),  # one row per name, no aliases (unbound)
        ("Anon", 1, ("?",)),  # a blank-node person
        ("Ada", 0, ()),  # a namesake without papers; Dee (no name) and untyped drop out
    ]
