"""Indicators on a hand-built store whose expected JSON is written by hand from indicators.md.

The year is Y = 2024 (a leap year: 365 days before 2024-12-31 is 2024-01-01, inside the year).
Two ACI: A (SIRET, lyon, supports Réemploi + Espaces verts) and B (SIRET_2, paris, no support).
A also has an older snapshot (2024-06-30) that the default selection ignores and `au=2024-07-15` selects.

Every parcours and what it is for, with its populations in 2024 (acc = accompagné, ent = entré, sor = sorti,
fad = file active at 2023-12-31, faf = file active at 2024-12-31). Unstated columns take the defaults of
`storefill.parcours`: CVG, Femme, born 1985, Française, France Travail, Moins de 6 mois, Logement pérenne
at entry, everything else null.

A (lyon, latest snapshot 2025-01-15)
 a01 in 2024-01-01 (entry on 1 January), Homme, born 1999 (age 25), diff logement/santé = Non  acc ent faf
 a02 in 2023-12-31, UE, born 1997 (age 26), diff santé + admin                                  acc fad faf
 a03 2022-05-10 → 2024-01-01 (exit on 1 January; 601 d; 365 d before Y-12-31), born 1973 (49),
     CDI, précaire → pérenne, diff logement (Résolue), cp_logement, emploi_via_cp, contact + stabilisé
                                                                                               acc sor fad
 a04 2023-02-01 → 2023-12-31 (exit on 31 December of Y-1; 366 d): CDI, contact — nothing in 2024
 a05 2024-03-01 → 2024-12-31 (exit on 31 December; 305 d), born 1974 (50), Déménagement (neutral),
     diff logement (En cours) + santé (null) + admin (Non résolue)                              acc ent sor
 a06 2021-06-01 → 2024-07-01 (1126 d > 24 months; 183 d), CDD ≥ 6 mois, pérenne, contact, not stabilisé
                                                                                               acc sor fad
 a07 2023-09-01 → 2024-07-02 (305 d; 182 d: outside the window), CDI, contact + stabilisé     acc sor fad
 a08 in 2024-12-31 (file active on the exact day)                                              acc ent faf
 a09 2023-05-01 → 2024-06-15 (411 d; 199 d), Demandeur d'emploi, semi-durable → collectif (downgrade),
     7 difficulties (logement Non résolue, santé Résolue, admin Résolue, 4 others null)        acc sor fad
 a10 2023-11-01 → 2024-09-30 (334 d; 92 d), Formation qualifiante, rue → pérenne via CP logement,
     emploi_via_cp, parcours de rue > 2 ans, 8 difficulties (logement Résolue, others null)    acc sor fad
 a11 PHC 2024-02-01 → 2024-05-31 (120 d; 214 d), Poursuite en CDDI, 10 h → 16.5 h             acc ent sor
 a12 PHC in 2023-10-01, 12.25 h, all 9 difficulties                                            acc fad faf
 a13 in 2025-01-05 — nothing in 2024
B (paris, snapshot 2024-12-31)
 b01 2020-01-15 → 2024-03-15 (1521 d; 291 d), Rupture période d'essai (neutral), Hors UE, réfugié
                                                                                               acc sor fad
 b02 PHC 2024-04-01 → 2024-08-31 (152 d; 122 d), Embauche autre SIAE, 20 h, pérenne → rue (downgrade)
                                                                                               acc ent sor
 b03 PHC 2024-05-01 → 2024-06-30 (60 d; 184 d), Congé longue durée (neutral), → 12 h, contact Non
                                                                                               acc ent sor
 b04 2019-03-01 → 2022-06-30, Inactivité — only in 2022
 b05 in 2022-01-01, Homme, RSA Oui, RQTH Non, acc. concerté, CP emploi, niveau 1-2              acc fad faf
 b06 in 2024-06-01, année de naissance null                                                    acc ent faf
 b07 2023-01-01 → 2024-10-15 (653 d; 77 d), Intérim < 6 mois, collectif → semi-durable (improved, not
     via CP), bilan santé, médecin traitant, diff santé (En cours), CP santé                   acc sor fad
 b08 2024-02-15 → 2024-11-30 (289 d; 31 d), Sans nouvelles, logement à la sortie null, AAH   acc ent sor
 b09 2022-03-01 → 2023-06-30, CDI — 2022 and 2023 only

2024: acc = a01 a02 a03 a05 a06 a07 a08 a09 a10 a11 a12 (11) + b01 b02 b03 b05 b06 b07 b08 (7) = 18;
ent = a01 a05 a08 a11 + b02 b03 b06 b08 = 8; sor = a03 a05 a06 a07 a09 a10 a11 + b01 b02 b03 b07 b08 = 12;
fad = a02 a03 a06 a07 a09 a10 a12 + b01 b05 b07 = 10 (= acc − ent); faf = a01 a02 a08 a12 + b05 b06 = 6.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cvg_pipeline.indicators.compute import Scope, compute_indicators, load_indicators, round_half_up, to_json
from cvg_pipeline.schema.load import load_schema
from tests.builders import SIRET, SIRET_2
from tests.storefill import dumps, fill_store, parcours, snapshot

Y = 2024
SIRET_A, SIRET_B = SIRET, SIRET_2
D = date

DIFFS = ("logement", "sante", "admin", "illettrisme", "fle", "mobilite", "justice", "endettement", "famille")


def diffs(*keys: str, value: bool = True) -> dict[str, bool]:
    return {f"diff_{k}": value for k in keys}


A_LATEST = [
    parcours(date_entree=D(2024, 1, 1), sexe="Homme", annee_naissance=1999, **diffs("logement", "sante", value=False)),  # a01
    parcours(date_entree=D(2023, 12, 31), annee_naissance=1997, nationalite="Union européenne", **diffs("sante", "admin")),  # a02
    parcours(date_entree=D(2022, 5, 10), date_sortie=D(2024, 1, 1), annee_naissance=1973, motif_sortie="CDI",  # a03
             logement_entree="Hébergement précaire", logement_sortie="Logement pérenne", diff_logement=True,
             res_logement="Résolue", cp_logement=True, emploi_via_cp=True, post_sortie_contact=True,
             post_sortie_stabilise=True),
    parcours(date_entree=D(2023, 2, 1), date_sortie=D(2023, 12, 31), motif_sortie="CDI",  # a04
             logement_sortie="Logement pérenne", post_sortie_contact=True),
    parcours(date_entree=D(2024, 3, 1), date_sortie=D(2024, 12, 31), annee_naissance=1974, motif_sortie="Déménagement",  # a05
             logement_sortie="Logement pérenne", **diffs("logement", "sante", "admin"),
             res_logement="En cours de résolution", res_admin="Non résolue"),
    parcours(date_entree=D(2021, 6, 1), date_sortie=D(2024, 7, 1), motif_sortie="CDD de 6 mois ou plus",  # a06
             logement_sortie="Logement pérenne", post_sortie_contact=True, post_sortie_stabilise=False),
    parcours(date_entree=D(2023, 9, 1), date_sortie=D(2024, 7, 2), motif_sortie="CDI",  # a07
             logement_sortie="Logement pérenne", post_sortie_contact=True, post_sortie_stabilise=True),
    parcours(date_entree=D(2024, 12, 31)),  # a08
    parcours(date_entree=D(2023, 5, 1), date_sortie=D(2024, 6, 15), motif_sortie="Demandeur d'emploi",  # a09
             logement_entree="Logement semi-durable", logement_sortie="Hébergement collectif",
             **diffs("logement", "sante", "admin", "illettrisme", "fle", "mobilite", "justice"),
             res_logement="Non résolue", res_sante="Résolue", res_admin="Résolue"),
    parcours(date_entree=D(2023, 11, 1), date_sortie=D(2024, 9, 30), motif_sortie="Formation qualifiante",  # a10
             logement_entree="Rue", logement_sortie="Logement pérenne", logement_via_cp=True, emploi_via_cp=True,
             parcours_rue="Plus de 2 ans", **diffs(*DIFFS[:8]), res_logement="Résolue"),
    parcours(programme="PHC", date_entree=D(2024, 2, 1), date_sortie=D(2024, 5, 31),  # a11
             motif_sortie="Poursuite en CDDI dans l'ACI", logement_sortie="Logement pérenne",
             heures_hebdo_entree=10.0, heures_hebdo_sortie=16.5),
    parcours(programme="PHC", date_entree=D(2023, 10, 1), heures_hebdo_entree=12.25, **diffs(*DIFFS)),  # a12
    parcours(date_entree=D(2025, 1, 5)),  # a13
]
A_OLD = [  # snapshot of 2024-06-30: ignored by default, selected by au=2024-07-15
    parcours(date_entree=D(2024, 1, 10), sexe="Homme"),  # old1: acc ent faf
    parcours(date_entree=D(2023, 1, 1), date_sortie=D(2024, 3, 1), motif_sortie="CDI",  # old2: acc sor fad
             logement_sortie="Logement pérenne"),
]
B_LATEST = [
    parcours(date_entree=D(2020, 1, 15), date_sortie=D(2024, 3, 15), motif_sortie="Rupture pendant la période d'essai",  # b01
             logement_sortie="Logement pérenne", nationalite="Hors Union européenne", refugie=True),
    parcours(programme="PHC", date_entree=D(2024, 4, 1), date_sortie=D(2024, 8, 31),  # b02
             motif_sortie="Embauche dans une autre structure de l'IAE", logement_sortie="Rue", heures_hebdo_entree=20.0),
    parcours(programme="PHC", date_entree=D(2024, 5, 1), date_sortie=D(2024, 6, 30),  # b03
             motif_sortie="Congé de longue durée (maladie, maternité)", logement_sortie="Logement pérenne",
             heures_hebdo_sortie=12.0, post_sortie_contact=False),
    parcours(date_entree=D(2019, 3, 1), date_sortie=D(2022, 6, 30), motif_sortie="Inactivité", logement_sortie="Rue"),  # b04
    parcours(date_entree=D(2022, 1, 1), sexe="Homme", rsa=True, rqth=False, acc_concerte=True, cp_emploi=True,  # b05
             niveau_formation="1-2"),
    parcours(date_entree=D(2024, 6, 1), annee_naissance=None),  # b06
    parcours(date_entree=D(2023, 1, 1), date_sortie=D(2024, 10, 15), motif_sortie="Intérim de moins de 6 mois",  # b07
             logement_entree="Hébergement collectif", logement_sortie="Logement semi-durable", logement_via_cp=False,
             emploi_via_cp=False, bilan_sante=True, medecin_traitant=True, diff_sante=True,
             res_sante="En cours de résolution", cp_sante=True),
    parcours(date_entree=D(2024, 2, 15), date_sortie=D(2024, 11, 30), motif_sortie="Sans nouvelles",  # b08
             logement_sortie=None, aah_obtenue=True),
    parcours(date_entree=D(2022, 3, 1), date_sortie=D(2023, 6, 30), motif_sortie="CDI", logement_sortie="Logement pérenne"),  # b09
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ind") / "cvg.duckdb"
    a = {"nom": "Atelier Rhône", "territoire": "lyon", "supports": ["Réemploi", "Espaces verts"]}
    return fill_store(path, [
        snapshot(SIRET_A, D(2024, 6, 30), parcours=A_OLD, **a),
        snapshot(SIRET_A, D(2025, 1, 15), parcours=A_LATEST, **a),
        snapshot(SIRET_B, D(2024, 12, 31), parcours=B_LATEST, nom="Chantier Seine", territoire="paris", supports=[]),
    ])


def compute(store: Path, scope: Scope, **kw: Any) -> dict[str, Any]:
    ind = load_indicators(store, scope=scope, annee=kw.pop("annee", Y), **kw)
    return json.loads(to_json(ind))  # type: ignore[no-any-return]


# -- key lists, written from the spec (slug rule of §3 applied by hand) --------------------------------
NR = "non_renseigne"
SUPPORTS = ("reemploi", "transport_logistique", "espaces_verts", "batiment_second_oeuvre", "alimentaire_restauration", "autre")
ORIENTEURS = ("france_travail", "mission_locale", "cap_emploi", "hebergement_ahi_siao_chrs_chu",
              "accompagnement_social_ccas_departement_association", "premieres_heures_en_chantier",
              "candidature_spontanee", "autre")
LOGEMENT = ("rue", "hebergement_precaire", "hebergement_collectif", "logement_semi_durable", "logement_perenne")
MOTIFS = ("cdi", "cdd_de_6_mois_ou_plus", "interim_de_6_mois_ou_plus", "creation_ou_reprise_d_entreprise",
          "integration_dans_la_fonction_publique", "cdd_de_moins_de_6_mois", "interim_de_moins_de_6_mois",
          "contrat_aide_hors_iae", "formation_qualifiante", "embauche_dans_une_autre_structure_de_l_iae",
          "poursuite_en_cddi_dans_l_aci", "droits_a_la_retraite", "demandeur_d_emploi", "inactivite",
          "sans_nouvelles", "autre_sortie", "conge_de_longue_duree_maladie_maternite", "deces", "demenagement",
          "decision_administrative_ou_de_justice", "rupture_pour_faute_grave", "rupture_pendant_la_periode_d_essai")
TERRITOIRES = ("paris", "lyon", "lille", "nantes", "strasbourg", "charente", "marseille", "rouen", "rennes",
               "somme", "moselle", "seine-saint-denis")


def dist(keys: tuple[str, ...], **counts: int) -> dict[str, int]:
    """A distribution: every key (0 unless given) plus non_renseigne (keys given as kwargs use `_` names)."""
    out = {k: 0 for k in keys}
    out[NR] = 0
    for k, v in counts.items():
        key = k.removeprefix("k")  # k1_2 → 1_2, k26_49 → 26_49
        assert key in out, key
        out[key] = v
    return out


def yn(oui: int, non: int, nr: int) -> dict[str, int]:
    return {"oui": oui, "non": non, NR: nr}


def rate(n: int, base: int) -> dict[str, int]:
    return {"n": n, "base": base}


def effectifs(acc: int, ent: int, sor: int, fad: int, faf: int, nb_aci: int, **supports: int) -> dict[str, Any]:
    return {"accompagnes": acc, "entrees": ent, "sorties": sor, "file_active_debut": fad, "file_active_fin": faf,
            "nb_aci": nb_aci, "nb_aci_par_support": dist(SUPPORTS, **supports)}


def no_resolution() -> dict[str, Any]:
    return {"resolue": 0, "en_cours": 0, "non_resolue": 0, NR: 0, "resolue_ou_en_cours": rate(0, 0)}


EFFECTIFS_2024 = effectifs(18, 8, 12, 10, 6, 2, reemploi=1, espaces_verts=1, non_renseigne=1)  # A and B
LYON_2024 = effectifs(11, 4, 7, 7, 4, 1, reemploi=1, espaces_verts=1)
# lyon: ent a01 a05 a08 a11; sor a03 a05 a06 a07 a09 a10 a11; fad a02 a03 a06 a07 a09 a10 a12; faf a01 a02 a08 a12
PARIS_2024 = effectifs(7, 4, 5, 3, 2, 1, non_renseigne=1)
# paris: ent b02 b03 b06 b08; sor b01 b02 b03 b07 b08; fad b01 b05 b07; faf b05 b06

EXPECTED_NATIONAL: dict[str, Any] = {
    "perimetre": {"niveau": "national", "territoire": None, "siret": None, "programme": "tous"},
    "annee": 2024,
    "donnees_au": "2025-01-15",  # A's latest snapshot
    "snapshots": [  # sorted by SIRET; A's 2024-06-30 snapshot is not used
        {"siret": SIRET_A, "nom": "Atelier Rhône", "territoire": "lyon", "date_arrete": "2025-01-15"},
        {"siret": SIRET_B, "nom": "Chantier Seine", "territoire": "paris", "date_arrete": "2024-12-31"},
    ],
    "effectifs": EFFECTIFS_2024,
    "profil": {
        "sexe": {"femme": 16, "homme": 2, NR: 0},  # Homme: a01 b05
        # ages: a01 25; a02 26, a03 49 (26_49); a05 50; b06 null; the 13 others 35–39
        "age_entree": {"moins_26": 1, "26_49": 15, "50_plus": 1, NR: 1},
        "nationalite": {"francaise": 16, "union_europeenne": 1, "hors_union_europeenne": 1, NR: 0},  # a02, b01
        "refugie": yn(1, 0, 17),  # b01
        "ts_exterieur": yn(0, 0, 18),
        "formation_etranger": yn(0, 0, 18),
        "rsa": yn(1, 0, 17),  # b05
        "rqth": yn(0, 1, 17),  # b05 Non
        "orienteur": dist(ORIENTEURS, france_travail=18),
        "niveau_formation": {"1_2": 1, "3": 0, "4": 0, "5_8": 0, NR: 17},  # b05
        "duree_sans_emploi": {"moins_de_6_mois": 18, "6_a_12_mois": 0, "12_a_24_mois": 0, "plus_de_24_mois": 0,
                              "jamais_travaille": 0, NR: 0},
        "parcours_rue": {"aucun": 0, "moins_de_2_ans": 0, "plus_de_2_ans": 1, NR: 17},  # a10
        # précaire a03, semi-durable a09, rue a10, collectif b07, the 14 others pérenne
        "logement_entree": dist(LOGEMENT, rue=1, hebergement_precaire=1, hebergement_collectif=1,
                                logement_semi_durable=1, logement_perenne=14),
        "difficultes_entree": {
            "logement": yn(5, 1, 12),  # a03 a05 a09 a10 a12; Non a01
            "sante": yn(6, 1, 11),  # a02 a05 a09 a10 a12 b07; Non a01
            "admin": yn(5, 0, 13),  # a02 a05 a09 a10 a12
            "illettrisme": yn(3, 0, 15),  # a09 a10 a12
            "fle": yn(3, 0, 15),
            "mobilite": yn(3, 0, 15),
            "justice": yn(3, 0, 15),
            "endettement": yn(2, 0, 16),  # a10 a12
            "famille": yn(1, 0, 17),  # a12
        },
        # 1: a03 b07; 2: a02; 3: a05; 7: a09; 8: a10; 9: a12; 0: the 11 others
        "nb_difficultes": {"0": 11, "1": 2, "2": 1, "3": 1, "4": 0, "5": 0, "6": 0, "7": 1, "8": 1, "9": 1},
        "cumul_3_a_7_difficultes": rate(2, 18),  # a05 (3), a09 (7); a10 (8) and a12 (9) are out
    },
    "accompagnement": {
        "acc_concerte": yn(1, 0, 17),  # b05
        "acc_proximite": yn(0, 0, 18),
        "cp_emploi": rate(1, 18),  # b05
        "cp_sante": rate(1, 6),  # b07 among the 6 with diff santé
        "cp_logement": rate(1, 5),  # a03 among the 5 with diff logement
    },
    "sorties": {
        "par_categorie": {
            "emploi_durable": 3,  # a03 a06 a07
            "emploi_transition": 1,  # b07
            "sortie_positive": 3,  # a10 a11 b02
            "autre_sortie": 2,  # a09 b08
            "sortie_neutre": 3,  # a05 b01 b03
        },
        "par_motif": dist(MOTIFS, cdi=2, cdd_de_6_mois_ou_plus=1, demenagement=1, demandeur_d_emploi=1,
                          formation_qualifiante=1, poursuite_en_cddi_dans_l_aci=1,
                          rupture_pendant_la_periode_d_essai=1, embauche_dans_une_autre_structure_de_l_iae=1,
                          conge_de_longue_duree_maladie_maternite=1, interim_de_moins_de_6_mois=1, sans_nouvelles=1),
        "taux_sorties_dynamiques": rate(7, 9),  # 3 + 1 + 3 over 12 − 3 neutral
        "taux_emploi_durable": rate(3, 9),
        "emploi_via_cp": 2,  # a03 (CDI), a10 (formation); b07 Non
        "duree_parcours": {
            # days: 60 120 152 289 305 305 334 411 601 653 1126 1521; sum 5877 / 12 = 489.75 d / 30.4375 = 16.09
            "moyenne_mois": 16.1,
            "mediane_mois": 10.5,  # 6th and 7th: (305 + 334) / 2 = 319.5 d = 10.497 months
            "plus_24_mois": rate(2, 12),  # a06 1126 d, b01 1521 d (> 730.5 d)
        },
    },
    "logement": {  # base: the 11 sortis with both housing values (b08 has none at exit)
        "matrice": {
            "rue": {**dict.fromkeys(LOGEMENT, 0), "logement_perenne": 1},  # a10
            "hebergement_precaire": {**dict.fromkeys(LOGEMENT, 0), "logement_perenne": 1},  # a03
            "hebergement_collectif": {**dict.fromkeys(LOGEMENT, 0), "logement_semi_durable": 1},  # b07
            "logement_semi_durable": {**dict.fromkeys(LOGEMENT, 0), "hebergement_collectif": 1},  # a09
            "logement_perenne": {**dict.fromkeys(LOGEMENT, 0), "rue": 1, "logement_perenne": 6},  # b02; a05 a06 a07 a11 b01 b03
        },
        "ameliore": rate(3, 11),  # a03 a10 b07
        "degrade": rate(2, 11),  # a09 b02
        "acces_logement_perenne": rate(2, 11),  # a03 a10
        "via_cp": rate(1, 3),  # a10 among the 3 improved
    },
    "sante": {  # base: the 12 sortis
        "ouverture_droits": rate(2, 12),  # b07 (bilan, médecin), b08 (AAH)
        "bilan_sante": rate(1, 12),
        "medecin_traitant": rate(1, 12),
        "couverture_sante": rate(0, 12),
        "rqth_obtenue": rate(0, 12),
        "aah_obtenue": rate(1, 12),
    },
    "resolution": {
        # sortis with diff logement: a03 Résolue, a05 En cours, a09 Non résolue, a10 Résolue
        "logement": {"resolue": 2, "en_cours": 1, "non_resolue": 1, NR: 0, "resolue_ou_en_cours": rate(3, 4)},
        # diff santé: a05 null, a09 Résolue, a10 null, b07 En cours
        "sante": {"resolue": 1, "en_cours": 1, "non_resolue": 0, NR: 2, "resolue_ou_en_cours": rate(2, 2)},
        # diff admin: a05 Non résolue, a09 Résolue, a10 null
        "admin": {"resolue": 1, "en_cours": 0, "non_resolue": 1, NR: 1, "resolue_ou_en_cours": rate(1, 2)},
        # a09 and a10, no value: a rate whose base is 0
        "illettrisme": {**no_resolution(), NR: 2},
        "fle": {**no_resolution(), NR: 2},
        "mobilite": {**no_resolution(), NR: 2},
        "justice": {**no_resolution(), NR: 2},
        "endettement": {**no_resolution(), NR: 1},  # a10
        "famille": no_resolution(),  # only a12 has it, and a12 has not left
    },
    "post_sortie": {
        # window (183–365 d before 2024-12-31): a03 365, a06 183, a09 199, a11 214, b01 291, b03 184;
        # out: a07 182, a04 366 (and not a sortie of 2024), the rest < 183
        "emploi_durable": {"sortis": 2, "contactes": rate(2, 2), "stabilises": rate(1, 2)},  # a03 a06; a03
        # a03 a06 a11 b01 b03 left to Logement pérenne; contact a03 a06 (b03 Non); stabilisé a03
        "logement_perenne": {"sortis": 5, "contactes": rate(2, 5), "stabilises": rate(1, 2)},
    },
    "phc": {  # a11 a12 b02 b03
        "accompagnes": 4,
        "entrees": 3,  # a11 b02 b03
        "sorties": 3,  # a11 b02 b03
        "heures_entree_moyenne": 14.1,  # (10 + 12.25 + 20) / 3 = 14.083
        "heures_sortie_moyenne": 14.3,  # (16.5 + 12) / 2 = 14.25, half-up (half-even would give 14.2)
        "poursuite_cddi": rate(2, 2),  # a11 CDDI, b02 autre SIAE; b03 neutral out of the base
    },
    "par_territoire": {
        **{slug: {"effectifs": effectifs(0, 0, 0, 0, 0, 0), "taux_sorties_dynamiques": rate(0, 0)}
           for slug in TERRITOIRES},
        # lyon: a03 a06 a07 a10 a11 dynamic; base 7 − a05
        "lyon": {"effectifs": LYON_2024, "taux_sorties_dynamiques": rate(5, 6)},
        # paris: b02 b07 dynamic; base 5 − b01 b03
        "paris": {"effectifs": PARIS_2024, "taux_sorties_dynamiques": rate(2, 3)},
    },
    "evolution": {
        # 2022: acc a03 a06 b01 b04 b05 b09; ent a03 b05 b09; sor b04 (Inactivité); fad a06 b01 b04;
        # faf a03 a06 b01 b05 b09
        "2022": {"effectifs": effectifs(6, 3, 1, 3, 5, 2, reemploi=1, espaces_verts=1, non_renseigne=1),
                 "taux_sorties_dynamiques": rate(0, 1)},
        # 2023: acc a02 a03 a04 a06 a07 a09 a10 a12 b01 b05 b07 b09; ent a02 a04 a07 a09 a10 a12 b07;
        # sor a04 b09 (both CDI); fad a03 a06 b01 b05 b09; faf = acc − a04 b09 (a04 left on 2023-12-31)
        "2023": {"effectifs": effectifs(12, 7, 2, 5, 10, 2, reemploi=1, espaces_verts=1, non_renseigne=1),
                 "taux_sorties_dynamiques": rate(2, 2)},
        "2024": {"effectifs": EFFECTIFS_2024, "taux_sorties_dynamiques": rate(7, 9)},
    },
}

SPEC_KEYS = ["perimetre", "annee", "donnees_au", "snapshots", "effectifs", "profil", "accompagnement", "sorties",
             "logement", "sante", "resolution", "post_sortie", "phc", "par_territoire", "evolution"]


def assert_blocks_equal(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Compare block by block so that a failure names the block."""
    assert list(got) == list(expected)
    for key in expected:
        assert got[key] == expected[key], f"{key}:\n{dumps(got[key])}"


