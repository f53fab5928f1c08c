"""The blank reporting workbook (`cvg template`), generated from `schemas/`.

Sheets:
- `Structure`: Champ / Valeur, one row per structure field; a drop-down of territoires, a date format on the
  Date d'arrêté, the other values formatted as text.
- `Salariés`: one header row of template labels in schema order (frozen), a drop-down on every categorical
  and Oui/Non column, for `DATA_ROWS` rows; whole columns formatted (text `@` for text, list and Oui/Non
  columns, so that Excel never turns « 1-2 » into a date; a date format for dates); required headers are
  coloured.
- `Mode d'emploi`: short paragraphs, then one row per column (type, rule, accepted values, other accepted
  headers, help), generated.
- `Listes` (hidden): the values of the drop-downs that cannot be written inline (Excel limits inline lists
  to 255 characters, and a comma inside a value would split it).

LibreOffice does not size rows holding wrapped text when it opens an .xlsx: every such row gets an explicit
height computed from its text. Every sheet prints landscape on A4, fitted to the page width, its header row
repeated on each page, with « Page n / N » in the footer (both from `sheet_layout`, shared with the error
workbook).

The file is written to a temporary file of the destination folder (`.<name>.partiel-<pid>`, mode 0600), then
linked to its name: an existing file is never replaced unless asked (`overwrite`), a failed write leaves
nothing behind, and a temporary file left by a killed run is removed by the next one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cvg_pipeline.check.errors import CvgError, UsageError
from cvg_pipeline.fr import erreur_systeme
from cvg_pipeline.schema import docs
from cvg_pipeline.schema.load import Column, Schema, load_schema
from cvg_pipeline.workbooks.layout import BOLD_CHARS_PER_WIDTH, CHARS_PER_WIDTH
from cvg_pipeline.workbooks.layout import fit_rows as _fit_rows
from cvg_pipeline.workbooks.layout import page_setup as _page_setup

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.worksheet import Worksheet

DEFAULT_OUTPUT = Path("modele-reporting-cvg.xlsx")
DATA_ROWS = 1000  # rows of Salariés prepared with drop-downs (rows 2 … DATA_ROWS + 1)
DATE_FORMAT = "DD/MM/YYYY"
TEXT_FORMAT = "@"
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


# Width a cell of Salariés needs for its values, by type (lists: their longest value, within bounds).
VALUE_WIDTHS = {"bool": 8, "date": 12, "text": 14, "number": 8, "int": 8}
MIN_WIDTH, MAX_WIDTH = 10, 22
HEADER_LINES = 4  # a header wraps on up to about four lines


def column_width(schema: Schema, column: Column) -> float:
    """Width of a column of Salariés: room for its values and for its header on about four lines, kept
    narrow so that the table prints on few pages."""
    need = VALUE_WIDTHS.get(column.type)
    if need is None:
        need = max(len(v) for v in schema.domain_of(column).labels) + 3  # the drop-down's arrow
    header = math.ceil(len(column.label) / (HEADER_LINES * CHARS_PER_WIDTH)) + 1
    word = math.ceil(max(len(w) for w in column.label.split()) / BOLD_CHARS_PER_WIDTH) + 1  # never cut a word
    return float(max(MIN_WIDTH, word, min(MAX_WIDTH, max(need, header))))


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
        # Text unless a date: a SIRET keeps its leading zeros, a name or a list value is never converted.
        value.number_format = DATE_FORMAT if fld.type == "date" else TEXT_FORMAT
        if fld.required:
            label.font = bold
            label.fill = PatternFill("solid", fgColor=FILL_BY_RULE["requis"])
            label.comment = Comment("Champ obligatoire.", "cvg")
        if fld.type == "territoire":
            names = [t.name for t in schema.territoires]
            ws.add_data_validation(
                _validation(lists.formula(fld.name, names), value.coordinate, fld.label, "Choisissez le territoire.")
            )
        elif fld.type == "supports":
            accepted = ", ".join(schema.domains["supports"].labels)
            value.comment = Comment(f"Une ou plusieurs valeurs séparées par « ; » parmi : {accepted}.", "cvg")
    _page_setup(ws, title_rows="1:1", area=f"A1:B{ws.max_row}")


def column_format(column: Column) -> str | None:
    """The number format of a column of Salariés: dates as dates, numbers as typed, everything else text."""
    if column.type == "date":
        return DATE_FORMAT
    if column.type in ("text", "cat", "bool"):
        return TEXT_FORMAT
    return None


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
        dim = ws.column_dimensions[letter]
        dim.width = column_width(schema, col)
        # The whole column's format (Excel and LibreOffice give it to every cell typed in the column).
        fmt = column_format(col)
        if fmt is not None:
            dim.number_format = fmt
        cells = f"{letter}2:{letter}{last}"
        values = column_values(schema, col)
        if values is not None:
            formula = lists.formula(col.domain or col.type, values)
            if formula in validations:
                validations[formula].add(cells)
            else:
                validations[formula] = _validation(formula, cells, col.domain or col.label)
    for dv in validations.values():
        ws.add_data_validation(dv)
    _fit_rows(ws)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(schema.columns))}1"
    # No print area: Excel prints the used range, which grows with the rows the ACI types; a fixed area
    # would either cut them or print blank pages.
    _page_setup(ws, title_rows="1:1", title_cols="A:A", area=None)


GUIDE_WIDTHS = (24, 16, 13, 58, 54, 58)  # Colonne, Type, Obligatoire, Valeurs acceptées, Autres intitulés, Aide


def guide_paragraphs(schema: Schema) -> list[str]:
    """The short paragraphs at the top of « Mode d'emploi »."""
    fields = ", ".join(f.label for f in schema.structure_fields)
    return [
        f"1. Feuille « {schema.structure_sheet.label} » : une valeur par champ ({fields}).",
        f"2. Feuille « {schema.salaries_sheet.label} » : une ligne par parcours, y compris les parcours "
        "terminés (le fichier est cumulatif).",
        "Les listes déroulantes proposent les valeurs acceptées ; le tableau ci-dessous décrit chaque colonne.",
        "Les noms, prénoms, numéros de sécurité sociale, adresses, téléphones et e-mails ne doivent pas figurer "
        "dans le fichier.",
    ]


