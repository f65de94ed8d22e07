"""One paper, one person, one row: the default build (the guide + the bundled Anthology
collections) answers with real papers and people, each source keeping its own graph.

The numbers are read off the sources: in data/anthology/*.xml.gz, Samson Tan has 3
byline slots, George Karypis 3, Brian Thompson 2 and Mohit Bansal 14 (`zcat ... | grep -c
'<first>Samson</first><last>Tan</last>'`), and the collections hold 3,217 <paper>s;
every guide paper of theirs is among them but "Measuring question answering difficulty
...", which links below the threshold (for review) and so stays a node of its own.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from kg import facts, merge, queries, render
from kg import reconcile as rc
from kg.cli import main
from kg.export import export_bytes
from kg.mapping import source_iri
from kg.namespaces import mint
from kg.sources.guide import parse_guide
from tests.conftest import SEED

DEFAULT = ox.DefaultGraph()


def rows(store, name, **params):
    result = queries.run_saved(store, name, {k: str(v) for k, v in params.items()})
    return [[render.plain(t) for t in row] for row in result.rows]


def count(store, text: str) -> int:
    return int(queries.run_sparql(store, text).rows[0][0].value)


def test_authors_count_real_papers(bundled_store):
    papers = {name: int(n) for name, n, _aliases in rows(bundled_store, "authors")}
    assert (papers["Samson Tan"], papers["George Karypis"], papers["Brian Thompson"],
            papers["Mohit Bansal"]) == (3, 3, 2, 14)


def test_coauthors_count_joint_papers_once(bundled_store):
    joint = {row[1]: int(row[2]) for row in rows(bundled_store, "coauthors", author="Samson Tan")}
    assert joint["George Karypis"] == 2 and joint["Sheng Zha"] == 2
    assert joint["Dingmin Wang"] == 1


def test_people_reconciliation_aligned_are_one_row(bundled_store):
    names = [row[0] for row in rows(bundled_store, "authors")]
    assert names.count("Jack FitzGerald") == 1 and "Jack G. M. FitzGerald" not in names
    assert names.count("Sujan Kumar Gonugondla") == 1 and "Sujan Gonugondla" not in names
    aliases = {row[0]: row[2] for row in rows(bundled_store, "authors")}
    assert "Jack G. M. FitzGerald" in aliases["Jack FitzGerald"]


def test_stats_count_real_papers_and_people(bundled_store):
    counts = facts.stats(bundled_store)
    assert counts["papers"] == 3217 + 1  # + the guide paper waiting for review
    # a guide paper and its Anthology record are one node: of the guide's 33, only the
    # one waiting for review is a paper under the guide's own IRI
    own = f"SELECT (COUNT(?p) AS ?n) WHERE {{ ?p a schema:ScholarlyArticle FILTER(STRSTARTS(STR(?p), '{mint('paper', '')}')) }}"
    assert count(bundled_store, own) == 1


def test_a_merged_paper_keeps_each_source_graph_and_byline(bundled_store):
    paper = ox.NamedNode(mint("anthology", "2024.acl-long.137"))
    graphs = {q.graph_name.value for q in bundled_store.quads_for_pattern(None, None, None, None)
              if isinstance(q.graph_name, ox.NamedNode) and q.subject == paper}
    # the guide said it of its own IRI; the reconciliation graph says what that IRI is
    assert graphs == {source_iri("2024.acl.xml.gz").value, rc.RECONCILIATION_GRAPH}
    guide_iri = next(q.object for q in bundled_store.quads_for_pattern(paper, merge.SAME_AS, None, DEFAULT)
                     if q.object.value.startswith(mint("paper", "")))
    assert next(bundled_store.quads_for_pattern(guide_iri, None, None, source_iri(SEED.name)), None)
    byline = rows(bundled_store, "bylines", paper="Extreme Miscalibration and the Illusion of Adversarial Robustness")
    assert [(r[0], r[1], r[4]) for r in byline if r[1] == "1"] == [
        ("2024.acl.xml.gz", "1", "yes"), (SEED.name, "1", "no")]
    assert len(byline) == 12
    # papers-by-author lists the paper once, at the Anthology's position
    mine = [r for r in rows(bundled_store, "papers-by-author", author="Samson Tan")
            if r[0] == "Extreme Miscalibration and the Illusion of Adversarial Robustness"]
    assert [(r[1], r[2]) for r in mine] == [("2", "Samson Tan")]


def test_a_guide_iri_resolves_to_the_merged_node(bundled_store):
    alias = mint("person", "jack-g-m-fitzgerald")
    assert queries.find_entity(bundled_store, "any", alias).value == mint("person", "jack-fitzgerald")
    shown = facts.describe(bundled_store, alias)
    assert shown.iri == mint("person", "jack-fitzgerald") and alias in shown.aliases
    assert "amazon-acl-2024-guide.txt:51" in shown.sources


def test_no_alias_is_also_a_node_of_its_own(bundled_store):
    """An IRI merged into another (the object of schema:sameAs) is gone from the default
    graph: nothing types it there, so no count or query meets it as a second node."""
    both = queries.run_sparql(bundled_store, "SELECT ?c ?a WHERE { ?c schema:sameAs ?a . ?a a ?t "
                                             f'FILTER(STRSTARTS(STR(?a), "{mint("")}")) }}')
    assert both.rows == []
    assert count(bundled_store, f'SELECT (COUNT(*) AS ?n) WHERE {{ ?c schema:sameAs ?a '
                                f'FILTER(STRSTARTS(STR(?a), "{mint("")}")) }}') > 30  # there are aliases


def test_a_guide_iri_the_anthology_gives_another_person_is_not_made_an_alias(bundled_build, bundled_store):
    """The guide prints "Leonardo Ribeiro" on REFINESUMM (its line 114), which 2024.acl
    prints as "Leonardo F. R. Ribeiro" (acl-long.743); the IRI the guide mints for the
    name, person/leonardo-ribeiro, is the Anthology's own "Leonardo Ribeiro" (2024.findings
    findings-acl.872 and 2024.naacl naacl-short.25, both Amazon), a person of its own
    there. Aliased to F. R., it stayed a typed node with its papers beside the alias (a
    person counted twice under one name); now both stay the Anthology's, with a warning."""
    _path, result = bundled_build
    lone, fr = mint("person", "leonardo-ribeiro"), mint("person", "leonardo-f-r-ribeiro")
    warned = [str(i) for i in result.issues if f"<{lone}> is aligned with <{fr}>" in str(i)]
    assert len(warned) == 1 and "name_variants.yaml" in warned[0], [str(i) for i in result.issues]
    # where the guide prints the paper, as the path the build read (its title at line 113)
    assert warned[0].startswith(f"{SEED}:113: warning: ")
    assert queries.find_entity(bundled_store, "person", "Leonardo Ribeiro").value == lone
    papers = {name: {r[0].value for r in bundled_store.query(
        "SELECT ?p ?a WHERE { ?p <http://schema.org/author> ?a }", substitutions={ox.Variable("a"): ox.NamedNode(iri)})}
        for name, iri in (("lone", lone), ("fr", fr))}
    assert papers["fr"] == {mint("anthology", "2024.acl-long.743")}
    assert {mint("anthology", "2024.findings-acl.872"), mint("anthology", "2024.naacl-short.25")} <= papers["lone"]
    assert canonical_of(bundled_store, lone) == lone and canonical_of(bundled_store, fr) == fr


