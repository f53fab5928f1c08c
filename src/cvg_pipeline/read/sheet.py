"""One sheet of a workbook as text (`Sheet`, loaded by fastexcel with `load_sheet`), and how its cells' text
is shown: column letters, a cell's text, the text as French Excel shows it, a full date where a year is asked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl


def column_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 25 → Z, 26 → AA)."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class Sheet:
    """One sheet as text: frame row i is Excel row i + 1; `letters[j]` is the letter of frame column j."""

    name: str
    frame: pl.DataFrame
    letters: list[str]
    indices: list[int]

    @property
    def is_empty(self) -> bool:
        return self.frame.height == 0 or self.frame.width == 0


def load_sheet(reader: Any, name: str) -> Sheet:
    import polars as pl

    from cvg_pipeline.read.normalise import EXCEL_ERRORS

    sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string", whitespace_as_null=True)
    indices = [info.absolute_index for info in sheet.available_columns()]
    table, cell_errors = sheet.to_arrow_with_errors()
    # Through the Arrow PyCapsule interface: a zero-copy import, ~2× cheaper than `pl.from_arrow` (which
    # goes through pyarrow's Python API and rechunks), for the same frame.
    frame = pl.DataFrame(table)
    if cell_errors is not None and cell_errors.errors:
        # A cell showing an Excel error (#DIV/0!, #N/A…) is not empty: keep what Excel shows, so that the
        # normaliser reports it at its cell (`erreur-excel`) instead of reading it as blank.
        frame = frame.with_row_index("__r")
        for err in cell_errors.errors:
            match = _EXCEL_ERROR_DETAIL.search(err.detail)
            shown = EXCEL_ERRORS.get(match.group(1), "#ERREUR") if match else "#ERREUR"
            row, col = err.position
            target = frame.columns[col + 1]
            frame = frame.with_columns(
                pl.when(pl.col("__r") == row).then(pl.lit(shown)).otherwise(pl.col(target)).alias(target)
            )
        frame = frame.drop("__r")
    return Sheet(name, frame, [column_letter(i) for i in indices], indices)


_EXCEL_ERROR_DETAIL = re.compile(r"Error\((\w+)\)")



def cell_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def display_text(text: str | None) -> str | None:
    """Text as read → as a person sees it in French Excel: a real date `JJ/MM/AAAA`, TRUE/FALSE `VRAI`/`FAUX`.

    fastexcel renders an Excel date cell as `AAAA-MM-JJ hh:mm:ss` and a boolean cell as `true`/`false`.
    """
    text = cell_text(text)
    if text is None:
        return None
    if text in BOOL_DISPLAY:
        return BOOL_DISPLAY[text]
    if len(text) == 19 and text.endswith(" 00:00:00") and text[4] == "-" and text[7] == "-":
        return f"{text[8:10]}/{text[5:7]}/{text[:4]}"
    return text


BOOL_DISPLAY = {"true": "VRAI", "false": "FAUX"}
DATE_DISPLAY = (r"^(\d{4})-(\d{2})-(\d{2}) 00:00:00$", "${3}/${2}/${1}")

# A full date typed where only a year is asked (« Année de naissance »): never quoted in a message.
FULL_DATE = "une date complète"
_DIGIT_GROUPS = re.compile(r"\d+")
_DECIMAL = re.compile(r"^\s*\d+[.,]\d+\s*$")


def is_full_date(text: str) -> bool:
    """Two groups of digits or more (17/05/1980, 1980-05-17 00:00:00, 17 mai 1980), a decimal number aside."""
    return len(_DIGIT_GROUPS.findall(text)) >= 2 and not _DECIMAL.match(text)

