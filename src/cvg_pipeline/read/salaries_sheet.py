"""The sheet Salariés (spec §1.2, §3.1): its header found and its columns located (identifier columns left
behind, a date of birth kept aside to be reduced to its year), where its table ends, and the rows of every
file of a batch normalised in one pass into typed data and located `Issue`s (`finish_salaries`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

from cvg_pipeline.check.errors import Issue, issue
from cvg_pipeline.read.model import ROW_COLUMN, ParsedFile, SheetColumn
from cvg_pipeline.read.sheet import (
    BOOL_DISPLAY,
    DATE_DISPLAY,
    FULL_DATE,
    Sheet,
    cell_text,
    display_text,
    is_full_date,
)
from cvg_pipeline.schema.load import HeaderMatch, Schema

if TYPE_CHECKING:
    import polars as pl

    from cvg_pipeline.read.workbook import Pending


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


def find_header_row(rows: Sequence[Sequence[Any]], schema: Schema) -> int | None:
    """0-based index of the first of the first rows with enough recognised column labels."""
    for i, row in enumerate(rows[: schema.header_search_rows]):
        recognised = 0
        for cell in row:
            text = cell_text(cell)
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


def read_salaries(sheet: Sheet, schema: Schema, parsed: ParsedFile) -> pl.DataFrame | None:
    """Find the header, locate the columns and return the body (rows below the header) as text.

    Only recognised columns are taken from the sheet: identifier columns are left behind here, before any
    of their values is cleaned, kept or copied; a date-of-birth column goes to a transient column that
    `finish_salaries` reduces to the year.
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
        text = cell_text(cell)
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
    return body  # its file and Excel row columns are added to the whole batch at once (`finish_salaries`)


_FILE_ID = "__f"


def finish_salaries(pending: list[Pending], schema: Schema) -> None:
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
    excel_bools = [c for c, texts in distinct.items() if any(t in BOOL_DISPLAY for t in texts)]
    raw_exprs = [pl.col(c).str.replace(*DATE_DISPLAY) for c in dates]
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
