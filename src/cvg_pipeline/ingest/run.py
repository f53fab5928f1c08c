"""INGEST: discover → hash → read and normalise (this process and one worker) → validate once → store, one
transaction for the whole run.

Library code: nothing is printed here. The commands (`cvg ingest`, `cvg verifier`) render the results.

- Files and folders are walked recursively (`discover`). What is clearly not a reporting workbook (hidden
  files and folders, Excel lock files `~$…`, documents, images, cvg's own outputs) is skipped and named once
  with a `fichier-ignore` warning (status `ignoré`); anything else is read, and the reader refuses what is
  not a workbook it reads, naming its real format. Only regular files within the size limit are read: FIFOs,
  devices, broken links and unreadable folders are refused by name. Each file is shown by its path relative
  to the folder given (`FileResult.fichier`, valid UTF-8). A directory given twice, a file reached by two
  paths and a symlink loop are visited once.
- Every file is hashed (sha256) first: bytes already in the store are `déjà intégré` and never parsed.
  When all of them are, the store's index (store/index.py) answers without opening DuckDB. The same bytes
  twice in a run are read once: refused, they are refused under each name; stored, the others are `déjà
  intégré`. A file is stored under the hash of the bytes the reader parsed (it may have been replaced on
  disk since it was hashed).
- New files are read and normalised (read/workbook.py) in chunks, by this process and one worker process (from 32
  files); each reader also marks the rows that may fail a rule and pseudonymises the identifiers of its
  chunk. Then the rule checks of all files run in ONE pandera call, on the marked rows only (check/validate.py).
- The accepted files are stored in one transaction (one DuckDB writer; file by file if that fails): same
  SIRET and Date d'arrêté → the old snapshot and its parcours are replaced (`remplacé`); an earlier Date
  d'arrêté than the ACI's latest → kept as history (`historique`); otherwise `intégré`. A rejected file
  (`rejeté`) changes nothing. Two files of a run with the same SIRET and Date d'arrêté and different bytes
  are both refused (`arrete-en-double`): the order of their names never decides. Nothing is retried after
  an interrupt or a failure to write the store (full disk): the result says what was stored and what was
  not (`non enregistré`).
- `id_salarie` is pseudonymised before storage: HMAC-SHA256(store key, SIRET + "\\x1f" + id), in hex, of the
  identifier as normalised by identifiers.py (look-alike spellings are one identifier).
- `ingest_log` gets one row per file written to the store (codes and counts only, never a cell value):
  a rejected or already-ingested file leaves the store exactly as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvg_pipeline.check.errors import Code, CvgError, Issue, UsageError, issue
from cvg_pipeline.fr import aujourdhui, erreur_systeme
from cvg_pipeline.ingest.suivi import present_columns, record_refusals
from cvg_pipeline.read.model import (
    PSEUDO_COLUMN,
    SPREADSHEET_EXTENSIONS,
    HasIssues,
    ParsedFile,
    display_name,
    is_error_workbook_name,
)

if TYPE_CHECKING:  # the schema and the store are imported where used: a run whose files are all stored needs
    # neither (see ingest_paths)
    import duckdb
    import polars as pl

    from cvg_pipeline.schema.load import Schema

# Reading is shared by this process and ONE worker process (the machine has 2 cores): both take the next
# chunk of files from a shared counter until none is left, so neither waits for the other, this process
# needs no copy of its own chunks' frames, and the worker's start (a fork server importing polars, ~0.6 s)
# runs on the other core while this process opens the store and imports polars itself. Below
# MIN_FILES_FOR_WORKER files the worker would be ready about when the reading is over: not started.
MIN_FILES_FOR_WORKER = 32
MIN_CHUNK = 8  # a `read_workbooks` pass costs a few tens of ms whatever its size: chunks are not tiny
MAIN_READS = True  # False (tests only): the worker reads every chunk, this process only waits
_HASH_CHUNK = 1 << 20

# Statuses (French, stable: they appear in the JSON result).
INTEGRE = "intégré"
REMPLACE = "remplacé"
HISTORIQUE = "historique"
DEJA_INTEGRE = "déjà intégré"
REJETE = "rejeté"
NON_ENREGISTRE = "non enregistré"  # valid, but the store could not take it (full disk, interrupt): see IngestResult
IGNORE = "ignoré"
VERIFIE = "valide"  # `cvg verifier`: the file would be accepted
ACCEPTED = frozenset({INTEGRE, REMPLACE, HISTORIQUE, DEJA_INTEGRE, VERIFIE, IGNORE})

# progress(stage, done, total): stage is "lecture", "validation" or "enregistrement".
Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class FileResult(HasIssues):
    """What happened to one file, for the table, the JSON result and the error workbooks."""

    path: Path
    fichier: str
    statut: str
    sha256: str | None = None
    structure: str | None = None  # Nom de la structure
    siret: str | None = None
    territoire: str | None = None  # slug
    date_arrete: date | None = None
    lignes: int | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.statut in ACCEPTED

    def to_dict(self) -> dict[str, Any]:
        return {
            "fichier": self.fichier,
            "chemin": display_name(str(self.path)),
            "statut": self.statut,
            "sha256": self.sha256,
            "structure": self.structure,
            "siret": self.siret,
            "territoire": self.territoire,
            "date_arrete": self.date_arrete.isoformat() if self.date_arrete else None,
            "lignes": self.lignes,
            "erreurs": len(self.errors),
            "avertissements": len(self.warnings),
            "problemes": [i.to_dict() for i in self.issues],
        }


@dataclass
class IngestResult:
    files: list[FileResult]
    store: Path | None = None
    territoire_names: dict[str, str] | None = None  # slug → name, when the store's index had them
    # Why storing stopped (French, for stderr and the JSON `echec`): a full disk, an interrupt. The files it
    # left out are `non enregistré`; those stored before keep their status.
    echec: str | None = None
    interrompu: bool = False  # Ctrl-C during the storing: exit 130

    @property
    def checked(self) -> bool:
        """Some file was looked at as a workbook (not only skipped ones, or none): else the run failed."""
        return any(f.statut != IGNORE for f in self.files)

    @property
    def ok(self) -> bool:
        return self.echec is None and self.checked and all(f.accepted for f in self.files)

    @property
    def exit_code(self) -> int:
        if self.interrompu:
            return 130
        return 0 if self.ok else 1

    def counts(self) -> dict[str, int]:
        return dict(Counter(f.statut for f in self.files))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": 1,
            "base": str(self.store) if self.store is not None else None,
            "ok": self.ok,
            "statuts": self.counts(),
            "fichiers": [f.to_dict() for f in self.files],
        }
        if self.echec is not None:
            out["echec"] = self.echec
            out["interrompu"] = self.interrompu
        return out


class Interrupted(CvgError):
    """Ctrl-C before anything was stored: nothing changed (exit 130)."""

    exit_code = 130


class StoreFailed(Exception):
    """Storing stopped: the store could not be written (`cause`, in French). What was committed before is in
    `SnapshotWriter.stored`."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


# -- discovery ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    path: Path
    explicit: bool  # named on the command line (not found in a folder)
    # As shown, stored and used to name its error workbook: the path relative to the folder given (the name
    # alone for a file named on the command line, or the path as given when two would look alike), in valid
    # UTF-8 (model.display_name).
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", display_name(self.path.name))


