"""Reconciliation: link each guide paper and its people to the ACL Anthology record, and
record every disagreement between the two sources as data.

Owns candidate search and scoring, byline alignment, discrepancies, the curator's review
file and the quads of the reconciliation graph; guide and Anthology facts stay in theirs.

How a guide paper is matched (fast against all ~104k Anthology papers, one pass):

1. candidates: Anthology papers with the same title key (title folded to letters and
   digits only), papers sharing at least half of the guide title's words, and papers of
   the guide's year sharing at least half of its authors' family names;
2. score (0..1): title (1.0 for an equal key, else character similarity), the share of
   authors the two bylines have in common (see `align_bylines`), the year and the venue;
   a title that is not even similar caps the score at 0.80, so a renamed paper is found
   by its byline but always goes to review at the default threshold;
3. the best candidate wins, ties broken by title score, byline score, then Anthology
   ID; a runner-up within 0.02, or an Anthology paper already won by another guide
   paper, sends the link to review;
4. a curator's decision in the review file (accept / reject / another Anthology ID)
   overrides all of this on every later run.

People are aligned per linked paper, order-independently: same name; same name up to
accents/case/punctuation; same person in name_variants.yaml; middle names or initials
on one side only; a short form of the given name (Rob / Robert, Yi / Yile); then, for
the names left over, the same family name or a shared name part. An aligned guide
person whose IRI differs from the Anthology person's gets `schema:sameAs` to it (when
the alignment is at least 0.75 and the paper link is auto or accepted). schema:sameAs,
not owl:sameAs: the links come from fuzzy evidence, and owl:sameAs would make any
reasoner merge every fact of two people on a guess; the evidence sits on a
kg:AuthorAlignment node. Name_variants.yaml's `similar` lists are not used: they name
people who are *different* despite similar names.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

import cydifflib
import pyoxigraph as ox
import yaml
from pyoxigraph import Literal, NamedNode, Quad

from kg.atomic import write_atomic
from kg.errors import KGError, SourceError
from kg.mapping import K, S, int_literal, paper_iri, person_iri, source_iri
from kg.names import title_key, words
from kg.namespaces import PREFIXES, PROV, RDF, XSD, mint
from kg.records import AnthologyPaper, Guide, Issue
from kg.resolve import Curation, person_id
from kg.sources.anthology import NameResolver, slugify_name

__all__ = [
    "DEFAULT_THRESHOLD",
    "DISCREPANCY_KINDS",
    "RECONCILIATION_GRAPH",
    "REVIEW_FILE",
    "STATUSES",
    "Candidate",
    "Decision",
    "Discrepancy",
    "GuidePaper",
    "Link",
    "PersonLink",
    "Reconciliation",
    "ReviewFile",
    "align_bylines",
    "guide_papers",
    "load_review",
    "map_reconciliation",
    "reconcile_sources",
    "reconcile_store",
    "report_data",
    "review_path",
    "title_key",
    "write_review",
]

DEFAULT_THRESHOLD = 0.85
PERSON_SAME_AS = 0.75  # an author alignment this strong says "same person"
MIN_LINK = 0.5  # a best candidate below this is no link at all ("unmatched")
RUNNER_UP_MARGIN = 0.02
TITLE_SIMILAR = 0.8  # below this a title is "different": the link rests on the byline
RENAMED_CAP = 0.8
REVIEW_FILE = "reconcile-review.yaml"
RECONCILIATION_GRAPH = mint("graph", "reconciliation")
ANTHOLOGY_URL = "https://aclanthology.org/{}/"
DOI_URL = "https://doi.org/{}"

LINKED = ("auto", "accepted")
STATUSES = ("auto", "accepted", "rejected", "review")  # "unmatched" links are not mapped
DISCREPANCY_KINDS = ("author-missing-in-guide", "author-missing-in-anthology", "author-order",
                     "name-form", "title")

_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_STOP = frozenset({
    "a", "an", "and", "are", "as", "at", "by", "can", "do", "does", "for", "from", "how", "in",
    "into", "is", "it", "its", "of", "on", "or", "our", "the", "their", "this", "to", "via", "vs",
    "what", "when", "which", "who", "why", "with", "without",
})
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"}
                        | {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                           "\u201c": '"', "\u201d": '"', "\u201e": '"'})
_ANTHOLOGY_ID = re.compile(r"^(?:\d{4}\.[a-z0-9]+-[a-z0-9]+\.\d+|[A-Z]\d{2}-\d{4,5})$")
_YEAR = re.compile(r"\b(19|20)\d{2}\b")


# --------------------------------------------------------------------------- text

@lru_cache(maxsize=1 << 16)
def _name_words(text: str) -> tuple[str, ...]:
    """`_words` of a name part, cached: the same family names recur across the Anthology."""
    return tuple(words(text))


def _spelling(text: str) -> str:
    """A title as spelled, up to letter case, dash and quote forms and spacing: two
    titles that differ here disagree, even if their keys are equal."""
    text = unicodedata.normalize("NFC", text.rstrip("*")).translate(_DASHES)
    return " ".join(text.casefold().split())


def _year_of(text: str | None) -> str | None:
    match = _YEAR.search(text or "")
    return match.group(0) if match else None


def _venue_words(event: str | None) -> frozenset[str]:
    return frozenset(w for w in words(event or "") if not w.isdigit())


def _volume_of(anthology_id: str) -> str:
    """The volume's Anthology ID of a paper ID (2024.acl-long.641 -> 2024.acl-long)."""
    if anthology_id[:1].isdigit():
        return anthology_id.rsplit(".", 1)[0]
    collection, number = anthology_id.split("-", 1)
    width = 2 if (collection[:1] == "W" or collection == "C69"
                  or (collection == "D19" and int(number[:2]) >= 5 and len(number) == 4)) else 1
    return f"{collection}-{number[:width]}"


def _year_of_id(anthology_id: str) -> str | None:
    if anthology_id[:4].isdigit():
        return anthology_id[:4]
    if len(anthology_id) >= 3 and anthology_id[1:3].isdigit():
        yy = int(anthology_id[1:3])
        return f"{1900 + yy if yy >= 50 else 2000 + yy}"
    return None


# --------------------------------------------------------------------------- names

@dataclass(frozen=True, slots=True)
class _Name:
    """One byline slot, ready for matching."""

    printed: str
    tokens: tuple[str, ...]  # folded words, generational suffixes dropped
    given: tuple[str, ...]  # Anthology: <first>; guide: all but the last word (a guess)
    family: tuple[str, ...]  # Anthology: <last>; guide: the last word (a guess)
    person: str  # person IRI
    position: int
    ids: frozenset[str] = frozenset()  # Anthology person ids the name can stand for
    listed: frozenset[str] = frozenset()  # of those, the ones name_variants.yaml lists it for


def _split_tokens(words: list[str]) -> tuple[str, ...]:
    return tuple(w for w in words if w not in _SUFFIXES)


