"""kg.analysis.coauthors gives the rows of queries/coauthors.rq (its `#+ engine:`)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg import analysis, queries

QUERY = "coauthors"


def sparql(store, author=None) -> list[list]:
    """The .rq run as SPARQL with the bindings run_saved makes, parameter column dropped."""
    bindings = {ox.Variable("author"): queries.find_entity(store, "person", author)} if author else None
    result = queries.run_sparql(store, queries.get_query(QUERY).text, bindings)
    keep = [i for i, v in enumerate(result.variables) if v != "author"]
    return [[row[i] for i in keep] for row in result.rows]


def comparable(rows) -> list[tuple]:
    """Rows with the titles cell as a set: GROUP_CONCAT's order is unspecified."""
    return [(r[0].value, r[1].value, int(r[2].value), frozenset(r[3].value.split("; "))) for r in rows]


def ranks(rows) -> list[tuple]:
    return [(-int(r[2].value), r[0].value, r[1].value) for r in rows]


@pytest.mark.parametrize("author", [None, "Samson Tan", "George Karypis", "Dan Roth", "Iryna Gurevych"])
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
        analysis.coauthors(seed_store).rows)
    assert sorted(comparable(analysis.coauthors(seed_store).rows)) == sorted(comparable(sparql(seed_store)))
