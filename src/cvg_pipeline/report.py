"""The yearly report: the indicators object of `cvg indicators` rendered as French Markdown and HTML.

render_report(ind, schema) → [rapport-<périmètre>-<année>.md, .html]

The report layer never counts: every number comes from the `Indicators` object (indicators.md §4). What it
does is presentation: labels from the schema, French formatting (`fr.py`), shares n / base for display, and
the *secret statistique* of indicators.md §5, applied here and only here (the JSON is never masked):

- a count from 1 to seuil − 1 is shown as ``< seuil``; 0 is shown as 0;
- a share whose base is below the seuil is shown as ``n.s.``; a base of 0 is ``non calculable``;
- a share whose count is masked is also ``n.s.`` (``n.s. (< 5 / 11)``), whatever its base: otherwise
  ``9 % (< 5 / 11)`` would give the masked count back (1 / 11);
- seuil 0 turns the secret off.

Charts receive the masked data only: a masked count or a share that is not shown is never drawn.

The view model (`Tableau`, `Graphique`, `Carte`) is built once and rendered by two jinja2 templates,
``templates/report.md.j2`` and ``templates/report.html.j2`` of the package (autoescaped), so both formats
carry the same numbers. jinja2 and matplotlib are imported inside the functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cvg_pipeline import fr
from cvg_pipeline.fr import erreur_systeme
from cvg_pipeline.schema import Schema

if TYPE_CHECKING:
    from cvg_pipeline.charts import Barre
    from cvg_pipeline.indicators import EffectifsEtTaux, Indicators, Rate, YesNo

FORMATS = ("md", "html")
SEUIL_DEFAUT = 5
NON_RENSEIGNE = "non_renseigne"
NS = "n.s."
NON_CALCULABLE = "non calculable"
# Indicator keys that are definitions of the spec (indicators.md §4), not schema values: their labels.
AGE_LIBELLES = {"moins_26": "Moins de 26 ans", "26_49": "26 à 49 ans", "50_plus": "50 ans et plus"}
NON_RENSEIGNE_LIBELLE = "Non renseigné"


# -- the secret statistique ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Secret:
    """indicators.md §5: counts 1 … seuil − 1 → ``< seuil``; shares whose base < seuil → ``n.s.``; shares
    whose count is masked → ``n.s.`` too (a share and its base would give the count back)."""

    seuil: int = SEUIL_DEFAUT

    def __post_init__(self) -> None:
        if self.seuil < 0:
            raise ValueError("le seuil du secret statistique doit être positif ou nul")

    def masque(self, n: int) -> bool:
        """A count that must not be shown (1 … seuil − 1)."""
        return 0 < n < self.seuil

    def effectif(self, n: int) -> str:
        return f"<{fr.NBSP}{self.seuil}" if self.masque(n) else fr.entier(n)

    def base_affichable(self, base: int) -> bool:
        """A base a share may be computed on: not 0, and not below the seuil."""
        return base > 0 and base >= self.seuil

    def part_affichable(self, n: int, base: int) -> bool:
        """A share that may be shown: its base may, and its count is not masked."""
        return self.base_affichable(base) and not self.masque(n)

    def part(self, n: int, base: int) -> str:
        """``49 %``, ``n.s.`` (base below the seuil, or count masked) or ``non calculable`` (base 0)."""
        if base <= 0:
            return NON_CALCULABLE
        if not self.part_affichable(n, base):
            return NS
        return fr.pourcentage(n, base)

    def taux(self, n: int, base: int) -> str:
        """``49 % (467 / 961)``; ``n.s. (< 5 / 11)`` when the count is masked; ``n.s.`` alone when the base
        is below the seuil; ``non calculable`` for a base of 0."""
        if base <= 0:
            return NON_CALCULABLE
        if not self.base_affichable(base):
            return NS
        return f"{self.part(n, base)} ({self.effectif(n)} / {self.effectif(base)})"

    def rate(self, rate: Rate) -> str:
        return self.taux(rate["n"], rate["base"])

    def moyenne(self, value: float | None, population: int, unite: str = "") -> str:
        """A mean over `population` people: ``n.s.`` below the seuil (a mean of 1 … 4 people is personal)."""
        if value is None or population <= 0:
            return NON_CALCULABLE
        if population < self.seuil:
            return NS
        return fr.decimal(value, 1) + (f"{fr.NBSP}{unite}" if unite else "")

    # chart data: None = not drawn
    def valeur_part(self, n: int, base: int) -> float | None:
        """The share in % to draw, or None when it is not shown or its count is masked."""
        if not self.part_affichable(n, base):
            return None
        return 100.0 * n / base

    def valeur_effectif(self, n: int) -> float | None:
        return None if self.masque(n) else float(n)

    def mention(self) -> str:
        if self.seuil == 0:
            return "Secret statistique : désactivé pour ce rapport (seuil 0), tous les effectifs sont affichés."
        if self.seuil == 1:
            return "Secret statistique : seuil 1, aucun effectif n'est masqué ; une part sur une base nulle est « non calculable »."
        return (
            f"Secret statistique (seuil {self.seuil}) : un effectif compris entre 1 et {self.seuil - 1} est affiché "
            f"« <{fr.NBSP}{self.seuil} » ; une part est affichée « {NS} » (non significatif) quand elle est calculée "
            f"sur moins de {self.seuil} personnes ou que son effectif est lui-même masqué ; les graphiques ne "
            "représentent pas ces valeurs. Les nombres d'ACI (organisations nommées en annexe) ne sont pas masqués."
        )


# -- the view model --------------------------------------------------------------------------------------
@dataclass
class Tableau:
    titre: str
    champ: str  # "Population : … Base : …"
    entetes: list[str]
    lignes: list[list[str]]
    notes: list[str] = field(default_factory=list)
    colonnes_texte: int = 1  # leading text columns; the others are numbers (right-aligned)


@dataclass
class Graphique:
    svg: str  # inline SVG (trusted: produced by matplotlib from our own labels, text escaped by it)
    legende: str  # figcaption


@dataclass
class Carte:
    valeur: str
    texte: str
    detail: str = ""


@dataclass
class Bloc:
    graphique: Graphique | None
    tableaux: list[Tableau]


@dataclass
class Section:
    titre: str
    blocs: list[Bloc]


@dataclass
class Partie:
    id: str
    titre: str
    sections: list[Section]


# The outline of the report, after the programme's 2023 report: part → section → (chart, tables).
Outline = list[tuple[str, str, list[tuple[str, list[tuple[str | None, list[str]]]]]]]
OUTLINE: Outline = [
    ("public", "Public accompagné", [
        ("Effectifs accompagnés", [(None, ["effectifs"]), ("supports", ["supports"])]),
        ("Profil des salarié·es", [("profil", ["sexe", "age_entree", "nationalite"]), (None, ["profil_oui_non"]),
                                   ("orienteur", ["orienteur"]), (None, ["niveau_formation"])]),
        ("Difficultés rencontrées à l'entrée", [
            (None, ["duree_sans_emploi", "parcours_rue"]), ("logement_entree", ["logement_entree"]),
            ("difficultes_entree", ["difficultes_entree"]), ("nb_difficultes", ["nb_difficultes"])]),
    ]),
    ("mise-en-oeuvre", "Mise en œuvre du programme", [
        ("Accompagnement renforcé", [(None, ["accompagnement"])]),
        ("Chargé·es de partenariats", [("cp", ["cp"])]),
        ("Durée de parcours", [(None, ["duree"])]),
        ("Accompagnement post-sortie", [(None, ["post_sortie"])]),
    ]),
    ("impact", "Impact sur les parcours", [
        ("Sorties emploi", [(None, ["sorties_taux"]), ("sorties", ["sorties_categories"]), (None, ["sorties_motifs"])]),
        ("Logement", [(None, ["logement_taux"]), ("logement_matrice", ["logement_matrice"])]),
        ("Santé", [("sante", ["sante"])]),
        ("Résolution des freins", [("resolution", ["resolution"])]),
    ]),
    ("phc", "Premières Heures en Chantier (PHC)", [("Parcours PHC", [(None, ["phc"])])]),
    ("evolution", "Évolution sur trois ans", [("Effectifs et sorties dynamiques", [("evolution", ["evolution"])])]),
    ("territoires", "Résultats par territoire", [("Territoires", [("territoires", ["territoires"])])]),
    ("sources", "Sources et méthode", [("Fichiers de reporting utilisés", [(None, ["snapshots"])])]),
]


def _parties(tables: Mapping[str, Tableau], graphs: Mapping[str, Graphique]) -> list[Partie]:
    """The outline filled with what was built (a part whose tables were not built is left out)."""
    parties = []
    for pid, titre, sections in OUTLINE:
        built = [
            Section(stitre, [Bloc(graphs.get(g) if g else None, [tables[k] for k in keys])
                             for g, keys in blocs if all(k in tables for k in keys)])
            for stitre, blocs in sections
        ]
        built = [sec for sec in built if sec.blocs]
        if built:
            parties.append(Partie(pid, titre, built))
    return parties


@dataclass
class Rapport:
    titre: str
    programme: str
    annee: int
    donnees_au: str
    secret: str
    avertissements: list[str]
    cartes: list[Carte]
    parties: list[Partie]
    t: dict[str, Tableau]
    g: dict[str, Graphique]
    notes: dict[str, str]
    dynamiques: str  # « emploi durable, emploi de transition et sortie positive » (schemas/: dynamique = true)


def dynamic_labels(schema: Schema) -> list[str]:
    """The exit categories that count as *sorties dynamiques* (from `schemas/`), lower-cased for a sentence."""
    return [c.label[:1].lower() + c.label[1:] for c in schema.exit_categories if c.dynamic]


def dynamic_categories(schema: Schema) -> str:
    """The same as a French list: « emploi durable, emploi de transition et sortie positive »."""
    return fr.liste(dynamic_labels(schema))


def territoire_name(schema: Schema, slug: str) -> str:
    """The territoire's name from `schemas/` (its slug if the schema no longer lists it)."""
    try:
        return schema.territoire(slug).name
    except KeyError:
        return slug


