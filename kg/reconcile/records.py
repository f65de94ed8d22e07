"""The reconciliation as data: guide papers and Anthology works as the matcher reads them,
candidates, links, person links, discrepancies, aliases, and the Reconciliation itself.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from kg.names import title_key
from kg.namespaces import mint
from kg.reconcile.alignment import PERSON_SAME_AS, _Name
from kg.records import Issue

ANTHOLOGY_URL = "https://aclanthology.org/{}/"
LINKED = ("auto", "accepted")
STATUSES = ("auto", "accepted", "rejected", "review")  # "unmatched" links are not mapped
DISCREPANCY_KINDS = ("author-missing-in-guide", "author-missing-in-anthology", "author-order",
                     "name-form", "title")


@dataclass(frozen=True)
class GuidePaper:
    """A guide paper as the reconciler needs it (from a Guide record or from the store)."""

    file_name: str
    source: str  # IRI of the guide's named graph
    title: str
    line: int | None
    authors_line: int | None
    iri: str
    names: tuple[_Name, ...]
    year: str | None
    venue: frozenset[str]  # words of the event name, e.g. {"acl"}
    event: str | None


@dataclass(frozen=True, slots=True)
class _Work:
    """An Anthology paper as the reconciler needs it."""

    id: str
    title: str
    year: str | None
    volume: str
    doi: str | None
    names: tuple[_Name, ...]
    where: str | None  # "path:line" in the collection file


@dataclass(frozen=True)
class Candidate:
    anthology_id: str
    title: str
    confidence: float
    evidence: tuple[str, ...]
    volume_id: str
    doi: str | None
    year: str | None
    where: str | None  # file and line in the Anthology XML, when read from it

    @property
    def url(self) -> str:
        return ANTHOLOGY_URL.format(self.anthology_id)


@dataclass(frozen=True)
class PersonLink:
    """A guide byline slot aligned with an Anthology byline slot."""

    guide_position: int
    anthology_position: int
    guide_name: str
    anthology_name: str
    guide_person: str
    anthology_person: str
    confidence: float
    evidence: str

    @property
    def same_as(self) -> bool:
        """Whether this alignment asserts schema:sameAs (strong and two IRIs)."""
        return self.confidence >= PERSON_SAME_AS and self.guide_person != self.anthology_person


@dataclass(frozen=True)
class Discrepancy:
    kind: str  # one of DISCREPANCY_KINDS
    guide_value: str | None
    anthology_value: str | None
    guide_position: int | None
    anthology_position: int | None
    line: int | None  # the guide line it concerns (title line or byline)
    note: str

    @property
    def key(self) -> str:
        """Names the discrepancy under its link: kind and byline positions."""
        if self.kind == "title":
            return "title"
        parts = [f"g{self.guide_position}" if self.guide_position else "",
                 f"a{self.anthology_position}" if self.anthology_position else ""]
        return f"{self.kind}/{'-'.join(p for p in parts if p)}"


@dataclass(frozen=True)
class Link:
    """The outcome for one guide paper."""

    guide_file: str
    guide_source: str
    title: str
    line: int | None
    paper: str  # guide paper IRI
    status: str  # auto | accepted | rejected | review | unmatched
    anthology: Candidate | None  # the linked, proposed or rejected Anthology paper
    candidates: tuple[Candidate, ...]  # best first, at most 3
    evidence: tuple[str, ...]
    people: tuple[PersonLink, ...]
    discrepancies: tuple[Discrepancy, ...]

    @property
    def confidence(self) -> float | None:
        return self.anthology.confidence if self.anthology else None

    @property
    def iri(self) -> str:
        return self.paper + "/reconciliation"


@dataclass(frozen=True)
class Alias:
    """An IRI a guide mints for a paper or person the Anthology already names: the
    default graph merges the two under the Anthology's IRI (see kg.merge)."""

    alias: str
    canonical: str
    confidence: float
    evidence: str
    file: str = ""  # the guide and line that name the alias
    line: int = 0


