"""The yearly report: the indicators object of `cvg indicators` rendered as French Markdown and HTML.

render_report(ind, schema) → [rapport-<périmètre>-<année>.md, .html] (and .pdf on request: report/pdf.py)

The report layer never counts: every number comes from the `Indicators` object (indicators.md §4). What it
does is presentation: labels from the schema, French formatting (`fr.py`), shares n / base for display, and
the *secret statistique* of indicators.md §5, applied here and only here (the JSON is never masked):

- while the tables are built, `_Builder` declares every count it shows as a cell of a linear model
  (`secret.model`: one key per quantity, shared by a key figure and the table holding it) and the relations
  a reader knows between them (a distribution sums to its base, Oui + Non + Non renseigné = base, motifs
  sum to their category, territoires to the national row, a rate's count is at most its base…); the table
  cells hold `Affiche` objects (`Nombre`, `Part`, `Taux`) whose text is read once the secret has chosen;
- `secret.suppress.protect` sets each count's status: F free, A primary (1 … seuil − 1, shown ``< seuil``),
  D secondary (shown ``s``), then audits every hidden count by linear programming (`secret.verify`) and
  hides more until none can be narrowed below `secret.model.required_width`;
- a share is shown only when its count and its base are free and the base is at least the seuil
  (``n.s.`` otherwise, ``n.s. (< 5 / 11)``, ``n.s. (s / 961)``); a base of 0 is ``non calculable``;
- seuil 0 turns the secret off.

Charts are drawn after the secret (`_Builder.draw_figures`): a hidden count or a share that is not shown is
never drawn. `Rapport.masquees` is the audit that `cvg report --audit` prints.

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
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from cvg_pipeline import fr
from cvg_pipeline.fr import erreur_systeme
from cvg_pipeline.report.secret.model import (
    COST_HEADLINE,
    COST_MARGIN,
    COST_NON_RENSEIGNE,
    COST_ORDINARY,
    PRIMARY,
    SECONDARY,
    Cell,
    Model,
    required_width,
)
from cvg_pipeline.schema.load import Schema

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Indicators, Rate, YesNo
    from cvg_pipeline.report.charts import Barre

FORMATS = ("md", "html")  # the default of `cvg report`
FORMATS_POSSIBLES = (*FORMATS, "pdf")  # pdf: typeset by report/pdf.py (Typst)
SEUIL_DEFAUT = 5
NON_RENSEIGNE = "non_renseigne"
NS = "n.s."
SECRET_SECONDAIRE = "s"  # a count hidden by the secondary secret (status D)
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

    def mention(self) -> str:
        if self.seuil == 0:
            return "Secret statistique : désactivé pour ce rapport (seuil 0), tous les effectifs sont affichés."
        if self.seuil == 1:
            return "Secret statistique : seuil 1, aucun effectif n'est masqué ; une part sur une base nulle est « non calculable »."
        return (
            f"Secret statistique (seuil {self.seuil}) : un effectif compris entre 1 et {self.seuil - 1} est affiché "
            f"« <{fr.NBSP}{self.seuil} » (secret primaire) ; un effectif affiché « {SECRET_SECONDAIRE} » est masqué au "
            "titre du secret secondaire : avec les totaux publiés, il permettrait de retrouver un effectif masqué "
            f"(un effectif « {SECRET_SECONDAIRE} » n'est jamais nul ; il peut être inférieur à {self.seuil} quand "
            f"« <{fr.NBSP}{self.seuil} » suffirait à le retrouver). Une part est affichée "
            f"« {NS} » (non significatif) quand elle est calculée sur moins de {self.seuil} personnes ou que son "
            "effectif est lui-même masqué (ou sa base) ; les graphiques ne représentent pas ces valeurs. Les "
            "nombres d'ACI (organisations nommées en annexe) ne sont pas masqués."
        )


# -- the view model --------------------------------------------------------------------------------------
@dataclass
class Tableau:
    titre: str
    champ: object  # "Population : … Base : …" (text, or an `Affiche` holding a count)
    entetes: list[str]
    lignes: list[list[object]]  # text, or an `Affiche` (a count or a share, printed once the secret is applied)
    notes: list[object] = field(default_factory=list)
    colonnes_texte: int = 1  # leading text columns; the others are numbers (right-aligned)


@dataclass
class Graphique:
    svg: str  # inline SVG (trusted: produced by matplotlib from our own labels, text escaped by it)
    legende: str  # figcaption


@dataclass
class Carte:
    valeur: object  # text or `Affiche`
    texte: str
    detail: object = ""


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
    masquees: list[CelluleMasquee] = field(default_factory=list)  # the audit of the secret (`cvg report --audit`)


@dataclass(frozen=True)
class CelluleMasquee:
    """One hidden count of the report and what an adversary can reach of it from everything published."""

    cle: str  # the cell's key in the secret model (``sor.motif.deces``)
    libelle: str  # where the reader sees it (« Sorties par motif · Décès »)
    statut: str  # A (primary secret, « < 5 », or « s » when « < 5 » would give it away) or D (secondary, « s »)
    affiche: str  # what the report prints
    minimum: int
    maximum: int | None  # None: no upper bound
    largeur_requise: int

    @property
    def protegee(self) -> bool:
        return (self.maximum is None) or self.maximum - self.minimum >= self.largeur_requise


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


# -- what the report shows of a count or a share, read once the secret statistique has chosen -------------
class Affiche:
    """A number of the report whose text depends on the statuses the secret statistique gives (F, A, D): it
    is declared while the tables are built and printed after `protect` has run. Compares as its text."""

    def texte(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.texte()

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return repr(str(self))

    def __bool__(self) -> bool:
        return bool(str(self))


class Nombre(Affiche):
    """A count: the number, « < seuil » (primary secret) or « s » (secondary secret)."""

    def __init__(self, cell: Cell, seuil: int) -> None:
        self.cell, self.seuil = cell, seuil

    @property
    def key(self) -> str:
        return self.cell.key

    def texte(self) -> str:
        if self.cell.status == PRIMARY and not self.cell.vague:
            return f"<{fr.NBSP}{self.seuil}"
        if self.cell.hidden:
            return SECRET_SECONDAIRE
        return fr.entier(self.cell.value)


class Part(Affiche):
    """A share n / base: ``49 %``; ``n.s.`` when the base is under the seuil or either count is hidden;
    ``non calculable`` for a base of 0."""

    def __init__(self, n: Cell, base: Cell, seuil: int) -> None:
        self.n, self.base, self.seuil = n, base, seuil

    def visible(self) -> bool:
        return self.base.value > 0 and self.base.value >= self.seuil and not self.n.hidden and not self.base.hidden

    def valeur(self) -> float | None:
        """The share in % a chart may draw, or None."""
        return 100.0 * self.n.value / self.base.value if self.visible() else None

    def texte(self) -> str:
        if self.base.value <= 0:
            return NON_CALCULABLE
        return fr.pourcentage(self.n.value, self.base.value) if self.visible() else NS


class Taux(Affiche):
    """``49 % (467 / 961)``; ``n.s. (< 5 / 961)``, ``n.s. (s / 961)``; ``n.s.`` alone when the base is under
    the seuil; ``non calculable`` for a base of 0."""

    def __init__(self, n: Cell, base: Cell, seuil: int) -> None:
        self.part = Part(n, base, seuil)
        self.n, self.base = Nombre(n, seuil), Nombre(base, seuil)

    def texte(self) -> str:
        if self.part.base.value <= 0:
            return NON_CALCULABLE
        if self.part.base.status == PRIMARY and not self.part.base.vague:
            return NS
        return f"{self.part} ({self.n} / {self.base})"


def _secondaire(shown: object) -> bool:
    """A count of a table cell hidden by the secondary secret (alone or in a rate « n.s. (s / 961) »)."""
    if isinstance(shown, Nombre):
        return shown.cell.status == SECONDARY or shown.cell.vague
    if isinstance(shown, Taux):
        return _secondaire(shown.n) or _secondaire(shown.base)
    return False


def _champ(population: str, base: object = None) -> str:
    return f"Population : {population}." + (f" Base : {base}." if base else "")


class _Texte(Affiche):
    """Text made of numbers of the report (a table's « Base : 61 salarié·es », a note), printed late."""

    def __init__(self, make: Callable[[], str]) -> None:
        self.make = make

    def texte(self) -> str:
        return self.make()


def _champ_de(population: str, base: object) -> _Texte:
    """« Population : … Base : … » whose base holds a count."""
    return _Texte(lambda: _champ(population, str(base)))


class _Builder:
    """Builds the tables, cards and (optionally) charts from one indicators object, declaring every count
    it shows and the relations a reader knows between them (`secret.model`); `protect` then chooses what
    to hide and the charts are drawn last, from what stays visible."""

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
        self.m = Model(secret.seuil)
        self.y = ind["annee"]
        self.t: dict[str, Tableau] = {}
        self.g: dict[str, Graphique] = {}
        self._pending: list[tuple[str, str, Callable[[str], str]]] = []
        eff = ind["effectifs"]
        self.n_acc, self.n_sor = eff["accompagnes"], eff["sorties"]
        self.pop_acc = f"salarié·es accompagné·es en {self.y} (en parcours au moins un jour de l'année)"
        self.pop_sor = f"salarié·es sorti·es en {self.y}"

    # -- cells and relations ---------------------------------------------------------------------------
    def c(self, key: str, value: int, label: str, weight: float = COST_ORDINARY) -> Nombre:
        """Declare the count `key` (the same key anywhere in the report is the same number)."""
        cell = self.m.cells.get(key)
        while cell is not None and cell.value != value:  # never seen: a figure computed twice differently
            key += "'"
            cell = self.m.cells.get(key)
        return Nombre(self.m.cell(key, value, label, weight=weight), self.s.seuil)

    def part(self, n: Nombre, base: Nombre) -> Part:
        self.m.share(n.key, base.key)
        return Part(n.cell, base.cell, self.s.seuil)

    def taux(self, n: Nombre, base: Nombre) -> Taux:
        self.m.at_most([n.key], [base.key], f"{n.key} ≤ {base.key}")
        self.m.share(n.key, base.key)
        return Taux(n.cell, base.cell, self.s.seuil)

    def rate(self, key: str, r: Rate, label: str, base: Nombre | None = None, weight: float = COST_ORDINARY,
             base_weight: float = COST_MARGIN) -> Taux:
        """A rate {n, base}: its count `key`, its base (an existing count, or `key.base`)."""
        n = self.c(key, r["n"], label, weight)
        b = base if base is not None and base.cell.value == r["base"] else self.c(
            f"{key}.base", r["base"], f"{label} (base)", base_weight)
        return self.taux(n, b)

    def acc(self) -> Nombre:
        return self.c("eff.acc", self.n_acc, "Effectifs · salarié·es accompagné·es", COST_HEADLINE)

    def sor(self) -> Nombre:
        return self.c("eff.sor", self.n_sor, "Effectifs · salarié·es sorti·es", COST_HEADLINE)

    def counts(self, prefix: str, titre: str, dist: Mapping[str, int], labels: Mapping[str, str],
               total: Nombre | None) -> dict[str, Nombre]:
        """The cells of a distribution (« Non renseigné » cheapest to hide) and, with `total`, Σ = total."""
        cells = {k: self.c(f"{prefix}.{k}", v, f"{titre} · {labels.get(k, k)}",
                           COST_NON_RENSEIGNE if k == NON_RENSEIGNE else COST_ORDINARY) for k, v in dist.items()}
        if total is not None:
            self.m.total(total.key, [n.key for n in cells.values()], f"{titre} : total")
        return cells

    # -- helpers ---------------------------------------------------------------------------------------
    def base_acc(self) -> Affiche:
        n = self.acc()
        return _Texte(lambda: f"{n} salarié·es accompagné·es")

    def base_sor(self) -> Affiche:
        n = self.sor()
        return _Texte(lambda: f"{n} salarié·es sorti·es")

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

    @staticmethod
    def barre(libelle: str, shown: Part | Nombre) -> Barre:
        """A bar drawn from what the report shows (nothing for a hidden count or a share that is not shown)."""
        from cvg_pipeline.report.charts import Barre

        if isinstance(shown, Part):
            return Barre(libelle, shown.valeur, shown)
        cell = shown.cell
        return Barre(libelle, lambda: None if cell.hidden else float(cell.value), shown)

    def figure(self, key: str, legende: str, draw: Callable[[str], str]) -> None:
        """Chart `key` (HTML only), drawn by `draw_figures` once the secret is applied; `draw` receives the
        text alternative."""
        if self.charts:
            self._pending.append((key, legende, draw))

    def draw_figures(self) -> None:
        for key, legende, draw in self._pending:
            self.g[key] = Graphique(draw(legende), legende)

    @staticmethod
    def describe(titre: str, barres: Iterable[Barre]) -> str:
        return f"{titre} — " + " ; ".join(f"{b.libelle} : {b.etiquette}" for b in barres) + "."

    def distribution(self, key: str, titre: str, dist: Mapping[str, int], labels: Mapping[str, str],
                     population: str, base_text: Affiche, chart: bool = False) -> dict[str, Part]:
        cells = self.counts(f"profil.{key}", titre, dist, labels, self.acc())
        parts = {k: self.part(n, self.acc()) for k, n in cells.items()}
        lignes: list[list[object]] = [[labels.get(k, k), cells[k], parts[k]] for k in dist]
        self.t[key] = Tableau(titre, _champ_de(population, base_text), ["Modalité", "Effectif", "Part"], lignes)
        if chart:
            from cvg_pipeline.report import charts

            barres = [self.barre(labels.get(k, k), parts[k]) for k, v in dist.items() if k != NON_RENSEIGNE or v]
            self.figure(key, titre, lambda alt: charts.barres_horizontales(key, self.describe(alt, barres), barres))
        return parts

    def yes_no(self, prefix: str, label: str, yn: YesNo) -> tuple[dict[str, Nombre], Taux]:
        """Oui + Non + Non renseigné = accompagné·es; the rate oui / (oui + non)."""
        cells = self.counts(prefix, label, {"oui": yn["oui"], "non": yn["non"], NON_RENSEIGNE: yn["non_renseigne"]},
                            {"oui": "Oui", "non": "Non", NON_RENSEIGNE: NON_RENSEIGNE_LIBELLE}, self.acc())
        renseigne = self.c(f"{prefix}.renseigne", yn["oui"] + yn["non"], f"{label} · oui + non", COST_MARGIN)
        self.m.total(renseigne.key, [cells["oui"].key, cells["non"].key], f"{label} : renseigné")
        return cells, self.taux(cells["oui"], renseigne)

    def yes_no_rows(self, items: Iterable[tuple[str, str, YesNo]]) -> list[list[object]]:
        rows: list[list[object]] = []
        for prefix, label, yn in items:
            cells, taux = self.yes_no(prefix, label, yn)
            rows.append([label, cells["oui"], cells["non"], cells[NON_RENSEIGNE], taux])
        return rows

    YES_NO_HEADERS: ClassVar[list[str]] = ["", "Oui", "Non", "Non renseigné", "Part des « oui » (oui / renseigné)"]

    # -- sections --------------------------------------------------------------------------------------
    def build(self) -> None:
        self.k: dict[str, Taux] = {}  # the rates the key figures show
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
        self.links()

    def effectifs(self) -> None:
        eff, y = self.ind["effectifs"], self.y
        titre = f"Effectifs {y}"
        _row, cells = self.effectifs_cells("eff", titre, self.ind["effectifs"], self.ind["sorties"]["taux_sorties_dynamiques"],
                                          COST_HEADLINE)
        debut = self.c("eff.debut", eff["file_active_debut"], f"{titre} · en parcours au 1er janvier", COST_HEADLINE)
        self.m.total(cells["acc"].key, [debut.key, cells["ent"].key], "accompagné·es = en parcours au 1er janvier + entré·es")
        rows: list[list[object]] = [
            ["Salarié·es accompagné·es dans l'année", cells["acc"]],
            ["dont en parcours au 1er janvier", debut],
            ["dont entré·es dans l'année", cells["ent"]],
            ["Salarié·es sorti·es dans l'année", cells["sor"]],
            [f"Salarié·es en parcours au {fr.date_longue(date(y, 12, 31))} (file active)", cells["fin"]],
            ["ACI porteurs (au moins un·e salarié·e accompagné·e)", fr.entier(eff["nb_aci"])],
        ]
        self.t["effectifs"] = Tableau(
            titre, _champ(f"salarié·es des ACI du périmètre, année {y}"), ["", "Effectif"], rows,
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
        from cvg_pipeline.report import charts
        from cvg_pipeline.report.charts import Barre

        barres = [Barre(labels.get(k, k), float(v), fr.entier(v)) for k, v in sup.items() if k != NON_RENSEIGNE or v]
        self.figure("supports", "Nombre d'ACI par support d'activité",
                    lambda alt: charts.barres_horizontales("supports", self.describe(alt, barres), barres,
                                                           pourcentages=False, couleur=charts.VERT))

    def profil(self) -> None:
        p, y = self.ind["profil"], self.y
        acc, base = self.pop_acc, self.base_acc()
        age_labels = {**AGE_LIBELLES, NON_RENSEIGNE: NON_RENSEIGNE_LIBELLE}
        panels = (("sexe", self.column_label("sexe"), self.labels("sexe")), ("age_entree", "Âge à l'entrée", age_labels),
                  ("nationalite", self.column_label("nationalite"), self.labels("nationalite")))
        groupes = []
        for key, titre, labels in panels:
            dist: Mapping[str, int] = p[key]  # type: ignore[literal-required]
            parts = self.distribution(key, titre, dist, labels, acc, base)
            groupes.append((titre, [self.barre(labels.get(k, k), parts[k]) for k, v in dist.items()
                                    if k != NON_RENSEIGNE or v]))
            if key == "age_entree":
                self.t[key].notes.append(f"Âge à l'entrée : année d'entrée − année de naissance ({y} ou avant).")
        from cvg_pipeline.report import charts

        self.figure(
            "profil", "Profil des salarié·es accompagné·es : sexe, âge à l'entrée, nationalité (en % des accompagné·es)",
            lambda alt: charts.panneaux(
                "profil", alt + " — " + " ; ".join(self.describe(t, b) for t, b in groupes), groupes
            ),
        )
        self.t["profil_oui_non"] = Tableau(
            "Situation administrative et sociale à l'entrée", _champ_de(acc, base), self.YES_NO_HEADERS,
            self.yes_no_rows((f"profil.{k}", self.column_label(k), p[k]) for k in
                             ("refugie", "ts_exterieur", "formation_etranger", "rsa", "rqth")),
        )
        self.distribution("orienteur", "Orienteurs / prescripteurs", p["orienteur"], self.labels("orienteur"),
                          acc, base, chart=True)
        self.distribution("niveau_formation", "Niveau de formation", p["niveau_formation"],
                          self.labels("niveau_formation"), acc, base)
        self.t["niveau_formation"].notes.append(
            "Niveaux : 1-2 pas de formation ; 3 CAP, BEP ; 4 bac ; 5-8 supérieur au bac."
        )

    def difficultes(self) -> None:
        from cvg_pipeline.indicators.compute import CUMUL_MAX, CUMUL_MIN

        p = self.ind["profil"]
        acc, base = self.pop_acc, self.base_acc()
        self.distribution("duree_sans_emploi", "Durée sans emploi à l'entrée", p["duree_sans_emploi"],
                          self.labels("duree_sans_emploi"), acc, base)
        self.distribution("parcours_rue", "Parcours de rue", p["parcours_rue"], self.labels("parcours_rue"), acc, base)
        self.distribution("logement_entree", "Situation logement à l'entrée", p["logement_entree"],
                          self.labels("logement"), acc, base, chart=True)
        labels = self.difficulty_labels()
        diffs = p["difficultes_entree"]
        rows: list[list[object]] = []
        parts: dict[str, Part] = {}
        self.diff_oui: dict[str, Nombre] = {}
        for k, v in diffs.items():
            cells, taux = self.yes_no(f"diff.{k}", labels.get(k, k), v)
            rows.append([labels.get(k, k), cells["oui"], cells["non"], cells[NON_RENSEIGNE], taux])
            parts[k], self.diff_oui[k] = taux.part, cells["oui"]
        self.t["difficultes_entree"] = Tableau(
            "Difficultés rencontrées à l'entrée", _champ_de(acc, base), ["Difficulté", *self.YES_NO_HEADERS[1:]], rows)
        from cvg_pipeline.report import charts

        barres = [self.barre(labels.get(k, k), parts[k]) for k in diffs]
        self.figure("difficultes_entree", "Part des salarié·es accompagné·es rencontrant chaque difficulté à l'entrée",
                    lambda alt: charts.barres_horizontales("difficultes", self.describe(alt, barres), barres))
        nb = p["nb_difficultes"]
        titre = "Nombre de difficultés par salarié·e"
        cells_nb = self.counts("nbdiff", titre, nb, {}, self.acc())
        parts_nb = {k: self.part(n, self.acc()) for k, n in cells_nb.items()}
        # a reader adds the « Oui » of every difficulty: Σ Oui = Σ j × (people with j difficulties)
        self.m.weighted({n.key: 1 for n in self.diff_oui.values()},
                        {n.key: int(k) for k, n in cells_nb.items() if k.isdigit() and int(k) > 0},
                        "difficultés : Σ oui = Σ j × effectif à j difficultés")
        cumul = p["cumul_3_a_7_difficultes"]
        taux_cumul = self.rate("nbdiff.cumul", cumul, f"{titre} · de {CUMUL_MIN} à {CUMUL_MAX}", self.acc(), COST_MARGIN)
        self.m.total(taux_cumul.n.key, [n.key for k, n in cells_nb.items()
                                        if k.isdigit() and CUMUL_MIN <= int(k) <= CUMUL_MAX], "cumul 3 à 7")
        self.k["cumul"] = taux_cumul
        self.t["nb_difficultes"] = Tableau(
            titre, _champ_de(acc, base), ["Nombre de difficultés", "Effectif", "Part"],
            [[k, cells_nb[k], parts_nb[k]] for k in nb],
            [_Texte(lambda: f"Salarié·es cumulant de 3 à 7 difficultés : {taux_cumul}.")],
        )
        barres_nb = [self.barre(k, parts_nb[k]) for k in nb]
        self.figure("nb_difficultes", "Nombre de difficultés à l'emploi par salarié·e accompagné·e (en %)",
                    lambda alt: charts.barres_verticales("nb-difficultes", self.describe(alt, barres_nb), barres_nb,
                                                         titre_x="Nombre de difficultés à l'entrée"))

    def accompagnement(self) -> None:
        a, s = self.ind["accompagnement"], self.s
        self.t["accompagnement"] = Tableau(
            "Accompagnement renforcé", _champ_de(self.pop_acc, self.base_acc()), self.YES_NO_HEADERS,
            self.yes_no_rows((f"acc.{k}", self.column_label(k), a[k]) for k in
                             ("acc_concerte", "acc_proximite")),
        )
        diff = self.difficulty_labels()
        titre = "Mobilisation des chargé·es de partenariats (CP) et de leur réseau"
        rows = [
            ("Emploi", self.rate("cp.emploi", a["cp_emploi"], f"{titre} · emploi", self.acc()),
             "salarié·es accompagné·es"),
            (diff["sante"], self.rate("cp.sante", a["cp_sante"], f"{titre} · santé", self.diff_oui.get("sante")),
             "salarié·es accompagné·es ayant une difficulté santé à l'entrée"),
            (diff["logement"], self.rate("cp.logement", a["cp_logement"], f"{titre} · logement",
                                         self.diff_oui.get("logement")),
             "salarié·es accompagné·es ayant une difficulté logement à l'entrée"),
        ]
        self.t["cp"] = Tableau(
            titre, _champ(self.pop_acc, "selon le champ, voir la colonne « Base »"),
            ["Champ", "Base", "Salarié·es concerné·es", "Mobilisation du / de la CP"],
            [[champ, base, taux.base, taux] for champ, taux, base in rows],
            colonnes_texte=2,
        )
        from cvg_pipeline.report import charts

        barres = [self.barre(champ, taux.part) for champ, taux, _ in rows]
        self.figure("cp", "Mobilisation des chargé·es de partenariats : emploi, santé, logement",
                    lambda alt: charts.barres_horizontales("cp", self.describe(alt, barres), barres))
        d = self.ind["sorties"]["duree_parcours"]
        titre = "Durée de parcours des salarié·es sorti·es"
        self.k["plus24"] = self.rate("duree.plus24", d["plus_24_mois"], f"{titre} · plus de 24 mois", self.sor())
        self.t["duree"] = Tableau(
            titre, _champ_de(self.pop_sor, self.base_sor()), ["", "Valeur"],
            [
                ["Durée moyenne", s.moyenne(d["moyenne_mois"], self.n_sor, "mois")],
                ["Durée médiane", s.moyenne(d["mediane_mois"], self.n_sor, "mois")],
                ["Parcours de plus de 24 mois", self.k["plus24"]],
            ],
            ["Durée en mois : (date de sortie − date d'entrée) en jours / 30,4375."],
        )
        ps = self.ind["post_sortie"]
        titre = "Accompagnement post-sortie"
        rows_ps: list[list[object]] = []
        self.ps_sortis: dict[str, Nombre] = {}
        for key, label in (("emploi_durable", self._category_label("emploi_durable")),
                           ("logement_perenne", self.labels("logement")["logement_perenne"])):
            b = ps[key]  # type: ignore[literal-required]
            sortis = self.ps_sortis[key] = self.c(f"ps.{key}.sortis", b["sortis"], f"{titre} · {label} · sorti·es")
            contactes = self.rate(f"ps.{key}.contactes", b["contactes"], f"{titre} · {label} · contacté·es", sortis)
            if contactes.base.key != sortis.key:
                self.m.at_most([contactes.base.key], [sortis.key], f"{titre} : renseigné ≤ sorti·es")
            stabilises = self.rate(f"ps.{key}.stabilises", b["stabilises"], f"{titre} · {label} · stabilisé·es",
                                   contactes.n)
            rows_ps.append([label, sortis, contactes, stabilises])
        self.t["post_sortie"] = Tableau(
            titre,
            _champ(f"salarié·es sorti·es en {self.y} depuis 6 à 12 mois au {fr.date_longue(date(self.y, 12, 31))} "
                   "(183 à 365 jours)", "pour chaque ligne, les sorti·es de la fenêtre puis les contacté·es"),
            ["Situation à la sortie", "Sorti·es depuis 6 à 12 mois", "Contacté·es", "Situation stabilisée (parmi les contacté·es)"],
            rows_ps,
        )

    def sorties(self) -> None:
        from cvg_pipeline.indicators.compute import DURABLE_CATEGORY, NEUTRAL_CATEGORY

        so = self.ind["sorties"]
        cats = {c.key: c for c in self.schema.exit_categories}
        dyn = so["taux_sorties_dynamiques"]
        titre = "Sorties par catégorie"
        sor = self.sor()
        hors_neutres = self.c("sor.horsneutres", dyn["base"], "Sorties hors sorties neutres", COST_MARGIN)
        cells = {k: self.c(f"sor.cat.{k}", n, f"{titre} · {cats[k].label if k in cats else k}", COST_MARGIN)
                 for k, n in so["par_categorie"].items()}
        self.m.total(sor.key, [hors_neutres.key, *(n.key for k, n in cells.items() if k == NEUTRAL_CATEGORY)],
                     "sorti·es = hors sorties neutres + sorties neutres")
        dyn_n = self.c("sor.dyn", dyn["n"], "Sorties dynamiques", COST_MARGIN)
        self.m.total(dyn_n.key, [n.key for k, n in cells.items() if k in cats and cats[k].dynamic],
                     "sorties dynamiques = Σ catégories dynamiques")
        self.k["dyn"] = self.taux(dyn_n, hors_neutres)
        durable = self.rate(f"sor.cat.{DURABLE_CATEGORY}", so["taux_emploi_durable"], "Taux d'emploi durable",
                            hors_neutres)
        self.via_cp = self.c("sor.viacp", so["emploi_via_cp"], "Sorties dynamiques via le / la CP emploi")
        self.m.at_most([self.via_cp.key], [dyn_n.key], "via CP ≤ sorties dynamiques")
        rows: list[list[object]] = []
        parts: dict[str, Part] = {}
        for key, n in cells.items():
            cat = cats.get(key)
            label = cat.label if cat else key
            if cat is not None and cat.note:
                rows.append([f"{label} (*)", n, "hors base"])
            else:
                parts[key] = self.part(n, hors_neutres)
                rows.append([label, n, parts[key]])
        neutral_notes: list[object] = [f"(*) {c.label} : {c.note}" for c in self.schema.exit_categories if c.note]
        base_text = _Texte(lambda: f"{hors_neutres} sorties hors sorties neutres")
        self.t["sorties_categories"] = Tableau(
            titre, _champ_de(self.pop_sor, _Texte(lambda: f"{base_text} pour les parts")),
            ["Catégorie de sortie", "Effectif", "Part des sorties hors sorties neutres"], rows, neutral_notes,
        )
        self.t["sorties_taux"] = Tableau(
            "Sorties dynamiques", _champ_de(self.pop_sor, base_text),
            ["", "Valeur"],
            [
                [f"Taux de sorties dynamiques ({', '.join(dynamic_labels(self.schema))})", self.k["dyn"]],
                ["Taux d'emploi durable", durable],
                ["Sorties dynamiques obtenues via le / la CP emploi (effectif)", self.via_cp],
            ],
            list(neutral_notes),
        )
        from cvg_pipeline.report import charts

        barres = [self.barre(cats[k].label if k in cats else k, part) for k, part in parts.items()]
        self.figure("sorties", "Situation à la sortie par catégorie (en % des sorties hors sorties neutres)",
                    lambda alt: charts.barres_horizontales("sorties", self.describe(alt, barres), barres))
        motifs = {v.key: v for v in self.schema.domains["motif_sortie"].values}
        titre = "Sorties par motif"
        labels = {k: motifs[k].label if k in motifs else NON_RENSEIGNE_LIBELLE if k == NON_RENSEIGNE else k
                  for k in so["par_motif"]}
        cells_m = self.counts("sor.motif", titre, so["par_motif"], labels, sor)
        for key, n in cells.items():  # the motifs of a category sum to it
            self.m.total(n.key, [m.key for k, m in cells_m.items() if k in motifs and motifs[k].category == key],
                         f"{titre} : catégorie {key}")
        self.t["sorties_motifs"] = Tableau(
            titre, _champ_de(self.pop_sor, self.base_sor()), ["Motif", "Catégorie", "Effectif", "Part des sorties"],
            [
                [labels[k], cats[str(motifs[k].category)].label if k in motifs and motifs[k].category in cats else "",
                 cells_m[k], self.part(cells_m[k], sor)]
                for k in so["par_motif"]
            ],
            colonnes_texte=2,
        )
        self.cat_cells = cells

    def logement(self) -> None:
        lo = self.ind["logement"]
        labels = self.labels("logement")
        ranks = {v.key: v.rank for v in self.schema.domains["logement"].values}
        pop = f"salarié·es sorti·es en {self.y} dont la situation logement est connue à l'entrée et à la sortie"
        base = self.c("log.base", lo["ameliore"]["base"], "Logement · sorti·es dont la situation est connue",
                      COST_HEADLINE)
        base_text = _Texte(lambda: f"{base} salarié·es sorti·es")
        matrice = lo["matrice"]
        exits = list(next(iter(matrice.values()), {}).keys())
        titre = "Situation logement : de l'entrée (lignes) à la sortie (colonnes)"
        cells = {(a, b): self.c(f"log.m.{a}.{b}", n, f"{titre} · {labels.get(a, a)} → {labels.get(b, b)}")
                 for a, row in matrice.items() for b, n in row.items()}
        self.m.total(base.key, [n.key for n in cells.values()], f"{titre} : total")
        self.t["logement_matrice"] = Tableau(
            titre, _champ_de(pop, base_text),
            ["Entrée ↓ · sortie →", *(labels.get(k, k) for k in exits)],
            [[labels.get(a, a), *(cells[a, b] for b in row)] for a, row in matrice.items()],
            ["Lecture : chaque case compte les salarié·es sorti·es passé·es de la situation de la ligne à celle "
             "de la colonne ; au-dessus de la diagonale, la situation s'améliore."],
        )

        def rank(k: str) -> int:
            r = ranks.get(k)
            return -1 if r is None else int(r)

        ameliore = self.rate("log.ameliore", lo["ameliore"], "Situation logement améliorée", base, COST_MARGIN)
        degrade = self.rate("log.degrade", lo["degrade"], "Situation logement dégradée", base)
        perenne = max(ranks, key=rank)
        acces = self.rate("log.perenne", lo["acces_logement_perenne"], "Accès à un logement pérenne", base, COST_MARGIN)
        via_cp = self.rate("log.viacp", lo["via_cp"], "Améliorations via le / la CP logement", ameliore.n)
        self.m.total(ameliore.n.key, [n.key for (a, b), n in cells.items() if rank(b) > rank(a)], "améliorée")
        self.m.total(degrade.n.key, [n.key for (a, b), n in cells.items() if rank(b) < rank(a)], "dégradée")
        self.m.total(acces.n.key, [n.key for (a, b), n in cells.items() if b == perenne and a != perenne], "pérenne")
        self.k["ameliore"], self.k["perenne"] = ameliore, acces
        self.t["logement_taux"] = Tableau(
            "Évolution de la situation logement", _champ_de(pop, base_text), ["", "Valeur"],
            [
                ["Situation améliorée", ameliore],
                ["Situation dégradée", degrade],
                [f"Accès à un {labels['logement_perenne'].lower()} pendant le parcours", acces],
                ["dont améliorations obtenues via le / la CP logement (parmi les situations améliorées)", via_cp],
            ],
        )
        from cvg_pipeline.report import charts

        rows = list(matrice.items())

        def draw(alt: str) -> str:
            values = [[None if cells[a, b].cell.hidden else float(cells[a, b].cell.value) for b in row] for a, row in rows]
            texts = [[str(cells[a, b]) for b in row] for a, row in rows]
            desc = " ; ".join(f"{labels.get(a, a)} → {labels.get(b, b)} : {cells[a, b]}"
                              for a, row in rows for b, n in row.items() if n)
            return charts.matrice("logement", f"{alt} — {desc}.", [labels.get(a, a) for a, _ in rows],
                                  [labels.get(b, b) for b in exits], values, texts, "Entrée", "Sortie")

        self.figure("logement_matrice", "Situation logement des salarié·es sorti·es, de l'entrée à la sortie", draw)

    def sante(self) -> None:
        sa = self.ind["sante"]
        titre = "Prise en charge santé pendant le parcours"
        items = [("ouverture_droits", "Ouverture de droits santé (au moins une des lignes suivantes)")]
        items += [(k, self.column_label(k)) for k in
                  ("bilan_sante", "medecin_traitant", "couverture_sante", "rqth_obtenue", "aah_obtenue")]
        taux = {k: self.rate(f"sante.{k}", sa[k], f"{titre} · {label}", self.sor(),  # type: ignore[literal-required]
                             COST_MARGIN if k == "ouverture_droits" else COST_ORDINARY)
                for k, label in items}
        ouverture = taux["ouverture_droits"].n.key
        for k, _ in items[1:]:
            self.m.at_most([taux[k].n.key], [ouverture], f"santé : {k} ≤ ouverture de droits")
        self.m.at_most([ouverture], [taux[k].n.key for k, _ in items[1:]], "santé : ouverture ≤ Σ lignes")
        self.k["ouverture"] = taux["ouverture_droits"]
        self.t["sante"] = Tableau(
            titre, _champ_de(self.pop_sor, self.base_sor()), ["", "Salarié·es sorti·es"],
            [[label, taux[k]] for k, label in items],
        )
        from cvg_pipeline.report import charts

        barres = [self.barre(label.split(" (")[0], taux[k].part) for k, label in items]
        self.figure("sante", "Prise en charge santé des salarié·es sorti·es (en %)",
                    lambda alt: charts.barres_horizontales("sante", self.describe(alt, barres), barres,
                                                           couleur=charts.VERT))

    def resolution(self) -> None:
        res = self.ind["resolution"]
        labels = self.difficulty_labels()
        states = self.labels("resolution")
        keys = ("resolue", "en_cours", "non_resolue", NON_RENSEIGNE)
        titre = "Résolution des difficultés identifiées à l'entrée"
        rows: list[list[object]] = []
        lignes: list[tuple[str, list[Part], Part]] = []
        for k, b in res.items():
            label = labels.get(k, k)
            cells = self.counts(f"res.{k}", f"{titre} · {label}", {s: b[s] for s in keys},  # type: ignore[literal-required]
                                states, None)
            taux = self.rate(f"res.{k}.ok", b["resolue_ou_en_cours"], f"{titre} · {label} · résolue ou en cours",
                             weight=COST_MARGIN)
            self.m.total(taux.n.key, [cells["resolue"].key, cells["en_cours"].key], f"{label} : résolue ou en cours")
            self.m.total(taux.base.key, [cells[s].key for s in keys[:3]], f"{label} : situations renseignées")
            everyone = [cells[s].key for s in keys]
            self.m.at_most(everyone, [self.sor().key], f"{label} : sorti·es ayant la difficulté ≤ sorti·es")
            if k in self.diff_oui:
                self.m.at_most(everyone, [self.diff_oui[k].key], f"{label} : sorti·es ≤ accompagné·es (oui)")
            rows.append([label, *(cells[s] for s in keys), taux])
            lignes.append((label, [self.part(cells[s], taux.base) for s in keys[:3]], taux.part))
        self.t["resolution"] = Tableau(
            titre,
            _champ(f"salarié·es sorti·es en {self.y} ayant la difficulté à l'entrée",
                   "pour la dernière colonne, les salarié·es dont la situation à la sortie est renseignée"),
            ["Difficulté", states["resolue"], states["en_cours"], states["non_resolue"], NON_RENSEIGNE_LIBELLE,
             "Résolue ou en cours"],
            rows,
        )
        from cvg_pipeline.report import charts

        series = [states["resolue"], states["en_cours"], states["non_resolue"]]

        def draw(alt: str) -> str:
            drawn = [(label, [p.valeur() for p in parts], str(total)) for label, parts, total in lignes]
            desc = " ; ".join(f"{label} : {text} résolue ou en cours" for label, _, text in drawn)
            return charts.empilees("resolution", f"{alt} — {desc}.", drawn, series)

        self.figure("resolution", "Résolution des difficultés à la sortie (en % des situations renseignées ; "
                    "à droite, la part résolue ou en cours)", draw)

    def phc(self) -> None:
        ph, s = self.ind["phc"], self.s
        titre = f"Parcours PHC {self.y}"
        acc = self.c("phc.acc", ph["accompagnes"], f"{titre} · accompagné·es", COST_HEADLINE)
        ent = self.c("phc.ent", ph["entrees"], f"{titre} · entré·es", COST_HEADLINE)
        sor = self.c("phc.sor", ph["sorties"], f"{titre} · sorti·es", COST_HEADLINE)
        self.m.at_most([ent.key], [acc.key], "PHC : entré·es ≤ accompagné·es")
        self.m.at_most([sor.key], [acc.key], "PHC : sorti·es ≤ accompagné·es")
        poursuite = self.rate("phc.poursuite", ph["poursuite_cddi"], f"{titre} · poursuite en CDDI ou IAE")
        self.m.at_most([poursuite.base.key], [sor.key], "PHC : hors neutres ≤ sorti·es")
        programme = self.ind["perimetre"]["programme"]
        if programme != "CVG":  # PHC parcours are part of the report's population
            for small, big in ((acc, self.acc()), (ent, "eff.ent"), (sor, self.sor())):
                big_key = big if isinstance(big, str) else big.key
                if big_key not in self.m.cells:
                    continue
                if programme == "PHC":  # the same count twice: shown in one place, it is shown in both
                    self.m.total(big_key, [small.key], "PHC : le bloc PHC et les effectifs sont le même effectif")
                else:
                    self.m.at_most([small.key], [big_key], "PHC ≤ ensemble")
        self.t["phc"] = Tableau(
            titre,
            _champ(f"parcours du programme PHC en {self.y}, quel que soit le programme du rapport"),
            ["", "Valeur"],
            [
                ["Salarié·es accompagné·es", acc],
                ["Salarié·es entré·es dans l'année", ent],
                ["Salarié·es sorti·es dans l'année", sor],
                ["Heures hebdomadaires moyennes à l'entrée (accompagné·es)",
                 s.moyenne(ph["heures_entree_moyenne"], ph["accompagnes"], "h")],
                ["Heures hebdomadaires moyennes à la sortie (sorti·es)",
                 s.moyenne(ph["heures_sortie_moyenne"], ph["sorties"], "h")],
                ["Poursuite en CDDI dans l'ACI ou embauche dans une autre structure de l'IAE (hors sorties neutres)",
                 poursuite],
            ],
            ["Moyennes d'heures sur les parcours où elles sont renseignées."],
        )

    EFF_FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("acc", "accompagnes", "accompagné·es"), ("ent", "entrees", "entré·es"), ("sor", "sorties", "sorti·es"),
        ("fin", "file_active_fin", "en parcours au 31 décembre"))

    def effectifs_cells(self, prefix: str, label: str, eff: Mapping[str, Any], dyn: Rate,
                        weight: float) -> tuple[list[object], dict[str, Nombre]]:
        """The counts of one line of effectifs (a year, a territoire) and their relations: accompagné·es =
        file active au 31 décembre + sorti·es; sorties dynamiques ≤ hors neutres ≤ sorti·es."""
        cells = {m: self.c(f"{prefix}.{m}", int(eff[name]), f"{label} · {text}", weight)
                 for m, name, text in self.EFF_FIELDS}
        dyn_key, hn_key = ("sor.dyn", "sor.horsneutres") if prefix == "eff" else (f"{prefix}.dyn", f"{prefix}.hn")
        # a rate's count and base before the counts of the line
        cells["hn"] = self.c(hn_key, dyn["base"], f"{label} · sorties hors sorties neutres", min(weight, COST_MARGIN))
        cells["dyn"] = self.c(dyn_key, dyn["n"], f"{label} · sorties dynamiques", min(weight, COST_MARGIN))
        self.m.total(cells["acc"].key, [cells["fin"].key, cells["sor"].key], f"{label} : accompagné·es = file active + sorti·es")
        self.m.at_most([cells["hn"].key], [cells["sor"].key], f"{label} : hors neutres ≤ sorti·es")
        self.m.at_most([cells["ent"].key], [cells["acc"].key], f"{label} : entré·es ≤ accompagné·es")
        taux = self.taux(cells["dyn"], cells["hn"])
        row: list[object] = [fr.entier(eff["nb_aci"]), cells["acc"], cells["ent"], cells["sor"], cells["fin"], taux]
        return row, cells

    EFFECTIFS_HEADERS: ClassVar[list[str]] = ["ACI", "Accompagné·es", "Entré·es", "Sorti·es", "En parcours au 31 déc.",
                         "Sorties dynamiques"]

    def note_dynamiques(self) -> str:
        return f"Sorties dynamiques : {dynamic_categories(self.schema)}, en part des sorties hors sorties neutres."

    def evolution(self) -> None:
        ev = self.ind["evolution"]
        years = sorted(ev)
        rows: list[list[object]] = []
        per_year: dict[int, dict[str, Nombre]] = {}
        taux: list[Taux] = []
        for y in years:
            prefix = "eff" if int(y) == self.y else f"evo.{y}"
            row, cells = self.effectifs_cells(prefix, f"Évolution · {y}", ev[y]["effectifs"],
                                              ev[y]["taux_sorties_dynamiques"], COST_HEADLINE)
            rows.append([y, *row])
            per_year[int(y)] = cells
            taux.append(row[-1])  # type: ignore[arg-type]
        for year, year_cells in per_year.items():  # accompagné·es = file active of the year before + entré·es
            if year - 1 in per_year:
                self.m.total(year_cells["acc"].key, [per_year[year - 1]["fin"].key, year_cells["ent"].key],
                             f"évolution {year}")
        if self.y - 1 in per_year and "eff.debut" in self.m.cells:
            self.m.total("eff.debut", [per_year[self.y - 1]["fin"].key], "en parcours au 1er janvier = file active")
        self.t["evolution"] = Tableau(
            f"Évolution {years[0]}-{years[-1]}" if years else "Évolution",
            _champ("salarié·es des ACI du périmètre, chaque année civile, sur les mêmes fichiers de reporting"),
            ["Année", *self.EFFECTIFS_HEADERS], rows, [self.note_dynamiques()],
        )
        from cvg_pipeline.report import charts

        series = [(label, [self.barre(y, per_year[int(y)][key]) for y in years])
                  for label, key in (("Accompagné·es", "acc"), ("Entré·es", "ent"), ("Sorti·es", "sor"))]
        barres_taux = [self.barre(y, t.part) for y, t in zip(years, taux, strict=True)]

        def draw(alt: str) -> str:
            desc = " ; ".join(
                f"{y} : {b0.etiquette} accompagné·es, {b1.etiquette} entré·es, {b2.etiquette} sorti·es, "
                f"{t.etiquette} de sorties dynamiques"
                for y, b0, b1, b2, t in zip(years, series[0][1], series[1][1], series[2][1], barres_taux, strict=True)
            )
            return charts.evolution("evolution", f"{alt} — {desc}.", years, series, "Sorties dynamiques", barres_taux)

        self.figure("evolution", "Évolution sur trois ans : effectifs et taux de sorties dynamiques", draw)

    def territoires(self) -> None:
        name = self.territoire_name
        # territoires without any ACI in the data (not deployed yet, or no file) would be lines of zeros:
        # they are named in a note instead
        every = self.ind["par_territoire"] or {}
        par = {k: v for k, v in every.items() if v["effectifs"]["nb_aci"] > 0}
        absents = [name(k) for k in every if k not in par]
        notes: list[object] = [self.note_dynamiques()]
        if absents:
            notes.append("Territoires sans ACI dans les données de l'année : " + ", ".join(absents) + ".")
        rows: list[list[object]] = []
        cells: dict[str, dict[str, Nombre]] = {}
        for k, v in par.items():
            row, cells[k] = self.effectifs_cells(f"terr.{k}", f"Résultats par territoire · {name(k)}", v["effectifs"],
                                                 v["taux_sorties_dynamiques"], COST_ORDINARY)
            rows.append([name(k), *row])
        national = {"acc": "eff.acc", "ent": "eff.ent", "sor": "eff.sor", "fin": "eff.fin", "dyn": "sor.dyn",
                    "hn": "sor.horsneutres"}
        for m, key in national.items():  # the territoires sum to the national figures
            if key in self.m.cells:
                self.m.total(key, [c[m].key for c in cells.values()], f"territoires : Σ {m} = national")
        self.t["territoires"] = Tableau(
            f"Résultats {self.y} par territoire", _champ(self.pop_acc + ", par territoire de l'ACI"),
            ["Territoire", *self.EFFECTIFS_HEADERS], rows, notes,
        )
        from cvg_pipeline.report import charts

        barres = [self.barre(name(k), cells[k]["acc"]) for k in par]
        self.figure("territoires", f"Salarié·es accompagné·es en {self.y} par territoire",
                    lambda alt: charts.barres_horizontales("territoires", self.describe(alt, barres), barres,
                                                           pourcentages=False))

    def links(self) -> None:
        """Relations between sections: a post-sortie group is part of the sorti·es of its category."""
        from cvg_pipeline.indicators.compute import DURABLE_CATEGORY

        cat = getattr(self, "cat_cells", {}).get(DURABLE_CATEGORY)
        if cat is not None and "emploi_durable" in self.ps_sortis:
            self.m.at_most([self.ps_sortis["emploi_durable"].key], [cat.key], "post-sortie ≤ catégorie")
        if "logement_perenne" in self.ps_sortis:
            self.m.at_most([self.ps_sortis["logement_perenne"].key], [self.sor().key], "post-sortie ≤ sorti·es")

    def snapshots(self) -> None:
        rows: list[list[object]] = [[sn["nom"], sn["siret"], self.territoire_name(sn["territoire"]),
                                     fr.date_iso_longue(sn["date_arrete"])] for sn in self.ind["snapshots"]]
        headers = ["ACI", "SIRET", "Territoire", "Données arrêtées au"]
        notes: list[object] = []
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
        eff, duree = ind["effectifs"], ind["sorties"]["duree_parcours"]

        def rate_card(taux: Taux, texte: str) -> Carte:
            # the same as in the tables: « n.s. » with « < 5 / 18 » under it when only the count is masked
            def detail() -> str:
                base = taux.part.base
                shown = f"{taux.n} / {taux.base}" if base.value > 0 and (base.status != PRIMARY or base.vague) else ""
                if str(taux.part) == NS:
                    shown = " — ".join(filter(None, [shown, "non significatif, secret statistique"]))
                return shown

            return Carte(taux.part, texte, _Texte(detail))

        return [
            Carte(self.acc(), "salarié·es accompagné·es"),
            Carte(self.c("eff.ent", eff["entrees"], "Effectifs · entré·es", COST_HEADLINE), "salarié·es entré·es dans l'année"),
            Carte(self.sor(), "salarié·es sorti·es dans l'année"),
            Carte(fr.entier(eff["nb_aci"]), "ACI porteurs du programme"),
            rate_card(self.k["dyn"], "des salarié·es sorti·es (hors sorties neutres) accèdent à l'emploi ou à la formation"),
            Carte(self.via_cp, "salarié·es ont accédé à l'emploi ou à la formation via le / la CP emploi"),
            rate_card(self.k["ameliore"], "des salarié·es sorti·es ont vu leur situation logement s'améliorer"),
            rate_card(self.k["perenne"], "des salarié·es sorti·es ont accédé à un logement pérenne pendant le parcours"),
            rate_card(self.k["ouverture"], "des salarié·es sorti·es ont eu une ouverture de droits santé"),
            Carte(s.moyenne(duree["moyenne_mois"], self.n_sor, "mois"), "durée moyenne des parcours (sorti·es)"),
            rate_card(self.k["plus24"], "des salarié·es sorti·es ont eu un parcours de plus de 24 mois"),
            rate_card(self.k["cumul"], "des salarié·es accompagné·es cumulent de 3 à 7 difficultés à l'entrée"),
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
    audit: bool = True,
) -> Rapport:
    """The view model of the report (every number formatted, the secret applied). `colonnes_absentes`
    (SIRET → labels of the optional columns its file lacked, None when not recorded) adds them to the sources.
    `audit=False`: the same statuses without the final audit's intervals (`masquees` empty; `cvg export`)."""
    from cvg_pipeline.indicators.compute import indicator_warnings
    from cvg_pipeline.report.secret.suppress import protect

    secret = Secret(seuil)
    builder = _Builder(ind, schema, secret, charts, colonnes_absentes)
    builder.build()
    cartes = builder.cartes()
    # statuses F / A / D of every count, then what an adversary can reach
    reach = protect(builder.m) if audit else protect(builder.m, audit=False)
    builder.draw_figures()  # charts only draw what stayed visible
    for table in builder.t.values():  # the footnote of a table with a count hidden by the secondary secret
        if any(_secondaire(c) for row in table.lignes for c in row):
            table.notes.append(
                f"« {SECRET_SECONDAIRE} » : effectif masqué au titre du secret secondaire : avec les totaux publiés, "
                f"il permettrait de retrouver un effectif inférieur à {seuil}."
            )
    masquees = [
        CelluleMasquee(cell.key, cell.label, cell.status, str(Nombre(cell, seuil)), int(iv.lo), None if iv.hi == float("inf") else int(iv.hi),
                       required_width(seuil, cell.status))
        for cell in builder.m.hidden() if audit for iv in [reach[cell.key]]
    ]
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
        cartes=cartes,
        parties=_parties(builder.t, builder.g),
        t=builder.t,
        g=builder.g,
        notes={c.key: f"{c.label} : {c.note}" for c in schema.exit_categories if c.note},
        dynamiques=dynamic_categories(schema),
        masquees=masquees,
    )


