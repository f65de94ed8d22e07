"""A whole store screened by constraint: SPARQL compiled from the shapes picks candidate
focus nodes, planned as (shape, nodes) pairs for pySHACL. Apart: where shapes become queries."""

from __future__ import annotations

import re
from functools import lru_cache

import pyoxigraph as ox
import rdflib
import rdflib.collection
from rdflib.namespace import SH

from kg.namespaces import KG
from kg.validate.shacl import _path_steps, _shacl_shapes, shapes_graph
from kg.validate.targets import _SUBCLASS, _targets, _wanted
from kg.validate.terms import _as_rdflib
from kg.validate.xsd import _XSD

# Reading the store term by term from Python costs microseconds a quad (6 M quads:
# minutes), while Oxigraph scans one predicate and hashes it far faster. So, for a
# whole store, each property shape made only of the components below is first turned
# into SPARQL that returns its *candidate* focus nodes: a superset of those pyshacl
# would report (one-pattern scans joined by hash, MINUS and GROUP BY; no per-node
# lookups). pyshacl then validates only (shape, candidates) pairs, so every result is
# still pyshacl's own. Other property shapes get all their focus nodes, as before.

# what a value needs, in SPARQL, to pass pyshacl's sh:datatype check: its datatype,
# and a lexical form rdflib parses into the Python type pyshacl asks for (gYear: rdflib
# never marks it ill-typed, so pyshacl passes any)
_DATATYPE_OK = {
    _XSD + "string": f"isLiteral(?o) && datatype(?o) = <{_XSD}string>",
    _XSD + "integer": f"isLiteral(?o) && datatype(?o) = <{_XSD}integer> && REGEX(STR(?o), '^[+-]?[0-9]+$')",
    _XSD + "boolean": f"isLiteral(?o) && datatype(?o) = <{_XSD}boolean> && STR(?o) IN ('true', 'false', '1', '0')",
    _XSD + "gYear": f"isLiteral(?o) && datatype(?o) = <{_XSD}gYear>",
}
_NODE_KIND_OK = {
    SH.IRI: "isIRI(?o)", SH.BlankNode: "isBlank(?o)", SH.Literal: "isLiteral(?o)",
    SH.BlankNodeOrIRI: "!isLiteral(?o)", SH.BlankNodeOrLiteral: "!isIRI(?o)", SH.IRIOrLiteral: "!isBlank(?o)",
}
# patterns for which XPath (Oxigraph) matching implies Python re matching
_SAFE_PATTERN = re.compile(r"[\^$\[\]{}a-zA-Z0-9,.+*?/\-]*")
_SCREENED = {SH.path, SH.message, SH.severity, SH.name, SH.description, SH.minCount, SH.maxCount,
             SH.datatype, SH["class"], SH.nodeKind, SH["in"], SH.minInclusive, SH.maxInclusive,
             SH.pattern, SH.flags, SH.equals, rdflib.RDF.type}

def _path_text(steps: list[tuple[str, bool]]) -> str:
    """A path's steps in SPARQL property path syntax (`<p>/^<q>`)."""
    return "/".join(f"<{p}>" if forward else f"^<{p}>" for p, forward in steps)


def _path_scan(steps: list[tuple[str, bool]]) -> str:
    """`?this <path> ?o` for reading a path over the whole store. A sequence path is
    written as a join of one-pattern subqueries: Oxigraph then scans each step once
    and joins them by hash, where the path syntax makes it look up the next step
    node by node (the whole Anthology: sh:equals on bylines 4.6 s -> 1.8 s)."""
    if len(steps) == 1:
        p, forward = steps[0]
        return f"?this <{p}> ?o" if forward else f"?o <{p}> ?this"
    parts, here = [], "?this"
    for i, (p, forward) in enumerate(steps):
        there = "?o" if i == len(steps) - 1 else f"?_step{i + 1}"
        pattern = f"{here} <{p}> {there}" if forward else f"{there} <{p}> {here}"
        parts.append(f"{{ SELECT {here} {there} WHERE {{ {pattern} }} }}")
        here = there
    return " ".join(parts)


