"""Every indicator of the yearly report, computed once (``../shared/spec/indicators.md`` §1–§4).

One implementation: DuckDB SQL reading the store directly (no polars import, so `cvg indicators` starts
fast), generated from the indicator catalogue (`cvg_pipeline.indicators.catalogue`: every indicator declared once).
The pipeline is

1. snapshot selection (`select_snapshots`): for each ACI, its latest snapshot at or before ``au``
   (default: its latest). Replaced snapshots no longer exist in the store; older ones are history and are
   never read unless ``au`` selects them; ``--annee`` must lie in the years they cover (§1, `check_year`);
2. one derived relation over the parcours of those snapshots (`indicators.sql.derived_relation`), with the
   populations of §2 as boolean columns for Y-2, Y-1 and Y;
3. one aggregate query grouped by SIRET holding every indicator of the catalogue for Y, one for the
   `evolution` ones of Y-2 and Y-1 (and one small ungrouped query for the medians), each aggregate additive
   over ACI; the scope's figures, each territoire's
   (`par_territoire`) and each year's (`evolution`) are read from the sum of the rows of their ACI, so
   national counts are the sum of the territoires' and ``evolution[Y]`` equals the year's blocks by
   construction;
4. plain typed data (`Indicators`, TypedDicts whose keys are the JSON keys of §4, in the catalogue's order),
   written by `to_json` and read by the report.

Column names, categorical values, housing ranks, exit categories, difficulties and territoires all come
from the schema; the spec's own names (which motifs count as a PHC "poursuite", …) are in the catalogue and
checked against the schema at run time (`indicators.sql.defs_of`).

Decisions where the spec is silent (also in the final report to the lead):
- Rounding of means and medians: ROUND_HALF_UP to 1 decimal on the exact rational value (sums are
  exact integers or decimals), not Python's round-half-even on a float. No value → null.
- Median: the usual median (mean of the two middle values for an even count).
- post_sortie window: parcours that are *sortis* of Y (§2) and whose exit is 183 to 365 days before Y-12-31.
  In a non-leap year, 365 days before Y-12-31 is (Y-1)-12-31, which is not a sortie of Y: excluded.
- par_territoire lists every territoire of the schema (zeros included, schema order), then any territoire
  found in the data but missing from the schema. ``par_territoire`` is null unless the scope is national.
- A snapshot's nom, territoire and supports are those of that snapshot (not of the ACI's latest one).
- ``donnees_au`` is null when no snapshot is selected (e.g. ``--au`` before every file); then no year is
  refused (every figure is 0 and a warning says why).
- A categorical value that is not a canonical value of its domain (which ingest never stores) counts as
  non_renseigne, so that every distribution sums to its base.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from cvg_pipeline.check.errors import CvgError, UsageError
from cvg_pipeline.indicators.catalogue import (
    CUMUL_MAX,
    CUMUL_MIN,
    DURABLE_CATEGORY,
    EVOLUTION,
    EVOLUTION_YEARS,
    NEUTRAL_CATEGORY,
    PAR_TERRITOIRE,
    Reprise,
    expand,
    sources,
)
from cvg_pipeline.indicators.model import Indicators, Programme, Rate, YesNo
from cvg_pipeline.indicators.scope import (
    Scope,
    SelectedSnapshot,
    check_year,
    covered_years,
    parse_annee,
    parse_au,
    parse_programme,
    scope_from_options,
    select_snapshots,
)
from cvg_pipeline.indicators.sql import Query, build, defs_of, derived_relation, place, resolve, round_half_up
from cvg_pipeline.schema.load import Schema, load_schema

if TYPE_CHECKING:
    import duckdb

# Re-exported: the report, the export and the commands import these names from here.
__all__ = [
    "CUMUL_MAX", "CUMUL_MIN", "DURABLE_CATEGORY", "NEUTRAL_CATEGORY", "Indicators", "Programme", "Rate", "Scope",
    "SelectedSnapshot", "YesNo", "check_year", "compute_indicators", "covered_years", "indicator_warnings",
    "load_indicators", "parse_annee", "parse_au", "parse_programme", "round_half_up",
    "scope_from_options", "select_snapshots", "to_json",
]


# -- the computation
def _reprises(reprises: Sequence[Reprise], trees: dict[str, Any], row: Sequence[Any]) -> dict[str, Any]:
    """The repeated figures (par_territoire / evolution) of one year, read from a merged row."""
    out: dict[str, Any] = {}
    for r in reprises:
        for ind in sources(r):  # a whole block (effectifs) or one indicator; never per difficulty
            assert ind.kind != "median", f"{r.key}: a median is not additive over ACI"
            place(out, r.key + ind.path[len(r.source):], resolve(trees[ind.path], row))
    return out


def _per_aci(con: duckdb.DuckDBPyConnection, q: Query, relation: str, years: Sequence[int],
             selected: Sequence[SelectedSnapshot]) -> dict[str, list[Any]]:
    """One row per selected ACI: the query's aggregates over the rows of `years` (NULL as 0, so that rows add
    up; an ACI without such rows gets zeros), then its per-ACI Python columns."""
    # every figure is about accompagnés, entrés or sortis of one of the years: skip the other rows early
    wanted = " OR ".join(f"acc_{y} OR ent_{y} OR sor_{y}" for y in years)
    fetched = {
        siret: [0 if v is None else v for v in values]
        for siret, *values in con.execute(
            f"SELECT siret, {', '.join(q.exprs)} FROM {relation} WHERE {wanted} GROUP BY siret"
        ).fetchall()
    } if q.exprs else {}
    empty = [0] * len(q.exprs)
    out = {}
    for snap in selected:
        raw = fetched.get(snap.siret, empty)
        out[snap.siret] = [*raw, *(fn(snap, raw) for fn in q.per_aci)]
    return out


def compute_indicators(
    con: duckdb.DuckDBPyConnection,
    schema: Schema,
    *,
    scope: Scope,
    annee: int,
    programme: Programme = "tous",
    au: date | None = None,
) -> Indicators:
    """Every indicator of §4 for `scope`, year `annee`, `programme`, on the snapshots selected at `au`.

    UsageError when the SIRET of an ACI scope is not in the store, or when `annee` is outside the years the
    selected snapshots cover (§1).
    """
    if scope.niveau == "aci":
        known = con.execute("SELECT count(*) FROM snapshots WHERE siret = ?", [scope.siret]).fetchone()
        if not known or not known[0]:
            raise UsageError(f"le SIRET {scope.siret} n'est pas dans la base (aucun fichier intégré pour cet ACI).")
    return _compute(con, schema, scope, annee, programme, select_snapshots(con, schema, au), check=True)


def compute_indicators_many(
    con: duckdb.DuckDBPyConnection,
    schema: Schema,
    *,
    scopes: Sequence[Scope],
    annee: int,
    programme: Programme = "tous",
    snapshots: Sequence[SelectedSnapshot] | None = None,
) -> list[Indicators]:
    """`compute_indicators` of several national and territoire scopes (same year and programme, the latest
    snapshots or `snapshots`, selected once) for `cvg export`, from one pair of per-ACI queries. The year is
    not checked here: the export asks each scope only for the years its own files cover."""
    if any(s.niveau not in ("national", "territoire") for s in scopes):
        raise ValueError("compute_indicators_many: national and territoire scopes only")
    selected = list(snapshots) if snapshots is not None else select_snapshots(con, schema, None)
    return _compute_many(con, schema, scopes, annee, programme, selected, check=False)


def _compute(con: duckdb.DuckDBPyConnection, schema: Schema, scope: Scope, annee: int, programme: Programme,
             everything: Sequence[SelectedSnapshot], *, check: bool) -> Indicators:
    return _compute_many(con, schema, [scope], annee, programme, everything, check=check)[0]


def _compute_many(con: duckdb.DuckDBPyConnection, schema: Schema, scopes: Sequence[Scope], annee: int,
                  programme: Programme, everything: Sequence[SelectedSnapshot], *, check: bool) -> list[Indicators]:
    """The indicators of each scope from ONE pair of per-ACI queries over the union of their snapshots: a
    scope's additive figures are the sum of its own ACI's rows (as `par_territoire` already is); only the
    medians, not additive, take one small query per scope."""
    defs = defs_of(schema)
    per_scope = [[
        s for s in everything
        if scope.niveau == "national"
        or (scope.niveau == "territoire" and s.territoire == scope.territoire)
        or (scope.niveau == "aci" and s.siret == scope.siret)
    ] for scope in scopes]
    if check:
        for selected in per_scope:
            check_year(annee, covered_years(con, selected))
    years = [annee - EVOLUTION_YEARS + 1 + i for i in range(EVOLUTION_YEARS)]

    # Two grouped queries: year Y (every indicator) and the earlier years of `evolution` (its indicators only),
    # each over the rows of its own years — one query over the three years' rows took half as long again.
    q, q_old = Query(), Query()
    trees: dict[int, dict[str, Any]] = {y: {} for y in years}
    for path, ind, params in expand(schema):
        trees[annee][path] = build(schema, ind, params, q, annee)
    for y in years[:-1]:
        for ind in (ind for r in EVOLUTION for ind in sources(r)):
            trees[y][ind.path] = build(schema, ind, {}, q_old, y)

    wanted_ids = {s.snapshot_id for selected in per_scope for s in selected}
    union = [s for s in everything if s.snapshot_id in wanted_ids]
    relation = derived_relation(schema, defs, [s.snapshot_id for s in union], years, programme)
    rows_all = _per_aci(con, q, relation, [annee], union)
    rows_old = _per_aci(con, q_old, relation, years[:-1], union)
    results: list[Indicators] = []
    for scope, selected in zip(scopes, per_scope, strict=True):
        rows = {s.siret: rows_all[s.siret] for s in selected}
        scalars = None
        if q.scalars:  # medians: not additive over ACI, so one ungrouped query over the scope's sortis
            own = relation if len(selected) == len(union) else derived_relation(
                schema, defs, [s.snapshot_id for s in selected], years, programme)
            scalars = con.execute(f"SELECT {', '.join(q.scalars)} FROM {own} WHERE sor_{annee}").fetchone()
        total = q.merge(list(rows.values()), scalars)
        total_old = q_old.merge([rows_old[s.siret] for s in selected])
        values: dict[str, Any] = {}
        for path, tree in trees[annee].items():
            place(values, path, resolve(tree, total))
        evolution = {str(y): _reprises(EVOLUTION, trees[y], total if y == annee else total_old) for y in years}
        par_territoire: dict[str, Any] | None = None
        if scope.niveau == "national":
            slugs = [t.slug for t in schema.territoires]
            slugs += sorted({s.territoire for s in selected} - set(slugs))
            par_territoire = {
                slug: _reprises(PAR_TERRITOIRE, trees[annee], q.merge([rows[s.siret] for s in selected if s.territoire == slug]))
                for slug in slugs
            }

        result: dict[str, Any] = {
            "perimetre": {
                "niveau": scope.niveau, "territoire": scope.territoire, "siret": scope.siret, "programme": programme
            },
            "annee": annee,
            "donnees_au": max(s.date_arrete for s in selected).isoformat() if selected else None,
            "snapshots": [
                {"siret": s.siret, "nom": s.nom, "territoire": s.territoire, "date_arrete": s.date_arrete.isoformat()}
                for s in selected
            ],
            **values,
            "par_territoire": par_territoire,
            "evolution": evolution,
        }
        results.append(cast(Indicators, result))
    return results


def indicator_warnings(ind: Indicators) -> list[str]:
    """French warnings for stderr: nothing selected, or data arrested before the end of the year."""
    if not ind["snapshots"]:
        return ["aucun fichier ne correspond au périmètre et à la date demandés : tous les indicateurs valent 0."]
    from cvg_pipeline.fr import date_iso_longue, date_longue

    end = date(ind["annee"], 12, 31)
    early = [s for s in ind["snapshots"] if s["date_arrete"] < end.isoformat()]
    if not early:
        return []
    verbe, pronom = ("a", "lui") if len(early) == 1 else ("ont", "eux")
    oldest = date_iso_longue(min(s["date_arrete"] for s in early))
    return [
        f"{len(early)} ACI sur {len(ind['snapshots'])} {verbe} des données arrêtées avant le {date_longue(end)} "
        f"(la plus ancienne au {oldest}) : l'année {ind['annee']} n'est pas complète pour {pronom}."
    ]


def to_json(ind: Indicators) -> str:
    """The JSON of `cvg indicators`: UTF-8 text (no ASCII escapes), keys in the spec's order."""
    return json.dumps(ind, ensure_ascii=False, indent=2)


