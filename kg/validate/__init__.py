"""SHACL validation with pySHACL against ontology/shapes.ttl; returns a typed report.

The report only describes; the caller decides whether violations stop a build.
The public API is re-exported here; each submodule owns one thing, in this order
(a module imports only those above it; pyproject.toml's second import-linter
contract holds it):

- report: Result, Report and its text, results from pySHACL's, their file and line
- xsd: XSD's lexical rules for rdflib's integers and booleans (set on import)
- terms: Oxigraph terms as pySHACL reads them, and back
- shacl: the shapes, and plain pySHACL on an rdflib graph or files (the reference)
- targets: the focus nodes of a node shape in a store
- screens: SPARQL screens compiled from the shapes, for a whole store
  (its tuning constants SCREEN_SLICE, FEW_FOCUS_NODES, NARROW live there)
- reach: what a change can reach (the shapes build --add must re-run)
- store: store validation, batched by focus nodes, in worker processes if asked
"""

from kg.validate.reach import RDF_TYPE, focus_of_any, shapes_reading
from kg.validate.report import DERIVED, FILE_NAME, SOURCE_LINE, Report, Result
from kg.validate.shacl import shapes_graph, to_rdflib, validate_files, validate_graph
from kg.validate.store import (
    STORE_BATCH,
    Stated,
    plan_store_validation,
    stated_literals,
    validate_store,
)
from kg.validate.xsd import follow_xsd_lexical_rules

__all__ = [
    "DERIVED",
    "FILE_NAME",
    "RDF_TYPE",
    "SOURCE_LINE",
    "STORE_BATCH",
    "Report",
    "Result",
    "Stated",
    "focus_of_any",
    "follow_xsd_lexical_rules",
    "plan_store_validation",
    "shapes_graph",
    "shapes_reading",
    "stated_literals",
    "to_rdflib",
    "validate_files",
    "validate_graph",
    "validate_store",
]
