"""The store's file index (store_index.py): `cvg ingest` of stored files without opening DuckDB, and never
trusting an index that does not describe the store as it is."""

from __future__ import annotations

import json
import os
import shutil
import stat
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cvg_pipeline.ingest import run as ig
from cvg_pipeline.schema.load import load_schema
from cvg_pipeline.store import db as st
from cvg_pipeline.store import index as store_index
from tests.builders import SIRET, SIRET_2, open_row, structure, valid_row, write_workbook

SCHEMA = load_schema()
TODAY = date(2024, 6, 1)


def run(paths: list[Path], store: Path) -> ig.IngestResult:
    if not store.exists():  # ingest refuses a missing store (`cvg init` creates it)
        st.create_store(store, SCHEMA)
    return ig.ingest_paths(paths, store, schema=SCHEMA, today=TODAY)


def aci_file(path: Path, *, siret: str = SIRET, ident: str = "B2") -> Path:
    rows = [valid_row(), open_row(**{"Identifiant salarié": ident})]
    return write_workbook(path, rows=rows, structure_fields=structure(SIRET=siret))


def stored_hashes(store: Path) -> dict[str, tuple[Any, ...]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return st.known_hashes(con)
    finally:
        con.close()


def known_of(store: Path) -> dict[str, tuple[Any, ...]] | None:
    """The files the index of `store` knows, or None if it is not trusted."""
    found = store_index.load(store)
    return found[0] if found is not None else None


def results(result: ig.IngestResult) -> list[dict[str, Any]]:
    return [f.to_dict() for f in result.files]


def test_a_writer_leaves_an_index_of_exactly_the_stored_snapshots(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    run([aci_file(tmp_path / "a.xlsx"), aci_file(tmp_path / "b.xlsx", siret=SIRET_2)], store)
    index = store_index.index_path(store)
    assert index.name == "cvg.duckdb.empreintes"
    assert stat.S_IMODE(index.stat().st_mode) == 0o600
    assert known_of(store) == stored_hashes(store)
    assert len(stored_hashes(store)) == 2


def test_stored_files_are_answered_from_the_index_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    depot = tmp_path / "depot"
    a, b = aci_file(depot / "a.xlsx"), aci_file(depot / "b.xlsx", siret=SIRET_2)
    store = tmp_path / "cvg.duckdb"
    run([a, b], store)
    store_index.discard(store)
    from_duckdb = results(run([depot], store))  # no index: DuckDB answers (and the index is rewritten)
    assert {r["statut"] for r in from_duckdb} == {"déjà intégré"}
    opened: list[str] = []
    monkeypatch.setattr(st, "_connect", lambda *a, **k: opened.append("connect") or pytest.fail("DuckDB opened"))
    monkeypatch.setattr(ig, "read_files", lambda *a, **k: pytest.fail("file parsed"))
    assert results(run([depot], store)) == from_duckdb
    assert opened == []


def test_a_new_file_among_stored_ones_goes_through_the_store(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    depot = tmp_path / "depot"
    run([aci_file(depot / "a.xlsx")], store)
    aci_file(depot / "b.xlsx", siret=SIRET_2)
    result = run([depot], store)
    assert {f.fichier: f.statut for f in result.files} == {"a.xlsx": "déjà intégré", "b.xlsx": "intégré"}
    assert known_of(store) == stored_hashes(store)
    assert len(stored_hashes(store)) == 2


def lying_index(store: Path, sha: str) -> None:
    """Rewrite the index so that it claims `sha` is stored (with the store's current stamp)."""
    known = dict(known_of(store) or {})
    known[sha] = ("Faux", SIRET_2, "lyon", date(2023, 12, 31), 1)
    store_index.write(store, known)
    assert known_of(store) is not None and sha in known_of(store)  # type: ignore[operator]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda store: duckdb.connect(str(store)).execute(
            "INSERT INTO meta VALUES ('autre', 'x')").close(), id="written-by-another-program"),
        pytest.param(lambda store: shutil.copy2(store, store.with_name("copie")) and os.replace(
            store.with_name("copie"), store), id="replaced-by-a-copy-with-the-same-times"),
        pytest.param(lambda store: os.utime(store), id="touched"),
        pytest.param(lambda store: Path(str(store) + ".wal").write_bytes(b""), id="write-ahead-log-present"),
    ],
)
def test_an_index_that_no_longer_describes_the_store_is_ignored(tmp_path: Path, change: Any) -> None:
    store = tmp_path / "cvg.duckdb"
    run([aci_file(tmp_path / "a.xlsx")], store)
    new = aci_file(tmp_path / "nouveau" / "b.xlsx", siret=SIRET_2)
    lying_index(store, ig.sha256_file(new))
    change(store)
    assert known_of(store) is None
    result = run([new], store)
    assert [f.statut for f in result.files] == ["intégré"]  # read from DuckDB, not from the lying index