def discover(paths: Iterable[Path | str]) -> tuple[list[Candidate], list[FileResult]]:
    """Files to read, in a stable order, and the results of what is not read: skipped (`ignoré`, with a
    `fichier-ignore` note naming it once) or refused at once (`rejeté`).

    Folders are walked recursively, following symlinks but visiting each real directory once (a symlink
    loop or a directory given twice cannot duplicate nor hang). Each real file is considered once; a file
    named on the command line always is. Only regular files are read, within the size limit: a FIFO, a
    device (a symlink to /dev/zero), a socket, a broken symlink, a file over `safety.MAX_FILE_BYTES` and a
    folder that cannot be listed are refused, named (never read: they could hang or exhaust the run).

    In a folder, a file is skipped only when it is clearly not a reporting workbook (`_skip_reason`: hidden
    files and folders, Excel lock files, documents and images, cvg's own outputs); any other file is read,
    and the reader refuses what is not a workbook it reads, naming its real format (.xlsb, .numbers, .csv…).
    """
    from cvg_pipeline.read.precheck import MAX_FILE_BYTES, too_big_file

    seen_files: set[tuple[int, int]] = set()
    seen_dirs: set[tuple[int, int]] = set()
    entries: list[tuple[Path, bool, str, FileResult | None]] = []  # path, explicit, shown name, result if not read

    def add(path: Path, explicit: bool, shown: str, statut: str, code: Code, detail: str) -> None:
        entries.append((path, explicit, shown, FileResult(path, shown, statut, issues=[issue(code, shown, detail=detail)])))

    def add_file(path: Path, explicit: bool, shown: str) -> None:
        try:
            st = os.stat(path)
        except OSError as exc:
            broken = path.is_symlink() and isinstance(exc, FileNotFoundError)
            add(path, explicit, shown, REJETE, "fichier-illisible",
                "lien symbolique vers un fichier qui n'existe pas" if broken else erreur_systeme(exc))
            return
        if not stat.S_ISREG(st.st_mode):  # each path named, even two links to one device
            add(path, explicit, shown, REJETE, "fichier-illisible",
                f"c'est {_special_kind(st.st_mode)}, pas un fichier ordinaire : seuls les fichiers ordinaires sont lus")
            return
        key = (st.st_dev, st.st_ino)
        if key in seen_files:
            return
        seen_files.add(key)
        reason = _skip_reason(path, explicit)
        if reason is not None:
            add(path, explicit, shown, IGNORE, "fichier-ignore", reason)
        elif st.st_size > MAX_FILE_BYTES:  # never hashed nor read
            entries.append((path, explicit, shown, FileResult(path, shown, REJETE, issues=[too_big_file(shown, st.st_size)])))
        else:
            entries.append((path, explicit, shown, None))

    def unreadable_folder(error: OSError) -> None:
        folder = Path(error.filename) if error.filename is not None else root
        add(folder, False, _relative(root, folder, "/"), REJETE, "dossier-illisible", erreur_systeme(error))

    for raw in paths:
        root = Path(raw)
        if not root.exists() and not root.is_symlink():
            raise UsageError(f"« {display_name(str(root))} » n'existe pas (ni fichier ni dossier).")
        if not root.is_dir():  # a file, and anything that is not a folder (a FIFO, a device, a broken link)
            add_file(root, True, display_name(root.name))
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=unreadable_folder):
            folder = Path(dirpath)
            try:
                st = os.stat(dirpath)
            except OSError as exc:  # gone since it was listed
                add(folder, False, _relative(root, folder, "/"), REJETE, "dossier-illisible", erreur_systeme(exc))
                dirnames[:] = []
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                dirnames[:] = []
                continue
            seen_dirs.add(key)
            # hidden folders are not walked (`.git/`, `.Trash/`…), each named once
            for d in sorted(d for d in dirnames if d.startswith(".")):
                add(folder / d, False, _relative(root, folder / d, "/"), IGNORE, "fichier-ignore",
                    "dossier caché (son nom commence par un point) : il n'est pas parcouru")
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                add_file(folder / name, False, _relative(root, folder / name))
    found: list[Candidate] = []
    skipped: list[FileResult] = []
    # Two entries shown alike (`aci.xlsx` named twice from two folders): each shown by its path as given.
    shown_count = Counter(e[2] for e in entries)
    for path, explicit, shown, result in entries:
        if shown_count[shown] > 1:
            shown = display_name(str(path))
            if result is not None:
                result = replace(result, fichier=shown, issues=[replace(i, fichier=shown) for i in result.issues])
        if result is None:
            found.append(Candidate(path, explicit, shown))
        else:
            skipped.append(result)
    return found, skipped


def _relative(root: Path, path: Path, end: str = "") -> str:
    """`path` as shown: relative to the folder given (`lyon/aci.xlsx`), `/`-separated, valid UTF-8."""
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.name
    return display_name(root.name if rel == "." else rel) + end


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "un tube nommé (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "un périphérique (comme /dev/zero)"
    if stat.S_ISSOCK(mode):
        return "une socket"
    if stat.S_ISDIR(mode):
        return "un dossier"
    return "un fichier spécial"


# Files that are clearly not a reporting workbook, skipped in a folder with a note (`ignoré`): by extension,
# what they are. Anything else found in a folder is read, and refused if it is not a workbook cvg reads (a
# .csv, .xlsb, .numbers, .fods, .zip, a file without extension…): an ACI's month is never left out unseen.
_NOT_REPORTING: dict[str, str] = {
    **dict.fromkeys((".pdf",), "document PDF"),
    **dict.fromkeys((".doc", ".docx", ".odt", ".rtf", ".pages"), "document de traitement de texte"),
    **dict.fromkeys((".ppt", ".pptx", ".odp", ".key"), "présentation"),
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".webp", ".svg"), "image"),
    **dict.fromkeys((".eml", ".msg"), "courriel"),
    **dict.fromkeys((".txt", ".md", ".log"), "texte (note, journal)"),
    # cvg's own outputs: the store and its files, --json results, reports (`rapport-*.md` and `.html`)
    **dict.fromkeys((".duckdb", ".wal", ".lock", ".json"), "base, verrou ou résultat JSON de cvg"),
}


def _skip_reason(path: Path, explicit: bool) -> str | None:
    name = path.name
    if name.startswith("~$"):
        return "fichier temporaire d'Excel (~$), créé pendant qu'un classeur est ouvert"
    if explicit:
        return None
    if name.startswith("."):  # `.DS_Store`, macOS `._aci.xlsx` copies (not workbooks despite their name)
        return "fichier caché (son nom commence par un point)"
    suffix = path.suffix.lower()
    if name.lower().startswith("rapport-") and suffix in (".html", ".md"):
        return "rapport écrit par cvg"
    if suffix in _NOT_REPORTING and not (suffix == ".txt" and _tabular_text(path)):
        return f"{_NOT_REPORTING[suffix]}, pas un classeur"
    if is_error_workbook_name(name):
        from cvg_pipeline.workbooks.annotate import is_untouched_error_workbook

        if is_untouched_error_workbook(path):
            return "classeur d'erreurs écrit par cvg, pas un fichier de reporting"
    return None


def _tabular_text(path: Path) -> bool:
    """A .txt that is a table (Excel's « Texte (séparateur : tabulation) » export, a CSV named .txt): read, so
    that the reader refuses it naming its format, instead of being skipped as a note."""
    from cvg_pipeline.read.precheck import text_format

    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return True  # the reader reports why it cannot be read
    return (text_format(head) or "").startswith("un fichier texte (CSV")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


# -- reading (worker processes) -----------------------------------------------------------------------------


def _read_one(
    path: Path, fichier: str, sha256: str, schema_path: Path, today: date, key: bytes | None = None
) -> ParsedFile:
    """Read and normalise one file; never raises (a reader bug becomes a located `fichier-illisible`)."""
    return _read_chunk([(path, fichier, sha256)], schema_path, today, key)[0]


def _read_chunk(
    items: Sequence[tuple[Path, str, str]], schema_path: Path, today: date, key: bytes | None = None
) -> list[ParsedFile]:
    """Read and normalise (path, fichier, sha256) files in ONE `read_workbooks` pass (polars costs per
    expression, not per row: one pass over a chunk of files is much cheaper than one pass per file), then
    do what can be done file by file before the batch is validated and stored: mark the rows that may fail
    a rule (validate.mark_suspects) and, with the store's `key`, pseudonymise the identifiers.

    Never raises: if the batch fails (a reader bug), each file of the chunk is read alone, so that the bug
    becomes a located `fichier-illisible` on its own file only.
    """
    from cvg_pipeline.schema.load import load_schema

    schema = load_schema(schema_path)
    try:
        from cvg_pipeline.read.workbook import read_workbooks

        parsed = read_workbooks([(path, sha256) for path, _, sha256 in items], schema, today=today)
        for pf, (_, fichier, _) in zip(parsed, items, strict=True):
            pf.fichier = fichier
    except Exception as exc:  # a bug or an unforeseen file: reported on the file, never a traceback
        if len(items) > 1:
            return [_read_chunk([item], schema_path, today, key)[0] for item in items]
        path, fichier, sha256 = items[0]
        parsed = [ParsedFile(path=path, fichier=fichier, sha256=sha256, issues=[
            issue("fichier-illisible", fichier, detail=f"erreur de cvg lui-même, {type(exc).__name__} : le fichier "
                  "n'est peut-être pas en cause, transmettez-le à l'équipe qui maintient cvg")])]
    _prepare(parsed, schema, key)
    return parsed


def _prepare(parsed: list[ParsedFile], schema: Schema, key: bytes | None) -> None:
    """Suspect rows and pseudonyms, in the reader (see `_read_chunk`); the raw text (`ParsedFile.raw`) of a
    file without any suspect row is dropped (nothing will quote it: ~1/3 of what a worker sends back).
    Optional work: if it fails, the serial end of the ingest does it instead (validate stacks every row,
    storing pseudonymises)."""
    from cvg_pipeline.check.validate import mark_suspects
    from cvg_pipeline.read.model import SUSPECT_COLUMN

    try:
        mark_suspects(parsed, schema)
        if key is not None:
            add_pseudonyms(parsed, key)
    except Exception:
        for pf in parsed:
            if pf.data is not None:
                pf.data = pf.data.drop([SUSPECT_COLUMN, PSEUDO_COLUMN], strict=False)
        return
    for pf in parsed:  # the text as written only serves the messages of rows that may fail a rule
        if pf.data is not None and not pf.data.get_column(SUSPECT_COLUMN).any():
            pf.raw = None


