"""The data handed from one ingest stage to the next: read → normalise → validate → store.

`read_workbooks` (read/workbook.py + read/normalise.py) turns each file into a `ParsedFile`: the Structure fields typed,
the Salariés rows as a polars frame of canonical, typed columns (null where a cell is empty or failed to
parse), the raw text of every cell (for error messages "as written"), where each column was found, and every
issue found so far. `validate` (check/validate.py) then checks the cell bounds and row rules of all files at once,
and `ingest` stores the files without errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from cvg_pipeline.check.errors import Issue

if TYPE_CHECKING:
    import polars as pl

# The workbooks cvg reads. Anything else is refused with its real format named (read/workbook.py), except in a folder
# the files that are clearly not a reporting workbook (ingest.discover: documents, images, cvg's own outputs).
SPREADSHEET_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods")

# The name ending of the error workbooks cvg writes (workbooks/annotate.py); folder scans skip them (ingest/run.py).
ERROR_WORKBOOK_SUFFIX = "-erreurs.xlsx"
_ERROR_WORKBOOK_NAME = re.compile(r"-erreurs(-[0-9]+)?\.xlsx$", re.IGNORECASE)


def is_error_workbook_name(name: str) -> bool:
    """`aci-erreurs.xlsx`, or `aci-erreurs-2.xlsx`… when that name was taken (annotate.error_workbook_names)."""
    return _ERROR_WORKBOOK_NAME.search(name) is not None


def display_name(text: str) -> str:
    """A file name or path as it can be shown, stored and written as UTF-8: the bytes of a name that is not
    valid UTF-8 (`relev\\xe9.xlsx` from a Windows zip, which Python holds as lone surrogates) become
    replacement characters (`relev\ufffd.xlsx`). The file itself is still opened by its real path."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte
        return text.encode("utf-8", "replace").decode("utf-8")


# Technical columns of `ParsedFile.data` and `ParsedFile.raw` (never stored as parcours data).
ROW_COLUMN = "_ligne"  # Excel row number (1-based) of the parcours, Int32
FILE_COLUMN = "_fichier"  # file name, added when the frames of several files are stacked
# Added by the readers (ingest._read_chunk) to `ParsedFile.data`, so that the serial end of an ingest has
# less to do: whether the row may fail a rule (validate.mark_suspects), and the pseudonymised identifier.
SUSPECT_COLUMN = "_suspect"
PSEUDO_COLUMN = "_pseudonyme"


@dataclass(frozen=True)
class SheetColumn:
    """Where a canonical column was found in sheet Salariés."""

    name: str  # canonical column name (schemas/)
    header: str  # header as written in the file
    letter: str  # Excel column letter ("A", "AB")
    index: int  # 0-based column index in the sheet


@dataclass(frozen=True)
class StructureInfo:
    """Sheet Structure, typed. A field that is missing or failed to parse is None (and has an issue)."""

    sheet: str  # sheet name as written
    nom: str | None
    siret: str | None  # 14 digits, Luhn-valid
    territoire: str | None  # slug
    date_arrete: date | None
    supports: tuple[str, ...]  # canonical labels
    rows: dict[str, int] = field(default_factory=dict)  # field name -> Excel row where it was found
    value_letter: str = "B"  # Excel column letter of the Valeur column


class HasIssues:
    """The errors and warnings of an object that carries a list of issues (a file read, a file's result)."""

    issues: list[Issue]

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if not i.is_error]


@dataclass
class ParsedFile(HasIssues):
    path: Path
    fichier: str  # file name as received (no directory)
    sha256: str
    structure: StructureInfo | None = None
    salaries_sheet: str | None = None  # sheet name as written
    header_row: int | None = None  # Excel row number of the header
    columns: dict[str, SheetColumn] = field(default_factory=dict)  # canonical name -> location
    # Typed canonical columns (every column of the schema, null when absent) + ROW_COLUMN.
    data: pl.DataFrame | None = None
    # Same rows: ROW_COLUMN + the cell text as written (Utf8) for every column present in the file.
    raw: pl.DataFrame | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors
