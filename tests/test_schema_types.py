"""schema/types.py: one map from a column's kind to its polars and DuckDB types, used by the reader, the
checks and the store alike."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import duckdb
import polars as pl
import pytest

from cvg_pipeline.check.validate import stack
from cvg_pipeline.read.workbook import read_workbooks
from cvg_pipeline.schema.load import ColumnType, load_schema
from cvg_pipeline.schema.types import polars_dtype, sql_type
from cvg_pipeline.store.db import ddl
from tests.builders import valid_row, write_workbook

SCHEMA = load_schema()


@pytest.mark.parametrize("kind", get_args(ColumnType))
def test_a_frame_column_lands_in_duckdb_with_the_store_type(kind: ColumnType) -> None:
    """A polars column of a kind's type is read by DuckDB as that kind's store type: what the reader builds
    goes into `parcours` without a silent widening or narrowing."""
    frame = pl.DataFrame({"v": pl.Series([None], dtype=polars_dtype(kind))})
    con = duckdb.connect()
    con.register("frame", frame.to_arrow())
    assert con.execute("DESCRIBE SELECT v FROM frame").fetchall()[0][1] == sql_type(kind)


def test_the_checked_frame_has_the_types_the_reader_gives(tmp_path: Path) -> None:
    """The frame the rules are checked on (check/validate.stack) types every column as the reader did: the
    année de naissance was Int64 there and Int32 when read and stored."""
    parsed = read_workbooks([write_workbook(tmp_path / "aci.xlsx", rows=[valid_row()])], SCHEMA)
    assert parsed[0].data is not None
    read = parsed[0].data.schema
    checked = stack(parsed, SCHEMA).schema
    assert {c.name: checked[c.name] for c in SCHEMA.columns} == {c.name: read[c.name] for c in SCHEMA.columns}
    assert {c.name: read[c.name] for c in SCHEMA.columns} == {c.name: polars_dtype(c.type) for c in SCHEMA.columns}


def test_the_store_types_each_column_by_its_kind() -> None:
    """The `parcours` table of a new store has, for each schema column, the type of its kind."""
    con = duckdb.connect()
    for statement in ddl(SCHEMA):
        con.execute(statement)
    stored = {name: typ for name, typ, *_ in con.execute("DESCRIBE parcours").fetchall()}
    assert {c.name: stored[c.name] for c in SCHEMA.columns} == {c.name: sql_type(c.type) for c in SCHEMA.columns}
