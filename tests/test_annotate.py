"""The error workbook sent back to an ACI (annotate.py): cell by cell, on workbooks built here."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from cvg_pipeline.check.errors import Issue, issue
from cvg_pipeline.schema.load import Schema, load_schema
from cvg_pipeline.workbooks.annotate import (
    error_workbook_name,
    is_untouched_error_workbook,
    write_error_workbook,
    write_error_workbooks,
)
from cvg_pipeline.workbooks.annotate_cells import ERRORS_SHEET, put
from cvg_pipeline.workbooks.annotate_copies import ERROR_FILL, IDENTIFIER_FILL, ROW_FILL
from cvg_pipeline.workbooks.annotate_errors_sheet import ERRORS_HEADER, summary_line
from cvg_pipeline.workbooks.annotate_source import (
    read_raw_sheets,
)
from tests.builders import SIRET, open_row, structure, valid_row, write_workbook

FICHIER = "aci-test.xlsx"
FAKE_NAMES = ("Dupontel", "Jeannine", "Martinezzz", "Gaëlle-Fictive", "185057512345678", "06 12 34 56 78")
INJECTION = '=HYPERLINK("http://exemple.invalid","x")'


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


# -- helpers ---------------------------------------------------------------------------------------------------
def letter_of(header: Sequence[str], label: str) -> str:
    return get_column_letter(list(header).index(label) + 1)


def header_of(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for row in rows for k in row))


def errors_table(wb: Any) -> list[tuple[Any, ...]]:
    """Rows of the issue table of sheet Erreurs (below its header row), as tuples of cells."""
    ws = wb[ERRORS_SHEET]
    rows = list(ws.iter_rows())
    start = next(n for n, row in enumerate(rows) if tuple(c.value for c in row[: len(ERRORS_HEADER)]) == ERRORS_HEADER)
    return [tuple(row[: len(ERRORS_HEADER)]) for row in rows[start + 1 :] if row[0].row > rows[start][0].row]


def table_values(wb: Any) -> list[tuple[Any, ...]]:
    return [tuple(c.value for c in row) for row in errors_table(wb)]


def copied_cells(wb: Any) -> Iterator[tuple[str, Any]]:
    for ws in wb.worksheets:
        if ws.title == ERRORS_SHEET:
            continue
        for row in ws.iter_rows():
            for cell in row:
                yield ws.title, cell


def red_cells(wb: Any) -> set[str]:
    return {f"{title}!{c.coordinate}" for title, c in copied_cells(wb) if c.fill.fgColor.rgb == ERROR_FILL}


def commented_cells(wb: Any) -> dict[str, str]:
    return {f"{title}!{c.coordinate}": c.comment.text for title, c in copied_cells(wb) if c.comment is not None}


def all_text_of_xlsx(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return "\n".join(zf.read(name).decode("utf-8", "replace") for name in zf.namelist())


def write_grid(path: Path, sheets: Mapping[str, Mapping[tuple[int, int], Any]]) -> Path:
    """Write cells at exact addresses ((row, col), 1-based) as .xlsx, .xls or .ods, by the path's suffix."""
    if path.suffix == ".xlsx":
        wb = Workbook()
        wb.remove(wb.active)  # type: ignore[arg-type]
        for name, cells in sheets.items():
            ws = wb.create_sheet(name)
            for (r, c), value in cells.items():
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # a text, even when it starts with "="
        wb.save(path)
    elif path.suffix == ".xls":
        import xlwt

        book = xlwt.Workbook()
        date_style = xlwt.easyxf(num_format_str="DD/MM/YYYY")
        for name, cells in sheets.items():
            sheet = book.add_sheet(name)
            for (r, c), value in cells.items():
                if isinstance(value, date):
                    sheet.write(r - 1, c - 1, value, date_style)
                else:
                    sheet.write(r - 1, c - 1, value)
        book.save(str(path))
    elif path.suffix == ".ods":
        import pandas as pd

        with pd.ExcelWriter(path, engine="odf") as writer:
            for name, cells in sheets.items():
                n_rows = max(r for r, _ in cells)
                n_cols = max(c for _, c in cells)
                grid: list[list[Any]] = [[None] * n_cols for _ in range(n_rows)]
                for (r, c), value in cells.items():
                    grid[r - 1][c - 1] = pd.Timestamp(value) if isinstance(value, date) else value
                pd.DataFrame(grid).to_excel(writer, sheet_name=name, header=False, index=False)
    else:  # pragma: no cover - test helper misuse
        raise AssertionError(path.suffix)
    return path


def cell_issue(code: str, *, feuille: str, ligne: int, colonne: str, lettre: str, valeur: str, **fields: Any) -> Issue:
    return issue(code, FICHIER, feuille=feuille, ligne=ligne, colonne=colonne, lettre=lettre, valeur=valeur, **fields)


# -- names and summary ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [("aci-lyon.ods", "aci-lyon-erreurs.xlsx"), ("aci.xlsx", "aci-erreurs.xlsx"), ("Reporting mars.xls", "Reporting mars-erreurs.xlsx"),
     ("a.b.xlsm", "a.b-erreurs.xlsx")],
)
def test_error_workbook_name(name: str, expected: str) -> None:
    assert error_workbook_name(Path("x") / name) == expected


def _row_errors(rows: Sequence[int], feuille: str = "Salariés") -> list[Issue]:
    return [cell_issue("date-invalide", feuille=feuille, ligne=r, colonne="Date de sortie", lettre="D", valeur="x") for r in rows]


@pytest.mark.parametrize(
    ("issues", "expected"),
    [
        ([], "Aucune erreur"),
        (_row_errors([5]), "1 erreur dans 1 ligne"),
        (_row_errors([5, 5]), "2 erreurs dans 1 ligne"),
        (_row_errors([5, 6, 6]), "3 erreurs dans 2 lignes"),
        (_row_errors([2], "Structure") + _row_errors([2]), "2 erreurs dans 2 lignes"),
        ([issue("fichier-illisible", FICHIER, detail="zip")], "1 erreur sur la structure du fichier"),
        ([issue("colonne-manquante", FICHIER, feuille="Salariés", libelle="Sexe", ligne_entete=1)] * 2,
         "2 erreurs sur la structure du fichier"),
        ([issue("colonne-manquante", FICHIER, feuille="Salariés", libelle="Sexe", ligne_entete=1), *_row_errors([4, 9, 9])],
         "4 erreurs : 1 sur la structure du fichier et 3 dans 2 lignes"),
        ([issue("colonne-inconnue", FICHIER, feuille="Salariés", ligne=1, colonne="Divers")], "Aucune erreur"),
    ],
)
def test_summary_line_french_plurals(issues: list[Issue], expected: str) -> None:
    assert summary_line(issues) == expected


# -- one error ------------------------------------------------------------------------------------------------------
def test_one_error(tmp_path: Path, schema: Schema) -> None:
    rows = [valid_row(), valid_row(**{"Identifiant salarié": "A002", "Date de sortie": "31/02/2023"}), open_row(**{"Identifiant salarié": "A003"})]
    src = write_workbook(tmp_path / FICHIER, rows=rows)
    header = header_of(rows)
    d = letter_of(header, "Date de sortie")
    bad = cell_issue("date-invalide", feuille="Salariés", ligne=3, colonne="Date de sortie", lettre=d, valeur="31/02/2023")

    out = write_error_workbook(src, [bad], tmp_path / "erreurs", schema)

    assert out == tmp_path / "erreurs" / "aci-test-erreurs.xlsx"
    wb = load_workbook(out)
    assert wb.sheetnames == [ERRORS_SHEET, "Structure", "Salariés"]
    assert wb[ERRORS_SHEET]["A1"].value == "1 erreur dans 1 ligne"
    assert red_cells(wb) == {f"Salariés!{d}3"}
    marker = f"Salariés!{get_column_letter(len(header) + 1)}3"
    assert commented_cells(wb) == {f"Salariés!{d}3": bad.message}
    assert wb["Salariés"][f"{d}3"].value == "31/02/2023"
    # The faulty row: its other cells light red, the marker at the right of the data; other rows untouched.
    ws = wb["Salariés"]
    assert ws[marker.split("!")[1]].value == "⚠ 1 erreur"
    for col in range(1, len(header) + 1):
        cell = ws.cell(row=3, column=col)
        assert cell.fill.fgColor.rgb == (ERROR_FILL if cell.column_letter == d else ROW_FILL)
        for other in (1, 2, 4):
            assert ws.cell(row=other, column=col).fill.fgColor.rgb != ROW_FILL
    # Sheet Erreurs: one row, every filled cell but the wrapped texts (Colonne, Valeur saisie, Message: LibreOffice
    # never wraps a link) a link to the faulty cell.
    table = errors_table(wb)
    assert [tuple(c.value for c in row) for row in table] == [
        ("Salariés", 3, "Date de sortie", f"{d}3", "31/02/2023", bad.message, "date-invalide", "erreur")
    ]
    assert [c.hyperlink.location if c.hyperlink else None for c in table[0]] == [
        f"'Salariés'!{d}3", f"'Salariés'!{d}3", None, f"'Salariés'!{d}3", None, None, f"'Salariés'!{d}3",
        f"'Salariés'!{d}3"]
    # The marker links back to the issue's row in Erreurs.
    assert ws[marker.split("!")[1]].hyperlink.location == f"'{ERRORS_SHEET}'!A{table[0][0].row}"


