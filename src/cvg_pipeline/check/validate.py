"""VALIDATE: the cell bounds and row rules of the reporting file (spec §2, §5), over every file at once.

The reader and normaliser (read/workbook.py, read/normalise.py) have already turned each file into typed canonical
columns, with a located issue for every cell that could not be parsed (and null in its place). This stage
checks what is left: number bounds, the age at entry, dates against 2010 and against the file's Date
d'arrêté, and the rules across cells and rows (sortie block, conditions, duplicates, overlapping parcours).

The pandera schema is generated from `schemas/` (one check per column attribute: `min`/`max`, `si_sortie`,
`si_sortie_seul`, `seulement_si`, the type), never written column by column. A pandera `validate()` call has
a fixed cost of about 0.1 s, so the frames of all files are stacked (with the file's index, Excel row and
Date d'arrêté as technical columns) and validated **once**, `lazy=True`, with vectorised polars checks.
Each failure is mapped back to its file and Excel row through those technical columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from cvg_pipeline.check.errors import Code, issue
from cvg_pipeline.read.model import FILE_COLUMN, ROW_COLUMN, SUSPECT_COLUMN, ParsedFile
from cvg_pipeline.schema.load import Schema
from cvg_pipeline.schema.types import polars_dtype

if TYPE_CHECKING:
    import polars as pl

# Rules of the spec that are not column attributes of schemas/ (spec §2.1, §2.2).
DATE_MIN = date(2010, 1, 1)
AGE_MIN = 16
AGE_MAX = 80

ARRETE_COLUMN = "_date_arrete"  # the file's Date d'arrêté, repeated on each of its rows

# The codes of the generated checks (each check's name and error text is its code).
RULE_CODES = frozenset(
    {
        "hors-bornes",
        "age-hors-bornes",
        "date-trop-ancienne",
        "date-apres-arrete",
        "sortie-avant-entree",
        "bloc-sortie-sans-date",
        "sortie-incomplete",
        "condition-non-remplie",
        "doublon-parcours",
        "parcours-chevauchants",
    }
)


def _fmt(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d is not None else ""


def _fmt_num(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else str(x).replace(".", ",")


# -- the generated pandera schema ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    """One generated check: its code, the column it is reported on, and the expression of a valid row."""

    code: Code
    column: str
    # A polars expression true on valid rows, or, when `frame`, a function of the LazyFrame returning one
    # boolean column aligned with its rows.
    valid: Any
    other: str | None = None  # a second column the rule reads (condition, date d'entrée)
    frame: bool = False


def _rules(schema: Schema) -> Iterator[_Rule]:
    """Every rule of §2 and §5 that is not a single-cell parse, generated from the schema's attributes."""
    import polars as pl

    names = {c.name for c in schema.columns}
    sortie = pl.col("date_sortie")
    entree = pl.col("date_entree")
    arrete = pl.col(ARRETE_COLUMN)

    for col in schema.columns:
        c = pl.col(col.name)
        if col.type in ("number", "int") and (col.min is not None or col.max is not None):
            lo, hi = col.min, col.max

            ok = pl.lit(True)
            if lo is not None:
                ok = ok & (c >= lo)
            if hi is not None:
                ok = ok & (c <= hi)
            yield _Rule("hors-bornes", col.name, c.is_null() | ok)
        if col.type == "date":
            yield _Rule("date-apres-arrete", col.name, c.is_null() | arrete.is_null() | (c <= arrete))
        if col.exit_only and "date_sortie" in names:
            yield _Rule(
                "bloc-sortie-sans-date", col.name, c.is_null() | sortie.is_not_null(), other="date_sortie"
            )
        if col.rule == "si_sortie":
            yield _Rule(
                "sortie-incomplete", col.name, sortie.is_null() | c.is_not_null(), other="date_sortie"
            )
        if col.only_if is not None:
            cond = pl.col(col.only_if)
            yield _Rule(
                "condition-non-remplie", col.name, c.is_null() | cond.fill_null(False), other=col.only_if
            )

    # Rules on named columns of the spec (§2.1, §2.2, §5).
    yield _Rule("date-trop-ancienne", "date_entree", entree.is_null() | (entree >= DATE_MIN))
    yield _Rule(
        "sortie-avant-entree",
        "date_sortie",
        sortie.is_null() | entree.is_null() | (sortie >= entree),
        other="date_entree",
    )
    birth = pl.col("annee_naissance")
    yield _Rule(
        "age-hors-bornes",
        "annee_naissance",
        birth.is_null()
        | entree.is_null()
        | (entree < DATE_MIN)  # the entry date is wrong (its own error): the age computed from it means nothing
        | ((entree.dt.year() - birth) >= AGE_MIN) & ((entree.dt.year() - birth) <= AGE_MAX),
        other="date_entree",
    )
    # `id_salarie` holds the identifier as normalised by the reader (identifiers.normalise_identifier, the
    # rule pseudonyms are made with): look-alike spellings of one identifier are one salarié here too.
    key = [FILE_COLUMN, "id_salarie"]

    first = pl.int_range(pl.len()).over([*key, "date_entree"]) == 0
    no_duplicate = pl.col("id_salarie").is_null() | entree.is_null() | first
    yield _Rule("doublon-parcours", "id_salarie", no_duplicate, other="date_entree")
    yield _Rule("parcours-chevauchants", "id_salarie", _no_overlap(), other="date_entree", frame=True)


