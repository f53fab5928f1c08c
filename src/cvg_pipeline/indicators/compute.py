"""Every indicator of the yearly report, computed once (``../shared/spec/indicators.md`` §1–§4).

One implementation: DuckDB SQL reading the store directly (no polars import, so `cvg indicators` starts
fast). The pipeline is

1. snapshot selection (`select_snapshots`): for each ACI, its latest snapshot at or before ``au``
   (default: its latest). Replaced snapshots no longer exist in the store; older ones are history and are
   never read unless ``au`` selects them;
2. one derived relation over the parcours of those snapshots, with the populations of §2 as boolean
   columns, defined once in `population_predicates`;
3. one aggregate query for the blocks of year Y (profil … phc), and one query grouped by SIRET for the
   "effectifs" block and the dynamic-exit rate of Y-2, Y-1 and Y; national, territoire and evolution
   figures are sums of those per-ACI rows, so the national counts are the sum of the territoires' by
   construction;
4. plain typed data (`Indicators`, TypedDicts whose keys are the JSON keys of §4, in the spec's order),
   written by `to_json` and read by the report.

Column names, categorical values, housing ranks, exit categories, difficulties and territoires all come
from the schema. The only names written here are the spec's own indicator definitions (which bool columns
make the profil, which motifs count as a PHC "poursuite", …), each checked against the schema at run time.

Decisions where the spec is silent (also in the final report to the lead):
- Rounding of means and medians: ROUND_HALF_UP to 1 decimal on the exact rational value (sums are
  exact integers or decimals), not Python's round-half-even on a float. No value → null.
- Median: the usual median (mean of the two middle values for an even count).
- post_sortie window: parcours that are *sortis* of Y (§2) and whose exit is 183 to 365 days before Y-12-31.
  In a non-leap year, 365 days before Y-12-31 is (Y-1)-12-31, which is not a sortie of Y: excluded.
- par_territoire lists every territoire of the schema (zeros included, schema order), then any territoire
  found in the data but missing from the schema. ``par_territoire`` is null unless the scope is national.
- par_territoire and evolution entries are ``{"effectifs": {...}, "taux_sorties_dynamiques": rate}``.
- A snapshot's nom, territoire and supports are those of that snapshot (not of the ACI's latest one).
- ``donnees_au`` is null when no snapshot is selected (e.g. ``--au`` before every file).
- A categorical value that is not a canonical value of its domain (which ingest never stores) counts as
  non_renseigne, so that every distribution sums to its base.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

from cvg_pipeline.check.errors import CvgError, UsageError
from cvg_pipeline.schema.load import Domain, Schema, fold, load_schema

if TYPE_CHECKING:
    import duckdb

Programme = Literal["CVG", "PHC", "tous"]
Niveau = Literal["national", "territoire", "aci"]

# -- the spec's indicator definitions (names checked against the schema when used) --------------------------
MONTH_DAYS = Fraction(304375, 10000)  # §3: months = days / 30.4375
PROGRAMME_TOUS = "tous"
PHC = "PHC"  # the phc block (§4 phc) is computed on this programme whatever --programme says
AGE_BUCKETS = (("moins_26", None, 25), ("26_49", 26, 49), ("50_plus", 50, None))
PROFIL_DISTRIBUTIONS_1 = ("sexe",)  # then age_entree
PROFIL_DISTRIBUTIONS_2 = ("nationalite",)  # then the yes/no breakdowns
PROFIL_YES_NO = ("refugie", "ts_exterieur", "formation_etranger", "rsa", "rqth")
PROFIL_DISTRIBUTIONS_3 = ("orienteur", "niveau_formation", "duree_sans_emploi", "parcours_rue", "logement_entree")
CUMUL_MIN, CUMUL_MAX = 3, 7
ACCOMPAGNEMENT_YES_NO = ("acc_concerte", "acc_proximite")
CP_EMPLOI = "cp_emploi"
CP_BY_DIFFICULTY = (("cp_sante", "sante"), ("cp_logement", "logement"))  # rate base: diff_<key> Oui
EMPLOI_VIA_CP = "emploi_via_cp"
LOGEMENT_VIA_CP = "logement_via_cp"
HOUSING_DOMAIN = "logement"
MOTIF_COLUMN = "motif_sortie"
SANTE_RATES = ("bilan_sante", "medecin_traitant", "couverture_sante", "rqth_obtenue", "aah_obtenue")
NEUTRAL_CATEGORY = "sortie_neutre"
DURABLE_CATEGORY = "emploi_durable"
RESOLVED_KEYS = ("resolue", "en_cours")  # resolue_ou_en_cours
POST_SORTIE_MIN_DAYS, POST_SORTIE_MAX_DAYS = 183, 365
POST_SORTIE_CONTACT = "post_sortie_contact"
POST_SORTIE_STABILISE = "post_sortie_stabilise"
PHC_HOURS_IN, PHC_HOURS_OUT = "heures_hebdo_entree", "heures_hebdo_sortie"
PHC_POURSUITE_MOTIFS = ("Poursuite en CDDI dans l'ACI", "Embauche dans une autre structure de l'IAE")
NON_RENSEIGNE = "non_renseigne"
EVOLUTION_YEARS = 3  # Y-2, Y-1, Y


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


class Sorties(TypedDict):
    par_categorie: dict[str, int]
    par_motif: Distribution
    taux_sorties_dynamiques: Rate
    taux_emploi_durable: Rate
    emploi_via_cp: int
    duree_parcours: DureeParcours


class Logement(TypedDict):
    matrice: dict[str, dict[str, int]]
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
    contactes: Rate
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


class EffectifsEtTaux(TypedDict):
    effectifs: Effectifs
    taux_sorties_dynamiques: Rate


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
    par_territoire: dict[str, EffectifsEtTaux] | None  # national only
    evolution: dict[str, EffectifsEtTaux]  # "Y-2", "Y-1", "Y"


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


# -- SQL helpers -----------------------------------------------------------------------------------------
def _lit(value: str | date) -> str:
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + value.replace("'", "''") + "'"


def _col(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")" if values else "(NULL)"


def file_active_predicate(day: date) -> str:
    """§2 file active at day D."""
    return f"(date_entree <= {_lit(day)} AND (date_sortie IS NULL OR date_sortie > {_lit(day)}))"


def population_predicates(year: int) -> dict[str, str]:
    """The populations of §2 for calendar year `year`, as SQL predicates on date_entree / date_sortie.

    The single definition: every indicator and every year uses these.
    """
    start, end = date(year, 1, 1), date(year, 12, 31)
    return {
        "acc": f"(date_entree <= {_lit(end)} AND (date_sortie IS NULL OR date_sortie >= {_lit(start)}))",
        "ent": f"(date_entree BETWEEN {_lit(start)} AND {_lit(end)})",
        "sor": f"(date_sortie IS NOT NULL AND date_sortie BETWEEN {_lit(start)} AND {_lit(end)})",
        "fad": file_active_predicate(date(year - 1, 12, 31)),
        "faf": file_active_predicate(end),
    }


@dataclass(frozen=True)
class _Leaf:
    get: Callable[[Sequence[Any]], Any]


class _Query:
    """Collects aggregate expressions; each returns a leaf that reads its value from the result row."""

    def __init__(self) -> None:
        self.exprs: list[str] = []

    def _add(self, expr: str) -> int:
        self.exprs.append(expr)
        return len(self.exprs) - 1

    def count(self, where: str) -> _Leaf:
        # count_if(p) plans and runs about twice as fast as count(*) FILTER (WHERE p) with 250+ aggregates
        i = self._add(f"count_if({where})")
        return _Leaf(lambda row: int(row[i] or 0))  # count_if over no row is NULL

    def rate(self, n: str, base: str) -> dict[str, _Leaf]:
        """n's predicate is applied within base (so n ≤ base always)."""
        return {"n": self.count(f"({base}) AND ({n})"), "base": self.count(base)}

    def yes_no(self, column: str, base: str) -> dict[str, _Leaf]:
        c = _col(column)
        return {
            "oui": self.count(f"({base}) AND {c} IS TRUE"),
            "non": self.count(f"({base}) AND {c} IS FALSE"),
            NON_RENSEIGNE: self.count(f"({base}) AND {c} IS NULL"),
        }

    def distribution(self, column: str, domain: Domain, base: str) -> dict[str, _Leaf]:
        c = _col(column)
        out = {v.key: self.count(f"({base}) AND {c} = {_lit(v.label)}") for v in domain.values}
        out[NON_RENSEIGNE] = self.count(f"({base}) AND ({c} IS NULL OR {c} NOT IN {_in(domain.labels)})")
        return out

    def mean(self, expr: str, where: str, scale: Fraction = Fraction(1)) -> _Leaf:
        """Mean of `expr` (exact sum as DECIMAL / count), times `scale`, rounded half-up to 1 decimal."""
        s = self._add(f"sum(CAST({expr} AS DECIMAL(38, 6))) FILTER (WHERE ({where}) AND {expr} IS NOT NULL)")
        n = self._add(f"count({expr}) FILTER (WHERE {where})")

        def get(row: Sequence[Any]) -> float | None:
            if not row[n]:
                return None
            return round_half_up(Fraction(Decimal(row[s])) / int(row[n]) * scale)

        return _Leaf(get)

    def median(self, expr: str, where: str, scale: Fraction = Fraction(1)) -> _Leaf:
        i = self._add(f"median({expr}) FILTER (WHERE ({where}) AND {expr} IS NOT NULL)")

        def get(row: Sequence[Any]) -> float | None:
            # median of integers is an integer or a half-integer: exact as a float
            return None if row[i] is None else round_half_up(Fraction(row[i]) * scale)

        return _Leaf(get)