def test_copy_is_the_data_as_sent(tmp_path: Path, schema: Schema) -> None:
    rows = [valid_row(**{"Heures hebdomadaires à l'entrée": 20.5, "Identifiant salarié": "007"}),
            valid_row(**{"Identifiant salarié": "A2", "Date d'entrée": "01/03/2022", "Année de naissance": "1980"})]
    src = write_workbook(tmp_path / FICHIER, rows=rows, title_rows=[["Reporting CVG 2023"], [None]])
    out = write_error_workbook(src, [], tmp_path, schema)
    wb = load_workbook(out)
    header = header_of(rows)
    ws = wb["Salariés"]
    assert ws["A1"].value is None  # a title row is not a cell of the table: never copied
    assert [c.value for c in ws[3]] == header  # header row kept at its position (row 3)
    entree = ws[f"{letter_of(header, 'Date d' + chr(39) + 'entrée')}4"]
    assert entree.value == datetime(2022, 3, 1) and entree.is_date and entree.number_format == "DD/MM/YYYY"
    assert ws[f"{letter_of(header, 'Date d' + chr(39) + 'entrée')}5"].value == "01/03/2022"  # text stays text
    assert ws["A3"].value == "Identifiant salarié" and ws["A4"].value is None  # the raw id is never copied
    assert ws[f"{letter_of(header, 'Heures hebdomadaires à l' + chr(39) + 'entrée')}4"].value == 20.5
    assert ws[f"{letter_of(header, 'Année de naissance')}4"].value == 1980
    assert ws[f"{letter_of(header, 'Année de naissance')}5"].value == "1980"
    assert wb["Structure"]["B5"].value == datetime(2023, 12, 31)
    assert wb["Structure"]["B3"].value == SIRET
    assert red_cells(wb) == set() and commented_cells(wb) == {}
    assert wb[ERRORS_SHEET]["A1"].value == "Aucune erreur"


# -- thirty errors across both sheets ----------------------------------------------------------------------------------
def test_thirty_errors_across_both_sheets(tmp_path: Path, schema: Schema) -> None:
    bad_cells = {  # Salariés row -> {label: bad value}
        2: {"Date de sortie": "31/02/2023", "Sexe": "Inconnu", "Accompagnement concerté": "Peut-être"},
        3: {"Heures hebdomadaires à l'entrée": "vingt"},
        5: {"Date d'entrée": "2022-13-01", "Difficulté Logement à l'entrée": "oui oui", "Difficulté Santé à l'entrée": "?"},
        6: {"Programme": "XYZ"},
        8: {"Année de naissance": "mil neuf cent", "Nationalité": "Lune", "Contact post-sortie (6 à 12 mois après)": "bof"},
        9: {"Date de sortie": "32/01/2023"},
        10: {"Heures hebdomadaires à la sortie": "trente", "Sexe": "?", "Orienteur / prescripteur": "Voisin"},
        11: {"Situation à la sortie": "Partie", "Situation logement à la sortie": "Château"},
        12: {"Durée sans emploi à l'entrée": "longtemps", "Situation logement à l'entrée": "Tente"},
        13: {"Date d'entrée": "00/00/0000", "Date de sortie": "aa/bb/cccc"},
        14: {"Accompagnement concerté": "Maybe", "Difficulté Logement à l'entrée": "Si"},
        15: {"Programme": "ABC", "Sexe": "Z", "Nationalité": "Mars", "Heures hebdomadaires à l'entrée": "x"},
    }
    rows = [valid_row(**{"Identifiant salarié": f"A{n:03d}", **bad_cells.get(n, {})}) for n in range(2, 16)]
    src = write_workbook(
        tmp_path / FICHIER, rows=rows,
        structure_fields=structure(SIRET="12345678901234", **{"Date d'arrêté": "31/13/2023"}),
    )
    header = header_of(rows)
    issues: list[Issue] = []
    for r, cells in bad_cells.items():
        for label, value in cells.items():
            issues.append(cell_issue("nombre-invalide", feuille="Salariés", ligne=r, colonne=label, lettre=letter_of(header, label), valeur=value))
    issues.append(issue("doublon-parcours", FICHIER, feuille="Salariés", ligne=7, autre_ligne=4))  # a row rule
    issues += [
        cell_issue("siret-invalide", feuille="Structure", ligne=3, colonne="SIRET", lettre="B", valeur="12345678901234", detail="clé de contrôle fausse"),
        cell_issue("date-invalide", feuille="Structure", ligne=5, colonne="Date d'arrêté", lettre="B", valeur="31/13/2023"),
    ]
    issues.append(issue("colonne-inconnue", FICHIER, feuille="Salariés", ligne=1, colonne="Divers", lettre="ZZ"))  # a warning
    assert sum(i.is_error for i in issues) == 30

    out = write_error_workbook(src, list(reversed(issues)), tmp_path / "erreurs", schema)
    wb = load_workbook(out)

    expected_red = {f"{i.feuille}!{i.lettre}{i.ligne}" for i in issues if i.is_error and i.lettre}
    assert len(expected_red) == 29
    assert red_cells(wb) == expected_red
    marker_col = get_column_letter(len(header) + 1)
    expected_comments = {f"{i.feuille}!{i.lettre}{i.ligne}": i.message for i in issues if i.is_error and i.lettre}
    expected_comments[f"Salariés!{marker_col}7"] = issues[-4].message  # the row rule: on the row's marker
    assert commented_cells(wb) == expected_comments
    ws = wb["Salariés"]
    for r in range(1, len(rows) + 2):
        count = sum(1 for i in issues if i.is_error and i.feuille == "Salariés" and i.ligne == r)
        marker = ws[f"{marker_col}{r}"].value
        assert marker == (f"⚠ {count} erreur{'s' if count > 1 else ''}" if count else None)
        assert (ws[f"A{r}"].fill.fgColor.rgb == ROW_FILL) == (count > 0)

    assert wb[ERRORS_SHEET]["A1"].value == "30 erreurs dans 15 lignes"  # 2 in Structure, 13 in Salariés
    table = errors_table(wb)
    values = [tuple(c.value for c in row) for row in table]
    assert len(values) == 31
    # Errors sorted by sheet (workbook order) then row then column; the warning last.
    located = [(v[0], v[1], v[3]) for v in values[:30]]
    sheet_rank = {"Structure": 0, "Salariés": 1}
    assert [(s, r) for s, r, _ in located] == sorted(((s, r) for s, r, _ in located), key=lambda t: (sheet_rank[t[0]], t[1]))
    assert values[0][:4] == ("Structure", 3, "SIRET", "B3")
    assert values[-1][6] == "colonne-inconnue" and values[-1][7] == "avertissement"
    for row, value in zip(table[:30], values[:30], strict=True):
        target = f"'{value[0]}'!{value[3] or marker_col + str(value[1])}"
        assert row[0].hyperlink is not None and row[0].hyperlink.location == target
        assert row[1].hyperlink.location == target and row[5].hyperlink is None  # a message wraps: no link


# -- a missing column; an unreadable file ---------------------------------------------------------------------------
def test_missing_column_is_listed_on_erreurs_only(tmp_path: Path, schema: Schema) -> None:
    rows = [{k: v for k, v in valid_row().items() if k != "Sexe"}]
    src = write_workbook(tmp_path / FICHIER, rows=rows)
    missing = issue("colonne-manquante", FICHIER, feuille="Salariés", libelle="Sexe", ligne_entete=1)
    cell = cell_issue("oui-non-invalide", feuille="Salariés", ligne=2, colonne="Accompagnement concerté",
                      lettre=letter_of(header_of(rows), "Accompagnement concerté"), valeur="Oui")
    wb = load_workbook(write_error_workbook(src, [cell, missing], tmp_path, schema))
    table = errors_table(wb)
    assert table[0][6].value == "colonne-manquante"  # the structure error comes first
    assert table[0][1].value is None and table[0][3].value is None
    assert all(c.hyperlink is None for c in table[0])
    assert red_cells(wb) == {f"Salariés!{cell.lettre}2"}
    assert wb[ERRORS_SHEET]["A1"].value == "2 erreurs : 1 sur la structure du fichier et 1 dans 1 ligne"


