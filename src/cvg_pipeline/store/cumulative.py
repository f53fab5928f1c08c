"""`fichier-non-cumulatif` (spec §5): a monthly file lists every parcours since the start; the parcours of
the previous snapshot that had ended by its Date d'arrêté and that the new file no longer lists are a
warning. `cumul-non-verifie` when the previous snapshot's pseudonyms are of another version."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from cvg_pipeline.check.errors import Issue, issue

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from cvg_pipeline.read.model import ParsedFile


def non_cumulative_warnings(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[ParsedFile],
    previous: Sequence[tuple[int, date] | None],
    frames: Sequence[pl.DataFrame],
    in_batch: dict[int, int],
) -> list[list[Issue]]:
    """`fichier-non-cumulatif` warnings: parcours ended by the previous snapshot's Date d'arrêté that the
    new file no longer lists (same pseudonymised identifier and Date d'entrée); `cumul-non-verifie` when
    the previous snapshot's pseudonyms are of another version (not comparable)."""
    import polars as pl

    from cvg_pipeline.read.identifiers import PSEUDONYM_VERSION

    out: list[list[Issue]] = [[] for _ in files]
    if not any(previous):
        return out
    from_store = sorted({p[0] for p in previous if p is not None and p[0] not in in_batch})
    # snapshots whose pseudonyms were made by another rule (store/db.py, _migrate_pseudonym_version): the
    # same person has another pseudonym there, so comparing would report parcours missing that are not
    other_version = {
        int(r[0]) for r in con.execute(
            "SELECT snapshot_id FROM snapshots WHERE list_contains(?::INTEGER[], snapshot_id) "
            "AND version_pseudonymes <> ?",
            [from_store, PSEUDONYM_VERSION],
        ).fetchall()
    } if from_store else set()
    from_store = [i for i in from_store if i not in other_version]
    rows = (
        con.execute(
            "SELECT snapshot_id, id_salarie, date_entree, date_sortie FROM parcours "
            "WHERE list_contains(?::INTEGER[], snapshot_id) AND date_sortie IS NOT NULL",
            [from_store],
        ).fetchall()
        if from_store
        else []
    )
    old = pl.DataFrame(
        rows,
        schema={"snapshot_id": pl.Int32, "id_salarie": pl.String, "date_entree": pl.Date, "date_sortie": pl.Date},
        orient="row",
    )
    for k, prev in enumerate(previous):
        if prev is None:
            continue
        prev_id, prev_date = prev
        if prev_id in other_version:
            out[k].append(issue("cumul-non-verifie", files[k].fichier,
                                date_arrete_precedente=prev_date.strftime("%d/%m/%Y")))
            continue
        if prev_id in in_batch:
            before = frames[in_batch[prev_id]]
        else:
            before = old.filter(pl.col("snapshot_id") == prev_id)
        out[k].extend(_non_cumulative_warning(files[k].fichier, before, prev_date, frames[k]))
    return out


def _non_cumulative_warning(fichier: str, before: pl.DataFrame, prev_date: date, new: pl.DataFrame) -> list[Issue]:
    """`fichier-non-cumulatif` (spec §5): parcours of the previous snapshot that had ended by its Date
    d'arrêté and that the new file no longer lists (same pseudonymised identifier and Date d'entrée)."""
    import polars as pl

    keys = ["id_salarie", "date_entree"]
    ended = before.filter(pl.col("date_sortie").is_not_null() & (pl.col("date_sortie") <= prev_date))
    missing = ended.select(keys).join(new.select(keys), on=keys, how="anti").height
    if not missing:
        return []
    return [issue("fichier-non-cumulatif", fichier, nombre=missing, date_arrete_precedente=prev_date.strftime("%d/%m/%Y"))]
