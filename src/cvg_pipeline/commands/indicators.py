"""`cvg indicators`: every indicator of the yearly report as one JSON object on stdout."""

from __future__ import annotations

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
    indicators_from_options,
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
    """Calcule les indicateurs annuels et les écrit en JSON sur la sortie standard.

    Les chiffres ne sont pas masqués (données de travail de l'analyste) : ne pas les diffuser tels quels ;
    le rapport (« cvg report ») applique le secret statistique.

    \b
    Exemples :
      cvg indicators --national --annee 2023 > indicateurs-2023.json
      cvg indicators --territoire lyon --annee 2023 --programme CVG
      cvg indicators --aci 12345678901237 --annee 2023 --au 2023-12-31
    """

    def run() -> None:
        from cvg_pipeline.indicators.compute import to_json

        result, _schema = indicators_from_options(
            store, national=national, territoire=territoire, aci=aci, annee=annee, programme=programme, au=au
        )
        echo(to_json(result))

    guarded(run)