def round_half_up(value: Fraction, digits: int = 1) -> float:
    """ROUND_HALF_UP (12.25 → 12.3, -0.25 → -0.3) on an exact value; Python's round() is half-even."""
    factor: int = 10**digits
    rounded = math.floor(abs(value) * factor + Fraction(1, 2))
    return (rounded if value >= 0 else -rounded) / factor


def _resolve(tree: Any, row: Sequence[Any]) -> Any:
    if isinstance(tree, _Leaf):
        return tree.get(row)
    if isinstance(tree, dict):
        return {k: _resolve(v, row) for k, v in tree.items()}
    return tree


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
    where = f"WHERE date_arrete <= {_lit(au)}" if au is not None else ""
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


# -- the computation -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Defs:
    """What the SQL needs from the schema, derived once."""

    categories: dict[str, str]  # motif label -> category key
    dynamic: tuple[str, ...]  # dynamic category keys
    ranks: dict[str, int]  # housing label -> rank
    perenne: str  # label of the best-ranked housing value


def _defs(schema: Schema) -> _Defs:
    motifs = schema.domains[MOTIF_COLUMN]
    housing = schema.domains[HOUSING_DOMAIN]
    keys = {c.key for c in schema.exit_categories}
    for key in (NEUTRAL_CATEGORY, DURABLE_CATEGORY):
        if key not in keys:
            raise CvgError(f"schéma : la catégorie de sortie « {key} » est absente.")
    for label in PHC_POURSUITE_MOTIFS:
        motifs.by_label(label)  # KeyError: the schema no longer has a motif the spec names
    ranks = {v.label: int(v.rank if v.rank is not None else -1) for v in housing.values}
    return _Defs(
        categories={v.label: str(v.category) for v in motifs.values},
        dynamic=tuple(c.key for c in schema.exit_categories if c.dynamic),
        ranks=ranks,
        perenne=max(ranks, key=lambda label: ranks[label]),
    )


