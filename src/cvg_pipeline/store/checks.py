"""What is wrong with a store, said plainly: missing, read-only, a stray journal, damaged.

- A store is created only by `cvg init`: every other command refuses a missing store, names the absolute path
  it looked for and how that path was chosen (`--store`, `CVG_STORE` or the default), suggests `cvg init`
  and the nearest existing store (a typo must never create a new store with a new pseudonymisation key).
- DuckDB's refusals are told apart: a healthy store that is read-only for this user (« Permission denied »)
  or that has next to it the write-ahead log of another store (« WAL does not match database file ») is
  never called damaged, and the user is never invited to delete it.
- A block that fails DuckDB's checksum is « endommagée », with what to do: restore the last good backup.
  Writers read every table before writing (`verify_tables`: every block of table data, ~20 ms for 60,000
  parcours) so a damaged store is refused before anything is written, and check that the checkpoint that
  folds their writes into the file succeeds (`checkpoint`).
"""

from __future__ import annotations

import difflib
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from cvg_pipeline.check.errors import CvgError

if TYPE_CHECKING:
    import duckdb

# How the store path of a command was chosen, for the messages (set by `existing_store`).
_chosen: dict[str, str] = {}


def store_source(option: str | Path | None) -> str:
    """« --store », « CVG_STORE » or « défaut »: how `resolve_store_path(option)` chose the path."""
    from cvg_pipeline.store.db import STORE_ENV

    if option:
        return "--store"
    if os.environ.get(STORE_ENV):
        return STORE_ENV
    return "défaut"


def _how(source: str | None) -> str:
    from cvg_pipeline.store.db import DEFAULT_STORE, STORE_ENV

    if source == "--store":
        return "chemin donné par --store"
    if source == STORE_ENV:
        return f"chemin donné par la variable {STORE_ENV}"
    if source == "défaut":
        return f"chemin par défaut : {DEFAULT_STORE} dans le dossier courant, faute de --store et de {STORE_ENV}"
    return ""


def note_source(path: Path, option: str | Path | None) -> None:
    """Remember how the store path of this command was chosen (`resolve_store_path`), for the messages."""
    _chosen[str(path.absolute())] = store_source(option)


def existing_store(option: str | Path | None) -> Path:
    """The store a command reads or writes (`--store`, else `$CVG_STORE`, else `cvg.duckdb`); a missing
    one is a CvgError (exit 1) that says where it was looked for and how to create one. Creates nothing."""
    from cvg_pipeline.store.db import resolve_store_path

    path = resolve_store_path(option)
    if not path.exists() and not path.is_symlink():
        raise CvgError(missing_store_message(path, store_source(option)))
    return path


def missing_store_message(path: Path, source: str | None = None) -> str:
    absolute = path.absolute()
    source = source or _chosen.get(str(absolute))
    how = _how(source)
    text = f"La base « {absolute} » n'existe pas" + (f" ({how})" if how else "") + " ; rien n'a été créé."
    near = nearest_store(absolute)
    if near is not None:
        text += f" Vouliez-vous dire « {near} » ?"
    init = "cvg init" if source in ("défaut", _env_name()) else f"cvg init --store {shlex.quote(str(path))}"
    return (
        text + f" Pour créer une nouvelle base à cet endroit (avec sa propre clé de pseudonymisation), lancez « {init} »."
    )


def _env_name() -> str:
    from cvg_pipeline.store.db import STORE_ENV

    return STORE_ENV


def nearest_store(target: Path, *, limit: int = 200) -> Path | None:
    """The existing `*.duckdb` file whose path is closest to `target` (difflib, a file of the same name
    first), looked for in its folder and sub-folders, its parent folder and the parent's other sub-folders;
    None if none is close."""
    target = target.absolute()
    folder = target.parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent  # a typo in a folder name: look from the nearest folder that exists
    root = folder.parent
    found: list[Path] = []
    for where in (folder, *_subfolders(folder, limit), root, *_subfolders(root, limit)):
        found.extend(_stores_in(where))
        if len(found) >= limit:
            break
    wanted = os.path.relpath(target, root)
    best: tuple[float, Path] | None = None
    for candidate in dict.fromkeys(found):
        if candidate == target:
            continue
        ratio = difflib.SequenceMatcher(None, wanted, os.path.relpath(candidate, root)).ratio()
        if ratio < 0.6 and candidate.name != target.name:
            continue
        score = ratio + (1.0 if candidate.name == target.name else 0.0)
        if best is None or score > best[0]:
            best = (score, candidate)
    return best[1] if best else None


def _subfolders(folder: Path, limit: int) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))[:limit]
    except OSError:
        return []


def _stores_in(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.glob("*.duckdb") if not p.name.startswith(".") and p.is_file())
    except OSError:
        return []


# -- DuckDB's refusals ----------------------------------------------------------------------------------------


def describe_store_error(exc: BaseException) -> str | None:
    """A DuckDB error met while a command read or wrote its store (a damaged block found by a query, the
    file made read-only meanwhile…) in French, or None if it is none of the known cases."""
    module = type(exc).__module__ or ""
    if not module.lstrip("_").startswith("duckdb") or not _chosen:
        return None
    path = Path(next(reversed(_chosen)))
    return open_error_message(path, exc, read_only=False)


def is_damaged(exc: BaseException) -> bool:
    """A block of the file fails DuckDB's checksum (or its header is corrupt)."""
    text = str(exc)
    return "Corrupt database file" in text or "checksum" in text.lower()


