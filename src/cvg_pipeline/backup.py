"""`cvg sauvegarder`: a consistent copy of the store, itself a store that `--store` opens.

Under the store's exclusive lock (no ingest can write meanwhile), DuckDB checkpoints (the write-ahead log is
folded into the file), the file is copied byte for byte to a temporary name in the destination folder (mode
0600), flushed to disk, then linked to its final name (never overwriting an existing file), and the copy is
opened and checked. The copy holds the HMAC key, like the store itself: it is never printed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from cvg_pipeline.errors import CvgError
from cvg_pipeline.fr import erreur_systeme

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class Backup:
    path: Path
    snapshots: int
    parcours: int


def backup_store(store: Path, destination: Path, *, wait: float | None = None) -> Backup:
    """Write a consistent copy of `store` at `destination` (a file, or a folder to put it in)."""
    import duckdb

    from cvg_pipeline.store import open_store

    if not store.exists():
        raise CvgError(f"La base « {store} » n'existe pas : il n'y a rien à sauvegarder.")
    if destination.is_dir():
        destination = destination / f"{store.stem}-{date.today().isoformat()}{store.suffix or '.duckdb'}"
    if destination.exists():
        raise CvgError(
            f"« {destination} » existe déjà : choisissez un autre nom (une sauvegarde n'écrase jamais un fichier)."
        )
    if not destination.parent.is_dir():
        raise CvgError(f"Le dossier « {destination.parent} » n'existe pas.")
    tmp = destination.with_name(f".{destination.name}.partiel-{os.getpid()}")
    with open_store(store, read_only=False, wait=wait) as con:
        con.execute("CHECKPOINT")
        counts = _counts(con)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out, store.open("rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            _link_no_clobber(tmp, destination)
        except OSError as exc:
            raise CvgError(f"La sauvegarde vers « {destination} » a échoué : {erreur_systeme(exc)}.") from exc
        finally:
            tmp.unlink(missing_ok=True)
    try:
        check = duckdb.connect(str(destination), read_only=True)
        try:
            copied = _counts(check)
        finally:
            check.close()
    except duckdb.Error as exc:
        destination.unlink(missing_ok=True)
        raise CvgError(f"La copie « {destination} » ne s'ouvre pas ; elle a été supprimée (ce n'est pas une base DuckDB valide).") from exc
    if copied != counts:
        destination.unlink(missing_ok=True)
        raise CvgError(f"La copie « {destination} » ne correspond pas à la base ; elle a été supprimée.")
    return Backup(destination, *counts)


def _counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    snapshots = con.execute("SELECT count(*) FROM snapshots").fetchone()
    parcours = con.execute("SELECT count(*) FROM parcours").fetchone()
    assert snapshots is not None and parcours is not None
    return int(snapshots[0]), int(parcours[0])


def _link_no_clobber(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)  # fails if dst exists: never overwrite
    except FileExistsError as exc:
        raise CvgError(f"« {dst} » existe déjà : choisissez un autre nom.") from exc
    except OSError:
        if dst.exists():
            raise CvgError(f"« {dst} » existe déjà : choisissez un autre nom.") from None
        os.replace(src, dst)  # file systems without hard links
