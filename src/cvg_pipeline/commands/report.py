"""`cvg report`: the yearly report in Markdown and self-contained HTML, and as a typeset PDF on request."""

from __future__ import annotations

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
    indicators_from_options,
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
        str,
        typer.Option(
            "--format",
            metavar="md,html,pdf",
            help="Formats à écrire, séparés par des virgules : md, html, pdf (A4 mis en page, à imprimer).",
        ),
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
                "Secret statistique : effectifs de 1 à N−1 affichés « < N », ceux qui permettraient de les "
                "recalculer « s », parts sur moins de N personnes « n.s. » ; 0 le désactive."
            ),
        ),
    ] = 5,
    audit: Annotated[
        bool,
        typer.Option(
            "--audit",
            help=(
                "N'écrit aucun fichier : affiche chaque effectif masqué du rapport, son statut (A secret primaire, "
                "D secret secondaire) et l'intervalle qu'un lecteur peut en déduire de tout ce qui est publié."
            ),
        ),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Avec --audit : la sortie en JSON.")] = False,
    ecraser: Annotated[
        bool,
        typer.Option("--ecraser", help="Remplace les rapports déjà écrits (sinon ils sont laissés intacts, code 1)."),
    ] = False,
) -> None:
    """Écrit le rapport annuel (Markdown et HTML autonome, PDF sur demande) et affiche le chemin des fichiers écrits.

    Le secret statistique y est appliqué (« < 5 » et « s ») ; --audit montre ce qui est masqué et pourquoi.

    \b
    Exemples :
      cvg report --national --annee 2023
      cvg report --territoire lyon --annee 2023 --sortie comite/
      cvg report --national --annee 2023 --format pdf
      cvg report --national --annee 2023 --audit
    """

    def run() -> None:
        from cvg_pipeline.report.build import preload, render_report

        if json_output and not audit:
            from cvg_pipeline.check.errors import UsageError

            raise UsageError("--json ne s'utilise qu'avec --audit.")
        if audit:
            print_audit()
            return
        wanted = parse_formats_option(formats)
        result, schema = indicators_from_options(
            store, national=national, territoire=territoire, aci=aci, annee=annee, programme=programme, au=au,
            before_query=lambda: preload(wanted),  # overlaps the matplotlib import with the indicators query
        )
        from cvg_pipeline.ingest.suivi import absent_columns
        from cvg_pipeline.store.db import resolve_store_path

        absent = absent_columns(resolve_store_path(store), result["snapshots"], schema)
        for path in render_report(
            result, schema, formats=wanted, out_dir=sortie, seuil=seuil_secret, colonnes_absentes=absent,
            ecraser=ecraser,
        ):
            echo(str(path))

    def print_audit() -> None:
        from cvg_pipeline.report.build import audit_json, audit_text, build_report

        result, schema = indicators_from_options(
            store, national=national, territoire=territoire, aci=aci, annee=annee, programme=programme, au=au,
        )
        rapport = build_report(result, schema, seuil=seuil_secret, charts=False)
        echo(audit_json(result, rapport, seuil_secret) if json_output else audit_text(result, rapport, seuil_secret))

    guarded(run)


def parse_formats_option(raw: str) -> tuple[str, ...]:
    from cvg_pipeline.check.errors import UsageError
    from cvg_pipeline.report.build import parse_formats

    try:
        return parse_formats(raw)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
