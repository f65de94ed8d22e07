"""Saved queries answered without SPARQL: the same rows as their .rq, computed from
Oxigraph's indexes where a SPARQL self-join or a GROUP BY over the whole graph is slow.

A saved query names its engine in its header (`#+ engine: coauthors`); kg.queries
runs the engine in place of the SPARQL text. An engine returns None to leave a store
(a server) to the .rq.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pyoxigraph as ox

from kg.namespaces import PREFIXES
from kg.sparql import Result
from kg.store import Store, collector_paused, in_process


def _rows(store: Store, query: str):
    return store.query(query, prefixes=PREFIXES)


# --- authors sharing topics, without a SPARQL self-join ----------------------------------

_AUTHOR_TOPIC_PAIRS = """
SELECT DISTINCT ?person ?topic WHERE { ?paper schema:author ?person ; dcterms:subject ?topic }
"""
_TOPIC_LABELS = "SELECT ?t ?label WHERE { ?t skos:prefLabel ?label }"
_NAMES = "SELECT ?p ?name WHERE { ?p schema:name ?name }"


def _as_int(value, default: int | None) -> int | None:
    if value is None:
        return default
    return int(value.value if isinstance(value, ox.Literal) else value)


def _as_iri(value) -> str | None:
    if value is None:
        return None
    return value.value if isinstance(value, ox.NamedNode) else str(value)


def authors_sharing_topics(store: Store, author=None, min_shared=1, limit=None):
    """The answer of queries/authors-sharing-topics.rq, by counting topic bitsets.

    Same rows as the SPARQL (author1, author2, shared, topics; most shared first, then
    by the two names), computed from one author-topic incidence instead of a self-join
    of papers by topic. Parameters may be RDF terms (as `kg.queries.run_saved` binds
    them) or plain values. With `limit`, only the first `limit` rows are made: pairs are
    visited from the authors with most topics down and the search stops once no pair
    left can reach the `limit`-th count (ties at that count are all kept, then cut in
    the query's order, so the rows equal the query's followed by LIMIT).

    GROUP_CONCAT's order is unspecified in SPARQL; here the topic labels are sorted.
    Pairs with the same count and the same two names are ordered by their IRIs.

    Long on purpose: read, bitsets, bounded search and rows are one recipe over the
    same local tables, best read top to bottom.
    """

    author = _as_iri(author)
    min_shared = max(_as_int(min_shared, 1), 1)  # a pair shares at least one topic
    limit = _as_int(limit, None)
    variables = ["author1", "author2", "shared", "topics"]
    if limit is not None and limit <= 0:
        return Result(variables, [])

    labels: dict[str, set] = {}
    for row in _rows(store, _TOPIC_LABELS):
        labels.setdefault(row["t"].value, set()).add(row["label"])
    names: dict[str, ox.Literal] = {}
    for row in _rows(store, _NAMES):
        p, name = row["p"].value, row["name"]
        if p not in names or name.value < names[p].value:  # MIN(?name)
            names[p] = name
    topic_bit: dict[str, int] = {}
    topic_of_bit: list[str] = []
    bits: dict[str, int] = {}
    for row in _rows(store, _AUTHOR_TOPIC_PAIRS):
        person, topic = row["person"], row["topic"].value
        # the query joins ?topic skos:prefLabel and ?a schema:name, and compares STR(?a):
        # topics without a label and people without a name (or blank nodes) drop out
        if topic not in labels or not isinstance(person, ox.NamedNode) or person.value not in names:
            continue
        bit = topic_bit.get(topic)
        if bit is None:
            bit = topic_bit[topic] = len(topic_of_bit)
            topic_of_bit.append(topic)
        bits[person.value] = bits.get(person.value, 0) | (1 << bit)

    found: list[tuple[int, str, str]] = []  # (shared, a1, a2)
    if author is not None:
        mine = bits.get(author, 0)
        if mine:
            for other, theirs in bits.items():
                if other != author:
                    n = (mine & theirs).bit_count()
                    if n >= min_shared:
                        found.append((n, author, other))
    else:
        people = sorted(bits, key=lambda p: -bits[p].bit_count())
        sizes = [bits[p].bit_count() for p in people]
        floor = min_shared  # no pair below it can be in the answer; rises with the top-k
        best: list[int] = []  # min-heap of the `limit` largest counts seen
        for i, a in enumerate(people):
            if sizes[i] < floor:
                break  # every pair left shares at most sizes[i] topics
            ta = bits[a]
            for j in range(i + 1, len(people)):
                if sizes[j] < floor:
                    break
                n = (ta & bits[people[j]]).bit_count()
                if n < floor:
                    continue
                b = people[j]
                found.append((n, a, b) if a < b else (n, b, a))
                if limit is not None:
                    if len(best) < limit:
                        heapq.heappush(best, n)
                    elif n > best[0]:
                        heapq.heapreplace(best, n)
                    if len(best) == limit and best[0] > floor:
                        floor = best[0]
                        found = [f for f in found if f[0] >= floor]
        found = [f for f in found if f[0] >= floor]

    def key(f):
        n, a1, a2 = f
        return (-n, names[a1].value, names[a2].value, a1, a2)

    found.sort(key=key)
    if limit is not None:
        found = found[:limit]
    integer = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
    rows = []
    for n, a1, a2 in found:
        shared = bits[a1] & bits[a2]
        cells = set()
        while shared:
            low = shared & -shared
            cells |= {label.value for label in labels[topic_of_bit[low.bit_length() - 1]]}
            shared ^= low
        rows.append([names[a1], names[a2], ox.Literal(str(n), datatype=integer),
                     ox.Literal("; ".join(sorted(cells)))])
    return Result(variables, rows)


# all pairs: the edges and the names apart, joined in Python; as one SPARQL join
# Oxigraph takes 13 s on the whole Anthology, the two reads 3 s
_AUTHOR_EDGES = "SELECT ?paper ?a WHERE { ?paper schema:author ?a }"
_ALL_NAMES = "SELECT ?s ?name WHERE { ?s schema:name ?name }"
# one person's papers, with the person bound; for a remote store (one request), where
# the local store is read by index lookups (see _coauthors_of)
_PAPERS_OF = """
SELECT ?paper ?title ?a ?name ?author WHERE {
  ?paper schema:author ?author ; schema:author ?a ; schema:name ?title . ?a schema:name ?name
}
"""
# a star of two patterns: Oxigraph starts it from the bound ?author
_TITLED_PAPERS_OF = "SELECT ?paper ?title ?author WHERE { ?paper schema:author ?author ; schema:name ?title }"
# the names of the person and of everyone who wrote a paper with them
_NAMES_AROUND = "SELECT DISTINCT ?a ?name ?author WHERE { ?paper schema:author ?author , ?a . ?a schema:name ?name }"
_AUTHOR = ox.NamedNode("http://schema.org/author")
_NAME = ox.NamedNode("http://schema.org/name")
_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
_DEFAULT = ox.DefaultGraph()


def _min_name(literals) -> ox.Literal | None:
    """MIN(?name) as the query takes it: the smallest by its string."""
    best = None
    for name in literals:
        if best is None or name.value < best.value:
            best = name
    return best


def _coauthors_of(store, author: ox.NamedNode) -> tuple[dict, dict, dict]:
    """(co-author -> set of joint papers, paper -> titles, person -> name) for one person.

    On a local store: the person's papers and titles (one small query), then each
    paper's authors by index lookups (`quads_for_pattern`), while a thread reads the
    names of everyone on those papers (Graham Neubig, 655 co-authors: 21.5 -> 16.2 ms);
    _PAPERS_OF, one join, reads 1.5 times the terms and takes twice as long.
    The query's joins hold: papers without a title and people without a name drop out.
    """
    joint: dict = {}
    titles: dict = {}
    names: dict = {}
    if not in_process(store):  # a server: one query, not thousands
        rows = store.query(_PAPERS_OF, prefixes=PREFIXES, substitutions={ox.Variable("author"): author})
        found: dict = {}
        for row in rows:
            paper, a = row["paper"], row["a"]
            titles.setdefault(paper, set()).add(row["title"].value)
            found.setdefault(a, set()).add(row["name"])
            if a != author:
                joint.setdefault(a, set()).add(paper)
        names = {a: _min_name(found[a]) for a in found}
        return joint, titles, names
    quads = store.quads_for_pattern
    bound = {ox.Variable("author"): author}

    def read_papers() -> None:
        for paper, title, _ in store.query(_TITLED_PAPERS_OF, prefixes=PREFIXES,
                                           substitutions=bound):
            titles.setdefault(paper, set()).add(title.value)
        for paper in titles:
            for q in quads(paper, _AUTHOR, None, _DEFAULT):
                if q.object != author:
                    joint.setdefault(q.object, set()).add(paper)

    found: dict = {}
    for a, name, _ in _read_while(store, _NAMES_AROUND, read_papers, bound):
        found.setdefault(a, []).append(name)
    names = {a: _min_name(found[a]) for a in found}
    # the query's joins: a co-author without a name drops out
    return {a: papers for a, papers in joint.items() if a in names}, titles, names


def coauthors(store: Store, author=None):
    """The answer of queries/coauthors.rq from the paper-author incidence.

    Same rows as the SPARQL (author1, author2, papers, titles; most papers first, then
    by the two names): with `author`, the pairs (author, co-author); without, every
    pair once, the IRI of author1 sorting before that of author2. Titles are sorted
    (GROUP_CONCAT's order is unspecified); rows equal in papers and names are ordered
    by the IRIs. With `author`, a co-author may be a blank node, as in the query (its
    COALESCE is true before STR(?a2) is read); without, blank nodes drop out (no STR).
    """
    variables = ["author1", "author2", "papers", "titles"]
    if author is None:
        with collector_paused():
            return Result(variables, _all_pairs(store))
    author = ox.NamedNode(_as_iri(author))
    joint, titles, names = _coauthors_of(store, author)
    if author not in names:
        return Result(variables, [])
    ranked = sorted(joint.items(), key=lambda kv: (-len(kv[1]), names[kv[0]].value, str(kv[0])))
    mine, rows = names[author], []
    for a, papers in ranked:
        cells = sorted({t for paper in papers for t in titles[paper]})
        rows.append([mine, names[a], ox.Literal(str(len(papers)), datatype=_INTEGER),
                     ox.Literal("; ".join(cells))])
    return Result(variables, rows)


def _all_pairs(store) -> list[list]:
    """Every co-author pair's row, from two plain reads (names, and paper-author edges meanwhile).

    Everything named is numbered by smallest name, then IRI (while the edges are still
    being read), and a pair (author1 the smaller IRI) is one integer, so the ranking is
    mostly an integer sort; only the pairs of namesakes as author1 are sorted again by
    author2's name (ORDER BY ?author1 ?author2).

    Long on purpose: one hot path over local names (bound methods, arrays) for speed;
    helpers would pass a dozen of them and pay a call per row.
    """
    names: dict = {}  # IRI -> its name, or a list of its names (blank nodes have no STR)
    get = names.get

    people: list[str] = []  # every named IRI, by smallest name, then IRI
    labels: list = []
    name_rank: list[int] = []  # per number, the number of the first of its namesakes

    def read_names() -> None:
        for s, name in _rows(store, _ALL_NAMES):
            if type(s) is ox.NamedNode:
                key = s.value
                found = get(key)
                if found is None:
                    names[key] = name
                elif type(found) is list:
                    found.append(name)
                else:
                    names[key] = [found, name]
        # numbered while the edges are still being read (papers too: they only add ranks)
        label = {a: _min_name(v) if type(v) is list else v for a, v in names.items()}
        people.extend(sorted(label, key=lambda a: (label[a].value, a)))
        labels.extend(label[a] for a in people)
        for r, name in enumerate(labels):
            name_rank.append(name_rank[-1] if r and labels[r - 1].value == name.value else r)

    by_paper: dict = {}  # a paper's IRI (or blank node) -> its authors' IRIs
    for paper, a in _read_while(store, _AUTHOR_EDGES, read_names):
        if type(a) is ox.NamedNode:
            key = paper.value if type(paper) is ox.NamedNode else paper
            found = by_paper.get(key)
            if found is None:
                by_paper[key] = [a.value]
            else:
                found.append(a.value)
    n = len(people)
    number = {a: r for r, a in enumerate(people)}

    titles: list[tuple[str, ...]] = []  # per numbered paper, its titles
    first: dict[int, int] = {}  # pair -> its first paper
    more: dict[int, list[int]] = {}  # pair -> all its papers, for pairs with two or more
    setdefault = first.setdefault
    for paper, group in by_paper.items():
        if len(group) < 2:
            continue
        ranks = [number[a] for a in sorted(set(group)) if a in number]  # by IRI: author1 first
        if len(ranks) < 2:
            continue
        if type(paper) is str:
            title = get(paper)
            title = [title] if title is not None and type(title) is not list else title
        else:  # a blank node: not among the names read (they are keyed by IRI)
            title = [q.object for q in _titles_of(store, paper)]
        if not title:
            continue
        index = len(titles)
        titles.append(tuple(t.value for t in title))
        for i in range(len(ranks) - 1):
            head = ranks[i] * n
            for tail in ranks[i + 1:]:
                pair = head + tail
                seen = setdefault(pair, index)
                if seen != index:
                    found = more.get(pair)
                    if found is None:
                        more[pair] = [seen, index]
                    else:
                        found.append(index)

    counts: dict[int, ox.Literal] = {}
    rows = []
    # ORDER BY DESC(?papers) ?author1 ?author2: a pair's number orders it by its people's
    # numbers (name, then IRI); namesakes as author1 share a name rank, then author2 counts
    by_names = lambda p: (name_rank[p // n], name_rank[p % n], p)
    ranked = sorted(more.items(), key=lambda kv: (-len(kv[1]), name_rank[kv[0] // n],
                                                  name_rank[kv[0] % n], kv[0]))
    for pair, joint in ranked:
        if len(joint) not in counts:
            counts[len(joint)] = ox.Literal(str(len(joint)), datatype=_INTEGER)
        text = "; ".join(sorted(set().union(*(titles[index] for index in joint))))
        rows.append([labels[pair // n], labels[pair % n], counts[len(joint)], ox.Literal(text)])
    singles = sorted(p for p in first if p not in more)
    for r in range(n - 1):  # namesakes r, r+1...: their pairs are adjacent; sort by names
        if name_rank[r + 1] == r:
            last = r + 1
            while last + 1 < n and name_rank[last + 1] == r:
                last += 1
            lo, hi = bisect.bisect_left(singles, r * n), bisect.bisect_left(singles, (last + 1) * n)
            singles[lo:hi] = sorted(singles[lo:hi], key=by_names)
    one = ox.Literal("1", datatype=_INTEGER)
    cells: list[ox.Literal | None] = [None] * len(titles)  # a paper's titles cell, made once
    for pair in singles:
        index = first[pair]
        cell = cells[index]
        if cell is None:
            title = titles[index]
            text = title[0] if len(title) == 1 else "; ".join(sorted(set(title)))
            cell = cells[index] = ox.Literal(text)
        rows.append([labels[pair // n], labels[pair % n], one, cell])
    return rows


def _read_while(store, query: str, work: Callable[[], None], substitutions: dict | None = None):
    """The rows of a SELECT `query`, read while `work()` runs. A local store writes
    them out as TSV in a thread, which Oxigraph does without the GIL, so the two reads
    share the cores (all pairs on the whole Anthology: 5.9 s -> 4.3 s in bench/)."""
    def rows():
        return store.query(query, prefixes=PREFIXES, substitutions=substitutions)

    if not in_process(store):  # a server
        work()
        return rows()
    with ThreadPoolExecutor(1) as pool:
        written = pool.submit(lambda: rows().serialize(format=ox.QueryResultsFormat.TSV))
        work()
        return ox.parse_query_results(written.result(), format=ox.QueryResultsFormat.TSV)


def _titles_of(store, paper):
    if in_process(store):
        return store.quads_for_pattern(paper, _NAME, None, _DEFAULT)
    return [ox.Quad(paper, _NAME, row["t"], ox.DefaultGraph()) for row in store.query(
        "SELECT ?t ?p WHERE { ?p schema:name ?t }", prefixes=PREFIXES,
        substitutions={ox.Variable("p"): paper})]


# --- authors: every person with their paper count and aliases ------------------------

# the .rq's OPTIONALs as grouped subqueries: each is read once and hash-joined, where
# the .rq looks up every person's papers and aliases one by one (5 s -> 2.5 s)
_AUTHORS = """
SELECT ?person ?name ?papers ?aliases WHERE {
  ?person a schema:Person ; schema:name ?name .
  OPTIONAL { SELECT ?person (COUNT(DISTINCT ?paper) AS ?papers)
             WHERE { ?paper schema:author ?person } GROUP BY ?person }
  OPTIONAL { SELECT ?person (GROUP_CONCAT(DISTINCT ?alias; separator="; ") AS ?aliases)
             WHERE { ?person schema:alternateName ?alias } GROUP BY ?person }
}
"""


def authors(store: Store):
    """The answer of queries/authors.rq (name, papers, aliases; most papers first, then
    by name): one row per person and name, 0 papers for a person who wrote none, no
    aliases cell (unbound, as Oxigraph's GROUP_CONCAT of nothing) for one who has none.

    Same rows as the .rq, read by one query whose parts Oxigraph joins in bulk; the
    sort is made here. A remote store runs the .rq itself (its server's answer)."""
    if not in_process(store):
        return None
    zero = ox.Literal("0", datatype=_INTEGER)
    rows = {}
    with collector_paused():
        for person, name, papers, aliases in _rows(store, _AUTHORS):
            rows[(person, name)] = [name, zero if papers is None else papers, aliases]
        ranked = sorted(rows.items(), key=lambda kv: (-int(kv[1][1].value), kv[0][1].value, str(kv[0][0])))
        return Result(["name", "papers", "aliases"], [row for _, row in ranked])


# the names saved queries give in `#+ engine:`
ENGINES: dict[str, Callable[..., Result | None]] = {
    "authors": authors,
    "authors_sharing_topics": authors_sharing_topics,
    "coauthors": coauthors,
}
