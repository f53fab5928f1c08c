"""Impact sur les parcours: sorties, logement, santé, résolution des freins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cvg_pipeline.fr import pourcentage_valeur
from cvg_pipeline.report.secret.model import (
    COST_HEADLINE,
    COST_MARGIN,
    COST_ORDINARY,
)
from cvg_pipeline.report.secret_cells import (
    NON_RENSEIGNE,
    Nombre,
    Part,
    Taux,
    _champ,
    _champ_de,
    _Texte,
)
from cvg_pipeline.report.sections_base import (
    DYNAMIQUES,
    NON_RENSEIGNE_LIBELLE,
    _Base,
    dynamic_labels,
    minuscule,
    sort_keys,
)
from cvg_pipeline.report.view import Tableau

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Rate
    from cvg_pipeline.report.charts import Barre


class _Impact(_Base):
    """Impact sur les parcours: sorties (emploi), logement, santé, résolution des freins."""

    def sorties(self) -> None:
        from cvg_pipeline.indicators.compute import DURABLE_CATEGORY, NEUTRAL_CATEGORY

        so = self.ind["sorties"]
        cats = {c.key: c for c in self.schema.exit_categories}
        dyn = so["taux_sorties_dynamiques"]
        titre = self.libelle("sorties.par_categorie")
        sor = self.sor()
        hors_neutres = self.c("sor.horsneutres", dyn["base"], "Sorties hors sorties neutres", COST_MARGIN)
        self.hors_neutres = hors_neutres
        cells = {k: self.c(f"sor.cat.{k}", n, f"{titre} · {cats[k].label if k in cats else k}", COST_MARGIN)
                 for k, n in so["par_categorie"].items()}
        self.m.total(sor.key, [hors_neutres.key, *(n.key for k, n in cells.items() if k == NEUTRAL_CATEGORY)],
                     "sorti·es = hors sorties neutres + sorties neutres")
        dyn_n = self.c("sor.dyn", dyn["n"], self.court(DYNAMIQUES), COST_MARGIN)
        self.m.total(dyn_n.key, [n.key for k, n in cells.items() if k in cats and cats[k].dynamic],
                     "sorties dynamiques = Σ catégories dynamiques")
        self.k["dyn"] = self.taux(dyn_n, hors_neutres)
        durable = self.rate(f"sor.cat.{DURABLE_CATEGORY}", so["taux_emploi_durable"],
                            self.libelle("sorties.taux_emploi_durable"), hors_neutres)
        self.via_cp = self.c("sor.viacp", so["emploi_via_cp"], self.libelle("sorties.emploi_via_cp"))
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
            [f"{self.libelle(DYNAMIQUES)} ({', '.join(dynamic_labels(self.schema))})", self.k["dyn"]],
            [self.libelle("sorties.taux_emploi_durable"), durable],
            [f"{self.libelle('sorties.emploi_via_cp')} (effectif)", self.via_cp],
        ]
        neutres: Rate | None = so.get("part_neutres")
        if neutres is not None and NEUTRAL_CATEGORY in cells:
            nom = self.libelle("sorties.part_neutres")
            lignes.append([f"{nom}, hors base des taux (part des sorti·es)",
                           self.rate(f"sor.cat.{NEUTRAL_CATEGORY}", neutres, nom, sor)])
        self.t["sorties_taux"] = Tableau(self.court(DYNAMIQUES), _champ_de(self.pop_sor, base_text), ["", "Valeur"],
                                         lignes, list(neutral_notes))
        self.bars_chart("sorties", f"{titre} (en % des sorties hors sorties neutres)",
                        [self.barre(cats[k].label if k in cats else k, part) for k, part in parts.items()])
        motifs = {v.key: v for v in self.schema.domains["motif_sortie"].values}
        titre = self.libelle("sorties.par_motif")
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
        rows.append([f"{self.court(DYNAMIQUES)} (part des sorties hors sorties neutres)",
                     *(self.years[y]["taux"] for y, _ in years)])
        annees = [y for y, _ in years]
        self.trend("evo_sorties", f"{self.titre_evolution(annees, self.libelle(DYNAMIQUES))} (en % des sorties hors "
                   "sorties neutres)", annees,
                   [(self.court(DYNAMIQUES), [self.years[y]["taux"].part for y, _ in years])])  # type: ignore[attr-defined]
        self.t["evo_sorties"] = Tableau(
            self.titre_evolution(annees, self.bloc("sorties")),
            _champ(f"{self.population('sorties.par_categorie', 'chaque année')}, sur les mêmes fichiers de reporting"),
            ["", *(str(y) for y, _ in years)], rows, [self.note_dynamiques()])

    def logement(self) -> None:
        lo = self.ind["logement"]
        labels = self.labels("logement")
        ranks = {v.key: v.rank for v in self.schema.domains["logement"].values}
        hors_neutres = getattr(self, "hors_neutres", None)
        pop = self.population("logement.ameliore")
        sortie: Mapping[str, int] | None = lo.get("sortie")
        if sortie is not None and hors_neutres is not None:
            self.distribution("logement_sortie", self.libelle("logement.sortie"), sortie, labels, ordered=True,
                              population=self.population("logement.sortie"), base=hors_neutres,
                              base_noun="sorties hors sorties neutres",
                              column="logement_sortie", prefix="log", cells="sortie", chart=True)
        base = self.c("log.base", lo["ameliore"]["base"], "Logement · sorti·es dont la situation est connue",
                      COST_HEADLINE)
        if hors_neutres is not None:
            self.m.at_most([base.key], [hors_neutres.key], "logement : situation connue ≤ hors neutres")
        base_text = _Texte(lambda: f"{base} salarié·es sorti·es")
        matrice = lo["matrice"]
        exits = list(next(iter(matrice.values()), {}).keys())
        titre = self.libelle("logement.matrice")
        cells = {(a, b): self.c(f"log.m.{a}.{b}", n, f"{titre} · {labels.get(a, a)} → {labels.get(b, b)}")
                 for a, row in matrice.items() for b, n in row.items()}
        self.m.total(base.key, [n.key for n in cells.values()], f"{titre} : total")
        # The margins over the matrix's population: each entry situation (a row) and each exit situation (a
        # column), published only as shares rounded to a whole percent — the table's « Part » column and row,
        # the chart's bars —, never as counts (`secret.model`: ``exact=False``); the secret statistique shows
        # each share only when the audit holds with it (`secret.suppress.reveal`), never at a table's expense.
        entree = {a: self.c(f"log.mat.entree.{a}", sum(int(n) for n in row.values()),
                            f"{titre} · {labels.get(a, a)} → ensemble", exact=False) for a, row in matrice.items()}
        sortie_m = {b: self.c(f"log.mat.sortie.{b}", sum(int(row[b]) for row in matrice.values()),
                              f"{titre} · ensemble → {labels.get(b, b)}", exact=False) for b in exits}
        for a, n in entree.items():
            self.m.total(n.key, [cells[a, b].key for b in exits], f"{titre} : ligne {a}")
        for b, n in sortie_m.items():
            self.m.total(n.key, [cells[a, b].key for a in matrice], f"{titre} : colonne {b}")
        self.m.total(base.key, [n.key for n in entree.values()], f"{titre} : Σ entrées")
        self.m.total(base.key, [n.key for n in sortie_m.values()], f"{titre} : Σ sorties")
        if sortie is not None and hors_neutres is not None:  # a column is part of its exit situation
            for b in exits:
                if self.has(f"log.sortie.{b}"):
                    self.m.at_most([sortie_m[b].key], [self.key(f"log.sortie.{b}")], f"logement : colonne {b} ≤ sortie")
        parts_entree = {a: self.part(n, base) for a, n in entree.items()}
        parts_sortie = {b: self.part(n, base) for b, n in sortie_m.items()}
        self.t["logement_matrice"] = Tableau(
            titre, _champ_de(pop, base_text),
            ["Entrée ↓ · sortie →", *(labels.get(k, k) for k in exits), "Part à l'entrée"],
            [*([labels.get(a, a), *(cells[a, b] for b in row), parts_entree[a]] for a, row in matrice.items()),
             ["Part à la sortie", *(parts_sortie[b] for b in exits), ""]],
            ["Lecture : de la situation de la ligne (entrée) à celle de la colonne (sortie) ; au-dessus de la "
             "diagonale, elle s'améliore."],
        )

        def rank(k: str) -> int:
            r = ranks.get(k)
            return -1 if r is None else int(r)

        ameliore = self.rate("log.ameliore", lo["ameliore"], self.libelle("logement.ameliore"), base, COST_MARGIN)
        degrade = self.rate("log.degrade", lo["degrade"], self.libelle("logement.degrade"), base)
        perenne = max(ranks, key=rank)
        acces = self.rate("log.perenne", lo["acces_logement_perenne"], self.libelle("logement.acces_logement_perenne"),
                          base, COST_MARGIN)
        via_cp = self.rate("log.viacp", lo["via_cp"], self.libelle("logement.via_cp"), ameliore.n)
        self.m.total(ameliore.n.key, [n.key for (a, b), n in cells.items() if rank(b) > rank(a)], "améliorée")
        self.m.total(degrade.n.key, [n.key for (a, b), n in cells.items() if rank(b) < rank(a)], "dégradée")
        self.m.total(acces.n.key, [n.key for (a, b), n in cells.items() if b == perenne and a != perenne], "pérenne")
        self.k["ameliore"], self.k["perenne"] = ameliore, acces
        self.t["logement_taux"] = Tableau(
            "Évolution de la situation logement", _champ_de(pop, base_text), ["", "Valeur"],
            [
                [self.court("logement.ameliore"), ameliore],
                [self.court("logement.degrade"), degrade],
                [self.court("logement.acces_logement_perenne"), acces],
                [f"dont {minuscule(self.court('logement.via_cp'))} (parmi les situations améliorées)", via_cp],
            ],
        )
        self.evolution_logement(ameliore)
        from cvg_pipeline.report import charts

        names = [labels.get(a, a) for a in matrice]

        def bar(part: Part) -> Barre:
            """A margin's share as the table shows it: the bar is as long as the rounded percentage it is
            labelled with (its exact length would give the count back), none when the share is « n.s. »."""
            from cvg_pipeline.report.charts import Barre

            return Barre("", lambda: float(pourcentage_valeur(part.n.value, part.base.value)) if part.visible()
                         else None, part)

        def draw(alt: str) -> str:
            entree_ = [bar(parts_entree[a]) for a in matrice]
            sortie_ = [bar(parts_sortie[b]) for b in exits]
            desc = " ; ".join(f"{c} : {e.etiquette} → {x.etiquette}" for c, e, x in zip(names, entree_, sortie_, strict=True))
            return charts.flux_logement("logement", f"{alt} — {desc}.", names, entree_, sortie_)

        self.figure("logement_matrice", f"{titre} (en % des mêmes salarié·es sorti·es)", draw)

    def sante(self) -> None:
        sa = self.ind["sante"]
        titre = "Prise en charge santé pendant le parcours"
        keys = ("ouverture_droits", "bilan_sante", "medecin_traitant", "couverture_sante", "rqth_obtenue", "aah_obtenue")
        items = [(k, self.libelle(f"sante.{k}")) for k in keys]
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
            [[f"{label} (au moins une des lignes suivantes)" if k == "ouverture_droits" else label, taux[k]]
             for k, label in items],
        )
        from cvg_pipeline.report import charts

        self.bars_chart("sante", "Prise en charge santé des salarié·es sorti·es (en %)",
                        [self.barre(label, taux[k].part) for k, label in items], couleur=charts.VERT)

    def resolution(self) -> None:
        res = self.ind["resolution"]
        labels = self.difficulty_labels()
        states = self.labels("resolution")
        keys = ("resolue", "en_cours", "non_resolue", NON_RENSEIGNE)
        titre = self.libelle("resolution.{difficulte}")
        ok = self.court("resolution.{difficulte}.resolue_ou_en_cours")
        rows: list[list[object]] = []
        lignes: list[tuple[str, list[Part], Part]] = []
        order = sort_keys({k: sum(int(b[s]) for s in keys) for k, b in res.items()}, ordered=False)  # type: ignore[literal-required,misc]
        for k in order:
            b = res[k]
            label = labels.get(k, k)
            cells = self.counts(f"res.{k}", f"{titre} · {label}", {s: b[s] for s in keys},  # type: ignore[literal-required]
                                states, None)
            taux = self.rate(f"res.{k}.ok", b["resolue_ou_en_cours"], f"{titre} · {label} · {minuscule(ok)}",
                             weight=COST_MARGIN)
            self.m.total(taux.n.key, [cells["resolue"].key, cells["en_cours"].key], f"{label} : résolue ou en cours")
            self.m.total(taux.base.key, [cells[s].key for s in keys[:3]], f"{label} : situations renseignées")
            everyone = [cells[s].key for s in keys]
            self.m.at_most(everyone, [self.sor().key], f"{label} : sorti·es ayant la difficulté ≤ sorti·es")
            if k in self.diff_oui:
                self.m.at_most(everyone, [self.diff_oui[k].key], f"{label} : sorti·es ≤ accompagné·es (oui)")
            rows.append([label, *(cells[s] for s in keys), taux])
            lignes.append((label, [self.part(cells[s], taux.base) for s in keys[:3]], taux.part))
        headers = ["Difficulté", states["resolue"], states["en_cours"], states["non_resolue"], NON_RENSEIGNE_LIBELLE, ok]
        if all(res[k][NON_RENSEIGNE] == 0 for k in res):  # type: ignore[literal-required]
            headers, rows = headers[:4] + headers[5:], [r[:4] + r[5:] for r in rows]
        self.t["resolution"] = Tableau(
            titre,
            _champ(self.population("resolution.{difficulte}"),
                   "pour la dernière colonne, les salarié·es dont la situation à la sortie est renseignée"),
            headers, rows,
        )
        from cvg_pipeline.report import charts

        series = [states["resolue"], states["en_cours"], states["non_resolue"]]

        def draw(alt: str) -> str:
            drawn = [(label, [p.valeur() for p in parts], str(total)) for label, parts, total in lignes]
            desc = " ; ".join(f"{label} : {text} {minuscule(ok)}" for label, _, text in drawn)
            return charts.empilees("resolution", f"{alt} — {desc}.", drawn, series)

        self.figure("resolution", f"{titre} (en % des situations renseignées à la sortie ; à droite, la part "
                    f"{minuscule(ok)})", draw)

    def evolution_logement(self, ameliore: Taux) -> None:
        """The share of sorti·es whose housing improved, year by year (the year's own cells for the report's
        year; an earlier year's base is part of its sorti·es)."""
        years = self.evolution_years("logement_ameliore")
        if not years:
            return
        row: list[object] = [self.libelle("logement.ameliore")]
        parts: list[Part | Nombre] = []
        for y, block, _acc in years:
            if y == self.y:
                taux = ameliore
            else:
                taux = self.rate(f"evo.{y}.log.ameliore", block["logement_ameliore"],
                                 f"Évolution {y} · {minuscule(self.libelle('logement.ameliore'))}")
                self.m.at_most([taux.base.key], [self.years[y]["sor"].key], f"évolution {y} : base logement ≤ sorti·es")
            row.append(taux)
            parts.append(taux.part)
        titre = self.titre_evolution([y for y, _b, _a in years], self.libelle("logement.ameliore"))
        self.t["evo_logement"] = Tableau(
            titre,
            _champ(self.population("logement.ameliore", "chaque année")),
            ["", *(str(y) for y, _b, _a in years)], [row])
        self.trend("evo_logement", f"{titre} (en %)", [y for y, _b, _a in years],
                   [(self.court("logement.ameliore"), parts)])
