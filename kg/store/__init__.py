"""Where kg keeps its graphs: one interface, two stores.

`open_store(spec)` is the one way in: a directory gives a `LocalStore` (Oxigraph on
disk, in generations swapped atomically: kg.store.local), a server URL a
`RemoteStore` (any SPARQL 1.1 Query + Update + Graph Store Protocol server:
kg.store.remote). Both are a `Store` (kg.store.protocol): pyoxigraph's read API, a
dump, an entity's description, and writes that show whole or not at all.

The modules, each importing only those after it: `remote`, `local`, `protocol`.
"""

from __future__ import annotations

import os

from kg.errors import StoreError
from kg.store.local import (
    CURRENT,
    HOLDER,
    LOCK,
    LocalStore,
    Staging,
    bulk_extend,
    collector_paused,
    exists,
    staging,
    writer_lock,
)
from kg.store.protocol import DEFAULT_STORE, Store, describe_quads, in_process, is_url, store_path

__all__ = ["CURRENT", "DEFAULT_STORE", "HOLDER", "LOCK", "LocalStore", "Staging", "Store", "StoreError",
           "bulk_extend", "collector_paused", "describe_quads", "exists", "in_process", "is_url",
           "open_store", "staging", "store_path", "writer_lock"]


def open_store(spec: str | os.PathLike | None = None, *, must_exist: bool = True) -> Store:
    """The store a --store value names (None: KG_STORE, else .kg here): a LocalStore for
    a directory (its live generation read-only, pinned for this process), a
    kg.store.remote.RemoteStore for a server URL. With `must_exist` (reading), a
    StoreError says there is no store; without it (a build's target) there need not be."""
    path = store_path(spec)
    if is_url(path):
        from kg.store.remote import RemoteStore, open_remote  # not for the many embedded uses
        return open_remote(path) if must_exist else RemoteStore.from_spec(path)
    store = LocalStore(path)
    if must_exist:
        store.native  # noqa: B018 - opened now: no store is an error here, not at a first read
    return store
