"""The CLI contract: commands, formats, exit codes 0/1/2, atomic store and exports."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from conftest import SEED

from kg import store as stores
from kg.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture()
def runner():
    return CliRunner()


def run(runner, *args, store=None):
    argv = [*args] + (["--store", str(store)] if store else [])
    return runner.invoke(main, argv, catch_exceptions=False)


@pytest.fixture()
def built(tmp_path, runner):
    path = tmp_path / "store"
    result = run(runner, "build", str(SEED), store=path)
    assert result.exit_code == 0, result.output
    return path


def test_build_reports_counts_and_warnings(tmp_path, runner):
    result = run(runner, "build", str(SEED), store=tmp_path / "s")
    assert result.exit_code == 0
    assert "33 papers, 190 people, 20 topics, 3 roles" in result.stdout
    assert "amazon-acl-2024-guide.txt:161: warning: heading 'Research areas' has no paper" in result.stderr


def test_query_table_and_formats(built, runner):
    out = run(runner, "query", "authors-sharing-topics", "-p", "min_shared", "2", store=built)
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["author1", "author2", "shared", "topics"]
    assert lines[2].split()[:5] == ["George", "Karypis", "Samson", "Tan", "2"]
    assert lines[-1] == "(8 rows)"
    js = run(runner, "query", "topics", "--format", "json", store=built)
    assert json.loads(js.stdout)["head"]["vars"] == ["topic", "papers", "authors"]
    csv_out = run(runner, "query", "topics", "--format", "csv", store=built)
    assert csv_out.stdout.splitlines()[1] == "Model evaluation,5,26"


def test_unknown_name_is_exit_2_with_suggestion(built, runner):
    out = run(runner, "query", "coauthors", "-p", "author", "Samson Tann", store=built)
    assert out.exit_code == 2
    assert out.stderr.strip() == ("kg: error: no person named 'Samson Tann'; did you mean "
                                  "'Samson Tan'?")
    assert "Traceback" not in out.output


def test_sparql_read_only_and_errors(built, runner):
    ok = run(runner, "sparql", "SELECT (COUNT(*) AS ?n) WHERE { ?p a schema:ScholarlyArticle }",
             "--format", "csv", store=built)
    assert ok.stdout.splitlines() == ["n", "33"]
    before = run(runner, "export", "-f", "nquads", store=built).stdout
    upd = run(runner, "sparql", "PREFIX s: <http://schema.org/>\nDELETE WHERE { ?s ?p ?o }", store=built)
    assert upd.exit_code == 2 and "updates are refused" in upd.stderr
    bad = run(runner, "sparql", "SELECT * WHERE { ?s ?p }", store=built)
    assert bad.exit_code == 2 and "SPARQL syntax error" in bad.stderr
    assert run(runner, "export", "-f", "nquads", store=built).stdout == before
    ask = run(runner, "sparql", "ASK { ?p schema:name \"Samson Tan\" }", store=built)
    assert ask.stdout.strip() == "true"


def test_sparql_from_file(built, runner, tmp_path):
    q = tmp_path / "q.rq"
    q.write_text("SELECT ?t WHERE { ?c skos:prefLabel ?t } ORDER BY ?t LIMIT 2", encoding="utf-8")
    out = run(runner, "sparql", "-f", str(q), "--format", "tsv", store=built)
    assert out.stdout.splitlines() == ["?t", '"Code synthesis"', '"Continual pretraining"']


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"hello\x00world", "caf\xe9\n".encode("latin-1"),
                                     b"A quick guide\n\nJust prose here.\n\nMore prose here, no papers.\n"])
def test_bad_input_is_exit_2_and_store_untouched(built, runner, tmp_path, content):
    before = run(runner, "export", "-f", "nquads", store=built).stdout
    live = (built / stores.CURRENT).resolve()
    bad = tmp_path / "bad-guide.txt"
    bad.write_bytes(content)
    for args in (["build", str(bad)], ["build", "--add", str(bad)]):
        out = run(runner, *args, store=built)
        assert out.exit_code == 2, out.output
        assert out.stderr.startswith(f"kg: error: {bad}:")
        assert len(out.stderr.strip().splitlines()) == 1
    assert (built / stores.CURRENT).resolve() == live
    assert run(runner, "export", "-f", "nquads", store=built).stdout == before


def test_violations_are_exit_1_and_store_untouched(built, runner, tmp_path):
    """A guide whose posting has no usable title still maps, but fails SHACL? No: build
    a Turtle file that breaks shapes and validate it (exit 1), and check the store."""
    broken = tmp_path / "broken.ttl"
    broken.write_text("""
