"""`--territoire` is resolved by one function for every command: a misspelt territoire is a usage error
(exit 2) in French that names the closest territoire (« Vouliez-vous dire … ? ») and lists them all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from cvg_pipeline.cli import app

CVG = str(Path(sys.executable).parent / "cvg")

# Every command with a --territoire option, with the other arguments it needs to get that far.
COMMANDS: dict[str, list[str]] = {
    "export": ["--sortie", "{tmp}/export"],
    "extraire": ["{tmp}/extrait.duckdb"],
    "historique": [],
    "indicators": ["--annee", "2023"],
    "report": ["--annee", "2023", "--sortie", "{tmp}/rapports"],
    "suivi": [],
}


def test_the_table_lists_every_command_with_a_territoire_option() -> None:
    """A new command taking --territoire is added to COMMANDS, so the test below covers it."""
    group = get_command(app)
    with_option = {
        name for name, command in group.commands.items()  # type: ignore[attr-defined]
        if any("--territoire" in p.opts for p in command.params)
    }
    assert with_option == set(COMMANDS)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("base") / "cvg.duckdb"
    subprocess.run([CVG, "init", "--store", str(path)], check=True, capture_output=True, timeout=60)
    return path


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_misspelt_territoire_exits_2_with_the_closest_one(command: str, store: Path, tmp_path: Path) -> None:
    """Every command answers « lyonn » with « Vouliez-vous dire « lyon » ? » (cvg historique said nothing
    of the kind), exit 2, nothing written."""
    before = store.read_bytes()
    args = [a.format(tmp=tmp_path) for a in COMMANDS[command]]
    proc = subprocess.run(
        [CVG, command, "--store", str(store), "--territoire", "lyonn", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("Erreur : territoire inconnu : « lyonn ». Vouliez-vous dire « lyon » ? Territoires : ")
    assert "seine-saint-denis" in proc.stderr and "Traceback" not in proc.stderr
    assert store.read_bytes() == before
    assert list(tmp_path.iterdir()) == []
