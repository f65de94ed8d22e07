"""Reconciliation from a store: guide papers and shortlisted Anthology works read with
SPARQL, as few terms as possible, then matched (`reconcile_store`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from urllib.parse import unquote

import pyoxigraph as ox
from pyoxigraph import Literal, NamedNode

from kg.errors import KGError
from kg.names import words
from kg.namespaces import PREFIXES, mint
from kg.reconcile.alignment import _anthology_name, _guide_name
from kg.reconcile.matching import DEFAULT_THRESHOLD, _Index, _reconcile
from kg.reconcile.records import Candidate, GuidePaper, Reconciliation, _Work
from kg.reconcile.review import ReviewFile
from kg.reconcile.sources import _record_works, guide_papers
from kg.reconcile.text import _name_words, _venue_words, _volume_of, _year_of, _year_of_id
from kg.records import AnthologyPaper, Guide
from kg.resolve import Curation
from kg.sources.anthology import NameResolver

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


def _values(variable: str, terms: Iterable) -> str:
    return f"VALUES ?{variable} {{ {' '.join(str(t) for t in terms)} }}"


def _chunks(items: Sequence, size: int = 2000) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


_PAPER_BASE = mint("anthology", "")
_PERSON_BASE = mint("person", "")


def _local(term) -> str | None:
    """The Anthology ID of a paper IRI (None for any other term)."""
    if isinstance(term, NamedNode) and term.value.startswith(_PAPER_BASE):
        return term.value[len(_PAPER_BASE):]
    return None


def _paper_values(aids: Iterable[str]) -> str:
    return _values("paper", (NamedNode(_PAPER_BASE + a) for a in aids))


def _articles_of(store, aids: Iterable[str]) -> set[str]:
    """Those of `aids` the store types schema:ScholarlyArticle."""
    found: set[str] = set()
    for chunk in _chunks(sorted(aids)):
        found.update(_local(row["paper"]) for row in _query(
            store, _ARTICLES.replace("{values}", _paper_values(chunk))))
    return found


def _titles_of(store, aids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(aids):
        for row in _query(store, _TITLES_OF.replace("{values}", _paper_values(chunk))):
            found[_local(row["paper"])] = row["title"].value
    return found


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
    titles, shortlisted = _by_title(store, index, wanted)
    maybe = _by_year_names(store, index, shortlisted)
    titles.update(_titles_of(store, sorted(maybe - set(titles))))
    maybe &= set(titles)
    bylines = _bylines(store, sorted(set(shortlisted) | maybe))
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
            names.append(_anthology_name(first, last, person.removeprefix(_PERSON_BASE), position))
        yield shortlisted[aid], _Work(aid, titles[aid], _year_of_id(aid), _volume_of(aid), None,
                                      tuple(names), None)


def _by_title(store, index: _Index, wanted: set[str]) -> tuple[dict[str, str], dict[str, set[int]]]:
    """Step 1, the title criteria: the titles read (Anthology ID -> title) and the papers
    shortlisted by title or wanted by the review file (ID -> guide papers hit). Every
    name is checked; the papers are read only for the names that match."""
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
            aid = _local(row["paper"])
            if aid is not None:
                titles[aid] = row["title"].value
    titles.update(_titles_of(store, sorted(wanted - set(titles))))
    articles = _articles_of(store, titles)
    shortlisted: dict[str, set[int]] = {}
    for aid, title in titles.items():
        hits = checked[title] if title in checked else index.title_hits(title)
        if (hits or aid in wanted) and aid in articles:
            shortlisted[aid] = hits
    return titles, shortlisted


def _by_year_names(store, index: _Index, shortlisted: dict[str, set[int]]) -> set[str]:
    """Step 2, the byline criterion's superset test: the papers of the guides' years
    (new-style IDs "2024.", old-style "P24-") not yet shortlisted whose printed names
    may hold half a guide paper's family names."""
    maybe: set[str] = set()
    volumes = [v for v in (row[0] for row in _query(store, _VOLUMES)) if _local(v) is not None]
    for year in sorted(y for y in index.years if y.isdigit() and len(y) == 4):
        def of_year(aid: str, year: str = year) -> bool:
            return aid.startswith(f"{year}.") or aid[1:4] == f"{year[2:]}-"

        chunk_of_year = [v for v in volumes if of_year(_local(v))]
        for chunk in _chunks(chunk_of_year):
            for row in _query(store, _YEAR_NAMES.replace("{values}", _values("volume", chunk))):
                aid = _local(row["paper"])
                if aid is None or not of_year(aid) or aid in shortlisted:
                    continue
                if index.name_hits(_year_of_id(aid), (_name_words(name) for name in row["names"].value.split("\n"))):
                    maybe.add(aid)
    return maybe & _articles_of(store, maybe)


def _bylines(store, aids: Sequence[str]) -> dict[str, dict[int, tuple[str, str, str | None]]]:
    """Step 3, the full bylines: Anthology ID -> position -> (printed name, person IRI,
    the person's family name)."""
    bylines: dict[str, dict[int, tuple[str, str, str | None]]] = defaultdict(dict)
    for chunk in _chunks(aids):
        for row in _query(store, _AUTHORS_OF.replace("{values}", _paper_values(chunk))):
            family = row["family"].value if row["family"] is not None else None
            bylines[_local(row["paper"])][int(row["position"].value)] = (
                row["printed"].value, row["person"].value, family)
    return bylines


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