def test_a_lying_index_with_the_right_stamp_is_the_only_way_to_fool_it(tmp_path: Path) -> None:
    """Guard for the tests above: with no change to the store, the index is trusted as it is."""
    store = tmp_path / "cvg.duckdb"
    run([aci_file(tmp_path / "a.xlsx")], store)
    new = aci_file(tmp_path / "nouveau" / "b.xlsx", siret=SIRET_2)
    lying_index(store, ig.sha256_file(new))
    assert [f.statut for f in run([new], store).files] == ["déjà intégré"]


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"version": 1}', b'{"version": 99, "base": []}', b"\xff\xfe"])
def test_a_damaged_index_is_ignored_and_rewritten(tmp_path: Path, content: bytes) -> None:
    store = tmp_path / "cvg.duckdb"
    a = aci_file(tmp_path / "a.xlsx")
    run([a], store)
    store_index.index_path(store).write_bytes(content)
    assert known_of(store) is None
    assert [f.statut for f in run([a], store).files] == ["déjà intégré"]
    assert known_of(store) == stored_hashes(store)


def test_a_writer_that_fails_leaves_no_index(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    run([aci_file(tmp_path / "a.xlsx")], store)
    assert known_of(store) is not None
    with pytest.raises(RuntimeError), st.open_store(store, read_only=False):
        raise RuntimeError("panne")
    assert not store_index.index_path(store).exists()


def test_readers_neither_need_nor_change_the_index(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    run([aci_file(tmp_path / "a.xlsx")], store)
    before = store_index.index_path(store).read_bytes()
    with st.open_store(store, read_only=True) as con:
        con.execute("SELECT count(*) FROM parcours").fetchall()
    assert store_index.index_path(store).read_bytes() == before
    assert known_of(store) is not None  # a read-only connection leaves the store file as it was


def test_the_index_holds_no_cell_of_the_salaries_sheet(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    run([aci_file(tmp_path / "a.xlsx", ident="IDENTIFIANT-SECRET-42")], store)
    payload = json.loads(store_index.index_path(store).read_text(encoding="utf-8"))
    text = json.dumps(payload)
    assert "IDENTIFIANT-SECRET-42" not in text
    assert set(payload) == {"version", "base", "schema", "territoires", "fichiers"}
    for entry in payload["fichiers"].values():
        assert len(entry) == 5  # nom, siret, territoire, date d'arrêté, lignes


def test_the_index_records_territoire_names_of_the_schema_file_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run of stored files shows territoire names without building the schema: the index records them,
    with the schema file's size and times; once that file changes they are read from it again."""
    from cvg_pipeline.schema.file import SCHEMA_ENV, default_schema_path

    schema_copy = tmp_path / "schema.toml"
    schema_copy.write_bytes(default_schema_path().read_bytes())
    monkeypatch.setenv(SCHEMA_ENV, str(schema_copy))
    store = tmp_path / "cvg.duckdb"
    a = aci_file(tmp_path / "depot" / "a.xlsx")
    run([a], store)
    found = store_index.load(store)
    assert found is not None
    known, names = found
    assert names == {t.slug: t.name for t in SCHEMA.territoires}
    again = run([a], store)
    assert again.territoire_names == names and [f.statut for f in again.files] == ["déjà intégré"]

    schema_copy.write_text(schema_copy.read_text(encoding="utf-8") + "\n# modifié\n", encoding="utf-8")
    found = store_index.load(store)
    assert found is not None and found[0] == known and found[1] is None  # files still known, names re-read
    assert run([a], store).territoire_names is None


def test_cli_table_of_stored_files_shows_territoire_names(tmp_path: Path) -> None:
    import subprocess

    from tests.hostile import CVG

    store = tmp_path / "cvg.duckdb"
    a = aci_file(tmp_path / "depot" / "a.xlsx")
    run([a], store)
    out = subprocess.run([CVG, "ingest", "--store", str(store), str(a)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if line.startswith("a.xlsx"))
    assert "Métropole de Lyon" in line and "déjà intégré" in line  # the builders' territoire, by its name