def damaged_message(path: Path) -> str:
    wal = path.with_name(path.name + ".wal")
    return (
        f"la base « {path} » est endommagée : une partie du fichier ne correspond plus à sa somme de contrôle "
        "(erreur du disque, ou fichier modifié hors de cvg). Elle ne peut plus être lue ni mise à jour sans "
        "risque. Que faire : mettez de côté ce fichier (et « " + wal.name + " » s'il existe ; ne les "
        "supprimez pas), copiez à sa place la dernière bonne sauvegarde (faite avec « cvg sauvegarder »), "
        "puis réintégrez avec « cvg ingest » les fichiers reçus depuis cette sauvegarde."
    )


def open_error_message(path: Path, exc: BaseException, *, read_only: bool) -> str | None:
    """A French message for a DuckDB refusal to open `path` that is not about the file's content, or about
    damage; None if DuckDB's error is none of the known cases."""
    text = str(exc)
    if "Permission denied" in text:
        what = "lue" if read_only else "ouverte en écriture"
        return (
            f"la base « {path} » ne peut pas être {what} : permission refusée (le fichier est en lecture seule "
            "pour vous, ou son dossier est protégé). La base n'est pas endommagée et n'a pas été modifiée : "
            "demandez les droits d'écriture à qui gère ce dossier, ou travaillez sur une copie."
        )
    if "WAL" in text and "does not match" in text:
        wal = path.with_name(path.name + ".wal")
        return (
            f"à côté de la base « {path} » se trouve un journal « {wal.name} » qui n'est pas le sien (celui "
            "d'une autre base, copié ou restauré à côté d'elle) : DuckDB refuse de l'ouvrir. La base elle-même "
            f"n'est pas en cause et n'a pas été modifiée : déplacez « {wal} » hors de ce dossier (ne supprimez "
            "pas la base), puis relancez la commande."
        )
    if is_damaged(exc):
        return damaged_message(path)
    if "Could not read enough bytes" in text:
        return truncated_message(path)
    return None


def truncated_message(path: Path) -> str:
    """A store file cut short (an interrupted copy, a full disk while copying it)."""
    return (
        f"la base « {path} » est incomplète : le fichier s'arrête avant la fin de ce qu'il contient (copie "
        "interrompue, disque plein pendant une copie…). Elle n'a pas été modifiée. Que faire : mettez ce "
        "fichier de côté (ne le supprimez pas), copiez à sa place la dernière bonne sauvegarde (faite avec "
        "« cvg sauvegarder »), puis réintégrez avec « cvg ingest » les fichiers reçus depuis."
    )


def check_store_path(path: Path, option: str | Path | None) -> None:
    """A store path that cannot be one, whatever the command: a folder (`--store ""` or `--store .` included)
    is a usage error (exit 2); a path under a file (« rapport.pdf/cvg.duckdb ») a CvgError naming that file."""
    from cvg_pipeline.check.errors import UsageError

    how = _how(store_source(option))
    if path.is_dir():
        lead = "--store vide : « . » est un dossier" if str(path) == "." else f"« {path} » est un dossier"
        raise UsageError(
            f"{lead}{f' ({how})' if how and str(path) != '.' else ''} ; donnez le chemin du fichier de la base, "
            f"par exemple « {path / 'cvg.duckdb'} »."
        )
    for parent in path.absolute().parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise CvgError(
                    f"la base « {path} » ne peut pas exister : « {parent} » est un fichier, pas un dossier"
                    f"{f' ({how})' if how else ''}. Vérifiez le chemin."
                )
            break


# -- reading everything, checkpoints ----------------------------------------------------------------------------


def table_digests(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[object, ...]]:
    """For every table: its row count and a sum of hashes of every column, which reads every block of
    table data (and so checks DuckDB's block checksums). Equal digests: the same content."""
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND NOT temporary ORDER BY schema_name, table_name"
    ).fetchall()
    out: dict[str, tuple[object, ...]] = {}
    for schema, table in tables:
        quoted = ".".join('"' + str(name).replace('"', '""') + '"' for name in (schema, table))
        row = con.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {quoted}").fetchone()
        assert row is not None
        out[table if schema == "main" else f"{schema}.{table}"] = tuple(row)
    return out


def verify_tables(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, tuple[object, ...]]:
    """`table_digests`, a damaged store being a French CvgError that says what to do."""
    import duckdb

    try:
        return table_digests(con)
    except duckdb.Error as exc:
        if is_damaged(exc):
            raise CvgError(damaged_message(path)) from exc
        raise


def checkpoint(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Fold the write-ahead log into the store file; a failure is a French CvgError (exit 1), never ignored
    (DuckDB's own checkpoint at close swallows it, and the next checkpoints would fail forever)."""
    import duckdb

    from cvg_pipeline.fr import erreur_systeme

    try:
        con.execute("CHECKPOINT")
    except duckdb.Error as exc:
        if is_damaged(exc):
            raise CvgError(damaged_message(path)) from exc
        text = str(exc)
        wal = path.with_name(path.name + ".wal")
        if "No space left" in text:
            why = "disque plein"
        elif "File too large" in text:
            why = "fichier trop grand pour la limite fixée à ce traitement (ulimit -f)"
        elif "Permission denied" in text:
            why = erreur_systeme(PermissionError(13, "Permission denied"))
        else:
            why = f"erreur DuckDB {type(exc).__name__}"
        raise CvgError(
            f"la base « {path} » n'a pas pu être écrite sur le disque ({why}) : ce qui vient d'être enregistré "
            f"est resté dans son journal « {wal.name} », que DuckDB reprendra à la prochaine ouverture. Ne "
            "déplacez ni ne supprimez ces deux fichiers ; réglez le problème, puis relancez la commande."
        ) from exc
