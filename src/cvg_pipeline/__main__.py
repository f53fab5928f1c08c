"""`cvg` (and `python -m cvg_pipeline`): the console entry point, importing the CLI only when it runs.

The reading worker of `cvg ingest` (a fork server child) imports the main module of the command that
started it; with this module as the entry point that costs nothing, instead of typer and every command
(~0.1 s of the worker's start).
"""

from __future__ import annotations


def main() -> None:
    from cvg_pipeline.cli import main as cli_main

    cli_main()  # exits with the command's code


if __name__ == "__main__":
    main()
