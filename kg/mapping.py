"""Records -> quads: pure functions, no I/O.

Each source document becomes one named graph (its IRI is the document's IRI);
IRIs are minted from content, never from reading order, and no blank nodes are
used, so the same input always gives the same quads.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pyoxigraph import Literal, NamedNode, Quad

from kg.names import slug
from kg.namespaces import (
    DCTERMS,
    KG,
    PRO,
    PROV,
    RDF,
    SCHEMA,
    SKOS,
    VOID,
    XSD,
    digest,
    mint,
)
from kg.records import (
    AnthologyEvent,
    AnthologyPaper,
    AnthologyPerson,
    AnthologyVolume,
    Guide,
    Location,
)
from kg.resolve import ResolvedGuide

if TYPE_CHECKING:
    from kg.sources.anthology import AnthologyRecord, NameResolver

A = NamedNode(RDF + "type")
XSD_INTEGER = NamedNode(XSD + "integer")
XSD_BOOLEAN = NamedNode(XSD + "boolean")
XSD_GYEAR = NamedNode(XSD + "gYear")
SHAPES_IRI = "https://w3id.org/kg/shapes"
VERSION = "0.1.0"


def S(local: str) -> NamedNode:
    return NamedNode(SCHEMA + local)


def K(local: str) -> NamedNode:
    return NamedNode(KG + local)


def int_literal(value: int) -> Literal:
    """An xsd:integer literal (what SHACL datatype checks and counts expect)."""
    return Literal(str(value), datatype=XSD_INTEGER)


def _bool(value: bool) -> Literal:
    return Literal("true" if value else "false", datatype=XSD_BOOLEAN)


# --- IRIs -----------------------------------------------------------------------

def source_iri(file_name: str) -> NamedNode:
    """The source document's IRI, from its file name without the extension(s):
    `amazon-acl-2024-guide.txt` -> source/amazon-acl-2024-guide, `2024.acl.xml.gz` -> source/2024-acl."""
    name = Path(file_name).name
    lower = name.lower()
    for suffix in (".xml.gz", ".xml"):
        if lower.endswith(suffix):
            return NamedNode(mint("source", slug(name[: -len(suffix)], 80)))
    return NamedNode(mint("source", slug(Path(name).stem, 80)))


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
            add(s, K("sourceLine"), int_literal(line))

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
        for topic in paper.topics:
            add(iri, NamedNode(DCTERMS + "subject"), topic_iri(topic))
            add(iri, S("about"), topic_iri(topic))
        origin(iri, paper.line)
        for position, (author, pid) in enumerate(zip(paper.authors, ids, strict=True), start=1):
            person = person_iri(pid)
            slot = NamedNode(f"{iri.value}/author/{position}")
            add(iri, S("author"), person)
            add(slot, A, NamedNode(PRO + "RoleInTime"))
            add(slot, NamedNode(PRO + "withRole"), NamedNode(PRO + "author"))
            add(slot, NamedNode(PRO + "isHeldBy"), person)
            add(slot, NamedNode(PRO + "relatesToDocument"), iri)
            add(slot, S("position"), int_literal(position))
            add(slot, K("printedName"), Literal(author.printed))
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
            add(link, K("score"), int_literal(match.score))
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


# --- ACL Anthology collections -------------------------------------------------------

ANTHOLOGY_SITE = "https://aclanthology.org/"
DOI_RESOLVER = "https://doi.org/"
ANTHOLOGY_REPOSITORY = "https://github.com/acl-org/acl-anthology"
_YEAR = re.compile(r"^[0-9]{4}$")
# characters an IRI may not hold (RFC 3987) are percent-encoded in URLs and DOIs
_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|\\^`\x7f]')


def anthology_paper_iri(anthology_id: str) -> NamedNode:
    """A paper by its Anthology ID, e.g. .../anthology/2024.acl-long.123."""
    return NamedNode(mint("anthology", anthology_id))


def anthology_volume_iri(anthology_id: str) -> NamedNode:
    """A volume by its Anthology ID, e.g. .../anthology/2024.acl-long."""
    return NamedNode(mint("anthology", anthology_id))


def anthology_event_name(event_id: str) -> str:
    """"acl-2024" -> "ACL 2024": the name a guide gives the same conference."""
    venue, _, year = event_id.rpartition("-")
    return f"{venue.upper()} {year}" if venue and _YEAR.match(year) else event_id


def _iri(text: str) -> NamedNode:
    return NamedNode(_IRI_UNSAFE.sub(lambda m: f"%{ord(m.group(0)):02X}", text))


def _printed(first: str | None, last: str) -> str:
    return f"{first} {last}" if first else last


def map_anthology(records: Iterable[AnthologyRecord], resolver: NameResolver,
                  digests: Mapping[str, str]) -> Iterator[Quad]:
    """Quads of Anthology records (as `read_anthology` yields them), streamed.

    Each collection file is its own named graph and prov:Entity (`digests` maps a
    record's `path` to the SHA-256 of the file's bytes as stored, compressed or not).
    Only what one file needs is held: its paper IRIs until its <event>, plus the
    spellings stated per person id across files: a person is described (type,
    canonical name, parts, ORCID) in the graph of the first file that names them,
    each file they appear in is one of their prov:wasDerivedFrom, and each other
    spelling becomes one schema:alternateName, where it is first seen.
    """
    known: dict[str, set[str]] = {}  # person id -> the spellings stated so far
    # the hot path: IRI prefixes minted once, person IRIs and integers made once
    person_base, anthology_base = mint("person", ""), mint("anthology", "")
    person_iris: dict[str, NamedNode] = {}
    integers: dict[int, Literal] = {}

    def number(value: int) -> Literal:
        literal = integers.get(value)
        if literal is None:
            literal = integers[value] = int_literal(value)
        return literal

    path: str | None = None
    graph = NamedNode(mint("source", "none"))
    people_here: set[str] = set()
    papers_here: list[NamedNode] = []
    derived = NamedNode(PROV + "wasDerivedFrom")
    line_p = K("sourceLine")
    name_p = S("name")
    alt_p = S("alternateName")
    author_p = S("author")
    position_p = S("position")
    printed_p = K("printedName")
    role_in_time = NamedNode(PRO + "RoleInTime")
    with_role = NamedNode(PRO + "withRole")
    held_by = NamedNode(PRO + "isHeldBy")
    relates = NamedNode(PRO + "relatesToDocument")
    author_role = NamedNode(PRO + "author")
    editor_role = NamedNode(PRO + "editor")
    person_cls = S("Person")
    part_of = S("isPartOf")
    identifier_p = S("identifier")
    paper_cls = S("ScholarlyArticle")
    true = _bool(True)

    def person(p: AnthologyPerson) -> tuple[NamedNode, list[Quad]]:
        """The person's IRI, and what this file adds to their description: the whole
        description the first time they are seen, later only new spellings and the
        file as a source. Stating a name in every file that names a prolific author
        would make each name lookup on the union graph return it hundreds of times."""
        identity = resolver.resolve_person(p)
        pid = identity.id
        iri = person_iris.get(pid)
        if iri is None:
            iri = person_iris[pid] = NamedNode(person_base + pid)
        out: list[Quad] = []
        if pid not in people_here:
            people_here.add(pid)
            out.append(Quad(iri, derived, graph, graph))
        spellings = known.get(pid)
        if spellings is None:
            canonical = _printed(identity.first, identity.last)
            spellings = known[pid] = {canonical}
            out += [Quad(iri, A, person_cls, graph), Quad(iri, name_p, Literal(canonical), graph)]
            if identity.first:
                out.append(Quad(iri, S("givenName"), Literal(identity.first), graph))
            out.append(Quad(iri, S("familyName"), Literal(identity.last), graph))
            if identity.orcid:
                out.append(Quad(iri, S("identifier"), Literal(identity.orcid), graph))
        for spelling in (_printed(p.first, p.last), *(_printed(v.first, v.last) for v in p.variants)):
            if spelling not in spellings:
                spellings.add(spelling)
                out.append(Quad(iri, alt_p, Literal(spelling), graph))
        return iri, out

    def slots(document: NamedNode, kind: str, role: NamedNode, people, line: int) -> Iterator[Quad]:
        """One pro:RoleInTime per author (or editor) slot, as the guide mapping makes them."""
        edge = author_p if kind == "author" else S("editor")
        prefix = f"{document.value}/{kind}/"
        for p in people:
            who, described = person(p)
            yield from described
            slot = NamedNode(f"{prefix}{p.position}")
            yield Quad(document, edge, who, graph)
            yield Quad(slot, A, role_in_time, graph)
            yield Quad(slot, with_role, role, graph)
            yield Quad(slot, held_by, who, graph)
            yield Quad(slot, relates, document, graph)
            yield Quad(slot, position_p, number(p.position), graph)
            yield Quad(slot, printed_p, Literal(_printed(p.first, p.last)), graph)
            yield Quad(slot, derived, graph, graph)
            yield Quad(slot, line_p, number(line), graph)

    for record in records:
        if record.path != path:
            path = record.path
            file_name = Path(path).name
            graph = source_iri(file_name)
            people_here.clear()
            papers_here.clear()
            yield from map_anthology_source(graph, file_name, digests[path], record.collection_id)
        if isinstance(record, AnthologyPaper):
            iri = NamedNode(anthology_base + record.anthology_id)
            papers_here.append(iri)
            yield Quad(iri, A, paper_cls, graph)
            yield Quad(iri, name_p, Literal(record.title), graph)
            yield Quad(iri, identifier_p, Literal(record.anthology_id), graph)
            yield Quad(iri, part_of, NamedNode(anthology_base + record.volume_id), graph)
            yield Quad(iri, derived, graph, graph)
            yield Quad(iri, line_p, number(record.line), graph)
            if record.abstract:
                yield Quad(iri, S("abstract"), Literal(record.abstract), graph)
            if record.url:
                url = record.url if record.url_is_external else f"{ANTHOLOGY_SITE}{record.url}/"
                yield Quad(iri, S("url"), _iri(url), graph)
            if record.doi:
                yield Quad(iri, S("sameAs"), _iri(DOI_RESOLVER + record.doi), graph)
            if record.year and _YEAR.match(record.year):
                yield Quad(iri, S("datePublished"), Literal(record.year, datatype=XSD_GYEAR), graph)
            if record.retracted:
                yield Quad(iri, K("retracted"), true, graph)
                note = ": ".join(x for x in (record.retracted_date, record.retracted_note) if x)
                if note:
                    yield Quad(iri, K("retractionNote"), Literal(note), graph)
            if record.removed:
                yield Quad(iri, K("removed"), true, graph)
                note = ": ".join(x for x in (record.removed_date, record.removed_note) if x)
                if note:
                    yield Quad(iri, K("removalNote"), Literal(note), graph)
            yield from slots(iri, "author", author_role, record.authors, record.line)
            for editor in record.editors:  # rare: editors named on a paper; no slot, a plain edge
                who, described = person(editor)
                yield from described
                yield Quad(iri, S("editor"), who, graph)
        elif isinstance(record, AnthologyVolume):
            iri = anthology_volume_iri(record.anthology_id)
            yield Quad(iri, A, S("PublicationVolume"), graph)
            yield Quad(iri, name_p, Literal(record.title), graph)
            yield Quad(iri, S("identifier"), Literal(record.anthology_id), graph)
            yield Quad(iri, derived, graph, graph)
            yield Quad(iri, line_p, int_literal(record.line), graph)
            if record.year and _YEAR.match(record.year):
                yield Quad(iri, S("datePublished"), Literal(record.year, datatype=XSD_GYEAR), graph)
            if record.url:
                external = record.url.lower().startswith(("http://", "https://"))
                yield Quad(iri, S("url"), _iri(record.url if external else f"{ANTHOLOGY_SITE}{record.url}/"), graph)
            if record.doi:
                yield Quad(iri, S("sameAs"), _iri(DOI_RESOLVER + record.doi), graph)
            yield from slots(iri, "editor", editor_role, record.editors, record.line)
        elif isinstance(record, AnthologyEvent):
            event = event_iri(record.id)
            yield Quad(event, A, S("Event"), graph)
            yield Quad(event, name_p, Literal(anthology_event_name(record.id)), graph)
            if record.title:
                yield Quad(event, alt_p, Literal(record.title), graph)
            yield Quad(event, derived, graph, graph)
            yield Quad(graph, S("about"), event, graph)
            for volume in record.volumes:
                yield Quad(anthology_volume_iri(volume), S("isPartOf"), event, graph)
            # the file's own papers; those of colocated volumes live in other files
            for paper in papers_here:
                yield Quad(paper, K("presentedAt"), event, graph)


def map_anthology_source(graph: NamedNode, file_name: str, sha256: str, collection_id: str) -> list[Quad]:
    """The description of one Anthology collection file as a source graph."""
    return [
        Quad(graph, A, NamedNode(PROV + "Entity"), graph),
        Quad(graph, NamedNode(DCTERMS + "title"), Literal(f"ACL Anthology collection {collection_id}"), graph),
        Quad(graph, K("fileName"), Literal(file_name), graph),
        Quad(graph, K("sha256"), Literal(sha256), graph),
        Quad(graph, NamedNode(DCTERMS + "source"), NamedNode(ANTHOLOGY_REPOSITORY), graph),
    ]


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
        Quad(dataset, NamedNode(VOID + "triples"), int_literal(triples), graph),
        Quad(dataset, NamedNode(VOID + "entities"), int_literal(sum(class_counts.values())), graph),
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
            Quad(part, NamedNode(VOID + "entities"), int_literal(n), graph),
        ]
    return quads


def _quad_key(q: Quad) -> tuple[str, str, str, str]:
    return (str(q.graph_name), str(q.subject), str(q.predicate), str(q.object))


def sort_quads(quads: Iterable[Quad]) -> Iterator[Quad]:
    return iter(sorted(quads, key=_quad_key))
