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

    _map_topics(add, origin, graph, guide, hidden_labels or {})

    for person in resolved.people.values():
        p = person_iri(person.id)
        add(p, A, S("Person"))
        add(p, S("name"), Literal(person.name))
        for alias in person.alternate_names:
            add(p, S("alternateName"), Literal(alias))
        add(p, NamedNode(PROV + "wasDerivedFrom"), graph)

    _map_papers(add, origin, resolved, event)
    _map_figures(add, origin, resolved)
    _map_roles(add, origin, resolved)
    return sorted(set(out), key=_quad_key)


def _map_topics(add, origin, graph: NamedNode, guide: Guide, hidden: dict[str, tuple[str, ...]]) -> None:
    """The guide's research areas: a SKOS concept scheme (and schema:DefinedTermSet) of
    its topics, each with the cues `hidden` holds for it as skos:hiddenLabel."""
    scheme = NamedNode(graph.value + "/topics")
    add(scheme, A, NamedNode(SKOS + "ConceptScheme"))
    add(scheme, A, S("DefinedTermSet"))
    add(scheme, NamedNode(SKOS + "prefLabel"), Literal(f"Research areas of “{guide.title}”"))
    add(scheme, NamedNode(PROV + "wasDerivedFrom"), graph)
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


def _map_papers(add, origin, resolved: ResolvedGuide, event: NamedNode | None) -> None:
    """The guide's papers, each with its byline as one pro:RoleInTime per author slot."""
    guide = resolved.guide
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


def _map_figures(add, origin, resolved: ResolvedGuide) -> None:
    """The guide's figures, each part of its paper."""
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
    Only what one file needs is held (see _AnthologyFile): its paper IRIs until its
    <event>, plus the spellings stated per person id across files.
    """
    state = _AnthologyFile(resolver)
    path: str | None = None
    for record in records:
        if record.path != path:
            path = record.path
            file_name = Path(path).name
            state.start(source_iri(file_name))
            yield from map_anthology_source(state.graph, file_name, digests[path], record.collection_id)
        if isinstance(record, AnthologyPaper):
            yield from _anthology_paper(state, record)
        elif isinstance(record, AnthologyVolume):
            yield from _anthology_volume(state, record)
        elif isinstance(record, AnthologyEvent):
            yield from _anthology_event(state, record)


# the hot path's terms, made once
_DERIVED = NamedNode(PROV + "wasDerivedFrom")
_LINE = K("sourceLine")
_NAME = S("name")
_ALTERNATE_NAME = S("alternateName")
_POSITION = S("position")
_PRINTED = K("printedName")
_ROLE_IN_TIME = NamedNode(PRO + "RoleInTime")
_WITH_ROLE = NamedNode(PRO + "withRole")
_HELD_BY = NamedNode(PRO + "isHeldBy")
_RELATES = NamedNode(PRO + "relatesToDocument")
_AUTHOR_ROLE = NamedNode(PRO + "author")
_EDITOR_ROLE = NamedNode(PRO + "editor")
_PART_OF = S("isPartOf")
_IDENTIFIER = S("identifier")
_ARTICLE = S("ScholarlyArticle")
_PERSON = S("Person")
_TRUE = _bool(True)


class _AnthologyFile:
    """What map_anthology holds while it maps one collection file: the file's graph,
    the people it has named and its paper IRIs (until its <event>), and across files
    the spellings stated per person id: a person is described (type, canonical name,
    parts, ORCID) in the graph of the first file that names them, each file they appear
    in is one of their prov:wasDerivedFrom, and each other spelling becomes one
    schema:alternateName, where it is first seen."""

    def __init__(self, resolver: NameResolver):
        self.resolver = resolver
        self.known: dict[str, set[str]] = {}  # person id -> the spellings stated so far
        self.person_base, self.paper_base = mint("person", ""), mint("anthology", "")
        self.person_iris: dict[str, NamedNode] = {}
        self.integers: dict[int, Literal] = {}
        self.graph = NamedNode(mint("source", "none"))
        self.people_here: set[str] = set()
        self.papers_here: list[NamedNode] = []

    def start(self, graph: NamedNode) -> None:
        """A new collection file, mapped into `graph`."""
        self.graph = graph
        self.people_here.clear()
        self.papers_here.clear()

    def number(self, value: int) -> Literal:
        literal = self.integers.get(value)
        if literal is None:
            literal = self.integers[value] = int_literal(value)
        return literal

    def person(self, p: AnthologyPerson) -> tuple[NamedNode, list[Quad]]:
        """The person's IRI, and what this file adds to their description: the whole
        description the first time they are seen, later only new spellings and the
        file as a source. Stating a name in every file that names a prolific author
        would make each name lookup on the union graph return it hundreds of times."""
        identity = self.resolver.resolve_person(p)
        pid, graph = identity.id, self.graph
        iri = self.person_iris.get(pid)
        if iri is None:
            iri = self.person_iris[pid] = NamedNode(self.person_base + pid)
        out: list[Quad] = []
        if pid not in self.people_here:
            self.people_here.add(pid)
            out.append(Quad(iri, _DERIVED, graph, graph))
        spellings = self.known.get(pid)
        if spellings is None:
            canonical = _printed(identity.first, identity.last)
            spellings = self.known[pid] = {canonical}
            out += [Quad(iri, A, _PERSON, graph), Quad(iri, _NAME, Literal(canonical), graph)]
            if identity.first:
                out.append(Quad(iri, S("givenName"), Literal(identity.first), graph))
            out.append(Quad(iri, S("familyName"), Literal(identity.last), graph))
            if identity.orcid:
                out.append(Quad(iri, S("identifier"), Literal(identity.orcid), graph))
        for spelling in (_printed(p.first, p.last), *(_printed(v.first, v.last) for v in p.variants)):
            if spelling not in spellings:
                spellings.add(spelling)
                out.append(Quad(iri, _ALTERNATE_NAME, Literal(spelling), graph))
        return iri, out

    def slots(self, document: NamedNode, kind: str, role: NamedNode, people, line: int) -> Iterator[Quad]:
        """One pro:RoleInTime per author (or editor) slot, as the guide mapping makes them."""
        graph = self.graph
        edge = S("author") if kind == "author" else S("editor")
        prefix = f"{document.value}/{kind}/"
        for p in people:
            who, described = self.person(p)
            yield from described
            slot = NamedNode(f"{prefix}{p.position}")
            yield Quad(document, edge, who, graph)
            yield Quad(slot, A, _ROLE_IN_TIME, graph)
            yield Quad(slot, _WITH_ROLE, role, graph)
            yield Quad(slot, _HELD_BY, who, graph)
            yield Quad(slot, _RELATES, document, graph)
            yield Quad(slot, _POSITION, self.number(p.position), graph)
            yield Quad(slot, _PRINTED, Literal(_printed(p.first, p.last)), graph)
            yield Quad(slot, _DERIVED, graph, graph)
            yield Quad(slot, _LINE, self.number(line), graph)


def _anthology_paper(state: _AnthologyFile, record: AnthologyPaper) -> Iterator[Quad]:
    """A paper: its own facts, links, status, author slots and editors."""
    graph = state.graph
    iri = NamedNode(state.paper_base + record.anthology_id)
    state.papers_here.append(iri)
    yield Quad(iri, A, _ARTICLE, graph)
    yield Quad(iri, _NAME, Literal(record.title), graph)
    yield Quad(iri, _IDENTIFIER, Literal(record.anthology_id), graph)
    yield Quad(iri, _PART_OF, NamedNode(state.paper_base + record.volume_id), graph)
    yield Quad(iri, _DERIVED, graph, graph)
    yield Quad(iri, _LINE, state.number(record.line), graph)
    if record.abstract:
        yield Quad(iri, S("abstract"), Literal(record.abstract), graph)
    if record.url:
        url = record.url if record.url_is_external else f"{ANTHOLOGY_SITE}{record.url}/"
        yield Quad(iri, S("url"), _iri(url), graph)
    if record.doi:
        yield Quad(iri, S("sameAs"), _iri(DOI_RESOLVER + record.doi), graph)
    if record.year and _YEAR.match(record.year):
        yield Quad(iri, S("datePublished"), Literal(record.year, datatype=XSD_GYEAR), graph)
    yield from _withdrawn(iri, record, graph)
    yield from state.slots(iri, "author", _AUTHOR_ROLE, record.authors, record.line)
    for editor in record.editors:  # rare: editors named on a paper; no slot, a plain edge
        who, described = state.person(editor)
        yield from described
        yield Quad(iri, S("editor"), who, graph)


def _withdrawn(iri: NamedNode, record: AnthologyPaper, graph: NamedNode) -> Iterator[Quad]:
    """A retracted or removed paper's flag, with its date and note."""
    if record.retracted:
        yield Quad(iri, K("retracted"), _TRUE, graph)
        note = ": ".join(x for x in (record.retracted_date, record.retracted_note) if x)
        if note:
            yield Quad(iri, K("retractionNote"), Literal(note), graph)
    if record.removed:
        yield Quad(iri, K("removed"), _TRUE, graph)
        note = ": ".join(x for x in (record.removed_date, record.removed_note) if x)
        if note:
            yield Quad(iri, K("removalNote"), Literal(note), graph)


