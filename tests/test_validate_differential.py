"""The store's validation reports exactly what one plain pySHACL call reports.

Seeded mutations of every constraint kind in ontology/shapes.ttl (and of what the
targets read: subclass instances, literal and blank focus nodes, datatypes the store
rewrites on load, lexical forms the engines disagree on) are applied to the valid
example graph; each mutated graph is written as N-Triples (the file), validated by
one plain pySHACL call on that file, and by every path kg has: `kg validate FILE`,
the store's whole validation (1 and 2 workers, both forms of the screen queries) and
its validation of given focus nodes (what `kg build --add` runs). All must give the
same (focus node, path, constraint component, severity, value) results.

KG_DIFFERENTIAL_SEEDS=N runs N seeds (bench/differential.py runs many more).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from pyshacl import validate as plain_pyshacl
from rdflib import RDF, RDFS, SH, BNode, Literal, URIRef

import kg.validate.screens as screens_module
from kg.validate import (
    follow_xsd_lexical_rules,
    shapes_graph,
    stated_literals,
    validate_files,
    validate_store,
)
from kg.validate.shacl import _shacl_shapes
from tests.test_shapes import VALID

# a plain Namespace: pytest's look at module attributes trips rdflib's strict XSD one
XSD = rdflib.Namespace(str(rdflib.XSD))
EX = "http://example.org/differential/"
SEEDS = int(os.environ.get("KG_DIFFERENTIAL_SEEDS", "3"))
# a named graph beside the default graph: the store's validation reads the default
# graph only (what the file is), so nothing in here may be reported
ASIDE = ox.NamedNode(EX + "aside")

# values for sh:datatype mutations: another datatype, one the store rewrites on load,
# lexical forms outside XSD's lexical space, a canonical-form change, a language tag
BAD_VALUES = {
    XSD.integer: [Literal("3", datatype=XSD.int), Literal("7", datatype=XSD.long), Literal(" 1", datatype=XSD.integer),
                  Literal("03", datatype=XSD.integer), Literal("2", datatype=XSD.decimal),
                  Literal("300", datatype=XSD.byte), Literal("three")],
    XSD.boolean: [Literal("TRUE", datatype=XSD.boolean), Literal("1", datatype=XSD.boolean),
                  Literal("true"), Literal("yes", datatype=XSD.boolean)],
    XSD.string: [Literal("x", lang="en"), Literal("5", datatype=XSD.int), URIRef(EX + "not-a-string")],
    XSD.gYear: [Literal("2024", datatype=XSD.integer), Literal("24", datatype=XSD.gYear)],
}


def _key(focus, path, component, severity, value) -> tuple:
    """One result, comparable across paths (blank-node labels differ between them)."""
    def plain(term):
        if term is None:
            return None
        if isinstance(term, BNode) or (isinstance(term, str) and term.startswith("_:")):
            return "_:b"
        return term.n3() if isinstance(term, rdflib.term.Node) else term
    return (plain(focus) if not isinstance(focus, URIRef) else str(focus), str(path) if path else None,
            str(component).replace(str(SH), "sh:"), str(severity).replace(str(SH), "").replace("sh:", ""),
            plain(value))


def _plain(report_graph: rdflib.Graph) -> Counter:
    out = Counter()
    for node in report_graph.subjects(RDF.type, SH.ValidationResult):
        v = report_graph.value
        path = v(node, SH.resultPath)
        out[_key(v(node, SH.focusNode), path if isinstance(path, URIRef) else None,
                 v(node, SH.sourceConstraintComponent), v(node, SH.resultSeverity), v(node, SH.value))] += 1
    return out


def _kg(report) -> Counter:
    return Counter(_key(r.focus, r.path, "http://www.w3.org/ns/shacl#" + r.component.split(":", 1)[1],
                        r.severity, r.value) for r in report.results)


# --- mutations ---------------------------------------------------------------------

def _instances(data: rdflib.Graph, classes, objects_of) -> list:
    found = {s for c in classes for s in data.subjects(RDF.type, URIRef(c))}
    found |= {o for p in objects_of for o in data.objects(None, URIRef(p))}
    return sorted(found, key=str)


def _fresh(rng: random.Random, kind: str) -> URIRef:
    return URIRef(f"{EX}{kind}/{rng.randrange(10**9)}")


def _subclass(data: rdflib.Graph, rng: random.Random, cls) -> URIRef:
    """A new class declared, in the data, a subclass of `cls` (sometimes two levels)."""
    sub = _fresh(rng, "class")
    data.add((sub, RDFS.subClassOf, URIRef(cls)))
    if rng.random() < 0.3:
        deeper = _fresh(rng, "class")
        data.add((deeper, RDFS.subClassOf, sub))
        return deeper
    return sub


def _replace_value(data, focus, path, value) -> None:
    old = list(data.objects(focus, path))
    if old:
        data.remove((focus, path, old[0]))
    data.add((focus, path, value))


RARE = {SH.uniqueLang, SH.equals, SH["in"], SH.pattern, SH.hasValue, SH.languageIn, SH.minInclusive, SH.maxInclusive}


def _mutate_property(data, rng, shapes, prop, focus) -> str:
    """Break (or bend) one constraint of property shape `prop` on `focus`."""
    path = shapes.value(prop, SH.path)
    if not isinstance(path, URIRef):
        inverse = shapes.value(path, SH.inversePath)
        if isinstance(inverse, URIRef):  # the focus node is the object
            if rng.random() < 0.5:
                data.remove((None, inverse, focus))
            else:
                data.add((_fresh(rng, "inverse"), inverse, focus))
            return f"inverse path {inverse}"
        return "complex path: skipped"
    kinds = [k for k in (SH.minCount, SH.maxCount, SH.datatype, SH["class"], SH.nodeKind, SH["in"], SH.pattern,
                         SH.minInclusive, SH.maxInclusive, SH.equals, SH.sparql, SH.hasValue, SH.uniqueLang,
                         SH.languageIn, SH.qualifiedValueShape, SH["or"], SH.node)
             if shapes.value(prop, k) is not None]
    rare = [k for k in kinds if k in RARE]
    # a constraint kind few property shapes have is taken whenever it is there
    kind = rng.choice(rare) if rare and rng.random() < 0.7 else rng.choice(kinds) if kinds else None
    values = list(data.objects(focus, path))
    if kind == SH.minCount or kind is None:
        data.remove((focus, path, None))
    elif kind == SH.maxCount:
        others = sorted({o for o in data.objects(None, path)} - set(values), key=str)
        data.add((focus, path, rng.choice(others) if others else Literal("extra")))
    elif kind == SH.datatype:
        dt = shapes.value(prop, SH.datatype)
        _replace_value(data, focus, path, rng.choice(BAD_VALUES.get(dt, [Literal("x", lang="en")])))
    elif kind == SH["class"]:
        cls = shapes.value(prop, SH["class"])
        choice = rng.randrange(4)
        target = _fresh(rng, "value") if choice < 3 else BNode()
        if choice == 0:  # an instance of a subclass: conforms
            data.add((target, RDF.type, _subclass(data, rng, cls)))
        elif choice == 3:
            data.add((target, RDF.type, URIRef(cls)))
        _replace_value(data, focus, path, Literal("a name") if choice == 2 else target)
    elif kind == SH.nodeKind:
        _replace_value(data, focus, path, rng.choice([Literal("x"), BNode(), URIRef(EX + "iri")]))
    elif kind == SH["in"]:
        members = list(rdflib.collection.Collection(shapes, shapes.value(prop, SH["in"])))
        first = members[0]
        bent = Literal(str(first), lang="en") if isinstance(first, Literal) else Literal(str(first))
        _replace_value(data, focus, path, rng.choice([Literal("NOT_A_MEMBER"), bent]))
    elif kind == SH.pattern:
        base = str(values[0]) if values else "x"
        _replace_value(data, focus, path, Literal(base + " !?"))
    elif kind in (SH.minInclusive, SH.maxInclusive):
        limit = shapes.value(prop, kind)
        step = -1 if kind == SH.minInclusive else 1
        _replace_value(data, focus, path, rng.choice([
            Literal(limit.value + step, datatype=limit.datatype), Literal(limit.value + 10 * step),
            Literal(" 1", datatype=XSD.integer), Literal(str(int(limit.value) + step), datatype=XSD.long)]))
    elif kind == SH.equals:
        other = shapes.value(prop, SH.equals)
        if values and rng.random() < 0.5:
            data.remove((focus, path, values[0]))
        else:
            data.add((focus, other, _fresh(rng, "topic")))
    elif kind == SH.sparql:
        # the SPARQL constraints on a property read its value: an odd one
        _replace_value(data, focus, path, rng.choice([Literal("TRUE", datatype=XSD.boolean), Literal(True),
                                                      Literal(False), Literal("1", datatype=XSD.boolean)]))
    elif kind == SH.uniqueLang:
        data.add((focus, path, Literal("again", lang="en")))
        data.add((focus, path, Literal("encore", lang="en")))
    else:  # hasValue, languageIn, qualified shapes, sh:or, sh:node: a value of another kind
        _replace_value(data, focus, path, rng.choice([Literal("x", lang="de"), Literal("x"), _fresh(rng, "value")]))
    return f"{path} {kind}"


def _mutate_byline(data, rng, paper) -> str:
    """The node shapes' SPARQL constraints on papers: positions and author edges."""
    pro = rdflib.Namespace("http://purl.org/spar/pro/")
    schema = rdflib.Namespace("http://schema.org/")
    slots = sorted(data.subjects(pro.relatesToDocument, paper), key=str)
    if not slots:
        return "no byline"
    slot = rng.choice(slots)
    choice = rng.randrange(6)
    if choice == 0:
        _replace_value(data, slot, schema.position, Literal(len(slots) + 5))
    elif choice == 1:
        _replace_value(data, slot, schema.position, Literal(" 1", datatype=XSD.integer))
    elif choice == 2:
        _replace_value(data, slot, schema.position, Literal("1", datatype=XSD.long))
    elif choice == 3:
        person = data.value(slot, pro.isHeldBy)
        data.remove((paper, schema.author, person))
    elif choice == 4:
        data.add((paper, schema.author, _fresh(rng, "person")))
    else:
        data.remove((slot, pro.withRole, None))
        data.add((slot, pro.withRole, pro.reviewer))
    return f"byline {choice}"


