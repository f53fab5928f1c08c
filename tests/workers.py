"""Stand-ins for `ingest._helper_main`, run in the reading worker process (they must be importable there)."""

from __future__ import annotations

import os
from typing import Any

from cvg_pipeline import ingest


def dies_on_a_marked_file(items: list[list[Any]], *args: Any) -> None:
    """The real worker, except that it dies (like a parser abort) when it takes a chunk holding a file whose
    name starts with `meurt`: that chunk is taken but never sent back."""
    schema_path, today, key, counter, owner, writer, _parent = args
    try:
        while True:
            with counter.get_lock():
                k = int(counter.value)
                if k >= len(items):
                    return
                owner[k] = 1
                counter.value = k + 1
            if any(name.startswith("meurt") for _, name, _ in items[k]):
                os._exit(70)
            writer.send((k, ingest._read_chunk_packed(items[k], schema_path, today, key)))
    finally:
        writer.close()
