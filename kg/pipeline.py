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
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path

import pyoxigraph as ox

from kg import merge, reconcile
from kg import store as stores
from kg.errors import SourceError, StoreError, unreadable
from kg.export import StagedExport, StreamedLines, nquads_as_ntriples
from kg.mapping import (
    ANTHOLOGY_REPOSITORY,
    META_GRAPH,
    A,
    map_anthology,
    map_build,
    map_guide,
    map_rdf_source,
    source_iri,
)
from kg.namespaces import DCTERMS, SCHEMA, VOID, mint
from kg.records import Issue
from kg.resolve import Curation, load_topic_cues, resolve_guide
from kg.sources import rdf
from kg.sources.anthology import (
    AnthologyRecord,
    NameResolver,
    collection_files,
    load_name_variants,
    read_anthology,
)
from kg.sources.guide import read_guide
from kg.validate import (
    Report,
    focus_of_any,
    shapes_reading,
    stated_literals,
    to_rdflib,
    validate_graph,
    validate_store,
)

GUIDE_SUFFIXES = (".txt", ".md", ".text")
# hand-made RDF (curated facts, corrections) loads as a source graph of its own
RDF_SUFFIXES = {".ttl": ox.RdfFormat.TURTLE, ".nt": ox.RdfFormat.N_TRIPLES}
ANTHOLOGY_SUFFIXES = (".xml", ".xml.gz")
DATA = Path(str(files("kg.data")))  # the repository's data/, shipped in the package
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
    """Seconds spent per build stage (parse, resolve, map, load, compact, reconcile,
    merge, describe, validate, export, export wait, commit), for `kg build --timings`
    and bench/anthology.py. The export is written beside validation: "export wait" is
    what the build waited for it after that."""

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
    """Bulk-load a stream of Anthology quads, written as N-Quads a chunk at a time to the
    staging store's loader, which loads meanwhile: each quad into its collection's graph
    and, as a triple, into the default graph (an Anthology collection names nothing by
    another IRI, so its triples join the merge as they are: see kg.merge). With `lines`,
    the triples are kept for the export too. "map" counts producing and writing the
    chunks (less what parse and resolve counted), "load" waiting for the loader to
    finish after the last one."""
    def nested() -> float:
        return watch.get("parse", 0.0) + watch.get("resolve", 0.0)

    with staging.bulk_writer() as out:
        while True:
            before, start = nested(), time.perf_counter()
            batch = list(itertools.islice(quads, chunk))
            # a run of one graph at a time: its name comes off every line at once
            for graph, run in itertools.groupby(batch, key=_graph_name):
                data = ox.serialize(list(run), format=ox.RdfFormat.N_QUADS)
                triples = nquads_as_ntriples(graph, data)
                out.write(data)
                out.write(triples)
                if lines is not None:
                    lines.write_triples(graph, triples)
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
    triples: int  # in the new store's default graph (the merge); 0 when not written
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds


def read_sources(paths: Sequence[str | Path], curation: Curation | None = None,
                 name_variants: Path | None = None) -> tuple[list[ox.Quad], list[Issue], list[ox.NamedNode]]:
    """Read, resolve and map every source into memory, each in its own graph as the
    source says it (no merge); raises SourceError before anything is written."""
    documents, collections = split_sources(paths)
    quads, issues, kinds = read_documents(documents, curation)
    graphs = [ox.NamedNode(g) for g in kinds]
    if collections:
        resolver = load_resolver(name_variants or find_name_variants(collections))
        quads.extend(stream_anthology(collections, resolver))
        graphs.extend(source_iri(p.name) for p in collections)
    return quads, issues, graphs