def canonical_of(store, iri: str) -> str:
    return queries.canonical(store, ox.NamedNode(iri)).value


def test_the_default_graph_is_a_merge(bundled_store, bundled_store_path):
    assert len(queries.run_sparql(
        bundled_store, 'SELECT ?n WHERE { ?p schema:name ?n FILTER(?n = "Samson Tan") }').rows) == 1
    triples = count(bundled_store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    void = count(bundled_store, "SELECT ?n WHERE { ?d void:triples ?n }")
    lines = export_bytes(bundled_store, "ntriples").count(b"\n")
    assert triples == facts.stats(bundled_store)["triples"] == lines == void
    distinct = {(q.subject, q.predicate, q.object) for q in bundled_store.quads_for_pattern(None, None, None, None)
                if not isinstance(q.graph_name, ox.DefaultGraph)}
    assert triples < len(distinct)  # the aliases' own statements stay in their graphs only


@pytest.mark.slow  # 3 s on the bundled store
def test_from_and_graph_follow_sparql(bundled_store):
    tacl = source_iri("2024.tacl.xml.gz").value
    in_graph = sum(1 for _ in bundled_store.quads_for_pattern(None, None, None, ox.NamedNode(tacl)))
    assert count(bundled_store, f"SELECT (COUNT(*) AS ?n) FROM <{tacl}> WHERE {{ ?s ?p ?o }}") == in_graph
    assert count(bundled_store, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{tacl}> {{ ?s ?p ?o }} }}") == in_graph
    # FROM without FROM NAMED: no named graphs
    assert count(bundled_store, f"SELECT (COUNT(*) AS ?n) FROM <{tacl}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}") == 0
    # two FROM graphs are merged: a triple both state is counted once
    guide, acl = source_iri(SEED.name), source_iri("2024.acl.xml.gz")
    union = {q.triple for g in (guide, acl) for q in bundled_store.quads_for_pattern(None, None, None, g)}
    sizes = sum(1 for g in (guide, acl) for _ in bundled_store.quads_for_pattern(None, None, None, g))
    merged = count(bundled_store, f"SELECT (COUNT(*) AS ?n) FROM <{guide.value}> FROM <{acl.value}> "
                                  "WHERE { ?s ?p ?o }")
    assert merged == len(union) < sizes
    names = queries.run_sparql(bundled_store, f"SELECT ?n FROM <{guide.value}> FROM <{acl.value}> "
                                              'WHERE { ?p schema:name ?n FILTER(?n = "Samson Tan") }')
    assert len(names.rows) == 1


