"""`kg serve`: the SPARQL 1.1 Protocol endpoint and /queries, over real HTTP on loopback.

Each server runs in a thread on 127.0.0.1 port 0 over the seed store and is always shut down;
requests are made with urllib only.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import shutil
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager

import pyoxigraph as ox
import pytest

from kg import queries, render
from kg import server as kgserver
from kg import store as stores
from kg.errors import KGError

RESULTS_JSON = "application/sparql-results+json"
PEOPLE = "SELECT ?p ?name WHERE { ?p a schema:Person ; schema:name ?name } ORDER BY ?name LIMIT 5"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
# five copies of every triple, crossed: ~10^17 solutions to count
RUNAWAY = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }")


@contextmanager
def running(store_path, **options):
    srv = kgserver.make_server(store_path, "127.0.0.1", 0, **options)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def srv(seed_store_path):
    with running(seed_store_path, timeout=2, workers=2) as s:
        yield s


class Answer:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    @property
    def type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0]

    def json(self):
        return json.loads(self.body)


def call(srv, path: str, *, data: bytes | None = None, headers: dict | None = None,
         method: str | None = None, timeout: float = 15) -> Answer:
    req = urllib.request.Request(srv.url + path, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Answer(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        with e:
            return Answer(e.code, e.headers, e.read())


def get(srv, text: str, accept: str | None = None, **params) -> Answer:
    qs = urllib.parse.urlencode({"query": text, **params})
    return call(srv, f"/sparql?{qs}", headers={"Accept": accept} if accept else {})


def post_form(srv, fields: dict, accept: str | None = None) -> Answer:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **({"Accept": accept} if accept else {})}
    return call(srv, "/sparql", data=urllib.parse.urlencode(fields).encode("ascii"), headers=headers)


def post_query(srv, text: str, ctype: str = "application/sparql-query", accept: str | None = None) -> Answer:
    headers = {"Content-Type": ctype, **({"Accept": accept} if accept else {})}
    return call(srv, "/sparql", data=text.encode("utf-8"), headers=headers)


def solutions(answer: Answer, fmt=ox.QueryResultsFormat.JSON) -> list[dict]:
    parsed = ox.parse_query_results(answer.body, format=fmt)
    return [{v.value: s[v] for v in parsed.variables} for s in parsed]


def triple_count(srv) -> int:
    answer = get(srv, COUNT)
    assert answer.status == 200, answer.body
    return int(solutions(answer)[0]["n"].value)


def direct(store, text):
    return [{v.value: s[v] for v in r.variables}
            for r in [store.query(text, prefixes=kgserver.PREFIXES)] for s in r]


def assert_error(answer: Answer, *statuses: int) -> str:
    assert answer.status in statuses, (answer.status, answer.body)
    assert answer.type == "application/json"
    message = answer.json()["error"]
    assert message
    return message


# --- the protocol ----------------------------------------------------------------------

def test_get_answers_sparql_json_by_default(srv, seed_store):
    answer = get(srv, PEOPLE)
    assert answer.status == 200
    assert answer.type == RESULTS_JSON
    assert answer.headers["X-KG-Rows"] == "5"
    assert solutions(answer) == direct(seed_store, PEOPLE)


def test_both_kinds_of_post_give_the_same_rows_as_get(srv):
    expected = solutions(get(srv, PEOPLE))
    form = post_form(srv, {"query": PEOPLE})
    body = post_query(srv, PEOPLE)
    assert form.status == body.status == 200
    assert solutions(form) == solutions(body) == expected


@pytest.mark.parametrize("accept, fmt", [
    ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
    ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
    ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
])
def test_each_results_format_parses_back_to_the_same_rows(srv, seed_store, accept, fmt):
    answer = get(srv, PEOPLE, accept)
    assert answer.status == 200 and answer.type == accept
    assert solutions(answer, fmt) == direct(seed_store, PEOPLE)


def test_csv_has_a_header_and_plain_values(srv, seed_store):
    answer = get(srv, PEOPLE, "text/csv")
    assert answer.status == 200 and answer.type == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.body.decode("utf-8"))))
    assert rows[0] == ["p", "name"]
    assert rows[1:] == [[r["p"].value, r["name"].value] for r in direct(seed_store, PEOPLE)]


def test_accept_with_q_values_and_wildcards(srv):
    assert get(srv, PEOPLE, "text/csv;q=0.5, application/sparql-results+xml").type.endswith("+xml")
    assert get(srv, PEOPLE, "text/*").type == "text/csv"
    assert get(srv, PEOPLE, "*/*").type == RESULTS_JSON
    assert get(srv, PEOPLE, "text/html, application/xml;q=0.9, */*;q=0.8").type == "application/xml"


def test_ask_is_a_json_or_xml_boolean(srv):
    yes = get(srv, "ASK { ?s a schema:Person }")
    assert yes.status == 200 and yes.json() == {"head": {}, "boolean": True}
    no = get(srv, "ASK { ?s a <http://example.org/Nothing> }", "application/sparql-results+xml")
    assert no.status == 200
    assert bool(ox.parse_query_results(no.body, format=ox.QueryResultsFormat.XML)) is False


def test_construct_is_turtle_by_default_and_parses(srv, seed_store):
    text = "CONSTRUCT { ?p schema:name ?n } WHERE { ?p a schema:Person ; schema:name ?n }"
    answer = get(srv, text)
    assert answer.status == 200 and answer.type == "text/turtle"
    got = set(ox.parse(answer.body, format=ox.RdfFormat.TURTLE))
    expected = {ox.Quad(t.subject, t.predicate, t.object)
                for t in seed_store.query(text, prefixes=kgserver.PREFIXES)}
    assert got == expected and len(got) > 100


def test_construct_as_ntriples_and_json_ld(srv):
    text = "CONSTRUCT WHERE { ?t a skos:Concept ; skos:prefLabel ?l }"
    nt = get(srv, text, "application/n-triples")
    assert nt.status == 200 and nt.type == "application/n-triples"
    triples = set(ox.parse(nt.body, format=ox.RdfFormat.N_TRIPLES))
    jsonld = get(srv, text, "application/ld+json")
    assert jsonld.status == 200 and jsonld.type == "application/ld+json"
    assert set(ox.parse(jsonld.body, format=ox.RdfFormat.JSON_LD)) == triples
    assert len(triples) == 40  # 20 topics, a type and a label each


def test_an_accept_it_cannot_serve_is_406(srv):
    message = assert_error(get(srv, PEOPLE, "image/png"), 406)
    assert "text/csv" in message
    assert_error(get(srv, "ASK {}", "image/png"), 406)
    assert_error(get(srv, "CONSTRUCT WHERE { ?s ?p ?o }", "application/sparql-results+xml"), 406)


def test_syntax_error_is_400_with_the_parser_message(srv):
    assert "syntax" in assert_error(get(srv, "SELECT WHERE {"), 400).lower()


def test_bad_requests_are_4xx_with_a_message(srv):
    assert_error(call(srv, "/sparql?query="), 400)  # an empty query (none at all: the service description)
    assert_error(call(srv, "/sparql", data=b"", headers={"Content-Type": "application/x-www-form-urlencoded"}), 400)
    assert_error(call(srv, "/sparql?query=ASK%7B%7D&query=ASK%7B%7D"), 400)  # twice
    assert_error(call(srv, "/sparql", data=b"ASK {}", headers={"Content-Type": "text/x-unknown"}), 415)
    assert_error(call(srv, "/sparql", method="PUT", data=b"x"), 405)
    assert_error(call(srv, "/nowhere"), 404)
    assert_error(call(srv, "/sparql?query=ASK%7B%7D&default-graph-uri=not%20an%20iri"), 400)


def test_default_graph_uri_selects_the_dataset(srv):
    graphs = [r["g"].value for r in solutions(get(srv, "SELECT DISTINCT ?g WHERE { GRAPH ?g {} }"))]
    assert graphs
    everything = get(srv, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    one = get(srv, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **{"default-graph-uri": graphs[0]})
    empty = get(srv, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                **{"default-graph-uri": "http://example.org/no-such-graph"})
    n = lambda a: int(solutions(a)[0]["n"].value)
    assert n(everything) >= n(one) > n(empty) == 0


# --- read-only, no network, no files ---------------------------------------------------

UPDATES = [
    "INSERT DATA { <http://example.org/a> <http://example.org/b> 1 }",
    "DELETE WHERE { ?s ?p ?o }",
    "DROP ALL",
    "CLEAR DEFAULT",
    "# a comment first\nPREFIX ex: <http://example.org/>\nDELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "LOAD <file:///etc/passwd>",
    "LOAD <file:///etc/passwd> INTO GRAPH <http://example.org/g>",
    "ASK {} ; DROP ALL",
]


def test_updates_are_refused_every_way_and_nothing_changes(srv):
    before = triple_count(srv)
    for text in UPDATES:
        assert_error(get(srv, text), 400, 403)
        assert_error(post_query(srv, text), 400, 403)
        assert_error(post_form(srv, {"query": text}), 400, 403)
        assert_error(post_form(srv, {"update": text}), 403)
        assert_error(post_query(srv, text, ctype="application/sparql-update"), 403)
        assert_error(call(srv, "/sparql?" + urllib.parse.urlencode({"update": text})), 403)
    assert triple_count(srv) == before


def test_load_of_a_local_file_is_refused(srv):
    for answer in (get(srv, "LOAD <file:///etc/passwd>"),
                   post_form(srv, {"update": "LOAD <file:///etc/passwd>"})):
        assert "read-only" in assert_error(answer, 403)


@pytest.mark.parametrize("text", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "select * where { service silent <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { ?x ?y ?z .SERVICE<http://127.0.0.1:9/>{ ?s ?p ?o } }",
    "SELECT * WHERE { ?x ?y '\\u0027' SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { FILTER EXISTS { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }",
])
def test_service_is_refused(srv, text):
    assert "SERVICE" in assert_error(get(srv, text), 403)
    assert "SERVICE" in assert_error(post_query(srv, text), 403)


def test_the_word_service_in_strings_iris_and_names_is_fine(srv):
    text = ('SELECT ?service WHERE { BIND("SERVICE <http://x/> {}" AS ?service) '
            'FILTER(?service != <http://example.org/SERVICE>) } # SERVICE')
    answer = get(srv, text)
    assert answer.status == 200, answer.body
    assert solutions(answer)[0]["service"].value.startswith("SERVICE")


def test_a_service_that_got_past_the_check_finds_no_network(srv):
    """The workers leave the network namespace (Linux), so Oxigraph's SERVICE client cannot connect."""
    if not srv.pool.network_isolated():
        pytest.skip("this system does not let a process leave the network (user namespaces)")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(1.0)
        port = listener.getsockname()[1]
        job = {"kind": "sparql", "query": f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}",
               "accept": None, "max_rows": 10, "default_graphs": [], "named_graphs": []}
        reply = srv.pool.run(job, 5)  # straight to a worker, past the handler's check
        assert reply.status == 500
        with pytest.raises(socket.timeout):
            listener.accept()