def read_documents(paths: Sequence[Path], curation: Curation | None = None) -> tuple[list[ox.Quad], list[Issue], dict[str, int]]:
    """Read guides and hand-made RDF files whole (resolved and mapped): their quads,
    warnings, and each one's graph IRI with its kind (merge.GUIDE or merge.RDF_FILE)."""
    curation = curation or Curation.empty()
    cues = load_topic_cues()
    quads: list[ox.Quad] = []
    issues: list[Issue] = []
    kinds: dict[str, int] = {}
    # sorted so that the order sources are named in does not matter
    for path in sorted((Path(p) for p in paths), key=lambda p: (p.name, str(p))):
        graph = source_iri(path.name)
        suffix = path.suffix.lower()
        if suffix in RDF_SUFFIXES and path.is_file():
            quads.extend(read_rdf(path, RDF_SUFFIXES[suffix], graph))
            kinds[graph.value] = merge.RDF_FILE
        elif path.is_file() and suffix in GUIDE_SUFFIXES:
            resolved = resolve_guide(read_guide(path), curation, cues)
            quads.extend(map_guide(resolved, hidden_labels=cues))
            issues.extend(resolved.issues)
            kinds[graph.value] = merge.GUIDE
        else:
            try:
                path.stat()  # says why when there is nothing to read: missing, a loop of links
            except OSError as exc:
                raise unreadable(path, exc, "expected a guide text file, RDF, or Anthology collection "
                                            "files (.xml, .xml.gz)") from None
            raise SourceError(path, None, "unknown source kind; expected a guide text file "
                                          f"({', '.join(GUIDE_SUFFIXES)}), RDF ({', '.join(RDF_SUFFIXES)}) "
                                          f"or Anthology collections ({', '.join(ANTHOLOGY_SUFFIXES)}, "
                                          "or a folder of them)")
    return quads, issues, kinds


def read_rdf(path: Path, fmt: ox.RdfFormat, graph: ox.NamedNode) -> list[ox.Quad]:
    """An RDF file's triples in its own graph, with the file described as a source."""
    raw = rdf.read_bytes(path, "expected a Turtle or N-Triples file")
    quads = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in rdf.parse(path, raw, fmt, graph.value)]
    return quads + map_rdf_source(graph, path.name, hashlib.sha256(raw).hexdigest())


def build(paths: Sequence[str | Path], *, store: Path | str, add: bool = False,
          curation: Curation | None = None, on_stage: Callable[[str], None] | None = None,
          review: Path | None = None, threshold: float = reconcile.DEFAULT_THRESHOLD,
          name_variants: Path | None = None, progress: Progress | None = None,
          workers: int | None = None, export: tuple[str, Path] | None = None,
          wait: bool = True, on_wait: Callable[[str], None] | None = None) -> BuildResult:
    """Build (or with `add`, extend) the store from sources; atomic, validate-before-write.

    Each source is read into its own named graph; guide papers are reconciled with the
    Anthology papers in the store (links below `threshold` go to the review file, whose
    decisions count); the default graph is then the merge of every graph, one node per
    real paper and person (see kg.merge), and that is what is validated. A fresh build
    validates every focus node; `add` what changed in the default graph and the nodes
    whose shapes read a changed edge. `name_variants` is the Anthology's
    name_variants.yaml (default: see find_name_variants). `workers` validation
    processes (default: up to 2 on a large store). `export` (format, path): the new
    store's export, written while it is validated and put in place once the store is
    live; on failure the file is left as it was. A server `store` (kg.store.remote) gets
    the same build, made in a temporary embedded store and then swapped in there. One
    writer at a time (stores.writer_lock): with `wait` False a busy store is a
    StoreError, else `on_wait(message)` and the build waits its turn.
    """
    with stores.writer_lock(store, wait=wait, on_wait=on_wait):
        target = stores.open_store(store, must_exist=False)
        if add and not target.exists():  # said before any source is read
            raise StoreError(f"no store at {store} to add to; run `kg build` first")
        return _build(paths, target=target, add=add, curation=curation, on_stage=on_stage, review=review,
                      threshold=threshold, name_variants=name_variants, progress=progress, workers=workers,
                      export=export)


