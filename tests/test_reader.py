"""Reading workbooks (spec §1, §3.1): sheets, header row, Excel locations, identifiers, file-level problems."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cvg_pipeline.reader import column_letter, read_workbook
from cvg_pipeline.schema import load_schema
from tests.builders import SIRET, open_row, valid_row, write_workbook

SCHEMA = load_schema()
TODAY = date(2024, 6, 1)


def read(path: Path):  # type: ignore[no-untyped-def]
    return read_workbook(path, SCHEMA, today=TODAY)


def codes(parsed) -> list[str]:  # type: ignore[no-untyped-def]
    return [i.code for i in parsed.issues]


@pytest.mark.parametrize(("index", "letter"), [(0, "A"), (1, "B"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA")])
def test_column_letter(index: int, letter: str) -> None:
    assert column_letter(index) == letter


def test_valid_workbook_is_read_without_issue(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "ok.xlsx", rows=[valid_row(), open_row(**{"Identifiant salarié": "B2"})])
    parsed = read(path)
    assert parsed.issues == []
    assert parsed.structure is not None
    assert parsed.structure.siret == SIRET
    assert parsed.structure.territoire == "lyon"
    assert parsed.structure.date_arrete == date(2023, 12, 31)
    assert parsed.structure.supports == ("Réemploi", "Espaces verts")
    assert parsed.data is not None and parsed.raw is not None
    assert parsed.data["_ligne"].to_list() == [2, 3]
    assert parsed.data["id_salarie"].to_list() == ["A001", "B2"]
    assert parsed.data["date_entree"].to_list() == [date(2022, 3, 1)] * 2
    assert parsed.data["date_sortie"].to_list() == [date(2023, 6, 30), None]
    assert parsed.data["diff_logement"].to_list() == [True, True]
    assert parsed.data["annee_naissance"].to_list() == [1980, 1980]
    assert parsed.raw["date_entree"].to_list() == ["01/03/2022"] * 2
