"""The store's file index: the sha256 of every stored snapshot's file, readable without opening DuckDB.

`cvg ingest` of files already in the store must cost little more than hashing them ("hash first, parse
never"). Opening DuckDB costs ~0.2 s (import and connection) on its own, more than hashing 700 workbooks, so
every writer leaves next to the store, in `<base>.empreintes`, what `known_hashes` would answer: for each
stored snapshot, its file's sha256 → structure name, SIRET, territoire slug, Date d'arrêté, number of rows.
Nothing personal: the same facts as the `snapshots` table, which the reports name anyway.

It also records the territoire names of the schema file (and that file's size and times), which the table
of `cvg ingest` shows next to every file.

The index is trusted only if it describes the store file as it is now: it records the store's inode, size,
modification and status-change times (ctime cannot be set by a user: any copy, rename, restore or write
changes it) and there must be no write-ahead log. Otherwise it is ignored and the store itself is read, so a
missing, stale or damaged index only costs the time it was meant to save. It is removed before a writer
opens the store and rewritten after the writer has closed it, both under the store's exclusive lock
(store/locking.py), and written under a temporary name then renamed, mode 0600.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

INDEX_VERSION = 1
SUFFIX = ".empreintes"

# sha256 → (nom, siret, territoire, date_arrete, nb_lignes), as `store.known_hashes` returns them.
Known = dict[str, tuple[Any, ...]]


def index_path(store: Path) -> Path:
    return store.with_name(store.name + SUFFIX)


def _stamp(store: Path) -> list[int] | None:
    """What identifies the store file's current content; None if it cannot be trusted (absent, WAL)."""
    try:
        st = os.stat(store)
    except OSError:
        return None
    if os.path.exists(str(store) + ".wal"):
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def load(store: Path) -> tuple[Known, dict[str, str] | None] | None:
    """The index of `store` if it describes the store as it is now (else None), and the territoire names
    (slug → name) recorded with it if the schema file they were read from is unchanged (else None: read
    them from the schema). Call under the store lock."""
    stamp = _stamp(store)
    if stamp is None:
        return None
    try:
        payload = json.loads(index_path(store).read_text(encoding="utf-8"))
        if payload.get("version") != INDEX_VERSION or payload.get("base") != stamp:
            return None
        known = {
            sha: (nom, siret, territoire, date.fromisoformat(arrete) if arrete else None, lignes)
            for sha, (nom, siret, territoire, arrete, lignes) in payload["fichiers"].items()
        }
        names = payload.get("territoires")
        if not isinstance(names, dict) or payload.get("schema") != _schema_stamp():
            names = None
        return known, names
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _schema_stamp() -> list[object] | None:
    """Which schema file the names come from, and its version on disk (the schema can be edited)."""
    from cvg_pipeline.schema.file import schema_path

    path = schema_path()
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def discard(store: Path) -> None:
    """Remove the index (a writer is about to change the store). Call under the exclusive store lock."""
    with contextlib.suppress(OSError):  # if it stays, its stamp no longer matches the changed store
        index_path(store).unlink(missing_ok=True)


def write(store: Path, known: Mapping[str, tuple[Any, ...]]) -> None:
    """Record `known` (the store's snapshots) for the store as it is now, after its connection is closed.

    Best effort: the index only saves time, so a failure to write it (read-only folder, full disk) is
    silent and leaves no index behind.
    """
    stamp = _stamp(store)
    target = index_path(store)
    if stamp is None:
        discard(store)
        return
    from cvg_pipeline.schema.file import territoire_names

    try:
        names: dict[str, str] | None = territoire_names()
    except (OSError, ValueError, KeyError, TypeError):
        names = None
    payload = {
        "version": INDEX_VERSION,
        "base": stamp,
        # the table of `cvg ingest` shows territoire names: recorded here, a run of stored files needs no schema
        "schema": _schema_stamp() if names is not None else None,
        "territoires": names,
        "fichiers": {
            sha: [nom, siret, territoire, arrete.isoformat() if arrete else None, lignes]
            for sha, (nom, siret, territoire, arrete, lignes) in known.items()
        },
    }
    for leftover in target.parent.glob(f".{target.name}.*"):  # of a writer killed while writing it
        with contextlib.suppress(OSError):
            leftover.unlink()
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
        discard(store)
