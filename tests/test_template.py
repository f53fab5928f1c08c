"""`cvg template`: the blank workbook is generated from schemas/ (sheets, labels, drop-downs, formats)."""

from __future__ import annotations

import errno
import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner

from cvg_pipeline.cli import app
from cvg_pipeline.files import temporary_path
from cvg_pipeline.schema.load import Schema, load_schema
from cvg_pipeline.workbooks.template import DATA_ROWS, GUIDE_SHEET, LISTS_SHEET, write_template
from tests.clients import libreoffice_convert, require_client

runner = CliRunner()


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Workbook:
    path = write_template(tmp_path_factory.mktemp("modele") / "modele.xlsx")
    return load_workbook(path)


def list_values(wb: Workbook, formula: str) -> list[str]:
    """The values a list validation offers: inline `"a,b"` or a range of the Listes sheet."""
    if formula.startswith('"'):
        return formula.strip('"').split(",")
    sheet, ref = formula.split("!")
    ws = wb[sheet.strip("'")]
    return [str(row[0].value) for row in ws[ref.replace("$", "")]]


def validation_for(ws: Worksheet, coordinate: str) -> str | None:
    found = [dv for dv in ws.data_validations.dataValidation if coordinate in dv.sqref]
    assert len(found) <= 1, f"{coordinate}: several validations"
    if not found:
        return None
    assert found[0].type == "list"
    return str(found[0].formula1)


def test_sheets(workbook: Workbook, schema: Schema) -> None:
    assert workbook.sheetnames[:3] == [schema.structure_sheet.label, schema.salaries_sheet.label, GUIDE_SHEET]
    assert workbook[LISTS_SHEET].sheet_state == "hidden"
    assert workbook.active.title == schema.structure_sheet.label  # type: ignore[union-attr]


def test_salaries_header_in_schema_order(workbook: Workbook, schema: Schema) -> None:
    ws = workbook[schema.salaries_sheet.label]
    header = [c.value for c in ws[1]]
    assert header == [c.label for c in schema.columns]
    assert ws.freeze_panes == "A2"
    assert all(ws.cell(row=r, column=c).value is None for r in (2, DATA_ROWS + 1) for c in (1, 5))


def test_required_headers_are_marked(workbook: Workbook, schema: Schema) -> None:
    ws = workbook[schema.salaries_sheet.label]
    fills = {}
    for idx, col in enumerate(schema.columns, start=1):
        cell = ws.cell(row=1, column=idx)
        fills.setdefault(col.rule, set()).add(cell.fill.fgColor.rgb)
        assert cell.font.bold == (col.rule != "facultatif"), col.label
        assert cell.comment is not None and cell.comment.text.startswith(
            {"requis": "Obligatoire", "si_sortie": "Si sortie", "facultatif": "Facultatif"}[col.rule]
        )
    # One colour per rule, three different colours.
    assert all(len(v) == 1 for v in fills.values())
    assert len({next(iter(v)) for v in fills.values()}) == 3


def test_every_dropdown_equals_the_schema_values(workbook: Workbook, schema: Schema) -> None:
    ws = workbook[schema.salaries_sheet.label]
    checked = 0
    for idx, col in enumerate(schema.columns, start=1):
        letter = ws.cell(row=1, column=idx).column_letter
        for row in (2, 500, DATA_ROWS + 1):
            formula = validation_for(ws, f"{letter}{row}")
            if col.type == "cat":
                assert formula is not None, col.label
                assert list_values(workbook, formula) == list(schema.domain_of(col).labels), col.label
                checked += 1
            elif col.type == "bool":
                assert formula is not None, col.label
                assert list_values(workbook, formula) == [schema.true_labels[0], schema.false_labels[0]]
                checked += 1
            else:
                assert formula is None, col.label
        assert validation_for(ws, f"{letter}1") is None  # never on the header
        assert validation_for(ws, f"{letter}{DATA_ROWS + 2}") is None
    assert checked == 3 * sum(c.type in ("cat", "bool") for c in schema.columns)


