"""Where the schema file is, and its raw content: the one place `reporting.toml` is read.

The schema ships inside the package (`cvg_pipeline/schemas/reporting.toml`, package data found with
`importlib.resources`), so an installed wheel finds it as the source tree does; `$CVG_SCHEMA` overrides it.

Kept apart from schema/load.py (which builds and checks the typed `Schema`, ~40 ms with its imports) for what
needs the file but not the `Schema`: the territoire names shown by `cvg ingest` when every file is already
in the store, a run that otherwise costs about as much as starting Python.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_ENV = "CVG_SCHEMA"
SCHEMA_RESOURCE = ("schemas", "reporting.toml")


def packaged_file(*parts: str) -> Path:
    """A file shipped inside the cvg_pipeline package (package data), as a filesystem path."""
    from importlib.resources import files

    resource = files("cvg_pipeline").joinpath(*parts)
    if not isinstance(resource, Path):  # a zipped install: not supported, say so plainly
        raise FileNotFoundError(f"cvg_pipeline/{'/'.join(parts)} n'est pas un fichier sur le disque")
    return resource


@cache
def default_schema_path() -> Path:
    """The schema shipped with the package: `cvg_pipeline/schemas/reporting.toml`, resolved."""
    return packaged_file(*SCHEMA_RESOURCE).resolve()


def schema_path(path: Path | str | None = None) -> Path:
    """`path`, else `$CVG_SCHEMA`, else the packaged `schemas/reporting.toml`, resolved."""
    if path is None:
        path = os.environ.get(SCHEMA_ENV) or default_schema_path()
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
