"""`build_export`: every row of the export, perimeters × programmes × years."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cvg_pipeline.report.export.statuses import ReportCells, statuses
from cvg_pipeline.report.export.table import PROGRAMMES, Row, leaves
from cvg_pipeline.report.export.worker import WORKER_MIN_REPORTS, Reports, Worker

if TYPE_CHECKING:
    from cvg_pipeline.indicators.compute import Indicators, Programme, Scope
    from cvg_pipeline.schema.load import Schema


# -- the cube --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Perimetre:
    niveau: str  # national | territoire
    territoire: str  # slug, "" for national

    def scope(self) -> Scope:
        from cvg_pipeline.indicators.compute import Scope

        return Scope.of_territoire(self.territoire) if self.territoire else Scope.national()


@dataclass
class Export:
    rows: list[Row]
    perimetres: list[Perimetre]
    programmes: list[str]
    annees: dict[str, list[int]]  # perimeter (national or slug) → its years
    donnees_au: str | None
    seuil: int
    masque: bool
    files: list[Path] = field(default_factory=list)


def build_export(
    store: Path,
    schema: Schema,
    *,
    seuil: int = 5,
    masque: bool = True,
    territoires: Sequence[str] | None = None,
    national: bool = True,
    programmes: Sequence[Programme] = PROGRAMMES,
    annees: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    wait: float | None = None,
    worker: bool = True,
) -> Export:
    """Every row of the export: perimeters × programmes × years, with the report's secret statistique.

    The indicators of all perimeters come from one query per (year, programme)
    (`indicators.compute_indicators_many`); the reports' secret — nearly all the time — is shared with one
    worker process on the other core (`worker=False`: all here), which starts on each (year, programme)'s
    reports while this process computes the next ones. `wait`: how long a busy store is waited for (`--attente`)."""
    from cvg_pipeline.indicators.compute import (
        _check_not_empty,
        compute_indicators_many,
        covered_years,
        select_snapshots,
    )
    from cvg_pipeline.store.db import open_store

    slugs = [t.slug for t in schema.territoires] if territoires is None else list(territoires)
    perimetres = ([Perimetre("national", "")] if national else []) + [Perimetre("territoire", s) for s in slugs]
    helper: Worker | None = None
    reports: Reports | None = None
    try:
        computed: list[tuple[Perimetre, int, str, Indicators]] = []
        years: dict[str, list[int]] = {}
        donnees_au: list[str] = []
        with open_store(store, read_only=True, wait=wait) as con:
            _check_not_empty(con, store)
            from cvg_pipeline.store.extract import check_scope, extract_territoire_of

            own = extract_territoire_of(con)
            if own is not None and territoires is None:  # an extract: its territoire only, by default
                perimetres = [Perimetre("territoire", own)]
            snapshots = select_snapshots(con, schema, None)
            for p in perimetres:
                check_scope(con, p.niveau, p.territoire or None)
                covered = covered_years(con, [s for s in snapshots if not p.territoire or s.territoire == p.territoire])
                span = range(covered[0], covered[1] + 1) if covered else range(0)
                years[p.territoire or "national"] = [y for y in span if annees is None or y in annees]
            if worker and seuil > 0 and sum(map(len, years.values())) * len(programmes) >= WORKER_MIN_REPORTS:
                helper = Worker.start(schema.path, seuil)  # it starts while the indicators are computed
            if seuil > 0:
                reports = Reports(schema, seuil, helper, progress)
            found: dict[tuple[str, int, str], Indicators] = {}
            for y in sorted({y for wanted in years.values() for y in wanted}):
                for prog in programmes:
                    want = [p for p in perimetres if y in years[p.territoire or "national"]]
                    inds = compute_indicators_many(con, schema, scopes=[p.scope() for p in want], annee=y,
                                                   programme=prog, snapshots=snapshots)
                    for p, ind in zip(want, inds, strict=True):
                        found[(p.territoire, y, prog)] = ind
                        if reports is not None:
                            reports.add((p.territoire, y, prog), ind)
            for p in perimetres:
                for y in years[p.territoire or "national"]:
                    for prog in programmes:
                        ind = found[(p.territoire, y, prog)]
                        computed.append((p, y, prog, ind))
                        if ind["donnees_au"]:
                            donnees_au.append(ind["donnees_au"])
        cells: list[ReportCells | None] = [None] * len(computed)
        if reports is not None:
            done = reports.finish()
            cells = [done[(p.territoire, y, prog)] for p, y, prog, _ind in computed]
    finally:
        if reports is not None:
            reports.close()
        if helper is not None:
            helper.close()
    rows: list[Row] = []
    for (per, year, prog_name, ind), report in zip(computed, cells, strict=True):
        for row in statuses(leaves(ind, prog_name), report, seuil, masque):
            row.perimetre, row.territoire, row.annee, row.programme = per.niveau, per.territoire, year, prog_name
            rows.append(row)
    if seuil <= 0 and progress is not None:
        progress(len(computed), len(computed))
    return Export(rows, perimetres, list(programmes), years, max(donnees_au) if donnees_au else None, seuil, masque)
