"""Resolution: people, roles from identical listings, and role -> topic links with evidence."""

from __future__ import annotations

from conftest import SEED

from kg.records import Topic
from kg.resolve import (
    Curation,
    group_roles,
    link_topics,
    load_topic_cues,
    resolve_guide,
    resolve_people,
)
from kg.sources.guide import parse_guide, read_guide


def _seed_roles():
    guide = read_guide(SEED)
    return guide, {(r.title, r.postings[0].team): r for r in group_roles(guide.postings)}


def test_identical_listings_are_one_role():
    _guide, roles = _seed_roles()
    assert {k: len(r.postings) for k, r in roles.items()} == {
        ("Applied Scientist", "Artificial General Intelligence (AGI)"): 8,
        ("Applied Scientist", "Item and Relationship Platform"): 1,
        ("Economist Intern", "STRUC"): 1,
    }
    assert [p.line for p in roles[("Applied Scientist", "Artificial General Intelligence (AGI)")].postings] \
        == [165, 167, 169, 171, 173, 175, 177, 179]


def test_the_three_seed_roles_link_to_topics_with_evidence():
    guide, roles = _seed_roles()
    cues = load_topic_cues()
    links = {key: {m.topic: m.evidence for m in link_topics(r.description, list(guide.topics), cues)}
             for key, r in roles.items()}
    agi = links[("Applied Scientist", "Artificial General Intelligence (AGI)")]
    assert agi == {
        "Data quality": ("data quality", "quality assurance"),
        "Model evaluation": ("LLM-as-a-Judge", "automated evaluation", "benchmarks", "evaluation rubrics"),
        "Multimodal models": ("multimodal",),
    }
    catalog = links[("Applied Scientist", "Item and Relationship Platform")]
    assert catalog == {
        "Data quality": ("noisy data",),
        "Model evaluation": ("confidence estimation", "uncertainty calibration"),
        "Multimodal models": ("Visual Language Models", "multimodal"),
        "Reasoning": ("reasoning",),
    }
    # an economist's posting mentions none of the research areas
    assert links[("Economist Intern", "STRUC")] == {}


def test_topic_linking_is_deterministic_and_ignores_case_and_plurals():
    topics = [Topic("Machine translation", 1), Topic("Model evaluation", 2)]
    text = "We build Machine Translations and evaluate models; evaluation rubric design."
    first = link_topics(text, topics, {"Model evaluation": ("evaluation rubric",)})
    assert first == link_topics(text, list(reversed(topics)), {"Model evaluation": ("evaluation rubric",)})
    assert [(m.topic, m.evidence, m.score) for m in first] == [
        ("Machine translation", ("Machine Translations",), 1),
        ("Model evaluation", ("evaluation rubric",), 1),
    ]


def test_a_quoted_nickname_is_an_alias_not_a_coauthor():
    guide = read_guide(SEED)
    people = resolve_people(guide.papers, Curation.empty())
    assert len(people) == 190
    assert people["srinivasan-sengamedu"].alternate_names == ("SHS",)
    assert not any(p.name == "SHS" for p in people.values())


def test_spellings_of_one_person_share_an_id_and_the_display_name_keeps_diacritics():
    text = ("A quick guide to X's papers at Y 2024\n\nT\n\nFirst paper about things\nLluis Marquez, Ana Pérez\n\n"
            "Second paper about things\nLluís Marquez, Ana Perez\n\nThird paper about things\nLluís Marquez\n")
    resolved = resolve_guide(parse_guide(text), Curation.empty(), {})
    assert resolved.byline_ids == (("lluis-marquez", "ana-perez"), ("lluis-marquez", "ana-perez"),
                                   ("lluis-marquez",))
    assert resolved.people["lluis-marquez"].name == "Lluís Marquez"
    assert resolved.people["lluis-marquez"].alternate_names == ("Lluis Marquez",)
    assert resolved.people["ana-perez"].name == "Ana Pérez"