@prefix schema: <http://schema.org/> .
@prefix kg: <https://w3id.org/kg/ontology#> .
<https://w3id.org/kg/id/paper/x> a schema:ScholarlyArticle ; kg:asteriskMarked true .
""", encoding="utf-8")
    out = run(runner, "validate", str(broken))
    assert out.exit_code == 1
    assert "kgsh:PaperShape" in out.stdout
    ok = run(runner, "validate", store=built)
    assert ok.exit_code == 0 and "Conforms" in ok.stdout


def test_build_add_extends_and_replaces_same_source(built, runner, tmp_path):
    extra = tmp_path / "other-guide.txt"
    extra.write_text("A quick guide to Amazon's papers at NAACL 2025\n\nSummary line here.\n\n"
                     "Parsing\n\nA new parser for old sentences\nSamson Tan, Ada Lovelace\n", encoding="utf-8")
    out = run(runner, "build", "--add", str(extra), store=built)
    assert out.exit_code == 0, out.output
    stats = json.loads(run(runner, "stats", "--format", "json", store=built).stdout)
    assert (stats["papers"], stats["people"], stats["topics"], stats["graphs"]) == (34, 191, 21, 3)
    again = run(runner, "build", "--add", str(extra), store=built)
    assert again.exit_code == 0
    assert json.loads(run(runner, "stats", "--format", "json", store=built).stdout) == stats
    samson = run(runner, "query", "papers-by-author", "-p", "author", "Samson Tan", "--format", "csv", store=built)
    assert len(samson.stdout.splitlines()) == 5


def test_export_is_deterministic_and_round_trips(tmp_path, runner, built):
    other = tmp_path / "again"
    assert run(runner, "build", str(SEED), store=other).exit_code == 0
    for fmt, rdf in [("ntriples", ox.RdfFormat.N_TRIPLES), ("turtle", ox.RdfFormat.TURTLE),
                     ("nquads", ox.RdfFormat.N_QUADS), ("trig", ox.RdfFormat.TRIG),
                     ("jsonld", ox.RdfFormat.JSON_LD)]:
        a, b = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        assert run(runner, "export", "-f", fmt, "-o", str(a), store=built).exit_code == 0
        assert run(runner, "export", "-f", fmt, "-o", str(b), store=other).exit_code == 0
        assert a.read_bytes() == b.read_bytes(), fmt
        parsed = list(ox.parse(path=str(a), format=rdf))
        assert len({(q.subject, q.predicate, q.object) for q in parsed}) == \
            json.loads(run(runner, "stats", "--format", "json", store=built).stdout)["triples"]
    nt = (tmp_path / "a.ntriples").read_text(encoding="utf-8").splitlines()
    assert nt == sorted(nt)


def test_export_failure_leaves_previous_file(built, runner, tmp_path):
    target = tmp_path / "out.ttl"
    target.write_text("previous", encoding="utf-8")
    out = run(runner, "export", "-o", str(tmp_path / "missing-dir" / "x.ttl"), store=built)
    assert out.exit_code == 2 and "does not exist" in out.stderr
    assert target.read_text(encoding="utf-8") == "previous"
    assert not list(tmp_path.glob(".out.ttl.*"))


def test_stats_and_show(built, runner):
    stats = json.loads(run(runner, "stats", "--format", "json", store=built).stdout)
    assert {k: stats[k] for k in ("papers", "people", "authorships", "topics", "roles", "postings",
                                  "locations", "figures")} == {
        "papers": 33, "people": 190, "authorships": 203, "topics": 20, "roles": 3, "postings": 10,
        "locations": 4, "figures": 5}
    show = run(runner, "show", "srinivasan sengamedu", store=built)
    assert show.exit_code == 0
    assert show.stdout.startswith("Srinivasan Sengamedu  (person)")
    assert "schema:alternateName" in show.stdout and "SHS" in show.stdout
    assert "amazon-acl-2024-guide.txt:130" in show.stdout
    missing = run(runner, "show", "Zzyzx Qwerty", store=built)
    assert missing.exit_code == 2


def test_no_store_is_exit_2(runner, tmp_path):
    out = run(runner, "stats", store=tmp_path / "nothing")
    assert out.exit_code == 2 and "run `kg build` first" in out.stderr


def test_graph_edges_match_the_store(built, runner, tmp_path):
    path = tmp_path / "co.graphml"
    assert run(runner, "graph", "coauthors", "-o", str(path), store=built).exit_code == 0
    g = nx.read_graphml(path)
    db = stores.open_store(built)
    pairs = {}
    for row in db.query("SELECT ?a ?b (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p <http://schema.org/author> ?a, ?b "
                        "FILTER(STR(?a) < STR(?b)) } GROUP BY ?a ?b"):
        pairs[(row["a"].value, row["b"].value)] = int(row["n"].value)
    got = {(min(u, v), max(u, v)): int(d["weight"]) for u, v, d in g.edges(data=True)}
    assert got == pairs
    assert g.number_of_nodes() == 190
    assert got[("https://w3id.org/kg/id/person/george-karypis", "https://w3id.org/kg/id/person/samson-tan")] == 2
    topics = tmp_path / "t.graphml"
    assert run(runner, "graph", "topics", "-o", str(topics), store=built).exit_code == 0
    t = nx.read_graphml(topics)
    assert sum(1 for _, d in t.nodes(data=True) if d["kind"] == "topic") == 20
    assert t.degree("https://w3id.org/kg/id/topic/model-evaluation") == 26


def test_every_command_is_documented_in_the_readme():
    text = README.read_text(encoding="utf-8")
    for name in main.commands:
        assert f"kg {name}" in text, name


def test_build_with_violations_is_exit_1_and_store_untouched(built, runner, tmp_path):
    """A hand-made RDF source that breaks the shapes stops the build before any write."""
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
    before = run(runner, "export", "-f", "nquads", store=built).stdout
    live = (built / stores.CURRENT).resolve()
    out = run(runner, "build", "--add", str(broken), store=built)
    assert out.exit_code == 1
    assert "validation failed; the store was left as it was" in out.stderr
    report = out.stdout
    assert "kgsh:PaperShape" in report
    assert "corrections.ttl:4: Violation:" in report
    assert "focus: <https://w3id.org/kg/id/paper/extra>" in report
    assert "path: <http://schema.org/name>" in report
    assert (built / stores.CURRENT).resolve() == live
    # no generation left behind (the writers' lock file stays: see stores.writer_lock)
    assert sorted(p.name for p in built.iterdir() if p.name != stores.LOCK) == sorted([stores.CURRENT, live.name])
    assert run(runner, "export", "-f", "nquads", store=built).stdout == before


def test_rdf_source_with_a_syntax_error_is_exit_2_with_its_line(built, runner, tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix s: <http://schema.org/> .\n\n<http://a> s:name .\n", encoding="utf-8")
    out = run(runner, "build", "--add", str(bad), store=built)
    assert out.exit_code == 2
    assert out.stderr.startswith(f"kg: error: {bad}:3: not valid RDF")


def test_source_order_does_not_change_the_export(tmp_path, runner):
    """Same sources named in another order: byte-identical sorted N-Triples."""
    other = tmp_path / "second-guide.txt"
    other.write_text("A quick guide to Amazon's papers at NAACL 2025\n\nSummary line here.\n\n"
                     "Model evaluation\n\nA new benchmark for old models\nSamson Tan, Ada Lovelace\n",
                     encoding="utf-8")
    outputs = []
    for order in ([SEED, other], [other, SEED]):
        store = tmp_path / f"s{len(outputs)}"
        assert run(runner, "build", *map(str, order), store=store).exit_code == 0
        outputs.append(run(runner, "export", "-f", "ntriples", store=store).stdout_bytes)
    assert outputs[0] == outputs[1]
    assert b"person/samson-tan" in outputs[0]


def test_a_first_build_that_died_before_its_swap_does_not_block_the_next(runner, tmp_path):
    """A killed first build leaves a data-* generation and no CURRENT: the next build
    takes the directory, sweeps the leftover and swaps in its own generation."""
    store = tmp_path / "store"
    (store / "data-deadbeef0000").mkdir(parents=True)
    (store / "data-deadbeef0000" / "000001.sst").write_bytes(b"half written")
    out = run(runner, "stats", store=store)
    assert out.exit_code == 2 and "run `kg build` first" in out.stderr
    assert run(runner, "build", str(SEED), store=store).exit_code == 0
    assert not (store / "data-deadbeef0000").exists()
    assert run(runner, "stats", store=store).exit_code == 0
    # anything else in the directory is still not ours to touch
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    out = run(runner, "build", str(SEED), store=other)
    assert out.exit_code == 2 and "is not a kg store" in out.stderr


def test_validate_reports_a_store_broken_behind_kgs_back(built, runner):
    """`kg validate` checks the live store as it is on disk (batched by focus nodes)."""
    live = ox.Store(str((built / stores.CURRENT).resolve()))
    # broken in the default graph, the merge of the sources that queries and validation read
    live.update("""DELETE { ?slot <http://schema.org/position> ?n }
                   INSERT { ?slot <http://schema.org/position> "first" }
                   WHERE { ?slot <http://schema.org/position> ?n FILTER(?n = 1) }""")
    live.flush()
    del live
    out = run(runner, "validate", store=built)
    assert out.exit_code == 1
    assert "kgsh:AuthorshipShape" in out.stdout and "amazon-acl-2024-guide.txt:" in out.stdout


def test_default_relative_store_survives_its_own_build(runner, tmp_path, monkeypatch):
    """The README's main job: `kg build` then a query, with the default store `.kg`
    relative to the working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KG_STORE", raising=False)
    assert runner.invoke(main, ["build", str(SEED)], catch_exceptions=False).exit_code == 0
    assert runner.invoke(main, ["build", "--add", str(SEED)], catch_exceptions=False).exit_code == 0
    out = runner.invoke(main, ["query", "authors-sharing-topics", "-p", "min_shared", "2"],
                        catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "George Karypis" in out.stdout and "(8 rows)" in out.stdout
    assert len(list((tmp_path / ".kg").glob("data-*"))) == 1


# --- start-up and shell completion (issue 15) -------------------------------------------

def _completions(*words: str) -> list[str]:
    import os
    import subprocess
    import sys

    env = {**os.environ, "_KG_COMPLETE": "bash_complete", "COMP_WORDS": " ".join(["kg", *words]),
           "COMP_CWORD": str(len(words))}
    out = subprocess.run([sys.executable, "-m", "kg"], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return [line.split(",", 1)[1] for line in out.splitlines() if "," in line]


def test_shell_completion_names_saved_queries_and_their_parameters():
    from kg.queries import saved_queries

    assert _completions("query", "papers-") == sorted(n for n in saved_queries() if n.startswith("papers-"))
    assert "papers-by-author" in _completions("query", "papers-")
    assert _completions("query", "authors-sharing-topics", "-p", "") == ["author", "min_shared", "limit"]
    assert _completions("query", "no-such-query", "-p", "") == []


def test_the_cli_starts_without_the_heavy_libraries():
    import subprocess
    import sys

    code = ("import sys, kg.cli; print(sorted(m for m in ('rdflib', 'pyshacl', 'networkx') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         check=True).stdout.strip()
    assert out == "[]"


# the guide's two "Applied Scientist" roles: lines 165 (Bellevue) and 167-179 (Boston,
# seven times) are the AGI team's listings, line 183 (Seattle) the Item and Relationship
# Platform's
AGI_ROLE = "https://w3id.org/kg/id/role/applied-scientist-428df6c5"
IRP_ROLE = "https://w3id.org/kg/id/role/applied-scientist-42fe80e4"


def test_an_ambiguous_name_lists_numbered_candidates_with_their_iris(built, runner):
    out = run(runner, "show", "Applied Scientist", store=built)
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert out.stdout.splitlines() == [
        f"1. Applied Scientist  (role)  {AGI_ROLE}",
        ("   team Artificial General Intelligence (AGI); 8 postings in Boston, MA, US (7), "
         "Bellevue, WA, US; guide lines 165-179"),
        f"2. Applied Scientist  (role)  {IRP_ROLE}",
        "   team Item and Relationship Platform; 1 posting in Seattle, WA, US; guide line 183"]
    assert out.stderr == ("kg: error: 'Applied Scientist' names 2 roles (listed on standard output); "
                          "choose one with --pick N (1-2) or give its IRI\n")
    js = run(runner, "show", "applied scientist", "--format", "json", store=built)
    assert js.exit_code == 2
    assert [(c["number"], c["iri"]) for c in json.loads(js.stdout)["candidates"]] == [
        (1, AGI_ROLE), (2, IRP_ROLE)]


@pytest.mark.parametrize(("number", "iri"), [(1, AGI_ROLE), (2, IRP_ROLE)])
def test_pick_and_every_iri_form_select_each_candidate(built, runner, number, iri):
    picked = run(runner, "show", "Applied Scientist", "--pick", str(number), store=built)
    assert picked.exit_code == 0
    assert picked.stdout.splitlines()[:2] == ["Applied Scientist  (role)", f"<{iri}>"]
    relative = iri.removeprefix("https://w3id.org/kg/id/")
    for form in (iri, f"<{iri}>", relative):
        assert run(runner, "show", form, store=built).stdout == picked.stdout, form


def test_a_bracketed_qualifier_or_a_posting_iri_reaches_one_role(built, runner):
    agi = run(runner, "show", "Applied Scientist (AGI)", store=built)
    assert agi.exit_code == 0 and agi.stdout.splitlines()[1] == f"<{AGI_ROLE}>"
    irp = run(runner, "show", "applied scientist (Item and Relationship Platform)", store=built)
    assert irp.stdout.splitlines()[1] == f"<{IRP_ROLE}>"
    posting = run(runner, "show", "role/applied-scientist-42fe80e4/posting/us-wa-seattle/1", store=built)
    assert posting.exit_code == 0 and posting.stdout.startswith("Applied Scientist  (posting)")


def test_a_pick_out_of_range_is_exit_2(built, runner):
    over = run(runner, "show", "Applied Scientist", "--pick", "3", store=built)
    assert over.exit_code == 2
    assert over.stderr == "kg: error: 'Applied Scientist' names 2 roles; pick 1 to 2, not 3\n"
    unique = run(runner, "show", "Samson Tan", "--pick", "2", store=built)
    assert unique.exit_code == 2 and "names one entity" in unique.stderr
    assert run(runner, "show", "Samson Tan", "--pick", "1", store=built).exit_code == 0


def test_show_suggests_close_names(built, runner):
    out = run(runner, "show", "Samson Tann", store=built)
    assert out.exit_code == 2
    assert out.stderr == ("kg: error: no person, paper, topic or role named 'Samson Tann'; "
                          "did you mean 'Samson Tan'?\n")


def test_an_enumerated_parameter_refuses_other_values(built, runner):
    out = run(runner, "query", "discrepancies", "-p", "kind", "bogus", store=built)
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert out.stderr == ("kg: error: parameter kind of query discrepancies must be one of "
                          "author-missing-in-guide, author-missing-in-anthology, author-order, "
                          "name-form, title; not 'bogus'\n")
    assert run(runner, "query", "discrepancies", "-p", "kind", "title", store=built).exit_code == 0
    listed = run(runner, "queries", "--format", "json")
    kind = next(p for q in json.loads(listed.stdout) if q["name"] == "discrepancies" for p in q["params"])
    assert kind["values"][-1] == "title"
