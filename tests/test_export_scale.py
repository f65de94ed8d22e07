"""The streaming export (dump, byte sort, re-serialise) gives exactly the bytes of the
original in-memory implementation, kept here as the reference, on a real store; for
JSON-LD, the reference is a plain in-memory compaction with the published context."""

from __future__ import annotations

import json
import re
from importlib.resources import files

import pyoxigraph as ox
import pytest
import rdflib

from kg import export
from kg.errors import ExportError
from kg.namespaces import PREFIXES, XSD
from kg.namespaces import RDF as RDF_NS

RDF = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
       "nquads": ox.RdfFormat.N_QUADS, "trig": ox.RdfFormat.TRIG, "jsonld": ox.RdfFormat.JSON_LD}


# --- the reference: kg/export.py before the streaming export ---------------------------

def _key(term) -> str:
    return str(term)


def reference_export_bytes(store: ox.Store, fmt: str) -> bytes:
    quads = list(store.quads_for_pattern(None, None, None, None))
    if fmt == "jsonld":
        return reference_jsonld(quads)
    if fmt in ("turtle", "ntriples"):  # the default graph: the merge of the sources
        triples = sorted({ox.Triple(q.subject, q.predicate, q.object) for q in quads
                          if isinstance(q.graph_name, ox.DefaultGraph)},
                         key=lambda t: (_key(t.subject), _key(t.predicate), _key(t.object)))
        if fmt == "ntriples":
            return ox.serialize(triples, format=RDF[fmt])
        return ox.serialize(triples, format=RDF[fmt], prefixes=PREFIXES)
    quads.sort(key=lambda q: (_key(q.graph_name), _key(q.subject), _key(q.predicate), _key(q.object)))
    if fmt == "nquads":
        return ox.serialize(quads, format=RDF[fmt])
    return ox.serialize(quads, format=RDF[fmt], prefixes=PREFIXES)


def reference_jsonld(quads: list) -> bytes:
    """Every graph in one JSON-LD document: terms, values and layout as kg.export writes
    them, from the quads in memory."""
    context = json.loads(export.jsonld_context())["@context"]
    prefixes = {name: iri for name, iri in context.items() if isinstance(iri, str) and iri.endswith(("/", "#"))}
    names = {iri: name for name, iri in prefixes.items()}

    def expand(name: str) -> str:
        prefix, _, rest = name.partition(":")
        return prefixes[prefix] + rest if prefix in prefixes else name

    terms = {}
    for term, definition in context.items():
        if term not in prefixes:
            definition = {"@id": definition} if isinstance(definition, str) else definition
            coercion = definition.get("@type")
            terms[expand(definition["@id"])] = (term, coercion if coercion in (None, "@id") else expand(coercion))

    def ref(term) -> str:
        if isinstance(term, ox.BlankNode):
            return str(term)
        iri = term.value
        for ns in sorted(names, key=len, reverse=True):
            if iri.startswith(ns) and len(iri) > len(ns) and not iri[len(ns):].startswith("//"):
                return f"{names[ns]}:{iri[len(ns):]}"
        return iri

    def vocab(iri: str) -> str:
        return terms[iri][0] if iri in terms else ref(ox.NamedNode(iri))

    def value(obj, coercion):
        if not isinstance(obj, ox.Literal):
            if coercion == "@type":
                return vocab(obj.value) if isinstance(obj, ox.NamedNode) else ref(obj)
            return ref(obj) if coercion == "@id" else {"@id": ref(obj)}
        if obj.language:
            return {"@value": obj.value, "@language": obj.language}
        datatype = obj.datatype.value
        if datatype == coercion:
            return obj.value
        if coercion is None and datatype == XSD + "string":
            return obj.value
        if coercion is None and datatype == XSD + "integer" and re.fullmatch(r"-?(0|[1-9][0-9]{0,14})", obj.value) \
                and obj.value != "-0":
            return int(obj.value)
        if coercion is None and datatype == XSD + "boolean" and obj.value in ("true", "false"):
            return obj.value == "true"
        return {"@value": obj.value} if datatype == XSD + "string" else {"@value": obj.value, "@type": vocab(datatype)}

    graphs: dict[str, dict[str, dict]] = {}
    for q in sorted(quads, key=lambda q: (_key(q.subject), _key(q.predicate), _key(q.object))):
        node = graphs.setdefault(_key(q.graph_name), {}).setdefault(_key(q.subject), {"@id": ref(q.subject)})
        if q.predicate.value == RDF_NS + "type":
            key, coercion = ("rdf:type", None) if isinstance(q.object, ox.Literal) else ("@type", "@type")
        else:
            key, coercion = terms.get(q.predicate.value, (vocab(q.predicate.value), None))
        node.setdefault(key, []).append(value(q.object, coercion))
    dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode

    def text(node: dict) -> str:
        return dumps({k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in node.items()})

    default, items = graphs.pop("DEFAULT", {}), []
    for key in sorted(set(default) | set(graphs)):
        item = text(default[key]) if key in default else dumps({"@id": ref(
            ox.BlankNode(key[2:]) if key.startswith("_:") else ox.NamedNode(key[1:-1]))})
        if key in graphs:
            nested = ",\n".join("  " + text(graphs[key][s]) for s in sorted(graphs[key]))
            item = f'{item[:-1]}, "@graph": [\n{nested}\n]}}'
        items.append(item)
    entries = ",\n".join(f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
                         for k, v in context.items())
    body = "\n" + ",\n".join(items) + "\n]}\n" if items else "]}\n"
    return f'{{\n"@context": {{\n{entries}\n}},\n"@graph": [{body}'.encode()


