"""A cell showing an Excel error (#DIV/0!, #N/A, …: a formula whose cached result is an error) is not blank.

It is reported at its cell as `erreur-excel`, whatever the column's type, and rules that read that cell stay
quiet (no « la date de sortie est vide » after a `#DIV/0!` in Date de sortie).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from cvg_pipeline.ingest.run import verify_paths
from cvg_pipeline.schema.load import load_schema
from tests.builders import structure, valid_row


def _write(path: Path, formulas: dict[tuple[int, str], tuple[str, str]]) -> Path:
    """Three valid parcours (rows 2–4); `formulas[(excel_row, label)] = (formula, cached value)`."""
    import xlsxwriter

    rows = [valid_row(**{"Identifiant salarié": ident}) for ident in ("A1", "B2", "C3")]
    header = list(rows[0])
    wb = xlsxwriter.Workbook(str(path))
    fmt = wb.add_format({"num_format": "dd/mm/yyyy"})
    st, sa = wb.add_worksheet("Structure"), wb.add_worksheet("Salariés")
    st.write_row(0, 0, ["Champ", "Valeur"])
    for i, (k, v) in enumerate(structure().items(), start=1):
        st.write(i, 0, k)
        if isinstance(v, date):
            st.write_datetime(i, 1, datetime(v.year, v.month, v.day), fmt)
        else:
            st.write(i, 1, v)
    sa.write_row(0, 0, header)
    for r, row in enumerate(rows, start=1):
        for c, label in enumerate(header):
            value = row[label]
            if (r + 1, label) in formulas:
                formula, cached = formulas[(r + 1, label)]
                sa.write_formula(r, c, formula, None, cached)
            elif isinstance(value, date):
                sa.write_datetime(r, c, datetime(value.year, value.month, value.day), fmt)
            elif value is not None:
                sa.write(r, c, value)
    wb.close()
    return path


@pytest.mark.parametrize(
    ("label", "formula", "shown"),
    [
        ("Heures hebdomadaires à l'entrée", "=1/0", "#DIV/0!"),
        ("Sexe", "=NA()", "#N/A"),
        ("Accompagnement concerté", "=FOO()", "#NAME?"),
        ("Date de sortie", "=1/0", "#DIV/0!"),
        ("Situation à la sortie", "=#REF!", "#REF!"),
        ("Identifiant salarié", "=#REF!", "#REF!"),
    ],
)
def test_excel_error_is_one_located_error(tmp_path: Path, label: str, formula: str, shown: str) -> None:
    path = _write(tmp_path / "f.xlsx", {(3, label): (formula, shown)})
    [result] = verify_paths([path], schema=load_schema())
    errors = [i for i in result.issues if i.is_error]
    assert [(i.code, i.ligne, i.colonne, i.valeur) for i in errors] == [("erreur-excel", 3, label, shown)]
    assert f"l'erreur Excel « {shown} »" in errors[0].message


def test_cached_values_of_working_formulas_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "ok.xlsx", {(2, "Heures hebdomadaires à l'entrée"): ("=10+10", "20")})
    [result] = verify_paths([path], schema=load_schema())
    assert not [i for i in result.issues if i.is_error]