def test_national_matches_the_hand_written_json(store: Path) -> None:
    got = compute(store, Scope.national())
    assert list(got) == SPEC_KEYS
    assert_blocks_equal(got, EXPECTED_NATIONAL)


def test_json_keys_follow_the_spec_order(store: Path) -> None:
    got = compute(store, Scope.national())
    assert list(got["effectifs"]) == ["accompagnes", "entrees", "sorties", "file_active_debut", "file_active_fin",
                                      "nb_aci", "nb_aci_par_support"]
    assert list(got["profil"])[:4] == ["sexe", "age_entree", "nationalite", "refugie"]
    assert list(got["profil"]["logement_entree"]) == [*LOGEMENT, NR]
    assert list(got["sorties"]["par_motif"]) == [*MOTIFS, NR]
    assert list(got["evolution"]) == ["2022", "2023", "2024"]


def test_territoire_scope(store: Path) -> None:
    got = compute(store, Scope.of_territoire("lyon"))
    assert got["perimetre"] == {"niveau": "territoire", "territoire": "lyon", "siret": None, "programme": "tous"}
    assert got["par_territoire"] is None
    assert [s["siret"] for s in got["snapshots"]] == [SIRET_A]
    assert got["effectifs"] == LYON_2024
    assert got["sorties"]["taux_sorties_dynamiques"] == rate(5, 6)
    assert got["phc"]["accompagnes"] == 2  # a11 a12
    assert got["phc"]["heures_entree_moyenne"] == 11.1  # (10 + 12.25) / 2 = 11.125
    assert got["phc"]["poursuite_cddi"] == rate(1, 1)  # a11


