"""Store safety: private file, atomic creation, schema versions and migrations, backups, the HMAC key."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cvg_pipeline.check.errors import CvgError
from cvg_pipeline.cli import app
from cvg_pipeline.store import db as store_mod
from cvg_pipeline.store.backup import backup_store
from cvg_pipeline.store.db import STORE_SCHEMA_VERSION, create_store, open_store
from tests.builders import SIRET, SIRET_2
from tests.storefill import dump_store, fill_store, parcours, scalar, snapshot

runner = CliRunner()


def hmac_key(path: Path) -> str:
    return str(scalar(path, "SELECT valeur FROM meta WHERE cle = 'cle_hmac'"))


def set_version(path: Path, version: str | None) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("DELETE FROM meta WHERE cle = 'schema_version'")
        if version is not None:
            con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [version])
    finally:
        con.close()


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    return dump_store(path, ignore=())  # every table, `refus` included


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    return fill_store(
        tmp_path / "cvg.duckdb",
        [
            snapshot(SIRET, date(2023, 6, 30), parcours=[parcours(), parcours(sexe="Homme")]),
            snapshot(SIRET_2, date(2023, 12, 31), territoire="paris", parcours=[parcours()]),
        ],
    )


# -- file mode and creation -------------------------------------------------------------------------------


def test_created_store_is_private_and_has_a_fresh_key(tmp_path: Path) -> None:
    a, b = tmp_path / "a.duckdb", tmp_path / "sub" / "b.duckdb"
    os.umask(0o022)  # a permissive umask must not leak into the store's mode
    with open_store(a, read_only=False, create=True):
        pass
    create_store(b)
    for path in (a, b):
        assert path.stat().st_mode & 0o777 == 0o600
        assert len(hmac_key(path)) == 64
    assert hmac_key(a) != hmac_key(b)
    # built under a temporary name then renamed: nothing is left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.duckdb", "a.duckdb.empreintes", "a.duckdb.lock", "sub"]
    assert (tmp_path / "a.duckdb.empreintes").stat().st_mode & 0o777 == 0o600  # the writer's file index
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["b.duckdb"]


def test_missing_store_is_a_french_error(tmp_path: Path) -> None:
    with pytest.raises(CvgError, match=r"n'existe pas ; rien n'a été créé.*cvg init"), open_store(
        tmp_path / "absent.duckdb", read_only=True
    ):
        pass
    assert not (tmp_path / "absent.duckdb").exists()


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "autre.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(CvgError, match="n'est pas une base cvg"), open_store(other, read_only=True):
        pass
    text = tmp_path / "texte.duckdb"
    text.write_text("pas une base")
    with pytest.raises(CvgError, match="ne peut pas être ouverte"), open_store(text, read_only=True):
        pass


# -- schema versions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("read_only", [True, False])
def test_newer_store_is_refused_and_left_unchanged(filled: Path, read_only: bool) -> None:
    set_version(filled, "99")
    before = dump(filled)
    with pytest.raises(CvgError) as info, open_store(filled, read_only=read_only):
        pass
    assert "version plus récente de cvg (schéma 99" in info.value.message
    assert "mettez cvg à jour" in info.value.message
    assert dump(filled) == before


def test_newer_store_refused_by_the_cli(filled: Path) -> None:
    set_version(filled, "99")
    result = runner.invoke(app, ["sauvegarder", str(filled.parent / "copie.duckdb"), "--store", str(filled)])
    assert result.exit_code == 1
    assert "version plus récente de cvg" in result.output
    assert "Traceback" not in result.output
    assert not (filled.parent / "copie.duckdb").exists()


@pytest.mark.parametrize("old", ["0", None])
@pytest.mark.parametrize("read_only", [True, False])
def test_older_store_is_migrated(filled: Path, old: str | None, read_only: bool) -> None:
    set_version(filled, old)
    key = hmac_key(filled)
    before = dump(filled)
    with open_store(filled, read_only=read_only) as con:
        assert con.execute("SELECT valeur FROM meta WHERE cle = 'schema_version'").fetchone() == (
            str(STORE_SCHEMA_VERSION),
        )
    after = dump(filled)
    assert hmac_key(filled) == key  # the key survives: pseudonyms stay stable
    assert after["parcours"] == before["parcours"] and after["snapshots"] == before["snapshots"]


def test_migration_from_0_creates_missing_tables(tmp_path: Path) -> None:
    path = tmp_path / "v0.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE meta (cle VARCHAR PRIMARY KEY, valeur VARCHAR NOT NULL)")
    con.close()
    with open_store(path, read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert {"meta", "aci", "snapshots", "parcours", "ingest_log"} <= tables
        assert con.execute("SELECT count(*) FROM meta WHERE cle = 'cle_hmac'").fetchone() == (1,)


def test_failed_migration_changes_nothing(filled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_version(filled, "0")
    before = dump(filled)

    def broken(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE moitie (x INTEGER)")
        con.execute("DELETE FROM parcours")
        raise RuntimeError("panne au milieu de la migration")

    monkeypatch.setitem(store_mod.MIGRATIONS, 0, broken)
    with pytest.raises(CvgError, match="a échoué ; la base est restée telle quelle"), open_store(
        filled, read_only=False
    ):
        pass
    assert dump(filled) == before  # no `moitie` table, parcours intact, still version 0


def test_every_version_below_current_has_a_migration() -> None:
    assert sorted(store_mod.MIGRATIONS) == list(range(STORE_SCHEMA_VERSION))


# -- backups -------------------------------------------------------------------------------------------------


def test_sauvegarder_writes_a_private_copy_that_opens_with_store(filled: Path, tmp_path: Path) -> None:
    dest = tmp_path / "sauvegardes" / "copie.duckdb"
    dest.parent.mkdir()
    result = runner.invoke(app, ["sauvegarder", str(dest), "--store", str(filled)])
    assert result.exit_code == 0, result.output
    assert f"Sauvegarde écrite : {dest} (2 fichiers intégrés, 3 parcours)" in result.output
    assert dest.stat().st_mode & 0o777 == 0o600
    assert dump(dest) == dump(filled)
    assert hmac_key(dest) == hmac_key(filled)  # kept inside the copy (itself a store) ...
    assert hmac_key(filled) not in result.output  # ... and never printed
    with open_store(dest, read_only=True) as con:  # what `--store copie.duckdb` does
        assert con.execute("SELECT count(*) FROM parcours").fetchone() == (3,)
    assert [p.name for p in dest.parent.iterdir() if p.name.startswith(".")] == []  # no partial file


def test_sauvegarder_into_a_folder_and_never_overwrites(filled: Path, tmp_path: Path) -> None:
    folder = tmp_path / "sauvegardes"
    folder.mkdir()
    first = backup_store(filled, folder)
    assert first.path.parent == folder and first.path.name.startswith("cvg-")
    assert (first.snapshots, first.parcours) == (2, 3)
    content = first.path.read_bytes()
    result = runner.invoke(app, ["sauvegarder", str(folder), "--store", str(filled)])
    assert result.exit_code == 1
    assert "existe déjà" in result.output and "n'écrase jamais" in result.output
    assert first.path.read_bytes() == content


def test_sauvegarder_without_hard_links_never_replaces_a_link_at_the_destination(
    filled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file system without hard links (FAT, network shares) the copy is still named exclusively: a symbolic
    link already at the destination (dangling, so the first `exists()` check lets it through) is neither
    replaced nor followed (files.link_new; backup's own helper replaced it with os.replace)."""
    import errno

    def no_link(*_args: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    dest = tmp_path / "copie.duckdb"
    dest.symlink_to(tmp_path / "ailleurs.duckdb")
    monkeypatch.setattr(os, "link", no_link)
    with pytest.raises(CvgError, match="existe déjà"):
        backup_store(filled, dest)
    assert dest.is_symlink() and os.readlink(dest) == str(tmp_path / "ailleurs.duckdb")
    assert not (tmp_path / "ailleurs.duckdb").exists()
    assert [p.name for p in tmp_path.iterdir() if ".partiel-" in p.name] == []


def test_sauvegarder_errors_are_french(tmp_path: Path, filled: Path) -> None:
    missing = runner.invoke(app, ["sauvegarder", str(tmp_path / "x.duckdb"), "--store", str(tmp_path / "non")])
    assert missing.exit_code == 1 and "n'existe pas (chemin donné par --store)" in missing.output
    assert "cvg init" in missing.output and not (tmp_path / "non").exists()
    no_dir = runner.invoke(app, ["sauvegarder", str(tmp_path / "nul" / "x.duckdb"), "--store", str(filled)])
    assert no_dir.exit_code == 1 and "n'existe pas" in no_dir.output
    for result in (missing, no_dir):
        assert "Traceback" not in result.output


def test_sauvegarder_includes_writes_left_in_the_journal_by_a_killed_writer(filled: Path, tmp_path: Path) -> None:
    """A writer SIGKILLed before its checkpoint leaves a write-ahead log: the copy includes its commit."""
    import subprocess
    import sys

    script = (
        "import duckdb, os, signal, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute(\"SET checkpoint_threshold = '10GB'\")\n"
        "con.execute(\"INSERT INTO meta VALUES ('essai', 'dans le journal')\")\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(filled)], check=False)
    assert proc.returncode == -9
    assert filled.with_name(filled.name + ".wal").exists()
    copy = backup_store(filled, tmp_path / "copie.duckdb").path
    assert not copy.with_name(copy.name + ".wal").exists()
    check = duckdb.connect(str(copy), read_only=True)
    try:
        assert check.execute("SELECT valeur FROM meta WHERE cle = 'essai'").fetchone() == ("dans le journal",)
    finally:
        check.close()


def test_busy_store_backup_waits_then_fails_in_french(filled: Path, tmp_path: Path) -> None:
    from tests.test_locking import hold

    proc = hold(filled, "sh", 30)  # a reader: a backup needs the exclusive lock
    try:
        result = runner.invoke(
            app, ["sauvegarder", str(tmp_path / "c.duckdb"), "--store", str(filled), "--attente", "0.2"]
        )
    finally:
        proc.kill()
        proc.wait()
    assert result.exit_code == 1
    assert "est utilisée par un autre traitement" in result.output
    assert not (tmp_path / "c.duckdb").exists()


# -- the HMAC key -------------------------------------------------------------------------------------------------


def test_hmac_key_is_never_printed_nor_written_outside_stores(tmp_path: Path) -> None:
    """Every command's output (stdout and stderr, table and JSON), the ingest log and every file written next
    to the store (annotated error workbooks included) are free of the key; only stores and their backups hold
    it."""
    import zipfile

    from tests.builders import structure, valid_row, write_workbook

    store = tmp_path / "base" / "cvg.duckdb"
    inbox = tmp_path / "depot"
    write_workbook(inbox / "bon.xlsx", rows=[valid_row()])
    write_workbook(inbox / "mauvais.xlsx", rows=[valid_row(**{"Sexe": "?"})], structure_fields=structure(SIRET=SIRET_2))
    s = ["--store", str(store)]
    commands = [
        ["init", *s],
        ["ingest", *s, str(inbox)],
        ["ingest", *s, "--json", str(inbox)],
        ["verifier", "--erreurs", str(tmp_path / "erreurs"), str(inbox / "mauvais.xlsx")],
        ["historique", *s],
        ["indicators", *s, "--national", "--annee", "2023"],
        ["sauvegarder", str(tmp_path / "copie.duckdb"), *s],
        ["--debug", "historique", *s],
        ["export", *s, "--national", "--annee", "2023", "--format", "csv,parquet,xlsx", "--json",
         "--sortie", str(tmp_path / "export")],
        ["extraire", *s, "--territoire", "lyon", "--json", str(tmp_path / "extrait.duckdb")],
    ]
    outputs = []
    for args in commands:
        result = CliRunner().invoke(app, args)
        outputs.append(result.output + (result.stderr if result.stderr_bytes else ""))
        assert result.exit_code in (0, 1), (args, result.output)
    key = hmac_key(store)
    assert all(key not in out for out in outputs)
    con = duckdb.connect(str(store), read_only=True)
    try:
        log = repr(con.execute("SELECT * FROM ingest_log").fetchall())
    finally:
        con.close()
    assert key not in log
    stores = {store, tmp_path / "copie.duckdb"}
    for path in tmp_path.rglob("*"):
        if not path.is_file() or path in stores:
            continue
        data = path.read_bytes()
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                data = b"".join(zf.read(n) for n in zf.namelist())
        assert key.encode() not in data, path


def test_every_promise_of_the_personal_data_section_names_an_existing_test() -> None:
    """README « Données personnelles »: each cited test exists, so no promise is left without its proof."""
    import re

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Données personnelles", 1)[1].split("\n## ", 1)[0]
    cited = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", section)
    assert len(cited) >= 10
    for path, name in cited:
        source = (root / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{path}::{name} is cited but missing"
