"""The web page of `kg serve` (no browser): assets, headers, entity pages, escaping.

Servers run in a thread on 127.0.0.1 port 0 and are always shut down; requests use urllib.
The browser test is tests/test_browser.py.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from contextlib import contextmanager

import pytest
from conftest import SEED

from kg import server as kgserver
from kg.pipeline import build
from kg.web import pages

BASE = "https://w3id.org/kg/id/"
KARYPIS = BASE + "person/george-karypis"
CSP = "default-src 'self'"


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
    with running(seed_store_path, timeout=10, workers=1) as s:
        yield s


def fetch(srv, path: str, accept: str | None = None):
    """(status, headers, text) without following redirects."""
    host, port = srv.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=20)
    try:
        conn.request("GET", path, headers={"Accept": accept} if accept else {})
        r = conn.getresponse()
        return r.status, r.headers, r.read().decode("utf-8")
    finally:
        conn.close()


def entity_url(iri: str) -> str:
    return "/entity?iri=" + urllib.parse.quote(iri, safe="")


@pytest.mark.parametrize("path, media", [
    ("/", "text/html"), ("/index.html", "text/html"),
    ("/static/app.js", "text/javascript"), ("/static/style.css", "text/css"),
])
def test_page_and_assets_have_their_types_and_security_headers(srv, path, media):
    status, headers, body = fetch(srv, path, "text/html,*/*;q=0.8")
    assert status == 200
    assert headers["Content-Type"] == f"{media}; charset=utf-8"
    assert headers["Content-Security-Policy"].startswith(CSP)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert body


def test_page_loads_nothing_from_elsewhere_and_has_no_inline_script(srv):
    _, _, page = fetch(srv, "/")
    assert '<script src="/static/app.js"' in page
    assert "<script>" not in page and "style=" not in page and "onclick" not in page
    for asset in ("/", "/static/app.js", "/static/style.css"):
        _, _, text = fetch(srv, asset)
        assert "http://" not in text and "https://" not in text, f"{asset} names another host"
        assert "@import" not in text and "url(" not in text


def test_index_json_stays_for_clients_asking_for_json(srv):
    status, headers, body = fetch(srv, "/", "application/json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["sparql"] == "/sparql"


def test_unknown_asset_is_404(srv):
    assert fetch(srv, "/static/nope.js")[0] == 404
    assert fetch(srv, "/static/../server.py")[0] == 404
    assert fetch(srv, "/static/__init__.py")[0] == 404


def test_config_gives_the_prefixes_and_the_base(srv):
    status, _, body = fetch(srv, "/api/config")
    config = json.loads(body)
    assert status == 200
    assert config["prefixes"]["schema"] == "http://schema.org/"
    assert config["base"] == BASE


def test_person_page_shows_name_papers_and_provenance(srv):
    status, headers, page = fetch(srv, entity_url(KARYPIS))
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"].startswith(CSP)
    assert '<h1 id="label">George Karypis</h1>' in page
    assert '<span class="kind" id="kind">person</span>' in page
    # the papers point to the person: links to their pages, with their titles
    paper = BASE + "paper/extreme-miscalibration-and-the-illusion-of-adversarial-e6cb2bf4"
    assert f'<a href="{entity_url(paper)}">Extreme miscalibration and the illusion of adversarial robustness</a>' in page
    assert "Learning to generate answers with citations via factual consistency models" in page
    assert "<li>amazon-acl-2024-guide.txt:33</li>" in page
    assert "<li>amazon-acl-2024-guide.txt:100</li>" in page
    # the only script is this server's app.js (sorting, search): nothing inline
    assert page.count("<script") == 1 and '<script src="/static/app.js" defer></script>' in page


def test_paper_page_links_its_authors_and_topic(srv):
    status, _, page = fetch(srv, entity_url(BASE + "paper/extreme-miscalibration-and-the-illusion-of-adversarial-e6cb2bf4"))
    assert status == 200
    assert '<span class="kind" id="kind">paper</span>' in page
    assert f'<a href="{entity_url(KARYPIS)}">George Karypis</a>' in page
    assert f'<a href="{entity_url(BASE + "person/samson-tan")}">Samson Tan</a>' in page
    assert "Model robustness" in page


def test_entity_json(srv):
    status, headers, body = fetch(srv, "/api/entity?iri=" + urllib.parse.quote(KARYPIS, safe=""))
    data = json.loads(body)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert data["label"] == "George Karypis" and data["kind"] == "person"
    assert "amazon-acl-2024-guide.txt:33" in data["sources"]
    assert any(f["predicate"] == "schema:author" and f["direction"] == "in" for f in data["facts"])


def test_entity_by_name_redirects_to_its_iri(srv):
    status, headers, _ = fetch(srv, "/entity?kind=person&name=george%20karypis")
    assert status == 303
    assert headers["Location"] == entity_url(KARYPIS)


def test_misspelt_name_is_404_with_suggestions(srv):
    status, _, page = fetch(srv, "/entity?kind=person&name=Georg%20Karipis")
    assert status == 404
    assert "no person named &#x27;Georg Karipis&#x27;" in page
    assert '<a href="/entity?kind=person&amp;name=George%20Karypis">George Karypis</a>' in page


@pytest.mark.parametrize("path, status", [
    (entity_url(BASE + "person/nobody"), 404),
    ("/entity?iri=not%20an%20iri", 400),
    ("/entity", 400),
    ("/entity?name=x&kind=planet", 400),
])
def test_bad_entity_requests(srv, path, status):
    assert fetch(srv, path)[0] == status


def test_entity_pages_are_get_only(srv):
    host, port = srv.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=20)
    conn.request("POST", entity_url(KARYPIS), body=b"", headers={"Content-Length": "0"})
    r = conn.getresponse()
    r.read()
    conn.close()
    assert r.status == 405


EVIL = '<script>alert(1)</script> & "Evil"'


@pytest.fixture(scope="module")
def evil_store(tmp_path_factory):
    """The seed guide plus a hand-made source whose person's name is markup."""
    root = tmp_path_factory.mktemp("evil")
    source = root / "evil.ttl"
    source.write_text("""
@prefix schema: <http://schema.org/> .
@prefix kg: <https://w3id.org/kg/ontology#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
<https://w3id.org/kg/id/person/evil> a schema:Person ;
    schema:name "<script>alert(1)</script> & \\"Evil\\"" ;
    prov:wasDerivedFrom <https://w3id.org/kg/id/source/evil> ;
    kg:sourceLine 4 .
""", encoding="utf-8")
    result = build([SEED, source], store=root / "store")
    assert result.written, result.report.format()
    return root / "store"


