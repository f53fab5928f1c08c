"""Scans of the XML parts of an .xlsx/.xlsm, fed chunk by chunk while `precheck_zip` inflates them: the rows and
columns a sheet's cell tags reach (`SheetScan`, exact; `FastScan`, a cheap proof for ordinary sheets) and the
counts a shared-strings table declares (`SstScan`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from cvg_pipeline.check.errors import Issue, issue
from cvg_pipeline.read.precheck import MAX_CELLS, MAX_ROWS, MAX_TOTAL_BYTES, Refusal, fmt

# Start tags of rows and cells in SpreadsheetML, with an optional namespace prefix (`<x:row …>`).
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_ATTR_R = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]{0,3})(\d*)["']""")
_MAX_TAIL: Final = 64 * 1024  # an unfinished tag longer than this is not a row or cell tag


@dataclass
class SheetScan:
    """Row and cell tags of one SpreadsheetML part, counted across chunk boundaries."""

    rows: int = 0  # highest row number seen (explicit `r` or implied by order)
    columns: int = 0  # highest column number seen
    current_column: int = 0
    tail: bytes = b""

    def feed(self, data: bytes) -> None:
        buf = self.tail + data
        cut = buf.rfind(b">") + 1
        self.tail = buf[cut:][-_MAX_TAIL:]
        for m in _TAG.finditer(buf, 0, cut):
            attr = _ATTR_R.search(m.group(2))
            if m.group(1) == b"row":
                self.rows = int(attr.group(2)) if attr and attr.group(2) else self.rows + 1
                self.current_column = 0
            else:
                if attr and attr.group(1):
                    self.current_column = _column_number(attr.group(1))
                else:
                    self.current_column += 1
                self.columns = max(self.columns, self.current_column)


class FastScan:
    """Proves cheaply (three regular-expression searches with a literal prefix, no Python loop over tags) that
    every cell and row tag of a SpreadsheetML part is `<c r="…"` / `<row r="…"` with a plain reference within
    its declared `<dimension ref="…">`, and that this range is within the limits — what Excel, LibreOffice,
    openpyxl and xlsxwriter write. The declared range is only a claim to check, never trusted: a tag of any
    other form (no reference, a namespace prefix, other spacing or quotes), a missing or oversized range, or
    a reference outside it, and `proved` is False: the caller then counts every tag exactly (`SheetScan`)."""

    _DIMENSION = re.compile(rb'<dimension\s+ref="(?:[A-Z]{1,3}\d{1,7}:)?([A-Z]{1,3})(\d{1,7})"')
    _ANY_CELL = re.compile(rb"<c[\s/>]")
    _ANY_ROW = re.compile(rb"<row[\s/>]")
    _PREFIXED = re.compile(rb":(?:c|row)[\s/>]")

    def __init__(self) -> None:
        self.tail = b""
        self.unclaimed = True
        self.proved = True
        # match a cell / row tag that is not of the plain form within the declared range
        self.bad_cell: re.Pattern[bytes] = self._ANY_CELL
        self.bad_row: re.Pattern[bytes] = self._ANY_ROW

    def feed(self, data: bytes) -> None:
        if not self.proved:
            return
        buf = self.tail + data
        cut = buf.rfind(b">") + 1
        self.tail = buf[cut:]
        if len(self.tail) >= _MAX_TAIL:
            self.proved = False
            return
        seg = buf[:cut]
        if self.unclaimed:  # until the declared range is found (the cells before it are not proved)
            m = self._DIMENSION.search(seg)
            if m is not None:
                self.unclaimed = False
                if not m.group(2).startswith(b"0"):
                    self.bad_cell, self.bad_row = _outside(m.group(1).decode(), m.group(2).decode())
        if self.bad_cell.search(seg) or self.bad_row.search(seg) or self._PREFIXED.search(seg):
            self.proved = False


_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS: Final = "0123456789"


@lru_cache(maxsize=256)
def _outside(letters: str, digits: str) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """Patterns matching a cell / row tag NOT of the plain form within the range A1:<letters><digits>, or
    within a rounded-up range (Z or ZZ, 9…9: fewer distinct patterns to compile) when that is still within
    the limits. A range over the limits: patterns matching any tag (nothing is proved)."""
    rows, columns = int(digits), _column_number(letters.encode())
    round_rows, round_columns = 10 ** len(digits) - 1, 26 ** len(letters) + (26 if len(letters) == 2 else 0)
    if len(letters) <= 2 and round_rows <= MAX_ROWS and round_rows * round_columns <= MAX_CELLS:
        row = f"[1-9][0-9]{{0,{len(digits) - 1}}}".encode()
        cell = f"[A-Z]{{1,{len(letters)}}}".encode() + row
    elif rows <= MAX_ROWS and rows * columns <= MAX_CELLS:
        row = _not_above(digits, "123456789", _DIGITS).encode()
        cell = _not_above(letters, _LETTERS, _LETTERS).encode() + row
    else:
        return FastScan._ANY_CELL, FastScan._ANY_ROW
    # the reference test first, then the end of the tag name: same matches, ~20 % cheaper than the other order
    return re.compile(rb'<c(?! r="' + cell + rb'")[\s/>]'), re.compile(rb'<row(?! r="' + row + rb'")[\s/>]')