def test_aci_scope(store: Path) -> None:
    got = compute(store, Scope.of_aci(SIRET_B))
    assert got["perimetre"] == {"niveau": "aci", "territoire": None, "siret": SIRET_B, "programme": "tous"}
    assert got["donnees_au"] == "2024-12-31"
    assert got["effectifs"] == PARIS_2024
    assert got["par_territoire"] is None
    assert got["evolution"]["2022"]["effectifs"]["accompagnes"] == 4  # b01 b04 b05 b09
    # B's sortis: b03 60 d, b02 152, b08 289, b07 653, b01 1521: median 289 d = 9.49 months;
    # mean 2675 / 5 = 535 d = 17.58 months
    assert got["sorties"]["duree_parcours"] == {"moyenne_mois": 17.6, "mediane_mois": 9.5, "plus_24_mois": rate(1, 5)}


def test_programme_filter_and_phc_block(store: Path) -> None:
    cvg = compute(store, Scope.national(), programme="CVG")
    phc = compute(store, Scope.national(), programme="PHC")
    assert cvg["perimetre"]["programme"] == "CVG"
    # PHC: a11 a12 b02 b03 → acc 4, ent a11 b02 b03, sor a11 b02 b03, fad a12, faf a12
    assert phc["effectifs"] == effectifs(4, 3, 3, 1, 1, 2, reemploi=1, espaces_verts=1, non_renseigne=1)
    assert cvg["effectifs"] == effectifs(14, 5, 9, 9, 5, 2, reemploi=1, espaces_verts=1, non_renseigne=1)
    # the phc block is the same whatever --programme says
    assert cvg["phc"] == phc["phc"] == EXPECTED_NATIONAL["phc"]
    # PHC sortis: a11 SP, b02 SP, b03 neutral
    assert phc["sorties"]["taux_sorties_dynamiques"] == rate(2, 2)


