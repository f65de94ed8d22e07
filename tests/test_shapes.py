"""The SHACL shapes (ontology/shapes.ttl) and the ontology they rely on (ontology/kg.ttl).

One small graph, VALID, holds a valid example of every class, shaped as the mapping
produces it. Each invalid example is VALID plus a SPARQL Update that breaks exactly
one thing; the test then checks that the report names the shape (or SPARQL
constraint) meant to catch it, with its message, and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
import pyshacl
import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH

ROOT = Path(__file__).parents[1]
SHAPES_PATH = ROOT / "ontology" / "shapes.ttl"
ONTOLOGY_PATH = ROOT / "ontology" / "kg.ttl"

# a plain Namespace: pytest probes module attributes, which rdflib.namespace.XSD warns about
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
KG = Namespace("https://w3id.org/kg/ontology#")
KGSH = Namespace("https://w3id.org/kg/shapes#")
ID = Namespace("https://w3id.org/kg/id/")
SHAPES_GRAPH_IRI = URIRef("https://w3id.org/kg/shapes")
ONTOLOGY_IRI = URIRef("https://w3id.org/kg/ontology")

PROLOGUE = """
PREFIX kg:      <https://w3id.org/kg/ontology#>
PREFIX schema:  <http://schema.org/>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX skos:    <http://www.w3.org/2004/02/skos/core#>
PREFIX pro:     <http://purl.org/spar/pro/>
PREFIX prov:    <http://www.w3.org/ns/prov#>
PREFIX void:    <http://rdfs.org/ns/void#>
PREFIX xsd:     <http://www.w3.org/2001/XMLSchema#>
BASE <https://w3id.org/kg/id/>
"""

# Every class and every property the shapes check appears here at least once,
# optional ones included, so each constraint has something to bite on.
VALID = PROLOGUE + """
<source/amazon-acl-2024-guide> a prov:Entity, schema:Article ;
    dcterms:title "A quick guide to Amazon's papers at ACL 2024" ;
    schema:description "Work on large language models predominates." ;
    schema:abstract "Like the field of conversational AI in general, ..." ;
    kg:fileName "amazon-acl-2024-guide.txt" ;
    kg:sha256 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" ;
    kg:asteriskNote "Papers accepted to the recently inaugurated Proceedings of the ACL are marked with asterisks." ;
    schema:about <event/acl-2024> .

<event/acl-2024> a schema:Event ; schema:name "ACL 2024" .

<source/amazon-acl-2024-guide/topics> a skos:ConceptScheme, schema:DefinedTermSet ;
    skos:prefLabel "Research areas of A quick guide to Amazon's papers at ACL 2024" ;
    skos:hasTopConcept <topic/continual-pretraining>, <topic/data-quality> ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> .

<topic/continual-pretraining> a skos:Concept, schema:DefinedTerm ;
    skos:prefLabel "Continual pretraining" ;
    schema:name "Continual pretraining" ;
    skos:definition "Further pretraining of a model on new data." ;
    skos:inScheme <source/amazon-acl-2024-guide/topics> ;
    schema:inDefinedTermSet <source/amazon-acl-2024-guide/topics> ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> ;
    kg:sourceLine 15 .

<topic/data-quality> a skos:Concept, schema:DefinedTerm ;
    skos:prefLabel "Data quality" ;
    schema:name "Data quality" ;
    skos:inScheme <source/amazon-acl-2024-guide/topics> ;
    schema:inDefinedTermSet <source/amazon-acl-2024-guide/topics> ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> ;
    kg:sourceLine 20 .

<paper/continual-pretraining-1a2b3c4d> a schema:ScholarlyArticle ;
    schema:name "Efficient continual pre-training for building domain specific large language models" ;
    dcterms:subject <topic/continual-pretraining> ;
    schema:about <topic/continual-pretraining> ;
    schema:author <person/yong-xie>, <person/karan-aggarwal>, <person/aitzaz-ahmad> ;
    kg:asteriskMarked true ;
    kg:presentedAt <event/acl-2024> ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> ;
    kg:sourceLine 17 .

<paper/continual-pretraining-1a2b3c4d/author/1> a pro:RoleInTime ;
    pro:withRole pro:author ;
    pro:isHeldBy <person/yong-xie> ;
    pro:relatesToDocument <paper/continual-pretraining-1a2b3c4d> ;
    schema:position 1 ;
    kg:printedName "Yong Xie" ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> ;
    kg:sourceLine 18 .
<paper/continual-pretraining-1a2b3c4d/author/2> a pro:RoleInTime ;
    pro:withRole pro:author ;
    pro:isHeldBy <person/karan-aggarwal> ;
    pro:relatesToDocument <paper/continual-pretraining-1a2b3c4d> ;
    schema:position 2 ;
    kg:printedName "Karan Aggarwal" ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> ;
    kg:sourceLine 18 .
<paper/continual-pretraining-1a2b3c4d/author/3> a pro:RoleInTime ;
    pro:withRole pro:author ;
    pro:isHeldBy <person/aitzaz-ahmad> ;
    pro:relatesToDocument <paper/continual-pretraining-1a2b3c4d> ;
    schema:position 3 ;
    kg:printedName "Aitzaz Ahmad" ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> ;
    kg:sourceLine 18 .

<person/yong-xie> a schema:Person ;
    schema:name "Yong Xie" ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
<person/karan-aggarwal> a schema:Person ;
    schema:name "Karan Aggarwal" ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
<person/aitzaz-ahmad> a schema:Person ;
    schema:name "Aitzaz Ahmad" ;
    schema:alternateName "Aitzaz" ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> .

# A second paper, so that "linked to two papers" can be expressed.
<paper/machine-translated-web-5e6f7a8b> a schema:ScholarlyArticle ;
    schema:name "A shocking amount of the web is machine translated: Insights from multi-way parallelism" ;
    dcterms:subject <topic/data-quality> ;
    schema:about <topic/data-quality> ;
    schema:author <person/brian-thompson> ;
    kg:asteriskMarked true ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> ;
    kg:sourceLine 22 .
<paper/machine-translated-web-5e6f7a8b/author/1> a pro:RoleInTime ;
    pro:withRole pro:author ;
    pro:isHeldBy <person/brian-thompson> ;
    pro:relatesToDocument <paper/machine-translated-web-5e6f7a8b> ;
    schema:position 1 ;
    kg:printedName "Brian Thompson" ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
<person/brian-thompson> a schema:Person ;
    schema:name "Brian Thompson" ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> .

<figure/bug-injection-0c0ffee0> a schema:ImageObject ;
    schema:name "Bug injection.png" ;
    schema:caption "Obtaining buggy partial code via bug injection. From \u201cEfficient continual pre-training\u201d." ;
    schema:encodingFormat "image/png" ;
    schema:isPartOf <paper/continual-pretraining-1a2b3c4d> ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> ;
    kg:sourceLine 12 .

<org/amazon> a schema:Organization ; schema:name "Amazon" .
<org/amazon/agi> a schema:Organization ;
    schema:name "Artificial General Intelligence (AGI)" ;
    schema:parentOrganization <org/amazon> .

<place/us-wa-bellevue> a schema:Place ;
    schema:name "US, WA, Bellevue" ;
    schema:address <place/us-wa-bellevue/address> .
<place/us-wa-bellevue/address> a schema:PostalAddress ;
    schema:addressCountry "US" ;
    schema:addressRegion "WA" ;
    schema:addressLocality "Bellevue" .
<place/gb-london> a schema:Place ;
    schema:name "GB, London" ;
    schema:address <place/gb-london/address> .
