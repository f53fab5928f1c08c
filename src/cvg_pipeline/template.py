"""The blank reporting workbook (`cvg template`), generated from `schemas/`.

Sheets:
- `Structure`: Champ / Valeur, one row per structure field; a drop-down of territoires, a date format on the
  Date d'arrêté, the SIRET kept as text.
- `Salariés`: one header row of template labels in schema order (frozen), a drop-down on every categorical
  and Oui/Non column, a date format on date columns, for `DATA_ROWS` rows; required headers are coloured.
- `Mode d'emploi`: one row per column (type, rule, accepted values, other accepted headers, help), generated.
- `Listes` (hidden): the values of the drop-downs that cannot be written inline (Excel limits inline lists
  to 255 characters, and a comma inside a value would split it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cvg_pipeline import docs
from cvg_pipeline.fr import erreur_systeme
from cvg_pipeline.schema import Column, Schema, load_schema

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.worksheet import Worksheet

DEFAULT_OUTPUT = Path("modele-reporting-cvg.xlsx")
DATA_ROWS = 1000  # rows of Salariés prepared with drop-downs and formats (rows 2 … DATA_ROWS + 1)
DATE_FORMAT = "DD/MM/YYYY"
LISTS_SHEET = "Listes"
GUIDE_SHEET = "Mode d'emploi"
INLINE_LIMIT = 255  # Excel's limit for an inline list (formula1 between quotes)
# A fixed creation date (openpyxl stamps the modification date itself).
CREATED = datetime(2024, 1, 1)

# Header colours by rule (the legend is in Mode d'emploi).
FILL_BY_RULE = {"requis": "F4B183", "si_sortie": "FFE699", "facultatif": "DDEBF7"}
LEGEND = {
    "requis": "obligatoire sur chaque ligne",
    "si_sortie": "obligatoire si la date de sortie est remplie",
    "facultatif": "facultatif",
}


class _Lists:
    """Drop-down sources: inline when short, else a column of the hidden `Listes` sheet."""

    def __init__(self, wb: Workbook) -> None:
        self._wb = wb
        self._sheet: Worksheet | None = None
        self._ranges: dict[tuple[str, ...], str] = {}

    def formula(self, name: str, values: Sequence[str]) -> str:
        inline = ",".join(values)
        if len(inline) + 2 <= INLINE_LIMIT and not any("," in v or '"' in v for v in values):
            return f'"{inline}"'
        key = tuple(values)
        if key not in self._ranges:
            self._ranges[key] = self._add_column(name, values)
        return self._ranges[key]

    def _add_column(self, name: str, values: Sequence[str]) -> str:
        from openpyxl.utils import get_column_letter, quote_sheetname

        if self._sheet is None:
            self._sheet = self._wb.create_sheet(LISTS_SHEET)
            self._sheet.sheet_state = "hidden"
        col = len(self._ranges) + 1
        letter = get_column_letter(col)
        self._sheet.cell(row=1, column=col, value=name)
        for i, value in enumerate(values, start=2):
            self._sheet.cell(row=i, column=col, value=value).data_type = "s"
        self._sheet.column_dimensions[letter].width = max(12, min(60, max(len(v) for v in values) + 2))
        return f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(values) + 1}"


def _validation(formula: str, cells: str, title: str, prompt: str | None = None) -> DataValidation:
    from openpyxl.worksheet.datavalidation import DataValidation

    dv = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True)
    dv.errorTitle = "Valeur non acceptée"
    dv.error = f"Choisissez une valeur de la liste déroulante (voir la feuille « {GUIDE_SHEET} »)."
    if prompt:
        dv.showInputMessage = True
        dv.promptTitle = title[:32]
        dv.prompt = prompt[:INLINE_LIMIT]
    dv.add(cells)
    return dv


def column_values(schema: Schema, column: Column) -> tuple[str, ...] | None:
    """The drop-down values of a column of Salariés (None: no drop-down)."""
    if column.type == "cat":
        return schema.domain_of(column).labels
    if column.type == "bool":
        return (schema.true_labels[0], schema.false_labels[0])
    return None


def _width(label: str) -> float:
    # Headers wrap on two or three lines: about a third of the label, within readable bounds.
    return float(max(12, min(30, len(label) // 2 + 4)))


def _structure_sheet(wb: Workbook, schema: Schema, lists: _Lists) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill

    ws = wb.create_sheet(schema.structure_sheet.label)
    ws.append([schema.structure_field_header, schema.structure_value_header])
    bold = Font(bold=True)
    for cell in ws[1]:
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="D9D9D9")
    ws.freeze_panes = "A2"
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 48
    for row, fld in enumerate(schema.structure_fields, start=2):
        label = ws.cell(row=row, column=1, value=fld.label)
        value = ws.cell(row=row, column=2)
        value.alignment = Alignment(horizontal="left")
        if fld.required:
            label.font = bold
            label.fill = PatternFill("solid", fgColor=FILL_BY_RULE["requis"])
            label.comment = Comment("Champ obligatoire.", "cvg")
        if fld.type == "territoire":
            names = [t.name for t in schema.territoires]
            ws.add_data_validation(
                _validation(lists.formula(fld.name, names), value.coordinate, fld.label, "Choisissez le territoire.")
            )
        elif fld.type == "date":
            value.number_format = DATE_FORMAT
        elif fld.type == "siret":
            value.number_format = "@"
        elif fld.type == "supports":
            accepted = ", ".join(schema.domains["supports"].labels)
            value.comment = Comment(f"Une ou plusieurs valeurs séparées par « ; » parmi : {accepted}.", "cvg")


def _salaries_sheet(wb: Workbook, schema: Schema, lists: _Lists) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(schema.salaries_sheet.label)
    thin = Side(style="thin", color="808080")
    last = DATA_ROWS + 1
    validations: dict[str, DataValidation] = {}  # one validation per list, over all its columns
    for idx, col in enumerate(schema.columns, start=1):
        letter = get_column_letter(idx)
        cell = ws.cell(row=1, column=idx, value=col.label)
        cell.font = Font(bold=col.rule != "facultatif")
        cell.fill = PatternFill("solid", fgColor=FILL_BY_RULE[col.rule])
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.border = Border(bottom=thin)
        note = docs.column_notes(schema, col)
        rule = docs.rule_label(col)
        cell.comment = Comment(f"{rule}. {note}".strip(), "cvg")
        ws.column_dimensions[letter].width = _width(col.label)
        cells = f"{letter}2:{letter}{last}"
        values = column_values(schema, col)
        if values is not None:
            formula = lists.formula(col.domain or col.type, values)
            if formula in validations:
                validations[formula].add(cells)
            else:
                validations[formula] = _validation(formula, cells, col.domain or col.label)
        if col.type == "date":
            for row in range(2, last + 1):
                ws.cell(row=row, column=idx).number_format = DATE_FORMAT
        elif col.type == "text":
            for row in range(2, last + 1):
                ws.cell(row=row, column=idx).number_format = "@"
    for dv in validations.values():
        ws.add_data_validation(dv)
    ws.row_dimensions[1].height = 60
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(schema.columns))}1"


def _guide_sheet(wb: Workbook, schema: Schema) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    ws = wb.create_sheet(GUIDE_SHEET)
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    ws.append(["Modèle de reporting CVG / PHC — mode d'emploi"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([
        f"Remplissez la feuille « {schema.structure_sheet.label} » (une valeur par champ) puis la feuille "
        f"« {schema.salaries_sheet.label} » : une ligne par parcours, y compris les parcours terminés "
        "(le fichier est cumulatif). Les noms, prénoms, numéros de sécurité sociale, adresses, téléphones "
        "et e-mails ne doivent pas figurer dans le fichier."
    ])
    ws.append(["Couleur des en-têtes : " + " ; ".join(f"{docs.RULE_LABELS[r]} = {t}" for r, t in LEGEND.items()) + "."])
    ws.append([])
    header = ["Colonne", "Type", "Obligatoire", "Valeurs acceptées", "Autres intitulés acceptés", "Aide"]
    ws.append(header)
    head_row = ws.max_row
    for cell in ws[head_row]:
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="D9D9D9")
    for col in schema.columns:
        ws.append([
            col.label,
            docs.type_label(col),
            docs.rule_label(col),
            docs.accepted_values(schema, col),
            ", ".join((*col.synonyms, *col.date_synonyms)),
            docs.column_notes(schema, col),
        ])
        row = ws.max_row
        ws.cell(row=row, column=3).fill = PatternFill("solid", fgColor=FILL_BY_RULE[col.rule])
    ws.append([])
    ws.append([f"Feuille « {schema.structure_sheet.label} »"])
    ws.cell(row=ws.max_row, column=1).font = bold
    for fld in schema.structure_fields:
        if fld.type == "supports":
            values = "Une ou plusieurs valeurs séparées par « ; » : " + " ; ".join(schema.domains["supports"].labels)
        elif fld.type == "territoire":
            values = "Voir la liste des territoires ci-dessous"
        elif fld.type == "date":
            values = f"Date ({docs.DATE_FORMAT_HINT}), pas dans le futur"
        elif fld.type == "siret":
            values = "14 chiffres (espaces et points acceptés)"
        else:
            values = "Texte libre"
        ws.append([
            fld.label,
            docs.STRUCTURE_TYPE_LABELS[fld.type],
            "Obligatoire" if fld.required else "Facultatif",
            values,
            ", ".join(fld.synonyms),
            "",
        ])
    ws.append([])
    ws.append(["Territoires", "", "", "Nom", "Autres noms acceptés"])
    ws.cell(row=ws.max_row, column=1).font = bold
    for terr in schema.territoires:
        ws.append(["", "", "", terr.name, ", ".join(terr.synonyms)])
    ws.append([])
    ws.append([
        f"Oui / Non : « {schema.true_labels[0]} » ou « {schema.false_labels[0]} » (aussi acceptés : "
        + ", ".join((*schema.true_labels[1:], *schema.false_labels[1:]))
        + "). Une cellule vide signifie « non renseigné »."
    ])
    for row in ws.iter_rows(min_row=head_row):
        for cell in row:
            cell.alignment = wrap
    for letter, width in zip("ABCDEF", (34, 16, 20, 48, 40, 50), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = ws.cell(row=head_row + 1, column=1).coordinate


def build_template(schema: Schema | None = None) -> Workbook:
    """The template as an openpyxl workbook (not saved)."""
    from openpyxl import Workbook

    schema = schema or load_schema()
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    lists = _Lists(wb)
    _structure_sheet(wb, schema, lists)
    _salaries_sheet(wb, schema, lists)
    _guide_sheet(wb, schema)
    if LISTS_SHEET in wb.sheetnames:
        wb.move_sheet(LISTS_SHEET, offset=len(wb.sheetnames))
    wb.active = 0
    wb.properties.creator = "cvg-pipeline"
    wb.properties.title = "Modèle de reporting CVG / PHC"
    wb.properties.created = CREATED
    return wb


def write_template(path: Path = DEFAULT_OUTPUT, schema: Schema | None = None) -> Path:
    """Write the blank reporting workbook to `path` (parents created); return the path."""
    from cvg_pipeline.errors import CvgError

    wb = build_template(schema)
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise CvgError(f"« {path.name} » : le modèle s'écrit au format .xlsx (exemple : {DEFAULT_OUTPUT}).")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        wb.save(path)
    except OSError as exc:
        raise CvgError(f"impossible d'écrire « {path} » ({erreur_systeme(exc)}).") from exc
    return path
