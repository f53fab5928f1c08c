"""Fill a store directly (no workbook, no ingest) for the tests of indicators and reports.

    path = fill_store(tmp_path / "cvg.duckdb", [
        snapshot(SIRET, date(2023, 12, 31), territoire="lyon", parcours=[parcours(date_entree=date(2023, 1, 1))]),
    ])

Parcours are dicts keyed by canonical column name (schemas/); a missing column is NULL (non renseigné).
`parcours(**overrides)` fills the required columns with valid defaults. Categorical values are canonical
labels (what ingest stores), bools are Python bools or None. Adding a snapshot with the (siret, date_arrete)
of an existing one replaces it and its parcours, as ingest does; the `aci` table follows each ACI's latest
snapshot. Rows go in through Arrow in one statement per snapshot (fast enough for 60,000 parcours).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cvg_pipeline.schema.load import Schema, load_schema
from cvg_pipeline.schema.types import polars_dtype
from cvg_pipeline.store.db import create_store, ddl, parcours_kinds

_ids = itertools.count(1)


def parcours(**values: Any) -> dict[str, Any]:
    """One parcours with valid defaults for the required columns (a CVG parcours, entered 2023-03-01)."""
    row: dict[str, Any] = {
        "id_salarie": None,  # a unique pseudonym is generated when None
        "programme": "CVG",
        "date_entree": date(2023, 3, 1),
        "sexe": "Femme",
        "annee_naissance": 1985,
        "nationalite": "Française",
        "orienteur": "France Travail",
        "duree_sans_emploi": "Moins de 6 mois",
        "logement_entree": "Logement pérenne",
    }
    row.update(values)
    return row


def snapshot(
    siret: str,
    date_arrete: date,
    *,
    parcours: Sequence[Mapping[str, Any]] = (),
    nom: str = "Atelier test",
    territoire: str = "lyon",
    supports: Sequence[str] = ("Réemploi",),
) -> dict[str, Any]:
    return {
        "siret": siret, "date_arrete": date_arrete, "parcours": list(parcours), "nom": nom,
        "territoire": territoire, "supports": list(supports),
    }


def insert_snapshot(con: Any, schema: Schema, snap: Mapping[str, Any]) -> int:
    """Insert one snapshot (a dict from `snapshot()`) and its parcours; returns its snapshot_id."""
    import polars as pl

    siret, date_arrete = snap["siret"], snap["date_arrete"]
    old = con.execute(
        "SELECT snapshot_id FROM snapshots WHERE siret = ? AND date_arrete = ?", [siret, date_arrete]
    ).fetchall()
    for (old_id,) in old:
        con.execute("DELETE FROM parcours WHERE snapshot_id = ?", [old_id])
        con.execute("DELETE FROM snapshots WHERE snapshot_id = ?", [old_id])
    (snapshot_id,) = con.execute("SELECT nextval('snapshot_seq')").fetchone()
    rows = list(snap["parcours"])
    sha = hashlib.sha256(f"{siret}|{date_arrete}|{snapshot_id}".encode()).hexdigest()
    con.execute(
        "INSERT INTO snapshots (snapshot_id, siret, date_arrete, sha256, fichier, ingere_le, nb_lignes, "
        "avertissements, nom, territoire, supports) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [snapshot_id, siret, date_arrete, sha, f"{siret}_{date_arrete}.xlsx", datetime.now(UTC).replace(tzinfo=None),
         len(rows), "[]", snap["nom"], snap["territoire"], snap["supports"]],
    )
    columns = parcours_kinds(schema)
    data: dict[str, list[Any]] = {name: [] for name, _ in columns}
    for row in rows:
        unknown = set(row) - set(data)
        if unknown:
            raise KeyError(f"unknown parcours columns: {sorted(unknown)}")
        for name, _ in columns:
            if name == "snapshot_id":
                value: Any = snapshot_id
            elif name == "siret":
                value = siret
            elif name == "id_salarie":
                value = row.get(name) or hashlib.sha256(f"{siret}|{next(_ids)}".encode()).hexdigest()
            else:
                value = row.get(name)
            data[name].append(value)
    table = pl.DataFrame(data, schema={name: polars_dtype(kind) for name, kind in columns}).to_arrow()
    con.register("storefill_rows", table)
    try:
        names = ", ".join(f'"{name}"' for name, _ in columns)  # by name: a store may hold columns no longer in the schema
        con.execute(f"INSERT INTO parcours ({names}) SELECT {names} FROM storefill_rows")
    finally:
        con.unregister("storefill_rows")
    latest = con.execute("SELECT max(date_arrete) FROM snapshots WHERE siret = ?", [siret]).fetchone()
    if latest is not None and latest[0] == date_arrete:
        con.execute("DELETE FROM aci WHERE siret = ?", [siret])
        con.execute(
            "INSERT INTO aci VALUES (?, ?, ?, ?)", [siret, snap["nom"], snap["territoire"], snap["supports"]]
        )
    return int(snapshot_id)


def fill_store(path: Path, snapshots: Iterable[Mapping[str, Any]], schema: Schema | None = None) -> Path:
    """Create a store at `path` (if missing) and insert `snapshots` in order."""
    import duckdb

    schema = schema or load_schema()
    if not path.exists():
        create_store(path, schema)
    con = duckdb.connect(str(path))
    try:
        for snap in snapshots:
            insert_snapshot(con, schema, snap)
    finally:
        con.close()
    return path


def memory_store(snapshots: Iterable[Mapping[str, Any]] = (), schema: Schema | None = None) -> Any:
    """An in-memory DuckDB connection with the store's tables and `snapshots` inserted (fast, for hypothesis)."""
    import duckdb

    schema = schema or load_schema()
    con = duckdb.connect(":memory:")
    for stmt in ddl(schema):
        con.execute(stmt)
    for snap in snapshots:
        insert_snapshot(con, schema, snap)
    return con


def dumps(value: Any) -> str:
    """Readable JSON for assertion messages."""
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)


def dump_store(store: Path, *, ignore: tuple[str, ...] = ("refus",)) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of a store file, in a stable order (tests compare a store before and after).

    `refus` is left out by default: a refused file is remembered there by design (`cvg suivi`, with no cell
    value: tests/test_suivi.py), and changes nothing else."""
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        tables = [row[0] for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
        ).fetchall()]
        return {
            table: sorted(con.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in tables
            if table not in ignore
        }
    finally:
        con.close()


def scalar(store: Path, sql: str, params: list[object] | None = None) -> object:
    """The one value `sql` returns from a store file, read-only."""
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        row = con.execute(sql, params or []).fetchone()
    finally:
        con.close()
    assert row is not None
    return row[0]


def lock_is_held(store: Path) -> bool:
    """True while some process holds the store's exclusive lock (probe: a non-blocking shared lock)."""
    import fcntl
    import os

    from cvg_pipeline.store.locking import lock_path

    try:
        fd = os.open(lock_path(store), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def query(store: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    """Every row `sql` returns from a store file, read-only."""
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
