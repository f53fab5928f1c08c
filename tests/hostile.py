"""Build hostile and broken workbooks for the safety tests (zip bombs, entity expansion, huge sheets,
encrypted files…), quickly and in bounded memory: nothing here ever holds a large file in memory.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from tests.builders import valid_row, write_workbook

MiB = 1024 * 1024


def valid_xlsx(path: Path, rows: int = 2) -> Path:
    return write_workbook(path, rows=[valid_row(**{"Identifiant salarié": f"A{i:03d}"}) for i in range(rows)])


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rewrite_zip(src: Path, dst: Path, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> Path:
    """Copy a workbook's parts, replacing or adding some (normal deflate)."""
    parts = members(src)
    parts.update(replace or {})
    parts.update(add or {})
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return dst


# The zip part of sheet « Salariés » in a workbook written by tests.builders (its second sheet).
SALARIES_PART = "xl/worksheets/sheet2.xml"


# -- raw zip writing (lying sizes, hand-made deflate streams) ---------------------------------------------


def _flushed(data: bytes) -> bytes:
    """Raw deflate blocks for `data`, byte-aligned and referring to nothing before them (repeatable)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)


def bomb_stream(pieces: Iterable[tuple[bytes, int]]) -> tuple[bytes, int, int]:
    """A raw deflate stream inflating to each (data × repeat) in turn; returns (stream, crc, size).

    Each distinct piece is compressed once and its blocks repeated: 300 MB of output costs ~300 KB.
    """
    out = io.BytesIO()
    crc = 0
    size = 0
    for data, repeat in pieces:
        block = _flushed(data)
        for _ in range(repeat):
            out.write(block)
            crc = zlib.crc32(data, crc)
            size += len(data)
    out.write(b"\x03\x00")  # final, empty fixed-Huffman block
    return out.getvalue(), crc, size


def write_raw_zip(dst: Path, entries: list[tuple[str, int, bytes, int, int, int]]) -> Path:
    """Write a zip by hand: entries are (name, method, raw data, crc, declared uncompressed size, flags)."""
    central = io.BytesIO()
    with dst.open("wb") as fh:
        for name, method, data, crc, declared, flags in entries:
            offset = fh.tell()
            encoded = name.encode()
            fh.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, len(data),
                                 declared, len(encoded), 0))
            fh.write(encoded)
            fh.write(data)
            central.write(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, method, 0, 0x21, crc,
                                      len(data), declared, len(encoded), 0, 0, 0, 0, 0, offset))
            central.write(encoded)
        start = fh.tell()
        cd = central.getvalue()
        fh.write(cd)
        fh.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(cd), start, 0))
    return dst


def stored(name: str, data: bytes) -> tuple[str, int, bytes, int, int, int]:
    return (name, 0, data, zlib.crc32(data), len(data), 0)


def deflated(name: str, data: bytes) -> tuple[str, int, bytes, int, int, int]:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = c.compress(data) + c.flush()
    return (name, 8, raw, zlib.crc32(data), len(data), 0)


def zip_bomb(src: Path, dst: Path, *, inflated_mb: int, lie: bool = False) -> Path:
    """The workbook `src` whose Salariés sheet inflates to about `inflated_mb` MB (XML-valid: whitespace
    between the worksheet's tags). With `lie`, the zip directory declares the sheet's true tiny size
    instead (a bomb whose central directory lies)."""
    parts = members(src)
    sheet_name = SALARIES_PART
    sheet = parts.pop(sheet_name)
    cut = sheet.index(b"<sheetData")
    stream, crc, size = bomb_stream([(sheet[:cut], 1), (b" " * MiB, inflated_mb), (sheet[cut:], 1)])
    declared = len(sheet) if lie else size
    entries = [deflated(n, d) for n, d in parts.items()]
    entries.append((sheet_name, 8, stream, crc, declared, 0))
    return write_raw_zip(dst, entries)


BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>"""


def entity_bomb(src: Path, dst: Path, *, part: str = "xl/sharedStrings.xml", utf16: bool = False) -> Path:
    data = BILLION_LAUGHS
    if utf16:
        data = data.replace(b'encoding="UTF-8"', b'encoding="UTF-16"').decode().encode("utf-16")
    return rewrite_zip(src, dst, replace={part: data})


def huge_sheet(src: Path, dst: Path, *, rows: int) -> Path:
    """The workbook `src` whose Salariés sheet has `rows` parcours rows (written straight into the zip)."""
    parts = members(src)
    sheet_name = SALARIES_PART
    sheet = parts.pop(sheet_name)
    head, _, rest = sheet.partition(b"<sheetData>")
    header_rows, _, tail = rest.partition(b"</sheetData>")
    first_data = header_rows.index(b'<row r="2"')
    header_xml = header_rows[:first_data]
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
        with zf.open(sheet_name, "w", force_zip64=True) as out:
            out.write(head.replace(b'<dimension ref="', b'<dimension ref="X') + b"<sheetData>" + header_xml)
            batch = []
            for r in range(2, rows + 2):
                batch.append(
                    f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>ID{r}</t></is></c>'
                    f'<c r="B{r}" t="inlineStr"><is><t>CVG</t></is></c><c r="C{r}"><v>44621</v></c></row>'
                )
                if len(batch) == 10_000:
                    out.write("".join(batch).encode())
                    batch.clear()
            out.write("".join(batch).encode() + b"</sheetData>" + tail)
    return dst


def sparse_sheet(src: Path, dst: Path, far_cell: str = "XFD1048576") -> Path:
    """One extra cell far away: the parser would allocate the dense range up to it."""
    parts = members(src)
    name = SALARIES_PART
    row = int("".join(ch for ch in far_cell if ch.isdigit()))
    parts[name] = parts[name].replace(
        b"</sheetData>", f'<row r="{row}"><c r="{far_cell}"><v>1</v></c></row></sheetData>'.encode()
    )
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in parts.items():
            zf.writestr(n, d)
    return dst


SST_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def shared_strings(src: Path, dst: Path, sst_tag: bytes, *, lead: int = 0, strings: int = 1) -> Path:
    """The workbook `src` with a shared-strings table (xl/sharedStrings.xml, declared in the workbook's
    relationships and content types) whose root start tag is `sst_tag` as given — e.g. with a lying
    `uniqueCount` — holding `strings` items, after `lead` bytes of whitespace (to place the tag across the
    precheck's inflate steps)."""
    parts = members(src)
    declaration = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    close = b"</" + sst_tag[1:].split(None, 1)[0].rstrip(b">") + b">"
    prefix = close[2:].partition(b":")[0] + b":" if b":" in close else b""
    item = b"<" + prefix + b"si><" + prefix + b"t>x</" + prefix + b"t></" + prefix + b"si>"
    parts["xl/sharedStrings.xml"] = declaration + b" " * lead + sst_tag + item * strings + close
    rels = "xl/_rels/workbook.xml.rels"
    if b"sharedStrings" not in parts[rels]:
        parts[rels] = parts[rels].replace(
            b"</Relationships>",
            b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            b'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            b"</Types>",
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            b'spreadsheetml.sharedStrings+xml"/></Types>')
    return rewrite_zip(src, dst, replace=parts)


def ods_content(dst: Path, content: str) -> Path:
    """An .ods whose content.xml is `content` as given (e.g. `hostile.ODS_CONTENT` with its prefixes rebound)."""
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", ODS_MANIFEST % b"", compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return dst


def encrypted_xlsx(src: Path, dst: Path, password: str = "secret") -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    with src.open("rb") as fin, dst.open("wb") as fout:
        OOXMLFile(fin).encrypt(password, fout)
    return dst


def xls_bytes() -> bytes:
    import xlwt

    wb = xlwt.Workbook()
    ws = wb.add_sheet("Structure")
    ws.write(0, 0, "Champ")
    ws.write(0, 1, "Valeur")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def encrypted_xls(dst: Path) -> Path:
    """An .xls whose workbook globals carry a FILEPASS record (the INTERFACEHDR after BOF turned into it)."""
    data = bytearray(xls_bytes())
    bof = data.index(b"\x09\x08\x10\x00")
    nxt = bof + 4 + 16
    assert data[nxt:nxt + 2] == b"\xe1\x00"
    data[nxt:nxt + 2] = b"\x2f\x00"
    dst.write_bytes(bytes(data))
    return dst


ODS_MANIFEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">%s</manifest:file-entry>
</manifest:manifest>"""

ODS_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Salariés">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"""

ODS_CELL = '<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>'


def ods(dst: Path, rows: str, *, encrypted: bool = False) -> Path:
    extra = b'<manifest:encryption-data manifest:checksum-type="SHA1" manifest:checksum="x"/>' if encrypted else b""
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", ODS_MANIFEST % extra, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", ODS_CONTENT.format(rows=rows), compress_type=zipfile.ZIP_DEFLATED)
    return dst


