"""What `cvg ingest` and `cvg verifier` show (issue 20, points 2, 3 and 6).

Each test failed on main before this change: the ingest table took ~150 columns and wrapped on an 80- or
110-column terminal, splitting words; the run ended « Tous les fichiers sont intégrés ou déjà présents » or
« 3 fichiers refusés : rien n'en a été enregistré » instead of counting; `cvg verifier` on one file said
« rien n'en a été enregistré » and « à renvoyer à l'ACI » to the ACI itself; an unknown motif listed all 22.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cvg_pipeline.store.db import create_store
from tests import inprocess
from tests.builders import make_siret, structure, valid_row, write_workbook
from tests.terminal import run_in_pty

LONG = "Rennes Métropole / Ille-et-Vilaine"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def cvg(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`cvg ARGS` writing to pipes, through cli.main in this process (tests/inprocess.py); a terminal is
    `in_pty`."""
    return inprocess.run(*args, cwd=cwd)


def in_pty(argv: list[str], columns: int, cwd: Path) -> tuple[int, str]:
    """Run on a real terminal `columns` wide; return the exit code and the screen's text (colours removed)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    code, text = run_in_pty(argv, env=env, columns=columns, cwd=cwd)
    return code, ANSI.sub("", text)


@pytest.fixture
def month(tmp_path: Path) -> tuple[Path, Path]:
    """A store and a month of five files: long names and territoires, one refused, one with warnings."""
    store = tmp_path / "cvg.duckdb"
    create_store(store)
    recus = tmp_path / "recus"
    for k in range(4):
        write_workbook(
            recus / f"association-intermediaire-du-bassin-rennais-et-de-ses-environs-{k}.xlsx",
            rows=[valid_row()],
            structure_fields=structure(
                SIRET=make_siret(f"{5550000000000 + k:013d}"), Territoire=LONG,
                **{"Nom de la structure": f"Atelier et chantier d'insertion du bassin rennais numéro {k}"},
            ),
        )
    write_workbook(recus / "refuse.xlsx", rows=[valid_row(**{"Situation à la sortie": "CDI à temps partiel subi"})],
                   structure_fields=structure(SIRET=make_siret("5559999999999")))
    return store, recus


@pytest.mark.parametrize("columns", [80, 110])
def test_the_ingest_screen_fits_the_terminal(month: tuple[Path, Path], tmp_path: Path, columns: int) -> None:
    store, recus = month
    code, screen = in_pty([sys.executable, "-m", "cvg_pipeline", "ingest", "--store", str(store), str(recus)],
                          columns, tmp_path)
    assert code == 1, screen
    lines = [line for line in screen.split("\n") if line.strip()]
    too_wide = [line for line in lines if len(line) > columns]
    assert not too_wide, too_wide
    assert any("…" in line for line in lines)  # long names cut, not wrapped
    assert "5 fichiers : 4 intégrés, 1 refusé" in " ".join(screen.split())


def test_piped_output_keeps_whole_lines(month: tuple[Path, Path]) -> None:
    store, recus = month
    proc = cvg("ingest", "--store", store, recus)
    assert proc.returncode == 1
    assert LONG in proc.stdout and "numéro 3" in proc.stdout and "…" not in proc.stdout


def test_the_run_ends_with_what_became_of_every_file(month: tuple[Path, Path], tmp_path: Path) -> None:
    store, recus = month
    first = cvg("ingest", "--store", store, "--erreurs", tmp_path / "erreurs", recus)
    last = first.stdout.rstrip().splitlines()[-1]
    assert last == (
        f"5 fichiers : 4 intégrés, 1 refusé — classeurs d'erreurs dans {tmp_path / 'erreurs'}/ ; "
        "rien d'un fichier refusé n'a été enregistré."
    )
    (recus / "refuse.xlsx").unlink()
    write_workbook(recus / "remplace.xlsx", rows=[valid_row(), valid_row(**{"Identifiant salarié": "Z9"})],
                   structure_fields=structure(SIRET=make_siret(f"{5550000000000:013d}"), Territoire=LONG,
                                              **{"Nom de la structure": "Atelier renommé"}))
    again = cvg("ingest", "--store", store, recus)
    assert again.returncode == 0
    assert again.stdout.rstrip().splitlines()[-1] == "5 fichiers : 1 intégré (dont 1 remplacé), 4 déjà présents."


def test_verifier_speaks_to_the_aci(tmp_path: Path) -> None:
    bad = write_workbook(tmp_path / "envoi" / "mon-fichier.xlsx",
                         rows=[valid_row(Sexe="Licorne"), valid_row(**{"Identifiant salarié": "B", "Sexe": "X"})])
    proc = cvg("verifier", bad, cwd=tmp_path)
    assert proc.returncode == 1
    ending = " ".join(proc.stdout.split())
    assert f"Votre fichier contient 2 erreurs : ouvrez {tmp_path / 'erreurs' / 'mon-fichier-erreurs.xlsx'}" in ending
    assert "rien n'en a été enregistré" not in ending and "renvoyer à l'ACI" not in ending
    good = write_workbook(tmp_path / "envoi" / "bon.xlsx", rows=[valid_row()])
    ok = cvg("verifier", good, cwd=tmp_path)
    assert ok.returncode == 0
    assert ok.stdout.rstrip().endswith("Votre fichier est valide : vous pouvez l'envoyer.")


def test_an_unknown_value_suggests_the_nearest_instead_of_listing_a_long_list(tmp_path: Path) -> None:
    bad = write_workbook(tmp_path / "a.xlsx", rows=[valid_row(**{"Situation à la sortie": "Retraitte"})])
    proc = cvg("verifier", "--json", "--erreurs", tmp_path / "e", bad)
    import json

    [message] = [p["message"] for f in json.loads(proc.stdout)["fichiers"] for p in f["problemes"]
                 if p["code"] == "valeur-inconnue"]
    assert "vouliez-vous dire « Droits à la retraite » ?" in message
    assert "valeurs listées dans la feuille « Mode d'emploi »" in message
    assert message.count("«") < 8  # not the 22 motifs
    short = write_workbook(tmp_path / "b.xlsx", rows=[valid_row(Sexe="Fame")])
    proc = cvg("verifier", "--json", "--erreurs", tmp_path / "e", short)
    [message] = [p["message"] for f in json.loads(proc.stdout)["fichiers"] for p in f["problemes"]
                 if p["code"] == "valeur-inconnue"]
    assert "« Femme », « Homme »" in message  # a short list is still given whole


def test_quiet_prints_the_ending_only(month: tuple[Path, Path], tmp_path: Path) -> None:
    """Issue 20.5: `--quiet` on the long commands (before: no such option)."""
    store, recus = month
    proc = cvg("ingest", "--quiet", "--store", store, "--erreurs", tmp_path / "erreurs", recus)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        f"5 fichiers : 4 intégrés, 1 refusé — classeurs d'erreurs dans {tmp_path / 'erreurs'}/ ; "
        "rien d'un fichier refusé n'a été enregistré."
    ]
    assert (tmp_path / "erreurs" / "refuse-erreurs.xlsx").is_file()
    one = cvg("verifier", "-q", "--erreurs", tmp_path / "e2", recus / "refuse.xlsx")
    assert one.returncode == 1 and len(one.stdout.splitlines()) == 1
    assert one.stdout.startswith("Votre fichier contient 1 erreur : ouvrez")


@pytest.mark.parametrize("command", ["ingest", "verifier", "indicators", "report", "template", "sauvegarder",
                                     "init", "suivi", "historique"])
def test_every_command_s_help_gives_examples(command: str) -> None:
    """Issue 20.4: examples in each command's help."""
    proc = cvg(command, "--help")
    assert proc.returncode == 0
    assert "Exemples :" in proc.stdout
    block = proc.stdout.split("Exemples :")[1]
    assert f"cvg {command}" in block