def _build(paths, *, target: stores.Store, add: bool, curation, on_stage, review, threshold,
           name_variants, progress, workers, export) -> BuildResult:
    """The stages of `build` in order (parse, load, compact, reconcile, merge, describe,
    validate, export, commit), each noted and timed in turn inside one staged store.

    Long on purpose: a linear recipe whose stages share the store, the stopwatch and
    the staged export, best read top to bottom."""
    stage_note = on_stage or (lambda _msg: None)
    watch = Stopwatch()
    clock = time.perf_counter
    stage_note("reading sources")
    start = clock()
    documents, collections = split_sources(paths)
    quads, issues, kinds = read_documents(documents, curation)
    graphs = [ox.NamedNode(g) for g in kinds] + [source_iri(p.name) for p in collections]
    kinds.update({source_iri(p.name).value: merge.ANTHOLOGY for p in collections})
    # a server's review file is the one here (a server has no folder of kg's own)
    review_file = reconcile.load_review(review or (reconcile.review_path(target.path) if target.embedded
                                                   else Path(reconcile.REVIEW_FILE)))
    meta = ox.NamedNode(mint(*META_GRAPH.split("/")))
    links = ox.NamedNode(reconcile.RECONCILIATION_GRAPH)
    watch.add("parse", clock() - start)  # guides: read, resolved and mapped together
    staged = StagedExport(*export, whole=not add) if export is not None else None
    try:
        with target.staging(extend=add, on_stage=on_stage) as staging:
            db = staging.store
            start = clock()
            replaced = [*graphs, meta, links]
            delta = _Delta(db) if add else None
            previous = _read_void(db, meta) if add else None
            if add:
                kinds = {**_graph_kinds(db), **kinds}
                _unmerge(db, replaced, kinds, delta)
            kinds.update({meta.value: merge.DERIVED, links.value: merge.DERIVED})
            staging.replace_graphs(replaced)
            staging.add(quads, bulk=not add or len(quads) > 100_000)
            watch.add("load", clock() - start)
            if collections:
                stage_note("reading Anthology collections")
                resolver = load_resolver(name_variants or find_name_variants(collections))
                with stores.collector_paused():
                    load_streamed(staging, stream_anthology(collections, resolver, progress=progress,
                                                            watch=watch), watch,
                                  lines=staged.lines if staged is not None else None)
            elif any(k == merge.ANTHOLOGY for k in kinds.values()):
                resolver = load_resolver(name_variants or find_name_variants([]))
            else:
                resolver = None
            if collections and add:  # the new collections' triples joined the default graph
                delta.added_graphs(db, [source_iri(p.name) for p in collections])
            if not add:
                # compact what the bulk loads wrote before reading or writing anything more:
                # their many overlapping files make every read (reconciliation, the merge,
                # validation, then queries) several times slower and stall the next writes;
                # and the validation workers' read-only views need RocksDB's background
                # compactions done (they fail on files deleted under them: seen when this
                # step was left out)
                start = clock()
                db.flush()
                db.optimize()
                watch.add("compact", clock() - start)
            stage_note("reconciling")
            start = clock()
            if any(kind == merge.GUIDE for kind in kinds.values()):
                rec = reconcile.reconcile_store(db, review_file, threshold=threshold, curation=curation,
                                                resolver=resolver, missing_ok=True)
            else:  # no guide paper to link: nothing to read
                rec = reconcile.Reconciliation((), threshold)
            anthology = [ox.NamedNode(g) for g, kind in kinds.items() if kind == merge.ANTHOLOGY]
            aliases, alias_issues = rec.aliases(known=lambda iri: _typed(db, iri),
                                                authoritative=lambda iri: _stated_in(db, iri, anthology))
            recon = reconcile.map_reconciliation(rec, aliases)
            staging.add(recon, bulk=not add)
            # the reconciliation names a guide by its file name (what the store keeps): the
            # path it was read from, where this build has it, as the readers' warnings do
            read_from = {p.name: str(p) for p in documents}
            issues.extend(replace(i, path=read_from.get(i.path, i.path)) for i in [*rec.issues, *alias_issues])
            watch.add("reconcile", clock() - start)
            stage_note("merging sources")
            start = clock()
            small = quads + recon if not add else _small_quads(db, kinds, meta)
            merged = merge.merged_triples(small, merge.Aliases(aliases), _ranker(kinds), db)
            # validated as the sources wrote them, not as the store rewrote them (an --add
            # merges what the store holds: the new sources' own quads say what they stated)
            stated = (stated_literals(merge.canonical_quads(quads, merge.Aliases(aliases)),
                                      also=lambda t: _stated_elsewhere(db, t, graphs)) if add
                      else stated_literals(merged))
            _add_default(db, merged, delta)
            if staged is not None and staged.lines is not None:
                staged.lines.write_triples(None, ox.serialize(merged, format=ox.RdfFormat.N_TRIPLES))
            del quads, small, merged  # in the store now: a 10,000-paper guide's ~0.5 GB
            watch.add("merge", clock() - start)
            # described before validation, so that the description is validated too
            start = clock()
            described = _describe(db, meta, kinds, previous, delta)
            staging.add(described.quads, bulk=False)
            _add_default(db, described.triples, delta)
            if staged is not None and staged.lines is not None:
                staged.lines.write_triples(None, ox.serialize(described.triples, format=ox.RdfFormat.N_TRIPLES))
            db.flush()
            watch.add("describe", clock() - start)
            if not add:
                # the merge's bulk loads left new files: compacted for the same reasons as
                # the collections' above (validation reads them; its workers' read-only
                # views failed under a background compaction of a 10,000-paper guide's)
                start = clock()
                db.optimize()
                watch.add("compact", clock() - start)
            stage_note("validating")
            if staged is not None:  # the store is complete: its export is written meanwhile
                staged.start(db)
            start = clock()
            tick = (lambda done, total: progress("validating", done, total)) if progress else None
            if add:
                focus = _neighbours(db, delta.changes()) | delta.terms() | {s for s, _p in stated}
                report = validate_store(db, focus, on_progress=tick, stated=stated)
            else:
                size = described.count
                count = workers or _validation_workers(size)
                report = validate_store(db, workers=count, path=str(staging.dir), on_progress=tick,
                                        stated=stated)
            watch.add("validate", clock() - start)
            if not report.conforms:
                if staged is not None:
                    staged.discard()
                staging.discard()
                return BuildResult(False, report, tuple(issues), tuple(g.value for g in graphs),
                                   0, dict(watch))
            if staged is not None:
                stage_note("writing export")
                start = clock()
                staged.wait()  # the store must stay open until the export has read it
                watch.add("export wait", clock() - start)
                watch.add("export", staged.seconds)  # beside validation
            stage_note("writing store")
            start = clock()
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
    return BuildResult(True, report, tuple(issues), tuple(g.value for g in graphs), described.count,
                       dict(watch))


