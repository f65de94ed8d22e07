"""Saved SPARQL queries, shipped inside the package as `kg.rq` (see pyproject.toml)."""