<place/gb-london/address> a schema:PostalAddress ;
    schema:addressCountry "GB" ;
    schema:addressLocality "London" .

<role/applied-scientist-2d2d2d2d> a schema:Occupation ;
    schema:name "Applied Scientist" ;
    schema:description "The AGI team is seeking an Applied Scientist ... data quality ..." ;
    kg:isInternship false ;
    kg:relatedTopic <topic/data-quality> ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
<role/applied-scientist-2d2d2d2d/topic/data-quality> a kg:TopicLink ;
    kg:role <role/applied-scientist-2d2d2d2d> ;
    kg:topic <topic/data-quality> ;
    kg:evidence "data quality" ;
    kg:score 3 ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
<posting/applied-scientist-2d2d2d2d/us-wa-bellevue> a schema:JobPosting ;
    schema:title "Applied Scientist" ;
    schema:description "The AGI team is seeking an Applied Scientist ... data quality ..." ;
    schema:hiringOrganization <org/amazon> ;
    schema:employmentUnit <org/amazon/agi> ;
    schema:jobLocation <place/us-wa-bellevue> ;
    kg:isInternship false ;
    schema:relevantOccupation <role/applied-scientist-2d2d2d2d> ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> ;
    kg:sourceLine 165 .

<role/economist-intern-3e3e3e3e> a schema:Occupation ;
    schema:name "STRUC Economist Intern" ;
    schema:description "As a STRUC Economist Intern, you'll specialize in ..." ;
    kg:isInternship true ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
<posting/economist-intern-3e3e3e3e/gb-london> a schema:JobPosting ;
    schema:title "STRUC Economist Intern" ;
    schema:description "As a STRUC Economist Intern, you'll specialize in ..." ;
    schema:hiringOrganization <org/amazon> ;
    schema:jobLocation <place/gb-london> ;
    schema:employmentType "INTERN" ;
    kg:isInternship true ;
    schema:relevantOccupation <role/economist-intern-3e3e3e3e> ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> ;
    kg:sourceLine 181 .

<build/0123abcd> a prov:Activity ;
    prov:used <source/amazon-acl-2024-guide> ;
    kg:softwareVersion "0.1.0" .

<dataset> a void:Dataset ;
    void:triples 250 ;
    void:entities 25 ;
    void:classPartition <dataset/class/scholarly-article> ;
    dcterms:conformsTo <https://w3id.org/kg/shapes> ;
    prov:wasGeneratedBy <build/0123abcd> .
<dataset/class/scholarly-article> void:class schema:ScholarlyArticle ; void:entities 2 .

# An ACL Anthology collection (kg.mapping.map_anthology): a plain prov:Entity source,
# a volume with an editor slot, and a paper with no asterisk mark.
<source/2024-acl> a prov:Entity ;
    dcterms:title "ACL Anthology collection 2024.acl" ;
    kg:fileName "2024.acl.xml.gz" ;
    kg:sha256 "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae" ;
    schema:about <event/acl-2024> .
<anthology/2024.acl-long> a schema:PublicationVolume ;
    schema:name "Proceedings of the 62nd Annual Meeting of the Association for Computational Linguistics (Volume 1: Long Papers)" ;
    schema:identifier "2024.acl-long" ;
    schema:datePublished "2024"^^xsd:gYear ;
    schema:isPartOf <event/acl-2024> ;
    schema:url <https://aclanthology.org/2024.acl-long/> ;
    schema:sameAs <https://doi.org/10.18653/v1/2024.acl-long> ;
    schema:editor <person/lun-wei-ku> ;
    prov:wasDerivedFrom <source/2024-acl> ;
    kg:sourceLine 3 .
<anthology/2024.acl-long/editor/1> a pro:RoleInTime ;
    pro:withRole pro:editor ;
    pro:isHeldBy <person/lun-wei-ku> ;
    pro:relatesToDocument <anthology/2024.acl-long> ;
    schema:position 1 ;
    kg:printedName "Lun-Wei Ku" ;
    prov:wasDerivedFrom <source/2024-acl> ;
    kg:sourceLine 3 .
<person/lun-wei-ku> a schema:Person ;
    schema:name "Lun-Wei Ku" ;
    schema:givenName "Lun-Wei" ;
    schema:familyName "Ku" ;
    prov:wasDerivedFrom <source/2024-acl> .
<anthology/2024.acl-long.1> a schema:ScholarlyArticle ;
    schema:name "Quantized Side Tuning" ;
    schema:abstract "Finetuning large language models (LLMs) has been empirically effective." ;
    schema:identifier "2024.acl-long.1" ;
    schema:url <https://aclanthology.org/2024.acl-long.1/> ;
    schema:sameAs <https://doi.org/10.18653/v1/2024.acl-long.1> ;
    schema:isPartOf <anthology/2024.acl-long> ;
    schema:datePublished "2024"^^xsd:gYear ;
    schema:author <person/lun-wei-ku> ;
    schema:editor <person/lun-wei-ku> ;
    kg:presentedAt <event/acl-2024> ;
    kg:retracted true ;
    kg:retractionNote "2024-09-01: retracted at the authors' request" ;
    kg:removed true ;
    kg:removalNote "2024-09-02: duplicate" ;
    prov:wasDerivedFrom <source/2024-acl> ;
    kg:sourceLine 22 .
<anthology/2024.acl-long.1/author/1> a pro:RoleInTime ;
    pro:withRole pro:author ;
    pro:isHeldBy <person/lun-wei-ku> ;
    pro:relatesToDocument <anthology/2024.acl-long.1> ;
    schema:position 1 ;
    kg:printedName "Lun-Wei Ku" ;
    prov:wasDerivedFrom <source/2024-acl> ;
    kg:sourceLine 22 .

# Reconciliation with the Anthology (kg/reconcile/). The second paper and Brian
# Thompson stand in for the Anthology paper and person.
<paper/continual-pretraining-1a2b3c4d/reconciliation> a kg:Reconciliation ;
    kg:guidePaper <paper/continual-pretraining-1a2b3c4d> ;
    kg:anthologyPaper <paper/machine-translated-web-5e6f7a8b> ;
    kg:confidence 0.97 ;
    kg:evidence "title exact after normalisation", "3/3 authors match" ;
    kg:status "auto" ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
<paper/continual-pretraining-1a2b3c4d/reconciliation/discrepancy/name-form/g3-a3> a kg:Discrepancy ;
    kg:reconciliation <paper/continual-pretraining-1a2b3c4d/reconciliation> ;
    kg:discrepancyKind "name-form" ;
    kg:guideValue "Aitzaz Ahmad" ;
    kg:anthologyValue "Aitzaz A. Ahmad" ;
    kg:guidePosition 3 ;
    kg:anthologyPosition 3 ;
    prov:wasDerivedFrom <source/amazon-acl-2024-guide> ;
    kg:sourceLine 18 .
<paper/continual-pretraining-1a2b3c4d/reconciliation/author/3> a kg:AuthorAlignment ;
    kg:reconciliation <paper/continual-pretraining-1a2b3c4d/reconciliation> ;
    kg:guidePerson <person/aitzaz-ahmad> ;
    kg:anthologyPerson <person/brian-thompson> ;
    kg:guidePosition 3 ;
    kg:anthologyPosition 3 ;
    kg:confidence 0.9 ;
    kg:evidence "middle names or initials differ (the Anthology adds A.)" .
