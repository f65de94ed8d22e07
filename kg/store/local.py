"""The on-disk Oxigraph store: read it, and replace it atomically.

A store is a directory holding generations `data-<token>/` (Oxigraph/RocksDB
stores) and a symlink `CURRENT` naming the live one. A build writes a new
generation and swaps the symlink with one rename, so readers see the old
store or the new one, never a half-written one.

A reader pins the generation it opened (a shared flock on its directory) until it
exits, lets go (`release`) or opens a newer one of the same store, but never while a
LocalStore of the process still reads it; a build removes an old generation only when
no reader pins it, else a later build does (a build's own process lets go of its pin
first, unless one of its LocalStores reads the generation). RocksDB opens a
store's files as queries need them: a query on a generation deleted under it did not
fail, it allocated memory without end.

`LocalStore` is such a directory as a kg.store.Store; `Staging` a generation being
written; `writer_lock` the one-writer-at-a-time rule for every kind of store.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import pyoxigraph as ox

from kg.errors import StoreError
from kg.store.protocol import Graph, describe_quads, is_url

try:
    import fcntl
except ImportError:  # pragma: no cover - no flock (Windows): generations are not pinned
    fcntl = None

CURRENT = "CURRENT"
LOCK, HOLDER = "lock", "lock.json"  # the writers' lock, and who holds it
# N-Quads bytes per bulk load (~130 k quads), and loads at once (see ChunkedLoader)
LOAD_CHUNK_BYTES = 16 << 20
LOAD_THREADS = 2
BULK_BATCH = 100_000  # quads per call of Oxigraph's bulk loader (see bulk_extend)


def _check_layout(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise StoreError(f"{path} is a file, not a kg store directory; choose another --store")
    # a first build that died before its swap leaves only generations: still a kg store
    leftovers = all(e.name.startswith(("data-", f".{CURRENT}.", f".{HOLDER}.")) or e.name in (LOCK, HOLDER)
                    for e in path.iterdir()) if path.is_dir() else True
    if path.is_dir() and any(path.iterdir()) and not (path / CURRENT).is_symlink() and not leftovers:
        raise StoreError(f"{path} exists and is not a kg store (no {CURRENT}); "
                         "refusing to touch it: choose another --store")


def _lock_dir(path: Path | str) -> Path:
    """Where a store's writers' lock lives: in the store directory; for a server, in a
    folder of this user's (so writers on this machine take turns; not across machines)."""
    if is_url(path):
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kg" / "locks"
        return folder / hashlib.sha256(str(path).encode("utf-8")).hexdigest()[:16]
    return Path(path)


def _holder(folder: Path) -> str:
    try:
        info = json.loads((folder / HOLDER).read_text(encoding="utf-8"))
        return f"process {info['pid']} ({info['command']}, since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def writer_lock(path: Path | str, *, wait: bool = True, on_wait=None) -> Iterator[None]:
    """One writer of a store at a time: builds, --add, push and review-file writes take
    this lock; readers never do. It is an OS file lock (filelock: flock on POSIX), so
    the lock of a process that died is free again at once, with no stale file to judge.
    Busy: with `wait`, `on_wait(message)` once and wait; else StoreError naming the
    holder (pid, command, since when)."""
    from filelock import FileLock, Timeout

    folder = _lock_dir(path)
    if not is_url(path):
        _check_layout(folder)  # never put a lock file into a directory that is not a store
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = _holder(folder)
        if not wait:
            raise StoreError(f"{path} is being written by {holder}; try again when it is done, "
                             "or leave out --no-wait to wait for it") from None
        if on_wait is not None:
            on_wait(f"waiting for {holder}, which is writing {path}")
        lock.acquire()
    try:
        info = {"pid": os.getpid(), "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])[:200],
                "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        with tempfile.NamedTemporaryFile("w", dir=folder, prefix=f".{HOLDER}.", delete=False,
                                         encoding="utf-8") as tmp:
            json.dump(info, tmp)
        os.replace(tmp.name, folder / HOLDER)
        yield
    finally:
        with suppress(OSError):
            (folder / HOLDER).unlink()
        lock.release()


def exists(path: Path) -> bool:
    return (path / CURRENT).is_symlink() and (path / CURRENT).resolve().is_dir()