# -- running `cvg` as a real process, with its peak memory --------------------------------------------------

CVG = str(Path(__import__("sys").executable).with_name("cvg"))
GiB = 1024 * MiB


class Run:
    def __init__(self, returncode: int, stdout: str, stderr: str, peak: int) -> None:
        self.returncode, self.stdout, self.stderr, self.peak = returncode, stdout, stderr, peak

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __repr__(self) -> str:
        return f"Run(rc={self.returncode}, peak={self.peak // MiB} MiB)\n{self.output[-3000:]}"


def _session_peak(sid: int) -> int:
    """Highest VmHWM (peak RSS) among live processes of session `sid` (the command and its workers)."""
    import os

    peak = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) != sid:
                continue
            with open(f"/proc/{entry}/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
        except (OSError, IndexError, ValueError):
            continue
    return peak


def run_cvg(args: list[str], *, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None) -> Run:
    """Run `cvg args` in its own session; return exit code, outputs and peak RSS of the process tree.

    The peak is the larger of the command's own max RSS (wait4, children it reaped included) and the
    VmHWM of every process of its session, polled while it runs (reading workers).
    """
    import os
    import subprocess
    import tempfile
    import time

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([CVG, *args], stdout=out, stderr=err, cwd=cwd, env=env, start_new_session=True)
        peak = 0
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _session_peak(proc.pid))
            if time.monotonic() > deadline:
                os.killpg(proc.pid, 9)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)
        _kill_session(proc.pid)
        peak = max(peak, usage.ru_maxrss * 1024)
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"), peak)


