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

Report v2 (indicators.md §5.1, issue 15): `build_report(ind, schema, phc=…, national=…)` lays out the programme's
part in the 2023 report's order (`PROGRAMME_OUTLINE`), the PHC part (`PHC_OUTLINE`), the annexes (par
territoire, or the territoire beside the national) and « Sources et méthode » (snapshots, non-response beyond
10 %, definitions from the indicator catalogue). One secret model covers every part: the cells of the PHC part
and of the national figures carry the prefixes ``phc:`` and ``nat:``.

Modules: `secret_cells` (Secret, Nombre / Part / Taux, the audit), `view` (the view model), `sections_base` and
`sections_{public,modalites,impact,annexes}` (the builder's mixins), `render` (templates and files), this one
(the outline and `build_report`; it re-exports the former API).

The view model (`Tableau`, `Graphique`, `Carte`) is built once and rendered by two jinja2 templates,
``templates/report.md.j2`` and ``templates/report.html.j2`` of the package (autoescaped), so both formats
carry the same numbers. jinja2 and matplotlib are imported inside the functions.
"""


from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from cvg_pipeline import fr
from cvg_pipeline.report.render import (
    FORMATS,
    FORMATS_POSSIBLES,
    bytes_writer,
    md_escape,
    parse_formats,
    preload,
    render_report,
    render_text,
    report_paths,
)
from cvg_pipeline.report.secret.model import (
    PRIMARY,
    Model,
    required_width,
)
from cvg_pipeline.report.secret_cells import (
    NON_CALCULABLE,
    NS,
    SECRET_SECONDAIRE,
    SEUIL_DEFAUT,
    CelluleMasquee,
    Nombre,
    Part,
    Secret,
    Taux,
    _champ,
    _secondaire,
    _Texte,
    audit_json,
    audit_text,
)
from cvg_pipeline.report.sections_annexes import NATIONAL, _Annexes, _sort_name
from cvg_pipeline.report.sections_base import (
    NonReponse,
    _Libelles,
    definition,
    dynamic_categories,
    dynamic_labels,
    territoire_name,
)
from cvg_pipeline.report.sections_impact import _Impact
from cvg_pipeline.report.sections_modalites import _Modalites
from cvg_pipeline.report.sections_public import _Public
from cvg_pipeline.report.view import Bloc, Carte, Graphique, Partie, Rapport, Section, Tableau
from cvg_pipeline.schema.load import Schema

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Indicators

__all__ = [  # the report's API, here since before the split (callers import it from report.build)
    "FORMATS", "FORMATS_POSSIBLES", "NON_CALCULABLE", "NS", "SECRET_SECONDAIRE", "SEUIL_DEFAUT", "Bloc", "Carte",
    "CelluleMasquee", "Graphique", "Nombre", "Part", "Partie", "Rapport", "Secret", "Section", "Tableau", "Taux",
    "_sort_name", "audit_json", "audit_text", "build_report", "bytes_writer", "dynamic_categories", "dynamic_labels",
    "md_escape", "parse_formats", "perimetre_libelle", "perimetre_slug", "preload", "programme_libelle",
    "render_report", "render_text", "report_paths", "territoire_name",
]

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
                      (None, ["logement_taux"]), ("evo_logement", ["evo_logement"])]),
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
        [nr.indicateur, f"« {schema.column(nr.colonne).label} »" if nr.colonne else "", lacking(nr.colonne), nr.part]
        for nr in found.values()
    ]
    return Tableau(
        "Indicateurs dont plus de 10 % des réponses ne sont pas renseignées",
        _champ("la population de chaque indicateur (voir son tableau)"),
        ["Indicateur", "Colonne", "ACI dont le fichier n'a pas la colonne", "Non renseigné"], rows,
        ["Une colonne absente du fichier d'un ACI rend « non renseigné » tous ses salarié·es pour l'indicateur ; "
         "les autres non-réponses sont des cases vides."], colonnes_texte=3)


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
    audit: bool = True,
) -> Rapport:
    """The view model of the report (every number formatted, the secret applied).

    `ind` is the report's programme (CVG by default, `tous` for the pooled report, or PHC); `phc`, the same
    scope under programme PHC, adds the PHC part; `national`, the national indicators of the same programme,
    adds to a territoire report each key figure beside the national one. `colonnes_absentes` (SIRET →
    labels of the optional columns its file lacked, None when not recorded) adds them to the sources.
    `audit=False`: the same statuses without the final audit's intervals (`masquees` empty; `cvg export`)."""
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

    # statuses F / A / D of every count, then what an adversary can reach
    reach = protect(model) if audit else protect(model, audit=False)
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
        for cell in model.hidden() if audit for iv in [reach[cell.key]]
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