# a reader's pins: generation directory -> an open descriptor holding a shared flock on it
_PINS: dict[Path, int] = {}


def open_generation(path: Path) -> tuple[ox.Store, Path]:
    """The live store read-only, and its generation, pinned so no build deletes it
    while this process reads it (see the module docstring)."""
    path = Path(path)
    _check_layout(path)
    for _attempt in range(50):  # a build swapping as we pin: look again
        if not exists(path):
            raise StoreError(f"no store at {path}; run `kg build` first (or pass --store / set KG_STORE)")
        generation = (path / CURRENT).resolve()
        if not _pin(generation):
            time.sleep(0.02)
            continue
        if (path / CURRENT).resolve() != generation:  # superseded before the pin held: not ours
            _let_go(generation)
            continue
        for older in [g for g in list(_PINS) if g.parent == generation.parent and g != generation]:
            _let_go(older)  # one generation of a store at a time: the newest this process opened
        try:
            return ox.Store.read_only(str(generation)), generation
        except OSError as exc:
            _let_go(generation)
            raise StoreError(f"cannot open the store at {path}: {exc}") from exc
    raise StoreError(f"the store at {path} kept changing while being opened; try again")


def _pin(generation: Path) -> bool:
    """Take a shared lock on a generation; False if a build is deleting it."""
    if fcntl is None or generation in _PINS:
        return True
    try:
        fd = os.open(generation, os.O_RDONLY)
    except OSError:
        return False  # gone already
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _PINS[generation] = fd
    return True


# the LocalStores of this process: a generation one of them reads stays pinned
_READERS: weakref.WeakSet[LocalStore] = weakref.WeakSet()


def _read_here(generation: Path) -> bool:
    return any(reader.generation == generation for reader in list(_READERS))


def _let_go(generation: Path) -> None:
    """Release this process's pin unless a LocalStore of it still reads the generation
    (one pin a generation, shared by every reader in the process)."""
    if not _read_here(generation):
        release(generation)


def release(generation: Path) -> None:
    """Let go of this process's pin on a generation (its store must no longer be read)."""
    fd = _PINS.pop(generation, None)
    if fd is not None:
        os.close(fd)


def _remove_unpinned(generation: Path) -> bool:
    """Delete a generation unless a reader pins it; whether it was deleted.

    This process's own pin is let go first (a writer does not read what it replaces),
    unless a LocalStore of this process still reads it."""
    if _read_here(generation):
        return False
    release(generation)
    if fcntl is None:
        shutil.rmtree(generation, ignore_errors=True)
        return True
    try:
        fd = os.open(generation, os.O_RDONLY)
    except OSError:
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a reader has it open: a later build removes it
        shutil.rmtree(generation, ignore_errors=True)
        return True
    finally:
        os.close(fd)


