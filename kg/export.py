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
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox
import rdflib

from kg.errors import ExportError
from kg.namespaces import PREFIXES

FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": None,  # rdflib's serialiser, then normalised
}
SUFFIXES = {"turtle": ".ttl", "ntriples": ".nt", "nquads": ".nq", "trig": ".trig", "jsonld": ".jsonld"}

SORT = shutil.which("sort")  # coreutils sort; None: sort in Python (all lines in memory)
SORT_BUFFER = "256M"  # sort's in-memory buffer; beyond it, it merges temporary files
DUMP_THREADS = 2  # graphs are dumped by this many threads at once (at most one a core)
_CHUNK = 1 << 20


def _key(term) -> str:
    """The sort key of a term: its N-Triples form (str of an Oxigraph term)."""
    return str(term)


def export_bytes(store, fmt: str) -> bytes:
    """Serialise the whole store; graph-less formats get the union of all graphs."""
    out = io.BytesIO()
    export_to(store, fmt, out)
    return out.getvalue()


def export_file(store, fmt: str, path: str | Path) -> None:
    """Export to `path` atomically, streaming: the file is never held in memory."""
    _check(fmt)
    with _atomic(path) as handle:
        export_to(store, fmt, handle)


def export_to(store, fmt: str, out: BinaryIO) -> None:
    """Write the export of `store` in `fmt` to the binary stream `out`."""
    _check(fmt)
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
        with _sorted_ntriples(store) as lines:
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
def _sorted_ntriples(store: ox.Store) -> Iterator[BinaryIO]:
    """A stream of the distinct triples of all graphs as sorted N-Triples lines."""
    if SORT is None:
        lines = set()
        for graph in _graphs(store):
            buf = io.BytesIO()
            _dump(store, graph, buf)
            lines.update(buf.getvalue().split(b"\n"))
        lines.discard(b"")
        yield io.BytesIO(b"".join(line + b"\n" for line in sorted(lines)))
        return
    env = {**os.environ, "LC_ALL": "C"}
    parts = max(1, min(DUMP_THREADS, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="kg-export-") as folder, tempfile.TemporaryFile() as errors:
        files = _dump_graphs(store, _graphs(store), folder, parts)
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


@contextmanager
def _atomic(path: str | Path) -> Iterator[BinaryIO]:
    """A file handle whose contents replace `path` whole, only if the block succeeds."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ExportError(f"cannot write {path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, whole."""
    with _atomic(path) as handle:
        handle.write(data)
