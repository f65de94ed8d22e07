"""The pipeline: read -> resolve -> map -> validate -> store, in that order.

Nothing is written unless every source reads cleanly and the result conforms
to the shapes; the live store is swapped in one step at the end.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg import reconcile
from kg import store as stores
from kg.errors import SourceError
from kg.mapping import META_GRAPH, map_build, map_guide, map_rdf_source, source_iri
from kg.namespaces import RDF, mint
from kg.records import Issue
from kg.resolve import Curation, load_topic_cues, resolve_guide
from kg.sources.guide import read_guide
from kg.validate import Report, to_rdflib, validate_graph

GUIDE_SUFFIXES = (".txt", ".md", ".text")
# hand-made RDF (curated facts, corrections) loads as a source graph of its own
RDF_SUFFIXES = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES}


def bundled_sources() -> list[Path]:
    """The sources `kg build` reads when given none: the bundled guide."""
    data = Path(__file__).resolve().parents[1] / "data"
    return sorted(data.glob("*-guide.txt"))


@dataclass(frozen=True)
class BuildResult:
    written: bool  # False when validation stopped the build
    report: Report
    issues: tuple[Issue, ...]
    graphs: tuple[str, ...]
    quads: int


def read_sources(paths: Sequence[str | Path], curation: Curation | None = None) -> tuple[list[ox.Quad], list[Issue], list[ox.NamedNode]]:
    """Read, resolve and map every source; raises SourceError before anything is written."""
    curation = curation or Curation.empty()
    cues = load_topic_cues()
    quads: list[ox.Quad] = []
    issues: list[Issue] = []
    graphs: list[ox.NamedNode] = []
    seen: dict[str, str] = {}
    # sorted so that the order sources are named in does not matter
    for path in sorted((Path(p) for p in paths), key=lambda p: (p.name, str(p))):
        graph = source_iri(path.name)
        if graph.value in seen:
            raise SourceError(path, None, f"same file name as {seen[graph.value]}; each source is "
                                          "a named graph keyed by its file name: rename one")
        seen[graph.value] = str(path)
        suffix = path.suffix.lower()
        if suffix in RDF_SUFFIXES and path.is_file():
            quads.extend(read_rdf(path, RDF_SUFFIXES[suffix], graph))
        elif path.is_file() and suffix in GUIDE_SUFFIXES:
            resolved = resolve_guide(read_guide(path), curation, cues)
            quads.extend(map_guide(resolved, hidden_labels=cues))
            issues.extend(resolved.issues)
        else:
            raise SourceError(path, None, "unknown source kind; expected a guide text file "
                                          f"({', '.join(GUIDE_SUFFIXES)}) or RDF ({', '.join(RDF_SUFFIXES)})")
        graphs.append(graph)
    return quads, issues, graphs


def read_rdf(path: Path, fmt: ox.RdfFormat, graph: ox.NamedNode) -> list[ox.Quad]:
    """An RDF file's triples in its own graph, with the file described as a source."""
    raw = path.read_bytes()
    try:
        triples = list(ox.parse(raw, format=fmt, base_iri=graph.value))
    except SyntaxError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise SourceError(path, int(line[1]) if line else None,
                          f"not valid RDF ({exc}); fix the file or leave it out") from exc
    quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]
    return quads + map_rdf_source(graph, path.name, hashlib.sha256(raw).hexdigest())


def build(paths: Sequence[str | Path], *, store: Path, add: bool = False,
          curation: Curation | None = None, on_stage: Callable[[str], None] | None = None,
          review: Path | None = None, threshold: float = reconcile.DEFAULT_THRESHOLD) -> BuildResult:
    """Build (or with `add`, extend) the store from sources; atomic, validate-before-write.

    Guide papers are reconciled with the Anthology papers in the store (when there
    are any); links below `threshold` go to the review file, whose decisions count.
    """
    if stores.is_url(store):  # a server (see kg.remote)
        from kg.remote import build_remote
        return build_remote(paths, store=store, add=add, curation=curation, on_stage=on_stage)
    stage_note = on_stage or (lambda _msg: None)
    stage_note("reading sources")
    quads, issues, graphs = read_sources(paths, curation)
    review_file = reconcile.load_review(review or reconcile.review_path(store))
    meta = ox.NamedNode(mint(*META_GRAPH.split("/")))
    links = ox.NamedNode(reconcile.RECONCILIATION_GRAPH)
    with stores.staging(store, extend=add) as staging:
        staging.replace_graphs([*graphs, meta, links])
        staging.add(quads)
        stage_note("reconciling")
        rec = reconcile.reconcile_store(staging.store, review_file, threshold=threshold,
                                        curation=curation, missing_ok=True)
        staging.add(reconcile.map_reconciliation(rec))
        issues.extend(rec.issues)
        stage_note("validating")
        union = list(staging.store.quads_for_pattern(None, None, None, None))
        report = validate_graph(to_rdflib(union))
        if not report.conforms:
            staging.discard()
            return BuildResult(False, report, tuple(issues), tuple(g.value for g in graphs), len(quads))
        staging.add(_describe(staging.store, meta))
        stage_note("writing store")
        total = len(staging.store)
        staging.commit()
    if rec.links:
        reconcile.write_review(review_file.path, rec, review_file)
    return BuildResult(True, report, tuple(issues), tuple(g.value for g in graphs), total)


def _describe(store: ox.Store, meta: ox.NamedNode) -> list[ox.Quad]:
    """VoID and provenance for what the store now holds (the meta graph excluded)."""
    derived = {meta.value, reconcile.RECONCILIATION_GRAPH}  # made by the build, not read
    sources = [g for g in store.named_graphs() if g.value not in derived]
    triples = {(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, None)
               if q.graph_name != meta}
    types = Counter()
    typed = set()
    for s, p, o in triples:
        if p.value == RDF + "type" and (s, o) not in typed:
            typed.add((s, o))
            types[o.value] += 1
    return map_build(sources, dict(types), len(triples))