def _derived_relation(schema: Schema, defs: _Defs, snapshot_ids: Sequence[int], years: Sequence[int],
                      programme: Programme) -> str:
    """The parcours of the selected snapshots, with the populations and derived values as columns."""
    cat_case = "CASE motif_sortie " + " ".join(
        f"WHEN {_lit(label)} THEN {_lit(key)}" for label, key in defs.categories.items()
    ) + " END"

    def rank_case(column: str) -> str:
        return f"CASE {_col(column)} " + " ".join(
            f"WHEN {_lit(label)} THEN {rank}" for label, rank in defs.ranks.items()
        ) + " END"

    nb_diff = " + ".join(f"CAST(coalesce({_col(d.entry_column)}, FALSE) AS INTEGER)" for d in schema.difficulties)
    prog = "TRUE" if programme == PROGRAMME_TOUS else f"programme = {_lit(programme)}"
    flags = []
    for year in years:
        for name, pred in population_predicates(year).items():
            flags.append(f"coalesce({pred}, FALSE) AS {name}_{year}")
    ids = ", ".join(str(i) for i in snapshot_ids) or "NULL"
    last = years[-1]
    # The columns of the schema, by name: a column the schema no longer has stays in the store
    # (store_columns.py) and must never stand in for a value derived below under the same name.
    stored = ", ".join(["snapshot_id", "siret", *(_col(c.name) for c in schema.columns)])
    return f"""(
        SELECT {stored},
            coalesce({prog}, FALSE) AS prog,
            coalesce(programme = {_lit(PHC)}, FALSE) AS phc,
            {", ".join(flags)},
            year(date_entree) - annee_naissance AS age,
            date_diff('day', date_entree, date_sortie) AS days,
            date_diff('day', date_sortie, {_lit(date(last, 12, 31))}) AS since_exit,
            {cat_case} AS cat,
            {rank_case("logement_entree")} AS rank_in,
            {rank_case("logement_sortie")} AS rank_out,
            {nb_diff} AS nb_diff
        FROM parcours WHERE snapshot_id IN ({ids})
    ) AS d"""