def load_indicators(
    store: Path,
    *,
    scope: Scope,
    annee: int,
    programme: Programme = "tous",
    au: date | None = None,
    schema: Schema | None = None,
    wait: float | None = None,
) -> Indicators:
    """Open the store read-only (waiting up to `wait` seconds for a writer) and compute the indicators
    (CvgError if it is missing or empty)."""
    from cvg_pipeline.store.db import open_store

    schema = schema or load_schema()
    with open_store(store, read_only=True, wait=wait) as con:
        _check_not_empty(con, store)
        from cvg_pipeline.store.extract import check_scope

        check_scope(con, scope.niveau, scope.territoire)  # an extract (cvg extraire) speaks for its territoire only
        return compute_indicators(con, schema, scope=scope, annee=annee, programme=programme, au=au)


def _check_not_empty(con: duckdb.DuckDBPyConnection, store: Path) -> None:
    import duckdb

    try:
        row = con.execute("SELECT count(*) FROM snapshots").fetchone()
    except duckdb.Error as exc:
        from cvg_pipeline.store.checks import damaged_message, is_damaged

        if is_damaged(exc):  # a block that fails its checksum: not « not a store »
            raise CvgError(damaged_message(store)) from None
        raise CvgError(
            f"« {store} » n'est pas une base cvg : créez-en une avec « cvg init », puis intégrez-y des fichiers avec "
            "« cvg ingest »."
        ) from None
    if not row or not row[0]:
        raise CvgError(
            f"La base « {store} » ne contient encore aucun fichier : lancez d'abord « cvg ingest » pour y intégrer des fichiers."
        )
