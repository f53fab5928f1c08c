"""Deterministic generator of a synthetic CVG / PHC network: the example workbooks and benchmark networks.

    python examples/generate.py                           # regenerate the committed examples (examples/)
    python examples/generate.py --aci 70 --sortie DIR      # a clean network of 70 workbooks (~6,000 parcours)
    python examples/generate.py --aci 700 --sortie DIR     # ~60,000 parcours

Nobody in these files exists: every value is drawn from a seeded pseudo-random generator, and the only
names (columns `Nom` and `Prénom`, which ingest must drop) are random pairs of common French names.
Proportions follow the programme's 2023 report (« Mise en œuvre de l'action CVG »): about 49 % of sorties
dynamiques among non-neutral exits, 20 % of neutral exits, 45 % French nationals, 51 % on RSA, 49 % in
unstable housing at entry, and so on.

Column names, labels, synonyms, categorical values and territoires all come from the schema (load_schema);
values are referred to by their JSON key. Same seed, same files: the .xlsx are written by xlsxwriter with
a fixed creation date, the .ods by odfpy with fixed zip timestamps.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from cvg_pipeline.schema.load import Column, Domain, Schema, load_schema

EXAMPLES_DIR = Path(__file__).resolve().parent
SEED = "cvg-exemples-2023"
CREATED = datetime(2024, 1, 15, 9, 0, 0)  # fixed workbook creation date (byte-stable files)
EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01, with Excel's 1900 leap-year bug
ARRETE = date(2023, 12, 31)
POST_SORTIE_DAYS = 183  # the post-sortie contact happens 6 to 12 months after the exit

Cell = str | int | float | bool | date | None

# Random pairs of common French names: fake people, only in the Nom / Prénom columns ingest must drop.
FIRST_NAMES = (
    "Camille", "Dominique", "Claude", "Alex", "Sacha", "Karim", "Nadia", "Mamadou", "Fatou", "Jean", "Marie",
    "Ahmed", "Sofia", "Yannick", "Sylvie", "Hassan", "Aïcha", "Thierry", "Olga", "Bogdan", "Ibrahima", "Léa",
)
LAST_NAMES = (
    "Martin", "Bernard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Michel", "Garcia",
    "Diallo", "Traoré", "Benali", "Nguyen", "Popescu", "Rousseau", "Fontaine", "Chevalier", "Mercier", "Blanc",
)


# --------------------------------------------------------------------------------------------------------
# Distributions (weights by value key of the schema), close to the 2023 report
# --------------------------------------------------------------------------------------------------------

NATIONALITY = {  # by territoire slug; default national (45 % French, 45 % outside the EU)
    "_": {"francaise": 45, "union_europeenne": 10, "hors_union_europeenne": 45},
    "paris": {"francaise": 18, "union_europeenne": 10, "hors_union_europeenne": 72},
    "charente": {"francaise": 80, "union_europeenne": 6, "hors_union_europeenne": 14},
    "seine-saint-denis": {"francaise": 30, "union_europeenne": 10, "hors_union_europeenne": 60},
}
ORIENTEUR = {
    "CVG": {"france_travail": 33, "mission_locale": 7, "cap_emploi": 2, "hebergement_ahi_siao_chrs_chu": 17,
            "accompagnement_social_ccas_departement_association": 10, "premieres_heures_en_chantier": 6,
            "candidature_spontanee": 13, "autre": 12},
    "PHC": {"france_travail": 5, "mission_locale": 5, "hebergement_ahi_siao_chrs_chu": 45,
            "accompagnement_social_ccas_departement_association": 25, "candidature_spontanee": 10, "autre": 10},
}
NIVEAU = {"fr": {"1_2": 45, "3": 33, "4": 14, "5_8": 8}, "etranger": {"1_2": 60, "3": 17, "4": 12, "5_8": 11}}
SANS_EMPLOI = {"moins_de_6_mois": 20, "6_a_12_mois": 16, "12_a_24_mois": 23, "plus_de_24_mois": 34, "jamais_travaille": 7}
RUE = {"CVG": {"aucun": 67, "moins_de_2_ans": 28, "plus_de_2_ans": 5},
       "PHC": {"aucun": 35, "moins_de_2_ans": 40, "plus_de_2_ans": 25}}
LOGEMENT = {
    "CVG": {"rue": 4, "hebergement_precaire": 20, "hebergement_collectif": 25, "logement_semi_durable": 15, "logement_perenne": 36},
    "PHC": {"rue": 25, "hebergement_precaire": 30, "hebergement_collectif": 30, "logement_semi_durable": 10, "logement_perenne": 5},
}
# Exit categories: 20 % neutral; among the others 49 % dynamic (report: 467 of 961).
CATEGORY = {"emploi_durable": 16, "emploi_transition": 15, "sortie_positive": 10.5, "autre_sortie": 41, "sortie_neutre": 20}
CATEGORY_PHC = {"emploi_durable": 4, "emploi_transition": 8, "sortie_positive": 48, "autre_sortie": 25, "sortie_neutre": 15}
MOTIF = {  # within a category
    "cdi": 45, "cdd_de_6_mois_ou_plus": 35, "interim_de_6_mois_ou_plus": 10, "creation_ou_reprise_d_entreprise": 5,
    "integration_dans_la_fonction_publique": 5,
    "cdd_de_moins_de_6_mois": 50, "interim_de_moins_de_6_mois": 30, "contrat_aide_hors_iae": 20,
    "formation_qualifiante": 55, "embauche_dans_une_autre_structure_de_l_iae": 30, "poursuite_en_cddi_dans_l_aci": 12,
    "droits_a_la_retraite": 3,
    "demandeur_d_emploi": 60, "inactivite": 15, "sans_nouvelles": 15, "autre_sortie": 10,
    "conge_de_longue_duree_maladie_maternite": 30, "deces": 3, "demenagement": 25,
    "decision_administrative_ou_de_justice": 12, "rupture_pour_faute_grave": 10, "rupture_pendant_la_periode_d_essai": 20,
}
MOTIF_PHC = {**MOTIF, "poursuite_en_cddi_dans_l_aci": 85, "formation_qualifiante": 5, "embauche_dans_une_autre_structure_de_l_iae": 10}
RESOLUTION = {"resolue": 35, "en_cours": 36, "non_resolue": 29}
DIFFICULTY = {  # share at entry (logement, famille and FLE / illettrisme are conditioned below)
    "sante": 0.45, "admin": 0.55, "mobilite": 0.30, "justice": 0.08, "endettement": 0.22,
}


# --------------------------------------------------------------------------------------------------------
# Network and file styles
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    """How one ACI writes its workbook (all of it allowed by the spec)."""

    fmt: str = "xlsx"  # xlsx | ods
    salaries_sheet: str = ""  # "" = the schema's label
    structure_sheet: str = ""
    title_rows: tuple[tuple[str, ...], ...] = ()
    header_synonyms: float = 0.0  # share of headers written as one of their synonyms
    shuffle: bool = False
    dates: str = "date"  # date | text | serial | serial_text | iso | mixed
    bools: str = "canonical"  # canonical | short | mixed | vrai | excel
    cat_synonyms: float = 0.0  # share of categorical cells written as a synonym
    preferred_synonyms: tuple[tuple[str, str, str], ...] = ()  # (domain, value key, synonym) always used
    decimal_comma: bool = False
    birth_date: bool = False  # `Date de naissance` instead of the year
    names: bool = False  # fake `Nom` / `Prénom` columns
    drop: tuple[str, ...] = ()  # optional columns left out
    structure_labels: str = "canonical"  # canonical | synonyms
    territoire_as: str = "name"  # name | slug | synonym
    siret_spaced: bool = False
    arrete_as_text: bool = False
    supports_synonyms: bool = False
    extra_sheets: tuple[str, ...] = ()  # "consignes" | "cache" | "synthese"
    id_style: str = "prefix"  # prefix | pass


@dataclass(frozen=True)
class AciSpec:
    key: str  # file stem
    nom: str
    territoire: str  # slug
    programmes: tuple[str, ...]
    parcours: int  # target number of parcours (first parcours; returns come on top)
    date_arrete: date
    start: date  # first entry in the programme
    siret: str
    supports: tuple[str, ...]  # value keys
    style: Style = field(default_factory=Style)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def make_siret(rng: random.Random) -> str:
    """A Luhn-valid 14-digit SIRET whose SIREN starts with 999 (not attributed to real companies)."""
    prefix = "999" + "".join(str(rng.randrange(10)) for _ in range(10))
    return next(prefix + d for d in "0123456789" if luhn_ok(prefix + d))


def example_network(rng: random.Random) -> list[AciSpec]:
    """The committed examples: 8 ACI in 7 territoires, every kind of messiness the spec allows."""
    preferred = (
        ("orienteur", "france_travail", "Pôle emploi"),
        ("motif_sortie", "cdd_de_moins_de_6_mois", "CDD < 6 mois"),
        ("motif_sortie", "demandeur_d_emploi", "Au chômage"),
        ("logement", "hebergement_collectif", "CHRS"),
    )
    specs = [
        AciSpec("lyon-atelier-des-pentes", "Atelier des Pentes (fictif)", "lyon", ("CVG", "PHC"), 46, ARRETE,
                date(2020, 1, 6), make_siret(rng), ("reemploi", "transport_logistique"),
                Style(extra_sheets=("consignes",))),
        AciSpec("lyon-chantier-rive-gauche", "Chantier Rive Gauche (fictif)", "lyon", ("CVG",), 40, ARRETE,
                date(2020, 3, 2), make_siret(rng), ("espaces_verts", "batiment_second_oeuvre"),
                Style(title_rows=(("Reporting CVG — Chantier Rive Gauche",), ("Données arrêtées au 31/12/2023",), ()),
                      header_synonyms=0.5, shuffle=True, dates="text", bools="mixed", cat_synonyms=0.25,
                      preferred_synonyms=preferred, decimal_comma=True, names=True, territoire_as="synonym",
                      siret_spaced=True, structure_labels="synonyms", supports_synonyms=True)),
        AciSpec("paris-jardins-du-canal", "Les Jardins du Canal (fictif)", "paris", ("CVG",), 44, ARRETE,
                date(2020, 1, 13), make_siret(rng), ("espaces_verts", "alimentaire_restauration"),
                Style(dates="serial", bools="short", extra_sheets=("cache",), id_style="pass", territoire_as="slug")),
        AciSpec("lille-recyclerie-du-nord", "Recyclerie du Nord (fictif)", "lille", ("CVG", "PHC"), 42, ARRETE,
                date(2020, 9, 1), make_siret(rng), ("reemploi",),
                Style(title_rows=(("Tableau de suivi des salariés en insertion",),), birth_date=True, bools="vrai",
                      cat_synonyms=0.15, salaries_sheet="Liste des salariés", arrete_as_text=True)),
        AciSpec("nantes-premieres-heures-estuaire", "Premières Heures Estuaire (fictif)", "nantes", ("PHC",), 30,
                date(2024, 2, 29), date(2021, 4, 6), make_siret(rng), ("autre",),
                Style(bools="excel", dates="iso")),
        AciSpec("charente-les-coteaux", "Les Coteaux (fictif)", "charente", ("CVG",), 34, ARRETE,
                date(2020, 2, 3), make_siret(rng), ("espaces_verts", "batiment_second_oeuvre"),
                Style(fmt="ods", territoire_as="synonym")),
        AciSpec("marseille-cuisine-solidaire", "Cuisine Solidaire du Vieux-Port (fictif)", "marseille", ("CVG", "PHC"),
                40, ARRETE, date(2021, 1, 11), make_siret(rng), ("alimentaire_restauration",),
                Style(dates="mixed", cat_synonyms=0.4, header_synonyms=0.3, shuffle=True,
                      extra_sheets=("synthese",), salaries_sheet="Salariés CVG")),
        AciSpec("strasbourg-atelier-du-rhin", "Atelier du Rhin (fictif)", "strasbourg", ("CVG",), 32,
                date(2023, 11, 30), date(2020, 6, 2), make_siret(rng), ("transport_logistique", "reemploi"),
                Style(drop=("niveau_formation", "formation_etranger", "parcours_rue", "heures_hebdo_entree",
                            "heures_hebdo_sortie", "acc_proximite", "cp_sante"), structure_sheet="Identification")),
    ]
    return specs


HISTORY = {  # ACI key -> earlier Date d'arrêté written into examples/historique/
    "lyon-atelier-des-pentes": date(2023, 6, 30),
    "paris-jardins-du-canal": date(2023, 6, 30),
}


def bench_network(n: int, seed: str) -> list[AciSpec]:
    """`n` clean workbooks spread over the territoires, ~85 parcours each."""
    schema = load_schema()
    rng = random.Random(f"{seed}/reseau/{n}")
    slugs = [t.slug for t in schema.territoires]
    supports = [v.key for v in schema.domains["supports"].values]
    specs = []
    for i in range(n):
        territoire = slugs[i % len(slugs)]
        draw = rng.random()
        programmes = ("PHC",) if draw < 0.1 else ("CVG",) if draw < 0.4 else ("CVG", "PHC")
        specs.append(AciSpec(
            key=f"aci-{i + 1:04d}-{territoire}",
            nom=f"ACI fictif n° {i + 1}",
            territoire=territoire,
            programmes=programmes,
            parcours=rng.randint(64, 104),
            date_arrete=ARRETE,
            start=date(2020, 1, 1) + timedelta(days=rng.randrange(0, 500)),
            siret=make_siret(rng),
            supports=tuple(rng.sample(supports, rng.randint(1, 2))),
        ))
    return specs


# --------------------------------------------------------------------------------------------------------
# Parcours (canonical values keyed by column name; categorical values by key until rendering)
# --------------------------------------------------------------------------------------------------------


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def chance(rng: random.Random, p: float) -> bool:
    return rng.random() < p


class Generator:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.motif_category = {v.key: v.category for v in schema.domains["motif_sortie"].values}
        self.dynamic = {c.key for c in schema.exit_categories if c.dynamic}
        self.rank = {v.key: v.rank for v in schema.domains["logement"].values}
        self.by_rank = {v.rank: v.key for v in schema.domains["logement"].values}
        self.difficulties = [d.key for d in schema.difficulties]
        self.exit_block = ["date_sortie", *(c.name for c in schema.columns if c.exit_only)]
        self._check_keys()

    def _check_keys(self) -> None:
        """Every key used by the distributions exists in the schema (a renamed value fails loudly here)."""
        d = self.schema.domains
        checks: list[tuple[str, Iterable[str]]] = [
            ("nationalite", (k for w in NATIONALITY.values() for k in w)),
            ("orienteur", (k for w in ORIENTEUR.values() for k in w)),
            ("niveau_formation", (k for w in NIVEAU.values() for k in w)),
            ("duree_sans_emploi", SANS_EMPLOI),
            ("parcours_rue", (k for w in RUE.values() for k in w)),
            ("logement", (k for w in LOGEMENT.values() for k in w)),
            ("motif_sortie", MOTIF),
            ("resolution", RESOLUTION),
        ]
        for domain, keys in checks:
            known = {v.key for v in d[domain].values}
            unknown = set(keys) - known
            assert not unknown, f"{domain}: {unknown}"
        assert set(MOTIF) == set(self.motif_category), "every motif needs a weight"
        assert set(CATEGORY) == {c.key for c in self.schema.exit_categories}
        assert set(DIFFICULTY) <= set(self.difficulties)

    # -- one ACI ----------------------------------------------------------------------------------------
    def parcours(self, spec: AciSpec, rng: random.Random) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        span = (spec.date_arrete - spec.start).days
        for i in range(spec.parcours):
            programme = spec.programmes[0] if len(spec.programmes) == 1 else ("PHC" if chance(rng, 0.3) else "CVG")
            # More entries in recent years: the programme grows.
            entree = spec.start + timedelta(days=int(span * rng.random() ** 0.85))
            person = self.person(spec, rng, programme, entree)
            person["id_salarie"] = self.identifier(spec, i + 1)
            rows.append(self.one_parcours(spec, rng, programme, entree, person))
            last = rows[-1]
            # About 4 % come back for a second parcours after their exit.
            if last["date_sortie"] is not None and chance(rng, 0.05):
                again = last["date_sortie"] + timedelta(days=rng.randint(30, 300))
                if again <= spec.date_arrete:
                    keep = {k: last[k] for k in ("id_salarie", "sexe", "annee_naissance", "nationalite", "refugie",
                                                 "formation_etranger", "niveau_formation", "_prenom", "_nom",
                                                 "_naissance")}
                    second = self.person(spec, rng, "CVG" if "CVG" in spec.programmes else programme, again)
                    second.update(keep)
                    rows.append(self.one_parcours(spec, rng, "CVG" if "CVG" in spec.programmes else programme,
                                                  again, second))
        rows.sort(key=lambda r: (r["date_entree"], r["id_salarie"]))
        return rows

    def identifier(self, spec: AciSpec, n: int) -> str:
        if spec.style.id_style == "pass":
            digits = sum(ord(c) for c in spec.key) % 1000
            return f"99999{digits:03d}{n:05d}"
        initials = "".join(w[0] for w in spec.key.split("-")[1:4]).upper()
        return f"{initials}-{n:04d}"

    def person(self, spec: AciSpec, rng: random.Random, programme: str, entree: date) -> dict[str, Any]:
        nat = pick(rng, NATIONALITY.get(spec.territoire, NATIONALITY["_"]))
        french = nat == "francaise"
        femme = chance(rng, 0.27)
        age = max(18, min(64, int(rng.triangular(18, 64, 45 if programme == "PHC" else 36))))
        rue = pick(rng, RUE[programme])
        logement = pick(rng, LOGEMENT[programme])
        if rue == "plus_de_2_ans" and self.rank[logement] > 2:
            logement = pick(rng, {"rue": 3, "hebergement_precaire": 3, "hebergement_collectif": 4})
        p = {
            "sexe": "femme" if femme else "homme",
            "annee_naissance": entree.year - age,
            "_naissance": date(entree.year - age, rng.randint(1, 12), rng.randint(1, 28)),
            "_prenom": rng.choice(FIRST_NAMES),
            "_nom": rng.choice(LAST_NAMES),
            "nationalite": nat,
            "refugie": (nat == "hors_union_europeenne" and chance(rng, 0.48)),
            "orienteur": self.orienteur(spec, rng, programme),
            "ts_exterieur": chance(rng, 0.61),
            "niveau_formation": pick(rng, NIVEAU["fr" if french else "etranger"]),
            "formation_etranger": (not french) and chance(rng, 0.4),
            "rsa": chance(rng, 0.58 if age >= 25 else 0.1),
            "rqth": chance(rng, 0.11),
            "duree_sans_emploi": pick(rng, SANS_EMPLOI),
            "parcours_rue": rue,
            "logement_entree": logement,
        }
        diff = {key: chance(rng, share) for key, share in DIFFICULTY.items()}
        diff["logement"] = chance(rng, 0.85 if self.rank[logement] <= 2 else 0.5 if self.rank[logement] == 3 else 0.3)
        diff["illettrisme"] = chance(rng, 0.4 if not french else 0.2)
        diff["fle"] = chance(rng, 0.7 if nat == "hors_union_europeenne" else 0.4 if not french else 0.03)
        diff["famille"] = chance(rng, 0.45 if femme else 0.12)
        for key in self.difficulties:
            p[f"diff_{key}"] = diff.get(key, chance(rng, 0.3))
        return p

    def orienteur(self, spec: AciSpec, rng: random.Random, programme: str) -> str:
        weights = dict(ORIENTEUR[programme])
        if "PHC" not in spec.programmes:
            weights.pop("premieres_heures_en_chantier", None)
        return pick(rng, weights)

    def one_parcours(self, spec: AciSpec, rng: random.Random, programme: str, entree: date,
                     person: dict[str, Any]) -> dict[str, Any]:
        row = dict(person)
        phc = programme == "PHC"
        row["programme"] = programme.lower()
        row["date_entree"] = entree
        days = rng.gammavariate(2.0, 60.0) if phc else rng.gammavariate(2.2, 290.0)
        days = int(max(14, min(365 if phc else 1825, days)))
        sortie = entree + timedelta(days=days)
        row["date_sortie"] = sortie if sortie <= spec.date_arrete else None
        row["heures_hebdo_entree"] = rng.choice((4, 6, 8, 10, 12)) if phc else rng.choices((20, 24, 26, 30), (25, 20, 50, 5))[0]
        if not phc and spec.style.decimal_comma and chance(rng, 0.2):
            row["heures_hebdo_entree"] = 20.5
        row["heures_hebdo_sortie"] = (
            min(35, row["heures_hebdo_entree"] + rng.choice((0, 2, 4, 6, 8))) if phc
            else rng.choices((26, 30, 35), (60, 25, 15))[0]
        )
        row["heures_hebdo_sortie"] = max(row["heures_hebdo_sortie"], row["heures_hebdo_entree"])
        row["acc_concerte"] = chance(rng, 0.55)
        row["acc_proximite"] = chance(rng, 0.28)
        row["cp_emploi"] = chance(rng, 0.35)
        row["cp_logement"] = chance(rng, 0.4 if row["diff_logement"] else 0.05)
        row["cp_sante"] = chance(rng, 0.47 if row["diff_sante"] else 0.05)
        row["bilan_sante"] = chance(rng, 0.19)
        row["medecin_traitant"] = chance(rng, 0.18)
        row["couverture_sante"] = chance(rng, 0.21)
        row["rqth_obtenue"] = (not row["rqth"]) and chance(rng, 0.05)
        row["aah_obtenue"] = chance(rng, 0.02)
        category = pick(rng, CATEGORY_PHC if phc else CATEGORY)
        motifs = MOTIF_PHC if phc else MOTIF
        row["motif_sortie"] = pick(rng, {k: w for k, w in motifs.items() if self.motif_category[k] == category})
        for key in self.difficulties:
            row[f"res_{key}"] = pick(rng, RESOLUTION) if row[f"diff_{key}"] and chance(rng, 0.96) else None
        # Housing at exit: a fifth improve (the report: 21 %), a few get worse.
        rank = self.rank[row["logement_entree"]]
        move = rng.random()
        if move < 0.3 and rank < 4:
            rank = min(4, rank + rng.choice((1, 1, 2)))
        elif move > 0.97 and rank > 0:
            rank -= 1
        row["logement_sortie"] = self.by_rank[rank]
        self.fix_exit(row, rng)
        return row

    def fix_exit(self, row: dict[str, Any], rng: random.Random) -> None:
        """Fields that depend on the motif and the housing move (also after `force_motif`)."""
        dynamic = self.motif_category[row["motif_sortie"]] in self.dynamic
        improved = self.rank[row["logement_sortie"]] > self.rank[row["logement_entree"]]
        row["emploi_via_cp"] = dynamic and chance(rng, 0.45 if row["cp_emploi"] else 0.05)
        row["logement_via_cp"] = improved and chance(rng, 0.5 if row["cp_logement"] else 0.05)
        durable = self.motif_category[row["motif_sortie"]] == "emploi_durable" or (improved and self.rank[row["logement_sortie"]] >= 3)
        contact = 0.8 if durable else 0.35
        if row["motif_sortie"] in ("deces", "sans_nouvelles"):
            contact = 0.0  # nobody to call back
        elif self.motif_category[row["motif_sortie"]] == "sortie_neutre":
            contact = 0.1
        row["_contact"] = chance(rng, contact)
        row["_stabilise"] = chance(rng, 0.95 if durable else 0.6)

    def force_motif(self, row: dict[str, Any], motif: str, rng: random.Random) -> None:
        row["motif_sortie"] = motif
        if motif == "droits_a_la_retraite":  # old enough: 62 at entry
            row["annee_naissance"] = row["date_entree"].year - 62
            row["_naissance"] = row["_naissance"].replace(year=row["annee_naissance"])
        self.fix_exit(row, rng)


def snapshot(rows: Sequence[dict[str, Any]], day: date, gen: Generator) -> list[dict[str, Any]]:
    """The cumulative file as known on `day`: later entries absent, later exits still running."""
    out = []
    for row in rows:
        if row["date_entree"] > day:
            continue
        r = dict(row)
        if r["date_sortie"] is None or r["date_sortie"] > day:
            for name in gen.exit_block:
                r[name] = None
        elif (day - r["date_sortie"]).days >= POST_SORTIE_DAYS:
            r["post_sortie_contact"] = r["_contact"]
            r["post_sortie_stabilise"] = r["_stabilise"] if r["_contact"] else None
        else:
            r["post_sortie_contact"] = None
            r["post_sortie_stabilise"] = None
        out.append(r)
    return out


def ensure_every_motif(rows_by_aci: dict[str, list[dict[str, Any]]], gen: Generator, rng: random.Random) -> None:
    """Across the network, every exit motif (so every category) appears at least once."""
    exits = [r for key in sorted(rows_by_aci) for r in rows_by_aci[key]
             if r["date_sortie"] is not None and r["programme"] == "cvg"]
    seen = Counter(r["motif_sortie"] for r in exits)
    for motif in MOTIF:
        if seen[motif]:
            continue
        candidates = [r for r in exits if seen[r["motif_sortie"]] > 2]
        row = rng.choice(candidates)
        seen[row["motif_sortie"]] -= 1
        gen.force_motif(row, motif, rng)
        seen[motif] += 1


# --------------------------------------------------------------------------------------------------------
# Rendering: canonical values → cells as an ACI would write them
# --------------------------------------------------------------------------------------------------------


@dataclass
class Sheet:
    name: str
    rows: list[list[Cell]]
    hidden: bool = False
    header_row: int | None = None  # 0-based index of the bold, frozen header row
    widths: list[float] = field(default_factory=list)


def serial(day: date) -> int:
    return (day - EXCEL_EPOCH).days


class Renderer:
    def __init__(self, schema: Schema, spec: AciSpec, rng: random.Random) -> None:
        self.schema = schema
        self.spec = spec
        self.style = spec.style
        self.rng = rng
        self.preferred: dict[tuple[str, str], str] = {}
        for domain, key, synonym in self.style.preferred_synonyms:
            value = next(v for v in schema.domains[domain].values if v.key == key)
            assert schema.domains[domain].match(synonym) == value, synonym
            self.preferred[(domain, key)] = synonym

    # -- cells ------------------------------------------------------------------------------------------
    def date_cell(self, day: date, style: str | None = None) -> Cell:
        style = style or self.style.dates
        if style == "mixed":
            style = self.rng.choice(("date", "text", "text_dash", "text_dot", "iso", "serial", "serial_text", "short"))
        return {
            "date": lambda: day,
            "text": lambda: day.strftime("%d/%m/%Y"),
            "text_dash": lambda: day.strftime("%d-%m-%Y"),
            "text_dot": lambda: day.strftime("%d.%m.%Y"),
            "short": lambda: day.strftime("%d/%m/%y"),
            "iso": lambda: day.isoformat(),
            "serial": lambda: serial(day),
            "serial_text": lambda: str(serial(day)),
        }[style]()

    def bool_cell(self, value: bool) -> Cell:
        s = self.schema
        yes, no = s.true_labels[0], s.false_labels[0]
        match self.style.bools:
            case "short":
                return s.true_labels[1] if value else s.false_labels[1]  # O / N
            case "vrai":
                return self.rng.choice((s.true_labels[3], yes.lower())) if value else self.rng.choice(("Faux", no.lower()))
            case "excel":
                return value
            case "mixed":
                return self.rng.choice((yes, yes.lower(), "O", "X")) if value else self.rng.choice((no, no.lower(), "N"))
        return yes if value else no

    def cat_cell(self, domain: Domain, key: str) -> str:
        value = next(v for v in domain.values if v.key == key)
        if (domain.name, key) in self.preferred:
            return self.preferred[(domain.name, key)]
        if value.synonyms and chance(self.rng, self.style.cat_synonyms):
            return self.rng.choice(value.synonyms)
        return value.label

    def cell(self, column: Column, value: Any) -> Cell:
        if value is None:
            return None
        if column.type == "date":
            return self.date_cell(value)
        if column.type == "bool":
            return self.bool_cell(bool(value))
        if column.type == "cat":
            return self.cat_cell(self.schema.domain_of(column), value.lower() if column.name == "programme" else value)
        if column.type == "number" and isinstance(value, float) and not value.is_integer() and self.style.decimal_comma:
            return f"{value}".replace(".", ",")
        return value  # type: ignore[no-any-return]

    # -- sheets -----------------------------------------------------------------------------------------
    def salaries(self, rows: Sequence[dict[str, Any]]) -> Sheet:
        s = self.schema
        columns = [c for c in s.columns if c.name not in self.style.drop]
        order: list[tuple[str, Column | None]] = []  # (header as written, column or None for names)
        for col in columns:
            header = col.label
            if col.name == "annee_naissance" and self.style.birth_date:
                header = col.date_synonyms[0]
            elif col.synonyms and chance(self.rng, self.style.header_synonyms):
                header = self.rng.choice(col.synonyms)
            order.append((header, col))
        if self.style.shuffle:
            head, tail = order[:1], order[1:]
            self.rng.shuffle(tail)
            order = head + tail
        if self.style.names:
            # Fake direct identifiers right after the identifier column: ingest must drop them.
            identifiers = [p for p in ("Nom", "Prénom") if s.match_header(p).kind == "identifier"]
            assert len(identifiers) == 2
            order[1:1] = [(identifiers[0], None), (identifiers[1], None)]
        out: list[list[Cell]] = [list(t) for t in self.style.title_rows]
        out.append([h for h, _ in order])
        for row in rows:
            cells: list[Cell] = []
            for header, col in order:
                if col is None:
                    cells.append(row["_nom"] if header == order[1][0] else row["_prenom"])
                elif col.name == "annee_naissance" and self.style.birth_date:
                    cells.append(self.date_cell(row["_naissance"], "date"))
                else:
                    cells.append(self.cell(col, row.get(col.name)))
            out.append(cells)
        widths = [float(max(10, min(28, len(h) * 0.6 + 4))) for h, _ in order]
        name = self.style.salaries_sheet or s.salaries_sheet.label
        return Sheet(name, out, header_row=len(self.style.title_rows), widths=widths)

    def structure(self) -> Sheet:
        s, spec, st = self.schema, self.spec, self.style
        terr = s.territoire(spec.territoire)
        territoire = {"name": terr.name, "slug": terr.slug, "synonym": terr.synonyms[0] if terr.synonyms else terr.name}[
            st.territoire_as
        ]
        siret = f"{spec.siret[:3]} {spec.siret[3:6]} {spec.siret[6:9]} {spec.siret[9:]}" if st.siret_spaced else spec.siret
        supports_domain = s.domains["supports"]
        supports = [
            (v.synonyms[0] if st.supports_synonyms and v.synonyms else v.label)
            for key in spec.supports
            for v in supports_domain.values
            if v.key == key
        ]
        values: dict[str, Cell] = {
            "text": spec.nom,
            "siret": siret,
            "territoire": territoire,
            "date": spec.date_arrete.strftime("%d/%m/%Y") if st.arrete_as_text else spec.date_arrete,
            "supports": " ; ".join(supports),
        }
        rows: list[list[Cell]] = [[s.structure_field_header, s.structure_value_header]]
        for fld in s.structure_fields:
            label = fld.label
            if st.structure_labels == "synonyms" and fld.synonyms:
                label = fld.synonyms[-1]
            rows.append([label, values[fld.type]])
        name = st.structure_sheet or s.structure_sheet.label
        return Sheet(name, rows, header_row=0, widths=[28, 44])

    def extra(self, kind: str, rows: Sequence[dict[str, Any]]) -> Sheet:
        if kind == "consignes":
            return Sheet("Consignes", [
                ["Consignes de remplissage (feuille ignorée par cvg)"],
                ["Une ligne par parcours, y compris les parcours terminés."],
                ["Ne pas indiquer de nom, de prénom ni de numéro de sécurité sociale."],
                ["Contact : coordination territoriale."],
            ], widths=[80])
        if kind == "cache":
            by_year = Counter(r["date_entree"].year for r in rows)
            return Sheet("Calculs", [["Année", "Entrées"], *([y, by_year[y]] for y in sorted(by_year))], hidden=True)
        if kind == "synthese":
            sorties = Counter(r["motif_sortie"] for r in rows if r["date_sortie"] is not None)
            labels = {v.key: v.label for v in self.schema.domains["motif_sortie"].values}
            return Sheet("Synthèse", [["Situation à la sortie", "Nombre"],
                                      *([labels[k], n] for k, n in sorted(sorties.items()))], header_row=0, widths=[44, 10])
        raise ValueError(kind)

    def workbook(self, rows: Sequence[dict[str, Any]]) -> list[Sheet]:
        sheets = [self.structure(), self.salaries(rows)]
        sheets += [self.extra(kind, rows) for kind in self.style.extra_sheets]
        if "consignes" in self.style.extra_sheets:  # instructions first, as ACIs often do
            sheets.insert(0, sheets.pop())
        return sheets


# --------------------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------------------


def write_xlsx(path: Path, sheets: Sequence[Sheet], title: str) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {
        "in_memory": True,  # fixed zip timestamps
        "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
    })
    wb.set_properties({"title": title, "author": "cvg-pipeline (données fictives)", "created": CREATED})
    date_fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    bold = wb.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    for sheet in sheets:
        ws = wb.add_worksheet(sheet.name)
        for r, row in enumerate(sheet.rows):
            fmt = bold if r == sheet.header_row else None
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, bool):
                    ws.write_boolean(r, c, value, fmt)
                elif isinstance(value, date):
                    ws.write_datetime(r, c, datetime(value.year, value.month, value.day), date_fmt)
                elif isinstance(value, int | float):
                    ws.write_number(r, c, value, fmt)
                else:
                    ws.write_string(r, c, value, fmt)
        for c, width in enumerate(sheet.widths):
            ws.set_column(c, c, width)
        if sheet.header_row is not None:
            ws.freeze_panes(sheet.header_row + 1, 0)
        if sheet.hidden:
            ws.hide()
    wb.close()


def restamp_zip(data: bytes) -> bytes:
    """The same zip with fixed entry timestamps (odfpy stamps the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0))
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def write_ods(path: Path, sheets: Sequence[Sheet], title: str) -> None:
    from odf import dc
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    doc.meta.addElement(dc.Title(text=title))
    for sheet in sheets:
        table = Table(name=sheet.name)
        for row in sheet.rows:
            tr = TableRow()
            for value in row:
                if value is None:
                    tc = TableCell()
                elif isinstance(value, bool):
                    tc = TableCell(valuetype="boolean", booleanvalue="true" if value else "false")
                    tc.addElement(P(text="VRAI" if value else "FAUX"))
                elif isinstance(value, date):
                    tc = TableCell(valuetype="date", datevalue=value.isoformat())
                    tc.addElement(P(text=value.strftime("%d/%m/%Y")))
                elif isinstance(value, int | float):
                    tc = TableCell(valuetype="float", value=str(value))
                    tc.addElement(P(text=str(value)))
                else:
                    tc = TableCell(valuetype="string")
                    tc.addElement(P(text=value))
                tr.addElement(tc)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    buf = io.BytesIO()
    doc.write(buf)
    path.write_bytes(restamp_zip(buf.getvalue()))


