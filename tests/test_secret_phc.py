"""A PHC report states its three effectifs twice — in « Effectifs » and in the PHC part — and the secret
statistique treats them as one count (found by `cvg export`'s mapping: on main before this change, the lyon
PHC 2020 report of a 70-ACI network showed « s » in one table and the number in the other, for the same
count)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests import inprocess


def cvg(*args: str | Path) -> subprocess.CompletedProcess[str]:
    proc = inprocess.run(*args)  # through cli.main, in this process (tests/inprocess.py)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def store(network70: Path) -> Path:
    """The generated 70-ACI network (tests/networks.py, shared with other modules)."""
    return network70


def cell(md: str, label: str, after: int = 0) -> str:
    found = re.search(rf"^\| {re.escape(label)} \| ([^|]+) \|$", md[after:], flags=re.M)
    assert found, label
    return found.group(1).strip()


CASES = [("lyon", "2020"), ("lyon", "2021"), ("marseille", "2020")] if os.environ.get("CVG_SOAK") else [("lyon", "2020")]


@pytest.mark.parametrize(("territoire", "annee"), CASES)
def test_the_phc_part_and_the_effectifs_show_the_same_counts(
    store: Path, tmp_path: Path, territoire: str, annee: str
) -> None:
    cvg("report", "--store", store, "--territoire", territoire, "--programme", "PHC", "--annee", annee,
        "--format", "md", "--sortie", tmp_path)
    [md_file] = tmp_path.glob("*.md")
    md = md_file.read_text(encoding="utf-8")
    phc = md.index(f"**Parcours PHC {annee}**")
    assert cell(md, "Salarié·es accompagné·es dans l'année") == cell(md, "Salarié·es accompagné·es", phc)
    assert cell(md, "Salarié·es sorti·es dans l'année") == cell(md, "Salarié·es sorti·es dans l'année", phc)
