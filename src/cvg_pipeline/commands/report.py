"""`cvg report`: the yearly report in Markdown and self-contained HTML, and as a typeset PDF on request."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cvg_pipeline.check.errors import CvgError
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
    parse_scope_options,
)

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Indicators
    from cvg_pipeline.schema.load import Schema


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
        loaded = report_indicators(
            store, national=national, territoire=territoire, aci=aci, annee=annee, programme=programme, au=au,
            before_query=lambda: preload(wanted),  # overlaps the matplotlib import with the indicators query
            wait=attente,
        )
        from cvg_pipeline.ingest.suivi import absent_columns
        from cvg_pipeline.store.db import resolve_store_path

        absent = absent_columns(resolve_store_path(store), loaded.main["snapshots"], loaded.schema, wait=attente)
        for path in render_report(
            loaded.main, loaded.schema, formats=wanted, out_dir=sortie, seuil=seuil_secret, colonnes_absentes=absent,
            ecraser=ecraser, phc=loaded.phc, national=loaded.national,
        ):
            echo(str(path))

    def print_audit() -> None:
        from cvg_pipeline.report.build import audit_json, audit_text, build_report

        loaded = report_indicators(
            store, national=national, territoire=territoire, aci=aci, annee=annee, programme=programme, au=au,
            wait=attente,
        )
        rapport = build_report(loaded.main, loaded.schema, seuil=seuil_secret, charts=False, phc=loaded.phc,
                               national=loaded.national)
        result = loaded.main
        echo(audit_json(result, rapport, seuil_secret) if json_output else audit_text(result, rapport, seuil_secret))

    guarded(run)


@dataclass
class ReportIndicators:
    """What a report is computed from: its programme's indicators, the PHC part's, the national ones."""

    schema: Schema
    main: Indicators
    phc: Indicators | None
    national: Indicators | None


def report_indicators(
    store: Path | None,
    *,
    national: bool,
    territoire: str | None,
    aci: str | None,
    annee: str | None,
    programme: str | None,
    au: str | None,
    before_query: Callable[[], None] | None = None,
    wait: float | None = None,
) -> ReportIndicators:
    """The indicators of a report (indicators.md §5.1), on one read-only connection. Without --programme: the
    CVG part (programme CVG) and the PHC part; --programme CVG, PHC or tous: that programme alone (tous: the
    pooled report). A territoire or ACI report also gets the national indicators of its programme, for the
    comparison annex. Warnings of the main indicators go to stderr."""
    from cvg_pipeline.indicators import compute as ind
    from cvg_pipeline.store.checks import existing_store
    from cvg_pipeline.store.db import open_store
    from cvg_pipeline.store.extract import check_scope

    o = parse_scope_options(national=national, territoire=territoire, aci=aci, annee=annee, programme=programme,
                            au=au)
    schema, scope, year, prog, day = o.schema, o.scope, o.annee, o.programme, o.au
    if before_query is not None:
        before_query()
    path = existing_store(store)
    main_prog = prog if prog is not None else "CVG"
    with open_store(path, read_only=True, wait=wait) as con:
        ind._check_not_empty(con, path)
        check_scope(con, scope.niveau, scope.territoire)  # an extract (cvg extraire) speaks for its territoire only

        def compute(sc: ind.Scope, pr: ind.Programme) -> Indicators:
            return ind.compute_indicators(con, schema, scope=sc, annee=year, programme=pr, au=day)

        main = compute(scope, main_prog)
        phc = compute(scope, "PHC") if prog is None else None
        nat = None
        if scope.niveau != "national":
            try:
                check_scope(con, "national", None)
            except CvgError:  # an extract has no national figures: no comparison annex
                pass
            else:
                nat = compute(ind.Scope.national(), main_prog)
    for warning in ind.indicator_warnings(main):
        sys.stderr.write(f"Attention : {warning}\n")
    return ReportIndicators(schema, main, phc, nat)


def parse_formats_option(raw: str) -> tuple[str, ...]:
    from cvg_pipeline.check.errors import UsageError
    from cvg_pipeline.report.build import parse_formats

    try:
        return parse_formats(raw)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
