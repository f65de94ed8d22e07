"""The exception tree: every failure `kg` reports on purpose is a KGError.

    KGError                      exit code 2 in the CLI, one line on stderr
    ├── SourceError(path, line)  an input file that cannot be read as expected
    ├── QueryError               a saved or ad-hoc query that cannot run
    │   ├── UnknownNameError     a name that matches nothing (with suggestions)
    │   └── AmbiguousNameError   a name that matches several entities (with their IRIs)
    ├── StoreError               the store is missing, locked or unusable
    └── ExportError              an export that cannot be written

Messages say what was expected and what to do next. SHACL violations are not
errors: validation returns a report and the caller decides (the CLI exits 1).
"""

from __future__ import annotations

import errno
from pathlib import Path


class KGError(Exception):
    """Base of every error `kg` raises deliberately."""


class SourceError(KGError):
    """An input file is unreadable or has no usable content."""

    def __init__(self, path: str | Path, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{shown(self.path)}:{line}" if line else shown(self.path)
        super().__init__(f"{where}: {message}")


def shown(name: str) -> str:
    """A file name as one line: control characters (a newline in a name) escaped."""
    return name if name.isprintable() else name.encode("unicode_escape").decode("ascii")


_REASONS = {
    errno.ENOENT: "no such file or directory",
    errno.ELOOP: "a loop of symbolic links",
    errno.EACCES: "permission denied: it cannot be read",
    errno.EISDIR: "is a directory",
    errno.ENAMETOOLONG: "the file name is too long",
}


def unreadable(path: str | Path, exc: OSError, expected: str, line: int | None = None) -> SourceError:
    """The one wording for a file the system will not give us: the errno in words
    (a symlink loop is not "no such file"), then what was expected there."""
    reason = _REASONS.get(exc.errno, exc.strerror or str(exc))
    return SourceError(path, line, f"cannot read: {reason}; {expected}")


class QueryError(KGError):
    """A query is malformed, refused, or given bad parameters."""


class UnknownNameError(QueryError):
    """A name given as a parameter matches nothing in the store."""

    def __init__(self, kind: str, name: str, suggestions: list[str]):
        self.kind = kind
        self.name = name
        self.suggestions = suggestions
        hint = (
            "did you mean " + ", ".join(repr(s) for s in suggestions) + "?"
            if suggestions
            else f"list them with `kg query {kind}s`"
        )
        super().__init__(f"no {kind} named {name!r}; {hint}")


class AmbiguousNameError(QueryError):
    """A name matches several entities: each is named by its IRI, which selects it."""

    def __init__(self, name: str, candidates: list[str], what: str = "entities"):
        self.name = name
        self.candidates = candidates  # IRIs, in the order `kg show --pick N` counts them
        self.what = what  # the plural: "roles", "people", "entities"
        super().__init__(f"{name!r} names {len(candidates)} {what}: "
                         + ", ".join(f"<{iri}>" for iri in candidates)
                         + "; give the IRI of the one you mean")


class StoreError(KGError):
    """The store cannot be opened or written."""


class ExportError(KGError):
    """An export cannot be written."""
