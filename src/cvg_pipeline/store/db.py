"""The embedded DuckDB store: tables, creation, opening.

Tables
- `meta(cle, valeur)`: `schema_version`, `cle_hmac` (hex; never printed nor exported), `cree_le`.
- `aci(siret, nom, territoire, supports)`: one row per ACI, from its latest snapshot.
- `snapshots(snapshot_id, siret, date_arrete, sha256, fichier, ingere_le, nb_lignes, avertissements,
  nom, territoire, supports, version_pseudonymes)`: one row per stored snapshot; (siret, date_arrete) is
  unique (a new file with the same pair replaces the snapshot, its parcours with it); `version_pseudonymes`:
  how its pseudonyms were made (identifiers.PSEUDONYM_VERSION; 1: before identifiers were normalised).
- `parcours(snapshot_id, siret, <every column of schemas/>)`: `id_salarie` holds HMAC-SHA256(key, SIRET + id)
  in hex of the normalised identifier (identifiers.py), never the raw identifier; categorical columns hold
  the canonical label; bool columns are BOOLEAN with NULL for *non renseigné*.
- `ingest_log(...)`: one row per file seen by `cvg ingest` (codes and counts only, no cell values).
- `refus(...)`, `colonnes_fichier(snapshot_id, colonnes)`: the refused files and the header of each stored
  snapshot, for `cvg suivi` (ingest/suivi.py; no cell value).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cvg_pipeline.check.errors import CvgError
from cvg_pipeline.store import index as store_index

if TYPE_CHECKING:
    import duckdb

    from cvg_pipeline.schema.load import ColumnType, Schema

STORE_SCHEMA_VERSION = 3
DEFAULT_STORE = "cvg.duckdb"
STORE_ENV = "CVG_STORE"

def resolve_store_path(option: str | Path | None) -> Path:
    """`--store`, else `$CVG_STORE`, else `cvg.duckdb` in the current directory (how, for the messages:
    store.checks.note_source)."""
    from cvg_pipeline.store.checks import check_store_path, note_source

    if option is not None and not str(option).strip():
        from cvg_pipeline.check.errors import UsageError

        raise UsageError("--store est vide : donnez le chemin du fichier de la base (par exemple cvg.duckdb).")
    path = Path(option) if option else Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)
    note_source(path, option)
    check_store_path(path, option)
    return path


def parcours_kinds(schema: Schema) -> list[tuple[str, ColumnType]]:
    """(name, kind) of the parcours table, in order: the two keys, then every column of the schema."""
    keys: list[tuple[str, ColumnType]] = [("snapshot_id", "int"), ("siret", "text")]
    return keys + [(c.name, c.type) for c in schema.columns]


def parcours_columns(schema: Schema) -> list[tuple[str, str]]:
    """(name, SQL type) of the parcours table, in order (types: schema/types.py)."""
    from cvg_pipeline.schema.types import sql_type

    return [(name, sql_type(kind)) for name, kind in parcours_kinds(schema)]


def ddl(schema: Schema) -> list[str]:
    from cvg_pipeline.read.identifiers import PSEUDONYM_VERSION

    parcours = ",\n    ".join(f"{name} {typ}" for name, typ in parcours_columns(schema))
    return [
        "CREATE TABLE IF NOT EXISTS meta (cle VARCHAR PRIMARY KEY, valeur VARCHAR NOT NULL)",
        """CREATE TABLE IF NOT EXISTS aci (
    siret VARCHAR PRIMARY KEY,
    nom VARCHAR NOT NULL,
    territoire VARCHAR NOT NULL,
    supports VARCHAR[] NOT NULL
)""",
        "CREATE SEQUENCE IF NOT EXISTS snapshot_seq START 1",
        f"""CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id INTEGER PRIMARY KEY,
    siret VARCHAR NOT NULL,
    date_arrete DATE NOT NULL,
    sha256 VARCHAR NOT NULL UNIQUE,
    fichier VARCHAR NOT NULL,
    ingere_le TIMESTAMP NOT NULL,
    nb_lignes INTEGER NOT NULL,
    avertissements VARCHAR NOT NULL,
    nom VARCHAR NOT NULL,
    territoire VARCHAR NOT NULL,
    supports VARCHAR[] NOT NULL,
    version_pseudonymes INTEGER NOT NULL DEFAULT {PSEUDONYM_VERSION},
    UNIQUE (siret, date_arrete)
)""",
        f"CREATE TABLE IF NOT EXISTS parcours (\n    {parcours}\n)",
        "CREATE SEQUENCE IF NOT EXISTS ingest_log_seq START 1",
        """CREATE TABLE IF NOT EXISTS ingest_log (
    log_id INTEGER PRIMARY KEY,
    ingere_le TIMESTAMP NOT NULL,
    fichier VARCHAR NOT NULL,
    sha256 VARCHAR,
    siret VARCHAR,
    date_arrete DATE,
    statut VARCHAR NOT NULL,
    nb_erreurs INTEGER NOT NULL,
    nb_avertissements INTEGER NOT NULL,
    codes VARCHAR NOT NULL
)""",
        *suivi_ddl(),
    ]


def suivi_ddl() -> list[str]:
    from cvg_pipeline.ingest.suivi import DDL

    return list(DDL)


def create_store(path: Path, schema: Schema | None = None) -> None:
    """Create a new store file (mode 0600) with its tables and a fresh random HMAC key.

    Built under a temporary name and linked into place: a process killed while creating leaves no
    half-made store under `path` (its temporary file is removed by the next creation in that folder), and
    an existing file is never replaced (CvgError: `cvg init` refuses a store that exists).
    """
    from cvg_pipeline.files import private_umask
    from cvg_pipeline.schema.load import load_schema

    schema = schema or load_schema()
    exists = f"« {path.absolute()} » existe déjà : rien n'a été modifié (une base n'est jamais remplacée)."
    if path.exists() or path.is_symlink():
        raise CvgError(exists)
    with (
        private_umask(),
        build_then_link(
            path,
            exists,
            lambda why: f"la base « {path.absolute()} » n'a pas pu être créée ({why}) : vérifiez le chemin et les "
            "droits d'écriture sur son dossier ; rien n'a été créé.",
        ) as tmp,
    ):
        _create_tables(tmp, schema)


@contextmanager
def build_then_link(path: Path, exists: str, failure: Callable[[str], str]) -> Iterator[Path]:
    """Yield a temporary name next to `path` for a DuckDB file to build; link it to `path` when the block ends.

    A process killed meanwhile leaves no half-made file under `path` (a temporary file left by a killed run
    is removed by the next one in that folder); an existing `path` is never replaced (CvgError `exists`);
    an OSError or DuckDB error becomes CvgError(failure(why)). The temporary file is always removed.
    """
    import duckdb

    from cvg_pipeline.files import duckdb_file, link_new, remove_stale, temp_pattern
    from cvg_pipeline.fr import erreur_systeme

    tmp = path.with_name(f".{path.name}.creation-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(path.parent, temp_pattern("creation"), duckdb_file)
        yield tmp
        os.chmod(tmp, 0o600)
        if not link_new(tmp, path):  # two runs at once make one file; never over an existing name
            raise CvgError(exists)
    except (OSError, duckdb.Error) as exc:
        why = erreur_systeme(exc) if isinstance(exc, OSError) else _duckdb_os_error(exc)
        raise CvgError(failure(why)) from exc
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)


def _duckdb_os_error(exc: Exception) -> str:
    text = str(exc)
    for needle, said in (("Permission denied", "droits insuffisants"), ("No space left", "disque plein")):
        if needle in text:
            return said
    return f"erreur DuckDB {type(exc).__name__}"


def _create_tables(tmp: Path, schema: Schema) -> None:
    import duckdb

    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute("BEGIN TRANSACTION")
        for stmt in ddl(schema):
            con.execute(stmt)
        con.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ["schema_version", str(STORE_SCHEMA_VERSION)],
                ["cle_hmac", secrets.token_hex(32)],
                ["cree_le", datetime.now(UTC).isoformat(timespec="seconds")],
            ],
        )
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    finally:
        con.close()


@contextmanager
def open_store(
    path: Path, *, read_only: bool, create: bool = False, wait: float | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store under its inter-process lock (store/locking.py): shared for readers, exclusive for writers.

    A missing store is created when `create` (tests; the commands create a store only with `cvg init`),
    else a French CvgError that says where it was looked for. A busy store is waited for up to
    `wait` seconds (None: `--attente`, default 60), then StoreBusyError. A store written by a newer version
    of cvg is refused; an older one is migrated in one transaction (under the exclusive lock) first.
    A writer reads every table first (a damaged store is refused before anything is written) and checks
    the checkpoint that folds its writes into the file (store/checks.py). Files are created 0600.
    """
    from contextlib import ExitStack

    from cvg_pipeline.files import private_umask
    from cvg_pipeline.store.checks import checkpoint, missing_store_message, verify_tables
    from cvg_pipeline.store.columns import grow_parcours, missing_columns
    from cvg_pipeline.store.locking import store_lock

    if not path.exists() and not create:
        raise CvgError(missing_store_message(path))
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    if read_only and not path.exists():
        with store_lock(path, exclusive=True, wait=wait):
            if not path.exists():
                create_store(path)
    with private_umask(), ExitStack() as stack:  # 0600: DuckDB's .wal holds the run's rows (the key in a migration)
        stack.enter_context(store_lock(path, exclusive=not read_only, wait=wait))
        if not read_only:
            store_index.discard(path)  # rewritten below once this writer has closed the store
        if not path.exists():
            create_store(path)
        con = _connect(path, read_only)
        stack.callback(con.close)
        version = store_version(con, path)
        if not read_only:
            verify_tables(con, path)  # before anything is written, a migration included
        if version < STORE_SCHEMA_VERSION or missing_columns(con):  # store_columns.py: the schema grew
            if read_only:
                stack.close()  # the migration needs the exclusive lock and a read-write connection
                with store_lock(path, exclusive=True, wait=wait):
                    rw = _connect(path, False)
                    try:
                        verify_tables(rw, path)
                        migrate(rw, path)
                        grow_parcours(rw, path)
                        checkpoint(rw, path)
                    finally:
                        rw.close()
                stack.enter_context(store_lock(path, exclusive=False, wait=wait))
                con = _connect(path, True)
                stack.callback(con.close)
                store_version(con, path)
            else:
                migrate(con, path)
                grow_parcours(con, path)
        yield con
        if not read_only:  # still under the exclusive lock: the index describes the store as closed
            checkpoint(con, path)
            known = known_hashes(con)
            con.close()
            store_index.write(path, known)


