"""`kg build --add`: the same store as a full build, validated only where it changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import SEED
from rdflib import RDF

from kg import store as stores
from kg.export import export_bytes
from kg.namespaces import PRO, SCHEMA
from kg.pipeline import build, bundled_sources
from kg.queries import run_saved

# whole builds of the bundled collections, then --add on copies: a minute; left out of `pytest -q`, run by `pytest -m slow` (.ci/run runs both)
pytestmark = pytest.mark.slow


def _rows(store, name: str) -> list:
    return sorted(tuple(str(v) for v in row) for row in run_saved(store, name).rows)


@pytest.fixture(scope="module")
def added_store(tmp_path_factory) -> tuple[Path, int]:
    """The bundled Anthology collections built, then the guide added on top (the guide's
    first add: everything it says is new); with the focus-node total validated."""
    path = tmp_path_factory.mktemp("incremental") / "store"
    collections = [p for p in bundled_sources() if p.name != SEED.name]
    assert build(collections, store=path).written
    totals: dict[str, int] = {}
    result = build([SEED], store=path, add=True,
                   progress=lambda stage, done, total: totals.__setitem__(stage, total))
    assert result.written, result.report.format()
    return path, totals["validating"]


def test_add_gives_the_store_a_full_build_gives(added_store, bundled_store_path):
    added, full = stores.open_store(added_store[0]), stores.open_store(bundled_store_path)
    # the same quads, the meta graph's VoID counts and build activity included
    assert export_bytes(added, "nquads") == export_bytes(full, "nquads")
    assert _rows(added, "discrepancies") == _rows(full, "discrepancies")


def test_add_keeps_void_counts_exact(added_store):
    """void:triples is COUNT(*) over the default graph (the merge), the description's own
    triples included; the class partitions count the entities of the data it describes."""
    store = stores.open_store(added_store[0])
    meta = ox.NamedNode("https://w3id.org/kg/id/graph/meta")
    described = {q.subject for q in store.quads_for_pattern(None, None, None, meta)}
    rows: dict[str, set] = {}
    for q in store.quads_for_pattern(None, ox.NamedNode(str(RDF.type)), None, ox.DefaultGraph()):
        if q.subject not in described:
            rows.setdefault(q.object.value, set()).add(q.subject)
    void = {str(r["c"].value): int(r["n"].value) for r in store.query(
        "SELECT ?c ?n WHERE { ?p <http://rdfs.org/ns/void#class> ?c ; <http://rdfs.org/ns/void#entities> ?n }")}
    triples = int(next(iter(store.query(
        "SELECT ?n WHERE { ?d a <http://rdfs.org/ns/void#Dataset> ; <http://rdfs.org/ns/void#triples> ?n }")))[0].value)
    assert void == {cls: len(nodes) for cls, nodes in rows.items()}
    assert triples == sum(1 for _ in store.quads_for_pattern(None, None, None, ox.DefaultGraph()))


def test_add_validates_a_small_fraction_of_the_store(added_store, tmp_path):
    path, first = added_store
    whole = len(stores.open_store(path))
    assert 0 < first < whole / 20, (first, whole)
    # the same guide again: nothing changed, so next to nothing is validated
    copy = tmp_path / "store"
    shutil.copytree(path, copy, symlinks=True)
    totals: dict[str, int] = {}
    result = build([SEED], store=copy, add=True,
                   progress=lambda stage, done, total: totals.__setitem__(stage, total))
    assert result.written
    assert totals["validating"] < first / 10
    assert export_bytes(stores.open_store(copy), "nquads") == export_bytes(stores.open_store(path), "nquads")


def test_a_guide_that_breaks_a_shape_is_reported_and_the_store_untouched(bundled_store_path, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(bundled_store_path, store, symlinks=True)
    broken = tmp_path / "broken.ttl"
    # a paper with no title breaks PaperShape
    broken.write_text("<https://w3id.org/kg/id/paper/untitled> a <http://schema.org/ScholarlyArticle> .\n")
    live = (store / stores.CURRENT).resolve()
    before = export_bytes(stores.open_store(store), "nquads")
    result = build([broken], store=store, add=True)
    assert not result.written
    assert any("untitled" in r.focus for r in result.report.violations)
    assert (store / stores.CURRENT).resolve() == live
    assert export_bytes(stores.open_store(store), "nquads") == before


# --- what an --add validates beyond what changed -------------------------------------

TACL_PAPER = "https://w3id.org/kg/id/anthology/2024.tacl-1.1"
EDITOR = "https://w3id.org/kg/id/person/test-editor"


def _editor_source(folder: Path, typed: bool) -> Path:
    """An RDF source naming a TACL paper's editor; `typed`: the editor is a schema:Person."""
    folder.mkdir()
    path = folder / "editor.ttl"
    person = (f'<{EDITOR}> a <http://schema.org/Person> ; <http://schema.org/name> "Test Editor" ; '
              f'<http://www.w3.org/ns/prov#wasDerivedFrom> <https://w3id.org/kg/id/source/editor> .\n')
    if not typed:
        person = person.replace("a <http://schema.org/Person> ; ", "")
    path.write_text(f"<{TACL_PAPER}> <http://schema.org/editor> <{EDITOR}> .\n" + person)
    return path


