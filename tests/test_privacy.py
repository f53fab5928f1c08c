"""Privacy: names, NIR and raw identifiers of the fixtures never reach the store, the outputs or the ingest log."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cvg_pipeline.cli import app
from cvg_pipeline.store.db import create_store
from tests.builders import SIRET_2, open_row, structure, valid_row, write_workbook

runner = CliRunner()

# Fake personal data, each string distinctive enough not to occur by chance.
NAMES = ["Dupontelliard", "Marcellinette", "Quentinobert"]
NIRS = ["2850575123456", "1790312345678"]
RAW_IDS = ["PASSIAE9981234", "MATRICULE77421", "PASSIAE5550199"]
SECRETS = NAMES + NIRS + RAW_IDS


def person(i: int, **overrides: object) -> dict[str, object]:
    row = {
        "Nom": NAMES[i % 3],
        "Prénom": NAMES[(i + 1) % 3],
        "NIR": NIRS[i % 2],
        **valid_row(**{"Identifiant salarié": RAW_IDS[i % 3]}),
    }
    row.update(overrides)
    return row


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "depot"
    good = write_workbook(
        folder / "bon.xlsx",
        rows=[person(0), person(1), {**person(2), **open_row(**{"Identifiant salarié": RAW_IDS[2]})}],
    )
    # A refused file whose errors sit on identifier rows: duplicates, overlaps, bad values.
    bad = write_workbook(
        folder / "mauvais.xlsx",
        rows=[
            person(0),
            person(0),  # doublon-parcours on RAW_IDS[0]
            person(3, **{"Date d'entrée": date(2023, 1, 1), "Date de sortie": None}),  # overlaps RAW_IDS[0]
            person(2, **{"Sexe": "Inconnu", "Date de sortie": "31/02/2023"}),  # cell errors on an id's row
        ],
        structure_fields=structure(SIRET=SIRET_2),
    )
    return [good, bad]


def all_text_in_store(store: Path) -> str:
    con = duckdb.connect(str(store), read_only=True)
    try:
        parts: list[str] = []
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            for row in con.execute(f"SELECT * FROM {table}").fetchall():
                parts.append(repr(row))
        return "\n".join(parts)
    finally:
        con.close()


def test_no_personal_data_anywhere(files: list[Path], tmp_path: Path) -> None:
    store = tmp_path / "base" / "cvg.duckdb"
    create_store(store)  # `cvg init`
    errors_dir = tmp_path / "erreurs"
    outputs = []
    for args in (["ingest"], ["ingest", "--json"], ["verifier"], ["verifier", "--json"]):
        store_args = ["--store", str(store)] if args[0] == "ingest" else []
        result = runner.invoke(app, [*args, *store_args, "--erreurs", str(errors_dir), *map(str, files)])
        assert result.exit_code == 1
        outputs.append(result.output)
    history = runner.invoke(app, ["historique", "--store", str(store)])
    assert history.exit_code == 0
    outputs.append(history.output)
    assert "bon.xlsx" in outputs[0] and "doublon-parcours" in outputs[0]  # the errors are reported...
    text = all_text_in_store(store)
    assert "bon.xlsx" in text
    for secret in SECRETS:  # ...but no name, NIR or raw identifier, in any output or table
        for out in outputs:
            assert secret not in out
        assert secret not in text
    # the bytes of the store files themselves (database and write-ahead log)
    for path in store.parent.iterdir():
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, (path.name, secret)
            assert secret.encode("utf-16-le") not in data, (path.name, secret)


def test_ingest_log_holds_codes_and_counts_only(files: list[Path], tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    create_store(store)  # `cvg init`
    runner.invoke(app, ["ingest", "--store", str(store), "--erreurs", str(tmp_path / "e"), str(files[0])])
    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT statut, codes, nb_avertissements FROM ingest_log").fetchall()
        avert = con.execute("SELECT avertissements FROM snapshots").fetchall()
    finally:
        con.close()
    ((statut, codes, n),) = rows
    assert statut == "intégré"
    parsed = json.loads(codes)
    assert parsed.get("identifiant-direct-supprime") == 3 and n == sum(parsed.values())
    assert all(isinstance(v, int) for v in parsed.values())
    assert json.loads(avert[0][0]) == parsed


def test_json_issues_never_carry_the_identifier(files: list[Path], tmp_path: Path) -> None:
    result = runner.invoke(app, ["verifier", "--json", "--erreurs", str(tmp_path / "e"), str(files[1])])
    payload = json.loads(result.stdout)
    issues = payload["fichiers"][0]["problemes"]
    on_id = [i for i in issues if i["colonne"] == "Identifiant salarié"]
    assert {i["code"] for i in on_id} >= {"doublon-parcours", "parcours-chevauchants"}
    assert all(i["valeur"] is None for i in on_id)
