"""Usage errors of the `cvg` entry point are in French, exit 2, and never show English click text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cvg_pipeline.commands.french import translate_usage_error

CVG = str(Path(sys.executable).parent / "cvg")


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("No such command 'bogus'.", "commande inconnue : « bogus »."),
        ("No such option: --natinal (Possible options: --national)", "option inconnue : --natinal (options possibles : --national)."),
        ("No such option: --zzz", "option inconnue : --zzz."),
        ("Option '--store' requires an argument.", "l'option --store attend une valeur."),
        ("Got unexpected extra arguments (x y)", "en trop sur la ligne de commande : x y."),
        ("Missing argument 'CHEMIN…'.", "argument manquant : CHEMIN…"),
        (
            "Invalid value for '--attente': Input should be greater than or equal to 0",
            "valeur invalide pour --attente : elle doit être supérieure ou égale à 0.",
        ),
        ("Invalid value for '--seuil-secret': 'abc' is not a valid integer.", "valeur invalide pour --seuil-secret : « abc » n'est pas un nombre entier."),
        ("Quelque chose d'inconnu", "Quelque chose d'inconnu"),
    ],
)
def test_translate_usage_error(english: str, french: str) -> None:
    assert translate_usage_error(english) == french


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["bogus"], "commande inconnue : « bogus »"),
        (["indicators", "--natinal"], "option inconnue : --natinal"),
        (["ingest"], "argument manquant"),
        (["report", "--national", "x"], "en trop sur la ligne de commande : x"),
        (["ingest", "--attente", "-1", "x.xlsx"], "elle doit être supérieure ou égale à 0"),
        (["indicators", "--store"], "l'option --store attend une valeur"),
    ],
)
def test_usage_errors_are_french_with_exit_2(argv: list[str], expected: str) -> None:
    proc = subprocess.run([CVG, *argv], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert expected in proc.stderr
    assert proc.stderr.startswith("Erreur : ")
    for english in ("Error:", "Try ", "Traceback", "No such", "Missing"):
        assert english not in proc.stderr
