"""Read one reporting workbook (spec §1, §3) into a `ParsedFile`: sheets found, Structure typed, Salariés normalised.

`read_workbook` never raises for bad input: an unreadable, corrupt, renamed, password-protected or empty file,
a missing sheet or header, and every bad cell become located `Issue`s (check/errors.py).

Reading: each sheet is loaded once by fastexcel (calamine: cached values only, formulas and macros never
run) with every cell as text (`dtypes="string"`), no header (`header_row=None`) and `skip_rows=0`, so that
frame row i is Excel row i + 1 even above the first non-empty row; leading empty columns are trimmed by
calamine, and `available_columns()[j].absolute_index` gives the real column (hence its letter).

Privacy: direct-identifier columns are dropped from the frame as soon as the header is known, before any
value is cleaned, kept or copied into a message; a full date of birth is reduced to its year in the same
step, so neither reaches `ParsedFile` (not even `raw`).
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from itertools import chain, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvg_pipeline.check.errors import Issue, issue
from cvg_pipeline.fr import aujourdhui
from cvg_pipeline.read.model import (
    ROW_COLUMN,
    SPREADSHEET_EXTENSIONS,
    ParsedFile,
    SheetColumn,
    StructureInfo,
    display_name,
)
from cvg_pipeline.read.precheck import (
    OLE_MAGIC,
    SAVE_AGAIN,
    SAVE_AS_XLSX,
    SAVE_XLS_AGAIN,
    ZIP_LOCAL_MAGIC,
    describe_format,
    other_format,
    read_checked,
    text_format,
)
from cvg_pipeline.schema.load import HeaderMatch, Schema, fold

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


# -- file level ----------------------------------------------------------------------------------------------
def _unreadable_detail(content: bytes) -> str:
    if content.startswith(ZIP_LOCAL_MAGIC):
        return f"archive endommagée ou incomplète : {SAVE_AGAIN}"
    if content.startswith(OLE_MAGIC):
        return f"classeur .xls endommagé : {SAVE_XLS_AGAIN}"
    what = text_format(content)
    if what is not None:
        return f"c'est {what} et non un classeur : {SAVE_AS_XLSX}"
    return ("ce n'est pas un classeur : vérifiez que c'est le bon fichier, ou ouvrez-le dans Excel et "
            "enregistrez-le au format .xlsx")


def _file_problem(path: Path, content: bytes) -> Issue | None:
    fichier = display_name(path.name)  # shown, stored: valid UTF-8 whatever the name's bytes
    if not content:
        return issue("fichier-vide", fichier)
    suffix = path.suffix.lower()
    if suffix not in SPREADSHEET_EXTENSIONS:
        return other_format(fichier, suffix, *describe_format(content, suffix))
    # (a password-protected file never gets here: `safety.read_checked` refused it)
    if not content.startswith((ZIP_LOCAL_MAGIC, OLE_MAGIC)):
        return issue("fichier-illisible", fichier, detail=_unreadable_detail(content))
    return None


def _is_fatal(exc: BaseException) -> bool:
    return isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError))


@dataclass
class _Sheet:
    """One sheet as text: frame row i is Excel row i + 1; `letters[j]` is the letter of frame column j."""

    name: str
    frame: pl.DataFrame
    letters: list[str]
    indices: list[int]

    @property
    def is_empty(self) -> bool:
        return self.frame.height == 0 or self.frame.width == 0


def _load(reader: Any, name: str) -> _Sheet:
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
    return _Sheet(name, frame, [column_letter(i) for i in indices], indices)


_EXCEL_ERROR_DETAIL = re.compile(r"Error\((\w+)\)")


@dataclass
class _Pending:
    """One file between the per-file stage (sheets, header) and the batch stage (cells)."""

    parsed: ParsedFile
    body: pl.DataFrame | None = None  # `_f`, `_ligne`, canonical columns as text, birth date column
    arrete: tuple[str, dict[str, Any]] | None = None  # Date d'arrêté as written, and where it is


def read_workbook(
    path: Path, schema: Schema, *, sha256: str | None = None, today: date | None = None
) -> ParsedFile:
    """Read, locate and normalise one workbook. Never raises for bad input: problems are `Issue`s.

    `ParsedFile.sha256` is the hash of the bytes read; `sha256` (the caller's earlier hash of the path) only
    stands in for it when the file could not be read at all."""
    return read_workbooks([(Path(path), sha256)], schema, today=today)[0]


def read_workbooks(
    files: Sequence[Path | tuple[Path, str | None]], schema: Schema, *, today: date | None = None
) -> list[ParsedFile]:
    """`read_workbook` for several files at once (same results, in order), normalising all their rows in one
    pass: polars costs about the same per expression for 80 rows as for 8,000, so batching files (e.g. one
    batch per worker process) is much faster than reading them one by one."""
    today = today or aujourdhui()  # the date in France, not the machine's
    # The batch keeps the sheets of all its files alive and makes no reference cycles: the cyclic collector's
    # full passes over every live object (~0.5 ms per file over a batch of ~90 files) would find nothing.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        pending: list[_Pending] = []
        for item in files:
            path, sha = (item, None) if isinstance(item, Path | str) else item
            pending.append(_read_file(Path(path), schema, sha, today))
        _finish_structure(pending, schema, today)
        _finish_salaries(pending, schema)
        return [p.parsed for p in pending]
    finally:
        if gc_was_enabled:
            gc.enable()


def _read_file(path: Path, schema: Schema, sha256: str | None, today: date) -> _Pending:
    fichier = display_name(path.name)  # shown, stored: valid UTF-8 whatever the name's bytes
    content, refused = read_checked(path, fichier)  # read once; hostile/oversized files never reach a parser
    if content is None:
        assert refused is not None
        return _Pending(ParsedFile(path=path, fichier=fichier, sha256=sha256 or "", issues=[refused]))
    # The hash of the bytes parsed, never the `sha256` computed earlier from the path: the file may have been
    # replaced in between, and its content must not be stored under the other file's hash.
    parsed = ParsedFile(path=path, fichier=fichier, sha256=hashlib.sha256(content).hexdigest())
    pending = _Pending(parsed)
    problem = _file_problem(path, content)
    if problem is not None:
        parsed.issues.append(problem)
        return pending
    import fastexcel

    try:
        reader = fastexcel.read_excel(content)
        names = list(reader.sheet_names)
    except BaseException as exc:  # calamine errors, and pyo3 panics (BaseException) on malformed files
        if _is_fatal(exc):
            raise
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            parsed.issues.append(issue("fichier-protege", fichier))
        else:
            parsed.issues.append(issue("fichier-illisible", fichier, detail=_unreadable_detail(content)))
        return pending
    from cvg_pipeline.workbooks.annotate import is_error_workbook

    if is_error_workbook(content, names, reader):  # sent back corrected: not a reporting file (issue 17.8)
        parsed.issues.append(issue("classeur-erreurs", fichier))
        return pending

    def load(name: str) -> _Sheet | None:
        try:
            return _load(reader, name)
        except BaseException as exc:
            if _is_fatal(exc):
                raise
            parsed.issues.append(issue("fichier-illisible", fichier, feuille=name,
                                       detail="une feuille ne peut pas être lue"))
            return None

    wanted = {"structure": schema.structure_sheet, "salaries": schema.salaries_sheet}
    found: dict[str, _Sheet | None] = {}
    sheet_issues: list[Issue] = []
    for key, spec in wanted.items():
        matching = [name for name in names if spec.matches(name)]
        if not matching:
            sheet_issues.append(issue("feuille-manquante", fichier, feuille_attendue=spec.label,
                                      feuilles=", ".join(f"« {name} »" for name in names) or "aucune"))
            found[key] = None
            continue
        if len(matching) > 1:
            sheet_issues.append(issue("feuille-en-double", fichier, feuille_attendue=spec.label,
                                      feuilles=", ".join(f"« {name} »" for name in matching)))
        found[key] = load(matching[0])
    if parsed.issues:  # a sheet could not be read
        return pending
    if all(s is None or s.is_empty for s in found.values()) and _workbook_is_empty(names, load, found):
        parsed.issues.append(issue("classeur-vide", fichier))
        return pending
    parsed.issues.extend(sheet_issues)
    if found["structure"] is not None:
        parsed.structure, pending.arrete = read_structure(found["structure"], schema, fichier, parsed.issues)
    if found["salaries"] is not None:
        pending.body = read_salaries(found["salaries"], schema, parsed)
    return pending


def _workbook_is_empty(names: Sequence[str], load: Any, found: dict[str, _Sheet | None]) -> bool:
    done = {s.name for s in found.values() if s is not None}
    for name in names:
        if name in done:
            continue
        sheet = load(name)
        if sheet is None or not sheet.is_empty:
            return False
    return True


# -- shared cell helpers ---------------------------------------------------------------------------------------
def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def display_text(text: str | None) -> str | None:
    """Text as read → as a person sees it in French Excel: a real date `JJ/MM/AAAA`, TRUE/FALSE `VRAI`/`FAUX`.

    fastexcel renders an Excel date cell as `AAAA-MM-JJ hh:mm:ss` and a boolean cell as `true`/`false`.
    """
    text = _cell_text(text)
    if text is None:
        return None
    if text in _BOOL_DISPLAY:
        return _BOOL_DISPLAY[text]
    if len(text) == 19 and text.endswith(" 00:00:00") and text[4] == "-" and text[7] == "-":
        return f"{text[8:10]}/{text[5:7]}/{text[:4]}"
    return text


_BOOL_DISPLAY = {"true": "VRAI", "false": "FAUX"}
_DATE_DISPLAY = (r"^(\d{4})-(\d{2})-(\d{2}) 00:00:00$", "${3}/${2}/${1}")

# A full date typed where only a year is asked (« Année de naissance »): never quoted in a message.
FULL_DATE = "une date complète"
_DIGIT_GROUPS = re.compile(r"\d+")
_DECIMAL = re.compile(r"^\s*\d+[.,]\d+\s*$")


def is_full_date(text: str) -> bool:
    """Two groups of digits or more (17/05/1980, 1980-05-17 00:00:00, 17 mai 1980), a decimal number aside."""
    return len(_DIGIT_GROUPS.findall(text)) >= 2 and not _DECIMAL.match(text)


# -- where the table of Salariés ends ---------------------------------------------------------------------------
ENTRY_DATE = "date_entree"  # the required date of every parcours
_DATE_LIKE = re.compile(r"^[\d/.\-: ]+$")  # a date as typed or as read (`2022-03-01 00:00:00`), or a serial


def table_end(rows: Sequence[tuple[bool, str | None, Sequence[str]]], *, entry_column: bool) -> int | None:
    """Index of the first row below the table, or None (the table runs to the end of the sheet).

    `rows`: the rows below the header, each (blank, « Date d'entrée » as text, non-empty texts of the
    recognised columns). After an entirely blank row, a row whose « Date d'entrée » is not a date (or, without
    that column, a row with no digit at all) is no longer a parcours: a second table, its header, a note. It
    and everything below are not read, so none of their cells reaches a message (the error workbook does not
    copy them either, workbooks/annotate.py).
    """
    for i in range(1, len(rows)):
        blank, entry, texts = rows[i]
        if blank or not rows[i - 1][0]:
            continue
        if entry_column:
            if entry is None or not _DATE_LIKE.match(entry.strip()):
                return i
        elif not any(ch.isdigit() for text in texts for ch in text):
            return i
    return None


def _table_end(body: pl.DataFrame) -> int | None:
    """`table_end` on a body frame (text cells); cheap when the table has no blank row (the usual case)."""
    import polars as pl

    if body.width == 0 or body.height < 2 or min(body.null_count().row(0)) == 0:
        return None  # a column with no empty cell: no blank row (~10 µs, against ~300 µs for the test below)
    blank = body.select(pl.sum_horizontal(pl.all().is_not_null()) == 0).to_series().to_list()
    if not any(blank):
        return None
    entry_column = ENTRY_DATE in body.columns
    rows: list[tuple[bool, str | None, Sequence[str]]] = []
    for i, is_blank in enumerate(blank):
        if is_blank or i == 0 or not blank[i - 1]:
            rows.append((is_blank, "", ()))  # not a candidate: only its blankness is looked at
            continue
        row = body.row(i, named=True)
        rows.append((False, row.get(ENTRY_DATE), [str(v) for v in row.values() if v is not None]))
    return table_end(rows, entry_column=entry_column)


# -- sheet Structure (spec §1.1) -------------------------------------------------------------------------------
def _structure_columns(rows: list[tuple[Any, ...]], schema: Schema) -> tuple[int, int] | None:
    """(Champ, Valeur) column positions from a header row among the first rows, if there is one."""
    champ, valeur = fold(schema.structure_field_header), fold(schema.structure_value_header)
    for row in rows[: schema.header_search_rows]:
        folded = [fold(c) if isinstance(c, str) else "" for c in row]
        if champ in folded and valeur in folded:
            return folded.index(champ), folded.index(valeur)
    return None


def read_structure(
    sheet: _Sheet, schema: Schema, fichier: str, issues: list[Issue]
) -> tuple[StructureInfo, tuple[str, dict[str, Any]] | None]:
    """Sheet Structure, Champ / Valeur. The Date d'arrêté is returned as written with its location: the
    batch parses all of them at once (`_finish_structure`)."""
    from cvg_pipeline.read.normalise import category_fields, siret_problem

    rows = sheet.frame.rows()
    fixed = _structure_columns(rows, schema)
    values: dict[str, tuple[str | None, int | None, str | None, str | None]] = {}  # field -> (value text, row, label, letter)
    value_letter = sheet.letters[fixed[1]] if fixed else (sheet.letters[1] if len(sheet.letters) > 1 else "B")
    for i, row in enumerate(rows):
        if fixed is not None:
            label, value_pos = row[fixed[0]], fixed[1]
        else:
            filled = [j for j, c in enumerate(row) if _cell_text(c) is not None]
            if not filled:
                continue
            label, value_pos = row[filled[0]], (filled[1] if len(filled) > 1 else filled[0] + 1)
        label_text = _cell_text(label)
        if label_text is None:
            continue
        spec = schema.match_structure_field(label_text)
        if spec is None:
            continue
        letter = sheet.letters[value_pos] if value_pos < len(sheet.letters) else column_letter(
            sheet.indices[-1] + 1 + value_pos - len(sheet.letters))
        if spec.name in values:
            issues.append(issue("champ-en-double", fichier, feuille=sheet.name, ligne=i + 1, colonne=label_text,
                                lettre=letter, libelle=spec.label))
            continue
        cell = display_text(row[value_pos]) if value_pos < len(row) else None
        values[spec.name] = (cell, i + 1, label_text, letter)
        if fixed is None:
            value_letter = letter

    arrete: tuple[str, dict[str, Any]] | None = None
    info: dict[str, Any] = {"nom": None, "siret": None, "territoire": None, "date_arrete": None, "supports": ()}
    field_rows: dict[str, int] = {}
    for spec in schema.structure_fields:
        value, ligne, label, at = values.get(spec.name, (None, None, None, value_letter))
        if ligne is not None:
            field_rows[spec.name] = ligne
        if value is None:
            if spec.required:
                issues.append(issue("champ-manquant", fichier, feuille=sheet.name, ligne=ligne, colonne=label,
                                    lettre=at, libelle=spec.label))
            continue
        where: dict[str, Any] = {"feuille": sheet.name, "ligne": ligne, "colonne": label, "lettre": at,
                                 "valeur": value}
        if spec.type == "text":
            info["nom"] = value
        elif spec.type == "siret":
            siret, detail = siret_problem(value)
            if detail is not None:
                issues.append(issue("siret-invalide", fichier, detail=detail, **where))
            info["siret"] = siret
        elif spec.type == "territoire":
            terr = schema.match_territoire(value)
            if terr is None:
                close = schema.closest_territoire(value)
                issues.append(issue(
                    "territoire-inconnu", fichier,
                    suggestion=f" (vouliez-vous dire « {close.name} » ?)" if close else "",
                    valeurs=", ".join(f"« {t.name} »" for t in schema.territoires), **where))
            else:
                info["territoire"] = terr.slug
        elif spec.type == "date":
            arrete = (value, where)
        else:  # supports: ";"-separated values of the supports domain
            domain = schema.domains["supports"]
            labels: list[str] = []
            for part in value.replace("\n", ";").split(";"):
                part = part.strip()
                if not part:
                    continue
                match = domain.match(part)
                if match is None:
                    fields: dict[str, Any] = {**where, "valeur": part, **category_fields(part, domain)}
                    issues.append(issue("valeur-inconnue", fichier, **fields))
                elif match.label not in labels:
                    labels.append(match.label)
            info["supports"] = tuple(labels)
    return StructureInfo(sheet=sheet.name, rows=field_rows, value_letter=value_letter, **info), arrete


# -- sheet Salariés (spec §1.2, §3.1) --------------------------------------------------------------------------
def find_header_row(rows: Sequence[Sequence[Any]], schema: Schema) -> int | None:
    """0-based index of the first of the first rows with enough recognised column labels."""
    for i, row in enumerate(rows[: schema.header_search_rows]):
        recognised = 0
        for cell in row:
            text = _cell_text(cell)
            if text is not None and _match_header(schema, text).kind in ("column", "birth_date"):
                recognised += 1
        if recognised >= schema.header_min_labels:
            return i
    return None


def _match_header(schema: Schema, text: str) -> HeaderMatch:
    """`schema.match_header`, memoised: the same few dozen headers come back in every file."""
    hit = _HEADER_MEMO.get(id(schema))
    if hit is None:  # the schema is kept with its memo, so that its id is never reused for another one
        hit = _HEADER_MEMO[id(schema)] = (schema, {})
    memo = hit[1]
    found = memo.get(text)
    if found is None:
        if len(memo) > 20_000:  # bounded, whatever the files
            memo.clear()
        found = memo[text] = schema.match_header(text)
    return found


_HEADER_MEMO: dict[int, tuple[Schema, dict[str, HeaderMatch]]] = {}


def read_salaries(sheet: _Sheet, schema: Schema, parsed: ParsedFile) -> pl.DataFrame | None:
    """Find the header, locate the columns and return the body (rows below the header) as text.

    Only recognised columns are taken from the sheet: identifier columns are left behind here, before any
    of their values is cleaned, kept or copied; a date-of-birth column goes to a transient column that
    `_finish_salaries` reduces to the year.
    """

    from cvg_pipeline.read.normalise import BIRTH_PREFIX

    fichier, feuille, issues = parsed.fichier, sheet.name, parsed.issues
    parsed.salaries_sheet = feuille
    head = sheet.frame.head(schema.header_search_rows).rows()
    h = find_header_row(head, schema)
    if h is None:
        examples = ", ".join(f"« {c.label} »" for c in [c for c in schema.columns if c.required][:3])
        issues.append(issue("entete-introuvable", fichier, feuille=feuille, lignes=schema.header_search_rows,
                            minimum=schema.header_min_labels, exemples=examples))
        return None
    header_row = h + 1
    parsed.header_row = header_row
    seen: dict[str, list[tuple[SheetColumn, int, bool]]] = {}  # canonical -> (where, position, date of birth)
    for j, cell in enumerate(head[h]):
        text = _cell_text(cell)
        if text is None:
            continue
        where: dict[str, Any] = {"feuille": feuille, "ligne": header_row, "colonne": text,
                                 "lettre": sheet.letters[j]}
        match = _match_header(schema, text)
        if match.kind == "identifier":
            issues.append(issue("identifiant-direct-supprime", fichier, **where))
        elif match.kind == "unknown" or match.column is None:
            issues.append(issue("colonne-inconnue", fichier, **where))
        else:
            is_birth = match.kind == "birth_date"
            if is_birth:
                issues.append(issue("date-naissance-reduite", fichier, **where))
            seen.setdefault(match.column.name, []).append(
                (SheetColumn(match.column.name, text, sheet.letters[j], sheet.indices[j]), j, is_birth))
    frame_columns = sheet.frame.columns
    taken: list[str] = []  # frame columns kept, and their new names
    renamed: list[str] = []
    for name, found in seen.items():
        first, position, is_birth = found[0]
        parsed.columns[name] = first
        taken.append(frame_columns[position])
        renamed.append(BIRTH_PREFIX + name if is_birth else name)
        for extra, _, _ in found[1:]:
            issues.append(issue("colonne-en-double", fichier, feuille=feuille, ligne=header_row,
                                colonne=extra.header, lettre=extra.letter,
                                colonnes=", ".join(f"« {c.header} »" for c, _, _ in found),
                                libelle=schema.column(name).label))
    for col in schema.columns:
        if col.required and col.name not in parsed.columns:
            issues.append(issue("colonne-manquante", fichier, feuille=feuille, libelle=col.label,
                                ligne_entete=header_row))
    body = sheet.frame[h + 1 :, taken]  # eager column pick: the other columns are not copied
    body.columns = renamed
    end = _table_end(body)
    if end is not None:  # a second table or notes below the table: not read (`table_end`)
        issues.append(issue("lignes-sous-le-tableau", fichier, feuille=feuille, ligne=header_row + 1 + end))
        body = body[:end]
    return body  # its file and Excel row columns are added to the whole batch at once (`_finish_salaries`)


_FILE_ID = "__f"


def _finish_structure(pending: list[_Pending], schema: Schema, today: date) -> None:
    """Parse every Date d'arrêté of the batch at once (the date code path of the Salariés cells)."""
    todo = [p for p in pending if p.arrete is not None and p.parsed.structure is not None]
    if not todo:
        return

    from cvg_pipeline.read.normalise import parse_date_column

    parsed_dates = parse_date_column([p.arrete[0] if p.arrete else None for p in todo])
    for p, (value, code) in zip(todo, parsed_dates, strict=True):
        assert p.arrete is not None and p.parsed.structure is not None
        where = p.arrete[1]
        if code is not None:
            p.parsed.issues.append(issue(code, p.parsed.fichier, **where))
        elif value is not None and value > today:
            p.parsed.issues.append(issue("date-future", p.parsed.fichier, aujourdhui=today.strftime("%d/%m/%Y"),
                                         **where))
        elif value is not None:
            p.parsed.structure = replace(p.parsed.structure, date_arrete=value)


