"""Store paths that cannot be one, and one store under two names (issue 17, point 16).

Each test failed on main before this change: `--store ""` gave « erreur inattendue (ValueError) »; a path
under a file was « n'existe pas … lancez cvg init » (and `cvg init` said « le fichier existe déjà »); a
truncated store was « pas une base cvg valide »; the same store through a symbolic link got a second lock
file, so a second command failed at once (« utilisée par un autre traitement ») despite `--attente`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cvg_pipeline.store.db import create_store
from tests import inprocess


def cvg(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return inprocess.run(*args, cwd=cwd)  # through cli.main, in this process (tests/inprocess.py)


@pytest.mark.parametrize("command", [["historique"], ["suivi"], ["indicators", "--national", "--annee", "2023"],
                                     ["ingest", "x.xlsx"], ["init"]])
def test_an_empty_store_path_is_a_usage_error(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "x.xlsx").write_bytes(b"")
    proc = cvg(command[0], "--store", "", *command[1:], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "est un dossier" in proc.stderr and "--store vide" in proc.stderr
    assert "erreur inattendue" not in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.xlsx"]


@pytest.mark.parametrize("command", [["historique"], ["init"]])
def test_a_store_under_a_file_names_that_file(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "rapport.pdf").write_bytes(b"%PDF")
    proc = cvg(*command, "--store", "rapport.pdf/cvg.duckdb", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert f"« {tmp_path / 'rapport.pdf'} » est un fichier, pas un dossier" in proc.stderr
    assert "existe déjà" not in proc.stderr and "cvg init" not in proc.stderr
    assert (tmp_path / "rapport.pdf").read_bytes() == b"%PDF"


def test_a_truncated_store_is_said_incomplete_and_left_as_it_is(tmp_path: Path) -> None:
    whole = tmp_path / "entiere.duckdb"
    create_store(whole)
    cut = tmp_path / "cvg.duckdb"
    cut.write_bytes(whole.read_bytes()[:5000])
    before = cut.read_bytes()
    for command in (["historique"], ["indicators", "--national", "--annee", "2023"]):
        proc = cvg(command[0], "--store", cut, *command[1:])
        assert proc.returncode == 1, proc.stderr
        assert "est incomplète" in proc.stderr and "dernière bonne sauvegarde" in proc.stderr
        assert "erreur inattendue" not in proc.stderr
    assert cut.read_bytes() == before


def test_one_store_through_a_symlink_and_its_path_has_one_lock(tmp_path: Path) -> None:
    """A writer holds the store by its real path; a reader through a symbolic link waits for it (--attente)
    instead of failing at once, and only one lock file exists."""
    store = tmp_path / "cvg.duckdb"
    create_store(store)
    link = tmp_path / "lien.duckdb"
    link.symlink_to(store.name)
    ready = tmp_path / "pret"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, pathlib\n"
        "from cvg_pipeline.store.db import open_store\n"
        f"with open_store(pathlib.Path({str(store)!r}), read_only=False):\n"
        f"    pathlib.Path({str(ready)!r}).touch()\n"
        "    time.sleep(3)\n"
    )])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert holder.poll() is None and time.monotonic() < deadline, "the writer did not start"
            time.sleep(0.05)
        proc = cvg("historique", "--store", link, "--attente", "60")
    finally:
        holder.wait(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "réessayez" not in proc.stderr  # it waited (« attente… »), it did not give up
    locks = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".lock"))
    assert locks == ["cvg.duckdb.lock"]
    assert not os.path.exists(tmp_path / "lien.duckdb.lock")