def mutated(seed: int, base: tuple[str, str] = (VALID, "turtle")) -> tuple[rdflib.Graph, list[str]]:
    """The valid example (or `base`: text, format) with one mutation per property
    shape (seeded choices of focus node and kind), and the structural ones."""
    rng = random.Random(seed)
    data = rdflib.Graph()
    data.parse(data=base[0], format=base[1])
    shapes = shapes_graph()
    done = []
    _sg, node_shapes = _shacl_shapes()
    for name, (_shape, props, classes, objects_of) in sorted(node_shapes.items()):
        focus = _instances(data, classes, objects_of)
        if not focus or rng.random() < 0.15:
            # a node of the target class or one of its subclasses, with nothing else
            node = _fresh(rng, "node") if rng.random() < 0.8 else BNode()
            if classes:
                cls = rng.choice(classes)
                data.add((node, RDF.type, URIRef(cls) if rng.random() < 0.5 else _subclass(data, rng, cls)))
            else:
                subject = _fresh(rng, "subject")
                data.add((subject, URIRef(objects_of[0]), node))
            focus = [node]
            done.append(f"{name}: a bare focus node")
        for prop in props:
            if rng.random() < 0.6:
                done.append(_mutate_property(data, rng, shapes, prop.node, rng.choice(focus)))
        if classes and focus and rng.random() < 0.5:
            # retyped with a subclass of its class (declared in the data)
            node = rng.choice([f for f in focus if not isinstance(f, Literal)] or [None])
            if node is not None:
                cls = rng.choice(classes)
                if (node, RDF.type, URIRef(cls)) in data:
                    data.remove((node, RDF.type, URIRef(cls)))
                    data.add((node, RDF.type, _subclass(data, rng, cls)))
                    done.append(f"{name}: retyped with a subclass")
        for p in objects_of:  # literal and blank focus nodes
            subject = rng.choice(focus) if focus else _fresh(rng, "subject")
            data.add((subject, URIRef(p), rng.choice([Literal("partition one"), Literal("urn:x-partition"), BNode()])))
            done.append(f"{name}: a literal or blank focus node")
    papers = sorted(data.subjects(RDF.type, URIRef("http://schema.org/ScholarlyArticle")), key=str)
    for _ in range(2):
        done.append(_mutate_byline(data, rng, rng.choice(papers)))
    return data, done