@pytest.mark.parametrize(
    ("content", "code", "fields"),
    [
        (b"\x00\x01garbage" * 50, "fichier-illisible", {"detail": "format inconnu"}),
        (b"PK\x03\x04" + b"\x00" * 20, "fichier-illisible", {"detail": "archive tronquée"}),
        (b"", "fichier-vide", {}),
        (b"Identifiant;Sexe\nA1;Femme\n", "fichier-illisible", {"detail": "CSV"}),
    ],
)
def test_unreadable_file_gives_erreurs_only(tmp_path: Path, schema: Schema, content: bytes, code: str, fields: dict[str, str]) -> None:
    src = tmp_path / "aci-lyon.xlsx"
    src.write_bytes(content)
    err = issue(code, src.name, **fields)
    out = write_error_workbook(src, [err], tmp_path / "out", schema)
    wb = load_workbook(out)
    assert wb.sheetnames == [ERRORS_SHEET]
    assert wb[ERRORS_SHEET]["A1"].value == "1 erreur sur la structure du fichier"
    assert table_values(wb) == [(None, None, None, None, None, err.message, code, "erreur")]
    assert "n'a pas pu être lu" in " ".join(str(c.value) for c in wb[ERRORS_SHEET]["A"] if c.value)


def test_unreadable_file_without_a_file_issue_still_gives_a_workbook(tmp_path: Path, schema: Schema) -> None:
    src = tmp_path / "corrompu.xlsx"
    src.write_bytes(b"PK\x03\x04not a zip at all")
    wb = load_workbook(write_error_workbook(src, [issue("feuille-manquante", src.name, feuille_attendue="Salariés", feuilles="")], tmp_path, schema))
    assert wb.sheetnames == [ERRORS_SHEET]


def test_encrypted_workbook_gives_erreurs_only(tmp_path: Path, schema: Schema) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = write_workbook(tmp_path / "plain.xlsx", rows=[valid_row(Nom="Dupontel")])
    src = tmp_path / "protege.xlsx"
    with plain.open("rb") as fin, src.open("wb") as fout:
        OOXMLFile(fin).encrypt("secret", fout)
    wb = load_workbook(write_error_workbook(src, [issue("fichier-protege", src.name)], tmp_path, schema))
    assert wb.sheetnames == [ERRORS_SHEET]


# -- direct identifiers ------------------------------------------------------------------------------------------------
def test_identifier_columns_are_blank_and_named(tmp_path: Path, schema: Schema) -> None:
    rows = [
        valid_row(Nom=FAKE_NAMES[0], **{"Prénom": FAKE_NAMES[1], "NIR": FAKE_NAMES[4], "Téléphone": FAKE_NAMES[5], "Date de sortie": "31/02/2023"}),
        valid_row(Nom=FAKE_NAMES[2], **{"Prénom": FAKE_NAMES[3], "Identifiant salarié": "A002"}),
    ]
    src = write_workbook(tmp_path / FICHIER, rows=rows, title_rows=[["Reporting"]])
    header = header_of(rows)
    d = letter_of(header, "Date de sortie")
    issues = [
        cell_issue("date-invalide", feuille="Salariés", ligne=3, colonne="Date de sortie", lettre=d, valeur="31/02/2023"),
        # an error on an identifier cell must not bring its value back either
        issue("valeur-obligatoire", FICHIER, feuille="Salariés", ligne=4, colonne="Nom", lettre=letter_of(header, "Nom"), libelle="Nom"),
    ]
    out = write_error_workbook(src, issues, tmp_path, schema)
    wb = load_workbook(out)
    ws = wb["Salariés"]
    for label in ("Nom", "Prénom", "NIR", "Téléphone"):
        col = letter_of(header, label)
        assert ws[f"{col}2"].value == label  # the header is kept, so letters do not move
        assert ws[f"{col}2"].fill.fgColor.rgb == IDENTIFIER_FILL
        assert ws[f"{col}3"].value is None and ws[f"{col}4"].value is None
    assert ws[f"{letter_of(header, 'Sexe')}3"].value == "Femme"  # other columns at their own letters
    text = all_text_of_xlsx(out)
    for name in FAKE_NAMES:
        assert name not in text
    note = " ".join(str(c.value) for c in wb[ERRORS_SHEET]["A"] if c.value)
    assert "« Identifiant salarié », « Nom », « Prénom », « NIR », « Téléphone »" in note
    assert "A002" not in all_text_of_xlsx(out)  # nor the raw id: rows are found by their number


def test_identifier_letter_from_reader_warning_is_blanked(tmp_path: Path, schema: Schema) -> None:
    # A header the schema would not flag, but the reader reported as a direct identifier: left blank too.
    rows = [valid_row(**{"Coordonnées": FAKE_NAMES[0]})]
    src = write_workbook(tmp_path / FICHIER, rows=rows)
    col = letter_of(header_of(rows), "Coordonnées")
    warn = issue("identifiant-direct-supprime", FICHIER, feuille="Salariés", ligne=1, colonne="Coordonnées", lettre=col)
    out = write_error_workbook(src, [warn], tmp_path, schema)
    assert load_workbook(out)["Salariés"][f"{col}2"].value is None
    assert FAKE_NAMES[0] not in all_text_of_xlsx(out)


def test_sheet_without_header_is_not_copied(tmp_path: Path, schema: Schema) -> None:
    src = write_grid(tmp_path / FICHIER, {"Structure": {(1, 1): "Champ", (1, 2): "Valeur"},
                                          "Salariés": {(1, 1): "Qui", (1, 2): "Quoi", (2, 1): FAKE_NAMES[0], (2, 2): "x"}})
    err = issue("entete-introuvable", FICHIER, feuille="Salariés", lignes=20, minimum=3, exemples="« Sexe »")
    out = write_error_workbook(src, [err], tmp_path, schema)
    wb = load_workbook(out)
    assert wb.sheetnames == [ERRORS_SHEET, "Structure"]
    assert FAKE_NAMES[0] not in all_text_of_xlsx(out)
    assert "« Salariés » n'est pas recopiée" in " ".join(str(c.value) for c in wb[ERRORS_SHEET]["A"] if c.value)


# -- values stay inert ------------------------------------------------------------------------------------------------------
def test_formula_injection_comes_back_as_text(tmp_path: Path, schema: Schema) -> None:
    header = ["Identifiant salarié", "Programme", "Date d'entrée", "Sexe", "Nationalité", "Orienteur / prescripteur"]
    values = ["A001", "+CVG", date(2022, 3, 1), INJECTION, "-Française", "@SUM(A1:A9)"]
    cells = {(1, c): h for c, h in enumerate(header, 1)} | {(2, c): v for c, v in enumerate(values, 1)}
    src = write_grid(tmp_path / FICHIER, {"Salariés": cells})
    bad = cell_issue("valeur-inconnue", feuille="Salariés", ligne=2, colonne="Sexe", lettre="D", valeur=INJECTION,
                     suggestion="", valeurs="Femme, Homme")
    out = write_error_workbook(src, [bad], tmp_path, schema)
    wb = load_workbook(out)
    ws = wb["Salariés"]
    for col, value in ((2, "+CVG"), (4, INJECTION), (5, "-Française"), (6, "@SUM(A1:A9)")):
        cell = ws.cell(row=2, column=col)
        assert cell.value == value and cell.data_type == "s"
        assert cell.quotePrefix
    assert table_values(wb)[0][4] == INJECTION
    assert errors_table(wb)[0][4].data_type == "s"
    with zipfile.ZipFile(out) as zf:
        sheets = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        assert not any("<f>" in s or "<f " in s for s in sheets)
        assert not any(n.startswith("xl/externalLinks") or "vba" in n.lower() for n in zf.namelist())


