"""kg: build a validated RDF knowledge graph of scholarly publications and answer questions.

The library API, what the CLI calls (each name is imported on first use, so
`import kg` and `kg --help` stay fast):

    build(sources, store=...)        read, resolve, reconcile, map, validate, store
    open_store(spec)                 an embedded store directory or a SPARQL server URL
    run_saved(store, name, params)   a saved query (queries/*.rq), parameters bound as terms
    run_sparql(store, text)          read-only SPARQL over the merged default graph
    saved_queries()                  the saved queries with their parameters
    describe(store, name)            one entity, as `kg show` prints it
    stats(store)                     counts of papers, people, topics, roles, triples
    validate_files(paths)            plain pySHACL on RDF files: the reference
    validate_store(store)            the store's validation (the same report, faster)
    export_file(store, fmt, path)    a deterministic export, written whole or not at all
    push(store, url)                 copy an embedded store's graphs to a SPARQL server
    format_result(result, fmt)       a result as a table, SPARQL JSON, CSV or TSV
    KGError                          what every deliberate failure raises (exit code 2)
"""

from __future__ import annotations

from importlib import import_module

# name -> the module that owns it
_OWNERS = {
    "KGError": "kg.errors",
    "build": "kg.pipeline",
    "describe": "kg.facts",
    "export_file": "kg.export",
    "format_result": "kg.render",
    "open_store": "kg.store",
    "push": "kg.store.remote",
    "run_saved": "kg.queries",
    "run_sparql": "kg.sparql",
    "saved_queries": "kg.queries",
    "stats": "kg.facts",
    "validate_files": "kg.validate",
    "validate_store": "kg.validate",
}

__all__ = [
    "KGError",
    "build",
    "describe",
    "export_file",
    "format_result",
    "open_store",
    "push",
    "run_saved",
    "run_sparql",
    "saved_queries",
    "stats",
    "validate_files",
    "validate_store",
]


def __getattr__(name: str):
    """PEP 562: import the owning module only when a name is first asked for."""
    if name not in _OWNERS:
        raise AttributeError(f"module 'kg' has no attribute {name!r}")
    value = getattr(import_module(_OWNERS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