# --- what an --add changes in the default graph ------------------------------------------

class _Delta:
    """Exact changes to the default graph during an --add: triples that were not there
    and were added, triples that were there and were removed (a triple removed and then
    added again is no change)."""

    def __init__(self, store: ox.Store):
        self.store = store
        self.added: set[ox.Triple] = set()
        self.removed: set[ox.Triple] = set()
        self.kept: set[str] = set()  # the Anthology collections the --add keeps

    def present(self, triple: ox.Triple) -> bool:
        return next(self.store.quads_for_pattern(*triple, DEFAULT), None) is not None

    def add(self, triples: Iterable[ox.Triple]) -> list[ox.Triple]:
        new = [t for t in set(triples) if not self.present(t)]
        for t in new:
            if t in self.removed:
                self.removed.discard(t)
            else:
                self.added.add(t)
        return new

    def remove(self, triples: Iterable[ox.Triple]) -> list[ox.Triple]:
        gone = [t for t in set(triples) if self.present(t)]
        for t in gone:
            if t in self.added:
                self.added.discard(t)
            else:
                self.removed.add(t)
        return gone

    def added_graphs(self, store: ox.Store, graphs: Sequence[ox.NamedNode]) -> None:
        """Note the triples of collections streamed in (straight into the default graph)
        as added, unless they were there before: removed and back, or stated by a kept
        collection (whose triples stay in the default graph throughout)."""
        for graph in graphs:
            for q in store.quads_for_pattern(None, None, None, graph):
                t = ox.Triple(q.subject, q.predicate, q.object)
                if t in self.removed:
                    self.removed.discard(t)
                elif not self.backed(t):
                    self.added.add(t)

    def backed(self, triple: ox.Triple) -> bool:
        """Whether an Anthology collection the --add keeps states `triple`."""
        return any(isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value in self.kept
                   for q in self.store.quads_for_pattern(*triple, None))

    def terms(self) -> set:
        """Every subject and object of a changed triple (any IRI, blank nodes, literals:
        a literal or a node outside kg's IRIs can be a focus node too)."""
        return {term for t in self.added | self.removed for term in (t.subject, t.object)}

    def changes(self) -> dict[str, set[tuple[str, bool]]]:
        """The kg IRIs whose triples changed, each with the edges that changed there
        (predicate IRI, the node is the subject?)."""
        base = mint("")
        edges: dict[str, set[tuple[str, bool]]] = {}
        for t in self.added | self.removed:
            for term, forward in ((t.subject, True), (t.object, False)):
                if isinstance(term, ox.NamedNode) and term.value.startswith(base):
                    edges.setdefault(term.value, set()).add((t.predicate.value, forward))
        return edges