def test_inline_lists_respect_excel_limits(workbook: Workbook) -> None:
    for ws in workbook.worksheets:
        for dv in ws.data_validations.dataValidation:
            if dv.formula1.startswith('"'):
                assert len(dv.formula1) <= 257  # 255 characters between the quotes
    # The orienteur values hold commas: they cannot be inline, they come from the Listes sheet.
    orienteur = load_schema().domains["orienteur"].labels
    assert any("," in v for v in orienteur)


def test_date_and_text_formats(workbook: Workbook, schema: Schema) -> None:
    """Whole columns carry the format (Excel and LibreOffice give a column's format to every cell typed in it),
    so the cells themselves are left unformatted, far below the prepared rows too."""
    ws = workbook[schema.salaries_sheet.label]
    for idx, col in enumerate(schema.columns, start=1):
        fmt = ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].number_format
        if col.type == "date":
            assert fmt == "DD/MM/YYYY", col.label
        elif col.type in ("number", "int"):
            assert fmt == "General", col.label
        for row in (2, DATA_ROWS + 1):
            assert ws.cell(row=row, column=idx).number_format == "General", col.label


def test_widths_are_readable(workbook: Workbook, schema: Schema) -> None:
    ws = workbook[schema.salaries_sheet.label]
    for idx, col in enumerate(schema.columns, start=1):
        width = ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].width
        assert 10 <= width <= 24
        # The longest word of a header fits on a line (a header wraps between words, never inside one).
        assert max(len(w) for w in col.label.split()) <= width, col.label


def test_structure_sheet(workbook: Workbook, schema: Schema) -> None:
    ws = workbook[schema.structure_sheet.label]
    assert [ws["A1"].value, ws["B1"].value] == [schema.structure_field_header, schema.structure_value_header]
    labels = [ws.cell(row=r, column=1).value for r in range(2, 2 + len(schema.structure_fields))]
    assert labels == [f.label for f in schema.structure_fields]
    for row, fld in enumerate(schema.structure_fields, start=2):
        value_cell = f"B{row}"
        formula = validation_for(ws, value_cell)
        if fld.type == "territoire":
            assert formula is not None
            assert list_values(workbook, formula) == [t.name for t in schema.territoires]
        else:
            assert formula is None
        if fld.type == "date":
            assert ws[value_cell].number_format == "DD/MM/YYYY"
        if fld.type == "siret":
            assert ws[value_cell].number_format == "@"
        assert ws.cell(row=row, column=1).font.bold == fld.required


def test_mode_d_emploi_describes_every_column(workbook: Workbook, schema: Schema) -> None:
    ws = workbook[GUIDE_SHEET]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    head = rows.index(["Colonne", "Type", "Obligatoire", "Valeurs acceptées", "Autres intitulés acceptés", "Aide"])
    table = {r[0]: r for r in rows[head + 1 : head + 1 + len(schema.columns)]}
    assert list(table) == [c.label for c in schema.columns]
    rule_fr = {"requis": "Obligatoire", "si_sortie": "Si sortie", "facultatif": "Facultatif"}
    type_fr = {"text": "Texte", "cat": "Liste de valeurs", "date": "Date", "number": "Nombre", "int": "Année", "bool": "Oui / Non"}
    for col in schema.columns:
        row = table[col.label]
        assert row[1] == type_fr[col.type]
        assert row[2] == rule_fr[col.rule]
        if col.type == "cat":
            assert row[3] == " ; ".join(schema.domain_of(col).labels)
        for synonym in col.synonyms:
            assert synonym in (row[4] or "")
        if col.help:
            assert col.help in (row[5] or "")
        if col.only_if:
            assert schema.column(col.only_if).label in (row[5] or "")
    motif = table[schema.column("motif_sortie").label]
    assert "Poursuite en CDDI dans l'ACI" in motif[3]
    flat = " ".join(str(v) for r in rows for v in r if v)
    for terr in schema.territoires:
        assert terr.name in flat


def test_cli_writes_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["template"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "modele-reporting-cvg.xlsx").is_file()
    assert result.stdout.strip() == "modele-reporting-cvg.xlsx"