# --- fixtures --------------------------------------------------------------------------

def _ex(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"http://ex.org/{name}")


@pytest.fixture(scope="module")
def tricky() -> ox.Store:
    """Terms whose N-Triples forms are prefixes of one another, escapes, blank nodes,
    the default graph between IRI and blank-node graph names, a triple in two graphs."""
    store = ox.Store()
    objects = [ox.Literal("a"), ox.Literal("a", language="en"), ox.Literal("a", language="en-US"),
               ox.Literal("a", datatype=_ex("dt")), ox.Literal("a b"), ox.Literal(""),
               ox.Literal('q"uo\\te\n\r\t\x01\x7f\x08\x0c é 😀 \u2028 \U0010ffff'),
               ox.Literal("1", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
               ox.Literal("1.5", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")),
               ox.BlankNode("b1"), ox.BlankNode("b10"), ox.BlankNode("b1x"),
               ox.BlankNode("0123456789abcdef0123456789abcdef"),
               _ex("a"), _ex("a/b"), _ex("a b".replace(" ", "%20")), _ex("é"), _ex("")]
    graphs = [ox.DefaultGraph(), _ex("g"), _ex("g/h"), _ex("G"), ox.BlankNode("g"), ox.BlankNode("gb")]
    for graph in graphs:
        for obj in objects:
            store.add(ox.Quad(_ex("s"), _ex("p"), obj, graph))
            store.add(ox.Quad(_ex("s"), _ex("p/q"), obj, graph))
            subject = _ex("x") if isinstance(obj, ox.Literal) else obj
            store.add(ox.Quad(subject, ox.NamedNode("http://schema.org/name"), ox.Literal("n"), graph))
    return store


class _PatternsOnly:
    """A store that can only match quad patterns, and dumps a graph from them, as
    kg.store.remote.RemoteStore does: what kg.export asks of any kg.store.Store."""

    def __init__(self, store: ox.Store):
        self.store = store

    def named_graphs(self):
        return self.store.named_graphs()

    def dump(self, output=None, format=None, *, from_graph=None):
        triples = [ox.Triple(q.subject, q.predicate, q.object)
                   for q in self.store.quads_for_pattern(None, None, None, from_graph)]
        return ox.serialize(triples, output, format)


def _same_dataset(data: bytes, fmt: str, store: ox.Store) -> None:
    parsed = set(ox.parse(data, format=RDF[fmt]))
    if fmt in ("nquads", "trig", "jsonld"):
        assert parsed == set(store)
    else:  # the default graph: the merge of the sources
        assert {(t.subject, t.predicate, t.object) for t in parsed} == \
            {(q.subject, q.predicate, q.object) for q in store if isinstance(q.graph_name, ox.DefaultGraph)}


# --- tests -----------------------------------------------------------------------------

# the seed guide's store in every run; the bundled store (270k quads, minutes for all
# five formats) in the slow run
STORES = [pytest.param("seed_store", id="seed"),
          pytest.param("bundled_store", id="bundled", marks=pytest.mark.slow)]


@pytest.mark.parametrize("fmt", list(export.FORMATS))
@pytest.mark.parametrize("which", STORES)
def test_a_real_store_exports_the_reference_bytes(which, request, tmp_path, fmt):
    store = request.getfixturevalue(which)
    new = export.export_bytes(store, fmt)
    assert new == reference_export_bytes(store, fmt)
    target = tmp_path / f"out{export.SUFFIXES[fmt]}"
    target.write_bytes(b"previous")
    export.export_file(store, fmt, target)
    assert target.read_bytes() == new
    assert not list(tmp_path.glob(".out*"))
    _same_dataset(new, fmt, store)
    if fmt == "jsonld":  # a second reader: rdflib (no blank nodes in kg's data)
        dataset = rdflib.Dataset()
        dataset.parse(data=new, format="json-ld")
        assert set(ox.parse(dataset.serialize(format="nquads", encoding="utf-8"), format=ox.RdfFormat.N_QUADS)) \
            == set(store)
        assert export.export_bytes(store, fmt) == new


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "nquads", "trig", "jsonld"])
def test_tricky_terms_keep_the_reference_order(tricky, fmt):
    new = export.export_bytes(tricky, fmt)
    assert new == reference_export_bytes(tricky, fmt)
    _same_dataset(new, fmt, tricky)


