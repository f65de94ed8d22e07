"""Exports in standard RDF formats: deterministic bytes, written atomically.

Quads are sorted before serialising, so the same store gives the same file on
every run; a file is written beside its target and renamed into place.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

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


def _key(term) -> str:
    return str(term)


def export_bytes(store: ox.Store, fmt: str) -> bytes:
    """Serialise the whole store; graph-less formats get the union of all graphs."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    quads = list(store.quads_for_pattern(None, None, None, None))
    if fmt in ("turtle", "ntriples", "jsonld"):
        triples = sorted({ox.Triple(q.subject, q.predicate, q.object) for q in quads},
                         key=lambda t: (_key(t.subject), _key(t.predicate), _key(t.object)))
        if fmt == "jsonld":
            return _jsonld(triples)
        if fmt == "ntriples":
            return ox.serialize(triples, format=FORMATS[fmt])
        return ox.serialize(triples, format=FORMATS[fmt], prefixes=PREFIXES)
    quads.sort(key=lambda q: (_key(q.graph_name), _key(q.subject), _key(q.predicate), _key(q.object)))
    if fmt == "nquads":
        return ox.serialize(quads, format=FORMATS[fmt])
    return ox.serialize(quads, format=FORMATS[fmt], prefixes=PREFIXES)


def _jsonld(triples: list[ox.Triple]) -> bytes:
    graph = rdflib.Graph()
    graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
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


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, whole."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ExportError(f"cannot write {path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