@settings(max_examples=50, deadline=None)
@given(start=st.sampled_from(["=", "+", "-", "@", ""]), rest=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30))
def test_any_text_comes_back_as_the_same_text(start: str, rest: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    text = start + rest
    if not text.strip():
        return
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    put(ws, 1, 1, text)
    path = tmp_path_factory.mktemp("h") / "t.xlsx"
    wb.save(path)
    cell = load_workbook(path).active["A1"]  # type: ignore[index]
    assert cell.data_type == "s" and cell.value == text


def test_xlsm_formulas_and_macros_are_not_copied(tmp_path: Path, schema: Schema) -> None:
    # A formula's cached value is copied as a value; the formula itself never is.
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Salariés"
    ws.append(["Identifiant salarié", "Programme", "Sexe", "Heures hebdomadaires à l'entrée"])
    ws.append(["A1", "CVG", "Femme", "=10+10"])
    src = tmp_path / "aci.xlsm"
    wb.save(src)
    out = write_error_workbook(src, [], tmp_path, schema)
    assert out.name == "aci-erreurs.xlsx"
    copy = load_workbook(out)["Salariés"]
    assert copy["D2"].value in (None, 20)  # openpyxl stores no cached value; never "=10+10"
    with zipfile.ZipFile(out) as zf:
        assert not any("vba" in n.lower() for n in zf.namelist())


# -- cells at their real address, in every format -------------------------------------------------------------------------
OFFSET_GRID: dict[tuple[int, int], Any] = {
    (1, 4): "Reporting CVG — Atelier Test",  # a title in D1 (above the header: copied in any column)
    # row 2 and 3 blank; the table starts at column B, row 4
    (4, 2): "Identifiant salarié", (4, 3): "Nom", (4, 4): "Date d'entrée", (4, 5): "Sexe", (4, 6): "Heures hebdomadaires à l'entrée",
    (5, 2): "A001", (5, 3): FAKE_NAMES[0], (5, 4): date(2022, 3, 1), (5, 5): "Femme", (5, 6): 20,
    (7, 2): "A002", (7, 3): FAKE_NAMES[2], (7, 4): "31/02/2023", (7, 5): "Femme", (7, 6): 20.5,
}


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".ods"])
def test_cells_land_at_their_excel_address(tmp_path: Path, schema: Schema, suffix: str) -> None:
    src = write_grid(tmp_path / f"aci-lyon{suffix}", {
        "Structure": {(1, 1): "Champ", (1, 2): "Valeur", (2, 1): "SIRET", (2, 2): SIRET},
        "Salariés": OFFSET_GRID,
        "Notes": {(1, 1): "ignorée"},
    })
    bad = cell_issue("date-invalide", feuille="Salariés", ligne=7, colonne="Date d'entrée", lettre="D", valeur="31/02/2023")
    out = write_error_workbook(src, [bad], tmp_path / "erreurs", schema)
    assert out.name == "aci-lyon-erreurs.xlsx"
    wb = load_workbook(out)
    assert wb.sheetnames == [ERRORS_SHEET, "Structure", "Salariés"]
    ws = wb["Salariés"]
    for (r, c), value in OFFSET_GRID.items():
        got = ws.cell(row=r, column=c).value
        if (c in (2, 3) and r > 4) or r < 4:
            assert got is None  # the Identifiant salarié and Nom columns: blank below the header; no title
        elif isinstance(value, date):
            assert got == datetime(value.year, value.month, value.day)
        else:
            assert got == value, (r, c)
    written = {(c.row, c.column) for row in ws.iter_rows() for c in row if c.value is not None}
    expected = {rc for rc in OFFSET_GRID if not (rc[1] in (2, 3) and rc[0] > 4) and rc[0] >= 4} | {(7, 7)}  # + marker G7
    assert written == expected
    assert red_cells(wb) == {"Salariés!D7"}
    assert wb["Structure"]["B2"].value == SIRET
    assert errors_table(wb)[0][0].hyperlink.location == "'Salariés'!D7"


def test_issue_without_letter_is_located_by_its_header(tmp_path: Path, schema: Schema) -> None:
    rows = [valid_row(Sexe="Z")]
    src = write_workbook(tmp_path / FICHIER, rows=rows, title_rows=[["x"]])
    bad = issue("valeur-inconnue", FICHIER, feuille="Salariés", ligne=3, colonne="Sexe", valeur="Z", suggestion="", valeurs="Femme, Homme")
    wb = load_workbook(write_error_workbook(src, [bad], tmp_path, schema))
    assert red_cells(wb) == {f"Salariés!{letter_of(header_of(rows), 'Sexe')}3"}


def test_sheet_names_with_quotes_are_linked(tmp_path: Path, schema: Schema) -> None:
    rows = [valid_row(Sexe="Z")]
    src = write_workbook(tmp_path / FICHIER, rows=rows, salaries_sheet="Salariés CVG", structure_sheet="Fiche structure")
    col = letter_of(header_of(rows), "Sexe")
    bad = cell_issue("valeur-inconnue", feuille="Salariés CVG", ligne=2, colonne="Sexe", lettre=col, valeur="Z", suggestion="", valeurs="Femme, Homme")
    wb = load_workbook(write_error_workbook(src, [bad], tmp_path, schema))
    assert wb.sheetnames == [ERRORS_SHEET, "Fiche structure", "Salariés CVG"]
    assert errors_table(wb)[0][0].hyperlink.location == f"'Salariés CVG'!{col}2"


def test_read_raw_sheets_types(tmp_path: Path) -> None:
    src = write_grid(tmp_path / "t.xlsx", {"S": {(1, 1): "007", (2, 1): 12, (3, 1): 3.5, (4, 1): True, (5, 1): date(2023, 1, 2),
                                                 (6, 1): datetime(2023, 1, 2, 10, 30), (7, 1): "12", (8, 1): 1e12, (9, 1): -5}})
    [raw] = read_raw_sheets(src)
    assert raw.cells == {(1, 1): "007", (2, 1): 12, (3, 1): 3.5, (4, 1): True, (5, 1): date(2023, 1, 2),
                         (6, 1): datetime(2023, 1, 2, 10, 30), (7, 1): "12", (8, 1): 10**12, (9, 1): -5}


def test_an_existing_file_is_never_replaced(tmp_path: Path, schema: Schema) -> None:
    """Fails on main before issue 13 point 1: a second workbook replaced the first (os.replace)."""
    src = write_workbook(tmp_path / FICHIER, rows=[valid_row()])
    first = write_error_workbook(src, [issue("colonne-manquante", FICHIER, feuille="Salariés", libelle="Sexe", ligne_entete=1)], tmp_path, schema)
    before = first.read_bytes()
    second = write_error_workbook(src, [], tmp_path, schema)
    assert (first.name, second.name) == ("aci-test-erreurs.xlsx", "aci-test-erreurs-2.xlsx")
    assert first.read_bytes() == before
    assert load_workbook(second)[ERRORS_SHEET]["A1"].value == "Aucune erreur"
    assert {p.stat().st_mode & 0o777 for p in (first, second)} == {0o600}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".cvg-")] == []
    # a dangling symbolic link holds its name too: never followed, never replaced
    (tmp_path / "aci-test-erreurs-3.xlsx").symlink_to(tmp_path / "ailleurs.xlsx")
    third = write_error_workbook(src, [], tmp_path, schema)
    assert third.name == "aci-test-erreurs-4.xlsx" and not (tmp_path / "ailleurs.xlsx").exists()