@pytest.mark.parametrize("fmt", list(export.FORMATS))
def test_empty_store(fmt):
    assert export.export_bytes(ox.Store(), fmt) == reference_export_bytes(ox.Store(), fmt)


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "jsonld"])
def test_without_external_sort(tricky, monkeypatch, fmt):
    monkeypatch.setattr(export, "SORT", None)
    assert export.export_bytes(tricky, fmt) == reference_export_bytes(tricky, fmt)


@pytest.mark.parametrize("fmt", list(export.FORMATS))
def test_export_asks_only_the_store_protocol(tricky, fmt):
    assert export.export_bytes(_PatternsOnly(tricky), fmt) == reference_export_bytes(tricky, fmt)


def test_a_failing_sort_leaves_the_previous_file(tricky, monkeypatch, tmp_path):
    monkeypatch.setattr(export, "SORT", "false")
    target = tmp_path / "out.ttl"
    target.write_text("previous", encoding="utf-8")
    with pytest.raises(ExportError, match="sorting the export failed"):
        export.export_file(tricky, "turtle", target)
    assert target.read_text(encoding="utf-8") == "previous"
    assert not list(tmp_path.glob(".out.ttl.*"))


def test_unknown_format_is_refused(tricky, tmp_path):
    with pytest.raises(ExportError, match="unknown format"):
        export.export_bytes(tricky, "rdfxml")
    with pytest.raises(ExportError, match="unknown format"):
        export.export_file(tricky, "rdfxml", tmp_path / "x")
    assert not list(tmp_path.iterdir())


# --- JSON-LD ---------------------------------------------------------------------------

def test_jsonld_embeds_the_published_context_whose_terms_cover_the_data(seed_store):
    context = json.loads(export.jsonld_context())
    assert export.jsonld_context() == files("kg.ontology").joinpath("context.jsonld").read_bytes()
    doc = json.loads(export.export_bytes(seed_store, "jsonld"))
    assert doc["@context"] == context["@context"] and list(doc) == ["@context", "@graph"]
    terms = context["@context"]
    assert {k: v for k, v in terms.items() if isinstance(v, str) and v.endswith(("/", "#"))} == PREFIXES
    # every property and class of the data reads as a short term
    used = {q.predicate.value for q in seed_store} | \
        {q.object.value for q in seed_store if q.predicate.value == RDF_NS + "type"}
    compacted = json.loads(export.export_bytes(seed_store, "jsonld"))

    def keys(nodes):
        for node in nodes:
            yield from (k for k in node if k != "@graph")
            if isinstance(node.get("@type"), str):
                yield node["@type"]
            else:
                yield from node.get("@type", [])
            yield from keys(node.get("@graph", []))

    found = set(keys(compacted["@graph"])) - {"@id", "@type"}
    # "title" is schema:title (job postings), so dcterms:title keeps its prefix
    assert {k for k in found if ":" in k} <= {"dcterms:title"}, found
    assert len(found) == len(used) - 1  # rdf:type is @type
    # the ontology's object properties are @id terms, its datatype properties are not
    ontology = rdflib.Graph().parse(data=files("kg.ontology").joinpath("kg.ttl").read_text(encoding="utf-8"),
                                    format="turtle")
    by_iri = {}
    for definition in terms.values():
        iri = definition if isinstance(definition, str) else definition["@id"]
        prefix, _, rest = iri.partition(":")
        by_iri[PREFIXES.get(prefix, prefix + ":") + rest] = definition
    owl = "http://www.w3.org/2002/07/owl#"
    for kind, coerced in [("ObjectProperty", True), ("DatatypeProperty", False)]:
        for prop in ontology.subjects(rdflib.RDF.type, rdflib.URIRef(owl + kind)):
            if str(prop) == PREFIXES["dcterms"] + "title":  # a prefixed key (see above)
                continue
            definition = by_iri[str(prop)]
            assert (isinstance(definition, dict) and definition.get("@type") == "@id") == coerced, prop