# --- the paths ---------------------------------------------------------------------

def _store_paths(path: Path, triples: list) -> dict[str, Counter]:
    """Every store path on one store holding `triples` in its default graph (added as
    terms, as kg build adds them: the blank nodes keep their labels)."""
    store = ox.Store(str(path))
    store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples)
    store.add(ox.Quad(ox.NamedNode(EX + "aside-topic"), ox.NamedNode(str(RDF.type)),
                      ox.NamedNode("http://www.w3.org/2004/02/skos/core#Concept"), ASIDE))
    store.flush()
    stated = stated_literals(triples)
    out = {"store": _kg(validate_store(store, stated=stated)),
           "store, 2 workers": _kg(validate_store(store, workers=2, path=str(path), stated=stated))}
    for name, value in (("FEW_FOCUS_NODES", 0), ("NARROW", 0)):
        before = getattr(screens_module, name)
        setattr(screens_module, name, value)
        try:
            out[f"store, {name}={value}"] = _kg(validate_store(store, stated=stated))
        finally:
            setattr(screens_module, name, before)
    # what an --add runs: focus nodes given (every term, literals and blank nodes too)
    terms = {t for q in triples for t in (q.subject, q.object)}
    out["focus nodes"] = _kg(validate_store(store, terms, stated=stated))
    out["focus nodes, 2 workers"] = _kg(validate_store(store, terms, workers=2, path=str(path), stated=stated,
                                                       batch=50))
    del store
    return out