def known_hashes(con: duckdb.DuckDBPyConnection) -> store_index.Known:
    """sha256 of every stored snapshot's file → (nom, siret, territoire, date_arrete, nb_lignes)."""
    rows = con.execute("SELECT sha256, nom, siret, territoire, date_arrete, nb_lignes FROM snapshots").fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    import duckdb

    from cvg_pipeline.store.checks import open_error_message

    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower() and "Permission denied" not in str(exc):
            from cvg_pipeline.check.errors import StoreBusyError
            from cvg_pipeline.store.locking import busy_message

            raise StoreBusyError(busy_message(path)) from exc
        said = open_error_message(path, exc, read_only=read_only)
        raise CvgError(said or f"la base « {path} » ne peut pas être ouverte : {_why_not_a_store(path)}.") from exc
    except duckdb.Error as exc:
        said = open_error_message(path, exc, read_only=read_only)
        raise CvgError(said or f"la base « {path} » ne peut pas être ouverte : {_why_not_a_store(path)}.") from exc


def _why_not_a_store(path: Path) -> str:
    if path.is_dir():
        return "c'est un dossier, pas un fichier de base"
    return "ce n'est pas une base cvg valide (fichier endommagé ou d'un autre type)"


# -- schema version and migrations --------------------------------------------------------------------------
# MIGRATIONS[v] turns a store of version v into version v + 1. They run in order, all in one transaction,
# under the exclusive lock: a failure leaves the store exactly as it was. Version 0 is a store from before
# versioning (no `schema_version` in meta): its migration creates whatever table is missing.


