"""Terminal and streams (issue 17, points 13 and 14): any encoding, closed or broken output, never a trace.

Each test failed on main before commands/streams.py (checked by disabling `streams.install()`): an ASCII
terminal gave UnicodeEncodeError after the files were stored; a stdout on /dev/full, closed or whose reader
had gone made a run that had stored its files exit 1 with « erreur inattendue »; a closed stderr made ingest
fail. Exception: `--help` on an ASCII pty already passed there (click re-encodes its own help); those two
cases guard it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.builders import structure, valid_row, write_workbook
from tests.terminal import run_in_pty

NAME = "Atelier Œuvre — Réemploi"  # Œ is not Latin-1, — is not Latin-9, é is not ASCII


def cvg_argv(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "cvg_pipeline", *map(str, args)]


def stored_files(store: Path) -> list[str]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return sorted(r[0] for r in con.execute("SELECT fichier FROM snapshots").fetchall())
    finally:
        con.close()


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    from cvg_pipeline.store.db import create_store

    store = tmp_path / "cvg.duckdb"
    create_store(store)
    folder = tmp_path / "recus"
    write_workbook(folder / "aci.xlsx", rows=[valid_row()], structure_fields=structure(**{"Nom de la structure": NAME}))
    return store, folder


ASCII_TERMINAL = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


@pytest.mark.parametrize("args", [["--help"], ["ingest", "--help"], ["historique"], ["ingest"]])
def test_an_ascii_terminal_shows_replacement_characters(setup: tuple[Path, Path], args: list[str]) -> None:
    store, folder = setup
    if args == ["ingest"]:
        args = ["ingest", "--store", str(store), str(folder)]
    elif args == ["historique"]:
        subprocess.run(cvg_argv("ingest", "--store", store, folder), check=True, capture_output=True)
        args = ["historique", "--store", str(store)]
    env = {**os.environ, **ASCII_TERMINAL, "COLUMNS": "200"}
    check = subprocess.run([sys.executable, "-c", "import sys; print(sys.stdout.encoding)"],
                           env=env, capture_output=True, text=True)
    assert check.stdout.strip().lower() in ("ascii", "ansi_x3.4-1968"), check.stdout
    code, shown = run_in_pty(cvg_argv(*args), env=env)
    assert code == 0, shown
    assert "Traceback" not in shown and "UnicodeEncodeError" not in shown
    if args[0] == "ingest" and "--help" not in args:
        assert stored_files(store) == ["aci.xlsx"]
        assert "Atelier ?uvre ? R?emploi" in shown


@pytest.mark.parametrize("encoding", ["iso-8859-15", "ascii"])
def test_an_encoding_that_cannot_show_everything_still_stores_and_exits_0(
    setup: tuple[Path, Path], encoding: str
) -> None:
    store, folder = setup
    proc = subprocess.run(
        cvg_argv("ingest", "--store", store, folder), capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": encoding}, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode(encoding, "replace")
    assert b"Traceback" not in proc.stderr
    assert stored_files(store) == ["aci.xlsx"]
    assert NAME.encode(encoding, errors="replace") in proc.stdout


def _close(fd: int) -> Callable[[], None]:
    return lambda: os.close(fd)


@pytest.mark.parametrize("bad_file", [False, True])
@pytest.mark.parametrize("how", ["/dev/full", "closed", "broken pipe"])
def test_a_stdout_nobody_can_read_does_not_change_the_run(setup: tuple[Path, Path], how: str, bad_file: bool) -> None:
    """The files are stored and the exit code is the run's own: 0, or 1 for a refused file."""
    store, folder = setup
    if bad_file:
        write_workbook(folder / "mauvais.xlsx", rows=[valid_row(Sexe="Licorne")],
                       structure_fields=structure(SIRET="98765432109876"))
    kwargs: dict[str, object] = {"stderr": subprocess.PIPE, "timeout": 120}
    read_end = write_end = None
    if how == "/dev/full":
        kwargs["stdout"] = open("/dev/full", "w")  # noqa: SIM115 - closed below
    elif how == "closed":
        kwargs["preexec_fn"] = _close(1)
    else:
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader has gone before the first line (`| head -0`)
        kwargs["stdout"] = write_end
    try:
        proc = subprocess.run(cvg_argv("ingest", "--store", store, "--erreurs", store.parent / "erreurs", folder), **kwargs)  # type: ignore[call-overload]
    finally:
        if how == "/dev/full":
            kwargs["stdout"].close()  # type: ignore[attr-defined]
        if write_end is not None:
            os.close(write_end)
    assert proc.returncode == (1 if bad_file else 0), proc.stderr
    assert b"Traceback" not in proc.stderr and b"erreur inattendue" not in proc.stderr
    assert b"Exception ignored" not in proc.stderr
    assert stored_files(store) == ["aci.xlsx"]


def test_a_closed_stderr_still_does_the_work(setup: tuple[Path, Path]) -> None:
    store, folder = setup
    proc = subprocess.run(cvg_argv("ingest", "--store", store, folder), stdout=subprocess.PIPE,
                          preexec_fn=_close(2), timeout=120)
    assert proc.returncode == 0
    assert stored_files(store) == ["aci.xlsx"]
    assert b"aci.xlsx" in proc.stdout


def test_a_full_disk_while_writing_an_error_workbook_shows_no_english_trace(tmp_path: Path) -> None:
    """Issue 17.10: on a full disk (here: a file-size limit), zipfile's `__del__` printed « Exception ignored
    in: <function ZipFile.__del__> » and a Python trace after cvg's own French message."""
    import resource
    import signal

    bad = write_workbook(tmp_path / "mauvais.xlsx", rows=[valid_row(Sexe="Licorne")])

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))

    proc = subprocess.run(cvg_argv("verifier", "--erreurs", tmp_path / "erreurs", bad), preexec_fn=limit,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "non écrit" in proc.stdout
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_library_warnings_and_log_records_stay_off_the_terminal() -> None:
    """Issue 17.10: a library's warning (openpyxl's « 'chartsheet' not a valid worksheet ») or log record
    (fastexcel's « Could not determine dtype… », through Python's logging) was printed in English."""
    code = (
        "from cvg_pipeline.commands import streams; streams.install(); import logging, warnings; "
        "warnings.warn(\"'chartsheet' not a valid worksheet\"); "
        "logging.getLogger('fastexcel.types.dtype').warning('Could not determine dtype for column 3'); "
        "print('fin')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "fin\n"
    assert proc.stderr == ""
