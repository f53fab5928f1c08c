"""Creating a store is an explicit act (issue 13, point 10): `cvg init` creates it, every other command refuses
a missing store (exit 1), says where it looked and how that path was chosen, and suggests `cvg init` and the
nearest existing store. Real files; the commands run through cli.main in the test process (tests/inprocess.py)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests import inprocess
from tests.builders import valid_row, write_workbook
from tests.storefill import scalar


def cvg(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`cvg ARGS` run in `cwd` through cli.main, in this process (tests/inprocess.py), without the caller's
    CVG_STORE."""
    environ: dict[str, str | None] = {"CVG_STORE": None, "COLUMNS": "200", **(env or {})}
    proc = inprocess.run(*args, cwd=cwd, env=environ)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


def one_line(text: str) -> str:
    return " ".join(text.split())  # rich wraps long messages


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def key_of(store: Path) -> str:
    return str(scalar(store, "SELECT valeur FROM meta WHERE cle = 'cle_hmac'"))


def snapshot_count(store: Path) -> int:
    return int(scalar(store, "SELECT count(*) FROM snapshots"))  # type: ignore[call-overload]


def test_a_typo_in_store_creates_nothing_and_points_to_the_store(tmp_path: Path) -> None:
    """Fails on main before 8a984e4 (`cvg init`): `cvg ingest --store travail/cvg.dukdb` silently created an empty store
    with a new pseudonymisation key (and there was no `cvg init`, exit 2)."""
    write_workbook(tmp_path / "depot" / "aci.xlsx", rows=[valid_row()])
    made = cvg("init", "--store", "travail/cvg.duckdb", cwd=tmp_path)
    good = (tmp_path / "travail" / "cvg.duckdb").absolute()
    assert made.returncode == 0, made.stderr
    said = one_line(made.stdout)
    assert f"Base créée : {good}." in said
    assert "clé de pseudonymisation" in said and "cvg sauvegarder" in said
    assert good.stat().st_mode & 0o777 == 0o600
    key = key_of(good)
    assert key not in made.stdout + made.stderr

    before = listing(tmp_path)
    typo = cvg("ingest", "--store", "travail/cvg.dukdb", "depot", cwd=tmp_path)
    assert typo.returncode == 1
    said = one_line(typo.stdout + typo.stderr)
    assert f"la base « {tmp_path / 'travail' / 'cvg.dukdb'} » n'existe pas (chemin donné par --store) ; rien n'a été créé." in said
    assert f"Vouliez-vous dire « {good} » ?" in said
    assert "lancez « cvg init --store travail/cvg.dukdb »" in said
    assert listing(tmp_path) == before  # no store, no lock, no index, no erreurs/ folder
    assert key_of(good) == key and snapshot_count(good) == 0

    stored = cvg("ingest", "--store", "travail/cvg.duckdb", "depot", cwd=tmp_path)
    assert stored.returncode == 0, stored.stderr
    assert snapshot_count(good) == 1 and key_of(good) == key


@pytest.mark.parametrize(
    ("command", "source"),
    [
        (["historique"], "env"),
        (["historique"], "défaut"),
        (["indicators", "--national", "--annee", "2023"], "défaut"),
        (["report", "--national", "--annee", "2023"], "env"),
        (["sauvegarder", "copie.duckdb"], "défaut"),
        (["ingest", "depot"], "env"),
        (["ingest", "depot"], "défaut"),
    ],
)
def test_every_command_refuses_a_missing_store_and_says_how_it_was_chosen(
    tmp_path: Path, command: list[str], source: str
) -> None:
    """Fails on main before 8a984e4 (`cvg init`): the message said « lancez d'abord cvg ingest » without the absolute
    path nor how it was chosen, and `cvg ingest` created the store."""
    write_workbook(tmp_path / "depot" / "aci.xlsx", rows=[valid_row()])
    (tmp_path / "archives").mkdir()
    near = cvg("init", "--store", "archives/cvg.duckdb", cwd=tmp_path)
    assert near.returncode == 0
    env = {"CVG_STORE": "cvg.duckb"} if source == "env" else {}
    wanted = tmp_path / ("cvg.duckb" if source == "env" else "cvg.duckdb")
    before = listing(tmp_path)
    result = cvg(*command, cwd=tmp_path, env=env)
    assert result.returncode == 1
    said = one_line(result.stdout + result.stderr)
    how = (
        "chemin donné par la variable CVG_STORE"
        if source == "env"
        else "chemin par défaut : cvg.duckdb dans le dossier courant, faute de --store et de CVG_STORE"
    )
    assert f"la base « {wanted} » n'existe pas ({how}) ; rien n'a été créé." in said
    assert f"Vouliez-vous dire « {tmp_path / 'archives' / 'cvg.duckdb'} » ?" in said
    assert "lancez « cvg init »" in said
    assert listing(tmp_path) == before
    assert snapshot_count(tmp_path / "archives" / "cvg.duckdb") == 0


