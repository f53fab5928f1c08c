"""Mise en œuvre des modalités du programme (part B): accompagnement renforcé, CP, durée, post-sortie."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from cvg_pipeline import fr
from cvg_pipeline.report.secret.model import (
    COST_MARGIN,
    COST_NON_RENSEIGNE,
)
from cvg_pipeline.report.secret_cells import (
    NON_RENSEIGNE,
    Nombre,
    Part,
    _champ,
    _champ_de,
)
from cvg_pipeline.report.sections_base import (
    TRANCHES_LIBELLES,
    _Base,
    definition,
    minuscule,
)
from cvg_pipeline.report.view import Tableau

if TYPE_CHECKING:
    pass

CP_DEFINITION = "chargé·es de partenariats (CP)"
ACC_RENFORCE = "Accompagnement renforcé"  # the caption of the yes/no figures of accompagnement (no block of its own)


class _Modalites(_Base):
    """Mise en œuvre des modalités du programme (part B): accompagnement renforcé, chargé·es de
    partenariats, durée de parcours, post-sortie."""

    def accompagnement(self) -> None:
        a = self.ind["accompagnement"]
        noms = {k: self.libelle(f"accompagnement.{k}") for k in ("acc_concerte", "acc_proximite")}
        self.yes_no_table("accompagnement", ACC_RENFORCE,
                          [(f"acc.{k}", nom, a[k], k) for k, nom in noms.items()])  # type: ignore[literal-required]
        years = self.evolution_years("acc_concerte")
        if years:
            rows: list[list[object]] = []
            series: dict[str, list[Part | Nombre]] = {}
            for y, block, acc in years:
                row: list[object] = [str(y)]
                for k in ("acc_concerte", "acc_proximite"):
                    yn = block[k]
                    prefix = self.year_key(y, f"acc.{k}")
                    label = f"Évolution {y} · {noms[k]}"
                    cells = self.counts(prefix, label, {"oui": yn["oui"], "non": yn["non"],
                                                        NON_RENSEIGNE: yn["non_renseigne"]}, {}, acc)
                    renseigne = self.c(f"{prefix}.renseigne", yn["oui"] + yn["non"], f"{label} · oui + non",
                                       COST_MARGIN)
                    self.m.total(renseigne.key, [cells["oui"].key, cells["non"].key], f"{label} : renseigné")
                    taux = self.taux(cells["oui"], renseigne)
                    row.append(taux)
                    series.setdefault(noms[k], []).append(taux.part)
                rows.append(row)
            titre = self.titre_evolution([y for y, _b, _a in years], ACC_RENFORCE)
            self.trend("evo_accompagnement", f"{titre} (en % des réponses renseignées)",
                       [y for y, _b, _a in years], list(series.items()))
            self.t["evo_accompagnement"] = Tableau(
                titre, _champ(self.population("accompagnement.acc_concerte", "chaque année"),
                              "les salarié·es dont la réponse est renseignée"),
                ["Année", *noms.values()], rows)

    def cp(self) -> None:
        a = self.ind["accompagnement"]
        titre = f"Mobilisation des {CP_DEFINITION} et de leur réseau"
        bases = {"emploi": self.acc(), "sante": self.diff_oui.get("sante"), "logement": self.diff_oui.get("logement")}
        champs = {k: self.court(f"accompagnement.cp_{k}") for k in bases}
        rows = [(champs[k], self.rate(f"cp.{k}", a[f"cp_{k}"], f"{titre} · {minuscule(champs[k])}", base),  # type: ignore[literal-required]
                 self.population(f"accompagnement.cp_{k}"))
                for k, base in bases.items()]
        self.t["cp"] = Tableau(
            titre, _champ(self.pop_acc, "selon le champ, voir la colonne « Base »"),
            ["Champ", "Base", "Salarié·es concerné·es", "Mobilisation du / de la CP"],
            [[champ, base, taux.base, taux] for champ, taux, base in rows],
            colonnes_texte=2,
        )
        self.cp_taux = {champ: taux for champ, taux, _ in rows}
        self.bars_chart("cp", "Mobilisation des CP : " + ", ".join(minuscule(champ) for champ, _t, _b in rows),
                        [self.barre(champ, taux.part) for champ, taux, _ in rows])
        years = self.evolution_years("cp_emploi")
        if years:
            evo_rows: list[list[object]] = []
            cp_series: dict[str, list[Part | Nombre]] = {}
            for y, block, acc in years:
                row: list[object] = [str(y)]
                for champ, name in champs.items():
                    k = f"cp_{champ}"
                    if y == self.y:  # the same cells as the table above
                        taux = self.cp_taux[name]
                    else:
                        taux = self.rate(f"evo.{y}.cp.{champ}", block[k], f"Évolution {y} · CP {champ}",
                                         acc if k == "cp_emploi" else None)
                        self.m.at_most([taux.base.key], [acc.key], f"évolution {y} : base CP ≤ accompagné·es")
                    row.append(taux)
                    cp_series.setdefault(name, []).append(taux.part)
                evo_rows.append(row)
            titre_evo = self.titre_evolution([y for y, _b, _a in years], titre.replace(CP_DEFINITION, "CP"))
            self.t["evo_cp"] = Tableau(
                titre_evo,
                _champ(self.population("accompagnement.cp_emploi", "chaque année"),
                       "emploi : les accompagné·es ; santé et logement : les accompagné·es ayant la difficulté "
                       "repérée à l'entrée"),
                ["Année", *cp_series], evo_rows)
            self.trend("evo_cp", f"{titre_evo} (en % de la base de chaque champ)",
                       [y for y, _b, _a in years], list(cp_series.items()))

    def duree(self) -> None:
        s = self.s
        d = self.ind["sorties"]["duree_parcours"]
        titre = "Durée de parcours des salarié·es sorti·es"
        self.k["plus24"] = self.rate("duree.plus24", d["plus_24_mois"], f"{titre} · plus de 24 mois", self.sor())
        self.t["duree"] = Tableau(
            titre, _champ_de(self.pop_sor, self.base_sor()), ["", "Valeur"],
            [
                [self.court("sorties.duree_parcours.moyenne_mois"), s.moyenne(d["moyenne_mois"], self.n_sor, "mois")],
                [self.court("sorties.duree_parcours.mediane_mois"), s.moyenne(d["mediane_mois"], self.n_sor, "mois")],
                [self.court("sorties.duree_parcours.plus_24_mois"), self.k["plus24"]],
            ],
            [definition("sorties.duree_parcours.moyenne_mois")],
        )
        years = self.evolution_years("duree_moyenne_mois")
        if years:
            self.t["duree"].lignes.insert(2,
                [f"{self.court('sorties.duree_parcours.moyenne_mois')}, année par année", " ; ".join(
                    f"{y} : {s.moyenne(block['duree_moyenne_mois'], int(block['effectifs']['sorties']), 'mois')}"
                    for y, block, _acc in years)])
        tranches: Mapping[str, int] | None = d.get("tranches")
        if tranches:
            labels = {k: TRANCHES_LIBELLES.get(k, k) for k in tranches}
            self.distribution("duree_tranches", self.libelle("sorties.duree_parcours.tranches"), tranches, labels,
                              ordered=True,
                              population=self.pop_sor, base=self.sor(), prefix="duree", cells="tranches", chart=True,
                              vertical=True)
            cells = {k: self.key(f"duree.tranches.{k}") for k in tranches}
            over = [cells[k] for k in ("24_36", "36_plus") if k in cells]
            if over:
                self.m.total(self.k["plus24"].n.key, over, "plus de 24 mois = 24 à 36 + plus de 36")

    def post_sortie(self) -> None:
        from cvg_pipeline.indicators.compute import DURABLE_CATEGORY

        ps = self.ind["post_sortie"]
        titre = self.bloc("post_sortie")
        rows_ps: list[list[object]] = []
        self.ps_sortis: dict[str, Nombre] = {}
        any_nr = False
        for key in (DURABLE_CATEGORY, "logement_perenne"):
            label = self.court(f"post_sortie.{key}.sortis")
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
        headers = ["Situation à la sortie", "Sorti·es depuis 6 à 12 mois",
                   *(self.court(f"post_sortie.{DURABLE_CATEGORY}.{k}") for k in ("non_renseigne", "contactes", "stabilises"))]
        if not any_nr:
            headers, rows_ps = headers[:2] + headers[3:], [r[:2] + r[3:] for r in rows_ps]
        self.t["post_sortie"] = Tableau(
            titre,
            _champ(f"salarié·es sorti·es en {self.y} depuis 6 à 12 mois au {fr.date_longue(date(self.y, 12, 31))}",
                   "pour chaque ligne, les sorti·es de la fenêtre puis les contacté·es"),
            headers, rows_ps, [definition(f"post_sortie.{k}.sortis") for k in (DURABLE_CATEGORY, "logement_perenne")],
        )


