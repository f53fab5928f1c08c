"""Every indicator of the yearly report, computed once (``../shared/spec/indicators.md`` §1–§4).

One implementation: DuckDB SQL reading the store directly (no polars import, so `cvg indicators` starts
fast), generated from the indicator catalogue (`cvg_pipeline.indicators.catalogue`: every indicator declared once).
The pipeline is

1. snapshot selection (`select_snapshots`): for each ACI, its latest snapshot at or before ``au``
   (default: its latest). Replaced snapshots no longer exist in the store; older ones are history and are
   never read unless ``au`` selects them; ``--annee`` must lie in the years they cover (§1, `check_year`);
2. one derived relation over the parcours of those snapshots (`indicators.sql.derived_relation`), with the
   populations of §2 as boolean columns for Y-2, Y-1 and Y;
3. ONE aggregate query grouped by SIRET holding every indicator of the catalogue for Y and the `evolution`
   ones for Y-2 and Y-1, each aggregate additive over ACI; the scope's figures, each territoire's
   (`par_territoire`) and each year's (`evolution`) are read from the sum of the rows of their ACI, so
   national counts are the sum of the territoires' and ``evolution[Y]`` equals the year's blocks by
   construction;
4. plain typed data (`Indicators`, TypedDicts whose keys are the JSON keys of §4, in the catalogue's order),
   written by `to_json` and read by the report.

Column names, categorical values, housing ranks, exit categories, difficulties and territoires all come
from the schema; the spec's own names (which motifs count as a PHC "poursuite", …) are in the catalogue and
checked against the schema at run time (`indicators.sql.defs_of`).

Decisions where the spec is silent (also in the final report to the lead):
- Rounding of means and medians: ROUND_HALF_UP to 1 decimal on the exact rational value (sums are
  exact integers or decimals), not Python's round-half-even on a float. No value → null.
- Median: the usual median (mean of the two middle values for an even count).
- post_sortie window: parcours that are *sortis* of Y (§2) and whose exit is 183 to 365 days before Y-12-31.
  In a non-leap year, 365 days before Y-12-31 is (Y-1)-12-31, which is not a sortie of Y: excluded.
- par_territoire lists every territoire of the schema (zeros included, schema order), then any territoire
  found in the data but missing from the schema. ``par_territoire`` is null unless the scope is national.
- A snapshot's nom, territoire and supports are those of that snapshot (not of the ACI's latest one).
- ``donnees_au`` is null when no snapshot is selected (e.g. ``--au`` before every file); then no year is
  refused (every figure is 0 and a warning says why).
- A categorical value that is not a canonical value of its domain (which ingest never stores) counts as
  non_renseigne, so that every distribution sums to its base.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

from cvg_pipeline.check.errors import CvgError, UsageError
from cvg_pipeline.indicators.catalogue import (
    CUMUL_MAX,
    CUMUL_MIN,
    DURABLE_CATEGORY,
    EVOLUTION,
    EVOLUTION_YEARS,
    NEUTRAL_CATEGORY,
    PAR_TERRITOIRE,
    Reprise,
    expand,
    sources,
)
from cvg_pipeline.indicators.sql import (
    PROGRAMME_TOUS,
    Query,
    build,
    defs_of,
    derived_relation,
    lit,
    place,
    resolve,
    round_half_up,
)
from cvg_pipeline.schema.load import Schema, fold, load_schema

if TYPE_CHECKING:
    import duckdb

Programme = Literal["CVG", "PHC", "tous"]
Niveau = Literal["national", "territoire", "aci"]

# the spec's definitions live in the catalogue; these names are re-exported for the report
__all__ = ["CUMUL_MAX", "CUMUL_MIN", "DURABLE_CATEGORY", "NEUTRAL_CATEGORY", "round_half_up"]

# -- the JSON, as types ----------------------------------------------------------------------------------
class Rate(TypedDict):
    n: int
    base: int


class YesNo(TypedDict):
    oui: int
    non: int
    non_renseigne: int


Distribution = dict[str, int]  # every canonical value's slug (0 included) + "non_renseigne"


class Perimetre(TypedDict):
    niveau: Niveau
    territoire: str | None
    siret: str | None
    programme: Programme


class SnapshotInfo(TypedDict):
    siret: str
    nom: str
    territoire: str
    date_arrete: str


class Effectifs(TypedDict):
    accompagnes: int
    entrees: int
    sorties: int
    file_active_debut: int
    file_active_fin: int
    nb_aci: int
    nb_aci_par_support: Distribution  # an ACI counts once per support; non_renseigne = ACI declaring none


class Profil(TypedDict):
    sexe: Distribution
    age_entree: Distribution
    nationalite: Distribution
    refugie: YesNo
    ts_exterieur: YesNo
    formation_etranger: YesNo
    rsa: YesNo
    rqth: YesNo
    orienteur: Distribution
    niveau_formation: Distribution
    duree_sans_emploi: Distribution
    parcours_rue: Distribution
    logement_entree: Distribution
    difficultes_entree: dict[str, YesNo]
    nb_difficultes: Distribution  # "0" … "9", no non_renseigne
    cumul_3_a_7_difficultes: Rate


class Accompagnement(TypedDict):
    acc_concerte: YesNo
    acc_proximite: YesNo
    cp_emploi: Rate
    cp_sante: Rate
    cp_logement: Rate


class DureeParcours(TypedDict):
    moyenne_mois: float | None
    mediane_mois: float | None
    plus_24_mois: Rate
    tranches: dict[str, int]  # 0_6, 6_12, 12_24, 24_36, 36_plus (v2)


class Sorties(TypedDict):
    par_categorie: dict[str, int]
    par_motif: Distribution
    taux_sorties_dynamiques: Rate
    taux_emploi_durable: Rate
    part_neutres: Rate  # v2
    emploi_via_cp: int
    duree_parcours: DureeParcours


class Logement(TypedDict):
    matrice: dict[str, dict[str, int]]
    sortie: Distribution  # v2
    ameliore: Rate
    degrade: Rate
    acces_logement_perenne: Rate
    via_cp: Rate


class Sante(TypedDict):
    ouverture_droits: Rate
    bilan_sante: Rate
    medecin_traitant: Rate
    couverture_sante: Rate
    rqth_obtenue: Rate
    aah_obtenue: Rate


class ResolutionDifficulte(TypedDict):
    resolue: int
    en_cours: int
    non_resolue: int
    non_renseigne: int
    resolue_ou_en_cours: Rate


class PostSortieBloc(TypedDict):
    sortis: int
    contactes: Rate  # v2: base = contact answered (Oui or Non)
    non_renseigne: int  # v2
    stabilises: Rate


class PostSortie(TypedDict):
    emploi_durable: PostSortieBloc
    logement_perenne: PostSortieBloc


class Phc(TypedDict):
    accompagnes: int
    entrees: int
    sorties: int
    heures_entree_moyenne: float | None
    heures_sortie_moyenne: float | None
    poursuite_cddi: Rate
    duree_moyenne_mois: float | None  # v2
    nb_aci: int  # v2


class EffectifsEtTaux(TypedDict):
    effectifs: Effectifs
    taux_sorties_dynamiques: Rate


class TerritoireChiffres(EffectifsEtTaux):  # par_territoire.<slug> (v2)
    duree_moyenne_mois: float | None
    plus_24_mois: Rate
    logement_ameliore: Rate
    acces_logement_perenne: Rate
    ouverture_droits: Rate
    acc_concerte: YesNo
    acc_proximite: YesNo


class AnneeChiffres(EffectifsEtTaux):  # evolution.<annee> (v2)
    orienteur: Distribution
    logement_entree: Distribution
    acc_concerte: YesNo
    acc_proximite: YesNo
    cp_emploi: Rate
    cp_sante: Rate
    cp_logement: Rate
    sorties_par_categorie: dict[str, int]
    logement_ameliore: Rate
    duree_moyenne_mois: float | None


class Indicators(TypedDict):
    perimetre: Perimetre
    annee: int
    donnees_au: str | None
    snapshots: list[SnapshotInfo]
    effectifs: Effectifs
    profil: Profil
    accompagnement: Accompagnement
    sorties: Sorties
    logement: Logement
    sante: Sante
    resolution: dict[str, ResolutionDifficulte]
    post_sortie: PostSortie
    phc: Phc
    par_territoire: dict[str, TerritoireChiffres] | None  # national only
    evolution: dict[str, AnneeChiffres]  # "Y-2", "Y-1", "Y"


# -- scope and options -----------------------------------------------------------------------------------
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


# -- the computation
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


def _reprises(reprises: Sequence[Reprise], trees: dict[str, Any], row: Sequence[Any]) -> dict[str, Any]:
    """The repeated figures (par_territoire / evolution) of one year, read from a merged row."""
    out: dict[str, Any] = {}
    for r in reprises:
        for ind in sources(r):  # a whole block (effectifs) or one indicator; never per difficulty
            assert ind.kind != "median", f"{r.key}: a median is not additive over ACI"
            place(out, r.key + ind.path[len(r.source):], resolve(trees[ind.path], row))
    return out


def compute_indicators(
    con: duckdb.DuckDBPyConnection,
    schema: Schema,
    *,
    scope: Scope,
    annee: int,
    programme: Programme = "tous",
    au: date | None = None,
) -> Indicators:
    """Every indicator of §4 for `scope`, year `annee`, `programme`, on the snapshots selected at `au`.

    UsageError when the SIRET of an ACI scope is not in the store, or when `annee` is outside the years the
    selected snapshots cover (§1).
    """
    if scope.niveau == "aci":
        known = con.execute("SELECT count(*) FROM snapshots WHERE siret = ?", [scope.siret]).fetchone()
        if not known or not known[0]:
            raise UsageError(f"le SIRET {scope.siret} n'est pas dans la base (aucun fichier intégré pour cet ACI).")
    defs = defs_of(schema)
    selected = [
        s for s in select_snapshots(con, schema, au)
        if scope.niveau == "national"
        or (scope.niveau == "territoire" and s.territoire == scope.territoire)
        or (scope.niveau == "aci" and s.siret == scope.siret)
    ]
    check_year(annee, covered_years(con, selected))
    years = [annee - EVOLUTION_YEARS + 1 + i for i in range(EVOLUTION_YEARS)]

    q = Query()
    trees: dict[int, dict[str, Any]] = {y: {} for y in years}
    for path, ind, params in expand(schema):
        trees[annee][path] = build(schema, ind, params, q, annee)
    for y in years[:-1]:
        for ind in (ind for r in EVOLUTION for ind in sources(r)):
            trees[y][ind.path] = build(schema, ind, {}, q, y)

    relation = derived_relation(schema, defs, [s.snapshot_id for s in selected], years, programme)
    # every figure is about accompagnés, entrés or sortis of one of the years: skip the other rows early
    wanted = " OR ".join(f"acc_{y} OR ent_{y} OR sor_{y}" for y in years)
    fetched = {
        siret: list(values)
        for siret, *values in con.execute(
            f"SELECT siret, {', '.join(q.exprs)} FROM {relation} WHERE {wanted} GROUP BY siret"
        ).fetchall()
    }
    empty = [None] * len(q.exprs)

    def aci_row(snap: SelectedSnapshot) -> list[Any]:
        raw = fetched.get(snap.siret, empty)
        return [*raw, *(fn(snap, raw) for fn in q.per_aci)]

    rows = {s.siret: aci_row(s) for s in selected}
    scalars = None
    if q.scalars:  # medians: not additive over ACI, so one ungrouped query over the scope's sortis
        scalars = con.execute(f"SELECT {', '.join(q.scalars)} FROM {relation} WHERE sor_{annee}").fetchone()
    total = q.merge(list(rows.values()), scalars)
    values: dict[str, Any] = {}
    for path, tree in trees[annee].items():
        place(values, path, resolve(tree, total))
    evolution = {str(y): _reprises(EVOLUTION, trees[y], total) for y in years}
    par_territoire: dict[str, Any] | None = None
    if scope.niveau == "national":
        slugs = [t.slug for t in schema.territoires]
        slugs += sorted({s.territoire for s in selected} - set(slugs))
        par_territoire = {
            slug: _reprises(PAR_TERRITOIRE, trees[annee], q.merge([rows[s.siret] for s in selected if s.territoire == slug]))
            for slug in slugs
        }

    result: dict[str, Any] = {
        "perimetre": {
            "niveau": scope.niveau, "territoire": scope.territoire, "siret": scope.siret, "programme": programme
        },
        "annee": annee,
        "donnees_au": max(s.date_arrete for s in selected).isoformat() if selected else None,
        "snapshots": [
            {"siret": s.siret, "nom": s.nom, "territoire": s.territoire, "date_arrete": s.date_arrete.isoformat()}
            for s in selected
        ],
        **values,
        "par_territoire": par_territoire,
        "evolution": evolution,
    }
    return cast(Indicators, result)

def indicator_warnings(ind: Indicators) -> list[str]:
    """French warnings for stderr: nothing selected, or data arrested before the end of the year."""
    if not ind["snapshots"]:
        return ["aucun fichier ne correspond au périmètre et à la date demandés : tous les indicateurs valent 0."]
    from cvg_pipeline.fr import date_iso_longue, date_longue

    end = date(ind["annee"], 12, 31)
    early = [s for s in ind["snapshots"] if s["date_arrete"] < end.isoformat()]
    if not early:
        return []
    verbe, pronom = ("a", "lui") if len(early) == 1 else ("ont", "eux")
    oldest = date_iso_longue(min(s["date_arrete"] for s in early))
    return [
        f"{len(early)} ACI sur {len(ind['snapshots'])} {verbe} des données arrêtées avant le {date_longue(end)} "
        f"(la plus ancienne au {oldest}) : l'année {ind['annee']} n'est pas complète pour {pronom}."
    ]


def to_json(ind: Indicators) -> str:
    """The JSON of `cvg indicators`: UTF-8 text (no ASCII escapes), keys in the spec's order."""
    return json.dumps(ind, ensure_ascii=False, indent=2)


