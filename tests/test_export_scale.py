"""The streaming export (dump, byte sort, re-serialise) gives exactly the bytes of the
original in-memory implementation, kept here as the reference, on a real store."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
import rdflib

from kg import export
from kg.errors import ExportError
from kg.namespaces import PREFIXES

RDF = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
       "nquads": ox.RdfFormat.N_QUADS, "trig": ox.RdfFormat.TRIG}


# --- the reference: kg/export.py before the streaming export ---------------------------

def _key(term) -> str:
    return str(term)


def reference_export_bytes(store: ox.Store, fmt: str) -> bytes:
    quads = list(store.quads_for_pattern(None, None, None, None))
    if fmt in ("turtle", "ntriples", "jsonld"):  # the default graph: the merge of the sources
        triples = sorted({ox.Triple(q.subject, q.predicate, q.object) for q in quads
                          if isinstance(q.graph_name, ox.DefaultGraph)},
                         key=lambda t: (_key(t.subject), _key(t.predicate), _key(t.object)))
        if fmt == "jsonld":
            return export._jsonld(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
        if fmt == "ntriples":
            return ox.serialize(triples, format=RDF[fmt])
        return ox.serialize(triples, format=RDF[fmt], prefixes=PREFIXES)
    quads.sort(key=lambda q: (_key(q.graph_name), _key(q.subject), _key(q.predicate), _key(q.object)))
    if fmt == "nquads":
        return ox.serialize(quads, format=RDF[fmt])
    return ox.serialize(quads, format=RDF[fmt], prefixes=PREFIXES)


# --- fixtures --------------------------------------------------------------------------

def _ex(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"http://ex.org/{name}")


@pytest.fixture(scope="module")
def tricky() -> ox.Store:
    """Terms whose N-Triples forms are prefixes of one another, escapes, blank nodes,
    the default graph between IRI and blank-node graph names, a triple in two graphs."""
    store = ox.Store()
    objects = [ox.Literal("a"), ox.Literal("a", language="en"), ox.Literal("a", language="en-US"),
               ox.Literal("a", datatype=_ex("dt")), ox.Literal("a b"), ox.Literal(""),
               ox.Literal('q"uo\\te\n\r\t\x01\x7f\x08\x0c é 😀 \u2028 \U0010ffff'),
               ox.Literal("1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
               ox.Literal("1.5", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")),
               ox.BlankNode("b1"), ox.BlankNode("b10"), ox.BlankNode("b1x"),
               ox.BlankNode("0123456789abcdef0123456789abcdef"),
               _ex("a"), _ex("a/b"), _ex("a b".replace(" ", "%20")), _ex("é"), _ex("")]
    graphs = [ox.DefaultGraph(), _ex("g"), _ex("g/h"), _ex("G"), ox.BlankNode("g"), ox.BlankNode("gb")]
    for graph in graphs:
        for obj in objects:
            store.add(ox.Quad(_ex("s"), _ex("p"), obj, graph))
            store.add(ox.Quad(_ex("s"), _ex("p/q"), obj, graph))
            subject = _ex("x") if isinstance(obj, ox.Literal) else obj
            store.add(ox.Quad(subject, ox.NamedNode("http://schema.org/name"), ox.Literal("n"), graph))
    return store


class _NotAStore:
    """Only quads_for_pattern, as a kg.remote.RemoteStore offers."""

    def __init__(self, store: ox.Store):
        self.store = store

    def quads_for_pattern(self, *pattern):
        return self.store.quads_for_pattern(*pattern)


def _same_dataset(data: bytes, fmt: str, store: ox.Store) -> None:
    parsed = set(ox.parse(data, format=RDF[fmt]))
    if fmt in ("nquads", "trig"):
        assert parsed == set(store)
    else:  # the default graph: the merge of the sources
        assert {(t.subject, t.predicate, t.object) for t in parsed} == \
            {(q.subject, q.predicate, q.object) for q in store if isinstance(q.graph_name, ox.DefaultGraph)}


# --- tests -----------------------------------------------------------------------------

# the seed guide's store in every run; the bundled store (270k quads, minutes for all
# five formats) in the slow run
STORES = [pytest.param("seed_store", id="seed"),
          pytest.param("bundled_store", id="bundled", marks=pytest.mark.slow)]


@pytest.mark.parametrize("fmt", list(export.FORMATS))
@pytest.mark.parametrize("which", STORES)
def test_a_real_store_exports_the_reference_bytes(which, request, tmp_path, fmt):
    store = request.getfixturevalue(which)
    new = export.export_bytes(store, fmt)
    assert new == reference_export_bytes(store, fmt)
    target = tmp_path / f"out{export.SUFFIXES[fmt]}"
    target.write_bytes(b"previous")
    export.export_file(store, fmt, target)
    assert target.read_bytes() == new
    assert not list(tmp_path.glob(".out*"))
    if fmt == "jsonld":
        graph = rdflib.Graph().parse(data=new, format="json-ld")
        reference = rdflib.Graph().parse(data=export.export_bytes(store, "ntriples"), format="nt")
        assert set(graph) == set(reference)  # no blank nodes in kg's data
        assert len(json.loads(new)["@graph"]) > 100
    else:
        _same_dataset(new, fmt, store)


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "nquads", "trig"])
def test_tricky_terms_keep_the_reference_order(tricky, fmt):
    new = export.export_bytes(tricky, fmt)
    assert new == reference_export_bytes(tricky, fmt)
    _same_dataset(new, fmt, tricky)


@pytest.mark.parametrize("fmt", list(export.FORMATS))
def test_empty_store(fmt):
    assert export.export_bytes(ox.Store(), fmt) == reference_export_bytes(ox.Store(), fmt)


@pytest.mark.parametrize("fmt", ["turtle", "ntriples"])
def test_without_external_sort(tricky, monkeypatch, fmt):
    monkeypatch.setattr(export, "SORT", None)
    assert export.export_bytes(tricky, fmt) == reference_export_bytes(tricky, fmt)


@pytest.mark.parametrize("fmt", ["turtle", "nquads"])
def test_a_store_without_dump_is_copied_first(tricky, fmt):
    assert export.export_bytes(_NotAStore(tricky), fmt) == reference_export_bytes(tricky, fmt)


def test_a_failing_sort_leaves_the_previous_file(tricky, monkeypatch, tmp_path):
    monkeypatch.setattr(export, "SORT", "false")
    target = tmp_path / "out.ttl"
    target.write_text("previous", encoding="utf-8")
    with pytest.raises(ExportError, match="sorting the export failed"):
        export.export_file(tricky, "turtle", target)
    assert target.read_text(encoding="utf-8") == "previous"
    assert not list(tmp_path.glob(".out.ttl.*"))


def test_unknown_format_is_refused(tricky, tmp_path):
    with pytest.raises(ExportError, match="unknown format"):
        export.export_bytes(tricky, "rdfxml")
    with pytest.raises(ExportError, match="unknown format"):
        export.export_file(tricky, "rdfxml", tmp_path / "x")
    assert not list(tmp_path.iterdir())