def _guide_name(printed: str, person: str, position: int, resolver: NameResolver | None) -> _Name:
    tokens = _split_tokens(words(printed))
    listed: set[str] = set()
    if resolver is not None:
        parts = printed.split()
        for i in range(1, len(parts)):
            listed.update(resolver.ids_for(" ".join(parts[:i]), " ".join(parts[i:])))
    return _Name(printed, tokens, tokens[:-1], tokens[-1:], person, position,
                 frozenset({slugify_name(None, printed), *listed}), frozenset(listed))


def _anthology_name(first: str | None, last: str, person_id_: str, position: int) -> _Name:
    given = _split_tokens(words(first or ""))
    family = _split_tokens(words(last))
    printed = " ".join(f"{first} {last}".split()) if first else " ".join(last.split())
    return _Name(printed, given + family, given, family, person_iri(person_id_).value, position,
                 frozenset({person_id_}))


def _initials(tokens: Sequence[str]) -> str:
    return " ".join(t.upper() + "." if len(t) == 1 else t.capitalize() for t in tokens)


def _compatible(a: Sequence[str], b: Sequence[str]) -> bool:
    """Middle names agree: one side has none, or each is the same name or its initial."""
    if not a or not b:
        return True
    if len(a) != len(b):
        return False
    return all(x == y or (len(x) == 1 and y.startswith(x)) or (len(y) == 1 and x.startswith(y))
               for x, y in zip(a, b))


def _middle_note(g: Sequence[str], a: Sequence[str]) -> str:
    if g and not a:
        return f"the guide adds {_initials(g)}"
    if a and not g:
        return f"the Anthology adds {_initials(a)}"
    return f"{_initials(g)} in the guide, {_initials(a)} in the Anthology"


def _pair_score(g: _Name, a: _Name) -> tuple[float, str] | None:
    """How surely guide name `g` and Anthology name `a` are one person, and why."""
    if g.printed == a.printed:
        return 1.0, "same name"
    if g.tokens == a.tokens:
        return 0.98, "same name up to accents, case and punctuation"
    if g.ids & a.ids:
        return 0.95, "the same person in the Anthology's name_variants.yaml"
    n = len(a.family)
    if not n or not a.given or len(g.tokens) <= n or g.tokens[-n:] != a.family:
        return None
    gg, ag = g.tokens[:-n], a.given
    if gg[0] == ag[0]:
        if _compatible(gg[1:], ag[1:]):
            return 0.9, f"middle names or initials differ ({_middle_note(gg[1:], ag[1:])})"
        return None
    if not _compatible(gg[1:], ag[1:]):
        return None
    if (len(gg[0]) == 1 and ag[0].startswith(gg[0])) or (len(ag[0]) == 1 and gg[0].startswith(ag[0])):
        return 0.85, f"given name as an initial ({gg[0].capitalize()} / {ag[0].capitalize()})"
    if min(len(gg[0]), len(ag[0])) >= 2 and (gg[0].startswith(ag[0]) or ag[0].startswith(gg[0])):
        return 0.8, f"short form of the given name ({gg[0].capitalize()} / {ag[0].capitalize()})"
    return None


@dataclass(frozen=True)
class _Alignment:
    pairs: tuple[tuple[_Name, _Name, float, str], ...]  # guide, Anthology, confidence, evidence
    guide_only: tuple[_Name, ...]
    anthology_only: tuple[_Name, ...]

    @property
    def matched(self) -> float:
        """Aligned slots, a weak alignment counting half."""
        return sum(1.0 if c >= PERSON_SAME_AS else 0.5 for _, _, c, _ in self.pairs)


def align_bylines(guide: Sequence[_Name], anthology: Sequence[_Name]) -> _Alignment:
    """Pair the names of two bylines, whatever their order (see the module docstring).

    Strong pairs are taken greedily, best first, then nearest in position; the names
    left over are paired by family name, then by a shared name part of 4+ letters,
    only where that pairing is unique on both sides.
    """
    scored = []
    for g in guide:
        for a in anthology:
            hit = _pair_score(g, a)
            if hit:
                scored.append((-hit[0], abs(g.position - a.position), g.position, a.position, g, a, hit))
    scored.sort(key=lambda s: s[:4])
    pairs: list[tuple[_Name, _Name, float, str]] = []
    used_g: set[int] = set()
    used_a: set[int] = set()
    for *_, g, a, (conf, why) in scored:
        if g.position not in used_g and a.position not in used_a:
            pairs.append((g, a, conf, why))
            used_g.add(g.position)
            used_a.add(a.position)

    def leftovers() -> tuple[list[_Name], list[_Name]]:
        return ([g for g in guide if g.position not in used_g],
                [a for a in anthology if a.position not in used_a])

    def same_family(g: _Name, a: _Name) -> tuple[str, bool] | None:
        n = len(a.family)
        given = g.tokens[:-n] if n else ()
        if not (given and a.given and g.tokens[-n:] == a.family):
            return None
        why = (f"same family name, another given name ({' '.join(given).title()} / "
               f"{' '.join(a.given).title()})")
        return why, given[0][0] == a.given[0][0]  # the same initial makes it likelier

    def shared_part(g: _Name, a: _Name) -> tuple[str, bool] | None:
        common = sorted({t for t in g.tokens if len(t) >= 4} & set(a.tokens))
        if not common:
            return None
        return f"shares the name part {common[0].capitalize()} (given and family names swapped?)", False

    # (rule, confidence when it pairs the last two names left and the rule is sure, else)
    for related, alone_conf, conf in ((same_family, 0.75, 0.6), (shared_part, 0.6, 0.5)):
        rest_g, rest_a = leftovers()
        alone = len(rest_g) == 1 and len(rest_a) == 1
        found = []
        for g in rest_g:
            hits = [(a, hit) for a in rest_a if (hit := related(g, a))]
            if len(hits) == 1 and sum(1 for other in rest_g if related(other, hits[0][0])) == 1:
                found.append((g, *hits[0]))
        for g, a, (why, sure) in found:
            pairs.append((g, a, alone_conf if alone and (sure or related is shared_part) else conf, why))
            used_g.add(g.position)
            used_a.add(a.position)
    rest_g, rest_a = leftovers()
    pairs.sort(key=lambda p: p[0].position)
    return _Alignment(tuple(pairs), tuple(rest_g), tuple(rest_a))