# --- limits ----------------------------------------------------------------------------

def test_an_oversized_request_is_413(srv):
    big = "ASK { " + "?s ?p ?o . " * 7000 + "}"  # ~77 KB
    assert len(big) > kgserver.DEFAULT_MAX_REQUEST
    assert_error(post_query(srv, big), 413)
    assert_error(post_form(srv, {"query": big}), 413)
    assert get(srv, "ASK {}").status == 200  # and the server is fine


def test_a_runaway_query_is_stopped_at_the_time_limit(srv):
    pids = {w.process.pid for w in srv.pool._all}
    start = time.monotonic()
    answer = get(srv, RUNAWAY, timeout=10)
    took = time.monotonic() - start
    message = assert_error(answer, 503, 504)
    assert "2 s" in message and "stopped" in message
    assert answer.headers["X-KG-Timeout"] == "2"
    assert 1.9 <= took < 5
    # the worker that ran it is gone, not still counting
    assert pids - {w.process.pid for w in srv.pool._all}
    # and the next queries are answered, by a replacement worker if need be
    for _ in range(3):
        assert get(srv, "ASK { ?s ?p ?o }").json()["boolean"] is True


def test_the_row_cap_is_an_error_not_a_cut(srv):
    many = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 10001"
    answer = get(srv, many)
    message = assert_error(answer, 422)
    assert "10000" in message and "LIMIT" in message
    assert answer.headers["X-KG-Max-Rows"] == "10000"
    exact = get(srv, "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 10000", "text/tab-separated-values")
    assert exact.status == 200 and exact.headers["X-KG-Rows"] == "10000"
    assert "triples" in assert_error(get(srv, "CONSTRUCT { ?a ?b ?f } WHERE { ?a ?b ?c . ?d ?e ?f }"), 422)