def test_without_hard_links_the_name_is_still_created_exclusively(tmp_path: Path, schema: Schema, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    def no_link(*_args: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    src = write_workbook(tmp_path / FICHIER, rows=[valid_row()])
    (tmp_path / "aci-test-erreurs.xlsx").write_bytes(b"corrige par l'ACI")
    out = write_error_workbook(src, [], tmp_path, schema)
    assert out.name == "aci-test-erreurs-2.xlsx" and out.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "aci-test-erreurs.xlsx").read_bytes() == b"corrige par l'ACI"
    assert load_workbook(out)[ERRORS_SHEET]["A1"].value == "Aucune erreur"


def test_full_dates_of_birth_are_copied_as_the_year(tmp_path: Path, schema: Schema) -> None:
    births: list[Any] = [date(1980, 5, 17), "17/05/1981", "n'importe quoi"]
    rows = [{**{k: v for k, v in valid_row(**{"Identifiant salarié": f"A{n}"}).items() if k != "Année de naissance"},
             "Date de naissance": birth} for n, birth in enumerate(births)]  # the date instead of the year
    src = write_workbook(tmp_path / FICHIER, rows=rows)
    col = letter_of(header_of(rows), "Date de naissance")
    bad = issue("date-invalide", FICHIER, feuille="Salariés", ligne=4, colonne="Date de naissance", lettre=col, valeur=None)
    out = write_error_workbook(src, [bad], tmp_path, schema)
    ws = load_workbook(out)["Salariés"]
    assert [ws[f"{col}{r}"].value for r in (1, 2, 3, 4)] == ["Date de naissance", 1980, 1981, None]
    assert ws[f"{col}4"].fill.fgColor.rgb == ERROR_FILL
    text = all_text_of_xlsx(out)
    assert "17/05/1981" not in text and "n'importe quoi" not in text


# -- several files; our own output --------------------------------------------------------------------------------------
def test_several_files_never_overwrite_each_other(tmp_path: Path, schema: Schema) -> None:
    a = write_workbook(tmp_path / "in" / "aci.xlsx", rows=[valid_row()])
    b = write_grid(tmp_path / "in" / "aci.ods", {"Salariés": {(1, 1): "Identifiant salarié", (1, 2): "Sexe", (1, 3): "Programme"}})
    c = write_workbook(tmp_path / "in" / "sub" / "aci.xlsx", rows=[valid_row()])
    err = [issue("colonne-manquante", "aci", feuille="Salariés", libelle="Sexe", ligne_entete=1)]
    outcomes = write_error_workbooks([(a, err), (b, err), (c, err)], tmp_path / "erreurs", schema)
    assert [o.path.name if o.path else None for o in outcomes] == ["aci-erreurs.xlsx", "aci-erreurs-2.xlsx", "aci-erreurs-3.xlsx"]
    assert [o.source for o in outcomes] == [a, b, c] and all(o.probleme is None for o in outcomes)
    titles = {load_workbook(o.path).properties.title for o in outcomes if o.path}
    assert titles == {"Erreurs du fichier aci.xlsx", "Erreurs du fichier aci.ods"}
    # next to each file
    outcomes = write_error_workbooks([(a, err), (c, err)], None, schema)
    assert [o.path for o in outcomes] == [tmp_path / "in" / "aci-erreurs.xlsx", tmp_path / "in" / "sub" / "aci-erreurs.xlsx"]


def test_unwritable_destination_is_reported_not_raised(tmp_path: Path, schema: Schema) -> None:
    src = write_workbook(tmp_path / FICHIER, rows=[valid_row()])
    blocker = tmp_path / "erreurs"
    blocker.write_text("un fichier, pas un dossier")
    [outcome] = write_error_workbooks([(src, [])], blocker, schema)
    assert outcome.path is None and outcome.probleme is not None and "écriture impossible" in outcome.probleme


def test_untouched_error_workbooks_are_recognised(tmp_path: Path, schema: Schema) -> None:
    src = write_workbook(tmp_path / FICHIER, rows=[valid_row()])
    out = write_error_workbook(src, [], tmp_path, schema)
    assert is_untouched_error_workbook(out)
    assert not is_untouched_error_workbook(src)  # a reporting file
    renamed = tmp_path / "autre-erreurs.xlsx"
    renamed.write_bytes(src.read_bytes())
    assert not is_untouched_error_workbook(renamed)  # an ACI's file that happens to be named so
    garbage = tmp_path / "x-erreurs.xlsx"
    garbage.write_bytes(b"not a zip")
    assert not is_untouched_error_workbook(garbage)
    # The ACI corrects the copy and saves it: a reporting file again.
    wb = load_workbook(out)
    wb.properties.lastModifiedBy = "Marie"
    corrected = tmp_path / "corrige-erreurs.xlsx"
    wb.save(corrected)
    assert not is_untouched_error_workbook(corrected)


# -- end to end through the real reader and validation -------------------------------------------------------------------
def _bad_reporting_file(path: Path) -> Path:
    """A rejected file as an ACI sends it: a title row, fake names, a formula-like text, several kinds of error."""
    rows = [
        valid_row(Nom=FAKE_NAMES[0], **{"Prénom": FAKE_NAMES[1], "Date de sortie": "31/02/2023"}),
        valid_row(Nom=FAKE_NAMES[2], **{"Prénom": FAKE_NAMES[3], "Identifiant salarié": "A002", "Sexe": INJECTION,
                                        "Heures hebdomadaires à l'entrée": 50}),
        open_row(Nom="Sans-Identifiant", **{"Identifiant salarié": None, "Prénom": "Fictif"}),
        valid_row(**{"Identifiant salarié": "A004"}),
    ]
    write_workbook(path, rows=rows, title_rows=[["Reporting CVG"]], structure_fields=structure(SIRET="12345678901234"))
    wb = load_workbook(path)
    ws = wb["Salariés"]
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == INJECTION:
                cell.data_type = "s"  # a text cell in the ACI's file, not a formula
    wb.save(path)
    return path


def test_end_to_end_with_the_real_reader(tmp_path: Path, schema: Schema) -> None:
    from cvg_pipeline.ingest.run import verify_paths

    src = _bad_reporting_file(tmp_path / "in" / "aci-lyon.xlsx")
    [result] = verify_paths([src], schema=schema, today=date(2024, 1, 15))
    assert not result.accepted
    [outcome] = write_error_workbooks([(result.path, result.issues)], tmp_path / "erreurs", schema)
    assert outcome.path == tmp_path / "erreurs" / "aci-lyon-erreurs.xlsx"
    wb = load_workbook(outcome.path)
    errors = result.errors
    located = [i for i in errors if i.ligne is not None and i.lettre is not None]
    assert {i.code for i in located} >= {"siret-invalide", "date-invalide", "hors-bornes", "valeur-inconnue"}
    assert red_cells(wb) == {f"{i.feuille}!{i.lettre}{i.ligne}" for i in located}
    comments = commented_cells(wb)
    for i in located:
        assert i.message in comments[f"{i.feuille}!{i.lettre}{i.ligne}"]
    # Same coordinates as in the ACI's file, values as sent (identifiers aside).
    sexe = next(i for i in located if i.code == "valeur-inconnue" and i.colonne == "Sexe")
    cell = wb["Salariés"][f"{sexe.lettre}{sexe.ligne}"]
    assert cell.value == INJECTION and cell.data_type == "s"
    assert table_values(wb)[0][0] is None or table_values(wb)[0][0] in ("Structure", "Salariés")
    assert len([v for v in table_values(wb) if v[7] == "erreur"]) == len(errors)
    assert wb[ERRORS_SHEET]["A1"].value.startswith(f"{len(errors)} erreurs")
    text = all_text_of_xlsx(outcome.path)
    for name in (*FAKE_NAMES[:4], "Sans-Identifiant", "Fictif"):
        assert name not in text


@pytest.mark.parametrize("kind", ["entity", "sparse"])
def test_hostile_file_is_never_opened_even_without_a_file_issue(tmp_path: Path, schema: Schema, kind: str) -> None:
    from tests import hostile

    plain = write_workbook(tmp_path / "plain.xlsx", rows=[valid_row()])
    src = (hostile.entity_bomb(plain, tmp_path / "bombe.xlsx") if kind == "entity"
           else hostile.sparse_sheet(plain, tmp_path / "creux.xlsx"))
    wb = load_workbook(write_error_workbook(src, [], tmp_path / "out", schema))
    assert wb.sheetnames == [ERRORS_SHEET]


# -- the commands --------------------------------------------------------------------------------------------------------
def _cli(args: list[str], cwd: Path) -> Any:
    import os

    from typer.testing import CliRunner

    from cvg_pipeline.cli import app

    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(app, args, env={"CVG_STORE": ""})
    finally:
        os.chdir(old)


def test_cvg_verifier_writes_the_error_workbook_into_erreurs_of_the_current_folder(tmp_path: Path, schema: Schema) -> None:
    import json

    src = _bad_reporting_file(tmp_path / "envoi" / "aci-lyon.xlsx")
    write_workbook(tmp_path / "envoi" / "aci-bon.xlsx", rows=[valid_row()])
    result = _cli(["verifier", str(src)], tmp_path)
    assert result.exit_code == 1, result.output
    expected = tmp_path / "erreurs" / "aci-lyon-erreurs.xlsx"
    assert expected.is_file() and sorted(p.name for p in (tmp_path / "envoi").iterdir()) == ["aci-bon.xlsx", "aci-lyon.xlsx"]
    assert f"Classeur d'erreurs à ouvrir : {expected}" in result.output.replace("\n", "")
    assert re.search(r"Votre fichier contient \d+ erreurs : ouvrez", result.output)
    wb = load_workbook(expected)
    assert wb.sheetnames == [ERRORS_SHEET, "Structure", "Salariés"]
    assert red_cells(wb)  # the located errors are marked
    for name in FAKE_NAMES[:4]:
        assert name not in all_text_of_xlsx(expected) and name not in result.output

    # Asked to write into the folder it reads: our own untouched workbooks there are skipped, never replaced.
    envoi = tmp_path / "envoi"
    for n, name in enumerate(["aci-lyon-erreurs.xlsx", "aci-lyon-erreurs-2.xlsx"]):
        again = _cli(["verifier", "--json", "--erreurs", str(envoi), str(envoi)], tmp_path)
        assert again.exit_code == 1
        payload = json.loads(again.stdout)
        by_name = {f["fichier"]: f for f in payload["fichiers"]}
        assert by_name["aci-bon.xlsx"]["statut"] != "rejeté" and "classeur_erreurs" not in by_name["aci-bon.xlsx"]
        assert by_name["aci-lyon.xlsx"]["classeur_erreurs"] == str(envoi / name)
        assert payload["classeurs_erreurs"] == [str(envoi / name)]
        if n:
            assert by_name["aci-lyon-erreurs.xlsx"]["statut"] == "ignoré"
    assert not list(envoi.glob("*-erreurs-erreurs*.xlsx"))


def test_default_destination_inside_a_folder_to_read_is_refused(tmp_path: Path, schema: Schema) -> None:
    """Fails on main before issue 13 point 1: `cvg verifier .` wrote next to each file, inside the input folder."""
    import json

    _bad_reporting_file(tmp_path / "aci-lyon.xlsx")
    result = _cli(["verifier", "--json", "."], tmp_path)
    assert result.exit_code == 1
    [entry] = json.loads(result.stdout)["fichiers"]
    assert entry["classeur_erreurs"] is None
    assert entry["classeur_erreurs_probleme"] == (
        f"le dossier par défaut « {tmp_path / 'erreurs'} » est dans le dossier à lire « . » : "
        "indiquez où écrire les classeurs d'erreurs avec --erreurs DOSSIER")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aci-lyon.xlsx"]
    plain = _cli(["verifier", "."], tmp_path)
    assert "Classeur d'erreurs de « aci-lyon.xlsx » non écrit : le dossier par défaut" in plain.output.replace("\n", "")


def test_cvg_ingest_writes_error_workbooks_next_to_the_store_or_into_erreurs(tmp_path: Path, schema: Schema) -> None:
    import json

    uploads = tmp_path / "uploads"
    _bad_reporting_file(uploads / "aci-lyon.xlsx")
    (uploads / "casse.ods").write_bytes(b"PK\x03\x04 pas un classeur")
    store = tmp_path / "base" / "cvg.duckdb"
    store.parent.mkdir()
    assert _cli(["init", "--store", str(store)], tmp_path).exit_code == 0
    result = _cli(["ingest", "--json", "--store", str(store), str(uploads)], tmp_path)
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    by_name = {f["fichier"]: f for f in payload["fichiers"]}
    assert by_name["aci-lyon.xlsx"]["classeur_erreurs"] == str(store.parent / "erreurs" / "aci-lyon-erreurs.xlsx")
    assert by_name["casse.ods"]["classeur_erreurs"] == str(store.parent / "erreurs" / "casse-erreurs.xlsx")
    assert load_workbook(store.parent / "erreurs" / "casse-erreurs.xlsx").sheetnames == [ERRORS_SHEET]

    chosen = tmp_path / "a-renvoyer"
    result = _cli(["ingest", "--store", str(store), "--erreurs", str(chosen), str(uploads)], tmp_path)
    assert result.exit_code == 1
    assert sorted(p.name for p in chosen.iterdir()) == ["aci-lyon-erreurs.xlsx", "casse-erreurs.xlsx"]
    assert "Classeur d'erreurs à renvoyer à l'ACI" in result.output


@pytest.mark.parametrize(("sheets", "expected"), [
    (("Structure", "Salariés"), "Les feuilles « Structure » et « Salariés » sont une copie"),
    ((None, "Salariés"), "La feuille « Salariés » est une copie"),
])
def test_guide_names_the_copied_sheets(tmp_path: Path, schema: Schema, sheets: tuple[str | None, str], expected: str) -> None:
    src = write_workbook(tmp_path / FICHIER, rows=[valid_row()], structure_sheet=sheets[0], salaries_sheet=sheets[1])
    wb = load_workbook(write_error_workbook(src, [], tmp_path, schema))
    assert any(str(c.value).startswith(expected) for c in wb[ERRORS_SHEET]["A"] if c.value)


# -- issue 13: real commands, run through cli.main in the test process (tests/inprocess.py) --------------------------------
def _cvg(cwd: Path, *args: object) -> Any:
    from tests import inprocess

    proc = inprocess.run(*map(str, args), cwd=cwd, env={"CVG_STORE": None})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _store_rows(store: Path) -> tuple[list[tuple[Any, ...]], int]:
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        snapshots = con.execute("SELECT fichier, siret, nb_lignes FROM snapshots ORDER BY fichier").fetchall()
        (parcours,) = con.execute("SELECT count(*) FROM parcours").fetchone() or (0,)
        return snapshots, int(parcours)
    finally:
        con.close()


def test_issue13_point1_the_acis_corrected_file_is_never_overwritten(tmp_path: Path) -> None:
    """Fails on main before issue 13 point 1: with `aci.xlsx` (refused) and the ACI's corrected
    `aci-erreurs.xlsx` in one folder, `cvg verifier recus/` and `cvg ingest --erreurs recus/ recus/` replaced the
    corrected file with the new error workbook (os.replace onto the same name, next to each file)."""
    recus = tmp_path / "recus"
    _bad_reporting_file(recus / "aci.xlsx")
    corrected = write_workbook(recus / "aci-erreurs.xlsx", rows=[valid_row(), open_row(**{"Identifiant salarié": "A2"})])
    before = corrected.read_bytes()
    store = tmp_path / "base" / "cvg.duckdb"
    assert _cvg(tmp_path, "init", "--store", store).returncode == 0

    check = _cvg(tmp_path, "verifier", "recus")
    assert check.returncode == 1
    assert corrected.read_bytes() == before
    assert sorted(p.name for p in recus.iterdir()) == ["aci-erreurs.xlsx", "aci.xlsx"]  # nothing written among inputs
    assert f"Classeur d'erreurs à ouvrir : {tmp_path / 'erreurs' / 'aci-erreurs.xlsx'}" in check.stdout

    run = _cvg(tmp_path, "ingest", "--store", store, "--erreurs", "recus", "recus")
    assert run.returncode == 1
    assert corrected.read_bytes() == before  # the corrected file: read, stored, never replaced
    assert f"Classeur d'erreurs à renvoyer à l'ACI : {Path('recus') / 'aci-erreurs-2.xlsx'}" in run.stdout
    assert sorted(p.name for p in recus.iterdir()) == ["aci-erreurs-2.xlsx", "aci-erreurs.xlsx", "aci.xlsx"]
    assert (recus / "aci-erreurs-2.xlsx").stat().st_mode & 0o777 == 0o600
    assert is_untouched_error_workbook(recus / "aci-erreurs-2.xlsx")
    assert _store_rows(store) == ([("aci-erreurs.xlsx", SIRET, 2)], 2)

    # Again: our own untouched workbook is skipped, the next one takes the next free name.
    again = _cvg(tmp_path, "ingest", "--store", store, "--erreurs", "recus", "recus")
    assert again.returncode == 1 and "déjà intégré" in again.stdout
    assert (recus / "aci-erreurs-3.xlsx").is_file() and corrected.read_bytes() == before
    assert _store_rows(store) == ([("aci-erreurs.xlsx", SIRET, 2)], 2)


LEAKS = {  # header the schema does not know (or a direct identifier) -> a personal value under it
    "N° SS": "285057512345678", "Numéro INSEE": "179031234567891", "Né(e) le": date(1983, 11, 29),
    "Identifiant salarié (PASS IAE)": "PASSIAEX99812345", "Code": "CODEXQ77810", "Identité": "Dupontelliard Jeaninette",
    "Noms": "Marcellinettex", "Salarié": "Quentinobertz", "Bénéficiaire": "Zorglubetta", "Patronyme": "Vercingetorixa",
    "Observations": "suivi psychiatrique Sainte-Anne",
}


def test_issue13_point11_error_workbook_copies_only_the_schemas_cells(tmp_path: Path) -> None:
    """Fails on main before issue 13 point 11: the error workbook copied every cell of the sheets (unknown
    columns, a column without header, the title row, rows below the table, a second table, Structure's extra
    lines), and the messages quoted a birth date typed into « Année de naissance » and a second table's cells."""
    rows = [valid_row(**{"Identifiant salarié": "RAWID0001", "Année de naissance": "17/05/1980", **LEAKS}),
            valid_row(**{"Identifiant salarié": "RAWID0002", "Sexe": "Inconnu", **LEAKS})]
    src = write_workbook(tmp_path / "recus" / "aci.xlsx", rows=rows, title_rows=[["Reporting de Mme Titreuse"]])
    wb = load_workbook(src)
    ws = wb["Salariés"]
    header = [c.value for c in ws[2]]
    ws.cell(row=3, column=len(header) + 2, value="Cachetteux Sansentete")  # a column without header
    ws.append([])
    ws.append(["Nom", "Prénom", "Observations"])  # a second table lower in the sheet
    ws.append(["Secondtablard", "Prenomitte", "detention Fleury Merogis"])
    wb["Structure"].append(["Référent de parcours", "Madame Structuronne"])
    wb.save(src)
    store = tmp_path / "cvg.duckdb"
    assert _cvg(tmp_path, "init", "--store", store).returncode == 0

    run = _cvg(tmp_path, "ingest", "--store", store, "--erreurs", tmp_path / "out", tmp_path / "recus")
    assert run.returncode == 1
    year = letter_of(header, "Année de naissance")
    assert ("Salariés, ligne 3, colonne « Année de naissance » : « une date complète » n'est pas une année valide "
            "(attendu un nombre entier, par exemple 1985).") in run.stdout
    assert ("Salariés, ligne 6 : cette ligne et les suivantes, séparées du tableau par une ligne vide, ne sont pas "
            "des parcours") in run.stdout
    for secret in ("17/05/1980", "Secondtablard", "Prenomitte", "detention Fleury Merogis"):
        assert secret not in run.stdout
    assert _store_rows(store) == ([], 0)  # refused: nothing stored

    out = tmp_path / "out" / "aci-erreurs.xlsx"
    text = all_text_of_xlsx(out)
    secrets = [v for v in LEAKS.values() if isinstance(v, str)] + [
        "RAWID0001", "RAWID0002", "Cachetteux Sansentete", "Reporting de Mme Titreuse", "Madame Structuronne",
        "17/05/1980", "Secondtablard", "Prenomitte", "detention Fleury Merogis", "<v>30649</v>"]  # 30649: 29/11/1983
    assert [s for s in secrets if s in text] == []
    copy = load_workbook(out)
    ws = copy["Salariés"]
    sexe = letter_of(header, "Sexe")
    assert ws[f"{sexe}4"].value == "Inconnu" and ws[f"{sexe}4"].fill.fgColor.rgb == ERROR_FILL  # at its address
    assert ws[f"{sexe}2"].value == "Sexe" and ws[f"{sexe}3"].value == "Femme"
    assert ws[f"{year}3"].value is None and ws[f"{year}3"].fill.fgColor.rgb == ERROR_FILL
    assert ws[f"{year}4"].value == 1980
    for label in LEAKS:
        col = letter_of(header, label)
        assert [ws[f"{col}{r}"].value for r in (2, 3, 4)] == [None, None, None], label
        assert ws[f"{col}2"].fill.fgColor.rgb == IDENTIFIER_FILL
    assert ws["A1"].value is None and ws.max_row == 6  # the marker of row 6; nothing of the second table
    assert [c.value for c in copy["Structure"]["A"] if c.value is not None] == [
        "Champ", "Nom de la structure", "SIRET", "Territoire", "Date d'arrêté", "Supports d'activité"]
    values = table_values(copy)
    assert ("Salariés", 3, "Année de naissance", f"{year}3", None) == values[0][:5]


def test_what_the_reader_does_not_read_is_not_copied(tmp_path: Path, schema: Schema) -> None:
    """Fails on main before issue 13 point 11: a field given twice in Structure (« Nom », a synonym of the
    structure's name, lower in the sheet with a person's name) and a second column for the same data in
    Salariés (« Genre » after « Sexe ») were copied, although the reader reads only the first of each."""
    rows = [valid_row(**{"Genre": FAKE_NAMES[0]})]
    src = write_workbook(tmp_path / FICHIER, rows=rows, structure_fields={**structure(), "Référent": None})
    wb = load_workbook(src)
    wb["Structure"].append([])
    wb["Structure"].append(["Nom", FAKE_NAMES[1]])
    wb.save(src)
    out = write_error_workbook(src, [], tmp_path / "out", schema)
    copy = load_workbook(out)
    genre = letter_of(header_of(rows), "Genre")
    assert copy["Salariés"][f"{genre}1"].value == "Genre" and copy["Salariés"][f"{genre}2"].value is None
    assert copy["Salariés"][f"{genre}1"].fill.fgColor.rgb == IDENTIFIER_FILL
    assert copy["Structure"]["A9"].value == "Nom" and copy["Structure"]["B9"].value is None
    assert copy["Structure"]["B2"].value == "Atelier Test"
    text = all_text_of_xlsx(out)
    assert FAKE_NAMES[0] not in text and FAKE_NAMES[1] not in text


# -- the reader's rules the copy shares (salaries_sheet.table_end, sheet.is_full_date) -------------------------------------------
_D = "2022-03-01 00:00:00"


@pytest.mark.parametrize(("rows", "entry_column", "expected"), [
    ([(False, _D, ["A1", _D]), (False, _D, ["A2", _D])], True, None),  # no blank row
    ([(False, _D, ["A1"]), (True, None, []), (False, "01/03/2022", ["A2"])], True, None),  # a blank row inside
    ([(False, _D, ["A1"]), (True, None, []), (False, "Date d'entrée", ["Nom"])], True, 2),  # a second table's header
    ([(False, _D, ["A1"]), (True, None, []), (True, None, []), (False, None, ["Note"])], True, 3),  # a note
    ([(False, _D, ["A1"]), (True, None, []), (False, "incarcération 2021", ["x"])], True, 2),  # digits, no date
    ([(False, None, ["A1"]), (False, None, ["Nom"])], True, None),  # no blank row before: a row of the table
    ([(True, None, []), (False, "44621", ["A1"])], True, None),  # a date serial
    ([(False, None, ["A1", "12"]), (True, None, []), (False, None, ["Total", "12"])], False, None),
    ([(False, None, ["A1", "12"]), (True, None, []), (False, None, ["Nom", "Prénom"])], False, 2),
])
def test_table_end(rows: list[tuple[bool, str | None, list[str]]], entry_column: bool, expected: int | None) -> None:
    from cvg_pipeline.read.salaries_sheet import table_end

    assert table_end(rows, entry_column=entry_column) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("17/05/1980", True), ("1980-05-17 00:00:00", True), ("17 mai 1980", True), ("17.05.80", True),
    ("1980", False), ("1980.5", False), ("1980,0", False), ("mil neuf cent", False), ("vers 1980", False),
])
def test_is_full_date(text: str, expected: bool) -> None:
    from cvg_pipeline.read.sheet import is_full_date

    assert is_full_date(text) is expected


