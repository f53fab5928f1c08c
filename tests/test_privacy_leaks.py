"""Issue 13, point 11: no personal data written anywhere, whatever the headers and the layout of the workbook.

Workbooks are built with every leak found by the adversarial review (NIR under « N° SS » or « Numéro INSEE »,
full birth dates under « Né(e) le », raw identifiers under « Identifiant salarié (PASS IAE) » or « Code »,
names under « Identité », « Noms », « Salarié », « Bénéficiaire », « Patronyme », health and justice notes
under « Observations », a column without header, title rows, rows below the table, a second table lower in
the sheet, extra lines of the Structure sheet, a full birth date typed into « Année de naissance ») and more
wordings (« NIR », « Date de naissance complète », « Nom de famille », « Adresse postale », « Commentaire »,
« Remarques »). The real commands run through cli.main (tests/inprocess.py): `cvg init`, `cvg ingest`
(with and without `--json`, `--erreurs` to a folder of the test), `cvg verifier`, `cvg historique`,
`cvg indicators`, `cvg report`. Then every file they wrote — the store and whatever lies next to it (write-
ahead log, index, lock), the error workbooks (their bytes and the XML text of every part once unzipped), the
reports, the JSON — and every stdout and stderr is searched for each value; and every table of the store is
read back through DuckDB (`SELECT *`, each row cast to text) and searched too.

Fails on main before issue 13 point 11: the error workbooks copied every cell of the sheets (unknown
columns, title rows, rows below the table, Structure's extra lines), and the messages quoted the birth date
typed into « Année de naissance » and the cells of a second table.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from openpyxl import Workbook

from tests import inprocess
from tests.builders import SIRET, SIRET_2, open_row, structure, valid_row

# -- the personal data -----------------------------------------------------------------------------------------
# Each value is distinctive enough not to occur by chance; a date is searched in every spelling a file could
# hold it in (French, ISO, and in the XML of a workbook its serial number as a cell value).
NIR_SS = "285057512345678"
NIR_INSEE = "179031234567891"
NIR_PLAIN = "185057599887766"
BIRTH_NEE = date(1983, 11, 29)  # under « Né(e) le »
BIRTH_COMPLETE = date(1976, 2, 14)  # under « Date de naissance complète »
BIRTH_IN_YEAR = date(1979, 8, 23)  # typed (as a date) into « Année de naissance »
BIRTH_IN_YEAR_TEXT = "04/07/1981"  # typed (as a text) into « Année de naissance »
RAW_IDS = ["RAWIDPASS0001", "RAWIDPASS0002", "RAWIDPASS0003"]  # in « Identifiant salarié » itself
PASS_IAE = "PASSIAEX99812345"  # under « Identifiant salarié (PASS IAE) »
CODE = "CODEXQ77810"  # under « Code »
NAMES = {
    "Identité": "Dupontelliard Jeaninette",
    "Noms": "Marcellinettex",
    "Salarié": "Quentinobertz",
    "Bénéficiaire": "Zorglubetta",
    "Patronyme": "Vercingetorixa",
    "Nom de famille": "Bidulonnette",
}
ADDRESS = "12 rue des Lilas Fictives"
NOTES = {
    "Observations": "suivi psychiatrique Sainte-Anne",
    "Commentaire": "hospitalisation Esquirol",
    "Remarques": "garde a vue Bobigny",
}
NO_HEADER = "Cachetteux Sansentete"
TITLE = "Reporting de Mme Titreuse"
BELOW = ["Souslignard Piedpage", "note de bas Mme Basdepage"]
SECOND_TABLE = ["Secondtablard", "Prenomitte", "detention Fleury Merogis"]
STRUCTURE_EXTRA = ["Madame Structuronne", "06 98 76 54 32", "Note Mme Margeuse"]

TEXT_SECRETS = [
    NIR_SS, NIR_INSEE, NIR_PLAIN, *RAW_IDS, PASS_IAE, CODE, *NAMES.values(), ADDRESS, *NOTES.values(), NO_HEADER,
    TITLE, *BELOW, *SECOND_TABLE, *STRUCTURE_EXTRA, BIRTH_IN_YEAR_TEXT,
]
BIRTH_DATES = [BIRTH_NEE, BIRTH_COMPLETE, BIRTH_IN_YEAR]


def date_spellings(d: date) -> list[str]:
    return [d.strftime("%d/%m/%Y"), d.isoformat(), d.strftime("%d.%m.%Y"), d.strftime("%d/%m/%y")]


def serial(d: date) -> int:
    return (d - date(1899, 12, 30)).days


SECRETS = TEXT_SECRETS + [s for d in BIRTH_DATES for s in date_spellings(d)]


# -- the workbooks -----------------------------------------------------------------------------------------------
LEAK_HEADERS = ["N° SS", "Numéro INSEE", "Né(e) le", "Identifiant salarié (PASS IAE)", "Code", *NAMES,
                "NIR", "Date de naissance complète", "Adresse postale", *NOTES, None]


def leak_cells(i: int) -> dict[str | None, Any]:
    """The values of the leak columns on one row (the same person data on every row: enough to search)."""
    return {
        "N° SS": NIR_SS, "Numéro INSEE": NIR_INSEE, "Né(e) le": BIRTH_NEE, "Identifiant salarié (PASS IAE)": PASS_IAE,
        "Code": CODE, **NAMES, "NIR": NIR_PLAIN, "Date de naissance complète": BIRTH_COMPLETE,
        "Adresse postale": ADDRESS, **NOTES, None: NO_HEADER,
    }


def leaky_workbook(path: Path, rows: Sequence[Mapping[str, Any]], *, siret: str, below_table: bool) -> Path:
    """Structure with extra lines, a title row, the leak columns between the schema's, and (if asked) rows below
    the table and a second table lower in the sheet."""
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    ws = wb.create_sheet("Structure")
    ws.append(["Champ", "Valeur", None])
    for field, value in structure(SIRET=siret).items():
        ws.append([field, value])
    ws.append(["Référent de parcours", STRUCTURE_EXTRA[0]])
    ws.append(["Téléphone du référent", STRUCTURE_EXTRA[1]])
    ws["C3"] = STRUCTURE_EXTRA[2]  # a note beside a field
    ws = wb.create_sheet("Salariés")
    ws.append([TITLE])
    ws.append([])
    labels = list(dict.fromkeys(k for row in rows for k in row))
    header: list[str | None] = []
    for n, label in enumerate(labels):  # the leak columns interleaved with the schema's
        header.append(label)
        if n < len(LEAK_HEADERS):
            header.append(LEAK_HEADERS[n])
    header += LEAK_HEADERS[len(labels):]
    ws.append(header)
    for i, row in enumerate(rows):
        leaks = leak_cells(i)
        ws.append([row.get(h) if h in row else leaks.get(h) for h in header])
    if below_table:
        ws.append([])
        ws.append([BELOW[0], BELOW[1]])  # in the columns of « Identifiant salarié » and of a schema column
        ws.append([])
        ws.append([])
        ws.append(["Nom", "Prénom", "Observations"])
        ws.append(SECOND_TABLE)
    notes = wb.create_sheet("Notes privées")
    notes.append([NAMES["Identité"], NOTES["Observations"]])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# -- running the commands ----------------------------------------------------------------------------------------
@dataclass
class Run:
    args: list[str]
    code: int
    stdout: str
    stderr: str


def cvg(cwd: Path, *args: object) -> Run:
    """`cvg ARGS` in `cwd` through cli.main in this process (tests/inprocess.py): its stdout and stderr hold
    what went through sys.stdout / sys.stderr and what was written straight to descriptors 1 and 2, as the
    pipes of a process would."""
    proc = inprocess.run(*map(str, args), cwd=cwd, env={"CVG_STORE": None})
    assert "Traceback" not in proc.stderr, proc.stderr
    return Run([str(a) for a in args], proc.returncode, proc.stdout, proc.stderr)


def texts_of(path: Path) -> list[str]:
    """What a file holds, as text: its bytes (UTF-8 and UTF-16), and for a zip (xlsx) every part's text."""
    data = path.read_bytes()
    texts = [data.decode("utf-8", "replace"), data.decode("utf-16-le", "replace"), data.decode("latin-1")]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            texts += [zf.read(name).decode("utf-8", "replace") for name in zf.namelist()]
    return texts