class LocalStore:
    """An embedded store as a kg.store.Store: reads go to the live generation, opened
    read-only and pinned at the first read; `native` is that pyoxigraph Store, for the
    callers that hand it to Oxigraph as it is (validation's worker processes open it
    by `generation`). A build swapping in a new generation is seen after `refresh`."""

    embedded = True

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._native: ox.Store | None = None
        self.generation: Path | None = None  # the one this object reads, pinned

    def __repr__(self) -> str:
        return f"LocalStore({str(self.path)!r})"

    @property
    def native(self) -> ox.Store:
        """The live generation's read-only pyoxigraph Store; StoreError if there is none."""
        if self._native is None:
            self._native, self.generation = open_generation(self.path)
            _READERS.add(self)
        return self._native

    @property
    def version(self) -> str:
        self.native  # noqa: B018 - the generation is known once it is open
        return self.generation.name

    def exists(self) -> bool:
        """Whether there is a live generation (a build can add to it)."""
        return exists(self.path)

    def refresh(self) -> None:
        if self._native is None:
            return
        try:
            live = (self.path / CURRENT).resolve(strict=True)
        except OSError:
            return  # the store went away: keep reading what is open
        if live != self.generation:
            self.close()

    def close(self) -> None:
        generation, self.generation, self._native = self.generation, None, None
        _READERS.discard(self)
        if generation is not None:
            _let_go(generation)  # a later build may delete it now

    # reading: pyoxigraph's own ---------------------------------------------------------
    def query(self, query: str, **options):
        return self.native.query(query, **options)

    def quads_for_pattern(self, subject, predicate, object, graph_name=None) -> Iterator[ox.Quad]:
        return self.native.quads_for_pattern(subject, predicate, object, graph_name)

    def named_graphs(self) -> Iterator[ox.NamedNode]:
        return self.native.named_graphs()

    def contains_named_graph(self, graph: ox.NamedNode) -> bool:
        return self.native.contains_named_graph(graph)

    def __len__(self) -> int:
        return len(self.native)

    def __iter__(self) -> Iterator[ox.Quad]:
        return iter(self.native)

    def __contains__(self, quad: ox.Quad) -> bool:
        return quad in self.native

    def dump(self, output=None, format: ox.RdfFormat | None = None, *, from_graph: Graph | None = None):
        return self.native.dump(output=output, format=format, from_graph=from_graph)

    def describe(self, iri: ox.NamedNode) -> list[ox.Quad]:
        return describe_quads(self.native, iri)

    # writing: a new generation, swapped in ---------------------------------------------
    def staging(self, *, extend: bool, on_stage=None):
        return staging(self.path, extend=extend)

    def replace_graphs(self, contents, drop=(), on_stage=None) -> None:
        note = on_stage or (lambda _m: None)
        with self.staging(extend=self.exists()) as stage:
            names = [g for g in [*contents, *drop] if isinstance(g, ox.NamedNode)]
            stage.replace_graphs(names)
            if any(isinstance(g, ox.DefaultGraph) for g in contents):
                stage.store.clear_graph(ox.DefaultGraph())
            for graph, triples in contents.items():
                note(f"writing {graph}")
                stage.add((ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples), bulk=False)
            note("swapping graphs")
            stage.commit()


class Staging:
    """A new generation being written; becomes live only through `commit`."""

    def __init__(self, root: Path, base: Path | None, publish=None):
        self.root = root
        self.publish = publish  # called with the finished store before the swap (a server's upload)
        self.dir = root / f"data-{uuid.uuid4().hex[:12]}"
        if base is not None:
            ox.Store.read_only(str(base)).backup(str(self.dir))
        self.store = ox.Store(str(self.dir))

    def replace_graphs(self, graphs: Iterable[ox.NamedNode]) -> None:
        for graph in graphs:
            if self.store.contains_named_graph(graph):
                self.store.remove_graph(graph)

    def add(self, quads: Iterable[ox.Quad], *, bulk: bool = True) -> None:
        """Add quads: `bulk` writes new files (fast for many quads, see bulk_extend),
        else one transaction."""
        if bulk:
            bulk_extend(self.store, quads)
        else:
            self.store.extend(quads)

    @contextmanager
    def bulk_writer(self) -> Iterator[ChunkedLoader]:
        """A binary stream to write N-Quads into, bulk-loaded as they come (see
        ChunkedLoader). If a load fails, StoreError says why, at the next write or at
        the end; an error of the caller's is raised as it is, once what was written
        before it has been loaded."""
        with ThreadPoolExecutor(LOAD_THREADS, thread_name_prefix="kg-bulk-load") as pool:
            loader = ChunkedLoader(self.store, pool, self.dir)
            try:
                yield loader
            except BaseException:
                with suppress(StoreError):  # the caller's error is the one to see
                    loader.close()
                raise
            loader.close()

    def commit(self, *, optimize: bool = True) -> None:
        """Make this generation live: one atomic rename of the CURRENT symlink.

        `optimize` compacts the store first (seconds on a large one); a bulk load
        leaves many overlapping files that make every later read slow."""
        self.store.flush()
        if optimize:
            self.store.optimize()
        if self.publish is not None:
            self.publish(self.store)
        del self.store
        old = (self.root / CURRENT).resolve() if (self.root / CURRENT).is_symlink() else None
        link = self.root / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
        os.symlink(self.dir.name, link)
        os.replace(link, self.root / CURRENT)
        if old is not None and old != self.dir:
            _remove_unpinned(old)

    def discard(self) -> None:
        if hasattr(self, "store"):
            del self.store
        shutil.rmtree(self.dir, ignore_errors=True)


def bulk_extend(store: ox.Store, quads: Iterable[ox.Quad]) -> None:
    """Oxigraph's bulk load, BULK_BATCH quads a call: the loader holds all one call
    gives it (a 10,000-paper guide's 0.54 M quads in one call: +450 MB)."""
    it = iter(quads)
    while batch := list(itertools.islice(it, BULK_BATCH)):
        store.bulk_extend(batch)


