"""The JSON of `cvg indicators` as types: TypedDicts whose keys are the JSON keys of indicators.md §4 (v2),
in the catalogue's order (`tests/test_catalogue.py` checks they agree with `indicators.catalogue`)."""

from __future__ import annotations

from typing import Literal, TypedDict

Programme = Literal["CVG", "PHC", "tous"]
Niveau = Literal["national", "territoire", "aci"]


class Rate(TypedDict):
    n: int
    base: int


class YesNo(TypedDict):
    oui: int
    non: int
    non_renseigne: int


Distribution = dict[str, int]  # every canonical value's slug (0 included) + "non_renseigne"


class Perimetre(TypedDict):
    niveau: Niveau
    territoire: str | None
    siret: str | None
    programme: Programme


class SnapshotInfo(TypedDict):
    siret: str
    nom: str
    territoire: str
    date_arrete: str


class Effectifs(TypedDict):
    accompagnes: int
    entrees: int
    sorties: int
    file_active_debut: int
    file_active_fin: int
    nb_aci: int
    nb_aci_par_support: Distribution  # an ACI counts once per support; non_renseigne = ACI declaring none


class Profil(TypedDict):
    sexe: Distribution
    age_entree: Distribution
    nationalite: Distribution
    refugie: YesNo
    ts_exterieur: YesNo
    formation_etranger: YesNo
    rsa: YesNo
    rqth: YesNo
    orienteur: Distribution
    niveau_formation: Distribution
    duree_sans_emploi: Distribution
    parcours_rue: Distribution
    logement_entree: Distribution
    difficultes_entree: dict[str, YesNo]
    nb_difficultes: Distribution  # "0" … "9", no non_renseigne
    cumul_3_a_7_difficultes: Rate


class Accompagnement(TypedDict):
    acc_concerte: YesNo
    acc_proximite: YesNo
    cp_emploi: Rate
    cp_sante: Rate
    cp_logement: Rate


class DureeParcours(TypedDict):
    moyenne_mois: float | None
    mediane_mois: float | None
    plus_24_mois: Rate
    tranches: dict[str, int]  # 0_6, 6_12, 12_24, 24_36, 36_plus (v2)


class Sorties(TypedDict):
    par_categorie: dict[str, int]
    par_motif: Distribution
    taux_sorties_dynamiques: Rate
    taux_emploi_durable: Rate
    part_neutres: Rate  # v2
    emploi_via_cp: int
    duree_parcours: DureeParcours


class Logement(TypedDict):
    matrice: dict[str, dict[str, int]]
    sortie: Distribution  # v2
    ameliore: Rate
    degrade: Rate
    acces_logement_perenne: Rate
    via_cp: Rate


class Sante(TypedDict):
    ouverture_droits: Rate
    bilan_sante: Rate
    medecin_traitant: Rate
    couverture_sante: Rate
    rqth_obtenue: Rate
    aah_obtenue: Rate


class ResolutionDifficulte(TypedDict):
    resolue: int
    en_cours: int
    non_resolue: int
    non_renseigne: int
    resolue_ou_en_cours: Rate


class PostSortieBloc(TypedDict):
    sortis: int
    contactes: Rate  # v2: base = contact answered (Oui or Non)
    non_renseigne: int  # v2
    stabilises: Rate


class PostSortie(TypedDict):
    emploi_durable: PostSortieBloc
    logement_perenne: PostSortieBloc


class Phc(TypedDict):
    accompagnes: int
    entrees: int
    sorties: int
    heures_entree_moyenne: float | None
    heures_sortie_moyenne: float | None
    poursuite_cddi: Rate
    duree_moyenne_mois: float | None  # v2
    nb_aci: int  # v2


class EffectifsEtTaux(TypedDict):
    effectifs: Effectifs
    taux_sorties_dynamiques: Rate


class TerritoireChiffres(EffectifsEtTaux):  # par_territoire.<slug> (v2)
    duree_moyenne_mois: float | None
    plus_24_mois: Rate
    logement_ameliore: Rate
    acces_logement_perenne: Rate
    ouverture_droits: Rate
    acc_concerte: YesNo
    acc_proximite: YesNo


class AnneeChiffres(EffectifsEtTaux):  # evolution.<annee> (v2)
    orienteur: Distribution
    logement_entree: Distribution
    acc_concerte: YesNo
    acc_proximite: YesNo
    cp_emploi: Rate
    cp_sante: Rate
    cp_logement: Rate
    sorties_par_categorie: dict[str, int]
    logement_ameliore: Rate
    duree_moyenne_mois: float | None


class Indicators(TypedDict):
    perimetre: Perimetre
    annee: int
    donnees_au: str | None
    snapshots: list[SnapshotInfo]
    effectifs: Effectifs
    profil: Profil
    accompagnement: Accompagnement
    sorties: Sorties
    logement: Logement
    sante: Sante
    resolution: dict[str, ResolutionDifficulte]
    post_sortie: PostSortie
    phc: Phc
    par_territoire: dict[str, TerritoireChiffres] | None  # national only
    evolution: dict[str, AnneeChiffres]  # "Y-2", "Y-1", "Y"
