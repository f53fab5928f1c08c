"""The yearly report: the indicators object of `cvg indicators` rendered as French Markdown and HTML.

render_report(ind, schema) → [rapport-<périmètre>-<année>.md, .html] (and .pdf on request: report_pdf.py)

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
FORMATS_POSSIBLES = (*FORMATS, "pdf")  # pdf: typeset by report_pdf.py (Typst)
SEUIL_DEFAUT = 5
NON_RENSEIGNE = "non_renseigne"
NS = "n.s."
SECRET_SECONDAIRE = "s"  # a count hidden by the secondary secret (status D)
NON_CALCULABLE = "non calculable"
# Indicator keys that are definitions of the spec (indicators.md §4), not schema values: their labels.
AGE_LIBELLES = {"moins_26": "Moins de 26 ans", "26_49": "26 à 49 ans", "50_plus": "50 ans et plus"}
NON_RENSEIGNE_LIBELLE = "Non renseigné"
TRANCHES_LIBELLES = {"0_6": "6 mois ou moins", "6_12": "6 à 12 mois", "12_24": "12 à 24 mois", "24_36": "24 à 36 mois",
                     "36_plus": "Plus de 36 mois"}


def pourcentage(n: int, base: int) -> str:
    """``49 %``; a share of a non-zero count that rounds to 0 is ``< 1 %`` (7 people of 3 448 are not
    « 0 % », indicators.md §5.2). `base` > 0."""
    if n > 0 and fr.pourcentage_valeur(n, base) == 0:
        return f"<{fr.NBSP}1{fr.NBSP}%"
    return fr.pourcentage(n, base)


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
        return pourcentage(n, base)

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
    indicateurs: list[str] = field(default_factory=list)  # the catalogue paths of the figures it shows


@dataclass
class Graphique:
    svg: str  # inline SVG (trusted: produced by matplotlib from our own labels, text escaped by it)
    legende: str  # figcaption


@dataclass
class Carte:
    valeur: object  # text or `Affiche`
    texte: str
    detail: object = ""
    national: object = ""  # a territoire report: the same figure nationally (« national 49 % »), else ""


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
    cartes: list[Carte] = field(default_factory=list)  # the key figures of a part (the PHC part's), else []


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
    ligne_date: str = ""  # « Année 2023 — fichiers arrêtés entre le 31/12/2023 et le 29/02/2024 »


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
        return pourcentage(self.n.value, self.base.value) if self.visible() else NS


class Taux(Affiche):
    """``49 % (467 / 961)``; ``n.s. (< 5 / 961)``, ``n.s. (s / 961)``; ``n.s.`` alone when the base is under
    the seuil; ``non calculable`` for a base of 0."""

    def __init__(self, n: Cell, base: Cell, seuil: int, nr: Part | None = None) -> None:
        self.part = Part(n, base, seuil)
        self.n, self.base = Nombre(n, seuil), Nombre(base, seuil)
        self.nr = nr  # the share of « non renseigné » when it exceeds 10 % of the population (§5.2)

    def texte(self) -> str:
        if self.part.base.value <= 0:
            return NON_CALCULABLE
        if self.part.base.status == PRIMARY and not self.part.base.vague:
            return NS
        flag = f" — {self.nr} non renseigné" if self.nr is not None and self.nr.visible() else ""
        return f"{self.part} ({self.n} / {self.base}){flag}"


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


@dataclass
class NonReponse:
    """A figure whose « non renseigné » exceed 10 % of its population (indicators.md §5.2)."""

    indicateur: str  # « Réfugié·e (CVG) »
    colonne: str | None  # the schema column whose absence from a file makes it « non renseigné »
    part: Part  # non renseigné / population


@dataclass(frozen=True)
class _Libelles:
    """What a part of the report calls its programme (labels of the cells in the audit, key figures)."""

    partie: str = ""  # « Programme PHC · », prefix of the audit's labels; "" for the main part
    programme: str = ""  # « du programme CVG » in « ACI porteurs du programme CVG »
    court: str = ""  # « (PHC) » after an indicator's name in the sources


class _Base:
    """Builds the tables, key figures and (optionally) charts of one indicators object, declaring every count
    it shows and the relations a reader knows between them (`secret.model`). Several builders share one
    model (the CVG part, the PHC part, the national figures beside a territoire's): the keys of all but the
    report's main indicators carry a prefix (``phc:``, ``nat:``), so the same quantity is one cell."""

    def __init__(
        self,
        ind: Indicators,
        schema: Schema,
        secret: Secret,
        charts: bool,
        *,
        model: Model,
        prefix: str = "",
        libelles: _Libelles = _Libelles(),
        colonnes_absentes: Mapping[str, Sequence[str] | None] | None = None,
    ) -> None:
        self.ind, self.schema, self.s, self.charts = ind, schema, secret, charts
        self.colonnes_absentes = colonnes_absentes
        self.m, self.prefix, self.lib = model, prefix, libelles
        self.y = ind["annee"]
        self.t: dict[str, Tableau] = {}
        self.g: dict[str, Graphique] = {}
        self._pending: list[tuple[str, str, Callable[[str], str]]] = []
        self.k: dict[str, Taux] = {}  # the rates the key figures show
        self.nr: list[NonReponse] = []
        self.diff_oui: dict[str, Nombre] = {}
        self.orders: dict[str, list[str]] = {}  # the row order of each distribution table
        self.years: dict[int, dict[str, Nombre]] = {}  # the effectifs cells of each year of the evolution
        eff = ind["effectifs"]
        self.n_acc, self.n_sor = eff["accompagnes"], eff["sorties"]
        self.pop_acc = f"salarié·es accompagné·es en {self.y} (en parcours au moins un jour de l'année)"
        self.pop_sor = f"salarié·es sorti·es en {self.y}"

    # -- cells and relations ---------------------------------------------------------------------------
    def key(self, key: str) -> str:
        return self.prefix + key

    def has(self, key: str) -> bool:
        return self.key(key) in self.m.cells

    def c(self, key: str, value: int, label: str, weight: float = COST_ORDINARY) -> Nombre:
        """Declare the count `key` (the same key anywhere in the report is the same number)."""
        key = self.key(key)
        cell = self.m.cells.get(key)
        while cell is not None and cell.value != value:  # never seen: a figure computed twice differently
            key += "'"
            cell = self.m.cells.get(key)
        return Nombre(self.m.cell(key, value, self.lib.partie + label, weight=weight), self.s.seuil)

    def part(self, n: Nombre, base: Nombre) -> Part:
        self.m.share(n.key, base.key)
        return Part(n.cell, base.cell, self.s.seuil)

    def taux(self, n: Nombre, base: Nombre, nr: Part | None = None) -> Taux:
        self.m.at_most([n.key], [base.key], f"{n.key} ≤ {base.key}")
        self.m.share(n.key, base.key)
        return Taux(n.cell, base.cell, self.s.seuil, nr)

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

    def non_reponse(self, indicateur: str, colonne: str | None, nr: Nombre | None, pop: Nombre) -> Part | None:
        """The share of « non renseigné » when it exceeds 10 % of the population (§5.2), recorded for the
        sources; None otherwise."""
        if nr is None or pop.cell.value <= 0 or 10 * nr.cell.value <= pop.cell.value:
            return None
        part = self.part(nr, pop)
        self.nr.append(NonReponse(indicateur + self.lib.court, colonne, part))
        return part

    # -- the evolution over three years ----------------------------------------------------------------
    def year_key(self, y: int, key: str) -> str:
        """The cell key of a figure of year `y`: the year's own key for the report's year, `evo.Y.…` else."""
        return key if y == self.y else f"evo.{y}.{key}"

    def evolution_years(self, field_name: str) -> list[tuple[int, Mapping[str, Any], Nombre]]:
        """(year, its evolution block, its accompagné·es cell) for the years whose block has `field_name`."""
        ev: Mapping[str, Mapping[str, Any]] = self.ind["evolution"]
        out = []
        for y in sorted(ev, key=int):
            block = ev[y]
            cells = self.years.get(int(y))
            if field_name in block and cells is not None:
                out.append((int(y), block, cells["acc"]))
        return out if len(out) > 1 else []

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

    # -- labels ----------------------------------------------------------------------------------------
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

    # -- charts ----------------------------------------------------------------------------------------
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

    def draw_figures(self, wanted: set[str] | None = None) -> None:
        """Draw the charts (`wanted`: only those the report's outline shows)."""
        for key, legende, draw in self._pending:
            if wanted is None or key in wanted:
                self.g[key] = Graphique(draw(legende), legende)

    @staticmethod
    def describe(titre: str, barres: Iterable[Barre]) -> str:
        return f"{titre} — " + " ; ".join(f"{b.libelle} : {b.etiquette}" for b in barres) + "."

    def bars_chart(self, key: str, titre: str, barres: list[Barre], vertical: bool = False, **kw: Any) -> None:
        from cvg_pipeline.report import charts

        name = key.replace("_", "-")
        if vertical:
            self.figure(key, titre, lambda alt: charts.barres_verticales(name, self.describe(alt, barres), barres, **kw))
        else:
            self.figure(key, titre, lambda alt: charts.barres_horizontales(name, self.describe(alt, barres), barres, **kw))

    def trend(self, key: str, titre: str, years: Sequence[int], series: list[tuple[str, list[Part | Nombre]]],
              pourcentages: bool = True) -> None:
        """A trend chart (one bar per year for each series) of an evolution table, drawn after the secret."""
        from cvg_pipeline.report import charts

        drawn = [(label, [self.barre(str(y), v) for y, v in zip(years, values, strict=True)]) for label, values in series]

        def draw(alt: str) -> str:
            desc = " ; ".join(self.describe(label, barres).rstrip(".") for label, barres in drawn)
            return charts.tendance(key.replace("_", "-"), f"{alt} — {desc}.", [str(y) for y in years], drawn,
                                   pourcentages=pourcentages)

        self.figure(key, titre, draw)

    # -- tables ----------------------------------------------------------------------------------------
    def distribution(self, key: str, titre: str, dist: Mapping[str, int], labels: Mapping[str, str], *,
                     ordered: bool, population: str | None = None, base: Nombre | None = None,
                     column: str | None = None, chart: bool = False, prefix: str = "profil",
                     cells: str | None = None, vertical: bool = False, base_noun: str | None = None
                     ) -> dict[str, Part]:
        """A distribution as a table « Modalité | Effectif | Part » (and a chart): unordered ones sorted by
        count, largest first; « Non renseigné » last, left out when 0, flagged beyond 10 % (§5.2)."""
        total = base if base is not None else self.acc()
        shown = {k: v for k, v in dist.items() if k != NON_RENSEIGNE or v}
        counts = self.counts(f"{prefix}.{cells or key}", titre, shown, labels, total)
        parts = {k: self.part(n, total) for k, n in counts.items()}
        order = self.orders[key] = sort_keys(shown, ordered)
        lignes: list[list[object]] = [[labels.get(k, k), counts[k], parts[k]] for k in order]
        base_text = _Texte(lambda: f"{total} {base_noun or population_noun(population or self.pop_acc)}")
        notes: list[object] = []
        nr = self.non_reponse(titre, column, counts.get(NON_RENSEIGNE), total)
        if nr is not None:
            notes.append(_Texte(lambda: f"{nr} non renseigné : au-delà de 10 %, la répartition est à lire avec "
                                        "prudence (voir « Sources et méthode »)." if nr.visible() else ""))
        self.t[key] = Tableau(titre, _champ_de(population or self.pop_acc, base_text), ["Modalité", "Effectif", "Part"],
                              lignes, notes)
        if chart:
            self.bars_chart(key, titre, [self.barre(labels.get(k, k), parts[k]) for k in order], vertical=vertical)
        return parts

    def yes_no(self, prefix: str, label: str, yn: YesNo, column: str | None = None) -> tuple[dict[str, Nombre], Taux]:
        """Oui + Non + Non renseigné = accompagné·es; the rate oui / (oui + non), with the share of « non
        renseigné » beside it beyond 10 %."""
        cells = self.counts(prefix, label, {"oui": yn["oui"], "non": yn["non"], NON_RENSEIGNE: yn["non_renseigne"]},
                            {"oui": "Oui", "non": "Non", NON_RENSEIGNE: NON_RENSEIGNE_LIBELLE}, self.acc())
        renseigne = self.c(f"{prefix}.renseigne", yn["oui"] + yn["non"], f"{label} · oui + non", COST_MARGIN)
        self.m.total(renseigne.key, [cells["oui"].key, cells["non"].key], f"{label} : renseigné")
        nr = self.non_reponse(label, column, cells[NON_RENSEIGNE], self.acc())
        return cells, self.taux(cells["oui"], renseigne, nr)

    def yes_no_table(self, key: str, titre: str, items: Iterable[tuple[str, str, YesNo, str | None]],
                     first: str = "") -> None:
        """Yes/no breakdowns over the accompagné·es, one per row (the « Non renseigné » column only when
        one of them is not 0)."""
        rows: list[list[object]] = []
        any_nr = False
        for prefix, label, yn, column in items:
            cells, taux = self.yes_no(prefix, label, yn, column)
            any_nr = any_nr or yn["non_renseigne"] > 0
            rows.append([label, cells["oui"], cells["non"], cells[NON_RENSEIGNE], taux])
        headers = [first, "Oui", "Non", NON_RENSEIGNE_LIBELLE, "Part des « oui » (oui / renseigné)"]
        if not any_nr:
            headers = headers[:3] + headers[4:]
            rows = [r[:3] + r[4:] for r in rows]
        self.t[key] = Tableau(titre, _champ_de(self.pop_acc, self.base_acc()), headers, rows)


def definition(path: str) -> str:
    """The French definition of an indicator, from the indicator catalogue (the one place it is written)."""
    from cvg_pipeline.indicators.catalogue import entry

    text = entry(path).definition
    return text if text.endswith(".") else text + "."


def sort_keys(dist: Mapping[str, int], ordered: bool) -> list[str]:
    """The rows of a distribution: its own order, or by count (largest first, ties in their order); « Non
    renseigné » last."""
    keys = [k for k in dist if k != NON_RENSEIGNE]
    if not ordered:
        keys.sort(key=lambda k: -dist[k])
    return keys + ([NON_RENSEIGNE] if NON_RENSEIGNE in dist else [])


def population_noun(population: str) -> str:
    """« salarié·es accompagné·es » from « salarié·es accompagné·es en 2023 (…) »."""
    return population.split(" en ")[0]


class _Public(_Base):
    """Caractérisation du public (the 2023 report's part A): effectifs, social and professional profile,
    difficulties at entry — each with its evolution where the 2023 report shows one."""

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
            [f"ACI porteurs{self.lib.programme} (au moins un·e salarié·e accompagné·e)", fr.entier(eff["nb_aci"])],
        ]
        self.t["effectifs"] = Tableau(
            titre, _champ(f"salarié·es des ACI du périmètre, année {y}"), ["", "Effectif"], rows,
            [f"En parcours au 1er janvier : file active au {fr.date_longue(date(y - 1, 12, 31))}."],
        )
        labels = self.labels("supports")
        sup = {k: v for k, v in eff["nb_aci_par_support"].items() if k != NON_RENSEIGNE or v}
        aci = Secret(0)  # ACI are public organisations, listed by name in the report: not masked
        order = sort_keys(sup, ordered=False)
        self.t["supports"] = Tableau(
            "ACI par support d'activité",
            _champ(f"ACI ayant accompagné au moins un·e salarié·e en {y}", f"{fr.entier(eff['nb_aci'])} ACI"),
            ["Support d'activité", "ACI", "Part des ACI"],
            [[labels.get(k, k), fr.entier(sup[k]), aci.part(sup[k], eff["nb_aci"])] for k in order],
            ["Un ACI peut porter plusieurs supports d'activité : le total peut dépasser le nombre d'ACI."],
        )
        from cvg_pipeline.report import charts
        from cvg_pipeline.report.charts import Barre

        barres = [Barre(labels.get(k, k), float(sup[k]), fr.entier(sup[k])) for k in order]
        self.bars_chart("supports", "Nombre d'ACI par support d'activité", barres, pourcentages=False,
                        couleur=charts.VERT)

    def profil(self) -> None:
        """In the 2023 report's order: nationalité, réfugié·es, âge, sexe, orienteurs (and their evolution),
        orienté·es depuis PHC, TS extérieur, formation, RSA, RQTH."""
        p = self.ind["profil"]
        parts = {key: self.distribution(key, titre, p[key], labels, ordered=key == "age_entree",  # type: ignore[literal-required]
                                        column="annee_naissance" if key == "age_entree" else key)
                 for key, titre, labels in (
                     ("nationalite", self.column_label("nationalite"), self.labels("nationalite")),
                     ("age_entree", "Âge à l'entrée", {**AGE_LIBELLES, NON_RENSEIGNE: NON_RENSEIGNE_LIBELLE}),
                     ("sexe", self.column_label("sexe"), self.labels("sexe")))}
        self.profil_chart(parts)
        self.t["age_entree"].notes.append(definition("profil.age_entree"))
        self.yes_no_table("refugie", self.column_label("refugie"),
                          [("profil.refugie", self.column_label("refugie"), p["refugie"], "refugie")])
        labels = self.labels("orienteur")
        self.distribution("orienteur", "Orienteurs / prescripteurs", p["orienteur"], labels, ordered=False,
                          column="orienteur", chart=True)
        self.evolution_distribution("orienteur", "Évolution des orienteurs / prescripteurs", labels, ordered=False)
        self.orientes_phc(labels)
        self.yes_no_table("ts_exterieur", self.column_label("ts_exterieur"),
                          [("profil.ts_exterieur", self.column_label("ts_exterieur"), p["ts_exterieur"], "ts_exterieur")])
        self.distribution("niveau_formation", "Niveau de formation en France", p["niveau_formation"],
                          self.labels("niveau_formation"), ordered=True, column="niveau_formation")
        self.t["niveau_formation"].notes.append(
            "Niveaux : 1-2 pas de formation ; 3 CAP, BEP ; 4 bac ; 5-8 supérieur au bac."
        )
        self.yes_no_table("formation_etranger", self.column_label("formation_etranger"),
                          [("profil.formation_etranger", self.column_label("formation_etranger"),
                            p["formation_etranger"], "formation_etranger")])
        self.yes_no_table("rsa_rqth", "RSA et RQTH à l'entrée",
                          [(f"profil.{k}", self.column_label(k), p[k], k) for k in ("rsa", "rqth")])

    def profil_chart(self, parts: Mapping[str, Mapping[str, Part]]) -> None:
        """Sexe, âge and nationalité in one chart (one group each, at full width)."""
        from cvg_pipeline.report import charts

        groupes = [(self.t[key].titre, [self.barre(str(row[0]), parts[key][k]) for row, k in
                                         zip(self.t[key].lignes, self.orders[key], strict=True)])
                   for key in ("nationalite", "age_entree", "sexe")]
        self.figure(
            "profil", "Profil des salarié·es accompagné·es : nationalité, âge à l'entrée, sexe (en % des accompagné·es)",
            lambda alt: charts.panneaux("profil", alt + " — " + " ; ".join(self.describe(t, b) for t, b in groupes),
                                        groupes),
        )

    def orientes_phc(self, labels: Mapping[str, str]) -> None:
        """Salarié·es orienté·es depuis PHC (the orienteur whose label names PHC), year by year."""
        phc = next((k for k, v in labels.items() if "Premières Heures" in v), None)
        if phc is None:
            return
        rows: list[list[object]] = []
        counts: list[Part | Nombre] = []
        for y, block, acc in self.evolution_years("orienteur"):
            dist = block["orienteur"]
            n = self.c(self.year_key(y, f"profil.orienteur.{phc}"), int(dist.get(phc, 0)),
                       f"Orienteurs {y} · {labels[phc]}")
            rows.append([str(y), n, self.part(n, acc)])
            counts.append(n)
        if not rows:
            return
        self.trend("orientes_phc", "Salarié·es orienté·es depuis PHC, par année", [int(str(r[0])) for r in rows],
                   [("Orienté·es depuis PHC", counts)], pourcentages=False)
        self.t["orientes_phc"] = Tableau(
            "Salarié·es orienté·es depuis Premières Heures en Chantier (PHC)",
            _champ("salarié·es accompagné·es chaque année, sur les mêmes fichiers de reporting"),
            ["Année", "Salarié·es orienté·es depuis PHC", "Part des accompagné·es"], rows)

    def difficultes(self) -> None:
        """Durée sans emploi, logement à l'entrée (and its evolution), parcours de rue, difficultés."""
        from cvg_pipeline.indicators.compute import CUMUL_MAX, CUMUL_MIN

        p = self.ind["profil"]
        self.distribution("duree_sans_emploi", "Durée sans emploi à l'entrée", p["duree_sans_emploi"],
                          self.labels("duree_sans_emploi"), ordered=True, column="duree_sans_emploi")
        logement = self.labels("logement")
        self.distribution("logement_entree", "Situation logement à l'entrée", p["logement_entree"], logement,
                          ordered=True, column="logement_entree", chart=True)
        self.evolution_distribution("logement_entree", "Évolution de la situation logement à l'entrée", logement,
                                    ordered=True)
        self.distribution("parcours_rue", "Parcours de rue", p["parcours_rue"], self.labels("parcours_rue"),
                          ordered=True, column="parcours_rue")
        labels = self.difficulty_labels()
        diffs = p["difficultes_entree"]
        rows: list[list[object]] = []
        parts: dict[str, Part] = {}
        cols = {d.key: d.entry_column for d in self.schema.difficulties}
        for k in sort_keys({k: v["oui"] for k, v in diffs.items()}, ordered=False):
            cells, taux = self.yes_no(f"diff.{k}", labels.get(k, k), diffs[k], cols.get(k))
            rows.append([labels.get(k, k), cells["oui"], cells["non"], cells[NON_RENSEIGNE], taux])
            parts[k], self.diff_oui[k] = taux.part, cells["oui"]
        headers = ["Difficulté", "Oui", "Non", NON_RENSEIGNE_LIBELLE, "Part des « oui » (oui / renseigné)"]
        if all(v["non_renseigne"] == 0 for v in diffs.values()):
            headers, rows = headers[:3] + headers[4:], [r[:3] + r[4:] for r in rows]
        self.t["difficultes_entree"] = Tableau(
            "Difficultés rencontrées à l'entrée", _champ_de(self.pop_acc, self.base_acc()), headers, rows)
        self.bars_chart("difficultes_entree", "Part des salarié·es accompagné·es rencontrant chaque difficulté à l'entrée",
                        [self.barre(labels.get(k, k), parts[k]) for k in parts])
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
            titre, _champ_de(self.pop_acc, self.base_acc()), ["Nombre de difficultés", "Effectif", "Part"],
            [[k, cells_nb[k], parts_nb[k]] for k in nb],
            [_Texte(lambda: f"Salarié·es cumulant de {CUMUL_MIN} à {CUMUL_MAX} difficultés : {taux_cumul}.")],
        )
        self.bars_chart("nb_difficultes", "Nombre de difficultés à l'emploi par salarié·e accompagné·e (en %)",
                        [self.barre(k, parts_nb[k]) for k in nb], vertical=True,
                        titre_x="Nombre de difficultés à l'entrée")

    def evolution_distribution(self, field_name: str, titre: str, labels: Mapping[str, str], ordered: bool) -> None:
        """A distribution over each year's accompagné·es: effectif and part per year (the 2023 report shows
        both, « en % » and « en valeurs »)."""
        years = self.evolution_years(field_name)
        if not years:
            return
        cells: dict[int, dict[str, Nombre]] = {}
        for y, block, acc in years:
            dist = {k: int(v) for k, v in block[field_name].items() if k != NON_RENSEIGNE or v}
            prefix = self.year_key(y, f"profil.{field_name}")
            cells[y] = self.counts(prefix, f"{titre} · {y}", dist, labels, acc)
        last = years[-1][0]
        keys = sort_keys({k: c.cell.value for k, c in cells[last].items()}, ordered)
        keys += [k for y in cells for k in cells[y] if k not in keys]
        keys = list(dict.fromkeys(keys))
        rows: list[list[object]] = []
        series: list[tuple[str, list[Part | Nombre]]] = []
        for k in keys:
            row: list[object] = [labels.get(k, k)]
            values: list[Part | Nombre] = []
            for y, _block, acc in years:
                n = cells[y].get(k)
                part = self.part(n, acc) if n is not None else None
                row += [n if n is not None else "0", part if part is not None else f"0{fr.NBSP}%"]
                if part is not None:
                    values.append(part)
            rows.append(row)
            if len(values) == len(years):
                series.append((labels.get(k, k), values))
        self.trend(f"evo_{field_name}", f"{titre} (en % des accompagné·es)", [y for y, _b, _a in years], series)
        headers = ["Modalité", *(h for y, _b, _a in years for h in (f"{y} effectif", f"{y} part"))]
        self.t[f"evo_{field_name}"] = Tableau(
            titre, _champ("salarié·es accompagné·es chaque année, sur les mêmes fichiers de reporting"), headers, rows)


