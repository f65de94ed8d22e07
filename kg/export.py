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

JSON-LD is written here from the same sorted lines (rdflib's serialiser took 6.5x
Turtle's time and held the whole graph as Python objects): one node object a
subject, keys and values compacted with the published context
(ontology/context.jsonld, embedded so the file stands alone), and each named graph
as the JSON-LD 1.1 node `{"@id": graph, "@graph": [...]}`, merged with the default
graph's node of that IRI when there is one.

Decoding quads back out of the store is most of an export's time, so a build
that exports (`StagedExport`) keeps the N-Triples lines of the graphs it streams
in as they go by (`StreamedLines`), and dumps only the other graphs; it writes
the export while it validates and renames it into place once the store is live.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from kg.atomic import replacing, temp_beside
from kg.errors import ExportError
from kg.namespaces import PREFIXES, RDF, XSD
from kg.store import Store

FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "jsonld": ox.RdfFormat.JSON_LD,  # written by _write_jsonld, not by Oxigraph
}
GRAPHLESS = ("turtle", "ntriples")  # the default graph: the merge (see kg.merge)
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
    sources, one node per real thing), N-Quads, TriG and JSON-LD every graph, the
    default one too."""
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
    if fmt == "nquads":
        out.writelines(_sorted_nquads(store))
    elif fmt == "jsonld":
        _write_jsonld(store, out)
    elif fmt == "trig":
        ox.serialize(ox.parse(input=_Reader(_sorted_nquads(store)), format=ox.RdfFormat.N_QUADS),
                     output=out, format=ox.RdfFormat.TRIG, prefixes=PREFIXES)
    else:
        with _sorted_ntriples(store, streamed) as lines:
            if fmt == "ntriples":
                shutil.copyfileobj(lines, out, _CHUNK)
            else:
                ox.serialize(ox.parse(input=lines, format=ox.RdfFormat.N_TRIPLES),
                             output=out, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _graphs(store: Store) -> list:
    """Every graph, the default one included, in the order of their names."""
    return sorted([ox.DefaultGraph(), *store.named_graphs()], key=_key)


def _dump(store: Store, graph, out: str | None = None) -> bytes | None:
    """A graph's N-Triples, returned or written to the file at path `out`: both in Rust,
    without the GIL (into a Python file object, every write waits for the GIL, which a
    busy thread holds for 5 ms at a time: 6x slower beside the JSON-LD writer)."""
    return store.dump(output=out, format=ox.RdfFormat.N_TRIPLES, from_graph=graph)


def _sorted_nquads(store: Store) -> Iterator[bytes]:
    """N-Quads in (graph, subject, predicate, object) order, one graph's chunk at a time.

    A graph's quads are distinct, so its N-Triples lines sorted as bytes are in
    order; the graph name goes in before each line's final " ." (only line ends
    have a raw newline: N-Triples escapes it in literals)."""
    for graph in _graphs(store):
        lines = _dump(store, graph).split(b"\n")
        lines.pop()  # after the last newline
        if not lines:
            continue
        lines.sort()
        chunk = b"\n".join(lines) + b"\n"
        del lines
        if not isinstance(graph, ox.DefaultGraph):
            chunk = chunk.replace(b" .\n", b" " + _key(graph).encode() + b" .\n")
        yield chunk


def _dump_graphs(store: Store, graphs: list, folder: str, parts: int, *, nested: bool = False) -> list[str]:
    """Dump `graphs` as N-Triples, a file each, `parts` threads at a time: Oxigraph
    decodes terms without the GIL, so the threads share the cores. With `nested`, a
    named graph's lines start with its name and " ~ " (see _write_jsonld)."""
    files = [os.path.join(folder, f"graph-{i}.nt") for i in range(len(graphs))]

    def work(graph, name: str) -> None:
        if not nested or isinstance(graph, ox.DefaultGraph):
            _dump(store, graph, name)
            return
        data = _dump(store, graph)
        if data:
            head = f"{graph} ~ ".encode()  # only line ends have a raw newline
            data = head + data[:-1].replace(b"\n", b"\n" + head) + b"\n"
        with open(name, "wb") as out:
            out.write(data)

    with ThreadPoolExecutor(parts) as pool:
        list(pool.map(work, graphs, files))
    return files