"""

# --- helpers -------------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return Graph().parse(SHAPES_PATH, format="turtle")


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_PATH, format="turtle")


def valid_graph() -> Graph:
    return Graph().parse(data=VALID, format="turtle")


def broken(update: str) -> Graph:
    """VALID with a SPARQL Update applied (prologue included).

    Oxigraph runs the update: rdflib 7.6 skips some deletions when one request holds
    several DELETE WHERE operations.
    """
    store = pyoxigraph.Store()
    store.load(VALID.encode(), pyoxigraph.RdfFormat.TURTLE)
    store.update(PROLOGUE + update)
    dump = store.dump(format=pyoxigraph.RdfFormat.N_TRIPLES, from_graph=pyoxigraph.DefaultGraph())
    return Graph().parse(data=dump, format="nt")


@dataclass(frozen=True)
class Result:
    key: URIRef  # the SPARQL constraint if there is one, else the source shape
    shape: URIRef
    component: URIRef
    severity: URIRef
    focus: object
    messages: tuple[str, ...]


def validate(data: Graph, shapes: Graph, advanced: bool = True) -> tuple[bool, list[Result]]:
    conforms, report, _ = pyshacl.validate(
        data, shacl_graph=shapes, advanced=advanced, allow_warnings=True
    )
    results = []
    for node in report.subjects(RDF.type, SH.ValidationResult):
        shape = report.value(node, SH.sourceShape)
        constraint = report.value(node, SH.sourceConstraint)
        results.append(
            Result(
                key=constraint if isinstance(constraint, URIRef) else shape,
                shape=shape,
                component=report.value(node, SH.sourceConstraintComponent),
                severity=report.value(node, SH.resultSeverity),
                focus=report.value(node, SH.focusNode),
                messages=tuple(sorted(str(m) for m in report.objects(node, SH.resultMessage))),
            )
        )
    return conforms, results


def declared_message(shapes: Graph, key: URIRef) -> str:
    messages = [str(m) for m in shapes.objects(key, SH.message)]
    assert len(messages) == 1, f"{key} should declare exactly one sh:message"
    return messages[0]


def focus_nodes(shapes: Graph, shape: URIRef, data: Graph) -> set:
    nodes = set()
    for cls in shapes.objects(shape, SH.targetClass):
        nodes |= set(data.subjects(RDF.type, cls))
    for prop in shapes.objects(shape, SH.targetObjectsOf):
        nodes |= set(data.objects(None, prop))
    return nodes


def node_shapes(shapes: Graph) -> list[URIRef]:
    """Node shapes that select focus nodes themselves (helpers have no target)."""
    targets = (SH.targetClass, SH.targetObjectsOf, SH.targetSubjectsOf, SH.targetNode)
    return sorted(
        s
        for s in shapes.subjects(RDF.type, SH.NodeShape)
        if any(shapes.value(s, t) is not None for t in targets)
    )


def owner(shapes: Graph, key: URIRef) -> URIRef:
    """The node shape a property shape or SPARQL constraint belongs to."""
    for _ in range(2):
        parent = shapes.value(None, SH.property, key) or shapes.value(None, SH.sparql, key)
        if parent is None:
            return key
        key = parent
    return key


# --- the valid example -------------------------------------------------------------


def test_valid_graph_conforms_without_warnings(shapes):
    conforms, results = validate(valid_graph(), shapes)
    assert results == []
    assert conforms


@pytest.fixture(scope="module")
def valid_report(shapes):
    return validate(valid_graph(), shapes)


@pytest.mark.parametrize("shape", node_shapes(Graph().parse(SHAPES_PATH)), ids=lambda s: s.fragment)
def test_each_node_shape_has_a_valid_example(shapes, valid_report, shape):
    assert focus_nodes(shapes, shape, valid_graph()), f"VALID has no focus node for {shape}"
    conforms, results = valid_report
    assert conforms and not [r for r in results if owner(shapes, r.key) == shape]


# Valid variants: optional parts absent, or present in the forms the model allows.
VALID_VARIANTS = {
    "source without optional fields": """
        DELETE WHERE { <source/amazon-acl-2024-guide> schema:description ?d } ;
        DELETE WHERE { <source/amazon-acl-2024-guide> schema:abstract ?a } ;
        DELETE WHERE { <source/amazon-acl-2024-guide> kg:asteriskNote ?n } ;
        DELETE WHERE { <source/amazon-acl-2024-guide> schema:about ?e }
    """,
    "paper without topic, event or line": """
        DELETE WHERE { <paper/continual-pretraining-1a2b3c4d> dcterms:subject ?s } ;
        DELETE WHERE { <paper/continual-pretraining-1a2b3c4d> schema:about ?t } ;
        DELETE WHERE { <paper/continual-pretraining-1a2b3c4d> kg:presentedAt ?e } ;
        DELETE WHERE { <paper/continual-pretraining-1a2b3c4d> kg:sourceLine ?l }
    """,
    "person spelled two ways in two sources, with an alias": """
        INSERT DATA {
            <person/aitzaz-ahmad> schema:name "A. Ahmad" ; schema:alternateName "Aitz" .
        }
    """,
    "topic with an untagged label and one label per language": """
        INSERT DATA {
            <topic/data-quality> skos:prefLabel "Data quality"@en, "Datenqualit\u00e4t"@de ;
                kg:sourceLine 99 .
        }
    """,
    "figure without media type": """
        DELETE WHERE { <figure/bug-injection-0c0ffee0> schema:encodingFormat ?f }
    """,
    "team-less posting, organisation without parent": """
        DELETE WHERE { <posting/applied-scientist-2d2d2d2d/us-wa-bellevue> schema:employmentUnit ?u } ;
        DELETE WHERE { <org/amazon/agi> ?p ?o }
    """,
    "Anthology paper without authors, and a volume without editors": """
        DELETE WHERE { <anthology/2024.acl-long.1/author/1> ?p ?o } ;
        DELETE WHERE { <anthology/2024.acl-long.1> schema:author ?a } ;
        DELETE WHERE { <anthology/2024.acl-long/editor/1> ?p ?o } ;
        DELETE WHERE { <anthology/2024.acl-long> schema:editor ?e } ;
        DELETE WHERE { <anthology/2024.acl-long.1> schema:editor ?e } ;
        DELETE WHERE { <person/lun-wei-ku> ?p ?o }
    """,
    "a paper with two bylines, a guide's and the Anthology's (kg:bylineSource)": """
        INSERT DATA {
            <paper/quantized-side-tuning-9f9f9f9f/author/1> a pro:RoleInTime ;
                pro:withRole pro:author ; pro:isHeldBy <person/lun-wei-ku> ;
                pro:relatesToDocument <anthology/2024.acl-long.1> ; schema:position 1 ;
                kg:printedName "L.-W. Ku" ; prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
            <paper/quantized-side-tuning-9f9f9f9f/author/2> a pro:RoleInTime ;
                pro:withRole pro:author ; pro:isHeldBy <person/yong-xie> ;
                pro:relatesToDocument <anthology/2024.acl-long.1> ; schema:position 2 ;
                kg:printedName "Yong Xie" ; prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
            <anthology/2024.acl-long.1> kg:bylineSource <source/2024-acl> ;
                schema:sameAs <paper/quantized-side-tuning-9f9f9f9f> .
        }
    """,
    "dataset without class partitions": """
        DELETE WHERE { <dataset> void:classPartition ?p } ;
        DELETE WHERE { <dataset/class/scholarly-article> ?p ?o }
    """,
    "a role without topics": """
        DELETE WHERE { <role/applied-scientist-2d2d2d2d> kg:relatedTopic ?t } ;
        DELETE WHERE { <role/applied-scientist-2d2d2d2d/topic/data-quality> ?p ?o }
    """,
}


@pytest.mark.parametrize("update", VALID_VARIANTS.values(), ids=VALID_VARIANTS.keys())
def test_valid_variants_conform(shapes, update):
    conforms, results = validate(broken(update), shapes)
    assert results == []
    assert conforms


# --- invalid examples: one break, one expected report -----------------------------


@dataclass(frozen=True)
class Case:
    """`expect` maps each expected result key to the message it must carry: the
    exact text for SPARQL constraints (whose messages fill in variables), or a
    fragment for core constraints (whose message must also equal the declared one)."""

    id: str
    update: str
    expect: dict[URIRef, str]
    warnings: frozenset[URIRef] = field(default_factory=frozenset)


CASES = [
    # Source document
    Case(
        "source: digest in upper case",
        """DELETE WHERE { <source/amazon-acl-2024-guide> kg:sha256 ?h } ;
           INSERT DATA { <source/amazon-acl-2024-guide> kg:sha256
               "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08" }""",
        {KGSH["SourceShape-sha256-pattern"]: "64 lowercase hex digits"},
    ),
    Case(
        "source: no file name",
        "DELETE WHERE { <source/amazon-acl-2024-guide> kg:fileName ?f }",
        {KGSH["SourceShape-fileName"]: "exactly one file name (kg:fileName)"},
    ),
    Case(
        "source: about a topic instead of an event",
        """DELETE WHERE { <source/amazon-acl-2024-guide> schema:about ?e } ;
           INSERT DATA { <source/amazon-acl-2024-guide> schema:about <topic/data-quality> }""",
        {KGSH["SourceShape-about-class"]: "must be a schema:Event"},
    ),
    # Paper
    Case(
        "paper: no title",
        "DELETE WHERE { <paper/continual-pretraining-1a2b3c4d> schema:name ?n }",
        {KGSH["PaperShape-name"]: "A paper needs exactly one title (schema:name)"},
    ),
    Case(
        "paper: title with a language tag",
        """DELETE WHERE { <paper/machine-translated-web-5e6f7a8b> schema:name ?n } ;
           INSERT DATA { <paper/machine-translated-web-5e6f7a8b> schema:name "A shocking amount"@en }""",
        {KGSH["PaperShape-name-datatype"]: "must be a plain string"},
    ),
    Case(
        "paper: asterisk mark as a word",
        """DELETE WHERE { <paper/continual-pretraining-1a2b3c4d> kg:asteriskMarked ?m } ;
           INSERT DATA { <paper/continual-pretraining-1a2b3c4d> kg:asteriskMarked "yes" }""",
        {KGSH["PaperShape-asteriskMarked-datatype"]: "must be an xsd:boolean"},
    ),
    Case(
        "paper: schema:about and dcterms:subject disagree",
        "INSERT DATA { <paper/continual-pretraining-1a2b3c4d> schema:about <topic/data-quality> }",
        {KGSH["PaperShape-about-equals"]: "differ from its dcterms:subject topics"},
    ),
    Case(
        "paper: an author edge without an authorship node",
        "INSERT DATA { <paper/machine-translated-web-5e6f7a8b> schema:author <person/yong-xie> }",
        {KGSH["PaperShape-authorWithoutSlot"]: (
            "Person https://w3id.org/kg/id/person/yong-xie is a schema:author of this paper but holds "
            "no authorship node of its byline (the byline of kg:bylineSource when the paper has "
            "several); emit one authorship node per byline slot and one schema:author edge per "
            "person in the byline.")},
    ),
    Case(
        "paper: two bylines, an author edge from the one not named by kg:bylineSource",
        """INSERT DATA {
               <paper/quantized-side-tuning-9f9f9f9f/author/1> a pro:RoleInTime ;
                   pro:withRole pro:author ; pro:isHeldBy <person/yong-xie> ;
                   pro:relatesToDocument <anthology/2024.acl-long.1> ; schema:position 1 ;
                   kg:printedName "Yong Xie" ; prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
               <anthology/2024.acl-long.1> kg:bylineSource <source/2024-acl> ;
                   schema:author <person/yong-xie> .
           }""",
        {KGSH["PaperShape-authorWithoutSlot"]: (
            "Person https://w3id.org/kg/id/person/yong-xie is a schema:author of this paper but holds "
            "no authorship node of its byline (the byline of kg:bylineSource when the paper has "
            "several); emit one authorship node per byline slot and one schema:author edge per "
            "person in the byline.")},
    ),
    Case(
        "paper: two bylines, a gap in one of them",
        """INSERT DATA {
               <paper/quantized-side-tuning-9f9f9f9f/author/2> a pro:RoleInTime ;
                   pro:withRole pro:author ; pro:isHeldBy <person/lun-wei-ku> ;
                   pro:relatesToDocument <anthology/2024.acl-long.1> ; schema:position 2 ;
                   kg:printedName "Lun-Wei Ku" ; prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
               <anthology/2024.acl-long.1> kg:bylineSource <source/2024-acl> .
           }""",
        {KGSH["PaperShape-positionGap"]: (
            "This paper's author positions (schema:position) run up to 2 but only 1 distinct "
            "positions are present; positions must run 1..n without gaps, check that no "
            "byline name was dropped.")},
    ),
    Case(
        "paper: two authors at position 3",
        """INSERT DATA {
               <paper/continual-pretraining-1a2b3c4d/author/4> a pro:RoleInTime ;
                   pro:withRole pro:author ;
                   pro:isHeldBy <person/yong-xie> ;
                   pro:relatesToDocument <paper/continual-pretraining-1a2b3c4d> ;
                   schema:position 3 ;
                   kg:printedName "Yong Xie" ;
                   prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
           }""",
        {
            KGSH["PaperShape-duplicatePosition"]: (
                "Two authorship nodes of this paper in one source's byline have position 3 "
                "(schema:position); each "
                "byline slot needs its own position 1..n, check the byline in the source and "
                "how the mapping numbers authors."
            )
        },
    ),
    Case(
        "paper: positions 1, 2, 4",
        """DELETE DATA { <paper/continual-pretraining-1a2b3c4d/author/3> schema:position 3 } ;
           INSERT DATA { <paper/continual-pretraining-1a2b3c4d/author/3> schema:position 4 }""",
        {
            KGSH["PaperShape-positionGap"]: (
                "This paper's author positions (schema:position) run up to 4 but only 3 distinct "
                "positions are present; positions must run 1..n without gaps, check that no "
                "byline name was dropped."
            )
        },
    ),
    Case(
        "paper: positions start at 2",
        """DELETE WHERE { <paper/machine-translated-web-5e6f7a8b/author/1> schema:position ?p } ;
           INSERT DATA { <paper/machine-translated-web-5e6f7a8b/author/1> schema:position 2 }""",
        {
            KGSH["PaperShape-positionGap"]: (
                "This paper's author positions (schema:position) run up to 2 but only 1 distinct "
                "positions are present; positions must run 1..n without gaps, check that no "
                "byline name was dropped."
            )
        },
    ),
    # Authorship
    Case(
        "authorship: position 0",
        """DELETE WHERE { <paper/machine-translated-web-5e6f7a8b/author/1> schema:position ?p } ;
           INSERT DATA { <paper/machine-translated-web-5e6f7a8b/author/1> schema:position 0 }""",
        {KGSH["AuthorshipShape-position-datatype"]: "an xsd:integer from 1"},
    ),
    Case(
        "authorship: role other than author",
        """DELETE WHERE { <paper/continual-pretraining-1a2b3c4d/author/3> pro:withRole ?r } ;
           INSERT DATA { <paper/continual-pretraining-1a2b3c4d/author/3> pro:withRole pro:reviewer }""",
        {KGSH["AuthorshipShape-withRole-value"]: "must be pro:author"},
    ),
    Case(
        "authorship: no printed name",
        "DELETE WHERE { <paper/continual-pretraining-1a2b3c4d/author/2> kg:printedName ?n }",
        {KGSH["AuthorshipShape-printedName"]: "exactly one printed name (kg:printedName)"},
    ),
    Case(
        "authorship: relates to a person instead of a paper",
        """DELETE WHERE { <paper/machine-translated-web-5e6f7a8b/author/1> pro:relatesToDocument ?d } ;
           INSERT DATA { <paper/machine-translated-web-5e6f7a8b/author/1> pro:relatesToDocument <person/yong-xie> }""",
        {
            KGSH["AuthorshipShape-relatesToDocument-type"]: "must be typed schema:ScholarlyArticle",
            KGSH["PaperShape-authorWithoutSlot"]: (
                "Person https://w3id.org/kg/id/person/brian-thompson is a schema:author of this paper but "
                "holds no authorship node of its byline (the byline of kg:bylineSource when the paper "
                "has several); emit one authorship node per byline slot and one schema:author edge per "
                "person in the byline."),
        },
    ),
    # Guide sources: every paper with a byline and an asterisk mark
    Case(
        "guide: a paper without authors",
        """DELETE WHERE { <paper/machine-translated-web-5e6f7a8b/author/1> ?p ?o } ;
           DELETE WHERE { <paper/machine-translated-web-5e6f7a8b> schema:author ?a }""",
        {
            KGSH["SourceShape-guidePaperAuthors"]: (
                "Paper https://w3id.org/kg/id/paper/machine-translated-web-5e6f7a8b of this guide "
                "has no author (schema:author); a guide prints a byline under every paper: check "
                "the line under its title."
            )
        },
    ),
    Case(
        "guide: a paper without asterisk mark",
        "DELETE WHERE { <paper/machine-translated-web-5e6f7a8b> kg:asteriskMarked ?m }",
        {
            KGSH["SourceShape-guidePaperAsterisk"]: (
                "Paper https://w3id.org/kg/id/paper/machine-translated-web-5e6f7a8b of this guide "
                "has no kg:asteriskMarked; every guide paper says whether its title carries the "
                "guide's asterisk (true or false)."
            )
        },
    ),
    # Anthology papers and volumes
    Case(
        "Anthology paper: year as a plain string",
        """DELETE WHERE { <anthology/2024.acl-long.1> schema:datePublished ?y } ;
           INSERT DATA { <anthology/2024.acl-long.1> schema:datePublished "2024" }""",
        {KGSH["PaperShape-datePublished-datatype"]: "must be an xsd:gYear"},
    ),
    Case(
        "Anthology paper: part of a paper instead of a volume",
        """DELETE WHERE { <anthology/2024.acl-long.1> schema:isPartOf ?v } ;
           INSERT DATA { <anthology/2024.acl-long.1> schema:isPartOf <paper/continual-pretraining-1a2b3c4d> }""",
        {KGSH["PaperShape-isPartOf-class"]: "must be a schema:PublicationVolume"},
    ),
    Case(
        "Anthology paper: DOI as a string",
        'INSERT DATA { <anthology/2024.acl-long.1> schema:sameAs "10.18653/v1/2024.acl-long.1" }',
        {KGSH["PaperShape-sameAs-nodeKind"]: "must be an IRI"},
    ),
    Case(
        "volume: no title",
        "DELETE WHERE { <anthology/2024.acl-long> schema:name ?n }",
        {KGSH["VolumeShape-name"]: "A volume needs exactly one title"},
    ),
    Case(
        "volume: an editor edge without an editor slot",
        "INSERT DATA { <anthology/2024.acl-long> schema:editor <person/yong-xie> }",
        {KGSH["VolumeShape-editor-equals"]: "differ from its schema:editor edges"},
    ),
    Case(
        "volume: part of a paper instead of an event",
        "INSERT DATA { <anthology/2024.acl-long> schema:isPartOf <anthology/2024.acl-long.1> }",
        {KGSH["VolumeShape-isPartOf-class"]: "must be a schema:Event"},
    ),
    # Person
    Case(
        "person: no name",
        "DELETE WHERE { <person/brian-thompson> schema:name ?n }",
        {KGSH["PersonShape-name"]: "at least one name (schema:name)"},
    ),
    # Topic
    Case(
        "topic: two untagged preferred labels",
        'INSERT DATA { <topic/data-quality> skos:prefLabel "Quality of data" }',
        {KGSH["TopicShape-prefLabel-perLanguage"]: "two preferred labels (skos:prefLabel) in one language"},
    ),
    Case(
        "topic: two English preferred labels",
        'INSERT DATA { <topic/data-quality> skos:prefLabel "Data quality"@en, "Quality of data"@en }',
        {KGSH["TopicShape-prefLabel-perLanguage"]: "two preferred labels (skos:prefLabel) in one language"},
    ),
    Case(
        "topic: a number as label",
        'INSERT DATA { <topic/data-quality> skos:prefLabel 42 }',
        {
            KGSH["TopicShape-prefLabel-datatype"]: "must be a string, plain or language-tagged",
        },
    ),
    Case(
        "topic: not in any scheme",
        "DELETE WHERE { <topic/continual-pretraining> skos:inScheme ?s }",
        {KGSH["TopicShape-inScheme"]: "at least one scheme (skos:inScheme)"},
    ),
    # Topic scheme
    Case(
        "topic scheme: no label",
        "DELETE WHERE { <source/amazon-acl-2024-guide/topics> skos:prefLabel ?l }",
        {KGSH["TopicSchemeShape-prefLabel"]: "exactly one preferred label"},
    ),
    # Event
    Case(
        "event: two names",
        'INSERT DATA { <event/acl-2024> schema:name "ACL \u201924" }',
        {KGSH["EventShape-name"]: "An event needs exactly one name (schema:name)"},
    ),
    # Figure
    Case(
        "figure: caption names no paper",
        "DELETE WHERE { <figure/bug-injection-0c0ffee0> schema:isPartOf ?p }",
        {KGSH["FigureShape-isPartOf"]: "must be linked (schema:isPartOf) to exactly one paper"},
    ),
    Case(
        "figure: linked to two papers",
        "INSERT DATA { <figure/bug-injection-0c0ffee0> schema:isPartOf <paper/machine-translated-web-5e6f7a8b> }",
        {KGSH["FigureShape-isPartOf"]: "must be linked (schema:isPartOf) to exactly one paper"},
    ),
    Case(
        "figure: linked to a topic instead of a paper",
        """DELETE WHERE { <figure/bug-injection-0c0ffee0> schema:isPartOf ?p } ;
           INSERT DATA { <figure/bug-injection-0c0ffee0> schema:isPartOf <topic/data-quality> }""",
        {KGSH["FigureShape-isPartOf-class"]: "must point to a paper (schema:ScholarlyArticle)"},
    ),
    # Job posting
    Case(
        "posting: no location",
        "DELETE WHERE { <posting/applied-scientist-2d2d2d2d/us-wa-bellevue> schema:jobLocation ?l }",
        {KGSH["PostingShape-jobLocation"]: "must have exactly one location (schema:jobLocation)"},
    ),
    Case(
        "posting: two locations",
        "INSERT DATA { <posting/applied-scientist-2d2d2d2d/us-wa-bellevue> schema:jobLocation <place/gb-london> }",
        {KGSH["PostingShape-jobLocation"]: "must have exactly one location (schema:jobLocation)"},
    ),
    Case(
        "posting: location as text",
        """DELETE WHERE { <posting/applied-scientist-2d2d2d2d/us-wa-bellevue> schema:jobLocation ?l } ;
           INSERT DATA { <posting/applied-scientist-2d2d2d2d/us-wa-bellevue> schema:jobLocation "US, WA, Bellevue" }""",
        {KGSH["PostingShape-jobLocation-class"]: "must be a schema:Place"},
    ),
    Case(
        "posting: unknown employment type",
        'INSERT DATA { <posting/applied-scientist-2d2d2d2d/us-wa-bellevue> schema:employmentType "Permanent" }',
        {KGSH["PostingShape-employmentType-value"]: "one of schema.org's codes"},
    ),
    Case(
        "posting (warning): internship without employment type INTERN",
        "DELETE WHERE { <posting/economist-intern-3e3e3e3e/gb-london> schema:employmentType ?t }",
        {
            KGSH["PostingShape-internshipAgrees"]: (
                "This posting has kg:isInternship true but schema:employmentType (none); an "
                'internship should have employmentType "INTERN" and only an internship should.'
            )
        },
        warnings=frozenset({KGSH["PostingShape-internshipAgrees"]}),
    ),
    Case(
        "posting (warning): employment type INTERN on a non-internship",
        'INSERT DATA { <posting/applied-scientist-2d2d2d2d/us-wa-bellevue> schema:employmentType "INTERN" }',
        {
            KGSH["PostingShape-internshipAgrees"]: (
                "This posting has kg:isInternship false but schema:employmentType INTERN; an "
                'internship should have employmentType "INTERN" and only an internship should.'
            )
        },
        warnings=frozenset({KGSH["PostingShape-internshipAgrees"]}),
    ),
    # Role
    Case(
        "role: no description",
        "DELETE WHERE { <role/economist-intern-3e3e3e3e> schema:description ?d }",
        {KGSH["RoleShape-description"]: "exactly one description (schema:description)"},
    ),
    Case(
        "role (warning): related topic without evidence",
        "INSERT DATA { <role/applied-scientist-2d2d2d2d> kg:relatedTopic <topic/continual-pretraining> }",
        {
            KGSH["RoleShape-topicEvidence"]: (
                "This role has kg:relatedTopic https://w3id.org/kg/id/topic/continual-pretraining "
                "but no kg:TopicLink giving the evidence for it; emit a topic link (kg:role, "
                "kg:topic, kg:evidence, kg:score) for every related topic."
            )
        },
        warnings=frozenset({KGSH["RoleShape-topicEvidence"]}),
    ),
    # Topic link
    Case(
        "topic link: role lacks the related-topic edge",
        "DELETE WHERE { <role/applied-scientist-2d2d2d2d> kg:relatedTopic ?t }",
        {
            KGSH["TopicLinkShape-roleHasTopic"]: (
                "This topic link says role https://w3id.org/kg/id/role/applied-scientist-2d2d2d2d "
                "is about topic https://w3id.org/kg/id/topic/data-quality, but the role has no "
                "kg:relatedTopic to it; emit the kg:relatedTopic edge with the link, or drop the link."
            )
        },
    ),
    Case(
        "topic link: score 0",
        """DELETE WHERE { <role/applied-scientist-2d2d2d2d/topic/data-quality> kg:score ?s } ;
           INSERT DATA { <role/applied-scientist-2d2d2d2d/topic/data-quality> kg:score 0 }""",
        {KGSH["TopicLinkShape-score-datatype"]: "at least 1"},
    ),
    Case(
        "topic link: no evidence",
        "DELETE WHERE { <role/applied-scientist-2d2d2d2d/topic/data-quality> kg:evidence ?e }",
        {KGSH["TopicLinkShape-evidence"]: "at least one piece of evidence (kg:evidence)"},
    ),
    # Place and address
    Case(
        "place: no address",
        "DELETE WHERE { <place/gb-london> schema:address ?a }",
        {KGSH["PlaceShape-address"]: "exactly one postal address (schema:address)"},
    ),
    Case(
        "address: country as a name",
        """DELETE WHERE { <place/gb-london/address> schema:addressCountry ?c } ;
           INSERT DATA { <place/gb-london/address> schema:addressCountry "United Kingdom" }""",
        {KGSH["AddressShape-addressCountry-pattern"]: "ISO 3166-1 alpha-2 code"},
    ),
    Case(
        "address: country in lower case",
        """DELETE WHERE { <place/us-wa-bellevue/address> schema:addressCountry ?c } ;
           INSERT DATA { <place/us-wa-bellevue/address> schema:addressCountry "us" }""",
        {KGSH["AddressShape-addressCountry-pattern"]: "ISO 3166-1 alpha-2 code"},
    ),
    # Organisation
    Case(
        "organisation: parent named by a string",
        """DELETE WHERE { <org/amazon/agi> schema:parentOrganization ?p } ;
           INSERT DATA { <org/amazon/agi> schema:parentOrganization "Amazon" }""",
        {KGSH["OrganizationShape-parentOrganization-class"]: "must be a schema:Organization"},
    ),
    # Build and dataset
    Case(
        "build: no software version",
        "DELETE WHERE { <build/0123abcd> kg:softwareVersion ?v }",
        {KGSH["BuildShape-softwareVersion"]: "exactly one kg:softwareVersion"},
    ),
    Case(
        "dataset: conforms to a string",
        """DELETE WHERE { <dataset> dcterms:conformsTo ?c } ;
           INSERT DATA { <dataset> dcterms:conformsTo "https://w3id.org/kg/shapes" }""",
        {KGSH["DatasetShape-conformsTo-nodeKind"]: "must be an IRI"},
    ),
    Case(
        "dataset: negative triple count",
        """DELETE WHERE { <dataset> void:triples ?n } ;
           INSERT DATA { <dataset> void:triples -1 }""",
        {KGSH["DatasetShape-triples-datatype"]: "non-negative xsd:integer"},
    ),
    Case(
        "class partition: class named by a string",
        """DELETE WHERE { <dataset/class/scholarly-article> void:class ?c } ;
           INSERT DATA { <dataset/class/scholarly-article> void:class "ScholarlyArticle" }""",
        {KGSH["ClassPartitionShape-class-nodeKind"]: "must be the class IRI"},
    ),
    Case(
        "class partition: typed void:Dataset",
        "INSERT DATA { <dataset/class/scholarly-article> a void:Dataset }",
        {
            KGSH["ClassPartitionShape-untyped"]: (
                "This class partition is typed void:Dataset, so kgsh:DatasetShape also applies "
                "to it and asks for whole-dataset counts and provenance; leave class partitions "
                "untyped."
            ),
            KGSH["DatasetShape-triples"]: "exactly one triple count",
            KGSH["DatasetShape-conformsTo"]: "at least one dcterms:conformsTo",
            KGSH["DatasetShape-wasGeneratedBy"]: "exactly one build",
        },
    ),
    # Reconciliation with the Anthology
    Case(
        "reconciliation: unknown status",
        """DELETE WHERE { <paper/continual-pretraining-1a2b3c4d/reconciliation> kg:status ?s } ;
           INSERT DATA { <paper/continual-pretraining-1a2b3c4d/reconciliation> kg:status "maybe" }""",
        {KGSH["ReconciliationShape-status-in"]: "must be \"auto\", \"review\""},
    ),
    Case(
        "reconciliation: confidence above 1",
        """DELETE WHERE { <paper/continual-pretraining-1a2b3c4d/reconciliation> kg:confidence ?c } ;
           INSERT DATA { <paper/continual-pretraining-1a2b3c4d/reconciliation> kg:confidence 1.5 }""",
        {KGSH["ReconciliationShape-confidence-datatype"]: "xsd:decimal from 0 to 1"},
    ),
    Case(
        "discrepancy: an author missing in the guide, with a guide value",
        """DELETE WHERE { <paper/continual-pretraining-1a2b3c4d/reconciliation/discrepancy/name-form/g3-a3> kg:discrepancyKind ?k } ;
           INSERT DATA { <paper/continual-pretraining-1a2b3c4d/reconciliation/discrepancy/name-form/g3-a3> kg:discrepancyKind "author-missing-in-guide" }""",
        {
            KGSH["DiscrepancyShape-valuesOfKind"]: (
                "This author-missing-in-guide discrepancy has the wrong values: "
                "author-missing-in-guide needs only an Anthology value and position, "
                "author-missing-in-anthology only a guide value and position, author-order "
                "and name-form both values and both positions, title both values and no position."
            )
        },
    ),
    Case(
        "discrepancy: unknown kind",
        """DELETE WHERE { <paper/continual-pretraining-1a2b3c4d/reconciliation/discrepancy/name-form/g3-a3> kg:discrepancyKind ?k } ;
           INSERT DATA { <paper/continual-pretraining-1a2b3c4d/reconciliation/discrepancy/name-form/g3-a3> kg:discrepancyKind "spelling" }""",
        {KGSH["DiscrepancyShape-discrepancyKind-in"]: "must be author-missing-in-guide"},
    ),
    Case(
        "author alignment: person named by a string",
        """DELETE WHERE { <paper/continual-pretraining-1a2b3c4d/reconciliation/author/3> kg:guidePerson ?p } ;
           INSERT DATA { <paper/continual-pretraining-1a2b3c4d/reconciliation/author/3> kg:guidePerson "Aitzaz Ahmad" }""",
        {KGSH["AuthorAlignmentShape-guidePerson-class"]: "must be a schema:Person"},
    ),
    Case(
        "blank node: a discrepancy without an IRI",
        """INSERT DATA {
               _:d a kg:Discrepancy ; kg:reconciliation <paper/continual-pretraining-1a2b3c4d/reconciliation> ;
                   kg:discrepancyKind "title" ; kg:guideValue "A" ; kg:anthologyValue "B" ;
                   prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
           }""",
        {KGSH["ReconciliationIriShape"]: "mint it under the guide paper's IRI"},
    ),
    # Identity
    Case(
        "blank node: a person without an IRI",
        """INSERT DATA {
               _:someone a schema:Person ; schema:name "Someone" ;
                   prov:wasDerivedFrom <source/amazon-acl-2024-guide> .
           }""",
        {KGSH["IriShape"]: "every entity needs a minted IRI"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_invalid_example_is_reported_by_the_intended_shape(shapes, case):
    conforms, results = validate(broken(case.update), shapes)
    assert {r.key for r in results} == set(case.expect), results
    for result in results:
        expected = case.expect[result.key]
        assert len(result.messages) == 1, result
        (message,) = result.messages
        if shapes.value(result.key, RDF.type) == SH.SPARQLConstraint:
            assert message == expected
        else:
            assert message == declared_message(shapes, result.key)
            assert expected in message
        wanted = SH.Warning if result.key in case.warnings else SH.Violation
        assert result.severity == wanted
    assert conforms == (set(case.expect) <= case.warnings)


def test_every_node_shape_has_an_invalid_example(shapes):
    covered = {owner(shapes, key) for case in CASES for key in case.expect}
    assert set(node_shapes(shapes)) <= covered


@pytest.mark.slow  # 40 s: the shapes re-run without SHACL-AF
def test_sparql_constraints_work_without_shacl_af(shapes):
    """The shapes use SHACL Core and SHACL-SPARQL only, so callers need not pass
    advanced=True: the same breaks give the same report without it."""
    for case in CASES:
        data = broken(case.update)
        with_af = sorted((r.key, r.focus, r.messages) for r in validate(data, shapes, True)[1])
        without = sorted((r.key, r.focus, r.messages) for r in validate(data, shapes, False)[1])
        assert with_af == without, case.id


# --- every simple constraint bites: generated breaks -------------------------------
#
# The hand-written cases above show the intent; these make sure no constraint is
# silently dead (a misspelt path, say) by breaking each one on a focus node of VALID.


def _property_shapes(shapes: Graph, constraint: URIRef) -> list[tuple[URIRef, URIRef]]:
    """(node shape, property shape) pairs whose shape has `constraint` on an IRI path."""
    pairs = []
    for node_shape in node_shapes(shapes):
        for prop in shapes.objects(node_shape, SH.property):
            simple_path = isinstance(shapes.value(prop, SH.path), URIRef)
            if simple_path and (prop, constraint, None) in shapes:
                pairs.append((node_shape, prop))
    return sorted(pairs)


_SHAPES = Graph().parse(SHAPES_PATH)


def _first_focus_with(shapes: Graph, node_shape: URIRef, path: URIRef, data: Graph):
    nodes = sorted(n for n in focus_nodes(shapes, node_shape, data) if (n, path, None) in data)
    assert nodes, f"VALID has no {node_shape.fragment} focus node with {path}"
    return nodes[0]


def _check_fires(shapes, data, prop, component):
    _, results = validate(data, shapes)
    hits = [r for r in results if r.shape == prop and r.component == component]
    assert hits, f"{prop.fragment} did not report {component.fragment}: {results}"
    assert hits[0].messages == (declared_message(shapes, prop),)


@pytest.mark.parametrize(
    "node_shape,prop", _property_shapes(_SHAPES, SH.minCount), ids=lambda s: s.fragment
)
def test_min_count_fires(shapes, node_shape, prop):
    data = valid_graph()
    path = shapes.value(prop, SH.path)
    data.remove((_first_focus_with(shapes, node_shape, path, data), path, None))
    _check_fires(shapes, data, prop, SH.MinCountConstraintComponent)


def _another(value):
    if isinstance(value, URIRef):
        return ID["another"]
    if value.datatype == XSD.boolean:
        return Literal(not value.toPython())
    if value.datatype == XSD.integer:
        return Literal(value.toPython() + 1)
    return Literal(str(value) + " (again)", lang=value.language, datatype=value.datatype)


@pytest.mark.parametrize(
    "node_shape,prop", _property_shapes(_SHAPES, SH.maxCount), ids=lambda s: s.fragment
)
def test_max_count_fires(shapes, node_shape, prop):
    data = valid_graph()
    path = shapes.value(prop, SH.path)
    focus = _first_focus_with(shapes, node_shape, path, data)
    data.add((focus, path, _another(data.value(focus, path))))
    _check_fires(shapes, data, prop, SH.MaxCountConstraintComponent)


WRONG_DATATYPE = {
    XSD.string: Literal("tagged", lang="en"),
    XSD.integer: Literal("7"),
    XSD.boolean: Literal("yes"),
    XSD.decimal: Literal("high"),
    XSD.gYear: Literal("2024"),
}


@pytest.mark.parametrize(
    "node_shape,prop", _property_shapes(_SHAPES, SH.datatype), ids=lambda s: s.fragment
)
def test_datatype_fires(shapes, node_shape, prop):
    data = valid_graph()
    path = shapes.value(prop, SH.path)
    focus = _first_focus_with(shapes, node_shape, path, data)
    data.remove((focus, path, None))
    data.add((focus, path, WRONG_DATATYPE[shapes.value(prop, SH.datatype)]))
    _check_fires(shapes, data, prop, SH.DatatypeConstraintComponent)


@pytest.mark.parametrize(
    "node_shape,prop", _property_shapes(_SHAPES, SH["class"]), ids=lambda s: s.fragment
)
def test_class_fires(shapes, node_shape, prop):
    data = valid_graph()
    path = shapes.value(prop, SH.path)
    focus = _first_focus_with(shapes, node_shape, path, data)
    data.remove((focus, path, None))
    data.add((focus, path, ID["untyped"]))
    _check_fires(shapes, data, prop, SH.ClassConstraintComponent)


# --- the files themselves -------------------------------------------------------------


def test_both_files_parse():
    for path in (SHAPES_PATH, ONTOLOGY_PATH):
        assert len(Graph().parse(path, format="turtle")) > 0, path


def test_ontology_header(ontology):
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in ontology
    assert ontology.value(ONTOLOGY_IRI, OWL.versionInfo) == Literal("0.1.0")
    for prop in (URIRef("http://purl.org/dc/terms/title"),
                 URIRef("http://purl.org/dc/terms/description"), RDFS.comment):
        assert ontology.value(ONTOLOGY_IRI, prop) is not None, prop
    assert not list(ontology.objects(None, OWL.imports))


def test_shapes_graph_header(shapes):
    assert (SHAPES_GRAPH_IRI, RDF.type, OWL.Ontology) in shapes
    assert shapes.value(SHAPES_GRAPH_IRI, OWL.versionInfo) is not None


def _kg_terms(graph: Graph) -> set[URIRef]:
    terms = set()
    for triple in graph:
        terms |= {t for t in triple if isinstance(t, URIRef) and t.startswith(str(KG))}
    # kg: terms inside SPARQL text (a constraint's own, and its whole-store form)
    for text in [*graph.objects(None, SH.select), *graph.objects(None, KG.storeScreen)]:
        terms |= {KG[word] for word in _words_after(str(text), "kg:")}
    return terms


def _words_after(text: str, prefix: str) -> set[str]:
    return set(re.findall(re.escape(prefix) + r"([A-Za-z][A-Za-z0-9_]*)", text))


def test_every_kg_term_in_the_shapes_is_declared_and_documented(shapes, ontology):
    declared_types = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty}
    for term in sorted(_kg_terms(shapes)):
        assert set(ontology.objects(term, RDF.type)) & declared_types, f"{term} is not declared"
        assert ontology.value(term, RDFS.label) is not None, f"{term} has no rdfs:label"
        assert ontology.value(term, RDFS.comment) is not None, f"{term} has no rdfs:comment"


def test_every_kg_term_is_a_class_or_property_with_label_and_comment(ontology):
    expected = {
        "TopicLink", "asteriskMarked", "presentedAt", "printedName", "sourceLine", "fileName",
        "sha256", "asteriskNote", "isInternship", "relatedTopic", "role", "topic", "evidence",
        "score", "softwareVersion", "bylineSource",
        # ACL Anthology papers
        "retracted", "retractionNote", "removed", "removalNote",
        # reconciliation with the Anthology
        "Reconciliation", "Discrepancy", "AuthorAlignment", "guidePaper", "anthologyPaper",
        "confidence", "status", "reconciliation", "discrepancyKind", "guideValue",
        "anthologyValue", "guidePosition", "anthologyPosition", "guidePerson", "anthologyPerson",
        # annotating the shapes: a SPARQL constraint's whole-store form
        "storeScreen",
    }
    declared = {
        s for s in ontology.subjects(RDF.type, None)
        if isinstance(s, URIRef) and s.startswith(str(KG))
    }
    assert declared == {KG[name] for name in expected}
    for term in declared:
        assert ontology.value(term, RDFS.label) is not None
        assert ontology.value(term, RDFS.comment) is not None
        if not any((term, RDF.type, kind) in ontology for kind in (OWL.Class, OWL.AnnotationProperty)):
            assert ontology.value(term, RDFS.range) is not None, term


def test_every_reused_term_in_the_shapes_has_a_usage_note(shapes, ontology):
    """A knowledge engineer reading a report can look up how the project uses a term."""
    used = set(shapes.objects(None, SH.targetClass)) | set(shapes.objects(None, SH["class"]))
    used |= set(shapes.objects(None, SH.targetObjectsOf)) | set(shapes.objects(None, SH.equals))
    used |= {p for p in shapes.objects(None, SH.path) if isinstance(p, URIRef)}
    used |= set(shapes.objects(None, SH.inversePath))
    for path in shapes.objects(None, SH.path):
        if isinstance(path, BNode) and shapes.value(path, RDF.first) is not None:
            used |= {p for p in Collection(shapes, path) if isinstance(p, URIRef)}
    skip = (str(SH), str(RDF), str(XSD), str(KG))
    # str(): URIRef.startswith does not take a tuple of prefixes
    for term in sorted(t for t in used if not str(t).startswith(skip)):
        assert ontology.value(term, RDFS.label) is not None, f"{term} has no usage note"
        assert ontology.value(term, RDFS.comment) is not None, f"{term} has no usage note"


def test_shapes_are_named_and_every_constraint_has_a_message(shapes):
    shape_nodes = set(shapes.subjects(RDF.type, SH.NodeShape))
    shape_nodes |= set(shapes.subjects(RDF.type, SH.PropertyShape))
    shape_nodes |= set(shapes.objects(None, SH.property)) | set(shapes.objects(None, SH.sparql))
    for node in shape_nodes:
        assert isinstance(node, URIRef) and node.startswith(str(KGSH)), f"unnamed shape {node}"
    for prop in set(shapes.objects(None, SH.property)):
        assert (prop, RDF.type, SH.PropertyShape) in shapes, prop
        sparql = list(shapes.objects(prop, SH.sparql))
        if sparql:  # the message lives on the SPARQL constraint
            assert shapes.value(prop, SH.message) is None, prop
        else:
            declared_message(shapes, prop)
    for constraint in set(shapes.objects(None, SH.sparql)):
        assert (constraint, RDF.type, SH.SPARQLConstraint) in shapes
        declared_message(shapes, constraint)
    # Node shapes with targets report only through their parts, except IriShape.
    for node_shape in node_shapes(shapes):
        has_own_constraint = shapes.value(node_shape, SH.nodeKind) is not None
        assert (shapes.value(node_shape, SH.message) is not None) == has_own_constraint, node_shape


def test_every_property_shape_and_sparql_constraint_is_attached_once(shapes):
    """An unattached shape never runs, and its tests above would silently skip it."""
    for prop in set(shapes.subjects(RDF.type, SH.PropertyShape)):
        parents = list(shapes.subjects(SH.property, prop))
        assert len(parents) == 1, f"{prop} is attached to {parents}"
        assert parents[0] in node_shapes(shapes), prop
        assert prop.fragment.startswith(parents[0].fragment + "-"), prop
    for constraint in set(shapes.subjects(RDF.type, SH.SPARQLConstraint)):
        parents = list(shapes.subjects(SH.sparql, constraint))
        assert len(parents) == 1, f"{constraint} is attached to {parents}"
        assert owner(shapes, constraint) in node_shapes(shapes), constraint


def test_every_path_in_the_shapes_is_exercised_by_the_valid_graph(shapes):
    """Guards against a misspelt property IRI in either file."""
    data = valid_graph()
    predicates = set(data.predicates())
    for path in set(shapes.objects(None, SH.path)):
        if isinstance(path, URIRef):
            assert path in predicates, f"VALID never uses {path}"
