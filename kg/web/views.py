"""What the person, paper and topic pages show above their facts, and the home page's
overview and search suggestions: read from the store in a query worker, written as
escaped HTML (the pages) or JSON (overview, suggestions)."""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from urllib.parse import quote

import pyoxigraph as ox

from kg.errors import KGError
from kg.facts import stats
from kg.names import fold
from kg.namespaces import PREFIXES
from kg.queries import run_saved
from kg.store import Store
from kg.web.draw import Node, network, year_bars

MAX_COAUTHORS = 30  # nodes in the drawing; the table lists them all
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def href(iri: str) -> str:
    return "/entity?iri=" + quote(iri, safe="")


def _link(iri: str, text: str) -> str:
    return f'<a href="{_e(href(iri))}">{_e(text)}</a>'


def _rows(store: Store, query: str, **bound: ox.NamedNode) -> list[dict[str, str | None]]:
    """Rows as {variable: value}; `bound` terms are substituted (SEP-0007), which is why
    every query here projects the variables it is given."""
    subs = {ox.Variable(k): v for k, v in bound.items()}
    return [{v.value: (row[v].value if row[v] is not None else None) for v in result.variables}
            for result in [store.query(query, prefixes=PREFIXES, substitutions=subs)] for row in result]


def _year(date: str | None, event: str | None) -> int | None:
    """The year of a paper: its schema:datePublished, else the year its event names ("ACL 2024")."""
    for text in (date, event):
        found = _YEAR.search(text or "")
        if found:
            return int(found.group(1))
    return None


def _table(css: str, head: list[str], rows: list[list[str]], caption: str = "") -> str:
    """A table whose cells are already HTML; app.js makes `sortable` ones sort on a header click."""
    if not rows:
        return ""
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<table class="sortable {css}">{cap}<thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in head)
            + f"</tr></thead><tbody>{body}</tbody></table>")


def _fold(body: str, summary: str, folded: bool) -> str:
    """A long table behind a <details> (the drawing above it says most of it)."""
    return f"<details><summary>{_e(summary)}</summary>{body}</details>" if folded and body else body


def _section(ident: str, title: str, body: str, empty: str = "") -> str:
    if not body and not empty:
        return ""
    return f'<section id="{ident}"><h2>{_e(title)}</h2>{body or f"<p class=hint>{_e(empty)}</p>"}</section>'


# --- a person ------------------------------------------------------------------------------

# One row per paper: the byline its kg:bylineSource names (as papers-by-author.rq) and the
# person's position in it; then each byline's length (in one query, 1000x slower: join order)
_PERSON_PAPERS = """
SELECT ?paper ?slot ?title ?position ?printed ?date ?event ?person WHERE {
  ?slot pro:isHeldBy ?person ; pro:relatesToDocument ?paper ; schema:position ?position ;
        kg:printedName ?printed .
  FILTER NOT EXISTS { ?paper kg:bylineSource ?chosen FILTER NOT EXISTS { ?slot prov:wasDerivedFrom ?chosen } }
  ?paper schema:name ?title .
  OPTIONAL { ?paper schema:datePublished ?date }
  OPTIONAL { ?paper kg:presentedAt/schema:name ?event }
}"""

_BYLINE_LENGTHS = """
SELECT ?slot (COUNT(DISTINCT ?other) AS ?authors) ?person WHERE {
  ?slot pro:isHeldBy ?person ; pro:relatesToDocument ?paper ; prov:wasDerivedFrom ?source .
  ?other pro:relatesToDocument ?paper ; prov:wasDerivedFrom ?source .
  FILTER EXISTS { ?other pro:withRole pro:author }  # as a pattern, it is read first: every slot
} GROUP BY ?slot ?person"""

_PERSON_TOPICS = """
SELECT ?paper ?topic ?label ?person WHERE {
  ?paper schema:author ?person ; dcterms:subject ?topic . ?topic skos:prefLabel ?label
}"""

