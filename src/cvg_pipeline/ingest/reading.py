"""Reading reporting workbooks for an ingest: `WorkbookReader` reads and normalises a chunk of files
(read/workbook.py), marks the rows that may fail a rule and pseudonymises the identifiers; `read_workbook_files`
shares the chunks between this process and a worker (ingest/parallel.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvg_pipeline.check.errors import issue
from cvg_pipeline.ingest.parallel import Parallelism, read_files
from cvg_pipeline.ingest.results import Progress, no_progress
from cvg_pipeline.read.model import PSEUDO_COLUMN, ParsedFile

if TYPE_CHECKING:
    from cvg_pipeline.schema.load import Schema

# A file to read: its path, its name as shown (`FileResult.fichier`), the sha256 of its bytes when hashed.
Todo = tuple[Path, str, str]

# What the fork server imports once, before the worker is forked from it.
PRELOAD = ("cvg_pipeline.read.workbook", "cvg_pipeline.read.normalise", "cvg_pipeline.check.validate", "fastexcel")
PARALLELISM = Parallelism(preload=PRELOAD)


@dataclass(frozen=True)
class WorkbookReader:
    """The `ChunkReader` of reporting workbooks (ingest/parallel.py); picklable, it is sent to the worker.
    `key`: the store's key, to pseudonymise the identifiers as they are read."""

    schema_path: Path
    today: date
    key: bytes | None = None

    def __call__(self, items: Sequence[Todo]) -> list[ParsedFile]:
        return read_chunk(items, self.schema_path, self.today, self.key)

    def packed(self, items: Sequence[Todo]) -> _Packed | list[ParsedFile]:
        return _pack(self(items))

    def unpack(self, packed: Any) -> list[ParsedFile]:
        return _unpack(packed)

    def crashed(self, item: Todo) -> ParsedFile:
        path, fichier, sha256 = item
        pf = ParsedFile(path=path, fichier=fichier, sha256=sha256)
        pf.issues.append(issue("fichier-illisible", fichier, detail="la lecture a interrompu le programme"))
        return pf


def read_workbook_files(
    todo: Sequence[Todo],
    schema: Schema,
    *,
    today: date,
    progress: Progress = no_progress,
    key: bytes | None = None,
    parallelism: Parallelism = PARALLELISM,
) -> list[ParsedFile]:
    """Read (path, fichier, sha256) files, in chunks, shared with a worker process when there are enough;
    results in input order; `key`: the store's key, to pseudonymise the identifiers as they are read (the
    worker gets it through its pipe from the fork server, like the paths). A worker that dies (a parser
    abort) loses no file (ingest/parallel.py)."""
    # pandera (which pulls in pandas, ~1 s) is imported by validate() only when some row may fail a rule:
    # a batch of valid files never pays for it (see validate.validate).
    return read_files(todo, WorkbookReader(schema.path, today, key), progress=progress, parallelism=parallelism)


def read_chunk(
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
            return [read_chunk([item], schema_path, today, key)[0] for item in items]
        path, fichier, sha256 = items[0]
        parsed = [ParsedFile(path=path, fichier=fichier, sha256=sha256, issues=[
            issue("fichier-illisible", fichier, detail=f"erreur de cvg lui-même, {type(exc).__name__} : le fichier "
                  "n'est peut-être pas en cause, transmettez-le à l'équipe qui maintient cvg")])]
    _prepare(parsed, schema, key)
    return parsed


def _prepare(parsed: list[ParsedFile], schema: Schema, key: bytes | None) -> None:
    """Suspect rows and pseudonyms, in the reader (see `read_chunk`); the raw text (`ParsedFile.raw`) of a
    file without any suspect row is dropped (nothing will quote it: ~1/3 of what a worker sends back).
    Optional work: if it fails, the serial end of the ingest does it instead (validate stacks every row,
    storing pseudonymises)."""
    from cvg_pipeline.check.validate import mark_suspects
    from cvg_pipeline.read.model import SUSPECT_COLUMN
    from cvg_pipeline.store.pseudonyms import add_pseudonyms

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


def _pack(parsed: list[ParsedFile]) -> _Packed | list[ParsedFile]:
    """A chunk read in a worker process, its frames packed (`_Packed`; unpacked by `_unpack`)."""
    import io

    import polars as pl

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