def test_au_selects_an_older_snapshot(store: Path) -> None:
    got = compute(store, Scope.national(), au=D(2024, 7, 15))
    # A's 2024-06-30 snapshot; B's only snapshot (2024-12-31) is after the date
    assert got["snapshots"] == [
        {"siret": SIRET_A, "nom": "Atelier Rhône", "territoire": "lyon", "date_arrete": "2024-06-30"}
    ]
    assert got["donnees_au"] == "2024-06-30"
    # old1 acc ent faf; old2 acc sor fad (CDI)
    assert got["effectifs"] == effectifs(2, 1, 1, 1, 1, 1, reemploi=1, espaces_verts=1)
    assert got["profil"]["sexe"] == {"femme": 1, "homme": 1, NR: 0}
    assert got["sorties"]["taux_emploi_durable"] == rate(1, 1)


def test_au_before_every_snapshot_gives_zeros(store: Path) -> None:
    got = compute(store, Scope.national(), au=D(2024, 1, 1))
    assert got["snapshots"] == [] and got["donnees_au"] is None
    assert got["effectifs"] == effectifs(0, 0, 0, 0, 0, 0)
    assert got["sorties"]["duree_parcours"] == {"moyenne_mois": None, "mediane_mois": None, "plus_24_mois": rate(0, 0)}
    assert got["phc"]["heures_entree_moyenne"] is None


