"""Records -> quads: pure functions, no I/O.

Each source document becomes one named graph (its IRI is the document's IRI);
IRIs are minted from content, never from reading order, and no blank nodes are
used, so the same input always gives the same quads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad

from kg.namespaces import (
    DCTERMS, KG, PRO, PROV, RDF, SCHEMA, SKOS, VOID, XSD, digest, mint, slug,
)
from kg.records import Guide, Location
from kg.resolve import ResolvedGuide

A = NamedNode(RDF + "type")
XSD_INTEGER = NamedNode(XSD + "integer")
XSD_BOOLEAN = NamedNode(XSD + "boolean")
SHAPES_IRI = "https://w3id.org/kg/shapes"
VERSION = "0.1.0"


def S(local: str) -> NamedNode:  # noqa: N802 - mirrors the `schema:` prefix
    return NamedNode(SCHEMA + local)


def K(local: str) -> NamedNode:  # noqa: N802 - mirrors the `kg:` prefix
    return NamedNode(KG + local)


def _int(value: int) -> Literal:
    return Literal(str(value), datatype=XSD_INTEGER)


def _bool(value: bool) -> Literal:
    return Literal("true" if value else "false", datatype=XSD_BOOLEAN)


# --- IRIs -----------------------------------------------------------------------

def source_iri(file_name: str) -> NamedNode:
    return NamedNode(mint("source", slug(Path(file_name).stem, 80)))


def paper_iri(title: str) -> NamedNode:
    # the hash covers the whole title folded, so case and punctuation fixes keep the IRI
    return NamedNode(mint("paper", f"{slug(title, 60)}-{digest(slug(title, 10**6))}"))


def person_iri(pid: str) -> NamedNode:
    return NamedNode(mint("person", pid))


def topic_iri(label: str) -> NamedNode:
    return NamedNode(mint("topic", slug(label)))


def event_iri(name: str) -> NamedNode:
    return NamedNode(mint("event", slug(name)))


def org_iri(name: str, parent: str | None = None) -> NamedNode:
    return NamedNode(mint("org", *([slug(parent)] if parent else []), slug(name)))


def place_iri(location: Location) -> NamedNode:
    parts = [location.country, location.region or "", location.locality or ""]
    return NamedNode(mint("place", slug("-".join(p for p in parts if p))))


def role_iri(rid: str) -> NamedNode:
    return NamedNode(mint("role", rid))


# --- a guide -----------------------------------------------------------------------

def map_guide(resolved: ResolvedGuide, *, hidden_labels: dict[str, tuple[str, ...]] | None = None) -> list[Quad]:
    """All quads of one guide, in its own named graph; sorted for determinism."""
    guide = resolved.guide
    graph = source_iri(guide.file_name)
    out: list[Quad] = []

    def add(s: NamedNode, p: NamedNode, o: NamedNode | Literal) -> None:
        out.append(Quad(s, p, o, graph))

    def origin(s: NamedNode, line: int | None) -> None:
        add(s, NamedNode(PROV + "wasDerivedFrom"), graph)
        if line:
            add(s, K("sourceLine"), _int(line))

    _map_source(add, graph, guide)

    event = event_iri(guide.event) if guide.event else None
    if event:
        add(event, A, S("Event"))
        add(event, S("name"), Literal(guide.event))
        add(graph, S("about"), event)

    scheme = NamedNode(graph.value + "/topics")
    add(scheme, A, NamedNode(SKOS + "ConceptScheme"))
    add(scheme, A, S("DefinedTermSet"))
    add(scheme, NamedNode(SKOS + "prefLabel"), Literal(f"Research areas of “{guide.title}”"))
    add(scheme, NamedNode(PROV + "wasDerivedFrom"), graph)
    hidden = hidden_labels or {}
    for topic in guide.topics:
        t = topic_iri(topic.label)
        add(t, A, NamedNode(SKOS + "Concept"))
        add(t, A, S("DefinedTerm"))
        add(t, NamedNode(SKOS + "prefLabel"), Literal(topic.label))
        add(t, S("name"), Literal(topic.label))
        add(t, NamedNode(SKOS + "inScheme"), scheme)
        add(t, S("inDefinedTermSet"), scheme)
        add(scheme, NamedNode(SKOS + "hasTopConcept"), t)
        if topic.description:
            add(t, NamedNode(SKOS + "definition"), Literal(topic.description))
        for cue in hidden.get(topic.label, ()):
            add(t, NamedNode(SKOS + "hiddenLabel"), Literal(cue))
        origin(t, topic.line)

    for person in resolved.people.values():
        p = person_iri(person.id)
        add(p, A, S("Person"))
        add(p, S("name"), Literal(person.name))
        for alias in person.alternate_names:
            add(p, S("alternateName"), Literal(alias))
        add(p, NamedNode(PROV + "wasDerivedFrom"), graph)

    for paper, ids in zip(guide.papers, resolved.byline_ids, strict=True):
        iri = paper_iri(paper.title)
        add(iri, A, S("ScholarlyArticle"))
        add(iri, S("name"), Literal(paper.title))
        add(iri, K("asteriskMarked"), _bool(paper.starred))
        if event:
            add(iri, K("presentedAt"), event)
        if paper.topic:
            add(iri, NamedNode(DCTERMS + "subject"), topic_iri(paper.topic))
            add(iri, S("about"), topic_iri(paper.topic))
        origin(iri, paper.line)
        for position, (author, pid) in enumerate(zip(paper.authors, ids, strict=True), start=1):
            person = person_iri(pid)
            slot = NamedNode(f"{iri.value}/author/{position}")
            add(iri, S("author"), person)
            add(slot, A, NamedNode(PRO + "RoleInTime"))
            add(slot, NamedNode(PRO + "withRole"), NamedNode(PRO + "author"))
            add(slot, NamedNode(PRO + "isHeldBy"), person)
            add(slot, NamedNode(PRO + "relatesToDocument"), iri)
            add(slot, S("position"), _int(position))
            add(slot, K("printedName"), Literal(author.printed))
            add(person, NamedNode(PRO + "holdsRoleInTime"), slot)
            origin(slot, paper.authors_line)

    for figure, paper in resolved.figures:
        f = NamedNode(mint("figure", f"{slug(figure.file_name, 40)}-{digest(figure.file_name + figure.caption)}"))
        add(f, A, S("ImageObject"))
        add(f, S("name"), Literal(figure.file_name))
        add(f, S("caption"), Literal(figure.caption))
        fmt = _media_type(figure.file_name)
        if fmt:
            add(f, S("encodingFormat"), Literal(fmt))
        add(f, S("isPartOf"), paper_iri(paper.title))
        origin(f, figure.line)

    _map_roles(add, origin, resolved)
    return sorted(set(out), key=_quad_key)


def _map_source(add, graph: NamedNode, guide: Guide) -> None:
    add(graph, A, NamedNode(PROV + "Entity"))
    add(graph, A, S("Article"))
    add(graph, NamedNode(DCTERMS + "title"), Literal(guide.title))
    if guide.summary:
        add(graph, S("description"), Literal(guide.summary))
    if guide.intro:
        add(graph, S("abstract"), Literal(guide.intro))
    add(graph, K("fileName"), Literal(guide.file_name))
    add(graph, K("sha256"), Literal(guide.sha256))
    if guide.asterisk_note:
        add(graph, K("asteriskNote"), Literal(guide.asterisk_note))


def map_rdf_source(graph: NamedNode, file_name: str, sha256: str) -> list[Quad]:
    """The description of a hand-made RDF file loaded as a source graph."""
    return [
        Quad(graph, A, NamedNode(PROV + "Entity"), graph),
        Quad(graph, NamedNode(DCTERMS + "title"), Literal(file_name), graph),
        Quad(graph, K("fileName"), Literal(file_name), graph),
        Quad(graph, K("sha256"), Literal(sha256), graph),
    ]


def _map_roles(add, origin, resolved: ResolvedGuide) -> None:
    places: set[tuple[NamedNode, Location]] = set()
    orgs: dict[NamedNode, tuple[str, NamedNode | None]] = {}
    for role in resolved.roles:
        r = role_iri(role.id)
        add(r, A, S("Occupation"))
        add(r, S("name"), Literal(role.title))
        add(r, S("description"), Literal(role.description))
        add(r, K("isInternship"), _bool(role.internship))
        add(r, NamedNode(PROV + "wasDerivedFrom"), source_iri(resolved.guide.file_name))
        for match in resolved.role_topics.get(role.id, ()):
            t = topic_iri(match.topic)
            link = NamedNode(f"{r.value}/topic/{slug(match.topic)}")
            add(r, K("relatedTopic"), t)
            add(link, A, K("TopicLink"))
            add(link, K("role"), r)
            add(link, K("topic"), t)
            for words in match.evidence:
                add(link, K("evidence"), Literal(words))
            add(link, K("score"), _int(match.score))
            add(link, NamedNode(PROV + "wasDerivedFrom"), source_iri(resolved.guide.file_name))
        # identical listings at one place are told apart by their order there
        seen: dict[NamedNode, int] = defaultdict(int)
        for posting in sorted(role.postings, key=lambda p: p.line):
            place = place_iri(posting.location)
            places.add((place, posting.location))
            seen[place] += 1
            j = NamedNode(f"{r.value}/posting/{place.value.rsplit('/', 1)[1]}/{seen[place]}")
            add(j, A, S("JobPosting"))
            add(j, S("title"), Literal(role.title))
            add(j, S("description"), Literal(posting.description))
            add(j, S("relevantOccupation"), r)
            add(j, S("jobLocation"), place)
            add(j, K("isInternship"), _bool(posting.internship))
            if posting.internship:
                add(j, S("employmentType"), Literal("INTERN"))
            org_name = posting.organisation or "Unknown organisation"
            org = org_iri(org_name)
            orgs[org] = (org_name, None)
            add(j, S("hiringOrganization"), org)
            if posting.team:
                team = org_iri(posting.team, org_name)
                orgs[team] = (posting.team, org)
                add(j, S("employmentUnit"), team)
            origin(j, posting.line)
    for org, (name, parent) in orgs.items():
        add(org, A, S("Organization"))
        add(org, S("name"), Literal(name))
        if parent:
            add(org, S("parentOrganization"), parent)
    for place, loc in places:
        address = NamedNode(place.value + "/address")
        add(place, A, S("Place"))
        add(place, S("name"), Literal(", ".join(p for p in (loc.locality, loc.region, loc.country) if p)))
        add(place, S("address"), address)
        add(address, A, S("PostalAddress"))
        add(address, S("addressCountry"), Literal(loc.country))
        if loc.region:
            add(address, S("addressRegion"), Literal(loc.region))
        if loc.locality:
            add(address, S("addressLocality"), Literal(loc.locality))


def _media_type(file_name: str) -> str | None:
    ext = Path(file_name).suffix.lower().lstrip(".")
    return {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
            "svg": "image/svg+xml", "webp": "image/webp", "tif": "image/tiff",
            "tiff": "image/tiff"}.get(ext)


# --- the build and the dataset -----------------------------------------------------

META_GRAPH = "graph/meta"


def map_build(sources: Iterable[NamedNode], class_counts: dict[str, int], triples: int) -> list[Quad]:
    """The build activity and the VoID description of the dataset, in the meta graph."""
    graph = NamedNode(mint(*META_GRAPH.split("/")))
    sources = sorted(set(sources), key=lambda n: n.value)
    build = NamedNode(mint("build", digest("\n".join(s.value for s in sources))))
    dataset = NamedNode(mint("dataset"))
    quads = [
        Quad(build, A, NamedNode(PROV + "Activity"), graph),
        Quad(build, K("softwareVersion"), Literal(f"kg {VERSION}"), graph),
        Quad(dataset, A, NamedNode(VOID + "Dataset"), graph),
        Quad(dataset, NamedNode(VOID + "triples"), _int(triples), graph),
        Quad(dataset, NamedNode(VOID + "entities"), _int(sum(class_counts.values())), graph),
        Quad(dataset, NamedNode(DCTERMS + "conformsTo"), NamedNode(SHAPES_IRI), graph),
        Quad(dataset, NamedNode(PROV + "wasGeneratedBy"), build, graph),
    ]
    for source in sources:
        quads.append(Quad(build, NamedNode(PROV + "used"), source, graph))
        quads.append(Quad(dataset, NamedNode(PROV + "wasDerivedFrom"), source, graph))
    for cls, n in sorted(class_counts.items()):
        part = NamedNode(mint("dataset", "class", slug(cls.rsplit("/", 1)[-1].rsplit("#", 1)[-1])))
        quads += [
            Quad(dataset, NamedNode(VOID + "classPartition"), part, graph),
            Quad(part, NamedNode(VOID + "class"), NamedNode(cls), graph),
            Quad(part, NamedNode(VOID + "entities"), _int(n), graph),
        ]
    return quads


def _quad_key(q: Quad) -> tuple[str, str, str, str]:
    return (str(q.graph_name), str(q.subject), str(q.predicate), str(q.object))


def sort_quads(quads: Iterable[Quad]) -> Iterator[Quad]:
    return iter(sorted(quads, key=_quad_key))