_FAR_FUTURE = date(9999, 12, 31)


def _no_overlap() -> Callable[[pl.LazyFrame], pl.LazyFrame]:
    """A function of the frame: False on a parcours that starts before an earlier one of the same id has ended.

    Same file, same id. A parcours with no Date de sortie is still running. Re-entering on the day of the
    exit is allowed. Rows with the same entry date are duplicates (reported as such), not overlaps.
    """
    import polars as pl

    key = [FILE_COLUMN, "id_salarie"]
    end = pl.col("date_sortie").fill_null(_FAR_FUTURE)
    entree = pl.col("date_entree")

    def run(lf: pl.LazyFrame) -> pl.LazyFrame:
        return (
            lf.with_row_index("_i")
            .sort([*key, "date_entree", ROW_COLUMN], nulls_last=True)
            .with_columns(
                end.cum_max().shift(1).over(key).alias("_prev_end"),
                entree.shift(1).over(key).alias("_prev_entree"),
            )
            .sort("_i")
            .select(
                (
                    pl.col("id_salarie").is_null()
                    | entree.is_null()
                    | ~((pl.col("_prev_end") > entree) & (pl.col("_prev_entree") < entree)).fill_null(False)
                ).alias("id_salarie")
            )
        )

    return run


def build_schema(schema: Schema) -> Any:
    """The pandera (polars backend) DataFrameSchema of the stacked frame, generated from `schemas/`."""
    import pandera.polars as pa
    import polars as pl

    checks: dict[str, list[Any]] = {c.name: [] for c in schema.columns}
    for rule in _rules(schema):

        def fn(data: Any, rule: _Rule = rule) -> Any:
            if rule.frame:
                return rule.valid(data.lazyframe)
            return data.lazyframe.select(rule.valid.alias(rule.column))

        checks[rule.column].append(pa.Check(fn, name=rule.code, error=rule.code))
    columns = {
        c.name: pa.Column(polars_dtype(c.type), nullable=True, checks=checks[c.name]) for c in schema.columns
    }
    columns[FILE_COLUMN] = pa.Column(pl.Int32, nullable=False)
    columns[ROW_COLUMN] = pa.Column(pl.Int32, nullable=False)
    columns[ARRETE_COLUMN] = pa.Column(pl.Date, nullable=True)
    return pa.DataFrameSchema(columns, strict=False, name="Salariés")


_SCHEMA_CACHE: dict[int, Any] = {}


def _cached_schema(schema: Schema) -> Any:
    key = id(schema)
    if key not in _SCHEMA_CACHE:
        _SCHEMA_CACHE[key] = (schema, build_schema(schema))
    return _SCHEMA_CACHE[key][1]


# -- stacking and mapping back ------------------------------------------------------------------------------