@contextmanager
def _sorted_ntriples(store: Store, streamed: StreamedLines | None = None) -> Iterator[BinaryIO]:
    """A stream of the default graph's triples as sorted N-Triples lines: dumped from
    the store, or with `streamed`, read from the lines a build kept of them (all of
    them: see StagedExport)."""
    with tempfile.TemporaryDirectory(prefix="kg-export-") as folder:
        if streamed is not None:
            files = [streamed.finish()]
        else:
            files = _dump_graphs(store, [ox.DefaultGraph()], folder, 1)
        with _sorted_files(files, folder) as stream:
            yield stream


@contextmanager
def _sorted_files(files: list[str], folder: str) -> Iterator[BinaryIO]:
    """The distinct lines of `files` sorted as bytes, as a stream: by `sort` (temporary
    files in `folder`, a bounded buffer), or in Python (all lines in memory) without it."""
    if SORT is None:
        lines = set()
        for name in files:
            with open(name, "rb") as handle:
                lines.update(handle.read().split(b"\n"))
        lines.discard(b"")
        yield io.BytesIO(b"".join(line + b"\n" for line in sorted(lines)))
        return
    env = {**os.environ, "LC_ALL": "C"}
    parts = max(1, min(DUMP_THREADS, os.cpu_count() or 1))
    with tempfile.TemporaryFile() as errors:
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

    def start(self, store: Store) -> None:
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


# --- JSON-LD ----------------------------------------------------------------------------

RDF_TYPE = RDF + "type"
XSD_STRING, XSD_INTEGER, XSD_BOOLEAN = XSD + "string", XSD + "integer", XSD + "boolean"
_TYPE = "@type"  # the coercion of rdf:type's objects: class terms, written under "@type"
_INTEGER_END = f'"^^<{XSD_INTEGER}> .'
_INTEGER_SIZE = len(_INTEGER_END)
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,14})")  # canonical, and exact as a JSON number anywhere
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_REFS = 1 << 16  # IRIs whose compact form is kept (then the cache starts again)


def jsonld_context() -> bytes:
    """The published JSON-LD context (ontology/context.jsonld): what a JSON-LD export
    embeds, and what a server can publish at /context.jsonld."""
    return files("kg.ontology").joinpath("context.jsonld").read_bytes()


def _unescape(text: str) -> str:
    """An N-Triples string's escapes decoded (ECHAR and UCHAR)."""
    return _ESCAPE.sub(lambda m: chr(int(m[1] or m[2], 16)) if m[3] is None else _ECHAR[m[3]], text)


