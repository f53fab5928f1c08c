"""The sheet Structure (spec §1.1): Champ / Valeur pairs read into a `StructureInfo`, each bad value a located
`Issue`; the Date d'arrêté of every file of a batch parsed at once (`finish_structure`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from cvg_pipeline.check.errors import Issue, issue
from cvg_pipeline.read.model import StructureInfo
from cvg_pipeline.read.sheet import Sheet, cell_text, column_letter, display_text
from cvg_pipeline.schema.load import Schema, fold

if TYPE_CHECKING:
    from cvg_pipeline.read.workbook import Pending


def structure_columns(rows: list[tuple[Any, ...]], schema: Schema) -> tuple[int, int] | None:
    """(Champ, Valeur) column positions from a header row among the first rows, if there is one."""
    champ, valeur = fold(schema.structure_field_header), fold(schema.structure_value_header)
    for row in rows[: schema.header_search_rows]:
        folded = [fold(c) if isinstance(c, str) else "" for c in row]
        if champ in folded and valeur in folded:
            return folded.index(champ), folded.index(valeur)
    return None


def read_structure(
    sheet: Sheet, schema: Schema, fichier: str, issues: list[Issue]
) -> tuple[StructureInfo, tuple[str, dict[str, Any]] | None]:
    """Sheet Structure, Champ / Valeur. The Date d'arrêté is returned as written with its location: the
    batch parses all of them at once (`finish_structure`)."""
    from cvg_pipeline.read.normalise import category_fields, siret_problem

    rows = sheet.frame.rows()
    fixed = structure_columns(rows, schema)
    values: dict[str, tuple[str | None, int | None, str | None, str | None]] = {}  # field -> (value text, row, label, letter)
    value_letter = sheet.letters[fixed[1]] if fixed else (sheet.letters[1] if len(sheet.letters) > 1 else "B")
    for i, row in enumerate(rows):
        if fixed is not None:
            label, value_pos = row[fixed[0]], fixed[1]
        else:
            filled = [j for j, c in enumerate(row) if cell_text(c) is not None]
            if not filled:
                continue
            label, value_pos = row[filled[0]], (filled[1] if len(filled) > 1 else filled[0] + 1)
        label_text = cell_text(label)
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


def finish_structure(pending: list[Pending], schema: Schema, today: date) -> None:
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