def reference(file: Path) -> Counter:
    """One plain pySHACL call on the file, read by rdflib with XSD's lexical rules for
    integers and booleans (kg's choice on every path: see kg.validate)."""
    follow_xsd_lexical_rules()
    data = rdflib.Graph().parse(file, format="nt")
    _conforms, results, _text = plain_pyshacl(data, shacl_graph=shapes_graph(), advanced=True,
                                              inference="none", allow_warnings=True)
    return _plain(results)


# seed 0 in every run, the others in the slow run
@pytest.mark.parametrize("seed", [pytest.param(s, marks=[pytest.mark.slow] if s else []) for s in range(SEEDS)])
def test_every_path_reports_what_plain_pyshacl_reports(seed, tmp_path):
    data, done = mutated(seed)
    file = tmp_path / "mutated.nt"
    file.write_text(data.serialize(format="nt"), encoding="utf-8")
    expected = reference(file)
    assert sum(expected.values()) > 20, "the mutations break many constraints"
    triples = list(ox.parse(path=str(file)))
    paths = {"kg validate FILE": _kg(validate_files([file]))}
    paths.update(_store_paths(tmp_path / "store", triples))
    for name, found in paths.items():
        missing, extra = expected - found, found - expected
        assert not missing and not extra, (f"{name} (seed {seed}): missing {sorted(missing)[:5]}, "
                                           f"extra {sorted(extra)[:5]}; mutations: {done}")


def test_the_mutations_reach_every_constraint_kind():
    """Across the seeds CI runs, every constraint component the shapes use is broken
    at least once (else the comparison above proves nothing about it)."""
    shapes = shapes_graph()
    used = set()
    for s, p, _o in shapes:
        if p in (SH.minCount, SH.maxCount, SH.datatype, SH["class"], SH.nodeKind, SH["in"], SH.pattern,
                 SH.minInclusive, SH.maxInclusive, SH.equals, SH.sparql, SH.uniqueLang, SH.hasValue):
            used.add(str(p).replace(str(SH), "").lower())
    reported = set()
    for seed in range(SEEDS):
        data, _done = mutated(seed)
        _c, results, _t = plain_pyshacl(data, shacl_graph=shapes, advanced=True, inference="none",
                                        allow_warnings=True)
        reported |= {str(c).replace(str(SH), "").replace("ConstraintComponent", "").lower()
                     for c in results.objects(None, SH.sourceConstraintComponent)}
    reported = {"sparql" if r == "sparql" else r for r in reported}
    assert used <= reported, sorted(used - reported)


# --- the cases of issue 16, through kg build and kg build --add -----------------------