def test_init_refuses_a_store_that_exists(tmp_path: Path) -> None:
    """Fails on main before 8a984e4 (`cvg init`) (no such command: exit 2). A second `cvg init` keeps the store, its key
    and its content; `CVG_STORE` and the default are followed like by the other commands."""
    write_workbook(tmp_path / "depot" / "aci.xlsx", rows=[valid_row()])
    env = {"CVG_STORE": str(tmp_path / "env.duckdb")}
    assert cvg("init", cwd=tmp_path, env=env).returncode == 0
    assert cvg("ingest", "depot", cwd=tmp_path, env=env).returncode == 0
    store = tmp_path / "env.duckdb"
    digest = hashlib.sha256(store.read_bytes()).hexdigest()
    again = cvg("init", cwd=tmp_path, env=env)
    assert again.returncode == 1
    assert f"« {store} » existe déjà : rien n'a été modifié (une base n'est jamais remplacée)." in one_line(again.stderr)
    assert hashlib.sha256(store.read_bytes()).hexdigest() == digest
    assert snapshot_count(store) == 1
    assert not list(tmp_path.glob(".*creation*"))
    default = cvg("init", cwd=tmp_path)
    assert default.returncode == 0 and f"Base créée : {tmp_path / 'cvg.duckdb'} (chemin par défaut)." in one_line(default.stdout)
    folder = cvg("init", "--store", "depot", cwd=tmp_path)
    assert folder.returncode == 2 and "est un dossier" in folder.stderr


def test_ingest_of_a_folder_without_workbook_exits_1_and_creates_nothing(tmp_path: Path) -> None:
    """Fails on main before 8a984e4 (`cvg init`): an empty folder (or one without any workbook) exited 0, and created a
    store if there was none."""
    depot = tmp_path / "depot"
    depot.mkdir()
    (depot / "lisez-moi.txt").write_text("pas un classeur")
    assert cvg("init", "--store", "cvg.duckdb", cwd=tmp_path).returncode == 0
    digest = hashlib.sha256((tmp_path / "cvg.duckdb").read_bytes()).hexdigest()
    before = listing(tmp_path)
    for folder in ("depot", "vide"):
        (tmp_path / "vide").mkdir(exist_ok=True)
        before = listing(tmp_path)
        result = cvg("ingest", "--store", "cvg.duckdb", folder, cwd=tmp_path)
        assert result.returncode == 1
        said = one_line(result.stderr)
        assert f"aucun classeur (.xlsx, .xlsm, .xls, .ods) trouvé dans « {folder} »" in said
        assert "rien n'a été lu ni enregistré" in said
        assert listing(tmp_path) == before
    assert hashlib.sha256((tmp_path / "cvg.duckdb").read_bytes()).hexdigest() == digest
    (tmp_path / "cvg.duckdb").unlink()
    before = listing(tmp_path)
    result = cvg("ingest", "vide", cwd=tmp_path)
    assert result.returncode == 1 and "n'existe pas" in result.stderr
    assert listing(tmp_path) == before
    # `cvg verifier` needs no store, and creates none
    write_workbook(depot / "aci.xlsx", rows=[valid_row()])
    assert cvg("verifier", "depot", cwd=tmp_path).returncode == 0
    assert not (tmp_path / "cvg.duckdb").exists()
