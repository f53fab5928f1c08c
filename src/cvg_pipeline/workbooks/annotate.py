"""The error workbook sent back to an ACI: its own data, every faulty cell marked and explained in French.

`write_error_workbook(source, issues, dest_dir, schema)` writes `<nom du fichier>-erreurs.xlsx`:

- sheet `Erreurs` first: a one-line summary (`12 erreurs dans 9 lignes`), a short guide, a note naming the
  direct-identifier columns left blank, then one row per issue (errors first — those without a cell, the
  "structure" errors, on top — then warnings), each located row a hyperlink to its cell in the copy;
- then a copy of the `Structure` and `Salariés` sheets, cell by cell at its own Excel address (same rows,
  same columns, same header row), so the row numbers and column letters of the messages match. Each faulty
  cell is filled in red and carries an Excel comment with the French message. Each faulty row is marked
  without shifting any column: its other cells get a light red fill and a marker cell (`⚠ 2 erreurs`) is
  written in the first column to the right of the table (its header row), linked back to `Erreurs`; row
  rules that name no column put their message in a comment on that marker cell. In `Structure` (a few
  lines) each faulty row's messages are also written out right of its marker.

On paper (issue 20, point 11; `sheet_layout`, shared with the template): every sheet prints landscape on A4,
fitted to the page width, its header row repeated, « Page n / N » in the footer. `Erreurs` wraps its texts
with explicit row heights (LibreOffice does not size rows when it opens an .xlsx) and its guide lines span the
table. The copies print their row numbers and column letters (the identifier column is left blank: the ACI
finds a row by its number, a message's « AV8 » by its letters), and `Salariés` its comments after the sheet.

A workbook sent back to cvg is recognised (`is_error_workbook`: the `Erreurs` sheet and the marker in the
document's keywords, or that sheet's table header) and refused as such by the reader (issue 17, point 8).

What is copied (issue 13, point 11): the rule is an allow-list, everything else is left empty.
- `Salariés`: the header cells of the schema's columns (and of the direct identifiers, greyed: a label of the
  schema, not personal data), then, from the header down to the end of the table (`reader.table_end`), the
  cells of the schema's columns that identify no one. Never copied: the raw `Identifiant salarié`, direct
  identifiers (Nom, NIR…, and the columns the reader reported as `identifiant-direct-supprime`), columns the
  schema does not know (« N° SS », « Observations », a column without header…), title rows above the header,
  rows below the table, a second table lower in the sheet. A full date of birth (`Date de naissance`…) is
  copied as its year, as the reader keeps it; in « Année de naissance » a full date is not copied at all. A
  sheet whose header row cannot be found is not copied;
- `Structure`: the `Champ` / `Valeur` header and the rows of the schema's fields, found as the reader finds
  them; any other line (a contact person, a note) is left empty.

Safety:
- values only: cached values are read with fastexcel (formulas and macros never run), the copy is a new
  workbook, so formulas, external links, defined names and macros are never carried over; a text beginning
  with `=`, `+`, `-` or `@` is written as a string cell (never a formula) with Excel's quote prefix;
- an unreadable source (corrupt, encrypted, too big, not a spreadsheet: any file-level error, or a file that
  fails `safety.precheck`) is never opened and gives a workbook with `Erreurs` only;
- writing never replaces a file (issue 13, point 1): the workbook is written to a private temporary file
  (0600) then linked to the first free name among `<nom>-erreurs.xlsx`, `<nom>-erreurs-2.xlsx`, … with an
  exclusive creation (`os.link`, or `O_CREAT | O_EXCL` where hard links are not supported), so an ACI's
  corrected `aci-erreurs.xlsx`, an input, or a file that appears meanwhile is never overwritten.

Heavy libraries (openpyxl, fastexcel, polars) are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cvg_pipeline.check.errors import CATALOGUE, Issue
from cvg_pipeline.fr import erreur_systeme, liste, pluriel
from cvg_pipeline.read.model import ERROR_WORKBOOK_SUFFIX, display_name, is_error_workbook_name
from cvg_pipeline.schema.load import Schema, fold
from cvg_pipeline.workbooks.layout import CHARS_PER_WIDTH, fit_rows, page_setup

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

ERRORS_SHEET = "Erreurs"
SUFFIX = ERROR_WORKBOOK_SUFFIX
# Written in the workbook's properties, so that a folder scan can skip our own, untouched output (an ACI
# that corrects the copy and sends it back saves it again: its "last modified by" is no longer ours).
PRODUCER = "cvg-pipeline"
MARKER = "cvg-classeur-erreurs"

# Colours (ARGB). Faulty cell: red; other cells of a faulty row: light red; identifier column header: grey.
ERROR_FILL = "FFFF7C80"
ROW_FILL = "FFFDE4E4"
IDENTIFIER_FILL = "FFD9D9D9"
MARKER_FONT = "FF9C0006"
COMMENT_AUTHOR = "cvg"

# Warnings whose row is the header row of the sheet (used when the header cannot be found by its labels).
HEADER_ROW_CODES = frozenset({"identifiant-direct-supprime", "colonne-inconnue", "date-naissance-reduite"})

ERRORS_HEADER = ("Feuille", "Ligne", "Colonne", "Cellule", "Valeur saisie", "Message", "Code", "Gravité")
ERRORS_WIDTHS = (16, 8, 30, 9, 24, 100, 24, 15)
# Columns of Erreurs whose text may wrap on several lines: not links, as LibreOffice never wraps a cell holding
# a link (the message would run on one line, cut at the page's edge); the row's other cells link to its cell.
_UNLINKED = frozenset({3, 5, 6})  # Colonne, Valeur saisie, Message

_FORMULA_START = ("=", "+", "-", "@")
_SHEET_TITLE_BAD = re.compile(r"[\\/?*\[\]:]")
_EXCEL_EPOCH_DAY = date(1899, 12, 31)  # calamine's date part of a time-only cell
_UNIX_EPOCH = datetime(1970, 1, 1)
_MAX_TEXT = 32767
_MAX_NAMES = 999  # aci-erreurs.xlsx, then aci-erreurs-2.xlsx … aci-erreurs-999.xlsx

CellValue = str | int | float | bool | date | datetime | time | None


# -- reading the source --------------------------------------------------------------------------------------
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


def error_workbook_name(source: Path, stem: str | None = None) -> str:
    """`aci-lyon.ods` → `aci-lyon-erreurs.xlsx` (`stem`: another base than the source's, e.g. `lyon-aci`)."""
    return f"{stem or source.stem}{SUFFIX}"


def is_untouched_error_workbook(path: Path) -> bool:
    """True for an error workbook written by cvg and not saved since (cheap: reads docProps/core.xml only).

    Folder scans skip these, so `cvg verifier dossier/` run twice does not check its own output. A copy
    corrected and saved again by the ACI is a reporting file like any other.
    """
    import zipfile

    if not is_error_workbook_name(path.name):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            core = zf.read("docProps/core.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return False
    return MARKER in core and f"<cp:lastModifiedBy>{PRODUCER}</cp:lastModifiedBy>" in core


def is_error_workbook(content: bytes, sheet_names: Sequence[str], reader: Any = None) -> bool:
    """True for an error workbook written by cvg, whatever its name and whoever saved it since (issue 17,
    point 8: an ACI that corrects it and sends it back). Cheap: nothing is read unless a sheet is named
    `Erreurs`. Then either the marker in the document's properties (its keywords, which Excel and LibreOffice
    keep when they save it again, in .xlsx as in .ods), or, for a copy saved without its properties (.xls…),
    the header row of the issue table among the first rows of `Erreurs` (read with `reader`, a fastexcel
    reader of `content`, when given)."""
    names = {name.strip().casefold(): name for name in sheet_names}
    sheet = names.get(ERRORS_SHEET.casefold())
    if sheet is None:
        return False
    if _has_marker(content):
        return True
    if reader is None:
        return False
    try:
        rows = reader.load_sheet(sheet, header_row=None, n_rows=_HEADER_SEARCH_ROWS, dtypes="string").to_polars().rows()
    except Exception:
        return False
    wanted = tuple(fold(h) for h in ERRORS_HEADER)
    return any(tuple(fold(str(v or "")) for v in row[: len(wanted)]) == wanted for row in rows)


_HEADER_SEARCH_ROWS = 40  # the summary, the guide lines, then the issue table's header
_PROPERTIES = ("docProps/core.xml", "meta.xml")  # .xlsx / .xlsm, .ods
_PROPERTIES_MAX = 1 << 20


def _has_marker(content: bytes) -> bool:
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            for name in _PROPERTIES:
                try:
                    info = zf.getinfo(name)
                except KeyError:
                    continue
                if info.file_size <= _PROPERTIES_MAX and MARKER.encode() in zf.read(info):
                    return True
    except (OSError, ValueError, zipfile.BadZipFile, RuntimeError, NotImplementedError):
        return False
    return False


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


# -- locating the issues --------------------------------------------------------------------------------------
@dataclass
class _Copy:
    """A source sheet copied into the error workbook: only `cells`, the cells the rule lets through."""

    raw: RawSheet
    title: str  # title in the error workbook (the source name, made valid for Excel)
    is_structure: bool
    header_row: int | None = None
    cells: dict[tuple[int, int], CellValue] = field(default_factory=dict)  # what is written, at its address
    identifier_cols: dict[int, str] = field(default_factory=dict)  # column -> header as written
    birth_cols: dict[int, str] = field(default_factory=dict)  # full dates of birth: copied as the year only
    blank_cols: set[int] = field(default_factory=set)  # header cell greyed: the column is not copied
    table_end: int | None = None  # first Excel row below the table (reader.table_end), None: to the end
    located_cols: set[int] = field(default_factory=set)  # columns of the errors located on this sheet

    def header_col(self, header: str) -> int | None:
        """The column whose header cell reads `header` (as written, then folded)."""
        if self.header_row is None:
            return None
        cols = range(self.raw.first_col, self.raw.last_col + 1)
        for col in cols:
            if self.raw.text(self.header_row, col) == header.strip():
                return col
        folded = fold(header)
        for col in cols:
            if folded and fold(self.raw.text(self.header_row, col)) == folded:
                return col
        return None


@dataclass
class _Entry:
    issue: Issue
    copy: _Copy | None = None  # None: no place in the copy (file, sheet or column issue)
    row: int | None = None
    col: int | None = None
    erreurs_row: int = 0  # row of the issue in sheet Erreurs

    @property
    def cell(self) -> str | None:
        from openpyxl.utils import get_column_letter

        if self.row is None or self.col is None:
            return None
        return f"{get_column_letter(self.col)}{self.row}"


def _find_header_row(raw: RawSheet, schema: Schema) -> int | None:
    """The Excel row of the header, by the reader's own rule (spec §1.2) applied to the cells read here."""
    from cvg_pipeline.read.workbook import find_header_row

    rows = [
        [raw.cells.get((row, col)) for col in range(raw.first_col, raw.last_col + 1)]
        for row in range(1, min(schema.header_search_rows, raw.last_row) + 1)
    ]
    index = find_header_row(rows, schema)
    return None if index is None else index + 1


def _letter_index(letter: str | None) -> int | None:
    from openpyxl.utils import column_index_from_string

    if not letter:
        return None
    try:
        return int(column_index_from_string(letter.strip().upper()))
    except ValueError:
        return None


def _sheet_title(name: str, taken: set[str]) -> str:
    title = _SHEET_TITLE_BAD.sub("_", name).strip("'")[:31] or "Feuille"
    base, n = title, 2
    while title.casefold() in taken:
        suffix = f" ({n})"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(title.casefold())
    return title


def _plan_copies(raws: Sequence[RawSheet], issues: Sequence[Issue], schema: Schema) -> tuple[list[_Copy], list[str]]:
    """The sheets to copy and, for each, the cells let through; and the names of sheets left out."""
    copies: list[_Copy] = []
    skipped: list[str] = []
    taken = {ERRORS_SHEET.casefold()}
    for raw in raws:
        is_structure = schema.structure_sheet.matches(raw.name)
        if not is_structure and not schema.salaries_sheet.matches(raw.name):
            continue
        if is_structure:
            copy = _Copy(raw, _sheet_title(raw.name, taken), True, header_row=1)
            copy.cells = _structure_cells(raw, schema)
            copies.append(copy)
            continue
        on_sheet = [i for i in issues if i.feuille == raw.name]
        header_row = _find_header_row(raw, schema)
        if header_row is None:
            rows = sorted({i.ligne for i in on_sheet if i.code in HEADER_ROW_CODES and i.ligne is not None})
            header_row = rows[0] if rows else None
        if header_row is None:
            # Without a header row no column can be recognised: nothing to copy.
            if raw.cells:
                skipped.append(raw.name)
            continue
        copy = _Copy(raw, _sheet_title(raw.name, taken), False, header_row=header_row)
        _plan_salaries(copy, on_sheet, schema)
        copies.append(copy)
    return copies, skipped


def _structure_cells(raw: RawSheet, schema: Schema) -> dict[tuple[int, int], CellValue]:
    """Sheet Structure: the `Champ` / `Valeur` header and the rows of the schema's fields, as the reader finds
    them (reader.read_structure: fixed columns under that header, else the first two filled cells of a row);
    any other line (a contact, a note) is left out."""
    from cvg_pipeline.read.workbook import _structure_columns

    cols = list(range(raw.first_col, raw.last_col + 1))
    rows = [[raw.cells.get((row, col)) for col in cols] for row in range(1, raw.last_row + 1)]
    fixed = _structure_columns([tuple(r) for r in rows], schema)
    cells: dict[tuple[int, int], CellValue] = {}
    seen: set[str] = set()  # a field given twice: the reader reads the first (`champ-en-double`)
    for i, row in enumerate(rows, 1):
        if fixed is not None:
            label_at, value_at = fixed
            if row[label_at] is not None and fold(str(row[label_at])) == fold(schema.structure_field_header):
                cells[(i, cols[label_at])] = row[label_at]
                if value_at < len(row) and row[value_at] is not None:
                    cells[(i, cols[value_at])] = row[value_at]
                continue
        else:
            filled = [j for j, c in enumerate(row) if c is not None and str(c).strip()]
            if not filled:
                continue
            label_at = filled[0]
            value_at = filled[1] if len(filled) > 1 else filled[0] + 1
        label = row[label_at]
        spec = schema.match_structure_field(str(label).strip()) if label is not None and str(label).strip() else None
        if spec is None:
            continue
        cells[(i, cols[label_at])] = label
        if value_at < len(row) and row[value_at] is not None and spec.name not in seen:
            cells[(i, cols[value_at])] = row[value_at]
        seen.add(spec.name)
    return cells


def _plan_salaries(copy: _Copy, on_sheet: Sequence[Issue], schema: Schema) -> None:
    """Sheet Salariés: the header cells of the schema's columns and of the direct identifiers, then, down to
    the end of the table, the cells of the schema's columns that identify no one (a full date of birth as
    its year). Title rows, other columns, rows below the table are left out."""
    from cvg_pipeline.read.workbook import ENTRY_DATE, table_end

    raw, header_row = copy.raw, copy.header_row
    assert header_row is not None
    kept: dict[int, str] = {}  # column -> "value" | "year" (a birth date) | "birth-year" (Année de naissance)
    body_cols: dict[str, int] = {}  # canonical name -> its first column: what the reader reads
    for col in range(raw.first_col, raw.last_col + 1):
        text = raw.text(header_row, col)
        match = schema.match_header(text) if text else None
        if match is None or match.kind in ("unknown", "identifier") or match.column is None:
            if match is not None and match.kind == "identifier":
                copy.identifier_cols[col] = text
                copy.cells[(header_row, col)] = text  # a label of the schema, named in the messages too
            copy.blank_cols.add(col)
            continue
        copy.cells[(header_row, col)] = raw.cells[(header_row, col)]
        if body_cols.setdefault(match.column.name, col) != col:
            copy.blank_cols.add(col)  # a second column for the same data (`colonne-en-double`): not read
        elif match.column.name == "id_salarie":
            copy.identifier_cols[col] = text  # the raw identifier: the ACI finds its rows by their number
            copy.blank_cols.add(col)
        elif match.kind == "birth_date":
            copy.birth_cols[col] = text
            kept[col] = "year"
        else:
            kept[col] = "birth-year" if match.column.date_synonyms else "value"
    for i in on_sheet:  # columns the reader dropped as identifiers, whatever the schema says of their header
        if i.code == "identifiant-direct-supprime":
            at = _letter_index(i.lettre) or (copy.header_col(i.colonne) if i.colonne else None)
            if at is not None:
                kept.pop(at, None)
                copy.birth_cols.pop(at, None)
                copy.identifier_cols.setdefault(at, i.colonne or raw.text(header_row, at))
                copy.blank_cols.add(at)

    read_cols = list(body_cols.values())
    entry_col = body_cols.get(ENTRY_DATE)
    rows: list[tuple[bool, str | None, list[str]]] = []
    for row in range(header_row + 1, raw.last_row + 1):
        texts = [raw.text(row, col) for col in read_cols]
        entry = raw.text(row, entry_col) if entry_col is not None else None
        rows.append((not any(texts), entry or None, [t for t in texts if t]))
    end = table_end(rows, entry_column=entry_col is not None)
    copy.table_end = None if end is None else header_row + 1 + end
    last = raw.last_row if copy.table_end is None else copy.table_end - 1
    for (row, col), value in raw.cells.items():
        if header_row < row <= last and col in kept:
            kind = kept[col]
            shown = _birth_year(value) if kind == "year" else _year_only(value) if kind == "birth-year" else value
            if shown is not None:
                copy.cells[(row, col)] = shown


def _birth_year(value: CellValue) -> int | None:
    """A full date of birth reduced to its year, as the reader does (None when it is not a date)."""
    if isinstance(value, date | datetime):
        return value.year
    if value is None or isinstance(value, bool | time):
        return None
    from cvg_pipeline.read.normalise import parse_birth_year

    year, _error = parse_birth_year(str(value))
    return year


def _year_only(value: CellValue) -> CellValue:
    """A cell of « Année de naissance »: a number or a text that is no full date (reader.is_full_date); a date
    typed there is never copied."""
    from cvg_pipeline.read.workbook import is_full_date

    if isinstance(value, date | datetime | time):
        return None
    if isinstance(value, str) and is_full_date(value):
        return None
    return value


def _locate(issue: Issue, copies: Sequence[_Copy]) -> _Entry:
    copy = next((c for c in copies if c.raw.name == issue.feuille), None)
    if copy is None and issue.feuille:
        folded = fold(issue.feuille)
        copy = next((c for c in copies if fold(c.raw.name) == folded), None)
    if copy is None or issue.ligne is None or issue.ligne < 1:
        return _Entry(issue)
    col = _letter_index(issue.lettre)
    if col is None and issue.colonne:
        col = copy.header_col(issue.colonne)
    if col is not None and issue.is_error:  # a cell marked in the copy (warnings are not)
        copy.located_cols.add(col)
    return _Entry(issue, copy, issue.ligne, col)


def _sort_key(entry: _Entry, order: dict[str, int]) -> tuple[int, int, int, int]:
    issue = entry.issue
    group = (0 if entry.copy is None else 1) + (0 if issue.is_error else 2)
    if entry.copy is None:
        scope = CATALOGUE[issue.code][1] if issue.code in CATALOGUE else None
        return (group, {"fichier": 0, "structure": 1}.get(scope or "", 2), 0, 0)
    return (group, order[entry.copy.title], entry.row or 0, entry.col or 0)


# -- text helpers ------------------------------------------------------------------------------------------------
def summary_line(issues: Sequence[Issue]) -> str:
    """`12 erreurs dans 9 lignes`; errors without a row are counted as errors on the file's structure."""
    errors = [i for i in issues if i.is_error]
    if not errors:
        return "Aucune erreur"
    rows = {(i.feuille, i.ligne) for i in errors if i.ligne is not None}
    in_rows = sum(1 for i in errors if i.ligne is not None)
    structural = len(errors) - in_rows
    if structural == 0:
        return f"{pluriel(len(errors), 'erreur')} dans {pluriel(len(rows), 'ligne')}"
    if in_rows == 0:
        return f"{pluriel(len(errors), 'erreur')} sur la structure du fichier"
    return (
        f"{pluriel(len(errors), 'erreur')} : {structural} sur la structure du fichier "
        f"et {in_rows} dans {pluriel(len(rows), 'ligne')}"
    )


def _quote_sheet(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _clean_text(text: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return str(ILLEGAL_CHARACTERS_RE.sub("", text))[:_MAX_TEXT]


def put(ws: Worksheet, row: int, col: int, value: CellValue) -> Any:
    """Write one value as inert data: text is always a string cell (never a formula), dates get a format."""
    cell = ws.cell(row=row, column=col)
    if value is None:
        return cell
    if isinstance(value, str):
        text = _clean_text(value)
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


# -- writing -----------------------------------------------------------------------------------------------------
class NoFreeNameError(Exception):
    """Every name `error_workbook_names` proposes is taken."""


def error_workbook_names(source: Path, stem: str | None = None) -> Iterator[str]:
    """The names tried in turn for the error workbook of `source`: `aci-erreurs.xlsx`, `aci-erreurs-2.xlsx`…"""
    yield error_workbook_name(source, stem)
    for n in range(2, _MAX_NAMES + 1):
        yield f"{stem or source.stem}{SUFFIX.removesuffix('.xlsx')}-{n}.xlsx"


def write_error_workbook(
    source: Path, issues: Sequence[Issue], dest_dir: Path, schema: Schema, *, name: str | None = None,
    stem: str | None = None,
) -> Path:
    """Write the error workbook of `source` into `dest_dir` (created if needed, 0700); return its path.

    Never over an existing file: the workbook gets the first free name of `error_workbook_names` (or `name`,
    which must be free), taken by exclusive creation, so a reader never sees half a workbook and a file that
    exists — an ACI's corrected copy, an input, a workbook of another run — is never replaced. The file is
    0600. Raises `NoFreeNameError` when every name is taken.
    """
    dest_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    wb = build_error_workbook(source, issues, schema)
    fd, tmp = tempfile.mkstemp(prefix=".cvg-", suffix=".xlsx", dir=dest_dir)  # 0600, never an existing file
    try:
        with os.fdopen(fd, "wb") as fh:
            wb.save(fh)
            fh.flush()
            os.fsync(fh.fileno())
        names = [name] if name is not None else error_workbook_names(source, stem)
        for candidate in names:
            dest = dest_dir / candidate
            if _create_exclusive(Path(tmp), dest):
                return dest
        raise NoFreeNameError(dest_dir / error_workbook_name(source))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _create_exclusive(tmp: Path, dest: Path) -> bool:
    """Give `tmp`'s content the name `dest` if no file (nor link) has it; False when the name is taken."""
    try:
        os.link(tmp, dest)  # atomic, fails if `dest` exists, never follows a symbolic link at `dest`
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV):
            raise
    # a file system without hard links (FAT, some network shares): create the name exclusively, then copy
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(dest, flags, 0o600)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "wb") as out, tmp.open("rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(dest)  # ours: created just above
        raise
    return True


@dataclass(frozen=True)
class Outcome:
    """The error workbook of one rejected file: its path, or why it could not be written (French)."""

    source: Path
    path: Path | None
    probleme: str | None = None


def write_error_workbooks(
    items: Sequence[tuple[Path, Sequence[Issue]]], dest_dir: Path | None, schema: Schema,
    *, stems: Sequence[str] | None = None,
) -> list[Outcome]:
    """One error workbook per (source, issues), into `dest_dir` (None: next to each source file, for callers
    that ask for it; the commands never do by default).

    Names are never reused: two sources with the same name (`aci.xlsx` and `aci.ods`, or two folders), an
    existing `aci-erreurs.xlsx` (the ACI's corrected copy, an earlier run's workbook) make the next one
    `aci-erreurs-2.xlsx`, and so on. A workbook that cannot be written (read-only folder, full disk,
    unexpected content) gives an `Outcome` with a French `probleme` instead of stopping the others.
    """
    outcomes: list[Outcome] = []
    for k, (source, issues) in enumerate(items):
        folder = source.parent if dest_dir is None else dest_dir
        stem = stems[k] if stems is not None and dest_dir is not None else None  # `lyon-aci`, for lyon/aci.xlsx
        try:
            path = write_error_workbook(source, issues, folder, schema, stem=stem)
        except (KeyboardInterrupt, SystemExit):
            raise
        except NoFreeNameError:
            outcomes.append(Outcome(source, None, f"aucun nom libre dans « {folder} » (« {error_workbook_name(source)} » "
                                                  f"à « {source.stem}-erreurs-{_MAX_NAMES}.xlsx » existent déjà)"))
            continue
        except OSError as exc:
            outcomes.append(Outcome(source, None, f"écriture impossible dans « {folder} » ({erreur_systeme(exc)})"))
            continue
        except Exception as exc:
            outcomes.append(Outcome(source, None, f"erreur inattendue ({type(exc).__name__})"))
            continue
        outcomes.append(Outcome(source, path))
    return outcomes


def _must_not_read(source: Path, issues: Sequence[Issue]) -> bool:
    """A file-level error (unreadable, encrypted, too big, dangerous content…) or a failed safety precheck."""
    if any(i.is_error and i.code in CATALOGUE and CATALOGUE[i.code][1] == "fichier" for i in issues):
        return True
    from cvg_pipeline.read.precheck import precheck

    return precheck(source, source.name) is not None


def build_error_workbook(source: Path, issues: Sequence[Issue], schema: Schema) -> Any:
    """The error workbook as an openpyxl `Workbook` (see the module's docstring)."""
    from openpyxl import Workbook

    unreadable = _must_not_read(source, issues)
    raws: list[RawSheet] = []
    read_failed = unreadable
    if not unreadable:
        try:
            raws = read_raw_sheets(source)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # calamine's errors, and pyo3's PanicException (a BaseException)
            read_failed = True
    copies, skipped = _plan_copies(raws, issues, schema)

    entries = [_locate(i, copies) for i in issues]
    order = {c.title: n for n, c in enumerate(copies)}
    entries.sort(key=lambda e: _sort_key(e, order))

    wb = Workbook()
    wb.properties.creator = PRODUCER
    wb.properties.lastModifiedBy = PRODUCER
    wb.properties.keywords = MARKER
    wb.properties.title = f"Erreurs du fichier {display_name(source.name)}"
    ws_err = wb.active
    assert ws_err is not None
    ws_err.title = ERRORS_SHEET
    copy_sheets = {c.title: wb.create_sheet(c.title) for c in copies}
    _write_errors_sheet(ws_err, entries, issues, copies, skipped, read_failed)
    for copy in copies:
        _write_copy(copy_sheets[copy.title], copy, [e for e in entries if e.copy is copy])
    return wb


def _guide(copies: Sequence[_Copy], skipped: Sequence[str], read_failed: bool) -> list[str]:
    lines: list[str] = []
    if read_failed:
        lines.append("Le fichier n'a pas pu être lu : ce classeur contient seulement la liste des erreurs.")
    elif copies:
        titles = [f"« {c.title} »" for c in copies]
        names = liste(titles)
        lines.append(
            f"{'Les feuilles' if len(titles) > 1 else 'La feuille'} {names} "
            f"{'sont une copie' if len(titles) > 1 else 'est une copie'} de vos données, aux mêmes lignes et colonnes : chaque cellule "
            "en erreur est en rouge avec un commentaire qui explique quoi corriger, chaque ligne en erreur est "
            "surlignée et signalée par « ⚠ » à droite des données. Cliquez sur une erreur ci-dessous pour aller "
            "à sa cellule. Corrigez votre fichier d'origine puis renvoyez-le."
        )
    for name in skipped:
        lines.append(
            f"La feuille « {name} » n'est pas recopiée : sa ligne d'en-tête n'a pas été reconnue, ses colonnes "
            "ne peuvent donc pas être vérifiées."
        )
    if copies:
        lines.append(
            "Seules les colonnes du modèle sont recopiées, et seulement les lignes du tableau : les autres "
            "colonnes (en-tête grisé), les lignes de titre, les lignes sous le tableau et, dans la feuille "
            "Structure, les lignes qui ne sont pas des champs du modèle sont laissées vides."
        )
    identifiers = [h for c in copies for _col, h in sorted(c.identifier_cols.items())]
    if identifiers:
        names = ", ".join(f"« {h} »" for h in dict.fromkeys(identifiers))
        lines.append(
            f"Données personnelles : les colonnes {names} (données personnelles ou identifiant "
            "salarié) ne sont pas recopiées : elles sont laissées vides dans ce classeur, repérez vos lignes par "
            "leur numéro. Les données personnelles ne sont jamais conservées."
            if len(identifiers) > 1
            else f"Données personnelles : la colonne {names} (données personnelles ou identifiant "
            "salarié) n'est pas recopiée : elle est laissée vide dans ce classeur, repérez vos lignes par leur "
            "numéro. Les données personnelles ne sont jamais conservées."
        )
    births = [h for c in copies for _col, h in sorted(c.birth_cols.items())]
    if births:
        names = ", ".join(f"« {h} »" for h in dict.fromkeys(births))
        lines.append(
            f"Dates de naissance : les colonnes {names} ne sont recopiées que par l'année, seule conservée."
            if len(set(births)) > 1
            else f"Date de naissance : la colonne {names} n'est recopiée que par l'année, seule conservée."
        )
    return lines


def _write_errors_sheet(
    ws: Worksheet,
    entries: Sequence[_Entry],
    issues: Sequence[Issue],
    copies: Sequence[_Copy],
    skipped: Sequence[str],
    read_failed: bool,
) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink

    last_col = len(ERRORS_HEADER)
    wrap = Alignment(vertical="top", wrap_text=True)

    def paragraph(row: int, text: str, font: Any) -> None:
        """A line of text over the whole width of the table, wrapped (its height is set by `fit_rows`)."""
        cell = put(ws, row, 1, text)
        cell.font = font
        cell.alignment = wrap
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)

    paragraph(1, summary_line(issues), Font(bold=True, size=14))
    ws.row_dimensions[1].height = 24
    row = 2
    warnings = sum(1 for i in issues if not i.is_error)
    if warnings:
        paragraph(row, f"{pluriel(warnings, 'avertissement')} (sans effet sur l'acceptation du fichier), listés après les erreurs.", Font())
        row += 1
    for line in _guide(copies, skipped, read_failed):
        paragraph(row, line, Font(italic=True))
        row += 1
    row += 1
    header_row = row
    for col, title in enumerate(ERRORS_HEADER, 1):
        cell = put(ws, header_row, col, title)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FFDDEBF7")
    for col, width in enumerate(ERRORS_WIDTHS, 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = f"A{header_row + 1}"

    for n, entry in enumerate(entries, header_row + 1):
        entry.erreurs_row = n
        issue = entry.issue
        # the value as written only where the copy shows the cell (never an identifier, a date of birth…)
        in_identifier = entry.copy is not None and (
            entry.col in entry.copy.identifier_cols
            or entry.col in entry.copy.birth_cols
            or (entry.row, entry.col) not in entry.copy.cells
        )
        values: tuple[CellValue, ...] = (
            issue.feuille,
            issue.ligne,
            issue.colonne,
            entry.cell,
            None if in_identifier else issue.valeur,
            issue.message,
            issue.code,
            "erreur" if issue.is_error else "avertissement",
        )
        target = _target(entry)
        for col, value in enumerate(values, 1):
            cell = put(ws, n, col, value)
            cell.alignment = wrap  # every text whole, on screen and on paper (heights: `fit_rows` below)
            if target is not None and value is not None and col not in _UNLINKED:
                cell.hyperlink = Hyperlink(ref=cell.coordinate, location=target)
                if col == 4:
                    cell.font = Font(color="FF0563C1", underline="single")
    last_row = header_row + len(entries)
    if entries:
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(last_col)}{last_row}"
    fit_rows(ws, 2)  # LibreOffice does not size wrapped rows itself
    page_setup(ws, title_rows=f"{header_row}:{header_row}", area=f"A1:{get_column_letter(last_col)}{last_row}")


def _target(entry: _Entry) -> str | None:
    """Internal link of an issue: its cell, or the row's marker cell for a rule on the whole row."""
    from openpyxl.utils import get_column_letter

    if entry.copy is None or entry.row is None:
        return None
    col = entry.col if entry.col is not None else _marker_col(entry.copy)
    return f"{_quote_sheet(entry.copy.title)}!{get_column_letter(col)}{entry.row}"


def _marker_col(copy: _Copy) -> int:
    """The column of the row markers (`⚠ 2 erreurs`): the first one right of the table (its header row, the
    copied cells and the cells in error), so that a marker prints next to the data, on its row's line; never in
    a column of the table, even one left blank."""
    used = [col for _row, col in copy.cells] + list(copy.located_cols)
    if copy.header_row is not None and not copy.is_structure:
        used += [col for row, col in copy.raw.cells if row == copy.header_row]
    return max(used, default=copy.raw.first_col) + 1


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


def _copy_widths(copy: _Copy, marker_col: int) -> dict[int, float]:
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


def _write_copy(ws: Worksheet, copy: _Copy, entries: Sequence[_Entry]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink

    raw = copy.raw
    marker_col = _marker_col(copy)
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
    by_cell: dict[tuple[int, int], list[_Entry]] = defaultdict(list)
    by_row: dict[int, list[_Entry]] = defaultdict(list)
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
        marker.hyperlink = Hyperlink(ref=marker.coordinate, location=f"{_quote_sheet(ERRORS_SHEET)}!A{first}")
        whole_row = [e.issue.message for e in row_entries if e.col is None]
        if whole_row:
            marker.comment = _comment(whole_row)
    for (row, col), cell_entries in by_cell.items():
        cell = ws.cell(row=row, column=col)
        cell.fill = error_fill
        cell.comment = _comment([e.issue.message for e in cell_entries])
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


def _print_copy(ws: Worksheet, copy: _Copy, last_col: int) -> None:
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


def _comment(messages: Sequence[str]) -> Any:
    from openpyxl.comments import Comment

    text = _clean_text("\n\n".join(dict.fromkeys(messages)))
    lines = sum(1 + len(m) // 48 for m in text.split("\n"))
    return Comment(text, COMMENT_AUTHOR, height=max(60, 15 * lines), width=320)
