"""Anthology collections through the whole pipeline: mapping, store, CLI, bad input."""

from __future__ import annotations

import gc
import gzip
import re
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from click.testing import CliRunner
from conftest import FIXTURES, ROOT, SEED
from rdflib.compare import isomorphic

from kg import export
from kg import store as stores
from kg.cli import main
from kg.errors import ExportError
from kg.mapping import source_iri
from kg.namespaces import PRO, SCHEMA, mint
from kg.pipeline import build, load_resolver, stream_anthology

TINY = FIXTURES / "anthology" / "2099.tiny.xml"
VARIANTS = FIXTURES / "anthology" / "name_variants.yaml"
GOLDEN = FIXTURES / "anthology" / "2099.tiny.expected.nq"  # read against the XML
TACL = ROOT / "data" / "anthology" / "2024.tacl.xml.gz"


def as_dataset(nquads: bytes) -> rdflib.Dataset:
    dataset = rdflib.Dataset()
    dataset.parse(data=nquads, format="nquads")
    return dataset


def test_tiny_collection_maps_to_the_golden_graph():
    """The golden file was read against the XML: flattened markup, byline order, an empty
    <first>, homonyms told apart by id, a variant resolved, retracted and removed notes,
    an external URL, a paper without authors, an editor on a back-matter paper."""
    quads = list(stream_anthology([TINY], load_resolver(VARIANTS)))
    got = as_dataset(ox.serialize(quads, format=ox.RdfFormat.N_QUADS))
    expected = as_dataset(GOLDEN.read_bytes())
    for graph in expected.graphs():
        other = got.graph(graph.identifier)
        assert isomorphic(graph, other), graph.identifier
    assert {g.identifier for g in got.graphs() if len(g)} == {g.identifier for g in expected.graphs() if len(g)}


def test_tiny_specific_facts():
    quads = list(stream_anthology([TINY], load_resolver(VARIANTS)))
    by = {}
    for q in quads:
        by.setdefault((q.subject.value, q.predicate.value), []).append(q.object)
    paper = mint("anthology", "2099.tiny-long.1")
    assert [o.value for o in by[(paper, SCHEMA + "name")]] == ["FlexiQA: Fast and Exact O(n^2) Answers"]
    assert [o.value for o in by[(paper, SCHEMA + "sameAs")]] == ["https://doi.org/10.18653/v1/2099.tiny-long.1"]
    assert [o.value for o in by[(paper, SCHEMA + "url")]] == ["https://aclanthology.org/2099.tiny-long.1/"]
    held = [by[(f"{paper}/author/{n}", PRO + "isHeldBy")][0].value for n in (1, 2, 3, 4)]
    assert held == [mint("person", p) for p in ("zhengxin-zhang", "mausam", "sukhada", "xiaoyu-li")]
    homonyms = mint("anthology", "2099.tiny-long.3")
    assert [by[(f"{homonyms}/author/{n}", PRO + "isHeldBy")][0].value for n in (1, 2, 3)] == [
        mint("person", "bill-byrne-ucsd"), mint("person", "bill-byrne"), mint("person", "lluis-marquez")]
    # every person is described once, however many papers name them
    names = Counter(q.subject.value for q in quads if q.predicate.value == SCHEMA + "name"
                    and q.subject.value.startswith(mint("person", "")))
    assert names and set(names.values()) == {1}


def titles_and_bylines(path: Path) -> dict[str, tuple[str, list[str]]]:
    """Anthology ID -> (title, printed author names) read with ElementTree, apart from kg's reader."""
    root = ET.fromstring(gzip.decompress(path.read_bytes()))
    collection = root.get("id")
    out = {}
    for volume in root.iter("volume"):
        for paper in volume.iter("paper"):
            title = re.sub(r"\s+", " ", "".join(paper.find("title").itertext())).strip()
            names = []
            for author in paper.findall("author"):
                first = "".join(author.find("first").itertext()).strip() if author.find("first") is not None else ""
                last = "".join(author.find("last").itertext()).strip()
                names.append(f"{first} {last}".strip())
            out[f"{collection}-{volume.get('id')}.{paper.get('id')}"] = (title, names)
    return out