_COAUTHORS = """
SELECT ?other ?name (COUNT(DISTINCT ?paper) AS ?papers) ?person WHERE {
  ?paper schema:author ?person, ?other . FILTER(?other != ?person) ?other schema:name ?name
} GROUP BY ?other ?name ?person"""

# co-authors who wrote one of the person's papers together: the ties drawn between them
_COAUTHOR_TIES = """
SELECT ?a ?b (COUNT(DISTINCT ?paper) AS ?papers) ?person WHERE {
  ?paper schema:author ?person, ?a, ?b . FILTER(?a != ?person && ?b != ?person && STR(?a) < STR(?b))
} GROUP BY ?a ?b ?person"""


def person_sections(store: Store, iri: str, name: str) -> str:
    person = ox.NamedNode(iri)
    papers = _rows(store, _PERSON_PAPERS, person=person)
    if not papers:
        return ""
    topics_of: dict[str, list[tuple[str, str]]] = defaultdict(list)
    topic_count: Counter[tuple[str, str]] = Counter()
    for row in _rows(store, _PERSON_TOPICS, person=person):
        topics_of[row["paper"]].append((row["topic"], row["label"]))
        topic_count[(row["topic"], row["label"])] += 1
    lengths = {r["slot"]: r["authors"] for r in _rows(store, _BYLINE_LENGTHS, person=person)}
    for p in papers:
        p["year"] = _year(p["date"], p["event"])
        p["authors"] = lengths.get(p["slot"], "?")
    papers.sort(key=lambda p: (-(p["year"] or 0), p["title"].lower()))  # newest first, then by title

    per_year: dict[int, list[int]] = {}
    for p in papers:
        if p["year"] is not None:
            slot = per_year.setdefault(p["year"], [0, 0])
            slot[0 if p["position"] == "1" else 1] += 1
    chart = year_bars({y: (a, b) for y, a_b in per_year.items() for a, b in [a_b]},
                      f"{name}: papers per year")
    firsts = sum(1 for p in papers if p["position"] == "1")
    summary = (f'<p class="summary" id="summary">{len(papers)} {"paper" if len(papers) == 1 else "papers"}, '
               f"{firsts} as first author.</p>")

    paper_rows = [[_e(p["year"] or ""), _link(p["paper"], p["title"]),
                   f'<span class="position" data-sort="{int(p["position"])}">{_e(p["position"])} of '
                   f'{_e(p["authors"])}</span>'
                   + (f' <span class="hint">as {_e(p["printed"])}</span>' if p["printed"] != name else ""),
                   "; ".join(_link(t, label) for t, label in sorted(topics_of[p["paper"]], key=lambda t: t[1]))]
                  for p in papers]
    coauthors = sorted(_rows(store, _COAUTHORS, person=person), key=lambda r: (-int(r["papers"]), r["name"]))
    drawn = coauthors[:MAX_COAUTHORS]
    keys = {r["other"] for r in drawn}
    ties = [(r["a"], r["b"], int(r["papers"])) for r in _rows(store, _COAUTHOR_TIES, person=person)
            if r["a"] in keys and r["b"] in keys]
    drawing = network(Node(iri, name, href(iri), len(papers)),
                      [Node(r["other"], r["name"], href(r["other"]), int(r["papers"])) for r in drawn],
                      [(iri, r["other"], int(r["papers"])) for r in drawn] + ties,
                      f"{name} and their co-authors") if coauthors else ""
    more = (f'<p class="hint">The drawing shows the {MAX_COAUTHORS} with the most joint papers.</p>'
            if len(coauthors) > MAX_COAUTHORS else "")
    coauthor_rows = [[_link(r["other"], r["name"]), _e(r["papers"])] for r in coauthors]
    topic_rows = [[_link(t, label), _e(n)] for (t, label), n in
                  sorted(topic_count.items(), key=lambda kv: (-kv[1], kv[0][1]))]
    return (summary
            + _section("chart", "Papers per year", chart)
            + _section("papers", "Papers", _table("papers", ["year", "title", "byline position", "topics"],
                                                  paper_rows))
            + _section("coauthors", "Co-authors", drawing + more + _fold(
                _table("coauthors", ["co-author", "papers together"], coauthor_rows),
                f"All {len(coauthor_rows)} co-authors", len(coauthor_rows) > 20), "No co-authors.")
            + _section("topics", "Topics", _table("topics", ["topic", "papers"], topic_rows),
                       "None of these papers has a topic.")
            + _section("roles", "Matching roles", _roles(store, iri)))


