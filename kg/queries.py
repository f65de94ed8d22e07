"""Saved queries (queries/*.rq): load their headers, bind parameters, run them.

Parameters are bound as RDF terms through Oxigraph's `substitutions`, never
written into the query text; names are looked up case- and accent-insensitively.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files

import pyoxigraph as ox
import yaml

from kg import dataset, sparqltext
from kg.errors import QueryError, UnknownNameError
from kg.names import fold, name_key
from kg.namespaces import PREFIXES, RDF, SCHEMA, SKOS, XSD

ENTITY_KINDS = ("person", "paper", "topic", "role")
SCALAR_KINDS = ("integer", "string", "any")  # any: an entity of any kind

# label index per kind: ?e ?label, most specific labels first
_LABELS = {
    "person": "SELECT DISTINCT ?e ?label WHERE { ?e a schema:Person . { ?e schema:name ?label } UNION { ?e schema:alternateName ?label } }",
    "paper": "SELECT DISTINCT ?e ?label WHERE { ?e a schema:ScholarlyArticle ; schema:name ?label }",
    "topic": "SELECT DISTINCT ?e ?label WHERE { ?e a skos:Concept ; skos:prefLabel ?label }",
    "role": "SELECT DISTINCT ?e ?label WHERE { ?e a schema:Occupation ; schema:name ?label }",
}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    description: str
    default: str | None = None
    required: bool = False


@dataclass(frozen=True)
class SavedQuery:
    name: str
    summary: str
    description: str
    params: tuple[Param, ...]
    text: str
    engine: str | None = None  # `#+ engine: f`: kg.analysis.f(store, **params) answers it


@dataclass
class Result:
    """Rows of RDF terms (None where unbound), or triples, or a boolean."""

    variables: list[str]
    rows: list[list[ox.NamedNode | ox.BlankNode | ox.Literal | None]] = field(default_factory=list)
    triples: list[ox.Triple] | None = None
    boolean: bool | None = None


def parse_header(name: str, text: str) -> SavedQuery:
    """Read the `#+ key: value` header (YAML after the `#+ `) of a saved query."""
    header = "\n".join(line[3:] if line.startswith("#+ ") else line[2:]
                       for line in text.splitlines() if line.startswith("#+"))
    try:
        meta = yaml.safe_load(header) or {}
    except yaml.YAMLError as exc:
        raise QueryError(f"query {name}: its '#+' header is not valid YAML ({exc})") from exc
    params = []
    for spec in meta.get("params") or []:
        kind = spec.get("type", "string")
        if kind not in ENTITY_KINDS + SCALAR_KINDS:
            raise QueryError(f"query {name}: parameter {spec.get('name')!r} has unknown type {kind!r}")
        default = spec.get("default")
        params.append(Param(
            name=spec["name"], type=kind, description=spec.get("description", ""),
            default=None if default is None else str(default), required=bool(spec.get("required")),
        ))
    return SavedQuery(name, str(meta.get("summary", "")).strip(), str(meta.get("description", "")).strip(),
                      tuple(params), text, meta.get("engine"))


@lru_cache(maxsize=1)
def saved_queries() -> dict[str, SavedQuery]:
    """Every saved query shipped in the package, by name."""
    out = {}
    for entry in sorted(files("kg.rq").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            name = entry.name[:-3]
            out[name] = parse_header(name, entry.read_text(encoding="utf-8"))
    return out


def get_query(name: str) -> SavedQuery:
    queries = saved_queries()
    if name not in queries:
        close = difflib.get_close_matches(name, queries, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "list them with `kg queries`"
        raise QueryError(f"no saved query named {name!r}; {hint}")
    return queries[name]


def run_saved(store: ox.Store, name: str, params: dict[str, str] | None = None) -> Result:
    """Run a saved query with its parameters bound as RDF terms."""
    query = get_query(name)
    given = dict(params or {})
    known = {p.name for p in query.params}
    unknown = sorted(set(given) - known)
    if unknown:
        raise QueryError(f"query {name} has no parameter {unknown[0]!r}; "
                         f"its parameters: {', '.join(sorted(known)) or 'none'}")
    bindings: dict[ox.Variable, ox.NamedNode | ox.Literal] = {}
    for param in query.params:
        value = given.get(param.name, param.default)
        if value is None:
            if param.required:
                raise QueryError(f"query {name} needs -p {param.name} VALUE ({param.description})")
            continue
        bindings[ox.Variable(param.name)] = bind(store, param, value)
    if query.engine:  # the same answer, computed without SPARQL (see kg/analysis.py)
        from kg import analysis
        result = getattr(analysis, query.engine)(store, **{v.value: t for v, t in bindings.items()})
    else:
        result = run_sparql(store, query.text, bindings)
    # parameters are projected only so that they can be substituted: hide them
    keep = [i for i, v in enumerate(result.variables) if v not in known]
    if len(keep) < len(result.variables):  # nothing to hide (engines): rows kept, not copied
        result.variables = [result.variables[i] for i in keep]
        result.rows = [[row[i] for i in keep] for row in result.rows]
    return result


def bind(store: ox.Store, param: Param, value: str) -> ox.NamedNode | ox.Literal:
    """The RDF term a parameter value stands for."""
    if param.type == "integer":
        if not re.fullmatch(r"[+-]?\d+", value.strip()):
            raise QueryError(f"parameter {param.name} must be an integer, not {value!r}")
        return ox.Literal(str(int(value)), datatype=ox.NamedNode(XSD + "integer"))
    if param.type == "string":
        return ox.Literal(value)
    return find_entity(store, param.type, value)  # an entity kind, or "any"


def labels(store: ox.Store, kind: str) -> list[tuple[ox.NamedNode, str]]:
    return [(row["e"], row["label"].value)
            for row in store.query(_LABELS[kind], prefixes=PREFIXES)]


_DEFAULT = ox.DefaultGraph()
_SAME_AS = ox.NamedNode(SCHEMA + "sameAs")
# per kind: the class and label properties of _LABELS, for index lookups
_LABEL_INDEX = {
    "person": (SCHEMA + "Person", (SCHEMA + "name", SCHEMA + "alternateName")),
    "paper": (SCHEMA + "ScholarlyArticle", (SCHEMA + "name",)),
    "topic": (SKOS + "Concept", (SKOS + "prefLabel",)),
    "role": (SCHEMA + "Occupation", (SCHEMA + "name",)),
}


def exactly_labelled(store: ox.Store, kind: str, text: str) -> set[ox.NamedNode]:
    """The entities of `kind` with `text`, as given, as a label or as their IRI: index
    lookups, where a SPARQL query with the label bound reads every label."""
    cls, props = _LABEL_INDEX[kind]
    if text.startswith(("http://", "https://")):
        try:
            candidates = {canonical(store, ox.NamedNode(text))}
        except ValueError:
            return set()
    else:
        candidates = {q.subject for prop in props
                      for q in store.quads_for_pattern(None, ox.NamedNode(prop), ox.Literal(text), _DEFAULT)}
    a, cls = ox.NamedNode(RDF + "type"), ox.NamedNode(cls)
    return {e for e in candidates if isinstance(e, ox.NamedNode)
            and next(store.quads_for_pattern(e, a, cls, _DEFAULT), None) is not None}


def canonical(store: ox.Store, iri: ox.NamedNode) -> ox.NamedNode:
    """The IRI the default graph knows `iri` by: itself, or the canonical IRI that is
    schema:sameAs it (a guide's IRI for a paper or person merged under the Anthology's)."""
    if next(store.quads_for_pattern(iri, None, None, _DEFAULT), None) is not None:
        return iri
    merged = next(store.quads_for_pattern(None, _SAME_AS, iri, _DEFAULT), None)
    return merged.subject if merged is not None and isinstance(merged.subject, ox.NamedNode) else iri


def find_entity(store: ox.Store, kind: str, text: str) -> ox.NamedNode:
    """The entity of `kind` ("any" for all kinds) whose name or alias matches `text`.

    Case, accents, dots and hyphens are ignored; failing that, a unique entity whose
    label contains the text (at least 4 characters) is taken.
    """
    kinds = ENTITY_KINDS if kind == "any" else (kind,)
    exact = sorted({e.value for k in kinds for e in exactly_labelled(store, k, text)})
    if len(exact) == 1:  # an index lookup; the scan below reads every label
        return ox.NamedNode(exact[0])
    index = [(e, label) for k in kinds for e, label in labels(store, k)]
    if text.startswith(("http://", "https://")):
        merged = canonical(store, ox.NamedNode(text)).value
        if any(e.value == merged for e, _ in index):
            return ox.NamedNode(merged)
    key = name_key(text)
    hits = sorted({e.value for e, label in index if name_key(label) == key})
    if not hits and len(key) >= 4:
        hits = sorted({e.value for e, label in index if key in name_key(label)})
        if len(hits) > 1:
            hits = []  # a fragment that fits several is no answer: suggest instead
    if len(hits) == 1:
        return ox.NamedNode(hits[0])
    if len(hits) > 1:
        raise QueryError(f"{text!r} names {len(hits)} entities ({', '.join(hits)}); "
                         "use a longer name or the IRI")
    what = "person, paper, topic or role" if kind == "any" else kind
    raise UnknownNameError(what, text, suggest(text, [label for _, label in index]))


def suggest(text: str, candidates: list[str], n: int = 3) -> list[str]:
    """Closest names, compared without case or accents."""
    folded: dict[str, str] = {}
    for label in sorted(set(candidates)):
        folded.setdefault(fold(label), label)
    close = difflib.get_close_matches(fold(text), list(folded), n=n, cutoff=0.6)
    if not close:  # a part of a name: "lehmann" -> "Jens Lehmann"
        close = [f for f in folded if fold(text) in f][:n]
    return [folded[c] for c in close]


def check_query(text: str, *, allow_service: bool = False) -> sparqltext.Reading:
    """What `text` is, read without running it (kg.sparqltext); QueryError for what kg
    refuses to run: updates, SERVICE (a request to another server, made from this
    machine) unless `allow_service`, and nesting deeper than the engine can take."""
    reading = sparqltext.read(text, PREFIXES)
    if reading.update:
        raise QueryError("updates are refused: kg answers read-only queries (SELECT, ASK, "
                         "CONSTRUCT, DESCRIBE); rebuild the store with `kg build` to change data")
    if reading.service and not allow_service:
        raise QueryError("SERVICE is refused: it makes this machine send requests to another "
                         "server; pass --allow-service to let the query do that")
    if reading.depth > sparqltext.MAX_DEPTH:
        raise QueryError(f"the query nests {reading.depth} groups or parentheses deep, more than the "
                         f"{sparqltext.MAX_DEPTH} kg accepts; flatten it")
    return reading


def run_sparql(store: ox.Store, text: str, bindings: dict | None = None, *,
               allow_service: bool = False) -> Result:
    """Run read-only SPARQL: the default graph is the merge of the sources (one node per
    real thing), the named graphs are the sources as they said it (see kg.merge); a
    query's own FROM / FROM NAMED are honoured, several FROM graphs merged (kg.dataset)."""
    reading = check_query(text, allow_service=allow_service)
    options = {"prefixes": PREFIXES, "substitutions": bindings or None}
    try:
        if isinstance(store, ox.Store) and dataset.merges(reading.default_graphs):
            answer = dataset.query_merged(text, reading.default_graphs, reading.named_graphs,
                                          dataset.store_triples(store), **options)
        else:
            answer = store.query(text, **options)
    except SyntaxError as exc:
        raise QueryError(f"SPARQL syntax error: {exc}") from exc
    except OSError as exc:
        raise QueryError(f"query failed: {exc}") from exc
    if isinstance(answer, ox.QueryBoolean):
        return Result([], boolean=bool(answer))
    if isinstance(answer, ox.QueryTriples):
        return Result(["subject", "predicate", "object"], triples=list(answer))
    variables = [v.value for v in answer.variables]
    return Result(variables, [[solution[v] for v in variables] for solution in answer])


