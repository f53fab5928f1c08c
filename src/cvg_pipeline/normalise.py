"""Normalise the cells of sheet Salariés (spec §3): text as read → typed canonical values, one error per bad cell.

Everything here is a polars expression applied to a whole column at once: no Python loop over cells. The
expressions are built once per schema (cached) and reused for every file. The scalar helpers at the bottom
(`parse_date_text`, `parse_bool_value`, `parse_number_text`, …) run the very same expressions on a one-value
frame, so the tests (hypothesis included) exercise the production code path.

Input of `normalise_salaries`: a frame of Utf8 columns named by canonical column (the text as read by
fastexcel, stripped, null when empty) plus `_ligne` (Excel row). Output: the typed frame (every schema column,
null where absent or failed) and the cell-level issues (`valeur-obligatoire`, `identifiant-manquant`,
`date-invalide`, `date-format-us`, `oui-non-invalide`, `valeur-inconnue`, `nombre-invalide`,
`entier-invalide`, `date-naissance-invalide`). Bounds and row rules belong to validate.py.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import polars as pl

from cvg_pipeline.errors import Issue, issue
from cvg_pipeline.model import ROW_COLUMN
from cvg_pipeline.schema import Column, Domain, Schema, fold

if TYPE_CHECKING:
    from cvg_pipeline.model import SheetColumn

# -- folding (spec §3.1), the vectorised twin of schema.fold ---------------------------------------------------
# Same character class as schema._FOLD_CHARS, written for Rust's regex engine.
_FOLD_CLASS = r"[·.\-'’()/°,;:_\x22«»…\s]+"
_ERR_PREFIX = "__err__"

POLARS_DTYPES: dict[str, Any] = {
    "text": pl.Utf8,
    "cat": pl.Utf8,
    "date": pl.Date,
    "number": pl.Float64,
    "int": pl.Int32,
    "bool": pl.Boolean,
}

# Excel serial numbers (1900 date system). Serial 60 is Lotus' fictitious 29 February 1900.
_SERIAL_MAX = 2_958_465  # 9999-12-31
_SERIAL_FAKE_LEAP_DAY = 60


def fold_expr(expr: pl.Expr) -> pl.Expr:
    """`schema.fold` as a polars expression: case, accents and punctuation folded, spaces collapsed."""
    return (
        expr.str.replace_all("œ", "oe", literal=True)
        .str.replace_all("Œ", "OE", literal=True)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(_FOLD_CLASS, " ")
        .str.strip_chars(" ")
    )


def clean_expr(expr: pl.Expr) -> pl.Expr:
    """Cell text as read → stripped, null when empty (Unicode spaces included, e.g. non-breaking)."""
    stripped = expr.cast(pl.Utf8).str.strip_chars()
    return pl.when(stripped.str.len_chars() > 0).then(stripped)


def _integral_text(expr: pl.Expr) -> pl.Expr:
    """`3.0` / `3,00` → `3` (a whole number stored as a float, or typed with decimals)."""
    return expr.str.replace(r"^([+-]?\d+)[.,]0+$", "${1}")


# -- text ------------------------------------------------------------------------------------------------
def text_expr(expr: pl.Expr) -> pl.Expr:
    """Free text (id_salarie): stripped; a number read as `1234.0` becomes `1234`."""
    return _integral_text(expr)


# -- Oui/Non (spec §3.2) -----------------------------------------------------------------------------------
def bool_mapping(schema: Schema) -> dict[str, bool]:
    mapping = {v: True for v in schema.true_values}
    mapping.update({v: False for v in schema.false_values})
    return mapping


def bool_expr(expr: pl.Expr, schema: Schema) -> tuple[pl.Expr, pl.Expr]:
    """Oui/Non spellings of the schema; Excel TRUE/FALSE (read as `true`/`false`); the numbers 1 and 0."""
    value = fold_expr(_integral_text(expr)).replace_strict(
        bool_mapping(schema), default=None, return_dtype=pl.Boolean
    )
    error = pl.when(expr.is_not_null() & value.is_null()).then(pl.lit("oui-non-invalide"))
    return value, error


# -- categorical values (spec §3.4) ------------------------------------------------------------------------
def domain_mapping(domain: Domain) -> dict[str, str]:
    return {key: value.label for key, value in domain.lookup.items()}


def category_expr(expr: pl.Expr, domain: Domain) -> tuple[pl.Expr, pl.Expr]:
    value = fold_expr(_integral_text(expr)).replace_strict(
        domain_mapping(domain), default=None, return_dtype=pl.Utf8
    )
    error = pl.when(expr.is_not_null() & value.is_null()).then(pl.lit("valeur-inconnue"))
    return value, error


def closest_label(raw: str, domain: Domain) -> str | None:
    """The canonical label whose spelling (label or synonym) is closest to `raw`, if any is close enough."""
    keys = list(domain.lookup)
    found = difflib.get_close_matches(fold(raw), keys, n=1, cutoff=0.6)
    return domain.lookup[found[0]].label if found else None


# -- numbers (spec §3.5) -----------------------------------------------------------------------------------
def _number_value(expr: pl.Expr) -> pl.Expr:
    compact = expr.str.replace_all(r"[\s\u00a0\u202f']", "").str.replace(",", ".", literal=True)
    # Only plain decimal notation (and the exponent fastexcel may print for tiny or huge floats):
    # "inf", "nan", "1_000" or hexadecimal are not numbers a person typed.
    shaped = pl.when(compact.str.contains(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")).then(compact)
    number = shaped.cast(pl.Float64, strict=False)
    return pl.when(number.is_finite()).then(number)


def number_expr(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    value = _number_value(expr)
    error = pl.when(expr.is_not_null() & value.is_null()).then(pl.lit("nombre-invalide"))
    return value, error


def int_expr(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    number = _number_value(expr)
    ok = (number == number.floor()) & (number.abs() < 1e9)
    value = pl.when(ok).then(number).cast(pl.Int32)
    error = pl.when(expr.is_not_null() & value.is_null()).then(pl.lit("entier-invalide"))
    return value, error


# -- dates (spec §3.3) -------------------------------------------------------------------------------------
_TIME = r"(?:[ T]+\d{1,2}[:h]\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
_ISO = r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _TIME + "$"
_DMY = r"^(?P<d>\d{1,2})(?P<s1>[/.\-])(?P<m>\d{1,2})(?P<s2>[/.\-])(?P<y>\d{4}|\d{2})" + _TIME + "$"
_SERIAL = r"^(?P<n>\d{1,7})(?:[.,]\d+)?$"


def _days_in_month(y: pl.Expr, m: pl.Expr) -> pl.Expr:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return (
        pl.when(m == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(m.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )


def date_expr(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Text as read → Date. Excel dates arrive as `AAAA-MM-JJ hh:mm:ss`; the time part is ignored.

    Accepted: `JJ/MM/AAAA`, `JJ-MM-AAAA`, `JJ.MM.AAAA`, `JJ/MM/AA` (20AA), `AAAA-MM-JJ`, Excel serial numbers
    (as numbers or text, 1900 system: serial 60 does not exist). An impossible date is `date-invalide`; a
    month above 12 in second place with a plausible month first (`12/25/2022`) is `date-format-us`.
    """
    iso = expr.str.extract_groups(_ISO)
    dmy = expr.str.extract_groups(_DMY)
    dmy_ok = dmy.struct.field("s1") == dmy.struct.field("s2")
    dmy_y = dmy.struct.field("y").cast(pl.Int32)
    dmy_y = pl.when(dmy.struct.field("y").str.len_chars() == 2).then(dmy_y + 2000).otherwise(dmy_y)
    y = pl.coalesce(iso.struct.field("y").cast(pl.Int32), pl.when(dmy_ok).then(dmy_y))
    m = pl.coalesce(
        iso.struct.field("m").cast(pl.Int32), pl.when(dmy_ok).then(dmy.struct.field("m").cast(pl.Int32))
    )
    d = pl.coalesce(
        iso.struct.field("d").cast(pl.Int32), pl.when(dmy_ok).then(dmy.struct.field("d").cast(pl.Int32))
    )
    valid = (y >= 1) & m.is_between(1, 12) & (d >= 1) & (d <= _days_in_month(y, m))
    from_parts = pl.when(valid).then(
        pl.date(
            pl.when(valid).then(y).otherwise(2000),
            pl.when(valid).then(m).otherwise(1),
            pl.when(valid).then(d).otherwise(1),
        )
    )
    serial = expr.str.extract(_SERIAL, 1).cast(pl.Int64)
    serial_ok = serial.is_between(1, _SERIAL_MAX) & (serial != _SERIAL_FAKE_LEAP_DAY)
    # Day 1 is 1900-01-01; from serial 61 on, Excel counts the fictitious 29/02/1900.
    offset = pl.when(serial < _SERIAL_FAKE_LEAP_DAY).then(serial + 1).otherwise(serial)
    from_serial = pl.when(serial_ok).then(
        pl.lit(date(1899, 12, 30)) + pl.duration(days=pl.when(serial_ok).then(offset).otherwise(0))
    )
    value = pl.coalesce(from_parts, from_serial)
    us = dmy_ok & m.is_between(13, 31) & d.is_between(1, 12)
    error = (
        pl.when(expr.is_null() | value.is_not_null())
        .then(pl.lit(None, pl.Utf8))
        .when(us)
        .then(pl.lit("date-format-us"))
        .otherwise(pl.lit("date-invalide"))
    )
    return value, error


