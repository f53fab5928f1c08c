"""`cvg extraire --territoire NOM DESTINATION` (issue 19.3): a territoire's store without the key.

Fails on main before the commit that adds `cvg extraire`: the command does not exist (exit 2), so a
coordinator needed the whole national store — every territoire's parcours and the pseudonymisation key.
Every test runs the real `cvg` in subprocesses on the demo workbooks (examples/aci, examples/historique).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def cvg(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cvg_pipeline", *map(str, args)], capture_output=True, text=True,
                          timeout=180)


@pytest.fixture(scope="module")
def national(examples_store: Path) -> Path:
    """The examples ingested by `cvg init` + `cvg ingest` (tests/networks.py, shared with other modules)."""
    return examples_store


@pytest.fixture(scope="module")
def extract(national: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("coordination") / "extrait-lyon.duckdb"
    done = cvg("extraire", "--store", national, "--territoire", "lyon", path)
    assert done.returncode == 0, done.stderr
    assert "Extrait écrit" in done.stdout
    return path


def tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()]
        return {name: con.execute(f'SELECT * FROM "{name}"').fetchall() for name in names}
    finally:
        con.close()


def test_the_extract_holds_no_key(national: Path, extract: Path) -> None:
    """No 64-hex value of the national store's meta (the HMAC key) is in any table of the extract, nor in
    its bytes; meta has no cle_hmac and says the store is an extract."""
    source_meta = dict(tables(national)["meta"])
    key = str(source_meta["cle_hmac"])
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    secrets = [str(v) for v in source_meta.values() if re.fullmatch(r"[0-9a-f]{64}", str(v))]
    content = tables(extract)
    assert set(content) >= {"meta", "aci", "snapshots", "parcours", "ingest_log", "refus", "colonnes_fichier"}
    text = repr(content)
    for secret in secrets:
        assert secret not in text
        assert secret.encode() not in extract.read_bytes()
        assert bytes.fromhex(secret) not in extract.read_bytes()
    meta = dict(content["meta"])
    assert "cle_hmac" not in meta
    assert meta["extrait_territoire"] == "lyon"
    assert extract.stat().st_mode & 0o777 == 0o600


def test_the_extract_holds_that_territoire_only(national: Path, extract: Path) -> None:
    src, out = tables(national), tables(extract)
    lyon_ids = {r[0] for r in src["snapshots"] if r[9] == "lyon"}
    assert lyon_ids and len(lyon_ids) < len(src["snapshots"])
    assert {r[0] for r in out["snapshots"]} == lyon_ids
    assert {r[9] for r in out["snapshots"]} == {"lyon"}
    assert {r[2] for r in out["aci"]} == {"lyon"}
    assert sorted(out["parcours"]) == sorted(r for r in src["parcours"] if r[0] in lyon_ids)
    assert {r[0] for r in out["colonnes_fichier"]} == lyon_ids
    shas = {r[3] for r in out["snapshots"]}
    assert out["ingest_log"] and {r[3] for r in out["ingest_log"]} <= shas


def test_the_extract_gives_the_same_lyon_report(national: Path, extract: Path, tmp_path: Path) -> None:
    """The Markdown report (the same view model as the HTML, without drawing its charts) of Lyon from the
    extract equals the national store's, but for the national figures an extract does not hold."""
    for store, out in ((national, tmp_path / "national"), (extract, tmp_path / "extrait")):
        done = cvg("report", "--store", store, "--territoire", "lyon", "--annee", "2023", "--format", "md", "--sortie", out)
        assert done.returncode == 0, done.stderr
    # report v2: from the national store, a territoire report also sets each key figure beside the national one
    # (« — national : … » and an annex); an extract has no national figures: the rest is the same
    def own(path: Path) -> str:
        text = path.read_text(encoding="utf-8")
        end = re.search(r"\n## \d+\. (Annexes|Sources et méthode)\n", text)
        assert end is not None
        return re.sub(r" — national : [^\n]*", "", text[: end.start()])

    assert own(tmp_path / "national" / "rapport-lyon-2023.md") == own(tmp_path / "extrait" / "rapport-lyon-2023.md")
    assert "Métropole de Lyon et le national" in (tmp_path / "national" / "rapport-lyon-2023.md").read_text("utf-8")


@pytest.mark.parametrize(
    "args",
    [
        ("indicators", "--territoire", "lyon", "--annee", "2023"),
        ("historique",),
        ("suivi",),
        ("report", "--territoire", "lyon", "--annee", "2023", "--audit", "--json"),
    ],
)
def test_every_read_command_opens_the_extract(extract: Path, args: tuple[str, ...]) -> None:
    done = cvg(*args, "--store", extract)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_indicators_equal_the_national_stores(national: Path, extract: Path) -> None:
    args = ("indicators", "--territoire", "lyon", "--annee", "2023", "--programme", "CVG")
    assert cvg(*args, "--store", extract).stdout == cvg(*args, "--store", national).stdout


def test_an_existing_destination_is_refused(national: Path, tmp_path: Path) -> None:
    path = tmp_path / "extrait.duckdb"
    path.write_bytes(b"mes notes")
    done = cvg("extraire", "--store", national, "--territoire", "lyon", path)
    assert done.returncode == 1
    assert "existe déjà" in done.stderr and "Traceback" not in done.stderr
    assert path.read_bytes() == b"mes notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extrait.duckdb"]  # no temporary file left


def test_the_extract_refuses_to_ingest(extract: Path) -> None:
    before = tables(extract)
    done = cvg("ingest", "--store", extract, EXAMPLES / "aci" / "lyon-atelier-des-pentes.xlsx",
               EXAMPLES / "aci" / "paris-jardins-du-canal.xlsx")
    assert done.returncode == 1
    assert "extrait sans clé de pseudonymisation" in done.stderr
    assert "intégrez dans la base nationale" in done.stderr
    assert "Traceback" not in done.stderr
    assert tables(extract) == before


def test_an_unknown_territoire_is_a_usage_error(national: Path, tmp_path: Path) -> None:
    done = cvg("extraire", "--store", national, "--territoire", "lyyon", tmp_path / "x.duckdb")
    assert done.returncode == 2
    assert "lyon" in done.stderr
    assert not (tmp_path / "x.duckdb").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("report", "--national", "--annee", "2023"),
        ("indicators", "--national", "--annee", "2023"),
        ("indicators", "--territoire", "paris", "--annee", "2023"),
        ("export", "--national", "--annee", "2023"),
    ],
)
def test_an_extract_speaks_for_its_territoire_only(extract: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    """Without the check, the extract's « national » report was Lyon's figures titled « national », and
    another territoire's a report of zeros."""
    done = cvg(*args, "--store", extract, *(("--sortie", tmp_path / "out") if args[0] in ("report", "export") else ()))
    assert done.returncode == 2
    assert "extrait du territoire « lyon »" in done.stderr and "--territoire lyon" in done.stderr
    assert not (tmp_path / "out").exists()


def test_export_of_an_extract_is_its_territoire(extract: Path, tmp_path: Path) -> None:
    done = cvg("export", "--store", extract, "--annee", "2023", "--programme", "PHC", "--sortie", tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["perimetres"] == ["lyon"]
    lines = (tmp_path / "indicateurs.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert lines and all(line.startswith("territoire,lyon,2023,PHC,") for line in lines)
