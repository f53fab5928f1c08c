"""Write `indicateurs-national-2023.json`: a hand-made indicators object (indicators.md §4).

Its figures are chosen close to the programme's 2023 report (../shared/seeds/004_…, part "Mise en œuvre de
l'action CVG": 3 448 accompagné·es, 1 205 sorti·es, 49 % = 467 / 961 sorties dynamiques…) and split over the
categories so that every distribution sums to its base. It feeds the report goldens independently of the
store and of the aggregation code; `tests/test_report.py` checks it has exactly the keys of a computed one.

    python tests/data/make_sample.py     # rewrites the JSON next to this file
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def split(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Largest-remainder split of `total` in proportion to `weights` (sums exactly to total)."""
    s = sum(weights.values())
    raw = {k: total * w / s for k, w in weights.items()}
    out = {k: int(v) for k, v in raw.items()}
    rest = total - sum(out.values())
    for k in sorted(raw, key=lambda k: raw[k] - out[k], reverse=True)[:rest]:
        out[k] += 1
    return out


def yes_no(total: int, oui: float, nr: float = 0.03) -> dict[str, int]:
    return split(total, {"oui": oui, "non": 1 - oui - nr, "non_renseigne": nr})


def rate(n: int, base: int) -> dict[str, int]:
    assert 0 <= n <= base
    return {"n": n, "base": base}


TERRITOIRES = [  # slug, nb_aci, accompagnés, entrées, sorties, dyn n, dyn base
    ("paris", 12, 820, 380, 290, 118, 232),
    ("lyon", 7, 610, 285, 215, 86, 172),
    ("lille", 7, 455, 210, 160, 60, 128),
    ("nantes", 6, 430, 200, 150, 58, 120),
    ("strasbourg", 6, 380, 175, 135, 52, 108),
    ("charente", 4, 260, 120, 90, 36, 72),
    ("marseille", 6, 300, 140, 105, 40, 84),
    ("rouen", 3, 180, 80, 58, 16, 44),
    ("rennes", 2, 9, 9, 1, 1, 1),
    ("somme", 1, 3, 2, 1, 0, 0),
    ("moselle", 2, 1, 0, 0, 0, 0),
    ("seine-saint-denis", 1, 0, 0, 0, 0, 0),
]
SUPPORTS = ["reemploi", "transport_logistique", "espaces_verts", "batiment_second_oeuvre",
            "alimentaire_restauration", "autre"]
NOMS = ["Atelier", "Chantier", "Ressourcerie", "Jardins", "Régie", "Envie", "Tremplin", "Relais"]


def shares(total: int, parts: dict[str, int]) -> dict[str, int]:
    """`total` split over the territoires in proportion to `parts` (sums exactly)."""
    return split(total, {k: float(v) for k, v in parts.items()}) if sum(parts.values()) else dict.fromkeys(parts, 0)


def split_rate(r: dict[str, int], weights: dict[str, int]) -> dict[str, dict[str, int]]:
    """A rate split over the territoires (n and base sum to the national ones, n ≤ base in each)."""
    bases = shares(r["base"], weights)
    ns = shares(r["n"], bases)
    return {k: rate(min(ns[k], bases[k]), bases[k]) for k in weights}


def split_yes_no(yn: dict[str, int], weights: dict[str, int]) -> dict[str, dict[str, int]]:
    parts = {key: shares(yn[key], weights) for key in ("oui", "non", "non_renseigne")}
    return {k: {key: parts[key][k] for key in parts} for k in weights}


def effectifs(acc: int, ent: int, sor: int, nb_aci: int, seed: int) -> dict[str, Any]:
    fad = acc - ent
    supports = {k: 0 for k in [*SUPPORTS, "non_renseigne"]}
    for i in range(nb_aci):
        supports[SUPPORTS[(i * 5 + seed) % len(SUPPORTS)]] += 1
        if i % 4 == 1:
            supports[SUPPORTS[(i * 3 + seed + 1) % len(SUPPORTS)]] += 1
    return {
        "accompagnes": acc, "entrees": ent, "sorties": sor, "file_active_debut": fad,
        "file_active_fin": acc - sor, "nb_aci": nb_aci, "nb_aci_par_support": supports,
    }


