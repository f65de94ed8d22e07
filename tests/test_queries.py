"""Every saved query parses, runs and gives the expected rows on the seed guide."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict

import pyoxigraph as ox
import pytest
from conftest import SEED

from kg import queries, render
from kg.errors import AmbiguousNameError, QueryError, UnknownNameError
from kg.namespaces import mint
from kg.sources.guide import read_guide


def rows(store, name, **params):
    result = queries.run_saved(store, name, {k: str(v) for k, v in params.items()})
    # an empty GROUP_CONCAT comes back unbound: read it as ""
    return [{v: (t.value if t is not None else "") for v, t in zip(result.variables, row)}
            for row in result.rows]


def test_every_saved_query_has_a_header_and_parses_as_plain_sparql(seed_store):
    saved = queries.saved_queries()
    assert len(saved) >= 12
    for name, q in saved.items():
        assert q.summary, name
        assert q.description, name
        # the file runs unchanged, with no parameter bound
        seed_store.query(q.text)


def test_authors_sharing_topics_matches_a_count_made_from_the_records(seed_store):
    guide = read_guide(SEED)
    topics_of = defaultdict(set)
    for paper in guide.papers:
        for author in paper.authors:
            topics_of[author.name].add(paper.topic)
    expected = {}
    for a, b in itertools.combinations(sorted(topics_of), 2):
        shared = topics_of[a] & topics_of[b]
        if shared:
            expected[frozenset((a, b))] = (len(shared), set(shared))
    got = rows(seed_store, "authors-sharing-topics")
    assert list(got[0]) == ["author1", "author2", "shared", "topics"]
    assert len(got) == len(expected) == 1281
    for row in got:
        n, labels = expected[frozenset((row["author1"], row["author2"]))]
        assert int(row["shared"]) == n
        assert set(row["topics"].split("; ")) == labels
    shares = [int(r["shared"]) for r in got]
    assert shares == sorted(shares, reverse=True)


def test_authors_sharing_topics_with_min_shared_and_author(seed_store):
    top = rows(seed_store, "authors-sharing-topics", min_shared=2)
    pairs = {frozenset((r["author1"], r["author2"])) for r in top}
    quartet = ["Mingyue Shang", "Ramesh Nallapati", "Sanjay Krishna Gouda", "Sujan Gonugondla"]
    assert pairs == {frozenset(p) for p in itertools.combinations(quartet, 2)} | {
        frozenset(("Samson Tan", "George Karypis")), frozenset(("Samson Tan", "Sheng Zha"))}
    # lower case, no accents: still the person
    mine = rows(seed_store, "authors-sharing-topics", author="samson tan")
    assert {r["author1"] for r in mine} == {"Samson Tan"}
    assert len(mine) == 10
    assert mine[0]["shared"] == "2"


def test_coauthors_by_name_without_accents(seed_store):
    got = rows(seed_store, "coauthors", author="Lluis Marquez")
    assert {r["author2"] for r in got} == {"Matéo Mahaut", "Laura Aina", "Paula Czarnowska",
                                           "Momchil Hardalov", "Thomas Müller"}
    assert all(r["author1"] == "Lluís Marquez" and r["papers"] == "1" for r in got)


def test_papers_by_author_matches_an_alias(seed_store):
    got = rows(seed_store, "papers-by-author", author="SHS")
    assert got == [{"title": "Synthesizing conversations from unlabeled documents using automatic "
                             "response segmentation", "position": "4",
                    "printed": "Srinivasan Sengamedu", "topics": "Question answering"}]


def test_papers_by_topic_lists_authors_in_byline_order(seed_store):
    got = rows(seed_store, "papers-by-topic", topic="reasoning")
    assert [r["title"] for r in got] == [
        "Eliciting better multilingual structured reasoning from LLMs through code",
        "II-MMR: Identifying and improving multi-modal multi-hop reasoning in visual question answering"]
    assert got[1]["authors"] == "1. Jihyung Kil, 2. Farideh Tavazoee, 3. Dongyeop Kang, 4. Joo-Kyung Kim"
    assert [r["starred"] for r in got] == ["false", "true"]


def test_topics_with_counts(seed_store):
    got = rows(seed_store, "topics")
    assert len(got) == 20
    assert got[0] == {"topic": "Model evaluation", "papers": "5", "authors": "26"}
    assert sum(int(r["papers"]) for r in got) == 33
    assert {"topic": "Irony recognition", "papers": "1", "authors": "11"} in got


def test_authors_with_paper_counts(seed_store):
    got = rows(seed_store, "authors")
    assert len(got) == 190
    assert got[0] == {"name": "Samson Tan", "papers": "3", "aliases": ""}
    assert sum(int(r["papers"]) for r in got) == 203
    assert {"name": "Srinivasan Sengamedu", "papers": "1", "aliases": "SHS"} in got
    assert sum(1 for r in got if r["papers"] == "2") == 11


def test_topics_of_author(seed_store):
    got = rows(seed_store, "topics-of-author", author="Samson Tan")
    assert {r["topic"] for r in got} == {"Code synthesis", "Hallucination mitigation", "Model robustness"}


def test_figures_are_linked_to_the_paper_their_caption_names(seed_store):
    got = {r["file"]: r["paper"] for r in rows(seed_store, "figures")}
    assert got == {
        "Bug injection.png": "Fine-tuning language models for joint rewriting and completion of code with potential bugs",
        "Tree of traversals.png": "Tree-of-traversals: A zero-shot reasoning algorithm for augmenting black-box language models with knowledge graphs",
        "ReCoE construction.png": "Propagation and pitfalls: Reasoning-based assessment of knowledge editing through counterfactual tasks",
        "CAMML.png": "CaMML: Context-aware multimodal learner for large models",
        "Token alignment.png": "Token alignment via character matching for subword completion",
    }


def test_roles_with_locations_and_posting_counts(seed_store):
    got = rows(seed_store, "roles")
    assert [(r["role"], r["team"], r["postings"], r["internship"]) for r in got] == [
        ("Applied Scientist", "Artificial General Intelligence (AGI)", "8", "false"),
        ("Applied Scientist", "Item and Relationship Platform", "1", "false"),
        ("Economist Intern", "STRUC", "1", "true"),
    ]
    assert set(got[0]["locations"].split("; ")) == {"Bellevue, WA, US", "Boston, MA, US"}
    assert got[2]["locations"] == "London, GB"
    assert set(got[0]["topics"].split("; ")) == {"Data quality", "Model evaluation", "Multimodal models"}
    assert got[2]["topics"] == ""


def test_roles_for_author_shows_shared_topics_and_evidence(seed_store):
    got = rows(seed_store, "roles-for-author", author="Brian Thompson")
    assert [(r["team"], r["shared"]) for r in got] == [
        ("Artificial General Intelligence (AGI)", "2"), ("Item and Relationship Platform", "2")]
    assert set(got[0]["topics"].split("; ")) == {"Data quality", "Model evaluation"}
    assert "data quality" in got[0]["evidence"].split("; ")
    assert "LLM-as-a-Judge" in got[0]["evidence"].split("; ")
    # an author whose topics no role mentions gets no rows
    assert rows(seed_store, "roles-for-author", author="Silvia Casola") == []


def test_starred_papers(seed_store):
    got = rows(seed_store, "starred-papers")
    assert len(got) == 7
    assert all(r["note"] == "Papers accepted to the recently inaugurated Proceedings of the ACL "
                            "are marked with asterisks." for r in got)
    assert "MATTER: Memory-augmented transformer using heterogeneous knowledge sources" in \
        {r["title"] for r in got}


def test_source_of_gives_file_and_lines(seed_store):
    got = rows(seed_store, "source-of", entity="samson tan")
    assert [(r["file"], r["line"]) for r in got if r["line"]] == [
        ("amazon-acl-2024-guide.txt", "10"), ("amazon-acl-2024-guide.txt", "33"),
        ("amazon-acl-2024-guide.txt", "100")]
    role = rows(seed_store, "source-of", entity="Economist Intern")
    assert [r["line"] for r in role if r["kind"] == "JobPosting"] == ["181"]


def test_unknown_name_suggests_the_closest(seed_store):
    with pytest.raises(UnknownNameError) as err:
        queries.run_saved(seed_store, "coauthors", {"author": "Samson Tann"})
    assert err.value.suggestions[0] == "Samson Tan"
    assert "did you mean 'Samson Tan'" in str(err.value)


def test_bad_parameters_are_query_errors(seed_store):
    with pytest.raises(QueryError, match="must be an integer"):
        queries.run_saved(seed_store, "authors-sharing-topics", {"min_shared": "two"})
    with pytest.raises(QueryError, match="has no parameter 'autor'"):
        queries.run_saved(seed_store, "coauthors", {"autor": "x"})
    with pytest.raises(QueryError, match="needs -p author"):
        queries.run_saved(seed_store, "papers-by-author", {})
    with pytest.raises(QueryError, match="no saved query named 'coauthor'; did you mean coauthors"):
        queries.run_saved(seed_store, "coauthor", {})


@pytest.mark.parametrize("value", ['x" } ; DROP ALL ; { "', "} UNION { ?s ?p ?o }", "<http://x> ?p ?o"])
def test_parameter_values_cannot_change_the_query(seed_store, value):
    """Values are bound as terms: an injection attempt is just an unknown name."""
    size = len(seed_store)
    with pytest.raises(UnknownNameError):
        queries.run_saved(seed_store, "coauthors", {"author": value})
    with pytest.raises(QueryError):
        queries.run_saved(seed_store, "authors-sharing-topics", {"min_shared": "1 } ; DROP ALL ; {"})
    assert len(seed_store) == size


def test_punctuation_around_a_name_still_means_the_name(seed_store):
    """Names are compared without punctuation, so quotes around a name are harmless."""
    assert rows(seed_store, "coauthors", author="Samson Tan'>") == rows(seed_store, "coauthors",
                                                                          author="Samson Tan")


def test_results_json_is_the_w3c_format(seed_store):
    result = queries.run_saved(seed_store, "topics-of-author", {"author": "Samson Tan"})
    text = render.format_result(result, "json")
    doc = json.loads(text)
    assert doc["head"]["vars"] == ["topic", "papers"]
    parsed = ox.parse_query_results(text.encode(), format=ox.QueryResultsFormat.JSON)
    assert sorted(s["topic"].value for s in parsed) == ["Code synthesis", "Hallucination mitigation",
                                                       "Model robustness"]
    tsv = render.format_result(result, "tsv")
    parsed = ox.parse_query_results(tsv.encode() + b"\n", format=ox.QueryResultsFormat.TSV)
    assert {s["papers"] for s in parsed} == {ox.Literal("1", datatype=ox.NamedNode(
        "http://www.w3.org/2001/XMLSchema#integer"))}
    csv_text = render.format_result(result, "csv")
    assert csv_text.splitlines()[0] == "topic,papers"


def test_enumerated_parameters_refuse_other_values(seed_store):
    from kg.reconcile import DISCREPANCY_KINDS

    assert queries.get_query("discrepancies").params[0].values == DISCREPANCY_KINDS
    with pytest.raises(QueryError, match=r"must be one of author-missing-in-guide, .*, title; not 'bogus'"):
        queries.run_saved(seed_store, "discrepancies", {"kind": "bogus"})
    assert rows(seed_store, "discrepancies", kind="title") == []  # no Anthology in the seed store


def test_values_in_a_header_are_checked():
    head = "#+ summary: s\n#+ params:\n#+   - name: k\n#+     type: {type}\n#+     values: {values}\n"
    q = queries.parse_header("q", head.format(type="string", values="[a, 2]") + "SELECT ?k {}")
    assert q.params[0].values == ("a", "2")
    with pytest.raises(QueryError, match="values must be a non-empty list"):
        queries.parse_header("q", head.format(type="person", values="[a]"))
    with pytest.raises(QueryError, match="values must be a non-empty list"):
        queries.parse_header("q", head.format(type="string", values="[]"))
    with pytest.raises(QueryError, match="its default 'c' is not one of its values"):
        queries.parse_header("q", head.format(type="string", values="[a, b]") + "#+     default: c\n")


def test_suggestions_are_fuzzy_and_fold_case_and_accents():
    names = ["Jens Lehmann", "Samson Tan", "Son Tran", "Þórður Jónsson", "Tanya Goyal"]
    assert queries.suggest("samson tann", names) == ["Samson Tan", "Son Tran"]
    assert queries.suggest("thordur jonson", names) == ["Þórður Jónsson"]
    assert queries.suggest("lehmann", names) == ["Jens Lehmann"]  # a part of a name
    assert queries.suggest("zzzz", names) == []
    with pytest.raises(QueryError, match="no saved query named 'discrepancy'; did you mean discrepancies"):
        queries.get_query("discrepancy")


# Names the default build gives several entities: two Anthology people without an id
# and with one (Cong Liu: 2024.findings lines 11013 and 14155, 2024.acl line 6382 as
# cong-liu-ucr; Li Zhang), and one paper the Anthology lists twice (2024.acl-short.69
# and .70). (Leonardo Ribeiro is one name, the Anthology's: see test_identity.)
AMBIGUOUS = {
    "Cong Liu": ["person/cong-liu", "person/cong-liu-ucr"],
    "Li Zhang": ["person/li-zhang-aws", "person/li-zhang-ucsandiego"],
    "Estimating the Level of Dialectness Predicts Inter-annotator Agreement in Multi-dialect "
    "Arabic Datasets": ["anthology/2024.acl-short.69", "anthology/2024.acl-short.70"],
}


@pytest.mark.parametrize("name", sorted(AMBIGUOUS))  # ~2 s a name (10 s before Store.describe)
def test_every_entity_of_an_ambiguous_name_is_reachable(bundled_store, name):
    from kg import facts

    expected = [mint("") + path for path in AMBIGUOUS[name]]
    with pytest.raises(AmbiguousNameError) as err:
        queries.find_entity(bundled_store, "any", name)
    assert err.value.candidates == expected
    assert all(f"<{iri}>" in str(err.value) for iri in expected)
    listed = facts.candidates(bundled_store, err.value.candidates)
    assert len({c.detail for c in listed}) == len(listed)  # something tells them apart
    for number, iri in enumerate(expected, 1):
        assert facts.describe(bundled_store, name, pick=number).iri == iri
        assert queries.find_entity(bundled_store, "any", iri.removeprefix(mint(""))).value == iri


def test_what_tells_the_candidates_apart(bundled_store):
    from kg import facts

    cong = facts.candidates(bundled_store, [mint("person", "cong-liu"), mint("person", "cong-liu-ucr")])
    assert cong[0].detail.startswith("2 papers (2024): 'ChatMusician")
    assert cong[1].detail.startswith("1 paper (2024): 'Safety Alignment in NLP Tasks")
    papers = facts.candidates(bundled_store, [mint("anthology", "2024.acl-short.69")])
    assert papers[0].detail == "2024; ACL 2024; first author Amr Keleg; 2024.acl-short.69"