def write_workbook(path: Path, sheets: Sequence[Sheet], title: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".ods":
        write_ods(path, sheets, title)
    else:
        write_xlsx(path, sheets, title)


# --------------------------------------------------------------------------------------------------------
# The committed examples
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlantedError:
    fichier: str
    feuille: str
    cellule: str  # e.g. "D7" ("" for a whole-sheet error)
    colonne: str  # header as written
    valeur: str
    attendu: str  # the error code ingest should report


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def error_files(schema: Schema, gen: Generator, rng: random.Random) -> list[tuple[str, list[Sheet], list[PlantedError]]]:
    """Small workbooks, each with errors at known cells (examples/erreurs/)."""
    out: list[tuple[str, list[Sheet], list[PlantedError]]] = []
    base = AciSpec("erreurs", "Atelier Exemple à corriger (fictif)", "rennes", ("CVG",), 10, ARRETE, date(2021, 5, 3),
                   make_siret(rng), ("reemploi",))
    rows = snapshot(gen.parcours(base, random.Random(f"{SEED}/erreurs")), ARRETE, gen)

    def sheets_for(spec: AciSpec, data: Sequence[dict[str, Any]]) -> tuple[list[Sheet], Renderer]:
        renderer = Renderer(schema, spec, random.Random(f"{SEED}/rendu/{spec.key}"))
        return renderer.workbook(data), renderer

    # 1. An impossible date and an unknown motif.
    name = "erreurs-date-impossible-et-motif-inconnu.xlsx"
    sheets, _ = sheets_for(replace(base, key="e1", style=Style(dates="text")), rows)
    sal = sheets[1]
    header = sal.rows[0]
    exited = [i for i, r in enumerate(rows) if r["date_sortie"] is not None]
    running = [i for i, r in enumerate(rows) if r["date_sortie"] is None and r["date_entree"].year == 2023]
    i_date, i_motif = running[0] + 1, exited[-1] + 1
    c_date = header.index(schema.column("date_entree").label)
    c_motif = header.index(schema.column("motif_sortie").label)
    sal.rows[i_date][c_date] = "31/02/2023"
    sal.rows[i_motif][c_motif] = "Parti en vacances"
    planted = [
        PlantedError(name, sal.name, f"{column_letter(c_date)}{i_date + 1}", str(header[c_date]), "31/02/2023", "date-invalide"),
        PlantedError(name, sal.name, f"{column_letter(c_motif)}{i_motif + 1}", str(header[c_motif]), "Parti en vacances", "valeur-inconnue"),
    ]
    out.append((name, sheets, planted))

    # 2. A required column missing.
    name = "erreurs-colonne-obligatoire-absente.xlsx"
    sheets, _ = sheets_for(replace(base, key="e2", style=Style(drop=())), rows)
    sal = sheets[1]
    missing = schema.column("sexe").label
    c = sal.rows[0].index(missing)
    for r in sal.rows:
        del r[c]
    out.append((name, sheets, [PlantedError(name, sal.name, "", missing, "", "colonne-manquante")]))

    # 3. A SIRET with a wrong checksum and an unknown territoire (close to a real one).
    name = "erreurs-siret-et-territoire.xlsx"
    bad_siret = base.siret[:-1] + str((int(base.siret[-1]) + 1) % 10)
    assert not luhn_ok(bad_siret)
    sheets, _ = sheets_for(replace(base, key="e3"), rows)
    st = sheets[0]
    labels = [r[0] for r in st.rows]
    r_siret = labels.index(next(f.label for f in schema.structure_fields if f.type == "siret"))
    r_terr = labels.index(next(f.label for f in schema.structure_fields if f.type == "territoire"))
    territoire = "Rennes Metropolle"
    assert schema.match_territoire(territoire) is None
    st.rows[r_siret][1] = bad_siret
    st.rows[r_terr][1] = territoire
    out.append((name, sheets, [
        PlantedError(name, st.name, f"B{r_siret + 1}", str(st.rows[r_siret][0]), bad_siret, "siret-invalide"),
        PlantedError(name, st.name, f"B{r_terr + 1}", str(st.rows[r_terr][0]), territoire, "territoire-inconnu"),
    ]))
    return out


def write_examples(target: Path, seed: str = SEED) -> dict[str, Any]:
    """Write examples/aci, examples/historique, examples/erreurs and examples/LISEZMOI.md; return facts."""
    schema = load_schema()
    gen = Generator(schema)
    rng = random.Random(f"{seed}/reseau")
    specs = example_network(rng)
    full = {spec.key: gen.parcours(spec, random.Random(f"{seed}/parcours/{spec.key}")) for spec in specs}
    ensure_every_motif(full, gen, random.Random(f"{seed}/motifs"))

    written: list[Path] = []
    facts: dict[str, Any] = {"aci": [], "historique": [], "erreurs": []}
    for spec in specs:
        rows = snapshot(full[spec.key], spec.date_arrete, gen)
        renderer = Renderer(schema, spec, random.Random(f"{seed}/rendu/{spec.key}"))
        path = target / "aci" / f"{spec.key}.{spec.style.fmt}"
        write_workbook(path, renderer.workbook(rows), spec.nom)
        written.append(path)
        facts["aci"].append((spec, rows))
        if spec.key in HISTORY:
            day = HISTORY[spec.key]
            old = replace(spec, date_arrete=day)
            old_rows = snapshot(full[spec.key], day, gen)
            renderer = Renderer(schema, old, random.Random(f"{seed}/rendu/{spec.key}/{day}"))
            path = target / "historique" / f"{spec.key}-{day.isoformat()}.xlsx"
            write_workbook(path, renderer.workbook(old_rows), spec.nom)
            written.append(path)
            facts["historique"].append((old, old_rows))
    for name, sheets, planted in error_files(schema, gen, random.Random(f"{seed}/erreurs")):
        path = target / "erreurs" / name
        write_workbook(path, sheets, "Exemple de fichier à corriger")
        written.append(path)
        facts["erreurs"].extend(planted)
    # Files of an older generation that are no longer produced.
    for folder in ("aci", "historique", "erreurs"):
        for stale in sorted((target / folder).glob("*")):
            if stale.suffix in (".xlsx", ".ods") and stale not in written:
                stale.unlink()
    (target / "LISEZMOI.md").write_text(describe(schema, facts, gen), encoding="utf-8")
    facts["fichiers"] = written
    return facts


def describe(schema: Schema, facts: dict[str, Any], gen: Generator) -> str:
    """examples/LISEZMOI.md: what each file is and what it exercises (generated, French)."""
    cats = {c.key: c for c in schema.exit_categories}
    lines = [
        "# Exemples (données fictives)",
        "",
        "*Généré par `python examples/generate.py` (`make examples`) : ne pas modifier à la main.*",
        "",
        "Un réseau synthétique d'ACI : aucune personne réelle, des noms inventés seulement dans les colonnes",
        "`Nom` / `Prénom` (que `cvg ingest` doit écarter). Proportions proches du rapport CVG 2023.",
        "",
        "## `aci/` — dernier fichier de chaque ACI",
        "",
        "| Fichier | Territoire | Programmes | Date d'arrêté | Parcours | Sorties | Particularités |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec, rows in facts["aci"]:
        sorties = sum(r["date_sortie"] is not None for r in rows)
        lines.append(
            f"| `{spec.key}.{spec.style.fmt}` | {schema.territoire(spec.territoire).name} | {' + '.join(spec.programmes)} "
            f"| {spec.date_arrete.strftime('%d/%m/%Y')} | {len(rows)} | {sorties} | {quirks(spec.style)} |"
        )
    all_rows = [r for _, rows in facts["aci"] for r in rows]
    exits = [r for r in all_rows if r["date_sortie"] is not None]
    by_cat = Counter(gen.motif_category[r["motif_sortie"]] for r in exits)
    non_neutral = sum(n for k, n in by_cat.items() if k != "sortie_neutre")
    dynamic = sum(n for k, n in by_cat.items() if cats[k].dynamic)
    cvg_cat = Counter(gen.motif_category[r["motif_sortie"]] for r in exits if r["programme"] == "cvg")
    cvg_non_neutral = sum(n for k, n in cvg_cat.items() if k != "sortie_neutre")
    cvg_dynamic = sum(n for k, n in cvg_cat.items() if cats[k].dynamic)
    lines += [
        "",
        f"Total : {len(facts['aci'])} ACI, {len({s.territoire for s, _ in facts['aci']})} territoires, "
        f"{len(all_rows)} parcours, {len(exits)} sorties ({len({r['motif_sortie'] for r in exits})} motifs distincts"
        f" sur {len(MOTIF)}) ; sorties dynamiques : {dynamic} sur {non_neutral} sorties hors neutres "
        f"({100 * dynamic / max(1, non_neutral):.0f} %, dont CVG : {cvg_dynamic} sur {cvg_non_neutral}, "
        f"{100 * cvg_dynamic / max(1, cvg_non_neutral):.0f} % ; rapport 2023 : 49 %).",
        "",
        "| Catégorie de sortie | Sorties |",
        "|---|---|",
        *(f"| {c.label} | {by_cat[c.key]} |" for c in schema.exit_categories),
        "",
        "## `historique/` — fichiers plus anciens des mêmes ACI",
        "",
        "| Fichier | Date d'arrêté | Parcours |",
        "|---|---|---|",
    ]
    for spec, rows in facts["historique"]:
        lines.append(f"| `{spec.key}-{spec.date_arrete.isoformat()}.xlsx` | {spec.date_arrete.strftime('%d/%m/%Y')} | {len(rows)} |")
    lines += [
        "",
        "## `erreurs/` — fichiers à rejeter, erreurs à des cellules connues",
        "",
        "| Fichier | Feuille | Cellule | Colonne | Valeur | Code attendu |",
        "|---|---|---|---|---|---|",
    ]
    for e in facts["erreurs"]:
        lines.append(f"| `{e.fichier}` | {e.feuille} | {e.cellule or '—'} | {e.colonne} | {e.valeur or '—'} | `{e.attendu}` |")
    return "\n".join(lines) + "\n"


def quirks(style: Style) -> str:
    out = []
    if style.fmt == "ods":
        out.append("format .ods")
    if style.title_rows:
        out.append(f"{len(style.title_rows)} ligne(s) de titre")
    if style.header_synonyms:
        out.append("intitulés synonymes")
    if style.shuffle:
        out.append("colonnes dans le désordre")
    out.append({"date": "dates Excel", "text": "dates en texte JJ/MM/AAAA", "serial": "dates en numéros de série",
                "serial_text": "numéros de série en texte", "iso": "dates AAAA-MM-JJ en texte",
                "mixed": "dates de tous formats"}[style.dates])
    out.append({"canonical": "Oui/Non", "short": "O/N", "mixed": "Oui/oui/O/X, Non/non/N", "vrai": "Vrai/Faux",
                "excel": "booléens Excel"}[style.bools])
    if style.cat_synonyms or style.preferred_synonyms:
        out.append("valeurs synonymes")
    if style.decimal_comma:
        out.append("virgule décimale")
    if style.birth_date:
        out.append("date de naissance complète")
    if style.names:
        out.append("colonnes Nom / Prénom (fictifs)")
    if style.drop:
        out.append(f"{len(style.drop)} colonnes facultatives absentes")
    if style.territoire_as != "name":
        out.append("territoire écrit en " + ("code" if style.territoire_as == "slug" else "synonyme"))
    if style.siret_spaced:
        out.append("SIRET avec espaces")
    if style.arrete_as_text:
        out.append("date d'arrêté en texte")
    if style.salaries_sheet or style.structure_sheet:
        out.append("noms de feuilles variantes")
    for kind in style.extra_sheets:
        out.append({"consignes": "feuille de consignes", "cache": "feuille masquée", "synthese": "feuille de synthèse"}[kind])
    if style.id_style == "pass":
        out.append("identifiants type PASS IAE")
    return ", ".join(out)


# --------------------------------------------------------------------------------------------------------
# Benchmark networks
# --------------------------------------------------------------------------------------------------------


def _bench_one(args: tuple[AciSpec, str, str]) -> int:
    spec, seed, target = args
    schema = load_schema()
    gen = Generator(schema)
    rows = snapshot(gen.parcours(spec, random.Random(f"{seed}/parcours/{spec.key}")), spec.date_arrete, gen)
    renderer = Renderer(schema, spec, random.Random(f"{seed}/rendu/{spec.key}"))
    write_workbook(Path(target) / f"{spec.key}.xlsx", renderer.workbook(rows), spec.nom)
    return len(rows)


def write_bench(n: int, target: Path, seed: str = SEED, jobs: int | None = None) -> int:
    """Write `n` clean workbooks into `target`; return the number of parcours."""
    target.mkdir(parents=True, exist_ok=True)
    tasks = [(spec, seed, str(target)) for spec in bench_network(n, seed)]
    jobs = jobs or min(len(tasks), os.cpu_count() or 1)
    if jobs <= 1 or len(tasks) < 8:
        return sum(map(_bench_one, tasks))
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return sum(pool.imap_unordered(_bench_one, tasks, chunksize=max(1, len(tasks) // (jobs * 8))))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Génère les classeurs d'exemple (réseau fictif) ou un réseau de N classeurs pour les mesures."
    )
    parser.add_argument("--aci", type=int, help="nombre de classeurs d'un réseau de mesure (sans : les exemples)")
    parser.add_argument("--sortie", type=Path, help="dossier de sortie (défaut : examples/ pour les exemples)")
    parser.add_argument("--graine", default=SEED, help="graine du générateur (défaut : %(default)s)")
    parser.add_argument("--jobs", type=int, default=None, help="processus en parallèle (défaut : nombre de cœurs)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.aci is None:
        target = args.sortie or EXAMPLES_DIR
        facts = write_examples(target, args.graine)
        n = sum(len(rows) for _, rows in facts["aci"])
        print(f"{len(facts['fichiers'])} fichiers écrits dans {target} ({len(facts['aci'])} ACI, {n} parcours) "
              f"en {time.perf_counter() - start:.1f} s.")
        return 0
    if args.aci < 1 or args.sortie is None:
        parser.error("--aci N (N ≥ 1) demande --sortie DOSSIER")
    n = write_bench(args.aci, args.sortie, args.graine, args.jobs)
    print(f"{args.aci} classeurs écrits dans {args.sortie} ({n} parcours) en {time.perf_counter() - start:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