def test_the_row_cap_applies_to_saved_queries(seed_store_path):
    with running(seed_store_path, max_rows=3, workers=1) as small:
        message = assert_error(call(small, "/queries/authors-sharing-topics?min_shared=2"), 422)
        assert "3 rows" in message
        assert call(small, "/queries/topics-of-author?author=Samson%20Tan").status == 200


def test_one_connection_stays_in_step_after_bodies_it_refused(srv):
    host, port = srv.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=15)
    try:
        for method, path, body, status in [
            ("POST", "/nowhere", b"x" * 1000, 404),
            ("POST", "/queries", b"y" * 1000, 405),
            ("POST", "/sparql", b"ASK {" + b" " * 70_000 + b"}", 413),
            ("GET", "/sparql?query=ASK%7B%7D", None, 200),
            ("POST", "/sparql", b"ASK {}", 200),
        ]:
            conn.request(method, path, body=body, headers={"Content-Type": "application/sparql-query"})
            response = conn.getresponse()
            response.read()
            assert response.status == status, (method, path)
    finally:
        conn.close()


def test_a_rebuilt_store_is_seen_without_a_restart(seed_store_path, tmp_path):
    path = tmp_path / "store"
    shutil.copytree(seed_store_path, path, symlinks=True)
    with running(path, workers=1) as s:
        before = triple_count(s)
        with stores.staging(path, extend=True) as stage:
            stage.add([ox.Quad(ox.NamedNode("http://example.org/a"), ox.NamedNode("http://example.org/b"),
                               ox.Literal("c"), ox.NamedNode("http://example.org/g"))])
            stage.commit()
        assert triple_count(s) == before + 1


