"""`cvg report`: the yearly report in Markdown and self-contained HTML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cvg_pipeline.commands.common import (
    AciOption,
    AnneeOption,
    AuOption,
    NationalOption,
    ProgrammeOption,
    StoreOption,
    TerritoireOption,
    WaitOption,
    echo,
    guarded,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `cvg` application."""
    app.command("report")(report)


def report(
    store: StoreOption = None,
    attente: WaitOption = None,
    national: NationalOption = False,
    territoire: TerritoireOption = None,
    aci: AciOption = None,
    annee: AnneeOption = None,
    programme: ProgrammeOption = None,
    au: AuOption = None,
    formats: Annotated[
        str, typer.Option("--format", metavar="md,html", help="Formats à écrire, séparés par des virgules.")
    ] = "md,html",
    sortie: Annotated[
        Path, typer.Option("--sortie", metavar="DOSSIER", help="Dossier où écrire les rapports.")
    ] = Path("rapports"),
    seuil_secret: Annotated[
        int,
        typer.Option(
            "--seuil-secret",
            metavar="N",
            min=0,
            help=(
                "Secret statistique : effectifs de 1 à N−1 affichés « < N », parts sur moins de N personnes "
                "« n.s. » ; 0 le désactive."
            ),
        ),
    ] = 5,
) -> None:
    """Écrit le rapport annuel (Markdown et HTML autonome) et affiche le chemin des fichiers écrits."""

    def run() -> None:
        from cvg_pipeline import indicators as ind
        from cvg_pipeline.report import preload, write_report
        from cvg_pipeline.schema import load_schema
        from cvg_pipeline.store import resolve_store_path

        schema = load_schema()
        scope = ind.scope_from_options(schema, national=national, territoire=territoire, aci=aci)
        year = ind.parse_annee(annee)
        prog = ind.parse_programme(schema, programme)
        day = ind.parse_au(au)
        wanted = parse_formats_option(formats)
        preload(wanted)  # overlaps the matplotlib import with the indicators query
        result = ind.load_indicators(
            resolve_store_path(store), scope=scope, annee=year, programme=prog, au=day, schema=schema
        )
        for warning in ind.indicator_warnings(result):
            sys.stderr.write(f"Attention : {warning}\n")
        for path in write_report(result, schema, formats=wanted, out_dir=sortie, seuil=seuil_secret):
            echo(str(path))

    guarded(run)


def parse_formats_option(raw: str) -> tuple[str, ...]:
    from cvg_pipeline.errors import UsageError
    from cvg_pipeline.report import parse_formats

    try:
        return parse_formats(raw)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
