"""The indicator catalogue: every indicator of ``../shared/spec/indicators.md`` (v2) declared once.

Each `Indicateur` says where the figure sits in the JSON of `cvg indicators` (`path`), what it is (`kind`),
on whom it is computed (`population`), which parcours it counts (`predicate`, SQL over the derived relation
of `indicators.sql`), and how the report names and defines it (`libelle`, `definition`,
`libelle_court`, `population.libelle`). From these declarations `indicators.sql` generates the SQL,
`indicators.compute` assembles the JSON in the declared order, and the report writes its captions, rows,
columns, chart titles and « Population » lines (`report.sections_base._Base.libelle`, `court`, `population`,
`bloc`) and « Sources et méthode »: no indicator's name is written in the report's code.

Public API (stable — the report and the export read it):

- ``INDICATEURS``: every `Indicateur`, in the JSON's order (``for ind in INDICATEURS``).
- ``entry(path) -> Indicateur``: the indicator of a JSON path. Accepts the declared path
  (``"sorties.part_neutres"``, ``"resolution.{difficulte}"``), a concrete one (``"resolution.logement"``,
  ``"profil.difficultes_entree.sante"``), a path inside an indicator (``"sorties.part_neutres.n"``,
  ``"profil.orienteur.france_travail"``) and the repeated figures of ``par_territoire`` and ``evolution``
  (``"par_territoire.lyon.logement_ameliore"`` → the indicator of ``logement.ameliore``). KeyError otherwise.
- ``BLOCS``: the top-level blocks (`Bloc`: key, French title), in order.
- ``PAR_TERRITOIRE`` / ``EVOLUTION``: the figures repeated per territoire / per year, as `Reprise`
  (the key under ``par_territoire.<slug>`` / ``evolution.<annee>``, and the path of the indicator it repeats —
  a whole block for ``effectifs``).
- ``POPULATIONS``: every `Population` (key, French `libelle` such as « Base : salarié·es sorti·es hors
  sorties neutres », SQL predicate).
- ``META_KEYS``: the keys of the JSON that are not indicators (périmètre, année, snapshots…).
- ``expand(schema)``: every concrete indicator of a schema (path with the difficulty filled in, declaration,
  SQL placeholders); ``keys_of(ind, schema, params)``: the keys inside its JSON value (``["n", "base"]`` for
  a rate, the slugs of a distribution…); ``leaf_paths(schema, annees)``: every leaf path of the JSON.

Kinds (`Kind`): ``count`` (int), ``rate`` (``{"n", "base"}``: n = the population's parcours matching
`predicate`, base = the population), ``yes_no`` (``{"oui", "non", "non_renseigne"}`` of a bool column),
``distribution`` (a count per canonical value of a categorical column's domain + ``non_renseigne``),
``buckets`` (a count per declared bucket, ``non_renseigne`` only when declared), ``mean`` / ``median``
(of an SQL expression, rounded half-up to 1 decimal; null when nothing to average), ``matrix`` (entry value →
exit value → count), ``nb_aci`` (distinct SIRET with ≥ 1 parcours of the population),
``nb_aci_par_support`` (those ACI counted once per declared support).

Placeholders: a path or SQL may contain ``{difficulte}`` (repeated for each difficulty of the schema; in SQL
``{entry}`` / ``{exit}`` are its ``diff_<key>`` / ``res_<key>`` columns); SQL contains ``{y}`` for the year.

`Indicateur` fields: ``path``, ``kind``, ``population``, ``libelle``, ``definition`` (always set), and by
kind ``predicate``, ``column``, ``buckets`` / ``non_renseigne``, ``months`` (a length of parcours in months),
``columns`` (matrix), ``unite`` (« mois », « heures »); ``libelle_court`` (its name in a table or chart that
groups several figures, whose caption says the rest). Properties: ``block``, ``per_difficulty``, ``court``
(``libelle_court`` or ``libelle``).

SQL names the predicates may use: the schema's columns, and the derived ones of `indicators.sql`:
``age`` (at entry), ``days`` (length of the parcours), ``cat`` (exit category key), ``neutre``, ``dyn``,
``rank_in`` / ``rank_out`` (housing ranks), ``in_perenne`` / ``out_perenne``, ``nb_diff``, ``prog`` (the
``--programme`` filter), ``phc``, and the populations ``acc_{y}``, ``ent_{y}``, ``sor_{y}``, ``fad_{y}``,
``faf_{y}``.

Adding an indicator on an existing column is one entry in ``INDICATEURS`` and its key in the TypedDict of
`indicators.model` (a test checks they agree), plus its expected values in the tests: the SQL, the JSON and
the report's definition follow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from cvg_pipeline.schema.load import Schema

Kind = Literal[
    "count", "rate", "yes_no", "distribution", "buckets", "mean", "median", "matrix", "nb_aci", "nb_aci_par_support"
]
Buckets = tuple[tuple[str, str], ...]  # (JSON key, SQL predicate)

# -- the spec's constants (§2–§4) ------------------------------------------------------------------------
MONTH_DAYS_NUM, MONTH_DAYS_DEN = 304375, 10000  # §3: months = days / 30.4375
CUMUL_MIN, CUMUL_MAX = 3, 7
POST_SORTIE_MIN_DAYS, POST_SORTIE_MAX_DAYS = 183, 365
NEUTRAL_CATEGORY = "sortie_neutre"
DURABLE_CATEGORY = "emploi_durable"
PHC_POURSUITE_MOTIFS = ("Poursuite en CDDI dans l'ACI", "Embauche dans une autre structure de l'IAE")
NON_RENSEIGNE = "non_renseigne"
META_KEYS = ("perimetre", "annee", "donnees_au", "snapshots")


def months_at_most(months: int) -> str:
    """SQL: length ≤ `months` months, exactly (days / 30.4375 ≤ m ⇔ days × 10000 ≤ m × 304375)."""
    return f"days * {MONTH_DAYS_DEN} <= {months * MONTH_DAYS_NUM}"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- populations (§2) ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Population:
    key: str
    sql: str  # predicate on the derived relation; {y} = the year, {entry}/{exit} = a difficulty's columns
    libelle: str  # « Base : … », for the report (« dans l'année »: the report writes « en 2023 »)


def _pop(key: str, sql: str, libelle: str) -> Population:
    return Population(key, sql, libelle)


ACCOMPAGNES = _pop("accompagnes", "acc_{y} AND prog", "Base : salarié·es accompagné·es dans l'année")
ENTRES = _pop("entres", "ent_{y} AND prog", "Base : salarié·es entré·es dans l'année")
SORTIS = _pop("sortis", "sor_{y} AND prog", "Base : salarié·es sorti·es dans l'année")
FILE_ACTIVE_DEBUT = _pop("file_active_debut", "fad_{y} AND prog", "Base : salarié·es en parcours au 31 décembre de l'année précédente")
FILE_ACTIVE_FIN = _pop("file_active_fin", "faf_{y} AND prog", "Base : salarié·es en parcours au 31 décembre")
SORTIS_HORS_NEUTRES = _pop("sortis_hors_neutres", "sor_{y} AND prog AND NOT neutre",
                           "Base : salarié·es sorti·es dans l'année hors sorties neutres")
ACC_DIFF_SANTE = _pop("accompagnes_diff_sante", "acc_{y} AND prog AND diff_sante IS TRUE",
                      "Base : salarié·es accompagné·es dans l'année ayant une difficulté de santé à l'entrée")
ACC_DIFF_LOGEMENT = _pop("accompagnes_diff_logement", "acc_{y} AND prog AND diff_logement IS TRUE",
                         "Base : salarié·es accompagné·es dans l'année ayant une difficulté de logement à l'entrée")
SORTIS_LOGEMENT = _pop(
    "sortis_logement_connu", "sor_{y} AND prog AND NOT neutre AND rank_in IS NOT NULL AND rank_out IS NOT NULL",
    "Base : salarié·es sorti·es dans l'année hors sorties neutres dont la situation logement est connue à l'entrée et "
    "à la sortie")
AMELIORES = _pop(
    "logement_ameliore",
    "sor_{y} AND prog AND NOT neutre AND rank_in IS NOT NULL AND rank_out IS NOT NULL AND rank_out > rank_in",
    "Base : salarié·es sorti·es dans l'année dont la situation logement s'est améliorée")
SORTIS_DIFF = _pop("sortis_difficulte", "sor_{y} AND prog AND {entry} IS TRUE",
                   "Base : salarié·es sorti·es dans l'année ayant la difficulté à l'entrée")
SORTIS_DIFF_REPONDU = _pop(
    "sortis_difficulte_renseignee", "sor_{y} AND prog AND {entry} IS TRUE AND {exit} IS NOT NULL",
    "Base : salarié·es sorti·es dans l'année ayant la difficulté à l'entrée, situation à la sortie renseignée")
_WINDOW = (f"sor_{{y}} AND prog AND date_diff('day', date_sortie, DATE '{{y}}-12-31') "
           f"BETWEEN {POST_SORTIE_MIN_DAYS} AND {POST_SORTIE_MAX_DAYS}")
_PS_DURABLE = f"{_WINDOW} AND cat = '{DURABLE_CATEGORY}'"
_PS_LOGEMENT = f"{_WINDOW} AND out_perenne AND logement_entree IS NOT NULL AND NOT in_perenne"
_WHO_DURABLE = "sorti·es en emploi durable il y a 6 à 12 mois"
_WHO_LOGEMENT = "sorti·es il y a 6 à 12 mois ayant accédé à un logement pérenne pendant le parcours"
PS_DURABLE = _pop("post_sortie_emploi_durable", _PS_DURABLE, f"Base : salarié·es {_WHO_DURABLE}")
PS_DURABLE_REPONDU = _pop("post_sortie_emploi_durable_renseigne", f"{_PS_DURABLE} AND post_sortie_contact IS NOT NULL",
                          f"Base : salarié·es {_WHO_DURABLE}, contact renseigné (Oui ou Non)")
PS_DURABLE_CONTACTES = _pop("post_sortie_emploi_durable_contactes", f"{_PS_DURABLE} AND post_sortie_contact IS TRUE",
                            f"Base : salarié·es {_WHO_DURABLE} contacté·es")
PS_LOGEMENT = _pop("post_sortie_logement_perenne", _PS_LOGEMENT, f"Base : salarié·es {_WHO_LOGEMENT}")
PS_LOGEMENT_REPONDU = _pop("post_sortie_logement_perenne_renseigne", f"{_PS_LOGEMENT} AND post_sortie_contact IS NOT NULL",
                           f"Base : salarié·es {_WHO_LOGEMENT}, contact renseigné (Oui ou Non)")
PS_LOGEMENT_CONTACTES = _pop("post_sortie_logement_perenne_contactes", f"{_PS_LOGEMENT} AND post_sortie_contact IS TRUE",
                             f"Base : salarié·es {_WHO_LOGEMENT} contacté·es")
PHC_ACCOMPAGNES = _pop("phc_accompagnes", "acc_{y} AND phc", "Base : salarié·es PHC accompagné·es dans l'année")
PHC_ENTRES = _pop("phc_entres", "ent_{y} AND phc", "Base : salarié·es PHC entré·es dans l'année")
PHC_SORTIS = _pop("phc_sortis", "sor_{y} AND phc", "Base : salarié·es PHC sorti·es dans l'année")
PHC_SORTIS_HORS_NEUTRES = _pop("phc_sortis_hors_neutres", "sor_{y} AND phc AND NOT neutre",
                               "Base : salarié·es PHC sorti·es hors sorties neutres")

POPULATIONS: tuple[Population, ...] = (
    ACCOMPAGNES, ENTRES, SORTIS, FILE_ACTIVE_DEBUT, FILE_ACTIVE_FIN, SORTIS_HORS_NEUTRES, ACC_DIFF_SANTE,
    ACC_DIFF_LOGEMENT, SORTIS_LOGEMENT, AMELIORES, SORTIS_DIFF, SORTIS_DIFF_REPONDU, PS_DURABLE, PS_DURABLE_REPONDU,
    PS_DURABLE_CONTACTES, PS_LOGEMENT, PS_LOGEMENT_REPONDU, PS_LOGEMENT_CONTACTES, PHC_ACCOMPAGNES, PHC_ENTRES,
    PHC_SORTIS, PHC_SORTIS_HORS_NEUTRES,
)


# -- indicators ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Indicateur:
    path: str  # JSON path, dot-separated; "{difficulte}" repeats it for each difficulty of the schema
    kind: Kind
    population: Population
    libelle: str  # French label: the report's table caption or row, the « Indicateur » of « Sources et méthode »
    definition: str  # French definition, for « Sources et méthode »
    predicate: str | None = None  # count / rate: SQL predicate within the population
    column: str | None = None  # yes_no / distribution: schema column; mean / median: SQL expression
    buckets: Buckets | Callable[[Schema], Buckets] = ()  # buckets: (key, predicate)
    non_renseigne: str | None = None  # buckets: predicate of the "non_renseigne" key (None: no such key)
    months: bool = False  # mean / median of `days`, in months (§3)
    columns: tuple[str, str] = ("", "")  # matrix: entry column, exit column
    unite: str = field(default="")  # mean / median: « mois », « heures »
    libelle_court: str = ""  # the label within a group whose caption says the rest (a row, a column, a bar); "": libelle

    @property
    def court(self) -> str:
        """The label within a group (`libelle_court`, else `libelle`)."""
        return self.libelle_court or self.libelle

    @property
    def block(self) -> str:
        return self.path.split(".", 1)[0]

    @property
    def per_difficulty(self) -> bool:
        return "{difficulte}" in self.path


@dataclass(frozen=True)
class Bloc:
    key: str
    titre: str


@dataclass(frozen=True)
class Reprise:
    """A figure repeated under ``par_territoire.<slug>`` or ``evolution.<annee>``: its key there and the path
    of what it repeats (an indicator, or a whole block)."""

    key: str
    source: str


def _age_buckets(schema: Schema) -> Buckets:
    return (("moins_26", "age <= 25"), ("26_49", "age BETWEEN 26 AND 49"), ("50_plus", "age >= 50"))


def _nb_diff_buckets(schema: Schema) -> Buckets:
    return tuple((str(k), f"nb_diff = {k}") for k in range(len(schema.difficulties) + 1))


def _category_buckets(schema: Schema) -> Buckets:
    return tuple((c.key, f"cat = {_lit(c.key)}") for c in schema.exit_categories)


TRANCHES: Buckets = (
    ("0_6", months_at_most(6)),
    ("6_12", f"NOT ({months_at_most(6)}) AND {months_at_most(12)}"),
    ("12_24", f"NOT ({months_at_most(12)}) AND {months_at_most(24)}"),
    ("24_36", f"NOT ({months_at_most(24)}) AND {months_at_most(36)}"),
    ("36_plus", f"NOT ({months_at_most(36)})"),
)
_I = Indicateur
_ACC, _SOR = ACCOMPAGNES, SORTIS
_SANTE = (("bilan_sante", "bilan de santé réalisé"), ("medecin_traitant", "déclaration d'un médecin traitant"),
          ("couverture_sante", "amélioration de la couverture santé"),
          ("rqth_obtenue", "RQTH obtenue pendant le parcours"), ("aah_obtenue", "AAH obtenue pendant le parcours"))


def _yes_no(path: str, column: str, libelle: str, population: Population = _ACC) -> Indicateur:
    return _I(path, "yes_no", population, libelle,
              f"{libelle} : réponses Oui, Non et non renseignées parmi les salarié·es accompagné·es de l'année",
              column=column)


def _dist(path: str, column: str, libelle: str, population: Population = _ACC, qui: str = "accompagné·es") -> Indicateur:
    return _I(path, "distribution", population, libelle,
              f"{libelle} : répartition des salarié·es {qui} de l'année selon la valeur déclarée", column=column)


def _post_sortie(group: str, pops: tuple[Population, Population, Population], qui: str,
                 situation: str) -> tuple[Indicateur, ...]:
    """The four figures of a post-sortie group; `situation`, the group's name in a table of both groups."""
    base, answered, contacted = pops
    p = f"post_sortie.{group}"
    return (
        _I(f"{p}.sortis", "count", base, f"Sorti·es {qui}",
           f"Salarié·es {qui} : sorti·es de l'année entre 183 et 365 jours avant le 31 décembre",
           libelle_court=situation),
        _I(f"{p}.contactes", "rate", answered, "Contacté·es (parmi les réponses renseignées)",
           "Contacté·es : contact après la sortie Oui / contact renseigné (Oui ou Non) — un fichier sans la "
           "colonne ne dit pas « non contacté »", predicate="post_sortie_contact IS TRUE"),
        _I(f"{p}.non_renseigne", "count", base, "Contact après la sortie non renseigné",
           "Salarié·es du groupe dont le contact après la sortie n'est pas renseigné",
           predicate="post_sortie_contact IS NULL", libelle_court="Non renseigné"),
        _I(f"{p}.stabilises", "rate", contacted, "Situation stabilisée (parmi les contacté·es)",
           "Stabilisé·es : situation stabilisée Oui / salarié·es contacté·es", predicate="post_sortie_stabilise IS TRUE"),
    )


