"""The precheck of a zip container (.xlsx, .xlsm, .ods): another format recognised by its parts, the number of
parts, every part inflated from its raw stream with a byte budget (sizes and ratio; the directory's sizes are
checked but never trusted), every XML part scanned for DTD and entity declarations and, through
`precheck_sheetml`, for the rows and cells a sheet reaches and the strings a shared-strings table declares;
an .ods's tables through `precheck_ods`, its encryption through its manifest."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import Final

from cvg_pipeline.check.errors import Issue, issue
from cvg_pipeline.read.precheck import (
    ARCHIVE_ADVICE,
    CHUNK,
    DOCUMENT_ADVICE,
    MAX_CELLS,
    MAX_PART_BYTES,
    MAX_PARTS,
    MAX_RATIO,
    MAX_ROWS,
    MAX_TOTAL_BYTES,
    NUMBERS_ADVICE,
    RATIO_FLOOR_BYTES,
    SAVE_AGAIN,
    SAVE_AS_XLSX,
    SPLIT_IT,
    Refusal,
    fmt,
    mb,
    other_format,
    too_many_cells,
)
from cvg_pipeline.read.precheck_sheetml import FastScan, SheetScan, SstScan

_FORBIDDEN: Final = tuple(
    token.encode(enc) for token in ("<!DOCTYPE", "<!ENTITY") for enc in ("utf-8", "utf-16-le", "utf-16-be")
)
_OVERLAP: Final = max(len(t) for t in _FORBIDDEN)
_BINARY_PARTS: Final = (".bin", ".png", ".jpeg", ".jpg", ".gif", ".emf", ".wmf", ".tif", ".tiff", ".bmp")


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


def check_zip(content: bytes, fichier: str, suffix: str) -> None:
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
                issue("fichier-trop-gros", fichier, limite=f"{fmt(MAX_PARTS)} parties",
                      detail=f"l'archive contient {fmt(len(infos))} parties")
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
            # within the limits; when it cannot, the part is inflated again and every tag counted (SheetScan).
            fast = FastScan() if lower.endswith(".xml") else None
            start = total
            for exact in (False, True):
                if exact and (fast is None or fast.proved):
                    break
                total = start
                scan: FastScan | SheetScan | None = SheetScan() if exact else fast
                strings = SstScan() if not exact and lower.endswith("sharedstrings.xml") else None
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
                    if isinstance(scan, FastScan):
                        scan.feed(chunk)
                    elif scan is not None:
                        scan.feed(chunk)
                        if scan.rows > MAX_ROWS or scan.rows * scan.columns > MAX_CELLS:  # stop early
                            raise Refusal(too_many_cells(fichier, _sheet_name(zf, info.filename), scan.rows,
                                                          scan.columns))
                if strings is not None:
                    strings.finish(produced, fichier, info.filename)
        if encrypted_ods:
            raise Refusal(issue("fichier-protege", fichier))
        if "content.xml" in zf.namelist():
            from cvg_pipeline.read.precheck_ods import check_ods_content

            check_ods_content(zf, fichier)


# Declared counts of a shared-strings table. calamine (0.21 through fastexcel) reads the root element of

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
                block = read(min(CHUNK, remaining))
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
                out = inflater.decompress(pending, CHUNK)
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
                while out := inflater.decompress(b"", CHUNK):
                    yield out
            except zlib.error as exc:
                raise self._bad("données compressées invalides") from exc


def _too_big_part(fichier: str, part: str, size: int, compressed: int) -> Issue:
    return issue(
        "fichier-trop-gros", fichier, limite=f"{mb(MAX_PART_BYTES)} de données décompressées par partie",
        detail=f"la partie « {part} » se décompresse en plus de {mb(size)} ; {_what_to_do(size, compressed)}",
    )


def _too_big_total(fichier: str, size: int, compressed: int) -> Issue:
    return issue(
        "fichier-trop-gros", fichier, limite=f"{mb(MAX_TOTAL_BYTES)} de données décompressées",
        detail=f"le classeur se décompresse en plus de {mb(size)} ; {_what_to_do(size, compressed)}",
    )


def _what_to_do(size: int, compressed: int) -> str:
    """A genuine workbook over a limit is too big (split it); one inflating over MAX_RATIO times is a bomb."""
    if size > MAX_RATIO * max(compressed, 1):
        return (f"soit plus de {MAX_RATIO} fois sa taille compressée, ce qu'aucun tableur ne produit (fichier suspect, "
                "de type « bombe zip »)")
    return SPLIT_IT



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


