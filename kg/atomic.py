"""Files replaced whole or not at all: a temporary file beside the target, renamed over it.

Exports, the review file and GraphML all write this way, so a reader (or a killed
writer) never leaves half a file; temporary files of dead writers are swept.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from glob import escape as glob_escape
from pathlib import Path
from typing import BinaryIO

from kg.errors import ExportError


def temp_beside(path: Path) -> str:
    """A new empty file in the directory of `path`, to be renamed over it."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ExportError(f"cannot write {path}: directory {directory} does not exist")
    _sweep_temps(directory, path.name)
    tmp = str(directory / f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:  # mode 0666 less the umask, as the file itself would get (mkstemp: 0600)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return tmp


def _sweep_temps(directory: Path, name: str) -> None:
    """Remove the temporary files of earlier writes of `name` whose writer is dead (a
    killed `kg export -o F` leaves `.F.<pid>-<hex>.tmp`); those of a live one stay."""
    for leftover in directory.glob(f".{glob_escape(name)}.*.tmp"):
        owner = leftover.name[len(name) + 2:-4].split("-", 1)[0]
        if owner.isdigit() and _alive(int(owner)):
            continue
        leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


@contextmanager
def replacing(path: str | Path) -> Iterator[BinaryIO]:
    """A file handle whose contents replace `path` whole, only if the block succeeds."""
    path = Path(path)
    tmp = temp_beside(path)
    try:
        with open(tmp, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, whole."""
    with replacing(path) as handle:
        handle.write(data)