def test_a_neighbour_whose_shape_reads_the_change_is_validated(bundled_store_path, tmp_path):
    """The paper's triples do not change, its editor loses its type: the paper's
    sh:class check reads the editor's rdf:type, so the paper is validated and fails."""
    store = tmp_path / "store"
    shutil.copytree(bundled_store_path, store, symlinks=True)
    assert build([_editor_source(tmp_path / "v1", typed=True)], store=store, add=True).written
    live = (store / stores.CURRENT).resolve()
    result = build([_editor_source(tmp_path / "v2", typed=False)], store=store, add=True)
    assert not result.written
    assert {(r.focus, r.shape) for r in result.report.violations} == {
        (TACL_PAPER, "kgsh:PaperShape")}
    assert (store / stores.CURRENT).resolve() == live


def test_neighbours_are_those_whose_shapes_read_the_changed_edges(bundled_store):
    from kg.pipeline import _neighbours

    author, held_by, relates = (ox.NamedNode(SCHEMA + "author"), ox.NamedNode(PRO + "isHeldBy"),
                                ox.NamedNode(PRO + "relatesToDocument"))
    person = next(iter(bundled_store.query(
        "SELECT ?person WHERE { ?paper <http://schema.org/author> ?person } "
        "GROUP BY ?person ORDER BY DESC(COUNT(?paper)) ?person LIMIT 1")))[0]
    papers = {q.subject.value for q in bundled_store.quads_for_pattern(None, author, person, None)}
    assert len(papers) > 5
    # a new alias reaches no paper's shape; a changed type reaches every paper's sh:class
    alias = _neighbours(bundled_store, {person.value: {(SCHEMA + "alternateName", True)}})
    retyped = _neighbours(bundled_store, {person.value: {(str(RDF.type), True)}})
    assert not papers & alias
    assert papers <= retyped
    # the slots they hold: AuthorshipShape has no SPARQL, only sh:class reads the type
    slots = {q.subject.value for q in bundled_store.quads_for_pattern(None, held_by, person, None)}
    assert len(slots) == len(papers)
    assert not slots & alias
    assert slots <= retyped
    # a slot's holder is read from its paper (sh:equals over ^relatesToDocument/isHeldBy)
    slot = next(iter(bundled_store.quads_for_pattern(None, held_by, person, None))).subject
    paper = next(iter(bundled_store.quads_for_pattern(slot, relates, None, None))).object
    assert paper.value in _neighbours(bundled_store, {slot.value: {(PRO + "isHeldBy", True)}})
    assert paper.value not in _neighbours(bundled_store, {slot.value: {(SCHEMA + "alternateName", True)}})
    # PersonShape reads its slots' type through sh:class only (no SPARQL, one-step paths)
    assert person.value in _neighbours(bundled_store, {slot.value: {(str(RDF.type), True)}})
    assert person.value not in _neighbours(bundled_store, {slot.value: {(SCHEMA + "alternateName", True)}})