# below this many focus nodes, sh:minCount and sh:equals are screened node by node
# (FILTER NOT EXISTS): on 0-20 k nodes ~0 s, where MINUS reads the whole path (~0.7 s)
FEW_FOCUS_NODES = 20_000


# sh:class and sh:maxCount are screened from the focus nodes' own values when those
# are fewer than 1/NARROW of the triples of the path's first predicate
NARROW = 20


def _screen_queries(prop, targets: str, few: bool = False, narrow=None) -> list[str] | None:
    """SPARQL selecting ?this for every focus node that may fail property shape
    `prop` (plus others: false positives are filtered by pyshacl), or None.
    `narrow(predicate)`: whether the focus nodes are few beside that predicate's uses."""
    shapes = shapes_graph()
    if any(p not in _SCREENED for p in shapes.predicates(prop)):
        return None
    steps = _path_steps(shapes, shapes.value(prop, SH.path))
    if steps is None:
        return None
    path, scan = _path_text(steps), _path_scan(steps)
    # few nodes beside a common predicate: read from the nodes, not store-wide (a
    # topic scheme's prov:wasDerivedFrom among 791 k, volumes' schema:isPartOf among
    # 210 k, each flagged node then looked up to be dropped)
    from_nodes = few and narrow is not None and narrow(steps[0][0])
    lookup = few and len(steps) == 1 and steps[0][1]
    queries = _count_queries(shapes, prop, targets, path, scan, from_nodes, lookup)
    ok = _value_tests(shapes, prop)
    if ok is None:
        return None
    if ok:
        queries.append(f"SELECT DISTINCT ?this WHERE {{ {scan} "
                       f"FILTER (COALESCE(!({' && '.join(f'({c})' for c in ok)}), true)) }}")
    cls = shapes.value(prop, SH["class"])
    if cls is not None:
        typed = f"?o a ?k . ?k <{rdflib.RDFS.subClassOf}>* <{cls}>"
        if from_nodes:
            queries.append(f"SELECT DISTINCT ?this WHERE {{ {targets} ?this {path} ?o "
                           f"FILTER NOT EXISTS {{ {typed} }} }}")
        else:
            queries.append(f"SELECT DISTINCT ?this WHERE {{ {scan} MINUS {{ {typed} }} }}")
    other = shapes.value(prop, SH.equals)
    if other is not None:
        if not isinstance(other, rdflib.URIRef):
            return None
        if few:  # a lookup per focus node beats computing both sides over the store
            queries.append(f"SELECT DISTINCT ?this WHERE {{ {{ {targets} ?this {path} ?o FILTER NOT EXISTS "
                           f"{{ ?this <{other}> ?o }} }} UNION {{ {targets} ?this <{other}> ?o FILTER NOT EXISTS "
                           f"{{ ?this {path} ?o }} }} }}")
        else:  # the (node, value) pairs found on one side only: one pass, half the time of two MINUS
            queries.append(f"SELECT DISTINCT ?this WHERE {{ {{ SELECT ?this ?o WHERE {{ "
                           f"{{ {scan} BIND (1 AS ?side) }} UNION {{ ?this <{other}> ?o BIND (2 AS ?side) }} }} "
                           f"GROUP BY ?this ?o HAVING (COUNT(DISTINCT ?side) != 2) }} }}")
    return queries


