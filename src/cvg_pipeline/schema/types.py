"""The one map from a schema column's kind (`ColumnType`) to its types: polars for the frames read, normalised
and validated (read/normalise.py, check/validate.py), DuckDB for the store's `parcours` table (store/db.py).

An `int` column is a 32-bit integer on both sides (the année de naissance; read/normalise.py reads a whole
number only below 1e9), so a value never changes type between the sheet, the checks and the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import polars as pl

    from cvg_pipeline.schema.load import ColumnType

# kind -> (polars data type, by its name in polars; DuckDB type)
_TYPES: Final[dict[ColumnType, tuple[str, str]]] = {
    "text": ("String", "VARCHAR"),
    "cat": ("String", "VARCHAR"),
    "date": ("Date", "DATE"),
    "number": ("Float64", "DOUBLE"),
    "int": ("Int32", "INTEGER"),
    "bool": ("Boolean", "BOOLEAN"),
}


def sql_type(kind: ColumnType) -> str:
    """The DuckDB type of a column of this kind (`parcours` table)."""
    return _TYPES[kind][1]


def polars_dtype(kind: ColumnType) -> type[pl.DataType]:
    """The polars data type of a column of this kind (polars is imported here, not with the module)."""
    import polars as pl

    dtype: type[pl.DataType] = getattr(pl, _TYPES[kind][0])
    return dtype