@pytest.mark.slow  # 15 s: two builds of the bundled sources
def test_a_link_for_review_stays_two_nodes_until_accepted(tmp_path, bundled_store):
    from kg.pipeline import build, bundled_sources

    title = "Measuring question answering difficulty for retrieval-augmented generation"
    guide_paper = queries.find_entity(bundled_store, "paper", title)
    assert guide_paper.value.startswith(mint("paper", ""))  # not merged: its link is for review
    review = tmp_path / "review.yaml"
    review.write_text(f"- title: {title}\n  decision: accept\n  anthology: 2024.findings-acl.872\n",
                      encoding="utf-8")
    store = tmp_path / "store"
    assert build(bundled_sources(), store=store, review=review).written
    from kg import store as stores

    accepted = stores.open_store(store)
    assert queries.find_entity(accepted, "paper", guide_paper.value).value == mint("anthology", "2024.findings-acl.872")
    assert facts.stats(accepted)["papers"] == 3217


REPEAT = ("Repeated topic\n\nExtreme Miscalibration and the Illusion of Adversarial Robustness\n"
          "Vyas Raina, Samson Tan, Volkan Cevher, Aditya Rawal, Sheng Zha, George Karypis\n\n")


def test_a_paper_listed_twice_in_a_guide_is_one_paper_with_both_topics(tmp_path):
    text = SEED.read_text(encoding="utf-8").replace("Related content\n", REPEAT + "Related content\n", 1)
    guide = parse_guide(text, path="twice.txt")
    papers = [p for p in guide.papers if p.title.lower().startswith("extreme miscalibration")]
    assert len(papers) == 1 and papers[0].topics == ("Model robustness", "Repeated topic")
    warning = next(i for i in guide.issues if "listed again" in i.message)
    assert warning.line > papers[0].line and f"line {papers[0].line}" in warning.message
    assert "Repeated topic" in {t.label for t in guide.topics}
    path = tmp_path / "twice-guide.txt"
    path.write_text(text, encoding="utf-8")
    out = CliRunner().invoke(main, ["build", str(path), "--store", str(tmp_path / "store")])
    assert out.exit_code == 0, out.output
    assert f"twice-guide.txt:{warning.line}: warning:" in out.stderr and "listed again" in out.stderr
    from kg import store as stores

    topics = rows(stores.open_store(tmp_path / "store"), "papers-by-author", author="Vyas Raina")
    assert [(r[0], r[3]) for r in topics] == [
        ("Extreme miscalibration and the illusion of adversarial robustness", "Model robustness; Repeated topic")]


SCRIPTS = """A quick guide to Example's papers at ACL 2024

Multilingual

A study of names in many scripts
王小明, 李四, Ольга Петрова, Αλέξανδρος Παπαδόπουλος, محمد علي, Þórður Ðorsteinsson

Another study
汪小明, Olga Petrova
"""


def test_bylines_in_any_script_are_read_and_keep_their_own_iris(tmp_path):
    guide = parse_guide(SCRIPTS, path="scripts.txt")
    assert [[a.name for a in p.authors] for p in guide.papers] == [
        ["王小明", "李四", "Ольга Петрова", "Αλέξανδρος Παπαδόπουλος", "محمد علي", "Þórður Ðorsteinsson"],
        ["汪小明", "Olga Petrova"]]
    path = tmp_path / "scripts-guide.txt"
    path.write_text(SCRIPTS, encoding="utf-8")
    store = tmp_path / "store"
    out = CliRunner().invoke(main, ["build", str(path), "--store", str(store)])
    assert out.exit_code == 0, out.output
    from kg import store as stores

    db = stores.open_store(store)
    people = {row[0]: row[1] for row in (
        [render.plain(t) for t in r] for r in queries.run_sparql(
            db, "SELECT ?name ?p WHERE { ?p a schema:Person ; schema:name ?name }").rows)}
    assert len(people) == 8 and len(set(people.values())) == 8  # different names, different IRIs
    assert people["Þórður Ðorsteinsson"] == mint("person", "thordur-dorsteinsson")
    assert people["王小明"].startswith(mint("person", "wang-xiao-ming-"))
    assert people["汪小明"].startswith(mint("person", "wang-xiao-ming-"))
    assert people["Ольга Петрова"] != people["Olga Petrova"]


@pytest.mark.parametrize("name", ["王小明", "Ольга Петрова", "Þórður Ðorsteinsson"])
def test_a_name_in_another_script_finds_its_person(tmp_path, name):
    path = tmp_path / "scripts-guide.txt"
    path.write_text(SCRIPTS, encoding="utf-8")
    store = tmp_path / "store"
    assert CliRunner().invoke(main, ["build", str(path), "--store", str(store)]).exit_code == 0
    out = CliRunner().invoke(main, ["query", "papers-by-author", "-p", "author", name, "--store", str(store),
                                    "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines()[1].startswith("A study of names in many scripts")
