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


def at(tree: Any, path: str) -> Any:
    for key in path.split("."):
        tree = tree[key]
    return tree


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
    matrice_rows = [  # entry → exit; upper triangle = improved
        [14, 12, 9, 3, 2],
        [0, 170, 18, 12, 31],
        [1, 6, 150, 24, 31],
        [0, 4, 5, 150, 62],
        [0, 3, 9, 11, 224],  # v2: base 951 of the 961 sortis hors neutres (10 without a housing value)
    ]
    matrice = {a: dict(zip(logement_keys, row, strict=True)) for a, row in zip(logement_keys, matrice_rows, strict=True)}
    base_log = sum(map(sum, matrice_rows))
    ameliore = sum(matrice_rows[i][j] for i in range(5) for j in range(5) if j > i)
    degrade = sum(matrice_rows[i][j] for i in range(5) for j in range(5) if j < i)
    perenne = sum(matrice_rows[i][4] for i in range(4))

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
    # v2: durée de parcours by tranche (24_36 + 36_plus = plus_24_mois.n = 157)
    tranches = {**split(sor - 157, {"0_6": 0.22, "6_12": 0.33, "12_24": 0.45}), "24_36": 112, "36_plus": 45}
    # v2: logement at exit over the sortis hors neutres: the matrix's column totals, the rest unknown
    log_sortie = {k: sum(matrice[a][k] for a in logement_keys) for k in logement_keys}
    log_sortie["non_renseigne"] = dyn["base"] - sum(log_sortie.values())

    def evol(factor: float, seed: int) -> dict[str, Any]:
        a = round(acc * factor)
        e = round(totals["entrees"] * factor)
        s = round(sor * factor)
        return {"effectifs": effectifs(a, e, s, round(totals["nb_aci"] * factor), seed),
                "taux_sorties_dynamiques": rate(round(dyn["base"] * factor * 0.47), round(dyn["base"] * factor))}

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
            "orienteur": split(acc, {"france_travail": 0.38, "mission_locale": 0.06, "cap_emploi": 0.02,
                                     "hebergement_ahi_siao_chrs_chu": 0.15,
                                     "accompagnement_social_ccas_departement_association": 0.12,
                                     "premieres_heures_en_chantier": 0.045, "candidature_spontanee": 0.12,
                                     "autre": 0.085, "non_renseigne": 0.0}),
            "niveau_formation": split(acc, {"1_2": 0.52, "3": 0.2, "4": 0.14, "5_8": 0.09, "non_renseigne": 0.05}),
            "duree_sans_emploi": split(acc, {"moins_de_6_mois": 0.22, "6_a_12_mois": 0.15, "12_a_24_mois": 0.22,
                                             "plus_de_24_mois": 0.34, "jamais_travaille": 0.07,
                                             "non_renseigne": 0.0}),
            "parcours_rue": split(acc, {"aucun": 0.62, "moins_de_2_ans": 0.28, "plus_de_2_ans": 0.05,
                                        "non_renseigne": 0.05}),
            "logement_entree": split(acc, {"rue": 0.04, "hebergement_precaire": 0.25, "hebergement_collectif": 0.20,
                                           "logement_semi_durable": 0.21, "logement_perenne": 0.30,
                                           "non_renseigne": 0.0}),
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
                               "tranches": tranches},
        },
        "logement": {
            "matrice": matrice,
            "sortie": log_sortie,
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
            "emploi_durable": {"sortis": 71, "contactes": rate(57, 66), "non_renseigne": 5, "stabilises": rate(55, 57)},
            "logement_perenne": {"sortis": 67, "contactes": rate(55, 62), "non_renseigne": 5,
                                 "stabilises": rate(55, 55)},
        },
        "phc": {"accompagnes": 412, "entrees": 260, "sorties": 240, "heures_entree_moyenne": 12.4,
                "heures_sortie_moyenne": 19.8, "poursuite_cddi": rate(96, 201), "duree_moyenne_mois": 7.9,
                "nb_aci": 21},
        "par_territoire": par_territoire,
        "evolution": {},
    }
    # v2: the repeated figures of par_territoire, split over the territoires so that they sum to the national
    weights = {slug: max(p["effectifs"]["sorties"], 0) for slug, p in par_territoire.items()}
    acc_weights = {slug: p["effectifs"]["accompagnes"] for slug, p in par_territoire.items()}

    def spread(value: dict[str, int], by: dict[str, int]) -> dict[str, dict[str, int]]:
        parts = {key: split(n, {s: w or 0.0 for s, w in by.items()}) if sum(by.values()) else {}
                 for key, n in value.items()}
        return {slug: {key: parts[key][slug] for key in value} for slug in by}

    def spread_rate(value: dict[str, int], by: dict[str, int]) -> dict[str, dict[str, int]]:
        bases = split(value["base"], {s: w or 0.0 for s, w in by.items()})
        ns = split(value["n"], {s: bases[s] or 0.0 for s in by})
        return {s: rate(min(ns[s], bases[s]), bases[s]) for s in by}

    log = ind["logement"]
    extra = {
        "plus_24_mois": spread_rate(ind["sorties"]["duree_parcours"]["plus_24_mois"], weights),
        "logement_ameliore": spread_rate(log["ameliore"], weights),
        "acces_logement_perenne": spread_rate(log["acces_logement_perenne"], weights),
        "ouverture_droits": spread_rate(ind["sante"]["ouverture_droits"], weights),
        "acc_concerte": spread(ind["accompagnement"]["acc_concerte"], acc_weights),
        "acc_proximite": spread(ind["accompagnement"]["acc_proximite"], acc_weights),
    }
    for t, (slug, entry) in enumerate(par_territoire.items()):
        sorties = entry["effectifs"]["sorties"]
        par_territoire[slug] = {
            "effectifs": entry["effectifs"], "taux_sorties_dynamiques": entry["taux_sorties_dynamiques"],
            "duree_moyenne_mois": round(13.0 + (t * 1.7) % 6, 1) if sorties else None,
            **{key: values[slug] for key, values in extra.items()},
        }
        if slug == "seine-saint-denis":  # no ACI: zeros everywhere
            par_territoire[slug]["acc_concerte"] = {"oui": 0, "non": 0, "non_renseigne": 0}
    # the rates were spread with n ≤ base per territoire; put any remainder back on the largest one
    for key in ("plus_24_mois", "logement_ameliore", "acces_logement_perenne", "ouverture_droits"):
        national = at(ind, {"plus_24_mois": "sorties.duree_parcours.plus_24_mois", "logement_ameliore": "logement.ameliore",
                            "acces_logement_perenne": "logement.acces_logement_perenne",
                            "ouverture_droits": "sante.ouverture_droits"}[key])
        assert sum(p[key]["base"] for p in par_territoire.values()) == national["base"]
        par_territoire["paris"][key]["n"] += national["n"] - sum(p[key]["n"] for p in par_territoire.values())

    def evol_entry(effectifs_: dict[str, Any], dyn_: dict[str, int], a: int, factor: float) -> dict[str, Any]:
        s_ = effectifs_["sorties"]
        hors = dyn_["base"]
        cats_ = split(s_, {k: v or 0.0 for k, v in cats.items()})
        diff_s, diff_l = round(difficultes["sante"]["oui"] * factor), round(difficultes["logement"]["oui"] * factor)
        return {
            "effectifs": effectifs_, "taux_sorties_dynamiques": dyn_,
            "orienteur": split(a, {k: (v or 0.0) * (1 + (factor - 1) * (k == "premieres_heures_en_chantier"))
                                   for k, v in ind["profil"]["orienteur"].items()}),
            "logement_entree": split(a, {k: v or 0.0 for k, v in ind["profil"]["logement_entree"].items()}),
            "acc_concerte": yes_no(a, 0.55 * factor), "acc_proximite": yes_no(a, 0.28 / factor),
            "cp_emploi": rate(round(a * 0.35 * factor), a), "cp_sante": rate(round(diff_s * 0.47), diff_s),
            "cp_logement": rate(round(diff_l * 0.33), diff_l), "sorties_par_categorie": cats_,
            "logement_ameliore": rate(round(hors * 0.2), hors), "duree_moyenne_mois": round(15.0 + factor, 1),
        }

    for year, factor, seed in (("2021", 0.58, 1), ("2022", 0.77, 2)):
        old = evol(factor, seed)
        ind["evolution"][year] = evol_entry(old["effectifs"], old["taux_sorties_dynamiques"],
                                            old["effectifs"]["accompagnes"], factor)
    ind["evolution"]["2023"] = {
        "effectifs": eff, "taux_sorties_dynamiques": dyn, "orienteur": ind["profil"]["orienteur"],
        "logement_entree": ind["profil"]["logement_entree"], **{k: ind["accompagnement"][k] for k in (
            "acc_concerte", "acc_proximite", "cp_emploi", "cp_sante", "cp_logement")},
        "sorties_par_categorie": cats, "logement_ameliore": log["ameliore"],
        "duree_moyenne_mois": ind["sorties"]["duree_parcours"]["moyenne_mois"],
    }
    (HERE / "indicateurs-national-2023.json").write_text(
        json.dumps(ind, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
