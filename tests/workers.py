"""Stand-ins for `ingest._helper_main`, run in the reading worker process (they must be importable there)."""

from __future__ import annotations

import os
from typing import Any

from cvg_pipeline.ingest import run as ingest


def dies_on_a_marked_file(items: list[list[Any]], *args: Any) -> None:
    """The real worker, except that it dies (like a parser abort) when it reads a chunk holding a file whose
    name starts with `meurt`: that chunk is taken but never sent back."""
    real = ingest._read_chunk_packed

    def reading(chunk: list[Any], *a: Any) -> Any:
        if any(name.startswith("meurt") for _, name, _ in chunk):
            os._exit(70)
        return real(chunk, *a)

    ingest._read_chunk_packed = reading  # type: ignore[assignment]  # in the worker process only
    ingest._helper_main(items, *args)