def _champ(population: str, base: str | None = None) -> str:
    return f"Population : {population}." + (f" Base : {base}." if base else "")


class _Builder:
    """Builds the tables, cards and (optionally) charts from one indicators object."""

    def __init__(
        self,
        ind: Indicators,
        schema: Schema,
        secret: Secret,
        charts: bool,
        colonnes_absentes: Mapping[str, Sequence[str] | None] | None = None,
    ) -> None:
        self.ind, self.schema, self.s, self.charts = ind, schema, secret, charts
        self.colonnes_absentes = colonnes_absentes
        self.y = ind["annee"]
        self.t: dict[str, Tableau] = {}
        self.g: dict[str, Graphique] = {}
        eff = ind["effectifs"]
        self.n_acc, self.n_sor = eff["accompagnes"], eff["sorties"]
        self.pop_acc = f"salarié·es accompagné·es en {self.y} (en parcours au moins un jour de l'année)"
        self.pop_sor = f"salarié·es sorti·es en {self.y}"

    # -- helpers ---------------------------------------------------------------------------------------
    def base_acc(self) -> str:
        return f"{self.s.effectif(self.n_acc)} salarié·es accompagné·es"

    def base_sor(self) -> str:
        return f"{self.s.effectif(self.n_sor)} salarié·es sorti·es"

    def labels(self, domain: str) -> dict[str, str]:
        out = {v.key: v.label for v in self.schema.domains[domain].values}
        out[NON_RENSEIGNE] = NON_RENSEIGNE_LIBELLE
        return out

    def column_label(self, name: str) -> str:
        return self.schema.column(name).label

    def territoire_name(self, slug: str) -> str:
        return territoire_name(self.schema, slug)

    def difficulty_labels(self) -> dict[str, str]:
        return {d.key: d.label for d in self.schema.difficulties}

    def _category_label(self, key: str) -> str:
        return next(c.label for c in self.schema.exit_categories if c.key == key)

    def barre_part(self, libelle: str, n: int, base: int) -> Barre:
        from cvg_pipeline.charts import Barre

        return Barre(libelle, self.s.valeur_part(n, base), self.s.part(n, base))

    def barre_effectif(self, libelle: str, n: int) -> Barre:
        from cvg_pipeline.charts import Barre

        return Barre(libelle, self.s.valeur_effectif(n), self.s.effectif(n))

    def figure(self, key: str, legende: str, draw: Callable[[str], str]) -> None:
        """Draw chart `key` (HTML only); `draw` receives the text alternative."""
        if self.charts:
            self.g[key] = Graphique(draw(legende), legende)

    @staticmethod
    def describe(titre: str, barres: Iterable[Barre]) -> str:
        return f"{titre} — " + " ; ".join(f"{b.libelle} : {b.etiquette}" for b in barres) + "."

    def distribution(self, key: str, titre: str, dist: Mapping[str, int], labels: Mapping[str, str],
                     base: int, population: str, base_text: str, chart: bool = False) -> None:
        lignes = [[labels.get(k, k), self.s.effectif(v), self.s.part(v, base)] for k, v in dist.items()]
        self.t[key] = Tableau(titre, _champ(population, base_text), ["Modalité", "Effectif", "Part"], lignes)
        if chart:
            from cvg_pipeline import charts

            barres = [self.barre_part(labels.get(k, k), v, base) for k, v in dist.items() if k != NON_RENSEIGNE or v]
            self.figure(key, titre, lambda alt: charts.barres_horizontales(key, self.describe(alt, barres), barres))

    def yes_no_rows(self, items: Iterable[tuple[str, YesNo]]) -> list[list[str]]:
        s = self.s
        return [
            [label, s.effectif(yn["oui"]), s.effectif(yn["non"]), s.effectif(yn["non_renseigne"]),
             s.taux(yn["oui"], yn["oui"] + yn["non"])]
            for label, yn in items
        ]

    YES_NO_HEADERS: ClassVar[list[str]] = ["", "Oui", "Non", "Non renseigné", "Part des « oui » (oui / renseigné)"]

    # -- sections --------------------------------------------------------------------------------------
    def build(self) -> None:
        self.effectifs()
        self.profil()
        self.difficultes()
        self.accompagnement()
        self.sorties()
        self.logement()
        self.sante()
        self.resolution()
        self.phc()
        self.evolution()
        if self.ind["par_territoire"] is not None:
            self.territoires()
        self.snapshots()

    def effectifs(self) -> None:
        eff, s, y = self.ind["effectifs"], self.s, self.y
        rows = [
            ["Salarié·es accompagné·es dans l'année", s.effectif(eff["accompagnes"])],
            ["dont en parcours au 1er janvier", s.effectif(eff["file_active_debut"])],
            ["dont entré·es dans l'année", s.effectif(eff["entrees"])],
            ["Salarié·es sorti·es dans l'année", s.effectif(eff["sorties"])],
            [f"Salarié·es en parcours au {fr.date_longue(date(y, 12, 31))} (file active)",
             s.effectif(eff["file_active_fin"])],
            ["ACI porteurs (au moins un·e salarié·e accompagné·e)", fr.entier(eff["nb_aci"])],
        ]
        self.t["effectifs"] = Tableau(
            f"Effectifs {y}", _champ(f"salarié·es des ACI du périmètre, année {y}"), ["", "Effectif"], rows,
            [f"En parcours au 1er janvier : file active au {fr.date_longue(date(y - 1, 12, 31))}."],
        )
        labels = self.labels("supports")
        sup = eff["nb_aci_par_support"]
        aci = Secret(0)  # ACI are public organisations, listed by name in the report: not masked
        self.t["supports"] = Tableau(
            "ACI par support d'activité",
            _champ(f"ACI ayant accompagné au moins un·e salarié·e en {y}", f"{fr.entier(eff['nb_aci'])} ACI"),
            ["Support d'activité", "ACI", "Part des ACI"],
            [[labels.get(k, k), fr.entier(v), aci.part(v, eff["nb_aci"])] for k, v in sup.items()],
            ["Un ACI peut porter plusieurs supports d'activité : le total peut dépasser le nombre d'ACI."],
        )
        from cvg_pipeline import charts
        from cvg_pipeline.charts import Barre

        barres = [Barre(labels.get(k, k), float(v), fr.entier(v)) for k, v in sup.items() if k != NON_RENSEIGNE or v]
        self.figure("supports", "Nombre d'ACI par support d'activité",
                    lambda alt: charts.barres_horizontales("supports", self.describe(alt, barres), barres,
                                                           pourcentages=False, couleur=charts.VERT))

    def profil(self) -> None:
        p, y = self.ind["profil"], self.y
        acc, base = self.pop_acc, self.base_acc()
        self.distribution("sexe", self.column_label("sexe"), p["sexe"], self.labels("sexe"), self.n_acc, acc, base)
        age_labels = {**AGE_LIBELLES, NON_RENSEIGNE: NON_RENSEIGNE_LIBELLE}
        self.distribution("age_entree", "Âge à l'entrée", p["age_entree"], age_labels, self.n_acc, acc, base)
        self.t["age_entree"].notes.append(f"Âge à l'entrée : année d'entrée − année de naissance ({y} ou avant).")
        self.distribution("nationalite", self.column_label("nationalite"), p["nationalite"], self.labels("nationalite"), self.n_acc,
                          acc, base)
        from cvg_pipeline import charts

        groupes = []
        for key, labels in (("sexe", self.labels("sexe")), ("age_entree", age_labels),
                            ("nationalite", self.labels("nationalite"))):
            dist: Mapping[str, int] = p[key]  # type: ignore[literal-required]
            barres = [self.barre_part(labels.get(k, k), v, self.n_acc) for k, v in dist.items()
                      if k != NON_RENSEIGNE or v]
            groupes.append((self.t[key].titre, barres))
        self.figure(
            "profil", "Profil des salarié·es accompagné·es : sexe, âge à l'entrée, nationalité (en % des accompagné·es)",
            lambda alt: charts.panneaux(
                "profil", alt + " — " + " ; ".join(self.describe(t, b) for t, b in groupes), groupes
            ),
        )
        self.t["profil_oui_non"] = Tableau(
            "Situation administrative et sociale à l'entrée", _champ(acc, base), self.YES_NO_HEADERS,
            self.yes_no_rows((self.column_label(k), p[k]) for k in
                             ("refugie", "ts_exterieur", "formation_etranger", "rsa", "rqth")),
        )
        self.distribution("orienteur", "Orienteurs / prescripteurs", p["orienteur"], self.labels("orienteur"),
                          self.n_acc, acc, base, chart=True)
        self.distribution("niveau_formation", "Niveau de formation", p["niveau_formation"],
                          self.labels("niveau_formation"), self.n_acc, acc, base)
        self.t["niveau_formation"].notes.append(
            "Niveaux : 1-2 pas de formation ; 3 CAP, BEP ; 4 bac ; 5-8 supérieur au bac."
        )

    def difficultes(self) -> None:
        p, s = self.ind["profil"], self.s
        acc, base = self.pop_acc, self.base_acc()
        self.distribution("duree_sans_emploi", "Durée sans emploi à l'entrée", p["duree_sans_emploi"],
                          self.labels("duree_sans_emploi"), self.n_acc, acc, base)
        self.distribution("parcours_rue", "Parcours de rue", p["parcours_rue"], self.labels("parcours_rue"),
                          self.n_acc, acc, base)
        self.distribution("logement_entree", "Situation logement à l'entrée", p["logement_entree"],
                          self.labels("logement"), self.n_acc, acc, base, chart=True)
        labels = self.difficulty_labels()
        diffs = p["difficultes_entree"]
        self.t["difficultes_entree"] = Tableau(
            "Difficultés rencontrées à l'entrée", _champ(acc, base), ["Difficulté", *self.YES_NO_HEADERS[1:]],
            self.yes_no_rows((labels.get(k, k), v) for k, v in diffs.items()),
        )
        from cvg_pipeline import charts

        barres = [self.barre_part(labels.get(k, k), v["oui"], v["oui"] + v["non"]) for k, v in diffs.items()]
        self.figure("difficultes_entree", "Part des salarié·es accompagné·es rencontrant chaque difficulté à l'entrée",
                    lambda alt: charts.barres_horizontales("difficultes", self.describe(alt, barres), barres))
        nb = p["nb_difficultes"]
        cumul = p["cumul_3_a_7_difficultes"]
        self.t["nb_difficultes"] = Tableau(
            "Nombre de difficultés par salarié·e", _champ(acc, base), ["Nombre de difficultés", "Effectif", "Part"],
            [[k, s.effectif(v), s.part(v, self.n_acc)] for k, v in nb.items()],
            [f"Salarié·es cumulant de 3 à 7 difficultés : {s.rate(cumul)}."],
        )
        barres_nb = [self.barre_part(k, v, self.n_acc) for k, v in nb.items()]
        self.figure("nb_difficultes", "Nombre de difficultés à l'emploi par salarié·e accompagné·e (en %)",
                    lambda alt: charts.barres_verticales("nb-difficultes", self.describe(alt, barres_nb), barres_nb,
                                                         titre_x="Nombre de difficultés à l'entrée"))

    def accompagnement(self) -> None:
        a, s = self.ind["accompagnement"], self.s
        self.t["accompagnement"] = Tableau(
            "Accompagnement renforcé", _champ(self.pop_acc, self.base_acc()), self.YES_NO_HEADERS,
            self.yes_no_rows((self.column_label(k), a[k]) for k in ("acc_concerte", "acc_proximite")),
        )
        diff = self.difficulty_labels()
        rows = [
            ("Emploi", a["cp_emploi"], "salarié·es accompagné·es"),
            (diff["sante"], a["cp_sante"], "salarié·es accompagné·es ayant une difficulté santé à l'entrée"),
            (diff["logement"], a["cp_logement"], "salarié·es accompagné·es ayant une difficulté logement à l'entrée"),
        ]
        self.t["cp"] = Tableau(
            "Mobilisation des chargé·es de partenariats (CP) et de leur réseau",
            _champ(self.pop_acc, "selon le champ, voir la colonne « Base »"),
            ["Champ", "Base", "Salarié·es concerné·es", "Mobilisation du / de la CP"],
            [[champ, base, s.effectif(r["base"]), s.rate(r)] for champ, r, base in rows],
            colonnes_texte=2,
        )
        from cvg_pipeline import charts

        barres = [self.barre_part(champ, r["n"], r["base"]) for champ, r, _ in rows]
        self.figure("cp", "Mobilisation des chargé·es de partenariats : emploi, santé, logement",
                    lambda alt: charts.barres_horizontales("cp", self.describe(alt, barres), barres))
        d = self.ind["sorties"]["duree_parcours"]
        self.t["duree"] = Tableau(
            "Durée de parcours des salarié·es sorti·es", _champ(self.pop_sor, self.base_sor()), ["", "Valeur"],
            [
                ["Durée moyenne", s.moyenne(d["moyenne_mois"], self.n_sor, "mois")],
                ["Durée médiane", s.moyenne(d["mediane_mois"], self.n_sor, "mois")],
                ["Parcours de plus de 24 mois", s.rate(d["plus_24_mois"])],
            ],
            ["Durée en mois : (date de sortie − date d'entrée) en jours / 30,4375."],
        )
        ps = self.ind["post_sortie"]
        self.t["post_sortie"] = Tableau(
            "Accompagnement post-sortie",
            _champ(f"salarié·es sorti·es en {self.y} depuis 6 à 12 mois au {fr.date_longue(date(self.y, 12, 31))} "
                   "(183 à 365 jours)", "pour chaque ligne, les sorti·es de la fenêtre puis les contacté·es"),
            ["Situation à la sortie", "Sorti·es depuis 6 à 12 mois", "Contacté·es", "Situation stabilisée (parmi les contacté·es)"],
            [
                [label, s.effectif(b["sortis"]), s.rate(b["contactes"]), s.rate(b["stabilises"])]
                for label, b in ((self._category_label("emploi_durable"), ps["emploi_durable"]),
                                 (self.labels("logement")["logement_perenne"], ps["logement_perenne"]))
            ],
        )

    def sorties(self) -> None:
        so, s = self.ind["sorties"], self.s
        cats = {c.key: c for c in self.schema.exit_categories}
        dyn = so["taux_sorties_dynamiques"]
        base = dyn["base"]
        rows = []
        for key, n in so["par_categorie"].items():
            cat = cats.get(key)
            label = cat.label if cat else key
            if cat is not None and cat.note:
                rows.append([f"{label} (*)", s.effectif(n), "hors base"])
            else:
                rows.append([label, s.effectif(n), s.part(n, base)])
        neutral_notes = [f"(*) {c.label} : {c.note}" for c in self.schema.exit_categories if c.note]
        self.t["sorties_categories"] = Tableau(
            "Sorties par catégorie", _champ(self.pop_sor, f"{s.effectif(base)} sorties hors sorties neutres pour les parts"),
            ["Catégorie de sortie", "Effectif", "Part des sorties hors sorties neutres"], rows, neutral_notes,
        )
        self.t["sorties_taux"] = Tableau(
            "Sorties dynamiques", _champ(self.pop_sor, f"{s.effectif(base)} sorties hors sorties neutres"),
            ["", "Valeur"],
            [
                [f"Taux de sorties dynamiques ({', '.join(dynamic_labels(self.schema))})", s.rate(dyn)],
                ["Taux d'emploi durable", s.rate(so["taux_emploi_durable"])],
                ["Sorties dynamiques obtenues via le / la CP emploi (effectif)", s.effectif(so["emploi_via_cp"])],
            ],
            neutral_notes,
        )
        from cvg_pipeline import charts

        barres = [self.barre_part(cats[k].label if k in cats else k, n, base)
                  for k, n in so["par_categorie"].items() if not (k in cats and cats[k].note)]
        self.figure("sorties", "Situation à la sortie par catégorie (en % des sorties hors sorties neutres)",
                    lambda alt: charts.barres_horizontales("sorties", self.describe(alt, barres), barres))
        motifs = {v.key: v for v in self.schema.domains["motif_sortie"].values}
        self.t["sorties_motifs"] = Tableau(
            "Sorties par motif", _champ(self.pop_sor, self.base_sor()), ["Motif", "Catégorie", "Effectif", "Part des sorties"],
            [
                [motifs[k].label if k in motifs else NON_RENSEIGNE_LIBELLE if k == NON_RENSEIGNE else k,
                 cats[str(motifs[k].category)].label if k in motifs and motifs[k].category in cats else "",
                 s.effectif(n), s.part(n, self.n_sor)]
                for k, n in so["par_motif"].items()
            ],
            colonnes_texte=2,
        )

    def logement(self) -> None:
        lo, s = self.ind["logement"], self.s
        labels = self.labels("logement")
        base = lo["ameliore"]["base"]
        pop = f"salarié·es sorti·es en {self.y} dont la situation logement est connue à l'entrée et à la sortie"
        base_text = f"{s.effectif(base)} salarié·es sorti·es"
        matrice = lo["matrice"]
        exits = list(next(iter(matrice.values()), {}).keys())
        self.t["logement_matrice"] = Tableau(
            "Situation logement : de l'entrée (lignes) à la sortie (colonnes)", _champ(pop, base_text),
            ["Entrée ↓ · sortie →", *(labels.get(k, k) for k in exits)],
            [[labels.get(a, a), *(s.effectif(n) for n in row.values())] for a, row in matrice.items()],
            ["Lecture : chaque case compte les salarié·es sorti·es passé·es de la situation de la ligne à celle "
             "de la colonne ; au-dessus de la diagonale, la situation s'améliore."],
        )
        self.t["logement_taux"] = Tableau(
            "Évolution de la situation logement", _champ(pop, base_text), ["", "Valeur"],
            [
                ["Situation améliorée", s.rate(lo["ameliore"])],
                ["Situation dégradée", s.rate(lo["degrade"])],
                [f"Accès à un {labels['logement_perenne'].lower()} pendant le parcours", s.rate(lo["acces_logement_perenne"])],
                ["dont améliorations obtenues via le / la CP logement (parmi les situations améliorées)",
                 s.rate(lo["via_cp"])],
            ],
        )
        from cvg_pipeline import charts

        rows = list(matrice.items())
        values = [[s.valeur_effectif(n) for n in row.values()] for _, row in rows]
        texts = [[s.effectif(n) for n in row.values()] for _, row in rows]
        desc = " ; ".join(
            f"{labels.get(a, a)} → {labels.get(b, b)} : {s.effectif(n)}" for a, row in rows for b, n in row.items() if n
        )
        self.figure(
            "logement_matrice", "Situation logement des salarié·es sorti·es, de l'entrée à la sortie",
            lambda alt: charts.matrice(
                "logement", f"{alt} — {desc}.", [labels.get(a, a) for a, _ in rows],
                [labels.get(b, b) for b in exits], values, texts, "Entrée", "Sortie",
            ),
        )

    def sante(self) -> None:
        sa, s = self.ind["sante"], self.s
        rows = [("Ouverture de droits santé (au moins une des lignes suivantes)", sa["ouverture_droits"])]
        rows += [(self.column_label(k), sa[k]) for k in
                 ("bilan_sante", "medecin_traitant", "couverture_sante", "rqth_obtenue", "aah_obtenue")]
        self.t["sante"] = Tableau(
            "Prise en charge santé pendant le parcours", _champ(self.pop_sor, self.base_sor()), ["", "Salarié·es sorti·es"],
            [[label, s.rate(r)] for label, r in rows],
        )
        from cvg_pipeline import charts

        barres = [self.barre_part(label.split(" (")[0], r["n"], r["base"]) for label, r in rows]
        self.figure("sante", "Prise en charge santé des salarié·es sorti·es (en %)",
                    lambda alt: charts.barres_horizontales("sante", self.describe(alt, barres), barres,
                                                           couleur=charts.VERT))

    def resolution(self) -> None:
        res, s = self.ind["resolution"], self.s
        labels = self.difficulty_labels()
        states = self.labels("resolution")
        self.t["resolution"] = Tableau(
            "Résolution des difficultés identifiées à l'entrée",
            _champ(f"salarié·es sorti·es en {self.y} ayant la difficulté à l'entrée",
                   "pour la dernière colonne, les salarié·es dont la situation à la sortie est renseignée"),
            ["Difficulté", states["resolue"], states["en_cours"], states["non_resolue"], NON_RENSEIGNE_LIBELLE,
             "Résolue ou en cours"],
            [
                [labels.get(k, k), s.effectif(b["resolue"]), s.effectif(b["en_cours"]), s.effectif(b["non_resolue"]),
                 s.effectif(b["non_renseigne"]), s.rate(b["resolue_ou_en_cours"])]
                for k, b in res.items()
            ],
        )
        from cvg_pipeline import charts

        lignes = []
        for k, b in res.items():
            base = b["resolue_ou_en_cours"]["base"]
            parts = [s.valeur_part(n, base) for n in (b["resolue"], b["en_cours"], b["non_resolue"])]
            lignes.append((labels.get(k, k), parts, s.part(b["resolue_ou_en_cours"]["n"], base)))
        series = [states["resolue"], states["en_cours"], states["non_resolue"]]
        desc = " ; ".join(f"{label} : {text} résolue ou en cours" for label, _, text in lignes)
        self.figure("resolution", "Résolution des difficultés à la sortie (en % des situations renseignées ; "
                    "à droite, la part résolue ou en cours)",
                    lambda alt: charts.empilees("resolution", f"{alt} — {desc}.", lignes, series))

    def phc(self) -> None:
        ph, s = self.ind["phc"], self.s
        self.t["phc"] = Tableau(
            f"Parcours PHC {self.y}",
            _champ(f"parcours du programme PHC en {self.y}, quel que soit le programme du rapport"),
            ["", "Valeur"],
            [
                ["Salarié·es accompagné·es", s.effectif(ph["accompagnes"])],
                ["Salarié·es entré·es dans l'année", s.effectif(ph["entrees"])],
                ["Salarié·es sorti·es dans l'année", s.effectif(ph["sorties"])],
                ["Heures hebdomadaires moyennes à l'entrée (accompagné·es)",
                 s.moyenne(ph["heures_entree_moyenne"], ph["accompagnes"], "h")],
                ["Heures hebdomadaires moyennes à la sortie (sorti·es)",
                 s.moyenne(ph["heures_sortie_moyenne"], ph["sorties"], "h")],
                ["Poursuite en CDDI dans l'ACI ou embauche dans une autre structure de l'IAE (hors sorties neutres)",
                 s.rate(ph["poursuite_cddi"])],
            ],
            ["Moyennes d'heures sur les parcours où elles sont renseignées."],
        )

    def _effectifs_rows(self, items: Iterable[tuple[str, EffectifsEtTaux]]) -> list[list[str]]:
        s = self.s
        return [
            [label, fr.entier(b["effectifs"]["nb_aci"]), s.effectif(b["effectifs"]["accompagnes"]),
             s.effectif(b["effectifs"]["entrees"]), s.effectif(b["effectifs"]["sorties"]),
             s.effectif(b["effectifs"]["file_active_fin"]), s.rate(b["taux_sorties_dynamiques"])]
            for label, b in items
        ]

    EFFECTIFS_HEADERS: ClassVar[list[str]] = ["ACI", "Accompagné·es", "Entré·es", "Sorti·es", "En parcours au 31 déc.",
                         "Sorties dynamiques"]
    def note_dynamiques(self) -> str:
        return f"Sorties dynamiques : {dynamic_categories(self.schema)}, en part des sorties hors sorties neutres."

    def evolution(self) -> None:
        ev = self.ind["evolution"]
        years = sorted(ev)
        self.t["evolution"] = Tableau(
            f"Évolution {years[0]}-{years[-1]}" if years else "Évolution",
            _champ("salarié·es des ACI du périmètre, chaque année civile, sur les mêmes fichiers de reporting"),
            ["Année", *self.EFFECTIFS_HEADERS], self._effectifs_rows((y, ev[y]) for y in years),
            [self.note_dynamiques()],
        )
        from cvg_pipeline import charts

        series = [
            (label, [self.barre_effectif(y, ev[y]["effectifs"][key]) for y in years])  # type: ignore[literal-required]
            for label, key in (("Accompagné·es", "accompagnes"), ("Entré·es", "entrees"), ("Sorti·es", "sorties"))
        ]
        taux = [self.barre_part(y, ev[y]["taux_sorties_dynamiques"]["n"], ev[y]["taux_sorties_dynamiques"]["base"])
                for y in years]
        desc = " ; ".join(
            f"{y} : {b0.etiquette} accompagné·es, {b1.etiquette} entré·es, {b2.etiquette} sorti·es, "
            f"{t.etiquette} de sorties dynamiques"
            for y, b0, b1, b2, t in zip(years, series[0][1], series[1][1], series[2][1], taux, strict=True)
        )
        self.figure("evolution", "Évolution sur trois ans : effectifs et taux de sorties dynamiques",
                    lambda alt: charts.evolution("evolution", f"{alt} — {desc}.", years, series,
                                                 "Sorties dynamiques", taux))

    def territoires(self) -> None:
        name = self.territoire_name
        # territoires without any ACI in the data (not deployed yet, or no file) would be lines of zeros:
        # they are named in a note instead
        every = self.ind["par_territoire"] or {}
        par = {k: v for k, v in every.items() if v["effectifs"]["nb_aci"] > 0}
        absents = [name(k) for k in every if k not in par]
        notes = [self.note_dynamiques()]
        if absents:
            notes.append("Territoires sans ACI dans les données de l'année : " + ", ".join(absents) + ".")
        self.t["territoires"] = Tableau(
            f"Résultats {self.y} par territoire", _champ(self.pop_acc + ", par territoire de l'ACI"),
            ["Territoire", *self.EFFECTIFS_HEADERS], self._effectifs_rows((name(k), v) for k, v in par.items()),
            notes,
        )
        from cvg_pipeline import charts

        barres = [self.barre_effectif(name(k), v["effectifs"]["accompagnes"]) for k, v in par.items()]
        self.figure("territoires", f"Salarié·es accompagné·es en {self.y} par territoire",
                    lambda alt: charts.barres_horizontales("territoires", self.describe(alt, barres), barres,
                                                           pourcentages=False))

    def snapshots(self) -> None:
        rows = [[sn["nom"], sn["siret"], self.territoire_name(sn["territoire"]),
                 fr.date_iso_longue(sn["date_arrete"])] for sn in self.ind["snapshots"]]
        headers = ["ACI", "SIRET", "Territoire", "Données arrêtées au"]
        notes = []
        if self.colonnes_absentes is not None:  # what each file's header lacked (cvg suivi records it)
            absent = self.colonnes_absentes
            headers.append("Colonnes facultatives absentes du fichier")
            for row, sn in zip(rows, self.ind["snapshots"], strict=True):
                cols = absent.get(sn["siret"])
                row.append("non connues (fichier intégré avant leur relevé)" if cols is None
                           else fr.liste([f"« {c} »" for c in cols]) if cols else "aucune")
            notes.append("Une colonne absente du fichier d'un ACI ne dit rien de ses salarié·es : leurs valeurs "
                         "comptent comme « non renseigné » dans les indicateurs qui l'utilisent.")
        self.t["snapshots"] = Tableau(
            "Fichiers de reporting utilisés", _champ("pour chaque ACI, son dernier fichier arrêté à la date demandée"),
            headers, rows, notes=notes, colonnes_texte=len(headers),
        )

    # -- key figures ------------------------------------------------------------------------------------
    def cartes(self) -> list[Carte]:
        ind, s = self.ind, self.s
        eff, so, lo, sa = ind["effectifs"], ind["sorties"], ind["logement"], ind["sante"]

        def rate_card(r: Rate, texte: str) -> Carte:
            # the same as in the tables: « n.s. » with « < 5 / 18 » under it when only the count is masked
            value = s.part(r["n"], r["base"])
            detail = f"{s.effectif(r['n'])} / {s.effectif(r['base'])}" if s.base_affichable(r["base"]) else ""
            if value == NS:
                detail = " — ".join(filter(None, [detail, "non significatif, secret statistique"]))
            return Carte(value, texte, detail)

        duree = so["duree_parcours"]
        return [
            Carte(s.effectif(eff["accompagnes"]), "salarié·es accompagné·es"),
            Carte(s.effectif(eff["entrees"]), "salarié·es entré·es dans l'année"),
            Carte(s.effectif(eff["sorties"]), "salarié·es sorti·es dans l'année"),
            Carte(fr.entier(eff["nb_aci"]), "ACI porteurs du programme"),
            rate_card(so["taux_sorties_dynamiques"],
                      "des salarié·es sorti·es (hors sorties neutres) accèdent à l'emploi ou à la formation"),
            Carte(s.effectif(so["emploi_via_cp"]),
                  "salarié·es ont accédé à l'emploi ou à la formation via le / la CP emploi"),
            rate_card(lo["ameliore"], "des salarié·es sorti·es ont vu leur situation logement s'améliorer"),
            rate_card(lo["acces_logement_perenne"],
                      "des salarié·es sorti·es ont accédé à un logement pérenne pendant le parcours"),
            rate_card(sa["ouverture_droits"], "des salarié·es sorti·es ont eu une ouverture de droits santé"),
            Carte(s.moyenne(duree["moyenne_mois"], self.n_sor, "mois"), "durée moyenne des parcours (sorti·es)"),
            rate_card(duree["plus_24_mois"], "des salarié·es sorti·es ont eu un parcours de plus de 24 mois"),
            rate_card(ind["profil"]["cumul_3_a_7_difficultes"],
                      "des salarié·es accompagné·es cumulent de 3 à 7 difficultés à l'entrée"),
        ]


