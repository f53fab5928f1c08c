"""Reading workbooks (spec §1, §3.1): sheets, header row, Excel locations, identifiers, file-level problems."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from cvg_pipeline.check.errors import Issue
from cvg_pipeline.read.model import ParsedFile
from cvg_pipeline.read.sheet import column_letter
from cvg_pipeline.read.workbook import read_workbooks
from cvg_pipeline.schema.load import load_schema
from tests.builders import SIRET, open_row, structure, valid_row, write_workbook

SCHEMA = load_schema()
TODAY = date(2024, 6, 1)


def read(path: Path) -> ParsedFile:
    return read_workbooks([path], SCHEMA, today=TODAY)[0]


def codes(parsed: ParsedFile) -> list[str]:
    return [i.code for i in parsed.issues]


def only(parsed: ParsedFile, code: str) -> Issue:
    found = [i for i in parsed.issues if i.code == code]
    assert len(found) == 1, parsed.issues
    return found[0]


def flat(parsed: ParsedFile) -> list[tuple[str | None, int | None, str | None, str | None, str]]:
    return [(i.feuille, i.ligne, i.colonne, i.lettre, i.code) for i in parsed.issues]


# -- helpers writing other formats --------------------------------------------------------------------------
def _sheets(rows: Sequence[dict[str, Any]], title_rows: Sequence[Sequence[Any]] = ()) -> dict[str, list[list[Any]]]:
    header = list(dict.fromkeys(k for r in rows for k in r))
    return {
        "Structure": [["Champ", "Valeur"], *([k, v] for k, v in structure().items())],
        "Salariés": [*[list(t) for t in title_rows], header, *([r.get(h) for h in header] for r in rows)],
    }


def write_xlsxwriter(path: Path, sheets: dict[str, list[list[Any]]], *, first_row: int = 0, first_col: int = 0) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    datefmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                r, c = i + (first_row if name != "Structure" else 0), j + (first_col if name != "Structure" else 0)
                if value is None:
                    continue
                if isinstance(value, date):
                    ws.write_datetime(r, c, datetime(value.year, value.month, value.day), datefmt)
                else:
                    ws.write(r, c, value)
    wb.close()
    return path


def write_xls(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    import xlwt

    wb = xlwt.Workbook()
    datefmt = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    for name, rows in sheets.items():
        ws = wb.add_sheet(name)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, date):
                    ws.write(i, j, datetime(value.year, value.month, value.day), datefmt)
                else:
                    ws.write(i, j, value)
    wb.save(str(path))
    return path


def write_ods(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        for row in rows:
            tr = TableRow()
            for value in row:
                if value is None:
                    cell = TableCell()
                elif isinstance(value, date):
                    cell = TableCell(valuetype="date", datevalue=value.isoformat())
                    cell.addElement(P(text=value.strftime("%d/%m/%Y")))
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    cell = TableCell(valuetype="float", value=value)
                    cell.addElement(P(text=str(value)))
                else:
                    cell = TableCell(valuetype="string")
                    cell.addElement(P(text=str(value)))
                tr.addElement(cell)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    doc.save(str(path))
    return path


# -- basics -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("index", "letter"), [(0, "A"), (1, "B"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA")])
def test_column_letter(index: int, letter: str) -> None:
    assert column_letter(index) == letter


def test_valid_workbook_is_read_without_issue(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "ok.xlsx", rows=[valid_row(), open_row(**{"Identifiant salarié": "B2"})])
    parsed = read(path)
    assert parsed.issues == []
    assert parsed.fichier == "ok.xlsx" and len(parsed.sha256) == 64
    assert parsed.structure is not None
    assert parsed.structure.sheet == "Structure"
    assert parsed.structure.nom == "Atelier Test"
    assert parsed.structure.siret == SIRET
    assert parsed.structure.territoire == "lyon"
    assert parsed.structure.date_arrete == date(2023, 12, 31)
    assert parsed.structure.supports == ("Réemploi", "Espaces verts")
    assert parsed.structure.rows["siret"] == 3 and parsed.structure.value_letter == "B"
    assert parsed.salaries_sheet == "Salariés" and parsed.header_row == 1
    assert parsed.columns["date_entree"].header == "Date d'entrée" and parsed.columns["date_entree"].letter == "C"
    assert parsed.data is not None and parsed.raw is not None
    assert parsed.data.columns == ["_ligne", *(c.name for c in SCHEMA.columns)]
    assert parsed.data["_ligne"].to_list() == [2, 3]
    assert parsed.data["id_salarie"].to_list() == ["a001", "b2"]  # normalised: identifiers are case-blind
    assert parsed.data["date_entree"].to_list() == [date(2022, 3, 1)] * 2
    assert parsed.data["date_sortie"].to_list() == [date(2023, 6, 30), None]
    assert parsed.data["heures_hebdo_entree"].to_list() == [20.0, 20.0]
    assert parsed.data["diff_logement"].to_list() == [True, True]
    assert parsed.data["refugie"].to_list() == [None, None]  # absent column: non renseigné, never Non
    assert parsed.data["annee_naissance"].to_list() == [1980, 1980]
    assert parsed.raw["_ligne"].to_list() == [2, 3]
    assert parsed.raw["date_entree"].to_list() == ["01/03/2022"] * 2  # as Excel shows it
    assert "refugie" not in parsed.raw.columns


def test_batch_read_gives_the_same_result_as_one_by_one(tmp_path: Path) -> None:
    paths = [
        write_workbook(tmp_path / "a.xlsx", rows=[valid_row(), valid_row(**{"Sexe": "Inconnu"})]),
        write_workbook(tmp_path / "b.xlsx", rows=[{**{k: v for k, v in valid_row().items() if k != "Année de naissance"},
                                                   "Date de naissance": d} for d in (date(1975, 5, 12), "30/02/1975")]),
        write_workbook(tmp_path / "c.xlsx", rows=[valid_row(**{"Date d'entrée": "31/02/2023"})], title_rows=[["T"]]),
        tmp_path / "d.xlsx",
    ]
    paths[3].write_bytes(b"")
    batch = read_workbooks(paths, SCHEMA, today=TODAY)
    for path, parsed in zip(paths, batch, strict=True):
        alone = read(path)
        assert parsed.issues == alone.issues
        assert parsed.structure == alone.structure
        if alone.data is None:
            assert parsed.data is None
        else:
            assert parsed.data is not None and parsed.data.equals(alone.data)
            assert parsed.raw is not None and alone.raw is not None and parsed.raw.equals(alone.raw)
    assert batch[1].data is not None and batch[1].data["annee_naissance"].to_list() == [1975, None]
    assert [(i.code, i.valeur) for i in batch[1].errors] == [("date-naissance-invalide", None)]
    assert [(i.code, i.valeur) for i in batch[0].errors] == [("valeur-inconnue", "Inconnu")]


# -- Excel locations ----------------------------------------------------------------------------------------
def test_title_rows_and_blank_rows_keep_excel_row_numbers(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [valid_row(), {}, {}, valid_row(**{"Identifiant salarié": "B2", "Date d'entrée": "31/02/2023"})]
    path = write_workbook(tmp_path / "t.xlsx", rows=rows, header=list(valid_row()),
                          title_rows=[["Suivi CVG — décembre 2023"], [], ["Remplir une ligne par parcours"]])
    parsed = read(path)
    assert parsed.header_row == 4
    assert parsed.data is not None
    assert parsed.data["_ligne"].to_list() == [5, 8]  # rows 6 and 7 are blank: skipped
    assert flat(parsed) == [("Salariés", 8, "Date d'entrée", "C", "date-invalide")]
    assert only(parsed, "date-invalide").valeur == "31/02/2023"
    assert only(parsed, "date-invalide").message.startswith("Salariés, ligne 8, colonne « Date d'entrée » : « 31/02/2023 »")


def test_blank_top_rows_and_data_starting_in_column_b(tmp_path: Path) -> None:
    rows = [valid_row(), valid_row(**{"Identifiant salarié": "B2", "Sexe": "Hommes ?"})]
    path = write_xlsxwriter(tmp_path / "offset.xlsx", _sheets(rows), first_row=3, first_col=1)
    parsed = read(path)
    assert parsed.header_row == 4  # rows 1–3 are empty, not even written
    assert parsed.columns["id_salarie"].letter == "B"
    assert parsed.columns["sexe"].letter == "H"
    assert parsed.data is not None and parsed.data["_ligne"].to_list() == [5, 6]
    assert flat(parsed) == [("Salariés", 6, "Sexe", "H", "valeur-inconnue")]


def test_header_found_below_a_logo_row_with_few_labels(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "t.xlsx", rows=[valid_row()], title_rows=[["Sexe", "Programme"]])
    assert read(path).header_row == 2  # only 2 labels on row 1: not the header


def test_no_header_in_the_first_rows(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "t.xlsx", rows=[valid_row()], title_rows=[["titre"]] * 20)
    parsed = read(path)
    assert codes(parsed) == ["entete-introuvable"]
    assert parsed.data is None
    required = [c.label for c in SCHEMA.columns if c.required][:3]  # the examples come from schemas/
    assert ", ".join(f"« {label} »" for label in required) in parsed.issues[0].message


# -- headers (§3.1) -----------------------------------------------------------------------------------------
def test_headers_are_folded_and_synonyms_recognised(tmp_path: Path) -> None:
    renamed = {"Identifiant salarié": "  ID ", "Date d'entrée": "DATE D ENTREE", "Date de sortie": "Date de sortie ",
               "Sexe": "Genre", "Nationalité": "nationalite", "Orienteur / prescripteur": "Prescripteur",
               "Situation logement à l'entrée": "Situation logement a l’entree"}
    row = {renamed.get(k, k): v for k, v in valid_row().items()}
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=[row]))
    assert parsed.issues == []
    assert parsed.columns["id_salarie"].header == "ID"
    assert parsed.columns["date_entree"].header == "DATE D ENTREE"
    assert parsed.data is not None and parsed.data["sexe"].to_list() == ["Femme"]


def test_two_headers_for_one_column_is_an_error(tmp_path: Path) -> None:
    row = {**valid_row(), "Sortie": date(2023, 6, 30)}
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=[row]))
    err = only(parsed, "colonne-en-double")
    assert (err.ligne, err.colonne, err.lettre) == (1, "Sortie", column_letter(len(row) - 1))
    assert "« Date de sortie », « Sortie »" in err.message


def test_unknown_header_is_a_warning_and_never_kept(tmp_path: Path) -> None:
    row = {**valid_row(), "Commentaire": "rien à signaler"}
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=[row]))
    warning = only(parsed, "colonne-inconnue")
    assert warning.severity == "avertissement" and warning.colonne == "Commentaire"
    assert parsed.ok
    assert "rien à signaler" not in repr(parsed.data.to_dicts()) + repr(parsed.raw.to_dicts())  # type: ignore[union-attr]


@pytest.mark.parametrize("missing", ["Identifiant salarié", "Programme", "Date d'entrée", "Sexe", "Année de naissance"])
def test_missing_required_column(tmp_path: Path, missing: str) -> None:
    row = {k: v for k, v in valid_row().items() if k != missing}
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=[row]))
    err = only(parsed, "colonne-manquante")
    assert f"« {missing} »" in err.message
    assert "valeur-obligatoire" not in codes(parsed) and "identifiant-manquant" not in codes(parsed)


# -- privacy: identifiers and dates of birth ----------------------------------------------------------------
SECRETS = {"Nom": "Zyxwabc", "Prénom": "Qwertine", "NIR": "2850575123456", "Adresse": "12 rue Secrète",
           "Téléphone": "0611223344", "E-mail": "qwertine@example.org"}


def _everything(parsed: ParsedFile) -> str:
    parts = [repr(parsed), repr(parsed.issues)]
    for frame in (parsed.data, parsed.raw):
        if frame is not None:
            parts.append(repr(frame.to_dicts()))
            parts.extend(frame.columns)
    return "\n".join(parts)


def test_direct_identifiers_are_dropped_and_never_kept(tmp_path: Path) -> None:
    rows = [{**SECRETS, **valid_row()}, {**SECRETS, **valid_row(**{"Identifiant salarié": "B2", "Sexe": "??"})}]
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=rows))
    warned = [i.colonne for i in parsed.issues if i.code == "identifiant-direct-supprime"]
    assert warned == list(SECRETS)
    assert all(i.valeur is None for i in parsed.issues if i.code == "identifiant-direct-supprime")
    text = _everything(parsed)
    for secret in SECRETS.values():
        assert secret not in text
    assert "B2" not in "".join(i.message + str(i.valeur) for i in parsed.issues)  # raw id_salarie never in issues


def test_birth_date_is_reduced_to_the_year_at_read_time(tmp_path: Path) -> None:
    base = {k: v for k, v in valid_row().items() if k != "Année de naissance"}
    rows = [{**base, "Date de naissance": date(1981, 7, 14)},
            {**base, "Identifiant salarié": "B2", "Date de naissance": "23/11/1979"},
            {**base, "Identifiant salarié": "B3", "Date de naissance": "31/02/1978"}]
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=rows))
    assert only(parsed, "date-naissance-reduite").colonne == "Date de naissance"
    err = only(parsed, "date-naissance-invalide")
    assert (err.ligne, err.colonne, err.valeur) == (4, "Date de naissance", None)
    assert parsed.data is not None and parsed.raw is not None
    assert parsed.data["annee_naissance"].to_list() == [1981, 1979, None]
    assert parsed.raw["annee_naissance"].to_list() == ["1981", "1979", None]
    text = _everything(parsed)
    for full in ("14/07/1981", "1981-07-14", "23/11/1979", "31/02/1978", "07-14", "11/1979"):
        assert full not in text


# -- cells ------------------------------------------------------------------------------------------------
def test_cell_errors_are_located_with_value_as_written(tmp_path: Path) -> None:
    rows = [
        valid_row(**{"Programme": "CVH"}),
        valid_row(**{"Identifiant salarié": "B2", "Date de sortie": "12/25/2022", "Accompagnement concerté": "Peut-être"}),
        valid_row(**{"Identifiant salarié": None, "Heures hebdomadaires à l'entrée": "vingt"}),
        valid_row(**{"Identifiant salarié": "B4", "Sexe": None}),
    ]
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=rows))
    by_code = {i.code: i for i in parsed.issues}
    assert set(by_code) == {"valeur-inconnue", "date-format-us", "oui-non-invalide", "identifiant-manquant",
                            "nombre-invalide", "valeur-obligatoire"}
    unknown = by_code["valeur-inconnue"]
    assert (unknown.ligne, unknown.colonne, unknown.lettre, unknown.valeur) == (2, "Programme", "B", "CVH")
    assert "vouliez-vous dire « CVG »" in unknown.message and "« PHC »" in unknown.message
    assert by_code["date-format-us"].ligne == 3 and by_code["date-format-us"].valeur == "12/25/2022"
    assert by_code["oui-non-invalide"].valeur == "Peut-être"
    missing_id = by_code["identifiant-manquant"]
    assert (missing_id.ligne, missing_id.colonne, missing_id.valeur) == (4, "Identifiant salarié", None)
    assert by_code["valeur-obligatoire"].ligne == 5 and by_code["valeur-obligatoire"].colonne == "Sexe"
    assert [i.ligne for i in parsed.issues] == sorted(i.ligne or 0 for i in parsed.issues)
    assert parsed.data is not None
    assert parsed.data["programme"].to_list() == [None, "CVG", "CVG", "CVG"]  # a failed cell is null
    assert parsed.data["_ligne"].to_list() == [2, 3, 4, 5]


def test_excel_types_booleans_numbers_and_serials(tmp_path: Path) -> None:
    rows = [valid_row(**{"Difficulté Logement à l'entrée": True, "Difficulté Santé à l'entrée": 0,
                         "Date d'entrée": 44621, "Niveau de formation": 3, "Identifiant salarié": 1234,
                         "Heures hebdomadaires à l'entrée": "20,5", "Bénéficiaire du RSA": False})]
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=rows))
    assert parsed.issues == []
    assert parsed.data is not None and parsed.raw is not None
    row = parsed.data.row(0, named=True)
    assert row["diff_logement"] is True and row["diff_sante"] is False and row["rsa"] is False
    assert row["date_entree"] == date(2022, 3, 1)
    assert row["niveau_formation"] == "3" and row["id_salarie"] == "1234"
    assert row["heures_hebdo_entree"] == 20.5
    assert parsed.raw.row(0, named=True)["diff_logement"] == "VRAI"


# -- sheet Structure ------------------------------------------------------------------------------------------
def test_structure_errors(tmp_path: Path) -> None:
    bad_siret = SIRET[:-1] + str((int(SIRET[-1]) + 1) % 10)
    fields = structure(**{"SIRET": bad_siret, "Territoire": "Lyonn", "Date d'arrêté": date(2025, 1, 31),
                          "Supports d'activité": "Réemploi; Pâtisserie"})
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=[valid_row()], structure_fields=fields))
    assert flat(parsed) == [
        ("Structure", 3, "SIRET", "B", "siret-invalide"),
        ("Structure", 4, "Territoire", "B", "territoire-inconnu"),
        ("Structure", 6, "Supports d'activité", "B", "valeur-inconnue"),
        ("Structure", 5, "Date d'arrêté", "B", "date-future"),
    ]
    assert "vouliez-vous dire « Métropole de Lyon »" in only(parsed, "territoire-inconnu").message
    assert only(parsed, "valeur-inconnue").valeur == "Pâtisserie"
    assert only(parsed, "date-future").valeur == "31/01/2025"
    assert parsed.structure is not None and parsed.structure.supports == ("Réemploi",)
    assert parsed.structure.siret is None and parsed.structure.date_arrete is None


def test_structure_synonyms_siret_spaces_and_text_date(tmp_path: Path) -> None:
    fields = {"Raison sociale": "ACI", "N° SIRET": f"{SIRET[:3]} {SIRET[3:6]} {SIRET[6:9]} {SIRET[9:]}",
              "Territoire CVG": "93", "Données au": "31/12/2023"}
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=[valid_row()], structure_fields=fields))
    assert parsed.ok, parsed.issues
    assert parsed.structure is not None
    assert (parsed.structure.nom, parsed.structure.siret, parsed.structure.territoire) == ("ACI", SIRET, "seine-saint-denis")
    assert parsed.structure.date_arrete == date(2023, 12, 31) and parsed.structure.supports == ()


@pytest.mark.parametrize(("text", "code"), [("31/02/2023", "date-invalide"), ("12/31/2023", "date-format-us")])
def test_structure_bad_date(tmp_path: Path, text: str, code: str) -> None:
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=[valid_row()], structure_fields=structure(**{"Date d'arrêté": text})))
    assert flat(parsed) == [("Structure", 5, "Date d'arrêté", "B", code)]


def test_structure_missing_and_duplicate_fields(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "t.xlsx", rows=[valid_row()], structure_fields={"SIRET": SIRET, "Territoire": "Lyon"},
                          extra_sheets=None)
    parsed = read(path)
    assert sorted(i.message.split("« ")[1].split(" »")[0] for i in parsed.issues if i.code == "champ-manquant") == [
        "Date d'arrêté", "Nom de la structure"]
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb["Structure"].append(["N° SIRET", SIRET])
    wb.save(path)
    assert only(read(path), "champ-en-double").ligne == 4


# -- sheets and files ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("structure_name", "salaries_name"), [("STRUCTURE", "salaries"), (" Structure ", "Liste des salariés"),
                                                               ("Identification", "Parcours")])
def test_sheet_names_matched_loosely(tmp_path: Path, structure_name: str, salaries_name: str) -> None:
    path = write_workbook(tmp_path / "t.xlsx", rows=[valid_row()], structure_sheet=structure_name,
                          salaries_sheet=salaries_name, extra_sheets={"Mode d'emploi": [["Lisez-moi"]]})
    parsed = read(path)
    assert parsed.issues == []
    assert parsed.salaries_sheet == salaries_name


@pytest.mark.parametrize(("missing", "label"), [("structure_sheet", "Structure"), ("salaries_sheet", "Salariés")])
def test_missing_sheet(tmp_path: Path, missing: str, label: str) -> None:
    kwargs: dict[str, Any] = {missing: None, "extra_sheets": {"Feuil1": [["x"]]}}
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=[valid_row()], **kwargs))
    err = only(parsed, "feuille-manquante")
    assert f"« {label} »" in err.message and "« Feuil1 »" in err.message


def test_two_sheets_for_one_expected_sheet(tmp_path: Path) -> None:
    """Two sheets that both read as « Salariés » are an error naming both (the reader does not pick one)."""
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=[valid_row()], extra_sheets={"SALARIES": [["x"]]}))
    err = only(parsed, "feuille-en-double")
    assert err.is_error and err.ligne is None
    assert err.message == "Deux feuilles correspondent à « Salariés » : « Salariés », « SALARIES »."


def test_empty_salaries_sheet_is_a_warning(tmp_path: Path) -> None:
    parsed = read(write_workbook(tmp_path / "t.xlsx", rows=[], header=list(valid_row())))
    assert codes(parsed) == ["aucune-ligne"]
    assert parsed.data is not None and parsed.data.height == 0 and parsed.data.columns[0] == "_ligne"


def _xlsx_bytes(tmp_path: Path) -> bytes:
    return write_workbook(tmp_path / "src.xlsx", rows=[valid_row()]).read_bytes()


def _encrypted(tmp_path: Path) -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(_xlsx_bytes(tmp_path))).encrypt("secret", out)
    return out.getvalue()


def _empty_workbook(tmp_path: Path) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.save(tmp_path / "empty-src.xlsx")
    return (tmp_path / "empty-src.xlsx").read_bytes()


BAD_FILES: dict[str, tuple[str, Any, str]] = {
    "zero-byte": ("vide.xlsx", lambda tmp: b"", "fichier-vide"),
    "random-bytes": ("hasard.xlsx", lambda tmp: os.urandom(4096), "fichier-illisible"),
    "csv-renamed": ("export.xlsx", lambda tmp: "id;date\nA1;01/03/2022 é\n".encode("cp1252"), "fichier-illisible"),
    "truncated-zip": ("tronque.xlsx", lambda tmp: _xlsx_bytes(tmp)[:1500], "fichier-illisible"),
    "csv-extension": ("export.csv", lambda tmp: b"id;date\n", "format-non-pris-en-charge"),
    "pdf": ("rapport.pdf", lambda tmp: b"%PDF-1.4\n", "format-non-pris-en-charge"),
    "password": ("protege.xlsx", _encrypted, "fichier-protege"),
    "empty-workbook": ("vide2.xlsx", _empty_workbook, "classeur-vide"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_never_raise(tmp_path: Path, case: str) -> None:
    name, make, code = BAD_FILES[case]
    path = tmp_path / name
    path.write_bytes(make(tmp_path))
    parsed = read(path)
    assert codes(parsed) == [code]
    assert parsed.issues[0].fichier == name and parsed.issues[0].is_error
    assert parsed.data is None


@pytest.mark.parametrize(("data", "says"), [
    (bytes(range(256)) * 16, "ce n'est pas un classeur : vérifiez que c'est le bon fichier"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "classeur .xls endommagé : enregistrez-le à nouveau au format .xlsx"),
])
def test_unreadable_message_says_what_to_do(tmp_path: Path, data: bytes, says: str) -> None:
    path = tmp_path / "recu.xlsx"
    path.write_bytes(data)
    [found] = read(path).issues
    assert found.code == "fichier-illisible" and says in found.message, found.message


def test_csv_message_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"id;date\nA1;01/03/2022\n")
    assert "CSV" in read(path).issues[0].message


def test_a_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "bonjour")
    parsed = read(path)
    assert [i.code for i in parsed.issues] == ["fichier-illisible"]
    assert "archive endommagée ou incomplète : enregistrez-le à nouveau" in parsed.issues[0].message


# -- other formats ------------------------------------------------------------------------------------------
ROWS = [valid_row(), valid_row(**{"Identifiant salarié": "B2", "Date d'entrée": "31/02/2023"}), open_row(**{"Identifiant salarié": "B3"})]


@pytest.mark.parametrize("writer", [write_xls, write_ods, write_xlsxwriter])
def test_other_formats(tmp_path: Path, writer: Any) -> None:
    suffix = {write_xls: ".xls", write_ods: ".ods", write_xlsxwriter: ".xlsx"}[writer]
    path = writer(tmp_path / f"aci{suffix}", _sheets(ROWS, title_rows=[["Titre"]]))
    parsed = read(path)
    assert flat(parsed) == [("Salariés", 4, "Date d'entrée", "C", "date-invalide")]
    assert parsed.structure is not None and parsed.structure.date_arrete == date(2023, 12, 31)
    assert parsed.structure.siret == SIRET
    assert parsed.data is not None
    assert parsed.data["_ligne"].to_list() == [3, 4, 5]
    assert parsed.data["date_entree"].to_list() == [date(2022, 3, 1), None, date(2022, 3, 1)]
    assert parsed.data["heures_hebdo_entree"].to_list() == [20.0, 20.0, 20.0]
    assert parsed.data["diff_logement"].to_list() == [True, True, True]


def test_xls_renamed_xlsx_is_still_read(tmp_path: Path) -> None:
    path = write_xls(tmp_path / "aci.xls", _sheets([valid_row()]))
    renamed = path.rename(tmp_path / "aci.xlsx")
    assert read(renamed).issues == []


def test_xlsm_is_read_and_its_macros_never_run(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "aci.xlsx", rows=[valid_row()]).rename(tmp_path / "aci.xlsm")
    parsed = read(path)
    assert parsed.issues == [] and parsed.data is not None and parsed.data.height == 1