def birth_year_expr(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """A full date of birth → its year (Int32). A bare 4-digit year 1900–2099 is taken as the year itself."""
    bare_year = expr.str.extract(r"^((?:19|20)\d{2})(?:[.,]0+)?$", 1).cast(pl.Int32)
    value, _ = date_expr(expr)
    year = pl.coalesce(bare_year, value.dt.year().cast(pl.Int32))
    error = pl.when(expr.is_not_null() & year.is_null()).then(pl.lit("date-naissance-invalide"))
    return year, error


# -- the whole sheet ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    values: tuple[pl.Expr, ...]
    errors: tuple[pl.Expr, ...]


def column_exprs(col: Column, schema: Schema, *, birth_date: bool = False) -> tuple[pl.Expr, pl.Expr | None]:
    """(typed value, error code or null) expressions for one present column, both named after it."""
    src = pl.col(col.name)
    error: pl.Expr | None
    if birth_date:
        value, error = birth_year_expr(src)
    elif col.type == "text":
        value, error = text_expr(src), None
    elif col.type == "bool":
        value, error = bool_expr(src, schema)
    elif col.type == "cat":
        value, error = category_expr(src, schema.domain_of(col))
    elif col.type == "number":
        value, error = number_expr(src)
    elif col.type == "int":
        value, error = int_expr(src)
    else:
        value, error = date_expr(src)
    if col.name == "id_salarie":
        error = pl.when(src.is_null()).then(pl.lit("identifiant-manquant"))
    elif col.required:
        missing = pl.when(src.is_null()).then(pl.lit("valeur-obligatoire"))
        error = missing if error is None else pl.coalesce(missing, error)
    named_error = None if error is None else error.cast(pl.Utf8).alias(_ERR_PREFIX + col.name)
    return value.cast(POLARS_DTYPES[col.type]).alias(col.name), named_error


# Schema objects are immutable but not hashable (mapping proxies): caches are keyed by id() and keep the
# schema alive next to the cached value, so an id is never reused while its entry exists.
_PLANS: dict[tuple[int, frozenset[str], frozenset[str]], tuple[Schema, _Plan]] = {}
_SCALARS: dict[tuple[str, int, str | None], tuple[Schema | None, tuple[pl.Expr, pl.Expr | None]]] = {}


def _plan(schema: Schema, present: frozenset[str], birth: frozenset[str]) -> _Plan:
    key = (id(schema), present, birth)
    hit = _PLANS.get(key)
    if hit is None:
        hit = _PLANS[key] = (schema, _build_plan(schema, present, birth))
    return hit[1]


def _build_plan(schema: Schema, present: frozenset[str], birth: frozenset[str]) -> _Plan:
    values: list[pl.Expr] = [pl.col(ROW_COLUMN).cast(pl.Int32)]
    errors: list[pl.Expr] = []
    for col in schema.columns:
        if col.name in present:
            value, error = column_exprs(col, schema, birth_date=col.name in birth)
            values.append(value)
            if error is not None:
                errors.append(error)
        else:
            values.append(pl.lit(None, POLARS_DTYPES[col.type]).alias(col.name))
    return _Plan(tuple(values), tuple(errors))


def empty_data(schema: Schema) -> pl.DataFrame:
    """A frame with no rows and every column of `data`, typed."""
    return pl.DataFrame(
        schema={ROW_COLUMN: pl.Int32, **{c.name: POLARS_DTYPES[c.type] for c in schema.columns}}
    )


def normalise_salaries(
    raw: pl.DataFrame,
    schema: Schema,
    columns: Mapping[str, SheetColumn],
    *,
    fichier: str,
    feuille: str,
    birth_date: frozenset[str] = frozenset(),
) -> tuple[pl.DataFrame, list[Issue]]:
    """Type every present column of `raw` (Utf8, cleaned) and locate every cell that failed.

    `columns` maps the canonical names present in `raw` to where they were found (header, letter);
    `birth_date` names the columns read from a full date of birth (their text in `raw` is already the
    year, or null with an error at read time — see reader.py).
    """
    present = frozenset(c for c in columns if c in raw.columns)
    plan = _plan(schema, present, birth_date & present)
    out = raw.select(*plan.values, *plan.errors)
    data = out.select(pl.col(ROW_COLUMN), *(c.name for c in schema.columns))
    located: list[tuple[int, int, Issue]] = []
    for err_name in out.columns[len(plan.values):]:
        series = out.get_column(err_name)
        if series.null_count() == len(series):
            continue
        name = err_name[len(_ERR_PREFIX):]
        where = columns[name]
        failed = out.select(pl.col(ROW_COLUMN), pl.col(err_name), raw.get_column(name).alias("_raw")).filter(
            pl.col(err_name).is_not_null()
        )
        for ligne, code, raw_text in failed.iter_rows():
            hidden = name == "id_salarie" or name in birth_date
            item = cell_issue(code, schema.column(name), where, None if hidden else raw_text, fichier=fichier,
                              feuille=feuille, ligne=ligne, schema=schema)
            located.append((ligne, where.index, item))
    located.sort(key=lambda t: (t[0], t[1]))
    return data, [t[2] for t in located]


def cell_issue(
    code: str,
    col: Column,
    where: SheetColumn,
    raw_text: str | None,
    *,
    fichier: str,
    feuille: str,
    ligne: int,
    schema: Schema,
) -> Issue:
    """The located issue for one failed cell (`raw_text` None for id_salarie and dates of birth)."""
    fields: dict[str, Any] = {}
    if code == "valeur-obligatoire":
        fields["libelle"] = col.label
    elif code == "valeur-inconnue" and raw_text is not None:
        domain = schema.domain_of(col)
        fields.update(category_fields(raw_text, domain))
    return issue(code, fichier, feuille=feuille, ligne=ligne, colonne=where.header, lettre=where.letter,
                 valeur=raw_text, **fields)


def category_fields(raw_text: str, domain: Domain) -> dict[str, str]:
    """`suggestion` and `valeurs` for the valeur-inconnue / territoire-inconnu templates."""
    closest = closest_label(raw_text, domain)
    return {
        "suggestion": f" (vouliez-vous dire « {closest} » ?)" if closest else "",
        "valeurs": ", ".join(f"« {label} »" for label in domain.labels),
    }


# -- scalar helpers (one value through the same expressions) -----------------------------------------------
def _run(expr_pair: tuple[pl.Expr, pl.Expr | None], text: str | None) -> tuple[Any, str | None]:
    value, error = expr_pair
    frame = pl.DataFrame({"v": [text]}, schema={"v": pl.Utf8}).select(clean_expr(pl.col("v")).alias("v"))
    exprs = [value.alias("value"), (error if error is not None else pl.lit(None, pl.Utf8)).alias("error")]
    row = frame.select(exprs).row(0)
    return row[0], row[1]


def _scalar_exprs(kind: str, schema: Schema | None = None, domain: str | None = None) -> tuple[pl.Expr, pl.Expr | None]:
    key = (kind, id(schema), domain)
    hit = _SCALARS.get(key)
    if hit is None:
        hit = _SCALARS[key] = (schema, _build_scalar_exprs(kind, schema, domain))
    return hit[1]


def _build_scalar_exprs(kind: str, schema: Schema | None, domain: str | None) -> tuple[pl.Expr, pl.Expr | None]:
    src = pl.col("v")
    if kind == "date":
        return date_expr(src)
    if kind == "birth_year":
        return birth_year_expr(src)
    if kind == "number":
        return number_expr(src)
    if kind == "int":
        return int_expr(src)
    if kind == "text":
        return text_expr(src), None
    assert schema is not None
    if kind == "bool":
        return bool_expr(src, schema)
    assert domain is not None
    return category_expr(src, schema.domains[domain])


def parse_date_text(text: str | None) -> tuple[date | None, str | None]:
    """(date, None), (None, error code) or (None, None) for an empty cell. Same code as the sheet path."""
    value, error = _run(_scalar_exprs("date"), text)
    return value, error


def parse_birth_year(text: str | None) -> tuple[int | None, str | None]:
    value, error = _run(_scalar_exprs("birth_year"), text)
    return value, error


def parse_bool_value(text: str | None, schema: Schema) -> tuple[bool | None, str | None]:
    value, error = _run(_scalar_exprs("bool", schema), text)
    return value, error


def parse_number_text(text: str | None) -> tuple[float | None, str | None]:
    value, error = _run(_scalar_exprs("number"), text)
    return value, error


def parse_int_text(text: str | None) -> tuple[int | None, str | None]:
    value, error = _run(_scalar_exprs("int"), text)
    return value, error


def parse_text(text: str | None) -> str | None:
    value, _ = _run(_scalar_exprs("text"), text)
    return value  # type: ignore[no-any-return]


def parse_category(text: str | None, schema: Schema, domain: str) -> tuple[str | None, str | None]:
    value, error = _run(_scalar_exprs("cat", schema, domain), text)
    return value, error


def fold_text(text: str) -> str:
    """The vectorised fold applied to one string (tests compare it with schema.fold)."""
    result = pl.select(fold_expr(pl.lit(text, pl.Utf8))).item()
    return str(result)


# -- SIRET (Structure sheet) -------------------------------------------------------------------------------
def clean_siret(text: str) -> str:
    """Remove spaces (Unicode ones included) and dots; a number read as `…0.0` loses its `.0`."""
    text = text.strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return "".join(ch for ch in text if not ch.isspace() and ch != ".")


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a string of ASCII digits (SIRET)."""
    if not digits or not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


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