# -- perimeter and file names ----------------------------------------------------------------------------
def perimetre_slug(ind: Indicators) -> str:
    """`national`, the territoire slug, or `aci-<siret>` (the file name part)."""
    p = ind["perimetre"]
    if p["niveau"] == "territoire" and p["territoire"]:
        return p["territoire"]
    if p["niveau"] == "aci" and p["siret"]:
        return f"aci-{p['siret']}"
    return "national"


def perimetre_libelle(ind: Indicators, schema: Schema) -> str:
    p = ind["perimetre"]
    if p["niveau"] == "territoire" and p["territoire"]:
        return f"territoire {territoire_name(schema, p['territoire'])}"
    if p["niveau"] == "aci" and p["siret"]:
        noms = {sn["nom"] for sn in ind["snapshots"] if sn["siret"] == p["siret"]}
        return f"ACI {' / '.join(sorted(noms))} (SIRET {p['siret']})" if noms else f"ACI SIRET {p['siret']}"
    return "national"


def programme_libelle(ind: Indicators, schema: Schema) -> str:
    prog = ind["perimetre"]["programme"]
    labels = schema.domains["programme"].labels
    if prog in labels:
        return f"programme {prog}"
    return "programmes " + fr.liste(labels)


def build_report(
    ind: Indicators,
    schema: Schema,
    *,
    seuil: int = SEUIL_DEFAUT,
    charts: bool = True,
    colonnes_absentes: Mapping[str, Sequence[str] | None] | None = None,
) -> Rapport:
    """The view model of the report (every number formatted, the secret applied). `colonnes_absentes`
    (SIRET → labels of the optional columns its file lacked, None when not recorded) adds them to the sources."""
    from cvg_pipeline.indicators import indicator_warnings

    secret = Secret(seuil)
    builder = _Builder(ind, schema, secret, charts, colonnes_absentes)
    builder.build()
    donnees_au = fr.date_iso_longue(ind["donnees_au"]) if ind["donnees_au"] else "aucune donnée"
    perimetre = perimetre_libelle(ind, schema)
    titre = f"Rapport d'activité {ind['annee']} — {perimetre[0].upper()}{perimetre[1:]}"
    return Rapport(
        titre=titre,
        programme=programme_libelle(ind, schema),
        annee=ind["annee"],
        donnees_au=donnees_au,
        secret=secret.mention(),
        avertissements=indicator_warnings(ind),
        cartes=builder.cartes(),
        parties=_parties(builder.t, builder.g),
        t=builder.t,
        g=builder.g,
        notes={c.key: f"{c.label} : {c.note}" for c in schema.exit_categories if c.note},
        dynamiques=dynamic_categories(schema),
    )