KG = "https://w3id.org/kg/id/"
ONT = "https://w3id.org/kg/ontology#"
SCHEMA = "http://schema.org/"
PRO = "http://purl.org/spar/pro/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
VOID = "http://rdfs.org/ns/void#"
# each on nodes of its own: a value for a node a guide describes would be fused with
# the guide's by the merge (one value for a functional property), which the file as
# it is does not show
CASES = {
    # a subclass declared in the data: its instances are targets of schema:Person's shape
    "subclass": f"""
        <{EX}Researcher> <{RDFS.subClassOf}> <{SCHEMA}Person> .
        <{KG}person/ada> a <{EX}Researcher> .""",
    # datatypes the store rewrites on load: validated as written
    "derived datatypes": f"""
        <{KG}x/ds> <{VOID}classPartition> <{KG}x/part> .
        <{KG}x/part> <{VOID}class> <{SCHEMA}Thing> ; <{VOID}entities> "3"^^<{XSD.int}> .
        <{KG}paper/x> a <{SCHEMA}ScholarlyArticle> ; <{SCHEMA}name> "A paper" .
        <{KG}paper/x/author/1> a <{PRO}RoleInTime> ; <{PRO}withRole> <{PRO}author> ;
            <{PRO}relatesToDocument> <{KG}paper/x> ; <{SCHEMA}position> "1"^^<{XSD.long}> .""",
    # literal focus nodes (sh:targetObjectsOf)
    "literal focus nodes": f"""
        <{KG}x/ds2> <{VOID}classPartition> "partition one", "urn:x-partition" .""",
    # the default graph: a topic with two untagged preferred labels
    "default graph": f"""
        <{KG}topic/x> a <{SKOS}Concept> ; <{SKOS}prefLabel> "Program synthesis", "Code synthesis" .""",
    # lexical forms outside XSD's lexical space
    "engine differences": f"""
        <{KG}x/posting> a <{SCHEMA}JobPosting> ; <{ONT}isInternship> "TRUE"^^<{XSD.boolean}> ;
            <{SCHEMA}employmentType> "INTERN" .
        <{KG}paper/x/author/2> a <{PRO}RoleInTime> ; <{PRO}withRole> <{PRO}author> ;
            <{PRO}relatesToDocument> <{KG}paper/x> ; <{SCHEMA}position> " 2"^^<{XSD.integer}> .""",
}
# what each case must be reported by (constraint, focus node)
EXPECTED = {
    "subclass": [("kgsh:PersonShape-name", f"{KG}person/ada")],
    "derived datatypes": [("kgsh:ClassPartitionShape-entities-datatype", f"{KG}x/part"),
                          ("kgsh:AuthorshipShape-position-datatype", f"{KG}paper/x/author/1")],
    "literal focus nodes": [("kgsh:ClassPartitionShape-class", '"partition one"'),
                            ("kgsh:ClassPartitionShape-class", '"urn:x-partition"')],
    "default graph": [("kgsh:TopicShape-prefLabel-perLanguage", f"{KG}topic/x")],
    "engine differences": [("kgsh:PostingShape-isInternship-datatype", f"{KG}x/posting"),
                           # "TRUE" is no boolean, so not true: an internship's type disagrees
                           ("kgsh:PostingShape-isInternship-agrees", f"{KG}x/posting"),
                           ("kgsh:AuthorshipShape-position-datatype", f"{KG}paper/x/author/2")],
}


@pytest.fixture(scope="module")
def cases_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cases")
    path = folder / "cases.ttl"
    path.write_text("\n".join(CASES.values()) + "\n", encoding="utf-8")
    return path


def _shape_keys(report) -> Counter:
    return Counter((r.constraint, r.focus, r.path, r.component, r.severity, r.value) for r in report.results)


def test_the_cases_are_reported_alike_by_every_path(cases_file, seed_store_path, tmp_path):
    import shutil

    from kg import export
    from kg import store as stores
    from kg.pipeline import build
    from tests.conftest import SEED

    seed_export = tmp_path / "seed.nt"
    export.export_file(stores.open_store(seed_store_path), "ntriples", seed_export)
    reference = validate_files([seed_export, cases_file])
    expected = _shape_keys(reference)
    found = {(r.constraint, r.focus) for r in reference.results}
    for case, wanted in EXPECTED.items():
        assert set(wanted) <= found, (case, sorted(found))
    paths = {}
    for workers in (1, 2):
        result = build([SEED, cases_file], store=tmp_path / f"w{workers}", workers=workers)
        assert not result.written
        paths[f"kg build, {workers} worker(s)"] = result.report
    for name, value in (("FEW_FOCUS_NODES", 0), ("NARROW", 0)):
        before = getattr(screens_module, name)
        setattr(screens_module, name, value)
        try:
            paths[f"kg build, {name}={value}"] = build([SEED, cases_file], store=tmp_path / name).report
        finally:
            setattr(screens_module, name, before)
    added = tmp_path / "added"
    shutil.copytree(seed_store_path, added, symlinks=True)
    paths["kg build --add"] = build([cases_file], store=added, add=True).report
    for name, report in paths.items():
        got = _shape_keys(report)
        assert got == expected, (name, sorted((expected - got).elements())[:5], sorted((got - expected).elements())[:5])