DEFAULT = ox.DefaultGraph()


def _stated_elsewhere(store: ox.Store, triple: ox.Triple, new: Sequence[ox.NamedNode]) -> bool:
    """Whether a graph the --add keeps states `triple` (as the store holds it)."""
    return any(q.graph_name not in new and not isinstance(q.graph_name, ox.DefaultGraph)
               for q in store.quads_for_pattern(*triple, None))


def _add_default(store: ox.Store, triples: Iterable[ox.Triple], delta: _Delta | None) -> None:
    """Add triples to the default graph (the merge), noting the change for an --add.
    A fresh build bulk-loads them: one transaction of a 10,000-paper guide's merge
    (~0.5 M triples) took minutes and over 1 GB, its cost per triple growing with
    its size; the staging store is thrown away on failure anyway."""
    if delta is not None:
        store.extend(ox.Quad(t.subject, t.predicate, t.object, DEFAULT) for t in delta.add(triples))
    else:
        stores.bulk_extend(store, (ox.Quad(t.subject, t.predicate, t.object, DEFAULT) for t in triples))


def _typed(store: ox.Store, iri: str) -> bool:
    """Whether the default graph types `iri`: an entity an alias may merge into."""
    return next(store.quads_for_pattern(ox.NamedNode(iri), A, None, DEFAULT), None) is not None


def _stated_in(store: ox.Store, iri: str, graphs: Sequence[ox.NamedNode]) -> bool:
    """Whether one of `graphs` types `iri`: a node of that source's own."""
    node = ox.NamedNode(iri)
    return any(next(store.quads_for_pattern(node, A, None, g), None) is not None for g in graphs)


def _graph_kinds(store: ox.Store) -> dict[str, int]:
    """Each named graph's kind (merge.ANTHOLOGY, GUIDE, RDF_FILE or DERIVED), from how
    it describes itself: an Anthology collection names the Anthology's repository as
    its dcterms:source, a guide is a schema:Article; meta and reconciliation are derived."""
    derived = {mint(*META_GRAPH.split("/")), reconcile.RECONCILIATION_GRAPH}
    repository = ox.NamedNode(ANTHOLOGY_REPOSITORY)
    article = ox.NamedNode(SCHEMA + "Article")
    source = ox.NamedNode(DCTERMS + "source")
    kinds = {}
    for graph in store.named_graphs():
        if graph.value in derived:
            kinds[graph.value] = merge.DERIVED
        elif next(store.quads_for_pattern(graph, source, repository, graph), None) is not None:
            kinds[graph.value] = merge.ANTHOLOGY
        elif next(store.quads_for_pattern(graph, A, article, graph), None) is not None:
            kinds[graph.value] = merge.GUIDE
        else:
            kinds[graph.value] = merge.RDF_FILE
    return kinds


def _ranker(kinds: dict[str, int]) -> Callable[[ox.NamedNode], merge.Rank]:
    def rank(graph) -> merge.Rank:
        value = getattr(graph, "value", "")
        return (kinds.get(value, merge.DERIVED), value)
    return rank