def store_as_text(store: Path) -> str:
    """Every row of every table of the store, read by DuckDB and cast to text."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        parts: list[str] = []
        for schema_name, table in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal"
        ).fetchall():
            rows = con.execute(f'SELECT CAST(t AS VARCHAR) FROM "{schema_name}"."{table}" AS t').fetchall()
            parts += [table, *(r[0] for r in rows)]
        return "\n".join(parts)
    finally:
        con.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("fuites")
    recus = root / "recus"
    accepted_rows = [
        valid_row(**{"Identifiant salarié": RAW_IDS[0]}),
        open_row(**{"Identifiant salarié": RAW_IDS[1], "Date d'entrée": date(2023, 2, 1)}),
    ]
    refused_rows = [
        valid_row(**{"Identifiant salarié": RAW_IDS[0], "Année de naissance": BIRTH_IN_YEAR}),
        valid_row(**{"Identifiant salarié": RAW_IDS[1], "Année de naissance": BIRTH_IN_YEAR_TEXT}),
        open_row(**{"Identifiant salarié": RAW_IDS[2], "Sexe": "Inconnu"}),
    ]
    leaky_workbook(recus / "aci-acceptee.xlsx", accepted_rows, siret=SIRET, below_table=False)
    leaky_workbook(recus / "aci-refusee.xlsx", refused_rows, siret=SIRET_2, below_table=True)
    store = root / "base" / "cvg.duckdb"
    erreurs = root / "erreurs-ingest"
    verif = root / "erreurs-verif"
    rapports = root / "rapports"
    runs = [cvg(root, "init", "--store", store)]
    runs.append(cvg(root, "verifier", "--erreurs", verif, recus))
    runs.append(cvg(root, "verifier", "--json", "--erreurs", verif, recus))
    runs.append(cvg(root, "ingest", "--store", store, "--erreurs", erreurs, recus))
    runs.append(cvg(root, "ingest", "--json", "--store", store, "--erreurs", erreurs, recus))
    runs.append(cvg(root, "historique", "--store", store))
    runs.append(cvg(root, "indicators", "--store", store, "--national", "--annee", 2023))
    runs.append(cvg(root, "report", "--store", store, "--national", "--annee", 2023, "--sortie", rapports))
    inputs = {p: p.read_bytes() for p in recus.iterdir()}
    written = [p for p in root.rglob("*") if p.is_file() and recus not in p.parents]
    return {"root": root, "runs": runs, "store": store, "erreurs": erreurs, "verif": verif, "rapports": rapports,
            "written": written, "inputs": inputs}


def test_the_commands_ran_as_expected(world: dict[str, Any]) -> None:
    codes = {" ".join(r.args[:2]): r.code for r in world["runs"]}
    assert codes == {
        "init --store": 0, "verifier --erreurs": 1, "verifier --json": 1, "ingest --store": 1, "ingest --json": 1,
        "historique --store": 0, "indicators --store": 0, "report --store": 0,
    }, [(r.args, r.stdout[-500:], r.stderr[-500:]) for r in world["runs"]]
    verifier = world["runs"][1].stdout
    assert "« une date complète » n'est pas une année valide" in verifier
    assert "cette ligne et les suivantes, séparées du tableau par une ligne vide" in verifier
    assert "lignes-sous-le-tableau" in verifier
    ingest = world["runs"][3].stdout
    assert "aci-acceptee.xlsx" in ingest and "intégré" in ingest and "rejeté" in ingest
    # the refused file's workbooks exist (one per run asking for them, none replaced), the accepted one is stored
    assert sorted(p.name for p in world["erreurs"].iterdir()) == ["aci-refusee-erreurs-2.xlsx", "aci-refusee-erreurs.xlsx"]
    assert sorted(p.name for p in world["verif"].iterdir()) == ["aci-refusee-erreurs-2.xlsx", "aci-refusee-erreurs.xlsx"]
    assert {p.suffix for p in world["rapports"].iterdir()} == {".md", ".html"}
    text = store_as_text(world["store"])
    assert "aci-acceptee.xlsx" in text and "aci-refusee.xlsx" not in text.split("ingest_log")[0]
    con = duckdb.connect(str(world["store"]), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM parcours").fetchone() == (2,)
        assert con.execute("SELECT fichier FROM snapshots").fetchall() == [("aci-acceptee.xlsx",)]
    finally:
        con.close()
    # the inputs are untouched and nothing was written among them
    for path, data in world["inputs"].items():
        assert path.read_bytes() == data


def test_error_workbooks_are_private(world: dict[str, Any]) -> None:
    books = [p for p in world["written"] if p.suffix == ".xlsx"]
    assert len(books) == 4
    for path in books:
        assert path.stat().st_mode & 0o777 == 0o600, (path, oct(path.stat().st_mode))
        assert path.parent.stat().st_mode & 0o077 == 0, path.parent


def test_no_personal_value_in_any_file_or_output(world: dict[str, Any]) -> None:
    written: list[Path] = world["written"]
    kinds = {p.suffix for p in written}
    assert {".duckdb", ".xlsx", ".md", ".html"} <= kinds, kinds
    found: list[tuple[str, str]] = []
    for path in written:
        texts = texts_of(path)
        for secret in SECRETS:
            if any(secret in t for t in texts):
                found.append((str(path.relative_to(world["root"])), secret))
        if path.suffix == ".xlsx":  # a date cell is a serial number in the sheet's XML
            for d in BIRTH_DATES:
                if any(f"<v>{serial(d)}</v>" in t or f"<v>{serial(d)}." in t for t in texts):
                    found.append((str(path.relative_to(world["root"])), f"{d} (date Excel)"))
    for run in world["runs"]:
        for secret in SECRETS:
            if secret in run.stdout or secret in run.stderr:
                found.append((" ".join(run.args[:2]), secret))
    assert found == []


def test_no_personal_value_in_any_table_of_the_store(world: dict[str, Any]) -> None:
    text = store_as_text(world["store"])
    assert "parcours" in text and "snapshots" in text  # every table was read
    assert [s for s in SECRETS if s in text] == []


def test_error_workbook_keeps_the_schemas_cells_at_their_address(world: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(world["erreurs"] / "aci-refusee-erreurs.xlsx")
    ws = wb["Salariés"]
    header = [c.value for c in ws[3]]
    assert header[0] == "Identifiant salarié" and header[1] is None  # « N° SS » (B) is not copied
    sexe = header.index("Sexe") + 1
    assert ws.cell(row=6, column=sexe).value == "Inconnu"  # the faulty cell, at its own row and column
    assert ws.cell(row=6, column=sexe).comment is not None
    year = header.index("Année de naissance") + 1
    assert [ws.cell(row=r, column=year).value for r in (4, 5, 6)] == [None, None, 1980]
    assert ws["A1"].value is None and ws["A4"].value is None  # no title, no raw identifier
    assert ws.max_row <= 8  # the row below the table is marked (row 8), nothing below it is copied
    assert [c.value for c in ws[8] if c.value is not None] == ["⚠ 1 erreur"]
    structure_cells = {c.coordinate: c.value for row in wb["Structure"].iter_rows() for c in row if c.value is not None}
    assert structure_cells["A1"] == "Champ" and structure_cells["B3"] == SIRET_2
    assert "A7" not in structure_cells and "C3" not in structure_cells