# -- the audit of the secret (`cvg report --audit`) ------------------------------------------------------
def _borne(value: int | None) -> str:
    return "+∞" if value is None else fr.entier(value)


def audit_text(ind: Indicators, rapport: Rapport, seuil: int) -> str:
    """One line per hidden count: status, the interval a reader can reach, where it is shown."""
    cells = rapport.masquees
    primaires = sum(c.statut == PRIMARY for c in cells)
    lines = [f"{rapport.titre} — secret statistique (seuil {seuil}) : {fr.pluriel(len(cells), 'effectif masqué', 'effectifs masqués')} "
             f"({primaires} A secret primaire « <{fr.NBSP}{seuil} », {len(cells) - primaires} D secret secondaire "
             f"« {SECRET_SECONDAIRE} »)."]
    if cells:
        lines.append("Statut, affichage, intervalle qu'un lecteur peut déduire de tout ce que le rapport publie, "
                     "largeur exigée, effectif :")
    for c in cells:
        verdict = "" if c.protegee else " — EXPOSÉ"
        lines.append(f"  {c.statut}  {c.affiche:>4}  [{_borne(c.minimum)} ; {_borne(c.maximum)}]  (≥ {c.largeur_requise})"
                     f"{verdict}  {c.libelle}")
    exposes = [c for c in cells if not c.protegee]
    lines.append("Tous les effectifs masqués sont protégés." if not exposes else
                 f"{len(exposes)} effectif(s) masqué(s) insuffisamment protégé(s).")
    return "\n".join(lines)