BLOCS: tuple[Bloc, ...] = (
    Bloc("effectifs", "Effectifs"), Bloc("profil", "Profil des salarié·es accompagné·es"),
    Bloc("accompagnement", "Modalités d'accompagnement"), Bloc("sorties", "Sorties"),
    Bloc("logement", "Logement"), Bloc("sante", "Santé"), Bloc("resolution", "Résolution des freins"),
    Bloc("post_sortie", "Accompagnement post-sortie"), Bloc("phc", "Premières heures en chantier (PHC)"),
)

INDICATEURS: tuple[Indicateur, ...] = (
    # -- effectifs
    _I("effectifs.accompagnes", "count", _ACC, "Salarié·es accompagné·es dans l'année",
       "Accompagné·es : entré·es au plus tard le 31 décembre et sans sortie avant le 1er janvier de l'année",
       libelle_court="Accompagné·es"),
    _I("effectifs.entrees", "count", ENTRES, "Entré·es dans l'année", "Entrées : date d'entrée dans l'année",
       libelle_court="Entré·es"),
    _I("effectifs.sorties", "count", _SOR, "Salarié·es sorti·es dans l'année", "Sorties : date de sortie dans l'année",
       libelle_court="Sorti·es"),
    _I("effectifs.file_active_debut", "count", FILE_ACTIVE_DEBUT, "En parcours au 1er janvier",
       "File active au début de l'année : salarié·es entré·es au plus tard le 31 décembre de l'année précédente "
       "et sorti·es après cette date ou pas encore sorti·es"),
    _I("effectifs.file_active_fin", "count", FILE_ACTIVE_FIN, "Salarié·es en parcours au 31 décembre (file active)",
       "File active à la fin de l'année : salarié·es entré·es au plus tard le 31 décembre et sorti·es après cette "
       "date ou pas encore sorti·es", libelle_court="En parcours au 31 déc."),
    _I("effectifs.nb_aci", "nb_aci", _ACC, "ACI porteurs", "ACI : nombre d'ACI ayant au moins un·e salarié·e accompagné·e",
       libelle_court="ACI"),
    _I("effectifs.nb_aci_par_support", "nb_aci_par_support", _ACC, "ACI par support d'activité",
       "ACI par support d'activité : un ACI compte une fois pour chaque support qu'il déclare"),
    # -- profil
    _dist("profil.sexe", "sexe", "Sexe"),
    _I("profil.age_entree", "buckets", _ACC, "Âge à l'entrée",
       "Âge à l'entrée : année d'entrée − année de naissance ; moins de 26 ans, 26 à 49 ans, 50 ans et plus",
       buckets=_age_buckets, non_renseigne="age IS NULL"),
    _dist("profil.nationalite", "nationalite", "Nationalité"),
    _yes_no("profil.refugie", "refugie", "Réfugié·e ou protection subsidiaire"),
    _yes_no("profil.ts_exterieur", "ts_exterieur", "Accompagné·e par un travailleur social extérieur"),
    _yes_no("profil.formation_etranger", "formation_etranger", "Formation obtenue à l'étranger"),
    _yes_no("profil.rsa", "rsa", "Bénéficiaire du RSA"),
    _yes_no("profil.rqth", "rqth", "RQTH à l'entrée"),
    _dist("profil.orienteur", "orienteur", "Orienteurs / prescripteurs"),
    _dist("profil.niveau_formation", "niveau_formation", "Niveau de formation en France"),
    _dist("profil.duree_sans_emploi", "duree_sans_emploi", "Durée sans emploi à l'entrée"),
    _dist("profil.parcours_rue", "parcours_rue", "Parcours de rue"),
    _dist("profil.logement_entree", "logement_entree", "Situation logement à l'entrée"),
    _I("profil.difficultes_entree.{difficulte}", "yes_no", _ACC, "Difficultés rencontrées à l'entrée",
       "Difficultés à l'entrée : réponses Oui, Non et non renseignées pour chaque difficulté, parmi les accompagné·es",
       column="{entry}"),
    _I("profil.nb_difficultes", "buckets", _ACC, "Nombre de difficultés par salarié·e",
       "Nombre de difficultés : nombre de difficultés déclarées Oui par salarié·e (une valeur vide compte comme non)",
       buckets=_nb_diff_buckets, libelle_court="Nombre de difficultés"),
    _I("profil.cumul_3_a_7_difficultes", "rate", _ACC, f"Salarié·es cumulant de {CUMUL_MIN} à {CUMUL_MAX} difficultés",
       f"Cumul de difficultés : salarié·es déclarant de {CUMUL_MIN} à {CUMUL_MAX} difficultés / accompagné·es",
       predicate=f"nb_diff BETWEEN {CUMUL_MIN} AND {CUMUL_MAX}"),
    # -- accompagnement
    _yes_no("accompagnement.acc_concerte", "acc_concerte", "Accompagnement concerté"),
    _yes_no("accompagnement.acc_proximite", "acc_proximite", "Accompagnement de proximité"),
    _I("accompagnement.cp_emploi", "rate", _ACC, "Mobilisation d'un CP emploi",
       "CP emploi : salarié·es pour qui un·e chargé·e de partenariats (CP) emploi a été mobilisé·e / accompagné·es",
       predicate="cp_emploi IS TRUE", libelle_court="Emploi"),
    _I("accompagnement.cp_sante", "rate", ACC_DIFF_SANTE, "Mobilisation d'un CP santé",
       "CP santé : CP santé mobilisé / accompagné·es ayant une difficulté de santé à l'entrée",
       predicate="cp_sante IS TRUE", libelle_court="Santé"),
    _I("accompagnement.cp_logement", "rate", ACC_DIFF_LOGEMENT, "Mobilisation d'un CP logement",
       "CP logement : CP logement mobilisé / accompagné·es ayant une difficulté de logement à l'entrée",
       predicate="cp_logement IS TRUE", libelle_court="Logement"),
    # -- sorties
    _I("sorties.par_categorie", "buckets", _SOR, "Sorties par catégorie",
       "Sorties par catégorie : catégorie du motif de sortie (nomenclature de l'ASP)", buckets=_category_buckets),
    _dist("sorties.par_motif", "motif_sortie", "Sorties par motif", _SOR, "sorti·es"),
    _I("sorties.taux_sorties_dynamiques", "rate", SORTIS_HORS_NEUTRES, "Taux de sorties dynamiques",
       "Taux de sorties dynamiques : sorties en emploi durable, emploi de transition ou sortie positive / toutes "
       "les sorties de l'année hors sorties neutres", predicate="dyn", libelle_court="Sorties dynamiques"),
    _I("sorties.taux_emploi_durable", "rate", SORTIS_HORS_NEUTRES, "Taux d'emploi durable",
       "Taux d'emploi durable : sorties en emploi durable / toutes les sorties de l'année hors sorties neutres",
       predicate=f"cat = '{DURABLE_CATEGORY}'"),
    _I("sorties.part_neutres", "rate", _SOR, "Sorties neutres",
       "Part des sorties neutres : sorties de catégorie Sortie neutre / toutes les sorties de l'année",
       predicate="neutre"),
    _I("sorties.emploi_via_cp", "count", _SOR, "Sorties dynamiques obtenues via les CP emploi",
       "Sorties dynamiques pour lesquelles le CP emploi a contribué à l'accès à l'emploi",
       predicate="dyn AND emploi_via_cp IS TRUE"),
    _I("sorties.duree_parcours.moyenne_mois", "mean", _SOR, "Durée moyenne des parcours",
       "Durée de parcours : (date de sortie − date d'entrée) en jours / 30,4375, moyenne sur les sorti·es",
       column="days", months=True, unite="mois", libelle_court="Durée moyenne"),
    _I("sorties.duree_parcours.mediane_mois", "median", _SOR, "Durée médiane des parcours",
       "Durée médiane de parcours des sorti·es, en mois de 30,4375 jours", column="days", months=True, unite="mois",
       libelle_court="Durée médiane"),
    _I("sorties.duree_parcours.plus_24_mois", "rate", _SOR, "Parcours de plus de 24 mois",
       "Parcours de plus de 24 mois : sorti·es dont le parcours a duré plus de 24 mois / sorti·es",
       predicate=f"NOT ({months_at_most(24)})"),
    _I("sorties.duree_parcours.tranches", "buckets", _SOR, "Répartition des durées de parcours",
       "Durée de parcours par tranche : 6 mois ou moins, plus de 6 à 12 mois, plus de 12 à 24 mois, plus de 24 à "
       "36 mois, plus de 36 mois (mois de 30,4375 jours)", buckets=TRANCHES),
    # -- logement
    _I("logement.matrice", "matrix", SORTIS_LOGEMENT, "Situation logement : de l'entrée à la sortie",
       "Logement à l'entrée → logement à la sortie, salarié·es sorti·es hors sorties neutres dont les deux sont connus",
       columns=("logement_entree", "logement_sortie")),
    _dist("logement.sortie", "logement_sortie", "Situation logement à la sortie", SORTIS_HORS_NEUTRES,
          "sorti·es hors sorties neutres"),
    _I("logement.ameliore", "rate", SORTIS_LOGEMENT, "Situation logement améliorée",
       "Logement amélioré : logement à la sortie mieux classé qu'à l'entrée / sorti·es hors sorties neutres dont "
       "le logement à l'entrée et à la sortie est connu", predicate="rank_out > rank_in", libelle_court="Situation améliorée"),
    _I("logement.degrade", "rate", SORTIS_LOGEMENT, "Situation logement dégradée",
       "Logement dégradé : logement à la sortie moins bien classé qu'à l'entrée / sorti·es hors sorties neutres "
       "dont le logement à l'entrée et à la sortie est connu", predicate="rank_out < rank_in", libelle_court="Situation dégradée"),
    _I("logement.acces_logement_perenne", "rate", SORTIS_LOGEMENT, "Accès à un logement pérenne pendant le parcours",
       "Accès au logement pérenne : sorti·es en logement pérenne qui n'y étaient pas à l'entrée / sorti·es hors "
       "sorties neutres dont le logement à l'entrée et à la sortie est connu",
       predicate="out_perenne AND NOT in_perenne"),
    _I("logement.via_cp", "rate", AMELIORES, "Améliorations obtenues via les CP logement",
       "Amélioration via le CP logement : le CP logement a contribué / salarié·es dont le logement s'est amélioré",
       predicate="logement_via_cp IS TRUE"),
    # -- santé
    _I("sante.ouverture_droits", "rate", _SOR, "Ouverture de droits santé",
       "Ouverture de droits : sorti·es avec au moins un de bilan de santé, médecin traitant, couverture santé, "
       "RQTH obtenue, AAH obtenue / sorti·es", predicate=" OR ".join(f"{c} IS TRUE" for c, _ in _SANTE)),
    *(_I(f"sante.{c}", "rate", _SOR, label[0].upper() + label[1:], f"Sorti·es avec {label} / sorti·es",
         predicate=f"{c} IS TRUE") for c, label in _SANTE),
    # -- résolution
    _I("resolution.{difficulte}", "distribution", SORTIS_DIFF, "Résolution des difficultés identifiées à l'entrée",
       "Résolution des freins : situation à la sortie (résolue, en cours de résolution, non résolue) de chaque "
       "difficulté déclarée à l'entrée, parmi les sorti·es qui l'avaient", column="{exit}"),
    _I("resolution.{difficulte}.resolue_ou_en_cours", "rate", SORTIS_DIFF_REPONDU, "Difficulté résolue ou en cours",
       "Résolue ou en cours : résolue ou en cours de résolution / situation à la sortie renseignée",
       predicate="{exit} IN ('Résolue', 'En cours de résolution')", libelle_court="Résolue ou en cours"),
    # -- post-sortie
    *_post_sortie("emploi_durable", (PS_DURABLE, PS_DURABLE_REPONDU, PS_DURABLE_CONTACTES), "en emploi durable",
                  "Emploi durable"),
    *_post_sortie("logement_perenne", (PS_LOGEMENT, PS_LOGEMENT_REPONDU, PS_LOGEMENT_CONTACTES),
                  "ayant accédé à un logement pérenne pendant le parcours",
                  "Accès à un logement pérenne pendant le parcours"),
    # -- phc (programme PHC whatever --programme says)
    _I("phc.accompagnes", "count", PHC_ACCOMPAGNES, "Salarié·es accompagné·es", "Accompagné·es du programme PHC"),
    _I("phc.entrees", "count", PHC_ENTRES, "Salarié·es entré·es dans l'année", "Entrées du programme PHC"),
    _I("phc.sorties", "count", PHC_SORTIS, "Salarié·es sorti·es dans l'année", "Sorties du programme PHC"),
    _I("phc.heures_entree_moyenne", "mean", PHC_ACCOMPAGNES, "Heures hebdomadaires moyennes à l'entrée (accompagné·es)",
       "Heures hebdomadaires à l'entrée : moyenne sur les accompagné·es PHC dont la valeur est connue",
       column="heures_hebdo_entree", unite="heures"),
    _I("phc.heures_sortie_moyenne", "mean", PHC_SORTIS, "Heures hebdomadaires moyennes à la sortie (sorti·es)",
       "Heures hebdomadaires à la sortie : moyenne sur les sorti·es PHC dont la valeur est connue",
       column="heures_hebdo_sortie", unite="heures"),
    _I("phc.poursuite_cddi", "rate", PHC_SORTIS_HORS_NEUTRES,
       "Poursuite en CDDI dans l'ACI ou embauche dans une autre structure de l'IAE (hors sorties neutres)",
       "Poursuite en CDDI : sorti·es PHC poursuivant en CDDI dans l'ACI ou embauché·es dans une autre structure "
       "de l'IAE / sorti·es PHC hors sorties neutres",
       predicate="motif_sortie IN (" + ", ".join(_lit(m) for m in PHC_POURSUITE_MOTIFS) + ")"),
    _I("phc.duree_moyenne_mois", "mean", PHC_SORTIS, "Durée moyenne des parcours (sorti·es)",
       "Durée moyenne de parcours des sorti·es PHC, en mois de 30,4375 jours", column="days", months=True, unite="mois"),
    _I("phc.nb_aci", "nb_aci", PHC_ACCOMPAGNES, "ACI porteurs du programme PHC", "ACI ayant au moins un·e salarié·e PHC accompagné·e"),
)