# -- issue 20 point 11: the error workbook on paper ---------------------------------------------------------------------
# A 10-row file refused with an error on every row (long messages: every accepted value of a long list, up to ~770
# characters), written with all the template's columns, and a Structure error with a long message.
TEN_ROWS_BAD = {
    0: {"Situation à la sortie": "Parti en vacances"},
    1: {"Date d'entrée": "31/02/2023"},
    2: {"Sexe": "Inconnu", "Nationalité": "Lune"},
    3: {"Orienteur / prescripteur": "Le voisin"},
    4: {"Situation logement à la sortie": "Château"},
    5: {"Heures hebdomadaires à l'entrée": "vingt"},
    6: {"Durée sans emploi à l'entrée": "longtemps", "Situation à la sortie": "Partie"},
    7: {"Date de sortie": "32/01/2023"},
    8: {"Situation logement à l'entrée": "Tente", "Programme": "XYZ"},
    9: {"Difficulté Logement à la sortie": "Peut-être"},
}


def ten_row_refused_file(path: Path) -> Path:
    from tests.builders import all_labels

    rows = [valid_row(**{"Identifiant salarié": f"X{n:03d}", **bad}) for n, bad in TEN_ROWS_BAD.items()]
    return write_workbook(path, rows=rows, header=all_labels(), structure_fields=structure(Territoire="Rennes Metropolle"))