class _Compactor:
    """The context's terms and prefixes, to write N-Triples terms as compact JSON-LD
    that expands back to exactly them."""

    def __init__(self, context: dict):
        prefixes = {name: iri for name, iri in context.items()
                    if isinstance(iri, str) and iri.endswith(("/", "#"))}
        # the longest namespace first; a suffix must not start with "//" (that reads as an IRI)
        self._namespace = re.compile("|".join(f"({re.escape(iri)})(?!//)" for iri in
                                              sorted(prefixes.values(), key=len, reverse=True)))
        self._prefix_of = {iri: name for name, iri in prefixes.items()}
        # an IRI written whole must not start with "<a term or prefix>:" (it would expand)
        self._reserved = re.compile("(?:" + "|".join(map(re.escape, context)) + "):")
        self.terms: dict[str, tuple[str, str | None]] = {}  # IRI -> (term, coercion)
        for term, definition in context.items():
            if term in prefixes:
                continue
            iri, coercion = (definition, None) if isinstance(definition, str) else \
                (definition["@id"], definition.get("@type"))
            coercion = coercion if coercion in (None, "@id") else self._expand(prefixes, coercion)
            self.terms[self._expand(prefixes, iri)] = (term, coercion)
        self._predicates: dict[str, tuple[str, str | None]] = {}
        self._refs: dict[str, str] = {}
        self.dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode

    @staticmethod
    def _expand(prefixes: dict, name: str) -> str:
        prefix, _, rest = name.partition(":")
        return prefixes[prefix] + rest if prefix in prefixes else name

    def ref(self, iri: str) -> str:
        """An IRI as an @id value: a compact IRI on a context prefix, else whole."""
        found = self._refs.get(iri)
        if found is not None:
            return found
        match = self._namespace.match(iri)
        if match is not None and match.end() < len(iri):
            found = f"{self._prefix_of[match.group(match.lastindex)]}:{iri[match.end():]}"
        elif self._reserved.match(iri):
            raise ExportError(f"<{iri}> cannot be written in JSON-LD: its scheme is a name in the context")
        else:
            found = iri
        if len(self._refs) >= _REFS:
            self._refs.clear()
        self._refs[iri] = found
        return found

    def vocab(self, iri: str) -> str:
        """An IRI as a key, @type or datatype (vocabulary-relative): its term if it has one."""
        term = self.terms.get(iri)
        return term[0] if term is not None else self.ref(iri)

    def predicate(self, nt: str) -> tuple[str, str | None]:
        """The key and coercion of a predicate given in N-Triples form."""
        found = self._predicates.get(nt)
        if found is None:
            iri = nt[1:-1]
            found = ("@type", _TYPE) if iri == RDF_TYPE else (self.vocab(iri), self.terms.get(iri, (0, None))[1])
            self._predicates[nt] = found
        return found

    def value(self, nt: str, coercion: str | None):
        """An object in N-Triples form as a JSON-LD value under a key with `coercion`."""
        first = nt[0]
        if first == "<":
            iri = nt[1:-1]
            if coercion == _TYPE:
                return self.vocab(iri)
            return self.ref(iri) if coercion == "@id" else {"@id": self.ref(iri)}
        if first == "_":
            return nt if coercion in ("@id", _TYPE) else {"@id": nt}
        end = nt.rindex('"')  # the closing quote: a tag or datatype IRI has none
        lexical = nt[1:end]
        if "\\" in lexical:
            lexical = _unescape(lexical)
        if end + 1 == len(nt):
            datatype = XSD_STRING
        elif nt[end + 1] == "@":
            return {"@value": lexical, "@language": nt[end + 2:]}
        else:
            datatype = nt[end + 4:-1]
        if datatype == coercion:
            return lexical
        if coercion is None:
            if datatype == XSD_STRING:
                return lexical
            if datatype == XSD_INTEGER and _INTEGER.fullmatch(lexical) and lexical != "-0":
                return int(lexical)
            if datatype == XSD_BOOLEAN and lexical in ("true", "false"):
                return lexical == "true"
        if datatype == XSD_STRING:
            return {"@value": lexical}
        return {"@value": lexical, "@type": self.vocab(datatype)}

    def write(self, lines: Iterable[str], out: BinaryIO) -> None:
        """Write the nodes of sorted lines as the items of a top-level @graph array.

        A default graph line is "S P O ."; a named graph G's is "G ~ S P O .", and sorts
        after G's own default graph lines ("~" is above "<"), so each top-level item is
        complete before its graph's nodes begin: they are written nested in it, as they
        come, and nothing but the current node is held. A key's first value is stored
        as it is and becomes a list at its second (compaction's single values); the
        common objects (IRIs under @id terms, plain strings) are decoded inline."""
        ref, value, predicate_of, dumps = self.ref, self.value, self.predicate, self.dumps
        refs, predicates = self._refs, self._predicates
        parts: list[str] = []
        items = 0  # top-level items begun
        graph = None  # the named graph whose nodes are being written, if any
        nested = 0  # nodes written in it
        node: dict | None = None  # the node being built: top-level, or in `graph`
        subject = predicate = key = None
        coercion = None
        rdf_type = ref(RDF_TYPE)  # the key of literal classes
        classes: dict[str, str] = {}  # rdf:type objects -> @type values

        def finish() -> None:
            """Write the node being built, and its separator."""
            nonlocal items, nested
            if graph is None:
                parts.append(",\n" if items else "\n")
                items += 1
            else:
                parts.append(",\n  " if nested else "\n  ")
                nested += 1
            parts.append(dumps(node))
            if len(parts) > 8192:
                out.write("".join(parts).encode("utf-8"))
                parts.clear()

        for line in lines:
            s, p, o = line.split(" ", 2)
            if p == "~":  # a named graph's line
                if s != graph:
                    if graph is not None:  # the previous graph ends
                        if node is not None:
                            finish()
                        parts.append("\n]}")
                        node = None
                    if node is not None and subject == s:  # the default graph's node of that name
                        head = dumps(node)
                    else:
                        if node is not None:
                            finish()
                        head = dumps({"@id": s if s[0] == "_" else ref(s[1:-1])})
                    parts.append(",\n" if items else "\n")
                    items += 1
                    parts.append(head[:-1] + ', "@graph": [')
                    graph, nested, node, subject = s, 0, None, None
                s, p, o = o.split(" ", 2)
            elif graph is not None:  # back in the default graph
                if node is not None:
                    finish()
                parts.append("\n]}")
                graph, node, subject = None, None, None
            if s != subject:
                if node is not None:
                    finish()
                subject, predicate = s, None
                node = {"@id": s if s[0] == "_" else ref(s[1:-1])}
            fresh = p != predicate
            if fresh:
                predicate = p
                key, coercion = predicates.get(p) or predicate_of(p)
            first = o[0]
            if first == "<" and coercion == "@id":
                v = o[1:-3]
                v = refs.get(v) or ref(v)
            elif first == "<" and coercion == _TYPE:
                v = classes.get(o)
                if v is None:
                    v = classes[o] = self.vocab(o[1:-3])
            elif first == '"' and coercion is None and o[-3] == '"':
                v = o[1:-3]  # a plain string
                if "\\" in v:
                    v = _unescape(v)
            elif first == '"' and coercion == _TYPE:  # a literal class: not expressible as @type
                v, old = value(o[:-2], None), node.get(rdf_type)
                node[rdf_type] = v if old is None else [*old, v] if type(old) is list else [old, v]
                continue
            elif coercion is None and o.endswith(_INTEGER_END) and o[1:-_INTEGER_SIZE].isascii() \
                    and o[1:-_INTEGER_SIZE].isdigit() \
                    and (o[1] != "0" or o[2] == '"') and len(o) <= 16 + _INTEGER_SIZE:
                v = int(o[1:-_INTEGER_SIZE])  # a canonical non-negative xsd:integer
            else:
                v = value(o[:-2], coercion)
            if fresh:
                node[key] = v
            else:  # a second value: values are never lists themselves
                old = node.get(key)
                if old is None:
                    node[key] = v
                elif type(old) is list:
                    old.append(v)
                else:
                    node[key] = [old, v]
        if node is not None:
            finish()
        if graph is not None:
            parts.append("\n]}")
        parts.append("\n]}\n" if items else "]}\n")
        out.write("".join(parts).encode("utf-8"))