def _year_blocks(schema: Schema, defs: _Defs, q: _Query, y: int) -> dict[str, Any]:
    """profil … phc for year `y` (leaves to be filled from one result row)."""
    acc, sor = f"acc_{y} AND prog", f"sor_{y} AND prog"
    dom = schema.domain_of

    def dist(column: str, base: str) -> dict[str, _Leaf]:
        return q.distribution(column, dom(schema.column(column)), base)

    profil: dict[str, Any] = {c: dist(c, acc) for c in PROFIL_DISTRIBUTIONS_1}
    ages: dict[str, _Leaf] = {}
    for key, low, high in AGE_BUCKETS:
        conds = ["age IS NOT NULL"] + ([f"age >= {low}"] if low is not None else []) + (
            [f"age <= {high}"] if high is not None else [])
        ages[key] = q.count(f"({acc}) AND " + " AND ".join(conds))
    ages[NON_RENSEIGNE] = q.count(f"({acc}) AND age IS NULL")
    profil["age_entree"] = ages
    profil.update({c: dist(c, acc) for c in PROFIL_DISTRIBUTIONS_2})
    profil.update({c: q.yes_no(c, acc) for c in PROFIL_YES_NO})
    profil.update({c: dist(c, acc) for c in PROFIL_DISTRIBUTIONS_3})
    profil["difficultes_entree"] = {d.key: q.yes_no(d.entry_column, acc) for d in schema.difficulties}
    profil["nb_difficultes"] = {str(k): q.count(f"({acc}) AND nb_diff = {k}") for k in range(len(schema.difficulties) + 1)}
    profil["cumul_3_a_7_difficultes"] = q.rate(f"nb_diff BETWEEN {CUMUL_MIN} AND {CUMUL_MAX}", acc)

    difficulty = {d.key: d for d in schema.difficulties}
    accompagnement: dict[str, Any] = {c: q.yes_no(c, acc) for c in ACCOMPAGNEMENT_YES_NO}
    accompagnement[CP_EMPLOI] = q.rate(f"{_col(CP_EMPLOI)} IS TRUE", acc)
    for column, key in CP_BY_DIFFICULTY:
        accompagnement[column] = q.rate(
            f"{_col(column)} IS TRUE", f"({acc}) AND {_col(difficulty[key].entry_column)} IS TRUE"
        )

    not_neutral = f"({sor}) AND cat IS DISTINCT FROM {_lit(NEUTRAL_CATEGORY)}"
    sorties: dict[str, Any] = {
        "par_categorie": {c.key: q.count(f"({sor}) AND cat = {_lit(c.key)}") for c in schema.exit_categories},
        "par_motif": dist(MOTIF_COLUMN, sor),
        "taux_sorties_dynamiques": q.rate(f"cat IN {_in(defs.dynamic)}", not_neutral),
        "taux_emploi_durable": q.rate(f"cat = {_lit(DURABLE_CATEGORY)}", not_neutral),
        "emploi_via_cp": q.count(f"({sor}) AND cat IN {_in(defs.dynamic)} AND {_col(EMPLOI_VIA_CP)} IS TRUE"),
        "duree_parcours": {
            "moyenne_mois": q.mean("days", sor, 1 / MONTH_DAYS),
            "mediane_mois": q.median("days", sor, 1 / MONTH_DAYS),
            "plus_24_mois": q.rate(f"days * {MONTH_DAYS.denominator} > 24 * {MONTH_DAYS.numerator}", sor),
        },
    }

    housing = dom(schema.column("logement_entree"))
    both = f"({sor}) AND rank_in IS NOT NULL AND rank_out IS NOT NULL"
    improved = f"({both}) AND rank_out > rank_in"
    logement: dict[str, Any] = {
        "matrice": {
            vin.key: {
                vout.key: q.count(
                    f"({both}) AND logement_entree = {_lit(vin.label)} AND logement_sortie = {_lit(vout.label)}"
                )
                for vout in housing.values
            }
            for vin in housing.values
        },
        "ameliore": q.rate("rank_out > rank_in", both),
        "degrade": q.rate("rank_out < rank_in", both),
        "acces_logement_perenne": q.rate(
            f"logement_entree <> {_lit(defs.perenne)} AND logement_sortie = {_lit(defs.perenne)}", both
        ),
        "via_cp": q.rate(f"{_col(LOGEMENT_VIA_CP)} IS TRUE", improved),
    }

    sante: dict[str, Any] = {
        "ouverture_droits": q.rate(" OR ".join(f"{_col(c)} IS TRUE" for c in SANTE_RATES), sor)
    }
    sante.update({c: q.rate(f"{_col(c)} IS TRUE", sor) for c in SANTE_RATES})

    resolution_domain = schema.domains["resolution"]
    res_labels = {v.key: v.label for v in resolution_domain.values}
    resolved = [res_labels[k] for k in RESOLVED_KEYS]
    resolution: dict[str, Any] = {}
    for d in schema.difficulties:
        base = f"({sor}) AND {_col(d.entry_column)} IS TRUE"
        block: dict[str, Any] = dict(q.distribution(d.exit_column, resolution_domain, base))
        answered = f"({base}) AND {_col(d.exit_column)} IN {_in(resolution_domain.labels)}"
        block["resolue_ou_en_cours"] = q.rate(f"{_col(d.exit_column)} IN {_in(resolved)}", answered)
        resolution[d.key] = block

    window = f"({sor}) AND since_exit BETWEEN {POST_SORTIE_MIN_DAYS} AND {POST_SORTIE_MAX_DAYS}"

    def post(where: str) -> dict[str, Any]:
        base = f"({window}) AND {where}"
        contact = f"({base}) AND {_col(POST_SORTIE_CONTACT)} IS TRUE"
        return {
            "sortis": q.count(base),
            "contactes": q.rate(f"{_col(POST_SORTIE_CONTACT)} IS TRUE", base),
            "stabilises": q.rate(f"{_col(POST_SORTIE_STABILISE)} IS TRUE", contact),
        }

    post_sortie = {
        "emploi_durable": post(f"cat = {_lit(DURABLE_CATEGORY)}"),
        "logement_perenne": post(f"logement_sortie = {_lit(defs.perenne)}"),
    }

    pacc, psor = f"acc_{y} AND phc", f"sor_{y} AND phc"
    phc = {
        "accompagnes": q.count(pacc),
        "entrees": q.count(f"ent_{y} AND phc"),
        "sorties": q.count(psor),
        "heures_entree_moyenne": q.mean(_col(PHC_HOURS_IN), pacc),
        "heures_sortie_moyenne": q.mean(_col(PHC_HOURS_OUT), psor),
        "poursuite_cddi": q.rate(
            f"motif_sortie IN {_in(PHC_POURSUITE_MOTIFS)}", f"({psor}) AND cat IS DISTINCT FROM {_lit(NEUTRAL_CATEGORY)}"
        ),
    }
    return {
        "profil": profil, "accompagnement": accompagnement, "sorties": sorties, "logement": logement,
        "sante": sante, "resolution": resolution, "post_sortie": post_sortie, "phc": phc,
    }


