"""Oxigraph terms as pySHACL reads them (rdflib terms, as from a file) and back, and the
graph a store's validation reads. Apart so that targets, screens and store convert alike."""

from __future__ import annotations

import pyoxigraph as ox
import rdflib
from pyshacl.graph_abstraction import to_rdf

_DEFAULT = ox.DefaultGraph()  # what a store's validation reads: the merge of its sources
_XSD_STRING = ox.NamedNode("http://www.w3.org/2001/XMLSchema#string")


def _as_rdflib(term) -> rdflib.term.Node:
    """A focus node for pyshacl: an IRI, a blank node or (sh:targetObjectsOf) a literal."""
    if isinstance(term, rdflib.term.Node):
        return term
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    return _rdflib_term(term)


def _rdflib_term(term) -> rdflib.term.Node:
    """An Oxigraph term as rdflib reads it from a file (a plain literal has no datatype)."""
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if term.datatype == _XSD_STRING:
        return rdflib.Literal(term.value)
    return to_rdf(term)


def _ox_term(node):
    if isinstance(node, rdflib.BNode):
        return ox.BlankNode(str(node))
    return ox.NamedNode(str(node))
