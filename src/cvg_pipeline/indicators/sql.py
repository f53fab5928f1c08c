"""The SQL of the indicators, generated from the catalogue (`cvg_pipeline.indicators.catalogue`).

One relation (`derived_relation`) holds the parcours of the selected snapshots with the populations of §2
as boolean columns for each year and the derived values the catalogue's predicates name (``age``, ``days``,
``cat``, ``rank_in``, ``rank_out``, ``nb_diff``, ``neutre``, ``dyn``, ``in_perenne``, ``out_perenne``).
One aggregate query groups it by SIRET; every aggregate is additive over ACI (a count, an exact sum
), so the figures of any set of ACI — the scope, a territoire of ``par_territoire`` —
are read from the element-wise sum of their rows (`merge`): national counts are the sum of the territoires'
by construction.

`Query` collects the aggregate expressions (identical ones once) and returns `Leaf` objects that read their
value from a merged row; `build` turns one catalogue entry into its tree of leaves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from cvg_pipeline.check.errors import CvgError
from cvg_pipeline.indicators.catalogue import (
    DURABLE_CATEGORY,
    MONTH_DAYS_DEN,
    MONTH_DAYS_NUM,
    NEUTRAL_CATEGORY,
    NON_RENSEIGNE,
    PHC_POURSUITE_MOTIFS,
    Indicateur,
)
from cvg_pipeline.schema.load import Schema

PROGRAMME_TOUS = "tous"
PHC = "PHC"  # the phc block (§4 phc) is computed on this programme whatever --programme says
HOUSING_DOMAIN = "logement"
MOTIF_COLUMN = "motif_sortie"
RESOLVED_LABELS = ("Résolue", "En cours de résolution")  # resolue_ou_en_cours (named in the catalogue)
MONTH_DAYS = Fraction(MONTH_DAYS_NUM, MONTH_DAYS_DEN)


def lit(value: str | date) -> str:
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + value.replace("'", "''") + "'"


def col(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def in_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")" if values else "(NULL)"


def file_active_predicate(day: date) -> str:
    """§2 file active at day D."""
    return f"(date_entree <= {lit(day)} AND (date_sortie IS NULL OR date_sortie > {lit(day)}))"


def population_predicates(year: int) -> dict[str, str]:
    """The populations of §2 for calendar year `year`, as SQL predicates on date_entree / date_sortie."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    return {
        "acc": f"(date_entree <= {lit(end)} AND (date_sortie IS NULL OR date_sortie >= {lit(start)}))",
        "ent": f"(date_entree BETWEEN {lit(start)} AND {lit(end)})",
        "sor": f"(date_sortie IS NOT NULL AND date_sortie BETWEEN {lit(start)} AND {lit(end)})",
        "fad": file_active_predicate(date(year - 1, 12, 31)),
        "faf": file_active_predicate(end),
    }


def round_half_up(value: Fraction, digits: int = 1) -> float:
    """ROUND_HALF_UP (12.25 → 12.3, -0.25 → -0.3) on an exact value; Python's round() is half-even."""
    factor: int = 10**digits
    rounded = math.floor(abs(value) * factor + Fraction(1, 2))
    return (rounded if value >= 0 else -rounded) / factor


# -- what the SQL needs from the schema ------------------------------------------------------------------
@dataclass(frozen=True)
class Defs:
    categories: dict[str, str]  # motif label -> category key
    dynamic: tuple[str, ...]  # dynamic category keys
    ranks: dict[str, int]  # housing label -> rank
    perenne: str  # label of the best-ranked housing value


def defs_of(schema: Schema) -> Defs:
    """Derived once per run; the names the catalogue writes are checked against the schema here."""
    motifs = schema.domains[MOTIF_COLUMN]
    housing = schema.domains[HOUSING_DOMAIN]
    keys = {c.key for c in schema.exit_categories}
    for key in (NEUTRAL_CATEGORY, DURABLE_CATEGORY):
        if key not in keys:
            raise CvgError(f"schéma : la catégorie de sortie « {key} » est absente.")
    for label in PHC_POURSUITE_MOTIFS:
        motifs.by_label(label)  # KeyError: the schema no longer has a motif the spec names
    for label in RESOLVED_LABELS:
        schema.domains["resolution"].by_label(label)
    ranks = {v.label: int(v.rank if v.rank is not None else -1) for v in housing.values}
    return Defs(
        categories={v.label: str(v.category) for v in motifs.values},
        dynamic=tuple(c.key for c in schema.exit_categories if c.dynamic),
        ranks=ranks,
        perenne=max(ranks, key=lambda label: ranks[label]),
    )


