"""`cvg report` never writes over a file it did not create in this run (issue 20.5, quality bar).

Failed on main before this change: a second `cvg report` into the same folder silently replaced the
reports, and a file of the user named « rapport-national-2023.html.tmp » was overwritten, then deleted.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cvg_pipeline.store.db import create_store
from tests import inprocess
from tests.builders import valid_row, write_workbook


def cvg(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return inprocess.run(*args)  # through cli.main, in this process (tests/inprocess.py)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "cvg.duckdb"
    create_store(path)
    cvg("ingest", "--store", path, write_workbook(tmp_path / "recus" / "aci.xlsx", rows=[valid_row()]))
    return path


def test_existing_reports_are_never_replaced_without_ecraser(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "rapports"
    args = ("report", "--store", store, "--national", "--annee", "2023", "--sortie", out)
    assert cvg(*args).returncode == 0
    html = out / "rapport-national-2023.html"
    html.write_text("mes notes de comité", encoding="utf-8")
    before = sorted(p.name for p in out.iterdir())
    second = cvg(*args)
    assert second.returncode == 1
    assert "existent déjà : aucun rapport n'a été écrit" in second.stderr and "--ecraser" in second.stderr
    assert html.read_text(encoding="utf-8") == "mes notes de comité"
    assert sorted(p.name for p in out.iterdir()) == before  # nothing written, no temporary file
    third = cvg(*args, "--ecraser")
    assert third.returncode == 0
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert html.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in out.iterdir()) == before


def test_a_file_named_like_the_old_temporary_is_not_touched(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "rapports"
    out.mkdir()
    mine = out / "rapport-national-2023.html.tmp"
    mine.write_text("à moi", encoding="utf-8")
    assert cvg("report", "--store", store, "--national", "--annee", "2023", "--sortie", out).returncode == 0
    assert mine.read_text(encoding="utf-8") == "à moi"
