"""Row heights and page setup shared by the workbooks cvg writes (the template, the error workbook).

LibreOffice does not size rows holding wrapped text when it opens an .xlsx: every such row gets an explicit
height computed from its text (`text_lines`, `fit_rows`). `page_setup` prints a sheet landscape on A4, fitted
to the page width, its header row(s) repeated on each page, with « Page n / N » in the footer.

openpyxl is imported inside the functions (the CLI stays quick to start).
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

# Row heights (LibreOffice keeps wrapped rows one line high unless the file gives their height). Widths are
# in Excel's units (one digit of the default font, Calibri 11): a unit holds about 1.2 characters of text in
# Excel, about 1.1 in LibreOffice with DejaVu Sans (its stand-in for Calibri, whose lines are 12.8 points
# high instead of Excel's 15): the estimate below fits both, with a little room to spare in LibreOffice.
LINE_HEIGHT = 15.0  # points per line of 11-point text
ROW_PADDING = 0.0  # points (Excel gives a wrapped cell of Calibri 11 exactly 15 points a line)
CHARS_PER_WIDTH = 1.05  # characters of text per unit of column width
BOLD_CHARS_PER_WIDTH = 0.95
DEFAULT_WIDTH = 8.43  # a column without a width of its own (Excel's default)
FOOTER = "Page &P / &N"


def text_lines(text: str, width: float, *, bold: bool = False) -> int:
    """Lines that `text` takes in a wrapped cell of `width` (Excel units), each paragraph wrapped on words."""
    chars = max(1, int(width * (BOLD_CHARS_PER_WIDTH if bold else CHARS_PER_WIDTH)))
    return sum(max(1, len(textwrap.wrap(part, chars, break_on_hyphens=False))) for part in text.split("\n"))


def lines_height(lines: int) -> float:
    return lines * LINE_HEIGHT + ROW_PADDING


def fit_rows(ws: Worksheet, first_row: int = 1, last_row: int | None = None) -> None:
    """Give every row from `first_row` (to `last_row`) holding wrapped text the height its text needs (merged
    cells count the width of their whole range)."""
    from openpyxl.utils import get_column_letter

    def width(col: int) -> float:
        dim = ws.column_dimensions.get(get_column_letter(col))
        return float(dim.width) if dim is not None and dim.width else DEFAULT_WIDTH

    spans = {(r.min_row, r.min_col): r.max_col for r in ws.merged_cells.ranges}
    for row in ws.iter_rows(min_row=first_row, max_row=last_row):
        number = row[0].row
        lines = 0
        for cell in row:
            if cell.value is None or not cell.alignment.wrap_text or cell.column is None:
                continue
            last = spans.get((cell.row, cell.column), cell.column)
            total = sum(width(c) for c in range(cell.column, last + 1))
            lines = max(lines, text_lines(str(cell.value), total, bold=bool(cell.font.b)))
        if lines and number is not None:
            ws.row_dimensions[number].height = lines_height(lines)


def page_setup(ws: Worksheet, *, title_rows: str | None, area: str | None, title_cols: str | None = None) -> None:
    """Landscape A4 fitted to the page width (as many pages down as needed), header row(s) repeated, footer
    « Page n / N »."""
    from openpyxl.worksheet.header_footer import HeaderFooterItem
    from openpyxl.worksheet.properties import PageSetupProperties

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = 0.5
    ws.page_margins.bottom = 0.6
    ws.page_margins.header = 0.3
    ws.page_margins.footer = 0.3
    footer = ws.oddFooter if ws.oddFooter is not None else HeaderFooterItem()
    footer.center.text = FOOTER
    footer.left.text = "&A"  # the sheet's name
    ws.oddFooter = footer
    ws.HeaderFooter.scaleWithDoc = False  # the footer keeps its size when the sheet is shrunk to the page
    if title_rows:
        ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols
    if area:
        ws.print_area = area
