"""`precheck_sheetml.FastScan`: the cheap proof that a sheet's cells lie within its declared range never accepts a
sheet that the exact count of every tag (`SheetScan`) would refuse, and it proves ordinary sheets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvg_pipeline.read import precheck_sheetml
from cvg_pipeline.read.precheck import MAX_CELLS, MAX_ROWS, precheck
from cvg_pipeline.read.precheck_sheetml import FastScan, _not_above
from tests import hostile

HEAD = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def sheet(dimension: str | None, body: str) -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension is not None else ""
    return HEAD + dim.encode() + b"<sheetData>" + body.encode() + b"</sheetData></worksheet>"


def proved(data: bytes, chunk: int = 1 << 20) -> bool:
    scan = FastScan()
    for i in range(0, len(data), chunk):
        scan.feed(data[i : i + chunk])
    return scan.proved


def exact_refuses(data: bytes) -> bool:
    scan = precheck_sheetml.SheetScan()
    scan.feed(data)
    return scan.rows > MAX_ROWS or scan.rows * scan.columns > MAX_CELLS


ORDINARY = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="BA1"><v>1</v></c></row><row r="80"><c r="C80"/></row>'


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_ordinary_sheets_are_proved_whatever_the_chunks(chunk: int) -> None:
    assert proved(sheet("A1:BA80", ORDINARY), chunk)


@pytest.mark.parametrize(
    ("dimension", "body"),
    [
        (None, ORDINARY),  # no declared range
        ("A1:Z80", ORDINARY),  # BA is outside (a range is rounded up to Z, ZZ, 9…9 at most)
        ("A1:BA9", ORDINARY),  # row 80 is outside
        ("A1:BA80", ORDINARY + '<row r="100"/>'),  # a row outside (no cell)
        ("A1:BA80", ORDINARY + '<row r="100"><c r="A100"/></row>'),
        ("A1:BA80", '<row r="1"><c><v>1</v></c></row>'),  # a cell without reference
        ("A1:BA80", '<row><c r="A1"/></row>'),  # a row without reference
        ("A1:BA80", '<row r="1"><c  r="A1"/><c\tr="XFD1048576"/></row>'),  # other spacing
        ("A1:BA80", "<row r='1'><c r='XFD1048576'/></row>"),  # other quotes
        ("A1:BA80", '<row r="1"><c r="a1"/></row>'),  # lower case
        ("A1:BA80", '<row r="1"><c r="A01"/></row>'),  # leading zero
        ("A1:BA80", '<row r="1"><c r="&#88;FD1"/></row>'),  # character reference
        ("A1:BA80", '<x:row r="1"><x:c r="XFD1048576"/></x:row>'),  # namespace prefix
        ("A1:XFD1048576", ORDINARY),  # a declared range over the limits
        ("A1:ZZ99999", ORDINARY),
    ],
)
def test_what_is_not_plainly_within_the_range_is_not_proved(dimension: str | None, body: str) -> None:
    assert not proved(sheet(dimension, body))


def test_a_lying_range_sends_the_sheet_to_the_exact_count(tmp_path: Path) -> None:
    good = hostile.valid_xlsx(tmp_path / "bon.xlsx")
    part = hostile.SALARIES_PART
    data = hostile.members(good)[part]
    assert proved(data)
    far = data.replace(b"</sheetData>", b'<row r="2000"><c r="ZZZ2000"><v>1</v></c></row></sheetData>')
    assert not proved(far)
    found = precheck(hostile.rewrite_zip(good, tmp_path / "loin.xlsx", replace={part: far}), "loin.xlsx")
    assert found is not None and "cellules par feuille" in found.message


refs = st.tuples(st.sampled_from(["A", "Z", "AA", "BA", "ZZ", "AAA", "XFD", "a", ""]),
                 st.sampled_from(["1", "9", "80", "81", "999", "5000", "99999", "100001", "1048576", "0", "01", ""]))
forms = st.sampled_from(['<c r="{}"/>', "<c r='{}'/>", '<c  r="{}"/>', "<c/>", '<x:c r="{}"/>', '<c s="1" r="{}"/>'])


@settings(max_examples=150, deadline=None)
@given(
    dimension=st.one_of(st.none(), refs.map("".join)),
    cells=st.lists(st.tuples(forms, refs.map("".join)), max_size=6),
    chunk=st.sampled_from([5, 50, 1 << 20]),
)
def test_the_fast_proof_never_accepts_what_the_exact_count_refuses(
    dimension: str | None, cells: list[tuple[str, str]], chunk: int
) -> None:
    body = '<row r="1">' + "".join(form.format(ref) for form, ref in cells) + "</row>"
    data = sheet(dimension, body)
    if proved(data, chunk):
        assert not exact_refuses(data)


@pytest.mark.parametrize("value", ["1", "9", "10", "80", "99", "100", "5939", "99999", "100000"])
def test_not_above_numbers(value: str) -> None:
    pattern = re.compile(_not_above(value, "123456789", "0123456789") + "$")
    limit = int(value)
    assert all(bool(pattern.match(str(n))) == (n <= limit) for n in range(1, 2 * limit + 20))
    assert not pattern.match("0") and not pattern.match("01")


@pytest.mark.parametrize("value", ["A", "Z", "AA", "BA", "ZZ", "AAA", "XFD"])
def test_not_above_column_letters(value: str) -> None:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

    def label(n: int) -> str:
        out = ""
        while n:
            n, rem = divmod(n - 1, 26)
            out = letters[rem] + out
        return out

    limit = precheck_sheetml._column_number(value.encode())
    pattern = re.compile(_not_above(value, letters, letters) + "$")
    assert all(bool(pattern.match(label(n))) == (n <= limit) for n in range(1, min(2 * limit + 30, 20000)))