@dataclass
class _Packed:
    """The result of a chunk read in a worker, packed for the trip back: the rows of all its files in two
    Arrow IPC buffers (polars' own pickling is ~5× slower: ~2 s for the 700-file benchmark)."""

    files: list[ParsedFile]  # without their frames
    data: bytes  # every file's `data`, stacked
    raw: bytes | None  # the `raw` of the files that kept theirs (see `_prepare`), stacked
    layout: list[tuple[int, int, int | None, list[str]] | None]  # per file: data offset, height, raw offset, columns


def _read_chunk_packed(
    items: Sequence[tuple[Path, str, str]], schema_path: Path, today: date, key: bytes | None = None
) -> _Packed | list[ParsedFile]:
    """`_read_chunk` in a worker process, its frames packed (`_Packed`; unpacked by `_unpack`)."""
    import io

    import polars as pl

    parsed = _read_chunk(items, schema_path, today, key)
    with_data = [pf for pf in parsed if pf.data is not None]
    with_raw = [pf for pf in with_data if pf.raw is not None]
    if not with_data:
        return parsed
    try:
        data = pl.concat([pf.data for pf in with_data if pf.data is not None], how="vertical")
        raw = pl.concat([pf.raw for pf in with_raw if pf.raw is not None], how="diagonal") if with_raw else None
    except pl.exceptions.PolarsError:  # frames of different shapes: pickled as they are
        return parsed
    layout: list[tuple[int, int, int | None, list[str]] | None] = []
    offset = raw_offset = 0
    for pf in parsed:
        if pf.data is None:
            layout.append(None)
            continue
        height = pf.data.height
        if pf.raw is not None:
            layout.append((offset, height, raw_offset, pf.raw.columns))
            raw_offset += height
        else:
            layout.append((offset, height, None, []))
        offset += height
        pf.data = pf.raw = None

    def ipc(frame: pl.DataFrame) -> bytes:
        out = io.BytesIO()
        frame.write_ipc(out, compression="lz4")  # uncompressed measured slower (3× the bytes through the pipe)
        return out.getvalue()

    return _Packed(parsed, ipc(data), ipc(raw) if raw is not None else None, layout)


def _unpack(result: _Packed | list[ParsedFile]) -> list[ParsedFile]:
    import io

    import polars as pl

    if not isinstance(result, _Packed):
        return result
    data = pl.read_ipc(io.BytesIO(result.data))
    raw = pl.read_ipc(io.BytesIO(result.raw)) if result.raw is not None else None
    for pf, where in zip(result.files, result.layout, strict=True):
        if where is not None:
            offset, height, raw_offset, columns = where
            pf.data = data.slice(offset, height)
            if raw is not None and raw_offset is not None:
                # eager column pick (select goes through the lazy engine: ~4× slower)
                pf.raw = raw.slice(raw_offset, height)[columns]
    return result.files


def _crashed(path: Path, fichier: str, sha256: str) -> ParsedFile:
    pf = ParsedFile(path=path, fichier=fichier, sha256=sha256)
    pf.issues.append(issue("fichier-illisible", fichier, detail="la lecture a interrompu le programme"))
    return pf


