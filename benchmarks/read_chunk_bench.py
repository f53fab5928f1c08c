"""Per-file CPU of reading and normalising workbooks, as a worker process does it (`ingest._read_chunk`).

    POLARS_MAX_THREADS=1 .venv/bin/python benchmarks/read_chunk_bench.py [--files 350] [--chunk 88] [--runs 3]

Times `_read_chunk` over the first N workbooks of benchmarks/data/reseau-700 (built by bench.py) in chunks of
`--chunk` files, after a warm-up chunk: best of `--runs` (wall and process CPU, ms per file). Then one more
pass with timers wrapped around the reader's stages prints where the time goes (inclusive times: a stage
listed under another is part of it). Nothing here is asserted by the tests: the machine is noisy, so compare
numbers measured back to back (e.g. an older copy of the package first on PYTHONPATH, then this one).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("POLARS_MAX_THREADS", "1")  # as in the worker processes; before polars is imported

import importlib
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data" / "reseau-700"

# (module, attribute, depth): the stages timed by the split, when they exist in this version of the code.
STAGES = [
    ("cvg_pipeline.read.workbook", "_read_file", 0),
    ("cvg_pipeline.read.precheck", "precheck", 1),
    ("cvg_pipeline.read.precheck", "read_checked", 1),
    ("fastexcel", "read_excel", 1),
    ("cvg_pipeline.read.workbook", "load_sheet", 1),
    ("cvg_pipeline.read.workbook", "read_structure", 1),
    ("cvg_pipeline.read.workbook", "read_salaries", 1),
    ("cvg_pipeline.read.salaries_sheet", "find_header_row", 2),
    ("cvg_pipeline.read.workbook", "finish_structure", 0),
    ("cvg_pipeline.read.workbook", "finish_salaries", 0),
    ("cvg_pipeline.read.normalise", "normalise_frame", 1),
]


def _timed(fn: Callable[..., Any], key: str, totals: dict[str, float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[key] = totals.get(key, 0.0) + time.perf_counter() - start

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=350)
    parser.add_argument("--chunk", type=int, default=88)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-split", action="store_true", help="skip the per-stage pass")
    parser.add_argument("--reader-only", action="store_true",
                        help="time reader.read_workbooks alone (what _read_chunk calls), not the whole _read_chunk")
    args = parser.parse_args()

    import cvg_pipeline
    from cvg_pipeline.ingest.run import _read_chunk, sha256_file
    from cvg_pipeline.read.workbook import read_workbooks
    from cvg_pipeline.schema.load import load_schema

    files = sorted(DATA.glob("*.xlsx"))[: args.files]
    if not files:
        sys.exit(f"no workbook in {DATA}: run benchmarks/bench.py once to build it")
    items = [(p, p.name, sha256_file(p)) for p in files]
    schema = load_schema()
    today = date(2024, 6, 1)

    def read(chunk: list[tuple[Path, str, str]]) -> None:
        if args.reader_only:
            read_workbooks([(path, sha) for path, _, sha in chunk], schema, today=today)
        else:
            _read_chunk(chunk, schema.path, today)

    def one_pass() -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for k in range(0, len(items), args.chunk):
            read(items[k : k + args.chunk])
        return time.perf_counter() - wall, time.process_time() - cpu

    read(items[: min(8, len(items))])  # warm-up: imports, caches
    passes = [one_pass() for _ in range(args.runs)]
    n = len(items)
    best_wall, best_cpu = min(p[0] for p in passes), min(p[1] for p in passes)
    timed = "read_workbooks" if args.reader_only else "_read_chunk"
    print(f"{Path(cvg_pipeline.__file__).parent}, {timed}: {n} files, chunks of {args.chunk}, "
          f"POLARS_MAX_THREADS={os.environ['POLARS_MAX_THREADS']}, load {os.getloadavg()[0]:.2f}")
    print(f"best of {args.runs}: {best_wall / n * 1000:.2f} ms/file wall, {best_cpu / n * 1000:.2f} ms/file CPU "
          f"(all runs, CPU: {', '.join(f'{p[1] / n * 1000:.2f}' for p in passes)})")
    if args.no_split:
        return

    totals: dict[str, float] = {}
    for module_name, attr, _ in STAGES:
        module = importlib.import_module(module_name)
        if hasattr(module, attr):
            setattr(module, attr, _timed(getattr(module, attr), f"{module_name}.{attr}", totals))
    wall, _ = one_pass()
    print(f"split (one pass with timers, {wall / n * 1000:.2f} ms/file wall):")
    top = 0.0
    for module_name, attr, depth in STAGES:
        key = f"{module_name}.{attr}"
        if key in totals:
            top += totals[key] if depth == 0 else 0.0
            print(f"  {'  ' * depth}{attr:<{24 - 2 * depth}} {totals[key] / n * 1000:6.2f} ms/file")
    print(f"  {'rest of ' + timed:<24} {(wall - top) / n * 1000:6.2f} ms/file")


if __name__ == "__main__":
    main()
