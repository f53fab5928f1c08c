"""`cvg extraire`: a store holding one territoire's data only, without the pseudonymisation key.

A territoire's coordinator who wants to run `cvg report --territoire lyon` or `cvg indicators` needs none of
the other territoires' parcours, and must not hold the HMAC key (with it, a known identifier's pseudonym can
be recomputed). The extract holds:

- `aci`: the ACI that have a snapshot of that territoire;
- `snapshots`, `parcours`, `colonnes_fichier`: the snapshots whose own territoire is that one (every one of
  them, the history included) and their rows;
- `refus`: the refused files of those ACI or of that territoire; `ingest_log`: the lines of those snapshots'
  files;
- `meta`: `schema_version`, `cree_le` (the extract's), `extrait_territoire` (the slug: it marks the store as
  an extract), `extrait_le`, `extrait_de` (the national store's `cree_le`) — and no `cle_hmac`.

Without the key the extract cannot ingest: `ingest.hmac_key` refuses with `EXTRACT_MESSAGE`. Every read
command opens it like any store, and its territoire report is the national store's, byte for byte.

Decision: an ACI that moved from one territoire to another keeps, in each extract, the snapshots it sent
while it belonged to it; a report at a date after it left (`--au`) then counts it in the extract (its latest
snapshot there) and not in the national store's territoire report.

Built like `store.create_store`: under a temporary name of the tool's own naming in the destination's folder
(`.<name>.creation-<pid>`, removed on every exit path, or by the next creation in that folder if the process
was killed), mode 0600, then linked to its name, never over an existing file.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cvg_pipeline.check.errors import CvgError

if TYPE_CHECKING:
    import duckdb

    from cvg_pipeline.schema.load import Schema

EXTRACT_KEY = "extrait_territoire"  # meta key marking a store as an extract (its value: the territoire slug)
EXTRACT_MESSAGE = (
    "cette base est un extrait sans clé de pseudonymisation : elle ne peut pas intégrer de fichiers ; "
    "intégrez dans la base nationale."
)


@dataclass(frozen=True)
class Extract:
    path: Path
    territoire: str
    aci: int
    snapshots: int
    parcours: int


def _exists_message(path: Path) -> str:
    return (
        f"« {path} » existe déjà : rien n'a été écrit (un extrait n'écrase jamais un fichier) ; "
        "choisissez un autre nom."
    )


def extract_territoire(store: Path, territoire: str, destination: Path, *, schema: Schema | None = None) -> Extract:
    """Write the extract of `territoire` (slug, name or synonym) of `store` at `destination` (a new file)."""
    from cvg_pipeline.files import private_umask
    from cvg_pipeline.schema.load import load_schema
    from cvg_pipeline.schema.territoires import resolve_territoire
    from cvg_pipeline.store.checks import missing_store_message
    from cvg_pipeline.store.db import build_then_link, open_store

    schema = schema or load_schema()
    slug = resolve_territoire(schema, territoire)
    if not store.exists():
        raise CvgError(missing_store_message(store))
    if destination.exists() or destination.is_symlink():
        raise CvgError(_exists_message(destination))
    if not destination.parent.is_dir():
        raise CvgError(f"le dossier « {destination.parent} » n'existe pas : rien n'a été écrit.")
    with contextlib.suppress(OSError):
        if destination.resolve() == store.resolve():
            raise CvgError(_exists_message(destination))

    def failure(why: str) -> str:
        return (
            f"l'extrait « {destination} » n'a pas pu être écrit ({why}) : vérifiez le chemin et les droits "
            "d'écriture sur son dossier ; rien n'a été écrit."
        )

    with (
        private_umask(),
        build_then_link(destination, _exists_message(destination), failure) as tmp,
        open_store(store, read_only=True) as src,  # shared lock; an older store is migrated first
    ):
        ids = _snapshot_ids(src, schema, slug)
        if not ids:
            raise CvgError(f"la base « {store} » ne contient aucun fichier du territoire « {slug} » : rien n'a été écrit.")
        counts = _build(store, tmp, schema, slug, ids)
    return Extract(destination, slug, *counts)


def _ids_of(con: duckdb.DuckDBPyConnection, schema: Schema, slug: str, table: str, column: str) -> list[int]:
    """The rows of `table` whose territoire (as stored: a slug, a name or a synonym) is `slug`."""
    out = []
    for row_id, territoire in con.execute(f"SELECT {column}, territoire FROM {table}").fetchall():
        found = schema.match_territoire(territoire) if territoire is not None else None
        if (found.slug if found else territoire) == slug:
            out.append(int(row_id))
    return sorted(out)


def _snapshot_ids(con: duckdb.DuckDBPyConnection, schema: Schema, slug: str) -> list[int]:
    """The snapshots whose own territoire is `slug`."""
    return _ids_of(con, schema, slug, "snapshots", "snapshot_id")


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND table_name = ? "
        "ORDER BY column_index",
        [table],
    ).fetchall()
    return [str(r[0]) for r in rows]


def _build(store: Path, tmp: Path, schema: Schema, slug: str, ids: list[int]) -> tuple[int, int, int]:
    """Create the extract's tables in `tmp` and copy the territoire's rows into them (one transaction)."""
    import duckdb

    from cvg_pipeline.store.db import STORE_SCHEMA_VERSION, ddl

    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"ATTACH '{_sql_path(store)}' AS src (READ_ONLY)")
        con.execute("BEGIN TRANSACTION")
        # parcours: the national store's columns as they are (a grown schema included), no row yet
        con.execute("CREATE TABLE parcours AS SELECT * FROM src.main.parcours WHERE false")
        for stmt in ddl(schema):
            con.execute(stmt)  # IF NOT EXISTS: every other table, with its constraints
        con.execute("CREATE TEMP TABLE keep AS SELECT unnest(?::INTEGER[]) AS snapshot_id", [ids])
        refus = _ids_of(con, schema, slug, "src.main.refus", "refus_id")
        selections = {
            "snapshots": "snapshot_id IN (SELECT snapshot_id FROM keep)",
            "parcours": "snapshot_id IN (SELECT snapshot_id FROM keep)",
            "colonnes_fichier": "snapshot_id IN (SELECT snapshot_id FROM keep)",
            "aci": "siret IN (SELECT siret FROM main.snapshots)",
            "ingest_log": "sha256 IN (SELECT sha256 FROM main.snapshots)",
            "refus": "siret IN (SELECT siret FROM main.snapshots) OR refus_id IN (SELECT unnest(?::INTEGER[]))",
        }
        for table, where in selections.items():  # in this order: aci, ingest_log and refus read snapshots
            cols = ", ".join(f'"{c}"' for c in _columns(con, table))
            params = [refus] if "?" in where else []
            con.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM src.main.{table} WHERE {where}", params)
        for seq, table, column in (("snapshot_seq", "snapshots", "snapshot_id"), ("ingest_log_seq", "ingest_log", "log_id"),
                                   ("refus_seq", "refus", "refus_id")):
            _advance_sequence(con, seq, table, column)
        source = con.execute("SELECT valeur FROM src.main.meta WHERE cle = 'cree_le'").fetchone()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        con.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ["schema_version", str(STORE_SCHEMA_VERSION)],
                ["cree_le", now],
                [EXTRACT_KEY, slug],
                ["extrait_le", now],
                ["extrait_de", str(source[0]) if source else "inconnue"],
            ],
        )
        con.execute("COMMIT")
        con.execute("DETACH src")
        con.execute("DROP TABLE keep")
        con.execute("CHECKPOINT")
        counts = []
        for table in ("aci", "snapshots", "parcours"):
            row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
            counts.append(int(row[0]) if row else 0)
        if con.execute("SELECT count(*) FROM meta WHERE cle = 'cle_hmac'").fetchone() != (0,):
            raise CvgError("l'extrait contiendrait la clé de pseudonymisation : rien n'a été écrit.")
        return counts[0], counts[1], counts[2]
    finally:
        con.close()


def _advance_sequence(con: duckdb.DuckDBPyConnection, seq: str, table: str, column: str) -> None:
    """Restart `seq` after the largest id copied (a sequence cannot be altered: dropped and recreated)."""
    row = con.execute(f"SELECT coalesce(max({column}), 0) FROM main.{table}").fetchone()
    start = (int(row[0]) if row else 0) + 1
    con.execute(f"DROP SEQUENCE IF EXISTS {seq}")
    con.execute(f"CREATE SEQUENCE {seq} START {start}")


def _sql_path(path: Path) -> str:
    return str(path.absolute()).replace("'", "''")


def is_extract(con: duckdb.DuckDBPyConnection) -> bool:
    """True for a store written by `cvg extraire`."""
    return extract_territoire_of(con) is not None


def extract_territoire_of(con: duckdb.DuckDBPyConnection) -> str | None:
    """The territoire slug of an extract, None for a national store."""
    row = con.execute("SELECT valeur FROM meta WHERE cle = ?", [EXTRACT_KEY]).fetchone()
    return str(row[0]) if row else None


def check_scope(con: duckdb.DuckDBPyConnection, niveau: str, territoire: str | None) -> None:
    """An extract answers for its own territoire only (and its ACI): a national figure or another
    territoire's from it would be that territoire's, or zeros, under another name (UsageError)."""
    slug = extract_territoire_of(con)
    if slug is None or niveau == "aci" or (niveau == "territoire" and territoire == slug):
        return
    from cvg_pipeline.check.errors import UsageError

    asked = "le périmètre national" if niveau == "national" else f"le territoire « {territoire} »"
    raise UsageError(
        f"cette base est un extrait du territoire « {slug} » : elle ne contient pas les données pour {asked} ; "
        f"utilisez --territoire {slug}, ou la base nationale."
    )
