"""The sheet `Erreurs` of the error workbook: a one-line summary, a short guide, then one row per issue, each
located row a link to its cell in the copy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cvg_pipeline.check.errors import Issue
from cvg_pipeline.fr import liste, pluriel
from cvg_pipeline.workbooks.annotate_cells import CellValue, put, quote_sheet
from cvg_pipeline.workbooks.annotate_plan import Copy, Entry, marker_column
from cvg_pipeline.workbooks.layout import fit_rows, page_setup

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

ERRORS_HEADER = ("Feuille", "Ligne", "Colonne", "Cellule", "Valeur saisie", "Message", "Code", "Gravité")
ERRORS_WIDTHS = (16, 8, 30, 9, 24, 100, 24, 15)
# Columns of Erreurs whose text may wrap on several lines: not links, as LibreOffice never wraps a cell holding
# a link (the message would run on one line, cut at the page's edge); the row's other cells link to its cell.
_UNLINKED = frozenset({3, 5, 6})  # Colonne, Valeur saisie, Message


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


def _guide(copies: Sequence[Copy], skipped: Sequence[str], read_failed: bool) -> list[str]:
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


def write_errors_sheet(
    ws: Worksheet,
    entries: Sequence[Entry],
    issues: Sequence[Issue],
    copies: Sequence[Copy],
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


def _target(entry: Entry) -> str | None:
    """Internal link of an issue: its cell, or the row's marker cell for a rule on the whole row."""
    from openpyxl.utils import get_column_letter

    if entry.copy is None or entry.row is None:
        return None
    col = entry.col if entry.col is not None else marker_column(entry.copy)
    return f"{quote_sheet(entry.copy.title)}!{get_column_letter(col)}{entry.row}"

