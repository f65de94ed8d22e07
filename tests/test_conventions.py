"""The endpoint's conventions (issue 15, item 2), on a real `kg serve` of the seed store:
Service Description, VoID + DCAT with counts that match `kg stats`, CORS, HEAD and
OPTIONS, gzip, ASK as CSV/TSV, format=, /entity as Linked Data, paged saved queries
and an OpenAPI description that a validator accepts."""

from __future__ import annotations

import gzip
import json

import pyoxigraph as ox
import pytest
from test_server import call, running

from kg import export, facts, queries
from kg.server import about

SD = about.SD
VOID = "http://rdfs.org/ns/void#"
TURTLE = "text/turtle"


@pytest.fixture(scope="module")
def srv(seed_store_path):
    with running(seed_store_path, workers=1, max_rows=50) as s:
        yield s


def _graph(answer, fmt=ox.RdfFormat.TURTLE) -> set[ox.Triple]:
    assert answer.status == 200, answer.body[:300]
    return {ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(answer.body, format=fmt)}


def _objects(graph, subject, predicate) -> set:
    return {t.object for t in graph if t.subject == subject and t.predicate == ox.NamedNode(predicate)}


def test_get_sparql_without_a_query_is_its_service_description(srv, seed_store):
    for accept, fmt in ((TURTLE, ox.RdfFormat.TURTLE), ("application/ld+json", ox.RdfFormat.JSON_LD)):
        graph = _graph(call(srv, "/sparql", headers={"Accept": accept}), fmt)
        service = ox.NamedNode(f"{srv.url}/sparql")
        assert ox.Triple(service, ox.NamedNode(about.A.value), ox.NamedNode(SD + "Service")) in graph
        assert _objects(graph, service, SD + "endpoint") == {service}
        assert ox.NamedNode(SD + "SPARQL11Query") in _objects(graph, service, SD + "supportedLanguage")
        names = {t.object for t in graph if t.predicate == ox.NamedNode(SD + "name")}
        assert names == set(seed_store.named_graphs())
        default = [t.object for t in graph if t.predicate == ox.NamedNode(SD + "defaultGraph")]
        assert [int(o.value) for o in _objects(graph, default[0], VOID + "triples")] == \
            [facts.stats(seed_store)["triples"]]


def test_well_known_void_has_dcat_licences_and_the_counts_of_kg_stats(srv, seed_store):
    graph = _graph(call(srv, "/.well-known/void"))
    dataset = about.dataset_iri()
    stats = facts.stats(seed_store)
    assert [int(o.value) for o in _objects(graph, dataset, VOID + "triples")] == [stats["triples"]]
    partitions = {t.object for t in graph if t.subject == dataset and t.predicate.value == VOID + "classPartition"}
    entities = {next(iter(_objects(graph, p, VOID + "class"))).value: int(next(iter(_objects(graph, p, VOID + "entities"))).value)
                for p in partitions}
    assert entities["http://schema.org/Person"] == stats["people"]
    assert entities["http://schema.org/ScholarlyArticle"] == stats["papers"]
    assert _objects(graph, dataset, VOID + "sparqlEndpoint") == {ox.NamedNode(f"{srv.url}/sparql")}
    assert ox.NamedNode("http://www.w3.org/ns/dcat#Dataset") in _objects(graph, dataset, about.A.value)
    (dump,) = _objects(graph, dataset, VOID + "dataDump")
    # the seed store's one source is the guide: no licence is claimed for it
    subsets = _objects(graph, dataset, VOID + "subset")
    assert subsets and all(not _objects(graph, s, "http://purl.org/dc/terms/license") for s in subsets)
    assert dump.value.startswith(srv.url)
    answer = call(srv, dump.value[len(srv.url):])
    assert answer.status == 200 and answer.body == export.export_bytes(seed_store, "nquads")


