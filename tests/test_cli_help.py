"""The help screens are French: typer's fixed English words are translated for every command."""

from __future__ import annotations

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from cvg_pipeline.cli import app
from cvg_pipeline.commands.french import HELP_TEXT, translate_suffix, translate_type_hint

runner = CliRunner()
ENGLISH = ("Usage:", "Show this message", "[default", "[required]", "Commands:", "Options:", "<path>", "<list[", "env var:")


def command_names() -> list[str]:
    group = get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fichier à écrire.  [default: modele.xlsx]", "Fichier à écrire.  [défaut : modele.xlsx]"),
        ("Année.  [required]", "Année.  [obligatoire]"),
        ("Base.  [env var: CVG_STORE; default: cvg.duckdb]", "Base.  [variable d'environnement : CVG_STORE ; défaut : cvg.duckdb]"),
        ("Pas de suffixe.", "Pas de suffixe."),
        ("[default: x] au milieu, pas à la fin", "[default: x] au milieu, pas à la fin"),
    ],
)
def test_translate_suffix(text: str, expected: str) -> None:
    assert translate_suffix(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("--store <path>", "--store CHEMIN"),
        ("FICHIER… <list[Path]>", "FICHIER…"),
        ("--nombre <integer>", "--nombre ENTIER"),
        ("--annee AAAA", "--annee AAAA"),
        ("--truc <inconnu>", "--truc <inconnu>"),
    ],
)
def test_translate_type_hint(text: str, expected: str) -> None:
    assert translate_type_hint(text) == expected


def test_root_help() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage : cvg [OPTIONS] COMMANDE [ARGUMENTS]...")
    assert "Commandes :" in result.stdout and HELP_TEXT in result.stdout
    for word in ENGLISH:
        assert word not in result.stdout, word


def test_no_arguments_shows_the_help() -> None:
    result = runner.invoke(app, [])
    assert "Usage : cvg" in result.output and "Commandes :" in result.output


@pytest.mark.parametrize("name", command_names())
def test_every_command_help_is_french(name: str) -> None:
    result = runner.invoke(app, [name, "-h"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage : cvg {name}")
    assert HELP_TEXT in result.stdout
    for word in ENGLISH:
        assert word not in result.stdout, (name, word)
