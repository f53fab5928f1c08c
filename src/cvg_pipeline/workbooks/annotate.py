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

On paper (issue 20, point 11; `workbooks.layout`, shared with the template): every sheet prints landscape on A4,
fitted to the page width, its header row repeated, « Page n / N » in the footer. `Erreurs` wraps its texts
with explicit row heights (LibreOffice does not size rows when it opens an .xlsx) and its guide lines span the
table. The copies print their row numbers and column letters (the identifier column is left blank: the ACI
finds a row by its number, a message's « AV8 » by its letters), and `Salariés` its comments after the sheet.

A workbook sent back to cvg is recognised (`is_error_workbook`: the `Erreurs` sheet and the marker in the
document's keywords, or that sheet's table header) and refused as such by the reader (issue 17, point 8).

What is copied (issue 13, point 11): the rule is an allow-list, everything else is left empty.
- `Salariés`: the header cells of the schema's columns (and of the direct identifiers, greyed: a label of the
  schema, not personal data), then, from the header down to the end of the table (`read.salaries_sheet.table_end`), the
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
  fails `read.precheck`) is never opened and gives a workbook with `Erreurs` only;
- writing never replaces a file (issue 13, point 1): the workbook is written to a private temporary file
  (0600) then linked to the first free name among `<nom>-erreurs.xlsx`, `<nom>-erreurs-2.xlsx`, … with an
  exclusive creation (`files.link_new`: `os.link`, or `O_CREAT | O_EXCL` where hard links are not
  supported), so an ACI's corrected `aci-erreurs.xlsx`, an input, or a file that appears meanwhile is never
  overwritten.

Heavy libraries (openpyxl, fastexcel, polars) are imported inside the functions.

This module names, recognises, builds and writes the error workbook; the parts are `annotate_source` (the
source's sheets as written), `annotate_plan` (what is copied, where each issue goes), `annotate_errors_sheet`
(the sheet `Erreurs`), `annotate_copies` (the copied sheets) and `annotate_cells` (a value or a message in a
cell).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cvg_pipeline.check.errors import CATALOGUE, Issue
from cvg_pipeline.files import link_new
from cvg_pipeline.fr import erreur_systeme
from cvg_pipeline.read.model import ERROR_WORKBOOK_SUFFIX, display_name, is_error_workbook_name
from cvg_pipeline.schema.load import Schema, fold
from cvg_pipeline.workbooks.annotate_cells import ERRORS_SHEET
from cvg_pipeline.workbooks.annotate_copies import write_copy
from cvg_pipeline.workbooks.annotate_errors_sheet import ERRORS_HEADER, write_errors_sheet
from cvg_pipeline.workbooks.annotate_plan import locate, plan_copies, sort_key
from cvg_pipeline.workbooks.annotate_source import RawSheet, read_raw_sheets

SUFFIX = ERROR_WORKBOOK_SUFFIX
# Written in the workbook's properties, so that a folder scan can skip our own, untouched output (an ACI
# that corrects the copy and sends it back saves it again: its "last modified by" is no longer ours).
PRODUCER = "cvg-pipeline"
MARKER = "cvg-classeur-erreurs"
_MAX_NAMES = 999  # aci-erreurs.xlsx, then aci-erreurs-2.xlsx … aci-erreurs-999.xlsx


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
            if link_new(Path(tmp), dest):
                return dest
        raise NoFreeNameError(dest_dir / error_workbook_name(source))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


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
    copies, skipped = plan_copies(raws, issues, schema)

    entries = [locate(i, copies) for i in issues]
    order = {c.title: n for n, c in enumerate(copies)}
    entries.sort(key=lambda e: sort_key(e, order))

    wb = Workbook()
    wb.properties.creator = PRODUCER
    wb.properties.lastModifiedBy = PRODUCER
    wb.properties.keywords = MARKER
    wb.properties.title = f"Erreurs du fichier {display_name(source.name)}"
    ws_err = wb.active
    assert ws_err is not None
    ws_err.title = ERRORS_SHEET
    copy_sheets = {c.title: wb.create_sheet(c.title) for c in copies}
    write_errors_sheet(ws_err, entries, issues, copies, skipped, read_failed)
    for copy in copies:
        write_copy(copy_sheets[copy.title], copy, [e for e in entries if e.copy is copy])
    return wb