def _count_queries(shapes: rdflib.Graph, prop, targets: str, path: str, scan: str,
                   from_nodes: bool, lookup: bool) -> list[str]:
    """The screens of `prop`'s sh:minCount and sh:maxCount (see _screen_queries)."""
    queries = []
    low, high = shapes.value(prop, SH.minCount), shapes.value(prop, SH.maxCount)
    if low is not None and int(low) == 1 and high is not None and not lookup:
        # "exactly one" in one pass, the focus nodes and the path's pairs grouped by
        # node: 0.67 s for 377 k authorship nodes where MINUS + GROUP BY took 1.2 s.
        # COUNT without DISTINCT: a value stated in two graphs counts twice, which can
        # only add candidates, and none is missed (one row is one value)
        queries.append(f"SELECT ?this WHERE {{ {{ {targets} }} UNION {{ {scan} }} }} GROUP BY ?this "
                       f"HAVING (COUNT(?o) < 1 || COUNT(?o) > {int(high)})")
        low = high = None
    if low is not None and int(low) > 0:
        having = "" if int(low) == 1 else f" GROUP BY ?this HAVING (COUNT(DISTINCT ?o) >= {int(low)})"
        # few nodes, one predicate: a lookup each (MINUS would read every ?o of the path in
        # the store first); a longer path is evaluated whole per node by Oxigraph: MINUS
        if lookup and not having:
            queries.append(f"SELECT DISTINCT ?this WHERE {{ {targets} FILTER NOT EXISTS {{ ?this {path} ?o }} }}")
        else:
            inner = f"{{ {scan} }}" if not having else f"{{ SELECT ?this WHERE {{ {scan} }}{having} }}"
            queries.append(f"SELECT DISTINCT ?this WHERE {{ {targets} MINUS {inner} }}")
    if high is not None:
        queries.append(f"SELECT ?this WHERE {{ {f'{targets} ?this {path} ?o' if from_nodes else scan} }} "
                       f"GROUP BY ?this HAVING (COUNT(DISTINCT ?o) > {int(high)})")
    return queries


def _value_tests(shapes: rdflib.Graph, prop) -> list[str] | None:
    """SPARQL tests, on ?o, that a value passes `prop`'s constraints on the value
    itself (datatype, node kind, sh:in, bounds, pattern); None if one cannot be
    screened."""
    ok = []
    datatype = shapes.value(prop, SH.datatype)
    if datatype is not None:
        if str(datatype) not in _DATATYPE_OK:
            return None
        ok.append(_DATATYPE_OK[str(datatype)])
    kind = shapes.value(prop, SH.nodeKind)
    if kind is not None:
        ok.append(_NODE_KIND_OK[kind])
    members = shapes.value(prop, SH["in"])
    if members is not None:
        terms = list(rdflib.collection.Collection(shapes, members))
        ok.append("(" + " || ".join(f"sameTerm(?o, {t.n3()})" for t in terms) + ")" if terms else "false")
    for bound, op in ((SH.minInclusive, ">="), (SH.maxInclusive, "<=")):
        limit = shapes.value(prop, bound)
        if limit is not None:
            if not isinstance(limit, rdflib.Literal) or type(limit.value) is not int:
                return None
            ok.append(_DATATYPE_OK[_XSD + "integer"] + f" && ?o {op} {limit.value}")
    pattern = shapes.value(prop, SH.pattern)
    if pattern is not None:
        flags = str(shapes.value(prop, SH.flags) or "")
        if not _SAFE_PATTERN.fullmatch(str(pattern)) or flags not in ("", "i"):
            return None
        ok.append(f"REGEX(STR(?o), '{pattern}', '{flags}')")
    return ok


SCREEN_SLICE = 200


@lru_cache(maxsize=1)
def _sparql_screens() -> dict[str, list[tuple[str, str]] | None]:
    """Per node shape: its SPARQL constraints as (batch query over `?this` with a
    VALUES slot, whole-store query: the constraint's kg:storeScreen if it has one), or
    None when the shape has constraints of its own that are not SPARQL (sh:nodeKind)."""
    shapes = shapes_graph()
    prefixes = "".join(f"PREFIX {p}: <{n}>\n" for decl in shapes.objects(None, SH.declare)
                       for p, n in [(shapes.value(decl, SH.prefix), shapes.value(decl, SH.namespace))])
    out: dict[str, list[tuple[str, str]] | None] = {}
    for node in set(shapes.subjects(SH.sparql, None)) | set(shapes.subjects(SH.nodeKind, None)):
        if (node, rdflib.RDF.type, SH.NodeShape) not in shapes:
            continue
        queries: list[tuple[str, str]] | None = []
        if shapes.value(node, SH.nodeKind) is not None:
            queries = None
        for constraint in shapes.objects(node, SH.sparql):
            text = str(shapes.value(constraint, SH.select) or "")
            where = re.search(r"WHERE\s*\{", text, re.IGNORECASE)
            if queries is None or where is None or "$this" not in text \
                    or text.upper().count("SELECT") != 1:
                queries = None
                break
            body = text.replace("$this", "?this")
            whole = shapes.value(constraint, rdflib.URIRef(KG + "storeScreen"))
            queries.append((prefixes + body[:where.end()] + " VALUES ?this { %s } " + body[where.end():],
                            prefixes + (str(whole).replace("$this", "?this") if whole is not None else body)))
        out[str(node)] = queries
    return out


