"""Property tests for the value parsers (spec §3): round trips, and any input gives a value or an error code."""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cvg_pipeline.read.normalise import (
    ERR_PREFIX,
    clean_siret,
    luhn_valid,
    normalise_frame,
    parse_date_column,
    siret_problem,
)
from cvg_pipeline.schema.load import fold, load_schema
from tests.cells import parse_bool_value, parse_category, parse_date_text, parse_number_text

SCHEMA = load_schema()
DATE_CODES = {"date-invalide", "date-format-us"}
FEW = settings(max_examples=60, deadline=None)

dates = st.dates(min_value=date(1900, 3, 1), max_value=date(2099, 12, 31))
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
printable = st.text(alphabet="0123456789/-.: ,TtOoNnUuIiXx", max_size=24)


def _blank(text: str) -> bool:
    """Blank as the reader sees it (Unicode White_Space, as fastexcel and polars strip it; not Python's
    str.strip, which also strips control characters such as \x1f)."""
    return pl.Series([text]).str.strip_chars().item() == ""


def _serial(day: date) -> int:
    return (day - date(1899, 12, 30)).days


FORMATS = [
    lambda d: d.strftime("%d/%m/%Y"),
    lambda d: d.strftime("%d-%m-%Y"),
    lambda d: d.strftime("%d.%m.%Y"),
    lambda d: d.strftime("%Y-%m-%d"),
    lambda d: f"{d.day}/{d.month}/{d.year}",
    lambda d: d.strftime("%Y-%m-%d 00:00:00"),  # a real Excel date as fastexcel renders it
    lambda d: d.strftime("%d/%m/%Y 14:35"),
    lambda d: str(_serial(d)),  # serial number
    lambda d: f"{_serial(d)}.25",
]


@FEW
@given(dates, st.sampled_from(range(len(FORMATS))))
def test_date_round_trip(day: date, fmt: int) -> None:
    # A whole number from 1900 to 2100 is a year written alone (« 2023 » → date-invalide, issue 17.9), never
    # the serial of a day of 1905: those days are written otherwise (test_a_year_alone_is_not_a_serial).
    assume(not (FORMATS[fmt](day).isdigit() and 1900 <= _serial(day) <= 2100))
    assert parse_date_text(FORMATS[fmt](day)) == (day, None)


@pytest.mark.parametrize("text", ["1900", "1905", "2023", "2100"])
def test_a_year_alone_is_not_a_serial(text: str) -> None:
    assert parse_date_text(text) == (None, "date-invalide")


@FEW
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_two_digit_years_are_20xx(day: date) -> None:
    assert parse_date_text(day.strftime("%d/%m/%y")) == (day, None)


@FEW
@given(st.integers(1, 12), st.integers(13, 31), st.integers(1950, 2099))
def test_us_dates_are_refused_never_guessed(month: int, day: int, year: int) -> None:
    assert parse_date_text(f"{month:02d}/{day:02d}/{year}") == (None, "date-format-us")


@FEW
@given(st.integers(1900, 2099), st.integers(1, 12), st.integers(29, 31))
def test_impossible_days_are_errors(year: int, month: int, day: int) -> None:
    try:
        date(year, month, day)
    except ValueError:
        assert parse_date_text(f"{day}/{month}/{year}") == (None, "date-invalide")
    else:
        assert parse_date_text(f"{day}/{month}/{year}") == (date(year, month, day), None)


@FEW
@given(st.one_of(texts, printable))
def test_any_text_gives_a_date_or_a_date_error(text: str) -> None:
    value, code = parse_date_text(text)
    if _blank(text):
        assert (value, code) == (None, None)
    else:
        assert (value is None) != (code is None)
        assert code is None or code in DATE_CODES


