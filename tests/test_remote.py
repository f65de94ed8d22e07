"""Remote stores against real servers on 127.0.0.1: Oxigraph (`oxigraph serve`, PyPI
package `oxigraph`) and Virtuoso (Debian's virtuoso-opensource-7-bin).

The servers are started here and always stopped. A missing server binary skips its
tests, unless KG_REQUIRE_SERVERS=1 (set by .ci/run), which makes it a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from conftest import SEED

from kg import export, queries, render
from kg import store as stores
from kg.cli import main
from kg.pipeline import build
from kg.store import remote

# real Oxigraph and Virtuoso servers started, loaded and stopped: minutes; left out of `pytest -q`, run by `pytest -m slow` (.ci/run runs both)
pytestmark = pytest.mark.slow

REQUIRE = os.environ.get("KG_REQUIRE_SERVERS") == "1"
START_TIMEOUT = 30.0

# every saved query, with the parameters tests/test_queries.py uses (and none)
MERGED = remote.merged_graph().value
CASES = [
    ("authors-sharing-topics", {}), ("authors-sharing-topics", {"min_shared": "2"}),
    ("authors-sharing-topics", {"author": "samson tan"}),
    ("coauthors", {}), ("coauthors", {"author": "Lluis Marquez"}),
    ("papers-by-author", {"author": "SHS"}), ("papers-by-topic", {"topic": "reasoning"}),
    ("topics", {}), ("authors", {}), ("topics-of-author", {"author": "Samson Tan"}),
    ("figures", {}), ("roles", {}), ("roles-for-author", {"author": "Brian Thompson"}),
    ("roles-for-author", {"author": "Silvia Casola"}), ("starred-papers", {}),
    ("source-of", {"entity": "samson tan"}), ("source-of", {"entity": "Economist Intern"}),
    ("bylines", {"paper": "Extreme miscalibration and the illusion of adversarial robustness"}),
]


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path, monkeypatch):
    """Each test in a folder of its own: a build onto a server writes its review file in
    the current directory (a server has no folder of kg's), never into the checkout."""
    monkeypatch.chdir(tmp_path)


def _missing(what: str):
    if REQUIRE:
        pytest.fail(f"{what} (KG_REQUIRE_SERVERS=1)")
    pytest.skip(what)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server not ready after {START_TIMEOUT}s: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _oxigraph_binary() -> str | None:
    beside = Path(sys.executable).parent / "oxigraph"
    return str(beside) if beside.exists() else shutil.which("oxigraph")


@pytest.fixture()
def oxigraph(tmp_path):
    """A fresh, empty Oxigraph server; yields its base URL (the --store value)."""
    binary = _oxigraph_binary()
    if binary is None:
        _missing("the `oxigraph` server is not installed (pip install oxigraph)")
    port = _free_port()
    log = tmp_path / "oxigraph.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "serve", "--location", str(tmp_path / "oxigraph"),
                                 "--bind", f"127.0.0.1:{port}"], stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(f"{url}/query?query=ASK%7B%7D", proc, log)
        yield url
    finally:
        _stop(proc)


VIRTUOSO_INI = """\
[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql}
ServerThreads = 10
CheckpointInterval = 60
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
DirsAllowed = ., {d}
VADInstallDir = {d}/vad
TempDir = {d}

[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = {d}/www
ServerThreads = 4
MaxKeepAlives = 10
KeepAliveTimeout = 10
HTTPThreadSize = 280000
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 120
MaxQueryCostEstimationTime = 0
"""