def _sparql_candidates(store: ox.Store, name: str, nodes: list) -> list:
    """The focus nodes a node shape's own constraints must look at: for SPARQL
    constraints, those the constraint's query returns when run once over the whole
    batch (`$this` joined to VALUES rather than pre-bound node by node, which
    Oxigraph answers by scanning for each node); pyshacl then reports on them."""
    screens = _sparql_screens()
    if name not in screens:
        return []  # nothing of its own: only property shapes
    queries = screens[name]
    if queries is None:
        return nodes
    iris = [n for n in nodes if isinstance(n, rdflib.URIRef)]
    found = {n for n in nodes if not isinstance(n, rdflib.URIRef)}  # blank nodes: no screen
    # Oxigraph's cost grows faster than the VALUES block (2,000 nodes: 100x the time
    # of 200), so the batch is screened in slices
    for start in range(0, len(iris), SCREEN_SLICE):
        values = " ".join(f"<{n}>" for n in iris[start:start + SCREEN_SLICE])
        for query, _whole in queries:
            for row in store.query(query % values):
                this = row["this"]
                if isinstance(this, ox.NamedNode):
                    found.add(rdflib.URIRef(this.value))
    return [n for n in nodes if n in found]

def _target_pattern(classes, objects_of, closure: dict[str, frozenset]) -> str:
    """The focus nodes of a node shape in SPARQL; a class with subclasses in the data
    through rdfs:subClassOf* (the plain form otherwise: Oxigraph plans it better)."""
    parts = [f"{{ ?this a <{c}> }}" if len(closure[c]) == 1 else f"{{ ?this a/<{_SUBCLASS.value}>* <{c}> }}"
             for c in classes] + [f"{{ [] <{p}> ?this }}" for p in objects_of]
    return " UNION ".join(parts)


