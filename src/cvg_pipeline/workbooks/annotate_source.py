"""What the error workbook reads from the source file: its sheets as written (`RawSheet`), every value at its
own Excel address and typed as it came (text, number, boolean, date), read with fastexcel (cached values only:
formulas and macros never run)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from cvg_pipeline.workbooks.annotate_cells import CellValue

_EXCEL_EPOCH_DAY = date(1899, 12, 31)  # calamine's date part of a time-only cell
_UNIX_EPOCH = datetime(1970, 1, 1)


@dataclass
class RawSheet:
    """A sheet as written, values typed as they came (text, number, Oui/Non boolean, date), at their address."""

    name: str
    cells: dict[tuple[int, int], CellValue]  # (Excel row 1-based, Excel column 1-based) -> value
    first_col: int = 1  # leftmost column holding a value (1-based)
    last_col: int = 0  # rightmost column holding a value (0: empty sheet)
    last_row: int = 0

    def text(self, row: int, col: int) -> str:
        value = self.cells.get((row, col))
        return "" if value is None else str(value).strip()


def read_raw_sheets(source: Path, wanted: Sequence[str] | None = None) -> list[RawSheet]:
    """Read the sheets of `source` (all, or those named in `wanted`) with fastexcel: cached values only.

    calamine trims the empty rows and columns around the data; with `skip_rows=0` the rows are kept from
    row 1, and each column's `absolute_index` gives its real position, so every value lands at its own
    Excel address. Each sheet is loaded as text, float, datetime and boolean to recover the type of every
    cell: a text never converts to a datetime or a boolean, a number always converts to a float and to a
    datetime or a boolean, a date converts to a datetime but not to a float.
    """
    import fastexcel

    reader = fastexcel.read_excel(source)
    sheets: list[RawSheet] = []
    for name in reader.sheet_names:
        if wanted is not None and name not in wanted:
            continue
        sheets.append(_read_sheet(reader, name))
    return sheets


def _read_sheet(reader: Any, name: str) -> RawSheet:
    import polars as pl

    def load(dtype: str) -> pl.DataFrame:
        sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes=dtype)
        frame: pl.DataFrame = sheet.to_polars()
        return frame

    as_text = load("string")
    raw = RawSheet(name=name, cells={})
    if as_text.width == 0 or as_text.height == 0:
        return raw
    offsets = [c.absolute_index for c in reader.load_sheet(name, header_row=None, skip_rows=0).available_columns()]
    as_float = load("float")
    # Datetimes as epoch milliseconds: a number far outside Python's date range must not raise.
    as_ms = load("datetime").select(pl.all().cast(pl.Int64))
    as_bool = load("boolean")
    for j, col_offset in enumerate(offsets):
        col = col_offset + 1
        texts = as_text.to_series(j).to_list()
        floats = as_float.to_series(j).to_list()
        millis = as_ms.to_series(j).to_list()
        bools = as_bool.to_series(j).to_list()
        for i, text in enumerate(texts):
            value = _typed(text, floats[i], millis[i], bools[i])
            if value is None:
                continue
            row = i + 1
            raw.cells[(row, col)] = value
            raw.first_col = col if raw.last_col == 0 else min(raw.first_col, col)
            raw.last_col = max(raw.last_col, col)
            raw.last_row = max(raw.last_row, row)
    return raw


def _typed(text: str | None, number: float | None, millis: int | None, flag: bool | None) -> CellValue:
    """One cell's value from its four readings (see `read_raw_sheets`)."""
    if text is None or text == "":
        return None
    if flag is not None and millis is None and text in ("true", "false"):
        return flag
    if number is not None and (millis is not None or flag is not None):
        if number.is_integer() and abs(number) < 2**53:
            return int(number)
        return number
    if millis is not None and number is None:
        try:
            moment = _UNIX_EPOCH + timedelta(milliseconds=millis)
        except OverflowError:
            return text
        if moment.date() == _EXCEL_EPOCH_DAY:
            return moment.time()
        if moment.time() == time(0):
            return moment.date()
        return moment
    return text
