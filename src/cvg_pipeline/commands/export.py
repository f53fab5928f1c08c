"""`cvg extraire` (a territoire's store without the key)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvg_pipeline.commands.common import StoreOption, WaitOption, echo, guarded


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `cvg` application."""
    app.command("extraire")(extraire)


def extraire(
    destination: Annotated[
        Path,
        typer.Argument(
            metavar="DESTINATION",
            help="Fichier de base à écrire (un fichier existant n'est jamais écrasé).",
            show_default=False,
        ),
    ],
    territoire: Annotated[
        str,
        typer.Option("--territoire", metavar="NOM", help="Le territoire à extraire, par son nom ou son code (ex. lyon).",
                     show_default=False),
    ],
    store: StoreOption = None,
    attente: WaitOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Décrit l'extrait écrit en JSON sur la sortie standard.")] = False,
) -> None:
    """Écrit une base ne contenant que les ACI, fichiers et parcours d'un territoire, sans la clé de
    pseudonymisation : pour le ou la coordinateur·rice du territoire (cvg report, cvg indicators, cvg suivi,
    cvg historique avec « --store DESTINATION »).

    L'extrait ne peut pas intégrer de fichiers (sans la clé, les pseudonymes ne peuvent pas être calculés) :
    les fichiers s'intègrent dans la base nationale, puis on refait l'extrait. Il contient les parcours
    pseudonymisés du territoire : à ne remettre qu'à ses coordinateur·rices.

    \b
    Exemples :
      cvg extraire --territoire lyon extrait-lyon.duckdb
      cvg report --store extrait-lyon.duckdb --territoire lyon --annee 2023
    """

    def run() -> None:
        import json

        from cvg_pipeline.extract import extract_territoire
        from cvg_pipeline.fr import pluriel
        from cvg_pipeline.store_checks import existing_store

        result = extract_territoire(existing_store(store), territoire, destination)
        if json_output:
            echo(json.dumps({"fichier": str(result.path), "territoire": result.territoire, "aci": result.aci,
                             "fichiers_integres": result.snapshots, "parcours": result.parcours,
                             "cle_de_pseudonymisation": False}, ensure_ascii=False, indent=2))
            return
        echo(
            f"Extrait écrit : {result.path} (territoire {result.territoire} : {pluriel(result.aci, 'ACI', 'ACI')}, "
            f"{pluriel(result.snapshots, 'fichier intégré', 'fichiers intégrés')}, {result.parcours} parcours). "
            "Il ne contient pas la clé de pseudonymisation et ne peut pas intégrer de fichiers. Il contient les "
            "parcours pseudonymisés du territoire : ne le remettez qu'à ses coordinateur·rices."
        )

    guarded(run)