def _roles(store: Store, iri: str) -> str:
    """roles-for-author.rq: roles whose topics overlap the person's."""
    try:
        result = run_saved(store, "roles-for-author", {"author": iri})
    except KGError:
        return ""
    rows = [dict(zip(result.variables, (t.value if t is not None else "" for t in row))) for row in result.rows]
    return _table("roles", ["role", "team", "shared topics", "topics", "evidence"],
                  [[f'<a href="/entity?kind=role&amp;name={_e(quote(r["role"]))}">{_e(r["role"])}</a>',
                    _e(r["team"]), _e(r["shared"]), _e(r["topics"]), _e(r["evidence"])] for r in rows])


# --- a paper -------------------------------------------------------------------------------

_BYLINES = """
SELECT ?source ?graph ?position ?printed ?person ?name ?preferred ?paper WHERE {
  ?slot pro:relatesToDocument ?paper ; pro:withRole pro:author ; schema:position ?position ;
        kg:printedName ?printed ; pro:isHeldBy ?person ; prov:wasDerivedFrom ?graph .
  ?graph kg:fileName ?source .
  OPTIONAL { ?person schema:name ?name }
  OPTIONAL { ?paper kg:bylineSource ?chosen }
  BIND(IF(!BOUND(?chosen) || ?chosen = ?graph, "yes", "no") AS ?preferred)
}"""

_PAPER = """
SELECT ?url ?identifier ?date ?event ?starred ?abstract ?paper WHERE {
  OPTIONAL { ?paper schema:url ?url }
  OPTIONAL { ?paper schema:identifier ?identifier }
  OPTIONAL { ?paper schema:datePublished ?date }
  OPTIONAL { ?paper kg:presentedAt/schema:name ?event }
  OPTIONAL { ?paper kg:asteriskMarked ?starred }
  OPTIONAL { ?paper schema:abstract ?abstract }
} LIMIT 1"""

_PAPER_LISTS = {
    "topics": "SELECT ?topic ?label ?paper WHERE { ?paper dcterms:subject ?topic . ?topic skos:prefLabel ?label } ORDER BY ?label",
    "figures": "SELECT ?figure ?file ?caption ?paper WHERE { ?figure schema:isPartOf ?paper ; a schema:ImageObject ; "
               "schema:name ?file OPTIONAL { ?figure schema:caption ?caption } } ORDER BY ?file",
    "doi": "SELECT ?doi ?paper WHERE { ?paper schema:sameAs ?doi FILTER(STRSTARTS(STR(?doi), \"https://doi.org/\")) }",
}

# discrepancies.rq for one paper: the paper is the guide's or the Anthology's side of the link
_DISCREPANCIES = """
SELECT ?discrepancy ?guideValue ?anthologyValue ?guidePosition ?anthologyPosition ?confidence ?status ?file ?line
       ?paper
WHERE {
  ?link kg:guidePaper|kg:anthologyPaper ?paper ; kg:confidence ?confidence ; kg:status ?status .
  ?d a kg:Discrepancy ; kg:reconciliation ?link ; kg:discrepancyKind ?discrepancy .
  OPTIONAL { ?d kg:guideValue ?guideValue }
  OPTIONAL { ?d kg:anthologyValue ?anthologyValue }
  OPTIONAL { ?d kg:guidePosition ?guidePosition }
  OPTIONAL { ?d kg:anthologyPosition ?anthologyPosition }
  OPTIONAL { ?d prov:wasDerivedFrom/kg:fileName ?file }
  OPTIONAL { ?d kg:sourceLine ?line }
} ORDER BY ?discrepancy ?guidePosition ?anthologyPosition"""