def derived_relation(schema: Schema, defs: Defs, snapshot_ids: Sequence[int], years: Sequence[int],
                     programme: str) -> str:
    """The parcours of the selected snapshots, with the populations and derived values as columns."""
    cat_case = "CASE motif_sortie " + " ".join(
        f"WHEN {lit(label)} THEN {lit(key)}" for label, key in defs.categories.items()
    ) + " END"

    def rank_case(column: str) -> str:
        return f"CASE {col(column)} " + " ".join(
            f"WHEN {lit(label)} THEN {rank}" for label, rank in defs.ranks.items()
        ) + " END"

    nb_diff = " + ".join(f"CAST(coalesce({col(d.entry_column)}, FALSE) AS INTEGER)" for d in schema.difficulties)
    prog = "TRUE" if programme == PROGRAMME_TOUS else f"programme = {lit(programme)}"
    flags = [f"coalesce({pred}, FALSE) AS {name}_{year}"
             for year in years for name, pred in population_predicates(year).items()]
    ids = ", ".join(str(i) for i in snapshot_ids) or "NULL"
    # The columns of the schema, by name: a column the schema no longer has stays in the store
    # (store_columns.py) and must never stand in for a value derived below under the same name.
    stored = ", ".join(["snapshot_id", "siret", *(col(c.name) for c in schema.columns)])
    return f"""(
        SELECT *,
            coalesce(cat = {lit(NEUTRAL_CATEGORY)}, FALSE) AS neutre,
            coalesce(cat IN {in_list(defs.dynamic)}, FALSE) AS dyn
        FROM (
        SELECT {stored},
            coalesce({prog}, FALSE) AS prog,
            coalesce(programme = {lit(PHC)}, FALSE) AS phc,
            {", ".join(flags)},
            year(date_entree) - annee_naissance AS age,
            date_diff('day', date_entree, date_sortie) AS days,
            {cat_case} AS cat,
            {rank_case("logement_entree")} AS rank_in,
            {rank_case("logement_sortie")} AS rank_out,
            coalesce(logement_entree = {lit(defs.perenne)}, FALSE) AS in_perenne,
            coalesce(logement_sortie = {lit(defs.perenne)}, FALSE) AS out_perenne,
            {nb_diff} AS nb_diff
        FROM parcours WHERE snapshot_id IN ({ids})
        )
    ) AS d"""


# -- the aggregate query ---------------------------------------------------------------------------------
Merged = Sequence[Any]  # one value per column: int, Decimal or list, summed / concatenated over ACI


@dataclass(frozen=True)
class Leaf:
    get: Callable[[Merged], Any]


PerAci = Callable[[Any, Sequence[Any]], int]  # (selected snapshot, its raw row) -> an additive int


class Query:
    """Aggregate expressions grouped by SIRET (identical expressions once), plus per-ACI Python columns."""

    def __init__(self) -> None:
        self.exprs: list[str] = []
        self._index: dict[str, int] = {}
        self.per_aci: list[PerAci] = []  # columns len(exprs) + i, computed from each ACI's raw row
        # not additive over ACI (medians): one ungrouped query over the scope, after the per-ACI columns
        self.scalars: list[str] = []

    def _add(self, expr: str) -> int:
        if expr not in self._index:
            self._index[expr] = len(self.exprs)
            self.exprs.append(expr)
        return self._index[expr]

    def count(self, where: str) -> Leaf:
        # count_if(p) plans and runs about twice as fast as count(*) FILTER (WHERE p) with 250+ aggregates
        i = self._add(f"count_if({where})")
        return Leaf(lambda row: int(row[i] or 0))

    def count_index(self, where: str) -> int:
        return self._add(f"count_if({where})")

    def python(self, fn: PerAci) -> Leaf:
        self.per_aci.append(fn)
        i = len(self.per_aci) - 1
        return Leaf(lambda row: int(row[len(self.exprs) + i]))

    def rate(self, n: str, base: str) -> dict[str, Leaf]:
        """n's predicate is applied within base (so n ≤ base always)."""
        return {"n": self.count(f"({base}) AND ({n})"), "base": self.count(base)}

    def mean(self, expr: str, where: str, scale: Fraction = Fraction(1)) -> Leaf:
        """Mean of `expr` (exact sum as DECIMAL / count), times `scale`, rounded half-up to 1 decimal."""
        s = self._add(f"sum(CAST({expr} AS DECIMAL(38, 6))) FILTER (WHERE ({where}) AND {expr} IS NOT NULL)")
        n = self._add(f"count_if(({where}) AND {expr} IS NOT NULL)")

        def get(row: Merged) -> float | None:
            if not row[n]:
                return None
            return round_half_up(Fraction(Decimal(row[s])) / int(row[n]) * scale)

        return Leaf(get)

    def median(self, expr: str, where: str, scale: Fraction = Fraction(1)) -> Leaf:
        """Not additive over ACI: read from the scope's ungrouped query (never from a territoire's rows)."""
        self.scalars.append(f"median({expr}) FILTER (WHERE ({where}) AND {expr} IS NOT NULL)")
        i = len(self.scalars) - 1

        def get(row: Merged) -> float | None:
            value = row[len(self.exprs) + len(self.per_aci) + i]
            # the median of integers is an integer or a half-integer: exact as a float
            return None if value is None else round_half_up(Fraction(value) * scale)

        return Leaf(get)

    def merge(self, rows: Sequence[Sequence[Any]], scalars: Sequence[Any] | None = None) -> list[Any]:
        """Element-wise sum of per-ACI rows (raw SQL columns then Python columns), then the scope's scalars
        (None: a group of ACI smaller than the scope, which has no median)."""
        width = len(self.exprs) + len(self.per_aci)
        out: list[Any] = [sum((row[i] or 0 for row in rows), start=0) for i in range(width)]
        return out + list(scalars if scalars is not None else [None] * len(self.scalars))


