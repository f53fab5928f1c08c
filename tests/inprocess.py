"""`cvg ARGS` run inside the test process, as `python -m cvg_pipeline ARGS` would run it, for the tests that
check what a command does rather than what a process does (signals, concurrency, start-up, the entry point
itself: those keep a real process).

It goes through `cli.main` itself — umask 077, the French usage errors (exit 2), stdout and stderr wrapped by
commands/streams.py, SIGINT and SIGTERM handled — and gives back a `subprocess.CompletedProcess` like
`subprocess.run(..., capture_output=True, text=True)`, so a test switches by changing its helper only; what a
compiled library writes straight to descriptors 1 and 2 is in its stdout and stderr too. What
`cli.main` changes in the process (umask, signal handlers, sys.stdout/stderr, warning filters, the unraisable
hook, the --debug flag) is put back afterwards; the import hook that defers Ctrl-C during imports
(files.defer_interrupts_during_imports) is not installed in the test process. A run that would end by
`os._exit` (exit 130, after an interrupt) cannot run here: use a real process for it.

Saves the start of a Python process and the import of typer, DuckDB, polars and openpyxl (0.3–0.6 s of CPU)
per command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

from typer.testing import CliRunner


def run(*args: str | Path, env: Mapping[str, str | None] | None = None, cwd: Path | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`cvg ARGS` in this process: its exit code, stdout and stderr. `env`: variables set for the run (None:
    removed); `cwd`: the folder it runs in."""
    from cvg_pipeline import cli, files
    from cvg_pipeline.commands import common

    argv = [str(a) for a in args]
    runner = CliRunner()
    saved_handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    saved_state = dict(common.STATE)
    saved_hook = sys.unraisablehook
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    real_exit = os._exit
    code = 0

    def no_os_exit(status: int) -> None:
        raise AssertionError(f"cvg {' '.join(argv)} ended by os._exit({status}): run it in a real process")

    old_umask = os.umask(0o022)
    os.umask(old_umask)
    with runner.isolation(input=stdin, env=dict(env or {})) as (out, err, _), warnings.catch_warnings(), \
            _descriptors() as raw:
        try:
            sys.argv = ["cvg", *argv]
            if cwd is not None:
                os.chdir(cwd)
            os._exit = no_os_exit  # type: ignore[assignment]
            files._REAL_IMPORT.append(__import__)  # defer_interrupts_during_imports: already "installed"
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            for stream in (sys.stdout, sys.stderr):  # as the interpreter does at exit
                stream.flush()
            files._REAL_IMPORT.pop()
            os._exit = real_exit
            os.chdir(saved_cwd)
            sys.argv = saved_argv
            os.umask(old_umask)
            for sig, handler in saved_handlers.items():
                signal.signal(sig, handler)
            common.STATE.clear()
            common.STATE.update(saved_state)
            sys.unraisablehook = saved_hook
            files._INTERRUPTED[0] = False
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace") if err is not None else ""
    return subprocess.CompletedProcess(["cvg", *argv], code, stdout + raw[1], stderr + raw[2])


@contextlib.contextmanager
def _descriptors() -> Iterator[dict[int, str]]:
    """What is written straight to file descriptors 1 and 2 during the block (a compiled library's own
    output, which does not go through sys.stdout / sys.stderr): {1: text, 2: text} once the block is over."""
    import tempfile

    found: dict[int, str] = {1: "", 2: ""}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        files = {1: out, 2: err}
        saved = {fd: os.dup(fd) for fd in found}
        try:
            for fd, f in files.items():
                os.dup2(f.fileno(), fd)
            yield found
        finally:
            for fd, f in files.items():
                os.dup2(saved[fd], fd)
                os.close(saved[fd])
                f.seek(0)
                found[fd] = f.read().decode("utf-8", "replace")