# -- rendering -------------------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])|<(?=[A-Za-z/!?])|&(?=#?\w+;)")


def md_escape(text: object) -> str:
    """Make text inert in Markdown (and in the HTML a Markdown renderer may let through)."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), str(text))


def _environment(kind: str) -> Any:
    import jinja2
    import markupsafe

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cvg_pipeline", "templates"),  # package data, in the wheel too
        autoescape=(kind == "html"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.globals["Markup"] = markupsafe.Markup
    return env


def render_text(rapport: Rapport, fmt: str) -> str:
    """The report as Markdown (`md`) or HTML (`html`) text."""
    env = _environment(fmt)
    text: str = env.get_template(f"report.{fmt}.j2").render(r=rapport)
    return text


def parse_formats(raw: str | Sequence[str]) -> tuple[str, ...]:
    """`md,html` → ("md", "html"); ValueError (French) on an unknown format."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in (i.strip().lower() for i in items):
        if not item:
            continue
        if item == "markdown":
            item = "md"
        if item not in FORMATS:
            raise ValueError(f"format inconnu : « {item} » (formats possibles : md, html).")
        if item not in out:
            out.append(item)
    if not out:
        raise ValueError("aucun format demandé (formats possibles : md, html).")
    return tuple(out)


def report_paths(ind: Indicators, formats: Sequence[str], out_dir: Path) -> list[Path]:
    stem = f"rapport-{perimetre_slug(ind)}-{ind['annee']}"
    return [out_dir / f"{stem}.{fmt}" for fmt in formats]


