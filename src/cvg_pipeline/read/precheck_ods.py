"""The precheck of an OpenDocument spreadsheet's tables (content.xml of an .ods), once its parts passed
`precheck_zip`: the used range of each table, repeats expanded, as calamine allocates it."""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass

from cvg_pipeline.check.errors import Issue, issue
from cvg_pipeline.read.precheck import CHUNK, MAX_CELLS, MAX_ROWS, Refusal, too_many_cells


def check_ods_content(zf: zipfile.ZipFile, fichier: str) -> None:
    """Rows and columns of each table of an .ods, with `number-rows/columns-repeated` expanded.

    Only rows and cells holding a value count towards the used range (LibreOffice writes a million repeated
    empty rows at the end of every sheet; the parser skips them). Runs after the DTD scan: expat never sees a
    DTD here, and refuses one anyway.

    Names are matched as written (`table:table-row`, `office:value-type`), without namespace processing, as
    calamine matches them: with `xmlns:table` bound to another URI, a namespace-aware count saw no table at all
    while calamine expanded every repeat (20,000 × 1,000 repeated cells: 2.5 GB, then SIGABRT). A table inside
    a table is counted with it (over-counting is safe, resetting the counts would not be).
    """
    import xml.parsers.expat

    ns = "table:"
    office = "office:"
    st = _OdsScan()
    depth = 0
    failure: list[Issue] = []

    def close_table() -> None:
        if not failure and (st.rows_used > MAX_ROWS or st.rows_used * st.cols_used > MAX_CELLS):
            failure.append(too_many_cells(fichier, st.table, st.rows_used, st.cols_used))

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        if name == ns + "table":
            depth += 1
            if depth == 1:
                st.table, st.row, st.rows_used, st.cols_used = attrs.get(ns + "name", "?"), 0, 0, 0
        elif name == ns + "table-row":
            st.col, st.row_has_value, st.row_rep = 0, False, _int(attrs.get(ns + "number-rows-repeated"))
        elif name in (ns + "table-cell", ns + "covered-table-cell"):
            st.col += _int(attrs.get(ns + "number-columns-repeated"))
            if attrs.get(office + "value-type"):
                st.row_has_value = True
                st.cols_used = max(st.cols_used, st.col)

    def end(name: str) -> None:
        nonlocal depth
        if name == ns + "table-row":
            st.row += st.row_rep
            if st.row_has_value:
                st.rows_used = st.row
            if st.rows_used > MAX_ROWS:
                close_table()
                raise _Stop
        elif name == ns + "table":
            depth -= 1
            if depth == 0:
                close_table()

    def forbid(*_args: object) -> None:
        failure.append(issue("contenu-dangereux", fichier, detail="une déclaration DTD ou d'entité XML"))
        raise _Stop

    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = forbid
    parser.EntityDeclHandler = forbid
    try:
        with zf.open("content.xml") as fh:
            while block := fh.read(CHUNK):
                parser.Parse(block, False)
                if failure:
                    break
            else:
                parser.Parse(b"", True)
    except _Stop:
        pass
    except (xml.parsers.expat.ExpatError, zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
        return  # malformed content: the reader reports it as unreadable
    if failure:
        raise Refusal(failure[0])


class _Stop(Exception):
    pass


@dataclass
class _OdsScan:
    table: str = ""
    row: int = 0  # rows seen so far in the current table (repeats expanded)
    rows_used: int = 0  # last row holding a value
    cols_used: int = 0  # last column holding a value
    col: int = 0
    row_rep: int = 1
    row_has_value: bool = False


def _int(text: str | None) -> int:
    try:
        return max(1, int(text)) if text else 1
    except ValueError:
        return 1

