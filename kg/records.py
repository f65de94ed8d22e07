"""Typed records passed from the readers to resolution and mapping.

Readers yield these and nothing else; every record keeps the line it came from
so that validation reports and `source-of` can point back into the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Issue:
    """A line the reader could not place, or a fact it could only guess."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: warning: {self.message}"


@dataclass(frozen=True)
class Author:
    """One byline slot: the name as printed, the name without nicknames, aliases."""

    printed: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Paper:
    title: str
    authors: tuple[Author, ...]
    topics: tuple[str, ...]  # the headings it sits under (none on a page without headings)
    starred: bool  # marked with an asterisk in the guide
    line: int  # line of the title
    authors_line: int

    @property
    def topic(self) -> str | None:
        """The first heading it sits under."""
        return self.topics[0] if self.topics else None


@dataclass(frozen=True)
class Topic:
    label: str
    line: int
    description: str | None = None


@dataclass(frozen=True)
class Figure:
    file_name: str
    caption: str
    line: int
    paper_title: str | None  # the title the caption names, as quoted in it
    preceding_title: str | None  # the paper printed just above the figure


@dataclass(frozen=True)
class Location:
    text: str
    country: str
    region: str | None
    locality: str | None


@dataclass(frozen=True)
class Posting:
    location: Location
    description: str
    title: str | None
    team: str | None
    organisation: str | None
    internship: bool
    line: int  # line of the location


@dataclass(frozen=True)
class Guide:
    """Everything one guide says, in reading order."""

    path: str  # as given
    file_name: str
    sha256: str
    title: str
    summary: str | None
    intro: str | None
    organisation: str | None
    event: str | None
    asterisk_note: str | None
    topics: tuple[Topic, ...]
    papers: tuple[Paper, ...]
    figures: tuple[Figure, ...]
    postings: tuple[Posting, ...]
    issues: tuple[Issue, ...] = field(default=())


# --- ACL Anthology records (kg/sources/anthology.py) ---
# Slotted and frozen: the whole Anthology is ~100k papers and ~370k name slots.


@dataclass(frozen=True, slots=True)
class AnthologyName:
    """A name in another script, from `<variant script="...">` (e.g. "hani")."""

    first: str | None
    last: str
    script: str | None


@dataclass(frozen=True, slots=True)
class AnthologyPerson:
    """One `<author>` or `<editor>` slot exactly as printed (not yet resolved to a person)."""

    first: str | None  # None when <first> is missing or empty
    last: str
    position: int  # 1-based, in the order of the byline (authors) or editor list
    id: str | None  # the explicit `id` attribute, which tells homonyms apart
    orcid: str | None
    affiliation: str | None
    variants: tuple[AnthologyName, ...] = ()


@dataclass(frozen=True, slots=True)
class AnthologyIdentity:
    """The person a printed name stands for, per name_variants.yaml and the Anthology's rules."""

    id: str  # Anthology person id: explicit, listed, or the slug of the name
    first: str | None  # canonical name
    last: str
    orcid: str | None
    listed: bool  # the id has an entry in name_variants.yaml
    ambiguous: bool  # the name is listed for several people and no id told them apart


@dataclass(frozen=True, slots=True)
class AnthologyFrontmatter:
    """A volume's front matter: it has an Anthology ID (paper 0) but is not a paper."""

    anthology_id: str  # e.g. 2024.acl-long.0, P19-1000, W19-0100
    url: str | None
    pages: str | None
    doi: str | None
    bibkey: str | None
    line: int


@dataclass(frozen=True, slots=True)
class AnthologyVolume:
    anthology_id: str  # e.g. 2024.acl-long, P19-1, W19-01
    collection_id: str  # e.g. 2024.acl, P19
    volume_id: str  # as in <volume id>: long, 1
    volume_type: str | None  # proceedings | journal
    title: str  # <booktitle>, markup flattened
    short_title: str | None
    year: str | None
    month: str | None
    publisher: str | None
    address: str | None
    venues: tuple[str, ...]  # venue ids, e.g. ("acl",)
    editors: tuple[AnthologyPerson, ...]
    url: str | None
    doi: str | None
    isbn: str | None
    journal_volume: str | None
    journal_issue: str | None
    journal_title: str | None
    ingest_date: str | None
    frontmatter: AnthologyFrontmatter | None
    path: str
    line: int  # line of <volume>


@dataclass(frozen=True, slots=True)
class AnthologyPaper:
    anthology_id: str  # e.g. 2024.acl-long.641, P19-1001, W19-0101
    collection_id: str
    volume_id: str  # the volume's Anthology ID, e.g. 2024.acl-long
    paper_id: str  # as in <paper id>
    paper_type: str | None  # the `type` attribute, e.g. "backmatter"
    title: str  # markup flattened, whitespace collapsed
    abstract: str | None
    authors: tuple[AnthologyPerson, ...]
    editors: tuple[AnthologyPerson, ...]  # rare: editors inside <paper>
    doi: str | None
    url: str | None  # usually the Anthology ID; sometimes an external http(s) URL
    url_is_external: bool
    pages: str | None
    year: str | None  # from the volume's <meta>
    language: str | None
    bibkey: str | None
    awards: tuple[str, ...]
    retracted: bool
    retracted_date: str | None
    retracted_note: str | None
    removed: bool
    removed_date: str | None
    removed_note: str | None
    path: str
    line: int  # line of <paper>


@dataclass(frozen=True, slots=True)
class AnthologyEvent:
    """An `<event>`: a meeting and the volumes presented at it."""

    id: str  # e.g. acl-2024 (not the collection id)
    collection_id: str
    title: str | None
    location: str | None
    dates: str | None
    volumes: tuple[str, ...]  # the collection's own volumes (implicit), then the colocated ones
    colocated: tuple[str, ...]  # volume Anthology IDs listed in <colocated><volume-id>
    path: str
    line: int
