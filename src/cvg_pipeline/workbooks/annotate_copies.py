"""The copied sheets of the error workbook (Structure, Salariés): the cells let through at their own address,
each faulty cell red with its message as a comment, each faulty row highlighted with a marker right of the
table linked back to `Erreurs`; their widths and their printing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Literal

from cvg_pipeline.fr import pluriel
from cvg_pipeline.workbooks.annotate_cells import ERRORS_SHEET, CellValue, cell_comment, put, quote_sheet
from cvg_pipeline.workbooks.annotate_plan import Copy, Entry, marker_column
from cvg_pipeline.workbooks.layout import CHARS_PER_WIDTH, fit_rows, page_setup

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

# Colours (ARGB). Faulty cell: red; other cells of a faulty row: light red; identifier column header: grey.
ERROR_FILL = "FFFF7C80"
ROW_FILL = "FFFDE4E4"
IDENTIFIER_FILL = "FFD9D9D9"
MARKER_FONT = "FF9C0006"

# Widths of the columns of a copied sheet: room for the values copied and for the header on a few lines, kept
# narrow so that a sheet fitted to the page width stays legible.
COPY_MIN_WIDTH, COPY_MAX_WIDTH, BLANK_WIDTH = 6, 22, 3
COPY_HEADER_LINES = 4
MARKER_WIDTH = 14
STRUCTURE_MESSAGE_WIDTH = 80
COMMENTS_PRINTED: Literal["asDisplayed"] = "asDisplayed"  # see `_print_copy`


def _shown_length(value: CellValue) -> int:
    """Characters a copied value shows (a date as JJ/MM/AAAA)."""
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if isinstance(value, time):
        return 5
    return len(str(value))


def _copy_widths(copy: Copy, marker_col: int) -> dict[int, float]:
    """Width of each column of a copied sheet, from its first column to its marker column."""
    import math

    longest: dict[int, int] = defaultdict(int)
    headers: dict[int, str] = {}
    for (row, col), value in copy.cells.items():
        if row == copy.header_row and not copy.is_structure:
            headers[col] = str(value)
        else:
            longest[col] = max(longest[col], _shown_length(value))
    widths: dict[int, float] = {}
    for col in range(min(copy.raw.first_col, marker_col), marker_col):
        header = headers.get(col, "")
        if col not in longest and not header:
            widths[col] = BLANK_WIDTH  # a column left out (unknown, not read): nothing to show
            continue
        need = longest.get(col, 0) + 2
        wrapped = math.ceil(len(header) / (COPY_HEADER_LINES * CHARS_PER_WIDTH)) + 1 if header else 0
        word = math.ceil(max((len(w) for w in header.split()), default=0) / CHARS_PER_WIDTH) + 1
        widths[col] = float(max(COPY_MIN_WIDTH, word, min(COPY_MAX_WIDTH, max(need, wrapped))))
    widths[marker_col] = MARKER_WIDTH
    return widths


def write_copy(ws: Worksheet, copy: Copy, entries: Sequence[Entry]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink

    raw = copy.raw
    marker_col = marker_column(copy)
    for (row, col), value in copy.cells.items():
        put(ws, row, col, value)
    if copy.header_row is not None:
        for col in copy.blank_cols:
            ws.cell(row=copy.header_row, column=col).fill = PatternFill("solid", fgColor=IDENTIFIER_FILL)
    for col, width in _copy_widths(copy, marker_col).items():
        ws.column_dimensions[get_column_letter(col)].width = width
    if copy.header_row is not None and not copy.is_structure:
        ws.freeze_panes = f"A{copy.header_row + 1}"
        header_wrap = Alignment(vertical="top", wrap_text=True)
        for col in range(raw.first_col, marker_col):
            ws.cell(row=copy.header_row, column=col).alignment = header_wrap
        fit_rows(ws, copy.header_row, copy.header_row)

    errors = [e for e in entries if e.issue.is_error and e.row is not None]
    by_cell: dict[tuple[int, int], list[Entry]] = defaultdict(list)
    by_row: dict[int, list[Entry]] = defaultdict(list)
    for entry in errors:
        assert entry.row is not None
        by_row[entry.row].append(entry)
        if entry.col is not None:
            by_cell[(entry.row, entry.col)].append(entry)

    row_fill = PatternFill("solid", fgColor=ROW_FILL)
    error_fill = PatternFill("solid", fgColor=ERROR_FILL)
    for row, row_entries in by_row.items():
        for col in range(raw.first_col, raw.last_col + 1):
            if (row, col) not in by_cell:
                ws.cell(row=row, column=col).fill = row_fill
        marker = put(ws, row, marker_col, f"⚠ {pluriel(len(row_entries), 'erreur')}")
        marker.font = Font(bold=True, color=MARKER_FONT)
        marker.fill = row_fill
        first = min(e.erreurs_row for e in row_entries)
        marker.hyperlink = Hyperlink(ref=marker.coordinate, location=f"{quote_sheet(ERRORS_SHEET)}!A{first}")
        whole_row = [e.issue.message for e in row_entries if e.col is None]
        if whole_row:
            marker.comment = cell_comment(whole_row)
    for (row, col), cell_entries in by_cell.items():
        cell = ws.cell(row=row, column=col)
        cell.fill = error_fill
        cell.comment = cell_comment([e.issue.message for e in cell_entries])
    last_col = marker_col
    if copy.is_structure and by_row:
        # A few lines: each row's messages written out right of its marker, so that they print next to their
        # cells (a sheet's comments print on a page of their own).
        last_col = marker_col + 1
        ws.column_dimensions[get_column_letter(last_col)].width = STRUCTURE_MESSAGE_WIDTH
        wrap = Alignment(vertical="top", wrap_text=True)
        for row, row_entries in by_row.items():
            text = put(ws, row, last_col, "\n".join(dict.fromkeys(e.issue.message for e in row_entries)))
            text.alignment = wrap
            text.font = Font(color=MARKER_FONT)
            for col in range(raw.first_col, marker_col + 1):  # the row's cells at the top, by their message
                ws.cell(row=row, column=col).alignment = wrap
        fit_rows(ws, min(by_row), max(by_row))
    _print_copy(ws, copy, last_col)


def _print_copy(ws: Worksheet, copy: Copy, last_col: int) -> None:
    """On paper as the template: landscape A4 fitted to the width, header row repeated, « Page n / N »; and
    the row numbers and column letters printed (the messages' « C10 » is found on paper too, and each row by
    its number once the identifier column is left blank).

    The comments of Salariés print after the sheet, on a page of their own (those of Structure are written out
    next to their cells). `cellComments="asDisplayed"`, not `atEnd`: LibreOffice has one way to print notes,
    after the sheet, and its .xlsx import turns it on for `asDisplayed` only (sc/source/filter/oox/
    pagesettings.cxx: `PROP_PrintAnnotations` from `mnCellComments == XML_asDisplayed`); Excel prints a hidden
    comment only with `atEnd`, so in Excel the messages print in the Erreurs sheet alone."""
    from openpyxl.utils import get_column_letter

    last_row = max((row for row, _col in copy.cells), default=1)
    header = copy.header_row if copy.header_row is not None and not copy.is_structure else None
    page_setup(ws, title_rows=f"{header}:{header}" if header is not None else None,
               area=f"A1:{get_column_letter(last_col)}{max(last_row, ws.max_row)}")
    ws.print_options.headings = True
    if not copy.is_structure:
        ws.page_setup.cellComments = COMMENTS_PRINTED

