"""Normalise the cells of sheet Salariés (spec §3): text as read → typed canonical values, one error per bad cell.

Vectorised, and batched: `normalise_frame` runs over the rows of *many* files stacked (polars costs about the
same per expression for 80 rows as for 8,000, so one pass over a batch replaces one pass per file). No
Python loop over cells:

- Oui/Non and categorical columns: the distinct texts of each column are resolved once in Python
  (`resolve_bool`, `resolve_category`: the schema's own folding and synonyms, memoised across files), then
  mapped in one `replace_strict` per column.
- dates: a fast path parses what fastexcel writes for real Excel dates (`AAAA-MM-JJ hh:mm:ss`); only the
  columns where some cell missed it take the slow path (regular expressions for `JJ/MM/AAAA`, `JJ-MM-AAAA`,
  `JJ.MM.AAAA`, `JJ/MM/AA`, `AAAA-MM-JJ`, serial numbers, US dates), evaluated in stages.
- numbers: a plain cast first, the French decimal comma and spaces only for columns that need it.

`normalise_cell` runs one cell through `normalise_frame` (a one-row frame): the error workbook's birth
years (`parse_birth_year`) and the tests of the value parsers (tests/cells.py, hypothesis included) take
the production code path.
Bounds and row rules are not checked here (check/validate.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, TypeVar

import polars as pl

from cvg_pipeline.check.errors import Code
from cvg_pipeline.read.siret import clean_siret as clean_siret  # re-exported
from cvg_pipeline.read.siret import luhn_valid as luhn_valid  # re-exported
from cvg_pipeline.schema.load import Column, Domain, Schema, closest
from cvg_pipeline.schema.types import polars_dtype

# What Excel shows in a cell whose formula failed, by calamine's name of the error. Such a cell is not empty:
# it is reported at its cell as `erreur-excel`, never read as blank.
EXCEL_ERRORS = {
    "Div0": "#DIV/0!", "NA": "#N/A", "Name": "#NAME?", "Null": "#NULL!", "Num": "#NUM!", "Ref": "#REF!",
    "Value": "#VALUE!", "GettingData": "#GETTING_DATA",
}
EXCEL_ERROR_TEXTS = frozenset(EXCEL_ERRORS.values()) | {"#ERREUR"}
ERR_PREFIX = "__err__"  # error code column of a canonical column (Utf8, null when the cell is fine)
BIRTH_PREFIX = "__naissance__"  # transient column holding a full date of birth, reduced to its year

# Excel serial numbers (1900 date system). Serial 60 is Lotus' fictitious 29 February 1900.
_SERIAL_MAX = 2_958_465  # 9999-12-31
_SERIAL_FAKE_LEAP_DAY = 60
_EXCEL_DATETIME = "%Y-%m-%d %H:%M:%S"  # how fastexcel renders a date cell as text


# -- per-distinct-value resolution (Oui/Non, categories), memoised ---------------------------------------
def _integral(text: str) -> str:
    """`3.0` / `3,00` → `3`: a whole number stored as a float, or typed with decimals."""
    head, sep, tail = text.replace(",", ".").partition(".")
    if sep and tail and set(tail) == {"0"} and head.lstrip("+-").isdigit():
        return head
    return text


def resolve_bool(schema: Schema, text: str) -> bool | None:
    """Oui/Non spelling → True/False (spec §3.2), None when it is not one. Excel TRUE/FALSE arrive as text.

    A number is Oui only if it is 1 and Non only if it is 0 (folding would read `-1` as `1`).
    """
    stripped = text.strip()
    try:
        number = float(stripped.replace(",", "."))
    except ValueError:
        return schema.parse_bool(stripped)
    return True if number == 1 else False if number == 0 else None


def resolve_category(domain: Domain, text: str) -> str | None:
    """Canonical label of a value or synonym (spec §3.4), matched like headers; `3.0` is read as `3`."""
    value = domain.match(text) or domain.match(_integral(text.strip()))
    return None if value is None else value.label


_MEMO: dict[tuple[int, str], tuple[object, dict[Any, Any]]] = {}


def _memo(owner: object, kind: str) -> dict[Any, Any]:
    key = (id(owner), kind)
    hit = _MEMO.get(key)
    if hit is None:
        hit = _MEMO[key] = (owner, {})  # keeps `owner` alive, so its id is never reused for another object
    return hit[1]


def _resolved(values: Sequence[str], resolve: Callable[[str], Any], memo: dict[str, Any]) -> list[Any]:
    """The resolved value of each distinct text (None when it resolves to nothing), memoised."""
    out: list[Any] = []
    for text in values:
        if text not in memo:
            memo[text] = resolve(text)
        out.append(memo[text])
    return out


_T = TypeVar("_T")


def closest_label(raw: str, domain: Domain) -> str | None:
    """The canonical label whose spelling (label or synonym) is closest to `raw`, if any is close enough."""
    value = closest(raw, domain.lookup)
    return None if value is None else value.label


LONG_LIST = 8  # past this many accepted values, a message with a suggestion does not list them all


def category_fields(raw_text: str, domain: Domain) -> dict[str, str]:
    """`suggestion` and `valeurs` for the valeur-inconnue template: the nearest accepted value when one is
    close; then the accepted values, or, for a long list (the 22 motifs de sortie) once a suggestion is made,
    where to find them."""
    closest = closest_label(raw_text, domain)
    labels = domain.labels
    if closest and len(labels) > LONG_LIST:
        valeurs = f"les {len(labels)} valeurs listées dans la feuille « Mode d'emploi » du modèle"
    else:
        valeurs = ", ".join(f"« {label} »" for label in labels)
    return {"suggestion": f" (vouliez-vous dire « {closest} » ?)" if closest else "", "valeurs": valeurs}


# -- numbers (spec §3.5) ---------------------------------------------------------------------------------
def _finite(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.is_finite()).then(expr)


def _number_fast(src: pl.Expr) -> pl.Expr:
    return _finite(src.cast(pl.Float64, strict=False))


def _number_slow(src: pl.Expr) -> pl.Expr:
    """Surrounding and inner spaces (non-breaking included) ignored, `,` or `.` as decimal separator."""
    compact = src.str.replace_all(r"[\s\u00a0\u202f]", "").str.replace(",", ".", literal=True)
    shaped = pl.when(compact.str.contains(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")).then(compact)
    return _finite(shaped.cast(pl.Float64, strict=False))


def _whole(number: pl.Expr) -> pl.Expr:
    return pl.when((number == number.floor()) & (number.abs() < 1e9)).then(number).cast(pl.Int32)


# -- dates (spec §3.3) -----------------------------------------------------------------------------------
# ASCII digits only: `\d` also matches Arabic-Indic (٢٠٢٣) and full-width (２０２３) digits, which the integer
# casts below cannot read (the whole file failed with InvalidOperationError): such a cell is `date-invalide`.
_TIME = r"(?:[ T]+[0-9]{1,2}[:h][0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?)?"
_ISO = r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})" + _TIME + "$"
_DMY = r"^(?P<d>[0-9]{1,2})(?P<s1>[/.\-])(?P<m>[0-9]{1,2})(?P<s2>[/.\-])(?P<y>[0-9]{4}|[0-9]{2})" + _TIME + "$"
_SERIAL = r"^([0-9]{1,7})(?:[.,][0-9]+)?$"
# A whole number from 1900 to 2100 in a date cell is a year written alone (« 2023 »), not the Excel serial of a
# day in 1905: `date-invalide`, never read as a date.
_YEAR_ALONE = (1900, 2100)


def _date_fast(src: pl.Expr) -> pl.Expr:
    """What fastexcel writes for a date cell, and `JJ/MM/AAAA` (4-digit year: chrono would read `22` as
    year 22); anything else, or an impossible date, is left to `_date_slow`."""
    dmy = src.str.to_date("%d/%m/%Y", strict=False)
    return pl.coalesce(
        src.str.to_datetime(_EXCEL_DATETIME, strict=False).dt.date(),
        pl.when(dmy.dt.year() >= 1000).then(dmy),
    )


def _days_in_month(y: pl.Expr, m: pl.Expr) -> pl.Expr:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return (
        pl.when(m == 2).then(pl.when(leap).then(29).otherwise(28)).when(m.is_in([4, 6, 9, 11])).then(30).otherwise(31)
    )


def _date_slow(frame: pl.DataFrame, pairs: Sequence[tuple[str, str]]) -> pl.DataFrame:
    """For each (source text column, target name): `target` (Date) and `ERR_PREFIX + target` (code or null).

    Accepted: `JJ/MM/AAAA`, `JJ-MM-AAAA`, `JJ.MM.AAAA`, `JJ/MM/AA` (20AA), `AAAA-MM-JJ`, each with an
    optional time (ignored), and Excel serial numbers (1900 system: serial 60, the 29/02/1900 Excel
    invented, does not exist). An impossible date is `date-invalide`; a second field above 12 with a
    plausible first one (`12/25/2022`) is `date-format-us`. Evaluated in stages so that each regular
    expression runs once per column.
    """
    t = "__t_"
    stage1: list[pl.Expr] = []
    for src, tgt in pairs:
        text = pl.col(src).str.strip_chars()
        stage1 += [
            text.str.extract_groups(_ISO).alias(f"{t}iso_{tgt}"),
            text.str.extract_groups(_DMY).alias(f"{t}dmy_{tgt}"),
            text.str.extract(_SERIAL, 1).cast(pl.Int64).alias(f"{t}ser_{tgt}"),
        ]
    frame = frame.with_columns(stage1)
    stage2: list[pl.Expr] = []
    for _, tgt in pairs:
        iso, dmy = pl.col(f"{t}iso_{tgt}"), pl.col(f"{t}dmy_{tgt}")
        same_sep = dmy.struct.field("s1") == dmy.struct.field("s2")
        short = dmy.struct.field("y").str.len_chars() == 2
        dmy_y = dmy.struct.field("y").cast(pl.Int32) + pl.when(short).then(2000).otherwise(0)
        stage2 += [
            pl.coalesce(iso.struct.field("y").cast(pl.Int32), pl.when(same_sep).then(dmy_y)).alias(f"{t}y_{tgt}"),
            pl.coalesce(iso.struct.field("m").cast(pl.Int32),
                        pl.when(same_sep).then(dmy.struct.field("m").cast(pl.Int32))).alias(f"{t}m_{tgt}"),
            pl.coalesce(iso.struct.field("d").cast(pl.Int32),
                        pl.when(same_sep).then(dmy.struct.field("d").cast(pl.Int32))).alias(f"{t}d_{tgt}"),
            same_sep.fill_null(False).alias(f"{t}dmy_{tgt}"),
        ]
    frame = frame.with_columns(stage2)
    stage3: list[pl.Expr] = []
    for src, tgt in pairs:
        y, m, d = pl.col(f"{t}y_{tgt}"), pl.col(f"{t}m_{tgt}"), pl.col(f"{t}d_{tgt}")
        serial = pl.col(f"{t}ser_{tgt}")
        valid = (y >= 1) & m.is_between(1, 12) & (d >= 1) & (d <= _days_in_month(y, m))
        from_parts = pl.when(valid).then(pl.date(pl.when(valid).then(y).otherwise(2000),
                                                 pl.when(valid).then(m).otherwise(1),
                                                 pl.when(valid).then(d).otherwise(1)))
        serial_ok = (
            serial.is_between(1, _SERIAL_MAX) & (serial != _SERIAL_FAKE_LEAP_DAY) & ~serial.is_between(*_YEAR_ALONE)
        )
        # Day 1 is 1900-01-01; from serial 61 on, Excel counts the fictitious 29/02/1900.
        days = pl.when(serial_ok).then(pl.when(serial < _SERIAL_FAKE_LEAP_DAY).then(serial + 1).otherwise(serial))
        from_serial = pl.when(serial_ok).then(pl.lit(date(1899, 12, 30)) + pl.duration(days=days.fill_null(0)))
        value = pl.coalesce(from_parts, from_serial)
        us = pl.col(f"{t}dmy_{tgt}") & m.is_between(13, 31) & d.is_between(1, 12)
        error = (
            pl.when(pl.col(src).is_null() | value.is_not_null())
            .then(pl.lit(None, pl.Utf8))
            .when(us)
            .then(pl.lit("date-format-us"))
            .otherwise(pl.lit("date-invalide"))
        )
        stage3 += [value.alias(tgt), error.alias(ERR_PREFIX + tgt)]
    frame = frame.with_columns(stage3)
    return frame.drop([c for c in frame.columns if c.startswith(t)])


def parse_date_column(texts: Sequence[str | None]) -> list[tuple[date | None, Code | None]]:
    """(date, error code) for each text: the date code path of `normalise_frame`, for a plain list (the
    Date d'arrêté of the Structure sheets). Blank texts give (None, None)."""
    frame = pl.DataFrame({"v": list(texts)}, schema={"v": pl.Utf8})
    frame = frame.with_columns(pl.when(pl.col("v").str.strip_chars() != "").then(pl.col("v")).alias("v"))
    frame = frame.with_columns(_date_fast(pl.col("v")).alias("d"))
    if frame.select((pl.col("v").is_not_null() & pl.col("d").is_null()).any()).item():
        frame = _date_slow(frame, [("v", "s")]).with_columns(pl.coalesce("d", "s").alias("d"))
        return list(zip(frame.get_column("d").to_list(), frame.get_column(ERR_PREFIX + "s").to_list(), strict=True))
    return [(d, None) for d in frame.get_column("d").to_list()]


# -- the whole frame -------------------------------------------------------------------------------------
def normalise_frame(
    frame: pl.DataFrame, schema: Schema, *, distinct_out: dict[str, list[str]] | None = None
) -> pl.DataFrame:
    """Type the canonical columns of `frame` (Utf8 text as read, null when empty) and flag each failed cell.

    `frame` may hold the rows of several files stacked, any subset of the schema's columns, extra
    technical columns (kept as they are), and `BIRTH_PREFIX + annee_naissance` (a full date of birth, for
    the rows of files that gave one instead of the year). Returns the technical columns, every schema
    column typed (null where absent or failed) and, for each column that may have a failed cell,
    `ERR_PREFIX + name`: the error code (`valeur-obligatoire`, `identifiant-manquant`, `date-invalide`,
    `date-format-us`, `oui-non-invalide`, `valeur-inconnue`, `nombre-invalide`, `entier-invalide`,
    `date-naissance-invalide`) or null. Required-value errors are raised for every row; the caller ignores
    them where the column is absent. `distinct_out`, if given, receives the distinct texts of each Oui/Non
    and categorical column.

    Two passes over the data: one of aggregates (distinct texts, fast-path misses), one that types every
    column. The expressions are cached per column and per set of distinct texts, so building them costs
    nothing for the next file with the same spellings.
    """
    cache = _memo(schema, "expressions")
    shape = cache.get(("shape", tuple(frame.columns)))
    if shape is None:
        shape = cache[("shape", tuple(frame.columns))] = _Shape.of(frame.columns, schema)
    summary = frame.select(shape.aggregates).row(0) if shape.aggregates else ()
    distinct = [tuple(sorted(texts)) for texts in summary[: len(shape.looked_up)]]
    misses = dict(zip(shape.fast, summary[len(shape.looked_up):], strict=True))
    if distinct_out is not None:
        distinct_out.update((col.name, list(texts)) for col, texts in zip(shape.looked_up, distinct, strict=True))
    texts_of = {col.name: texts for col, texts in zip(shape.looked_up, distinct, strict=True)}
    out: list[pl.Expr] = [pl.col(c) for c in shape.technical]
    errors: list[pl.Expr] = []
    slow_dates: list[tuple[str, str]] = []
    for col in schema.columns:
        state = _ColumnState(
            present=col.name in shape.present,
            texts=texts_of.get(col.name, ()),
            slow=bool(misses.get(col.name)),
            birth=col.name in shape.birth,
            birth_slow=bool(misses.get(BIRTH_PREFIX + col.name)),
        )
        key = ("column", col.name, state)
        built = cache.get(key)
        if built is None:
            built = cache[key] = _column_exprs(col, state, schema)
        value, error = built
        out.append(value)
        if error is not None:
            errors.append(error)
        if col.type == "date" and state.present and state.slow:
            slow_dates.append((col.name, "__slow_" + col.name))
        if state.birth and state.birth_slow:
            slow_dates.append((BIRTH_PREFIX + col.name, "__slow_" + BIRTH_PREFIX + col.name))
    if len(cache) > 20_000:  # bounded: pathological batches with ever-new spellings
        cache.clear()
    if slow_dates:
        frame = _date_slow(frame, slow_dates)
    return frame.select(out + errors)


@dataclass(frozen=True)
class _Shape:
    """What depends only on the frame's columns: which are present, and the aggregates to compute."""

    present: frozenset[str]
    birth: frozenset[str]
    technical: tuple[str, ...]
    looked_up: tuple[Column, ...]  # bool and cat columns present
    fast: dict[str, pl.Expr]  # date / number sources -> fast-path expression
    aggregates: tuple[pl.Expr, ...]

    @classmethod
    def of(cls, columns: Sequence[str], schema: Schema) -> _Shape:
        names = set(columns)
        canonical = {c.name for c in schema.columns}
        present = [c for c in schema.columns if c.name in names]
        birth = [c for c in schema.columns if BIRTH_PREFIX + c.name in names]
        looked_up = tuple(c for c in present if c.type in ("bool", "cat"))
        fast = {c.name: _fast_expr(c, pl.col(c.name)) for c in present if c.type in ("date", "number", "int")}
        fast.update({BIRTH_PREFIX + c.name: _birth_fast(pl.col(BIRTH_PREFIX + c.name)) for c in birth})
        aggregates = [pl.col(c.name).drop_nulls().unique().implode().alias(c.name) for c in looked_up]
        aggregates += [(pl.col(name).is_not_null() & expr.is_null()).any().alias("__miss_" + name)
                       for name, expr in fast.items()]
        return cls(
            present=frozenset(c.name for c in present),
            birth=frozenset(c.name for c in birth),
            technical=tuple(c for c in columns if c not in canonical and not c.startswith(BIRTH_PREFIX)),
            looked_up=looked_up,
            fast=fast,
            aggregates=tuple(aggregates),
        )


@dataclass(frozen=True)
class _ColumnState:
    present: bool
    texts: tuple[str, ...]  # distinct texts (bool / cat)
    slow: bool  # some cell missed the fast path (date / number / int)
    birth: bool  # a full date of birth was given for this column (annee_naissance)
    birth_slow: bool


def _fast_expr(col: Column, src: pl.Expr) -> pl.Expr:
    return _date_fast(src) if col.type == "date" else _number_fast(src)


def _birth_fast(src: pl.Expr) -> pl.Expr:
    return pl.coalesce(
        src.str.extract(r"^\s*((?:19|20)[0-9]{2})(?:[.,]0+)?\s*$", 1).cast(pl.Int32),  # ASCII digits: see _TIME
        _date_fast(src).dt.year().cast(pl.Int32),
    )


def _column_exprs(col: Column, state: _ColumnState, schema: Schema) -> tuple[pl.Expr, pl.Expr | None]:
    """(typed value, error code or None) expressions of one column, aliased, for `normalise_frame`."""
    src = pl.col(col.name)
    value: pl.Expr | None = None
    error: pl.Expr | None = None
    if state.present:
        if col.type in ("bool", "cat") and state.texts:
            dtype: Any
            if col.type == "bool":
                resolved = _resolved(state.texts, partial(resolve_bool, schema), _memo(schema, "bool"))
                dtype, code = pl.Boolean, "oui-non-invalide"
            else:
                domain = schema.domain_of(col)
                resolved = _resolved(state.texts, partial(resolve_category, domain), _memo(domain, "cat"))
                dtype, code = pl.Utf8, "valeur-inconnue"
            # distinct text → its position (an Enum cast: one hash lookup) → the resolved value there
            value = pl.lit(pl.Series(resolved, dtype=dtype)).gather(src.cast(pl.Enum(state.texts)).to_physical())
            if any(r is None for r in resolved):
                error = pl.when(src.is_not_null() & value.is_null()).then(pl.lit(code))
        elif col.type == "text":
            excel_error = src.is_in(sorted(EXCEL_ERROR_TEXTS))
            value = pl.when(~excel_error).then(src.str.strip_chars().str.replace(r"^([+-]?\d+)\.0+$", "${1}"))
            error = pl.when(excel_error).then(pl.lit("erreur-excel"))
        elif col.type == "date":
            if state.slow:
                value, error = pl.col("__slow_" + col.name), pl.col(ERR_PREFIX + "__slow_" + col.name)
            else:
                value = _date_fast(src)
        elif col.type in ("number", "int"):
            number = pl.coalesce(_number_fast(src), _number_slow(src)) if state.slow else _number_fast(src)
            value = number if col.type == "number" else _whole(number)
            if state.slow or col.type == "int":
                code = "nombre-invalide" if col.type == "number" else "entier-invalide"
                error = pl.when(src.is_not_null() & value.is_null()).then(pl.lit(code))
    if state.birth:
        name = BIRTH_PREFIX + col.name
        year = _birth_fast(pl.col(name))
        if state.birth_slow:
            year = pl.coalesce(year, pl.col("__slow_" + name).dt.year().cast(pl.Int32))
        birth_year = pl.when(pl.col(name).is_not_null()).then(year)
        value = birth_year if value is None else pl.coalesce(value, birth_year)
        birth_error = pl.when(pl.col(name).is_not_null() & year.is_null()).then(pl.lit("date-naissance-invalide"))
        error = birth_error if error is None else pl.coalesce(birth_error, error)
    if col.required and (state.present or state.birth):
        empty = src.is_null() if state.present else pl.lit(True)
        if state.birth:
            empty = empty & pl.col(BIRTH_PREFIX + col.name).is_null()
        missing = pl.when(empty).then(pl.lit("identifiant-manquant" if col.name == "id_salarie" else "valeur-obligatoire"))
        error = missing if error is None else pl.coalesce(missing, error)
    dtype = polars_dtype(col.type)
    typed = pl.lit(None, dtype) if value is None else value.cast(dtype)
    return typed.alias(col.name), None if error is None else error.cast(pl.Utf8).alias(ERR_PREFIX + col.name)


# -- one cell through `normalise_frame` -------------------------------------------------------------------
def normalise_cell(schema: Schema, name: str, text: str | None, *, birth: bool = False) -> tuple[Any, str | None]:
    """(typed value, error code) of one cell of column `name` (`birth`: a full date of birth written in it),
    through `normalise_frame` on a one-row frame. An empty cell gives (None, None): requiredness is the
    sheet's business."""
    source = BIRTH_PREFIX + name if birth else name
    frame = pl.DataFrame({source: [text]}, schema={source: pl.Utf8})
    frame = frame.with_columns(pl.when(pl.col(source).str.strip_chars() != "").then(pl.col(source)).alias(source))
    out = normalise_frame(frame, schema)
    error = pl.col(ERR_PREFIX + name) if ERR_PREFIX + name in out.columns else pl.lit(None, pl.Utf8)
    row = out.select(pl.col(name), error.alias("e")).row(0)
    code = row[1]
    if code in ("valeur-obligatoire", "identifiant-manquant"):
        code = None
    return row[0], code


def parse_birth_year(text: str | None, schema: Schema | None = None) -> tuple[int | None, str | None]:
    """A date of birth as written → its year, as the reader stores it (the error workbook shows that year)."""
    from cvg_pipeline.schema.load import load_schema

    schema = schema or load_schema()
    year_column = next(c for c in schema.columns if c.type == "int")
    return normalise_cell(schema, year_column.name, text, birth=True)


# -- SIRET (Structure sheet) -------------------------------------------------------------------------------
def siret_problem(text: str) -> tuple[str | None, str | None]:
    """(clean SIRET, None) when valid, else (None, French detail for `siret-invalide`)."""
    digits = clean_siret(text)
    if not (digits.isascii() and digits.isdigit()):
        return None, "un SIRET ne contient que des chiffres"
    if len(digits) != 14:
        return None, f"{len(digits)} chiffres au lieu de 14"
    if not luhn_valid(digits):
        return None, "la clé de contrôle est fausse : vérifiez chaque chiffre"
    return digits, None
