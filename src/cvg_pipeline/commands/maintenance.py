"""`cvg sauvegarder`: a consistent copy of the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvg_pipeline.commands.common import StoreOption, WaitOption, echo, guarded


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `cvg` application."""
    app.command("sauvegarder")(sauvegarder)


def sauvegarder(
    destination: Annotated[
        Path,
        typer.Argument(
            metavar="DESTINATION",
            help="Fichier à écrire (ou dossier où l'écrire) ; un fichier existant n'est jamais écrasé.",
            show_default=False,
        ),
    ],
    store: StoreOption = None,
    attente: WaitOption = None,
) -> None:
    """Écrit une copie cohérente de la base, ouvrable avec « --store » (à conserver en lieu sûr).

    La copie contient la clé de pseudonymisation : gardez-la aussi précieusement que la base.

    \b
    Exemples :
      cvg sauvegarder sauvegardes/
      cvg sauvegarder /media/cle-usb/cvg-2024-03.duckdb
    """

    def run() -> None:
        from cvg_pipeline.fr import pluriel
        from cvg_pipeline.store.backup import backup_store
        from cvg_pipeline.store.checks import existing_store

        result = backup_store(existing_store(store), destination)
        echo(
            f"Sauvegarde écrite : {result.path} ({pluriel(result.snapshots, 'fichier intégré', 'fichiers intégrés')}, "
            f"{result.parcours} parcours). Elle contient la clé de pseudonymisation : "
            "conservez-la en lieu sûr, comme la base."
        )

    guarded(run)
