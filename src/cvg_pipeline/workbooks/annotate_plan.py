"""What the error workbook copies and where each issue goes: the sheets copied (`Copy`) and, on each, the cells
the allow-list lets through (module `annotate`'s docstring); each issue located at its cell, its row or
nowhere (`Entry`), the order of the issue table, and the column of the row markers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from cvg_pipeline.check.errors import CATALOGUE, Issue
from cvg_pipeline.schema.load import Schema, fold
from cvg_pipeline.workbooks.annotate_cells import ERRORS_SHEET, CellValue
from cvg_pipeline.workbooks.annotate_source import RawSheet

# Warnings whose row is the header row of the sheet (used when the header cannot be found by its labels).
HEADER_ROW_CODES = frozenset({"identifiant-direct-supprime", "colonne-inconnue", "date-naissance-reduite"})

_SHEET_TITLE_BAD = re.compile(r"[\\/?*\[\]:]")


@dataclass
class Copy:
    """A source sheet copied into the error workbook: only `cells`, the cells the rule lets through."""

    raw: RawSheet
    title: str  # title in the error workbook (the source name, made valid for Excel)
    is_structure: bool
    header_row: int | None = None
    cells: dict[tuple[int, int], CellValue] = field(default_factory=dict)  # what is written, at its address
    identifier_cols: dict[int, str] = field(default_factory=dict)  # column -> header as written
    birth_cols: dict[int, str] = field(default_factory=dict)  # full dates of birth: copied as the year only
    blank_cols: set[int] = field(default_factory=set)  # header cell greyed: the column is not copied
    table_end: int | None = None  # first Excel row below the table (read.salaries_sheet.table_end), None: to the end
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
class Entry:
    issue: Issue
    copy: Copy | None = None  # None: no place in the copy (file, sheet or column issue)
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
    from cvg_pipeline.read.salaries_sheet import find_header_row

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


def plan_copies(raws: Sequence[RawSheet], issues: Sequence[Issue], schema: Schema) -> tuple[list[Copy], list[str]]:
    """The sheets to copy and, for each, the cells let through; and the names of sheets left out."""
    copies: list[Copy] = []
    skipped: list[str] = []
    taken = {ERRORS_SHEET.casefold()}
    for raw in raws:
        is_structure = schema.structure_sheet.matches(raw.name)
        if not is_structure and not schema.salaries_sheet.matches(raw.name):
            continue
        if is_structure:
            copy = Copy(raw, _sheet_title(raw.name, taken), True, header_row=1)
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
        copy = Copy(raw, _sheet_title(raw.name, taken), False, header_row=header_row)
        _plan_salaries(copy, on_sheet, schema)
        copies.append(copy)
    return copies, skipped


def _structure_cells(raw: RawSheet, schema: Schema) -> dict[tuple[int, int], CellValue]:
    """Sheet Structure: the `Champ` / `Valeur` header and the rows of the schema's fields, as the reader finds
    them (read.structure_sheet.read_structure: fixed columns under that header, else the first two filled cells of a row);
    any other line (a contact, a note) is left out."""
    from cvg_pipeline.read.structure_sheet import structure_columns

    cols = list(range(raw.first_col, raw.last_col + 1))
    rows = [[raw.cells.get((row, col)) for col in cols] for row in range(1, raw.last_row + 1)]
    fixed = structure_columns([tuple(r) for r in rows], schema)
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


def _plan_salaries(copy: Copy, on_sheet: Sequence[Issue], schema: Schema) -> None:
    """Sheet Salariés: the header cells of the schema's columns and of the direct identifiers, then, down to
    the end of the table, the cells of the schema's columns that identify no one (a full date of birth as
    its year). Title rows, other columns, rows below the table are left out."""
    from cvg_pipeline.read.salaries_sheet import ENTRY_DATE, table_end

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
    """A cell of « Année de naissance »: a number or a text that is no full date (read.sheet.is_full_date); a date
    typed there is never copied."""
    from cvg_pipeline.read.sheet import is_full_date

    if isinstance(value, date | datetime | time):
        return None
    if isinstance(value, str) and is_full_date(value):
        return None
    return value


def locate(issue: Issue, copies: Sequence[Copy]) -> Entry:
    copy = next((c for c in copies if c.raw.name == issue.feuille), None)
    if copy is None and issue.feuille:
        folded = fold(issue.feuille)
        copy = next((c for c in copies if fold(c.raw.name) == folded), None)
    if copy is None or issue.ligne is None or issue.ligne < 1:
        return Entry(issue)
    col = _letter_index(issue.lettre)
    if col is None and issue.colonne:
        col = copy.header_col(issue.colonne)
    if col is not None and issue.is_error:  # a cell marked in the copy (warnings are not)
        copy.located_cols.add(col)
    return Entry(issue, copy, issue.ligne, col)


def sort_key(entry: Entry, order: dict[str, int]) -> tuple[int, int, int, int]:
    issue = entry.issue
    group = (0 if entry.copy is None else 1) + (0 if issue.is_error else 2)
    if entry.copy is None:
        scope = CATALOGUE[issue.code][1] if issue.code in CATALOGUE else None
        return (group, {"fichier": 0, "structure": 1}.get(scope or "", 2), 0, 0)
    return (group, order[entry.copy.title], entry.row or 0, entry.col or 0)


def marker_column(copy: Copy) -> int:
    """The column of the row markers (`⚠ 2 erreurs`): the first one right of the table (its header row, the
    copied cells and the cells in error), so that a marker prints next to the data, on its row's line; never in
    a column of the table, even one left blank."""
    used = [col for _row, col in copy.cells] + list(copy.located_cols)
    if copy.header_row is not None and not copy.is_structure:
        used += [col for row, col in copy.raw.cells if row == copy.header_row]
    return max(used, default=copy.raw.first_col) + 1