def test_cli_sortie_option(tmp_path: Path) -> None:
    target = tmp_path / "sous" / "dossier" / "mon-modele.xlsx"
    result = runner.invoke(app, ["template", "--sortie", str(target)])
    assert result.exit_code == 0, result.output
    wb = load_workbook(target)
    assert "Salariés" in wb.sheetnames


@pytest.mark.parametrize("name", ["modele.csv", "modele.ods", "modele.xlsm"])
def test_cli_refuses_other_formats(tmp_path: Path, name: str) -> None:
    """Another format is a usage error, exit 2 (documented). Fails on main before 27f396a: exit
    1, and .xlsm was accepted though openpyxl writes an .xlsx inside (Excel refuses to open it)."""
    result = runner.invoke(app, ["template", "--sortie", str(tmp_path / name)])
    assert result.exit_code == 2
    assert "Erreur" in result.stderr and ".xlsx" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / name).exists()


def test_cli_unwritable_destination(tmp_path: Path) -> None:
    blocker = tmp_path / "fichier"
    blocker.write_text("x")
    result = runner.invoke(app, ["template", "--sortie", str(blocker / "modele.xlsx")])
    assert result.exit_code == 1
    assert "impossible d'écrire" in result.stderr
    assert "Traceback" not in result.output


def test_help_is_french() -> None:
    result = runner.invoke(app, ["template", "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage : cvg template")
    assert "Affiche cette aide et quitte." in result.stdout
    assert "Show this message" not in result.stdout
    assert "[défaut : modele-reporting-" in result.stdout
    root = runner.invoke(app, ["-h"])
    assert root.exit_code == 0
    assert "Commandes :" in root.stdout and "Options :" in root.stdout
    assert "Commands" not in root.stdout and "[default" not in root.stdout


def test_a_filled_template_passes_cvg_verifier(tmp_path: Path, schema: Schema) -> None:
    """The template as an ACI fills it (canonical values typed in) is read and accepted by ingest."""
    import json
    from datetime import date

    from tests.builders import SIRET, valid_row

    path = write_template(tmp_path / "modele.xlsx")
    wb = load_workbook(path)
    st = wb[schema.structure_sheet.label]
    values = {"text": "Atelier Modèle (fictif)", "siret": SIRET, "territoire": schema.territoires[1].name,
              "date": date(2023, 12, 31), "supports": schema.domains["supports"].labels[0]}
    for row, fld in enumerate(schema.structure_fields, start=2):
        st.cell(row=row, column=2, value=values[fld.type])
    ws = wb[schema.salaries_sheet.label]
    header = [c.value for c in ws[1]]
    for r, data in enumerate([valid_row(), valid_row(**{"Identifiant salarié": "A002", "Sexe": "Homme"})], start=2):
        for label, value in data.items():
            ws.cell(row=r, column=header.index(label) + 1, value=value)
    wb.save(path)
    result = runner.invoke(app, ["verifier", "--json", "--erreurs", str(tmp_path / "e"), str(path)])
    assert result.exit_code == 0, result.output
    (fichier,) = json.loads(result.stdout)["fichiers"]
    assert fichier["statut"] == "valide" and fichier["lignes"] == 2
    assert fichier["territoire"] == schema.territoires[1].slug


# --- Issue 20 (8, 9, 10): readable and printable in LibreOffice and Excel; issue 13 (13): no truncated file.


def guide_head_row(ws: Worksheet) -> int:
    for row in ws.iter_rows():
        if row[0].value == "Colonne":
            return int(row[0].row)
    raise AssertionError("pas d'en-tête « Colonne » dans le mode d'emploi")


def merged_width(ws: Worksheet, row: int, col: int) -> float:
    from openpyxl.utils import get_column_letter

    last = col
    for rng in ws.merged_cells.ranges:
        if rng.min_row == row and rng.min_col == col:
            last = rng.max_col
    return sum(float(ws.column_dimensions[get_column_letter(c)].width or 8.43) for c in range(col, last + 1))


def test_guide_rows_are_tall_enough_for_their_wrapped_text(workbook: Workbook) -> None:
    """Every row of « Mode d'emploi » holding text has an explicit height, at least the lines its text needs:
    LibreOffice does not size rows itself. A line of a unit-wide column holds at most 1.3 characters (Excel's
    Calibri: about 1.2; LibreOffice's DejaVu Sans: about 1.1) and takes at least 12.8 points (DejaVu Sans 11;
    Excel: 15). Fails on main before 27f396a: no height, rows one line high, text overlapping."""
    ws = workbook[GUIDE_SHEET]
    checked = 0
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if cell.value is None or cell.column is None:
                continue
            text = str(cell.value)
            width = merged_width(ws, int(cell.row), int(cell.column))
            assert cell.alignment.wrap_text, cell.coordinate
            lines = sum(math.ceil(len(part) / (width * 1.3)) for part in text.split("\n"))
            height = ws.row_dimensions[int(cell.row)].height
            assert height is not None and height >= lines * 12.8, (cell.coordinate, text[:40], height, lines)
            checked += 1
    assert checked > 300


def test_guide_intro_is_short_paragraphs(workbook: Workbook, schema: Schema) -> None:
    """The introduction is a few short paragraphs, each wrapped over the width of the table. Fails on main
    before 27f396a: one 330-character line, cut at the page's edge."""
    ws = workbook[GUIDE_SHEET]
    head = guide_head_row(ws)
    intro = [ws.cell(row=r, column=1) for r in range(2, head) if ws.cell(row=r, column=1).value]
    assert len(intro) >= 4
    for cell in intro:
        assert len(str(cell.value)) <= 140, cell.value
        assert cell.alignment.wrap_text
    text = " ".join(str(c.value) for c in intro)
    assert f"« {schema.structure_sheet.label} »" in text and f"« {schema.salaries_sheet.label} »" in text
    assert "sécurité sociale" in text


@pytest.mark.parametrize("sheet", ["structure", "salaries", GUIDE_SHEET])
def test_page_setup(workbook: Workbook, schema: Schema, sheet: str) -> None:
    """Each sheet prints landscape on A4, fitted to one page wide (as many pages down as needed), its header
    row repeated, with « Page n / N » in the footer; Structure and Mode d'emploi have a print area over their
    whole content. Fails on main before 27f396a: portrait, no fit, 29 pages for a blank template."""
    name = {"structure": schema.structure_sheet.label, "salaries": schema.salaries_sheet.label}.get(sheet, sheet)
    ws = workbook[name]
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize or 0) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    assert ws.oddFooter is not None and ws.oddFooter.center.text == "Page &P / &N"
    head = guide_head_row(ws) if sheet == GUIDE_SHEET else 1
    assert ws.print_title_rows == f"${head}:${head}"
    if sheet == "salaries":
        assert ws.print_title_cols == "$A:$A"  # the identifier on every page
        assert not ws.print_area  # the used range, which grows with the rows typed in
    else:
        from openpyxl.utils import get_column_letter

        last = f"${get_column_letter(ws.max_column)}${ws.max_row}"
        assert ws.print_area == f"{quote(name)}!$A$1:{last}"