def audit_json(ind: Indicators, rapport: Rapport, seuil: int) -> str:
    import json

    return json.dumps({
        "perimetre": ind["perimetre"], "annee": ind["annee"], "seuil": seuil,
        "cellules": [{"cle": c.cle, "libelle": c.libelle, "statut": c.statut, "affiche": c.affiche,
                      "min": c.minimum, "max": c.maximum,
                      "largeur_requise": c.largeur_requise, "protegee": c.protegee} for c in rapport.masquees],
    }, ensure_ascii=False, indent=2)


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
        if item not in FORMATS_POSSIBLES:
            raise ValueError(f"format inconnu : « {item} » (formats possibles : md, html, pdf).")
        if item not in out:
            out.append(item)
    if not out:
        raise ValueError("aucun format demandé (formats possibles : md, html, pdf).")
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
    ecraser: bool = False,
) -> list[Path]:
    """Write `rapport-<périmètre>-<année>.<format>` for each format into `out_dir`; return the paths.

    An existing report is never replaced unless `ecraser` (then nothing is written: CvgError); each file is
    written through a temporary file of the tool's own naming (files.write_new_file). A folder that cannot
    be written is a French CvgError (exit 1 on the command line)."""
    from cvg_pipeline.check.errors import CvgError
    from cvg_pipeline.files import FileExists, private_umask, write_new_file

    formats = parse_formats(formats)
    paths = report_paths(ind, formats, out_dir)
    taken = [p for p in paths if p.exists() or p.is_symlink()]
    if taken and not ecraser:
        raise CvgError(_exists_message(taken))
    rapport = build_report(ind, schema, seuil=seuil, charts=bool({"html", "pdf"} & set(formats)),
                           colonnes_absentes=colonnes_absentes)
    contents = [_render(rapport, fmt, ind, schema) for fmt in formats]  # all rendered before anything is written
    try:
        with private_umask():  # 0600, like every file cvg writes
            out_dir.mkdir(parents=True, exist_ok=True)
            for content, path in zip(contents, paths, strict=True):
                write_new_file(path, bytes_writer(content), overwrite=ecraser)
    except FileExists as exc:  # appeared meanwhile
        raise CvgError(_exists_message([exc.path])) from None
    except OSError as exc:
        raise CvgError(
            f"impossible d'écrire le rapport dans « {out_dir} » ({erreur_systeme(exc)}) : "
            "choisissez un autre dossier avec --sortie."
        ) from None
    return paths


