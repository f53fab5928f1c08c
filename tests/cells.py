"""One cell's text through the production code path (read/normalise.normalise_cell: `normalise_frame` on a
one-row frame) as (typed value, error code), by kind of column, for the tests of the value parsers (spec §3),
hypothesis included. (A birth year: read/normalise.parse_birth_year, which the error workbook uses.)"""

from __future__ import annotations

from datetime import date
from typing import Any

from cvg_pipeline.read.normalise import normalise_cell
from cvg_pipeline.schema.load import Schema, load_schema


def _of_type(kind: str, text: str | None, schema: Schema | None, *, optional: bool = True) -> tuple[Any, str | None]:
    """`text` as a cell of the first column of type `kind` (an optional one if `optional` and there is one)."""
    schema = schema or load_schema()
    of_kind = [c for c in schema.columns if c.type == kind]
    col = next((c for c in of_kind if not (optional and c.required)), of_kind[0])
    return normalise_cell(schema, col.name, text)


def parse_date_text(text: str | None, schema: Schema | None = None) -> tuple[date | None, str | None]:
    """(date, None), (None, error code), or (None, None) for an empty cell. The sheet's own code path."""
    return _of_type("date", text, schema)


def parse_bool_value(text: str | None, schema: Schema) -> tuple[bool | None, str | None]:
    return _of_type("bool", text, schema)


def parse_number_text(text: str | None, schema: Schema | None = None) -> tuple[float | None, str | None]:
    return _of_type("number", text, schema)


def parse_int_text(text: str | None, schema: Schema | None = None) -> tuple[int | None, str | None]:
    return _of_type("int", text, schema, optional=False)


def parse_category(text: str | None, schema: Schema, column: str) -> tuple[str | None, str | None]:
    """Value of categorical column `column` (canonical name)."""
    return normalise_cell(schema, column, text)


def parse_text(text: str | None, schema: Schema | None = None) -> str | None:
    value: str | None = _of_type("text", text, schema, optional=False)[0]
    return value
