"""`kg serve`: a read-only SPARQL 1.1 Protocol endpoint at /sparql and the saved queries at /queries.

Standard-library HTTP in the main process; every query runs in a worker process that is killed
when its time limit passes, so a runaway query really stops.

Answers, by design:

- time limit (`timeout`, default 30 s): a query still running is killed with its worker and the
  answer is 503 with a JSON message (header `X-KG-Timeout`); no partial result is ever sent.
  The clock starts when a worker takes the query; waiting for a free worker is bounded too.
- row cap (`max_rows`, default 10,000 rows or triples): a larger answer is an error, 422 with a
  JSON message (header `X-KG-Max-Rows`) saying to add LIMIT/OFFSET. Never a silent truncation.
- refused: updates (`update=`, `application/sparql-update`, or an update in `query`) and SERVICE
  are 403; requests over `max_request` bytes are 413 (414 for a GET URL); unsupported Accept 406.
- errors are `{"error": "..."}` (plus `suggestions` for an unknown name) with the right status.

The modules, each importing only those after it: `http` (the server, routing, the handler),
`queryform` (what a query is), `workers` (the query processes), `replies` (negotiation, answers).
The worker processes start with `from kg.server.workers import worker_main`.
"""

from __future__ import annotations

from kg.namespaces import PREFIXES
from kg.server.http import (
    DEFAULT_HOST,
    DEFAULT_MAX_REQUEST,
    DEFAULT_MAX_ROWS,
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    KGServer,
    Limits,
    is_loopback,
    make_server,
    serve,
)
from kg.server.queryform import query_form
from kg.server.replies import HTTPError, Reply, negotiate
from kg.server.workers import DEFAULT_MAX_MEMORY, WorkerPool, worker_main

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_MEMORY",
    "DEFAULT_MAX_REQUEST",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_PORT",
    "DEFAULT_TIMEOUT",
    "PREFIXES",
    "HTTPError",
    "KGServer",
    "Limits",
    "Reply",
    "WorkerPool",
    "is_loopback",
    "make_server",
    "negotiate",
    "query_form",
    "serve",
    "worker_main",
]