def _anthology_volume(state: _AnthologyFile, record: AnthologyVolume) -> Iterator[Quad]:
    """A volume: its own facts, links and editor slots."""
    graph = state.graph
    iri = anthology_volume_iri(record.anthology_id)
    yield Quad(iri, A, S("PublicationVolume"), graph)
    yield Quad(iri, _NAME, Literal(record.title), graph)
    yield Quad(iri, S("identifier"), Literal(record.anthology_id), graph)
    yield Quad(iri, _DERIVED, graph, graph)
    yield Quad(iri, _LINE, int_literal(record.line), graph)
    if record.year and _YEAR.match(record.year):
        yield Quad(iri, S("datePublished"), Literal(record.year, datatype=XSD_GYEAR), graph)
    if record.url:
        external = record.url.lower().startswith(("http://", "https://"))
        yield Quad(iri, S("url"), _iri(record.url if external else f"{ANTHOLOGY_SITE}{record.url}/"), graph)
    if record.doi:
        yield Quad(iri, S("sameAs"), _iri(DOI_RESOLVER + record.doi), graph)
    yield from state.slots(iri, "editor", _EDITOR_ROLE, record.editors, record.line)


def _anthology_event(state: _AnthologyFile, record: AnthologyEvent) -> Iterator[Quad]:
    """An event: its names, its volumes, and the file's papers presented at it."""
    graph = state.graph
    event = event_iri(record.id)
    yield Quad(event, A, S("Event"), graph)
    yield Quad(event, _NAME, Literal(anthology_event_name(record.id)), graph)
    if record.title:
        yield Quad(event, _ALTERNATE_NAME, Literal(record.title), graph)
    yield Quad(event, _DERIVED, graph, graph)
    yield Quad(graph, S("about"), event, graph)
    for volume in record.volumes:
        yield Quad(anthology_volume_iri(volume), S("isPartOf"), event, graph)
    # the file's own papers; those of colocated volumes live in other files
    for paper in state.papers_here:
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