# --- saved queries ---------------------------------------------------------------------

def test_queries_lists_every_saved_query_with_its_metadata(srv):
    answer = call(srv, "/queries")
    assert answer.status == 200 and answer.type == "application/json"
    listing = {q["name"]: q for q in answer.json()}
    assert set(listing) == set(queries.saved_queries())
    ast = listing["authors-sharing-topics"]
    assert ast["summary"] and ast["description"] and ast["url"] == "/queries/authors-sharing-topics"
    assert {p["name"]: p["type"] for p in ast["params"]} == {"author": "person", "min_shared": "integer",
                                                        "limit": "integer"}


def test_a_saved_query_gives_the_rows_run_saved_gives(srv, seed_store):
    answer = call(srv, "/queries/authors-sharing-topics?min_shared=2")
    assert answer.status == 200 and answer.type == RESULTS_JSON
    expected = queries.run_saved(seed_store, "authors-sharing-topics", {"min_shared": "2"})
    parsed = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)
    assert [v.value for v in parsed.variables] == expected.variables == ["author1", "author2", "shared", "topics"]
    assert [[s[v] for v in parsed.variables] for s in parsed] == expected.rows
    assert len(expected.rows) == 8


def test_a_saved_query_in_the_other_formats(srv, seed_store):
    expected = queries.run_saved(seed_store, "coauthors", {"author": "Lluis Marquez"})
    path = "/queries/coauthors?author=Lluis%20Marquez"
    tsv = call(srv, path, headers={"Accept": "text/tab-separated-values"})
    parsed = ox.parse_query_results(tsv.body, format=ox.QueryResultsFormat.TSV)
    assert [[s[v] for v in parsed.variables] for s in parsed] == expected.rows
    table = call(srv, path, headers={"Accept": "text/plain"})
    assert table.body.decode("utf-8").rstrip("\n") == render.format_result(expected, "table")


def test_a_missing_or_malformed_parameter_is_400(srv):
    assert "author" in assert_error(call(srv, "/queries/papers-by-author"), 400)
    assert "integer" in assert_error(call(srv, "/queries/authors-sharing-topics?min_shared=two"), 400)
    assert "no parameter" in assert_error(call(srv, "/queries/coauthors?author=Samson%20Tan&colour=red"), 400)
    assert "empty" in assert_error(call(srv, "/queries/coauthors?author="), 400)
    assert "2 times" in assert_error(call(srv, "/queries/coauthors?author=a&author=b"), 400)


def test_an_unknown_person_is_4xx_with_suggestions(srv):
    answer = call(srv, "/queries/coauthors?author=Samsn%20Tan")
    message = assert_error(answer, 400, 404)
    assert "Samson Tan" in message
    assert answer.json()["suggestions"] == ["Samson Tan"]


def test_an_unknown_saved_query_is_404_with_a_suggestion(srv):
    answer = call(srv, "/queries/coauthor")
    assert "coauthors" in assert_error(answer, 404)


@pytest.mark.parametrize("value", [
    '} ; DROP ALL ; {',
    'Samson Tan" } ; DROP ALL ; { "',
    "Samson Tan' } DELETE WHERE { ?s ?p ?o } #",
    '<http://example.org/x> } INSERT DATA { <a:a> <a:b> <a:c> } {',
    "\\u0022 } ; CLEAR ALL",
])
def test_parameter_values_cannot_break_out_of_a_saved_query(srv, value):
    before = triple_count(srv)
    for name, param in (("coauthors", "author"), ("authors-sharing-topics", "min_shared"),
                        ("papers-by-topic", "topic")):
        answer = call(srv, f"/queries/{name}?" + urllib.parse.urlencode({param: value}))
        assert 400 <= answer.status < 500 or answer.status == 200, answer.body
    assert triple_count(srv) == before


# --- binding ---------------------------------------------------------------------------

def test_only_loopback_unless_asked(seed_store_path):
    with pytest.raises(KGError, match="not a loopback"):
        kgserver.make_server(seed_store_path, "0.0.0.0", 0)
    assert kgserver.is_loopback("127.0.0.1") and kgserver.is_loopback("::1")
    assert not kgserver.is_loopback("0.0.0.0") and not kgserver.is_loopback("")


def test_no_store_is_a_clear_error(tmp_path):
    with pytest.raises(KGError, match="kg build"):
        kgserver.make_server(tmp_path / "none", "127.0.0.1", 0)

