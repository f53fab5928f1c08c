"""French formatting of the reports: numbers, percentages, decimals and dates."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cvg_pipeline import fr

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1\u202f000"),
        (3448, "3\u202f448"),
        (12345, "12\u202f345"),
        (100000, "100\u202f000"),
        (1234567, "1\u202f234\u202f567"),
        (-1234, "-1\u202f234"),
    ],
)
def test_entier(n: int, expected: str) -> None:
    assert fr.entier(n) == expected


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_entier_groups_of_three_with_narrow_no_break_space(n: int) -> None:
    text = fr.entier(n)
    assert text.replace(NNBSP, "") == str(n)
    groups = text.lstrip("-").split(NNBSP)
    assert 1 <= len(groups[0]) <= 3
    assert all(len(g) == 3 and g.isdigit() for g in groups[1:])
    assert " " not in text and NBSP not in text


@pytest.mark.parametrize(
    ("value", "decimales", "expected"),
    [
        (16.0, 1, "16,0"),
        (16.25, 1, "16,3"),  # half-up, not half-even
        (16.35, 1, "16,4"),
        (0.05, 1, "0,1"),
        (-0.25, 1, "-0,3"),
        (1234.5, 1, "1\u202f234,5"),
        (Fraction(1, 3), 2, "0,33"),
        (Decimal("2.675"), 2, "2,68"),
        (12, 1, "12,0"),
        (7.5, 0, "8"),
    ],
)
def test_decimal(value: float | Fraction | Decimal | int, decimales: int, expected: str) -> None:
    assert fr.decimal(value, decimales) == expected


@pytest.mark.parametrize(
    ("n", "base", "expected"),
    [
        (467, 961, "49\u00a0%"),
        (0, 10, "0\u00a0%"),
        (10, 10, "100\u00a0%"),
        (1, 200, "1\u00a0%"),  # 0.5 % rounds up
        (1, 201, "0\u00a0%"),
        (1, 3, "33\u00a0%"),
        (2, 3, "67\u00a0%"),
        (1, 8, "13\u00a0%"),  # 12.5 % rounds up
        (204, 969, "21\u00a0%"),
    ],
)
def test_pourcentage(n: int, base: int, expected: str) -> None:
    assert fr.pourcentage(n, base) == expected


@given(st.integers(min_value=1, max_value=10**7).flatmap(lambda b: st.tuples(st.integers(0, b), st.just(b))))
def test_pourcentage_is_exact_half_up(pair: tuple[int, int]) -> None:
    n, base = pair
    expected = (200 * n + base) // (2 * base)  # floor(100 n / base + 1/2) in integers
    assert fr.pourcentage_valeur(n, base) == expected
    assert re.fullmatch(r"\d{1,3}\u00a0%", fr.pourcentage(n, base))


def test_pourcentage_base_zero_is_refused() -> None:
    with pytest.raises(ValueError):
        fr.pourcentage(0, 0)


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2023, 12, 31), "31 décembre 2023"),
        (date(2023, 1, 1), "1er janvier 2023"),
        (date(2024, 2, 29), "29 février 2024"),
        (date(2024, 8, 2), "2 août 2024"),
        (date(2024, 3, 1), "1er mars 2024"),
    ],
)
def test_date_longue(d: date, expected: str) -> None:
    assert fr.date_longue(d) == expected
    assert fr.date_iso_longue(d.isoformat()) == expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], ""),
        (["emploi durable"], "emploi durable"),
        (["CVG", "PHC"], "CVG et PHC"),
        (["emploi durable", "emploi de transition", "sortie positive"],
         "emploi durable, emploi de transition et sortie positive"),
        (["« Salariés »", "« Salariés (2) »", "« Feuil3 »", "« X »"], "« Salariés », « Salariés (2) », « Feuil3 » et « X »"),
    ],
)
def test_liste(items: list[str], expected: str) -> None:
    assert fr.liste(items) == expected


@pytest.mark.parametrize(
    ("n", "args", "expected"),
    [
        (0, ("erreur",), "0 erreur"),
        (1, ("ligne",), "1 ligne"),
        (2, ("ligne",), "2 lignes"),
        (1, ("fichier intégré", "fichiers intégrés"), "1 fichier intégré"),
        (3, ("fichier intégré", "fichiers intégrés"), "3 fichiers intégrés"),
    ],
)
def test_pluriel(n: int, args: tuple[str, ...], expected: str) -> None:
    assert fr.pluriel(n, *args) == expected