CP_DEFINITION = "chargé·es de partenariats (CP)"


class _Modalites(_Base):
    """Mise en œuvre des modalités du programme (part B): accompagnement renforcé, chargé·es de
    partenariats, durée de parcours, post-sortie."""

    def accompagnement(self) -> None:
        a = self.ind["accompagnement"]
        self.yes_no_table("accompagnement", "Accompagnement renforcé",
                          [(f"acc.{k}", self.column_label(k), a[k], k)
                           for k in ("acc_concerte", "acc_proximite")])
        years = self.evolution_years("acc_concerte")
        if years:
            rows: list[list[object]] = []
            series: dict[str, list[Part | Nombre]] = {}
            for y, block, acc in years:
                row: list[object] = [str(y)]
                for k in ("acc_concerte", "acc_proximite"):
                    yn = block[k]
                    prefix = self.year_key(y, f"acc.{k}")
                    label = f"Évolution {y} · {self.column_label(k)}"
                    cells = self.counts(prefix, label, {"oui": yn["oui"], "non": yn["non"],
                                                        NON_RENSEIGNE: yn["non_renseigne"]}, {}, acc)
                    renseigne = self.c(f"{prefix}.renseigne", yn["oui"] + yn["non"], f"{label} · oui + non",
                                       COST_MARGIN)
                    self.m.total(renseigne.key, [cells["oui"].key, cells["non"].key], f"{label} : renseigné")
                    taux = self.taux(cells["oui"], renseigne)
                    row.append(taux)
                    series.setdefault(self.column_label(k), []).append(taux.part)
                rows.append(row)
            self.trend("evo_accompagnement", "Évolution de l'accompagnement renforcé (en % des réponses renseignées)",
                       [y for y, _b, _a in years], list(series.items()))
            self.t["evo_accompagnement"] = Tableau(
                "Évolution de l'accompagnement renforcé",
                _champ("salarié·es accompagné·es chaque année", "les salarié·es dont la réponse est renseignée"),
                ["Année", self.column_label("acc_concerte"), self.column_label("acc_proximite")], rows)

    def cp(self) -> None:
        a = self.ind["accompagnement"]
        diff = self.difficulty_labels()
        titre = f"Mobilisation des {CP_DEFINITION} et de leur réseau"
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
        self.cp_taux = {champ: taux for champ, taux, _ in rows}
        self.bars_chart("cp", "Mobilisation des CP : emploi, santé, logement",
                        [self.barre(champ, taux.part) for champ, taux, _ in rows])
        years = self.evolution_years("cp_emploi")
        if years:
            evo_rows: list[list[object]] = []
            cp_series: dict[str, list[Part | Nombre]] = {}
            for y, block, acc in years:
                row: list[object] = [str(y)]
                for k, champ, name in (("cp_emploi", "emploi", "Emploi"), ("cp_sante", "sante", diff["sante"]),
                                       ("cp_logement", "logement", diff["logement"])):
                    if y == self.y:  # the same cells as the table above
                        taux = self.cp_taux[name]
                    else:
                        taux = self.rate(f"evo.{y}.cp.{champ}", block[k], f"Évolution {y} · CP {champ}",
                                         acc if k == "cp_emploi" else None)
                        self.m.at_most([taux.base.key], [acc.key], f"évolution {y} : base CP ≤ accompagné·es")
                    row.append(taux)
                    cp_series.setdefault(name, []).append(taux.part)
                evo_rows.append(row)
            self.t["evo_cp"] = Tableau(
                "Évolution de la mobilisation des CP et de leur réseau",
                _champ("salarié·es accompagné·es chaque année",
                       "emploi : les accompagné·es ; santé et logement : les accompagné·es ayant la difficulté "
                       "repérée à l'entrée"),
                ["Année", "Emploi", diff["sante"], diff["logement"]], evo_rows)
            self.trend("evo_cp", "Évolution de la mobilisation des CP (en % de la base de chaque champ)",
                       [y for y, _b, _a in years], list(cp_series.items()))

    def duree(self) -> None:
        s = self.s
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
            [definition("sorties.duree_parcours.moyenne_mois")],
        )
        tranches: Mapping[str, int] | None = d.get("tranches")
        if tranches:
            labels = {k: TRANCHES_LIBELLES.get(k, k) for k in tranches}
            self.distribution("duree_tranches", "Répartition des durées de parcours", tranches, labels, ordered=True,
                              population=self.pop_sor, base=self.sor(), prefix="duree", cells="tranches", chart=True,
                              vertical=True)
            cells = {k: self.key(f"duree.tranches.{k}") for k in tranches}
            over = [cells[k] for k in ("24_36", "36_plus") if k in cells]
            if over:
                self.m.total(self.k["plus24"].n.key, over, "plus de 24 mois = 24 à 36 + plus de 36")

    def post_sortie(self) -> None:
        from cvg_pipeline.indicators.compute import DURABLE_CATEGORY

        ps = self.ind["post_sortie"]
        titre = "Accompagnement post-sortie"
        rows_ps: list[list[object]] = []
        self.ps_sortis: dict[str, Nombre] = {}
        any_nr = False
        for key, label in ((DURABLE_CATEGORY, self._category_label(DURABLE_CATEGORY)),
                           ("logement_perenne", f"Accès à un {self.labels('logement')['logement_perenne'].lower()} "
                                                "pendant le parcours")):
            b: Mapping[str, Any] = ps[key]  # type: ignore[literal-required]
            sortis = self.ps_sortis[key] = self.c(f"ps.{key}.sortis", b["sortis"], f"{titre} · {label} · sorti·es")
            contactes = self.rate(f"ps.{key}.contactes", b["contactes"], f"{titre} · {label} · contacté·es", sortis)
            nr_cell: object = ""
            if "non_renseigne" in b:  # v2: « contacté·es » over the answered; the others are « non renseigné »
                nr = self.c(f"ps.{key}.non_renseigne", int(b["non_renseigne"]), f"{titre} · {label} · non renseigné",
                            COST_NON_RENSEIGNE)
                if contactes.base.key != sortis.key:
                    self.m.total(sortis.key, [contactes.base.key, nr.key], f"{titre} : renseigné + non renseigné")
                nr_cell, any_nr = nr, any_nr or int(b["non_renseigne"]) > 0
                flag = self.non_reponse(f"{titre} · {label}", "post_sortie_contact", nr, sortis)
                if flag is not None:
                    contactes.nr = flag
            elif contactes.base.key != sortis.key:
                self.m.at_most([contactes.base.key], [sortis.key], f"{titre} : renseigné ≤ sorti·es")
            stabilises = self.rate(f"ps.{key}.stabilises", b["stabilises"], f"{titre} · {label} · stabilisé·es",
                                   contactes.n)
            rows_ps.append([label, sortis, nr_cell, contactes, stabilises])
        headers = ["Situation à la sortie", "Sorti·es depuis 6 à 12 mois", NON_RENSEIGNE_LIBELLE,
                   "Contacté·es (parmi les réponses renseignées)", "Situation stabilisée (parmi les contacté·es)"]
        if not any_nr:
            headers, rows_ps = headers[:2] + headers[3:], [r[:2] + r[3:] for r in rows_ps]
        self.t["post_sortie"] = Tableau(
            titre,
            _champ(f"salarié·es sorti·es en {self.y} depuis 6 à 12 mois au {fr.date_longue(date(self.y, 12, 31))}",
                   "pour chaque ligne, les sorti·es de la fenêtre puis les contacté·es"),
            headers, rows_ps, [definition(f"post_sortie.{k}.sortis") for k in (DURABLE_CATEGORY, "logement_perenne")],
        )