def load_indicators(
    store: Path,
    *,
    scope: Scope,
    annee: int,
    programme: Programme = "tous",
    au: date | None = None,
    schema: Schema | None = None,
) -> Indicators:
    """Open the store read-only and compute the indicators (CvgError if it is missing or empty)."""
    from cvg_pipeline.store.db import open_store

    schema = schema or load_schema()
    with open_store(store, read_only=True) as con:
        _check_not_empty(con, store)
        from cvg_pipeline.store.extract import check_scope

        check_scope(con, scope.niveau, scope.territoire)  # an extract (cvg extraire) speaks for its territoire only
        return compute_indicators(con, schema, scope=scope, annee=annee, programme=programme, au=au)


def _check_not_empty(con: duckdb.DuckDBPyConnection, store: Path) -> None:
    import duckdb

    try:
        row = con.execute("SELECT count(*) FROM snapshots").fetchone()
    except duckdb.Error as exc:
        from cvg_pipeline.store.checks import damaged_message, is_damaged

        if is_damaged(exc):  # a block that fails its checksum: not « not a store »
            raise CvgError(damaged_message(store)) from None
        raise CvgError(
            f"« {store} » n'est pas une base cvg : créez-en une avec « cvg init », puis intégrez-y des fichiers avec "
            "« cvg ingest »."
        ) from None
    if not row or not row[0]:
        raise CvgError(
            f"La base « {store} » ne contient encore aucun fichier : lancez d'abord « cvg ingest » pour y intégrer des fichiers."
        )