@pytest.fixture(scope="module")
def ten_row_error_workbook(tmp_path_factory: pytest.TempPathFactory, schema: Schema) -> Path:
    """The error workbook of `ten_row_refused_file`, with the issues the real reader finds in it."""
    from cvg_pipeline.read.workbook import read_workbooks

    folder = tmp_path_factory.mktemp("dix-lignes")
    src = ten_row_refused_file(folder / "aci-dix-lignes.xlsx")
    issues = read_workbooks([src], schema)[0].issues
    assert sum(i.is_error for i in issues) == 14
    return write_error_workbook(src, issues, folder / "erreurs", schema)


def _least_lines(text: str, width: float) -> int:
    """Lines a wrapped `text` takes at the least in a column of `width`: Excel fits about 1.2 characters of
    Calibri 11 per unit of width, LibreOffice fewer; a paragraph never takes fewer lines than its length over that."""
    import math

    return sum(max(1, math.ceil(len(part) / (1.2 * width))) for part in text.split("\n"))


def test_issue20_point11_erreurs_rows_are_as_tall_as_their_wrapped_text(ten_row_error_workbook: Path) -> None:
    """Fails on main before 9f0f685 (issue 20 point 11): the Erreurs sheet's rows had no height (LibreOffice, which does not
    size rows when it opens an .xlsx, showed one line: messages of ~900 characters cut at the cell's edge, the
    guide lines running off the page), only the Message column wrapped, and the guide lines sat in column A."""
    ws = load_workbook(ten_row_error_workbook)[ERRORS_SHEET]
    widths = {col: ws.column_dimensions[get_column_letter(col)].width for col in range(1, len(ERRORS_HEADER) + 1)}
    table = errors_table(load_workbook(ten_row_error_workbook))
    assert len(table) == 14
    long_messages = 0
    for row in table:
        height = ws.row_dimensions[row[0].row].height
        assert height is not None, row[0].row
        for cell in row:
            if cell.value is None:
                continue
            assert cell.alignment.wrap_text and cell.alignment.vertical == "top", cell.coordinate
            assert height >= 15 * _least_lines(str(cell.value), widths[cell.column]), (cell.coordinate, height)
        long_messages += len(str(row[5].value)) > 400
    assert long_messages == 3
    # The summary and guide lines: each over the table's whole width, wrapped, as tall as its text.
    merged = {r.min_row: r for r in ws.merged_cells.ranges}
    guide_rows = [r for r in range(2, table[0][0].row - 1) if ws.cell(r, 1).value]
    assert len(guide_rows) >= 3
    total = sum(widths.values())
    for r in guide_rows:
        assert (merged[r].min_col, merged[r].max_col) == (1, len(ERRORS_HEADER)), r
        assert ws.cell(r, 1).alignment.wrap_text
        assert (ws.row_dimensions[r].height or 0) >= 15 * _least_lines(str(ws.cell(r, 1).value), total), r