def test_markup_in_a_label_is_shown_as_text(evil_store):
    with running(evil_store, timeout=10, workers=1) as srv:
        status, _, page = fetch(srv, entity_url(BASE + "person/evil"))
        assert status == 200
        assert "<script>alert" not in page
        assert '<h1 id="label">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Evil&quot;</h1>' in page
        assert "<li>evil.ttl:4</li>" in page
        status, headers, _ = fetch(srv, "/entity?kind=person&name=" + urllib.parse.quote(EVIL))
        assert status == 303 and headers["Location"] == entity_url(BASE + "person/evil")


def test_render_escapes_every_field():
    d = pages.Description(
        iri='https://w3id.org/kg/id/x"><script>', kind="<b>kind</b>", label="<img src=x onerror=alert(1)>",
        facts=[pages.Fact("out", "schema:name", "http://schema.org/name", "<i>v</i>", None, ["a<b>.txt"]),
               pages.Fact("in", "schema:author", "http://schema.org/author", "</td>",
                          'https://w3id.org/kg/id/paper/"onmouseover="x', [])],
        sources=["<f>.txt:1"])
    page = pages.render_entity(d)
    for raw in ("<script>", "<img", "<b>kind", "<i>v", "</td></td>", "<f>", 'href="/entity?iri=https%3A%2F%2Fw3id.org%2Fkg%2Fid%2Fpaper%2F"'):
        assert raw not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "%22onmouseover%3D%22x" in page