class _Impact(_Base):
    """Impact sur les parcours: sorties (emploi), logement, santé, résolution des freins."""

    def sorties(self) -> None:
        from cvg_pipeline.indicators.compute import DURABLE_CATEGORY, NEUTRAL_CATEGORY

        so = self.ind["sorties"]
        cats = {c.key: c for c in self.schema.exit_categories}
        dyn = so["taux_sorties_dynamiques"]
        titre = "Sorties par catégorie"
        sor = self.sor()
        hors_neutres = self.c("sor.horsneutres", dyn["base"], "Sorties hors sorties neutres", COST_MARGIN)
        self.hors_neutres = hors_neutres
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
        lignes: list[list[object]] = [
            [f"Taux de sorties dynamiques ({', '.join(dynamic_labels(self.schema))})", self.k["dyn"]],
            ["Taux d'emploi durable", durable],
            ["Sorties dynamiques obtenues via les CP emploi (effectif)", self.via_cp],
        ]
        neutres: Rate | None = so.get("part_neutres")
        if neutres is not None and NEUTRAL_CATEGORY in cells:
            lignes.append(["Sorties neutres, hors base des taux (part des sorti·es)",
                           self.rate(f"sor.cat.{NEUTRAL_CATEGORY}", neutres, "Sorties neutres", sor)])
        self.t["sorties_taux"] = Tableau("Sorties dynamiques", _champ_de(self.pop_sor, base_text), ["", "Valeur"],
                                         lignes, list(neutral_notes))
        self.bars_chart("sorties", "Situation à la sortie par catégorie (en % des sorties hors sorties neutres)",
                        [self.barre(cats[k].label if k in cats else k, part) for k, part in parts.items()])
        motifs = {v.key: v for v in self.schema.domains["motif_sortie"].values}
        titre = "Sorties par motif"
        dist = {k: v for k, v in so["par_motif"].items() if k != NON_RENSEIGNE or v}
        labels = {k: motifs[k].label if k in motifs else NON_RENSEIGNE_LIBELLE if k == NON_RENSEIGNE else k
                  for k in dist}
        cells_m = self.counts("sor.motif", titre, dist, labels, sor)
        for key, n in cells.items():  # the motifs of a category sum to it
            self.m.total(n.key, [m.key for k, m in cells_m.items() if k in motifs and motifs[k].category == key],
                         f"{titre} : catégorie {key}")
        self.t["sorties_motifs"] = Tableau(
            titre, _champ_de(self.pop_sor, self.base_sor()), ["Motif", "Catégorie", "Effectif", "Part des sorties"],
            [
                [labels[k], cats[str(motifs[k].category)].label if k in motifs and motifs[k].category in cats else "",
                 cells_m[k], self.part(cells_m[k], sor)]
                for k in sort_keys(dist, ordered=False)
            ],
            colonnes_texte=2,
        )
        self.cat_cells = cells
        self.evolution_sorties(cats)

    def evolution_sorties(self, cats: Mapping[str, Any]) -> None:
        """Sorties by category and the rate of sorties dynamiques, year by year."""
        ev: Mapping[str, Mapping[str, Any]] = self.ind["evolution"]
        years = [(int(y), ev[y]) for y in sorted(ev, key=int) if int(y) in self.years]
        if len(years) < 2:
            return
        has_cats = all("sorties_par_categorie" in b for _, b in years)
        rows: list[list[object]] = []
        if has_cats:
            for k in next(iter(years))[1]["sorties_par_categorie"]:
                row: list[object] = [cats[k].label if k in cats else k]
                for y, b in years:
                    key = f"sor.cat.{k}" if y == self.y else f"evo.{y}.sor.cat.{k}"
                    row.append(self.c(key, int(b["sorties_par_categorie"][k]), f"Évolution {y} · sorties · {k}",
                                      COST_MARGIN))
                rows.append(row)
            for y, b in years:  # the categories sum to the sorti·es; the dynamic ones to the sorties dynamiques
                keys = {k: self.key(f"sor.cat.{k}" if y == self.y else f"evo.{y}.sor.cat.{k}")
                        for k in b["sorties_par_categorie"]}
                self.m.total(self.years[y]["sor"].key, list(keys.values()), f"évolution {y} : Σ catégories")
                self.m.total(self.years[y]["dyn"].key, [v for k, v in keys.items() if k in cats and cats[k].dynamic],
                             f"évolution {y} : sorties dynamiques")
        rows.append(["Sorties dynamiques (part des sorties hors sorties neutres)",
                     *(self.years[y]["taux"] for y, _ in years)])
        self.trend("evo_sorties", "Évolution du taux de sorties dynamiques (en % des sorties hors sorties neutres)",
                   [y for y, _ in years],
                   [("Sorties dynamiques", [self.years[y]["taux"].part for y, _ in years])])  # type: ignore[attr-defined]
        self.t["evo_sorties"] = Tableau(
            "Évolution des sorties", _champ("salarié·es sorti·es chaque année, sur les mêmes fichiers de reporting"),
            ["", *(str(y) for y, _ in years)], rows, [self.note_dynamiques()])

    def logement(self) -> None:
        lo = self.ind["logement"]
        labels = self.labels("logement")
        ranks = {v.key: v.rank for v in self.schema.domains["logement"].values}
        hors_neutres = getattr(self, "hors_neutres", None)
        pop = (f"salarié·es sorti·es en {self.y} hors sorties neutres dont la situation logement est connue à "
               "l'entrée et à la sortie")
        sortie: Mapping[str, int] | None = lo.get("sortie")
        if sortie is not None and hors_neutres is not None:
            self.distribution("logement_sortie", "Situation logement à la sortie", sortie, labels, ordered=True,
                              population=f"salarié·es sorti·es en {self.y} hors sorties neutres", base=hors_neutres,
                              base_noun="sorties hors sorties neutres",
                              column="logement_sortie", prefix="log", cells="sortie", chart=True)
        base = self.c("log.base", lo["ameliore"]["base"], "Logement · sorti·es dont la situation est connue",
                      COST_HEADLINE)
        if hors_neutres is not None:
            self.m.at_most([base.key], [hors_neutres.key], "logement : situation connue ≤ hors neutres")
        base_text = _Texte(lambda: f"{base} salarié·es sorti·es")
        matrice = lo["matrice"]
        exits = list(next(iter(matrice.values()), {}).keys())
        titre = "Situation logement : de l'entrée (lignes) à la sortie (colonnes)"
        cells = {(a, b): self.c(f"log.m.{a}.{b}", n, f"{titre} · {labels.get(a, a)} → {labels.get(b, b)}")
                 for a, row in matrice.items() for b, n in row.items()}
        self.m.total(base.key, [n.key for n in cells.values()], f"{titre} : total")
        if sortie is not None and hors_neutres is not None:  # a column is part of its exit situation
            for b in exits:
                if self.has(f"log.sortie.{b}"):
                    self.m.at_most([n.key for (_a, b2), n in cells.items() if b2 == b],
                                   [self.key(f"log.sortie.{b}")], f"logement : colonne {b} ≤ sortie")
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
        via_cp = self.rate("log.viacp", lo["via_cp"], "Améliorations via les CP logement", ameliore.n)
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
                ["dont améliorations obtenues via les CP logement (parmi les situations améliorées)", via_cp],
            ],
        )
        from cvg_pipeline.report import charts

        rows = list(matrice.items())

        def share(group: list[Nombre]) -> Barre:
            """A row's or a column's share of the base: drawn only when every cell of it is shown."""
            from cvg_pipeline.report.charts import Barre

            total = sum(n.cell.value for n in group)
            visible = base.cell.value > 0 and not base.cell.hidden and all(not n.cell.hidden for n in group)
            value = 100.0 * total / base.cell.value if visible else None
            return Barre("", value, pourcentage(total, base.cell.value) if value is not None else NS)

        def draw(alt: str) -> str:
            entree = [share([cells[a, b] for b in exits]) for a, _ in rows]
            sortie_ = [share([cells[a, b] for a, _ in rows]) for b in exits]
            names = [labels.get(a, a) for a, _ in rows]
            desc = " ; ".join(f"{c} : {e.etiquette} → {x.etiquette}" for c, e, x in zip(names, entree, sortie_, strict=True))
            return charts.flux_logement("logement", f"{alt} — {desc}.", names, entree, sortie_)

        self.figure("logement_matrice", "Situation logement des salarié·es sorti·es : à l'entrée et à la sortie "
                    "(en % des sorti·es dont les deux sont connues)", draw)

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

        self.bars_chart("sante", "Prise en charge santé des salarié·es sorti·es (en %)",
                        [self.barre(label.split(" (")[0], taux[k].part) for k, label in items], couleur=charts.VERT)

    def resolution(self) -> None:
        res = self.ind["resolution"]
        labels = self.difficulty_labels()
        states = self.labels("resolution")
        keys = ("resolue", "en_cours", "non_resolue", NON_RENSEIGNE)
        titre = "Résolution des difficultés identifiées à l'entrée"
        rows: list[list[object]] = []
        lignes: list[tuple[str, list[Part], Part]] = []
        order = sort_keys({k: sum(int(b[s]) for s in keys) for k, b in res.items()}, ordered=False)  # type: ignore[literal-required,misc]
        for k in order:
            b = res[k]
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
        headers = ["Difficulté", states["resolue"], states["en_cours"], states["non_resolue"], NON_RENSEIGNE_LIBELLE,
                   "Résolue ou en cours"]
        if all(res[k][NON_RENSEIGNE] == 0 for k in res):  # type: ignore[literal-required]
            headers, rows = headers[:4] + headers[5:], [r[:4] + r[5:] for r in rows]
        self.t["resolution"] = Tableau(
            titre,
            _champ(f"salarié·es sorti·es en {self.y} ayant la difficulté à l'entrée",
                   "pour la dernière colonne, les salarié·es dont la situation à la sortie est renseignée"),
            headers, rows,
        )
        from cvg_pipeline.report import charts

        series = [states["resolue"], states["en_cours"], states["non_resolue"]]

        def draw(alt: str) -> str:
            drawn = [(label, [p.valeur() for p in parts], str(total)) for label, parts, total in lignes]
            desc = " ; ".join(f"{label} : {text} résolue ou en cours" for label, _, text in drawn)
            return charts.empilees("resolution", f"{alt} — {desc}.", drawn, series)

        self.figure("resolution", "Résolution des difficultés à la sortie (en % des situations renseignées ; "
                    "à droite, la part résolue ou en cours)", draw)


