"""Exports in standard RDF formats: deterministic bytes, written atomically.

Quads are sorted before serialising, so the same store gives the same file on
every run; a file is written beside its target and renamed into place.

The order is that of the terms' N-Triples forms, compared as strings: triples by
(subject, predicate, object), quads by (graph, subject, predicate, object), where the
default graph is spelt "DEFAULT". A term's N-Triples form never has a prefix that is
itself a whole term followed by a byte below the separating space, so sorting whole
N-Triples lines as bytes gives exactly that order. Oxigraph dumps the lines (in Rust;
for the graph-less formats two threads dump into temporary files, which
`LC_ALL=C sort -u` merges and de-duplicates with a bounded buffer); graphs are
sorted one at a time in Python; Turtle and TriG are
the sorted lines streamed back through Oxigraph's serialiser, which groups
consecutive subjects. Nothing holds more than one graph's lines in Python, so a
multi-gigabyte store exports in a few hundred MB.

Decoding quads back out of the store is most of an export's time, so a build
that exports (`StagedExport`) keeps the N-Triples lines of the graphs it streams
in as they go by (`StreamedLines`), and dumps only the other graphs; it writes
the export while it validates and renames it into place once the store is live.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from kg.atomic import replacing, temp_beside
from kg.errors import ExportError
from kg.namespaces import PREFIXES

FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": None,  # rdflib's serialiser, then normalised
}
GRAPHLESS = ("turtle", "ntriples", "jsonld")  # the default graph: the merge (see kg.merge)
SUFFIXES = {"turtle": ".ttl", "ntriples": ".nt", "nquads": ".nq", "trig": ".trig", "jsonld": ".jsonld"}

SORT = shutil.which("sort")  # coreutils sort; None: sort in Python (all lines in memory)
SORT_BUFFER = "256M"  # sort's in-memory buffer; beyond it, it merges temporary files
DUMP_THREADS = 2  # graphs are dumped by this many threads at once (at most one a core)
_CHUNK = 1 << 20


def _key(term) -> str:
    """The sort key of a term: its N-Triples form (str of an Oxigraph term)."""
    return str(term)


def export_bytes(store, fmt: str) -> bytes:
    """Serialise the store: graph-less formats get the default graph (the merge of the
    sources, one node per real thing), N-Quads and TriG every graph, the default one too."""
    out = io.BytesIO()
    export_to(store, fmt, out)
    return out.getvalue()


def export_file(store, fmt: str, path: str | Path) -> None:
    """Export to `path` atomically, streaming: the file is never held in memory."""
    _check(fmt)
    with replacing(path) as handle:
        export_to(store, fmt, handle)


def export_to(store, fmt: str, out: BinaryIO, streamed: StreamedLines | None = None) -> None:
    """Write the export of `store` in `fmt` to the binary stream `out`; with `streamed`
    (graph-less formats only), the default graph's triples are taken from it rather
    than from the store."""
    _check(fmt)
    if streamed is not None and fmt not in GRAPHLESS:
        raise ExportError(f"{fmt} keeps graphs: it cannot take streamed triples")
    if not isinstance(store, ox.Store):  # e.g. a RemoteStore: copy it, then dump as usual
        local = ox.Store()
        local.extend(store.quads_for_pattern(None, None, None, None))
        store = local
    if fmt == "nquads":
        out.writelines(_sorted_nquads(store))
    elif fmt == "trig":
        ox.serialize(ox.parse(input=_Reader(_sorted_nquads(store)), format=ox.RdfFormat.N_QUADS),
                     output=out, format=ox.RdfFormat.TRIG, prefixes=PREFIXES)
    else:
        with _sorted_ntriples(store, streamed) as lines:
            if fmt == "ntriples":
                shutil.copyfileobj(lines, out, _CHUNK)
            elif fmt == "turtle":
                ox.serialize(ox.parse(input=lines, format=ox.RdfFormat.N_TRIPLES),
                             output=out, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
            else:
                out.write(_jsonld(lines.read()))


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _graphs(store: ox.Store) -> list:
    """Every graph, the default one included, in the order of their names."""
    return sorted([ox.DefaultGraph(), *store.named_graphs()], key=_key)


def _dump(store: ox.Store, graph, out: BinaryIO) -> None:
    store.dump(output=out, format=ox.RdfFormat.N_TRIPLES, from_graph=graph)


def _sorted_nquads(store: ox.Store) -> Iterator[bytes]:
    """N-Quads in (graph, subject, predicate, object) order, one graph's chunk at a time.

    A graph's quads are distinct, so its N-Triples lines sorted as bytes are in
    order; the graph name goes in before each line's final " ." (only line ends
    have a raw newline: N-Triples escapes it in literals)."""
    for graph in _graphs(store):
        buf = io.BytesIO()
        _dump(store, graph, buf)
        lines = buf.getvalue().split(b"\n")
        del buf
        lines.pop()  # after the last newline
        if not lines:
            continue
        lines.sort()
        chunk = b"\n".join(lines) + b"\n"
        del lines
        if not isinstance(graph, ox.DefaultGraph):
            chunk = chunk.replace(b" .\n", b" " + _key(graph).encode() + b" .\n")
        yield chunk


def _dump_graphs(store: ox.Store, graphs: list, folder: str, parts: int) -> list[str]:
    """Dump `graphs` as N-Triples into `parts` files, one thread each: Oxigraph
    decodes terms without the GIL, so the threads share the cores."""
    files = [os.path.join(folder, f"part-{i}.nt") for i in range(parts)]

    def work(share: list, name: str) -> None:
        with open(name, "wb") as out:
            for graph in share:
                _dump(store, graph, out)

    with ThreadPoolExecutor(parts) as pool:
        for done in [pool.submit(work, graphs[i::parts], name) for i, name in enumerate(files)]:
            done.result()
    return files


@contextmanager
def _sorted_ntriples(store: ox.Store, streamed: StreamedLines | None = None) -> Iterator[BinaryIO]:
    """A stream of the default graph's triples as sorted N-Triples lines: dumped from
    the store, or with `streamed`, read from the lines a build kept of them (all of
    them: see StagedExport)."""
    if streamed is not None:
        files, graphs = [streamed.finish()], []
    else:
        files, graphs = [], [ox.DefaultGraph()]
    if SORT is None:
        lines = set()
        for graph in graphs:
            buf = io.BytesIO()
            _dump(store, graph, buf)
            lines.update(buf.getvalue().split(b"\n"))
        for name in files:
            with open(name, "rb") as handle:
                lines.update(handle.read().split(b"\n"))
        lines.discard(b"")
        yield io.BytesIO(b"".join(line + b"\n" for line in sorted(lines)))
        return
    env = {**os.environ, "LC_ALL": "C"}
    parts = max(1, min(DUMP_THREADS, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="kg-export-") as folder, tempfile.TemporaryFile() as errors:
        files = _dump_graphs(store, graphs, folder, 1) + files if graphs else files
        try:
            proc = subprocess.Popen([SORT, "-u", "-S", SORT_BUFFER, f"--parallel={parts}", "-T", folder,
                                     *files], stdout=subprocess.PIPE, stderr=errors, env=env)
        except OSError as exc:
            raise ExportError(f"cannot run {SORT} to sort the export: {exc}") from exc
        try:
            yield proc.stdout
            proc.stdout.read()  # whatever the consumer left, so that sort can finish
            if proc.wait() != 0:
                errors.seek(0)
                message = errors.read().decode("utf-8", "replace").strip()
                raise ExportError(f"sorting the export failed ({SORT}, status {proc.returncode}): {message}")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()


def nquads_as_ntriples(graph: ox.NamedNode, nquads: bytes) -> bytes:
    """N-Quads lines whose graph is `graph`, as N-Triples lines. Only a line's end has a
    raw newline (N-Quads escapes it in literals), and there " <graph> ." is the graph,
    so one replace takes it out of every line."""
    return nquads.replace(f" {graph} .\n".encode(), b" .\n")


class StreamedLines:
    """The N-Triples lines of the default graph as a build writes it, kept in a
    temporary file for that build's export, so that the export need not decode them
    back out of the store: for the whole Anthology that took 17 of the export's 29 s,
    keeping the lines well under one."""

    def __init__(self) -> None:
        self.graphs: set[ox.NamedNode] = set()  # the graphs streamed in whole
        self._folder = tempfile.mkdtemp(prefix="kg-streamed-")
        self.path = os.path.join(self._folder, "streamed.nt")
        self._out: BinaryIO | None = open(self.path, "wb", buffering=_CHUNK)  # noqa: SIM115 - closed by finish()

    def write_triples(self, graph: ox.NamedNode | None, ntriples: bytes) -> None:
        """Keep N-Triples lines of the default graph (those of `graph`, if it is given:
        a graph streamed in whole, whose triples all join the default graph)."""
        if self._out is None:
            raise ExportError("streamed lines written after the export began")
        if graph is not None:
            self.graphs.add(graph)
        self._out.write(ntriples)

    def finish(self) -> str:
        """The file, complete: no more lines are taken."""
        if self._out is not None:
            self._out.close()
            self._out = None
        return self.path

    def remove(self) -> None:
        self.finish()
        shutil.rmtree(self._folder, ignore_errors=True)


class StagedExport:
    """An export a build writes while it validates: a thread writes it to a temporary
    file beside `path`, which `publish` renames into place once the store is live and
    `discard` removes otherwise. For the graph-less formats, `lines` keeps every triple
    the build writes into the default graph (see StreamedLines)."""

    def __init__(self, fmt: str, path: str | Path, *, whole: bool = True):
        """`whole`: the build writes the whole default graph (not an --add, which keeps
        what the store held), so its lines can make a graph-less export."""
        _check(fmt)
        self.fmt, self.path = fmt, Path(path)
        self._tmp = temp_beside(self.path)  # now: a bad path fails before the build
        self.lines = StreamedLines() if whole and fmt in GRAPHLESS and SORT is not None else None
        self._pool: ThreadPoolExecutor | None = None
        self._job = None
        self.seconds = 0.0  # how long writing it took, once written

    def start(self, store: ox.Store) -> None:
        """Begin writing the export of `store`, which must not change from here on."""
        def write() -> None:
            began = time.perf_counter()
            with open(self._tmp, "wb") as handle:
                export_to(store, self.fmt, handle, self.lines)
                handle.flush()
                os.fsync(handle.fileno())
            self.seconds = time.perf_counter() - began

        self._pool = ThreadPoolExecutor(1, thread_name_prefix="kg-export")
        self._job = self._pool.submit(write)

    def wait(self) -> None:
        """Until the export is written; ExportError if it could not be."""
        if self._job is None:
            raise ExportError("the export was never started")
        try:
            self._job.result()
        except OSError as exc:
            raise ExportError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        finally:
            self._pool.shutdown()

    def publish(self) -> None:
        """Put the written export in place of `path`, whole."""
        self.wait()
        try:
            os.replace(self._tmp, self.path)
        except OSError as exc:
            raise ExportError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        finally:
            self._clean()

    def discard(self) -> None:
        """Leave `path` as it was (waiting for a running export to end first)."""
        if self._job is not None:
            self._job.exception()
            self._pool.shutdown()
        self._clean()

    def _clean(self) -> None:
        Path(self._tmp).unlink(missing_ok=True)
        if self.lines is not None:
            self.lines.remove()


class _Reader(io.RawIOBase):
    """A readable binary stream over an iterator of byte chunks (fed to ox.parse)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _jsonld(ntriples: bytes) -> bytes:
    import rdflib  # only here: the other formats need none of it, and it is slow to import

    graph = rdflib.Graph()
    graph.parse(data=ntriples, format="nt")
    context = {k: v for k, v in sorted(PREFIXES.items())}
    doc = json.loads(graph.serialize(format="json-ld", context=context, auto_compact=True))
    # rdflib's node order follows Python set order: sort nodes and values
    nodes = doc.get("@graph", [doc] if "@id" in doc else [])
    for node in nodes:
        for key, value in node.items():
            if isinstance(value, list):
                node[key] = sorted(value, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    nodes.sort(key=lambda n: n.get("@id", ""))
    out = {"@context": doc.get("@context", context), "@graph": nodes}
    return (json.dumps(out, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")
