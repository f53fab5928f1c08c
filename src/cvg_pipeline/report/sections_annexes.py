"""Effectifs and their evolution, the PHC block, the annexes (par territoire), the sources, the key figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cvg_pipeline import fr
from cvg_pipeline.report.secret.model import (
    COST_HEADLINE,
    COST_MARGIN,
    COST_ORDINARY,
)
from cvg_pipeline.report.secret_cells import (
    NON_RENSEIGNE,
    Nombre,
    Taux,
    _champ,
)
from cvg_pipeline.report.sections_base import (
    DYNAMIQUES,
    _Base,
    minuscule,
)
from cvg_pipeline.report.sections_modalites import CP_DEFINITION
from cvg_pipeline.report.view import Tableau

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Rate, YesNo

TERRITOIRE_TAUX = (  # par_territoire v2: the rates of the annex tables (their labels: the catalogue's)
    "plus_24_mois", "acc_concerte", "acc_proximite", "logement_ameliore", "acces_logement_perenne", "ouverture_droits")


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
            self.titre_evolution(years, self.bloc("effectifs")) if years else "Évolution",
            _champ("salarié·es des ACI du périmètre, chaque année civile, sur les mêmes fichiers de reporting"),
            ["Année", *self.effectifs_headers()], rows, [self.note_dynamiques()],
        )
        from cvg_pipeline.report import charts

        series = [(self.court(f"effectifs.{name}"), [self.barre(y, per_year[int(y)][key]) for y in years])
                  for key, name in self.EFF_FIELDS[:3]]
        barres_taux = [self.barre(y, t.part) for y, t in zip(years, taux, strict=True)]

        def draw(alt: str) -> str:
            desc = " ; ".join(
                f"{y} : {b0.etiquette} accompagné·es, {b1.etiquette} entré·es, {b2.etiquette} sorti·es, "
                f"{t.etiquette} de sorties dynamiques"
                for y, b0, b1, b2, t in zip(years, series[0][1], series[1][1], series[2][1], barres_taux, strict=True)
            )
            return charts.evolution("evolution", f"{alt} — {desc}.", years, series, self.court(DYNAMIQUES), barres_taux)

        self.figure("evolution", f"Évolution sur trois ans : {minuscule(self.bloc('effectifs'))} et "
                    f"{minuscule(self.libelle(DYNAMIQUES))}", draw)

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
        lib = self.libelle
        rows: list[list[object]] = [[lib("phc.accompagnes"), acc], [lib("phc.entrees"), ent], [lib("phc.sorties"), sor]]
        if ph.get("nb_aci") is not None:
            rows.append([lib("phc.nb_aci"), fr.entier(int(ph["nb_aci"]))])
        rows += [
            [lib("phc.heures_entree_moyenne"), s.moyenne(ph["heures_entree_moyenne"], ph["accompagnes"], "h")],
            [lib("phc.heures_sortie_moyenne"), s.moyenne(ph["heures_sortie_moyenne"], ph["sorties"], "h")],
        ]
        if "duree_moyenne_mois" in ph:
            rows.append([lib("phc.duree_moyenne_mois"), s.moyenne(ph["duree_moyenne_mois"], ph["sorties"], "mois")])
        rows.append([lib("phc.poursuite_cddi"), poursuite])
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
            f"{self.bloc('effectifs')} et {minuscule(self.court(DYNAMIQUES))} {self.y} par territoire",
            _champ(self.pop_acc + ", par territoire de l'ACI"), ["Territoire", *self.effectifs_headers()], rows, notes,
        )
        ordered = sorted(par, key=lambda k: -cells[k]["acc"].cell.value)
        self.bars_chart("territoires", f"{self.libelle('effectifs.accompagnes')} {self.y} par territoire",
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
            _cells, out[k] = self.yes_no(f"acc.{k}", self.libelle(f"accompagnement.{k}"), a[k])  # type: ignore[literal-required]
        return out

    def territoires_taux(self, par: Mapping[str, Mapping[str, Any]]) -> None:
        """Annex tables of the v2 par_territoire figures (durée, modalités, impact), a national row last."""
        from cvg_pipeline.indicators.catalogue import PAR_TERRITOIRE

        repris = {r.key: r.source for r in PAR_TERRITOIRE}
        fields = [(k, self.libelle(repris[k])) for k in TERRITOIRE_TAUX if all(k in v for v in par.values())]
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
            ["Territoire", self.libelle("sorties.duree_parcours.moyenne_mois"), *(label for _, label in fields)], rows,
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
            "dyn": self.taux(self.c("sor.dyn", dyn["n"], self.court(DYNAMIQUES), COST_MARGIN), hors_neutres),
            "ameliore": self.rate("log.ameliore", ind["logement"]["ameliore"], self.libelle("logement.ameliore"),
                                  log_base, COST_MARGIN),
            "perenne": self.rate("log.perenne", ind["logement"]["acces_logement_perenne"],
                                 self.libelle("logement.acces_logement_perenne"), log_base, COST_MARGIN),
            "ouverture": self.rate("sante.ouverture_droits", ind["sante"]["ouverture_droits"],
                                   self.libelle("sante.ouverture_droits"), self.sor(), COST_MARGIN),
            "plus24": self.rate("duree.plus24", duree["plus_24_mois"],
                                self.libelle("sorties.duree_parcours.plus_24_mois"), self.sor()),
            "cumul": self.rate("nbdiff.cumul", ind["profil"]["cumul_3_a_7_difficultes"],
                               self.libelle("profil.cumul_3_a_7_difficultes"), self.acc(), COST_MARGIN),
        }
        via_cp = self.c("sor.viacp", so["emploi_via_cp"], self.libelle("sorties.emploi_via_cp"))
        return [
            ("salarié·es accompagné·es", self.acc()),
            ("salarié·es entré·es dans l'année", self.c("eff.ent", eff["entrees"], "Effectifs · entré·es", COST_HEADLINE)),
            ("salarié·es sorti·es dans l'année", self.sor()),
            (f"{self.libelle('effectifs.nb_aci')}{self.lib.programme}", fr.entier(eff["nb_aci"])),
            ("des salarié·es sorti·es (hors sorties neutres) accèdent à l'emploi ou à la formation", k["dyn"]),
            (f"salarié·es ont accédé à l'emploi ou à la formation via les {CP_DEFINITION} emploi", via_cp),
            ("des salarié·es sorti·es ont vu leur situation logement s'améliorer", k["ameliore"]),
            ("des salarié·es sorti·es ont accédé à un logement pérenne pendant le parcours", k["perenne"]),
            ("des salarié·es sorti·es ont eu une ouverture de droits santé", k["ouverture"]),
            (f"{minuscule(self.libelle('sorties.duree_parcours.moyenne_mois'))} (sorti·es)",
             s.moyenne(duree["moyenne_mois"], self.n_sor, "mois")),
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
            (self.libelle("phc.nb_aci"), fr.entier(int(ph.get("nb_aci", self.ind["effectifs"]["nb_aci"])))),
        ]
        if "poursuite" in self.k:
            out.append(("des sorti·es (hors sorties neutres) poursuivent en CDDI ou dans une autre structure de l'IAE",
                        self.k["poursuite"]))
        if "duree_moyenne_mois" in ph:
            out.append((minuscule(self.libelle("phc.duree_moyenne_mois")),
                        self.s.moyenne(ph["duree_moyenne_mois"], int(ph["sorties"]), "mois")))
        return out


NATIONAL = "National"


def _sort_name(name: str) -> str:
    """Territoires sorted by name as a French reader does (accents ignored)."""
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFD", name.casefold()) if not unicodedata.combining(c))