def test_jsonld_named_graphs_are_nodes_of_their_names(seed_store):
    doc = json.loads(export.export_bytes(seed_store, "jsonld"))
    named = {node["@id"]: node for node in doc["@graph"] if "@graph" in node}
    assert set(named) == {str(g.value) for g in seed_store.named_graphs()}
    ids = [node["@id"] for node in doc["@graph"]]
    assert len(ids) == len(set(ids))  # a graph's node is its default graph node too
    source = next(node for name, node in named.items() if "/source/" in name)
    assert source["@type"] and len(source["@graph"]) > 10


def test_jsonld_literals_and_blank_nodes_round_trip(tricky):
    data = export.export_bytes(tricky, "jsonld")
    assert export.export_bytes(tricky, "jsonld") == data
    doc = json.loads(data)
    text = data.decode("utf-8")
    assert '"@language": "en-us"' in text and '{"@id": "_:b1"}' in text and '"@id": "_:gb", "@graph"' in text
    assert set(ox.parse(data, format=ox.RdfFormat.JSON_LD)) == set(tricky)
    assert any(node.get("@id") == "_:g" for node in doc["@graph"])


def test_jsonld_numbers_booleans_and_odd_iris():
    store = ox.Store()
    ex, xsd = "http://ex.org/", XSD
    lit = ox.Literal
    for obj in [lit("7", datatype=ox.NamedNode(xsd + "integer")), lit("007", datatype=ox.NamedNode(xsd + "integer")),
                lit("-0", datatype=ox.NamedNode(xsd + "integer")), lit("-3", datatype=ox.NamedNode(xsd + "integer")),
                lit("12345678901234567890", datatype=ox.NamedNode(xsd + "integer")),
                lit("\u0663", datatype=ox.NamedNode(xsd + "integer")),
                lit("true", datatype=ox.NamedNode(xsd + "boolean")), lit("1", datatype=ox.NamedNode(xsd + "boolean")),
                lit("2024", datatype=ox.NamedNode(xsd + "gYear")), lit("x", datatype=ox.NamedNode(ex + "dt")),
                ox.NamedNode("http://schema.org/"), ox.NamedNode("http://schema.org//x"),
                ox.NamedNode("http://schema.org/a/b"), lit("a class")]:
        for p in ["http://schema.org/datePublished", "http://schema.org/author", ex + "p",
                  RDF_NS + "type"]:
            store.add(ox.Quad(ox.NamedNode(ex + "s"), ox.NamedNode(p), obj))
    data = export.export_bytes(store, "jsonld")
    assert data == reference_export_bytes(store, "jsonld")
    assert set(ox.parse(data, format=ox.RdfFormat.JSON_LD)) == set(store)
    dataset = rdflib.Dataset()
    dataset.parse(data=data, format="json-ld")
    assert len(dataset) == len(store)
    node = json.loads(data)["@graph"][0]
    assert 7 in node["http://ex.org/p"] and True in node["http://ex.org/p"]
    assert "2024" in node["datePublished"] and "schema:a/b" in node["author"]


def test_jsonld_refuses_an_iri_that_would_read_as_a_compact_one():
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("schema:x"), ox.NamedNode("http://ex.org/p"), ox.Literal("v")))
    with pytest.raises(ExportError, match="scheme"):
        export.export_bytes(store, "jsonld")