def stack(files: list[ParsedFile], schema: Schema, *, only_suspects: bool = False) -> pl.DataFrame:
    """The rows of every file with data, typed as the schema says, plus file index, Excel row, Date d'arrêté
    (`only_suspects`: only the rows that `mark_suspects` marked)."""
    import polars as pl

    def rows(data: pl.DataFrame) -> pl.DataFrame:
        return data.filter(pl.col(SUSPECT_COLUMN)) if only_suspects else data

    kept = [(i, rows(f.data), f.structure.date_arrete if f.structure is not None else None)
            for i, f in enumerate(files) if f.data is not None and f.data.height > 0]
    kept = [(i, d, a) for i, d, a in kept if d.height > 0]
    try:  # the common case (every file read by read/workbook.py, same columns and types): one concatenation,
        # then one cast of each column (a select per file costs ~2 ms: 1.3 s for 700 files)
        data = pl.concat([d for _, d, _ in kept], rechunk=True) if kept else None
    except pl.exceptions.PolarsError:  # files with other columns: one select each, below
        data = None
    if data is not None:
        present = set(data.columns)
        index = [i for i, d, _ in kept for _ in range(d.height)]
        arretes = [a for _, d, a in kept for _ in range(d.height)]
        return data.select(
            [(pl.col(c.name) if c.name in present else pl.lit(None)).cast(polars_dtype(c.type)).alias(c.name)
             for c in schema.columns]
            + [
                pl.Series(FILE_COLUMN, index, dtype=pl.Int32),
                pl.col(ROW_COLUMN).cast(pl.Int32),
                pl.Series(ARRETE_COLUMN, arretes, dtype=pl.Date),
            ]
        )
    frames: list[pl.DataFrame] = []
    for i, d, arrete in kept:
        present = set(d.columns)
        frames.append(
            d.select(
                [
                    (pl.col(c.name) if c.name in present else pl.lit(None))
                    .cast(polars_dtype(c.type))
                    .alias(c.name)
                    for c in schema.columns
                ]
                + [
                    pl.lit(i, dtype=pl.Int32).alias(FILE_COLUMN),
                    pl.col(ROW_COLUMN).cast(pl.Int32),
                    pl.lit(arrete, dtype=pl.Date).alias(ARRETE_COLUMN),
                ]
            )
        )
    if not frames:
        return pl.DataFrame(
            {c.name: pl.Series([], dtype=polars_dtype(c.type)) for c in schema.columns}
            | {
                FILE_COLUMN: pl.Series([], dtype=pl.Int32),
                ROW_COLUMN: pl.Series([], dtype=pl.Int32),
                ARRETE_COLUMN: pl.Series([], dtype=pl.Date),
            }
        )
    return pl.concat(frames, how="vertical")


def validate(files: list[ParsedFile], schema: Schema) -> None:
    """Check every file's rows at once and append the issues found to each file's `issues`."""
    if not any(f.data is not None and f.data.height > 0 for f in files):
        return  # nothing to check: pandera (and pandas behind it) is not even imported
    import polars as pl

    _absent_exit_columns(files, schema)
    marked = all(f.data is None or SUSPECT_COLUMN in f.data.columns for f in files)
    if marked and not any(f.data is not None and f.data.get_column(SUSPECT_COLUMN).any() for f in files):
        return  # the readers found no row that may fail a rule (mark_suspects): nothing to stack
    frame = _suspects(stack(files, schema, only_suspects=marked), schema)
    if frame.height == 0:
        # No row can fail a check (the suspects are found with the very expressions of the checks), and the
        # frame's columns and types are the schema's by construction (stack): pandera would find nothing, so
        # it (and pandas behind it, ~1 s) is not imported at all.
        return
    import pandera.polars as pa

    try:
        _cached_schema(schema).validate(frame, lazy=True)
        return
    except pa.errors.SchemaErrors as exc:
        failures = exc.failure_cases
    failures = failures.filter(pl.col("index").is_not_null() & pl.col("check").is_in(list(RULE_CODES)))
    if failures.height == 0:
        return
    located = (
        failures.select(
            pl.col("index").cast(pl.Int64),
            pl.col("column"),
            pl.col("check").alias("code"),
        )
        .unique(maintain_order=True)
        .join(
            frame.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64)), on="index", how="left"
        )
        .sort([FILE_COLUMN, ROW_COLUMN, "index"])
    )
    others = _other_rows(frame, located)
    _emit(files, schema, located, others)


