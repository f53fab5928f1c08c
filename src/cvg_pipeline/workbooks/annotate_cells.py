"""The cells of the error workbook: a value written as inert data (`put`: text never a formula, dates with a
format), a message as a cell comment, a sheet's name in a link; the value types and names its sheets share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

ERRORS_SHEET = "Erreurs"
COMMENT_AUTHOR = "cvg"

_FORMULA_START = ("=", "+", "-", "@")
_MAX_TEXT = 32767

CellValue = str | int | float | bool | date | datetime | time | None


def quote_sheet(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def clean_text(text: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return str(ILLEGAL_CHARACTERS_RE.sub("", text))[:_MAX_TEXT]


def put(ws: Worksheet, row: int, col: int, value: CellValue) -> Any:
    """Write one value as inert data: text is always a string cell (never a formula), dates get a format."""
    cell = ws.cell(row=row, column=col)
    if value is None:
        return cell
    if isinstance(value, str):
        text = clean_text(value)
        cell.value = text
        cell.data_type = "s"  # a text beginning with "=" would otherwise become a formula
        if text.startswith(_FORMULA_START):
            cell.quotePrefix = True
    elif isinstance(value, datetime):
        cell.value = value
        cell.number_format = "DD/MM/YYYY HH:MM"
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = "DD/MM/YYYY"
    elif isinstance(value, time):
        cell.value = value
        cell.number_format = "HH:MM"
    else:
        cell.value = value
    return cell


def cell_comment(messages: Sequence[str]) -> Any:
    from openpyxl.comments import Comment

    text = clean_text("\n\n".join(dict.fromkeys(messages)))
    lines = sum(1 + len(m) // 48 for m in text.split("\n"))
    return Comment(text, COMMENT_AUTHOR, height=max(60, 15 * lines), width=320)