def _chunks(total: int, readers: int = 2) -> list[range]:
    """Split `total` files into chunks of decreasing size ("guided" scheduling): each chunk is the files left
    divided by 2 × readers, at least MIN_CHUNK. Big chunks first (a pass over many files is cheaper per
    file), small ones last (the reader that finishes first waits at most a small chunk for the other)."""
    bounds = [0]
    while bounds[-1] < total:
        left = total - bounds[-1]
        bounds.append(bounds[-1] + min(left, max(MIN_CHUNK, left // (2 * readers))))
    return [range(bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1)]


def read_files(
    todo: Sequence[tuple[Path, str, str]],
    schema: Schema,
    *,
    today: date,
    progress: Progress = _no_progress,
    key: bytes | None = None,
) -> list[ParsedFile]:
    """Read (path, fichier, sha256) files, in chunks, shared with a worker process when there are enough;
    results in input order; `key`: the store's key, to pseudonymise the identifiers as they are read (the
    worker gets it through its pipe from the fork server, like the paths). A worker that dies (a parser
    abort) loses no file: what it had not returned is read again one file per process (`_read_isolated`),
    so a crash is reported on its own file only."""
    total = len(todo)
    if total == 0:
        return []
    # pandera (which pulls in pandas, ~1 s) is imported by validate() only when some row may fail a rule:
    # a batch of valid files never pays for it (see validate.validate).
    chunks = _chunks(total)
    results: dict[int, ParsedFile] = {}
    progress("lecture", 0, total)  # the bar shows from the start, not once the first chunk is read

    def keep(chunk: range, parsed: list[ParsedFile]) -> None:
        for i, pf in zip(chunk, parsed, strict=True):
            results[i] = pf
        progress("lecture", len(results), total)

    items = [[todo[i] for i in chunk] for chunk in chunks]
    helper = _Helper.start(items, schema.path, today, key) if total >= MIN_FILES_FOR_WORKER and len(chunks) > 1 else None
    if helper is None:
        for chunk, chunk_items in zip(chunks, items, strict=True):
            keep(chunk, _read_chunk(chunk_items, schema.path, today, key))
    else:
        try:
            while MAIN_READS and (k := helper.take()) is not None:
                keep(chunks[k], _read_chunk(items[k], schema.path, today, key))
                for j, parsed in helper.returned():
                    keep(chunks[j], parsed)
            for j, parsed in helper.finish():
                keep(chunks[j], parsed)
            lost = helper.theirs()
            for k, chunk in enumerate(chunks):  # chunks nobody took (the worker died before): read here
                if k not in lost and any(i not in results for i in chunk):
                    keep(chunk, _read_chunk(items[k], schema.path, today, key))
        finally:
            helper.close()
    for i, (path, fichier, sha) in enumerate(todo):
        if i not in results:  # taken by a worker that died before returning it
            results[i] = _read_isolated(path, fichier, sha, schema, today, key)
            progress("lecture", len(results), total)
    return [results[i] for i in range(total)]


class _Helper:
    """One worker process reading chunks beside this process. Both take chunk numbers from a shared counter
    and write who took each in a shared array (under the counter's lock); the worker sends each chunk back
    packed (`_Packed`) through a pipe as soon as it is read, and a thread here receives them, so the worker
    never waits for this process. If the worker dies, the pipe ends (this process keeps no write end) and
    the chunks it had taken are known: nothing hangs and nothing is lost."""

    def __init__(
        self, items: list[list[tuple[Path, str, str]]], schema_path: Path, today: date, key: bytes | None
    ) -> None:
        import threading

        ctx = _start_fork_server()
        self.count = len(items)
        self.counter: Any = ctx.Value("i", 0)
        self.owner: Any = ctx.Array("b", self.count, lock=False)  # 1: taken by the worker
        self.reader, writer = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=_helper_main,
            args=(items, schema_path, today, key, self.counter, self.owner, writer, os.getpid()),
            daemon=True,
        )
        self.received: list[tuple[int, Any]] = []
        self.ended = False
        self.cond = threading.Condition()
        # start() waits until the fork server has imported polars (~0.6 s): in a thread, while this process
        # goes on reading; the same thread then receives the worker's chunks.
        self.thread = threading.Thread(target=self._run, args=(writer,), daemon=True)
        self.thread.start()

    @classmethod
    def start(
        cls, items: list[list[tuple[Path, str, str]]], schema_path: Path, today: date, key: bytes | None
    ) -> _Helper | None:
        """A helper, or None if no worker can be started here (then this process reads every chunk)."""
        try:
            return cls(items, schema_path, today, key)
        except (OSError, ValueError, RuntimeError):
            return None

    def _run(self, writer: Any) -> None:
        try:
            try:
                self.process.start()
            finally:
                writer.close()  # the worker has its own copy: the pipe ends when the worker does
            while True:
                message = self.reader.recv()
                with self.cond:
                    self.received.append(message)
                    self.cond.notify_all()
        except Exception:  # EOF (the worker is done or dead), or no worker could be started
            pass
        finally:
            with self.cond:
                self.ended = True
                self.cond.notify_all()

    def take(self) -> int | None:
        """The next chunk for this process, or None when every chunk has been taken."""
        return _claim(self.counter, self.owner, self.count, 0)

    def returned(self) -> list[tuple[int, list[ParsedFile]]]:
        """The chunks the worker has sent back so far (unpacked here), without waiting."""
        with self.cond:
            got, self.received = self.received, []
        return [(k, _unpack(packed)) for k, packed in got]

    def theirs(self) -> set[int]:
        """The chunks the worker took."""
        with self.counter.get_lock():
            return {k for k in range(self.count) if self.owner[k] == 1}

    def finish(self) -> list[tuple[int, list[ParsedFile]]]:
        """Once every chunk is taken: wait for those the worker took, until it has sent them all or died."""
        out: list[tuple[int, list[ParsedFile]]] = []
        while True:
            with self.counter.get_lock():
                all_taken = int(self.counter.value) >= self.count
            theirs = self.theirs()
            out.extend(self.returned())
            with self.cond:
                if (all_taken and theirs <= {k for k, _ in out}) or (self.ended and not self.received):
                    return out
                self.cond.wait(timeout=0.5)

    def close(self) -> None:
        """End the worker if it is still there (it has nothing left to take); never waits for its start."""
        if self.process.pid is not None and self.process.is_alive():
            self.process.kill()
        with self.cond:
            ended = self.ended
        if ended:
            self.reader.close()


def _start_fork_server() -> Any:
    """Start the fork server the reading worker is forked from (at once, and once): it imports polars and the
    reader (~0.6 s) on the other core while this process opens the store. Returns the multiprocessing context."""
    import multiprocessing
    from multiprocessing import forkserver

    from cvg_pipeline.files import private_mp_tempdir

    private_mp_tempdir()  # its socket in `cvg-mp-<pid>-…`, removed at exit or by the next run (not `pymp-…`)
    ctx = multiprocessing.get_context("forkserver")
    # Imported once by the fork server, before any thread exists there; the worker is a fork of it.
    ctx.set_forkserver_preload(["cvg_pipeline.read.workbook", "cvg_pipeline.read.normalise", "cvg_pipeline.check.validate", "fastexcel"])
    # One polars thread in the worker: this process already fills the other core.
    before = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = "1"
    try:
        forkserver.ensure_running()  # the fork server (and the worker it forks) take the environment now
    finally:
        if before is None:
            del os.environ["POLARS_MAX_THREADS"]
        else:
            os.environ["POLARS_MAX_THREADS"] = before
    return ctx


def _claim(counter: Any, owner: Any, count: int, reader: int) -> int | None:
    """The next chunk number for `reader` (0: the command, 1: the worker), recorded in `owner`; None when all
    are taken."""
    with counter.get_lock():
        k = int(counter.value)
        if k >= count:
            return None
        owner[k] = reader
        counter.value = k + 1
        return k


def _helper_main(
    items: list[list[tuple[Path, str, str]]],
    schema_path: Path,
    today: date,
    key: bytes | None,
    counter: Any,
    owner: Any,
    writer: Any,
    parent: int,
) -> None:
    """The worker process: take chunk numbers until none is left, send each chunk back as soon as it is read.

    Any failure ends the worker quietly (no traceback on the command's stderr): the chunk it held is read
    again, one file per process, by the command (`read_files`)."""
    _exit_with_parent(parent)
    try:
        while (k := _claim(counter, owner, len(items), 1)) is not None:
            writer.send((k, _read_chunk_packed(items[k], schema_path, today, key)))
    except Exception:
        return
    finally:
        writer.close()


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when the `cvg` process that started it is gone (e.g. SIGKILL),
    instead of lingering with its memory and the dead command's output pipes."""
    import threading
    import time

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pragma: no cover - the pid was reused by another user's process
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _read_isolated(
    path: Path, fichier: str, sha: str, schema: Schema, today: date, key: bytes | None = None
) -> ParsedFile:
    """Read one file in its own worker process, so that a parser crash only loses that file."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        try:
            return pool.submit(_read_one, path, fichier, sha, schema.path, today, key).result()
        except BrokenProcessPool:
            return _crashed(path, fichier, sha)


# -- the pipeline -------------------------------------------------------------------------------------------


def _result(pf: ParsedFile, statut: str) -> FileResult:
    s = pf.structure
    return FileResult(
        path=pf.path,
        fichier=pf.fichier,
        statut=statut,
        sha256=pf.sha256,
        structure=s.nom if s else None,
        siret=s.siret if s else None,
        territoire=s.territoire if s else None,
        date_arrete=s.date_arrete if s else None,
        lignes=pf.data.height if pf.data is not None else None,
        # the reader names the file alone: its issues get the name shown (`lyon/aci.xlsx`)
        issues=_ordered([i if i.fichier == pf.fichier else replace(i, fichier=pf.fichier) for i in pf.issues]),
    )


def _ordered(issues: list[Issue]) -> list[Issue]:
    """Errors first; file and structure issues before cells; then by Excel row and column."""

    def key(i: Issue) -> tuple[int, int, int, int, str]:
        letter = i.lettre or ""
        return (0 if i.is_error else 1, 0 if i.ligne is None else 1, i.ligne or 0, len(letter), letter)

    return sorted(issues, key=key)


def _hash_all(candidates: Sequence[Candidate]) -> tuple[list[tuple[Candidate, str]], list[FileResult]]:
    """sha256 of every candidate (hash first: known bytes are never parsed); unreadable files are rejected.
    In this thread: for workbooks of a few tens of kB, two threads are 3× slower (measured: 70 ms against
    24 ms for the 700 files of the benchmark)."""
    hashed: list[tuple[Candidate, str]] = []
    unreadable: list[FileResult] = []
    for c in candidates:
        try:
            hashed.append((c, sha256_file(c.path)))
        except OSError as exc:
            unreadable.append(
                FileResult(
                    c.path, c.name, REJETE,
                    issues=[issue("fichier-illisible", c.name, detail=erreur_systeme(exc))],
                )
            )
    return hashed, unreadable


def _already_stored(hashed: Sequence[tuple[Candidate, str]], known: dict[str, tuple[Any, ...]]) -> list[FileResult]:
    return [
        FileResult(c.path, c.name, DEJA_INTEGRE, sha, *known.get(sha, (None,) * 5)) for c, sha in hashed
    ]


def _parse_and_validate(
    hashed: Sequence[tuple[Candidate, str]],
    schema: Schema,
    *,
    known: dict[str, tuple[Any, ...]],
    today: date,
    progress: Progress,
    key: bytes | None = None,
    one_per_arrete: bool = False,
) -> tuple[list[FileResult], list[ParsedFile], dict[str, list[Candidate]]]:
    """Skip known bytes, read the rest in parallel, validate all at once.

    Returns the results of files that need no storing (already there, rejected), the parsed files without
    errors, and the other files of the run with the same bytes as one of those (sha256 → files), which are
    neither read nor stored again (`déjà intégré` once it is stored).

    - A file is known by the hash of the bytes parsed (the reader's): a file replaced on disk after it was
      hashed is stored under its new content's hash, and the files that had its old bytes are read too.
    - The same bytes twice in a run are read once; refused, they are refused under each name, with the same
      errors (and each gets its error workbook).
    - `one_per_arrete` (ingest): accepted files with the same SIRET and Date d'arrêté but different bytes
      are all refused (`arrete-en-double`): which one is right is the analyst's choice, never the order of
      the names. A file with the bytes already stored is not one of them (it is `déjà intégré`).
    """
    done: list[FileResult] = []
    todo: list[tuple[Candidate, str]] = []  # read: the first file of each new content
    copies: list[list[Candidate]] = []  # todo[k]'s later files with the same bytes
    first: dict[str, int] = {}
    for c, sha in hashed:
        if sha in known:
            done.extend(_already_stored([(c, sha)], known))
        elif sha in first:
            copies[first[sha]].append(c)
        else:
            first[sha] = len(todo)
            todo.append((c, sha))
            copies.append([])

    def read(items: Sequence[tuple[Candidate, str]]) -> list[ParsedFile]:
        return read_files([(c.path, c.name, sha) for c, sha in items], schema, today=today, progress=progress, key=key)

    parsed = read(todo)
    # Replaced since hashed: its copies had the old bytes, they are read on their own.
    again = [(c, sha) for (_, sha), pf, cs in zip(todo, parsed, copies, strict=True) if pf.sha256 != sha for c in cs]
    if again:
        copies = [[] if pf.sha256 != sha else cs for (_, sha), pf, cs in zip(todo, parsed, copies, strict=True)]
        parsed += read(again)
        todo += again
        copies += [[] for _ in again]
    kept: list[int] = []
    owner: dict[str, int] = {}
    for k, pf in enumerate(parsed):
        files = [todo[k][0], *copies[k]]
        if pf.sha256 in known:  # replaced on disk by bytes already stored
            done.extend(_already_stored([(c, pf.sha256) for c in files], known))
        elif pf.sha256 in owner:  # replaced on disk by bytes read under another name
            copies[owner[pf.sha256]].extend(files)
        else:
            owner[pf.sha256] = k
            kept.append(k)
    if kept:
        progress("validation", 0, 1)
        from cvg_pipeline.check.validate import validate

        validate([parsed[k] for k in kept if parsed[k].data is not None], schema)
        progress("validation", 1, 1)
    good = [k for k in kept if parsed[k].ok and _storable(parsed[k])]
    if one_per_arrete:
        doubles = _same_arrete({k: parsed[k] for k in good})
        good = [k for k in good if k not in doubles]
    accepted = set(good)
    refused = [k for k in kept if k not in accepted]  # the set built once: thousands of files per run
    for k in refused:
        result = _result(parsed[k], REJETE)
        done.append(result)
        done.extend(_copy(result, c, REJETE) for c in copies[k])
    return done, [parsed[k] for k in good], {parsed[k].sha256: copies[k] for k in good if copies[k]}


def _same_arrete(files: dict[int, ParsedFile]) -> set[int]:
    """The files (keys) that share their SIRET and Date d'arrêté with another one: each gets an
    `arrete-en-double` error naming the others (by path when two have the same name)."""
    groups: dict[tuple[str | None, date | None], list[int]] = {}
    for k, pf in files.items():
        assert pf.structure is not None
        groups.setdefault((pf.structure.siret, pf.structure.date_arrete), []).append(k)
    out: set[int] = set()
    for (siret, arrete), ks in groups.items():
        if len(ks) < 2:
            continue
        names = [files[k].fichier for k in ks]
        for k in ks:
            others = [
                str(files[j].path) if names.count(files[j].fichier) > 1 else files[j].fichier for j in ks if j != k
            ]
            pf = files[k]
            pf.issues.append(issue(
                "arrete-en-double", pf.fichier, siret=siret, date_arrete=arrete.strftime("%d/%m/%Y") if arrete else "",
                autres=" et ".join(f"« {o} »" for o in others),
            ))
            out.add(k)
    return out


def _copy(result: FileResult, c: Candidate, statut: str) -> FileResult:
    """`result` for another file of the run with the same bytes: refused, with the same errors (under its own
    name); stored or not, without repeating the warnings."""
    name = c.name
    issues = [replace(i, fichier=name) for i in result.issues] if statut == REJETE else []
    return replace(result, path=c.path, fichier=name, statut=statut, issues=issues)


def _storable(pf: ParsedFile) -> bool:
    s = pf.structure
    return (
        s is not None
        and pf.data is not None
        and s.siret is not None
        and s.date_arrete is not None
        and s.nom is not None
        and s.territoire is not None
    )


def verify_paths(
    paths: Iterable[Path | str],
    *,
    schema: Schema | None = None,
    today: date | None = None,
    progress: Progress = _no_progress,
) -> list[FileResult]:
    """`cvg verifier`: the same reading and validation as ingest, nothing stored. Accepted files: `valide`."""
    from cvg_pipeline.schema.load import load_schema

    schema = schema or load_schema()
    candidates, skipped = discover(paths)
    hashed, unreadable = _hash_all(candidates)
    done, good, copies = _parse_and_validate(hashed, schema, known={}, today=today or aujourdhui(), progress=progress)
    done = unreadable + done
    valid = [_result(pf, VERIFIE) for pf in good]
    same = [_copy(r, c, DEJA_INTEGRE) for r in valid for c in copies.get(r.sha256 or "", [])]
    results = skipped + done + valid + same
    # `déjà intégré` here only means the same bytes were given twice
    return _in_order(results, candidates, skipped)


def _in_order(
    results: list[FileResult], candidates: Sequence[Candidate], skipped: list[FileResult]
) -> list[FileResult]:
    rank = {c.path: n for n, c in enumerate(candidates)}
    not_read = {id(r) for r in skipped}  # skipped or refused by `discover`: listed first, once
    return skipped + sorted((r for r in results if id(r) not in not_read), key=lambda r: rank.get(r.path, 0))


_NOTHING_STORED = "interrompu : rien n'a été enregistré, la base est restée telle qu'avant."


def ingest_paths(
    paths: Iterable[Path | str],
    store_path: Path,
    *,
    schema: Schema | None = None,
    today: date | None = None,
    progress: Progress = _no_progress,
) -> IngestResult:
    """`cvg ingest`: read, validate and store every file found under `paths` into the store (`_ingest_paths`).

    Ctrl-C (or SIGTERM) before anything is stored raises Interrupted (« rien n'a été enregistré »); once
    something is, the result says what (`IngestResult.interrompu`). An interrupt is recognised however it
    surfaces: KeyboardInterrupt, or DuckDB's « Query interrupted » when it came during a statement."""
    with _watch_interrupts() as seen:
        try:
            return _ingest_paths(paths, store_path, schema=schema, today=today, progress=progress, seen=seen)
        except Exception:
            if not seen[0]:
                raise
            raise Interrupted(_NOTHING_STORED) from None
        except KeyboardInterrupt:
            raise Interrupted(_NOTHING_STORED) from None


def _ingest_paths(
    paths: Iterable[Path | str],
    store_path: Path,
    *,
    schema: Schema | None,
    today: date | None,
    progress: Progress,
    seen: list[bool],
) -> IngestResult:
    """`cvg ingest`: read, validate and store every file found under `paths` into the store.

    When every file's bytes are already stored, the store's index (store/index.py) says so without opening
    DuckDB: nothing is parsed and nothing is written. No workbook at all is an error (a wrong folder?):
    nothing is opened nor created.
    """
    candidates, skipped = discover(paths)
    if not store_path.exists():  # refused before anything is read or created: `cvg init` creates a store
        from cvg_pipeline.store.checks import missing_store_message

        raise CvgError(missing_store_message(store_path))
    if not candidates:
        raise CvgError(_no_workbook_message(paths, skipped))
    hashed, unreadable = _hash_all(candidates)
    indexed = _known_from_index(store_path) if not unreadable else None
    if indexed is not None and all(sha in indexed[0] for _, sha in hashed):
        known, names = indexed
        files = _in_order(skipped + _already_stored(hashed, known), candidates, skipped)
        return IngestResult(files, store_path, territoire_names=names)
    from cvg_pipeline.schema.load import load_schema
    from cvg_pipeline.store.db import known_hashes, open_store

    schema = schema or load_schema()
    new = len(hashed) if indexed is None else sum(sha not in indexed[0] for _, sha in hashed)
    if new >= MIN_FILES_FOR_WORKER:
        with contextlib.suppress(OSError, ValueError, RuntimeError):  # else read_files reads in this process
            _start_fork_server()  # its imports overlap the opening of the store
    writer: SnapshotWriter | None = None
    done: list[FileResult] = []
    good: list[ParsedFile] = []
    copies: dict[str, list[Candidate]] = {}
    failure: str | None = None
    interrupted = False
    try:
        with open_store(store_path, read_only=False) as con:  # a missing store is refused: `cvg init` creates it
            known = known_hashes(con)
            writer = SnapshotWriter(con, schema)
            done, good, copies = _parse_and_validate(
                hashed, schema, known=known, today=today or aujourdhui(), progress=progress, key=writer.key,
                one_per_arrete=True,
            )
            if seen[0]:  # Ctrl-C that a parser (Rust) turned into its own error, i.e. a file « illisible »
                raise KeyboardInterrupt
            # Oldest snapshot first, so that a batch holding several months of one ACI ends on its latest.
            order = sorted(good, key=lambda p: (p.structure.siret, p.structure.date_arrete))  # type: ignore[union-attr]
            writer.store_all(order, progress)
            try:
                record_refusals(con, [*unreadable, *done], datetime.now().replace(microsecond=0))
            except Exception as exc:  # a full disk here too: said as such, with what was stored before
                cause = _write_failure(exc)
                if cause is None:
                    raise
                raise StoreFailed(cause) from exc
    except StoreFailed as exc:
        failure = exc.cause
    except BaseException as exc:
        if not isinstance(exc, KeyboardInterrupt) and not (seen[0] and isinstance(exc, Exception)):
            raise
        if writer is None or not (writer.stored or writer.unknown):
            raise Interrupted(_NOTHING_STORED) from None
        interrupted = True
    assert writer is not None
    stored = {r.sha256: r for r in writer.stored}
    left = [_result(pf, NON_ENREGISTRE) for pf in good if pf.sha256 not in stored]
    results = list(stored.values()) + left
    same = [
        _copy(r, c, DEJA_INTEGRE if r.statut != NON_ENREGISTRE else NON_ENREGISTRE)
        for r in results
        for c in copies.get(r.sha256 or "", [])
    ]
    files = _in_order(skipped + unreadable + done + results + same, candidates, skipped)
    echec = None
    if interrupted:
        echec = _interrupted_message(len(stored), len(left), writer.unknown)
    elif failure is not None:
        echec = _failure_message(failure, len(stored), len(left), writer.unknown)
    return IngestResult(files, store_path, echec=echec, interrompu=interrupted)


def _interrupted_message(stored: int, left: int, unknown: bool) -> str:
    from cvg_pipeline.fr import pluriel

    if unknown:
        return (
            "interrompu pendant l'enregistrement, qui a peut-être abouti : relancez la même commande, les "
            "fichiers déjà enregistrés seront reconnus."
        )
    if not left:
        return f"interrompu après l'enregistrement : {pluriel(stored, 'fichier enregistré', 'fichiers enregistrés')} (voir le tableau)."
    return (
        f"interrompu pendant l'enregistrement : {pluriel(stored, 'fichier enregistré', 'fichiers enregistrés')}, "
        f"{pluriel(left, 'fichier valide non enregistré', 'fichiers valides non enregistrés')} (voir le tableau). "
        "Relancez la même commande pour les intégrer : les fichiers déjà enregistrés seront reconnus."
    )


def _failure_message(cause: str, stored: int, left: int, unknown: bool) -> str:
    from cvg_pipeline.fr import pluriel

    if unknown:
        what = "impossible de relire la base pour savoir si le dernier lot a été enregistré"
    elif not stored:
        what = "aucun fichier n'a été enregistré, la base est restée telle qu'avant"
    else:
        what = f"{pluriel(stored, 'fichier a été enregistré', 'fichiers ont été enregistrés')} (complets) avant l'erreur"
    return (
        f"enregistrement impossible : {cause}. {what[:1].upper() + what[1:]} ; "
        f"{pluriel(left, 'fichier valide non enregistré', 'fichiers valides non enregistrés')} (voir le tableau). "
        "Réglez le problème, puis relancez la même commande : les fichiers déjà enregistrés seront reconnus."
    )


def _no_workbook_message(paths: Iterable[Path | str], skipped: Sequence[FileResult]) -> str:
    where = ", ".join(f"« {p} »" for p in paths)
    ignored = f" ({len(skipped)} fichier(s) ignoré(s) : pas des classeurs de reporting)" if skipped else ""
    kinds = ", ".join(SPREADSHEET_EXTENSIONS)
    return f"aucun classeur ({kinds}) trouvé dans {where}{ignored} : rien n'a été lu ni enregistré."


def _known_from_index(store_path: Path) -> tuple[dict[str, tuple[Any, ...]], dict[str, str] | None] | None:
    """The store's index (and territoire names), read under the store's shared lock; None if absent or stale
    (then DuckDB is read)."""
    from cvg_pipeline.store import index as store_index
    from cvg_pipeline.store.locking import store_lock

    if not store_path.is_file():
        return None
    with store_lock(store_path, exclusive=False, wait=None):
        return store_index.load(store_path)


# -- storing ------------------------------------------------------------------------------------------------

# What the system says when a file cannot be written (DuckDB quotes it: « Could not write file "…": … »).
_WRITE_ERRORS = {
    "No space left on device": "disque plein",
    "Disk quota exceeded": "quota disque dépassé",
    "File too large": "disque plein ou taille maximale d'un fichier atteinte",
}


def _write_failure(exc: BaseException) -> str | None:
    """A failure to write the store, in French, with the file and the free space of its disk; None if `exc`
    is another kind of error. The exceptions it was raised from count (a ROLLBACK that fails after a failed
    COMMIT says « no transaction is active », not why the COMMIT failed)."""
    import re
    import shutil

    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    exc = next((e for e in chain if _is_write_error(e)), exc)
    text = str(exc)
    why = next((fr for en, fr in _WRITE_ERRORS.items() if en in text), None)
    if why is None:
        if not _is_write_error(exc):
            return None
        why = "écriture impossible sur le disque"
    where = re.search(r'file "([^"]+)"', text)
    if where is None:
        return why
    path = Path(where.group(1))
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return f"{why} en écrivant « {path} »"
    from cvg_pipeline.fr import entier

    return f"{why} en écrivant « {path} » ({entier(free // 1_000_000)} Mo libres sur ce disque)"


def _is_write_error(exc: BaseException) -> bool:
    import duckdb

    text = str(exc)
    return (
        any(en in text for en in _WRITE_ERRORS)
        or isinstance(exc, duckdb.IOException | duckdb.FatalException)
        or "Could not write" in text
    )


@contextlib.contextmanager
def _watch_interrupts() -> Iterator[list[bool]]:
    """While storing, remember that SIGINT (or SIGTERM, handled like it) came (`seen[0]`): DuckDB turns the
    KeyboardInterrupt of its handler into « Query interrupted » (a RuntimeError) when it arrives during a
    statement, and an interrupt is never a reason to retry."""
    import signal
    import threading

    seen = [False]
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def watching(before: Callable[[int, Any], Any]) -> Callable[[int, Any], None]:
        def handler(signum: int, frame: Any) -> None:
            seen[0] = True
            before(signum, frame)

        return handler

    for sig, before in previous.items():
        if callable(before):  # a Python handler (Ctrl-C's KeyboardInterrupt, files.handle_interrupts)
            signal.signal(sig, watching(before))
    try:
        yield seen
    finally:
        for sig, before in previous.items():
            if callable(before):
                signal.signal(sig, before)


def hmac_key(con: duckdb.DuckDBPyConnection) -> bytes:
    """The store's pseudonymisation key (never printed nor exported)."""
    from cvg_pipeline.check.errors import CvgError

    rows = con.execute("SELECT valeur FROM meta WHERE cle = 'cle_hmac'").fetchall()
    if not rows:
        from cvg_pipeline.store.extract import EXTRACT_MESSAGE, is_extract

        if is_extract(con):  # `cvg extraire` writes no key: an extract cannot ingest
            raise CvgError(EXTRACT_MESSAGE)
        raise CvgError("La base est incomplète (clé de pseudonymisation absente) : recréez-la.")
    return bytes.fromhex(str(rows[0][0]))


def pseudonymise(ids: Sequence[str | None], siret: str, key: bytes) -> list[str | None]:
    """HMAC-SHA256(key, SIRET + "\\x1f" + normalised id) in hex, for each identifier (None stays None).

    The identifier is normalised first (identifiers.normalise_identifier, pseudonym version
    identifiers.PSEUDONYM_VERSION): look-alike spellings of one identifier give one pseudonym. The reader
    has normalised them already (so that duplicates are found on the same values); doing it again here
    costs little (~0.1 µs an identifier) and holds for any caller.

    RFC 2104 spelled out with the two padded-key states hashed once and copied for each identifier: the
    same digests as `hmac.digest`, about twice as fast (tests/test_ingest.py compares them)."""
    from cvg_pipeline.read.identifiers import normalise_identifier

    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    prefix = (siret + "\x1f").encode()
    out: list[str | None] = []
    for i in ids:
        if i is None:
            out.append(None)
            continue
        h = inner.copy()
        h.update(prefix + normalise_identifier(i).encode())
        o = outer.copy()
        o.update(h.digest())
        out.append(o.hexdigest())
    return out


_SHA256_BLOCK = 64


def add_pseudonyms(files: Sequence[ParsedFile], key: bytes) -> None:
    """Add the pseudonymised identifier (PSEUDO_COLUMN) to the rows of every file whose SIRET is known: done
    by the readers, in parallel, so that storing only copies it."""
    import polars as pl

    for pf in files:
        if pf.data is None or pf.structure is None or pf.structure.siret is None or pf.data.height == 0:
            continue
        pf.data = pf.data.with_columns(pl.Series(PSEUDO_COLUMN, _pseudonyms(pf, key), dtype=pl.String))


def _pseudonyms(pf: ParsedFile, key: bytes) -> list[str | None]:
    assert pf.data is not None and pf.structure is not None and pf.structure.siret is not None
    if PSEUDO_COLUMN in pf.data.columns:
        return pf.data.get_column(PSEUDO_COLUMN).to_list()
    return pseudonymise(pf.data.get_column("id_salarie").to_list(), pf.structure.siret, key)


def _codes(issues: Iterable[Issue]) -> str:
    """Codes and counts only (never a message nor a value), as JSON: kept in the store."""
    return json.dumps(dict(sorted(Counter(i.code for i in issues).items())), ensure_ascii=False)


def _non_cumulative_warning(fichier: str, before: pl.DataFrame, prev_date: date, new: pl.DataFrame) -> list[Issue]:
    """`fichier-non-cumulatif` (spec §5): parcours of the previous snapshot that had ended by its Date
    d'arrêté and that the new file no longer lists (same pseudonymised identifier and Date d'entrée)."""
    import polars as pl

    keys = ["id_salarie", "date_entree"]
    ended = before.filter(pl.col("date_sortie").is_not_null() & (pl.col("date_sortie") <= prev_date))
    missing = ended.select(keys).join(new.select(keys), on=keys, how="anti").height
    if not missing:
        return []
    return [issue("fichier-non-cumulatif", fichier, nombre=missing, date_arrete_precedente=prev_date.strftime("%d/%m/%Y"))]


class ArrowStream:
    """A polars frame seen by DuckDB through the Arrow C stream interface only (zero copy). Registered as it
    is, a polars frame is converted by `to_arrow()`, which imports pyarrow: ~0.2 s of every ingest."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self.frame.__arrow_c_stream__(requested_schema)


class SnapshotWriter:
    """Stores accepted files with one DuckDB connection (the only writer): all the files of a run in one
    transaction, or one transaction per file (the fallback), both by `_store_batch`.

    What the decisions need (the stored snapshots' SIRET and Date d'arrêté, the `aci` rows) is read once and
    kept up to date here, so that each file costs only the statements that change the store.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: Schema) -> None:
        from cvg_pipeline.store.db import parcours_columns

        self.con = con
        self.schema = schema
        self.key = hmac_key(con)
        self.columns = [name for name, _ in parcours_columns(schema)]
        self.snapshots: dict[str, dict[date, int]] = {}
        for snapshot_id, siret, arrete in con.execute(
            "SELECT snapshot_id, siret, date_arrete FROM snapshots"
        ).fetchall():
            self.snapshots.setdefault(siret, {})[arrete] = int(snapshot_id)
        self.aci: dict[str, tuple[str, str, list[str]]] = {
            siret: (nom, territoire, list(supports))
            for siret, nom, territoire, supports in con.execute(
                "SELECT siret, nom, territoire, supports FROM aci"
            ).fetchall()
        }
        self.stored: list[FileResult] = []  # the files committed by this writer, in order
        self.unknown = False  # a failed transaction whose outcome the store could not tell

    def store_all(self, files: Sequence[ParsedFile], progress: Progress = _no_progress) -> list[FileResult]:
        """Store accepted files (oldest Date d'arrêté first within an ACI) in ONE transaction.

        A DuckDB commit costs 15-30 ms (56 columns), more than reading a file: the files of one run are
        stored together. They are all validated already (a rejected file is never in the batch), and the
        transaction is all or nothing, so each snapshot is still wholly old or wholly new, even if the
        process is killed. If the batch fails, or holds the same SIRET and Date d'arrêté twice, the files
        are stored one transaction each (a batch of one file).

        Never retried: an interrupt (Ctrl-C) nor a failure to write the store (full disk…), which would only
        commit some files before failing the same way, or commit files twice. An interrupt raises
        KeyboardInterrupt, a write failure StoreFailed, once `stored` lists what the store holds.
        """
        if not files:
            return []
        pairs = {(pf.structure.siret, pf.structure.date_arrete) for pf in files if pf.structure is not None}
        with _watch_interrupts() as seen:
            if len(files) > 1 and len(pairs) == len(files):
                try:
                    results = self._store_batch(files, seen)
                except (KeyboardInterrupt, StoreFailed):
                    raise
                except Exception:  # the batch was rolled back: file by file below
                    pass
                else:
                    progress("enregistrement", len(files), len(files))
                    return results
            out: list[FileResult] = []
            for n, pf in enumerate(files, 1):
                try:
                    out.extend(self._store_batch([pf], seen))
                except (KeyboardInterrupt, StoreFailed):
                    raise
                except Exception as exc:  # the files before are stored: say which, never a bare traceback
                    raise StoreFailed(
                        f"erreur inattendue de la base ({type(exc).__name__}) en enregistrant « {pf.fichier} »"
                    ) from exc
                progress("enregistrement", n, len(files))
            return out

    def _store_batch(self, files: Sequence[ParsedFile], seen: list[bool] | None = None) -> list[FileResult]:
        """Store files in one transaction and add their results to `stored`; see `_write_batch`.

        An interrupt (KeyboardInterrupt, or DuckDB's « Query interrupted » once SIGINT was `seen`) is raised as
        KeyboardInterrupt, a failure to write the store as StoreFailed; other errors as they are."""
        try:
            return self._write_batch(files, seen)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            if seen and seen[0]:
                raise KeyboardInterrupt from exc
            cause = _write_failure(exc)
            if cause is not None:
                raise StoreFailed(cause) from exc
            raise

    def _write_batch(self, files: Sequence[ParsedFile], seen: list[bool] | None) -> list[FileResult]:
        """Store files in one transaction, with a handful of bulk statements (Arrow); return their results.
        The cached state follows the committed transaction only.

        If anything fails, the transaction is rolled back (if DuckDB has not ended it: a COMMIT that fails
        does) and the store is asked whether it was committed all the same (an interrupt during or just after
        the COMMIT): if so, the files count as stored, and only an interrupt is raised again."""
        import polars as pl

        con = self.con
        n = len(files)
        now = datetime.now().replace(microsecond=0)
        snapshot_ids = [int(r[0]) for r in con.execute("SELECT nextval('snapshot_seq') FROM range(?)", [n]).fetchall()]
        log_ids = [int(r[0]) for r in con.execute("SELECT nextval('ingest_log_seq') FROM range(?)", [n]).fetchall()]
        # Decisions, file by file, on a copy of the cached state (the batch may hold several months of an ACI).
        state: dict[str, dict[date, int]] = {}
        aci = dict(self.aci)
        replaced: list[int] = []
        statuts: list[str] = []
        previous: list[tuple[int, date] | None] = []  # the earlier snapshot a file is compared with
        aci_new: dict[str, tuple[str, str, list[str]]] = {}
        aci_changed: dict[str, tuple[str, str, list[str]]] = {}
        for k, pf in enumerate(files):
            s = pf.structure
            assert s is not None and pf.data is not None
            assert s.siret is not None and s.date_arrete is not None and s.nom is not None and s.territoire is not None
            siret, arrete = s.siret, s.date_arrete
            stored = state.setdefault(siret, dict(self.snapshots.get(siret, {})))
            old_id = stored.pop(arrete, None)
            if old_id is not None:
                replaced.append(old_id)
                statut = REMPLACE
            elif stored and max(stored) > arrete:
                statut = HISTORIQUE
            else:
                statut = INTEGRE
            statuts.append(statut)
            earlier = [d for d in stored if d < arrete]
            previous.append((stored[max(earlier)], max(earlier)) if earlier else None)
            stored[arrete] = snapshot_ids[k]
            row = (s.nom, s.territoire, list(s.supports))
            if statut != HISTORIQUE and aci.get(siret) != row:
                (aci_changed if siret in self.aci else aci_new)[siret] = row
                aci[siret] = row
        rows = self._rows(files, snapshot_ids)
        offsets = [0]
        for pf in files:
            offsets.append(offsets[-1] + pf.data.height)  # type: ignore[union-attr]
        frames = [rows.slice(offsets[k], offsets[k + 1] - offsets[k]) for k in range(n)]
        warnings = self._non_cumulative(files, previous, frames, {sid: k for k, sid in enumerate(snapshot_ids)})
        all_warnings = [[i for i in pf.issues if not i.is_error] + w for pf, w in zip(files, warnings, strict=True)]
        snaps = pl.DataFrame(
            {
                "snapshot_id": snapshot_ids,
                "siret": [pf.structure.siret for pf in files],  # type: ignore[union-attr]
                "date_arrete": [pf.structure.date_arrete for pf in files],  # type: ignore[union-attr]
                "sha256": [pf.sha256 for pf in files],
                "fichier": [pf.fichier for pf in files],
                "ingere_le": [now] * n,
                "nb_lignes": [pf.data.height for pf in files],  # type: ignore[union-attr]
                "avertissements": [_codes(w) for w in all_warnings],
                "nom": [pf.structure.nom for pf in files],  # type: ignore[union-attr]
                "territoire": [pf.structure.territoire for pf in files],  # type: ignore[union-attr]
                "supports": [list(pf.structure.supports) for pf in files],  # type: ignore[union-attr]
            },
            schema_overrides={"snapshot_id": pl.Int32, "nb_lignes": pl.Int32, "supports": pl.List(pl.String)},
        )
        log = pl.DataFrame(
            {
                "log_id": log_ids,
                "ingere_le": [now] * n,
                "fichier": snaps.get_column("fichier"),
                "sha256": snaps.get_column("sha256"),
                "siret": snaps.get_column("siret"),
                "date_arrete": snaps.get_column("date_arrete"),
                "statut": statuts,
                "nb_erreurs": [0] * n,
                "nb_avertissements": [len(w) for w in all_warnings],
                "codes": snaps.get_column("avertissements"),
            },
            schema_overrides={"log_id": pl.Int32, "nb_erreurs": pl.Int32, "nb_avertissements": pl.Int32},
        )

        def aci_frame(entries: dict[str, tuple[str, str, list[str]]]) -> pl.DataFrame:
            return pl.DataFrame(
                {
                    "siret": list(entries),
                    "nom": [v[0] for v in entries.values()],
                    "territoire": [v[1] for v in entries.values()],
                    "supports": [v[2] for v in entries.values()],
                },
                schema={"siret": pl.String, "nom": pl.String, "territoire": pl.String, "supports": pl.List(pl.String)},
            )

        headers = pl.DataFrame(
            {"snapshot_id": snapshot_ids, "colonnes": [present_columns(pf) for pf in files]},
            schema={"snapshot_id": pl.Int32, "colonnes": pl.List(pl.String)},
        )
        views = {
            "cvg_b_headers": headers,
            "cvg_b_parcours": rows,
            "cvg_b_snapshots": snaps,
            "cvg_b_log": log,
            "cvg_b_aci_new": aci_frame(aci_new),
            "cvg_b_aci_changed": aci_frame(aci_changed),
        }
        for name, frame in views.items():
            con.register(name, ArrowStream(frame))
        failure: BaseException | None = None  # raised after the COMMIT had gone through
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                if replaced:
                    con.execute("DELETE FROM parcours WHERE list_contains(?::INTEGER[], snapshot_id)", [replaced])
                    con.execute("DELETE FROM snapshots WHERE list_contains(?::INTEGER[], snapshot_id)", [replaced])
                    con.execute("DELETE FROM colonnes_fichier WHERE list_contains(?::INTEGER[], snapshot_id)", [replaced])
                con.execute(f"INSERT INTO snapshots ({', '.join(snaps.columns)}) SELECT * FROM cvg_b_snapshots")
                columns = ", ".join(self.columns)
                con.execute(f"INSERT INTO parcours ({columns}) SELECT {columns} FROM cvg_b_parcours")
                if aci_new:
                    con.execute("INSERT INTO aci (siret, nom, territoire, supports) SELECT * FROM cvg_b_aci_new")
                if aci_changed:
                    con.execute(
                        "UPDATE aci SET nom = c.nom, territoire = c.territoire, supports = c.supports "
                        "FROM cvg_b_aci_changed c WHERE aci.siret = c.siret"
                    )
                con.execute(f"INSERT INTO ingest_log ({', '.join(log.columns)}) SELECT * FROM cvg_b_log")
                con.execute("INSERT INTO colonnes_fichier (snapshot_id, colonnes) SELECT * FROM cvg_b_headers")
                con.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(Exception):  # « no transaction is active » after a failed COMMIT
                    con.execute("ROLLBACK")
                committed = self._holds(snapshot_ids)
                if not committed:
                    self.unknown = committed is None
                    raise
                failure = exc
        finally:
            for name in views:
                with contextlib.suppress(Exception):  # never masks the failure being raised
                    con.unregister(name)
        # The cached state follows the committed transaction only.
        for siret, dates in state.items():
            self.snapshots[siret] = dates
        self.aci = aci
        results = []
        for pf, w, statut in zip(files, warnings, statuts, strict=True):
            pf.issues.extend(w)
            results.append(_result(pf, statut))
        self.stored.extend(results)
        if failure is not None and (isinstance(failure, KeyboardInterrupt) or (seen and seen[0])):
            raise KeyboardInterrupt from failure
        return results

    def _holds(self, snapshot_ids: Sequence[int]) -> bool | None:
        """Whether the store holds these snapshots as committed (a new cursor sees committed data only), or
        None if it cannot say (the database failed for good)."""
        try:
            cur = self.con.cursor()
            try:
                row = cur.execute(
                    "SELECT count(*) FROM snapshots WHERE list_contains(?::INTEGER[], snapshot_id)", [list(snapshot_ids)]
                ).fetchone()
            finally:
                cur.close()
        except Exception:
            return None
        return row is not None and row[0] == len(snapshot_ids) > 0

    def _rows(self, files: Sequence[ParsedFile], snapshot_ids: Sequence[int]) -> pl.DataFrame:
        """The parcours rows of all the files as stored, in one frame (one chunk: DuckDB scans it ~5× faster
        than 700 small ones): `snapshot_id`, `siret`, `id_salarie` pseudonymised, every column of the table."""
        import polars as pl

        datas = [pf.data for pf in files if pf.data is not None]
        try:
            data = pl.concat(datas, rechunk=True)
        except pl.exceptions.PolarsError:  # not all with the same columns and types
            data = pl.concat(
                [d.select(pl.col(c) if c in d.columns else pl.lit(None).alias(c) for c in self.columns[2:]) for d in datas],
                how="vertical_relaxed",
                rechunk=True,
            )
        heights = [d.height for d in datas]
        sirets = [pf.structure.siret for pf in files]  # type: ignore[union-attr]
        row_sirets = [s for s, h in zip(sirets, heights, strict=True) for _ in range(h)]
        row_ids = [sid for sid, h in zip(snapshot_ids, heights, strict=True) for _ in range(h)]
        pseudonyms = [p for pf in files for p in _pseudonyms(pf, self.key)]
        return data.select(
            pl.Series("snapshot_id", row_ids, dtype=pl.Int32),
            pl.Series("siret", row_sirets, dtype=pl.String),
            *[
                pl.Series("id_salarie", pseudonyms, dtype=pl.String)
                if c == "id_salarie"
                else pl.col(c) if c in data.columns else pl.lit(None).alias(c)
                for c in self.columns[2:]
            ],
        )

    def _non_cumulative(
        self,
        files: Sequence[ParsedFile],
        previous: Sequence[tuple[int, date] | None],
        frames: Sequence[pl.DataFrame],
        in_batch: dict[int, int],
    ) -> list[list[Issue]]:
        """`fichier-non-cumulatif` warnings: parcours ended by the previous snapshot's Date d'arrêté that the
        new file no longer lists (same pseudonymised identifier and Date d'entrée); `cumul-non-verifie` when
        the previous snapshot's pseudonyms are of another version (not comparable)."""
        import polars as pl

        from cvg_pipeline.read.identifiers import PSEUDONYM_VERSION

        out: list[list[Issue]] = [[] for _ in files]
        if not any(previous):
            return out
        from_store = sorted({p[0] for p in previous if p is not None and p[0] not in in_batch})
        # snapshots whose pseudonyms were made by another rule (store/db.py, _migrate_pseudonym_version): the
        # same person has another pseudonym there, so comparing would report parcours missing that are not
        other_version = {
            int(r[0]) for r in self.con.execute(
                "SELECT snapshot_id FROM snapshots WHERE list_contains(?::INTEGER[], snapshot_id) "
                "AND version_pseudonymes <> ?",
                [from_store, PSEUDONYM_VERSION],
            ).fetchall()
        } if from_store else set()
        from_store = [i for i in from_store if i not in other_version]
        rows = (
            self.con.execute(
                "SELECT snapshot_id, id_salarie, date_entree, date_sortie FROM parcours "
                "WHERE list_contains(?::INTEGER[], snapshot_id) AND date_sortie IS NOT NULL",
                [from_store],
            ).fetchall()
            if from_store
            else []
        )
        old = pl.DataFrame(
            rows,
            schema={"snapshot_id": pl.Int32, "id_salarie": pl.String, "date_entree": pl.Date, "date_sortie": pl.Date},
            orient="row",
        )
        for k, prev in enumerate(previous):
            if prev is None:
                continue
            prev_id, prev_date = prev
            if prev_id in other_version:
                out[k].append(issue("cumul-non-verifie", files[k].fichier,
                                    date_arrete_precedente=prev_date.strftime("%d/%m/%Y")))
                continue
            if prev_id in in_batch:
                before = frames[in_batch[prev_id]]
            else:
                before = old.filter(pl.col("snapshot_id") == prev_id)
            out[k].extend(_non_cumulative_warning(files[k].fichier, before, prev_date, frames[k]))
        return out


def snapshot_history(
    store_path: Path, *, schema: Schema | None = None, territoire: str | None = None
) -> list[dict[str, Any]]:
    """`cvg historique`: the stored snapshots and the refused files (`statut` « intégré » or « refusé », with
    the error codes of a refusal), latest Date d'arrêté first (then latest received first); refusals whose
    Date d'arrêté could not be read come last."""
    from cvg_pipeline.schema.load import load_schema
    from cvg_pipeline.store.db import open_store

    schema = schema or load_schema()
    from cvg_pipeline.schema.territoires import resolve_territoire

    slug = resolve_territoire(schema, territoire) if territoire is not None else None
    where = " WHERE territoire = ?" if slug else ""
    sql = (
        "SELECT fichier, nom, siret, territoire, date_arrete, nb_lignes, ingere_le, avertissements, "
        f"'intégré' AS statut, NULL AS codes FROM snapshots{where} UNION ALL "
        "SELECT fichier, nom, siret, territoire, date_arrete, NULL, recu_le, '', 'refusé', codes "
        f"FROM refus{where} ORDER BY date_arrete DESC NULLS LAST, ingere_le DESC, fichier"
    )
    with open_store(store_path, read_only=True) as con:
        cur = con.execute(sql, [slug, slug] if slug else [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


__all__ = [
    "DEJA_INTEGRE",
    "HISTORIQUE",
    "IGNORE",
    "INTEGRE",
    "REJETE",
    "REMPLACE",
    "VERIFIE",
    "FileResult",
    "IngestResult",
    "discover",
    "ingest_paths",
    "pseudonymise",
    "verify_paths",
]
