"""The scope of an indicators run: the options (périmètre, année, programme, date), the snapshots it
reads (for each ACI its latest at or before ``--au``) and the years those snapshots cover (indicators.md §1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, cast

from cvg_pipeline.check.errors import UsageError
from cvg_pipeline.indicators.model import Niveau, Programme
from cvg_pipeline.indicators.sql import PROGRAMME_TOUS, lit
from cvg_pipeline.schema.load import Schema, fold

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class Scope:
    niveau: Niveau
    territoire: str | None = None  # slug
    siret: str | None = None

    @classmethod
    def national(cls) -> Scope:
        return cls("national")

    @classmethod
    def of_territoire(cls, slug: str) -> Scope:
        return cls("territoire", territoire=slug)

    @classmethod
    def of_aci(cls, siret: str) -> Scope:
        return cls("aci", siret=siret)


def scope_from_options(schema: Schema, *, national: bool, territoire: str | None, aci: str | None) -> Scope:
    """Exactly one of --national, --territoire, --aci (UsageError otherwise)."""
    given = [name for name, on in (("--national", national), ("--territoire", territoire is not None),
                                   ("--aci", aci is not None)) if on]
    if not given:
        raise UsageError("indiquez le périmètre : --national, --territoire NOM ou --aci SIRET.")
    if len(given) > 1:
        raise UsageError(f"un seul périmètre à la fois : {' et '.join(given)} sont incompatibles.")
    if territoire is not None:
        from cvg_pipeline.schema.territoires import resolve_territoire

        return Scope.of_territoire(resolve_territoire(schema, territoire))
    if aci is not None:
        from cvg_pipeline.read.siret import clean_siret

        siret = clean_siret(aci)
        if not (len(siret) == 14 and siret.isdigit()):
            raise UsageError(f"« {aci} » n'est pas un SIRET (14 chiffres attendus).")
        return Scope.of_aci(siret)
    return Scope.national()


def parse_annee(raw: str | None) -> int:
    if raw is None or not raw.strip():
        raise UsageError("l'option --annee est obligatoire (par exemple --annee 2023).")
    text = raw.strip()
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise UsageError(f"« {raw} » n'est pas une année valide pour --annee (par exemple 2023).")
    return int(text)


def parse_programme(schema: Schema, raw: str | None) -> Programme:
    labels = [*schema.domains["programme"].labels, PROGRAMME_TOUS]
    if raw is None:
        return "tous"
    for label in labels:
        if fold(label) == fold(raw):
            return cast(Programme, label)
    raise UsageError(f"« {raw} » n'est pas un programme valide pour --programme (valeurs : {', '.join(labels)}).")


def parse_au(raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise UsageError(f"« {raw} » n'est pas une date valide pour --au (attendu AAAA-MM-JJ, par exemple 2023-12-31).") from None


# -- snapshot selection ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SelectedSnapshot:
    snapshot_id: int
    siret: str
    nom: str
    territoire: str  # slug
    date_arrete: date
    supports: tuple[str, ...]  # keys of the supports domain


def select_snapshots(con: duckdb.DuckDBPyConnection, schema: Schema, au: date | None) -> list[SelectedSnapshot]:
    """For each ACI, its latest snapshot at or before `au` (default: its latest), sorted by SIRET."""
    where = f"WHERE date_arrete <= {lit(au)}" if au is not None else ""
    rows = con.execute(
        f"""SELECT snapshot_id, siret, nom, territoire, date_arrete, supports FROM snapshots {where}
        QUALIFY row_number() OVER (PARTITION BY siret ORDER BY date_arrete DESC) = 1 ORDER BY siret"""
    ).fetchall()
    supports_domain = schema.domains["supports"]
    out: list[SelectedSnapshot] = []
    for snapshot_id, siret, nom, territoire, date_arrete, supports in rows:
        terr = schema.match_territoire(territoire)
        keys: list[str] = []
        for label in supports or ():
            value = supports_domain.match(label)
            if value is not None and value.key not in keys:
                keys.append(value.key)
        out.append(
            SelectedSnapshot(
                int(snapshot_id), siret, nom, terr.slug if terr else territoire, date_arrete, tuple(keys)
            )
        )
    return out


def covered_years(con: duckdb.DuckDBPyConnection, selected: Sequence[SelectedSnapshot]) -> tuple[int, int] | None:
    """§1: from the first year with a parcours in the selected snapshots to the year of their latest Date
    d'arrêté (None when nothing is selected)."""
    if not selected:
        return None
    ids = ", ".join(str(s.snapshot_id) for s in selected)
    row = con.execute(f"SELECT min(year(date_entree)) FROM parcours WHERE snapshot_id IN ({ids})").fetchone()
    last = max(s.date_arrete for s in selected).year
    first = int(row[0]) if row and row[0] is not None else last
    return min(first, last), last


def check_year(annee: int, covered: tuple[int, int] | None) -> None:
    """UsageError (exit 2) when `annee` is outside the years the data cover, naming them."""
    if covered is None or covered[0] <= annee <= covered[1]:
        return
    first, last = covered
    years = (f"la seule année disponible pour ce périmètre est {first}" if first == last
             else f"les années disponibles pour ce périmètre vont de {first} à {last}")
    raise UsageError(
        f"pas de données pour --annee {annee} : {years} (du premier parcours à la dernière date d'arrêté des fichiers)."
    )
