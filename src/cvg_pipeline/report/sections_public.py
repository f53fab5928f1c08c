"""Caractérisation du public (part A of the 2023 report): effectifs, profile, difficulties at entry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

from cvg_pipeline import fr
from cvg_pipeline.report.secret.model import (
    COST_HEADLINE,
    COST_MARGIN,
)
from cvg_pipeline.report.secret_cells import (
    NON_RENSEIGNE,
    Nombre,
    Part,
    Secret,
    _champ,
    _champ_de,
    _Texte,
)
from cvg_pipeline.report.sections_base import (
    AGE_LIBELLES,
    NON_RENSEIGNE_LIBELLE,
    _Base,
    definition,
    minuscule,
    sort_keys,
)
from cvg_pipeline.report.view import Tableau

if TYPE_CHECKING:
    pass


class _Public(_Base):
    """Caractérisation du public (the 2023 report's part A): effectifs, social and professional profile,
    difficulties at entry — each with its evolution where the 2023 report shows one."""

    def effectifs(self) -> None:
        eff, y = self.ind["effectifs"], self.y
        titre = f"{self.bloc('effectifs')} {y}"
        lib = {k: self.libelle(f"effectifs.{k}") for k in eff}
        _row, cells = self.effectifs_cells("eff", titre, self.ind["effectifs"], self.ind["sorties"]["taux_sorties_dynamiques"],
                                          COST_HEADLINE)
        debut = self.c("eff.debut", eff["file_active_debut"], f"{titre} · {minuscule(lib['file_active_debut'])}",
                       COST_HEADLINE)
        self.m.total(cells["acc"].key, [debut.key, cells["ent"].key], "accompagné·es = en parcours au 1er janvier + entré·es")
        rows: list[list[object]] = [
            [lib["accompagnes"], cells["acc"]],
            [f"dont {minuscule(lib['file_active_debut'])}", debut],
            [f"dont {minuscule(lib['entrees'])}", cells["ent"]],
            [lib["sorties"], cells["sor"]],
            [lib["file_active_fin"], cells["fin"]],
            [f"{lib['nb_aci']}{self.lib.programme} (au moins un·e salarié·e accompagné·e)", fr.entier(eff["nb_aci"])],
        ]
        self.t["effectifs"] = Tableau(
            titre, _champ(f"salarié·es des ACI du périmètre, année {y}"), ["", "Effectif"], rows,
            [f"{lib['file_active_debut']} : file active au {fr.date_longue(date(y - 1, 12, 31))}."],
        )
        labels = self.labels("supports")
        sup = {k: v for k, v in eff["nb_aci_par_support"].items() if k != NON_RENSEIGNE or v}
        aci = Secret(0)  # ACI are public organisations, listed by name in the report: not masked
        order = sort_keys(sup, ordered=False)
        titre_supports = self.libelle("effectifs.nb_aci_par_support")
        self.t["supports"] = Tableau(
            titre_supports,
            _champ(f"ACI ayant accompagné au moins un·e salarié·e en {y}", f"{fr.entier(eff['nb_aci'])} ACI"),
            ["Support d'activité", "ACI", "Part des ACI"],
            [[labels.get(k, k), fr.entier(sup[k]), aci.part(sup[k], eff["nb_aci"])] for k in order],
            ["Un ACI peut porter plusieurs supports d'activité : le total peut dépasser le nombre d'ACI."],
        )
        from cvg_pipeline.report import charts
        from cvg_pipeline.report.charts import Barre

        barres = [Barre(labels.get(k, k), float(sup[k]), fr.entier(sup[k])) for k in order]
        self.bars_chart("supports", f"{titre_supports} (nombre d'ACI)", barres, pourcentages=False,
                        couleur=charts.VERT)

    def profil(self) -> None:
        """In the 2023 report's order: nationalité, réfugié·es, âge, sexe, orienteurs (and their evolution),
        orienté·es depuis PHC, TS extérieur, formation, RSA, RQTH."""
        p = self.ind["profil"]
        parts = {key: self.distribution(key, self.libelle(f"profil.{key}"), p[key], labels,  # type: ignore[literal-required]
                                        ordered=key == "age_entree",
                                        column="annee_naissance" if key == "age_entree" else key)
                 for key, labels in (
                     ("nationalite", self.labels("nationalite")),
                     ("age_entree", {**AGE_LIBELLES, NON_RENSEIGNE: NON_RENSEIGNE_LIBELLE}),
                     ("sexe", self.labels("sexe")))}
        self.profil_chart(parts)
        self.t["age_entree"].notes.append(definition("profil.age_entree"))
        self.yes_no_alone("refugie")
        labels = self.labels("orienteur")
        self.distribution("orienteur", self.libelle("profil.orienteur"), p["orienteur"], labels, ordered=False,
                          column="orienteur", chart=True)
        self.evolution_distribution("orienteur", labels, ordered=False)
        self.orientes_phc(labels)
        self.yes_no_alone("ts_exterieur")
        self.distribution("niveau_formation", self.libelle("profil.niveau_formation"), p["niveau_formation"],
                          self.labels("niveau_formation"), ordered=True, column="niveau_formation")
        self.t["niveau_formation"].notes.append(
            "Niveaux : 1-2 pas de formation ; 3 CAP, BEP ; 4 bac ; 5-8 supérieur au bac."
        )
        self.yes_no_alone("formation_etranger")
        self.yes_no_table("rsa_rqth", "RSA et RQTH à l'entrée",
                          [(f"profil.{k}", self.libelle(f"profil.{k}"), p[k], k) for k in ("rsa", "rqth")])

    def yes_no_alone(self, key: str) -> None:
        """A yes/no figure of the profile in a table of its own, captioned with its label."""
        libelle = self.libelle(f"profil.{key}")
        self.yes_no_table(key, libelle, [(f"profil.{key}", libelle, self.ind["profil"][key], key)])  # type: ignore[literal-required]

    def profil_chart(self, parts: Mapping[str, Mapping[str, Part]]) -> None:
        """Sexe, âge and nationalité in one chart (one group each, at full width)."""
        from cvg_pipeline.report import charts

        groupes = [(self.t[key].titre, [self.barre(str(row[0]), parts[key][k]) for row, k in
                                         zip(self.t[key].lignes, self.orders[key], strict=True)])
                   for key in ("nationalite", "age_entree", "sexe")]
        noms = ", ".join(minuscule(self.t[key].titre) for key in ("nationalite", "age_entree", "sexe"))
        self.figure(
            "profil", f"{self.bloc('profil')} : {noms} (en % des accompagné·es)",
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
                       f"{self.libelle('profil.orienteur')} {y} · {labels[phc]}")
            rows.append([str(y), n, self.part(n, acc)])
            counts.append(n)
        if not rows:
            return
        self.trend("orientes_phc", "Salarié·es orienté·es depuis PHC, par année", [int(str(r[0])) for r in rows],
                   [("Orienté·es depuis PHC", counts)], pourcentages=False)
        self.t["orientes_phc"] = Tableau(
            "Salarié·es orienté·es depuis Premières Heures en Chantier (PHC)",
            _champ(f"{self.population('profil.orienteur', 'chaque année')}, sur les mêmes fichiers de reporting"),
            ["Année", "Salarié·es orienté·es depuis PHC", "Part des accompagné·es"], rows)

    def difficultes(self) -> None:
        """Durée sans emploi, logement à l'entrée (and its evolution), parcours de rue, difficultés."""
        from cvg_pipeline.indicators.compute import CUMUL_MAX, CUMUL_MIN

        p = self.ind["profil"]
        self.distribution("duree_sans_emploi", self.libelle("profil.duree_sans_emploi"), p["duree_sans_emploi"],
                          self.labels("duree_sans_emploi"), ordered=True, column="duree_sans_emploi")
        logement = self.labels("logement")
        self.distribution("logement_entree", self.libelle("profil.logement_entree"), p["logement_entree"], logement,
                          ordered=True, column="logement_entree", chart=True)
        self.evolution_distribution("logement_entree", logement, ordered=True)
        self.distribution("parcours_rue", self.libelle("profil.parcours_rue"), p["parcours_rue"],
                          self.labels("parcours_rue"), ordered=True, column="parcours_rue")
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
        titre = self.libelle("profil.difficultes_entree.{difficulte}")
        self.t["difficultes_entree"] = Tableau(titre, _champ_de(self.pop_acc, self.base_acc()), headers, rows)
        self.bars_chart("difficultes_entree", f"{titre} (en % des accompagné·es)",
                        [self.barre(labels.get(k, k), parts[k]) for k in parts])
        nb = p["nb_difficultes"]
        titre = self.libelle("profil.nb_difficultes")
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
        cumul_libelle = self.libelle("profil.cumul_3_a_7_difficultes")
        court = self.court("profil.nb_difficultes")
        self.t["nb_difficultes"] = Tableau(
            titre, _champ_de(self.pop_acc, self.base_acc()), [court, "Effectif", "Part"],
            [[k, cells_nb[k], parts_nb[k]] for k in nb],
            [_Texte(lambda: f"{cumul_libelle} : {taux_cumul}.")],
        )
        self.bars_chart("nb_difficultes", f"{titre} (en % des accompagné·es)",
                        [self.barre(k, parts_nb[k]) for k in nb], vertical=True, titre_x=court)

    def evolution_distribution(self, field_name: str, labels: Mapping[str, str], ordered: bool) -> None:
        """A distribution over each year's accompagné·es: effectif and part per year (the 2023 report shows
        both, « en % » and « en valeurs »)."""
        years = self.evolution_years(field_name)
        if not years:
            return
        titre = self.titre_evolution([y for y, _b, _a in years], self.libelle(f"profil.{field_name}"))
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
            titre, _champ(f"{self.population('profil.orienteur', 'chaque année')}, sur les mêmes fichiers de reporting"), headers, rows)