def test_bundled_store_holds_every_tacl_paper_as_the_xml_says(bundled_store):
    expected = titles_and_bylines(TACL)
    assert len(expected) == 95  # every <paper> of the 2024 TACL collection
    rows = bundled_store.query("""
        SELECT ?id ?title ?position ?printed WHERE {
          ?paper a schema:ScholarlyArticle ; schema:identifier ?id ; schema:name ?title .
          FILTER(STRSTARTS(?id, "2024.tacl-"))
          OPTIONAL { ?slot pro:relatesToDocument ?paper ; pro:withRole pro:author ;
                           schema:position ?position ; kg:printedName ?printed }
        }""", prefixes={"schema": SCHEMA, "pro": PRO, "kg": "https://w3id.org/kg/ontology#"})
    got: dict[str, tuple[str, dict[int, str]]] = {}
    for row in rows:
        title, slots = got.setdefault(row["id"].value, (row["title"].value, {}))
        if row["position"] is not None:
            slots[int(row["position"].value)] = row["printed"].value
    assert set(got) == set(expected)
    for aid, (title, names) in expected.items():
        assert got[aid][0] == title, aid
        assert [got[aid][1][n] for n in sorted(got[aid][1])] == names, aid


def test_bundled_sources_are_one_graph_per_collection(bundled_store):
    graphs = {g.value for g in bundled_store.named_graphs()}
    for name in ("2024-acl", "2024-findings", "2024-naacl", "2024-tacl", "amazon-acl-2024-guide"):
        assert mint("source", name) in graphs


@pytest.fixture()
def runner():
    return CliRunner()