class _Screen:
    """Runs screen queries on one store, each distinct query once, and knows which
    node is a focus node of which node shape."""

    def __init__(self, store: ox.Store):
        self.store = store
        self._rows: dict[str, set] = {}
        self.known: dict = {}  # what _targets read: nodes' types, classes' subclasses
        self._counts: dict[str, int] = {}
        self.recording: list[str] | None = None  # when set, rows() only notes the query

    def count(self, targets: str) -> int:
        """The number of focus nodes a target pattern selects (asked once)."""
        found = self._counts.get(targets)
        if found is None:
            found = self._counts[targets] = int(next(iter(self.store.query(
                f"SELECT (COUNT(DISTINCT ?this) AS ?n) WHERE {{ {targets} }}")))[0].value)
        return found

    def used_more(self, predicate: str, times: int) -> bool:
        """Whether more than `times` triples have `predicate` (read no further)."""
        key = f"{predicate} {times}"
        found = self._counts.get(key)
        if found is None:
            found = self._counts[key] = int(next(iter(self.store.query(
                f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT * WHERE {{ ?s <{predicate}> ?o }} LIMIT {times + 1} }}")))[0].value)
        return found > times

    def run_in_workers(self, queries: list[str], path: str, workers: int) -> None:
        """Answer `queries` in `workers` processes, each with its own read-only view of
        the store at `path`: the screen is Oxigraph's work, and runs one query per core."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # the likely slow ones (whole-store aggregates, node constraints) first, so
        # that no core is left with a long query at the end
        todo = sorted(set(queries) - set(self._rows), key=lambda q: (not _heavy(q), q))
        # spawn, not fork: the parent holds the store open for writing
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for query, found in zip(todo, pool.map(_screen_worker, [(path, q) for q in todo])):
                self._rows[query] = set(found)

    def rows(self, query: str) -> set:
        found = self._rows.get(query)
        if found is None and self.recording is not None:
            self.recording.append(query)
            return set()
        if found is None:
            found = {row[0] for row in self.store.query(query)
                     if row[0] is not None}
            self._rows[query] = found
        return found

    def is_focus(self, node, classes, objects_of) -> bool:
        return bool(_targets(self.store, classes, objects_of, (node,), self.known))

    def closure(self, classes) -> dict[str, frozenset]:
        _wanted(self.store, tuple(classes), self.known)  # reads the classes' subclasses
        return self.known["classes"]


def _heavy(query: str) -> bool:
    return "GROUP BY" in query or query.startswith("PREFIX")


_WORKER_STORES: dict[str, ox.Store] = {}


def _screen_worker(job: tuple[str, str]) -> list:
    """One screen query in a worker process; its nodes (terms pickle as they are)."""
    path, query = job
    store = _WORKER_STORES.get(path)
    if store is None:
        store = _WORKER_STORES[path] = ox.Store.read_only(path)
    return [row[0] for row in store.query(query) if row[0] is not None]


def _screened_jobs(store: ox.Store, batch: int, workers: int = 1, path: str | None = None,
                   extra: frozenset = frozenset()):
    """(node shape, [(property shapes or None for the node's own constraints,
    focus nodes)]) for a whole store, and the number of focus nodes. With `workers`
    and `path`, the screen queries run in worker processes first."""
    screen = _Screen(store)
    if workers > 1 and path is not None:
        screen.recording = []
        _plan_screened(store, batch, screen, extra)
        queries, screen.recording = screen.recording, None
        screen.run_in_workers(queries, path, workers)
    return _plan_screened(store, batch, screen, extra)


def _plan_screened(store: ox.Store, batch: int, screen: _Screen, extra: frozenset = frozenset()):
    """The screened plan; `extra` nodes are candidates of every screened property
    shape that targets them (subjects of literals the store rewrote: see Stated)."""
    _sg, shapes = _shacl_shapes()
    total = 0
    plan = []
    sparql = _sparql_screens()
    dry = screen.recording is not None  # only collecting the queries: read nothing else
    for name, (_shape, props, classes, objects_of) in shapes.items():
        targets = _target_pattern(classes, objects_of, screen.closure(classes))
        count = screen.count(targets)
        total += count
        every = None  # all focus nodes, only read if something needs them
        steps: list[tuple[list | None, list]] = []

        def all_nodes(classes=classes, objects_of=objects_of):
            nonlocal every
            if dry:
                return []
            if every is None:
                every = _targets(store, classes, objects_of, None, screen.known)
            return every

        def focus_of(found, classes=classes, objects_of=objects_of):
            return sorted((n for n in found if screen.is_focus(n, classes, objects_of)), key=str)

        if name in sparql:
            own = sparql[name]
            if own is None:  # sh:nodeKind of the node itself
                kind = shapes_graph().value(rdflib.URIRef(name), SH.nodeKind)
                test = _NODE_KIND_OK.get(kind, "false").replace("?o", "?this")
                found = screen.rows(f"SELECT DISTINCT ?this WHERE {{ {targets} FILTER (!({test})) }}")
                if shapes_graph().value(rdflib.URIRef(name), SH.sparql) is not None:
                    found = all_nodes()
                steps.append((None, focus_of(found)))
            else:
                found = set()
                for _batch, whole in own:
                    found |= screen.rows(whole)
                nodes = focus_of(found)
                if nodes and not dry:
                    # a whole-store screen may flag more than its constraint (kg:storeScreen
                    # forms count per paper, not per byline): the constraint's own query,
                    # over the flagged nodes in VALUES batches, keeps those it reports
                    exact = set(_sparql_candidates(store, name, [_as_rdflib(n) for n in nodes]))
                    nodes = [n for n in nodes if _as_rdflib(n) in exact]
                steps.append((None, nodes))
        for prop in props:
            queries = _screen_queries(prop.node, targets, few=count < FEW_FOCUS_NODES,
                                      narrow=lambda p, count=count: screen.used_more(p, count * NARROW))
            if queries is None:
                steps.append(([prop], all_nodes()))
                continue
            found = set(extra)
            for query in queries:
                found |= screen.rows(query)
            if found:
                steps.append(([prop], focus_of(found)))
        for props_, nodes in steps:
            for i in range(0, len(nodes), batch):
                plan.append((name, props_, nodes[i:i + batch]))
        plan.append((name, "done", count))
    return plan, total
