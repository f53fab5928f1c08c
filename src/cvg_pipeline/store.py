"""The embedded DuckDB store: tables, creation, opening.

Tables
- `meta(cle, valeur)`: `schema_version`, `cle_hmac` (hex; never printed nor exported), `cree_le`.
- `aci(siret, nom, territoire, supports)`: one row per ACI, from its latest snapshot.
- `snapshots(snapshot_id, siret, date_arrete, sha256, fichier, ingere_le, nb_lignes, avertissements,
  nom, territoire, supports)`: one row per stored snapshot; (siret, date_arrete) is unique (a new file with
  the same pair replaces the snapshot, its parcours with it).
- `parcours(snapshot_id, siret, <every column of schemas/>)`: `id_salarie` holds HMAC-SHA256(key, SIRET + id)
  in hex, never the raw identifier; categorical columns hold the canonical label; bool columns are
  BOOLEAN with NULL for *non renseigné*.
- `ingest_log(...)`: one row per file seen by `cvg ingest` (codes and counts only, no cell values).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cvg_pipeline.errors import CvgError
from cvg_pipeline.schema import Column, Schema, load_schema

if TYPE_CHECKING:
    import duckdb

STORE_SCHEMA_VERSION = 1
DEFAULT_STORE = "cvg.duckdb"
STORE_ENV = "CVG_STORE"

_SQL_TYPES = {
    "text": "VARCHAR",
    "cat": "VARCHAR",
    "date": "DATE",
    "number": "DOUBLE",
    "int": "INTEGER",
    "bool": "BOOLEAN",
}


def resolve_store_path(option: str | Path | None) -> Path:
    """`--store`, else `$CVG_STORE`, else `cvg.duckdb` in the current directory."""
    if option:
        return Path(option)
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def sql_type(column: Column) -> str:
    return _SQL_TYPES[column.type]


def parcours_columns(schema: Schema) -> list[tuple[str, str]]:
    """(name, SQL type) of the parcours table, in order."""
    return [("snapshot_id", "INTEGER"), ("siret", "VARCHAR")] + [
        (c.name, sql_type(c)) for c in schema.columns
    ]


def ddl(schema: Schema) -> list[str]:
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
        """CREATE TABLE IF NOT EXISTS snapshots (
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
    ]


def create_store(path: Path, schema: Schema | None = None) -> None:
    """Create a new store file (mode 0600) with its tables and a fresh random HMAC key."""
    import duckdb

    schema = schema or load_schema()
    path.parent.mkdir(parents=True, exist_ok=True)
    old_umask = os.umask(0o077)
    try:
        con = duckdb.connect(str(path))
    finally:
        os.umask(old_umask)
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
    finally:
        con.close()
    os.chmod(path, 0o600)


@contextmanager
def open_store(path: Path, *, read_only: bool, create: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store. A missing store is created when `create`, else a French CvgError."""
    import duckdb

    if not path.exists():
        if not create:
            raise CvgError(
                f"La base « {path} » n'existe pas : lancez d'abord « cvg ingest » pour y intégrer des fichiers."
            )
        create_store(path)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            from cvg_pipeline.errors import StoreBusyError

            raise StoreBusyError(
                f"La base « {path} » est utilisée par un autre traitement : réessayez dans un instant."
            ) from exc
        raise CvgError(f"La base « {path} » ne peut pas être ouverte : {exc}") from exc
    except duckdb.Error as exc:
        raise CvgError(f"La base « {path} » ne peut pas être ouverte : {exc}") from exc
    try:
        yield con
    finally:
        con.close()
