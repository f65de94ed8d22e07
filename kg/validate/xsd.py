"""XSD's lexical rules for rdflib's integers and booleans, set on import. Apart because it
changes rdflib itself for every path: a file and a store must read " 1"^^xsd:integer alike."""

from __future__ import annotations

import re

import rdflib

_XSD = "http://www.w3.org/2001/XMLSchema#"


# --- XSD's lexical rules, on both paths ----------------------------------------------
#
# rdflib reads " 1"^^xsd:integer as 1 and "TRUE"^^xsd:boolean as true (and writes them
# back as "1" and "true"); neither form is in XSD's lexical space, Oxigraph keeps them
# as they are and calls them invalid, and SHACL's sh:datatype reports an ill-typed
# literal. So that a file (rdflib) and a store (Oxigraph, then rdflib terms for
# pySHACL) give the same answer, rdflib reads these datatypes by XSD's rules here:
# a lexical form outside the lexical space has no value, stays as written, and is
# ill-typed. (rdflib.term.bind would log a warning on every rebinding.)

_INTEGER_LEXICAL = re.compile(r"[+-]?[0-9]+")
_INTEGER_TYPES = ("integer", "long", "int", "short", "byte", "nonNegativeInteger", "positiveInteger",
                  "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt", "unsignedShort",
                  "unsignedByte")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _xsd_integer(lexical: str) -> int | None:
    return int(lexical) if _INTEGER_LEXICAL.fullmatch(lexical) else None


def _xsd_boolean(lexical: str) -> bool | None:
    return _BOOLEANS.get(lexical)


def follow_xsd_lexical_rules() -> None:
    """Make rdflib read integers and booleans by XSD's lexical rules (see above).
    Called again before each reading: pyshacl.validate puts rdflib's own boolean
    reader back after it has read the shapes."""
    mapping = rdflib.term._toPythonMapping
    for name in _INTEGER_TYPES:
        mapping[rdflib.URIRef(_XSD + name)] = _xsd_integer
    mapping[rdflib.URIRef(_XSD + "boolean")] = _xsd_boolean


follow_xsd_lexical_rules()