def quote(sheet: str) -> str:
    from openpyxl.utils import quote_sheetname

    return quote_sheetname(sheet)


def test_text_and_list_columns_are_formatted_as_text(workbook: Workbook, schema: Schema) -> None:
    """Every text, list and Oui/Non column of Salariés is formatted as text (`@`) as a whole column, so Excel
    keeps « 1-2 » or « 5-8 » (Niveau de formation) as typed instead of making a date; the Structure values
    too, except the date. Fails on main before 27f396a: « Niveau de formation » and every
    list column were General."""
    ws = workbook[schema.salaries_sheet.label]
    text_like = 0
    for idx, col in enumerate(schema.columns, start=1):
        fmt = ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].number_format
        if col.type in ("text", "cat", "bool"):
            assert fmt == "@", col.label
            text_like += 1
    assert text_like > 40
    niveau = schema.column("niveau_formation")
    assert niveau.type == "cat" and {"1-2", "5-8"} <= set(schema.domain_of(niveau).labels)
    st = workbook[schema.structure_sheet.label]
    for row, fld in enumerate(schema.structure_fields, start=2):
        expected = "DD/MM/YYYY" if fld.type == "date" else "@"
        assert st.cell(row=row, column=2).number_format == expected, fld.label


# --- Writing: never over an existing file without --ecraser, never a truncated file, never a leftover.


