"""Store validation: pySHACL on an Oxigraph store in batches of focus nodes, through a data
graph reading it, in worker processes if asked. Apart: the one place pySHACL runs on a store."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
import rdflib
from pyshacl.graph_abstraction import OxigraphDataGraph

from kg.validate.report import Report, Result, _store_results
from kg.validate.screens import _screened_jobs, _sparql_candidates
from kg.validate.shacl import _shacl_shapes
from kg.validate.targets import _targets
from kg.validate.terms import _DEFAULT, _XSD_STRING, _as_rdflib, _ox_term, _rdflib_term
from kg.validate.xsd import follow_xsd_lexical_rules

# pyshacl reads an Oxigraph store directly, but its entry point, given focus nodes,
# still enumerates every target of every shape and filters them against a list, and
# it evaluates a node shape's property shapes one focus node at a time, rebuilding
# their constraint components on each call. So validate_store drives pyshacl's Shape
# objects itself: for each node shape it finds the focus nodes once (in the store),
# then hands each property shape (and the node shape's own constraints, sh:sparql and
# sh:nodeKind) a batch of focus nodes at a time. The results are pyshacl's own.

STORE_BATCH = 2000

# {(subject, predicate): [(literal as the store holds it, literal as stated)]}, terms
Stated = dict[tuple, list[tuple]]
_PROBE = ox.NamedNode("urn:kg:probe")


def stated_literals(triples: Iterable[ox.Triple | ox.Quad], also=None) -> Stated:
    """The literals of `triples` that an Oxigraph store rewrites on load, with their
    subject and predicate, as stored and as stated. Oxigraph 0.5 types the integer
    types (xsd:int, long, short, byte, nonNegativeInteger, ...) as xsd:integer and
    writes numbers, booleans, dates and durations in canonical form: a store alone
    would validate `"3"^^xsd:int` as an xsd:integer. Found by loading each distinct
    literal into a scratch store (what the store does, not a list of what it did).
    A stored form that is also stated as it is (in `triples`, or where `also(triple)`
    says so) stays beside the stated one."""
    triples = list(triples)
    literals = list({t.object for t in triples if isinstance(t.object, ox.Literal)
                     and t.object.datatype != _XSD_STRING})
    if not literals:
        return {}
    probe = ox.Store()
    probe.extend(ox.Quad(ox.NamedNode(f"urn:kg:probe:{i}"), _PROBE, literal, _DEFAULT)
                 for i, literal in enumerate(literals))
    rewritten = {}
    for quad in probe.quads_for_pattern(None, _PROBE, None, _DEFAULT):
        said = literals[int(quad.subject.value.rsplit(":", 1)[1])]
        if quad.object != said:
            rewritten[said] = quad.object
    out: Stated = {}
    # only a triple whose object is a stored form can say that form is stated as it is
    # (a set of every triple held a 10,000-paper guide's merge at its peak: +0.3 GB)
    stored_forms = set(rewritten.values())
    said = {(t.subject, t.predicate, t.object) for t in triples if t.object in stored_forms}
    for t in triples:
        if t.object in rewritten:
            stored = rewritten[t.object]
            pairs = out.setdefault((t.subject, t.predicate), [])
            if (t.subject, t.predicate, stored) in said or (
                    also is not None and also(ox.Triple(t.subject, t.predicate, stored))):
                pairs.append((stored, stored))
            pairs.append((stored, t.object))
    return {key: list(dict.fromkeys(pairs)) for key, pairs in out.items()}


class _StoreGraph(OxigraphDataGraph):
    """pyshacl's view of an Oxigraph store (the union of its graphs), for batches.

    `prefetch` reads everything a batch of focus nodes says (one index scan each)
    so that pyshacl's many `objects()` calls on them are dictionary lookups, values
    seen in several graphs are converted once, and lookups of other nodes (the
    types of the values of sh:class) are remembered for a while.
    """

    _MEMO_LIMIT = 200_000

    def __init__(self, store: ox.Store, stated: Stated | None = None):
        super().__init__(store)
        follow_xsd_lexical_rules()
        self.default_union = False  # the default graph: the merge of the sources
        self._out: dict[rdflib.term.Node, dict[rdflib.term.Node, list]] = {}
        self._memo: dict[tuple, tuple] = {}
        self._terms: dict[object, rdflib.term.Node] = {}
        # {(subject, predicate): {value as stored: [values as stated]}}, rdflib terms
        self._stated: dict[tuple, dict] = {}
        for (subject, predicate), pairs in (stated or {}).items():
            into = self._stated.setdefault((_rdflib_term(subject), _rdflib_term(predicate)), {})
            for stored, said in pairs:
                into.setdefault(_rdflib_term(stored), []).append(_rdflib_term(said))

    def _as_stated(self, subject, predicate, values):
        """`values` of (subject, predicate) with those the store rewrote on load put
        back as the source stated them (see Stated)."""
        swap = self._stated.get((subject, predicate))
        if not swap:
            return values
        out = []
        for value in values:
            for said in swap.get(value, (value,)):
                if said not in out:
                    out.append(said)
        return out

    # pyshacl writes `datagraph or shapes_graph` for each result: without this, every
    # violation would count the whole store (Dataset.__len__)
    def __bool__(self) -> bool:
        return True

    def _rdf(self, term):
        known = self._terms.get(term)
        if known is None:
            known = _rdflib_term(term)
            if len(self._terms) > self._MEMO_LIMIT:
                self._terms.clear()
            self._terms[term] = known
        return known

    def prefetch(self, nodes: Iterable[rdflib.term.Node]) -> None:
        self._out = {}
        impl = self.impl
        for node in nodes:
            if not isinstance(node, rdflib.URIRef):
                continue  # blank nodes: looked up as they come
            found: dict[rdflib.term.Node, list] = {}
            for _s, p, o, _g in impl.quads_for_pattern(ox.NamedNode(node), None, None, _DEFAULT):
                values = found.setdefault(self._rdf(p), [])
                value = self._rdf(o)
                if value not in values:
                    values.append(value)
            if self._stated:
                found = {p: self._as_stated(node, p, values) for p, values in found.items()}
            self._out[node] = found

    def objects(self, subject=None, predicate=None, unique=False):
        if isinstance(subject, rdflib.Literal):  # a literal focus node says nothing
            return iter(())
        if predicate is not None and not isinstance(subject, (list, tuple)):
            found = self._out.get(subject)
            if found is not None:
                return iter(found.get(predicate, ()))
            if isinstance(subject, rdflib.URIRef) and isinstance(predicate, rdflib.URIRef):
                key = (subject, predicate)
                memo = self._memo.get(key)
                if memo is None:
                    rdf = self._rdf
                    memo = tuple(self._as_stated(subject, predicate, list(dict.fromkeys(
                        rdf(q.object) for q in self.impl.quads_for_pattern(
                            ox.NamedNode(subject), ox.NamedNode(predicate), None, _DEFAULT)))))
                    self._remember(key, memo)
                return iter(memo)
        if predicate is not None and not isinstance(subject, (list, tuple)):  # blank nodes
            values = [self._rdf(q.object) for q in self.impl.quads_for_pattern(
                _ox_term(subject), ox.NamedNode(predicate), None, _DEFAULT)]
            return iter(self._as_stated(subject, predicate, list(dict.fromkeys(values))))
        return super().objects(subject, predicate, unique)

    def subjects(self, predicate=None, object=None, unique=False):
        if isinstance(predicate, rdflib.URIRef) and isinstance(object, rdflib.URIRef):
            key = (predicate, object, "in")
            memo = self._memo.get(key)
            if memo is None:
                rdf = self._rdf
                memo = tuple(dict.fromkeys(rdf(q.subject) for q in self.impl.quads_for_pattern(
                    None, ox.NamedNode(predicate), ox.NamedNode(object), _DEFAULT)))
                self._remember(key, memo)
            return iter(memo)
        return super().subjects(predicate, object, unique)

    def _remember(self, key, value) -> None:
        if len(self._memo) > self._MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = value

def _own_results(shape, sg, prop_iris, executor, graph, nodes) -> list:
    """pyshacl's reports of a node shape's own constraints (sh:sparql, sh:nodeKind) on
    `nodes`, its property shapes skipped (they run apart, on whole batches)."""
    saved = sg._filtered_out_shapes
    sg._filtered_out_shapes = prop_iris
    try:
        return shape.validate(executor, graph, focus=nodes)[1]
    finally:
        sg._filtered_out_shapes = saved


def _run_batches(store: ox.Store, jobs: list[tuple[str, list]], on_batch=None,
                 stated: Stated | None = None) -> list[Result]:
    """Validate each (node shape, focus nodes) job with pyshacl; the results."""
    from pyshacl.pytypes import SHACLExecutor

    sg, shapes = _shacl_shapes()
    executor = SHACLExecutor(allow_warnings=True)
    graph = _StoreGraph(store, stated)
    prop_iris = {p.node for _s, props, _c, _o in shapes.values() for p in props}
    out: list[Result] = []
    for name, focus in jobs:
        shape, props, _classes, _objects = shapes[name]
        nodes = [_as_rdflib(n) if not isinstance(n, rdflib.term.Node) else n for n in focus]
        if props:  # a node shape without property shapes reads nothing of its nodes
            graph.prefetch(nodes)
        reports = []
        # the node shape's own constraints (sh:sparql, sh:nodeKind), its property
        # shapes skipped: they run next on the whole batch at once
        own = _sparql_candidates(store, name, nodes)
        if own:
            reports.extend(_own_results(shape, sg, prop_iris, executor, graph, own))
        for prop in props:
            reports.extend(prop.validate(executor, graph, focus=nodes)[1])
        out.extend(_store_results(store, reports, sg))
        if on_batch is not None:
            on_batch(len(nodes))
    return out

def _run_screened(store: ox.Store, plan, tick, stated: Stated | None = None) -> list[Result]:
    from pyshacl.pytypes import SHACLExecutor

    sg, shapes = _shacl_shapes()
    executor = SHACLExecutor(allow_warnings=True)
    graph = _StoreGraph(store, stated)
    prop_iris = {p.node for _s, props, _c, _o in shapes.values() for p in props}
    out: list[Result] = []
    for name, props, focus in plan:
        if props == "done":
            tick(focus)
            continue
        if not focus:
            continue
        shape = shapes[name][0]
        nodes = [_as_rdflib(n) for n in focus]
        reports = []
        if props is None:
            reports.extend(_own_results(shape, sg, prop_iris, executor, graph, nodes))
        else:
            graph.prefetch(nodes)
            for prop in props:
                reports.extend(prop.validate(executor, graph, focus=nodes)[1])
        out.extend(_store_results(store, reports, sg))
    return out


def plan_store_validation(store: ox.Store, focus_nodes: Iterable | None = None,
                          batch: int = STORE_BATCH) -> list[tuple[str, list]]:
    """The (node shape, focus nodes) batches that validating `store` takes.

    Every focus node of every node shape with a target, or with `focus_nodes` only
    those among them (and only the shapes that target them)."""
    _sg, shapes = _shacl_shapes()
    among = None if focus_nodes is None else set(focus_nodes)
    known: dict = {}
    jobs = []
    for name, (_shape, _props, classes, objects_of) in shapes.items():
        nodes = _targets(store, classes, objects_of, among, known)
        jobs.extend((name, nodes[i:i + batch]) for i in range(0, len(nodes), batch))
    return jobs


def validate_store(store: ox.Store, focus_nodes: Iterable | None = None, *,
                   workers: int = 1, path: str | None = None, batch: int = STORE_BATCH,
                   on_progress=None, stated: Stated | None = None) -> Report:
    """SHACL-validate an Oxigraph store's default graph with pyshacl.

    Without `focus_nodes`, every focus node of every shape is validated; with them
    (IRI strings or terms, blank nodes and literals too), only those nodes, each
    against the shapes that target it. Batches of `batch` focus nodes go through
    pyshacl together. With `workers` > 1 and `path` (the store's directory, flushed),
    the work is shared among that many worker processes, each with its own read-only
    view of the store. `stated`: literals as the sources stated them where the store
    rewrote them (see stated_literals). `on_progress(done, total)` is called after
    each batch, with counts of focus nodes.
    """
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress(done, total)

    if focus_nodes is None:
        extra = frozenset(subject for subject, _p in (stated or {}))
        plan, total = _screened_jobs(store, batch, workers, path, extra)
        if on_progress is not None:
            on_progress(0, total)
        return Report.of(_run_screened(store, plan, tick, stated))
    jobs = plan_store_validation(store, focus_nodes, batch)
    total = sum(len(nodes) for _n, nodes in jobs)
    if on_progress is not None:
        on_progress(0, total)
    if workers > 1 and path is not None and len(jobs) > 1:
        results = _run_in_workers(path, jobs, workers, tick, stated)
    else:
        results = _run_batches(store, jobs, tick, stated)
    return Report.of(results)


def _worker(path: str, jobs: list[tuple[str, list]], stated: Stated | None) -> list[Result]:
    return _run_batches(ox.Store.read_only(path), jobs, stated=stated)


def _run_in_workers(path: str, jobs, workers: int, tick, stated: Stated | None = None) -> list[Result]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # Oxigraph terms pickle as they are (blank nodes keep the store's ids); spawn, not
    # fork: the parent holds the store open for writing
    results: list[Result] = []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        # several batches per task keep the per-task overhead small
        chunks = [jobs[i:i + 4] for i in range(0, len(jobs), 4)]
        futures = {pool.submit(_worker, path, chunk, stated): sum(len(n) for _s, n in chunk) for chunk in chunks}
        for future in as_completed(futures):
            results.extend(future.result())
            tick(futures[future])
    return results
