"""kg.engines.coauthors gives the rows of queries/coauthors.rq (its `#+ engine:`)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg import engines, queries

QUERY = "coauthors"


def sparql(store, author=None) -> list[list]:
    """The .rq run as SPARQL with the bindings run_saved makes, parameter column dropped."""
    bindings = {ox.Variable("author"): queries.find_entity(store, "person", author)} if author else None
    result = queries.run_sparql(store, queries.get_query(QUERY).text, bindings)
    keep = [i for i, v in enumerate(result.variables) if v != "author"]
    return [[row[i] for i in keep] for row in result.rows]


def comparable(rows) -> list[tuple]:
    """Rows with the titles cell sorted: GROUP_CONCAT's order is unspecified (a tuple, not
    a frozenset, so that lists of rows sort totally)."""
    return [(r[0].value, r[1].value, int(r[2].value), tuple(sorted(r[3].value.split("; ")))) for r in rows]


def ranks(rows) -> list[tuple]:
    return [(-int(r[2].value), r[0].value, r[1].value) for r in rows]


# every pair on the bundled store (4 s) in the slow run
@pytest.mark.parametrize("author", [pytest.param(None, marks=pytest.mark.slow), "Samson Tan", "George Karypis",
                                    "Dan Roth", "Iryna Gurevych"])
def test_engine_rows_equal_the_sparql(bundled_store, author):
    """Guide + the four bundled 2024 collections: tens of thousands of pairs."""
    expected = sparql(bundled_store, author)
    got = queries.run_saved(bundled_store, QUERY, {"author": author} if author else {})
    assert got.variables == ["author1", "author2", "papers", "titles"]
    assert sorted(comparable(got.rows)) == sorted(comparable(expected))
    # the same order, up to rows the query's ORDER BY leaves tied
    assert ranks(got.rows) == ranks(expected) == sorted(ranks(expected))
    assert len(expected) > (1000 if author is None else 3)


def test_specific_pairs_on_the_seed(seed_store):
    rows = {(r[0].value, r[1].value): int(r[2].value)
            for r in queries.run_saved(seed_store, QUERY, {"author": "Samson Tan"}).rows}
    assert rows[("Samson Tan", "George Karypis")] == 2
    assert comparable(queries.run_saved(seed_store, QUERY).rows) == comparable(
        engines.coauthors(seed_store).rows)
    assert sorted(comparable(engines.coauthors(seed_store).rows)) == sorted(comparable(sparql(seed_store)))


def _edge_store() -> ox.Store:
    """Namesakes, a blank-node co-author and paper, a paper without a title, one with
    two titles, a co-author without a name, and facts repeated in two graphs."""
    s = "http://schema.org/"
    name, author = ox.NamedNode(s + "name"), ox.NamedNode(s + "author")
    g1, g2 = ox.NamedNode("https://example.org/g1"), ox.NamedNode("https://example.org/g2")
    p = {k: ox.NamedNode(f"https://example.org/p/{k}") for k in ("ann", "kim1", "kim2", "lee", "nameless")}
    blank_person, blank_paper = ox.BlankNode("person"), ox.BlankNode("paper")
    papers = {i: ox.NamedNode(f"https://example.org/paper/{i}") for i in range(1, 6)}
    quads = [(p["ann"], name, ox.Literal("Ann"), g1), (p["ann"], name, ox.Literal("Anne"), g2),
             (p["kim1"], name, ox.Literal("Kim"), g1), (p["kim2"], name, ox.Literal("Kim"), g1),
             (p["lee"], name, ox.Literal("Lee"), g1), (blank_person, name, ox.Literal("Blank"), g1),
             (papers[1], name, ox.Literal("One"), g1), (papers[2], name, ox.Literal("Two"), g1),
             (papers[2], name, ox.Literal("Deux"), g2), (papers[4], name, ox.Literal("Four"), g1),
             (papers[5], name, ox.Literal("Five"), g1), (blank_paper, name, ox.Literal("Blank paper"), g1)]
    bylines = {papers[1]: ("ann", "kim1", "kim2", "lee"), papers[2]: ("ann", "kim2", "nameless"),
               papers[3]: ("ann", "lee"),  # no title: drops out
               papers[4]: ("kim1", "lee"), papers[5]: ("ann",), blank_paper: ("ann", "kim1")}
    for paper, people in bylines.items():
        quads += [(paper, author, p[k], g) for k in people for g in (g1, g2)]
    quads += [(papers[1], author, blank_person, g1), (papers[4], author, blank_person, g1)]
    store = ox.Store()
    store.extend(ox.Quad(*q) for q in quads)
    # the default graph, which queries read, is the merge of the graphs (as a build makes it)
    store.extend(ox.Quad(s, p, o, ox.DefaultGraph()) for s, p, o, _g in quads)
    return store


@pytest.mark.parametrize("who", [None, "ann", "kim1", "kim2", "lee", "nameless", "nobody"])
def test_edge_cases_equal_the_sparql(who):
    store = _edge_store()
    author = None if who is None else ox.NamedNode(f"https://example.org/p/{who}")
    result = queries.run_sparql(store, queries.get_query(QUERY).text,
                                {ox.Variable("author"): author} if author else None)
    keep = [i for i, v in enumerate(result.variables) if v != "author"]
    expected = [[row[i] for i in keep] for row in result.rows]
    got = engines.coauthors(store, author=author).rows
    assert sorted(comparable(got)) == sorted(comparable(expected))
    assert ranks(got) == ranks(expected) == sorted(ranks(expected))
    if who == "ann":  # a blank-node co-author counts when the author is bound
        assert ("Ann", "Blank", 1, ("One",)) in comparable(got)
        # two people named Kim: two rows, each with its own papers
        assert ("Ann", "Kim", 2, ("Blank paper", "One")) in comparable(got)
        assert ("Ann", "Kim", 2, ("Deux", "One", "Two")) in comparable(got)
    if who is None:
        assert all("Blank" not in (r[0], r[1]) for r in comparable(got))
        assert ("Kim", "Lee", 2, ("Four", "One")) in comparable(got)
    if who in ("nameless", "nobody"):
        assert got == []