def folder(path: Path) -> set[str]:
    return {p.name for p in path.iterdir()}


def test_existing_file_is_refused_without_ecraser(tmp_path: Path) -> None:
    """An existing file is left untouched (exit 1, French message naming it and --ecraser). Fails on main
    before 27f396a: the file was overwritten."""
    target = tmp_path / "modele.xlsx"
    target.write_bytes(b"le classeur de l'ACI")
    result = runner.invoke(app, ["template", "--sortie", str(target)])
    assert result.exit_code == 1
    assert f"« {target} » existe déjà" in result.stderr and "--ecraser" in result.stderr
    assert "Traceback" not in result.output
    assert target.read_bytes() == b"le classeur de l'ACI"
    assert folder(tmp_path) == {"modele.xlsx"}


def test_ecraser_replaces_the_file(tmp_path: Path) -> None:
    """With --ecraser the file is replaced by a complete workbook, mode 0600. Fails on main before
    27f396a: no such option (exit 2)."""
    target = tmp_path / "modele.xlsx"
    target.write_bytes(b"ancien")
    result = runner.invoke(app, ["template", "--sortie", str(target), "--ecraser"])
    assert result.exit_code == 0, result.output
    assert "Salariés" in load_workbook(target).sheetnames
    assert target.stat().st_mode & 0o777 == 0o600
    assert folder(tmp_path) == {"modele.xlsx"}


def broken_save(seen: list[tuple[str, int]], folder_path: Path, exc: BaseException) -> Callable[..., None]:
    """A Workbook.save that writes the start of a file, notes what the folder holds (names and modes), then
    fails with `exc`."""

    def save(self: object, filename: object) -> None:
        if isinstance(filename, (str, Path)):
            Path(filename).write_bytes(b"PK\x03\x04 tronque")
        else:
            filename.write(b"PK\x03\x04 tronque")  # type: ignore[attr-defined]
            filename.flush()  # type: ignore[attr-defined]
        seen.extend((p.name, p.stat().st_mode & 0o777) for p in folder_path.iterdir())
        raise exc

    return save


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), 1, "plus de place sur le disque"),
        (OSError(errno.EIO, "Input/output error"), 1, "erreur d'entrée-sortie du disque"),
        (KeyboardInterrupt(), 130, "interrompu"),
    ],
)
def test_failed_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException, code: int, message: str
) -> None:
    """A write that fails (disk full, I/O error, Ctrl-C) leaves no truncated workbook and no temporary file;
    while writing, the only file is the temporary `.modele.xlsx.partiel-<pid>`, mode 0600. Fails on main
    before 27f396a: the workbook was written in place and a truncated modele.xlsx stayed."""
    from openpyxl.workbook.workbook import Workbook as OpenpyxlWorkbook

    seen: list[tuple[str, int]] = []
    monkeypatch.setattr(OpenpyxlWorkbook, "save", broken_save(seen, tmp_path, exc))
    result = runner.invoke(app, ["template", "--sortie", str(tmp_path / "modele.xlsx")])
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.output
    assert seen == [(f".modele.xlsx.partiel-{os.getpid()}", 0o600)]
    assert folder(tmp_path) == set()


