"""The focus nodes of a node shape in a store (sh:targetClass through rdfs:subClassOf*,
sh:targetObjectsOf). Apart because store, screens and reach all ask it, and must agree."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
import rdflib

from kg.validate.terms import _DEFAULT

_SUBCLASS = ox.NamedNode(str(rdflib.RDFS.subClassOf))
_TYPE = ox.NamedNode(str(rdflib.RDF.type))


def _instances_of(store: ox.Store, classes: Iterable[str]) -> dict[str, frozenset]:
    """Per class IRI, the classes whose instances are its SHACL instances: itself and
    its subclasses in the data (rdfs:subClassOf*, as sh:targetClass reads them)."""
    if next(store.quads_for_pattern(None, _SUBCLASS, None, _DEFAULT), None) is None:
        return {c: frozenset((ox.NamedNode(c),)) for c in classes}  # the usual case: no lookups
    out = {}
    for c in classes:
        found = {ox.NamedNode(c)}
        todo = [ox.NamedNode(c)]
        while todo:  # bounded: each class is expanded once
            for q in store.quads_for_pattern(None, _SUBCLASS, todo.pop(), _DEFAULT):
                if q.subject not in found:
                    found.add(q.subject)
                    todo.append(q.subject)
        out[c] = frozenset(found)
    return out


def _term(node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """A focus node given as an IRI string or an Oxigraph term."""
    return ox.NamedNode(node) if isinstance(node, str) else node


def _types(store: ox.Store, node) -> set:
    if isinstance(node, ox.Literal):
        return set()
    return {q.object for q in store.quads_for_pattern(node, _TYPE, None, _DEFAULT)}


def _wanted(store: ox.Store, classes: tuple[str, ...], known: dict) -> frozenset:
    """The classes whose instances are targets of `classes`, worked out once per
    `known` (asked for every node a screen flags)."""
    key = ("wanted", classes)
    wanted = known.get(key)
    if wanted is None:
        closure = known.setdefault("classes", {})
        missing = [c for c in classes if c not in closure]
        if missing:
            closure.update(_instances_of(store, missing))
        wanted = known[key] = frozenset().union(*(closure[c] for c in classes))
    return wanted


def _targets(store: ox.Store, classes: tuple[str, ...], objects_of: tuple[str, ...],
             among: set | None, known: dict | None = None) -> list:
    """The focus nodes of one node shape (Oxigraph terms), sorted. With `among` (IRI
    strings or terms: blank nodes and literals too), only those nodes; `known` caches
    what was read of them across shapes."""
    found: set = set()
    known = {} if known is None else known
    wanted = _wanted(store, tuple(classes), known)
    if among is None:
        for cls in wanted:  # a query reads faster than quads_for_pattern (no Quad objects)
            if isinstance(cls, ox.NamedNode):
                found.update(row[0] for row in store.query(f"SELECT DISTINCT ?s WHERE {{ ?s a <{cls.value}> }}"))
            else:
                found.update(q.subject for q in store.quads_for_pattern(None, _TYPE, cls, _DEFAULT))
        for prop in objects_of:
            for row in store.query(f"SELECT DISTINCT ?o WHERE {{ ?s <{prop}> ?o }}"):
                found.add(row[0])
        return sorted(found, key=str)
    for node in map(_term, among):
        types = known.get(node)
        if types is None:  # each node's types are read once, for every shape
            types = known[node] = _types(store, node)
        if wanted & types:
            found.add(node)
            continue
        for prop in objects_of:
            key = (node, prop)
            hit = known.get(key)
            if hit is None:
                hit = known[key] = next(store.quads_for_pattern(
                    None, ox.NamedNode(prop), node, _DEFAULT), None) is not None
            if hit:
                found.add(node)
                break
    return sorted(found, key=str)