def render_report(
    ind: Indicators,
    schema: Schema,
    *,
    formats: Sequence[str] = FORMATS,
    out_dir: Path = Path("rapports"),
    seuil: int = SEUIL_DEFAUT,
    colonnes_absentes: Mapping[str, Sequence[str] | None] | None = None,
) -> list[Path]:
    """Write `rapport-<périmètre>-<année>.<format>` for each format into `out_dir`; return the paths.

    A folder that cannot be written is a French CvgError (exit 1 on the command line)."""
    from cvg_pipeline.errors import CvgError

    formats = parse_formats(formats)
    rapport = build_report(ind, schema, seuil=seuil, charts="html" in formats, colonnes_absentes=colonnes_absentes)
    paths = report_paths(ind, formats, out_dir)
    from cvg_pipeline.files import private_umask

    try:
        with private_umask():  # 0600, like every file cvg writes
            out_dir.mkdir(parents=True, exist_ok=True)
            for fmt, path in zip(formats, paths, strict=True):
                tmp = path.with_name(path.name + ".tmp")
                try:
                    tmp.write_text(render_text(rapport, fmt), encoding="utf-8")
                    tmp.replace(path)
                finally:
                    tmp.unlink(missing_ok=True)  # a full disk, Ctrl-C: no half-written `.tmp` left
    except OSError as exc:
        raise CvgError(
            f"impossible d'écrire le rapport dans « {out_dir} » ({erreur_systeme(exc)}) : "
            "choisissez un autre dossier avec --sortie."
        ) from None
    return paths


def preload(formats: Sequence[str] = FORMATS) -> None:
    """Import the rendering stack in a background thread (matplotlib for the HTML charts: ~0.7 s), to overlap
    with the indicators query, which runs in DuckDB without holding the GIL. Harmless if never used."""
    import threading

    def run() -> None:
        import contextlib

        with contextlib.suppress(Exception):
            import jinja2  # noqa: F401

            if "html" in formats:
                import matplotlib.backends.backend_svg
                import matplotlib.figure  # noqa: F401

    threading.Thread(target=run, name="cvg-report-preload", daemon=True).start()
