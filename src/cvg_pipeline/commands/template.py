"""`cvg template`: the blank reporting workbook."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cvg_pipeline.commands.common import echo, guarded


def register(app: typer.Typer) -> None:
    app.command("template")(template)


def template(
    sortie: Annotated[
        Path, typer.Option("--sortie", "-o", metavar="FICHIER", help="Classeur .xlsx à écrire (code 2 pour un autre format).")
    ] = Path("modele-reporting-cvg.xlsx"),
    ecraser: Annotated[
        bool, typer.Option("--ecraser", help="Remplace le fichier s'il existe déjà (sinon il est laissé intact, code 1).")
    ] = False,
) -> None:
    """Écrit le classeur de reporting vierge (feuilles Structure, Salariés et Mode d'emploi).

    Un fichier existant n'est jamais remplacé sans --ecraser. Le classeur est écrit d'abord sous un nom
    temporaire du même dossier, puis renommé : une erreur ou une interruption ne laisse ni fichier tronqué
    ni fichier temporaire.

    \b
    Exemples :
      cvg template
      cvg template --sortie envois/modele-2024.xlsx
      cvg template --sortie envois/modele-2024.xlsx --ecraser
    """

    def run() -> None:
        from cvg_pipeline.workbooks.template import write_template

        path = write_template(sortie, overwrite=ecraser)
        echo(str(path))

    guarded(run)
