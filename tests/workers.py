"""Readers for the parallel reading tests (ingest/parallel.py), sent to the worker process: they must be
importable there."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cvg_pipeline.ingest.reading import Todo, WorkbookReader
from cvg_pipeline.read.model import ParsedFile


@dataclass(frozen=True)
class DiesOnAMarkedFile(WorkbookReader):
    """The workbook reader, except that it dies (like a parser abort) when it reads a file whose name starts
    with `meurt` in any process but the test's own; every call appends the names it reads to `log`."""

    log: Path = Path()
    parent: int = 0

    def __call__(self, items: Sequence[Todo]) -> list[ParsedFile]:
        with self.log.open("a", encoding="utf-8") as fh:
            fh.write(" ".join(name for _, name, _ in items) + "\n")
        if os.getpid() != self.parent and any(name.startswith("meurt") for _, name, _ in items):
            os._exit(70)
        return super().__call__(items)
