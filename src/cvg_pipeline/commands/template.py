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
        Path, typer.Option("--sortie", "-o", metavar="FICHIER", help="Classeur .xlsx à écrire.")
    ] = Path("modele-reporting-cvg.xlsx"),
) -> None:
    """Écrit le classeur de reporting vierge (feuilles Structure, Salariés et Mode d'emploi)."""

    def run() -> None:
        from cvg_pipeline.template import write_template

        path = write_template(sortie)
        echo(str(path))

    guarded(run)
