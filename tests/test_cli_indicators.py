"""`cvg indicators` through typer's CliRunner: one JSON object on stdout, French errors and exit codes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cvg_pipeline.cli import app
from cvg_pipeline.store.db import create_store
from tests.builders import SIRET, SIRET_2
from tests.storefill import fill_store, parcours, snapshot

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "cvg.duckdb"
    return fill_store(path, [
        snapshot(SIRET, date(2023, 12, 31), territoire="lyon", parcours=[
            parcours(date_entree=date(2023, 2, 1)),
            parcours(date_entree=date(2022, 5, 1), date_sortie=date(2023, 6, 30), motif_sortie="CDI",
                     logement_sortie="Logement pérenne"),
            parcours(programme="PHC", date_entree=date(2023, 3, 1), heures_hebdo_entree=12.0),
        ]),
        snapshot(SIRET_2, date(2023, 9, 30), territoire="paris", nom="Chantier Île-de-France",
                 parcours=[parcours(date_entree=date(2023, 1, 15))]),
    ])


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["indicators", *args])
    return result.exit_code, result.stdout, result.stderr


def test_national_prints_one_json_object(store: Path) -> None:
    code, out, err = run("--store", str(store), "--national", "--annee", "2023")
    assert code == 0, err
    data = json.loads(out)  # the whole of stdout is one JSON document
    assert isinstance(data, dict)
    assert data["perimetre"] == {"niveau": "national", "territoire": None, "siret": None, "programme": "tous"}
    assert data["effectifs"]["accompagnes"] == 4
    assert data["phc"]["heures_entree_moyenne"] == 12.0
    assert "Chantier Île-de-France" in out  # UTF-8, not \\u escapes
    # paris is arrested on 2023-09-30: warned on stderr, never on stdout
    assert ("1 ACI sur 2 a des données arrêtées avant le 31 décembre 2023 (la plus ancienne au "
            "30 septembre 2023)") in " ".join(err.split())


def test_store_from_environment(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CVG_STORE", str(store))
    code, out, _ = run("--territoire", "Grand Lyon", "--annee", "2023", "--programme", "cvg")
    assert code == 0
    data = json.loads(out)
    assert data["perimetre"] == {"niveau": "territoire", "territoire": "lyon", "siret": None, "programme": "CVG"}
    assert data["par_territoire"] is None
    assert data["effectifs"]["accompagnes"] == 2  # the PHC parcours is left out


def test_aci_with_spaces_and_au(store: Path) -> None:
    spaced = f"{SIRET[:3]} {SIRET[3:6]} {SIRET[6:9]} {SIRET[9:]}"
    code, out, _ = run("--store", str(store), "--aci", spaced, "--annee", "2023", "--au", "2023-12-31")
    assert code == 0
    data = json.loads(out)
    assert data["perimetre"]["siret"] == SIRET
    assert data["donnees_au"] == "2023-12-31"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--territoire", "lyonn", "--annee", "2023"], "territoire inconnu : « lyonn ». Vouliez-vous dire « lyon » ?"),
        (["--territoire", "seine saint denis", "--annee", "2023"], None),  # a synonym-free spelling still matches
        (["--aci", "11111111111111", "--annee", "2023"], "le SIRET 11111111111111 n'est pas dans la base"),
        (["--aci", "1234", "--annee", "2023"], "« 1234 » n'est pas un SIRET (14 chiffres attendus)."),
        (["--national"], "l'option --annee est obligatoire"),
        (["--national", "--annee", "deux mille"], "« deux mille » n'est pas une année valide"),
        (["--annee", "2023"], "indiquez le périmètre : --national, --territoire NOM ou --aci SIRET."),
        (["--national", "--territoire", "lyon", "--annee", "2023"],
         "un seul périmètre à la fois : --national et --territoire sont incompatibles."),
        (["--national", "--annee", "2023", "--au", "31/12/2023"], "« 31/12/2023 » n'est pas une date valide pour --au"),
        (["--national", "--annee", "2023", "--programme", "IAE"], "« IAE » n'est pas un programme valide pour --programme"),
    ],
)
def test_usage_errors_exit_2_in_french(store: Path, args: list[str], message: str | None) -> None:
    code, out, err = run("--store", str(store), *args)
    if message is None:
        assert code == 0 and json.loads(out)["perimetre"]["territoire"] == "seine-saint-denis"
        return
    assert code == 2, err
    assert out == ""
    assert message in " ".join(err.split())
    assert "Traceback" not in err


def test_missing_store_exit_1(tmp_path: Path) -> None:
    code, out, err = run("--store", str(tmp_path / "absent.duckdb"), "--national", "--annee", "2023")
    assert code == 1 and out == ""
    assert "n'existe pas (chemin donné par --store) ; rien n'a été créé." in " ".join(err.split())
    assert "cvg init --store" in " ".join(err.split())
    assert not (tmp_path / "absent.duckdb").exists()  # never created by a read


def test_empty_store_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "vide.duckdb"
    create_store(path)
    code, out, err = run("--store", str(path), "--national", "--annee", "2023")
    assert code == 1 and out == ""
    assert "ne contient encore aucun fichier : lancez d'abord « cvg ingest »" in " ".join(err.split())


def test_not_a_store_exit_1(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "autre.duckdb"
    duckdb.connect(str(path)).close()
    code, _, err = run("--store", str(path), "--national", "--annee", "2023")
    assert code == 1
    assert "n'est pas une base cvg" in " ".join(err.split())


def test_au_before_every_file_warns(store: Path) -> None:
    code, out, err = run("--store", str(store), "--national", "--annee", "2023", "--au", "2020-01-01")
    assert code == 0
    assert json.loads(out)["snapshots"] == []
    assert "aucun fichier ne correspond" in " ".join(err.split())


@pytest.mark.parametrize("command", ["indicators", "report"])
def test_scope_options_help_speaks_plain_french(command: str) -> None:
    """The scope options are shared by both commands; their help names no developer jargon (« SLUG »)."""
    result = runner.invoke(app, [command, "-h"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "--territoire NOM" in text and "par son nom ou son code" in text
    assert "national (tous les territoires)" in text
    assert "SLUG" not in text