@pytest.mark.parametrize("name, licence", [
    ("2024.tacl.xml.gz", about.CC_BY_4), ("2016.lilt.xml.gz", about.CC_BY_4), ("2015.mtsummit.xml.gz", about.CC_BY_NC_SA_3),
    ("P16.xml.gz", about.CC_BY_4), ("P15.xml.gz", about.CC_BY_NC_SA_3), ("W83.xml.gz", about.CC_BY_NC_SA_3),
    ("amazon-acl-2024-guide.txt", None)])
def test_the_anthology_licence_goes_by_the_collection_year(name, licence):
    assert about.anthology_licence(name) == licence


def test_void_names_each_anthology_collection_with_its_licence(tmp_path):
    from kg.pipeline import DATA, build

    store = tmp_path / "store"
    assert build([DATA / "anthology" / "2024.tacl.xml.gz"], store=store).written
    with running(store, workers=1) as s:
        graph = _graph(call(s, "/.well-known/void"))
    tacl = [t.subject for t in graph if t.object == ox.Literal("ACL Anthology collection 2024.tacl")]
    assert tacl and _objects(graph, tacl[0], "http://purl.org/dc/terms/license") == {ox.NamedNode(about.CC_BY_4)}
    assert ox.NamedNode(about.CC_BY_4) in _objects(graph, about.dataset_iri(), "http://purl.org/dc/terms/license")


def test_cors_is_off_unless_asked_and_head_and_options_are_answered(srv, seed_store_path):
    options = call(srv, "/sparql", method="OPTIONS")
    assert options.status == 204 and "OPTIONS" in options.headers["Allow"]
    assert "Access-Control-Allow-Origin" not in options.headers
    path = "/queries/topics"
    got, head = call(srv, path), call(srv, path, method="HEAD")
    assert head.status == 200 and head.body == b"" and head.headers["Content-Length"] == str(len(got.body))
    with running(seed_store_path, workers=1, cors="https://yasgui.example") as s:
        preflight = call(s, "/sparql", method="OPTIONS", headers={"Origin": "https://yasgui.example",
                                                                 "Access-Control-Request-Method": "POST"})
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://yasgui.example"
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert call(s, path).headers["Access-Control-Allow-Origin"] == "https://yasgui.example"
    from kg.errors import KGError
    with pytest.raises(KGError, match="not an origin"):
        running(seed_store_path, cors="yasgui.example/page").__enter__()


