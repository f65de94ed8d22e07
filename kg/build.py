"""The pipeline: read -> resolve -> map -> validate -> store, in that order.

Nothing is written unless every source reads cleanly and the result conforms
to the shapes; the live store is swapped in one step at the end. Guides and
hand-made RDF are read whole; ACL Anthology collections are streamed from the
reader through the mapping into the staging store, one file at a time.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from kg import reconcile
from kg import store as stores
from kg.errors import SourceError
from kg.export import StagedExport, StreamedLines
from kg.mapping import (
    META_GRAPH,
    map_anthology,
    map_build,
    map_guide,
    map_rdf_source,
    source_iri,
)
from kg.namespaces import RDF, VOID, mint
from kg.records import Issue
from kg.resolve import Curation, load_topic_cues, resolve_guide
from kg.sources.anthology import (
    AnthologyRecord,
    NameResolver,
    collection_files,
    load_name_variants,
    read_anthology,
)
from kg.sources.guide import read_guide
from kg.validate import Report, reads_beyond_focus, validate_store

GUIDE_SUFFIXES = (".txt", ".md", ".text")
# hand-made RDF (curated facts, corrections) loads as a source graph of its own
RDF_SUFFIXES = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES}
ANTHOLOGY_SUFFIXES = (".xml", ".xml.gz")
DATA = Path(__file__).resolve().parents[1] / "data"
NAME_VARIANTS = "name_variants.yaml"
# above this many focus nodes, validation is shared among worker processes
PARALLEL_VALIDATION = 100_000
# quads mapped and written to the bulk loader at a time (~30 MB of quads)
LOAD_CHUNK = 100_000

_graph_name = operator.attrgetter("graph_name")

# progress(stage, done, total): "reading" counts files, "validating" focus nodes
Progress = Callable[[str, int, int], None]


def bundled_sources() -> list[Path]:
    """The sources `kg build` reads when given none: the bundled guide and the
    bundled ACL Anthology collections (data/anthology/*.xml.gz)."""
    return sorted(DATA.glob("*-guide.txt")) + sorted((DATA / "anthology").glob("*.xml.gz"))


def is_anthology(path: Path) -> bool:
    """Whether a source is an Anthology collection file or a directory of them."""
    return path.is_dir() or path.name.lower().endswith(ANTHOLOGY_SUFFIXES)


def find_name_variants(paths: Sequence[Path]) -> Path | None:
    """The name_variants.yaml that goes with Anthology sources: beside a collection
    file (or in the directory given), in ../yaml/ of it (the layout of the
    Anthology's data/ folder), else the bundled data/anthology/ copy."""
    for path in paths:
        folder = path if path.is_dir() else path.parent
        for candidate in (folder / NAME_VARIANTS, folder.parent / "yaml" / NAME_VARIANTS):
            if candidate.is_file():
                return candidate
    bundled = DATA / "anthology" / NAME_VARIANTS
    return bundled if bundled.is_file() else None


def load_resolver(name_variants: Path | None) -> NameResolver:
    """The person resolver for Anthology names (an empty list without a file)."""
    if name_variants is None:
        return NameResolver("(no name_variants.yaml)", {}, {})
    return load_name_variants(name_variants)


class FileDigests(dict):
    """SHA-256 of a file's bytes as stored (so of the gzip bytes for .xml.gz), on demand."""

    def __missing__(self, path: str) -> str:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        self[path] = digest.hexdigest()
        return self[path]


def split_sources(paths: Sequence[str | Path]) -> tuple[list[Path], list[Path]]:
    """(guide and RDF files, Anthology collection files) named by `paths`; a directory
    stands for its collection files. SourceError if two sources would share a graph."""
    documents: list[Path] = []
    collections: list[Path] = []
    for given in (Path(p) for p in paths):
        if given.exists() and is_anthology(given):
            found = collection_files(given)
            if given.is_dir() and not found:
                raise SourceError(given, None, "directory without Anthology collection files "
                                  "(*.xml, *.xml.gz); pass collection files or their folder")
            collections.extend(found)
        else:
            documents.append(given)
    seen: dict[str, str] = {}
    for path in [*documents, *collections]:
        graph = source_iri(path.name).value
        if graph in seen and seen[graph] != str(path):
            raise SourceError(path, None, f"same file name as {seen[graph]}; each source is "
                                          "a named graph keyed by its file name: rename one")
        seen[graph] = str(path)
    return documents, sorted(set(collections), key=lambda p: (p.name, str(p)))


class Stopwatch(dict):
    """Seconds spent per build stage (parse, resolve, map, load, reconcile, describe,
    compact, validate, export, export wait, commit), for `kg build --timings` and
    bench/anthology.py. The export is written beside compaction and validation:
    "export wait" is what the build waited for it after them."""

    def add(self, stage: str, seconds: float) -> None:
        self[stage] = self.get(stage, 0.0) + seconds

    def timed(self, stage: str, items: Iterable):
        """`items`, with the time spent producing each one counted to `stage`."""
        iterator = iter(items)
        while True:
            start = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                self.add(stage, time.perf_counter() - start)
                return
            self.add(stage, time.perf_counter() - start)
            yield item


class _TimedResolver:
    """A NameResolver whose lookups count to the "resolve" stage."""

    def __init__(self, resolver: NameResolver, watch: Stopwatch):
        self._resolver, self._watch = resolver, watch

    def resolve_person(self, person):
        start = time.perf_counter()
        try:
            return self._resolver.resolve_person(person)
        finally:
            self._watch.add("resolve", time.perf_counter() - start)


def stream_anthology(files: Sequence[Path], resolver: NameResolver, digests: FileDigests | None = None,
                     progress: Progress | None = None, watch: Stopwatch | None = None) -> Iterator[ox.Quad]:
    """The quads of Anthology collection files, read and mapped one file at a time.
    With `watch`, parsing and name resolution are timed (the rest is mapping)."""
    def records() -> Iterator[AnthologyRecord]:
        for number, path in enumerate(files, 1):
            found = read_anthology(path)
            yield from (watch.timed("parse", found) if watch is not None else found)
            if progress is not None:
                progress("reading", number, len(files))

    if watch is not None:
        resolver = _TimedResolver(resolver, watch)
    return map_anthology(records(), resolver, digests if digests is not None else FileDigests())


def load_streamed(staging: stores.Staging, quads: Iterator[ox.Quad], watch: Stopwatch,
                  chunk: int = LOAD_CHUNK, lines: StreamedLines | None = None) -> None:
    """Bulk-load a stream of quads, written as N-Quads a chunk at a time to the staging
    store's loader, which loads meanwhile; with `lines`, they are kept for the export
    too (each graph in the stream must be in it whole). "map" counts producing and
    writing the chunks (less what parse and resolve counted), "load" waiting for the
    loader to finish after the last one."""
    def nested() -> float:
        return watch.get("parse", 0.0) + watch.get("resolve", 0.0)

    with staging.bulk_writer() as out:
        while True:
            before, start = nested(), time.perf_counter()
            batch = list(itertools.islice(quads, chunk))
            if lines is None:
                ox.serialize(batch, out, format=ox.RdfFormat.N_QUADS)
            else:  # a run of one graph at a time: its name comes off every line at once
                for graph, run in itertools.groupby(batch, key=_graph_name):
                    data = ox.serialize(list(run), format=ox.RdfFormat.N_QUADS)
                    out.write(data)
                    lines.write(graph, data)
            watch.add("map", time.perf_counter() - start - (nested() - before))
            if not batch:
                break
        start = time.perf_counter()
    watch.add("load", time.perf_counter() - start)


@dataclass(frozen=True)
class BuildResult:
    written: bool  # False when validation stopped the build
    report: Report
    issues: tuple[Issue, ...]
    graphs: tuple[str, ...]
    quads: int
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds


def read_sources(paths: Sequence[str | Path], curation: Curation | None = None,
                 name_variants: Path | None = None) -> tuple[list[ox.Quad], list[Issue], list[ox.NamedNode]]:
    """Read, resolve and map every source into memory; raises SourceError before
    anything is written. (`build` streams Anthology collections instead.)"""
    documents, collections = split_sources(paths)
    quads, issues, graphs = read_documents(documents, curation)
    if collections:
        resolver = load_resolver(name_variants or find_name_variants(collections))
        quads.extend(stream_anthology(collections, resolver))
        graphs.extend(source_iri(p.name) for p in collections)
    return quads, issues, graphs


def read_documents(paths: Sequence[Path], curation: Curation | None = None) -> tuple[list[ox.Quad], list[Issue], list[ox.NamedNode]]:
    """Read guides and hand-made RDF files whole (resolved and mapped)."""
    curation = curation or Curation.empty()
    cues = load_topic_cues()
    quads: list[ox.Quad] = []
    issues: list[Issue] = []
    graphs: list[ox.NamedNode] = []
    # sorted so that the order sources are named in does not matter
    for path in sorted((Path(p) for p in paths), key=lambda p: (p.name, str(p))):
        graph = source_iri(path.name)
        suffix = path.suffix.lower()
        if suffix in RDF_SUFFIXES and path.is_file():
            quads.extend(read_rdf(path, RDF_SUFFIXES[suffix], graph))
        elif path.is_file() and suffix in GUIDE_SUFFIXES:
            resolved = resolve_guide(read_guide(path), curation, cues)
            quads.extend(map_guide(resolved, hidden_labels=cues))
            issues.extend(resolved.issues)
        elif not path.exists():
            raise SourceError(path, None, "no such file or directory; expected a guide text file, "
                                          "RDF, or Anthology collection files (.xml, .xml.gz)")
        else:
            raise SourceError(path, None, "unknown source kind; expected a guide text file "
                                          f"({', '.join(GUIDE_SUFFIXES)}), RDF ({', '.join(RDF_SUFFIXES)}) "
                                          f"or Anthology collections ({', '.join(ANTHOLOGY_SUFFIXES)}, "
                                          "or a folder of them)")
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
          review: Path | None = None, threshold: float = reconcile.DEFAULT_THRESHOLD,
          name_variants: Path | None = None, progress: Progress | None = None,
          workers: int | None = None, export: tuple[str, Path] | None = None) -> BuildResult:
    """Build (or with `add`, extend) the store from sources; atomic, validate-before-write.

    Guide papers are reconciled with the Anthology papers in the store (when there
    are any); links below `threshold` go to the review file, whose decisions count.
    A fresh build validates every focus node of the store; `add` validates what the
    new sources hold, what the sources they replace held, and the nodes linking to
    either. `name_variants` is the Anthology's name_variants.yaml (default: see
    find_name_variants). `workers` validation processes (default: up to 2 on a large
    store). `export` (format, path): the new store's export, written while it is
    validated and put in place once the store is live; on failure the file is left
    as it was.
    """
    if stores.is_url(store):  # a server (see kg.remote)
        from kg.export import export_file
        from kg.remote import build_remote
        result = build_remote(paths, store=store, add=add, curation=curation, on_stage=on_stage)
        if export is not None and result.written:
            export_file(stores.open_store(store), *export)
        return result
    stage_note = on_stage or (lambda _msg: None)
    watch = Stopwatch()
    clock = time.perf_counter
    stage_note("reading sources")
    start = clock()
    documents, collections = split_sources(paths)
    quads, issues, graphs = read_documents(documents, curation)
    resolver = load_resolver(name_variants or find_name_variants(collections)) if collections else None
    graphs.extend(source_iri(p.name) for p in collections)
    review_file = reconcile.load_review(review or reconcile.review_path(store))
    meta = ox.NamedNode(mint(*META_GRAPH.split("/")))
    links = ox.NamedNode(reconcile.RECONCILIATION_GRAPH)
    watch.add("parse", clock() - start)  # guides: read, resolved and mapped together
    staged = StagedExport(*export) if export is not None else None
    try:
        with stores.staging(store, extend=add) as staging:
            start = clock()
            replaced = [*graphs, meta, links]
            # the meta graph is rewritten below and names every source: not a seed
            before = _contents(staging.store, [*graphs, links], meta) if add else None
            staging.replace_graphs(replaced)
            staging.add(quads, bulk=not add or len(quads) > 100_000)
            watch.add("load", clock() - start)
            if collections:
                stage_note("reading Anthology collections")
                with stores.collector_paused():
                    load_streamed(staging, stream_anthology(collections, resolver, progress=progress,
                                                            watch=watch), watch,
                                  lines=staged.lines if staged is not None else None)
            stage_note("reconciling")
            start = clock()
            rec = reconcile.reconcile_store(staging.store, review_file, threshold=threshold,
                                            curation=curation, missing_ok=True)
            staging.add(reconcile.map_reconciliation(rec), bulk=False)
            issues.extend(rec.issues)
            watch.add("reconcile", clock() - start)
            # described before validation, so that the description is validated too
            start = clock()
            after = _contents(staging.store, [*graphs, links]) if add else None
            described = (_describe_delta(staging.store, meta, before, after) if add else None) \
                or _describe(staging.store, meta)
            staging.add(described.quads, bulk=False)
            watch.add("describe", clock() - start)
            stage_note("validating")
            start = clock()
            staging.store.flush()
            if staged is not None:  # the store is complete: its export is written meanwhile
                staged.start(staging.store)
            watch.add("load", clock() - start)
            if not add:
                # compact what the bulk load wrote: its many overlapping files make every
                # read (validation, then queries) several times slower; and the validation
                # workers' read-only views need RocksDB's background compactions done (they
                # fail on files deleted under them: seen when this step was left out)
                start = clock()
                staging.store.optimize()
                watch.add("compact", clock() - start)
            start = clock()
            tick = (lambda done, total: progress("validating", done, total)) if progress else None
            if add:
                focus = _neighbours(staging.store, _changes_of(staging.store, before, after))
                focus |= {q.subject.value for q in described.quads if isinstance(q.subject, ox.NamedNode)}
                report = validate_store(staging.store, focus, on_progress=tick)
            else:
                size = len(staging.store)
                count = workers or (min(2, os.cpu_count() or 1) if size > PARALLEL_VALIDATION * 5 else 1)
                report = validate_store(staging.store, workers=count, path=str(staging.dir), on_progress=tick)
            watch.add("validate", clock() - start)
            if not report.conforms:
                if staged is not None:
                    staged.discard()
                staging.discard()
                return BuildResult(False, report, tuple(issues), tuple(g.value for g in graphs),
                                   len(quads), dict(watch))
            if staged is not None:
                stage_note("writing export")
                start = clock()
                staged.wait()  # the store must stay open until the export has read it
                watch.add("export wait", clock() - start)
                watch.add("export", staged.seconds)  # beside compaction and validation
            stage_note("writing store")
            start = clock()
            total = described.triples + len(set(described.quads))
            staging.commit(optimize=False)
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    if staged is not None:
        staged.publish()
    if rec.links:
        reconcile.write_review(review_file.path, rec, review_file)
    watch.add("commit", clock() - start)
    return BuildResult(True, report, tuple(issues), tuple(g.value for g in graphs), total, dict(watch))


@dataclass
class _Contents:
    """What the graphs an --add replaces held (or hold): their quads, and the store's
    previous VoID description (None if the store has none to start from)."""

    quads: set[ox.Quad]
    counts: dict[str, int]  # graph IRI -> quads in it
    void: tuple[int, dict[str, int]] | None = None  # (void:triples, class -> entities)


# above this many quads in the replaced graphs, --add does not diff them quad by quad
DIFF_LIMIT = 1_000_000


def _contents(store: ox.Store, graphs: Sequence[ox.NamedNode], meta: ox.NamedNode | None = None) -> _Contents:
    """The quads of `graphs` (small: a guide, the reconciliation links) and, with
    `meta`, the VoID counts the last build wrote: an --add diffs the one against
    what it writes, and updates the other, rather than re-reading the whole store."""
    counts = {g.value: int(next(iter(store.query(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{g.value}> {{ ?s ?p ?o }} }}")))[0].value) for g in graphs}
    quads: set[ox.Quad] = set()
    if sum(counts.values()) <= DIFF_LIMIT:
        for graph in graphs:
            quads.update(store.quads_for_pattern(None, None, None, graph))
    return _Contents(quads, counts, _read_void(store, meta) if meta is not None else None)


def _read_void(store: ox.Store, meta: ox.NamedNode) -> tuple[int, dict[str, int]] | None:
    """(void:triples, {class: entities}) of the meta graph; None if absent or ambiguous."""
    def values(s, p):
        return [q.object for q in store.quads_for_pattern(s, ox.NamedNode(p), None, meta)]

    dataset = ox.NamedNode(mint("dataset"))
    triples = values(dataset, VOID + "triples")
    if len(triples) != 1:
        return None
    types: dict[str, int] = {}
    for part in values(dataset, VOID + "classPartition"):
        classes, entities = values(part, VOID + "class"), values(part, VOID + "entities")
        if len(classes) != 1 or len(entities) != 1 or classes[0].value in types:
            return None
        types[classes[0].value] = int(entities[0].value)
    return int(triples[0].value), types


def _changes_of(store: ox.Store, before: _Contents, after: _Contents) -> dict[str, set[tuple[str, bool]]]:
    """The kg IRIs (minted, so not classes or vocabulary) whose triples in the union of
    the graphs an --add changed, each with the edges that changed there (predicate
    IRI, the node is the subject?): a triple another graph also states is no change.
    Replaced graphs too large to diff count whole, as every triple in them."""
    base = mint("")
    kept = {g for g in before.counts} | {g for g in after.counts}
    large = sum(before.counts.values()) > DIFF_LIMIT or sum(after.counts.values()) > DIFF_LIMIT
    if large:
        changed: Iterable[ox.Quad] = itertools.chain(
            before.quads, *(store.quads_for_pattern(None, None, None, ox.NamedNode(g)) for g in kept))
    else:
        old = {(q.subject, q.predicate, q.object) for q in before.quads}
        new = {(q.subject, q.predicate, q.object) for q in after.quads}
        changed = [ox.Quad(*t) for t in old ^ new
                   if not any(not isinstance(q.graph_name, ox.NamedNode) or q.graph_name.value not in kept
                              for q in store.quads_for_pattern(*t, None))]
    edges: dict[str, set[tuple[str, bool]]] = {}
    for quad in changed:
        for term, forward in ((quad.subject, True), (quad.object, False)):
            if isinstance(term, ox.NamedNode) and term.value.startswith(base):
                edges.setdefault(term.value, set()).add((quad.predicate.value, forward))
    return edges


def _neighbours(store: ox.Store, changes: dict[str, set[tuple[str, bool]]]) -> set[str]:
    """The changed nodes, and their neighbours (in any graph, either direction; kg
    IRIs) whose shapes read one of the edges that changed at that node: a paper's
    shape reads its slots' pro:isHeldBy, so a changed slot is checked from its paper
    too, but not the papers of a person who only gained a guide slot."""
    base = mint("")
    found = set(changes)
    reads: dict[str, frozenset | None] = {}
    for iri, edges in changes.items():
        node = ox.NamedNode(iri)
        around = {s.value for s, _p, _o, _g in store.quads_for_pattern(None, None, node, None)
                  if isinstance(s, ox.NamedNode)}
        around |= {o.value for _s, _p, o, _g in store.quads_for_pattern(node, None, None, None)
                   if isinstance(o, ox.NamedNode) and o.value.startswith(base)}
        for other in around - found:
            if other not in reads:
                reads[other] = reads_beyond_focus(store, ox.NamedNode(other))
            if reads[other] is None or not reads[other].isdisjoint(edges):
                found.add(other)
    return found


@dataclass(frozen=True)
class _Described:
    quads: list[ox.Quad]
    triples: int  # quads in the store outside the meta graph


def _describe_delta(store: ox.Store, meta: ox.NamedNode, before: _Contents,
                    after: _Contents) -> _Described | None:
    """_describe for an --add, from the previous VoID counts and what changed: the
    counts are the same, without a GROUP BY over millions of quads. None when the
    store has no usable previous description or the change was too large to diff."""
    if before.void is None or len(before.quads) != sum(before.counts.values()) \
            or len(after.quads) != sum(after.counts.values()):
        return None
    triples, types = before.void
    triples += sum(after.counts.values()) - sum(before.counts.values())
    kept = set(before.counts) | set(after.counts)
    rdf_type = ox.NamedNode(RDF + "type")

    def typed(quads: set[ox.Quad]) -> set[tuple]:
        return {(q.subject, q.object) for q in quads
                if q.predicate == rdf_type and isinstance(q.object, ox.NamedNode)}

    old, new = typed(before.quads), typed(after.quads)
    types = dict(types)
    for subject, cls in old ^ new:
        # typed in a graph the --add left alone: counted before and after alike
        if any(not isinstance(q.graph_name, ox.NamedNode) or q.graph_name.value not in kept
               for q in store.quads_for_pattern(subject, rdf_type, cls, None)):
            continue
        types[cls.value] = types.get(cls.value, 0) + (1 if (subject, cls) in new else -1)
    types = {cls: n for cls, n in types.items() if n > 0}
    derived = {meta.value, reconcile.RECONCILIATION_GRAPH}
    sources = [g for g in store.named_graphs() if g.value not in derived]
    return _Described(map_build(sources, types, triples), triples)


def _describe(store: ox.Store, meta: ox.NamedNode) -> _Described:
    """VoID and provenance for what the store now holds (the meta graph excluded).

    void:triples counts the triples of the source graphs (a triple that two sources
    state counts twice): counting distinct triples over the union takes Oxigraph
    seconds per million triples, the sum of graph sizes does not."""
    derived = {meta.value, reconcile.RECONCILIATION_GRAPH}  # made by the build, not read
    sources = [g for g in store.named_graphs() if g.value not in derived]
    query = f"""SELECT ?class (COUNT(DISTINCT ?s) AS ?n)
                WHERE {{ GRAPH ?g {{ ?s <{RDF}type> ?class }} FILTER(?g != <{meta.value}>) }}
                GROUP BY ?class"""
    types = {row["class"].value: int(row["n"].value) for row in store.query(query)
             if isinstance(row["class"], ox.NamedNode)}
    triples = len(store) - sum(1 for _ in store.quads_for_pattern(None, None, None, meta))
    return _Described(map_build(sources, types, triples), triples)