def mark_suspects(files: Sequence[ParsedFile], schema: Schema) -> None:
    """Add SUSPECT_COLUMN to each file's rows: True where `_suspects` would keep the row. Every rule looks at
    one row or at the rows of one (file, identifier) group, so files can be marked in any batches (the
    readers mark their own chunks, in parallel) and `validate` then stacks only the marked rows."""
    import polars as pl

    for f in files:
        if f.data is not None and f.data.height == 0:
            f.data = f.data.with_columns(pl.lit(False).alias(SUSPECT_COLUMN))
    with_rows = [f for f in files if f.data is not None and f.data.height > 0]
    if not with_rows:
        return
    flags = _suspect_flags(stack(list(with_rows), schema), schema)
    offset = 0
    for f in with_rows:
        assert f.data is not None
        f.data = f.data.with_columns(flags.slice(offset, f.data.height).alias(SUSPECT_COLUMN))
        offset += f.data.height


def _suspects(frame: pl.DataFrame, schema: Schema) -> pl.DataFrame:
    return frame.filter(_suspect_flags(frame, schema))


def _suspect_flags(frame: pl.DataFrame, schema: Schema) -> pl.Series:
    """Which rows pandera has to look at: those where a rule (the very expressions of the checks, evaluated
    on the whole frame) is not plainly true, with every row of their (file, identifier) group, so that the
    rules across rows (duplicates, overlaps) give the same answer on this subset. The other rows cannot fail
    any check: pandera costs ~30 ms per check on 60,000 rows, ~0.1 s in all on a few rows. Same columns,
    same types: the schema-level checks see the same frame shape."""
    import polars as pl

    rules = list(_rules(schema))
    failing = pl.any_horizontal([~rule.valid.fill_null(False) for rule in rules if not rule.frame])
    flags = frame.select(failing.alias("_s"))
    lazy = frame.lazy()
    for rule in rules:
        if rule.frame:
            ok = rule.valid(lazy).collect().to_series(0)
            flags = flags.with_columns(pl.col("_s") | ~ok.fill_null(False))
    group = pl.col("_s").any().over([FILE_COLUMN, "id_salarie"]) & pl.col("id_salarie").is_not_null()
    return (
        flags.with_columns(frame.get_column(FILE_COLUMN), frame.get_column("id_salarie"))
        .select(pl.col("_s") | group)
        .to_series(0)
    )


def _other_rows(frame: pl.DataFrame, located: pl.DataFrame) -> dict[tuple[str, int], int]:
    """For duplicates and overlaps: the Excel row of the other parcours each failing row is compared with.

    Only the (file, id) groups that failed are walked, in Python: they are few and small.
    """
    import polars as pl

    wanted = located.filter(pl.col("code").is_in(["doublon-parcours", "parcours-chevauchants"]))
    if wanted.height == 0:
        return {}
    key = [FILE_COLUMN, "id_salarie"]
    groups = (
        frame.with_row_index("index")
        .with_columns(pl.col("index").cast(pl.Int64))
        .join(wanted.select(key).unique(), on=key, how="semi")
        .filter(pl.col("date_entree").is_not_null())
        .sort([*key, "date_entree", ROW_COLUMN])
        .select([*key, "index", ROW_COLUMN, "date_entree", "date_sortie"])
    )
    result: dict[tuple[str, int], int] = {}
    current: tuple[Any, ...] | None = None
    first_of_entry: dict[date, int] = {}
    latest: tuple[date, int] | None = None  # (end, Excel row) of the parcours ending last so far
    for fi, ident, idx, ligne, entree, sortie in groups.iter_rows():
        if (fi, ident) != current:
            current, first_of_entry, latest = (fi, ident), {}, None
        if entree in first_of_entry:
            result[("doublon-parcours", idx)] = first_of_entry[entree]
        else:
            first_of_entry[entree] = ligne
            if latest is not None:
                result[("parcours-chevauchants", idx)] = latest[1]
        end = sortie or _FAR_FUTURE
        if latest is None or end > latest[0]:
            latest = (end, ligne)
    return result