def test_failed_write_with_ecraser_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--ecraser replaces the file only once the new one is complete: a failed write keeps the old one intact.
    Fails on main before 27f396a (no such option; and the file was truncated in place)."""
    from openpyxl.workbook.workbook import Workbook as OpenpyxlWorkbook

    target = tmp_path / "modele.xlsx"
    target.write_bytes(b"ancien")
    monkeypatch.setattr(OpenpyxlWorkbook, "save", broken_save([], tmp_path, OSError(errno.ENOSPC, "plein")))
    result = runner.invoke(app, ["template", "--sortie", str(target), "--ecraser"])
    assert result.exit_code == 1
    assert "plus de place sur le disque" in result.stderr
    assert target.read_bytes() == b"ancien"
    assert folder(tmp_path) == {"modele.xlsx"}


def test_unwritable_folder_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder where the temporary file cannot be created (read-only: EACCES, injected because the tests may
    run as root) gives a French message and leaves nothing. Fails on main before 27f396a: no temporary file
    was used, the workbook went straight to its name."""
    real_open = os.open

    def refusing_open(path: object, flags: int, mode: int = 0o777, **kwargs: object) -> int:
        if ".partiel-" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing_open)
    result = runner.invoke(app, ["template", "--sortie", str(tmp_path / "modele.xlsx")])
    assert result.exit_code == 1
    assert "droits insuffisants" in result.stderr and "Traceback" not in result.output
    assert folder(tmp_path) == set()


def test_a_file_that_appears_meanwhile_is_not_clobbered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file given the destination's name while the workbook is being written (another program, a second
    `cvg template`) is kept: the finished workbook is linked to its name only if the name is still free.
    Fails on main before 27f396a: the workbook was written over whatever was there."""
    from openpyxl.workbook.workbook import Workbook as OpenpyxlWorkbook

    target = tmp_path / "modele.xlsx"
    real_save = OpenpyxlWorkbook.save

    def save_then_collide(self: OpenpyxlWorkbook, filename: object) -> None:
        real_save(self, filename)  # type: ignore[arg-type]
        if not target.exists():
            target.write_bytes(b"le fichier d'un autre")

    monkeypatch.setattr(OpenpyxlWorkbook, "save", save_then_collide)
    result = runner.invoke(app, ["template", "--sortie", str(target)])
    assert result.exit_code == 1
    assert "existe déjà" in result.stderr
    assert target.read_bytes() == b"le fichier d'un autre"
    assert folder(tmp_path) == {"modele.xlsx"}


def test_stale_temporary_files_are_removed(tmp_path: Path) -> None:
    """A temporary file of the tool's naming left by a process that no longer exists (or by an earlier process
    that had this very PID, as in a container) is removed by the next run; one of a live process, or of
    another file name, is left alone. Fails on main before 27f396a: nothing was removed."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        target = tmp_path / "modele.xlsx"
        stale = [temporary_path(target, dead.pid), temporary_path(target, os.getpid())]
        kept = [temporary_path(target, alive.pid), tmp_path / f".autre.xlsx.partiel-{dead.pid}"]
        for path in (*stale, *kept):
            path.write_bytes(b"PK partiel")
        result = runner.invoke(app, ["template", "--sortie", str(target)])
        assert result.exit_code == 0, result.output
        assert folder(tmp_path) == {"modele.xlsx", *(p.name for p in kept)}
    finally:
        alive.kill()
        alive.wait()


SLOW_SAVE = """
import os, sys, time
from openpyxl.workbook.workbook import Workbook

def slow_save(self, out):
    if isinstance(out, (str, os.PathLike)):
        out = open(out, "wb")
    out.write(b"PK\\x03\\x04 partiel")
    out.flush()
    print("ecriture", flush=True)
    time.sleep(120)

Workbook.save = slow_save
from cvg_pipeline.cli import main
sys.argv = ["cvg", "template", "--sortie", sys.argv[1]]
main()
"""


def test_sigterm_during_the_write_leaves_nothing(tmp_path: Path) -> None:
    """A real `cvg template` terminated (SIGTERM) in the middle of its write leaves neither a truncated
    workbook nor its temporary file. Fails on main before 27f396a: modele.xlsx stayed,
    truncated."""
    target = tmp_path / "modele.xlsx"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_SAVE, str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ecriture"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrompu" in err and "Traceback" not in err
    assert folder(tmp_path) == set()


# --- Looked at with a real client: LibreOffice prints it, and keeps the text formats.


