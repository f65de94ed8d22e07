"""Saved queries (queries/*.rq): load their headers, bind parameters, run them.

Parameters are bound as RDF terms through Oxigraph's `substitutions`, never
written into the query text; names are looked up case- and accent-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import pyoxigraph as ox
import yaml
from rapidfuzz import fuzz, process

from kg import engines
from kg.errors import AmbiguousNameError, QueryError, UnknownNameError
from kg.names import fold, name_key
from kg.namespaces import PREFIXES, RDF, SCHEMA, SKOS, XSD, mint
from kg.sparql import Result, run_sparql
from kg.store import Store

ENTITY_KINDS = ("person", "paper", "topic", "role")
SCALAR_KINDS = ("integer", "string", "any")  # any: an entity of any kind
_PLURALS = {"person": "people", "paper": "papers", "topic": "topics", "role": "roles"}

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
    values: tuple[str, ...] | None = None  # `values: [a, b]`: the only values it takes


@dataclass(frozen=True)
class SavedQuery:
    name: str
    summary: str
    description: str
    params: tuple[Param, ...]
    text: str
    engine: str | None = None  # `#+ engine: f`: ENGINES[f](store, **params) answers it


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
        values = spec.get("values")
        if values is not None:
            if kind not in SCALAR_KINDS or kind == "any" or not isinstance(values, list) or not values:
                raise QueryError(f"query {name}: parameter {spec.get('name')!r}: values must be a "
                                 "non-empty list, for an integer or string parameter")
            values = tuple(str(v) for v in values)
            if default is not None and str(default) not in values:
                raise QueryError(f"query {name}: parameter {spec.get('name')!r}: its default "
                                 f"{default!r} is not one of its values")
        params.append(Param(
            name=spec["name"], type=kind, description=spec.get("description", ""),
            default=None if default is None else str(default), required=bool(spec.get("required")),
            values=values,
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


def close_query_names(name: str) -> list[str]:
    """The saved queries whose names are closest to `name` (for "did you mean")."""
    return [m for m, _, _ in process.extract(name, list(saved_queries()), scorer=fuzz.ratio, limit=3,
                                             score_cutoff=60)]


def get_query(name: str) -> SavedQuery:
    queries = saved_queries()
    if name not in queries:
        close = close_query_names(name)
        hint = f"did you mean {', '.join(close)}?" if close else "list them with `kg queries`"
        raise QueryError(f"no saved query named {name!r}; {hint}")
    return queries[name]


def run_saved(store: Store, name: str, params: dict[str, str] | None = None) -> Result:
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
        if param.values is not None and value not in param.values:
            # a value outside the list would match nothing: 0 rows that look like an answer
            raise QueryError(f"parameter {param.name} of query {name} must be one of "
                             f"{', '.join(param.values)}; not {value!r}")
        bindings[ox.Variable(param.name)] = bind(store, param, value)
    result = None
    if query.engine:  # the same answer, computed without SPARQL (see kg/engines.py)
        result = engines.ENGINES[query.engine](store, **{v.value: t for v, t in bindings.items()})
    if result is None:
        result = run_sparql(store, query.text, bindings)
    # parameters are projected only so that they can be substituted: hide them
    keep = [i for i, v in enumerate(result.variables) if v not in known]
    if len(keep) < len(result.variables):  # nothing to hide (engines): rows kept, not copied
        result.variables = [result.variables[i] for i in keep]
        result.rows = [[row[i] for i in keep] for row in result.rows]
    return result


def bind(store: Store, param: Param, value: str) -> ox.NamedNode | ox.Literal:
    """The RDF term a parameter value stands for."""
    if param.type == "integer":
        if not re.fullmatch(r"[+-]?\d+", value.strip()):
            raise QueryError(f"parameter {param.name} must be an integer, not {value!r}")
        return ox.Literal(str(int(value)), datatype=ox.NamedNode(XSD + "integer"))
    if param.type == "string":
        return ox.Literal(value)
    return find_entity(store, param.type, value)  # an entity kind, or "any"


def labels(store: Store, kind: str) -> list[tuple[ox.NamedNode, str]]:
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


_RELATIVE = re.compile(r"[a-z][a-z-]*/\S+")  # person/samson-tan: an IRI under mint("")
_PREFIXED = re.compile(r"([a-z][a-z0-9]*):(\S+)")


def expand_iri(text: str) -> str | None:
    """The IRI `text` writes, if it writes one: <IRI>, a full http(s) IRI, a prefixed name
    (schema:x) or a path under the entity base (role/applied-scientist-428df6c5), as
    `kg show` prints them; None for a name."""
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    if text.startswith(("http://", "https://")):
        return text if " " not in text else None
    if _RELATIVE.fullmatch(text):
        return mint("") + text
    prefixed = _PREFIXED.fullmatch(text)
    if prefixed and prefixed[1] in PREFIXES:
        return PREFIXES[prefixed[1]] + prefixed[2]
    return None


def exactly_labelled(store: Store, kind: str, text: str) -> set[ox.NamedNode]:
    """The entities of `kind` with `text`, as given, as a label or as their IRI: index
    lookups, where a SPARQL query with the label bound reads every label."""
    cls, props = _LABEL_INDEX[kind]
    iri = expand_iri(text)
    if iri is not None:
        try:
            candidates = {canonical(store, ox.NamedNode(iri))}
        except ValueError:
            return set()
    else:
        candidates = {q.subject for prop in props
                      for q in store.quads_for_pattern(None, ox.NamedNode(prop), ox.Literal(text), _DEFAULT)}
    a, cls = ox.NamedNode(RDF + "type"), ox.NamedNode(cls)
    return {e for e in candidates if isinstance(e, ox.NamedNode)
            and next(store.quads_for_pattern(e, a, cls, _DEFAULT), None) is not None}


def canonical(store: Store, iri: ox.NamedNode) -> ox.NamedNode:
    """The IRI the default graph knows `iri` by: itself, or the canonical IRI that is
    schema:sameAs it (a guide's IRI for a paper or person merged under the Anthology's)."""
    if next(store.quads_for_pattern(iri, None, None, _DEFAULT), None) is not None:
        return iri
    merged = next(store.quads_for_pattern(None, _SAME_AS, iri, _DEFAULT), None)
    return merged.subject if merged is not None and isinstance(merged.subject, ox.NamedNode) else iri


def find_entity(store: Store, kind: str, text: str) -> ox.NamedNode:
    """The entity of `kind` ("any" for all kinds) whose name, alias or IRI matches `text`.

    Case, accents, dots and hyphens are ignored; failing that, a unique entity whose
    label contains the text (at least 4 characters) is taken. A name several entities
    share raises AmbiguousNameError with their IRIs: each IRI then selects one.
    """
    kinds = ENTITY_KINDS if kind == "any" else (kind,)
    exact = sorted({e.value for k in kinds for e in exactly_labelled(store, k, text)})
    if len(exact) == 1:  # an index lookup; the scan below reads every label
        return ox.NamedNode(exact[0])
    index = [(k, e, label) for k in kinds for e, label in labels(store, k)]
    key = name_key(text)
    hits = sorted({e.value for _, e, label in index if name_key(label) == key})
    if not hits and len(key) >= 4:
        hits = sorted({e.value for _, e, label in index if key in name_key(label)})
        if len(hits) > 1:
            hits = []  # a fragment that fits several is no answer: suggest instead
    if len(hits) == 1:
        return ox.NamedNode(hits[0])
    if len(hits) > 1:
        found = {k for k, e, _ in index if e.value in hits}
        what = _PLURALS[found.pop()] if len(found) == 1 else "entities"
        raise AmbiguousNameError(text, hits, what)
    what = "person, paper, topic or role" if kind == "any" else kind
    raise UnknownNameError(what, text, suggest(text, [label for _, _, label in index]))


SUGGEST_CUTOFF = 65


def suggest(text: str, candidates: list[str], n: int = 3) -> list[str]:
    """Closest names, compared without case or accents. rapidfuzz's ratio is difflib's
    measure (matching characters over both lengths) at ~75x the speed (bench/suggest.py);
    names in reverse order break ties as difflib did, for the later name. Its ratio is
    the true longest common subsequence, so it scores unrelated names higher than
    difflib's greedy blocks did ("Samsn Tan" / "Suhang Wang": 60 against 30): the cutoff
    is 65, not difflib's 60."""
    folded: dict[str, str] = {}
    for label in sorted(set(candidates)):
        folded.setdefault(fold(label), label)
    close = [m for m, _, _ in process.extract(fold(text), sorted(folded, reverse=True),
                                              scorer=fuzz.ratio, limit=n, score_cutoff=SUGGEST_CUTOFF)]
    if not close:  # a part of a name: "lehmann" -> "Jens Lehmann"
        close = [f for f in folded if fold(text) in f][:n]
    return [folded[c] for c in close]