def paper_sections(store: Store, iri: str) -> str:
    paper = ox.NamedNode(iri)
    bylines: dict[str, list[dict]] = defaultdict(list)
    preferred = None
    for row in _rows(store, _BYLINES, paper=paper):
        bylines[row["source"]].append(row)
        if row["preferred"] == "yes":
            preferred = row["source"]
    for rows in bylines.values():
        rows.sort(key=lambda r: int(r["position"]))
    info = (_rows(store, _PAPER, paper=paper) or [{}])[0]
    lists = {k: _rows(store, q, paper=paper) for k, q in _PAPER_LISTS.items()}

    facts = []
    year = _year(info.get("date"), info.get("event"))
    if info.get("event") or year:
        facts.append(f'<span id="venue">{_e(info.get("event") or year)}</span>')
    if info.get("url"):
        facts.append(f'<a id="anthology" href="{_e(info["url"])}" rel="external noopener">'
                     f'ACL Anthology {_e(info.get("identifier") or "")}</a>')
    for d in lists["doi"]:
        facts.append(f'<a class="doi" href="{_e(d["doi"])}" rel="external noopener">doi:{_e(d["doi"][16:])}</a>')
    if info.get("starred") == "true":
        facts.append('<span class="starred" title="marked with the guide\'s asterisk">* in the guide</span>')
    out = f'<p class="summary" id="summary">{" · ".join(facts)}</p>' if facts else ""

    if preferred:
        items = "".join(
            f'<li value="{_e(r["position"])}">{_link(r["person"], r["name"] or r["printed"])}'
            + (f' <span class="hint">printed “{_e(r["printed"])}”</span>'
               if r["name"] and r["printed"] != r["name"] else "") + "</li>"
            for r in bylines[preferred])
        note = f'<p class="hint">The byline of {_e(preferred)}.</p>' if len(bylines) > 1 else ""
        long = ' long' if len(bylines[preferred]) > 12 else ''
        out += _section("authors", "Authors", f'<ol class="byline{long}">{items}</ol>{note}')
    if len(bylines) > 1:
        head = "".join(f"<th>{_e(s)}</th>" for s in sorted(bylines))
        longest = max(len(r) for r in bylines.values())
        rows = []
        for i in range(longest):
            names = [bylines[s][i]["printed"] if i < len(bylines[s]) else "" for s in sorted(bylines)]
            differs = ' class="differs"' if len(set(names)) > 1 else ""  # where the sources disagree
            rows.append(f"<tr{differs}><td>{i + 1}</td>" + "".join(f"<td>{_e(n)}</td>" for n in names) + "</tr>")
        body = "".join(rows)
        out += _section("bylines", "Every source's byline",
                        f'<table class="bylines"><thead><tr><th>#</th>{head}</tr></thead><tbody>{body}</tbody></table>')
    out += _section("paper-topics", "Topics", ", ".join(_link(t["topic"], t["label"]) for t in lists["topics"]))
    if lists["figures"]:
        out += _section("figures", "Figures", "".join(
            f'<figure><figcaption><code>{_e(f["file"])}</code> {_e(f["caption"] or "")}</figcaption></figure>'
            for f in lists["figures"]))
    discrepancies = _rows(store, _DISCREPANCIES, paper=paper)
    if discrepancies:
        rows = [[_e(d["discrepancy"]), _e(d["guideValue"] or ""), _e(d["guidePosition"] or ""),
                 _e(d["anthologyValue"] or ""), _e(d["anthologyPosition"] or ""),
                 _e(f'{float(d["confidence"]):.2f} {d["status"]}'),
                 _e(f'{d["file"]}:{d["line"]}' if d["file"] and d["line"] else d["file"] or "")]
                for d in discrepancies]
        out += _section("discrepancies", "Where the guide and the Anthology disagree", _table(
            "discrepancies", ["kind", "guide", "guide position", "Anthology", "Anthology position", "link",
                              "guide line"], rows))
    if info.get("abstract"):
        out += _section("abstract", "Abstract", f"<p>{_e(info['abstract'])}</p>")
    return out


# --- a topic -------------------------------------------------------------------------------