def broken_copies(tmp_path: Path) -> list[tuple[Path, str]]:
    """Broken copies of a real collection: (file, what the error must say)."""
    data = gzip.decompress(TACL.read_bytes())
    truncated = tmp_path / "2024.tacl.xml.gz"
    truncated.write_bytes(gzip.compress(data)[: len(gzip.compress(data)) // 2])
    lines = data.decode("utf-8").splitlines(keepends=True)
    lines[40] = lines[40].replace("</", "<", 1) if "</" in lines[40] else lines[40] + "<oops\n"
    malformed = tmp_path / "2024.tacl-bad.xml"
    malformed.write_text("".join(lines), encoding="utf-8")
    return [(truncated, "gzip"), (malformed, "malformed XML"),
            (FIXTURES / "anthology" / "broken" / "not-a-collection.xml", "collection")]


@pytest.mark.slow  # a CLI run per broken file: 4 s
def test_bad_anthology_input_is_exit_2_naming_file_and_line_and_the_store_is_untouched(runner, tmp_path):
    store = tmp_path / "store"
    assert runner.invoke(main, ["build", str(SEED), "--store", str(store)]).exit_code == 0
    before = runner.invoke(main, ["export", "-f", "nquads", "--store", str(store)]).stdout
    live = (store / stores.CURRENT).resolve()
    for bad, what in broken_copies(tmp_path):
        for args in (["build", str(SEED), str(bad)], ["build", "--add", str(bad)]):
            out = runner.invoke(main, [*args, "--store", str(store)])
            assert out.exit_code == 2, out.output
            assert out.stderr.startswith(f"kg: error: {bad}:"), out.stderr
            assert what in out.stderr
            assert len(out.stderr.strip().splitlines()) == 1
            assert gc.isenabled()  # the build pauses the collector while streaming, not after
    # the malformed copy names the line
    out = runner.invoke(main, ["build", str(broken_copies(tmp_path)[1][0]), "--store", str(store)])
    assert re.match(rf"kg: error: {re.escape(str(tmp_path))}/2024\.tacl-bad\.xml:4\d:", out.stderr)
    assert (store / stores.CURRENT).resolve() == live
    assert runner.invoke(main, ["export", "-f", "nquads", "--store", str(store)]).stdout == before


def test_the_streamed_loader_loads_what_was_written_and_a_failed_load_is_an_error_not_a_hang(tmp_path, monkeypatch):
    quads = list(stream_anthology([FIXTURES / "anthology" / "2099.tiny.xml"], load_resolver(None)))
    with stores.staging(tmp_path / "ok", extend=False) as staging:
        with staging.bulk_writer() as out:
            ox.serialize(quads, out, format=ox.RdfFormat.N_QUADS)
        assert set(staging.store) == set(quads)
        staging.discard()
    # chunks of a few lines, loaded two at a time: writes that split lines anywhere
    # still give every quad, once
    data = ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
    monkeypatch.setattr(stores.local, "LOAD_CHUNK_BYTES", 1000)
    with stores.staging(tmp_path / "chunked", extend=False) as staging:
        with staging.bulk_writer() as out:
            for at in range(0, len(data), 7):
                out.write(data[at:at + 7])
            assert len(out._loads) >= len(data) // 1000 - 1  # it did load in many chunks
        assert set(staging.store) == set(quads) and len(staging.store) == len(set(quads))
        staging.discard()
    # the loader stops at a bad line; writing on (well past a chunk) must not block,
    # and the error says what failed
    monkeypatch.setattr(stores.local, "LOAD_CHUNK_BYTES", 1 << 16)
    raised: list[BaseException] = []

    def write_bad() -> None:
        try:
            with stores.staging(tmp_path / "bad", extend=False) as staging, staging.bulk_writer() as out:
                out.write(b"<urn:a> <urn:b> oops .\n")
                for _ in range(64):
                    out.write(b"<urn:a> <urn:b> <urn:c> .\n" * 4096)
                    out.flush()
        except BaseException as exc:  # noqa: BLE001 - checked below
            raised.append(exc)

    writer = threading.Thread(target=write_bad, daemon=True)
    writer.start()
    writer.join(timeout=60)
    assert not writer.is_alive(), "the writer blocked on a loader that had stopped"
    assert len(raised) == 1 and isinstance(raised[0], stores.StoreError), raised
    assert re.match(r"bulk loading into .*/bad/data-\w+ failed", str(raised[0]))
    assert not list((tmp_path / "bad").glob("data-*"))  # the failed generation is gone
    # the caller's own error is the one raised, after the loader has stopped
    with stores.staging(tmp_path / "mine", extend=False) as staging:
        with pytest.raises(KeyError), staging.bulk_writer() as out:
            out.write(b"<urn:a> <urn:b> <urn:c> .\n")
            raise KeyError("mapping failed")
        assert len(staging.store) == 1  # what was written before the error: loaded, then raised
        staging.discard()
    # ... even when a load failed too
    with stores.staging(tmp_path / "both", extend=False) as staging:
        with pytest.raises(KeyError), staging.bulk_writer() as out:
            out.write(b"<urn:a> <urn:b> oops .\n")
            raise KeyError("mapping failed")
        staging.discard()


def test_add_validates_what_changed_and_its_neighbours_not_the_whole_store(bundled_store_path, tmp_path):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(bundled_store_path, store, symlinks=True)
    totals: dict[str, int] = {}
    result = build([SEED], store=store, add=True,
                   progress=lambda stage, done, total: totals.__setitem__(stage, total))
    assert result.written, result.report.format()
    whole = len(stores.open_store(store))
    # re-adding the guide the store holds: what changed (little) and its neighbours,
    # not the ~65,000 focus nodes of the store (tests/test_incremental.py: a first add)
    assert totals["validating"] < 20_000, totals
    assert whole > 250_000
    assert set(result.timings) >= {"parse", "load", "reconcile", "validate", "describe", "commit"}


def test_adding_a_collection_streams_it_into_the_store_and_adding_it_again_replaces_it(runner, tmp_path):
    tiny = FIXTURES / "anthology" / "2099.tiny.xml"
    added, together = tmp_path / "added", tmp_path / "together"
    export = ["export", "-f", "nquads", "--store"]
    assert runner.invoke(main, ["build", str(SEED), "--store", str(added)]).exit_code == 0
    guide_only = len(stores.open_store(added))
    out = runner.invoke(main, ["build", "--add", str(tiny), "--store", str(added)])
    assert out.exit_code == 0, out.output
    first = runner.invoke(main, [*export, str(added)]).stdout
    collection = source_iri(tiny.name)
    in_graph = [line for line in first.splitlines() if line.endswith(f"{collection} .")]
    assert len(in_graph) > 50 and len(stores.open_store(added)) > guide_only + len(in_graph) // 2
    # again: the collection's graph is replaced, not doubled
    assert runner.invoke(main, ["build", "--add", str(tiny), "--store", str(added)]).exit_code == 0
    assert runner.invoke(main, [*export, str(added)]).stdout == first
    # and the store is the one a build of both at once makes
    assert runner.invoke(main, ["build", str(SEED), str(tiny), "--store", str(together)]).exit_code == 0
    assert runner.invoke(main, [*export, str(together)]).stdout == first


COLLECTIONS = [TINY, FIXTURES / "anthology" / "P99.xml", FIXTURES / "anthology" / "W99.xml.gz"]


@pytest.fixture
def own_tmp(tmp_path, monkeypatch) -> Path:
    """A temporary directory of the test's own, to see that nothing is left in it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "jsonld", "nquads"])
def test_build_export_is_the_file_kg_export_writes_with_streamed_graphs_not_read_back(
        runner, tmp_path, own_tmp, monkeypatch, fmt):
    dumped: list[str] = []
    real_dump = export._dump
    monkeypatch.setattr(export, "_dump", lambda store, graph, out=None: (dumped.append(str(graph)),
                                                                        real_dump(store, graph, out))[1])
    store, target = tmp_path / "store", tmp_path / f"out{export.SUFFIXES[fmt]}"
    out = runner.invoke(main, ["build", str(SEED), *map(str, COLLECTIONS), "--name-variants", str(VARIANTS),
                               "--store", str(store), "--export", str(target), "--export-format", fmt])
    assert out.exit_code == 0, out.output
    streamed = {str(source_iri(p.name)) for p in COLLECTIONS}
    if fmt in ("nquads", "jsonld"):  # keeps graphs: every graph is read from the store
        assert streamed <= set(dumped)
    else:  # the build kept every triple it wrote into the default graph: none read back
        assert dumped == []
    dumped.clear()
    assert target.read_bytes() == runner.invoke(main, ["export", "-f", fmt, "--store", str(store)]).stdout_bytes
    # kg export reads the default graph (the merge) for the graph-less formats
    assert streamed <= set(dumped) if fmt in ("nquads", "jsonld") else dumped == ["DEFAULT"]
    assert not list(tmp_path.glob(".out*")) and not list(own_tmp.iterdir())


def test_build_export_keeps_the_previous_file_when_the_build_fails(runner, tmp_path, own_tmp):
    target = tmp_path / "out.ttl"
    target.write_text("previous", encoding="utf-8")
    broken = tmp_path / "broken.ttl"
    broken.write_text("<https://w3id.org/kg/id/paper/x> a <http://schema.org/ScholarlyArticle> ;\n"
                      "    <https://w3id.org/kg/ontology#asteriskMarked> true .\n", encoding="utf-8")
    store = tmp_path / "store"
    args = ["--store", str(store), "--export", str(target)]
    out = runner.invoke(main, ["build", str(SEED), str(TINY), str(broken), *args])
    assert out.exit_code == 1, out.output  # violations: nothing written
    assert not stores.exists(store)
    for bad, what in broken_copies(tmp_path):  # bad input: exit 2
        out = runner.invoke(main, ["build", str(SEED), str(bad), *args])
        assert out.exit_code == 2 and what in out.stderr, out.output
    assert target.read_text(encoding="utf-8") == "previous"
    assert not list(tmp_path.glob(".out.ttl.*")) and not list(own_tmp.iterdir())
    out = runner.invoke(main, ["build", "--export", str(tmp_path / "no" / "out.ttl"), str(SEED), "--store",
                               str(store)])
    assert out.exit_code == 2 and "directory" in out.stderr and not stores.exists(store)


def test_build_add_export_reads_the_rest_of_the_store(runner, tmp_path):
    store, target = tmp_path / "store", tmp_path / "out.ttl"
    assert runner.invoke(main, ["build", str(SEED), "--store", str(store)]).exit_code == 0
    out = runner.invoke(main, ["build", "--add", str(TINY), "--store", str(store), "--export", str(target)])
    assert out.exit_code == 0, out.output
    assert target.read_bytes() == runner.invoke(main, ["export", "--store", str(store)]).stdout_bytes
    assert b"2099.tiny" in target.read_bytes() and b"amazon-acl-2024-guide" in target.read_bytes()


def test_streamed_lines_take_the_graph_off_each_line_and_nothing_else(tmp_path):
    graph = ox.NamedNode("urn:g")
    tricky = [ox.Literal("ends like a quad <urn:g> .\nnext line <urn:g> ."), ox.Literal("<urn:g> ."),
              ox.Literal(" <urn:g> .", language="en"), ox.NamedNode("urn:g"), ox.Literal("x\r\n\"q\" \\")]
    quads = [ox.Quad(ox.NamedNode(f"urn:s{i}"), ox.NamedNode("urn:p"), o, graph) for i, o in enumerate(tricky)]
    lines = export.StreamedLines()
    try:
        lines.write_triples(graph, export.nquads_as_ntriples(graph, ox.serialize(quads, format=ox.RdfFormat.N_QUADS)))
        kept = Path(lines.finish()).read_bytes()
        assert {q.triple for q in ox.parse(kept, format=ox.RdfFormat.N_TRIPLES)} == {q.triple for q in quads}
        with pytest.raises(ExportError):
            lines.write_triples(graph, b"")
    finally:
        lines.remove()
    assert not Path(lines.path).parent.exists()
