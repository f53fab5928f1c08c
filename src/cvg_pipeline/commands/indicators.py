"""`cvg indicators`: every indicator of the yearly report as one JSON object on stdout."""

from __future__ import annotations

import sys

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
    app.command("indicators")(indicators)


def indicators(
    store: StoreOption = None,
    attente: WaitOption = None,
    national: NationalOption = False,
    territoire: TerritoireOption = None,
    aci: AciOption = None,
    annee: AnneeOption = None,
    programme: ProgrammeOption = None,
    au: AuOption = None,
) -> None:
    """Calcule les indicateurs annuels et les écrit en JSON sur la sortie standard."""

    def run() -> None:
        from cvg_pipeline import indicators as ind
        from cvg_pipeline.schema import load_schema
        from cvg_pipeline.store import resolve_store_path

        schema = load_schema()
        scope = ind.scope_from_options(schema, national=national, territoire=territoire, aci=aci)
        year = ind.parse_annee(annee)
        prog = ind.parse_programme(schema, programme)
        day = ind.parse_au(au)
        result = ind.load_indicators(
            resolve_store_path(store), scope=scope, annee=year, programme=prog, au=day, schema=schema
        )
        for warning in ind.indicator_warnings(result):
            sys.stderr.write(f"Attention : {warning}\n")
        echo(ind.to_json(result))

    guarded(run)
