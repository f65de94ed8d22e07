"""Who is the same as whom: people, the paper a figure shows, postings of one role,
and the research topics a role is about (with the words that say so).

Pure functions over records; the results are what `kg.mapping` turns into RDF.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import yaml

from kg.errors import SourceError
from kg.names import fold, name_key, person_slug, slug
from kg.namespaces import digest
from kg.records import Figure, Guide, Issue, Paper, Posting, Topic

# --- people -----------------------------------------------------------------

@dataclass(frozen=True)
class Curation:
    """Pinned identities: a folded name -> (person id, display name or None)."""

    pins: dict[str, tuple[str, str | None]]

    @classmethod
    def empty(cls) -> Curation:
        return cls({})


def load_curation(path: str | Path | None) -> Curation:
    """Read a curation file (YAML list of {id, name?, names: [...]}) or nothing."""
    if path is None:
        return Curation.empty()
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except OSError as exc:
        raise SourceError(path, None, f"cannot read curation file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SourceError(path, mark.line + 1 if mark else None,
                          "not valid YAML; expected a list of {id, name, names}") from exc
    if not isinstance(data, list):
        raise SourceError(path, 1, "expected a YAML list of entries {id, name, names}")
    pins: dict[str, tuple[str, str | None]] = {}
    for number, entry in enumerate(data, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise SourceError(path, None, f"entry {number}: expected a mapping with an 'id' string")
        pid = slug(entry["id"], limit=80)
        name = entry.get("name")
        for variant in [name, *(entry.get("names") or [])]:
            if variant:
                pins[name_key(str(variant))] = (pid, name)
    return Curation(pins)


def person_id(name: str, curation: Curation) -> str:
    """The stable id of the person a printed name means (curation pins win)."""
    pin = curation.pins.get(name_key(name))
    return pin[0] if pin else person_slug(name)


@dataclass(frozen=True)
class Person:
    id: str
    name: str  # the display name
    alternate_names: tuple[str, ...]


def resolve_people(papers: tuple[Paper, ...], curation: Curation) -> dict[str, Person]:
    """One Person per id; the display name is the pinned one or the most used spelling."""
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    aliases: dict[str, set[str]] = defaultdict(set)
    for paper in papers:
        for author in paper.authors:
            pid = person_id(author.name, curation)
            spellings[pid][author.name] += 1
            aliases[pid].update(author.aliases)
    pinned_names = {pid: name for pid, name in curation.pins.values() if name}
    people = {}
    for pid, counts in spellings.items():
        # most used; then the one keeping most diacritics; then alphabetical
        ranked = sorted(counts, key=lambda n: (-counts[n], -sum(ord(c) > 127 for c in n), n))
        name = pinned_names.get(pid, ranked[0])
        others = (set(counts) | aliases[pid]) - {name}
        people[pid] = Person(pid, name, tuple(sorted(others)))
    return people


# --- figures ------------------------------------------------------------------

def figure_paper(figure: Figure, papers: tuple[Paper, ...], path: str) -> tuple[Paper | None, Issue | None]:
    """The paper a figure belongs to: the one its caption names, else the one above it."""
    by_title = {p.title: p for p in papers}
    if figure.paper_title in by_title:
        return by_title[figure.paper_title], None
    if figure.preceding_title in by_title:
        named = f"names {figure.paper_title!r}, which is not in this guide" if figure.paper_title \
            else "names no paper"
        return by_title[figure.preceding_title], Issue(
            path, figure.line, f"caption of {figure.file_name!r} {named}; "
                               f"linked to the paper above it, {figure.preceding_title!r}")
    return None, Issue(path, figure.line,
                       f"caption of {figure.file_name!r} names no paper of this guide; figure skipped")


# --- roles ---------------------------------------------------------------------

@dataclass(frozen=True)
class Role:
    """Identical listings (same title and text) are one role."""

    id: str
    title: str
    description: str
    internship: bool
    postings: tuple[Posting, ...]


def group_roles(postings: tuple[Posting, ...]) -> list[Role]:
    groups: dict[tuple[str, str], list[Posting]] = defaultdict(list)
    for posting in postings:
        text = " ".join(posting.description.split())
        groups[(posting.title or "Untitled role", text)].append(posting)
    roles = []
    for (title, text), members in groups.items():
        rid = f"{slug(title, 40)}-{digest(title + chr(10) + text)}"
        roles.append(Role(rid, title, text, any(p.internship for p in members), tuple(members)))
    return sorted(roles, key=lambda r: r.id)


# --- roles -> topics ------------------------------------------------------------

@dataclass(frozen=True)
class TopicMatch:
    topic: str  # label
    evidence: tuple[str, ...]  # the words of the posting, as written, sorted
    score: int  # number of matches


def load_topic_cues(path: str | Path | None = None) -> dict[str, tuple[str, ...]]:
    """Cue phrases per topic label (the shipped ontology/topic-cues.yaml by default)."""
    if path is None:
        text = files("kg.ontology").joinpath("topic-cues.yaml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    return {str(label): tuple(str(c) for c in cues or ()) for label, cues in data.items()}


_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_SOFT_GAP = re.compile(r"[\s\-‐–/]+|-?[Aa]-?|")


def _stem(word: str) -> str:
    word = fold(word)
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def link_topics(text: str, topics: list[Topic], cues: dict[str, tuple[str, ...]]) -> list[TopicMatch]:
    """Topics whose label or cue phrases occur in `text`, word by word up to plurals.

    Deterministic: the same text, topics and cues give the same matches and evidence.
    """
    tokens = [(m.start(), m.end(), _stem(m.group(0))) for m in _TOKEN.finditer(text)]
    stems = [t[2] for t in tokens]
    # a phrase may span spaces and hyphens, not a comma, semicolon or sentence end
    joined = [i > 0 and _SOFT_GAP.fullmatch(text[tokens[i - 1][1]:tokens[i][0]]) is not None
              for i in range(len(tokens))]
    matches = []
    for topic in sorted(topics, key=lambda t: t.label):
        found: Counter[str] = Counter()
        for phrase in {topic.label, *cues.get(topic.label, ())}:
            wanted = [_stem(w) for w in _TOKEN.findall(phrase)]
            if not wanted:
                continue
            n = len(wanted)
            for i in range(len(stems) - n + 1):
                if stems[i:i + n] == wanted and all(joined[i + 1:i + n]):
                    found[text[tokens[i][0]:tokens[i + n - 1][1]]] += 1
        if found:
            matches.append(TopicMatch(topic.label, tuple(sorted(found)), sum(found.values())))
    return matches


# --- a whole guide ------------------------------------------------------------------

@dataclass(frozen=True)
class ResolvedGuide:
    guide: Guide
    people: dict[str, Person]
    byline_ids: tuple[tuple[str, ...], ...]  # person ids, parallel to guide.papers and their authors
    figures: tuple[tuple[Figure, Paper], ...]
    roles: tuple[Role, ...]
    role_topics: dict[str, tuple[TopicMatch, ...]]  # role id -> matches
    issues: tuple[Issue, ...]


def resolve_guide(guide: Guide, curation: Curation, cues: dict[str, tuple[str, ...]]) -> ResolvedGuide:
    issues = list(guide.issues)
    figures = []
    for figure in guide.figures:
        paper, issue = figure_paper(figure, guide.papers, guide.path)
        if issue:
            issues.append(issue)
        if paper:
            figures.append((figure, paper))
    roles = group_roles(guide.postings)
    role_topics = {r.id: tuple(link_topics(r.description, list(guide.topics), cues)) for r in roles}
    return ResolvedGuide(
        guide=guide,
        people=resolve_people(guide.papers, curation),
        byline_ids=tuple(tuple(person_id(a.name, curation) for a in p.authors) for p in guide.papers),
        figures=tuple(figures),
        roles=tuple(roles),
        role_topics=role_topics,
        issues=tuple(issues),
    )
