"""Replies: the Reply and HTTPError both processes pass around, content negotiation, and
answers written in the negotiated media type (rows, booleans, graphs) within the row cap."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pyoxigraph as ox

from kg import queries, render
from kg.namespaces import PREFIXES

JSON_TYPE = "application/json"

# media type -> format name, in the order preferred when the client does not care
SOLUTION_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/json": "json",
    "application/xml": "xml",
    "text/plain": "table",  # the table `kg query` prints
}
BOOLEAN_TYPES = dict(SOLUTION_TYPES)  # ASK in CSV/TSV too: a one-cell table (as Jena writes it)
GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "ntriples",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "rdfxml",
    "application/json": "jsonld",
    "text/plain": "ntriples",
}
_RESULTS_FORMATS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
                    "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV}
_RDF_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
                "jsonld": ox.RdfFormat.JSON_LD, "rdfxml": ox.RdfFormat.RDF_XML}


@dataclass
class Reply:
    """An HTTP answer as the worker and the handler pass it around (picklable)."""

    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, status: int, message: str, headers: dict[str, str] | None = None, **extra) -> Reply:
        body = json.dumps({"error": message, **extra}, ensure_ascii=False).encode("utf-8")
        return cls(status, JSON_TYPE, body, dict(headers or {}))


class HTTPError(Exception):
    """A request the handler answers with an error status and a message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, **extra):
        super().__init__(message)
        self.reply = Reply.error(status, message, headers, **extra)


# --- content negotiation ---------------------------------------------------------------

def offers_for(form: str | None) -> dict[str, str]:
    """The media types a query of this form (kg.server.queryform) can be answered in."""
    if form == "ASK":
        return BOOLEAN_TYPES
    if form in ("CONSTRUCT", "DESCRIBE"):
        return GRAPH_TYPES
    return SOLUTION_TYPES


def negotiate(accept: str | None, offers: dict[str, str]) -> str | None:
    """The offered media type the Accept header prefers (the first offer if it has no say)."""
    ranges = []
    for part in (accept or "").split(","):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if "/" not in media:
            continue
        q = 1.0
        for param in pieces[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((media, q))
    if not ranges:
        return next(iter(offers))
    best, best_q = None, 0.0
    for offer in offers:  # in preference order: a tie keeps the earlier offer
        kind = offer.split("/")[0]
        q, specificity = 0.0, -1
        for media, mq in ranges:
            level = 2 if media == offer else 1 if media == f"{kind}/*" else 0 if media == "*/*" else -1
            if level > specificity:
                q, specificity = mq, level
        if specificity >= 0 and q > best_q:
            best, best_q = offer, q
    return best


# `format=` / `output=` (as Fuseki, Virtuoso and YASGUI send them): a name or a media type
FORMAT_NAMES = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
                "csv": "text/csv", "tsv": "text/tab-separated-values", "text": "text/plain",
                "table": "text/plain", "turtle": "text/turtle", "ttl": "text/turtle",
                "ntriples": "application/n-triples", "nt": "application/n-triples",
                "jsonld": "application/ld+json", "json-ld": "application/ld+json",
                "rdfxml": "application/rdf+xml", "rdf": "application/rdf+xml"}


def format_as_accept(value: str, offers: dict[str, str]) -> str:
    """The Accept header a `format=` value stands for; HTTPError 400 naming the choices
    when it names nothing this answer can be (a graph has no CSV)."""
    media = FORMAT_NAMES.get(value.strip().lower(), value.strip().lower())
    if media in offers:
        return media
    if media == "application/sparql-results+json" and "application/ld+json" in offers:
        return "application/ld+json"  # format=json on a CONSTRUCT: its JSON form
    names = sorted(name for name, m in FORMAT_NAMES.items() if m in offers)
    raise HTTPError(400, f"format {value!r} is not one this answer comes in; use one of {', '.join(names)} "
                         f"or a media type: {', '.join(offers)}")


def not_acceptable(offers: dict[str, str]) -> Reply:
    return Reply.error(406, "cannot answer in any media type the Accept header allows; this answer "
                            "is available as " + ", ".join(offers))


def _content_type(media: str) -> str:
    return f"{media}; charset=utf-8" if media.startswith("text/") else media


# --- serialising answers (in the worker) -----------------------------------------------

def solutions_reply(result: queries.Result, media: str) -> Reply:
    """Rows or a boolean in the negotiated format; written by Oxigraph's serialisers."""
    fmt = (BOOLEAN_TYPES if result.boolean is not None else SOLUTION_TYPES)[media]
    if fmt == "table":
        body = render.format_result(result, "table") + "\n"
        return Reply(200, _content_type(media), body.encode("utf-8"))
    if result.boolean is not None and fmt in ("csv", "tsv"):  # no W3C form: a one-cell table
        head = "_askResult" if fmt == "csv" else "?_askResult"
        line = "\r\n" if fmt == "csv" else "\n"
        body = f"{head}{line}{'true' if result.boolean else 'false'}{line}"
        return Reply(200, _content_type(media), body.encode("utf-8"))
    if result.boolean is not None:
        doc = {"head": {}, "boolean": result.boolean}
    else:
        doc = {"head": {"vars": result.variables},
               "results": {"bindings": [{v: render.json_term(t) for v, t in zip(result.variables, row)
                                         if t is not None} for row in result.rows]}}
    parsed = ox.parse_query_results(json.dumps(doc, ensure_ascii=False).encode("utf-8"),
                                    format=ox.QueryResultsFormat.JSON)
    body = parsed.serialize(format=_RESULTS_FORMATS[fmt])
    headers = {} if result.boolean is not None else {"X-KG-Rows": str(len(result.rows))}
    return Reply(200, _content_type(media), body, headers)


def graph_reply(triples: list[ox.Triple], media: str, prefixes: dict[str, str] | None = None) -> Reply:
    fmt = _RDF_FORMATS[GRAPH_TYPES[media]]
    prefixes = {**PREFIXES, **(prefixes or {})}
    body = ox.serialize(triples, format=fmt, prefixes=prefixes if fmt == ox.RdfFormat.TURTLE else None)
    return Reply(200, _content_type(media), body, {"X-KG-Rows": str(len(triples))})


def _too_many(max_rows: int, what: str, hint: str) -> Reply:
    return Reply.error(422, f"the answer has more than {max_rows} {what}, this server's limit "
                            f"(kg serve --max-rows); {hint}. Nothing was sent rather than a cut-off answer",
                       {"X-KG-Max-Rows": str(max_rows)})


def result_reply(result: queries.Result, accept: str | None, max_rows: int, hint: str) -> Reply:
    if result.triples is not None:
        if len(result.triples) > max_rows:
            return _too_many(max_rows, "triples", hint)
        media = negotiate(accept, GRAPH_TYPES)
        return graph_reply(result.triples, media) if media else not_acceptable(GRAPH_TYPES)
    if result.boolean is None and len(result.rows) > max_rows:
        return _too_many(max_rows, "rows", hint)
    offers = BOOLEAN_TYPES if result.boolean is not None else SOLUTION_TYPES
    media = negotiate(accept, offers)
    return solutions_reply(result, media) if media else not_acceptable(offers)

