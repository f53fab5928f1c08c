"""Checks run on a received file BEFORE any spreadsheet parser touches it, in bounded memory and time.

The files come by e-mail from ~70 organisations: some are broken, some huge, some hostile. A parser (calamine,
written in Rust) given a hostile file may allocate gigabytes or abort the whole process (a sheet with one cell
in A1 and one in XFD1048576 makes it allocate a dense 17-billion-cell range and abort). `precheck` looks at
the raw bytes first and refuses, with one located French issue, what the parser must never see:

- a file over `MAX_FILE_BYTES`;
- a zip container (.xlsx, .xlsm, .ods) that is damaged, has too many parts, uses a compression method other
  than stored/deflate, or whose parts inflate beyond `MAX_PART_BYTES` each or `MAX_TOTAL_BYTES` in all, or
  with a ratio over `MAX_RATIO` on parts over `RATIO_FLOOR_BYTES` (a « zip bomb »). Each part is inflated
  from its raw deflate stream while counting the bytes actually produced: the sizes declared in the zip
  directory are checked too, but never trusted (a bomb's directory lies);
- a DTD or entity declaration (`<!DOCTYPE`, `<!ENTITY`) in any XML part (XML entity-expansion attack: no
  spreadsheet writer emits them), in UTF-8 or UTF-16;
- a sheet over `MAX_ROWS` rows, or whose used range (rows × columns, as the parser will allocate it) is over
  `MAX_CELLS` cells — counted from the row and cell tags while inflating, never from the declared
  `<dimension>`;
- a shared-strings table whose root `<sst>` declares more strings than any accepted file can hold (calamine
  reserves memory for the declared `uniqueCount` before reading any string: 4,000,000,000 aborts the process
  from a 16 KB file), see `_SstScan`;
- an .xls (BIFF in an OLE2 file) whose worksheet declares, in a DIMENSIONS record, or fills, with its cell
  records, a range over these limits, holds more cell records than `MAX_CELLS`, or whose sheets together
  are over `MAX_CELLS` cells, or whose record stream is truncated — see `_check_biff`;
- an encrypted workbook: a password-protected .xlsx/.xlsm is an OLE2 (CFB) file holding `EncryptionInfo` and
  `EncryptedPackage` streams; an encrypted .xls has a FILEPASS record at the start of its `Workbook` stream;
  an encrypted .ods declares `encryption-data` in its manifest.

Anything `precheck` cannot classify (not a zip, not OLE2: a CSV renamed .xlsx, random bytes) is left to the
reader, which reports it as unreadable. Macros (`vbaProject.bin`) are never run by anyone: they are only
inflated and counted like any other part.

Limits (why): the whole national network is ~6,000 parcours across 70 files and the 10× benchmark 60,000
across 700; the largest ACI has a few hundred rows. 100,000 rows per sheet is > 15× the whole network in one
file. The parser holds ~32 bytes per cell of the used range: 8,000,000 cells is ~260 MB, which keeps the
whole ingest under the 1 GiB budget.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from cvg_pipeline.check.errors import Issue, issue
from cvg_pipeline.fr import erreur_systeme

MiB: Final = 1024 * 1024
MAX_FILE_BYTES: Final = 100 * MiB
MAX_PART_BYTES: Final = 200 * MiB
MAX_TOTAL_BYTES: Final = 300 * MiB
# A part inflating over MAX_RATIO times its compressed size (past RATIO_FLOOR_BYTES) is a « zip bomb »: deflate
# cannot go beyond ~1,030 to 1 (a part of zeros, what bombs are made of), while a genuine sheet of a large
# workbook whose rows repeat the same values reaches ~150 to 1 (LibreOffice's content.xml of 60,000 rows of
# mostly identical cells, measured: 153): 100 refused such files. The absolute limits (MAX_PART_BYTES,
# MAX_TOTAL_BYTES) bound what any ratio below this one can cost.
MAX_RATIO: Final = 500
RATIO_FLOOR_BYTES: Final = 10 * MiB
MAX_PARTS: Final = 5_000
MAX_ROWS: Final = 100_000
MAX_CELLS: Final = 8_000_000

ZIP_LOCAL_MAGIC: Final = b"PK\x03\x04"  # a zip's first local header
ZIP_MAGIC: Final = (ZIP_LOCAL_MAGIC, b"PK\x05\x06")  # or the end record of an empty zip
OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# What to do with a damaged file, closing each `fichier-illisible` detail (precheck and reader).
SAVE_AGAIN: Final = "enregistrez-le à nouveau depuis Excel ou LibreOffice"
SAVE_XLS_AGAIN: Final = "enregistrez-le à nouveau au format .xlsx"
# What to do with a workbook over a size limit, closing each `fichier-trop-gros` detail about sizes.
SPLIT_IT: Final = ("scindez-le ou supprimez les lignes, colonnes et feuilles inutiles ; si ce n'est pas possible, "
                   "contactez l'équipe qui maintient cvg")
# What to do with a file in another format (`format-non-pris-en-charge`, or the detail of `fichier-illisible`
# when the file bears a workbook's extension).
SAVE_AS_XLSX: Final = ("ouvrez-le dans Excel ou LibreOffice et enregistrez le fichier au format .xlsx "
                       "(Fichier > Enregistrer sous), puis renvoyez-le")

_CHUNK: Final = 1 * MiB  # inflated bytes produced per step (bounded memory whatever the input)
_FORBIDDEN: Final = tuple(
    token.encode(enc) for token in ("<!DOCTYPE", "<!ENTITY") for enc in ("utf-8", "utf-16-le", "utf-16-be")
)
_OVERLAP: Final = max(len(t) for t in _FORBIDDEN)
# Start tags of rows and cells in SpreadsheetML, with an optional namespace prefix (`<x:row …>`).
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_ATTR_R = re.compile(rb"""\sr\s*=\s*["']([A-Za-z]{0,3})(\d*)["']""")
_MAX_TAIL: Final = 64 * 1024  # an unfinished tag longer than this is not a row or cell tag
_BINARY_PARTS: Final = (".bin", ".png", ".jpeg", ".jpg", ".gif", ".emf", ".wmf", ".tif", ".tiff", ".bmp")


def _fmt(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def _mb(n: int) -> str:
    return f"{n // MiB} Mo"


class Refusal(Exception):
    """Internal: one reason to refuse the file, turned into an Issue by `precheck`."""

    def __init__(self, found: Issue) -> None:
        super().__init__(found.message)
        self.issue = found


def precheck(path: Path, fichier: str) -> Issue | None:
    """Return the reason to refuse `path` before parsing it, or None if a parser may read it.

    Never raises for bad content: an unreadable file gives a `fichier-illisible` issue.
    """
    return read_checked(path, fichier)[1]


def read_checked(path: Path, fichier: str) -> tuple[bytes, None] | tuple[None, Issue]:
    """`precheck`, reading the file only once: (its bytes, None) when a parser may read them, else (None, the
    reason to refuse it). The size is checked before reading, so at most `MAX_FILE_BYTES` are ever held."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, too_big_file(fichier, size)
        with path.open("rb") as fh:
            content = fh.read(MAX_FILE_BYTES + 1)
        if len(content) > MAX_FILE_BYTES:  # grown since stat()
            return None, too_big_file(fichier, len(content))
        head = content[:8]
        if head.startswith(ZIP_MAGIC):
            _check_zip(content, fichier, path.suffix)
        elif head == OLE_MAGIC:
            _check_ole(content, fichier, path.suffix)
        elif _HEADER.unpack_from(head.ljust(4, b"\0")) in _OLD_BIFF_BOF:
            raise Refusal(other_format(fichier, path.suffix, "un classeur Excel 2, 3 ou 4 (format de 1987 à 1994)"))
    except Refusal as refusal:
        return None, refusal.issue
    except OSError as exc:
        return None, issue("fichier-illisible", fichier, detail=f"lecture impossible : {erreur_systeme(exc)}")
    return content, None


def too_big_file(fichier: str, size: int) -> Issue:
    return issue("fichier-trop-gros", fichier, limite=_mb(MAX_FILE_BYTES), detail=f"le fichier pèse {_mb(size)} ; {SPLIT_IT}")


def other_format(fichier: str, suffix: str, what: str, advice: str = SAVE_AS_XLSX) -> Issue:
    """The refusal of a file that is `what` (« un document Apple Numbers ») and not a workbook cvg reads: under
    a workbook's extension, `fichier-illisible` (it was renamed, or saved under a wrong name), otherwise
    `format-non-pris-en-charge`; both name the real format and say what to do."""
    from cvg_pipeline.read.model import SPREADSHEET_EXTENSIONS

    if suffix.lower() in SPREADSHEET_EXTENSIONS:
        return issue("fichier-illisible", fichier, detail=f"c'est {what}, pas un classeur {suffix.lower()} : {advice}")
    return issue("format-non-pris-en-charge", fichier, format=what, conseil=advice)


# BOF records of the BIFF2, BIFF3 and BIFF4 worksheets (Excel 2 to 4): a bare record stream, no OLE2 container.
_OLD_BIFF_BOF: Final = frozenset({(0x0009, 4), (0x0209, 6), (0x0409, 6)})
NUMBERS_ADVICE: Final = ("dans Numbers, exportez-le au format Excel (Fichier > Exporter vers > Excel), puis renvoyez "
                         "le fichier .xlsx")
ARCHIVE_ADVICE: Final = "décompressez-la et donnez à cvg les classeurs qu'elle contient"
DOCUMENT_ADVICE: Final = "ce n'est pas un fichier de reporting : demandez à l'ACI son classeur au format .xlsx"

# What a zip container holds, by a part only that format has: (part name, French name, advice). OpenDocument
# files are told by their `mimetype` part (see `_zip_format`).
_ZIP_FORMATS: Final = (
    ("xl/workbook.bin", "un classeur Excel binaire (.xlsb)", SAVE_AS_XLSX),
    ("word/document.xml", "un document Word", DOCUMENT_ADVICE),
    ("ppt/presentation.xml", "une présentation PowerPoint", DOCUMENT_ADVICE),
    ("Index/Document.iwa", "un document Apple Numbers", NUMBERS_ADVICE),
    ("Index.zip", "un document Apple Numbers", NUMBERS_ADVICE),
)


def _zip_format(zf: zipfile.ZipFile, names: set[str]) -> tuple[str, str] | None:
    """(French name, advice) of a zip that is not a workbook cvg reads but a known other format; None for an
    .xlsx/.xlsm/.ods, and for anything unknown (the reader says it is not a workbook)."""
    if "xl/workbook.xml" in names or ("content.xml" in names and "mimetype" not in names):
        return None
    for part, what, advice in _ZIP_FORMATS:
        if part in names:
            return what, advice
    if "mimetype" in names:
        info = zf.getinfo("mimetype")
        if info.file_size > 200 or info.compress_type != zipfile.ZIP_STORED:
            return None
        mime = zf.read(info).decode("ascii", "replace").strip()
        if mime.startswith("application/vnd.oasis.opendocument.spreadsheet"):
            return None
        if mime.startswith("application/vnd.oasis.opendocument."):
            return "un document OpenDocument qui n'est pas un classeur (texte, présentation…)", DOCUMENT_ADVICE
    if names and all(n.lower().endswith((*_WORKBOOK_EXTENSIONS, "/")) for n in names):
        return "une archive .zip qui contient des classeurs", ARCHIVE_ADVICE
    return None


_WORKBOOK_EXTENSIONS: Final = (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb", ".csv", ".numbers")

# The formats a file of another extension most likely is, when its content does not tell (`describe_format`).
_BY_EXTENSION: Final = {
    ".xlsb": ("un classeur Excel binaire (.xlsb)", SAVE_AS_XLSX),
    ".numbers": ("un document Apple Numbers", NUMBERS_ADVICE),
    ".fods": ("un classeur OpenDocument « à plat » (.fods)", SAVE_AS_XLSX),
    ".csv": ("un fichier CSV", SAVE_AS_XLSX),
    ".xlt": ("un modèle Excel (.xlt)", SAVE_AS_XLSX),
    ".xltx": ("un modèle Excel (.xltx)", SAVE_AS_XLSX),
    ".xltm": ("un modèle Excel (.xltm)", SAVE_AS_XLSX),
    ".ots": ("un modèle OpenDocument (.ots)", SAVE_AS_XLSX),
    ".et": ("un classeur WPS (.et)", SAVE_AS_XLSX),
    ".gnumeric": ("un classeur Gnumeric", SAVE_AS_XLSX),
    ".pdf": ("un document PDF", DOCUMENT_ADVICE),
    ".zip": ("une archive .zip", ARCHIVE_ADVICE),
    ".7z": ("une archive .7z", ARCHIVE_ADVICE),
    ".rar": ("une archive .rar", ARCHIVE_ADVICE),
}


def describe_format(content: bytes, suffix: str) -> tuple[str, str]:
    """(French name, advice) of a file that is not a workbook cvg reads: what its content shows (a text
    format, see `text_format`), else what its extension says."""
    what = text_format(content)
    if what is not None:
        return what, DOCUMENT_ADVICE if what == "un document PDF" else SAVE_AS_XLSX
    suffix = suffix.lower()
    if suffix in _BY_EXTENSION:
        return _BY_EXTENSION[suffix]
    return (f"un fichier « {suffix} »" if suffix else "un fichier sans extension"), SAVE_AS_XLSX


def text_format(content: bytes) -> str | None:
    """The French name of a text file posing as a workbook — an HTML page (Excel's « page web »), an Excel 2003
    XML spreadsheet, a flat OpenDocument spreadsheet (.fods), a CSV or tab-separated export, plain text —, or
    None when `content` is not text."""
    text = _text_head(content)
    if text is None:
        return None
    head = text.lstrip("\ufeff \t\r\n").lower()
    if head.startswith("%pdf-"):
        return "un document PDF"
    if head.startswith(("<!doctype html", "<html")) or "<html" in head[:2048] or head.startswith("<table"):
        return "une page web (HTML)"
    if head.startswith("mime-version:") and "multipart/related" in head:
        return "une page web archivée (.mht)"
    if head.startswith("<?xml"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in head:
            return "un classeur « XML 2003 » d'Excel (.xml)"
        if "opendocument.spreadsheet" in head or "<office:document" in head:
            return "un classeur OpenDocument « à plat » (.fods)"
        return "un fichier XML"
    if head.startswith("{\\rtf"):
        return "un document RTF"
    lines = [line for line in head.splitlines()[:20] if line.strip()]
    if len(lines) >= 2 and any(sum(line.count(sep) > 0 for line in lines) >= 2 for sep in ";\t,"):
        return "un fichier texte (CSV, ou texte séparé par des tabulations)"
    return "un fichier texte"


def _text_head(content: bytes) -> str | None:
    """The first 4 KiB of `content` decoded, if it is text (UTF-16 with its BOM, UTF-8, or Windows-1252)."""
    head = content[:4096]
    cut = len(content) > len(head)  # the window may end inside a character
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[: len(head) // 2 * 2].decode("utf-16", "replace")
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if cut and exc.start >= len(head) - 4:  # a character cut by the 4 KiB window
            return head[: exc.start].decode("utf-8")
    text = head.decode("cp1252", "replace")
    return None if "\ufffd" in text or any(ord(c) < 32 and c not in "\t\r\n\x0c" for c in text) else text


# -- zip containers (.xlsx, .xlsm, .ods) -------------------------------------------------------------------


@dataclass
class _SheetScan:
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


class _FastScan:
    """Proves cheaply (three regular-expression searches with a literal prefix, no Python loop over tags) that
    every cell and row tag of a SpreadsheetML part is `<c r="…"` / `<row r="…"` with a plain reference within
    its declared `<dimension ref="…">`, and that this range is within the limits — what Excel, LibreOffice,
    openpyxl and xlsxwriter write. The declared range is only a claim to check, never trusted: a tag of any
    other form (no reference, a namespace prefix, other spacing or quotes), a missing or oversized range, or
    a reference outside it, and `proved` is False: the caller then counts every tag exactly (`_SheetScan`)."""

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
        return _FastScan._ANY_CELL, _FastScan._ANY_ROW
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


def _check_zip(content: bytes, fichier: str, suffix: str) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError) as exc:
        raise Refusal(issue("fichier-illisible", fichier, detail=f"archive endommagée ou tronquée : {SAVE_AGAIN}")) from exc
    raw = memoryview(content)
    with zf:
        infos = zf.infolist()
        try:
            known = _zip_format(zf, {i.filename for i in infos})
        except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, zlib.error, OSError, KeyError):
            known = None  # a damaged `mimetype` part: the checks below say so
        if known is not None:  # before the scans: a Numbers file holds XML property lists with a DTD
            raise Refusal(other_format(fichier, suffix, *known))
        if len(infos) > MAX_PARTS:
            raise Refusal(
                issue("fichier-trop-gros", fichier, limite=f"{_fmt(MAX_PARTS)} parties",
                      detail=f"l'archive contient {_fmt(len(infos))} parties")
            )
        declared = sum(i.file_size for i in infos)
        if declared > MAX_TOTAL_BYTES:
            raise Refusal(_too_big_total(fichier, declared, len(content)))
        total = 0
        encrypted_ods = False
        for info in infos:
            if info.is_dir():
                continue
            if info.file_size > MAX_PART_BYTES:
                raise Refusal(_too_big_part(fichier, info.filename, info.file_size, info.compress_size))
            lower = info.filename.lower()
            is_xml = not lower.endswith(_BINARY_PARTS)  # every part a parser might read as text
            # The fast scan proves, for ordinary sheets, that every cell lies within the declared range, itself
            # within the limits; when it cannot, the part is inflated again and every tag counted (_SheetScan).
            fast = _FastScan() if lower.endswith(".xml") else None
            start = total
            for exact in (False, True):
                if exact and (fast is None or fast.proved):
                    break
                total = start
                scan: _FastScan | _SheetScan | None = _SheetScan() if exact else fast
                strings = _SstScan() if not exact and lower.endswith("sharedstrings.xml") else None
                manifest = info.filename == "META-INF/manifest.xml"
                produced = 0
                window = b""
                inflating = _Inflater(raw, info, fichier)
                for chunk in inflating:
                    produced += len(chunk)
                    total += len(chunk)
                    if produced > MAX_PART_BYTES:
                        raise Refusal(_too_big_part(fichier, info.filename, produced, inflating.consumed))
                    if total > MAX_TOTAL_BYTES:
                        raise Refusal(_too_big_total(fichier, total, len(content)))
                    # the ratio so far (a bomb's directory may lie about the compressed size as well)
                    if produced > RATIO_FLOOR_BYTES and produced > MAX_RATIO * max(inflating.consumed, 1):
                        raise Refusal(
                            issue("fichier-trop-gros", fichier, limite=f"{MAX_RATIO} pour 1 en taux de compression",
                                  detail=f"la partie « {info.filename} » se décompresse plus de {MAX_RATIO} fois, ce "
                                         "qu'aucun tableur ne produit (fichier suspect, de type « bombe zip ») ; "
                                         f"{SAVE_AGAIN}")
                        )
                    if is_xml and not exact:  # the second pass inflates the same bytes: scanned already
                        window = window[-_OVERLAP:] + chunk
                        # `!` first: one quick scan for a byte that ordinary parts rarely hold at all
                        if b"!" in window and any(t in window for t in _FORBIDDEN):
                            raise Refusal(
                                issue("contenu-dangereux", fichier,
                                      detail=f"une déclaration DTD ou d'entité XML (partie « {info.filename} »)")
                            )
                        if manifest and b"encryption-data" in window:
                            encrypted_ods = True
                    if strings is not None:
                        strings.feed(chunk, fichier, info.filename)
                    if isinstance(scan, _FastScan):
                        scan.feed(chunk)
                    elif scan is not None:
                        scan.feed(chunk)
                        if scan.rows > MAX_ROWS or scan.rows * scan.columns > MAX_CELLS:  # stop early
                            raise Refusal(_too_many_cells(fichier, _sheet_name(zf, info.filename), scan.rows,
                                                          scan.columns))
                if strings is not None:
                    strings.finish(produced, fichier, info.filename)
        if encrypted_ods:
            raise Refusal(issue("fichier-protege", fichier))
        if "content.xml" in zf.namelist():
            _check_ods_content(zf, fichier)


# Declared counts of a shared-strings table. calamine (0.21 through fastexcel) reads the root element of
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


class _SstScan:
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
            raise Refusal(_lying_strings(fichier, part, f"{_fmt(self.unique)} textes partagés annoncés"))
        if self.references > _MAX_SST_REFERENCES:
            raise Refusal(_lying_strings(fichier, part, f"{_fmt(self.references)} références à des textes partagés annoncées"))

    def finish(self, produced: int, fichier: str, part: str) -> None:
        """At the end of the part, its inflated size `produced` known: refuse a count it cannot hold."""
        if self.unique > max(produced // 5, _SST_SLACK):
            raise Refusal(_lying_strings(
                fichier, part, f"{_fmt(self.unique)} textes partagés annoncés pour {_fmt(produced)} octets"))


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


class _Inflater:
    """Iterate over the inflated bytes of one zip part, read from its raw stream in the file's bytes (sizes
    not trusted)."""

    def __init__(self, raw: memoryview, info: zipfile.ZipInfo, fichier: str) -> None:
        self.raw, self.info, self.fichier = raw, info, fichier
        self.consumed = 0  # compressed bytes inflated so far: the ratio so far is produced / consumed

    def _bad(self, detail: str) -> Refusal:
        return Refusal(issue("fichier-illisible", self.fichier,
                             detail=f"archive endommagée, partie « {self.info.filename} » : {detail} ; {SAVE_AGAIN}"))

    def __iter__(self) -> Iterator[bytes]:
        info, raw = self.info, self.raw
        header = bytes(raw[info.header_offset : info.header_offset + 30])
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise self._bad("début de partie illisible")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        pos = info.header_offset + 30 + name_len + extra_len
        if info.flag_bits & 0x1:
            raise Refusal(issue("fichier-protege", self.fichier))
        method = info.compress_type
        remaining = info.compress_size

        def read(size: int) -> memoryview:
            nonlocal pos
            block = raw[pos : pos + size]
            pos += len(block)
            return block

        if method == 0:
            while remaining > 0:
                block = read(min(_CHUNK, remaining))
                if not block:
                    raise self._bad("données tronquées")
                remaining -= len(block)
                self.consumed += len(block)
                yield bytes(block)
            return
        if method != 8:
            raise self._bad(f"méthode de compression {method} non prise en charge")
        inflater = zlib.decompressobj(-15)
        pending: bytes | memoryview = b""
        while True:
            if not pending:
                if remaining <= 0:
                    break
                pending = read(min(64 * 1024, remaining))
                if not pending:
                    raise self._bad("données tronquées")
                remaining -= len(pending)
            try:
                out = inflater.decompress(pending, _CHUNK)
            except zlib.error as exc:
                raise self._bad("données compressées invalides") from exc
            self.consumed += len(pending) - len(inflater.unconsumed_tail)
            pending = inflater.unconsumed_tail
            if out:
                yield out
            if inflater.eof:
                break
        if not inflater.eof and not pending:
            # Drain what is buffered (bounded per call).
            try:
                while out := inflater.decompress(b"", _CHUNK):
                    yield out
            except zlib.error as exc:
                raise self._bad("données compressées invalides") from exc


def _too_big_part(fichier: str, part: str, size: int, compressed: int) -> Issue:
    return issue(
        "fichier-trop-gros", fichier, limite=f"{_mb(MAX_PART_BYTES)} de données décompressées par partie",
        detail=f"la partie « {part} » se décompresse en plus de {_mb(size)} ; {_what_to_do(size, compressed)}",
    )


def _too_big_total(fichier: str, size: int, compressed: int) -> Issue:
    return issue(
        "fichier-trop-gros", fichier, limite=f"{_mb(MAX_TOTAL_BYTES)} de données décompressées",
        detail=f"le classeur se décompresse en plus de {_mb(size)} ; {_what_to_do(size, compressed)}",
    )


def _what_to_do(size: int, compressed: int) -> str:
    """A genuine workbook over a limit is too big (split it); one inflating over MAX_RATIO times is a bomb."""
    if size > MAX_RATIO * max(compressed, 1):
        return (f"soit plus de {MAX_RATIO} fois sa taille compressée, ce qu'aucun tableur ne produit (fichier suspect, "
                "de type « bombe zip »)")
    return SPLIT_IT


def _too_many_cells(fichier: str, sheet: str, rows: int, columns: int) -> Issue:
    if rows > MAX_ROWS:
        return issue(
            "fichier-trop-gros", fichier, limite=f"{_fmt(MAX_ROWS)} lignes par feuille",
            detail=f"la feuille « {sheet} » compte plus de {_fmt(MAX_ROWS)} lignes ; supprimez les lignes en "
                   "trop ou découpez le fichier",
        )
    return issue(
        "fichier-trop-gros", fichier, limite=f"{_fmt(MAX_CELLS)} cellules par feuille",
        detail=f"la feuille « {sheet} » occupe au moins {_fmt(rows)} lignes sur {_fmt(columns)} colonnes ; supprimez "
               "les cellules remplies loin du tableau",
    )


def _sheet_name(zf: zipfile.ZipFile, part: str) -> str:
    """The sheet name of a worksheet part (for messages), else the part name. Inputs are already checked."""
    try:
        workbook = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return part
    targets: dict[str, str] = {}
    for m in re.finditer(r"<(?:\w+:)?Relationship\b([^>]*)>", rels):
        rel_id = re.search(r'\bId="([^"]*)"', m.group(1))
        target = re.search(r'\bTarget="([^"]*)"', m.group(1))
        if rel_id and target:
            targets[rel_id.group(1)] = target.group(1)
    for m in re.finditer(r"<(?:\w+:)?sheet\s([^>]*)>", workbook):
        attrs = m.group(1)
        name = re.search(r'\bname="([^"]*)"', attrs)
        rid = re.search(r'\b\w+:id="([^"]*)"', attrs)
        if name and rid and targets.get(rid.group(1), "").lstrip("/").removeprefix("xl/") == part.removeprefix("xl/"):
            import html

            return html.unescape(name.group(1))
    return part


def _check_ods_content(zf: zipfile.ZipFile, fichier: str) -> None:
    """Rows and columns of each table of an .ods, with `number-rows/columns-repeated` expanded.

    Only rows and cells holding a value count towards the used range (LibreOffice writes a million repeated
    empty rows at the end of every sheet; the parser skips them). Runs after the DTD scan: expat never sees a
    DTD here, and refuses one anyway.

    Names are matched as written (`table:table-row`, `office:value-type`), without namespace processing, as
    calamine matches them: with `xmlns:table` bound to another URI, a namespace-aware count saw no table at all
    while calamine expanded every repeat (20,000 × 1,000 repeated cells: 2.5 GB, then SIGABRT). A table inside
    a table is counted with it (over-counting is safe, resetting the counts would not be).
    """
    import xml.parsers.expat

    ns = "table:"
    office = "office:"
    st = _OdsScan()
    depth = 0
    failure: list[Issue] = []

    def close_table() -> None:
        if not failure and (st.rows_used > MAX_ROWS or st.rows_used * st.cols_used > MAX_CELLS):
            failure.append(_too_many_cells(fichier, st.table, st.rows_used, st.cols_used))

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        if name == ns + "table":
            depth += 1
            if depth == 1:
                st.table, st.row, st.rows_used, st.cols_used = attrs.get(ns + "name", "?"), 0, 0, 0
        elif name == ns + "table-row":
            st.col, st.row_has_value, st.row_rep = 0, False, _int(attrs.get(ns + "number-rows-repeated"))
        elif name in (ns + "table-cell", ns + "covered-table-cell"):
            st.col += _int(attrs.get(ns + "number-columns-repeated"))
            if attrs.get(office + "value-type"):
                st.row_has_value = True
                st.cols_used = max(st.cols_used, st.col)

    def end(name: str) -> None:
        nonlocal depth
        if name == ns + "table-row":
            st.row += st.row_rep
            if st.row_has_value:
                st.rows_used = st.row
            if st.rows_used > MAX_ROWS:
                close_table()
                raise _Stop
        elif name == ns + "table":
            depth -= 1
            if depth == 0:
                close_table()

    def forbid(*_args: object) -> None:
        failure.append(issue("contenu-dangereux", fichier, detail="une déclaration DTD ou d'entité XML"))
        raise _Stop

    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = forbid
    parser.EntityDeclHandler = forbid
    try:
        with zf.open("content.xml") as fh:
            while block := fh.read(_CHUNK):
                parser.Parse(block, False)
                if failure:
                    break
            else:
                parser.Parse(b"", True)
    except _Stop:
        pass
    except (xml.parsers.expat.ExpatError, zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
        return  # malformed content: the reader reports it as unreadable
    if failure:
        raise Refusal(failure[0])


class _Stop(Exception):
    pass


@dataclass
class _OdsScan:
    table: str = ""
    row: int = 0  # rows seen so far in the current table (repeats expanded)
    rows_used: int = 0  # last row holding a value
    cols_used: int = 0  # last column holding a value
    col: int = 0
    row_rep: int = 1
    row_has_value: bool = False


def _int(text: str | None) -> int:
    try:
        return max(1, int(text)) if text else 1
    except ValueError:
        return 1


# -- OLE2 / CFB containers (.xls, encrypted .xlsx) ----------------------------------------------------------

# BIFF record types (the records of an .xls Workbook stream: u16 type, u16 length, body)
_BOF: Final = 0x0809
_EOF: Final = 0x000A
_FILEPASS: Final = 0x002F
_BOUNDSHEET: Final = 0x0085
_HEADER: Final = struct.Struct("<HH")


def _check_ole(content: bytes, fichier: str, suffix: str) -> None:
    import olefile  # type: ignore[import-untyped]

    try:
        ole = olefile.OleFileIO(io.BytesIO(content))
    except Exception as exc:  # olefile raises various errors on malformed files
        raise Refusal(issue("fichier-illisible", fichier, detail=f"classeur .xls endommagé : {SAVE_XLS_AGAIN}")) from exc
    try:
        if ole.exists("EncryptionInfo") or ole.exists("EncryptedPackage"):
            raise Refusal(issue("fichier-protege", fichier))
        for stream in ("Workbook", "Book"):
            if ole.exists(stream):
                with ole.openstream(stream) as fh:
                    data = fh.read()
                if _biff_has_filepass(data[: 64 * 1024]):
                    raise Refusal(issue("fichier-protege", fichier))
                _check_biff(data, fichier)
                break
        else:
            if ole.exists("WordDocument"):
                raise Refusal(other_format(fichier, suffix, "un document Word", DOCUMENT_ADVICE))
            if ole.exists("PowerPoint Document"):
                raise Refusal(other_format(fichier, suffix, "une présentation PowerPoint", DOCUMENT_ADVICE))
    except Refusal:
        raise
    except Exception as exc:
        raise Refusal(issue("fichier-illisible", fichier, detail=f"classeur .xls endommagé : {SAVE_XLS_AGAIN}")) from exc
    finally:
        ole.close()


def _biff_has_filepass(data: bytes) -> bool:
    """True when the workbook globals (BIFF5/8) carry a FILEPASS record: the .xls is encrypted.

    Record headers are never encrypted, so the records can be walked; FILEPASS comes right after BOF.
    """
    pos = 0
    for index in range(64):
        if pos + 4 > len(data):
            return False
        rtype, length = _HEADER.unpack_from(data, pos)
        if index == 0 and rtype != _BOF:
            return False
        if rtype == _FILEPASS:
            return True
        if rtype in (_BOUNDSHEET, _EOF):  # past the place FILEPASS would be
            return False
        pos += 4 + length
    return False


# -- BIFF worksheets (.xls) ---------------------------------------------------------------------------------
# calamine (0.36 through fastexcel) parses EVERY sheet of an .xls when the file is opened, and keeps each
# one as a dense range: for each BOUNDSHEET of the workbook globals it walks the records from the sheet's
# offset up to the first EOF, and
# - on each DIMENSIONS record reserves room for rows × columns cells (40 bytes each) as declared — with u32
#   arithmetic that wraps when the last row is before the first: huge bounds abort the process (SIGABRT);
# - pushes one cell per NUMBER, LABEL, RSTRING, BOOLERR, RK, LABELSST, FORMULA (and its STRING), and one per
#   entry of a MULRK, then allocates the dense range from the first to the last row and column used (one
#   cell in IV65536: 1.4 GB peak RSS).
# Measured through fastexcel 0.21 (peak RSS of the reading process): an ordinary .xls of 65,536 rows × 20
# columns, 333 MiB (precheck 1.2 s); the worst file accepted, DIMENSIONS of 65,536 × 122 and a cell in
# DR65536, 827 MiB (the same far cell in an .xlsx: 496 MiB — the reserve for DIMENSIONS comes on top).
# The rule, for each worksheet: every DIMENSIONS as calamine reads it within MAX_ROWS / MAX_CELLS and all of
# them together within MAX_CELLS; the furthest row and column of the cell records, counted from A1 as for
# .xlsx (BLANK, MULBLANK and ROW records too, as the .xlsx count takes every `<c>` and `<row>`), within
# MAX_ROWS / MAX_CELLS; at most MAX_CELLS cell records (a sheet can repeat one cell: each is still pushed);
# and all the sheets' ranges together within MAX_CELLS (calamine holds them all at once). A record header or
# body running past the end of the stream, a cell record too short to hold its position, a DIMENSIONS of an
# unknown length or a sheet offset outside the stream: damaged (calamine fails or panics on them anyway).

_DIMENSIONS: Final = 0x0200
_ROW: Final = 0x0208
_STRING: Final = 0x0207  # the text value of the FORMULA before it: one more cell for calamine
# LABELSST, NUMBER, RK, BLANK, BOOLERR, FORMULA, LABEL, RSTRING: row u16, column u16 first
_CELL_RECORDS: Final = frozenset({0x00FD, 0x0203, 0x027E, 0x0201, 0x0205, 0x0006, 0x0204, 0x00D6})
# MULRK, MULBLANK: row u16, first column u16, entries (6 / 2 bytes), last column u16
_MUL_RECORDS: Final = {0x00BD: 6, 0x00BE: 2}


class _Damaged(Exception):
    pass


@dataclass
class _BiffSheet:
    rows: int = 0  # furthest row + 1 of the cell and ROW records
    columns: int = 0  # furthest column + 1 of the cell records
    cells: int = 0  # cells calamine pushes (MULRK entries each, STRING too; MULBLANK entries as well)
    declared: int = 0  # cells reserved by all the DIMENSIONS records
    dim_rows: int = 0  # the largest DIMENSIONS, as calamine reads it
    dim_columns: int = 0


def _check_biff(data: bytes, fichier: str) -> None:
    """Refuse an .xls whose worksheets calamine would allocate beyond the limits (see the rule above)."""
    try:
        sheets = _biff_sheets(data)
        total = 0
        walked: dict[int, _BiffSheet] = {}
        for pos, name in sheets:
            if pos not in walked:  # two BOUNDSHEETs may point at one substream: calamine reads it twice
                walked[pos] = _biff_sheet(data, pos)
            sheet = walked[pos]
            if sheet.dim_rows > MAX_ROWS or sheet.dim_rows * sheet.dim_columns > MAX_CELLS:
                raise Refusal(_too_many_cells(fichier, name, sheet.dim_rows, sheet.dim_columns))
            if sheet.declared > MAX_CELLS:
                raise Refusal(issue(
                    "contenu-dangereux", fichier,
                    detail=f"des dimensions annoncées démesurées (feuille « {name} » : {_fmt(sheet.declared)} cellules)"))
            if sheet.rows > MAX_ROWS or sheet.rows * sheet.columns > MAX_CELLS:
                raise Refusal(_too_many_cells(fichier, name, sheet.rows, sheet.columns))
            if sheet.cells > MAX_CELLS:
                raise Refusal(issue(
                    "fichier-trop-gros", fichier, limite=f"{_fmt(MAX_CELLS)} cellules par feuille",
                    detail=f"la feuille « {name} » contient {_fmt(sheet.cells)} cellules"))
            total += sheet.rows * sheet.columns
            if total > MAX_CELLS:
                raise Refusal(issue(
                    "fichier-trop-gros", fichier, limite=f"{_fmt(MAX_CELLS)} cellules pour l'ensemble des feuilles",
                    detail=f"les feuilles occupent au moins {_fmt(total)} cellules en tout ; supprimez les feuilles "
                           "ou les cellules inutiles"))
    except _Damaged as exc:
        raise Refusal(issue("fichier-illisible", fichier,
                            detail=f"classeur .xls endommagé : {exc} ; {SAVE_XLS_AGAIN}")) from exc


def _biff_records(data: bytes, pos: int) -> Iterator[tuple[int, int, int]]:
    """(record type, start of its body, end of its body) of each record from `pos` to the end of the stream;
    _Damaged when a header or a body runs past the end."""
    end = len(data)
    unpack = _HEADER.unpack_from
    while pos < end:
        if pos + 4 > end:
            raise _Damaged("en-tête d'enregistrement tronqué")
        rtype, length = unpack(data, pos)
        body = pos + 4
        pos = body + length
        if pos > end:
            raise _Damaged("enregistrement tronqué")
        yield rtype, body, pos


def _biff_sheets(data: bytes) -> list[tuple[int, str]]:
    """(offset, name) of each BOUNDSHEET of the workbook globals (walked up to their EOF, as calamine does)."""
    sheets: list[tuple[int, str]] = []
    biff8 = True
    end = len(data)
    for rtype, body, pos in _biff_records(data, 0):
        length = pos - body
        if rtype == _BOF and length >= 2:
            biff8 = data[body] | data[body + 1] << 8 != 0x0500
        elif rtype == _BOUNDSHEET:
            if length < 6:
                raise _Damaged("description de feuille tronquée")
            offset = struct.unpack_from("<I", data, body)[0]
            if offset >= end:
                raise _Damaged("feuille hors du fichier")
            sheets.append((offset, _biff_sheet_name(data[body:pos], biff8, len(sheets))))
        elif rtype == _EOF:
            break
    return sheets


def _biff_sheet_name(record: bytes, biff8: bool, index: int) -> str:
    """The sheet name of a BOUNDSHEET record (for messages only: never fails)."""
    if len(record) < 8:
        return f"n° {index + 1}"
    cch = record[6]
    if biff8:
        if record[7] & 1:
            text = record[8 : 8 + 2 * cch].decode("utf-16-le", "replace")
        else:
            text = record[8 : 8 + cch].decode("latin-1")
    else:
        text = record[7 : 7 + cch].decode("cp1252", "replace")
    return "".join(ch for ch in text if ch.isprintable()) or f"n° {index + 1}"


def _biff_sheet(data: bytes, start: int) -> _BiffSheet:
    """Walk one sheet substream from `start` to its first EOF (or the end of the stream)."""
    sheet = _BiffSheet()
    unpack = _HEADER.unpack_from
    cells = _CELL_RECORDS
    max_row = max_col = -1
    count = 0
    for rtype, body, pos in _biff_records(data, start):
        length = pos - body
        if rtype in cells:
            if length < 4:
                raise _Damaged("cellule tronquée")
            row, col = unpack(data, body)
            if row > max_row:
                max_row = row
            if col > max_col:
                max_col = col
            count += 1
        elif rtype == _ROW:
            if length < 2:
                raise _Damaged("ligne tronquée")
            row = data[body] | data[body + 1] << 8
            if row > max_row:
                max_row = row
        elif rtype in _MUL_RECORDS:
            if length < 6:
                raise _Damaged("cellules tronquées")
            row, first = unpack(data, body)
            last = data[pos - 2] | data[pos - 1] << 8
            entries = (length - 6) // _MUL_RECORDS[rtype]
            col = max(first + max(entries, 1) - 1, last)
            if row > max_row:
                max_row = row
            if col > max_col:
                max_col = col
            count += max(entries, 1)
        elif rtype == _STRING:
            count += 1
        elif rtype == _DIMENSIONS:
            rows, columns = _dimensions(data[body:pos])
            sheet.declared += rows * columns
            if rows * columns > sheet.dim_rows * sheet.dim_columns or rows > sheet.dim_rows:
                sheet.dim_rows, sheet.dim_columns = rows, columns
        elif rtype == _EOF:
            break
    sheet.rows, sheet.columns, sheet.cells = max_row + 1, max_col + 1, count
    return sheet


def _dimensions(record: bytes) -> tuple[int, int]:
    """Rows and columns a DIMENSIONS record makes calamine reserve (its arithmetic, wrap-around included)."""
    if len(record) == 14:  # BIFF8: first row u32, last row + 1 u32, first column u16, last column + 1 u16
        first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", record)
    elif len(record) == 10:  # BIFF5 and earlier: u16 all four
        first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", record)
    else:
        raise _Damaged("dimensions de feuille illisibles")
    if first_col > 0xFF or last_col < first_col:
        first_col = 0
    if last_row < 1 or last_col < 1:
        return 1, 1
    return (last_row - 1 - first_row + 1) % 2**32, last_col - first_col
