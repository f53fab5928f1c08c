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
    epilog=(
        "\b\nPour commencer, dans l'ordre habituel :\n"
        "  cvg init                                  crée la base (une seule fois)\n"
        "  cvg ingest recus/2024-03/                 intègre les fichiers du mois\n"
        "  cvg suivi                                 qui est à jour, en retard, à corriger\n"
        "  cvg report --national --annee 2023        écrit le rapport annuel\n"
        "Aide d'une commande : cvg COMMANDE --help. Les commandes ont aussi un nom français\n"
        "(cvg intégrer, cvg rapport…). Codes de sortie : 0 réussi, 1 erreur ou fichier refusé,\n"
        "2 commande mal écrite, 130 interrompu (Ctrl-C, SIGTERM)."
    ),
    no_args_is_help=True,
    add_completion=True,
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
    from cvg_pipeline.commands import export, indicators, ingest, init, maintenance, report, suivi, template

    for module in (init, ingest, suivi, indicators, report, export, template, maintenance):
        module.register(app)


_register()


def main() -> None:
    """Entry point: usage errors are printed in French (exit 2), like every other message of `cvg`.

    Every command runs under umask 077 (each file it creates is its owner's only: store, DuckDB's .wal,
    index, lock, backups, reports, error workbooks, temporary files) and ends on SIGTERM as on Ctrl-C
    (cleanly: temporary files removed), files.py."""
    import os
    import sys

    from cvg_pipeline.commands import streams
    from cvg_pipeline.commands.french import ClickException, UsageError, translate_usage_error
    from cvg_pipeline.files import PRIVATE_UMASK, defer_interrupts_during_imports, handle_interrupts

    streams.install()  # any terminal encoding, closed or broken streams: never a traceback (streams.py)
    os.umask(PRIVATE_UMASK)
    handle_interrupts()  # Ctrl-C and SIGTERM: KeyboardInterrupt, cleaned up by the command (files.py)
    defer_interrupts_during_imports()  # never in the middle of DuckDB's own start-up
    try:
        code = app(args=_debug_first(sys.argv[1:]), prog_name="cvg", standalone_mode=False)
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
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM outside typer (the body says « interrompu »)
        sys.stderr.write("Erreur : interrompu.\n")
        _exit_done(130)
    if code == 130 and not common.STATE["said"]:
        # Ctrl-C or SIGTERM outside a command's body but inside typer (parsing the options, closing the
        # context): typer turns it into a silent exit 130.
        sys.stderr.write("Erreur : interrompu.\n")
    _exit_done(code if isinstance(code, int) else 0)


def _exit_done(code: int) -> None:
    """The command is over and has said everything: a Ctrl-C now (as the interpreter ends) changes nothing,
    so it is ignored rather than let it kill the process without a word.

    After an interrupt (130) the process ends at once, its output flushed: a KeyboardInterrupt that went
    through a library's embedded Python code (DuckDB's) marks the interpreter so that it would otherwise kill
    itself by SIGINT on the way out (exit -2, after « interrompu » was said)."""
    import os
    import signal
    import sys

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except KeyboardInterrupt:  # it came just before: the work is done all the same
        pass
    if code == 130:
        import contextlib

        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        os._exit(130)
    sys.exit(code)


def _debug_first(args: list[str]) -> list[str]:
    """`cvg ingest --debug x` = `cvg --debug ingest x`: the option is accepted after the command too
    (not after `--`, where it would be a file name)."""
    end = args.index("--") if "--" in args else len(args)
    if "--debug" not in args[:end]:
        return args
    rest = [a for k, a in enumerate(args) if k >= end or a != "--debug"]
    return ["--debug", *rest]


if __name__ == "__main__":
    main()