def fill(sql: str, year: int, params: dict[str, str]) -> str:
    text = sql.replace("{y}", str(year))
    for key, value in params.items():
        text = text.replace("{" + key + "}", col(value))
    return text


def build(schema: Schema, ind: Indicateur, params: dict[str, str], q: Query, year: int) -> Any:
    """One catalogue entry for `year`: its tree of leaves (a leaf, or nested dicts of leaves)."""
    base = f"({fill(ind.population.sql, year, params)})"
    pred = fill(ind.predicate, year, params) if ind.predicate else None
    column = fill(ind.column, year, params) if ind.column else None
    if ind.kind == "count":
        return q.count(f"{base} AND ({pred})" if pred else base)
    if ind.kind == "rate":
        assert pred is not None, ind.path
        return q.rate(pred, base)
    if ind.kind == "yes_no":
        assert column is not None, ind.path
        c = column if column.startswith('"') else col(column)
        return {"oui": q.count(f"{base} AND {c} IS TRUE"), "non": q.count(f"{base} AND {c} IS FALSE"),
                NON_RENSEIGNE: q.count(f"{base} AND {c} IS NULL")}
    if ind.kind == "distribution":
        assert ind.column is not None, ind.path
        name = params.get(ind.column.strip("{}"), ind.column)
        domain = schema.domain_of(schema.column(name))
        c = col(name)
        out = {v.key: q.count(f"{base} AND {c} = {lit(v.label)}") for v in domain.values}
        out[NON_RENSEIGNE] = q.count(f"{base} AND ({c} IS NULL OR {c} NOT IN {in_list(domain.labels)})")
        return out
    if ind.kind == "buckets":
        buckets = ind.buckets(schema) if callable(ind.buckets) else ind.buckets
        tree: dict[str, Any] = {key: q.count(f"{base} AND ({p})") for key, p in buckets}
        if ind.non_renseigne is not None:
            tree[NON_RENSEIGNE] = q.count(f"{base} AND ({ind.non_renseigne})")
        return tree
    if ind.kind in ("mean", "median"):
        assert column is not None, ind.path
        expr = column if ind.months or not column.isidentifier() else col(column)
        scale = 1 / MONTH_DAYS if ind.months else Fraction(1)
        return q.mean(expr, base, scale) if ind.kind == "mean" else q.median(expr, base, scale)
    if ind.kind == "matrix":
        c_in, c_out = ind.columns
        housing = schema.domain_of(schema.column(c_in))
        exits = schema.domain_of(schema.column(c_out))
        return {
            vin.key: {vout.key: q.count(f"{base} AND {col(c_in)} = {lit(vin.label)} AND {col(c_out)} = {lit(vout.label)}")
                      for vout in exits.values}
            for vin in housing.values
        }
    if ind.kind == "nb_aci":
        i = q.count_index(base)
        return q.python(lambda snap, raw: int((raw[i] or 0) > 0))
    if ind.kind == "nb_aci_par_support":
        i = q.count_index(base)

        def has(key: str | None) -> PerAci:
            if key is None:
                return lambda snap, raw: int((raw[i] or 0) > 0 and not snap.supports)
            return lambda snap, raw: int((raw[i] or 0) > 0 and key in snap.supports)

        supports: dict[str, Any] = {v.key: q.python(has(v.key)) for v in schema.domains["supports"].values}
        supports[NON_RENSEIGNE] = q.python(has(None))
        return supports
    raise AssertionError(f"unknown kind {ind.kind} ({ind.path})")


def resolve(tree: Any, row: Merged) -> Any:
    if isinstance(tree, Leaf):
        return tree.get(row)
    if isinstance(tree, dict):
        return {k: resolve(v, row) for k, v in tree.items()}
    return tree


def place(out: dict[str, Any], path: str, value: Any) -> None:
    """Put `value` at the dotted `path` of `out` (a dict value merges into an existing dict)."""
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node.setdefault(key, {})
    if isinstance(value, dict) and isinstance(node.get(last), dict):
        node[last].update(value)
    else:
        node[last] = value