TERRITOIRE_TAUX: tuple[tuple[str, str], ...] = (  # par_territoire v2: rates of the annex tables, their labels
    ("plus_24_mois", "Parcours de plus de 24 mois"),
    ("acc_concerte", "Accompagnement concerté"),
    ("acc_proximite", "Accompagnement de proximité"),
    ("logement_ameliore", "Situation logement améliorée"),
    ("acces_logement_perenne", "Accès à un logement pérenne"),
    ("ouverture_droits", "Ouverture de droits santé"),
)


class _Annexes(_Base):
    """Effectifs and their evolution, the PHC block, the annexes (par territoire, territoire beside the
    national), the sources, and the key figures."""

    def evolution(self) -> None:
        ev = self.ind["evolution"]
        years = sorted(ev, key=int)
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
            cells["taux"] = row[-1]  # type: ignore[assignment]
        self.years = per_year
        for year, year_cells in per_year.items():  # accompagné·es = file active of the year before + entré·es
            if year - 1 in per_year:
                self.m.total(year_cells["acc"].key, [per_year[year - 1]["fin"].key, year_cells["ent"].key],
                             f"évolution {year}")
        if self.y - 1 in per_year and self.has("eff.debut"):
            self.m.total(self.key("eff.debut"), [per_year[self.y - 1]["fin"].key], "en parcours au 1er janvier = file active")
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

    def phc(self) -> None:
        ph: Mapping[str, Any] = self.ind["phc"]
        s = self.s
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
            for small, big in ((acc, "eff.acc"), (ent, "eff.ent"), (sor, "eff.sor")):
                if not self.has(big):
                    continue
                if programme == "PHC":  # the same count twice: shown in one place, it is shown in both
                    self.m.total(self.key(big), [small.key], "PHC : le bloc PHC et les effectifs sont le même effectif")
                    if big == "eff.sor" and self.has("sor.horsneutres"):
                        self.m.total(self.key("sor.horsneutres"), [poursuite.base.key], "PHC : hors neutres")
                else:
                    self.m.at_most([small.key], [self.key(big)], "PHC ≤ ensemble")
        rows: list[list[object]] = [
            ["Salarié·es accompagné·es", acc],
            ["Salarié·es entré·es dans l'année", ent],
            ["Salarié·es sorti·es dans l'année", sor],
        ]
        if ph.get("nb_aci") is not None:
            rows.append(["ACI porteurs du programme PHC", fr.entier(int(ph["nb_aci"]))])
        rows += [
            ["Heures hebdomadaires moyennes à l'entrée (accompagné·es)",
             s.moyenne(ph["heures_entree_moyenne"], ph["accompagnes"], "h")],
            ["Heures hebdomadaires moyennes à la sortie (sorti·es)",
             s.moyenne(ph["heures_sortie_moyenne"], ph["sorties"], "h")],
        ]
        if "duree_moyenne_mois" in ph:
            rows.append(["Durée moyenne des parcours (sorti·es)", s.moyenne(ph["duree_moyenne_mois"], ph["sorties"], "mois")])
        rows.append(["Poursuite en CDDI dans l'ACI ou embauche dans une autre structure de l'IAE (hors sorties neutres)",
                     poursuite])
        self.k["poursuite"] = poursuite
        self.t["phc"] = Tableau(
            titre, _champ(f"parcours du programme PHC en {self.y}"), ["", "Valeur"], rows,
            ["Moyennes d'heures sur les parcours où elles sont renseignées."],
        )

    # -- annexes ---------------------------------------------------------------------------------------
    def territoires(self) -> None:
        """The par_territoire figures as tables: territoires sorted by name, then the national row (the
        territoires sum to it)."""
        name = self.territoire_name
        # territoires without any ACI in the data (not deployed yet, or no file) would be lines of zeros:
        # they are named in a note instead
        every: Mapping[str, Mapping[str, Any]] = self.ind["par_territoire"] or {}
        par = {k: every[k] for k in sorted(every, key=lambda k: _sort_name(name(k)))
               if every[k]["effectifs"]["nb_aci"] > 0}
        absents = sorted((name(k) for k in every if k not in par), key=_sort_name)
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
            if self.has(key):
                self.m.total(self.key(key), [c[m].key for c in cells.values()], f"territoires : Σ {m} = national")
        if self.years.get(self.y):
            nat = self.years[self.y]
            rows.append([NATIONAL, fr.entier(self.ind["effectifs"]["nb_aci"]), nat["acc"], nat["ent"], nat["sor"],
                         nat["fin"], nat["taux"]])
        self.t["territoires"] = Tableau(
            f"Effectifs et sorties dynamiques {self.y} par territoire",
            _champ(self.pop_acc + ", par territoire de l'ACI"), ["Territoire", *self.EFFECTIFS_HEADERS], rows, notes,
        )
        ordered = sorted(par, key=lambda k: -cells[k]["acc"].cell.value)
        self.bars_chart("territoires", f"Salarié·es accompagné·es en {self.y} par territoire",
                        [self.barre(name(k), cells[k]["acc"]) for k in ordered], pourcentages=False)
        self.territoires_taux(par)

    def national_rates(self) -> dict[str, Taux]:
        """The national figures of the par_territoire tables (the same cells as the report's sections)."""
        out: dict[str, Taux] = {}
        ind = self.ind
        a = ind["accompagnement"]
        sources: dict[str, tuple[str, Rate | YesNo, Nombre | None]] = {
            "plus_24_mois": ("duree.plus24", ind["sorties"]["duree_parcours"]["plus_24_mois"], self.sor()),
            "logement_ameliore": ("log.ameliore", ind["logement"]["ameliore"], None),
            "acces_logement_perenne": ("log.perenne", ind["logement"]["acces_logement_perenne"], None),
            "ouverture_droits": ("sante.ouverture_droits", ind["sante"]["ouverture_droits"], self.sor()),
        }
        for k, (key, r, base) in sources.items():
            if base is None and self.has("log.base"):
                base = Nombre(self.m.cells[self.key("log.base")], self.s.seuil)
            out[k] = self.rate(key, r, k, base)  # type: ignore[arg-type]
        for k in ("acc_concerte", "acc_proximite"):
            _cells, out[k] = self.yes_no(f"acc.{k}", self.column_label(k), a[k])  # type: ignore[literal-required]
        return out

    def territoires_taux(self, par: Mapping[str, Mapping[str, Any]]) -> None:
        """Annex tables of the v2 par_territoire figures (durée, modalités, impact), a national row last."""
        fields = [(k, label) for k, label in TERRITOIRE_TAUX if all(k in v for v in par.values())]
        if not par or not fields:
            return
        national = self.national_rates()
        rows: list[list[object]] = []
        per: dict[str, dict[str, Taux]] = {}
        for t, v in par.items():
            label = f"Résultats par territoire · {self.territoire_name(t)}"
            terr = self.years_terr(t)
            taux: dict[str, Taux] = {}
            for k, text in fields:
                r = v[k]
                if "oui" in r:  # a yes/no breakdown: its rate oui / (oui + non)
                    cells = self.counts(f"terr.{t}.{k}", f"{label} · {text}", {"oui": r["oui"], "non": r["non"],
                                        NON_RENSEIGNE: r["non_renseigne"]}, {}, terr["acc"])
                    ren = self.c(f"terr.{t}.{k}.renseigne", r["oui"] + r["non"], f"{label} · {text} · renseigné",
                                 COST_MARGIN)
                    self.m.total(ren.key, [cells["oui"].key, cells["non"].key], f"{label} : renseigné")
                    taux[k] = self.taux(cells["oui"], ren)
                else:
                    base = terr["sor"] if k in ("plus_24_mois", "ouverture_droits") else None
                    taux[k] = self.rate(f"terr.{t}.{k}", r, f"{label} · {text}", base)
            per[t] = taux
            duree = v.get("duree_moyenne_mois")
            rows.append([self.territoire_name(t), self.s.moyenne(duree, int(v["effectifs"]["sorties"]), "mois")
                         if "duree_moyenne_mois" in v else "", *(taux[k] for k, _ in fields)])
        for k, _ in fields:  # the territoires sum to the national figure
            nat = national[k]
            self.m.total(nat.n.key, [per[t][k].n.key for t in par], f"territoires : Σ {k}")
            self.m.total(nat.base.key, [per[t][k].base.key for t in par], f"territoires : Σ base {k}")
        d = self.ind["sorties"]["duree_parcours"]
        rows.append([NATIONAL, self.s.moyenne(d["moyenne_mois"], self.n_sor, "mois"), *(national[k] for k, _ in fields)])
        self.t["territoires_taux"] = Tableau(
            f"Durée, modalités et impact {self.y} par territoire",
            _champ("salarié·es des ACI de chaque territoire", "selon la colonne, comme dans les parties du rapport"),
            ["Territoire", "Durée moyenne des parcours", *(label for _, label in fields)], rows,
            ["Durée et parcours de plus de 24 mois : sorti·es ; accompagnement : accompagné·es (réponses "
             "renseignées) ; logement : sorti·es hors sorties neutres dont la situation est connue à l'entrée et à la "
             "sortie ; santé : sorti·es."])

    def years_terr(self, t: str) -> dict[str, Nombre]:
        return {m: Nombre(self.m.cells[self.key(f"terr.{t}.{m}")], self.s.seuil) for m in ("acc", "sor")}

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

    def links(self) -> None:
        """Relations between sections: a post-sortie group is part of the sorti·es of its category."""
        from cvg_pipeline.indicators.compute import DURABLE_CATEGORY

        cat = getattr(self, "cat_cells", {}).get(DURABLE_CATEGORY)
        ps = getattr(self, "ps_sortis", {})
        if cat is not None and "emploi_durable" in ps:
            self.m.at_most([ps["emploi_durable"].key], [cat.key], "post-sortie ≤ catégorie")
        if "logement_perenne" in ps:
            self.m.at_most([ps["logement_perenne"].key], [self.sor().key], "post-sortie ≤ sorti·es")

    # -- key figures ------------------------------------------------------------------------------------
    def chiffres(self) -> list[tuple[str, object]]:
        """The key figures (text, value): the cards of the part and the lines of the comparison annex. Every
        count is the cell of the tables (same key)."""
        ind, s = self.ind, self.s
        eff, so = ind["effectifs"], ind["sorties"]
        duree = so["duree_parcours"]
        dyn = so["taux_sorties_dynamiques"]
        hors_neutres = self.c("sor.horsneutres", dyn["base"], "Sorties hors sorties neutres", COST_MARGIN)
        log_base = self.c("log.base", ind["logement"]["ameliore"]["base"],
                          "Logement · sorti·es dont la situation est connue", COST_HEADLINE)
        k = {
            "dyn": self.taux(self.c("sor.dyn", dyn["n"], "Sorties dynamiques", COST_MARGIN), hors_neutres),
            "ameliore": self.rate("log.ameliore", ind["logement"]["ameliore"], "Situation logement améliorée",
                                  log_base, COST_MARGIN),
            "perenne": self.rate("log.perenne", ind["logement"]["acces_logement_perenne"],
                                 "Accès à un logement pérenne", log_base, COST_MARGIN),
            "ouverture": self.rate("sante.ouverture_droits", ind["sante"]["ouverture_droits"],
                                   "Prise en charge santé pendant le parcours · ouverture de droits", self.sor(),
                                   COST_MARGIN),
            "plus24": self.rate("duree.plus24", duree["plus_24_mois"],
                                "Durée de parcours des salarié·es sorti·es · plus de 24 mois", self.sor()),
            "cumul": self.rate("nbdiff.cumul", ind["profil"]["cumul_3_a_7_difficultes"],
                               "Nombre de difficultés par salarié·e · de 3 à 7", self.acc(), COST_MARGIN),
        }
        via_cp = self.c("sor.viacp", so["emploi_via_cp"], "Sorties dynamiques via le / la CP emploi")
        return [
            ("salarié·es accompagné·es", self.acc()),
            ("salarié·es entré·es dans l'année", self.c("eff.ent", eff["entrees"], "Effectifs · entré·es", COST_HEADLINE)),
            ("salarié·es sorti·es dans l'année", self.sor()),
            (f"ACI porteurs{self.lib.programme}", fr.entier(eff["nb_aci"])),
            ("des salarié·es sorti·es (hors sorties neutres) accèdent à l'emploi ou à la formation", k["dyn"]),
            (f"salarié·es ont accédé à l'emploi ou à la formation via les {CP_DEFINITION} emploi", via_cp),
            ("des salarié·es sorti·es ont vu leur situation logement s'améliorer", k["ameliore"]),
            ("des salarié·es sorti·es ont accédé à un logement pérenne pendant le parcours", k["perenne"]),
            ("des salarié·es sorti·es ont eu une ouverture de droits santé", k["ouverture"]),
            ("durée moyenne des parcours (sorti·es)", s.moyenne(duree["moyenne_mois"], self.n_sor, "mois")),
            ("des salarié·es sorti·es ont eu un parcours de plus de 24 mois", k["plus24"]),
            ("des salarié·es accompagné·es cumulent de 3 à 7 difficultés à l'entrée", k["cumul"]),
        ]

    def chiffres_phc(self) -> list[tuple[str, object]]:
        ph: Mapping[str, Any] = self.ind["phc"]
        out: list[tuple[str, object]] = [
            ("salarié·es accompagné·es", self.acc()),
            ("salarié·es entré·es dans l'année", self.c("eff.ent", self.ind["effectifs"]["entrees"],
                                                        "Effectifs · entré·es", COST_HEADLINE)),
            ("salarié·es sorti·es dans l'année", self.sor()),
            ("ACI porteurs du programme PHC", fr.entier(int(ph.get("nb_aci", self.ind["effectifs"]["nb_aci"])))),
        ]
        if "poursuite" in self.k:
            out.append(("des sorti·es (hors sorties neutres) poursuivent en CDDI ou dans une autre structure de l'IAE",
                        self.k["poursuite"]))
        if "duree_moyenne_mois" in ph:
            out.append(("durée moyenne des parcours PHC (sorti·es)",
                        self.s.moyenne(ph["duree_moyenne_mois"], int(ph["sorties"]), "mois")))
        return out


