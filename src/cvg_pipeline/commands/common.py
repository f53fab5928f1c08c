"""Options defined once, and the wrapper that turns failures into French messages and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from cvg_pipeline.check.errors import CvgError
from cvg_pipeline.store.locking import DEFAULT_WAIT

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Indicators, Programme, Scope
    from cvg_pipeline.schema.load import Schema

T = TypeVar("T")

# debug: `cvg --debug`; said: a failure message has been printed (`fail`), so an exit code without one
# (typer's 130 for a Ctrl-C outside a command's body) is said by cli.main.
STATE = {"debug": False, "said": False}

StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Fichier de la base DuckDB (défaut : $CVG_STORE, sinon cvg.duckdb dans le dossier courant).",
        show_default=False,
    ),
]


# Scope options of the commands that read indicators (`cvg indicators`, `cvg report`); validated by
# indicators.scope_from_options / parse_annee / parse_programme / parse_au.
NationalOption = Annotated[bool, typer.Option("--national", help="Périmètre : national (tous les territoires).")]
TerritoireOption = Annotated[
    str | None,
    typer.Option("--territoire", metavar="NOM", help="Périmètre : un territoire, par son nom ou son code (ex. lyon)."),
]
AciOption = Annotated[str | None, typer.Option("--aci", metavar="SIRET", help="Périmètre : un ACI.")]
AnneeOption = Annotated[
    str | None, typer.Option("--annee", metavar="AAAA", help="Année civile des indicateurs (obligatoire).")
]
ProgrammeOption = Annotated[
    str | None, typer.Option("--programme", metavar="CVG|PHC|tous", help="Programme (défaut : tous).")
]
AuOption = Annotated[
    str | None,
    typer.Option(
        "--au",
        metavar="AAAA-MM-JJ",
        help="Lit pour chaque ACI son dernier fichier arrêté à cette date ou avant (défaut : le dernier).",
    ),
]


WaitOption = Annotated[
    float | None,
    typer.Option(
        "--attente",
        metavar="SECONDES",
        min=0,
        help=(
            "Si la base est utilisée par un autre traitement, l'attendre au plus SECONDES secondes "
            f"(défaut : {DEFAULT_WAIT:g} ; 0 : ne pas attendre)."
        ),
        show_default=False,
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a French message on stderr and exit with `code`."""
    from rich.console import Console

    if len(message) > 1 and message[0].isupper() and message[1].islower():
        message = message[0].lower() + message[1:]  # « Erreur : la base … », not « Erreur : La base … »
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]Erreur :[/] {message}", markup=True)
    STATE["said"] = True
    raise typer.Exit(code)


def guarded(fn: Callable[[], T]) -> T:
    """Run a command body: CvgError → its message and exit code; anything else → a short French message.

    Only `cvg --debug` shows a traceback.
    """
    try:
        return fn()
    except typer.Exit:
        raise
    except CvgError as exc:
        if STATE["debug"]:
            raise
        fail(_escape(exc.message), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrompu.", 130)
    except Exception as exc:
        from cvg_pipeline.files import interrupted

        if interrupted():  # DuckDB's « Query interrupted » and the like: the interrupt, not a fault
            fail("interrompu.", 130)
        if STATE["debug"]:
            raise
        from cvg_pipeline.store.checks import describe_store_error

        said = describe_store_error(exc)  # e.g. a damaged block met by a query: say so and what to do
        if said is not None:
            fail(_escape(said), 1)
        fail(
            f"erreur inattendue ({type(exc).__name__}). Relancez avec « cvg --debug … » pour le détail "
            "et signalez-la à l'équipe.",
            1,
        )


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def echo(text: str) -> None:
    """Plain stdout line (machine-readable output goes through here, never through rich)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class ScopeOptions:
    """The scope options of `cvg indicators` and `cvg report`, checked (UsageError, exit 2, in French)."""

    schema: Schema
    scope: Scope
    annee: int
    programme: Programme | None  # None: --programme not given
    au: date | None


def parse_scope_options(*, national: bool, territoire: str | None, aci: str | None, annee: str | None,
                        programme: str | None, au: str | None) -> ScopeOptions:
    from cvg_pipeline.indicators import compute as ind
    from cvg_pipeline.schema.load import load_schema

    schema = load_schema()
    return ScopeOptions(
        schema,
        ind.scope_from_options(schema, national=national, territoire=territoire, aci=aci),
        ind.parse_annee(annee),
        ind.parse_programme(schema, programme) if programme is not None else None,
        ind.parse_au(au),
    )


def indicators_from_options(
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
) -> tuple[Indicators, Schema]:
    """The scope options of `cvg indicators` and `cvg report`, checked (exit 2 in French), then the
    indicators computed on the store; their warnings go to stderr. `before_query` runs once the options
    are valid (e.g. to start a slow import while the store is queried); `wait`: `--attente`."""
    from cvg_pipeline.indicators import compute as ind
    from cvg_pipeline.store.checks import existing_store

    o = parse_scope_options(national=national, territoire=territoire, aci=aci, annee=annee, programme=programme,
                            au=au)
    if before_query is not None:
        before_query()
    result = ind.load_indicators(existing_store(store), scope=o.scope, annee=o.annee, programme=o.programme or "tous",
                                 au=o.au, schema=o.schema, wait=wait)
    schema = o.schema
    for warning in ind.indicator_warnings(result):
        sys.stderr.write(f"Attention : {warning}\n")
    return result, schema