# --- output -------------------------------------------------------------------------

def _json_term(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != XSD + "string":
        out["datatype"] = term.datatype.value
    return out


def plain(term) -> str:
    """A term as a person reads it: IRIs and literal values without syntax."""
    if term is None:
        return ""
    return term.value


def format_result(result: Result, fmt: str) -> str:
    """Render as table | json (SPARQL 1.1 Results JSON) | csv | tsv (W3C formats)."""
    if result.boolean is not None:
        if fmt == "json":
            return json.dumps({"head": {}, "boolean": result.boolean})
        return "true" if result.boolean else "false"
    if result.triples is not None:
        return ox.serialize(result.triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8").rstrip("\n")
    if fmt == "json":
        bindings = [{v: _json_term(t) for v, t in zip(result.variables, row) if t is not None}
                    for row in result.rows]
        return json.dumps({"head": {"vars": result.variables}, "results": {"bindings": bindings}},
                          ensure_ascii=False, indent=1)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(result.variables)
        writer.writerows([[plain(t) for t in row] for row in result.rows])
        return buf.getvalue().rstrip("\r\n")
    if fmt == "tsv":
        lines = ["\t".join("?" + v for v in result.variables)]
        lines += ["\t".join("" if t is None else str(t) for t in row) for row in result.rows]
        return "\n".join(lines)
    return table(result.variables, [[plain(t) for t in row] for row in result.rows])


def table(headers: list[str], rows: list[list[str]], width: int = 70) -> str:
    """A plain text table; long cells are cut with an ellipsis."""
    cut = [[c if len(c) <= width else c[: width - 1] + "…" for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cut]) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(headers), line(["-" * w for w in widths])] + [line(r) for r in cut]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)