@FEW
@given(st.lists(st.one_of(printable, dates.map(FORMATS[0]), st.none()), max_size=12))
def test_a_column_parses_like_its_cells_one_by_one(cells: list[str | None]) -> None:
    out = normalise_frame(pl.DataFrame({"date_sortie": cells}, schema={"date_sortie": pl.Utf8}), SCHEMA)
    errors = out[ERR_PREFIX + "date_sortie"].to_list() if ERR_PREFIX + "date_sortie" in out.columns else [None] * len(cells)
    for cell, value, code in zip(cells, out["date_sortie"].to_list(), errors, strict=True):
        if cell is not None and _blank(cell):
            continue  # fastexcel gives blank cells as null; the scalar helper does the same
        assert (value, code) == parse_date_text(cell)


@FEW
@given(st.lists(st.one_of(printable, dates.map(FORMATS[0]), dates.map(FORMATS[5])), max_size=8))
def test_structure_date_path_agrees_with_the_cell_path(cells: list[str]) -> None:
    assert parse_date_column(cells) == [parse_date_text(c) for c in cells]


# -- Oui/Non ------------------------------------------------------------------------------------------------
def _respell(text: str, data: st.DataObject) -> str:
    cased = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in text)
    return data.draw(st.sampled_from(["", " ", "  "])) + cased + data.draw(st.sampled_from(["", " ", "\u00a0"]))


@FEW
@given(st.data())
def test_yes_no_spellings_in_any_case(data: st.DataObject) -> None:
    truth = data.draw(st.booleans())
    label = data.draw(st.sampled_from(SCHEMA.true_labels if truth else SCHEMA.false_labels))
    assert parse_bool_value(_respell(label, data), SCHEMA) == (truth, None)


@FEW
@given(texts)
def test_any_text_gives_yes_no_or_an_error(text: str) -> None:
    value, code = parse_bool_value(text, SCHEMA)
    if _blank(text):
        assert (value, code) == (None, None)
    else:
        assert (value is None) == (code == "oui-non-invalide")
        assert code in (None, "oui-non-invalide")


# -- categories ---------------------------------------------------------------------------------------------
CAT_COLUMNS = [c.name for c in SCHEMA.columns if c.type == "cat"]


@FEW
@given(st.data())
def test_every_label_and_synonym_in_any_case(data: st.DataObject) -> None:
    column = data.draw(st.sampled_from(CAT_COLUMNS))
    domain = SCHEMA.domain_of(SCHEMA.column(column))
    value = data.draw(st.sampled_from(domain.values))
    spelling = data.draw(st.sampled_from((value.label, *value.synonyms)))
    if data.draw(st.booleans()):  # accents dropped, as typed on a keyboard without them
        spelling = "".join(c for c in unicodedata.normalize("NFKD", spelling) if not unicodedata.combining(c))
    assert parse_category(_respell(spelling, data), SCHEMA, column) == (value.label, None)


@FEW
@given(texts, st.sampled_from(CAT_COLUMNS))
def test_any_text_gives_a_category_or_an_error(text: str, column: str) -> None:
    value, code = parse_category(text, SCHEMA, column)
    if _blank(text):
        assert (value, code) == (None, None)
    else:
        assert (value is None) == (code == "valeur-inconnue")
        assert value is None or value in SCHEMA.domain_of(SCHEMA.column(column)).labels


# -- numbers ------------------------------------------------------------------------------------------------
@FEW
@given(st.decimals(min_value=-10_000, max_value=10_000, places=2, allow_nan=False, allow_infinity=False), st.booleans())
def test_number_round_trip_with_french_comma(number: object, thousands: bool) -> None:
    text = f"{number:,.2f}".replace(",", "\u202f" if thousands else "").replace(".", ",")
    value, code = parse_number_text(text)
    assert code is None and value is not None
    assert abs(value - float(str(number))) < 1e-9


@FEW
@given(texts)
def test_any_text_gives_a_number_or_an_error(text: str) -> None:
    value, code = parse_number_text(text)
    if _blank(text):
        assert (value, code) == (None, None)
    else:
        assert (value is None) == (code == "nombre-invalide")


# -- SIRET --------------------------------------------------------------------------------------------------
def _with_check_digit(prefix: str) -> str:
    return next(prefix + d for d in "0123456789" if luhn_valid(prefix + d))