def test_gzip_when_the_client_accepts_it(srv):
    path = "/queries/authors?limit=50"  # JSON: over the 1 KB below which nothing is packed
    plain = call(srv, path, headers={"Accept": "application/sparql-results+json"})
    packed = call(srv, path, headers={"Accept": "application/sparql-results+json", "Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers and len(plain.body) > 1024
    assert packed.headers["Content-Encoding"] == "gzip" and len(packed.body) < len(plain.body)
    assert gzip.decompress(packed.body) == plain.body
    refused = call(srv, path, headers={"Accept": "application/sparql-results+json", "Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


def test_ask_in_csv_and_tsv_and_format_parameters(srv):
    ask = "ASK { ?s a <http://schema.org/Person> }"
    csv = call(srv, "/sparql?query=" + _q(ask), headers={"Accept": "text/csv"})
    assert csv.status == 200 and csv.body == b"_askResult\r\ntrue\r\n"
    tsv = call(srv, "/sparql?query=" + _q(ask), headers={"Accept": "text/tab-separated-values"})
    assert tsv.body == b"?_askResult\ntrue\n"
    for name in ("format", "output"):
        answer = call(srv, f"/sparql?query={_q('SELECT ?x WHERE { VALUES ?x { 1 } }')}&{name}=csv")
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/csv")
    bad = call(srv, f"/sparql?query={_q(ask)}&format=bogus")
    assert bad.status == 400 and "csv" in bad.json()["error"]
    graph = call(srv, f"/sparql?query={_q('CONSTRUCT WHERE { ?s a <http://schema.org/Person> } LIMIT 1')}&format=csv")
    assert graph.status == 400 and "turtle" in graph.json()["error"]
    saved = call(srv, "/queries/topics?format=tsv")
    assert saved.status == 200 and saved.headers["Content-Type"].startswith("text/tab-separated-values")


def _q(text: str) -> str:
    import urllib.parse

    return urllib.parse.quote(text)


def test_entities_dereference_as_linked_data(srv, seed_store):
    person = next(iter(seed_store.query("SELECT ?p WHERE { ?p a <http://schema.org/Person> } LIMIT 1")))["p"]
    path = "/entity?iri=" + _q(person.value)
    for accept, fmt in ((TURTLE, ox.RdfFormat.TURTLE), ("application/n-triples", ox.RdfFormat.N_TRIPLES),
                        ("application/ld+json", ox.RdfFormat.JSON_LD)):
        graph = _graph(call(srv, path, headers={"Accept": accept}), fmt)
        expected = {ox.Triple(q.subject, q.predicate, q.object)
                    for pattern in ((person, None, None), (None, None, person))
                    for q in seed_store.quads_for_pattern(*pattern, ox.DefaultGraph())}
        assert graph == expected
    html = call(srv, path, headers={"Accept": "text/html,application/xhtml+xml"})
    assert html.status == 200 and html.headers["Content-Type"].startswith("text/html")
    alias = next(iter(seed_store.query(
        "SELECT ?a WHERE { ?e <http://schema.org/sameAs> ?a FILTER(isIRI(?a)) } LIMIT 1")), None)
    if alias is not None:
        moved = call(srv, "/entity?iri=" + _q(alias["a"].value), headers={"Accept": TURTLE})
        assert moved.status in (200, 303)


def test_saved_queries_page_with_limit_and_offset(srv):
    whole = call(srv, "/queries/authors", headers={"Accept": "application/sparql-results+json"})
    assert whole.status == 422 and "limit and offset" in whole.json()["error"]  # more people than the cap
    pages, offset = [], 0
    while True:
        page = call(srv, f"/queries/authors?limit=50&offset={offset}", headers={"Accept": "text/csv"})
        assert page.status == 200, page.body[:200]
        rows = page.body.decode("utf-8").splitlines()[1:]
        total = int(page.headers["X-KG-Total-Rows"])
        pages += rows
        offset += 50
        if offset >= total:
            break
    assert total > 50 and len(pages) == total
    assert len(set(pages)) == len(pages)  # no row twice across pages
    assert call(srv, "/queries/authors?limit=x").status == 400
    # a query with a parameter of its own named limit keeps it
    own = call(srv, "/queries/authors-sharing-topics?limit=3", headers={"Accept": "text/csv"})
    assert own.status == 200 and len(own.body.decode().splitlines()) == 4


def test_openapi_describes_every_saved_query_and_validates(srv):
    from openapi_spec_validator import validate

    answer = call(srv, "/openapi.json")
    spec = answer.json()
    validate(spec)
    for query in queries.saved_queries().values():
        operation = spec["paths"][f"/queries/{query.name}"]["get"]
        declared = {p["name"]: p for p in operation["parameters"]}
        for p in query.params:
            assert declared[p.name]["required"] == bool(p.required and p.default is None)
            if p.type == "integer":
                assert declared[p.name]["schema"]["type"] == "integer"
            if p.default is not None:
                assert str(declared[p.name]["schema"]["default"]) == p.default
        assert "offset" in declared
    assert "/sparql" in spec["paths"]


def test_the_json_ld_context_is_served_as_the_export_embeds_it(srv, seed_store):
    answer = call(srv, "/context.jsonld")
    assert answer.status == 200 and answer.headers["Content-Type"] == "application/ld+json"
    context = json.loads(answer.body)["@context"]
    embedded = json.loads(export.export_bytes(seed_store, "jsonld"))["@context"]
    assert context == embedded and context["schema"] == "http://schema.org/"


def test_an_odd_host_header_does_not_leak_into_the_descriptions(srv):
    answer = call(srv, "/openapi.json", headers={"Host": "localhost:7878<x>"})
    if answer.status == 403:  # refused as a name this server does not answer to: fine too
        return
    assert answer.status == 200 and answer.json()["servers"] == [{"url": srv.url}]