def _finish_salaries(pending: list[_Pending], schema: Schema) -> None:
    """Normalise the rows of every file of the batch in one pass, then hand each file its rows and issues."""
    bodies = [p.body for p in pending if p.body is not None]
    if not bodies:
        return
    import polars as pl

    from cvg_pipeline.read.normalise import (
        BIRTH_PREFIX,
        ERR_PREFIX,
        EXCEL_ERROR_TEXTS,
        category_fields,
        normalise_frame,
    )

    stacked = pl.concat(bodies, how="diagonal") if len(bodies) > 1 else bodies[0].clone()
    # which file each row comes from, and its Excel row (the rows below the header): two columns built for
    # the whole batch rather than two small Series per file
    with_body = [(f, p.parsed.header_row or 0, p.body.height) for f, p in enumerate(pending) if p.body is not None]
    stacked.insert_column(0, pl.Series(ROW_COLUMN, list(chain.from_iterable(
        range(h + 1, h + 1 + height) for _, h, height in with_body)), dtype=pl.Int32))
    stacked.insert_column(0, pl.Series(_FILE_ID, list(chain.from_iterable(
        repeat(f, height) for f, _, height in with_body)), dtype=pl.UInt32))
    stacked_columns = set(stacked.columns)
    cells = [c for c in stacked.columns if c not in (_FILE_ID, ROW_COLUMN)]
    if "id_salarie" in stacked_columns:
        # one person, one identifier: look-alike spellings (invisible characters, full-width letters, case…)
        # are made one here, before duplicates are looked for and pseudonyms made (identifiers.py); an
        # identifier of invisible characters only is an empty cell
        from cvg_pipeline.read.identifiers import normalise_column

        ids = stacked.get_column("id_salarie")
        # a cell showing a failed formula (#REF!…) is reported as such (`erreur-excel`), not folded to « #ref! »
        stacked = stacked.with_columns(
            pl.when(ids.is_in(sorted(EXCEL_ERROR_TEXTS))).then(ids).otherwise(normalise_column(ids)).alias("id_salarie")
        )
    # entirely blank rows are skipped (sum_horizontal: several times faster than any_horizontal)
    stacked = stacked.filter(pl.sum_horizontal(pl.col(cells).is_not_null()) > 0) if cells else stacked.clear()
    distinct: dict[str, list[str]] = {}
    out = normalise_frame(stacked, schema, distinct_out=distinct)

    # every failed cell → one located issue, in the file it comes from
    located: dict[int, list[tuple[int, int, Issue]]] = {}
    by_column = {c.name: c for c in schema.columns}
    for err in [c for c in out.columns if c.startswith(ERR_PREFIX)]:
        codes = out.get_column(err)
        if codes.null_count() == len(codes):
            continue
        name = err[len(ERR_PREFIX):]
        hidden = name == "id_salarie" or name not in stacked_columns
        shown = pl.lit(None, pl.Utf8) if name not in stacked_columns else stacked.get_column(name)
        rows = pl.select(out.get_column(_FILE_ID), out.get_column(ROW_COLUMN), codes, shown.alias("v")).filter(
            pl.col(err).is_not_null())
        for f, ligne, code, text in rows.iter_rows():
            parsed = pending[f].parsed
            where = parsed.columns.get(name)
            if where is None:
                continue  # a required column absent from this file: already `colonne-manquante`
            body = pending[f].body
            birth = body is not None and BIRTH_PREFIX + name in body.columns  # a date of birth: never shown
            col = by_column[name]
            fields: dict[str, Any] = {}
            if text in EXCEL_ERROR_TEXTS:
                code = "erreur-excel"  # whatever the column's type: the cell shows a failed formula
            if code == "valeur-obligatoire":
                fields["libelle"] = col.label
            elif code == "valeur-inconnue" and text is not None:
                fields.update(category_fields(text, schema.domain_of(col)))
            # never the raw id_salarie nor a date of birth; what an Excel error shows is not personal data
            valeur = text if code == "erreur-excel" else None if birth or hidden else display_text(text)
            if valeur is not None and col.date_synonyms and is_full_date(valeur):
                valeur = FULL_DATE  # a date of birth typed as the year: never quoted
            located.setdefault(f, []).append((ligne, where.index, issue(
                code, parsed.fichier, feuille=parsed.salaries_sheet, ligne=ligne, colonne=where.header,
                lettre=where.letter, valeur=valeur, **fields)))

    # the text as written, for messages: real dates and booleans as Excel shows them; years of birth only
    dates = [c.name for c in schema.columns if c.type == "date" and c.name in stacked_columns]
    excel_bools = [c for c, texts in distinct.items() if any(t in _BOOL_DISPLAY for t in texts)]
    raw_exprs = [pl.col(c).str.replace(*_DATE_DISPLAY) for c in dates]
    raw_exprs += [pl.when(pl.col(c) == "true").then(pl.lit("VRAI")).when(pl.col(c) == "false").then(pl.lit("FAUX"))
                  .otherwise(pl.col(c)).alias(c) for c in excel_bools]
    for c in schema.columns:
        if BIRTH_PREFIX + c.name in stacked_columns:
            year = pl.when(pl.col(BIRTH_PREFIX + c.name).is_not_null()).then(out.get_column(c.name).cast(pl.Utf8))
            raw_exprs.append((pl.coalesce(pl.col(c.name), year) if c.name in stacked_columns else year).alias(c.name))
    raw_all = stacked.with_columns(raw_exprs).drop([c for c in stacked.columns if c.startswith(BIRTH_PREFIX)])
    # rows of a file are contiguous and in file order: slices, not a partition (no copy)
    file_ids = out.get_column(_FILE_ID)
    starts = file_ids.search_sorted(pl.Series(range(len(pending) + 1), dtype=pl.UInt32), side="left").to_list()
    data_all = out.select(ROW_COLUMN, *by_column)
    for f, p in enumerate(pending):
        if p.body is None:
            continue
        parsed = p.parsed
        start, length = starts[f], starts[f + 1] - starts[f]
        present = [ROW_COLUMN, *(c for c in by_column if c in parsed.columns)]
        parsed.data = data_all.slice(start, length)
        parsed.raw = raw_all[start : start + length, present]
        if length == 0:
            parsed.issues.append(issue("aucune-ligne", parsed.fichier, feuille=parsed.salaries_sheet))
        cell_issues = sorted(located.get(f, []), key=lambda t: (t[0], t[1]))
        parsed.issues.extend(t[2] for t in cell_issues)