PAR_TERRITOIRE: tuple[Reprise, ...] = (
    Reprise("effectifs", "effectifs"),
    Reprise("taux_sorties_dynamiques", "sorties.taux_sorties_dynamiques"),
    Reprise("duree_moyenne_mois", "sorties.duree_parcours.moyenne_mois"),
    Reprise("plus_24_mois", "sorties.duree_parcours.plus_24_mois"),
    Reprise("logement_ameliore", "logement.ameliore"),
    Reprise("acces_logement_perenne", "logement.acces_logement_perenne"),
    Reprise("ouverture_droits", "sante.ouverture_droits"),
    Reprise("acc_concerte", "accompagnement.acc_concerte"),
    Reprise("acc_proximite", "accompagnement.acc_proximite"),
)
EVOLUTION: tuple[Reprise, ...] = (
    Reprise("effectifs", "effectifs"),
    Reprise("taux_sorties_dynamiques", "sorties.taux_sorties_dynamiques"),
    Reprise("orienteur", "profil.orienteur"),
    Reprise("logement_entree", "profil.logement_entree"),
    Reprise("acc_concerte", "accompagnement.acc_concerte"),
    Reprise("acc_proximite", "accompagnement.acc_proximite"),
    Reprise("cp_emploi", "accompagnement.cp_emploi"),
    Reprise("cp_sante", "accompagnement.cp_sante"),
    Reprise("cp_logement", "accompagnement.cp_logement"),
    Reprise("sorties_par_categorie", "sorties.par_categorie"),
    Reprise("logement_ameliore", "logement.ameliore"),
    Reprise("duree_moyenne_mois", "sorties.duree_parcours.moyenne_mois"),
)
EVOLUTION_YEARS = 3  # Y-2, Y-1, Y

