"""Products several test modules need, made once per test run and shared by the pytest-xdist workers.

`once` gives a folder shared by the workers of this run: the first caller builds it under a file lock, the
others wait and reuse it. `examples_store` and `demo_store` are the committed examples ingested (by the
command line; by the library on a fixed day), each formerly built by two or three modules. `network70` is the generated 70-ACI network of the measurements
(`examples/generate.py --aci 70`, about 6,000 parcours) ingested with the command line — before, three test
modules (test_real_clients, test_export, test_secret_phc) each generated and ingested it. Their users only read
the stores (`cvg report`, `cvg export`, `cvg indicators` open it read-only); a test that must change a store
copies it first.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@contextmanager
def once(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[Path, bool]]:
    """A folder shared by every pytest-xdist worker of this run, and whether the caller must build it: the
    first caller holds a lock while it builds (then marks the folder done), the others wait and reuse it."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / ".fait"
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            yield folder, True
            done.touch()
        else:
            yield folder, False


def _cvg(*args: str | Path, process: bool = False) -> None:
    """`cvg ARGS` through cli.main in this process (tests/inprocess.py), or as `python -m cvg_pipeline` with
    `process` (an ingest of 32 files or more starts its fork server and reading worker: its own process)."""
    if process:
        done = subprocess.run([sys.executable, "-m", "cvg_pipeline", *map(str, args)], capture_output=True, text=True,
                              timeout=600, check=False)
    else:
        from tests import inprocess

        done = inprocess.run(*args)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])


def network70(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store of the generated 70-ACI network (its workbooks beside it, in `classeurs/`)."""
    with once(tmp_path_factory, "reseau-70") as (folder, build):
        if build:
            subprocess.run([sys.executable, str(EXAMPLES / "generate.py"), "--aci", "70", "--jobs", "1",
                            "--sortie", str(folder / "classeurs")], check=True, capture_output=True, timeout=600)
            _cvg("init", "--store", folder / "cvg.duckdb")
            _cvg("ingest", "--store", folder / "cvg.duckdb", "--quiet", folder / "classeurs", process=True)
    return folder / "cvg.duckdb"


def examples_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed examples (examples/aci and examples/historique) ingested with the command line, as
    `make demo` does: `cvg init`, then `cvg ingest`."""
    with once(tmp_path_factory, "exemples-cli") as (folder, build):
        if build:
            _cvg("init", "--store", folder / "cvg.duckdb")
            _cvg("ingest", "--store", folder / "cvg.duckdb", "--quiet", EXAMPLES / "aci", EXAMPLES / "historique")
    return folder / "cvg.duckdb"


DEMO_TODAY = date(2024, 6, 30)  # the examples hold a file arrested on 29 February 2024


def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed examples ingested with the library on a fixed day (`DEMO_TODAY`): the store of the
    report goldens."""
    from cvg_pipeline.ingest.run import ingest_paths
    from cvg_pipeline.store.db import create_store

    with once(tmp_path_factory, "exemples-demo") as (folder, build):
        if build:
            path = folder / "cvg.duckdb"
            create_store(path)  # `cvg init`
            result = ingest_paths([EXAMPLES / "aci", EXAMPLES / "historique"], path, today=DEMO_TODAY)
            assert result.exit_code == 0, [i.message for f in result.files for i in f.errors]
    return folder / "cvg.duckdb"
