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
  from a 16 KB file), see `precheck_sheetml.SstScan`;
- an .xls (BIFF in an OLE2 file) whose worksheet declares, in a DIMENSIONS record, or fills, with its cell
  records, a range over these limits, holds more cell records than `MAX_CELLS`, or whose sheets together
  are over `MAX_CELLS` cells, or whose record stream is truncated — see `precheck_ole`;
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

This module is the entry point (`precheck`, `read_checked`), the limits, and the naming of files that are no
workbook cvg reads (`other_format`, `describe_format`, `text_format`); each container kind has its module:
`precheck_zip` (.xlsx, .xlsm, .ods containers) with `precheck_sheetml` (scans of their XML parts) and
`precheck_ods` (an .ods's tables), and `precheck_ole` (.xls, encrypted .xlsx).
"""

from __future__ import annotations

import struct
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

CHUNK: Final = 1 * MiB  # bytes inflated or parsed per step (bounded memory whatever the input)


def fmt(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def mb(n: int) -> str:
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
            from cvg_pipeline.read.precheck_zip import check_zip

            check_zip(content, fichier, path.suffix)
        elif head == OLE_MAGIC:
            from cvg_pipeline.read.precheck_ole import check_ole

            check_ole(content, fichier, path.suffix)
        elif struct.unpack_from("<HH", head.ljust(4, b"\0")) in _OLD_BIFF_BOF:
            raise Refusal(other_format(fichier, path.suffix, "un classeur Excel 2, 3 ou 4 (format de 1987 à 1994)"))
    except Refusal as refusal:
        return None, refusal.issue
    except OSError as exc:
        return None, issue("fichier-illisible", fichier, detail=f"lecture impossible : {erreur_systeme(exc)}")
    return content, None


def too_big_file(fichier: str, size: int) -> Issue:
    return issue("fichier-trop-gros", fichier, limite=mb(MAX_FILE_BYTES), detail=f"le fichier pèse {mb(size)} ; {SPLIT_IT}")


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



def too_many_cells(fichier: str, sheet: str, rows: int, columns: int) -> Issue:
    if rows > MAX_ROWS:
        return issue(
            "fichier-trop-gros", fichier, limite=f"{fmt(MAX_ROWS)} lignes par feuille",
            detail=f"la feuille « {sheet} » compte plus de {fmt(MAX_ROWS)} lignes ; supprimez les lignes en "
                   "trop ou découpez le fichier",
        )
    return issue(
        "fichier-trop-gros", fichier, limite=f"{fmt(MAX_CELLS)} cellules par feuille",
        detail=f"la feuille « {sheet} » occupe au moins {fmt(rows)} lignes sur {fmt(columns)} colonnes ; supprimez "
               "les cellules remplies loin du tableau",
    )