def _moved(pairs: Sequence[tuple[_Name, _Name, float, str]]) -> list[tuple[_Name, _Name]]:
    """The fewest aligned authors whose moves explain the order difference.

    The longest run of aligned authors in the same relative order in both bylines stays
    put (a longest increasing subsequence; on a tie the one keeping the smaller Anthology
    positions); everyone else "moved". A swap of two neighbours is one move.
    """
    seq = [(g, a) for g, a, _, _ in sorted(pairs, key=lambda p: p[0].position)]
    tails: list[int] = []  # index into seq of the smallest tail of each length
    parent: list[int | None] = []
    for i, (_, a) in enumerate(seq):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if seq[tails[mid]][1].position < a.position:
                lo = mid + 1
            else:
                hi = mid
        parent.append(tails[lo - 1] if lo else None)
        if lo == len(tails):
            tails.append(i)
        else:
            tails[lo] = i
    keep: set[int] = set()
    node = tails[-1] if tails else None
    while node is not None:
        keep.add(node)
        node = parent[node]
    return [pair for i, pair in enumerate(seq) if i not in keep]


# --------------------------------------------------------------------------- records

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

    def aliases(self, known: Callable[[str], bool] | None = None) -> tuple[dict[str, str], list[Issue]]:
        """alias IRI -> canonical IRI: linked guide papers (auto or accepted), the guide
        people aligned with their Anthology person (schema:sameAs strength) on them, and
        those name_variants.yaml resolves to one Anthology person. `known` says whether
        a canonical IRI names something the store holds: an alias to nothing is left
        out. An IRI aligned with two people keeps the surer one, with a warning."""
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


# --------------------------------------------------------------------------- review file

@dataclass(frozen=True)
class Decision:
    title: str
    decision: str  # accept | reject | review | an Anthology ID (accept that one)
    anthology: str | None  # the Anthology paper the entry is about
    line: int

    @property
    def chosen(self) -> str | None:
        """The Anthology ID to link to, for an accepting decision."""
        if self.decision == "accept":
            return self.anthology
        if _ANTHOLOGY_ID.match(self.decision):
            return self.decision
        return None


@dataclass(frozen=True)
class ReviewFile:
    path: str
    decisions: dict[str, Decision] = field(default_factory=dict)  # by title key

    def wanted(self) -> set[str]:
        """Anthology IDs the decisions name (they must be read even if not candidates)."""
        return {i for d in self.decisions.values() for i in (d.chosen, d.anthology) if i}


def review_path(store: str | Path) -> Path:
    """The default review file: reconcile-review.yaml beside the store directory."""
    return Path(store).resolve().parent / REVIEW_FILE


_REVIEW_HELP = """\
# Guide papers whose link to the ACL Anthology needs a person's decision.
# Set `decision` to one of:
#   accept        link the guide paper to `anthology`
#   reject        no link: the guide paper is not `anthology`
#   <an ID>       link it to that Anthology paper instead (e.g. one of `candidates`)
#   review        undecided (the default)
# The next `kg build` or `kg reconcile` honours every decision; decided entries stay here.
"""


def load_review(path: str | Path) -> ReviewFile:
    """Read a review file (none there: no decisions); SourceError naming the line if broken."""
    path = Path(path)
    shown = str(path)
    if not path.exists():
        return ReviewFile(shown)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(shown, None, f"cannot read the review file ({exc}); fix or delete it "
                          "(`kg reconcile` writes a new one)") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        context = getattr(exc, "context_mark", None)
        started = f", {exc.context} at line {context.line + 1}" if context and exc.context else ""
        raise SourceError(shown, mark.line + 1 if mark else None,
                          f"not valid YAML ({getattr(exc, 'problem', None) or exc}{started}); "
                          "expected a list of entries with title and decision") from None
    if root is None:
        return ReviewFile(shown)
    if not isinstance(root, yaml.SequenceNode):
        raise SourceError(shown, root.start_mark.line + 1,
                          "expected a list of entries (- title: ..., decision: ...)")
    decisions: dict[str, Decision] = {}
    for node in root.value:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            raise SourceError(shown, line, "expected an entry with title and decision")
        fields = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}

        def scalar(name: str, required: bool, fields=fields, line=line) -> str | None:
            value = fields.get(name)
            empty = isinstance(value, yaml.ScalarNode) and value.value.strip() in ("", "~", "null")
            if value is None or (empty and not required):
                if required:
                    raise SourceError(shown, line, f"this entry has no {name}; expected "
                                      f"`{name}: ...` (see the comment at the top of the file)")
                return None
            if not isinstance(value, yaml.ScalarNode) or empty:
                raise SourceError(shown, value.start_mark.line + 1, f"{name} must be a plain value")
            return str(value.value).strip()

        title = scalar("title", True)
        decision = scalar("decision", True)
        anthology = scalar("anthology", False)
        dline = fields["decision"].start_mark.line + 1
        if decision not in ("accept", "reject", "review") and not _ANTHOLOGY_ID.match(decision):
            raise SourceError(shown, dline, f"decision {decision!r} is not accept, reject, review "
                              "or an Anthology ID (such as 2024.acl-long.641)")
        if decision in ("accept", "reject") and not anthology:
            raise SourceError(shown, dline, f"decision {decision} needs the `anthology` ID it is "
                              "about; or write the Anthology ID itself as the decision")
        if anthology and not _ANTHOLOGY_ID.match(anthology):
            raise SourceError(shown, fields["anthology"].start_mark.line + 1,
                              f"anthology {anthology!r} is not an Anthology ID (such as "
                              "2024.acl-long.641)")
        key = title_key(title)
        if key in decisions:
            raise SourceError(shown, line, f"a second entry for {title!r} (first at line "
                              f"{decisions[key].line}); keep one")
        decisions[key] = Decision(title, decision, anthology, dline)
    return ReviewFile(shown, decisions)


