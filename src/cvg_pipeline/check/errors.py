"""Every error and warning the pipeline reports: stable codes, French message templates, locations.

Other tools read our JSON reports, so a code never changes once published. A message is built from its
template and the issue's fields when the issue is created, so text and fields never drift apart.

Privacy: an issue never carries the value of a direct-identifier column (dropped at read time) nor a raw
`id_salarie` (its `valeur` is left empty for that column).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["erreur", "avertissement"]
Scope = Literal["fichier", "structure", "cellule", "ligne"]

# Every code of the catalogue, for mypy: `issue("date-invalid", …)` is a type error. A test checks that these
# are exactly the catalogue's keys (tests/test_error_codes.py).
Code = Literal[
    "fichier-illisible",
    "format-non-pris-en-charge",
    "dossier-illisible",
    "fichier-vide",
    "fichier-protege",
    "fichier-trop-gros",
    "contenu-dangereux",
    "classeur-vide",
    "classeur-erreurs",
    "feuille-manquante",
    "feuille-en-double",
    "entete-introuvable",
    "colonne-manquante",
    "colonne-en-double",
    "champ-manquant",
    "champ-en-double",
    "aucune-ligne",
    "arrete-en-double",
    "lignes-sous-le-tableau",
    "valeur-obligatoire",
    "date-invalide",
    "date-format-us",
    "date-trop-ancienne",
    "date-future",
    "date-apres-arrete",
    "date-naissance-invalide",
    "nombre-invalide",
    "entier-invalide",
    "hors-bornes",
    "age-hors-bornes",
    "oui-non-invalide",
    "valeur-inconnue",
    "siret-invalide",
    "territoire-inconnu",
    "erreur-excel",
    "identifiant-manquant",
    "sortie-avant-entree",
    "sortie-incomplete",
    "bloc-sortie-sans-date",
    "condition-non-remplie",
    "doublon-parcours",
    "parcours-chevauchants",
    "identifiant-direct-supprime",
    "colonne-inconnue",
    "date-naissance-reduite",
    "fichier-non-cumulatif",
    "cumul-non-verifie",
    "fichier-ignore",
]

# code -> (severity, scope, French template). Templates use str.format fields given to `issue()`.
# The location prefix (« Salariés, ligne 14, colonne « Date de sortie » : ») is added by `issue()`.
CATALOGUE: dict[Code, tuple[Severity, Scope, str]] = {
    # -- the file as a whole ----------------------------------------------------------------------------
    "fichier-illisible": ("erreur", "fichier", "le fichier ne peut pas être lu comme un classeur Excel ou OpenDocument ({detail})."),
    "format-non-pris-en-charge": ("erreur", "fichier", "le fichier est {format}, un format que cvg ne lit pas (il lit les classeurs .xlsx, .xlsm, .xls et .ods) : {conseil}."),
    "dossier-illisible": ("erreur", "fichier", "le dossier ne peut pas être lu ({detail}) : les fichiers qu'il contient n'ont pas été vérifiés. Donnez-vous le droit de le lire, ou copiez son contenu dans un dossier lisible, puis relancez la commande."),
    "fichier-vide": ("erreur", "fichier", "le fichier est vide (0 octet)."),
    "fichier-protege": ("erreur", "fichier", "le classeur est protégé par un mot de passe : enregistrez-le sans mot de passe puis renvoyez-le."),
    "fichier-trop-gros": ("erreur", "fichier", "le classeur dépasse la limite de {limite} : {detail}."),
    "contenu-dangereux": ("erreur", "fichier", "le classeur contient {detail}, que l'on ne trouve pas dans un classeur ordinaire : il n'est pas lu, par sécurité. Enregistrez-le de nouveau depuis Excel ou LibreOffice puis renvoyez-le."),
    "classeur-vide": ("erreur", "fichier", "le classeur ne contient aucune donnée."),
    "classeur-erreurs": ("erreur", "fichier", "ceci est le classeur d'erreurs : corrigez votre fichier d'origine et renvoyez-le."),
    "feuille-manquante": ("erreur", "structure", "la feuille « {feuille_attendue} » est introuvable (feuilles présentes : {feuilles})."),
    "feuille-en-double": ("erreur", "structure", "deux feuilles correspondent à « {feuille_attendue} » : {feuilles}."),
    "entete-introuvable": ("erreur", "structure", "aucune ligne d'en-tête trouvée dans les {lignes} premières lignes (il faut au moins {minimum} intitulés de colonnes reconnus, par exemple {exemples})."),
    "colonne-manquante": ("erreur", "structure", "la colonne obligatoire « {libelle} » est absente de la ligne d'en-tête (ligne {ligne_entete})."),
    "colonne-en-double": ("erreur", "structure", "les colonnes {colonnes} désignent toutes la même donnée « {libelle} » : gardez-en une seule."),
    "champ-manquant": ("erreur", "structure", "le champ obligatoire « {libelle} » est absent ou vide dans la feuille Structure."),
    "champ-en-double": ("erreur", "structure", "le champ « {libelle} » apparaît plusieurs fois dans la feuille Structure."),
    "aucune-ligne": ("avertissement", "structure", "la feuille ne contient aucun parcours."),
    "arrete-en-double": ("erreur", "fichier", "même SIRET ({siret}) et même date d'arrêté ({date_arrete}) que {autres}, avec un contenu différent : aucun de ces fichiers n'est intégré, cvg ne choisit pas à votre place. Gardez la bonne version (en principe la correction envoyée par l'ACI), retirez l'autre du dossier, puis relancez."),
    "lignes-sous-le-tableau": ("erreur", "structure", "cette ligne et les suivantes, séparées du tableau par une ligne vide, ne sont pas des parcours (leur « Date d'entrée » n'est pas une date) : un second tableau, des notes ? Elles ne sont ni lues ni recopiées. Déplacez-les dans une autre feuille, ou supprimez la ligne vide si ce sont des parcours."),
    # -- one cell ----------------------------------------------------------------------------------------
    "valeur-obligatoire": ("erreur", "cellule", "la cellule est vide alors que « {libelle} » est obligatoire."),
    "date-invalide": ("erreur", "cellule", "« {valeur} » n'est pas une date valide (attendu JJ/MM/AAAA)."),
    "date-format-us": ("erreur", "cellule", "« {valeur} » ressemble à une date au format américain (MM/JJ/AAAA), qui n'est pas accepté : écrivez-la JJ/MM/AAAA."),
    "date-trop-ancienne": ("erreur", "cellule", "« {valeur} » est antérieure au {minimum} : vérifiez l'année."),
    "date-future": ("erreur", "cellule", "« {valeur} » est dans le futur (nous sommes le {aujourdhui})."),
    "date-apres-arrete": ("erreur", "cellule", "« {valeur} » est postérieure à la date d'arrêté du fichier ({date_arrete})."),
    "date-naissance-invalide": ("erreur", "cellule", "la date de naissance n'est pas une date valide (attendu JJ/MM/AAAA ou l'année seule) ; par confidentialité, elle n'est pas recopiée ici."),
    "nombre-invalide": ("erreur", "cellule", "« {valeur} » n'est pas un nombre (exemple attendu : 20,5)."),
    "entier-invalide": ("erreur", "cellule", "« {valeur} » n'est pas une année valide (attendu un nombre entier, par exemple 1985)."),
    "hors-bornes": ("erreur", "cellule", "« {valeur} » est hors des bornes autorisées (entre {minimum} et {maximum})."),
    "age-hors-bornes": ("erreur", "cellule", "« {valeur} » donne un âge de {age} ans à l'entrée : l'âge doit être entre {age_min} et {age_max} ans."),
    "oui-non-invalide": ("erreur", "cellule", "« {valeur} » n'est pas une réponse Oui/Non (attendu : Oui, Non ou vide)."),
    "valeur-inconnue": ("erreur", "cellule", "« {valeur} » n'est pas une valeur acceptée{suggestion}. Valeurs acceptées : {valeurs}."),
    "siret-invalide": ("erreur", "cellule", "« {valeur} » n'est pas un SIRET valide ({detail})."),
    "territoire-inconnu": ("erreur", "cellule", "« {valeur} » n'est pas un territoire connu{suggestion}. Territoires : {valeurs}."),
    "erreur-excel": ("erreur", "cellule", "la cellule affiche l'erreur Excel « {valeur} » (formule en échec) : remplacez-la par la valeur attendue."),
    # -- rules across cells of one row, or across rows ---------------------------------------------------
    "identifiant-manquant": ("erreur", "ligne", "la ligne contient des données mais pas d'identifiant salarié."),
    "sortie-avant-entree": ("erreur", "ligne", "la date de sortie ({date_sortie}) est antérieure à la date d'entrée ({date_entree})."),
    "sortie-incomplete": ("erreur", "ligne", "la date de sortie est renseignée mais « {libelle} » est vide : elle est obligatoire pour un parcours terminé."),
    "bloc-sortie-sans-date": ("erreur", "ligne", "« {libelle} » est renseigné alors que la date de sortie est vide : remplissez la date de sortie ou videz cette cellule."),
    "condition-non-remplie": ("erreur", "ligne", "« {libelle} » ne peut être renseigné que si « {condition} » vaut Oui."),
    "doublon-parcours": ("erreur", "ligne", "même identifiant salarié et même date d'entrée qu'à la ligne {autre_ligne} : un parcours ne doit figurer qu'une fois."),
    "parcours-chevauchants": ("erreur", "ligne", "ce parcours chevauche celui de la ligne {autre_ligne} pour le même identifiant salarié : un nouveau parcours doit commencer le jour de la sortie du précédent ou après."),
    # -- warnings ----------------------------------------------------------------------------------------
    "identifiant-direct-supprime": ("avertissement", "structure", "la colonne « {colonne} » contient des données personnelles directes : elle a été ignorée et n'est pas conservée."),
    "colonne-inconnue": ("avertissement", "structure", "la colonne « {colonne} » n'est pas reconnue : elle est ignorée."),
    "date-naissance-reduite": ("avertissement", "structure", "la colonne « {colonne} » (date de naissance complète) a été réduite à l'année ; la date complète n'est pas conservée."),
    "fichier-non-cumulatif": ("avertissement", "fichier", "le fichier n'est pas cumulatif : des parcours terminés avant le {date_arrete_precedente} (date d'arrêté du fichier précédent) n'y figurent plus (parcours manquants : {nombre}). Le fichier doit lister tous les parcours, y compris ceux qui sont terminés."),
    "cumul-non-verifie": ("avertissement", "fichier", "le contrôle « fichier cumulatif » n'a pas pu être fait : le fichier précédent de cette structure (date d'arrêté {date_arrete_precedente}) a été intégré par une version de cvg qui ne normalisait pas encore les identifiants salariés, et ses pseudonymes ne sont pas comparables à ceux de ce fichier. Le contrôle reprendra avec le fichier suivant."),
    "fichier-ignore": ("avertissement", "fichier", "fichier ignoré ({detail})."),
}


@dataclass(frozen=True)
class Issue:
    """One error or warning, located as precisely as the file allows."""

    code: Code
    severity: Severity
    message: str  # full French sentence, location included
    fichier: str  # file name as received
    feuille: str | None = None  # sheet name as written in the file
    ligne: int | None = None  # Excel row number (1-based), None for sheet- or file-level issues
    colonne: str | None = None  # header as written in the file
    lettre: str | None = None  # Excel column letter (A, B, …, AA)
    valeur: str | None = None  # value as written (never for identifier columns nor id_salarie)

    @property
    def is_error(self) -> bool:
        return self.severity == "erreur"

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON form (README « Le résultat JSON »): French keys, `gravite` for the severity."""
        data = asdict(self)
        return {"code": data.pop("code"), "gravite": data.pop("severity"), **data}