_TOPIC_PAPERS = """
SELECT ?paper ?title ?date ?event ?topic WHERE {
  ?paper dcterms:subject ?topic ; schema:name ?title .
  OPTIONAL { ?paper schema:datePublished ?date }
  OPTIONAL { ?paper kg:presentedAt/schema:name ?event }
}"""

# their bylines, as the person page reads them (an OPTIONAL in the query above is 100x slower)
_TOPIC_AUTHORS = """
SELECT ?paper ?position ?person ?name ?topic WHERE {
  ?paper dcterms:subject ?topic .
  ?slot pro:relatesToDocument ?paper ; schema:position ?position ; pro:isHeldBy ?person .
  FILTER EXISTS { ?slot pro:withRole pro:author }
  FILTER NOT EXISTS { ?paper kg:bylineSource ?chosen FILTER NOT EXISTS { ?slot prov:wasDerivedFrom ?chosen } }
  ?person schema:name ?name
}"""

_TOPIC_ROLES = """
SELECT DISTINCT ?role ?name ?topic WHERE { ?role kg:relatedTopic ?topic ; schema:name ?name } ORDER BY ?name"""


def topic_sections(store: Store, iri: str, label: str) -> str:
    topic = ox.NamedNode(iri)
    papers: dict[str, dict] = {}
    people: dict[str, list] = {}
    for row in _rows(store, _TOPIC_PAPERS, topic=topic):
        papers.setdefault(row["paper"], {"title": row["title"], "year": _year(row["date"], row["event"]),
                                         "authors": {}})
    for row in _rows(store, _TOPIC_AUTHORS, topic=topic):
        if row["paper"] in papers:
            papers[row["paper"]]["authors"][int(row["position"])] = (row["person"], row["name"])
            people.setdefault(row["person"], [row["name"], set()])[1].add(row["paper"])
    if not papers:
        return ""
    ordered = sorted(papers.items(), key=lambda kv: (-(kv[1]["year"] or 0), kv[1]["title"].lower()))
    paper_rows = [[_e(p["year"] or ""), _link(key, p["title"]),
                   ", ".join(_link(*p["authors"][i]) for i in sorted(p["authors"]))] for key, p in ordered]
    per_year = Counter(p["year"] for p in papers.values() if p["year"])
    people_rows = [[_link(key, name), _e(len(ps))]
                   for key, (name, ps) in sorted(people.items(), key=lambda kv: (-len(kv[1][1]), kv[1][0]))]
    roles = _rows(store, _TOPIC_ROLES, topic=topic)
    return (f'<p class="summary" id="summary">{len(papers)} {"paper" if len(papers) == 1 else "papers"} by '
            f"{len(people)} {'person' if len(people) == 1 else 'people'}.</p>"
            + _section("chart", "Papers per year", year_bars({y: (n, 0) for y, n in per_year.items()},
                                                            f"{label}: papers per year", legend=False))
            + _section("papers", "Papers", _table("papers", ["year", "title", "authors"], paper_rows))
            + _section("people", "People", _table("people", ["person", "papers on the topic"], people_rows))
            + _section("topic-roles", "Roles linked to the topic",
                       "<ul>" + "".join(f"<li>{_link(r['role'], r['name'])}</li>" for r in roles) + "</ul>"
                       if roles else ""))


# --- the home page ---------------------------------------------------------------------------

_SOURCES = """
SELECT ?graph ?file ?title WHERE {
  GRAPH ?graph { ?graph kg:fileName ?file OPTIONAL { ?graph dcterms:title ?title } }
} ORDER BY ?file"""

_TOP_TOPICS = """
SELECT ?topic ?label (COUNT(DISTINCT ?paper) AS ?papers) WHERE {
  ?topic a skos:Concept ; skos:prefLabel ?label . ?paper dcterms:subject ?topic
} GROUP BY ?topic ?label ORDER BY DESC(?papers) ?label LIMIT 24"""

_TOP_PEOPLE = """
SELECT ?person ?name (COUNT(DISTINCT ?paper) AS ?papers) WHERE {
  ?paper schema:author ?person . ?person schema:name ?name
} GROUP BY ?person ?name ORDER BY DESC(?papers) ?name LIMIT 12"""