_BY_PATH = {i.path: i for i in INDICATEURS}
_SEGMENT = re.compile(r"\{[a-z_]+\}")


def sources(reprise: Reprise) -> tuple[Indicateur, ...]:
    """The indicators a `Reprise` repeats (one, or every indicator of a block)."""
    if reprise.source in _BY_PATH:
        return (_BY_PATH[reprise.source],)
    return tuple(i for i in INDICATEURS if i.path.startswith(reprise.source + "."))


def entry(path: str) -> Indicateur:
    """The indicator of a JSON path (declared, concrete, inside an indicator, or under par_territoire / evolution)."""
    parts = path.split(".")
    if parts[0] in ("par_territoire", "evolution") and len(parts) >= 3:
        reprises = PAR_TERRITOIRE if parts[0] == "par_territoire" else EVOLUTION
        for r in reprises:
            if r.key == parts[2]:
                if r.source in _BY_PATH:
                    return _BY_PATH[r.source]
                return entry(".".join([r.source, *parts[3:]]))
        raise KeyError(path)
    for ind in INDICATEURS:
        declared = ind.path.split(".")
        if len(declared) > len(parts):
            continue
        if all(d == p or _SEGMENT.fullmatch(d) for d, p in zip(declared, parts, strict=False)):
            if len(declared) == len(parts):
                return ind
            # a key inside the indicator: only if no more specific declaration matches
            longer = [j for j in INDICATEURS if j.path.startswith(ind.path + ".")]
            if not any(_matches(j.path, parts) for j in longer):
                return ind
    raise KeyError(path)


