"""The `cvg` command line: a thin layer that parses options and calls plain library functions.

Heavy libraries (polars, duckdb, pandera, openpyxl) are imported inside the commands, never here, so that
`cvg --help` starts instantly.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cvg_pipeline import __version__
from cvg_pipeline.commands import common
from cvg_pipeline.commands.french import FrenchTyper

app = FrenchTyper(
    name="cvg",
    help=(
        "Pipeline CVG / PHC : vérifie et intègre les fichiers de reporting mensuels des ACI, "
        "calcule les indicateurs et écrit les rapports annuels."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        common.echo(f"cvg-pipeline {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Affiche la trace Python complète en cas d'erreur (pour l'équipe).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Affiche la version et quitte."),
    ] = False,
) -> None:
    """Pipeline CVG / PHC."""
    common.STATE["debug"] = debug


def _register() -> None:
    # One module per group of commands; each adds its own commands (the order is the help's order).
    from cvg_pipeline.commands import indicators, ingest, maintenance, report, suivi, template

    for module in (ingest, suivi, indicators, report, template, maintenance):
        module.register(app)


_register()


def main() -> None:
    """Entry point: usage errors are printed in French (exit 2), like every other message of `cvg`."""
    import sys

    from cvg_pipeline.commands.french import ClickException, UsageError, translate_usage_error

    try:
        code = app(standalone_mode=False)
    except UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `cvg` alone: the help screen, not an error
            sys.stderr.write(exc.format_message() + "\n")
            sys.exit(exc.exit_code)
        hint = f"cvg {exc.ctx.command_path.partition(' ')[2]} --help".replace("  ", " ") if exc.ctx else "cvg --help"
        sys.stderr.write(f"Erreur : {translate_usage_error(exc.format_message())}\nAide : « {hint} ».\n")
        sys.exit(exc.exit_code)
    except ClickException as exc:
        sys.stderr.write(f"Erreur : {translate_usage_error(exc.format_message())}\n")
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("Interrompu.\n")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