def _migrate_0_to_1(con: duckdb.DuckDBPyConnection) -> None:
    from cvg_pipeline.schema.load import load_schema

    for stmt in ddl(load_schema()):
        con.execute(stmt)  # IF NOT EXISTS: only what is missing
    if not con.execute("SELECT 1 FROM meta WHERE cle = 'cle_hmac'").fetchall():
        con.execute("INSERT INTO meta VALUES ('cle_hmac', ?)", [secrets.token_hex(32)])


def _migrate_suivi(con: duckdb.DuckDBPyConnection) -> None:
    """1 → 2: the tables of `cvg suivi` (refused files, each snapshot's header). Snapshots stored before have
    no header recorded: their completeness stays unknown rather than guessed."""
    from cvg_pipeline.ingest.suivi import create_tables

    create_tables(con)


def _migrate_pseudonym_version(con: duckdb.DuckDBPyConnection) -> None:
    """2 → 3: identifiers are normalised before they are pseudonymised (identifiers.py), which changes the
    pseudonym of many of them (« AB12 » is now « ab12 »). The raw identifiers are not stored, so the rows
    already stored cannot be given their new pseudonyms: each snapshot records instead the version of the
    pseudonyms it holds (`version_pseudonymes`), 1 for those stored before. Indicators read each ACI's
    latest snapshot alone, whose pseudonyms are all of one version; the next file of the ACI (cumulative)
    brings every parcours again under the new version. Only the comparison of a new file with an older
    snapshot (`fichier-non-cumulatif`) needs both on one version: across versions it is not made, and the
    file says so (`cumul-non-verifie`, ingest/run.py)."""
    from cvg_pipeline.read.identifiers import PSEUDONYM_VERSION

    has = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
        "AND table_name = 'snapshots' AND column_name = 'version_pseudonymes'"
    ).fetchone()
    if not (has and has[0]):  # (a store of version 0 got the column with the table from _migrate_0_to_1)
        con.execute("ALTER TABLE snapshots ADD COLUMN version_pseudonymes INTEGER DEFAULT 1")
    con.execute(f"ALTER TABLE snapshots ALTER COLUMN version_pseudonymes SET DEFAULT {PSEUDONYM_VERSION}")
    con.execute("ALTER TABLE snapshots ALTER COLUMN version_pseudonymes SET NOT NULL")


MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {
    0: _migrate_0_to_1,
    1: _migrate_suivi,
    2: _migrate_pseudonym_version,
}


def store_version(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """The schema version recorded in `meta`; a store from a newer cvg is refused (CvgError)."""
    import duckdb

    try:
        rows = con.execute("SELECT valeur FROM meta WHERE cle = 'schema_version'").fetchall()
    except duckdb.CatalogException as exc:
        raise CvgError(f"Le fichier « {path} » n'est pas une base cvg (table « meta » absente).") from exc
    try:
        version = int(rows[0][0]) if rows else 0
    except ValueError as exc:
        raise CvgError(f"La base « {path} » a une version de schéma illisible ({rows[0][0]!r}).") from exc
    if version > STORE_SCHEMA_VERSION:
        raise CvgError(
            f"La base « {path} » a été écrite par une version plus récente de cvg (schéma {version}, cette "
            f"version connaît le schéma {STORE_SCHEMA_VERSION}) : mettez cvg à jour pour l'ouvrir. "
            "La base n'a pas été modifiée."
        )
    return version


def migrate(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Bring the store to STORE_SCHEMA_VERSION in one transaction; return the version it had."""
    version = store_version(con, path)
    if version >= STORE_SCHEMA_VERSION:
        return version
    failure = (
        f"La mise à jour de la base « {path} » (schéma {version} → {STORE_SCHEMA_VERSION}) a échoué ; "
        "la base est restée telle quelle"
    )
    with transaction(con, failure):
        for v in range(version, STORE_SCHEMA_VERSION):
            MIGRATIONS[v](con)
        con.execute("DELETE FROM meta WHERE cle = 'schema_version'")
        con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(STORE_SCHEMA_VERSION)])
    return version


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, failure: str) -> Iterator[None]:
    """Run the block in one transaction; on any error roll back and raise CvgError `failure (ErrorType).`."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except Exception as exc:
        con.execute("ROLLBACK")
        raise CvgError(f"{failure} ({type(exc).__name__}).") from exc