def test_issue20_point11_every_sheet_prints_like_the_template(ten_row_error_workbook: Path) -> None:
    """Fails on main before 9f0f685 (issue 20 point 11): no page setup at all (portrait, 100 %, no repeated header, no
    page number: 24 A4 pages for 10 rows, the copied Salariés spread column by column), no row numbers on paper
    once the identifier column is left blank, comments never printed."""
    wb = load_workbook(ten_row_error_workbook)
    header_rows = {ERRORS_SHEET: errors_table(wb)[0][0].row - 1, "Salariés": 1, "Structure": None}
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert str(ws.page_setup.paperSize) == str(ws.PAPERSIZE_A4), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (int(ws.page_setup.fitToWidth), int(ws.page_setup.fitToHeight)) == (1, 0), ws.title
        assert ws.oddFooter.center.text == "Page &P / &N", ws.title
        row = header_rows[ws.title]
        assert ws.print_title_rows == (f"${row}:${row}" if row is not None else None), ws.title
        assert ws.print_area is not None, ws.title
        if ws.title != ERRORS_SHEET:
            # The copy's row numbers and column letters are printed: « AV8 » of a message is found on paper,
            # and each row by its number, its identifier being left blank.
            assert ws.print_options.headings is True, ws.title
    # Salariés' comments print after the sheet (the value LibreOffice reads as « print the notes »)
    assert wb["Salariés"].page_setup.cellComments == "asDisplayed"
    # Structure's messages print next to their cells, right of the row's marker.
    ws = wb["Structure"]
    assert ws["B4"].value == "Rennes Metropolle" and ws["B4"].fill.fgColor.rgb == ERROR_FILL
    assert ws["C4"].value == "⚠ 1 erreur"
    assert str(ws["D4"].value).startswith("Structure, ligne 4, colonne « Territoire » : « Rennes Metropolle » n'est pas")
    assert ws["D4"].alignment.wrap_text and (ws.row_dimensions[4].height or 0) >= 15 * _least_lines(str(ws["D4"].value), ws.column_dimensions["D"].width)


def test_issue20_point11_row_markers_are_next_to_the_table(tmp_path: Path, schema: Schema) -> None:
    """Fails on main before 9f0f685 (issue 20 point 11): the row markers (« ⚠ 1 erreur ») were written right of the last
    cell holding anything in the source sheet — a note far to the right (not copied) pushed them pages away from
    the table; they now sit in the first column right of the table's header."""
    rows = [valid_row(), valid_row(**{"Identifiant salarié": "A002", "Sexe": "Inconnu"})]
    header = header_of(rows)
    src = write_workbook(tmp_path / FICHIER, rows=rows)
    wb = load_workbook(src)
    wb["Salariés"].cell(row=2, column=60, value="une note loin à droite")
    wb.save(src)
    sexe = letter_of(header, "Sexe")
    bad = cell_issue("valeur-inconnue", feuille="Salariés", ligne=3, colonne="Sexe", lettre=sexe, valeur="Inconnu",
                     valeurs="« Femme », « Homme »", suggestion="")
    ws = load_workbook(write_error_workbook(src, [bad], tmp_path / "erreurs", schema))["Salariés"]
    next_to = get_column_letter(len(header) + 1)
    assert ws[f"{next_to}3"].value == "⚠ 1 erreur"
    assert [c.coordinate for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "⚠" in c.value] == [f"{next_to}3"]
    assert ws.print_area is not None and ws.print_area.endswith(f"${next_to}$3")


def test_issue20_point11_ten_rows_print_on_four_pages_whole(ten_row_error_workbook: Path, tmp_path: Path) -> None:
    """Real client (LibreOffice, poppler): the error workbook of a 10-row file refused with 14 errors, converted to
    PDF, prints on at most 4 A4 pages, and every text of Erreurs (the guide, each message, up to ~770 characters)
    and each comment of the copies is in the printed text, whole. Fails on main before 9f0f685 (issue 20 point 11): 24 pages,
    the long messages and the guide lines cut at the cell's edge, the comments not printed."""
    from tests.clients import libreoffice_convert, pdf_pages, pdf_text_pages, words

    pdf = libreoffice_convert(ten_row_error_workbook, "pdf", tmp_path)
    assert pdf_pages(pdf) <= 4
    printed = words("".join(pdf_text_pages(pdf)))  # letters and digits in order: wrapped lines compare equal
    wb = load_workbook(ten_row_error_workbook)
    texts = [str(c.value) for row in wb[ERRORS_SHEET].iter_rows() for c in row if c.value is not None]
    comments = [c.comment.text for _title, c in copied_cells(wb) if c.comment is not None]
    assert len(comments) == 14
    assert [t[:80] for t in texts + comments if words(t) not in printed] == []


# -- issue 17 point 8: the error workbook sent back instead of the corrected file ------------------------------------------
@pytest.fixture(scope="module")
def sent_back(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real error workbook: `cvg verifier --erreurs` on a 10-row file with two errors, renamed as an ACI that
    corrected it would (`aci-corrige.xlsx`), so that no name rule can recognise it."""
    folder = tmp_path_factory.mktemp("renvoye")
    rows = [valid_row(**{"Identifiant salarié": f"B{n:03d}"}) for n in range(10)]
    rows[3]["Sexe"] = "Inconnu"
    rows[7]["Date d'entrée"] = "31/02/2023"
    src = write_workbook(folder / "aci.xlsx", rows=rows)
    run = _cvg(folder, "verifier", "--erreurs", folder / "erreurs", src)
    assert run.returncode == 1, run.stdout
    book = folder / "aci-corrige.xlsx"
    (folder / "erreurs" / "aci-erreurs.xlsx").rename(book)
    return book


SENT_BACK = "Ceci est le classeur d'erreurs : corrigez votre fichier d'origine et renvoyez-le."


@pytest.mark.parametrize("saved_by", ["cvg", "libreoffice-xlsx", "libreoffice-xls"])
def test_issue17_point8_the_error_workbook_sent_back_is_refused_as_such(
    sent_back: Path, tmp_path: Path, schema: Schema, saved_by: str,
) -> None:
    """An ACI corrects the error workbook itself and sends it back: `cvg verifier` and `cvg ingest` refuse it with one
    clear French error (exit 1, nothing stored), as written by cvg or saved again by LibreOffice (.xlsx: the marker
    in its properties; .xls: no properties, the Erreurs sheet's table header). A reporting file of an ACI that
    happens to hold a sheet named « Erreurs » is still read. Fails on main at 2d65b2f (issue 17 point 8): ten
    « identifiant-manquant » errors and more, about a file that is not a reporting file."""
    from cvg_pipeline.read.workbook import read_workbooks

    book = sent_back
    if saved_by.startswith("libreoffice"):
        from tests.clients import libreoffice_convert

        book = libreoffice_convert(sent_back, saved_by.split("-")[1], tmp_path / "lo")
        assert book.read_bytes() != sent_back.read_bytes()
    assert load_workbook(sent_back).sheetnames[0] == ERRORS_SHEET

    check = _cvg(tmp_path, "verifier", "--erreurs", tmp_path / "erreurs", book)
    assert check.returncode == 1
    assert SENT_BACK in check.stdout, check.stdout
    assert "identifiant-manquant" not in check.stdout and "(classeur-erreurs)" in check.stdout

    store = tmp_path / "cvg.duckdb"
    assert _cvg(tmp_path, "init", "--store", store).returncode == 0
    valid = write_workbook(tmp_path / "valide" / "aci-valide.xlsx", rows=[valid_row()])
    assert _cvg(tmp_path, "ingest", "--store", store, "--erreurs", tmp_path / "e1", valid).returncode == 0
    before = _store_rows(store)
    assert before[1] == 1
    run = _cvg(tmp_path, "ingest", "--store", store, "--erreurs", tmp_path / "e2", book)
    assert run.returncode == 1
    assert SENT_BACK in run.stdout, run.stdout
    assert _store_rows(store) == before

    # not a false alarm: an ACI's own sheet « Erreurs » (its notes) next to Structure and Salariés
    own = write_workbook(tmp_path / "aci-notes.xlsx", rows=[valid_row()],
                         extra_sheets={ERRORS_SHEET: [["Feuille", "Ligne"], ["Salariés", 2]]})
    parsed = read_workbooks([own], schema)[0]
    assert [i.code for i in parsed.issues if i.is_error] == [] and parsed.data is not None and parsed.data.height == 1
