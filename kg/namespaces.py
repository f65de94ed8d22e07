"""The one prefix map, and the IRIs minted for entities.

Vocabulary namespaces are fixed; the base for minted entity IRIs is configurable
(`KG_BASE`) but the same input always yields the same IRIs.
"""

from __future__ import annotations

import hashlib
import os

SCHEMA = "http://schema.org/"
DCTERMS = "http://purl.org/dc/terms/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PRO = "http://purl.org/spar/pro/"
PROV = "http://www.w3.org/ns/prov#"
VOID = "http://rdfs.org/ns/void#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SH = "http://www.w3.org/ns/shacl#"
KG = "https://w3id.org/kg/ontology#"

DEFAULT_BASE = "https://w3id.org/kg/id/"

PREFIXES: dict[str, str] = {
    "dcterms": DCTERMS,
    "kg": KG,
    "owl": OWL,
    "pro": PRO,
    "prov": PROV,
    "rdf": RDF,
    "rdfs": RDFS,
    "schema": SCHEMA,
    "sh": SH,
    "skos": SKOS,
    "void": VOID,
    "xsd": XSD,
}


def base_iri() -> str:
    """The base for minted IRIs: `KG_BASE` if set, else DEFAULT_BASE."""
    base = os.environ.get("KG_BASE", DEFAULT_BASE)
    return base if base.endswith(("/", "#")) else base + "/"


def digest(text: str, size: int = 8) -> str:
    """Short stable hash of a text (hex)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:size]


def mint(kind: str, *parts: str) -> str:
    """Entity IRI `{base}{kind}/{part}/{part}...`; parts must already be slugs."""
    return base_iri() + "/".join((kind, *parts))
