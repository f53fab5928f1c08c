"""The precheck of an OLE2 (CFB) file: an encrypted .xlsx/.xlsm (its `EncryptionInfo` streams), an .xls whose
workbook globals carry a FILEPASS record (encrypted) or whose BIFF worksheets calamine would allocate beyond
the limits, a Word or PowerPoint document under a workbook's name."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from cvg_pipeline.check.errors import issue
from cvg_pipeline.read.precheck import (
    DOCUMENT_ADVICE,
    MAX_CELLS,
    MAX_ROWS,
    SAVE_XLS_AGAIN,
    Refusal,
    fmt,
    other_format,
    too_many_cells,
)

# BIFF record types (the records of an .xls Workbook stream: u16 type, u16 length, body)
_BOF: Final = 0x0809
_EOF: Final = 0x000A
_FILEPASS: Final = 0x002F
_BOUNDSHEET: Final = 0x0085
_HEADER: Final = struct.Struct("<HH")


def check_ole(content: bytes, fichier: str, suffix: str) -> None:
    import olefile  # type: ignore[import-untyped]

    try:
        ole = olefile.OleFileIO(io.BytesIO(content))
    except Exception as exc:  # olefile raises various errors on malformed files
        raise Refusal(issue("fichier-illisible", fichier, detail=f"classeur .xls endommagé : {SAVE_XLS_AGAIN}")) from exc
    try:
        if ole.exists("EncryptionInfo") or ole.exists("EncryptedPackage"):
            raise Refusal(issue("fichier-protege", fichier))
        for stream in ("Workbook", "Book"):
            if ole.exists(stream):
                with ole.openstream(stream) as fh:
                    data = fh.read()
                if _biff_has_filepass(data[: 64 * 1024]):
                    raise Refusal(issue("fichier-protege", fichier))
                _check_biff(data, fichier)
                break
        else:
            if ole.exists("WordDocument"):
                raise Refusal(other_format(fichier, suffix, "un document Word", DOCUMENT_ADVICE))
            if ole.exists("PowerPoint Document"):
                raise Refusal(other_format(fichier, suffix, "une présentation PowerPoint", DOCUMENT_ADVICE))
    except Refusal:
        raise
    except Exception as exc:
        raise Refusal(issue("fichier-illisible", fichier, detail=f"classeur .xls endommagé : {SAVE_XLS_AGAIN}")) from exc
    finally:
        ole.close()


def _biff_has_filepass(data: bytes) -> bool:
    """True when the workbook globals (BIFF5/8) carry a FILEPASS record: the .xls is encrypted.

    Record headers are never encrypted, so the records can be walked; FILEPASS comes right after BOF.
    """
    pos = 0
    for index in range(64):
        if pos + 4 > len(data):
            return False
        rtype, length = _HEADER.unpack_from(data, pos)
        if index == 0 and rtype != _BOF:
            return False
        if rtype == _FILEPASS:
            return True
        if rtype in (_BOUNDSHEET, _EOF):  # past the place FILEPASS would be
            return False
        pos += 4 + length
    return False


# -- BIFF worksheets (.xls) ---------------------------------------------------------------------------------
# calamine (0.36 through fastexcel) parses EVERY sheet of an .xls when the file is opened, and keeps each
# one as a dense range: for each BOUNDSHEET of the workbook globals it walks the records from the sheet's
# offset up to the first EOF, and
# - on each DIMENSIONS record reserves room for rows × columns cells (40 bytes each) as declared — with u32
#   arithmetic that wraps when the last row is before the first: huge bounds abort the process (SIGABRT);
# - pushes one cell per NUMBER, LABEL, RSTRING, BOOLERR, RK, LABELSST, FORMULA (and its STRING), and one per
#   entry of a MULRK, then allocates the dense range from the first to the last row and column used (one
#   cell in IV65536: 1.4 GB peak RSS).
# Measured through fastexcel 0.21 (peak RSS of the reading process): an ordinary .xls of 65,536 rows × 20
# columns, 333 MiB (precheck 1.2 s); the worst file accepted, DIMENSIONS of 65,536 × 122 and a cell in
# DR65536, 827 MiB (the same far cell in an .xlsx: 496 MiB — the reserve for DIMENSIONS comes on top).
# The rule, for each worksheet: every DIMENSIONS as calamine reads it within MAX_ROWS / MAX_CELLS and all of
# them together within MAX_CELLS; the furthest row and column of the cell records, counted from A1 as for
# .xlsx (BLANK, MULBLANK and ROW records too, as the .xlsx count takes every `<c>` and `<row>`), within
# MAX_ROWS / MAX_CELLS; at most MAX_CELLS cell records (a sheet can repeat one cell: each is still pushed);
# and all the sheets' ranges together within MAX_CELLS (calamine holds them all at once). A record header or
# body running past the end of the stream, a cell record too short to hold its position, a DIMENSIONS of an
# unknown length or a sheet offset outside the stream: damaged (calamine fails or panics on them anyway).

_DIMENSIONS: Final = 0x0200
_ROW: Final = 0x0208
_STRING: Final = 0x0207  # the text value of the FORMULA before it: one more cell for calamine
# LABELSST, NUMBER, RK, BLANK, BOOLERR, FORMULA, LABEL, RSTRING: row u16, column u16 first
_CELL_RECORDS: Final = frozenset({0x00FD, 0x0203, 0x027E, 0x0201, 0x0205, 0x0006, 0x0204, 0x00D6})
# MULRK, MULBLANK: row u16, first column u16, entries (6 / 2 bytes), last column u16
_MUL_RECORDS: Final = {0x00BD: 6, 0x00BE: 2}


class _Damaged(Exception):
    pass


@dataclass
class _BiffSheet:
    rows: int = 0  # furthest row + 1 of the cell and ROW records
    columns: int = 0  # furthest column + 1 of the cell records
    cells: int = 0  # cells calamine pushes (MULRK entries each, STRING too; MULBLANK entries as well)
    declared: int = 0  # cells reserved by all the DIMENSIONS records
    dim_rows: int = 0  # the largest DIMENSIONS, as calamine reads it
    dim_columns: int = 0


def _check_biff(data: bytes, fichier: str) -> None:
    """Refuse an .xls whose worksheets calamine would allocate beyond the limits (see the rule above)."""
    try:
        sheets = _biff_sheets(data)
        total = 0
        walked: dict[int, _BiffSheet] = {}
        for pos, name in sheets:
            if pos not in walked:  # two BOUNDSHEETs may point at one substream: calamine reads it twice
                walked[pos] = _biff_sheet(data, pos)
            sheet = walked[pos]
            if sheet.dim_rows > MAX_ROWS or sheet.dim_rows * sheet.dim_columns > MAX_CELLS:
                raise Refusal(too_many_cells(fichier, name, sheet.dim_rows, sheet.dim_columns))
            if sheet.declared > MAX_CELLS:
                raise Refusal(issue(
                    "contenu-dangereux", fichier,
                    detail=f"des dimensions annoncées démesurées (feuille « {name} » : {fmt(sheet.declared)} cellules)"))
            if sheet.rows > MAX_ROWS or sheet.rows * sheet.columns > MAX_CELLS:
                raise Refusal(too_many_cells(fichier, name, sheet.rows, sheet.columns))
            if sheet.cells > MAX_CELLS:
                raise Refusal(issue(
                    "fichier-trop-gros", fichier, limite=f"{fmt(MAX_CELLS)} cellules par feuille",
                    detail=f"la feuille « {name} » contient {fmt(sheet.cells)} cellules"))
            total += sheet.rows * sheet.columns
            if total > MAX_CELLS:
                raise Refusal(issue(
                    "fichier-trop-gros", fichier, limite=f"{fmt(MAX_CELLS)} cellules pour l'ensemble des feuilles",
                    detail=f"les feuilles occupent au moins {fmt(total)} cellules en tout ; supprimez les feuilles "
                           "ou les cellules inutiles"))
    except _Damaged as exc:
        raise Refusal(issue("fichier-illisible", fichier,
                            detail=f"classeur .xls endommagé : {exc} ; {SAVE_XLS_AGAIN}")) from exc


def _biff_records(data: bytes, pos: int) -> Iterator[tuple[int, int, int]]:
    """(record type, start of its body, end of its body) of each record from `pos` to the end of the stream;
    _Damaged when a header or a body runs past the end."""
    end = len(data)
    unpack = _HEADER.unpack_from
    while pos < end:
        if pos + 4 > end:
            raise _Damaged("en-tête d'enregistrement tronqué")
        rtype, length = unpack(data, pos)
        body = pos + 4
        pos = body + length
        if pos > end:
            raise _Damaged("enregistrement tronqué")
        yield rtype, body, pos


def _biff_sheets(data: bytes) -> list[tuple[int, str]]:
    """(offset, name) of each BOUNDSHEET of the workbook globals (walked up to their EOF, as calamine does)."""
    sheets: list[tuple[int, str]] = []
    biff8 = True
    end = len(data)
    for rtype, body, pos in _biff_records(data, 0):
        length = pos - body
        if rtype == _BOF and length >= 2:
            biff8 = data[body] | data[body + 1] << 8 != 0x0500
        elif rtype == _BOUNDSHEET:
            if length < 6:
                raise _Damaged("description de feuille tronquée")
            offset = struct.unpack_from("<I", data, body)[0]
            if offset >= end:
                raise _Damaged("feuille hors du fichier")
            sheets.append((offset, _biff_sheet_name(data[body:pos], biff8, len(sheets))))
        elif rtype == _EOF:
            break
    return sheets


def _biff_sheet_name(record: bytes, biff8: bool, index: int) -> str:
    """The sheet name of a BOUNDSHEET record (for messages only: never fails)."""
    if len(record) < 8:
        return f"n° {index + 1}"
    cch = record[6]
    if biff8:
        if record[7] & 1:
            text = record[8 : 8 + 2 * cch].decode("utf-16-le", "replace")
        else:
            text = record[8 : 8 + cch].decode("latin-1")
    else:
        text = record[7 : 7 + cch].decode("cp1252", "replace")
    return "".join(ch for ch in text if ch.isprintable()) or f"n° {index + 1}"


def _biff_sheet(data: bytes, start: int) -> _BiffSheet:
    """Walk one sheet substream from `start` to its first EOF (or the end of the stream)."""
    sheet = _BiffSheet()
    unpack = _HEADER.unpack_from
    cells = _CELL_RECORDS
    max_row = max_col = -1
    count = 0
    for rtype, body, pos in _biff_records(data, start):
        length = pos - body
        if rtype in cells:
            if length < 4:
                raise _Damaged("cellule tronquée")
            row, col = unpack(data, body)
            if row > max_row:
                max_row = row
            if col > max_col:
                max_col = col
            count += 1
        elif rtype == _ROW:
            if length < 2:
                raise _Damaged("ligne tronquée")
            row = data[body] | data[body + 1] << 8
            if row > max_row:
                max_row = row
        elif rtype in _MUL_RECORDS:
            if length < 6:
                raise _Damaged("cellules tronquées")
            row, first = unpack(data, body)
            last = data[pos - 2] | data[pos - 1] << 8
            entries = (length - 6) // _MUL_RECORDS[rtype]
            col = max(first + max(entries, 1) - 1, last)
            if row > max_row:
                max_row = row
            if col > max_col:
                max_col = col
            count += max(entries, 1)
        elif rtype == _STRING:
            count += 1
        elif rtype == _DIMENSIONS:
            rows, columns = _dimensions(data[body:pos])
            sheet.declared += rows * columns
            if rows * columns > sheet.dim_rows * sheet.dim_columns or rows > sheet.dim_rows:
                sheet.dim_rows, sheet.dim_columns = rows, columns
        elif rtype == _EOF:
            break
    sheet.rows, sheet.columns, sheet.cells = max_row + 1, max_col + 1, count
    return sheet


def _dimensions(record: bytes) -> tuple[int, int]:
    """Rows and columns a DIMENSIONS record makes calamine reserve (its arithmetic, wrap-around included)."""
    if len(record) == 14:  # BIFF8: first row u32, last row + 1 u32, first column u16, last column + 1 u16
        first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", record)
    elif len(record) == 10:  # BIFF5 and earlier: u16 all four
        first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", record)
    else:
        raise _Damaged("dimensions de feuille illisibles")
    if first_col > 0xFF or last_col < first_col:
        first_col = 0
    if last_row < 1 or last_col < 1:
        return 1, 1
    return (last_row - 1 - first_row + 1) % 2**32, last_col - first_col
