"""`cvg ingest`, `cvg verifier`, `cvg historique` through CliRunner: table, JSON shape, exit codes, messages."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cvg_pipeline.cli import app
from cvg_pipeline.store.db import create_store
from tests.builders import SIRET_2, open_row, structure, valid_row, write_workbook

runner = CliRunner()

ISSUE_KEYS = {"code", "gravite", "message", "fichier", "feuille", "ligne", "colonne", "lettre", "valeur"}
FILE_KEYS = {
    "fichier",
    "chemin",
    "statut",
    "sha256",
    "structure",
    "siret",
    "territoire",
    "date_arrete",
    "lignes",
    "erreurs",
    "avertissements",
    "problemes",
}


@pytest.fixture
def depot(tmp_path: Path) -> Path:
    folder = tmp_path / "depot"
    write_workbook(folder / "lyon.xlsx", rows=[valid_row(), open_row(**{"Identifiant salarié": "B"})])
    write_workbook(
        folder / "93" / "bondy.xlsx",
        rows=[valid_row()],
        structure_fields=structure(
            SIRET=SIRET_2, Territoire="Convergence 93", **{"Nom de la structure": "Bondy"}
        ),
    )
    return folder


def ingest(*args: str) -> tuple[int, str]:
    if "--store" in args and not Path(args[args.index("--store") + 1]).exists():  # `cvg init` first
        create_store(Path(args[args.index("--store") + 1]))
    result = runner.invoke(app, ["ingest", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_ingest_table_then_already_there(depot: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "cvg.duckdb")
    code, out = ingest("--store", store, str(depot))
    assert code == 0
    for text in (
        "Fichier",
        "Structure",
        "Territoire",
        "Date d'arrêté",
        "Lignes",
        "Statut",
        "Erreurs",
        "Avertissements",
        "lyon.xlsx",
        "bondy.xlsx",
        "Seine-Saint-Denis",
        "31/12/2023",
        "intégré",
    ):
        assert text in out, text
    code, out = ingest("--store", store, str(depot))
    assert code == 0
    assert out.count("déjà intégré") == 2


def test_store_from_environment(depot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "env.duckdb"
    monkeypatch.setenv("CVG_STORE", str(store))
    assert runner.invoke(app, ["init"]).exit_code == 0
    code, _ = ingest(str(depot))
    assert code == 0 and store.exists()


def test_json_shape(depot: Path, tmp_path: Path) -> None:
    bad = write_workbook(
        tmp_path / "bad.xlsx",
        rows=[valid_row(**{"Heures hebdomadaires à l'entrée": 50})],
        structure_fields=structure(SIRET=SIRET_2, **{"Date d'arrêté": date(2023, 11, 30)}),
    )
    create_store(tmp_path / "s.duckdb")
    result = runner.invoke(
        app, ["ingest", "--json", "--store", str(tmp_path / "s.duckdb"), str(depot), str(bad)]
    )
    assert result.exit_code == 1
    payload = json.loads(result.stdout)  # one JSON object, nothing else on stdout
    assert payload["version"] == 1 and payload["ok"] is False
    assert payload["statuts"] == {"intégré": 2, "rejeté": 1}
    assert all(set(f) >= FILE_KEYS for f in payload["fichiers"])
    (rejected,) = [f for f in payload["fichiers"] if f["statut"] == "rejeté"]
    (problem,) = rejected["problemes"]
    assert set(problem) >= ISSUE_KEYS
    assert (problem["code"], problem["ligne"], problem["colonne"], problem["lettre"], problem["valeur"]) == (
        "hors-bornes",
        2,
        "Heures hebdomadaires à l'entrée",
        "E",
        "50",
    )
    assert rejected["date_arrete"] == "2023-11-30" and rejected["siret"] == SIRET_2


def test_errors_grouped_by_file_structure_apart(tmp_path: Path) -> None:
    no_sexe = [{k: v for k, v in valid_row(**{"Programme": "XYZ"}).items() if k != "Sexe"}]
    path = write_workbook(tmp_path / "a.xlsx", rows=no_sexe)
    code, out = ingest("--store", str(tmp_path / "s.duckdb"), str(path))
    assert code == 1
    assert out.index("Structure du fichier") < out.index("colonne-manquante") < out.index("Contenu")
    assert "valeur-inconnue × 1" in out and "ligne 2" in out and "« Programme »" in out


def test_warnings_of_accepted_files_are_shown(tmp_path: Path) -> None:
    rows = [valid_row(**{"Commentaire": "rien"})]
    path = write_workbook(tmp_path / "a.xlsx", rows=rows)
    code, out = ingest("--store", str(tmp_path / "s.duckdb"), str(path))
    assert code == 0
    assert "colonne-inconnue" in out and "Commentaire" in out and "intégré" in out


def test_verifier_stores_nothing(depot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["verifier", str(depot / "lyon.xlsx")])
    assert result.exit_code == 0, result.output
    assert "valide" in result.output
    bad = write_workbook(tmp_path / "bad.xlsx", rows=[valid_row(**{"Sexe": "X"})])
    result = runner.invoke(app, ["verifier", "--json", "--erreurs", str(tmp_path / "e"), str(bad)])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["fichiers"][0]["statut"] == "rejeté"
    assert not list(tmp_path.glob("*.duckdb"))


def test_erreurs_writes_annotated_copies(tmp_path: Path) -> None:
    bad = write_workbook(tmp_path / "in" / "bad.xlsx", rows=[valid_row(**{"Sexe": "X"})])
    dest = tmp_path / "retours"
    code, _ = ingest("--store", str(tmp_path / "s.duckdb"), "--erreurs", str(dest), str(bad))
    assert code == 1
    assert [p.name for p in dest.iterdir()] == ["bad-erreurs.xlsx"]


def test_historique(depot: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "cvg.duckdb")
    ingest("--store", store, str(depot))
    result = runner.invoke(app, ["historique", "--store", store])
    assert result.exit_code == 0
    for text in ("lyon.xlsx", "bondy.xlsx", "Reçu le", "Date d'arrêté", "Métropole de Lyon"):
        assert text in result.output
    result = runner.invoke(app, ["historique", "--store", store, "--territoire", "seine-saint-denis"])
    assert "bondy.xlsx" in result.output and "lyon.xlsx" not in result.output


def test_historique_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["historique", "--store", str(tmp_path / "absent.duckdb")])
    assert result.exit_code == 1 and "n'existe pas" in result.output
    write_workbook(tmp_path / "a.xlsx", rows=[valid_row()])
    ingest("--store", str(tmp_path / "s.duckdb"), str(tmp_path / "a.xlsx"))
    result = runner.invoke(
        app, ["historique", "--store", str(tmp_path / "s.duckdb"), "--territoire", "Atlantide"]
    )
    assert result.exit_code == 2 and "territoire inconnu" in result.output


@pytest.mark.parametrize("args", [["ingest"], ["verifier"], ["ingest", "/nulle/part/rien.xlsx"]])
def test_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    result = runner.invoke(
        app, [*args, "--store", str(tmp_path / "s.duckdb")] if args[0] == "ingest" else args
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