_ANTHOLOGY_FILE = re.compile(r"^(\d{4})\.[\w-]+\.xml(\.gz)?$")


def licence(file: str) -> str | None:
    """The licence of an ACL Anthology collection's metadata: CC BY 4.0 from 2016 on,
    CC BY-NC-SA 3.0 before (README, Data and credits); None for other sources."""
    found = _ANTHOLOGY_FILE.match(file)
    if not found:
        return None
    return "CC BY 4.0" if int(found.group(1)) >= 2016 else "CC BY-NC-SA 3.0"


def overview(store: Store) -> dict:
    """The home page's numbers: counts (as `kg stats`), the sources with their licences,
    the topics and the people with the most papers."""
    sources = [{"graph": r["graph"], "file": r["file"], "title": r["title"], "licence": licence(r["file"]),
                "anthology": licence(r["file"]) is not None} for r in _rows(store, _SOURCES)]
    return {"counts": stats(store), "sources": sources,
            "topics": [{"iri": r["topic"], "label": r["label"], "papers": int(r["papers"])}
                       for r in _rows(store, _TOP_TOPICS)],
            "people": [{"iri": r["person"], "label": r["name"], "papers": int(r["papers"])}
                       for r in _rows(store, _TOP_PEOPLE)]}


# --- search suggestions ----------------------------------------------------------------------

_INDEX_QUERIES = {
    "person": """SELECT ?e ?label (COUNT(DISTINCT ?paper) AS ?weight) WHERE {
      ?e a schema:Person . { ?e schema:name ?label } UNION { ?e schema:alternateName ?label }
      OPTIONAL { ?paper schema:author ?e } } GROUP BY ?e ?label""",
    "paper": "SELECT ?e ?label (0 AS ?weight) WHERE { ?e a schema:ScholarlyArticle ; schema:name ?label }",
    "topic": """SELECT ?e ?label (COUNT(DISTINCT ?paper) AS ?weight) WHERE {
      ?e a skos:Concept ; skos:prefLabel ?label OPTIONAL { ?paper dcterms:subject ?e } } GROUP BY ?e ?label""",
    "role": "SELECT ?e ?label (0 AS ?weight) WHERE { ?e a schema:Occupation ; schema:name ?label }",
}
_KIND_ORDER = {"topic": 0, "person": 1, "paper": 2, "role": 3}
# (store, its version, index): the worker keeps one store open; a build makes a new version
_index: tuple[Store, str, list[tuple[str, str, str, str, int]]] | None = None


def _suggest_index(store: Store) -> list[tuple[str, str, str, str, int]]:
    global _index
    version = store.version
    if _index is not None and _index[0] is store and _index[1] == version:
        return _index[2]
    entries = [(" " + fold(r["label"]) + " ", r["label"], kind, r["e"], int(r["weight"] or 0))
               for kind, q in _INDEX_QUERIES.items() for r in _rows(store, q)]
    _index = (store, version, entries)
    return entries


def suggest(store: Store, text: str, limit: int = 10) -> list[dict]:
    """People, papers, topics and roles whose name contains `text` (case and accents
    ignored): whole-label and word-start matches first, then topics, people (most papers
    first), papers, roles. An entity named by several labels (an alias) is listed once."""
    key = fold(text)
    if not key:
        return []
    hits = []
    for folded, label, kind, iri, weight in _suggest_index(store):
        at = folded.find(key)
        if at < 0:
            continue
        rank = 0 if folded == f" {key} " else 1 if at == 0 else 2 if folded[at - 1] == " " else 3
        hits.append((rank, _KIND_ORDER[kind], -weight, label.lower(), label, kind, iri, weight))
    hits.sort()
    seen, out = set(), []
    for *_, label, kind, iri, weight in hits:
        if iri in seen:
            continue
        seen.add(iri)
        out.append({"label": label, "kind": kind, "iri": iri, "href": href(iri), "papers": weight})
        if len(out) == limit:
            break
    return out
