"""Where the schema file is, and its raw content: the one place `schemas/reporting.toml` is read.

Kept apart from schema.py (which builds and checks the typed `Schema`, ~40 ms with its imports) for what
needs the file but not the `Schema`: the territoire names shown by `cvg ingest` when every file is already
in the store, a run that otherwise costs about as much as starting Python.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCHEMA_PATH = PROJECT_ROOT / "schemas" / "reporting.toml"
SCHEMA_ENV = "CVG_SCHEMA"


def schema_path(path: Path | str | None = None) -> Path:
    """`path`, else `$CVG_SCHEMA`, else `schemas/reporting.toml`, resolved."""
    if path is None:
        path = os.environ.get(SCHEMA_ENV) or DEFAULT_SCHEMA_PATH
    return Path(path).resolve()


@cache
def read_raw(path: Path) -> dict[str, Any]:
    """The parsed TOML of a resolved schema path (read once per process)."""
    import tomllib

    with path.open("rb") as fh:
        return tomllib.load(fh)


def territoire_names(path: Path | str | None = None) -> dict[str, str]:
    """slug → name of every territoire of the schema file."""
    return {t["slug"]: t["nom"] for t in read_raw(schema_path(path))["territoires"]}
