"""What a query is, read without running it (kg.sparqltext): its form, and the refusals
(update, SERVICE, too deep) made in the handler before any worker is asked."""

from __future__ import annotations

from kg import sparqltext
from kg.namespaces import PREFIXES
from kg.server.replies import HTTPError


def query_form(text: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE, or None when unclear (the engine then decides).

    Raises HTTPError 403 for an update or a SERVICE clause (read by kg.sparqltext, as the
    grammar reads it), 400 for nesting deeper than the engine takes.
    """
    reading = sparqltext.read(text, PREFIXES)
    if reading.service:
        raise HTTPError(403, "SERVICE is refused: this endpoint answers from its own store only "
                             "and makes no network requests; remove the SERVICE clause")
    if reading.update:
        raise HTTPError(403, "updates are refused: this endpoint is read-only (SELECT, ASK, CONSTRUCT, "
                             "DESCRIBE); rebuild the store with `kg build` to change data")
    if reading.depth > sparqltext.MAX_DEPTH:
        raise HTTPError(400, f"the query nests {reading.depth} groups or parentheses deep, more than "
                             f"the {sparqltext.MAX_DEPTH} this endpoint accepts; flatten it")
    return reading.form if reading.form in sparqltext.QUERY_FORMS else None

