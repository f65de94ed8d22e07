"""What the endpoint says about itself, in the vocabularies clients look for: the SPARQL
1.1 Service Description (GET /sparql without a query), VoID + DCAT (/.well-known/void)
and OpenAPI for the saved queries (/openapi.json). Counts are read from the store."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

import pyoxigraph as ox

from kg import facts, queries
from kg.mapping import META_GRAPH
from kg.namespaces import DCTERMS, PROV, RDF, SCHEMA, VOID, XSD, base_iri, mint

SD = "http://www.w3.org/ns/sparql-service-description#"
DCAT = "http://www.w3.org/ns/dcat#"
FORMATS = "http://www.w3.org/ns/formats/"
FOAF = "http://xmlns.com/foaf/0.1/"
ANTHOLOGY = "https://github.com/acl-org/acl-anthology"
CC_BY_4 = "https://creativecommons.org/licenses/by/4.0/"
CC_BY_NC_SA_3 = "https://creativecommons.org/licenses/by-nc-sa/3.0/"
# the formats /sparql answers in (kg.server.replies), as W3C's format IRIs name them
RESULT_FORMATS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                  "Turtle", "N-Triples", "JSON-LD", "RDF_XML")
DUMP = "/dump.nq"  # every graph as N-Quads: what `kg export -f nquads` writes
PREFIXES = {"sd": SD, "dcat": DCAT, "formats": FORMATS}  # for the Turtle of these descriptions
# saved-query parameters that page their rows over HTTP (kg.server.http)
PAGING = ("limit", "offset")


def _n(name: str, local: str = "") -> ox.NamedNode:
    return ox.NamedNode(name + local)


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=_n(XSD, "integer"))


A = _n(RDF, "type")


def dataset_iri() -> ox.NamedNode:
    """The dataset the build describes in its meta graph (kg.pipeline's VoID)."""
    return ox.NamedNode(mint("dataset"))


def anthology_licence(file_name: str) -> str | None:
    """The licence of an ACL Anthology collection's metadata, by the collection's year:
    CC BY 4.0 from 2016 on, CC BY-NC-SA 3.0 before (the Anthology's own terms). Names
    are new-style (2024.acl.xml.gz) or old-style (P16.xml.gz: a letter and the year)."""
    new = re.match(r"(\d{4})\.", file_name)
    old = re.match(r"[A-Z](\d{2})\b", file_name)
    if new:
        year = int(new[1])
    elif old:
        year = int(old[1]) + (1900 if int(old[1]) >= 50 else 2000)
    else:
        return None
    return CC_BY_4 if year >= 2016 else CC_BY_NC_SA_3


def _graph_sizes(store) -> dict[str, int]:
    rows = store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    return {row["g"].value: int(row["n"].value) for row in rows}


def _sources(store) -> list[tuple[ox.NamedNode, str | None, str | None, str | None]]:
    """Each source the last build used: (its IRI, which is also its graph's), title, file
    name, where it came from."""
    text = """
    SELECT DISTINCT ?meta ?source ?title ?file ?origin WHERE {
      GRAPH ?meta { ?build prov:used ?source }
      OPTIONAL { GRAPH ?source { ?source dcterms:title ?title } }
      OPTIONAL { GRAPH ?source { ?source kg:fileName ?file } }
      OPTIONAL { GRAPH ?source { ?source dcterms:source ?origin } }
    } ORDER BY ?source"""
    rows = store.query(text, prefixes={"prov": PROV, "dcterms": DCTERMS, "kg": "https://w3id.org/kg/ontology#"},
                       substitutions={ox.Variable("meta"): ox.NamedNode(mint(*META_GRAPH.split("/")))})
    return [(row["source"], *(row[v].value if row[v] else None for v in ("title", "file", "origin")))
            for row in rows]


def service_description(store, base: str) -> list[ox.Triple]:
    """The SPARQL 1.1 Service Description of `{base}/sparql`: what it speaks, the formats it
    answers in, and its default dataset (the merge as the default graph, each source's
    graph as a named graph, with their sizes)."""
    service, dataset = ox.NamedNode(f"{base}/sparql"), dataset_iri()
    out = [ox.Triple(service, A, _n(SD, "Service")),
           ox.Triple(service, _n(SD, "endpoint"), service),
           ox.Triple(service, _n(SD, "supportedLanguage"), _n(SD, "SPARQL11Query")),
           ox.Triple(service, _n(SD, "defaultDataset"), dataset),
           ox.Triple(dataset, A, _n(SD, "Dataset"))]
    out += [ox.Triple(service, _n(SD, "resultFormat"), _n(FORMATS, f)) for f in RESULT_FORMATS]
    default = ox.NamedNode(f"{mint('dataset')}/default-graph")
    out += [ox.Triple(dataset, _n(SD, "defaultGraph"), default), ox.Triple(default, A, _n(SD, "Graph")),
            ox.Triple(default, _n(VOID, "triples"), _int(facts.stats(store)["triples"]))]
    for graph, size in sorted(_graph_sizes(store).items()):
        named = ox.NamedNode(f"{mint('dataset')}/named-graph/{len(out)}")
        described = ox.NamedNode(f"{named.value}/graph")
        out += [ox.Triple(dataset, _n(SD, "namedGraph"), named), ox.Triple(named, A, _n(SD, "NamedGraph")),
                ox.Triple(named, _n(SD, "name"), ox.NamedNode(graph)),
                ox.Triple(named, _n(SD, "graph"), described), ox.Triple(described, A, _n(SD, "Graph")),
                ox.Triple(described, _n(VOID, "triples"), _int(size))]
    return out


def void_description(store, base: str) -> list[ox.Triple]:
    """VoID + DCAT: the build's own VoID (meta graph: triples, entities, class
    partitions, sources) with the endpoint, the dump, a title and each source as a
    subset with its licence; the counts are those `kg stats` gives."""
    dataset = dataset_iri()
    meta = ox.NamedNode(mint(*META_GRAPH.split("/")))
    described = {dataset.value}
    out: list[ox.Triple] = []
    for quad in store.quads_for_pattern(dataset, None, None, meta):
        out.append(ox.Triple(quad.subject, quad.predicate, quad.object))
        if quad.predicate.value == VOID + "classPartition":
            described.add(quad.object.value)
    for partition in sorted(described - {dataset.value}):
        out += [ox.Triple(q.subject, q.predicate, q.object)
                for q in store.quads_for_pattern(ox.NamedNode(partition), None, None, meta)]
    stats = facts.stats(store)
    out = [t for t in out if not (t.subject == dataset and t.predicate.value == VOID + "triples")]
    out += [ox.Triple(dataset, _n(VOID, "triples"), _int(stats["triples"])),
            ox.Triple(dataset, A, _n(VOID, "Dataset")), ox.Triple(dataset, A, _n(DCAT, "Dataset")),
            ox.Triple(dataset, _n(DCTERMS, "title"), ox.Literal("kg: papers, people, topics and roles "
                                                                 "from the guides and the ACL Anthology")),
            ox.Triple(dataset, _n(VOID, "sparqlEndpoint"), ox.NamedNode(f"{base}/sparql")),
            ox.Triple(dataset, _n(VOID, "dataDump"), ox.NamedNode(f"{base}{DUMP}")),
            ox.Triple(dataset, _n(VOID, "uriSpace"), ox.Literal(base_iri())),
            ox.Triple(dataset, _n(VOID, "vocabulary"), ox.NamedNode(SCHEMA))]
    service = ox.NamedNode(f"{base}/sparql")
    dump = ox.NamedNode(f"{base}{DUMP}")
    out += [ox.Triple(dataset, _n(DCAT, "distribution"), dump), ox.Triple(dump, A, _n(DCAT, "Distribution")),
            ox.Triple(dump, _n(DCAT, "downloadURL"), dump),
            ox.Triple(dump, _n(DCAT, "mediaType"), ox.Literal("application/n-quads")),
            ox.Triple(dataset, _n(DCAT, "distribution"), service),
            ox.Triple(service, A, _n(DCAT, "Distribution")), ox.Triple(service, _n(DCAT, "accessURL"), service)]
    sizes = _graph_sizes(store)
    licences = set()
    for source, title, file_name, origin in _sources(store):
        out += [ox.Triple(dataset, _n(VOID, "subset"), source), ox.Triple(source, A, _n(VOID, "Dataset")),
                ox.Triple(source, A, _n(DCAT, "Dataset")),
                ox.Triple(source, _n(VOID, "triples"), _int(sizes.get(source.value, 0)))]
        if title:
            out.append(ox.Triple(source, _n(DCTERMS, "title"), ox.Literal(title)))
        licence = anthology_licence(file_name or "") if origin == ANTHOLOGY else None
        if licence:
            licences.add(licence)
            out += [ox.Triple(source, _n(DCTERMS, "license"), ox.NamedNode(licence)),
                    ox.Triple(source, _n(DCTERMS, "rightsHolder"), ox.Literal("ACL Anthology (aclanthology.org)")),
                    ox.Triple(source, _n(DCTERMS, "source"), ox.NamedNode(ANTHOLOGY))]
    for licence in sorted(licences):  # the whole carries every licence of its parts
        out.append(ox.Triple(dataset, _n(DCTERMS, "license"), ox.NamedNode(licence)))
    return sorted(set(out), key=str)


def openapi(base: str) -> dict:
    """OpenAPI 3 for the saved queries (from their .rq headers) and /sparql, as grlc
    derives it: one GET operation per query, its parameters typed, defaulted and, for
    enumerated ones, with their allowed values."""
    try:
        kg_version = version("kg")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        kg_version = "0"
    results = {media: {} for media in ("application/sparql-results+json", "application/sparql-results+xml",
                                       "text/csv", "text/tab-separated-values")}
    errors = {"400": {"description": "a bad or unknown parameter value (the message lists the allowed ones)"},
              "406": {"description": "no acceptable media type"},
              "422": {"description": "more rows than the server's --max-rows: page with limit and offset"},
              "503": {"description": "the query ran past the server's time or memory limit"}}
    paths: dict[str, dict] = {}
    for query in queries.saved_queries().values():
        params = []
        for p in query.params:
            schema: dict = {"type": "integer" if p.type == "integer" else "string"}
            if p.default is not None:
                schema["default"] = int(p.default) if p.type == "integer" else p.default
            values = getattr(p, "values", None)
            if values:
                schema["enum"] = list(values)
            params.append({"name": p.name, "in": "query", "required": bool(p.required and p.default is None),
                           "description": f"{p.description} ({p.type})" if p.type in queries.ENTITY_KINDS
                           else p.description, "schema": schema})
        declared = {p.name for p in query.params}
        params += [{"name": name, "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0},
                    "description": "rows to return at most" if name == "limit" else "rows to skip first"}
                   for name in PAGING if name not in declared]
        paths[f"/queries/{query.name}"] = {"get": {
            "operationId": query.name.replace("-", "_"), "summary": query.summary,
            "description": query.description, "parameters": params,
            "responses": {"200": {"description": "the rows", "content": results}, **errors}}}
    paths["/sparql"] = {"get": {
        "operationId": "sparql", "summary": "Run read-only SPARQL 1.1 (the SPARQL 1.1 Protocol)",
        "parameters": [{"name": "query", "in": "query", "required": True, "schema": {"type": "string"}},
                       {"name": "default-graph-uri", "in": "query", "schema": {"type": "string"}},
                       {"name": "named-graph-uri", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "results or a graph", "content": results}, **errors}}}
    return {"openapi": "3.0.3",
            "info": {"title": "kg: saved queries over the scholarly knowledge graph", "version": kg_version,
                     "license": {"name": "Apache-2.0 (the data: see /.well-known/void)"}},
            "servers": [{"url": base}], "paths": paths}