NATIONAL = "National"


def _sort_name(name: str) -> str:
    """Territoires sorted by name as a French reader does (accents ignored)."""
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFD", name.casefold()) if not unicodedata.combining(c))


class _Builder(_Public, _Modalites, _Impact, _Annexes):
    """Every section of one indicators object (see the mixins); `build` declares them in an order where
    each relation finds its cells."""

    def build(self, *, phc_block: bool, annexes: bool) -> None:
        self.effectifs()
        self.evolution()
        self.profil()
        self.difficultes()
        self.accompagnement()
        self.cp()
        self.duree()
        self.post_sortie()
        self.sorties()
        self.logement()
        self.sante()
        self.resolution()
        if phc_block:
            self.phc()
        if annexes:
            if self.ind["par_territoire"] is not None:
                self.territoires()
            self.snapshots()
        self.links()


# The outline of a programme's part, after the 2023 report's « Mise en œuvre de l'action CVG »:
# part → section → blocs (chart key or None, table keys). A bloc whose tables were not built is left out.
Blocs = list[tuple[str | None, list[str]]]
Outline = list[tuple[str, str, list[tuple[str, Blocs]]]]
PROGRAMME_OUTLINE: Outline = [
    ("public", "caractérisation du public", [
        ("Effectifs accompagnés", [(None, ["effectifs"]), ("evolution", ["evolution"]), ("supports", ["supports"])]),
        ("Caractéristiques sociales et professionnelles", [
            ("profil", ["nationalite"]), (None, ["refugie"]), (None, ["age_entree"]), (None, ["sexe"]),
            ("orienteur", ["orienteur"]), ("evo_orienteur", ["evo_orienteur"]), ("orientes_phc", ["orientes_phc"]),
            (None, ["ts_exterieur"]), (None, ["niveau_formation"]), (None, ["formation_etranger"]),
            (None, ["rsa_rqth"])]),
        ("Difficultés rencontrées par le public", [
            (None, ["duree_sans_emploi"]), ("logement_entree", ["logement_entree"]),
            ("evo_logement_entree", ["evo_logement_entree"]), (None, ["parcours_rue"]),
            ("difficultes_entree", ["difficultes_entree"]), ("nb_difficultes", ["nb_difficultes"])]),
    ]),
    ("modalites", "mise en œuvre des modalités du programme", [
        ("Accompagnement renforcé", [(None, ["accompagnement"]), ("evo_accompagnement", ["evo_accompagnement"])]),
        ("Accompagnement global : les chargé·es de partenariats (CP)", [("cp", ["cp"]), ("evo_cp", ["evo_cp"])]),
        ("Durée de parcours", [(None, ["duree"]), ("duree_tranches", ["duree_tranches"])]),
        ("Accompagnement post-sortie", [(None, ["post_sortie"])]),
    ]),
    ("impact", "impact sur les parcours", [
        ("Sorties emploi", [(None, ["sorties_taux"]), ("sorties", ["sorties_categories"]), (None, ["sorties_motifs"]),
                            ("evo_sorties", ["evo_sorties"])]),
        ("Logement", [("logement_sortie", ["logement_sortie"]), ("logement_matrice", ["logement_matrice"]),
                      (None, ["logement_taux"])]),
        ("Santé", [("sante", ["sante"])]),
        ("Résolution des freins", [("resolution", ["resolution"])]),
    ]),
]
# The PHC part beside the CVG part: the same headings where they apply, in one part (no evolution but the
# effectifs', fewer charts).
PHC_OUTLINE: list[tuple[str, Blocs]] = [
    ("Effectifs et parcours PHC", [(None, ["phc"]), (None, ["evolution"])]),
    ("Public accompagné", [
        (None, ["nationalite"]), (None, ["refugie"]), (None, ["age_entree"]), (None, ["sexe"]),
        (None, ["orienteur"]), (None, ["ts_exterieur"]), (None, ["niveau_formation"]), (None, ["rsa_rqth"]),
        (None, ["duree_sans_emploi"]), (None, ["logement_entree"]), (None, ["parcours_rue"]),
        (None, ["difficultes_entree"]), (None, ["nb_difficultes"])]),
    ("Modalités du programme", [(None, ["accompagnement"]), (None, ["cp"]), (None, ["duree"]),
                                (None, ["duree_tranches"]), (None, ["post_sortie"])]),
    ("Impact sur les parcours", [(None, ["sorties_taux"]), (None, ["sorties_categories"]),
                                 (None, ["sorties_motifs"]), (None, ["logement_sortie"]), (None, ["logement_taux"]),
                                 (None, ["sante"]), (None, ["resolution"])]),
]