def _text_lines(stream: BinaryIO) -> Iterator[str]:
    """The lines of a binary stream, decoded a chunk at a time."""
    rest = b""
    while chunk := stream.read(_CHUNK):
        chunk = rest + chunk
        cut = chunk.rfind(b"\n") + 1
        rest = chunk[cut:]
        lines = chunk[:cut].decode("utf-8").split("\n")
        lines.pop()
        yield from lines


def _write_jsonld(store: Store, out: BinaryIO) -> None:
    """The store as one JSON-LD document with the context embedded: the default graph's
    nodes in the top-level @graph, each named graph a node of its name holding its own
    @graph, all in the order of the N-Triples forms of subjects and graph names. Every
    graph is dumped (two threads), then one `sort` orders all the lines."""
    context = json.loads(jsonld_context())["@context"]
    entries = ",\n".join(f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
                         for k, v in context.items())
    out.write(f'{{\n"@context": {{\n{entries}\n}},\n"@graph": ['.encode())
    parts = max(1, min(DUMP_THREADS, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="kg-export-") as folder:
        graphs = [ox.DefaultGraph(), *sorted(store.named_graphs(), key=_key)]  # the biggest first
        with _sorted_files(_dump_graphs(store, graphs, folder, parts, nested=True), folder) as stream:
            _Compactor(context).write(_text_lines(stream), out)
