"""The schema can grow (and shrink) under an existing store: `cvg` follows it (commands run through cli.main).

- A column added to the schema (a copy named by `$CVG_SCHEMA`): the next command that opens a store made
  with the original schema adds the column to `parcours`, NULL for the rows already stored, and says so in
  one line on stderr; a reader (`cvg indicators`) too. Fails on main before 106fcf7: `cvg ingest` stopped
  with « erreur inattendue (BinderException) » (the insert named a column the table lacked).
- A column removed from the schema stays stored with its values and is ignored: ingest and indicators work.
  This held before 106fcf7 already; the test keeps it so (a growth step that dropped the columns the schema
  no longer has, or refused a table wider than the schema, fails it).
- A removed column that bears the name of a value the indicators derive (`age`) never stands in for it.
  Fails on main before 106fcf7: indicators.py read the parcours with `SELECT *, … AS age`, and DuckDB
  resolved `age` to the stored column, so every salarié·e fell in the age band of the stale column.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import duckdb

from cvg_pipeline.schema.load import SCHEMA_ENV, default_schema_path, load_schema
from cvg_pipeline.store.db import create_store
from tests import inprocess
from tests.builders import SIRET, SIRET_2, open_row, structure, valid_row, write_workbook

NEW_COLUMN = "suivi_numerique"
NEW_LABEL = "Accompagnement au numérique"
NEW_COLUMN_TOML = f"""
[[colonnes]]
nom = "{NEW_COLUMN}"
libelle = "{NEW_LABEL}"
type = "bool"
regle = "facultatif"
groupe = "Accompagnement pendant le parcours"
synonymes = ["Accompagnement numérique"]
"""
# A column named like the age the indicators derive from the year of birth (indicators.md: age at entry).
AGE_COLUMN_TOML = """
[[colonnes]]
nom = "age"
libelle = "Âge déclaré"
type = "int"
regle = "facultatif"
groupe = "Profil à l'entrée"
"""
REMOVED_DIFFICULTY = '  { cle = "famille", libelle = "Garde d\'enfants / situation familiale" },\n'


def schema_copy(tmp_path: Path, name: str, *, add: str = "", remove: str = "") -> Path:
    text = default_schema_path().read_text(encoding="utf-8")
    if remove:
        assert text.count(remove) == 1
        text = text.replace(remove, "")
    path = tmp_path / name
    path.write_text(text + add, encoding="utf-8")
    return path


def cvg(cwd: Path, schema: Path | None, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """`cvg ARGS` in `cwd` with `$CVG_SCHEMA` = `schema` (None: unset), through cli.main in this process
    (tests/inprocess.py; the schema is read from `$CVG_SCHEMA` at each command, cached by path)."""
    return inprocess.run(*args, cwd=cwd, env={SCHEMA_ENV: None if schema is None else str(schema), "CVG_STORE": None})


def parcours(store: Path) -> list[dict[str, object]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        cur = con.execute("SELECT * FROM parcours ORDER BY siret, date_entree")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def first_file(tmp_path: Path, **extra: object) -> Path:
    rows = [valid_row(**extra), open_row(**{"Identifiant salarié": "A002", "Date d'entrée": date(2023, 2, 1)}, **extra)]
    return write_workbook(tmp_path / "premier.xlsx", rows=rows)


def second_file(tmp_path: Path, **extra: object) -> Path:
    rows = [valid_row(**{"Identifiant salarié": "B001"}, **extra)]
    return write_workbook(tmp_path / "second.xlsx", rows=rows, structure_fields=structure(SIRET=SIRET_2))


def test_an_added_column_is_added_to_an_existing_store(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    create_store(store, load_schema(default_schema_path()))
    first = cvg(tmp_path, None, "ingest", "--store", store, first_file(tmp_path))
    assert first.returncode == 0, first.stdout + first.stderr

    grown = schema_copy(tmp_path, "grown.toml", add=NEW_COLUMN_TOML)
    second = cvg(tmp_path, grown, "ingest", "--store", store, second_file(tmp_path, **{NEW_LABEL: "Oui"}))
    assert second.returncode == 0, second.stdout + second.stderr
    growth = [line for line in second.stderr.splitlines() if NEW_COLUMN in line]
    assert growth == [f"Base « {store} » : colonne « {NEW_COLUMN} » ajoutée pour suivre le schéma "
                      "(vide pour les 2 parcours déjà enregistrés)."], second.stderr

    rows = parcours(store)
    assert [(r["siret"], r[NEW_COLUMN]) for r in rows] == [(SIRET, None), (SIRET, None), (SIRET_2, True)]

    # Once added, the column is there: the next opening says nothing, and readers work with the new schema.
    again = cvg(tmp_path, grown, "indicators", "--store", store, "--national", "--annee", "2023")
    assert again.returncode == 0, again.stderr
    assert NEW_COLUMN not in again.stderr
    assert json.loads(again.stdout)["effectifs"]["accompagnes"] == 3


def test_a_reader_adds_the_column_too(tmp_path: Path) -> None:
    """`cvg indicators` opens the store read-only: the column is added under the exclusive lock first."""
    store = tmp_path / "cvg.duckdb"
    create_store(store, load_schema(default_schema_path()))
    assert cvg(tmp_path, None, "ingest", "--store", store, first_file(tmp_path)).returncode == 0
    grown = schema_copy(tmp_path, "grown.toml", add=NEW_COLUMN_TOML)
    read = cvg(tmp_path, grown, "indicators", "--store", store, "--national", "--annee", "2023")
    assert read.returncode == 0, read.stderr
    assert [line for line in read.stderr.splitlines() if NEW_COLUMN in line] == [
        f"Base « {store} » : colonne « {NEW_COLUMN} » ajoutée pour suivre le schéma "
        "(vide pour les 2 parcours déjà enregistrés)."
    ]
    assert [r[NEW_COLUMN] for r in parcours(store)] == [None, None]


def test_a_removed_column_stays_stored_and_is_ignored(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    create_store(store, load_schema(default_schema_path()))
    family = {"Difficulté Garde d'enfants / situation familiale à l'entrée": "Oui"}
    assert cvg(tmp_path, None, "ingest", "--store", store, first_file(tmp_path, **family)).returncode == 0

    shrunk = schema_copy(tmp_path, "shrunk.toml", remove=REMOVED_DIFFICULTY)
    assert "diff_famille" not in {c.name for c in load_schema(shrunk).columns}
    second = cvg(tmp_path, shrunk, "ingest", "--store", store, second_file(tmp_path))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "diff_famille" not in second.stderr
    indicators = cvg(tmp_path, shrunk, "indicators", "--store", store, "--national", "--annee", "2023")
    assert indicators.returncode == 0, indicators.stderr
    assert json.loads(indicators.stdout)["effectifs"]["accompagnes"] == 3

    rows = parcours(store)  # the stored values are kept; the new file's rows leave the column empty
    assert [(r["siret"], r["diff_famille"], r["res_famille"]) for r in rows] == [
        (SIRET, True, None), (SIRET, True, None), (SIRET_2, None, None)
    ]


def test_a_removed_column_never_stands_in_for_a_derived_value(tmp_path: Path) -> None:
    """A store made with a schema that had an `age` column: the indicators of the current schema (without
    it) are those of a store that never had it."""
    with_age = schema_copy(tmp_path, "with-age.toml", add=AGE_COLUMN_TOML)
    files = [first_file(tmp_path, **{"Âge déclaré": 99}), second_file(tmp_path, **{"Âge déclaré": 99})]
    figures = []
    for name, schema in (("old.duckdb", with_age), ("plain.duckdb", None)):
        store = tmp_path / name
        create_store(store, load_schema(schema or default_schema_path()))
        done = cvg(tmp_path, schema, "ingest", "--store", store, *files)
        assert done.returncode == 0, done.stdout + done.stderr
        result = cvg(tmp_path, None, "indicators", "--store", store, "--national", "--annee", "2023")
        assert result.returncode == 0, result.stderr
        figures.append(json.loads(result.stdout))
    assert {r["age"] for r in parcours(tmp_path / "old.duckdb")} == {99}
    old, plain = figures
    assert old["profil"] == plain["profil"]
    assert old == plain