# The catalogue indicators (indicators/catalogue.py) each table of a programme's part shows.
TABLE_INDICATEURS: dict[str, tuple[str, ...]] = {
    "effectifs": tuple(f"effectifs.{k}" for k in ("accompagnes", "entrees", "sorties", "file_active_debut",
                                                  "file_active_fin", "nb_aci")),
    "supports": ("effectifs.nb_aci_par_support",),
    **{k: (f"profil.{k}",) for k in ("nationalite", "age_entree", "sexe", "refugie", "ts_exterieur", "orienteur",
                                     "niveau_formation", "formation_etranger", "duree_sans_emploi", "parcours_rue",
                                     "logement_entree")},
    "rsa_rqth": ("profil.rsa", "profil.rqth"),
    "difficultes_entree": ("profil.difficultes_entree.{difficulte}",),
    "nb_difficultes": ("profil.nb_difficultes", "profil.cumul_3_a_7_difficultes"),
    "accompagnement": ("accompagnement.acc_concerte", "accompagnement.acc_proximite"),
    "cp": ("accompagnement.cp_emploi", "accompagnement.cp_sante", "accompagnement.cp_logement"),
    "duree": tuple(f"sorties.duree_parcours.{k}" for k in ("moyenne_mois", "mediane_mois", "plus_24_mois")),
    "duree_tranches": ("sorties.duree_parcours.tranches",),
    "post_sortie": tuple(f"post_sortie.{g}.{k}" for g in ("emploi_durable", "logement_perenne")
                         for k in ("sortis", "contactes", "non_renseigne", "stabilises")),
    "sorties_taux": tuple(f"sorties.{k}" for k in ("taux_sorties_dynamiques", "taux_emploi_durable", "emploi_via_cp",
                                                   "part_neutres")),
    "sorties_categories": ("sorties.par_categorie",),
    "sorties_motifs": ("sorties.par_motif",),
    "logement_sortie": ("logement.sortie",),
    "logement_matrice": ("logement.matrice",),
    "logement_taux": tuple(f"logement.{k}" for k in ("ameliore", "degrade", "acces_logement_perenne", "via_cp")),
    "sante": tuple(f"sante.{k}" for k in ("ouverture_droits", "bilan_sante", "medecin_traitant", "couverture_sante",
                                          "rqth_obtenue", "aah_obtenue")),
    "resolution": ("resolution.{difficulte}", "resolution.{difficulte}.resolue_ou_en_cours"),
    "phc": tuple(f"phc.{k}" for k in ("accompagnes", "entrees", "sorties", "heures_entree_moyenne",
                                      "heures_sortie_moyenne", "poursuite_cddi", "duree_moyenne_mois", "nb_aci")),
}


