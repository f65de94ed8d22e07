"""Candidate search and scoring: the guide papers indexed for one pass over the Anthology,
each shortlisted work scored, the best one picked and the curator's decisions applied.

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
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import cydifflib

from kg.errors import SourceError
from kg.mapping import person_iri
from kg.names import title_key, words
from kg.reconcile.alignment import PERSON_SAME_AS, _Alignment, _moved, align_bylines
from kg.reconcile.records import (
    DISCREPANCY_KINDS,
    Alias,
    Candidate,
    Discrepancy,
    GuidePaper,
    Link,
    PersonLink,
    Reconciliation,
    _Work,
)
from kg.reconcile.review import Decision, ReviewFile
from kg.reconcile.text import _spelling
from kg.records import Issue

DEFAULT_THRESHOLD = 0.85
MIN_LINK = 0.5  # a best candidate below this is no link at all ("unmatched")
RUNNER_UP_MARGIN = 0.02
TITLE_SIMILAR = 0.8  # below this a title is "different": the link rests on the byline
RENAMED_CAP = 0.8
_STOP = frozenset({
    "a", "an", "and", "are", "as", "at", "by", "can", "do", "does", "for", "from", "how", "in",
    "into", "is", "it", "its", "of", "on", "or", "our", "the", "their", "this", "to", "via", "vs",
    "what", "when", "which", "who", "why", "with", "without",
})


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
    proposals = [_ranked(paper, shortlists.get(i, {}).values()) for i, paper in enumerate(papers)]
    contested = _contested(papers, proposals)
    links = [_link(paper, proposals[i], review, by_id, threshold, contested.get(i))
             for i, paper in enumerate(papers)]
    return Reconciliation(tuple(links), threshold, tuple(issues), _listed_people(papers))


_Scored = tuple[tuple, Candidate, _Alignment, _Work]  # (sort key, candidate, alignment, work)


def _ranked(paper: GuidePaper, works: Iterable[_Work]) -> list[_Scored]:
    """The works scored for `paper`, best first (ties: title, then byline score, then ID)."""
    scored = []
    for work in works:
        candidate, alignment, t, a = _score(paper, work)
        scored.append(((-candidate.confidence, -t, -a, work.id), candidate, alignment, work))
    scored.sort(key=lambda s: s[0])
    return scored


def _contested(papers: Sequence[GuidePaper], proposals: Sequence[list[_Scored]]) -> dict[int, str]:
    """One Anthology paper, two guide papers: the weaker claims (by index), and why."""
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
    return contested


def _link(paper: GuidePaper, scored: list[_Scored], review: ReviewFile, by_id: dict[str, _Work],
          threshold: float, contested: str | None) -> Link:
    """The outcome for one guide paper: the curator's decision, else the best candidate."""
    candidates = tuple(s[1] for s in scored[:3])
    decided = review.decisions.get(title_key(paper.title))
    if decided is not None and decided.decision != "review":
        status, chosen, extra = _curated(paper, decided, review, by_id)
    elif scored and scored[0][1].confidence >= MIN_LINK:
        _, candidate, alignment, work = scored[0]
        chosen = (candidate, alignment, work)
        status, extra = _matched(scored, threshold, contested)
    else:
        return Link(paper.file_name, paper.source, paper.title, paper.line, paper.iri,
                    "unmatched", None, candidates,
                    ("no Anthology paper with a similar title or byline",), (), ())
    candidate, alignment, work = chosen
    keep = status != "rejected"
    return Link(
        paper.file_name, paper.source, paper.title, paper.line, paper.iri, status, candidate,
        candidates, candidate.evidence + tuple(extra),
        _people(alignment) if keep else (),
        tuple(_discrepancies(paper, work, alignment)) if keep else (),
    )


def _curated(paper: GuidePaper, decided: Decision, review: ReviewFile, by_id: dict[str, _Work]
             ) -> tuple[str, tuple[Candidate, _Alignment, _Work], list[str]]:
    """Status, choice and evidence of a paper the curator decided (accepted or rejected)."""
    where = f"{Path(review.path).name}:{decided.line}"
    target = decided.chosen or decided.anthology
    work = by_id.get(target) if target else None
    if work is None:
        raise SourceError(review.path, decided.line,
                          f"{target} is not an Anthology paper in the data read; check the "
                          "ID (e.g. 2024.acl-long.641) or read its collection file")
    candidate, alignment, _, _ = _score(paper, work)
    status = "rejected" if decided.decision == "reject" else "accepted"
    return status, (candidate, alignment, work), [f"{status} by curator ({where})"]


def _matched(scored: list[_Scored], threshold: float, contested: str | None) -> tuple[str, list[str]]:
    """Status and extra evidence of the best candidate: auto, or review when it is below
    the threshold, has a runner-up within RUNNER_UP_MARGIN or is contested."""
    candidate = scored[0][1]
    extra: list[str] = []
    status = "auto" if candidate.confidence >= threshold else "review"
    if len(scored) > 1 and scored[1][1].confidence >= candidate.confidence - RUNNER_UP_MARGIN:
        status = "review"
        extra.append(f"runner-up {scored[1][1].anthology_id} at {scored[1][1].confidence:.2f}")
    if contested:
        status = "review"
        extra.append(contested)
    if status == "review" and candidate.confidence < threshold:
        extra.append(f"confidence below the threshold {threshold:.2f}")
    return status, extra


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