def test_overview_counts_and_sources(srv):
    status, headers, body = fetch(srv, "/api/overview")
    data = json.loads(body)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert data["counts"]["papers"] == 33 and data["counts"]["people"] == 190
    assert [s["file"] for s in data["sources"]] == ["amazon-acl-2024-guide.txt"]
    assert data["sources"][0]["licence"] is None  # a guide: no Anthology licence
    assert data["people"][0] == {"iri": BASE + "person/samson-tan", "label": "Samson Tan", "papers": 3}


def test_anthology_licence_follows_the_year():
    from kg.web.views import licence
    assert licence("2024.acl.xml.gz") == "CC BY 4.0"
    assert licence("2016.emnlp.xml") == "CC BY 4.0"
    assert licence("2015.acl.xml.gz") == "CC BY-NC-SA 3.0"
    assert licence("amazon-acl-2024-guide.txt") is None


@pytest.mark.parametrize("text, first", [
    ("karyp", ("person", "George Karypis")),
    ("KARYPIS", ("person", "George Karypis")),
    ("robustness", ("topic", "Model robustness")),
    ("illusion of adversarial", ("paper", "Extreme miscalibration and the illusion of adversarial robustness")),
])
def test_suggestions(srv, text, first):
    status, _, body = fetch(srv, "/api/suggest?q=" + urllib.parse.quote(text))
    found = json.loads(body)
    assert status == 200
    assert (found[0]["kind"], found[0]["label"]) == first
    assert found[0]["href"].startswith("/entity?iri=")


def test_no_suggestions_for_nothing(srv):
    assert json.loads(fetch(srv, "/api/suggest?q=")[2]) == []
    assert json.loads(fetch(srv, "/api/suggest?q=zzqqxx")[2]) == []


def test_person_page_draws_the_chart_and_the_network(srv):
    _, _, page = fetch(srv, entity_url(BASE + "person/samson-tan"))
    assert '<rect class="bar other" data-year="2024"' in page
    assert page.count('<a class="node') == 11  # Samson Tan and 10 co-authors
    assert f'<a class="node centre" href="{entity_url(BASE + "person/samson-tan")}"' in page
    assert "2 of 6" in page and "4 of 5" in page and "3 of 4" in page


def test_drawings_escape_labels():
    from kg.web import draw
    evil = '<script>alert(1)</script> & "x"'
    svg = draw.network(draw.Node("a", evil, '/entity?iri="><script>', 1), [draw.Node("b", evil, "/b", 2)],
                       [("a", "b", 2)], label=evil)
    svg += draw.year_bars({2024: (1, 2)}, evil)
    assert "<script>" not in svg and '"><script>' not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;" in svg


def test_force_layout_is_the_same_every_time():
    from kg.web.draw import force_layout
    edges = [(0, i, 1) for i in range(1, 6)] + [(1, 2, 3)]
    assert force_layout(6, edges) == force_layout(6, edges)
    assert force_layout(6, edges)[0] == (0.0, 0.0)  # the centre stays put


def test_suggestions_follow_a_build_that_swaps_the_store_under_a_running_server(seed_store_path, tmp_path):
    """The worker keeps one store object across builds: its suggestion index is keyed by
    the store's version (the generation), so a person the new build adds is suggested."""
    import shutil

    import pyoxigraph as ox

    from kg import store as stores

    path = tmp_path / "store"
    shutil.copytree(seed_store_path, path, symlinks=True)
    newcomer = ox.NamedNode(BASE + "person/zebulon-quarrington")
    triples = [ox.Triple(newcomer, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                         ox.NamedNode("http://schema.org/Person")),
               ox.Triple(newcomer, ox.NamedNode("http://schema.org/name"), ox.Literal("Zebulon Quarrington"))]
    with running(path, timeout=10, workers=1) as s:
        assert json.loads(fetch(s, "/api/suggest?q=Quarrington")[2]) == []
        live = stores.open_store(path)
        merged = [ox.Triple(q.subject, q.predicate, q.object)
                  for q in live.quads_for_pattern(None, None, None, ox.DefaultGraph())]
        live.close()
        with stores.writer_lock(path):
            stores.open_store(path, must_exist=False).replace_graphs({ox.DefaultGraph(): merged + triples})
        found = json.loads(fetch(s, "/api/suggest?q=Quarrington")[2])
        assert [hit["label"] for hit in found] == ["Zebulon Quarrington"], found