def write_review(path: str | Path, rec: Reconciliation, previous: ReviewFile | None = None) -> int:
    """Write the review file: every link needing review, and every decided entry (kept so
    later runs keep honouring it). Atomic; returns the number of entries."""

    previous = previous or ReviewFile(str(path))
    entries = []
    seen: set[str] = set()
    for link in rec.links:
        key = title_key(link.title)
        decided = previous.decisions.get(key)
        if decided is not None and decided.decision != "review":
            decision, anthology = decided.decision, decided.anthology
        elif link.status in ("review", "unmatched"):
            decision = "review"
            anthology = link.anthology.anthology_id if link.anthology else None
        else:
            continue
        seen.add(key)
        entry = {
            "title": link.title,
            "guide": f"{link.guide_file}:{link.line}" if link.line else link.guide_file,
            "decision": decision,
            "anthology": anthology,
            "status": link.status,
            "confidence": link.confidence,
            "evidence": list(link.evidence),
            "candidates": [{"id": c.anthology_id, "title": c.title, "confidence": c.confidence,
                            "evidence": list(c.evidence)} for c in link.candidates],
        }
        entries.append(entry)
    for key, decided in sorted(previous.decisions.items(), key=lambda kv: kv[1].line):
        if key not in seen and decided.decision != "review":  # a paper not read this time
            entries.append({"title": decided.title, "decision": decided.decision,
                            "anthology": decided.anthology})
    # libyaml's emitter when PyYAML has it: the same text (but for characters beyond
    # the BMP, written as escapes) in a quarter of the time, 2.4 s for 5,000 entries
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    body = (yaml.dump(entries, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
            if entries else "[]\n")
    write_atomic(path, (_REVIEW_HELP + body).encode("utf-8"))
    return len(entries)


# --------------------------------------------------------------------------- matching

class _Index:
    """The guide side, indexed for one pass over the Anthology."""

    def __init__(self, papers: Sequence[GuidePaper]):
        self.papers = papers
        self.by_key: dict[str, list[int]] = defaultdict(list)
        self.by_word: dict[str, list[int]] = defaultdict(list)
        self.by_name: dict[str, list[int]] = defaultdict(list)
        self.need_words: list[int] = []
        self.need_names: list[int] = []
        self.years = {p.year for p in papers if p.year}
        self.any_year = any(p.year is None for p in papers)
        for i, paper in enumerate(papers):
            self.by_key[title_key(paper.title)].append(i)
            title_words = {w for w in words(paper.title.rstrip("*")) if w not in _STOP}
            for word in title_words:
                self.by_word[word].append(i)
            self.need_words.append(max(2, math.ceil(len(title_words) / 2)))
            for token in {t for name in paper.names for t in name.tokens}:
                self.by_name[token].append(i)
            self.need_names.append(max(2, math.ceil(len(paper.names) / 2)))
        self.vocabulary = frozenset(self.by_word)

    def title_hits(self, title: str) -> set[int]:
        """`hits(title, None, ())`, quick for the many titles that share fewer than two
        words with every guide title (each guide paper needs at least two)."""
        title_words = words(title.rstrip("*"))
        found = set(self.by_key.get("".join(title_words), ()))
        shared = self.vocabulary.intersection(title_words)
        if len(shared) >= 2:
            counts: Counter[int] = Counter(i for word in shared for i in self.by_word[word])
            found.update(i for i, n in counts.items() if n >= self.need_words[i])
        return found

    def name_hits(self, year: str | None, families: Iterable[Sequence[str]]) -> set[int]:
        """The part of `hits` that reads the authors: half the family names, in a guide's year."""
        found: set[int] = set()
        if self.any_year or year in self.years:
            names: Counter[int] = Counter()
            for family in families:
                for i in {i for t in family for i in self.by_name.get(t, ())}:
                    names[i] += 1
            found.update(i for i, n in names.items()
                         if n >= self.need_names[i] and (self.papers[i].year in (None, year)))
        return found

    def hits(self, title: str, year: str | None, families: Iterable[Sequence[str]]) -> set[int]:
        """Guide papers an Anthology paper is a candidate for: same title key, half the
        title's words, or (in a guide's year) half the authors' family names."""
        title_words = words(title.rstrip("*"))
        found = set(self.by_key.get("".join(title_words), ()))
        counts: Counter[int] = Counter()
        for word in set(title_words):
            for i in self.by_word.get(word, ()):
                counts[i] += 1
        found.update(i for i, n in counts.items() if n >= self.need_words[i])
        return found | self.name_hits(year, families)


def _title_similarity(a: str, b: str) -> float:
    """difflib's ratio (0..1) of the folded titles, by cydifflib: the same algorithm in
    C, the same scores to the last bit, ~6x faster (the stdlib's took 51 of a
    5,000-paper guide's 107 s). rapidfuzz's ratio, ~400x faster, is another measure
    (an LCS): it moves scores by a point or two and so a real link's confidence."""
    return cydifflib.SequenceMatcher(None, " ".join(words(a)), " ".join(words(b)), autojunk=False).ratio()


def _score(paper: GuidePaper, work: _Work) -> tuple[Candidate, _Alignment, float, float]:
    g_key, a_key = title_key(paper.title), title_key(work.title)
    evidence = []
    if g_key == a_key:
        t = 1.0
        same = _spelling(paper.title) == _spelling(work.title)
        evidence.append("title identical" if same else "title exact after normalisation")
    else:
        t = _title_similarity(paper.title, work.title)
        evidence.append(f"title similarity {t:.2f}")
    alignment = align_bylines(paper.names, work.names)
    size = max(len(paper.names), len(work.names)) or 1
    a = alignment.matched / size
    weak = sum(1 for *_, conf, _ in alignment.pairs if conf < PERSON_SAME_AS)
    evidence.append(f"{len(alignment.pairs)}/{size} authors match (guide lists {len(paper.names)}, "
                    f"Anthology {len(work.names)}" + (f"; {weak} only weakly)" if weak else ")"))
    moved = _moved(alignment.pairs)
    if alignment.pairs:
        evidence.append("byline order agrees" if not moved else
                        f"{len(moved)} author{'s' if len(moved) > 1 else ''} in another order")
    if paper.year is None:
        year_ok = 0.5
    else:
        year_ok = 1.0 if work.year == paper.year else 0.0
        evidence.append(f"year {work.year} matches {paper.event}" if year_ok
                        else f"year {work.year}, not {paper.year}")
    venue_ok = 0.5
    if paper.venue:
        venue_ok = 1.0 if paper.venue & set(re.split(r"[.\-]", work.volume.lower())) else 0.0
        evidence.append(f"volume {work.volume} is {paper.event}" if venue_ok
                        else f"volume {work.volume} is not {paper.event}")
    context = (year_ok + venue_ok) / 2
    if t == 1.0:
        confidence = 0.75 + 0.2 * a + 0.05 * context
    else:
        confidence = 0.5 * t + 0.4 * a + 0.1 * context
        if t < TITLE_SIMILAR:
            confidence = min(confidence, RENAMED_CAP)
            if a >= 0.75:
                evidence.append("title differs: renamed? the byline carries the link")
    candidate = Candidate(work.id, work.title, round(confidence, 2), tuple(evidence), work.volume,
                          work.doi, work.year, work.where)
    return candidate, alignment, t, a


def _discrepancies(paper: GuidePaper, work: _Work, alignment: _Alignment) -> list[Discrepancy]:
    out = []
    if _spelling(paper.title) != _spelling(work.title):
        note = ("the same title up to hyphens, spacing or accents"
                if title_key(paper.title) == title_key(work.title) else "the titles differ")
        out.append(Discrepancy("title", paper.title, work.title, None, None, paper.line, note))
    line = paper.authors_line
    for g, a, _, why in alignment.pairs:
        if g.printed != a.printed:
            out.append(Discrepancy("name-form", g.printed, a.printed, g.position, a.position, line, why))
    for g, a in _moved(alignment.pairs):
        out.append(Discrepancy("author-order", g.printed, a.printed, g.position, a.position, line,
                               f"position {g.position} in the guide, {a.position} in the Anthology"))
    for g in alignment.guide_only:
        out.append(Discrepancy("author-missing-in-anthology", g.printed, None, g.position, None, line,
                               f"guide author {g.position} is not in the Anthology byline"))
    for a in alignment.anthology_only:
        out.append(Discrepancy("author-missing-in-guide", None, a.printed, None, a.position, line,
                               f"Anthology author {a.position} is not in the guide byline"))
    order = {kind: i for i, kind in enumerate(DISCREPANCY_KINDS)}
    out.sort(key=lambda d: (order[d.kind], d.guide_position or 0, d.anthology_position or 0))
    return out


def _people(alignment: _Alignment) -> tuple[PersonLink, ...]:
    out = []
    for g, a, conf, why in alignment.pairs:
        if g.person != a.person and conf >= 0.95:  # same name, yet another IRI: say why
            why += f"; the Anthology files it under the person id {a.person.rsplit('/', 1)[-1]}"
        out.append(PersonLink(g.position, a.position, g.printed, a.printed, g.person, a.person,
                              round(conf, 2), why))
    return tuple(out)


def _reconcile(papers: Sequence[GuidePaper], works: Iterable[tuple[set[int], _Work]],
               review: ReviewFile | None, threshold: float, issues: list[Issue]) -> Reconciliation:
    """Score each guide paper's shortlisted works, pick one, apply the curator's decisions."""
    review = review or ReviewFile("")
    shortlists: dict[int, dict[str, _Work]] = defaultdict(dict)
    by_id: dict[str, _Work] = {}
    for hit_ids, work in works:
        by_id[work.id] = work
        for i in hit_ids:
            shortlists[i][work.id] = work

    proposals = []
    for i, paper in enumerate(papers):
        scored = []
        for work in shortlists.get(i, {}).values():
            candidate, alignment, t, a = _score(paper, work)
            scored.append(((-candidate.confidence, -t, -a, work.id), candidate, alignment, work))
        scored.sort(key=lambda s: s[0])
        proposals.append(scored)

    # one Anthology paper, two guide papers: the weaker claim goes to review
    claims: dict[str, list[int]] = defaultdict(list)
    for i, scored in enumerate(proposals):
        if scored and scored[0][1].confidence >= MIN_LINK:
            claims[scored[0][1].anthology_id].append(i)
    contested: dict[int, str] = {}
    for claimants in claims.values():
        if len(claimants) > 1:
            claimants.sort(key=lambda i: (proposals[i][0][0], i))
            for i in claimants[1:]:
                contested[i] = f"also the best match of {papers[claimants[0]].title!r}"

    links = []
    for i, paper in enumerate(papers):
        scored = proposals[i]
        candidates = tuple(s[1] for s in scored[:3])
        decided = review.decisions.get(title_key(paper.title))
        chosen = None
        extra: list[str] = []
        if decided is not None and decided.decision != "review":
            where = f"{Path(review.path).name}:{decided.line}"
            target = decided.chosen or decided.anthology
            work = by_id.get(target) if target else None
            if work is None:
                raise SourceError(review.path, decided.line,
                                  f"{target} is not an Anthology paper in the data read; check the "
                                  "ID (e.g. 2024.acl-long.641) or read its collection file")
            candidate, alignment, _, _ = _score(paper, work)
            if decided.decision == "reject":
                status = "rejected"
                extra.append(f"rejected by curator ({where})")
            else:
                status = "accepted"
                extra.append(f"accepted by curator ({where})")
            chosen = (candidate, alignment, work)
        elif scored and scored[0][1].confidence >= MIN_LINK:
            _, candidate, alignment, work = scored[0]
            chosen = (candidate, alignment, work)
            status = "auto" if candidate.confidence >= threshold else "review"
            if len(scored) > 1 and scored[1][1].confidence >= candidate.confidence - RUNNER_UP_MARGIN:
                status = "review"
                extra.append(f"runner-up {scored[1][1].anthology_id} at {scored[1][1].confidence:.2f}")
            if i in contested:
                status = "review"
                extra.append(contested[i])
            if status == "review" and candidate.confidence < threshold:
                extra.append(f"confidence below the threshold {threshold:.2f}")
        else:
            status = "unmatched"
        if chosen is None:
            links.append(Link(paper.file_name, paper.source, paper.title, paper.line, paper.iri,
                              status, None, candidates,
                              ("no Anthology paper with a similar title or byline",), (), ()))
            continue
        candidate, alignment, work = chosen
        keep = status != "rejected"
        links.append(Link(
            paper.file_name, paper.source, paper.title, paper.line, paper.iri, status, candidate,
            candidates, candidate.evidence + tuple(extra),
            _people(alignment) if keep else (),
            tuple(_discrepancies(paper, work, alignment)) if keep else (),
        ))
    return Reconciliation(tuple(links), threshold, tuple(issues), _listed_people(papers))


def _listed_people(papers: Sequence[GuidePaper]) -> tuple[Alias, ...]:
    """Guide people whose printed name name_variants.yaml lists for exactly one
    Anthology person with another IRI (a variant spelling the Anthology knows)."""
    out: dict[str, Alias] = {}
    for paper in papers:
        for name in paper.names:
            if len(name.listed) != 1:
                continue
            (pid,) = name.listed
            target = person_iri(pid).value
            if target != name.person and name.person not in out:
                out[name.person] = Alias(name.person, target, 0.95,
                                         f"name_variants.yaml lists {name.printed!r} for the person {pid}",
                                         paper.file_name, paper.authors_line or 0)
    return tuple(out[k] for k in sorted(out))


# --------------------------------------------------------------------------- from records

def guide_papers(guides: Sequence[Guide], resolver: NameResolver | None = None,
                 curation: Curation | None = None) -> tuple[list[GuidePaper], list[Issue]]:
    """The papers of guide records, each once (a title listed by two guides: the first
    guide by file name wins, the other is reported)."""
    curation = curation or Curation.empty()
    out: list[GuidePaper] = []
    issues: list[Issue] = []
    seen: dict[str, str] = {}
    for guide in sorted(guides, key=lambda g: (g.file_name, g.path)):
        source = source_iri(guide.file_name).value
        year, venue = _year_of(guide.event), _venue_words(guide.event)
        for paper in guide.papers:
            iri = paper_iri(paper.title).value
            if iri in seen:
                issues.append(Issue(guide.path, paper.line, f"{paper.title!r} is also in "
                                    f"{seen[iri]}; reconciled once, from there"))
                continue
            seen[iri] = guide.file_name
            names = tuple(_guide_name(a.name, person_iri(person_id(a.name, curation)).value, n, resolver)
                          for n, a in enumerate(paper.authors, start=1))
            out.append(GuidePaper(guide.file_name, source, paper.title, paper.line,
                                  paper.authors_line, iri, names, year, venue, guide.event))
    return out, issues


def _work(paper: AnthologyPaper, resolver: NameResolver | None) -> _Work:
    names = []
    for person in paper.authors:
        if resolver is not None:
            pid = resolver.resolve_person(person).id
        else:
            pid = person.id or slugify_name(person.first, person.last)
        names.append(_anthology_name(person.first, person.last, pid, person.position))
    return _Work(paper.anthology_id, paper.title, paper.year, paper.volume_id, paper.doi,
                 tuple(names), f"{paper.path}:{paper.line}")


def _record_works(anthology_papers: Iterable[AnthologyPaper], index: _Index,
                  resolver: NameResolver | None, wanted: set[str]) -> Iterator[tuple[set[int], _Work]]:
    """Shortlisted Anthology records, in one pass; only they are turned into works."""
    for paper in anthology_papers:
        if paper.removed:
            continue
        if index.any_year or paper.year in index.years:
            families = [_name_words(person.last) for person in paper.authors]
        else:
            families = []
        hits = index.hits(paper.title, paper.year, families)
        if hits or paper.anthology_id in wanted:
            yield hits, _work(paper, resolver)


def reconcile_sources(guides: list[Guide], anthology_papers: Iterable[AnthologyPaper],
                      resolver: NameResolver | None, review: ReviewFile | None, *,
                      threshold: float = DEFAULT_THRESHOLD,
                      curation: Curation | None = None) -> Reconciliation:
    """Link every paper of `guides` to the Anthology (one pass over `anthology_papers`).

    `resolver` (from name_variants.yaml) gives Anthology person ids, as the Anthology
    mapping does; `curation` the guide person ids, as the guide mapping does. Decisions
    in `review` override the matcher. Raises SourceError if a decision names an
    Anthology ID that is not among `anthology_papers`.
    """
    papers, issues = guide_papers(guides, resolver, curation)
    index = _Index(papers)
    wanted = review.wanted() if review else set()
    return _reconcile(papers, _record_works(anthology_papers, index, resolver, wanted),
                      review, threshold, issues)


# --------------------------------------------------------------------------- from the store

# Guides are the sources typed schema:Article (Anthology collections and hand-made RDF
# files are not); each is then read with ?src bound, which keeps the scan to its graph.
_GUIDE_SOURCES = """
SELECT DISTINCT ?src WHERE { GRAPH ?src { ?src a schema:Article ; kg:fileName ?file . } } ORDER BY ?src
"""

_GUIDE_PAPERS = """
SELECT ?paper ?title ?line ?file ?src ?event ?slot ?position ?printed ?person ?aline ?prefix
WHERE {
  GRAPH ?src { ?paper a schema:ScholarlyArticle ; schema:name ?title . }
  FILTER(STRSTARTS(STR(?paper), ?prefix))
  GRAPH ?src { ?src kg:fileName ?file . }
  OPTIONAL { GRAPH ?src { ?paper kg:sourceLine ?line } }
  OPTIONAL { GRAPH ?src { ?src schema:about/schema:name ?event } }
  OPTIONAL {
    GRAPH ?src { ?slot pro:relatesToDocument ?paper ; schema:position ?position ;
                       kg:printedName ?printed ; pro:isHeldBy ?person .
                 OPTIONAL { ?slot kg:sourceLine ?aline } }
  }
}
"""

# Every name in the store but people's, the values only: reading the subjects too (or
# joining the type, or filtering on the IRI) costs a term read per row; the papers are
# read by title below. (The mapping types nothing both a person and a paper.)
_NAMES = """
SELECT ?title WHERE { ?thing schema:name ?title . MINUS { ?thing a schema:Person } }
"""

_TITLES_OF = """
SELECT ?paper ?title WHERE { {values} ?paper schema:name ?title . }
"""

_ARTICLES = """
SELECT ?paper WHERE { {values} ?paper a schema:ScholarlyArticle . }
"""

_ANTHOLOGY_ANY = """
SELECT ?paper ?prefix WHERE {
  ?paper a schema:ScholarlyArticle FILTER(STRSTARTS(STR(?paper), ?prefix))
} LIMIT 1
"""

# What papers are part of (volumes, a few thousand), to find a year's papers through
# its volumes: filtering ~100k paper IRIs by their text reads each of them.
_VOLUMES = """
SELECT DISTINCT ?volume WHERE { ?paper schema:isPartOf ?volume . }
"""

# The printed names of the papers of some volumes, one row per paper: the IRI read once.
# (The type is checked afterwards, for the few papers that pass: joining it here is slower.)
_YEAR_NAMES = """
SELECT ?paper (GROUP_CONCAT(?printed; SEPARATOR="\\n") AS ?names) WHERE {
  {values}
  ?paper schema:isPartOf ?volume .
  ?slot pro:relatesToDocument ?paper ; kg:printedName ?printed .
}
GROUP BY ?paper
"""

# The Anthology's own byline (its slots are minted under the paper's IRI): a guide
# paper merged with it has its own slots too, in the default graph.
_AUTHORS_OF = """
SELECT DISTINCT ?paper ?position ?printed ?person ?family WHERE {
  {values}
  ?slot pro:relatesToDocument ?paper ; schema:position ?position ;
        kg:printedName ?printed ; pro:isHeldBy ?person .
  FILTER(STRSTARTS(STR(?slot), STR(?paper)))
  OPTIONAL { ?person schema:familyName ?family }
}
"""

_PAPER_DOI = """
SELECT ?paper ?doi WHERE {
  ?paper schema:sameAs ?doi FILTER(STRSTARTS(STR(?doi), "https://doi.org/"))
}
ORDER BY ?doi
"""


def _nick_free(printed: str) -> str:
    """A printed byline name without a trailing nickname ("Srinivasan Sengamedu “SHS”")."""
    return re.sub(r"\s*(?:[\"“‘'(][^\"”’')]*[\"”’')])\s*$", "", printed).strip() or printed


def _query(store: ox.Store, text: str, **bindings):
    subs = {ox.Variable(k): v if isinstance(v, ox.NamedNode) else ox.Literal(v)
            for k, v in bindings.items()}
    return store.query(text, prefixes=PREFIXES, substitutions=subs)


def _store_guides(store, resolver: NameResolver | None) -> list[GuidePaper]:
    rows: dict[str, dict] = {}
    sources = [row["src"] for row in _query(store, _GUIDE_SOURCES)]
    for row in (row for src in sources
                for row in _query(store, _GUIDE_PAPERS, prefix=mint("paper", ""), src=src)):
        iri = row["paper"].value
        entry = rows.setdefault(iri, {"title": row["title"].value, "file": row["file"].value,
                                      "src": row["src"].value, "line": row["line"],
                                      "event": row["event"], "slots": {}, "aline": None})
        if row["slot"] is not None:
            position = int(row["position"].value)
            entry["slots"][position] = (_nick_free(row["printed"].value), row["person"].value)
            if row["aline"] is not None:
                entry["aline"] = int(row["aline"].value)
    out = []
    for iri, entry in sorted(rows.items(), key=lambda kv: (kv[1]["file"], kv[1]["line"] and
                                                            int(kv[1]["line"].value) or 0, kv[0])):
        event = entry["event"].value if entry["event"] is not None else None
        names = tuple(_guide_name(name, person, pos, resolver)
                      for pos, (name, person) in sorted(entry["slots"].items()))
        out.append(GuidePaper(entry["file"], entry["src"], entry["title"],
                              int(entry["line"].value) if entry["line"] is not None else None,
                              entry["aline"], iri, names, _year_of(event), _venue_words(event), event))
    return out


def _split_printed(printed: str, family: str | None = None) -> tuple[str | None, str]:
    """First and last name of a printed byline name: the store keeps the person's
    canonical family name, which the printed name usually ends with; else the last word."""
    parts = printed.split()
    if family:
        n = len(family.split())
        if 0 < n < len(parts) and words(" ".join(parts[-n:])) == words(family):
            return " ".join(parts[:-n]), " ".join(parts[-n:])
    return (" ".join(parts[:-1]) or None, parts[-1]) if parts else (None, printed)


def _is_article(store, iri: str, article: tuple[NamedNode, NamedNode]) -> bool:
    """Whether the store types `iri` schema:ScholarlyArticle (an index lookup)."""
    return next(store.quads_for_pattern(NamedNode(iri), *article, None), None) is not None


def _values(variable: str, terms: Iterable) -> str:
    return f"VALUES ?{variable} {{ {' '.join(str(t) for t in terms)} }}"


def _chunks(items: Sequence, size: int = 2000) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _store_works(store, index: _Index, wanted: set[str]) -> Iterator[tuple[set[int], _Work]]:
    """Anthology works from the store: the shortlisted ones, with their bylines.

    Reads what the Anthology mapping writes: papers at mint("anthology", ID) typed
    schema:ScholarlyArticle with schema:name, each schema:isPartOf its volume (the volume
    ID is the paper ID's head, so of the same year), byline slots (pro:relatesToDocument,
    schema:position, kg:printedName, pro:isHeldBy a mint("person", id) IRI) and DOIs as
    schema:sameAs <https://doi.org/...>; year and volume come from the Anthology ID.

    Reading a term from the disk store costs more than anything done with it, so each
    step reads as few as it can: the title criteria look at every name in the store, but
    read only the names (the papers only for matching titles); the byline criterion reads
    the printed names of the guides' years only, grouped by paper, which is a superset
    test (a slot's family name is part of its printed name); the full bylines (person,
    family name) only of the papers that pass it and of those shortlisted by title.
    """
    prefix = mint("anthology", "")
    person_prefix = mint("person", "")

    def local(term) -> str | None:
        return term.value[len(prefix):] if isinstance(term, NamedNode) and term.value.startswith(prefix) else None

    def articles_of(aids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(aids)):
            found.update(local(row["paper"]) for row in _query(
                store, _ARTICLES.replace("{values}", _values("paper", (NamedNode(prefix + a) for a in chunk)))))
        return found

    def titles_of(aids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(aids):
            for row in _query(store, _TITLES_OF.replace("{values}", _values("paper", (NamedNode(prefix + a) for a in chunk)))):
                found[local(row["paper"])] = row["title"].value
        return found

    # 1. title criteria: every name is checked, the papers are read only for those that match
    checked: dict[str, set[int]] = {}
    matching: set[Literal] = set()
    for row in _query(store, _NAMES):
        title = row[0]
        hits = checked.get(title.value)
        if hits is None:
            hits = checked[title.value] = index.title_hits(title.value)
        if hits:
            matching.add(title)
    titles: dict[str, str] = {}
    for chunk in _chunks(sorted(matching, key=str)):
        for row in _query(store, _TITLES_OF.replace("{values}", _values("title", chunk))):
            aid = local(row["paper"])
            if aid is not None:
                titles[aid] = row["title"].value
    titles.update(titles_of(sorted(wanted - set(titles))))
    articles = articles_of(titles)
    shortlisted: dict[str, set[int]] = {}
    for aid, title in titles.items():
        hits = checked[title] if title in checked else index.title_hits(title)
        if (hits or aid in wanted) and aid in articles:
            shortlisted[aid] = hits

    # 2. byline criterion, papers of the guides' years (new-style IDs "2024.", old-style "P24-")
    maybe: set[str] = set()
    volumes = [v for v in (row[0] for row in _query(store, _VOLUMES)) if local(v) is not None]
    for year in sorted(y for y in index.years if y.isdigit() and len(y) == 4):
        def of_year(aid: str, year: str = year) -> bool:
            return aid.startswith(f"{year}.") or aid[1:4] == f"{year[2:]}-"

        chunk_of_year = [v for v in volumes if of_year(local(v))]
        for chunk in _chunks(chunk_of_year):
            for row in _query(store, _YEAR_NAMES.replace("{values}", _values("volume", chunk))):
                aid = local(row["paper"])
                if aid is None or not of_year(aid) or aid in shortlisted:
                    continue
                if index.name_hits(_year_of_id(aid), (_name_words(name) for name in row["names"].value.split("\n"))):
                    maybe.add(aid)
    maybe &= articles_of(maybe)
    titles.update(titles_of(sorted(maybe - set(titles))))
    maybe &= set(titles)

    # 3. full bylines of the shortlisted and of the papers that may be
    bylines: dict[str, dict[int, tuple[str, str, str | None]]] = defaultdict(dict)
    for chunk in _chunks(sorted(set(shortlisted) | maybe)):
        for row in _query(store, _AUTHORS_OF.replace("{values}", _values("paper", (NamedNode(prefix + a) for a in chunk)))):
            family = row["family"].value if row["family"] is not None else None
            bylines[local(row["paper"])][int(row["position"].value)] = (
                row["printed"].value, row["person"].value, family)
    for aid in sorted(maybe):
        families = [_name_words(_split_printed(name, family)[1])
                    for name, _, family in bylines.get(aid, {}).values()]
        hits = index.hits(titles[aid], _year_of_id(aid), families)
        if hits:
            shortlisted[aid] = hits
    for aid in sorted(shortlisted):
        names = []
        for position, (printed, person, family) in sorted(bylines.get(aid, {}).items()):
            first, last = _split_printed(printed, family)
            names.append(_anthology_name(first, last, person.removeprefix(person_prefix), position))
        yield shortlisted[aid], _Work(aid, titles[aid], _year_of_id(aid), _volume_of(aid), None,
                                      tuple(names), None)


def _with_dois(store: ox.Store, rec: Reconciliation) -> Reconciliation:
    """The store's DOIs for the reported candidates (read only for them, after matching)."""
    prefix = mint("anthology", "")
    dois: dict[str, str | None] = {}

    def doi(c: Candidate | None) -> Candidate | None:
        if c is None:
            return None
        if c.anthology_id not in dois:
            rows = list(_query(store, _PAPER_DOI, paper=NamedNode(prefix + c.anthology_id)))
            dois[c.anthology_id] = unquote(rows[0]["doi"].value[len("https://doi.org/"):]) if rows else None
        return replace(c, doi=dois[c.anthology_id])

    links = tuple(replace(link, anthology=doi(link.anthology),
                          candidates=tuple(doi(c) for c in link.candidates)) for link in rec.links)
    return replace(rec, links=links)


def reconcile_store(store: ox.Store | None, review: ReviewFile | None, *, threshold: float = DEFAULT_THRESHOLD,
                    resolver: NameResolver | None = None, guides: list[Guide] | None = None,
                    anthology_papers: Iterable[AnthologyPaper] | None = None,
                    curation: Curation | None = None, missing_ok: bool = False) -> Reconciliation:
    """Reconcile what a store holds: its guide papers (or the `guides` records given)
    with its Anthology papers (or the `anthology_papers` records given).

    Raises KGError when there is no guide paper or no Anthology paper to work with;
    with `missing_ok`, returns an empty Reconciliation instead (a build of a guide alone).
    """
    if store is None and (guides is None or anthology_papers is None):
        raise KGError("no store to read guide or Anthology papers from; build one or pass both")
    if guides is not None:
        papers, issues = guide_papers(guides, resolver, curation)
    else:
        papers, issues = _store_guides(store, resolver), []
    if not papers:
        if missing_ok:
            return Reconciliation((), threshold, tuple(issues))
        raise KGError("the store holds no guide papers: build it from a guide first "
                      "(kg build GUIDE ...) or pass --guide FILE")
    index = _Index(papers)
    wanted = review.wanted() if review else set()
    if anthology_papers is not None:
        works = list(_record_works(anthology_papers, index, resolver, wanted))
    else:
        works = list(_store_works(store, index, wanted))
        if not works and not list(_query(store, _ANTHOLOGY_ANY, prefix=mint("anthology", ""))):
            if missing_ok:
                return Reconciliation((), threshold, tuple(issues))
            raise KGError("the store holds no ACL Anthology papers to reconcile with: build it "
                          "with the Anthology collection files too, or pass --anthology DIR "
                          "(e.g. shared/anthology/xml)")
        return _with_dois(store, _reconcile(papers, works, review, threshold, issues))
    return _reconcile(papers, works, review, threshold, issues)


# --------------------------------------------------------------------------- reports

REPORT_FORMATS = ("table", "json", "csv")


def report_data(rec: Reconciliation) -> dict:
    """The reconciliation as plain data (what `--format json` prints)."""
    def candidate(c: Candidate | None) -> dict | None:
        if c is None:
            return None
        return {"id": c.anthology_id, "title": c.title, "url": c.url, "doi": c.doi,
                "volume": c.volume_id, "year": c.year, "confidence": c.confidence,
                "evidence": list(c.evidence), "where": c.where}

    links = []
    for link in rec.links:
        links.append({
            "title": link.title, "guide": link.guide_file, "line": link.line, "paper": link.paper,
            "status": link.status, "confidence": link.confidence,
            "anthology": candidate(link.anthology), "evidence": list(link.evidence),
            "candidates": [candidate(c) for c in link.candidates],
            "people": [p.__dict__ | {"same_as": p.same_as} for p in link.people],
            "discrepancies": [d.__dict__ for d in link.discrepancies],
        })
    return {"threshold": rec.threshold, "links": links, "summary": rec.summary()}


# --------------------------------------------------------------------------- RDF

_A = NamedNode(RDF + "type")
_DECIMAL = NamedNode(XSD + "decimal")
_DERIVED = NamedNode(PROV + "wasDerivedFrom")


def _decimal(value: float) -> Literal:
    return Literal(f"{value:.2f}", datatype=_DECIMAL)


def map_reconciliation(rec: Reconciliation, aliases: dict[str, str] | None = None) -> list[Quad]:
    """The reconciliation graph (RECONCILIATION_GRAPH): one kg:Reconciliation per guide
    paper with a proposed, accepted or rejected Anthology paper, its discrepancies and
    author alignments, and `<canonical> schema:sameAs <alias>` for each of `aliases`
    (alias IRI -> canonical IRI, see Reconciliation.aliases): the IRIs the guides mint
    for what the default graph merges under the Anthology's. Sorted; no blank nodes."""
    graph = NamedNode(RECONCILIATION_GRAPH)
    out: list[Quad] = []

    def add(s: NamedNode, p: NamedNode, o) -> None:
        out.append(Quad(s, p, o, graph))

    for link in rec.links:
        if link.anthology is None or link.status not in STATUSES:
            continue
        node = NamedNode(link.iri)
        paper = NamedNode(link.paper)
        source = NamedNode(link.guide_source)
        cand = link.anthology
        add(node, _A, K("Reconciliation"))
        add(node, K("guidePaper"), paper)
        add(node, K("anthologyPaper"), NamedNode(mint("anthology", cand.anthology_id)))
        add(node, K("confidence"), _decimal(cand.confidence))
        add(node, K("status"), Literal(link.status))
        for text in link.evidence:
            add(node, K("evidence"), Literal(text))
        add(node, _DERIVED, source)
        for d in link.discrepancies:
            dn = NamedNode(f"{link.iri}/discrepancy/{d.key}")
            add(dn, _A, K("Discrepancy"))
            add(dn, K("reconciliation"), node)
            add(dn, K("discrepancyKind"), Literal(d.kind))
            if d.guide_value is not None:
                add(dn, K("guideValue"), Literal(d.guide_value))
            if d.anthology_value is not None:
                add(dn, K("anthologyValue"), Literal(d.anthology_value))
            if d.guide_position is not None:
                add(dn, K("guidePosition"), int_literal(d.guide_position))
            if d.anthology_position is not None:
                add(dn, K("anthologyPosition"), int_literal(d.anthology_position))
            add(dn, _DERIVED, source)
            if d.line:
                add(dn, K("sourceLine"), int_literal(d.line))
        for person in link.people:
            if person.guide_person == person.anthology_person:
                continue  # one IRI already: nothing to align
            an = NamedNode(f"{link.iri}/author/{person.guide_position}")
            add(an, _A, K("AuthorAlignment"))
            add(an, K("reconciliation"), node)
            add(an, K("guidePerson"), NamedNode(person.guide_person))
            add(an, K("anthologyPerson"), NamedNode(person.anthology_person))
            add(an, K("guidePosition"), int_literal(person.guide_position))
            add(an, K("anthologyPosition"), int_literal(person.anthology_position))
            add(an, K("confidence"), _decimal(person.confidence))
            add(an, K("evidence"), Literal(person.evidence))
    for alias, canonical in sorted((aliases or {}).items()):
        add(NamedNode(canonical), S("sameAs"), NamedNode(alias))
    return sorted(set(out), key=lambda q: (q.subject.value, q.predicate.value, str(q.object)))