def _sections(spec: list[tuple[str, Blocs]], b: _Builder, prefix: str = "") -> list[Section]:
    built = [
        Section(titre, [Bloc(b.g.get(g) if g else None, [b.t[k] for k in keys])
                        for g, keys in blocs if all(k in b.t for k in keys)])
        for titre, blocs in spec
    ]
    return [sec for sec in built if sec.blocs]


def _wanted_charts(spec: Iterable[tuple[str, Blocs]]) -> set[str]:
    return {g for _titre, blocs in spec for g, _keys in blocs if g}


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


def _carte(texte: str, valeur: object) -> Carte:
    """A key figure; a rate shows its share, with « n / base » under it (« n.s. » and why when not shown)."""
    if not isinstance(valeur, Taux):
        return Carte(valeur, texte)
    taux = valeur

    def detail() -> str:
        base = taux.part.base
        shown = f"{taux.n} / {taux.base}" if base.value > 0 and (base.status != PRIMARY or base.vague) else ""
        if str(taux.part) == NS:
            shown = " — ".join(filter(None, [shown, "non significatif, secret statistique"]))
        return shown

    return Carte(taux.part, texte, _Texte(detail))


def _court(valeur: object) -> object:
    """What a comparison shows of a key figure: the share of a rate, a count, a mean."""
    return valeur.part if isinstance(valeur, Taux) else valeur


def _comparaison(b: _Builder, nat: _Builder, nom: str) -> Tableau:
    """Each key figure of a territoire beside the national one (the comparison annex); the territoire's
    counts are part of the national ones."""
    mine, theirs = b.chiffres(), nat.chiffres()
    rows: list[list[object]] = []
    for (texte, v), (_t, n) in zip(mine, theirs, strict=True):
        for small, big in _count_pairs(v, n):
            b.m.at_most([small.key], [big.key], f"{nom} ≤ national")
        rows.append([texte[:1].upper() + texte[1:], _court(v), _court(n)])
    return Tableau(
        f"{nom} et le national : chiffres clés", _champ(f"salarié·es des ACI du territoire {nom} et de tous les "
                                                        "territoires, mêmes définitions"),
        ["Chiffre clé", nom, NATIONAL], rows)


def _count_pairs(a: object, b: object) -> list[tuple[Nombre, Nombre]]:
    if isinstance(a, Nombre) and isinstance(b, Nombre):
        return [(a, b)]
    if isinstance(a, Taux) and isinstance(b, Taux):
        return [(a.n, b.n), (a.base, b.base)]
    return []