def main() -> None:
    snapshots = []
    par_territoire = {}
    siret = 30012345600010
    for t, (slug, nb_aci, acc, ent, sor, dn, db) in enumerate(TERRITOIRES):
        par_territoire[slug] = {
            "effectifs": effectifs(acc, ent, sor, nb_aci if acc else 0, t), "taux_sorties_dynamiques": rate(dn, db)
        }
        for i in range(nb_aci):
            siret += 1017
            day = "2023-12-31" if slug not in ("somme", "moselle") or i else "2023-11-30"
            snapshots.append({"siret": str(siret), "nom": f"{NOMS[(t + i) % len(NOMS)]} {slug.title()} {i + 1}",
                              "territoire": slug, "date_arrete": day})
    snapshots.sort(key=lambda s: s["siret"])
    totals = {k: sum(p["effectifs"][k] for p in par_territoire.values())
              for k in ("accompagnes", "entrees", "sorties", "file_active_debut", "file_active_fin", "nb_aci")}
    acc, sor = totals["accompagnes"], totals["sorties"]
    supports = {k: sum(p["effectifs"]["nb_aci_par_support"][k] for p in par_territoire.values())
                for k in [*SUPPORTS, "non_renseigne"]}
    eff = {**totals, "nb_aci_par_support": supports}
    dyn = rate(sum(p["taux_sorties_dynamiques"]["n"] for p in par_territoire.values()),
               sum(p["taux_sorties_dynamiques"]["base"] for p in par_territoire.values()))
    neutre = sor - dyn["base"]
    durable, transition = 190, 150
    positive = dyn["n"] - durable - transition

    diff_share = {"logement": 0.52, "sante": 0.50, "admin": 0.62, "illettrisme": 0.30, "fle": 0.38,
                  "mobilite": 0.25, "justice": 0.08, "endettement": 0.22, "famille": 0.15}
    difficultes = {k: yes_no(acc, v, 0.02) for k, v in diff_share.items()}
    nb = split(acc, {"0": 4, "1": 11, "2": 20, "3": 21, "4": 18, "5": 11, "6": 6, "7": 4, "8": 0.8, "9": 0.2})
    cumul = sum(nb[str(k)] for k in range(3, 8))

    logement_keys = ["rue", "hebergement_precaire", "hebergement_collectif", "logement_semi_durable",
                     "logement_perenne"]
    matrice_rows = [  # entry → exit (sortis hors neutres knowing both); upper triangle = improved
        [14, 12, 9, 3, 2],
        [0, 170, 18, 12, 31],
        [1, 6, 150, 24, 31],
        [0, 4, 5, 150, 62],
        [0, 3, 9, 11, 220],
    ]
    matrice = {a: dict(zip(logement_keys, row, strict=True)) for a, row in zip(logement_keys, matrice_rows, strict=True)}
    base_log = sum(map(sum, matrice_rows))
    ameliore = sum(matrice_rows[i][j] for i in range(5) for j in range(5) if j > i)
    degrade = sum(matrice_rows[i][j] for i in range(5) for j in range(5) if j < i)
    perenne = sum(matrice_rows[i][4] for i in range(4))
    sortie = {k: sum(row[j] for row in matrice_rows) for j, k in enumerate(logement_keys)}
    sortie["logement_perenne"] += 6  # exits of people whose entry is not known
    sortie["non_renseigne"] = dyn["base"] - sum(sortie.values())
    assert sortie["non_renseigne"] >= 0

    res_share = {"logement": (0.30, 0.39), "sante": (0.35, 0.38), "admin": (0.45, 0.34), "illettrisme": (0.2, 0.4),
                 "fle": (0.22, 0.45), "mobilite": (0.4, 0.3), "justice": (0.35, 0.3), "endettement": (0.3, 0.35),
                 "famille": (0.4, 0.3)}
    resolution = {}
    for k, (r, c) in res_share.items():
        total = round(sor * diff_share[k])
        if k == "justice":
            total = 3  # a small base: n.s. at the default seuil
        block = split(total, {"resolue": r, "en_cours": c, "non_resolue": 1 - r - c - 0.04, "non_renseigne": 0.04})
        block["resolue_ou_en_cours"] = rate(block["resolue"] + block["en_cours"],
                                            block["resolue"] + block["en_cours"] + block["non_resolue"])
        resolution[k] = block

    motifs_par_cat = {
        "emploi_durable": ["cdi", "cdd_de_6_mois_ou_plus", "interim_de_6_mois_ou_plus",
                           "creation_ou_reprise_d_entreprise", "integration_dans_la_fonction_publique"],
        "emploi_transition": ["cdd_de_moins_de_6_mois", "interim_de_moins_de_6_mois", "contrat_aide_hors_iae"],
        "sortie_positive": ["formation_qualifiante", "embauche_dans_une_autre_structure_de_l_iae",
                            "poursuite_en_cddi_dans_l_aci", "droits_a_la_retraite"],
        "autre_sortie": ["demandeur_d_emploi", "inactivite", "sans_nouvelles", "autre_sortie"],
        "sortie_neutre": ["conge_de_longue_duree_maladie_maternite", "deces", "demenagement",
                          "decision_administrative_ou_de_justice", "rupture_pour_faute_grave",
                          "rupture_pendant_la_periode_d_essai"],
    }
    cats = {"emploi_durable": durable, "emploi_transition": transition, "sortie_positive": positive,
            "autre_sortie": dyn["base"] - dyn["n"], "sortie_neutre": neutre}
    motif_weights = {"cdi": 5, "cdd_de_6_mois_ou_plus": 8, "interim_de_6_mois_ou_plus": 2,
                     "creation_ou_reprise_d_entreprise": 0.2, "integration_dans_la_fonction_publique": 0.3,
                     "cdd_de_moins_de_6_mois": 6, "interim_de_moins_de_6_mois": 3, "contrat_aide_hors_iae": 1,
                     "formation_qualifiante": 4, "embauche_dans_une_autre_structure_de_l_iae": 3,
                     "poursuite_en_cddi_dans_l_aci": 2, "droits_a_la_retraite": 0.5,
                     "demandeur_d_emploi": 8, "inactivite": 2, "sans_nouvelles": 3, "autre_sortie": 1,
                     "conge_de_longue_duree_maladie_maternite": 4, "deces": 0.1, "demenagement": 2,
                     "decision_administrative_ou_de_justice": 1, "rupture_pour_faute_grave": 1,
                     "rupture_pendant_la_periode_d_essai": 3}
    par_motif: dict[str, int] = {}
    for cat, keys in motifs_par_cat.items():
        par_motif.update(split(cats[cat], {k: motif_weights[k] for k in keys}))
    par_motif["non_renseigne"] = 0

    orienteur_w = {"france_travail": 0.38, "mission_locale": 0.06, "cap_emploi": 0.02,
                   "hebergement_ahi_siao_chrs_chu": 0.15, "accompagnement_social_ccas_departement_association": 0.12,
                   "premieres_heures_en_chantier": 0.045, "candidature_spontanee": 0.12, "autre": 0.085,
                   "non_renseigne": 0.0}
    logement_w = {"rue": 0.04, "hebergement_precaire": 0.25, "hebergement_collectif": 0.20,
                  "logement_semi_durable": 0.21, "logement_perenne": 0.30, "non_renseigne": 0.0}

    def evol(factor: float, seed: int) -> dict[str, Any]:
        """An earlier year (the 2023 report's trends: more orientations from PHC and the AHI, more CP)."""
        a = round(acc * factor)
        e = round(totals["entrees"] * factor)
        s = round(sor * factor)
        hn = round(dyn["base"] * factor)
        dn = round(hn * 0.47)
        o_w = {**orienteur_w, "premieres_heures_en_chantier": 0.045 * factor, "france_travail": 0.38 / factor}
        cats_y = split(s, {"emploi_durable": durable, "emploi_transition": transition, "sortie_positive": positive,
                           "autre_sortie": cats["autre_sortie"], "sortie_neutre": neutre})
        cats_y["sortie_neutre"] = s - hn
        rest = hn - dn
        dyn_y = split(dn, {"emploi_durable": durable, "emploi_transition": transition, "sortie_positive": positive})
        cats_y.update(dyn_y, autre_sortie=rest)
        sante_a, logement_a = round(a * 0.5), round(a * 0.52)
        return {"effectifs": effectifs(a, e, s, round(totals["nb_aci"] * factor), seed),
                "taux_sorties_dynamiques": rate(dn, hn),
                "orienteur": split(a, o_w),
                "logement_entree": split(a, logement_w),
                "acc_concerte": yes_no(a, 0.55 * factor),
                "acc_proximite": yes_no(a, 0.28 * factor),
                "cp_emploi": rate(round(a * 0.35 * factor), a),
                "cp_sante": rate(round(sante_a * 0.47 * factor), sante_a),
                "cp_logement": rate(round(logement_a * 0.33 * factor), logement_a),
                "sorties_par_categorie": cats_y,
                "logement_ameliore": rate(round(ameliore * factor * 0.9), round(base_log * factor)),
                "duree_moyenne_mois": round(16.0 * factor, 1)}

    weights_acc = {slug: acc_t for slug, _n, acc_t, _e, _s, _dn, _db in TERRITOIRES}
    weights_sor = {slug: sor_t for slug, _n, _a, _e, sor_t, _dn, _db in TERRITOIRES}
    weights_hn = {slug: db for slug, _n, _a, _e, _s, _dn, db in TERRITOIRES}

    ind = {
        "perimetre": {"niveau": "national", "territoire": None, "siret": None, "programme": "tous"},
        "annee": 2023,
        "donnees_au": "2023-12-31",
        "snapshots": snapshots,
        "effectifs": eff,
        "profil": {
            "sexe": split(acc, {"femme": 0.27, "homme": 0.73, "non_renseigne": 0.0}),
            "age_entree": split(acc, {"moins_26": 0.12, "26_49": 0.66, "50_plus": 0.22, "non_renseigne": 0.0}),
            "nationalite": split(acc, {"francaise": 0.45, "union_europeenne": 0.09, "hors_union_europeenne": 0.45,
                                       "non_renseigne": 0.01}),
            "refugie": yes_no(acc, 0.22),
            "ts_exterieur": yes_no(acc, 0.61),
            "formation_etranger": yes_no(acc, 0.23, 0.08),
            "rsa": yes_no(acc, 0.51),
            "rqth": yes_no(acc, 0.11),
            "orienteur": split(acc, orienteur_w),
            "niveau_formation": split(acc, {"1_2": 0.52, "3": 0.2, "4": 0.14, "5_8": 0.09, "non_renseigne": 0.05}),
            "duree_sans_emploi": split(acc, {"moins_de_6_mois": 0.22, "6_a_12_mois": 0.15, "12_a_24_mois": 0.22,
                                             "plus_de_24_mois": 0.34, "jamais_travaille": 0.07,
                                             "non_renseigne": 0.0}),
            "parcours_rue": split(acc, {"aucun": 0.62, "moins_de_2_ans": 0.28, "plus_de_2_ans": 0.05,
                                        "non_renseigne": 0.05}),
            "logement_entree": split(acc, logement_w),
            "difficultes_entree": difficultes,
            "nb_difficultes": nb,
            "cumul_3_a_7_difficultes": rate(cumul, acc),
        },
        "accompagnement": {
            "acc_concerte": yes_no(acc, 0.55),
            "acc_proximite": yes_no(acc, 0.28),
            "cp_emploi": rate(round(acc * 0.35), acc),
            "cp_sante": rate(round(difficultes["sante"]["oui"] * 0.47), difficultes["sante"]["oui"]),
            "cp_logement": rate(round(difficultes["logement"]["oui"] * 0.33), difficultes["logement"]["oui"]),
        },
        "sorties": {
            "par_categorie": cats,
            "par_motif": par_motif,
            "taux_sorties_dynamiques": dyn,
            "taux_emploi_durable": rate(durable, dyn["base"]),
            "part_neutres": rate(neutre, sor),
            "emploi_via_cp": 78,
            "duree_parcours": {"moyenne_mois": 16.0, "mediane_mois": 14.2, "plus_24_mois": rate(157, sor),
                               "tranches": {"0_6": 231, "6_12": 310, "12_24": sor - 231 - 310 - 157,
                                            "24_36": 130, "36_plus": 27}},
        },
        "logement": {
            "matrice": matrice,
            "sortie": sortie,
            "ameliore": rate(ameliore, base_log),
            "degrade": rate(degrade, base_log),
            "acces_logement_perenne": rate(perenne, base_log),
            "via_cp": rate(33, ameliore),
        },
        "sante": {
            "ouverture_droits": rate(518, sor), "bilan_sante": rate(229, sor), "medecin_traitant": rate(145, sor),
            "couverture_sante": rate(253, sor), "rqth_obtenue": rate(72, sor), "aah_obtenue": rate(4, sor),
        },
        "resolution": resolution,
        "post_sortie": {
            "emploi_durable": {"sortis": 71, "contactes": rate(57, 68), "non_renseigne": 3,
                               "stabilises": rate(55, 57)},
            "logement_perenne": {"sortis": 67, "contactes": rate(55, 67), "non_renseigne": 0,
                                 "stabilises": rate(55, 55)},
        },
        "phc": {"accompagnes": 412, "entrees": 260, "sorties": 240, "heures_entree_moyenne": 12.4,
                "heures_sortie_moyenne": 19.8, "poursuite_cddi": rate(96, 201), "duree_moyenne_mois": 7.8,
                "nb_aci": 21},
        "par_territoire": par_territoire,
        "evolution": {
            "2021": evol(0.58, 1),
            "2022": evol(0.77, 2),
            "2023": {"effectifs": eff, "taux_sorties_dynamiques": dyn},
        },
    }
    ind["perimetre"]["programme"] = "CVG"  # the 2023 report's figures are the CVG programme's (§5.1)
    profil, accompagnement = ind["profil"], ind["accompagnement"]
    ind["evolution"]["2023"] = {
        "effectifs": eff, "taux_sorties_dynamiques": dyn, "orienteur": profil["orienteur"],
        "logement_entree": profil["logement_entree"],
        **{k: accompagnement[k] for k in ("acc_concerte", "acc_proximite", "cp_emploi", "cp_sante", "cp_logement")},
        "sorties_par_categorie": cats, "logement_ameliore": ind["logement"]["ameliore"], "duree_moyenne_mois": 16.0,
    }
    logement, sante = ind["logement"], ind["sante"]
    plus24 = split_rate(ind["sorties"]["duree_parcours"]["plus_24_mois"], weights_sor)
    log_base = shares(logement["ameliore"]["base"], weights_hn)
    amel = split_rate(logement["ameliore"], log_base)
    pere = split_rate(logement["acces_logement_perenne"], log_base)
    ouv = split_rate(sante["ouverture_droits"], weights_sor)
    conc = split_yes_no(accompagnement["acc_concerte"], weights_acc)
    prox = split_yes_no(accompagnement["acc_proximite"], weights_acc)
    for slug, block in par_territoire.items():
        block.update({
            "duree_moyenne_mois": round(12.0 + len(slug) % 7, 1) if weights_sor[slug] else None,
            "plus_24_mois": plus24[slug], "logement_ameliore": amel[slug], "acces_logement_perenne": pere[slug],
            "ouverture_droits": ouv[slug], "acc_concerte": conc[slug], "acc_proximite": prox[slug],
        })
    (HERE / "indicateurs-national-2023.json").write_text(
        json.dumps(ind, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
