"""`cvg template`: the blank workbook is generated from schemas/ (sheets, labels, drop-downs, formats)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner

from cvg_pipeline.cli import app
from cvg_pipeline.schema import Schema, load_schema
from cvg_pipeline.template import DATA_ROWS, GUIDE_SHEET, LISTS_SHEET, write_template

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
    ws = workbook[schema.salaries_sheet.label]
    for idx, col in enumerate(schema.columns, start=1):
        for row in (2, DATA_ROWS + 1):
            fmt = ws.cell(row=row, column=idx).number_format
            if col.type == "date":
                assert fmt == "DD/MM/YYYY", col.label
            elif col.type == "text":
                assert fmt == "@", col.label
            else:
                assert fmt == "General", col.label


def test_widths_are_readable(workbook: Workbook, schema: Schema) -> None:
    ws = workbook[schema.salaries_sheet.label]
    for idx in range(1, len(schema.columns) + 1):
        width = ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].width
        assert 12 <= width <= 30


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


@pytest.mark.parametrize("name", ["modele.csv", "modele.ods"])
def test_cli_refuses_other_formats(tmp_path: Path, name: str) -> None:
    result = runner.invoke(app, ["template", "--sortie", str(tmp_path / name)])
    assert result.exit_code == 1
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
