"""RDF files as sources: read by Oxigraph, refused in one line when broken or hostile.

Both `kg build` (hand-made RDF beside the guides) and `kg validate FILE` read RDF
here, so a bad file gets the same message whichever command met it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox

from kg.errors import SourceError, unreadable

# Oxigraph refuses a single term (a literal, an IRI) longer than this with a MemoryError
TERM_LIMIT = 16 * 1024 * 1024


def read_bytes(path: Path, expected: str) -> bytes:
    """A file's bytes, or a SourceError saying why the system would not give them."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise unreadable(path, exc, expected) from None


def parse(path: Path, raw: bytes, fmt: ox.RdfFormat, base_iri: str | None = None) -> list:
    """Every triple (or quad) of an RDF file's bytes; SourceError (with the line when
    the parser names one) for a syntax error, an entity declaration or an oversized term."""
    if fmt == ox.RdfFormat.RDF_XML and re.search(rb"<!ENTITY", raw[: 1 << 16]):
        raise SourceError(path, None, "declares XML entities (<!ENTITY ...>), which kg does not expand "
                                      "(a few hundred bytes of them can expand to gigabytes); write the "
                                      "values out and remove the DOCTYPE")
    try:
        return list(ox.parse(raw, format=fmt, base_iri=base_iri))
    except (SyntaxError, ValueError) as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise SourceError(path, int(line[1]) if line else None,
                          f"not valid RDF ({exc}); fix the file or leave it out") from None
    except MemoryError:
        raise SourceError(path, None, f"holds a literal or IRI over {TERM_LIMIT // (1024 * 1024)} MB, "
                                      "more than kg reads in one term; shorten it or leave the file "
                                      "out") from None