def _matches(declared: str, parts: list[str]) -> bool:
    d = declared.split(".")
    return len(d) <= len(parts) and all(a == b or _SEGMENT.fullmatch(a) for a, b in zip(d, parts, strict=False))


def expand(schema: Schema) -> Iterator[tuple[str, Indicateur, dict[str, str]]]:
    """Every concrete indicator for `schema`: (JSON path, declaration, SQL placeholders)."""
    for ind in INDICATEURS:
        if ind.per_difficulty:
            for d in schema.difficulties:
                params = {"entry": d.entry_column, "exit": d.exit_column}
                yield ind.path.replace("{difficulte}", d.key), ind, params
        else:
            yield ind.path, ind, {}


def keys_of(ind: Indicateur, schema: Schema, params: dict[str, str] | None = None) -> list[str]:
    """The dotted keys inside the JSON value of `ind` ("" for a scalar), in the JSON's order."""
    params = params or {}
    if ind.kind in ("count", "mean", "median", "nb_aci"):
        return [""]
    if ind.kind == "rate":
        return ["n", "base"]
    if ind.kind == "yes_no":
        return ["oui", "non", NON_RENSEIGNE]
    if ind.kind == "distribution":
        assert ind.column is not None
        name = params.get(ind.column.strip("{}"), ind.column)
        return [v.key for v in schema.domain_of(schema.column(name)).values] + [NON_RENSEIGNE]
    if ind.kind == "buckets":
        buckets = ind.buckets(schema) if callable(ind.buckets) else ind.buckets
        return [k for k, _ in buckets] + ([NON_RENSEIGNE] if ind.non_renseigne is not None else [])
    if ind.kind == "matrix":
        rows = schema.domain_of(schema.column(ind.columns[0])).values
        cols = schema.domain_of(schema.column(ind.columns[1])).values
        return [f"{a.key}.{b.key}" for a in rows for b in cols]
    if ind.kind == "nb_aci_par_support":
        return [v.key for v in schema.domains["supports"].values] + [NON_RENSEIGNE]
    raise AssertionError(ind.kind)


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def _nest(paths: Iterator[str]) -> list[str]:
    """The leaf paths in the order of a JSON object built by inserting them one by one (nested keys group)."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for key in path.split("."):
            node = node.setdefault(key, {})

    def flat(node: dict[str, Any], prefix: str) -> Iterator[str]:
        for key, child in node.items():
            yield from flat(child, _join(prefix, key)) if child else (_join(prefix, key),)

    return list(flat(tree, ""))


def leaf_paths(schema: Schema, annees: Sequence[int] = (), national: bool = True) -> list[str]:
    """Every leaf of the JSON that the catalogue declares (META_KEYS apart), in the JSON's order: the blocks,
    then ``par_territoire`` (national scope: every territoire of the schema), then ``evolution`` for `annees`."""
    concrete = list(expand(schema))

    def repeated(prefix: str, reprises: tuple[Reprise, ...]) -> Iterator[str]:
        for r in reprises:
            for ind in sources(r):
                for _, i, params in concrete:
                    if i is ind:
                        for key in keys_of(ind, schema, params):
                            yield _join(prefix, r.key + ind.path[len(r.source):], key)

    def every() -> Iterator[str]:
        for path, ind, params in concrete:
            yield from (_join(path, key) for key in keys_of(ind, schema, params))
        if national:
            for t in schema.territoires:
                yield from repeated(f"par_territoire.{t.slug}", PAR_TERRITOIRE)
        for y in annees:
            yield from repeated(f"evolution.{y}", EVOLUTION)

    return _nest(every())