def guide_texts(path: Path) -> list[str]:
    ws = load_workbook(path)[GUIDE_SHEET]
    return [str(c.value) for row in ws.iter_rows() for c in row if c.value not in (None, "")]


def overlapping_words(bbox_html: str) -> list[tuple[str, str]]:
    """Pairs of words drawn over each other on a page of `pdftotext -bbox` output."""
    import re

    pairs: list[tuple[str, str]] = []
    for page in bbox_html.split("<page ")[1:]:
        words = [
            (float(a), float(b), float(c), float(d), w)
            for a, b, c, d, w in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page
            )
        ]
        words.sort(key=lambda t: t[1])
        for i, (x0, y0, x1, y1, w) in enumerate(words):
            for u0, v0, u1, v1, other in words[i + 1 :]:
                if v0 >= y1:
                    break
                dx = min(x1, u1) - max(x0, u0)
                dy = min(y1, v1) - max(y0, v0)
                if dx > 0.5 and dy > 0.3 * min(y1 - y0, v1 - v0):
                    pairs.append((w, other))
    return pairs


def test_libreoffice_prints_the_template_readably(tmp_path: Path) -> None:
    """Real client: the template converted to PDF by LibreOffice fits in 6 pages, every text of « Mode
    d'emploi » is printed whole (each cell's text in one piece) and no two words are drawn over each other.
    Skipped when LibreOffice or poppler is missing, failed instead under CVG_CLIENTS_REQUIRED=1. Fails on main
    before 27f396a: 29 pages, the intro cut at the page's edge, wrapped lines over the next row."""
    pdfinfo = require_client("pdfinfo")
    pdftotext = require_client("pdftotext")
    require_client("soffice")
    path = write_template(tmp_path / "modele.xlsx")
    pdf = libreoffice_convert(path, "pdf", tmp_path / "pdf")
    info = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages <= 6
    raw = subprocess.run([pdftotext, "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(raw.split())
    missing = [t for t in guide_texts(path) if "".join(t.split()) not in flat]
    assert missing == []
    assert f"Page1/{pages}" in flat
    bbox = subprocess.run([pdftotext, "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert overlapping_words(bbox) == []


def test_libreoffice_keeps_the_text_format_of_columns(tmp_path: Path) -> None:
    """Real client: LibreOffice reads the whole-column formats (text for text, list and Oui/Non columns, a date
    format for dates): the .ods it converts the template to gives each Salariés column that default cell
    style. Skipped without LibreOffice (failed under CVG_CLIENTS_REQUIRED=1). Fails on main before
    27f396a: the list columns had no format."""
    import re
    import zipfile

    schema = load_schema()
    require_client("soffice")
    ods = libreoffice_convert(write_template(tmp_path / "modele.xlsx"), "ods", tmp_path / "ods")
    with zipfile.ZipFile(ods) as zf:
        content = zf.read("content.xml").decode("utf-8")
        styles = zf.read("styles.xml").decode("utf-8")
    text_styles = set(re.findall(r'<number:text-style style:name="([^"]+)"><number:text-content/></number:text-style>', content + styles))
    date_styles = set(re.findall(r'<number:date-style style:name="([^"]+)"', content + styles))
    cell_format = dict(re.findall(r'<style:style style:name="([^"]+)" style:family="table-cell"[^>]*?style:data-style-name="([^"]+)"', content))
    start = content.index(f'<table:table table:name="{schema.salaries_sheet.label}"')
    table = content[start : content.index("</table:table>", start)]
    kinds: list[str] = []
    for attrs in re.findall(r"<table:table-column ([^>]*)/>", table):
        repeat = re.search(r'table:number-columns-repeated="(\d+)"', attrs)
        style = re.search(r'table:default-cell-style-name="([^"]+)"', attrs)
        data = cell_format.get(style.group(1), "") if style else ""
        kind = "text" if data in text_styles else "date" if data in date_styles else "other"
        kinds.extend([kind] * (int(repeat.group(1)) if repeat else 1))
    expected = ["text" if c.type in ("text", "cat", "bool") else "date" if c.type == "date" else "other" for c in schema.columns]
    assert kinds[: len(expected)] == expected
