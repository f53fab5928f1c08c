"""`cvg` (and `python -m cvg_pipeline`): the console entry point, importing the CLI only when it runs.

The reading worker of `cvg ingest` (a fork server child) imports the main module of the command that
started it; with this module as the entry point that costs nothing, instead of typer and every command
(~0.1 s of the worker's start).
"""

from __future__ import annotations

INTERRUPTED_AT_START = "Interrompu : rien n'a été enregistré, relancez la même commande.\n"


def _interrupted_at_start(signum: int, frame: object) -> None:
    """Ctrl-C (or SIGTERM) while `cvg` is still loading its modules: nothing has been done yet. Said in
    French, exit 130, no Python trace (issue 17.2)."""
    import contextlib
    import os

    with contextlib.suppress(OSError):
        os.write(2, INTERRUPTED_AT_START.encode())
    os._exit(130)


def main() -> None:
    import _signal  # type: ignore[import-not-found]  # the C module: `signal` imports enum (long enough for a Ctrl-C)

    for signum in (_signal.SIGINT, _signal.SIGTERM):
        _signal.signal(signum, _interrupted_at_start)
    from cvg_pipeline.cli import main as cli_main

    cli_main()  # exits with the command's code; installs the command's own interrupt handling first


if __name__ == "__main__":
    main()