def _emit(
    files: list[ParsedFile], schema: Schema, located: pl.DataFrame, others: dict[tuple[str, int], int]
) -> None:
    """Turn located failures into French issues, with header, letter and value as written."""
    raw_cache: dict[int, tuple[dict[int, int], dict[str, list[Any]]]] = {}

    def raw_value(i: int, column: str, ligne: int) -> str | None:
        f = files[i]
        if f.raw is None or column == "id_salarie" or column not in f.raw.columns:
            return None
        if i not in raw_cache:
            raw = f.raw.to_dict(as_series=False)
            raw_cache[i] = ({int(r): n for n, r in enumerate(raw[ROW_COLUMN])}, raw)
        rows, raw = raw_cache[i]
        n = rows.get(ligne)
        value = raw[column][n] if n is not None else None
        return None if value is None else str(value)

    for rec in located.iter_rows(named=True):
        i, ligne, code, name = rec[FILE_COLUMN], rec[ROW_COLUMN], rec["code"], rec["column"]
        f = files[i]
        where = f.columns.get(name)
        col = schema.column(name)
        if code == "sortie-incomplete" and where is None:
            continue  # the whole column is missing: one structure error (see _absent_exit_columns)
        if code == "sortie-incomplete" and _failed(rec, name, raw_value(i, name, ligne)):
            continue  # the cell holds a value the reader refused (its own error), it is not empty
        if code == "bloc-sortie-sans-date" and _failed(
            rec, "date_sortie", raw_value(i, "date_sortie", ligne)
        ):
            continue  # a Date de sortie was written but is invalid: that cell's error says it all
        if (
            code == "condition-non-remplie"
            and col.only_if is not None
            and _failed(rec, col.only_if, raw_value(i, col.only_if, ligne))
        ):
            continue  # the condition's cell is invalid (its own error), not empty
        header = where.header if where else col.label
        valeur = raw_value(i, name, ligne)
        fields: dict[str, Any] = {}
        if code == "hors-bornes":
            fields = {"minimum": _fmt_num(col.min), "maximum": _fmt_num(col.max)}
            valeur = valeur if valeur is not None else _fmt_num(rec[name])
        elif code == "age-hors-bornes":
            fields = {"age": rec["date_entree"].year - rec[name], "age_min": AGE_MIN, "age_max": AGE_MAX}
            valeur = valeur if valeur is not None else str(rec[name])
        elif code == "date-trop-ancienne":
            fields = {"minimum": _fmt(DATE_MIN)}
            valeur = valeur if valeur is not None else _fmt(rec[name])
        elif code == "date-apres-arrete":
            fields = {"date_arrete": _fmt(rec[ARRETE_COLUMN])}
            valeur = valeur if valeur is not None else _fmt(rec[name])
        elif code == "sortie-avant-entree":
            fields = {"date_sortie": _fmt(rec["date_sortie"]), "date_entree": _fmt(rec["date_entree"])}
            valeur = valeur if valeur is not None else _fmt(rec[name])
        elif code in ("sortie-incomplete", "bloc-sortie-sans-date"):
            fields = {"libelle": header}
            if code == "sortie-incomplete":
                valeur = None
        elif code == "condition-non-remplie":
            assert col.only_if is not None
            cond_where = f.columns.get(col.only_if)
            fields = {
                "libelle": header,
                "condition": cond_where.header if cond_where else schema.column(col.only_if).label,
            }
        elif code in ("doublon-parcours", "parcours-chevauchants"):
            fields = {"autre_ligne": others.get((code, rec["index"]), "?")}
            valeur = None
        f.issues.append(
            issue(
                code,
                f.fichier,
                feuille=f.salaries_sheet,
                ligne=ligne,
                colonne=header,
                lettre=where.letter if where else None,
                valeur=valeur,
                **fields,
            )
        )


def _failed(rec: dict[str, Any], column: str, raw: str | None) -> bool:
    """A cell that holds text but no typed value: the reader reported it; rules reading it stay quiet."""
    return rec.get(column) is None and raw is not None


def _absent_exit_columns(files: list[ParsedFile], schema: Schema) -> None:
    """A `si_sortie` column absent from a file that has sorties: one structure error, not one per row."""
    import polars as pl

    exit_columns = [col for col in schema.columns if col.rule == "si_sortie"]
    for f in files:
        if f.data is None or "date_sortie" not in f.data.columns or not f.columns:
            continue
        if all(col.name in f.columns for col in exit_columns):
            continue  # nothing can be missing (checked first: a polars call per file costs ~0.2 ms)
        if f.data.select(pl.col("date_sortie").is_not_null().any()).item() is not True:
            continue
        for col in exit_columns:
            if col.name not in f.columns:
                f.issues.append(
                    issue(
                        "colonne-manquante",
                        f.fichier,
                        feuille=f.salaries_sheet,
                        libelle=col.label,
                        ligne_entete=f.header_row,
                    )
                )
