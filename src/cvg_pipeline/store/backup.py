"""`cvg sauvegarder`: a consistent copy of the store, itself a store that `--store` opens.

Under the store's exclusive lock (no ingest can write meanwhile), every table of the store is read (which
checks DuckDB's block checksums: a damaged store is refused, with what to do, and nothing is written), DuckDB
checkpoints (the write-ahead log is folded into the file), the file is copied byte for byte to a temporary
name in the destination folder (mode 0600), flushed to disk, then linked to its final name (never
overwriting an existing file), and the copy is opened and every table read back: its content must be the
store's (row counts and a hash of every column of every table), else the copy is removed. The copy holds the
HMAC key, like the store itself: it is never printed.

The temporary file `.<destination>.partiel-<pid>` is removed on every exit path (an error, Ctrl-C, SIGTERM);
one left by a run that was killed (SIGKILL, power cut) is removed by the next `cvg sauvegarder` into that
folder.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cvg_pipeline.check.errors import CvgError
from cvg_pipeline.fr import erreur_systeme


@dataclass(frozen=True)
class Backup:
    path: Path
    snapshots: int
    parcours: int


def backup_store(store: Path, destination: Path, *, wait: float | None = None) -> Backup:
    """Write a consistent copy of `store` at `destination` (a file, or a folder to put it in)."""
    from cvg_pipeline.files import duckdb_file, link_new, private_umask, remove_stale, temp_pattern
    from cvg_pipeline.store.checks import checkpoint, missing_store_message, verify_tables
    from cvg_pipeline.store.db import open_store

    if not store.exists():
        raise CvgError(missing_store_message(store) + " Il n'y a rien à sauvegarder.")
    if destination.is_dir():
        destination = destination / f"{store.stem}-{date.today().isoformat()}{store.suffix or '.duckdb'}"
    if destination.exists():
        raise CvgError(
            f"« {destination} » existe déjà : choisissez un autre nom (une sauvegarde n'écrase jamais un fichier)."
        )
    if not destination.parent.is_dir():
        raise CvgError(f"Le dossier « {destination.parent} » n'existe pas.")
    remove_stale(destination.parent, temp_pattern("partiel"), duckdb_file)  # copies of killed runs (they hold the key)
    tmp = destination.with_name(f".{destination.name}.partiel-{os.getpid()}")
    with private_umask(), open_store(store, read_only=False, wait=wait) as con:
        checkpoint(con, store)
        digests = verify_tables(con, store)  # open_store read them already; again after the checkpoint
        counts = _counts(digests)
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out, store.open("rb") as src:
                    shutil.copyfileobj(src, out, 1024 * 1024)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(tmp, 0o600)
                if not link_new(tmp, destination):  # never over a file, even one that appeared meanwhile
                    raise CvgError(f"« {destination} » existe déjà : choisissez un autre nom.")
            except OSError as exc:
                raise CvgError(f"La sauvegarde vers « {destination} » a échoué : {erreur_systeme(exc)}.") from exc
        finally:
            tmp.unlink(missing_ok=True)
    try:
        _check_copy(destination, digests)
    except BaseException:
        destination.unlink(missing_ok=True)  # a copy that was not checked (Ctrl-C, SIGTERM) is not kept
        raise
    return Backup(destination, *counts)


def _check_copy(destination: Path, digests: dict[str, tuple[object, ...]]) -> None:
    """Read every table of the copy back (checksums included); remove a copy that differs or fails."""
    import duckdb

    from cvg_pipeline.store.checks import table_digests

    try:
        check = duckdb.connect(str(destination), read_only=True)
        try:
            copied = table_digests(check)
        finally:
            check.close()
    except duckdb.Error as exc:
        destination.unlink(missing_ok=True)
        raise CvgError(
            f"La copie « {destination} » ne se relit pas ({type(exc).__name__}) ; elle a été supprimée. La base "
            "n'a pas été modifiée : relancez la sauvegarde, si possible vers un autre disque."
        ) from exc
    if copied != digests:
        destination.unlink(missing_ok=True)
        raise CvgError(
            f"La copie « {destination} » ne correspond pas à la base ; elle a été supprimée. La base n'a pas été "
            "modifiée : relancez la sauvegarde, si possible vers un autre disque."
        )


def _counts(digests: dict[str, tuple[object, ...]]) -> tuple[int, int]:
    def rows(table: str) -> int:
        value = digests.get(table, (0,))[0]
        return int(value) if isinstance(value, int) else 0

    return rows("snapshots"), rows("parcours")
