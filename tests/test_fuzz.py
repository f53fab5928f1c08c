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

from cvg_pipeline.check.errors import CATALOGUE, scope_of
from cvg_pipeline.schema.load import load_schema
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
    from cvg_pipeline.ingest.run import verify_paths

    results = verify_paths([path], schema=load_schema(), today=TODAY)  # any exception fails the test
    assert len(results) == 1
    result = results[0]
    assert result.fichier == path.name
    for found in result.issues:
        assert found.code in CATALOGUE, found
        assert found.severity == CATALOGUE[found.code][0], found
        assert found.fichier == path.name, found
        assert found.message and "Traceback" not in found.message, found
        assert "erreur de cvg lui-même" not in found.message, found  # a reader bug, not the file (issue 17.9)
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
    "ID-\u00e9\u00e8", "\u202f20", "35,0001", "16", "1899-12-31", "2023", "1985", "٠١/٠٢/٢٠٢٢", "２０２３",
])
# Digits of other scripts (issue 17 point 9: `\d` matched them and the integer casts failed on the whole file):
# Arabic-Indic, Eastern Arabic (Persian), Devanagari, full-width, mathematical bold; all of a text's digits or one.
_DIGIT_SETS = ["٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९", "０１２３４５６７８９", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"]
_odd_digits = st.builds(
    lambda text, digits, only_one: (
        text.translate(str.maketrans("0123456789", digits)) if not only_one
        else next((text[:k] + digits[int(c)] + text[k + 1:] for k, c in enumerate(text) if c.isdigit()), text)
    ),
    st.sampled_from(["01/02/2022", "31/12/2023", "2023-12-31", "2023", "45291", "20,5", "1985", "01.03.2022 10:30"]),
    st.sampled_from(_DIGIT_SETS),
    st.booleans(),
)
VALUES = st.one_of(
    st.none(),
    _text,
    _interesting,
    _odd_digits,
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


# -- folders of odd entries: special files, names that are not UTF-8, spreadsheet-like files (issue 17) -----------

ENTRY_KINDS = ["valide", "refuse", "fifo", "dev-zero", "lien-casse", "cache", "verrou", "csv", "xlsb", "html-xls",
               "numbers", "texte", "sous-dossier", "dossier-cache"]


def _entry_names() -> st.SearchStrategy[bytes]:
    """File names as bytes: often not UTF-8 (a Latin-1 name from a Windows zip), never `/` nor NUL."""
    return st.binary(min_size=1, max_size=10).map(lambda b: b.replace(b"/", b"_").replace(b"\0", b"_")).filter(
        lambda b: b not in (b".", b"..") and not b.startswith((b".", b"~$")))


def make_entry(folder: Path, kind: str, stem: bytes, n: int) -> tuple[Path, str]:
    """Create one entry of `kind` in `folder`; return the path a result must name, and the status expected."""
    import os

    def at(suffix: bytes, prefix: bytes = b"") -> Path:
        return Path(os.fsdecode(bytes(folder) + b"/" + prefix + stem + b"-%d" % n + suffix))

    rows = [valid_row(**{"Identifiant salarié": f"E{n}"})]
    if kind == "valide":
        return write_workbook(at(b".xlsx"), rows=rows, structure_fields=structure(SIRET=_siret(n))), "valide"
    if kind == "refuse":
        bad = [valid_row(**{"Identifiant salarié": f"E{n}", "Date de sortie": "31/02/2023"})]
        return write_workbook(at(b".xlsx"), rows=bad, structure_fields=structure(SIRET=_siret(n))), "rejeté"
    if kind == "fifo":
        os.mkfifo(at(b".xlsx"))
        return at(b".xlsx"), "rejeté"
    if kind == "dev-zero":
        at(b".xlsx").symlink_to("/dev/zero")
        return at(b".xlsx"), "rejeté"
    if kind == "lien-casse":
        at(b".xlsx").symlink_to(folder / "absent")
        return at(b".xlsx"), "rejeté"
    if kind == "cache":
        at(b".xlsx", b".").write_bytes(b"\0\5\26\7AppleDouble")
        return at(b".xlsx", b"."), "ignoré"
    if kind == "verrou":
        at(b".xlsx", b"~$").write_bytes(b"\x0bAnalyste" + bytes(150))
        return at(b".xlsx", b"~$"), "ignoré"
    if kind == "csv":
        at(b".csv").write_text("Identifiant salarié;Sexe\nA1;Femme\n", encoding="utf-8")
        return at(b".csv"), "rejeté"
    if kind == "xlsb":
        with zipfile.ZipFile(at(b".xlsb"), "w") as zf:
            zf.writestr("[Content_Types].xml", "<Types/>")
            zf.writestr("xl/workbook.bin", bytes(range(256)))
        return at(b".xlsb"), "rejeté"
    if kind == "html-xls":
        at(b".xls").write_text("<html><body><table><tr><td>A1</td></tr></table></body></html>", encoding="utf-8")
        return at(b".xls"), "rejeté"
    if kind == "numbers":
        with zipfile.ZipFile(at(b".numbers"), "w") as zf:
            zf.writestr("Index/Document.iwa", bytes(range(256)) + b"%d" % n)
            zf.writestr("Metadata/Properties.plist", '<?xml version="1.0"?><!DOCTYPE plist><plist/>')
        return at(b".numbers"), "rejeté"
    if kind == "texte":
        at(b".txt").write_text("Notes du mois\n", encoding="utf-8")
        return at(b".txt"), "ignoré"
    if kind == "sous-dossier":
        sub = at(b"")
        sub.mkdir()
        return write_workbook(sub / "aci.xlsx", rows=rows, structure_fields=structure(SIRET=_siret(n))), "valide"
    assert kind == "dossier-cache"
    hidden = at(b"", b".")
    hidden.mkdir()
    write_workbook(hidden / "aci.xlsx", rows=rows)
    return hidden, "ignoré"


def _siret(n: int) -> str:
    from tests.builders import make_siret

    return make_siret(f"{7000000000000 + n}")


@examples(ci=10, fuzz=200)
@given(entries=st.lists(st.tuples(st.sampled_from(ENTRY_KINDS), _entry_names()), min_size=1, max_size=6))
def test_folders_of_odd_entries(entries: list[tuple[str, bytes]]) -> None:
    """Whatever a folder holds — FIFOs, links to /dev/zero, broken links, names that are not UTF-8, hidden and
    lock files, spreadsheet-like files of other formats —: every entry has exactly one result with the status
    expected, every name shown is valid UTF-8, the JSON result encodes, and nothing hangs nor raises."""
    from cvg_pipeline.ingest.run import IngestResult, verify_paths

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "depot"
        folder.mkdir()
        expected = dict(make_entry(folder, kind, stem, n) for n, (kind, stem) in enumerate(entries))
        results = verify_paths([folder], schema=load_schema(), today=TODAY)
        got = {r.path: r for r in results}
        assert len(got) == len(results) and set(got) == set(expected), (set(got) ^ set(expected))
        for path, statut in expected.items():
            result = got[path]
            assert result.statut == statut, (path, result)
            result.fichier.encode("utf-8")  # shown and stored: valid UTF-8
            for found in result.issues:
                assert found.code in CATALOGUE, found
                found.message.encode("utf-8")
            event(f"entrée : {statut}")
        json.dumps(IngestResult(results).to_dict(), ensure_ascii=False, default=str).encode("utf-8")


def test_cli_verifier_on_odd_entries(tmp_path: Path) -> None:
    """One real `cvg verifier --json` run over a folder of every odd kind, its output strictly UTF-8: exit 1
    (the refused entries), a JSON document naming every entry, no traceback, no hang."""
    import os

    folder = tmp_path / "depot"
    folder.mkdir()
    expected = dict(make_entry(folder, kind, b"relev\xe9", n) for n, kind in enumerate(ENTRY_KINDS))
    run = subprocess.run(
        [hostile.CVG, "verifier", "--json", "--erreurs", str(tmp_path / "erreurs"), str(folder)],
        capture_output=True, check=False, timeout=600, env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
    )
    out, err = run.stdout.decode("utf-8"), run.stderr.decode("utf-8")
    assert run.returncode == 1 and "Traceback" not in out + err, err
    files = json.loads(out)["fichiers"]
    assert sorted(f["statut"] for f in files) == sorted(expected.values())
    assert all("\ufffd" in f["fichier"] for f in files if not f["fichier"].startswith((".", "~$")))