def _render(rapport: Rapport, fmt: str, ind: Indicators, schema: Schema) -> str | bytes:
    if fmt == "pdf":
        from cvg_pipeline.report.pdf import render_pdf  # typst is imported only for a PDF

        return render_pdf(rapport, perimetre_libelle(ind, schema))
    return render_text(rapport, fmt)


def bytes_writer(content: str | bytes) -> Callable[[BinaryIO], None]:
    def write(out: BinaryIO) -> None:
        out.write(content.encode("utf-8") if isinstance(content, str) else content)

    return write


def _exists_message(paths: Sequence[Path]) -> str:
    names = ", ".join(f"« {p} »" for p in paths)
    return (
        f"{names} {'existe' if len(paths) == 1 else 'existent'} déjà : aucun rapport n'a été écrit. Ajoutez "
        "--ecraser pour remplacer les rapports, ou choisissez un autre dossier avec --sortie."
    )


def preload(formats: Sequence[str] = FORMATS) -> None:
    """Import the rendering stack in a background thread (matplotlib for the HTML charts: ~0.7 s), to overlap
    with the indicators query, which runs in DuckDB without holding the GIL. Harmless if never used."""
    import threading

    def run() -> None:
        import contextlib

        with contextlib.suppress(Exception):
            import highspy  # noqa: F401  (the audit of the secret statistique)
            import jinja2  # noqa: F401

            if "pdf" in formats:
                import typst  # noqa: F401
            if {"html", "pdf"} & set(formats):
                import matplotlib.backends.backend_svg
                import matplotlib.figure  # noqa: F401

    threading.Thread(target=run, name="cvg-report-preload", daemon=True).start()
