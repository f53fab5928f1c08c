"""The store's `parcours` table follows the schema file as it grows.

The schema is meant to grow: a new column is one entry in `schemas/reporting.toml` (or in the file named by
`$CVG_SCHEMA`). A store made before holds no such column; opening it adds the column, NULL (*non
renseigné*) for the parcours already stored, in one transaction under the exclusive lock, and says so in one
line on stderr. A column the schema no longer has stays stored, untouched, and is ignored: every statement
on `parcours` names its columns from the schema (the insert of ingest/run.py, the relation of indicators/compute.py), so
a stored column never stands in for one the code derives under the same name.

A column whose type changed in the schema is not converted: it keeps the type it was stored with.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

    from cvg_pipeline.schema.load import Schema


def _stored_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = 'parcours'"
    ).fetchall()
    return {str(name).lower() for (name,) in rows}


def missing_columns(con: duckdb.DuckDBPyConnection, schema: Schema | None = None) -> list[tuple[str, str]]:
    """(name, SQL type) of the schema's parcours columns that the store's table lacks, in schema order.

    Empty when the store has no `parcours` table at all (a store from before versioning: its migration
    creates the whole table)."""
    from cvg_pipeline.schema.load import load_schema
    from cvg_pipeline.store.db import parcours_columns

    stored = _stored_columns(con)
    if not stored:
        return []
    return [(name, typ) for name, typ in parcours_columns(schema or load_schema()) if name.lower() not in stored]


def grow_parcours(con: duckdb.DuckDBPyConnection, path: Path, schema: Schema | None = None) -> list[str]:
    """Add the missing columns (NULL for the stored rows) in one transaction; return their names.

    A failure leaves the store as it was (CvgError, in French). Nothing is printed when nothing is missing.
    """
    missing = missing_columns(con, schema)
    if not missing:
        return []
    from cvg_pipeline.store.db import transaction

    failure = (
        f"La base « {path} » n'a pas pu recevoir les nouvelles colonnes du schéma "
        f"({', '.join(name for name, _ in missing)}) ; elle est restée telle quelle"
    )
    with transaction(con, failure):
        for name, typ in missing:
            con.execute(f'ALTER TABLE parcours ADD COLUMN "{name}" {typ}')
        stored = con.execute("SELECT count(*) FROM parcours").fetchone()
    names = [name for name, _ in missing]
    sys.stderr.write(growth_message(path, names, int(stored[0]) if stored else 0) + "\n")
    sys.stderr.flush()
    return names


def growth_message(path: Path, names: list[str], stored: int) -> str:
    """One French line: which columns were added, and that the parcours already stored leave them empty."""
    from cvg_pipeline import fr

    quoted = fr.liste([f"« {name} »" for name in names])
    one = len(names) == 1
    added = f"colonne {quoted} ajoutée" if one else f"colonnes {quoted} ajoutées"
    if stored == 0:
        rows = "aucun parcours n'était encore enregistré"
    elif stored == 1:
        rows = f"{'vide' if one else 'vides'} pour le parcours déjà enregistré"
    else:
        rows = f"{'vide' if one else 'vides'} pour les {fr.entier(stored)} parcours déjà enregistrés"
    return f"Base « {path} » : {added} pour suivre le schéma ({rows})."
