"""datapackage.json (Frictionless Data Package v2) and the French descriptions of the columns and statuses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cvg_pipeline.report.export.table import PROGRAMMES
from cvg_pipeline.report.secret.model import FREE, PRIMARY, SECONDARY

if TYPE_CHECKING:
    from cvg_pipeline.report.export.cube import Export

STATUTS = {
    FREE: "F : valeur diffusable (libre).",
    PRIMARY: "A : secret primaire — effectif de 1 à seuil − 1, ou taux calculé sur moins de « seuil » personnes "
             "ou dont l'effectif ou la base est ainsi masqué : la valeur n'est pas diffusée.",
    SECONDARY: "D : secret secondaire — valeur masquée parce qu'avec les totaux publiés elle permettrait de "
               "retrouver un effectif sous le seuil : la valeur n'est pas diffusée.",
}


def field_descriptions(seuil: int, masque: bool) -> list[dict[str, Any]]:
    valeur = ("Valeur : un effectif (nombre de salarié·es), pour un taux son numérateur (la part vaut "
              "valeur / base), pour une moyenne ou une médiane sa valeur (mois, heures). ")
    valeur += ("Vide quand elle est masquée (statut A ou D) ou non calculable (moyenne sans aucune valeur, statut F)."
               if masque else "Jamais masquée dans ce fichier NON MASQUÉ (le statut dit ce que la version diffusée masque).")
    return [
        {"name": "perimetre", "type": "string", "description": "Périmètre : « national » (tous les territoires) ou « territoire ».",
         "constraints": {"required": True, "enum": ["national", "territoire"]}},
        {"name": "territoire", "type": "string", "description": "Code du territoire (vide pour le périmètre national)."},
        {"name": "annee", "type": "integer", "description": "Année civile des indicateurs.",
         "constraints": {"required": True}},
        {"name": "programme", "type": "string", "description": "Programme : CVG, PHC ou « tous » (les deux réunis).",
         "constraints": {"required": True, "enum": list(PROGRAMMES)}},
        {"name": "indicateur", "type": "string",
         "description": "Chemin de l'indicateur dans le JSON de « cvg indicators » (ex. sorties.taux_sorties_dynamiques) ; "
                        "définitions : spécification des indicateurs du programme.",
         "constraints": {"required": True}},
        {"name": "modalite", "type": "string",
         "description": "Modalité d'une répartition ou d'une réponse oui / non (code, ex. femme, oui, non_renseigne) ; "
                        "vide pour un effectif, un taux ou une moyenne."},
        {"name": "valeur", "type": "number", "description": valeur},
        {"name": "base", "type": "integer",
         "description": "Pour un taux : son dénominateur (effectif de la population de référence) ; vide sinon, "
                        "ou quand la base elle-même est masquée."},
        {"name": "statut", "type": "string",
         "description": f"Statut de confidentialité (codes SDMX, secret statistique au seuil {seuil}) : "
                        + " ".join(STATUTS.values()),
         "constraints": {"required": True, "enum": list(STATUTS)}},
    ]


def datapackage(export: Export, names: Mapping[str, str]) -> dict[str, Any]:
    masque = export.masque
    title = "Indicateurs annuels des programmes CVG et PHC (ACI)" + ("" if masque else " — NON MASQUÉS, ne pas diffuser")
    description = (
        "Indicateurs du rapport annuel des ateliers et chantiers d'insertion (programmes CVG et PHC), pour le "
        "périmètre national et chaque territoire, chaque programme et chaque année couverte par les fichiers "
        "de reporting : une ligne par (périmètre, territoire, année, programme, indicateur, modalité). "
    )
    description += (
        f"Le secret statistique des rapports publiés y est appliqué (seuil {export.seuil}) : les valeurs masquées "
        "sont vides, avec leur statut (A secret primaire, D secret secondaire)."
        if masque and export.seuil > 0 else
        "FICHIER NON MASQUÉ : toutes les valeurs y figurent, y compris celles que le secret statistique masque "
        "dans les publications (leur statut le dit). Données de travail de l'analyste : à ne pas diffuser."
        if not masque else "Secret statistique désactivé (seuil 0) : à ne pas diffuser."
    )
    schema = {
        "fields": field_descriptions(export.seuil, masque),
        "missingValues": [""],
    }
    resources: list[dict[str, Any]] = []
    if "csv" in names:
        resources.append({
            "name": "indicateurs" + ("" if masque else "-non-masque"), "type": "table", "path": names["csv"],
            "scheme": "file", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "dialect": {"delimiter": ",", "quoteChar": "\"", "header": True},
            "title": "Indicateurs (CSV)", "schema": schema,
        })
    if "parquet" in names:
        resources.append({
            # the same table; described as a file (frictionless reads Parquet through pandas, whose missing
            # integers become NaN and fail the integer type): its columns are the CSV's
            "name": "indicateurs-parquet" + ("" if masque else "-non-masque"), "type": "file", "path": names["parquet"],
            "scheme": "file", "format": "parquet", "mediatype": "application/vnd.apache.parquet",
            "title": "Indicateurs (Parquet)",
            "description": "La même table que le CSV, au format Parquet (mêmes colonnes ; valeur en nombre décimal).",
        })
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": "cvg-indicateurs" + ("" if masque else "-non-masques"),
        "title": title,
        "description": description,
        "version": "1.0.0",
        "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "licenses": [{"name": "etalab-2.0", "title": "Licence Ouverte / Open Licence version 2.0",
                      "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"}],
        "sources": [{"title": "Fichiers de reporting mensuels des ACI (programmes CVG et PHC), intégrés par cvg-pipeline"
                              + (f", arrêtés au plus tard le {export.donnees_au}" if export.donnees_au else "")}],
        "keywords": ["insertion", "ACI", "CVG", "PHC", "indicateurs"],
        "cvg:statuts": STATUTS,
        "cvg:secret": {"seuil": export.seuil, "masque": masque},
        "cvg:annees": export.annees,
        "resources": resources,
    }
