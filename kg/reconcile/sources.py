"""Reconciliation from records: guide papers and Anthology works from the parsed Guide and
AnthologyPaper records (`reconcile_sources`, and what `reconcile_store` is given).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from kg.mapping import paper_iri, person_iri, source_iri
from kg.reconcile.alignment import _anthology_name, _guide_name
from kg.reconcile.matching import DEFAULT_THRESHOLD, _Index, _reconcile
from kg.reconcile.records import GuidePaper, Reconciliation, _Work
from kg.reconcile.review import ReviewFile
from kg.reconcile.text import _name_words, _venue_words, _year_of
from kg.records import AnthologyPaper, Guide, Issue
from kg.resolve import Curation, person_id
from kg.sources.anthology import NameResolver, slugify_name


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