_ACI_COUNTS = ("accompagnes", "entrees", "sorties", "file_active_debut", "file_active_fin", "dyn_n", "dyn_base")


def _aci_counts_sql(defs: _Defs, years: Sequence[int]) -> list[str]:
    """Per-ACI counts for each year: the effectifs block and the dynamic-exit rate."""
    exprs = []
    for y in years:
        not_neutral = f"sor_{y} AND prog AND cat IS DISTINCT FROM {_lit(NEUTRAL_CATEGORY)}"
        for where in (
            f"acc_{y} AND prog", f"ent_{y} AND prog", f"sor_{y} AND prog", f"fad_{y} AND prog",
            f"faf_{y} AND prog", f"{not_neutral} AND cat IN {_in(defs.dynamic)}", not_neutral,
        ):
            exprs.append(f"count_if({where})")
    return exprs


def _sum_effectifs(schema: Schema, rows: Sequence[tuple[SelectedSnapshot, Sequence[int]]]) -> EffectifsEtTaux:
    """Effectifs and dynamic-exit rate of a group of ACI, from their per-ACI counts of one year."""
    totals = [sum(counts[i] for _, counts in rows) for i in range(len(_ACI_COUNTS))]
    active = [snap for snap, counts in rows if counts[0] > 0]
    supports: Distribution = {v.key: 0 for v in schema.domains["supports"].values}
    supports[NON_RENSEIGNE] = 0
    for snap in active:
        for key in snap.supports:
            supports[key] += 1
        if not snap.supports:
            supports[NON_RENSEIGNE] += 1
    effectifs: Effectifs = {
        "accompagnes": totals[0], "entrees": totals[1], "sorties": totals[2],
        "file_active_debut": totals[3], "file_active_fin": totals[4],
        "nb_aci": len(active), "nb_aci_par_support": supports,
    }
    return {"effectifs": effectifs, "taux_sorties_dynamiques": {"n": totals[5], "base": totals[6]}}


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

    UsageError when the SIRET of an ACI scope is not in the store.
    """
    if scope.niveau == "aci":
        known = con.execute("SELECT count(*) FROM snapshots WHERE siret = ?", [scope.siret]).fetchone()
        if not known or not known[0]:
            raise UsageError(f"le SIRET {scope.siret} n'est pas dans la base (aucun fichier intégré pour cet ACI).")
    return _compute(con, schema, [scope], annee, programme, select_snapshots(con, schema, au))[0]


def compute_indicators_many(
    con: duckdb.DuckDBPyConnection,
    schema: Schema,
    *,
    scopes: Sequence[Scope],
    annee: int,
    programme: Programme = "tous",
    snapshots: Sequence[SelectedSnapshot] | None = None,
) -> list[Indicators]:
    """`compute_indicators` of several national and territoire scopes (same year and programme, the latest
    snapshots or `snapshots`) with one query for them all, grouped by territoire (`cvg export`): the same
    objects as one call per scope."""
    if any(s.niveau not in ("national", "territoire") for s in scopes):
        raise ValueError("compute_indicators_many: national and territoire scopes only")
    selected = list(snapshots) if snapshots is not None else select_snapshots(con, schema, None)
    return _compute(con, schema, scopes, annee, programme, selected)


def _in_scope(scope: Scope, s: SelectedSnapshot) -> bool:
    return (scope.niveau == "national"
            or (scope.niveau == "territoire" and s.territoire == scope.territoire)
            or (scope.niveau == "aci" and s.siret == scope.siret))


_GROUP = "cvg_perimetre_territoire"  # the territoire column of the grouped query (not a schema column)


def _compute(con: duckdb.DuckDBPyConnection, schema: Schema, scopes: Sequence[Scope], annee: int,
             programme: Programme, everything: Sequence[SelectedSnapshot]) -> list[Indicators]:
    """The indicators of each scope. One scope: its snapshots' query, as ever. Several: one query over the
    union of their snapshots, grouped by territoire with the grand total (GROUPING SETS), each scope's row
    read from it; the per-ACI counts are per SIRET already, each scope takes its own ACI's."""
    defs = _defs(schema)
    per_scope = [[s for s in everything if _in_scope(scope, s)] for scope in scopes]
    union = [s for s in everything if any(s in chosen for chosen in per_scope)] if len(scopes) > 1 else per_scope[0]
    years = [annee - EVOLUTION_YEARS + 1 + i for i in range(EVOLUTION_YEARS)]
    relation = _derived_relation(schema, defs, [s.snapshot_id for s in union], years, programme)

    q = _Query()
    blocks = _year_blocks(schema, defs, q, annee)
    # every block of year Y is about accompagnés, entrés or sortis of Y: skip the other rows early
    where = f"WHERE acc_{annee} OR ent_{annee} OR sor_{annee}"
    rows: list[Sequence[Any]]
    if len(scopes) == 1:
        row = con.execute(f"SELECT {', '.join(q.exprs)} FROM {relation} {where}").fetchone()
        assert row is not None  # an aggregate without GROUP BY always returns one row
        rows = [row]
    else:
        slug = "CASE snapshot_id " + " ".join(
            f"WHEN {s.snapshot_id} THEN {_lit(s.territoire)}" for s in union) + " END"
        grouped = {
            (None if national else terr): tuple(values)
            for national, terr, *values in con.execute(
                f"SELECT grouping({_GROUP}), {_GROUP}, {', '.join(q.exprs)} "
                f"FROM (SELECT *, {slug} AS {_GROUP} FROM {relation} {where}) "
                f"GROUP BY GROUPING SETS (({_GROUP}), ())"
            ).fetchall()
        }
        empty = (None,) * len(q.exprs)  # no row: what the aggregates give over no row (counts 0, means None)
        rows = [grouped.get(None if scope.niveau == "national" else scope.territoire, empty) for scope in scopes]

    per_aci = {
        siret: [int(x or 0) for x in counts]
        for siret, *counts in con.execute(
            f"SELECT siret, {', '.join(_aci_counts_sql(defs, years))} FROM {relation} GROUP BY siret"
        ).fetchall()
    }
    width = len(_ACI_COUNTS)
    zero = [0] * (width * len(years))

    def group(snaps: Sequence[SelectedSnapshot], year_index: int) -> EffectifsEtTaux:
        sl = slice(year_index * width, (year_index + 1) * width)
        return _sum_effectifs(schema, [(s, per_aci.get(s.siret, zero)[sl]) for s in snaps])

    out: list[Indicators] = []
    for scope, selected, found in zip(scopes, per_scope, rows, strict=True):
        values = _resolve(blocks, found)
        evolution = {str(y): group(selected, i) for i, y in enumerate(years)}
        par_territoire: dict[str, EffectifsEtTaux] | None = None
        if scope.niveau == "national":
            slugs = [t.slug for t in schema.territoires]
            slugs += sorted({s.territoire for s in selected} - set(slugs))
            par_territoire = {
                slug: group([s for s in selected if s.territoire == slug], len(years) - 1) for slug in slugs
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
            "effectifs": evolution[str(annee)]["effectifs"],
            **values,
            "par_territoire": par_territoire,
            "evolution": evolution,
        }
        out.append(cast(Indicators, result))
    return out


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