@given(st.text(alphabet="0123456789", min_size=13, max_size=13), st.lists(st.sampled_from([" ", ".", "\u00a0"]), max_size=4), st.data())
def test_siret_with_separators_is_cleaned(prefix: str, separators: list[str], data: st.DataObject) -> None:
    siret = _with_check_digit(prefix)
    text = siret
    for sep in separators:
        at = data.draw(st.integers(1, len(text) - 1))
        text = text[:at] + sep + text[at:]
    assert siret_problem(text) == (siret, None)


def test_siret_dot_before_last_digit_is_a_separator() -> None:
    """`0000000000000.0` is 14 digits with a dot, not a number `…0.0` (found by hypothesis)."""
    assert siret_problem("0000000000000.0") == ("00000000000000", None)


@given(st.text(alphabet="0123456789", min_size=13, max_size=13), st.integers(0, 13), st.integers(1, 9))
def test_siret_single_digit_error_is_caught(prefix: str, position: int, delta: int) -> None:
    siret = _with_check_digit(prefix)
    wrong = siret[:position] + str((int(siret[position]) + delta) % 10) + siret[position + 1:]
    assert siret_problem(wrong)[0] is None


@given(texts)
def test_any_text_gives_a_siret_or_a_reason(text: str) -> None:
    siret, detail = siret_problem(text)
    assert (siret is None) != (detail is None)
    assert siret is None or (len(siret) == 14 and siret == clean_siret(text))


# -- headers (§3.1) -----------------------------------------------------------------------------------------
@given(st.data())
def test_every_header_in_any_case_spacing_and_apostrophe(data: st.DataObject) -> None:
    column = data.draw(st.sampled_from(SCHEMA.columns))
    header = data.draw(st.sampled_from((column.label, *column.synonyms)))
    header = header.replace("'", data.draw(st.sampled_from(["'", "’", " "])))
    if data.draw(st.booleans()):
        header = "".join(c for c in unicodedata.normalize("NFKD", header) if not unicodedata.combining(c))
    match = SCHEMA.match_header(_respell(header, data))
    assert match.kind == "column" and match.column == column


HEADER_SPELLINGS = [  # drawn group first, so that each kind of header comes up often
    sorted({s for c in SCHEMA.columns for s in (c.name, c.label, *c.synonyms)}),
    sorted({s for c in SCHEMA.columns for s in c.date_synonyms}),
    sorted(SCHEMA.identifier_patterns),
]


def _header_oracle(text: str) -> tuple[str, str | None]:
    """What a header is, by brute force over the schema's spellings (spec §3.1): a column's name, label or
    synonym; else a date-of-birth header; else an identifier label, alone or followed by other words."""
    folded = fold(text)
    if not folded:
        return "unknown", None
    for col in SCHEMA.columns:
        if any(fold(s) == folded for s in (col.name, col.label, *col.synonyms)):
            return "column", col.name
    for col in SCHEMA.columns:
        if any(fold(s) == folded for s in col.date_synonyms):
            return "birth_date", col.name
    if any(folded == p or folded.startswith(p + " ") for p in SCHEMA.identifier_patterns):
        return "identifier", None
    return "unknown", None


@FEW
@given(st.data())
def test_any_header_is_classified_as_the_schema_says(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(data.draw(st.sampled_from(HEADER_SPELLINGS))))
    text = data.draw(st.one_of(
        texts,
        st.just(_respell(base, data)),
        st.just(base + data.draw(st.sampled_from([" ", "", "-"])) + data.draw(st.sampled_from(["2", "x", "de la", "é"]))),
    ))
    match = SCHEMA.match_header(text)
    assert (match.kind, match.column.name if match.column else None) == _header_oracle(text)


def test_dates_far_apart_still_round_trip() -> None:
    day = date(1900, 3, 1)
    while day < date(2100, 1, 1):
        assert parse_date_text(FORMATS[0](day)) == (day, None)
        day += timedelta(days=7919)