def _small_quads(store: ox.Store, kinds: dict[str, int], meta: ox.NamedNode) -> list[ox.Quad]:
    """The quads of every graph merged by merge.merged_triples: all but the Anthology
    collections (merged as they stream in) and the meta graph (described last)."""
    out: list[ox.Quad] = []
    for graph, kind in sorted(kinds.items()):
        if kind != merge.ANTHOLOGY and graph != meta.value:
            out.extend(store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))
    return out


def _unmerge(store: ox.Store, replaced: Sequence[ox.NamedNode], kinds: dict[str, int], delta: _Delta) -> None:
    """Before an --add: take out of the default graph what the last build merged in from
    every graph but the Anthology collections kept (those are merged again from their
    source form, with the new aliases), and the triples of the Anthology collections
    being replaced that no kept collection states too. What the kept collections state
    stays: it is theirs."""
    swapped = {g.value for g in replaced}
    delta.kept = {g for g, k in kinds.items() if k == merge.ANTHOLOGY and g not in swapped}

    links = ox.NamedNode(reconcile.RECONCILIATION_GRAPH)
    aliases = merge.Aliases({q.object.value: q.subject.value for q in store.quads_for_pattern(
        None, merge.SAME_AS, None, links) if isinstance(q.object, ox.NamedNode)})
    subjects: set = set()
    for graph, kind in kinds.items():
        if kind == merge.ANTHOLOGY:
            continue
        for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)):
            subjects.add(q.subject)
            subjects.add(aliases(q.subject))
    old = [ox.Triple(q.subject, q.predicate, q.object) for s in subjects
           for q in store.quads_for_pattern(s, None, None, DEFAULT)]
    for graph in swapped:
        if kinds.get(graph) == merge.ANTHOLOGY:
            old.extend(ox.Triple(q.subject, q.predicate, q.object)
                       for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))
    gone = delta.remove(t for t in old if not delta.backed(t))
    for t in gone:
        store.remove(ox.Quad(t.subject, t.predicate, t.object, DEFAULT))


# --- the dataset description ---------------------------------------------------------

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


@dataclass(frozen=True)
class _Described:
    quads: list[ox.Quad]  # the meta graph
    triples: list[ox.Triple]  # its triples, for the default graph
    count: int  # triples in the default graph, these included