def _not_above(value: str, first: str, rest: str) -> str:
    """A regular expression matching exactly the strings from `first[0]` up to `value` (same alphabet, shorter
    strings first: the order of column letters and of row numbers), e.g. `BA` → A…Z, AA…AZ, BA."""
    k = len(value)
    alternatives = [f"[{first}][{rest}]{{0,{k - 2}}}"] if k > 1 else []
    for i, ch in enumerate(value):
        alphabet = first if i == 0 else rest
        lower = alphabet[: alphabet.index(ch)]
        if lower:
            alternatives.append(re.escape(value[:i]) + f"[{lower}]" + (f"[{rest}]{{{k - i - 1}}}" if k - i - 1 else ""))
    alternatives.append(re.escape(value))
    return "(?:" + "|".join(alternatives) + ")"


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


# xl/sharedStrings.xml and reserves room for `uniqueCount` strings (24 bytes each) before reading any: a
# declared 4,000,000,000 aborts the process (SIGABRT) whatever the memory limit, 100,000,000 under a 2 GiB
# address-space limit. It matches the element by local name (`<x:sst>` too), the attribute by its exact name,
# either quote style; newer calamine versions also read `count`. It reads the table by its name
# (xl/sharedStrings.xml: a renamed table declared in the workbook's relationships is not read, checked), so
# the parts whose name ends in sharedStrings.xml, in any case, are scanned — not every part: looking for `sst`
# in every sheet costs ~0.1 ms per file, +8 % of the whole precheck. The rule, for every `<sst>` start tag:
# - `uniqueCount` (number of `<si>` items) above MAX_CELLS, or above what the part can hold: the shortest item,
#   `<si/>`, takes 5 bytes, so a part of n inflated bytes holds at most n // 5 of them (with a slack of
#   `_SST_SLACK` for writers that miscount on small files: reserving that many costs under 1 MB);
# - `count` (cells referring to the table) above `_MAX_SST_REFERENCES`: each reference is a cell of at least
#   21 bytes (`<c t="s"><v>0</v></c>`) in a part, and all parts together inflate to at most MAX_TOTAL_BYTES.
# Values are read more leniently than calamine does (spaces, a sign, character references, any length), so
# that anything it could reserve is seen. An unfinished `<sst` tag longer than `_MAX_TAIL` is refused too (a
# hostile file can pad the tag to push its attributes past any window).
_SST_SLACK: Final = 10_000
_MAX_SST_REFERENCES: Final = MAX_TOTAL_BYTES // 21
_SST_START: Final = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sst(?=[\s/>])")
_SST_TAG: Final = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sst(?=[\s/>])([^>]*)>")
_SST_COUNT: Final = re.compile(rb"""\s(uniqueCount|count)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CHAR_REF: Final = re.compile(rb"&#(x[0-9A-Fa-f]{1,8}|[0-9]{1,10});")


class SstScan:
    """The largest `uniqueCount` and `count` declared by `<sst>` start tags of one XML part, across chunk
    boundaries (an unfinished tag at the end of a chunk is kept for the next one)."""

    def __init__(self) -> None:
        self.tail = b""
        self.unique = 0
        self.references = 0

    def feed(self, data: bytes, fichier: str, part: str) -> None:
        buf = self.tail + data if self.tail else data
        end = len(buf)
        lt = buf.rfind(b"<")
        if lt > buf.rfind(b">"):  # a tag begins and is not finished in this chunk
            end = lt
            self.tail = buf[lt:]
            if len(self.tail) > _MAX_TAIL:
                if _SST_START.match(self.tail):
                    raise Refusal(_lying_strings(fichier, part, "une balise « sst » démesurée"))
                self.tail = b""  # some other giant tag: only `<sst` matters, and `<` cannot occur inside a tag
        else:
            self.tail = b""
        if b"sst" not in buf:
            return
        for tag in _SST_TAG.finditer(buf, 0, end):
            for attr in _SST_COUNT.finditer(tag.group(1)):
                value = _declared(attr.group(2) if attr.group(2) is not None else attr.group(3))
                if attr.group(1) == b"uniqueCount":
                    self.unique = max(self.unique, value)
                else:
                    self.references = max(self.references, value)
        if self.unique > MAX_CELLS:
            raise Refusal(_lying_strings(fichier, part, f"{fmt(self.unique)} textes partagés annoncés"))
        if self.references > _MAX_SST_REFERENCES:
            raise Refusal(_lying_strings(fichier, part, f"{fmt(self.references)} références à des textes partagés annoncées"))

    def finish(self, produced: int, fichier: str, part: str) -> None:
        """At the end of the part, its inflated size `produced` known: refuse a count it cannot hold."""
        if self.unique > max(produced // 5, _SST_SLACK):
            raise Refusal(_lying_strings(
                fichier, part, f"{fmt(self.unique)} textes partagés annoncés pour {fmt(produced)} octets"))


def _declared(value: bytes) -> int:
    """A declared count as any lenient reader could take it (0 when it holds no number)."""
    if b"&" in value:
        value = _CHAR_REF.sub(lambda m: _char(m.group(1)), value)
    digits = value.strip().lstrip(b"+").lstrip(b"0")
    if not digits.isdigit():
        return 0
    return int(digits) if len(digits) <= 18 else 10**18


def _char(ref: bytes) -> bytes:
    code = int(ref[1:], 16) if ref.startswith(b"x") else int(ref)
    return chr(code).encode("utf-8", "replace") if code < 0x110000 else b"?"


def _lying_strings(fichier: str, part: str, what: str) -> Issue:
    return issue("contenu-dangereux", fichier,
                 detail=f"une table de textes partagés au nombre annoncé démesuré ({what}, partie « {part} »)")

