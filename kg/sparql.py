"""Read-only SPARQL on a store: the one place a query is checked before it runs
(kg.sparqltext reads it) and run with its own FROM / FROM NAMED honoured (kg.dataset);
the answer is a Result, whatever engine or store produced it."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice

import pyoxigraph as ox

from kg import dataset, sparqltext
from kg.errors import QueryError
from kg.namespaces import PREFIXES
from kg.store import in_process


@dataclass
class Result:
    """Rows of RDF terms (None where unbound), or triples, or a boolean."""

    variables: list[str]
    rows: list[list[ox.NamedNode | ox.BlankNode | ox.Literal | None]] = field(default_factory=list)
    triples: list[ox.Triple] | None = None
    boolean: bool | None = None


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


def run_sparql(store, text: str, bindings: dict | None = None, *, allow_service: bool = False,
               default_graphs: list[str] | None = None, named_graphs: list[str] | None = None,
               max_rows: int | None = None) -> Result:
    """Run read-only SPARQL on any kg store (embedded or a server). The dataset: the one
    given (the protocol's default-graph-uri / named-graph-uri), else the query's own FROM /
    FROM NAMED, else the store's: the merge of the sources as the default graph, the
    sources as named graphs (see kg.merge); several default graphs are merged (kg.dataset).
    At most `max_rows` rows or triples are read when it is given."""
    reading = check_query(text, allow_service=allow_service)
    given = default_graphs is not None or named_graphs is not None
    default = list(default_graphs or []) if given else list(reading.default_graphs)
    named = list(named_graphs or []) if given else list(reading.named_graphs)
    options: dict = {"prefixes": PREFIXES, "substitutions": bindings or None}
    try:
        if dataset.merges(default) and (given or in_process(store)):
            answer = dataset.query_merged(text, default, named, dataset.store_triples(store), **options)
        else:
            if given:  # the protocol's dataset, exactly as given
                options["default_graph"] = [ox.NamedNode(g) for g in default]
                options["named_graphs"] = [ox.NamedNode(g) for g in named]
            answer = store.query(text, **options)
        if isinstance(answer, ox.QueryBoolean):
            return Result([], boolean=bool(answer))
        if isinstance(answer, ox.QueryTriples):
            return Result(["subject", "predicate", "object"], triples=list(islice(answer, max_rows)))
        variables = [v.value for v in answer.variables]
        return Result(variables, [[s[v] for v in variables] for s in islice(answer, max_rows)])
    except SyntaxError as exc:
        raise QueryError(f"SPARQL syntax error: {exc}") from exc
    except (OSError, ValueError, RuntimeError) as exc:
        raise QueryFailed(f"the query failed: {exc}") from exc


class QueryFailed(QueryError):
    """A well-formed query the engine could not answer (a SERVICE it could not reach,
    an engine error): the store's fault or the network's, not the asker's."""