def _guide_sheet(wb: Workbook, schema: Schema) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.pagebreak import Break

    ws = wb.create_sheet(GUIDE_SHEET)
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    last_col = len(GUIDE_WIDTHS)

    def paragraph(text: str, *, font: Font | None = None, first_col: int = 1) -> None:
        row = ws.max_row + 1
        cell = ws.cell(row=row, column=first_col, value=text)
        cell.alignment = wrap
        if font is not None:
            cell.font = font
        ws.merge_cells(start_row=row, start_column=first_col, end_row=row, end_column=last_col)

    ws.append(["Modèle de reporting CVG / PHC — mode d'emploi"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.row_dimensions[1].height = 24
    for text in guide_paragraphs(schema):
        paragraph(text)
    paragraph(f"Couleur des en-têtes de la feuille « {schema.salaries_sheet.label} » :", font=bold)
    for rule, meaning in LEGEND.items():
        ws.append([docs.RULE_LABELS[rule]])
        ws.cell(row=ws.max_row, column=1).fill = PatternFill("solid", fgColor=FILL_BY_RULE[rule])
        ws.cell(row=ws.max_row, column=1).alignment = wrap
        ws.cell(row=ws.max_row, column=2, value=meaning).alignment = wrap
        ws.merge_cells(start_row=ws.max_row, start_column=2, end_row=ws.max_row, end_column=last_col)
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
    paragraph(
        f"Oui / Non : « {schema.true_labels[0]} » ou « {schema.false_labels[0]} » (aussi acceptés : "
        + ", ".join((*schema.true_labels[1:], *schema.false_labels[1:]))
        + "). Une cellule vide signifie « non renseigné »."
    )
    ws.append([])
    ws.append([f"Feuille « {schema.structure_sheet.label} »"])
    ws.cell(row=ws.max_row, column=1).font = bold
    ws.row_breaks.append(Break(id=ws.max_row - 1))  # the section starts a page (its title not left alone)
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
    for index in (1, 4, 5):
        ws.cell(row=ws.max_row, column=index).font = bold
    for terr in schema.territoires:
        ws.append(["", "", "", terr.name, ", ".join(terr.synonyms)])
    for row in ws.iter_rows(min_row=head_row):
        for cell in row:
            cell.alignment = wrap
    for letter, width in zip("ABCDEF", GUIDE_WIDTHS, strict=True):
        ws.column_dimensions[letter].width = width
    _fit_rows(ws, 2)
    _page_setup(ws, title_rows=f"{head_row}:{head_row}", area=f"A1:F{ws.max_row}")


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


def write_template(path: Path = DEFAULT_OUTPUT, schema: Schema | None = None, *, overwrite: bool = False) -> Path:
    """Write the blank reporting workbook to `path` (parents created); return the path.

    A format other than .xlsx is a usage error (exit 2). An existing `path` is refused unless `overwrite`
    (then replaced in one step, never truncated). The workbook goes to a temporary file of the destination
    folder first (mode 0600), removed on every failure, interrupt or SIGTERM included.
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise UsageError(f"« {path.name} » : le modèle s'écrit au format .xlsx (exemple : {DEFAULT_OUTPUT}).")
    if path.is_dir():
        raise UsageError(f"« {path} » est un dossier : donnez le nom du fichier à écrire (exemple : {path / DEFAULT_OUTPUT}).")
    if path.exists() and not overwrite:
        raise CvgError(_exists_message(path))
    wb = build_template(schema)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CvgError(f"impossible d'écrire « {path} » ({erreur_systeme(exc)}).") from exc
    from cvg_pipeline.files import FileExists, write_new_file

    try:  # SIGTERM raises KeyboardInterrupt too (files.handle_interrupts, set by cli.main): nothing is left
        write_new_file(path, wb.save, overwrite=overwrite)
    except FileExists:
        raise CvgError(_exists_message(path)) from None
    except OSError as exc:
        raise CvgError(f"impossible d'écrire « {path} » ({erreur_systeme(exc)}) ; rien n'a été écrit.") from exc
    return path


def _exists_message(path: Path) -> str:
    return (
        f"« {path} » existe déjà : il n'a pas été modifié. Ajoutez --ecraser pour le remplacer, "
        "ou choisissez un autre nom avec --sortie."
    )