def test_year_2023_on_the_same_store(store: Path) -> None:
    # Y = 2023: a04 left 2023-12-31 (0 d before Y-12-31), b09 2023-06-30 (184 d): both sortis, both CDI
    got = compute(store, Scope.national(), annee=2023)
    assert got["post_sortie"]["emploi_durable"] == {"sortis": 1, "contactes": rate(0, 1), "stabilises": rate(0, 0)}
    assert got["evolution"]["2021"]["effectifs"]["accompagnes"] == 3  # a06 (2021-06-01) b01 b04
    assert got["evolution"]["2023"] == EXPECTED_NATIONAL["evolution"]["2023"]


def test_post_sortie_window_in_a_non_leap_year(tmp_path: Path) -> None:
    # Y = 2023 (not leap): 2023-01-01 is 364 d before 2023-12-31 (in), 2023-07-01 183 d (in),
    # 2023-07-02 182 d (out); 2022-12-31 is 365 d before but not a sortie of 2023 (decision: out).
    exits = [D(2022, 12, 31), D(2023, 1, 1), D(2023, 7, 1), D(2023, 7, 2)]
    path = fill_store(tmp_path / "cvg.duckdb", [snapshot(SIRET_A, D(2023, 12, 31), parcours=[
        parcours(date_entree=D(2022, 1, 1), date_sortie=day, motif_sortie="CDI", logement_sortie="Rue",
                 post_sortie_contact=True, post_sortie_stabilise=True)
        for day in exits
    ])])
    got = compute(path, Scope.national(), annee=2023)
    assert got["post_sortie"]["emploi_durable"] == {"sortis": 2, "contactes": rate(2, 2), "stabilises": rate(2, 2)}
    assert got["post_sortie"]["logement_perenne"] == {"sortis": 0, "contactes": rate(0, 0), "stabilises": rate(0, 0)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("14.25", 14.3), ("14.35", 14.4), ("14.05", 14.1), ("14.04", 14.0), ("0", 0.0), ("-0.25", -0.3),
     ("489.75", 489.8)],
)
def test_round_half_up(value: str, expected: float) -> None:
    from fractions import Fraction

    assert round_half_up(Fraction(value)) == expected


def test_compute_reads_an_open_connection(store: Path) -> None:
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        ind = compute_indicators(con, load_schema(), scope=Scope.national(), annee=Y)
    finally:
        con.close()
    assert ind["effectifs"]["accompagnes"] == 18
    text = to_json(ind)
    assert "Atelier Rhône" in text  # UTF-8, no \\u escapes