class ChunkedLoader:
    """Takes N-Quads bytes and hands them to Oxigraph's bulk loader a chunk at a time,
    in LOAD_THREADS threads that run without the GIL while the caller maps more.

    One bulk load of a whole stream works in batches of a million quads, two at a
    time, and the last ones run alone after the stream ends: on the whole Anthology
    that tail took 9 s at one core. Chunks of ~130 k quads, each loaded by its own
    call, keep both cores busy to the end (the same store; build + export 65 -> 59 s
    and peak 1.86 -> 1.1 GB with 48 MB chunks; 16 MB ones took 1-2 s less than 32 or
    48 MB, at 0.7 GB). Chunks are cut at line ends, so writes may split lines.
    The lines are meant to be Oxigraph's own serialisation of terms (ox.serialize):
    their IRIs are not checked again, which saves 5 of the loader's 50 CPU-seconds."""

    def __init__(self, store: ox.Store, pool: ThreadPoolExecutor, where: Path):
        self._store, self._pool, self._where = store, pool, where
        self._parts: list[bytes] = []
        self._size = 0
        # chunks being loaded or waiting to be: bounds the memory they hold
        self._slots = threading.BoundedSemaphore(LOAD_THREADS + 1)
        self._loads: list[Future] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._size += len(data)
        if self._size >= LOAD_CHUNK_BYTES:
            self._submit(final=False)
        return len(data)

    def flush(self) -> None:
        """Nothing to do: chunks go to the loader by size, and the rest at close."""

    def close(self) -> None:
        """Load what is left and wait for every load; StoreError if one failed."""
        try:
            if self._failure() is None:
                self._submit(final=True)
        finally:
            for load in self._loads:
                load.exception()  # waits
        failure = self._failure()
        if failure is not None:
            raise StoreError(f"bulk loading into {self._where} failed: {failure}") from failure

    def _failure(self) -> BaseException | None:
        return next((f.exception() for f in self._loads if f.done() and f.exception()), None)

    def _submit(self, *, final: bool) -> None:
        data = b"".join(self._parts)
        cut = len(data) if final else data.rfind(b"\n") + 1
        rest = data[cut:]
        self._parts, self._size = ([rest], len(rest)) if rest else ([], 0)
        if cut == 0:
            return
        failure = self._failure()
        if failure is not None:
            raise StoreError(f"bulk loading into {self._where} failed: {failure}") from failure
        self._slots.acquire()
        self._loads.append(self._pool.submit(self._load, data[:cut]))

    def _load(self, data: bytes) -> None:
        try:
            # lenient: no second check of IRIs that Oxigraph serialised itself
            self._store.bulk_load(data, format=ox.RdfFormat.N_QUADS, lenient=True)
        finally:
            self._slots.release()


@contextmanager
def staging(path: Path, *, extend: bool):
    """A fresh generation (a copy of the live one when `extend`); discarded on error."""
    _check_layout(path)
    base = None
    if extend:
        if not exists(path):
            raise StoreError(f"no store at {path} to add to; run `kg build` first")
        base = (path / CURRENT).resolve()
    path.mkdir(parents=True, exist_ok=True)
    for leftover in path.glob(f".{CURRENT}.*"):
        leftover.unlink(missing_ok=True)
    stage = Staging(path, base)
    try:
        yield stage
    except BaseException:
        stage.discard()
        raise
    finally:
        _sweep(path)


def _sweep(path: Path) -> None:
    """Remove generations left by builds that died before their swap, and old ones
    no reader pins any more."""
    live = (path / CURRENT).resolve() if (path / CURRENT).is_symlink() else None
    for entry in path.glob("data-*"):
        # resolved both sides: with a relative --store (the default .kg) glob gives
        # relative paths, and the live generation must never look like a leftover
        if entry.resolve() != live and entry.is_dir():
            _remove_unpinned(entry.resolve())


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while millions of short-lived objects
    (quads streamed into a store, rows read out of it) are made: they form next to no
    cycles, reference counting frees them, and the collector's repeated full scans of
    a growing heap cost ~10 s of reading and mapping the whole Anthology and 1.4 s of
    listing all its co-author pairs."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