def _non_reponse_table(builders: Sequence[_Builder], schema: Schema, ind: Indicators,
                       absentes: Mapping[str, Sequence[str] | None] | None) -> Tableau | None:
    """The figures whose « non renseigné » exceed 10 %, with the ACI whose files lack the column."""
    found: dict[str, NonReponse] = {}
    for b in builders:
        for nr in b.nr:
            found.setdefault(nr.indicateur, nr)
    if not found:
        return None
    noms = {sn["siret"]: sn["nom"] for sn in ind["snapshots"]}

    def lacking(colonne: str | None) -> str:
        if colonne is None:
            return ""
        if absentes is None:
            return "non connus"
        label = schema.column(colonne).label
        sirets = [s for s, cols in absentes.items() if cols is not None and label in cols]
        unknown = sum(cols is None for cols in absentes.values())
        text = fr.liste(sorted(noms.get(s, s) for s in sirets)) if sirets else "aucun"
        return text + (f" (colonnes non relevées pour {unknown} fichier{'s' if unknown > 1 else ''})" if unknown else "")

    rows: list[list[object]] = [
        [nr.indicateur, nr.part, f"« {schema.column(nr.colonne).label} »" if nr.colonne else "", lacking(nr.colonne)]
        for nr in found.values()
    ]
    return Tableau(
        "Indicateurs dont plus de 10 % des réponses ne sont pas renseignées",
        _champ("la population de chaque indicateur (voir son tableau)"),
        ["Indicateur", "Non renseigné", "Colonne", "ACI dont le fichier n'a pas la colonne"], rows,
        ["Une colonne absente du fichier d'un ACI rend « non renseigné » tous ses salarié·es pour l'indicateur ; "
         "les autres non-réponses sont des cases vides."], colonnes_texte=1)


def _definitions(shown: Iterable[str]) -> Tableau:
    """« Définitions » of the indicators the report shows, from the indicator catalogue (their libellé,
    definition and population are written there once), in the catalogue's order."""
    from cvg_pipeline.indicators.catalogue import BLOCS, INDICATEURS

    wanted = set(shown)
    blocs = {b.key: b.titre for b in BLOCS}
    rows: list[list[object]] = []
    for i in INDICATEURS:
        if i.path in wanted:
            population = i.population.libelle.removeprefix("Base : ")
            rows.append([blocs.get(i.block, i.block), i.libelle, definition(i.path),
                         population[:1].upper() + population[1:]])
    return Tableau("Définitions des indicateurs", _champ("selon l'indicateur, voir la dernière colonne"),
                   ["Thème", "Indicateur", "Définition", "Population"], rows, colonnes_texte=4)


def ligne_date(ind: Indicators) -> str:
    """« Année 2023 — fichiers arrêtés entre le 31/12/2023 et le 29/02/2024 » (indicators.md §5.2)."""
    days = sorted({sn["date_arrete"] for sn in ind["snapshots"]})
    head = f"Année {ind['annee']}"
    if not days:
        return f"{head} — aucun fichier"

    def court(iso: str) -> str:
        return date.fromisoformat(iso).strftime("%d/%m/%Y")

    if len(days) == 1:
        return f"{head} — fichiers arrêtés au {court(days[0])}"
    return f"{head} — fichiers arrêtés entre le {court(days[0])} et le {court(days[-1])}"


def build_report(
    ind: Indicators,
    schema: Schema,
    *,
    seuil: int = SEUIL_DEFAUT,
    charts: bool = True,
    colonnes_absentes: Mapping[str, Sequence[str] | None] | None = None,
    phc: Indicators | None = None,
    national: Indicators | None = None,
) -> Rapport:
    """The view model of the report (every number formatted, the secret applied).

    `ind` is the report's programme (CVG by default, `tous` for the pooled report, or PHC); `phc`, the same
    scope under programme PHC, adds the PHC part; `national`, the national indicators of the same programme,
    adds to a territoire report each key figure beside the national one. `colonnes_absentes` (SIRET →
    labels of the optional columns its file lacked, None when not recorded) adds them to the sources."""
    from cvg_pipeline.indicators.compute import indicator_warnings
    from cvg_pipeline.report.secret.suppress import protect

    secret = Secret(seuil)
    model = Model(secret.seuil)
    programme = ind["perimetre"]["programme"]
    pooled = programme not in schema.domains["programme"].labels
    main = _Builder(ind, schema, secret, charts, model=model, colonnes_absentes=colonnes_absentes,
                    libelles=_Libelles("", "" if pooled else f" du programme {programme}",
                                       "" if pooled else f" ({programme})"))
    main.build(phc_block=pooled or programme == "PHC", annexes=True)
    builders = [main]
    wanted = {id(main): _wanted_charts(s for _p, _t, spec in PROGRAMME_OUTLINE for s in spec) | {"territoires"}}
    chiffres = main.chiffres()
    phc_b: _Builder | None = None
    if phc is not None and not pooled and programme != "PHC":
        phc_b = _Builder(phc, schema, secret, False, model=model, prefix="phc:",  # tables only
                         libelles=_Libelles("Programme PHC · ", " du programme PHC", " (PHC)"))
        phc_b.build(phc_block=True, annexes=False)
        builders.append(phc_b)
        wanted[id(phc_b)] = _wanted_charts(PHC_OUTLINE)
    p = ind["perimetre"]
    comparaison: Tableau | None = None
    nationaux: list[tuple[str, object]] = []
    nom = ""
    if national is not None and p["niveau"] != "national":
        nat = _Builder(national, schema, secret, False, model=model, prefix="nat:",
                       libelles=_Libelles("National · ", main.lib.programme, main.lib.court))
        nom = territoire_name(schema, p["territoire"]) if p["territoire"] else perimetre_libelle(ind, schema)
        comparaison = _comparaison(main, nat, nom)
        nationaux = nat.chiffres()
    nr_table = _non_reponse_table(builders, schema, ind, colonnes_absentes)
    for b in builders:
        for k, t in b.t.items():
            t.indicateurs = list(TABLE_INDICATEURS.get(k, ()))
    definitions = _definitions(p for b in builders for t in b.t.values() for p in t.indicateurs)

    audit = protect(model)  # statuses F / A / D of every count, then what an adversary can reach
    for b in builders:  # charts only draw what stayed visible
        b.draw_figures(wanted.get(id(b)))

    part_name = "Ensemble des programmes" if pooled else f"Programme {programme}"
    parties = [Partie(f"{'' if pooled else programme.lower() + '-'}{pid}", f"{part_name} — {titre}",
                      _sections(spec, main)) for pid, titre, spec in PROGRAMME_OUTLINE]
    if (pooled or programme == "PHC") and parties[0].sections:
        parties[0].sections[0].blocs.insert(0, Bloc(None, [main.t["phc"]]))
    cartes = [_carte(t, v) for t, v in chiffres]
    for carte, (_t, n) in zip(cartes, nationaux, strict=False):
        carte.national = _court(n)
    if phc_b is not None:
        parties.append(Partie("phc", "Programme PHC (Premières Heures en Chantier)", _sections(PHC_OUTLINE, phc_b),
                              cartes=[_carte(t, v) for t, v in phc_b.chiffres_phc()]))
    annexes: list[Section] = []
    if "territoires" in main.t:
        annexes.append(Section("Effectifs et sorties dynamiques par territoire",
                               [Bloc(main.g.get("territoires"), [main.t["territoires"]])]))
    if "territoires_taux" in main.t:
        annexes.append(Section("Durée, modalités et impact par territoire", [Bloc(None, [main.t["territoires_taux"]])]))
    if comparaison is not None:
        annexes.append(Section(f"{nom} et le national", [Bloc(None, [comparaison])]))
    if annexes:
        parties.append(Partie("annexes", "Annexes", annexes))
    sources = [Bloc(None, [t]) for t in (main.t["snapshots"], nr_table, definitions) if t is not None]
    parties.append(Partie("sources", "Sources et méthode", [Section("Fichiers de reporting et définitions", sources)]))
    tables = {f"{b.prefix}{k}": t for b in builders for k, t in b.t.items()}
    for k, extra in (("comparaison", comparaison), ("non_reponse", nr_table), ("definitions", definitions)):
        if extra is not None:
            tables[k] = extra
    for table in tables.values():  # the footnote of a table with a count hidden by the secondary secret
        if any(_secondaire(c) for row in table.lignes for c in row):
            table.notes.append(
                f"« {SECRET_SECONDAIRE} » : effectif masqué au titre du secret secondaire : avec les totaux publiés, "
                f"il permettrait de retrouver un effectif inférieur à {seuil}."
            )
    masquees = [
        CelluleMasquee(cell.key, cell.label, cell.status, str(Nombre(cell, seuil)), int(iv.lo), None if iv.hi == float("inf") else int(iv.hi),
                       required_width(seuil, cell.status))
        for cell in model.hidden() for iv in [audit[cell.key]]
    ]
    donnees_au = fr.date_iso_longue(ind["donnees_au"]) if ind["donnees_au"] else "aucune donnée"
    perimetre = perimetre_libelle(ind, schema)
    titre = f"Rapport d'activité {ind['annee']} — {perimetre[0].upper()}{perimetre[1:]}"
    if pooled:
        titre += " — programmes CVG et PHC réunis"
    return Rapport(
        titre=titre,
        programme=programme_libelle(ind, schema) + (" et programme PHC" if phc_b is not None else ""),
        annee=ind["annee"],
        donnees_au=donnees_au,
        secret=secret.mention(),
        avertissements=indicator_warnings(ind),
        cartes=cartes,
        parties=parties,
        t=tables,
        g={f"{b.prefix}{k}": g for b in builders for k, g in b.g.items()},
        notes={c.key: f"{c.label} : {c.note}" for c in schema.exit_categories if c.note},
        dynamiques=dynamic_categories(schema),
        masquees=masquees,
        ligne_date=ligne_date(ind),
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
    phc: Indicators | None = None,
    national: Indicators | None = None,
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
                           colonnes_absentes=colonnes_absentes, phc=phc, national=national)
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