def location_prefix(feuille: str | None, ligne: int | None, colonne: str | None) -> str:
    parts: list[str] = []
    if feuille:
        parts.append(feuille)
    if ligne is not None:
        parts.append(f"ligne {ligne}")
    if colonne:
        parts.append(f"colonne « {colonne} »")
    return ", ".join(parts)


def issue(
    code: Code,
    fichier: str,
    *,
    feuille: str | None = None,
    ligne: int | None = None,
    colonne: str | None = None,
    lettre: str | None = None,
    valeur: str | None = None,
    **fields: Any,
) -> Issue:
    """Build an issue from its code: the message comes from the catalogue's template."""
    severity, _scope, template = CATALOGUE[code]
    body = template.format(valeur=valeur, colonne=colonne, feuille=feuille, ligne=ligne, **fields)
    prefix = location_prefix(feuille, ligne, colonne)
    message = f"{prefix} : {body}" if prefix else body[:1].upper() + body[1:]
    return Issue(code, severity, message, fichier, feuille, ligne, colonne, lettre, valeur)


def scope_of(code: Code) -> Scope:
    return CATALOGUE[code][1]


class CvgError(Exception):
    """A user-facing failure with a French message (exit code 1 unless stated)."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(CvgError):
    """Bad options on the command line (exit code 2)."""

    exit_code = 2


class StoreBusyError(CvgError):
    """Another process holds the store."""
