"""Build reporting workbooks for the tests (openpyxl), valid by default, so each test states only what differs.

    path = write_workbook(tmp_path / "aci.xlsx", rows=[valid_row(), valid_row(**{"Identifiant salarié": "B2"})])
    path = write_workbook(tmp_path / "bad.xlsx", rows=[valid_row(**{"Date de sortie": "31/02/2023"})])

Rows are dicts keyed by header as written (template labels by default); the header is the union of the
keys, in first-seen order, unless `header` is given. A value `None` leaves the cell empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path

from cvg_pipeline.schema.load import load_schema

Cell = str | int | float | bool | date | datetime | None


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def make_siret(prefix: str = "1234567890123") -> str:
    """A 14-digit SIRET with a valid Luhn checksum, built from a 13-digit prefix."""
    assert len(prefix) == 13 and prefix.isdigit()
    for last in "0123456789":
        if luhn_ok(prefix + last):
            return prefix + last
    raise AssertionError("unreachable")


SIRET = make_siret()
SIRET_2 = make_siret("9876543210987")


def structure(**overrides: Cell) -> dict[str, Cell]:
    """Champ → Valeur of a valid Structure sheet (labels as in the template)."""
    base: dict[str, Cell] = {
        "Nom de la structure": "Atelier Test",
        "SIRET": SIRET,
        "Territoire": "Métropole de Lyon",
        "Date d'arrêté": date(2023, 12, 31),
        "Supports d'activité": "Réemploi; Espaces verts",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None or k in overrides}


def valid_row(**overrides: Cell) -> dict[str, Cell]:
    """One valid parcours (a sortie in 2023), keyed by template label; override by label."""
    row: dict[str, Cell] = {
        "Identifiant salarié": "A001",
        "Programme": "CVG",
        "Date d'entrée": date(2022, 3, 1),
        "Date de sortie": date(2023, 6, 30),
        "Heures hebdomadaires à l'entrée": 20,
        "Heures hebdomadaires à la sortie": 26,
        "Sexe": "Femme",
        "Année de naissance": 1980,
        "Nationalité": "Française",
        "Orienteur / prescripteur": "France Travail",
        "Durée sans emploi à l'entrée": "Plus de 24 mois",
        "Situation logement à l'entrée": "Hébergement collectif",
        "Difficulté Logement à l'entrée": "Oui",
        "Difficulté Santé à l'entrée": "Non",
        "Difficulté Logement à la sortie": "En cours de résolution",
        "Accompagnement concerté": "Oui",
        "Situation à la sortie": "CDI",
        "Situation logement à la sortie": "Logement pérenne",
        "Contact post-sortie (6 à 12 mois après)": "Non",
    }
    row.update(overrides)
    return row


def open_row(**overrides: Cell) -> dict[str, Cell]:
    """A parcours still running at the Date d'arrêté (no sortie block)."""
    row = valid_row(**{"Date de sortie": None, "Heures hebdomadaires à la sortie": None,
                       "Difficulté Logement à la sortie": None, "Situation à la sortie": None,
                       "Situation logement à la sortie": None, "Contact post-sortie (6 à 12 mois après)": None})
    row.update(overrides)
    return row


def all_labels() -> list[str]:
    return [c.label for c in load_schema().columns]


def write_workbook(
    path: Path,
    *,
    rows: Sequence[Mapping[str, Cell]] = (),
    header: Sequence[str] | None = None,
    structure_fields: Mapping[str, Cell] | None = None,
    title_rows: Sequence[Sequence[Cell]] = (),
    structure_sheet: str | None = "Structure",
    salaries_sheet: str | None = "Salariés",
    extra_sheets: Mapping[str, Sequence[Sequence[Cell]]] | None = None,
) -> Path:
    """Write an .xlsx reporting workbook; return its path.

    `title_rows` are written above the header of Salariés (so the header row is len(title_rows) + 1).
    A sheet whose name is None is left out.
    """
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    if structure_sheet is not None:
        ws = wb.create_sheet(structure_sheet)
        ws.append(["Champ", "Valeur"])
        for field, value in (structure() if structure_fields is None else structure_fields).items():
            ws.append([field, value])
    if salaries_sheet is not None:
        ws = wb.create_sheet(salaries_sheet)
        for title in title_rows:
            ws.append(list(title))
        if header is None:
            header = list(dict.fromkeys(k for row in rows for k in row))
        ws.append(list(header))
        for row in rows:
            ws.append([row.get(h) for h in header])
    for name, sheet_rows in (extra_sheets or {}).items():
        ws = wb.create_sheet(name)
        for r in sheet_rows:
            ws.append(list(r))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