def _kill_session(sid: int) -> None:
    """End what is left of a session we started (orphaned workers of a killed command)."""
    import contextlib
    import os
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(sid, signal.SIGKILL)


# -- .xls (BIFF8 records in an OLE2 file): sheet sizes ------------------------------------------------------
# Built from a real xlwt workbook whose Workbook stream is patched: records inserted into a sheet substream
# (the BOUNDSHEET offsets of the sheets after it moved accordingly), then saved by xlwt's own OLE2 writer.


def biff_record(rtype: int, body: bytes) -> bytes:
    return struct.pack("<HH", rtype, len(body)) + body


def xls_stream(sheets: dict[str, list[list[object]]] | None = None) -> bytes:
    """The BIFF8 Workbook stream of an ordinary xlwt workbook (default: Structure and Salariés, a few cells)."""
    import xlwt

    if sheets is None:
        sheets = {"Structure": [["Champ", "Valeur"], ["Nom de la structure", "Atelier"]],
                  "Salariés": [["Identifiant salarié", "Programme", "Année de naissance"], ["A001", "CVG", 1980]]}
    wb = xlwt.Workbook()
    for name, rows in sheets.items():
        ws = wb.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                ws.write(r, c, value)
    data: bytes = wb.get_biff_data()
    return data


def biff_records(stream: bytes) -> Iterator[tuple[int, int, int]]:
    """(offset, type, length) of each record of a well-formed stream, up to its end."""
    pos = 0
    while pos + 4 <= len(stream):
        rtype, length = struct.unpack_from("<HH", stream, pos)
        yield pos, rtype, length
        pos += 4 + length


def biff_sheet_offsets(stream: bytes) -> list[tuple[int, int]]:
    """(offset of the BOUNDSHEET record, offset of its sheet's BOF) for each sheet."""
    return [(pos, struct.unpack_from("<I", stream, pos + 4)[0]) for pos, rtype, _ in biff_records(stream)
            if rtype == 0x0085]


def biff_insert(stream: bytes, sheet: int, extra: bytes, *, before: int | None = None) -> bytes:
    """Insert raw records `extra` into sheet n° `sheet` (0-based) before its record of type `before` (default:
    its EOF), and move the BOUNDSHEET offsets of the later sheets."""
    sheets = biff_sheet_offsets(stream)
    start = sheets[sheet][1]
    at = next(pos for pos, rtype, _ in biff_records(stream) if pos > start and rtype == (before if before is not None else 0x000A))
    out = bytearray(stream[:at] + extra + stream[at:])
    for record, offset in sheets:
        if offset >= at:
            struct.pack_into("<I", out, record + 4, offset + len(extra))
    return bytes(out)


def biff_replace(stream: bytes, sheet: int, rtype: int, body: bytes) -> bytes:
    """Replace the body of the first record of type `rtype` in sheet n° `sheet` (same length only)."""
    start = biff_sheet_offsets(stream)[sheet][1]
    pos, _, length = next(r for r in biff_records(stream) if r[0] > start and r[1] == rtype)
    assert len(body) == length
    return stream[: pos + 4] + body + stream[pos + 4 + length :]


def save_xls(dst: Path, stream: bytes) -> Path:
    """Write `stream` as the Workbook stream of an OLE2 file (xlwt's writer; it pads the stream with zeros
    to a multiple of 4096 bytes)."""
    from xlwt.CompoundDoc import XlsDoc

    XlsDoc().save(str(dst), stream)
    return dst

