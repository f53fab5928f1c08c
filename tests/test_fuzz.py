"""A hypothesis-driven fuzzer of whole workbooks (issue 9, point 4).

Valid workbooks are mutated — random values in every column and in the Structure sheet, deleted and
duplicated columns, byte flips in the zip and in the XML inside it — and given to the library's
`verify_paths` (the reading and validation of `cvg verifier`/`cvg ingest`, in-process for speed), plus a few
real `cvg verifier` runs. Whatever the input, the outcome must be an accepted file or located errors from the
catalogue: never an exception, never a traceback.

`make test` runs a small sample (HYPOTHESIS_PROFILE=ci); `make fuzz` runs well over 1,000 cases
(HYPOTHESIS_PROFILE=fuzz) and prints hypothesis' statistics.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import tempfile
import zipfile
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cvg_pipeline.errors import CATALOGUE, scope_of
from cvg_pipeline.schema import load_schema
from tests import hostile
from tests.builders import all_labels, open_row, structure, valid_row, write_workbook

FUZZ = settings.default.max_examples >= 1000  # HYPOTHESIS_PROFILE=fuzz
TODAY = date(2024, 6, 1)


def examples(ci: int, fuzz: int) -> settings:
    return settings(
        max_examples=fuzz if FUZZ else ci,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- the oracle ----------------------------------------------------------------------------------------------


def check_outcome(path: Path) -> str:
    """Verify one file in-process; assert the outcome is `accepted` or located errors; return the status."""
    from cvg_pipeline.ingest import verify_paths

    results = verify_paths([path], schema=load_schema(), today=TODAY)  # any exception fails the test
    assert len(results) == 1
    result = results[0]
    assert result.fichier == path.name
    for found in result.issues:
        assert found.code in CATALOGUE, found
        assert found.severity == CATALOGUE[found.code][0], found
        assert found.fichier == path.name, found
        assert found.message and "Traceback" not in found.message, found
        scope = scope_of(found.code)
        if scope == "cellule":
            assert found.feuille and found.ligne is not None and found.colonne, found
        elif scope == "ligne":
            assert found.feuille and found.ligne is not None, found
    if result.errors:
        assert not result.accepted, result
    outcome = "accepte" if result.accepted else "refuse"
    event(f"issue: {outcome}" + (f" ({result.errors[0].code})" if result.errors else ""))
    return outcome


# -- random cell values ----------------------------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), max_size=40
)
_interesting = st.sampled_from([
    "", " ", "Oui", "non", "X", "0", "1", "VRAI", "31/02/2023", "12/25/2022", "29/02/2024", "01/01/09", "45291",
    "45291.5", "20,5", "1e308", "-0", "NaN", "=1+1", "@SUM(A1)", "CDI", "Femme", "F", "Hors UE", "Rue", "Résolue",
    "Métropole de Lyon", "93", "123 456 789 00012", "Réemploi; Espaces verts", "2023-12-31", "31.12.2023",
    "ID-\u00e9\u00e8", "\u202f20", "35,0001", "16", "1899-12-31",
])
VALUES = st.one_of(
    st.none(),
    _text,
    _interesting,
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 12, 31)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 12, 31)),
)
LABELS = all_labels()
STRUCTURE_FIELDS = ["Nom de la structure", "SIRET", "Territoire", "Date d'arrêté", "Supports d'activité"]


@st.composite
def mutated_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    base = draw(st.lists(st.sampled_from(["sortie", "en cours"]), min_size=0, max_size=5))
    rows = []
    for n, kind in enumerate(base):
        row = (valid_row if kind == "sortie" else open_row)(**{"Identifiant salarié": f"F{n}"})
        row.update(draw(st.dictionaries(st.sampled_from(LABELS), VALUES, max_size=6)))
        rows.append(row)
    return rows


@examples(ci=20, fuzz=450)
@given(rows=mutated_rows(), fields=st.dictionaries(st.sampled_from(STRUCTURE_FIELDS), VALUES, max_size=2))
def test_random_values_in_every_column(rows: list[dict[str, Any]], fields: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        header = LABELS if rows else None
        path = write_workbook(Path(tmp) / "valeurs.xlsx", rows=rows, header=header,
                              structure_fields={**structure(), **fields})
        check_outcome(path)


# -- deleted, duplicated and shuffled columns ----------------------------------------------------------------


@examples(ci=15, fuzz=300)
@given(
    header=st.lists(st.sampled_from([*LABELS, "Nom", "NIR", "Inconnue", "ID", "Genre", "Date entrée"]),
                    min_size=0, max_size=len(LABELS) + 5),
    title_rows=st.integers(0, 3),
    rows=st.integers(0, 4),
)
def test_deleted_and_duplicated_columns(header: list[str], title_rows: int, rows: int) -> None:
    data = [valid_row(**{"Identifiant salarié": f"C{n}", "Nom": "Dupont", "NIR": "1 85 05 78 006 084 36",
                         "Inconnue": "?", "ID": f"C{n}", "Genre": "F", "Date entrée": "01/03/2022"})
            for n in range(rows)]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_workbook(Path(tmp) / "colonnes.xlsx", rows=data, header=header,
                              title_rows=[["Titre"]] * title_rows)
        outcome = check_outcome(path)
        required = {c.label for c in load_schema().columns if c.required}
        if not required <= set(header) and rows:
            assert outcome == "refuse"


# -- byte flips in the zip and in the XML inside it ----------------------------------------------------------


@cache
def base_workbook() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        rows = [valid_row(**{"Identifiant salarié": f"B{n}"}) for n in range(3)] + [open_row()]
        return write_workbook(Path(tmp) / "base.xlsx", rows=rows).read_bytes()


def flip(data: bytes, flips: list[tuple[float, int]], cut: float | None) -> bytes:
    out = bytearray(data)
    for where, value in flips:
        if out:
            out[int(where * (len(out) - 1))] = value
    if cut is not None:
        out = out[: int(cut * len(out))]
    return bytes(out)


def mutate_part(data: bytes, part: str, flips: list[tuple[float, int]], cut: float | None) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == part:
                content = flip(content, flips, cut)
            dst.writestr(info.filename, content)
    return buf.getvalue()


PARTS = ["(zip)", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/sharedStrings.xml",
         "xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml", "xl/_rels/workbook.xml.rels"]


@examples(ci=30, fuzz=500)
@given(
    part=st.sampled_from(PARTS),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.none() | st.floats(0, 1),
)
def test_byte_flips(part: str, flips: list[tuple[float, int]], cut: float | None) -> None:
    base = base_workbook()
    data = flip(base, flips, cut) if part == "(zip)" else mutate_part(base, part, flips, cut)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "octets.xlsx"
        path.write_bytes(data)
        check_outcome(path)


# -- a few real `cvg verifier` runs -------------------------------------------------------------------------------


def test_cli_verifier_on_mutated_files(tmp_path: Path) -> None:
    """Several mutated files in one real run (read by worker processes): exit 0/1, JSON, no traceback."""
    rng = random.Random(7)
    base = base_workbook()
    folder = tmp_path / "mutants"
    folder.mkdir()
    count = 40 if FUZZ else 8
    for n in range(count):
        flips = [(rng.random(), rng.randrange(256)) for _ in range(rng.randint(1, 6))]
        part = rng.choice(PARTS)
        data = flip(base, flips, None) if part == "(zip)" else mutate_part(base, part, flips, None)
        (folder / f"mutant-{n:02d}.xlsx").write_bytes(data)
    (folder / "intact.xlsx").write_bytes(base)
    run = subprocess.run([hostile.CVG, "verifier", "--json", "--erreurs", str(folder.parent / "erreurs"), str(folder)],
                         capture_output=True, text=True,
                         check=False, timeout=600)
    assert run.returncode in (0, 1), run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    payload = json.loads(run.stdout)
    files = payload["fichiers"] if isinstance(payload, dict) else payload
    assert len(files) == count + 1
    by_name = {f["fichier"]: f for f in files}
    assert by_name["intact.xlsx"]["erreurs"] == 0
    for f in files:
        for found in f["problemes"]:
            assert found["code"] in CATALOGUE