VIRTUOSO_USER, VIRTUOSO_PASSWORD = "kg", "kg-test-secret"


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory):
    """A Virtuoso server with new dba/dav passwords and a user `kg` allowed SPARQL updates;
    yields its /sparql URL. Tests that write set KG_STORE_USER / KG_STORE_PASSWORD."""
    binary, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt") or shutil.which("isql")
    if binary is None or isql is None:
        _missing("Virtuoso is not installed (apt-get install virtuoso-opensource-7-bin)")
    d = tmp_path_factory.mktemp("virtuoso")
    (d / "vad").mkdir()  # empty: nothing to install, so it starts in about 2 s
    (d / "www").mkdir()
    sql, http = _free_port(), _free_port()
    (d / "virtuoso.ini").write_text(VIRTUOSO_INI.format(d=d, sql=sql, http=http), encoding="utf-8")
    log = d / "out.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "+foreground", "+configfile", str(d / "virtuoso.ini")],
                                cwd=d, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{http}/sparql"
        _wait(url + "?query=ASK%7B%7D", proc, log)
        dba = "dba-" + os.urandom(6).hex()
        # dav exists only once the DAV package is installed (our VAD dir is empty):
        # change its default password when it is there, accept its absence
        dav = subprocess.run([isql, f"127.0.0.1:{sql}", "dba", "dba",
                              f"exec=USER_SET_PASSWORD('dav', 'dav-{os.urandom(6).hex()}');"],
                             check=False, capture_output=True, text=True, timeout=60)
        assert dav.returncode == 0 and ("Error" not in dav.stdout + dav.stderr
                                        or "user dav does not exist" in dav.stdout + dav.stderr), dav.stdout
        script = (f"DB.DBA.USER_CREATE('{VIRTUOSO_USER}', '{VIRTUOSO_PASSWORD}'); "
                  f"GRANT SPARQL_UPDATE TO \"{VIRTUOSO_USER}\"; "
                  f"USER_SET_PASSWORD('dba', '{dba}');")
        done = subprocess.run([isql, f"127.0.0.1:{sql}", "dba", "dba", f"exec={script}"],
                              check=False, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "Error" not in done.stdout + done.stderr, done.stdout + done.stderr
        # the default passwords no longer work
        again = subprocess.run([isql, f"127.0.0.1:{sql}", "dba", "dba", "exec=SELECT 1;"],
                               check=False, capture_output=True, text=True, timeout=60)
        assert again.returncode != 0 or "Bad login" in again.stdout + again.stderr
        yield url
    finally:
        _stop(proc)


@pytest.fixture()
def virtuoso_creds(monkeypatch):
    monkeypatch.setenv("KG_STORE_USER", VIRTUOSO_USER)
    monkeypatch.setenv("KG_STORE_PASSWORD", VIRTUOSO_PASSWORD)


def _clear(url: str) -> None:
    """Drop every graph kg put on a server (Virtuoso is shared by the session)."""
    store = remote.RemoteStore.from_spec(url)
    store.replace_graphs({}, drop=store.kg_graphs(refresh=True))


def _raw_graphs(query_url: str) -> set[str]:
    """The graphs a server holds, asked without kg's dataset restriction."""
    q = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    req = urllib.request.Request(query_url, data=urllib.parse.urlencode({"query": q}).encode(),
                                 headers={"Accept": "application/sparql-results+json",
                                          "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        doc = json.load(resp)
    return {b["g"]["value"] for b in doc["results"]["bindings"]}


def _nquads(store) -> bytes:
    return export.export_bytes(store, "nquads")


def _normal(result: queries.Result) -> tuple:
    """Sorted rows of plain values; GROUP_CONCAT lists compared as sets."""
    def cell(term):
        value = "" if term is None else term.value
        return "; ".join(sorted(value.split("; "))) if "; " in value else value
    return tuple(result.variables), sorted(tuple(cell(t) for t in row) for row in result.rows)


# --- tests --------------------------------------------------------------------------------

def test_endpoints_from_a_store_value():
    assert remote.endpoints("http://h:1") == remote.Endpoints("http://h:1/query", "http://h:1/update",
                                                              "http://h:1/store")
    assert remote.endpoints("http://h:2/sparql/").update == "http://h:2/sparql-auth"
    assert remote.endpoints("query=http://a/q,update=http://a/u,store=http://a/s").store == "http://a/s"
    assert stores.store_path("http://h:1") == "http://h:1"
    assert stores.store_path("some/dir") == Path("some/dir")


@pytest.mark.parametrize("value", ['x" } ; DROP ALL ; { "', "} UNION { ?s ?p ?o }", "<http://x> ?p ?o",
                                   "a'b\"c\\d\n}{", '"""', "'''"])
def test_values_block_binds_exactly_the_value(value):
    """The VALUES block a remote query carries gives back the value it was built from."""
    text = remote.with_bindings("SELECT ?x ?y WHERE { FILTER(BOUND(?x)) }",
                                {ox.Variable("x"): ox.Literal(value),
                                 ox.Variable("y"): ox.NamedNode("http://example.org/a?b=c")})
    rows = list(ox.Store().query(text))
    assert [(r["x"].value, r["y"].value) for r in rows] == [(value, "http://example.org/a?b=c")]


def test_values_go_first_inside_the_where_group():
    q = "CONSTRUCT { ?s <urn:p> ?x } WHERE { ?s ?p ?o FILTER(?o = ?x) } # { not here"
    out = remote.with_bindings(q, {ox.Variable("x"): ox.Literal("v")})
    assert " ".join(out.split()).startswith('CONSTRUCT { ?s <urn:p> ?x } WHERE { VALUES (?x) { ("v") } ?s ?p')
    tricky = 'SELECT * { ?s ?p "{ WHERE }" FILTER(STR(?s) < STR(?o)) }'
    assert " ".join(remote.with_bindings(tricky, {ox.Variable("o"): ox.Literal("1")}).split()).startswith(
        'SELECT * { VALUES (?o) { ("1") } ?s ?p "{ WHERE }"')


@pytest.fixture()
def loaded_oxigraph(oxigraph, seed_store_path):
    remote.push(stores.open_store(seed_store_path), oxigraph)
    return oxigraph


@pytest.fixture()
def loaded_virtuoso(virtuoso, virtuoso_creds, seed_store_path):
    _clear(virtuoso)
    remote.push(stores.open_store(seed_store_path), virtuoso)
    return virtuoso


def test_every_saved_query_gives_the_same_answers_everywhere(seed_store, loaded_oxigraph, loaded_virtuoso):
    covered = {name for name, _ in CASES}
    cases = list(CASES)
    for name, saved in queries.saved_queries().items():  # queries added since: their defaults
        if name not in covered:
            assert not any(p.required for p in saved.params), f"add a case for {name} to CASES"
            cases.append((name, {}))
    servers = {"oxigraph": stores.open_store(loaded_oxigraph), "virtuoso": stores.open_store(loaded_virtuoso)}
    for name, params in cases:
        expected = _normal(queries.run_saved(seed_store, name, params))
        assert expected[1] or (name, params) not in CASES or name == "roles-for-author", (name, params)
        for server, store in servers.items():
            assert _normal(queries.run_saved(store, name, params)) == expected, (server, name, params)


def test_stats_show_export_match_the_embedded_store(seed_store, loaded_oxigraph, loaded_virtuoso):
    from kg import facts

    for url in (loaded_oxigraph, loaded_virtuoso):
        store = stores.open_store(url)
        assert facts.stats(store) == facts.stats(seed_store), url
        assert facts.describe(store, "Samson Tan") == facts.describe(seed_store, "Samson Tan"), url
        assert _nquads(store) == _nquads(seed_store), url


@pytest.mark.parametrize("value", ['x" } ; DROP ALL ; { "', "} UNION { ?s ?p ?o }", "<http://x> ?p ?o",
                                   "'} ; DROP ALL ; {'"])
def test_injection_attempts_change_nothing_on_the_server(loaded_oxigraph, loaded_virtuoso, value):
    """Even with update rights (Virtuoso's kg user), a bound value stays a value."""
    for url in (loaded_oxigraph, loaded_virtuoso):
        store = stores.open_store(url)
        before = _nquads(store)
        with pytest.raises(queries.UnknownNameError):
            queries.run_saved(store, "coauthors", {"author": value})
        got = store.query("SELECT ?v WHERE { FILTER(STR(?v) != \"\") }",
                          substitutions={ox.Variable("v"): ox.Literal(value)})
        assert [r["v"].value for r in got] == [value]
        assert list(store.query("SELECT ?n WHERE { ?p <http://schema.org/name> ?n }",
                                substitutions={ox.Variable("n"): ox.Literal(value)})) == []
        assert _nquads(stores.open_store(url)) == before


def test_push_is_idempotent_and_leaves_no_temporary_graphs(oxigraph, seed_store, seed_store_path):
    runner = CliRunner()
    first = runner.invoke(main, ["push", "--store", oxigraph, "--from", str(seed_store_path), "--chunk", "500"])
    assert first.exit_code == 0, first.output
    after_first = _nquads(stores.open_store(oxigraph))
    assert after_first == _nquads(seed_store)
    second = runner.invoke(main, ["push", "--store", oxigraph, "--from", str(seed_store_path)])
    assert second.exit_code == 0, second.output
    assert _nquads(stores.open_store(oxigraph)) == after_first
    # kg's named graphs, and its default graph (the merge) as graph/merged
    assert _raw_graphs(oxigraph + "/query") == {g.value for g in seed_store.named_graphs()} | {MERGED}


def test_push_to_virtuoso_needs_credentials_and_anonymous_cannot_update(virtuoso, seed_store_path,
                                                                        monkeypatch):
    monkeypatch.delenv("KG_STORE_USER", raising=False)
    monkeypatch.delenv("KG_STORE_PASSWORD", raising=False)
    out = CliRunner().invoke(main, ["push", "--store", virtuoso, "--from", str(seed_store_path)])
    assert out.exit_code == 2 and "KG_STORE_USER" in out.stderr, out.output
    # the public endpoint refuses updates
    req = urllib.request.Request(virtuoso, data=urllib.parse.urlencode(
        {"update": "INSERT DATA { GRAPH <urn:kg:test> { <urn:a> <urn:b> <urn:c> } }"}).encode())
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")
    assert "urn:kg:test" not in _raw_graphs(virtuoso), body
    monkeypatch.setenv("KG_STORE_USER", VIRTUOSO_USER)
    monkeypatch.setenv("KG_STORE_PASSWORD", "wrong")
    out = CliRunner().invoke(main, ["push", "--store", virtuoso, "--from", str(seed_store_path)])
    assert out.exit_code == 2 and "401" in out.stderr


def test_push_to_virtuoso_twice_changes_nothing(loaded_virtuoso, seed_store, seed_store_path):
    before = _nquads(stores.open_store(loaded_virtuoso))
    assert before == _nquads(seed_store)
    remote.push(stores.open_store(seed_store_path), loaded_virtuoso, chunk=700)
    assert _nquads(stores.open_store(loaded_virtuoso)) == before
    assert not any(g.startswith("urn:kg:upload:") for g in _raw_graphs(loaded_virtuoso))


def run(runner, *args, store):
    return runner.invoke(main, [*args, "--store", store], catch_exceptions=False)


def test_cli_build_add_stats_show_export_on_oxigraph(oxigraph, seed_store, tmp_path):
    runner = CliRunner()
    assert run(runner, "stats", store=oxigraph).exit_code == 2  # nothing there yet
    out = run(runner, "build", str(SEED), store=oxigraph)
    assert out.exit_code == 0, out.output
    assert "33 papers, 190 people, 20 topics, 3 roles" in out.stdout
    assert run(runner, "export", "-f", "nquads", store=oxigraph).stdout_bytes == _nquads(seed_store)
    show = json.loads(run(runner, "show", "Samson Tan", "--format", "json", store=oxigraph).stdout)
    assert show["kind"] == "person" and show["label"] == "Samson Tan"
    csv_out = run(runner, "query", "topics", "--format", "csv", store=oxigraph)
    assert csv_out.stdout.splitlines()[1] == "Model evaluation,5,26"
    ask = run(runner, "sparql", 'ASK { ?p schema:name "Samson Tan" }', store=oxigraph)
    assert ask.stdout.strip() == "true"
    upd = run(runner, "sparql", "DELETE WHERE { ?s ?p ?o }", store=oxigraph)
    assert upd.exit_code == 2 and "updates are refused" in upd.stderr
    bad = run(runner, "sparql", "SELECT * WHERE { ?s ?p }", store=oxigraph)
    assert bad.exit_code == 2 and "SPARQL syntax error" in bad.stderr
    assert run(runner, "validate", store=oxigraph).exit_code == 0

    extra = tmp_path / "other-guide.txt"
    extra.write_text("A quick guide to Amazon's papers at NAACL 2025\n\nSummary line here.\n\n"
                     "Parsing\n\nA new parser for old sentences\nSamson Tan, Ada Lovelace\n", encoding="utf-8")
    assert run(runner, "build", "--add", str(extra), store=oxigraph).exit_code == 0
    stats = json.loads(run(runner, "stats", "--format", "json", store=oxigraph).stdout)
    assert (stats["papers"], stats["people"], stats["topics"], stats["graphs"]) == (34, 191, 21, 3)
    # the same source again replaces its graph; a plain build drops the others
    assert run(runner, "build", "--add", str(extra), store=oxigraph).exit_code == 0
    again = json.loads(run(runner, "stats", "--format", "json", store=oxigraph).stdout)
    assert again == stats
    embedded = tmp_path / "embedded"
    assert run(runner, "build", str(SEED), str(extra), store=str(embedded)).exit_code == 0
    assert (run(runner, "export", "-f", "nquads", store=oxigraph).stdout
            == run(runner, "export", "-f", "nquads", store=str(embedded)).stdout)
    assert run(runner, "build", str(SEED), store=oxigraph).exit_code == 0
    assert _raw_graphs(oxigraph + "/query") == {g.value for g in seed_store.named_graphs()} | {MERGED}


def test_bad_input_and_violations_leave_the_server_as_it_was(oxigraph, tmp_path):
    runner = CliRunner()
    assert run(runner, "build", str(SEED), store=oxigraph).exit_code == 0
    before = run(runner, "export", "-f", "nquads", store=oxigraph).stdout
    bad = tmp_path / "bad-guide.txt"
    bad.write_bytes(b"hello\x00world")
    broken = tmp_path / "corrections.ttl"
    broken.write_text("""
@prefix schema: <http://schema.org/> .
@prefix kg: <https://w3id.org/kg/ontology#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
<https://w3id.org/kg/id/paper/extra> a schema:ScholarlyArticle ;
    kg:asteriskMarked "yes" ;
    prov:wasDerivedFrom <https://w3id.org/kg/id/source/corrections> ;
    kg:sourceLine 4 .
""", encoding="utf-8")
    for args, code in ((["build", str(bad)], 2), (["build", "--add", str(bad)], 2),
                       (["build", "--add", str(broken)], 1), (["build", str(SEED), str(broken)], 1)):
        out = run(runner, *args, store=oxigraph)
        assert out.exit_code == code, (args, out.output)
    assert run(runner, "export", "-f", "nquads", store=oxigraph).stdout == before


def test_a_failure_during_upload_leaves_the_old_graphs(oxigraph, seed_store_path, monkeypatch, tmp_path):
    runner = CliRunner()
    assert run(runner, "build", str(SEED), store=oxigraph).exit_code == 0
    before = run(runner, "export", "-f", "nquads", store=oxigraph).stdout
    real = remote.RemoteStore.upload
    calls = []

    def failing(self, graph, triples, chunk=remote.CHUNK):
        calls.append(graph)
        if len(calls) == 2:
            raise remote.StoreError("connection dropped (simulated)")
        return real(self, graph, triples, chunk)

    monkeypatch.setattr(remote.RemoteStore, "upload", failing)
    extra = tmp_path / "other-guide.txt"
    extra.write_text("A quick guide to Amazon's papers at NAACL 2025\n\nSummary line here.\n\n"
                     "Parsing\n\nA new parser for old sentences\nSamson Tan, Ada Lovelace\n", encoding="utf-8")
    out = run(runner, "build", str(SEED), str(extra), store=oxigraph)
    assert out.exit_code == 2 and "simulated" in out.stderr
    monkeypatch.setattr(remote.RemoteStore, "upload", real)
    assert run(runner, "export", "-f", "nquads", store=oxigraph).stdout == before
    assert not any(g.startswith("urn:kg:upload:") for g in _raw_graphs(oxigraph + "/query"))


def test_answers_cut_short_by_a_server_are_read_in_pages(loaded_oxigraph, seed_store, monkeypatch):
    """Virtuoso cuts answers at ResultSetMaxRows without saying so: export must still be whole."""
    real = remote.RemoteStore._select
    monkeypatch.setattr(remote.RemoteStore, "_select", lambda self, text, graphs: real(self, text, graphs)[:700])
    assert _nquads(stores.open_store(loaded_oxigraph)) == _nquads(seed_store)


def test_cli_build_and_add_on_virtuoso(virtuoso, virtuoso_creds, seed_store, tmp_path):
    runner = CliRunner()
    _clear(virtuoso)
    out = run(runner, "build", str(SEED), store=virtuoso)
    assert out.exit_code == 0, out.output
    assert run(runner, "export", "-f", "nquads", store=virtuoso).stdout_bytes == _nquads(seed_store)
    extra = tmp_path / "other-guide.txt"
    extra.write_text("A quick guide to Amazon's papers at NAACL 2025\n\nSummary line here.\n\n"
                     "Parsing\n\nA new parser for old sentences\nSamson Tan, Ada Lovelace\n", encoding="utf-8")
    assert run(runner, "build", "--add", str(extra), store=virtuoso).exit_code == 0
    stats = json.loads(run(runner, "stats", "--format", "json", store=virtuoso).stdout)
    assert (stats["papers"], stats["people"], stats["topics"], stats["graphs"]) == (34, 191, 21, 3)
    assert not any(g.startswith("urn:kg:upload:") for g in _raw_graphs(virtuoso))


# --- one dataset everywhere: the merge, the sources, FROM and GRAPH ------------------------

@pytest.fixture(scope="module")
def reconciled_path(tmp_path_factory) -> Path:
    """The guide and the two collections that hold most of its papers: a store with a
    reconciliation graph, merged papers and people, and a few discrepancies."""
    path = tmp_path_factory.mktemp("reconciled") / "store"
    data = SEED.parent / "anthology"
    result = build([SEED, data / "2024.findings.xml.gz", data / "2024.naacl.xml.gz"], store=path)
    assert result.written, result.report.format()
    return path


DATASET_QUERIES = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT ?n WHERE { ?p schema:name ?n FILTER(?n = \"Samson Tan\") }",
    "SELECT (COUNT(*) AS ?n) FROM <https://w3id.org/kg/id/source/2024-naacl> WHERE { ?s ?p ?o }",
    "SELECT (COUNT(*) AS ?n) FROM <https://w3id.org/kg/id/source/2024-naacl> WHERE { GRAPH ?g { ?s ?p ?o } }",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
    ("SELECT ?g (COUNT(*) AS ?n) FROM NAMED <https://w3id.org/kg/id/graph/reconciliation> "
     "WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"),
    # two FROM graphs are merged: the guide and the Anthology state some triples alike
    ("SELECT (COUNT(*) AS ?n) FROM <https://w3id.org/kg/id/source/amazon-acl-2024-guide> "
     "FROM <https://w3id.org/kg/id/source/2024-findings> WHERE { ?s ?p ?o }"),
    ("SELECT ?n FROM <https://w3id.org/kg/id/source/amazon-acl-2024-guide> "
     "FROM <https://w3id.org/kg/id/source/2024-findings> WHERE { ?p schema:name ?n FILTER(?n = \"Samson Tan\") }"),
]


def _answer(store, text):
    return _normal(queries.run_sparql(store, text))


def test_dataset_semantics_are_the_same_embedded_on_kg_serve_and_on_servers(
        reconciled_path, oxigraph, virtuoso, virtuoso_creds, tmp_path):
    from kg import server as kgserver

    embedded = stores.open_store(reconciled_path)
    _clear(virtuoso)
    remote.push(embedded, oxigraph)
    remote.push(embedded, virtuoso)
    servers = {"oxigraph": stores.open_store(oxigraph), "virtuoso": stores.open_store(virtuoso)}
    expected = {text: _answer(embedded, text) for text in DATASET_QUERIES}
    assert expected[DATASET_QUERIES[1]][1] == [("Samson Tan",)]  # one row: a merge, not a union
    assert expected[DATASET_QUERIES[-1]][1] == [("Samson Tan",)]
    assert expected[DATASET_QUERIES[3]][1] == [("0",)]  # FROM alone: no named graphs
    for name, store in servers.items():
        for text in DATASET_QUERIES:
            assert _answer(store, text) == expected[text], (name, text)
        # the reconciliation graph is part of the dataset there too
        assert _normal(queries.run_saved(store, "discrepancies")) == \
            _normal(queries.run_saved(embedded, "discrepancies")), name
    assert len(queries.run_saved(embedded, "discrepancies").rows) > 5
    srv = kgserver.make_server(reconciled_path, port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        for text in DATASET_QUERIES:
            url = f"{srv.url}/sparql?" + urllib.parse.urlencode({"query": text})
            req = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
            with urllib.request.urlopen(req, timeout=60) as resp:
                rows = ox.parse_query_results(resp.read(), format=ox.QueryResultsFormat.JSON)
            got = sorted(tuple(render.plain(t) for t in row) for row in rows)
            assert got == expected[text][1], text
    finally:
        srv.shutdown()
        srv.server_close()


def test_kg_serve_answers_from_a_store_on_a_server(loaded_oxigraph, seed_store_path):
    """`kg serve --store URL` (issue 14): the same answers as serving the embedded store,
    for SPARQL with and without the protocol's dataset, saved queries and pages."""
    from kg import server as kgserver

    def ask(srv, path: str, accept: str = "application/sparql-results+json") -> tuple[int, bytes]:
        req = urllib.request.Request(srv.url + path, headers={"Accept": accept})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def rows(body: bytes) -> list:
        return sorted(tuple(render.plain(t) for t in row)
                      for row in ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON))

    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    paths = ["/sparql?" + urllib.parse.urlencode({"query": count}),
             "/sparql?" + urllib.parse.urlencode({"query": count, "default-graph-uri": merge_meta()}),
             "/queries/papers-by-author?" + urllib.parse.urlencode({"author": "Samson Tan"}),
             "/queries/coauthors?" + urllib.parse.urlencode({"author": "Samson Tan"})]
    answers = {}
    for store in (seed_store_path, loaded_oxigraph):
        srv = kgserver.make_server(store, "127.0.0.1", 0, workers=1)
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        try:
            got = [ask(srv, p) for p in paths]
            assert all(status == 200 for status, _ in got), [(s, b[:300]) for s, b in got if s != 200]
            answers[str(store)] = [rows(body) for _, body in got]
            service = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"
            status, body = ask(srv, "/sparql?" + urllib.parse.urlencode({"query": service}))
            assert status == 403 and b"SERVICE" in body
        finally:
            srv.shutdown()
            srv.server_close()
            thread.join(10)
    embedded, served = answers.values()
    assert embedded == served
    assert int(embedded[0][0][0]) > int(embedded[1][0][0]) > 0  # the merge; the build's graph
    assert embedded[2], "papers-by-author found nothing to compare"


def merge_meta() -> str:
    from kg.mapping import META_GRAPH
    from kg.namespaces import base_iri

    return base_iri() + META_GRAPH


def test_both_stores_are_the_one_store_interface(loaded_oxigraph, seed_store_path):
    """open_store gives a kg.store.Store for a directory and for a server URL, and the
    layers above read either the same way (issue 14, item 1)."""
    from kg import facts

    local, server = stores.open_store(seed_store_path), stores.open_store(loaded_oxigraph)
    assert isinstance(local, stores.Store) and isinstance(server, stores.Store)
    assert not isinstance(object(), stores.Store)
    assert facts.stats(local) == facts.stats(server)
    assert export.export_bytes(local, "nquads") == export.export_bytes(server, "nquads")
    # an entity's description, by pattern lookups embedded and by three queries on a server:
    # a person (aliases, authorships), a paper, a topic, a role, a posting, a figure
    kinds = ("Person", "ScholarlyArticle", "Concept", "Occupation", "JobPosting", "ImageObject")
    for kind in kinds:
        rows = local.query("SELECT ?e ?k WHERE { ?e a ?k } ORDER BY ?e LIMIT 3",
                           substitutions={ox.Variable("k"): ox.NamedNode(
                               ("http://www.w3.org/2004/02/skos/core#" if kind == "Concept" else "http://schema.org/")
                               + kind)})
        entities = [r["e"] for r in rows]
        assert entities, kind
        for entity in entities:
            mine = sorted(map(str, local.describe(entity)))
            assert mine and sorted(map(str, server.describe(entity))) == mine, entity
            assert facts.describe_iri(server, entity.value) == facts.describe_iri(local, entity.value)


def test_a_server_without_the_merged_graph_describes_from_the_union(loaded_oxigraph):
    """A server kg pushed to before it kept graph/merged: its default graph is the union of
    kg's graphs, for descriptions as for pattern lookups; and a changed server is a new
    version (the web's caches follow it)."""
    from kg import facts

    server = stores.open_store(loaded_oxigraph)
    before = server.version
    server.update(f"DROP GRAPH <{MERGED}>")
    server.refresh()
    assert server.version == before  # the build that made it is the same
    meta = remote.meta_graph()
    server.update(f'INSERT DATA {{ GRAPH {meta} {{ {meta} <http://purl.org/dc/terms/description> "x" }} }}')
    assert server.version == before  # read once between refreshes
    server.refresh()
    assert server.version != before
    tan = ox.NamedNode("https://w3id.org/kg/id/person/samson-tan")
    described = {q for q in server.describe(tan) if isinstance(q.graph_name, ox.DefaultGraph) and q.subject == tan}
    assert described and described == set(server.quads_for_pattern(tan, None, None, ox.DefaultGraph()))
    shown = facts.describe_iri(server, tan.value)
    assert shown is not None and shown.label == "Samson Tan"
