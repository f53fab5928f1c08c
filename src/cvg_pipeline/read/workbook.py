"""Read one reporting workbook (spec §1, §3) into a `ParsedFile`: sheets found, Structure typed, Salariés normalised.

`read_workbooks` never raises for bad input: an unreadable, corrupt, renamed, password-protected or empty file,
a missing sheet or header, and every bad cell become located `Issue`s (check/errors.py).

Reading: each sheet is loaded once by fastexcel (calamine: cached values only, formulas and macros never
run) with every cell as text (`dtypes="string"`), no header (`header_row=None`) and `skip_rows=0`, so that
frame row i is Excel row i + 1 even above the first non-empty row; leading empty columns are trimmed by
calamine, and `available_columns()[j].absolute_index` gives the real column (hence its letter).

Privacy: direct-identifier columns are dropped from the frame as soon as the header is known, before any
value is cleaned, kept or copied into a message; a full date of birth is reduced to its year in the same
step, so neither reaches `ParsedFile` (not even `raw`).

The reading is split by what it reads: `sheet` (one sheet loaded as text, how cells are shown),
`structure_sheet` (the sheet Structure), `salaries_sheet` (the sheet Salariés and the batch normalisation);
this module reads the files, refuses what is not a workbook it reads, finds the sheets and runs the batch.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvg_pipeline.check.errors import Issue, issue
from cvg_pipeline.fr import aujourdhui
from cvg_pipeline.read.model import SPREADSHEET_EXTENSIONS, ParsedFile, display_name
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
from cvg_pipeline.read.salaries_sheet import finish_salaries, read_salaries
from cvg_pipeline.read.sheet import Sheet, load_sheet
from cvg_pipeline.read.structure_sheet import finish_structure, read_structure
from cvg_pipeline.schema.load import Schema

if TYPE_CHECKING:
    import polars as pl


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
class Pending:
    """One file between the per-file stage (sheets, header) and the batch stage (cells)."""

    parsed: ParsedFile
    body: pl.DataFrame | None = None  # `_f`, `_ligne`, canonical columns as text, birth date column
    arrete: tuple[str, dict[str, Any]] | None = None  # Date d'arrêté as written, and where it is


def read_workbooks(
    files: Sequence[Path | tuple[Path, str | None]], schema: Schema, *, today: date | None = None
) -> list[ParsedFile]:
    """Read, locate and normalise workbooks, one `ParsedFile` per file in order. Never raises for bad input:
    problems are `Issue`s. `ParsedFile.sha256` is the hash of the bytes read; a file's `(path, sha256)` (the
    caller's earlier hash of the path) only stands in for it when the file could not be read at all.

    All their rows are normalised in one pass: polars costs about the same per expression for 80 rows as for
    8,000, so batching files (e.g. one batch per worker process) is much faster than reading them one by one."""
    today = today or aujourdhui()  # the date in France, not the machine's
    # The batch keeps the sheets of all its files alive and makes no reference cycles: the cyclic collector's
    # full passes over every live object (~0.5 ms per file over a batch of ~90 files) would find nothing.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        pending: list[Pending] = []
        for item in files:
            path, sha = (item, None) if isinstance(item, Path | str) else item
            pending.append(_read_file(Path(path), schema, sha, today))
        finish_structure(pending, schema, today)
        finish_salaries(pending, schema)
        return [p.parsed for p in pending]
    finally:
        if gc_was_enabled:
            gc.enable()


def _read_file(path: Path, schema: Schema, sha256: str | None, today: date) -> Pending:
    fichier = display_name(path.name)  # shown, stored: valid UTF-8 whatever the name's bytes
    content, refused = read_checked(path, fichier)  # read once; hostile/oversized files never reach a parser
    if content is None:
        assert refused is not None
        return Pending(ParsedFile(path=path, fichier=fichier, sha256=sha256 or "", issues=[refused]))
    # The hash of the bytes parsed, never the `sha256` computed earlier from the path: the file may have been
    # replaced in between, and its content must not be stored under the other file's hash.
    parsed = ParsedFile(path=path, fichier=fichier, sha256=hashlib.sha256(content).hexdigest())
    pending = Pending(parsed)
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

    def load(name: str) -> Sheet | None:
        try:
            return load_sheet(reader, name)
        except BaseException as exc:
            if _is_fatal(exc):
                raise
            parsed.issues.append(issue("fichier-illisible", fichier, feuille=name,
                                       detail="une feuille ne peut pas être lue"))
            return None

    wanted = {"structure": schema.structure_sheet, "salaries": schema.salaries_sheet}
    found: dict[str, Sheet | None] = {}
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


def _workbook_is_empty(names: Sequence[str], load: Any, found: dict[str, Sheet | None]) -> bool:
    done = {s.name for s in found.values() if s is not None}
    for name in names:
        if name in done:
            continue
        sheet = load(name)
        if sheet is None or not sheet.is_empty:
            return False
    return True

