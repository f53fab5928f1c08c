"""What every section builder shares (`_Base`): cells and relations of the secret model, labels, charts,
distributions and yes/no tables with the reading rules of indicators.md §5.2.

A caption, row, column or chart title that names a catalogue indicator reads its words from the catalogue
(`_Base.libelle`, `court`, `population`; a group's caption `bloc`): the report writes no indicator's name."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from cvg_pipeline import fr
from cvg_pipeline.report.secret.model import (
    COST_HEADLINE,
    COST_MARGIN,
    COST_NON_RENSEIGNE,
    COST_ORDINARY,
    Model,
)
from cvg_pipeline.report.secret_cells import (
    NON_RENSEIGNE,
    Affiche,
    Nombre,
    Part,
    Secret,
    Taux,
    _champ_de,
    _Texte,
)
from cvg_pipeline.report.view import Graphique, Tableau
from cvg_pipeline.schema.load import Schema

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Indicators, Rate, YesNo
    from cvg_pipeline.report.charts import Barre

# Indicator keys that are definitions of the spec (indicators.md §4), not schema values: their labels.
AGE_LIBELLES = {"moins_26": "Moins de 26 ans", "26_49": "26 à 49 ans", "50_plus": "50 ans et plus"}
NON_RENSEIGNE_LIBELLE = "Non renseigné"
TRANCHES_LIBELLES = {"0_6": "6 mois ou moins", "6_12": "6 à 12 mois", "12_24": "12 à 24 mois", "24_36": "24 à 36 mois",
                     "36_plus": "Plus de 36 mois"}



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
        self.pop_acc = f"{self.population('effectifs.accompagnes')} (en parcours au moins un jour de l'année)"
        self.pop_sor = self.population("effectifs.sorties")

    # -- cells and relations ---------------------------------------------------------------------------
    def key(self, key: str) -> str:
        return self.prefix + key

    def has(self, key: str) -> bool:
        return self.key(key) in self.m.cells

    def c(self, key: str, value: int, label: str, weight: float = COST_ORDINARY, *, exact: bool = True) -> Nombre:
        """Declare the count `key` (the same key anywhere in the report is the same number; `exact=False`: a
        count the report shows only as its rounded share, see `secret.model`)."""
        key = self.key(key)
        cell = self.m.cells.get(key)
        while cell is not None and cell.value != value:  # never seen: a figure computed twice differently
            key += "'"
            cell = self.m.cells.get(key)
        return Nombre(self.m.cell(key, value, self.lib.partie + label, weight=weight, exact=exact), self.s.seuil)

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

    EFF_FIELDS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("acc", "accompagnes"), ("ent", "entrees"), ("sor", "sorties"), ("fin", "file_active_fin"))

    def effectifs_cells(self, prefix: str, label: str, eff: Mapping[str, Any], dyn: Rate,
                        weight: float) -> tuple[list[object], dict[str, Nombre]]:
        """The counts of one line of effectifs (a year, a territoire) and their relations: accompagné·es =
        file active au 31 décembre + sorti·es; sorties dynamiques ≤ hors neutres ≤ sorti·es."""
        cells = {m: self.c(f"{prefix}.{m}", int(eff[name]), f"{label} · {minuscule(self.court(f'effectifs.{name}'))}",
                           weight)
                 for m, name in self.EFF_FIELDS}
        dyn_key, hn_key = ("sor.dyn", "sor.horsneutres") if prefix == "eff" else (f"{prefix}.dyn", f"{prefix}.hn")
        # a rate's count and base before the counts of the line
        cells["hn"] = self.c(hn_key, dyn["base"], f"{label} · sorties hors sorties neutres", min(weight, COST_MARGIN))
        cells["dyn"] = self.c(dyn_key, dyn["n"], f"{label} · {minuscule(self.court(DYNAMIQUES))}",
                              min(weight, COST_MARGIN))
        self.m.total(cells["acc"].key, [cells["fin"].key, cells["sor"].key], f"{label} : accompagné·es = file active + sorti·es")
        self.m.at_most([cells["hn"].key], [cells["sor"].key], f"{label} : hors neutres ≤ sorti·es")
        self.m.at_most([cells["ent"].key], [cells["acc"].key], f"{label} : entré·es ≤ accompagné·es")
        taux = self.taux(cells["dyn"], cells["hn"])
        row: list[object] = [fr.entier(eff["nb_aci"]), cells["acc"], cells["ent"], cells["sor"], cells["fin"], taux]
        return row, cells

    def effectifs_headers(self) -> list[str]:
        """The columns of a line of effectifs (after its name), from the catalogue's short labels."""
        return [self.court(f"effectifs.{k}") for k in ("nb_aci", "accompagnes", "entrees", "sorties", "file_active_fin")
                ] + [self.court(DYNAMIQUES)]

    def note_dynamiques(self) -> str:
        return f"{self.court(DYNAMIQUES)} : {dynamic_categories(self.schema)}, en part des sorties hors sorties neutres."

    # -- the catalogue's words (indicators/catalogue.py) -------------------------------------------------
    @staticmethod
    def libelle(path: str) -> str:
        """The label of the catalogue indicator of `path` (a JSON path, declared or concrete): the caption of
        its table, its row, its chart's title."""
        from cvg_pipeline.indicators.catalogue import entry

        return entry(path).libelle

    @staticmethod
    def court(path: str) -> str:
        """Its label within a group whose caption says the rest (a row, a column, a bar, a series)."""
        from cvg_pipeline.indicators.catalogue import entry

        return entry(path).court

    def population(self, path: str, annees: str = "") -> str:
        """Its population as the catalogue names it, for the report's year (« salarié·es sorti·es en 2023 hors
        sorties neutres », the catalogue's « dans l'année ») or for `annees` (« chaque année »)."""
        from cvg_pipeline.indicators.catalogue import entry

        return entry(path).population.libelle.removeprefix("Base : ").replace("dans l'année", annees or f"en {self.y}")

    @staticmethod
    def bloc(key: str) -> str:
        """The title of a block of the catalogue (`BLOCS`): the caption of a table grouping its figures."""
        from cvg_pipeline.indicators.catalogue import BLOCS

        return next(b.titre for b in BLOCS if b.key == key)

    @staticmethod
    def titre_evolution(years: Sequence[int | str], texte: str) -> str:
        """« Évolution 2021-2023 : orienteurs / prescripteurs »."""
        return f"Évolution {years[0]}-{years[-1]} : {minuscule(texte)}"

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

    def territoire_name(self, slug: str) -> str:
        return territoire_name(self.schema, slug)

    def difficulty_labels(self) -> dict[str, str]:
        return {d.key: d.label for d in self.schema.difficulties}

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


DYNAMIQUES = "sorties.taux_sorties_dynamiques"


def minuscule(text: str) -> str:
    """A label inside a sentence: its first letter lower-cased, unless it starts an acronym (« RSA », « CP »)."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


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