@dataclass(frozen=True)
class Reconciliation:
    links: tuple[Link, ...]  # in guide order
    threshold: float
    issues: tuple[Issue, ...] = ()
    # guide people whose printed name name_variants.yaml lists for one Anthology person
    listed_people: tuple[Alias, ...] = ()

    def aliases(self, known: Callable[[str], bool] | None = None,
                authoritative: Callable[[str], bool] | None = None) -> tuple[dict[str, str], list[Issue]]:
        """alias IRI -> canonical IRI: linked guide papers (auto or accepted), the guide
        people aligned with their Anthology person (schema:sameAs strength) on them, and
        those name_variants.yaml resolves to one Anthology person. `known` says whether
        a canonical IRI names something the store holds: an alias to nothing is left
        out. An IRI aligned with two people keeps the surer one, with a warning.
        `authoritative` says whether an Anthology graph has the IRI as its own node: the
        guide minted an IRI the Anthology gives someone else (its `leonardo-ribeiro`
        beside `leonardo-f-r-ribeiro`); made an alias, it would merge two people the
        Anthology keeps apart, and leave one of them behind. It stays, with a warning."""
        found: dict[str, list[Alias]] = defaultdict(list)
        for link in self.links:
            if link.status not in LINKED or link.anthology is None:
                continue
            target = mint("anthology", link.anthology.anthology_id)
            where = (link.guide_file, link.line or 0)
            found[link.paper].append(Alias(link.paper, target, link.anthology.confidence,
                                           f"the guide paper's link ({link.status})", *where))
            for person in link.people:
                if person.same_as:
                    found[person.guide_person].append(Alias(
                        person.guide_person, person.anthology_person, person.confidence,
                        person.evidence, *where))
        for alias in self.listed_people:
            if not found.get(alias.alias):
                found[alias.alias].append(alias)
        out: dict[str, str] = {}
        issues: list[Issue] = []
        for iri, candidates in sorted(found.items()):
            candidates = [c for c in candidates if c.canonical != iri and (known is None or known(c.canonical))]
            if not candidates:
                continue
            best = min(candidates, key=lambda c: (-c.confidence, c.canonical))
            if authoritative is not None and authoritative(iri):
                issues.append(Issue(best.file, best.line, f"<{iri}> is aligned with <{best.canonical}> "
                                    f"({best.evidence}), but the Anthology has a person of its own at "
                                    f"<{iri}>: they stay apart; if they are one person, list both names "
                                    "under one canonical name in name_variants.yaml"))
                continue
            others = sorted({c.canonical for c in candidates} - {best.canonical})
            if others:
                issues.append(Issue(best.file, best.line, f"<{iri}> is aligned with <{best.canonical}> "
                                    f"and with {', '.join(f'<{o}>' for o in others)}; merged into the "
                                    "first (the surer alignment)"))
            out[iri] = best.canonical
        return out, issues

    def summary(self) -> dict:
        status = Counter(link.status for link in self.links)
        kinds = Counter(d.kind for link in self.links for d in link.discrepancies)
        return {
            "guide_papers": len(self.links),
            "linked": status["auto"] + status["accepted"],
            "auto": status["auto"],
            "accepted": status["accepted"],
            "review": status["review"],
            "rejected": status["rejected"],
            "unmatched": status["unmatched"],
            "people_same_as": len({(p.guide_person, p.anthology_person) for link in self.links
                                   if link.status in LINKED for p in link.people if p.same_as}),
            "discrepancies": {kind: kinds[kind] for kind in DISCREPANCY_KINDS},
        }

    def link(self, title: str) -> Link:
        """The link of the guide paper titled `title` (case and punctuation ignored)."""
        key = title_key(title)
        for link in self.links:
            if title_key(link.title) == key:
                return link
        raise KeyError(title)