def _describe(store: ox.Store, meta: ox.NamedNode, kinds: dict[str, int],
              previous: tuple[int, dict[str, int]] | None, delta: _Delta | None) -> _Described:
    """VoID and provenance of the default graph as it now is (before its own triples
    join it): void:triples counts every triple of the default graph, these included,
    so it equals COUNT(*) over it and the lines of the N-Triples export; the class
    partitions count the entities of each class, the description's own not among them.
    An --add starts from the last description and what changed (`previous`, `delta`),
    without counting millions of triples again."""
    sources = [ox.NamedNode(g) for g, k in kinds.items() if k != merge.DERIVED and g != meta.value]
    if previous is not None and delta is not None:
        triples, types = previous
        # the old description left the default graph with the meta graph (see _unmerge)
        triples += len(delta.added) - len(delta.removed)
        types = dict(types)
        for t, sign in [*((t, 1) for t in delta.added), *((t, -1) for t in delta.removed)]:
            if t.predicate == A and isinstance(t.object, ox.NamedNode) \
                    and not (isinstance(t.subject, ox.NamedNode) and t.subject.value.startswith(_META_NODES)):
                types[t.object.value] = types.get(t.object.value, 0) + sign
        types = {cls: n for cls, n in types.items() if n > 0}
    else:
        query = "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?class } GROUP BY ?class"
        types = {row["class"].value: int(row["n"].value) for row in store.query(query)
                 if isinstance(row["class"], ox.NamedNode)}
        triples = int(next(iter(store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")))["n"].value)
    draft = map_build(sources, types, 0)
    own = {ox.Triple(q.subject, q.predicate, q.object) for q in draft}
    own_new = len(own) if delta is None else len([t for t in own if not delta.present(t)])
    quads = map_build(sources, types, triples + own_new)
    return _Described(quads, [ox.Triple(q.subject, q.predicate, q.object) for q in quads],
                      triples + own_new)


_META_NODES = (mint("dataset"), mint("build/"))


def _neighbours(store: ox.Store, changes: dict[str, set[tuple[str, bool]]]) -> set[str]:
    """The changed nodes, and their neighbours in the default graph (either direction;
    kg IRIs) whose shapes read one of the edges that changed at that node: a paper's
    shape reads its slots' pro:isHeldBy, so a changed slot is checked from its paper
    too, but not the papers of a person who only gained a guide slot. A node whose
    changed edges no shape reads beyond its focus node is not looked around at all (a
    collection's source node gaining a kg:bylineSource edge has 300 k neighbours)."""
    base = mint("")
    found = set(changes)
    known: dict = {}  # what the focus checks read, shared
    for iri, edges in changes.items():
        names = shapes_reading(edges)
        if not names:
            continue
        node = ox.NamedNode(iri)
        around = {q.subject for q in store.quads_for_pattern(None, None, node, DEFAULT)
                  if isinstance(q.subject, ox.NamedNode)}
        around |= {q.object for q in store.quads_for_pattern(node, None, None, DEFAULT)
                   if isinstance(q.object, ox.NamedNode) and q.object.value.startswith(base)}
        found |= {other.value for other in around
                  if other.value not in found and focus_of_any(store, other, names, known)}
    return found


# --- the store's other jobs: validating it, reconciling what it holds ----------------------

def _validation_workers(quads: int) -> int:
    """Two processes share a big store's screens (one is faster below ~500,000 quads)."""
    return min(2, os.cpu_count() or 1) if quads > PARALLEL_VALIDATION * 5 else 1


def validate_live(spec: str | Path | None = None) -> Report:
    """Validate the store a --store value names: an embedded one in batches of focus
    nodes (the build's validation), a server's default graph (the merge) read whole."""
    live = stores.open_store(spec)
    if not live.embedded:
        return validate_graph(to_rdflib(list(live.quads_for_pattern(None, None, None, ox.DefaultGraph()))))
    return validate_store(live.native, workers=_validation_workers(len(live)), path=str(live.generation))


def reconcile_live(spec: str | Path | None = None, *, guides: Sequence[Path] = (),
                   anthology: Sequence[Path] = (), name_variants: Path | None = None,
                   curation: Curation | None = None, threshold: float = reconcile.DEFAULT_THRESHOLD,
                   review_file: Path | None = None, write: bool = True, wait: bool = True,
                   on_wait: Callable[[str], None] | None = None) -> tuple[reconcile.Reconciliation, Path, int | None]:
    """Reconcile the store's guide papers with its Anthology papers (or the files
    given instead), honouring the review file; with `write`, rewrite the review file
    under the store's writer lock. Returns the reconciliation, the review file's path
    and its number of entries (None when not written). The store is not changed."""
    from kg.records import AnthologyPaper

    target = stores.store_path(spec)
    if review_file is None:
        review_file = Path(reconcile.REVIEW_FILE) if stores.is_url(target) else reconcile.review_path(target)
    review = reconcile.load_review(review_file)
    db = None if (guides and anthology) else stores.open_store(target)
    resolver = None
    if anthology:
        resolver = load_resolver(name_variants or find_name_variants(list(anthology)))
    papers = ((r for r in read_anthology(anthology) if isinstance(r, AnthologyPaper))
              if anthology else None)
    result = reconcile.reconcile_store(db, review, threshold=threshold, resolver=resolver,
                                       guides=[read_guide(g) for g in guides] or None,
                                       anthology_papers=papers, curation=curation if guides else None)
    if not write:
        return result, review_file, None
    # the review file is the store's too: written by one writer at a time
    guard = (stores.writer_lock(target, wait=wait, on_wait=on_wait)
             if stores.is_url(target) or Path(target).is_dir() else nullcontext())
    with guard:
        return result, review_file, reconcile.write_review(review_file, result, review)
