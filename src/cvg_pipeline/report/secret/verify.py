"""The audit: for each hidden count, the interval an adversary can reach from everything published.

The adversary knows every free cell, every relation of the model (`model.Relation`), every published
share as an interval, that counts are non-negative, that a « < seuil » count (status A) lies in
1 … seuil − 1, and — more than the report tells, to err on the safe side — that an « s » count of status D
is at least the seuil (zeros are never hidden; a primary cell shown « s », `Cell.vague`, is only known to
be at least 1). For each hidden cell we minimise and maximise it under those
facts with HiGHS (linear programming; the bounds are then rounded inwards to integers, as counts are).
Relations only link cells of one connected component of unknowns, so one small LP is solved per
component, not one for the whole report.

highspy is imported on first use (the banner HiGHS prints when a solver is created is silenced).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cvg_pipeline.report.secret.model import PRIMARY, SECONDARY, Model, Relation, required_width

INF = math.inf
_SOLVER: list[Any] = []


@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float  # math.inf when the adversary has no upper bound

    @property
    def width(self) -> float:
        return self.hi - self.lo


def _solver() -> Any:
    """One HiGHS instance for the process, created with stdout silenced (HiGHS prints a banner on creation)."""
    if not _SOLVER:
        import highspy

        sys.stdout.flush()
        saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            highs = highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(null)
        highs.setOptionValue("output_flag", False)
        _SOLVER.append(highs)
    return _SOLVER[0]


def cell_bounds(model: Model, key: str, relaxed: bool = False) -> tuple[float, float]:
    """What the adversary knows of an unknown cell before any relation (`relaxed`: a free cell taken as
    unknown, see `intrinsic`)."""
    cell = model.cells[key]
    if not cell.published:
        return 0.0, INF
    if cell.status == PRIMARY:
        return 1.0, INF if cell.vague else float(model.seuil - 1)
    if cell.status == SECONDARY:
        return float(model.seuil), INF
    if relaxed:
        return 0.0, INF
    raise ValueError(f"cell {key} is free")


def components(model: Model, relations: list[Relation], relaxed: bool = False) -> tuple[dict[str, str], list[Relation]]:
    """Union-find over the unknown cells (hidden or unpublished; every cell when `relaxed`) linked by a
    relation; the relations that mention at least one unknown."""
    parent: dict[str, str] = {k: k for k, c in model.cells.items() if relaxed or c.hidden or not c.published}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    useful = []
    for rel in relations:
        unknown = [k for k in rel.members() if k in parent]
        if not unknown:
            continue
        useful.append(rel)
        root = find(unknown[0])
        for k in unknown[1:]:
            parent[find(k)] = root
    return {k: find(k) for k in parent}, useful


Cache = dict[tuple[tuple[str, str], ...], dict[str, "Interval"]]


def intervals(model: Model, targets: Iterable[str] | None = None, *, relaxed: bool = False,
              cache: Cache | None = None) -> dict[str, Interval]:
    """The interval an adversary can reach for each target (default: every hidden published cell).

    `relaxed`: every published cell is an unknown except the « < seuil » bounds — what the primary secret
    alone lets anyone deduce (see `intrinsic`). `cache` (component → intervals) spares the components the
    last change did not touch."""
    wanted = [c.key for c in model.hidden()] if targets is None else list(targets)
    relations = model.relations if relaxed else model.all_relations()
    root, useful = components(model, relations, relaxed)
    groups: dict[str, list[str]] = {}
    for k in wanted:
        groups.setdefault(root[k], []).append(k)
    members: dict[str, list[str]] = {}
    for k, r in root.items():
        if r in groups:
            members.setdefault(r, []).append(k)
    rels: dict[str, list[Relation]] = {}
    for rel in useful:
        first = next(k for k in rel.members() if k in root)
        if root[first] in groups:
            rels.setdefault(root[first], []).append(rel)
    out: dict[str, Interval] = {}
    for r, keys in groups.items():
        signature = tuple((k, model.cells[k].status + ("~" if model.cells[k].vague else "")) for k in members[r])
        found = cache.get(signature) if cache is not None else None
        if found is None or any(k not in found for k in keys):
            found = _solve(model, members[r], rels.get(r, []), keys, relaxed)
            if cache is not None:
                cache[signature] = found
        out.update({k: found[k] for k in keys})
    return out


def intrinsic(model: Model, targets: Iterable[str]) -> dict[str, Interval]:
    """The interval of each target when nothing but the « < seuil » cells is known: what the primary secret
    gives away by itself (four « < 5 » whose total is « < 5 » too pin each other). No suppression can widen
    it; the audit asks for `required_width` or this, whichever is narrower."""
    return intervals(model, targets, relaxed=True)


def _solve(model: Model, unknowns: list[str], relations: list[Relation], targets: list[str],
           relaxed: bool = False) -> dict[str, Interval]:
    if not relations:
        return {k: Interval(*cell_bounds(model, k, relaxed)) for k in targets}
    import highspy
    import numpy as np

    index = {k: i for i, k in enumerate(unknowns)}
    highs = _solver()
    highs.clearModel()
    inf = highspy.kHighsInf
    bounds = [cell_bounds(model, k, relaxed) for k in unknowns]
    highs.addVars(len(unknowns), np.array([b[0] for b in bounds]),
                  np.array([inf if b[1] == INF else b[1] for b in bounds]))
    for rel in relations:
        const = sum(model.cells[k].value * c for k, c in rel.terms if k not in index)
        idx = np.array([index[k] for k, _ in rel.terms if k in index], dtype=np.int32)
        val = np.array([float(c) for k, c in rel.terms if k in index])
        lo = -inf if rel.lo == -INF else rel.lo - const
        hi = inf if rel.hi == INF else rel.hi - const
        highs.addRow(lo, hi, len(idx), idx, val)
    n = len(unknowns)
    all_idx = np.arange(n, dtype=np.int32)
    out: dict[str, Interval] = {}
    for key in targets:
        costs = np.zeros(n)
        costs[index[key]] = 1.0
        highs.changeColsCost(n, all_idx, costs)
        ends = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            highs.changeObjectiveSense(sense)
            highs.run()
            status = highs.getModelStatus()
            if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kUnbounded):
                highs.clearSolver()  # a warm start from the last basis can end « Unknown »: solve afresh
                highs.run()
                status = highs.getModelStatus()
            if status == highspy.HighsModelStatus.kOptimal:
                ends.append(highs.getInfo().objective_function_value)
            elif status == highspy.HighsModelStatus.kUnbounded:
                ends.append(INF)
            else:  # infeasible: cannot happen, the true values satisfy every relation kept
                raise RuntimeError(f"secret statistique : audit impossible ({highs.modelStatusToString(status)})")
        lo, hi = math.ceil(ends[0] - 1e-6), ends[1] if ends[1] == INF else math.floor(ends[1] + 1e-6)
        out[key] = Interval(float(lo), float(hi))
    return out


def exposed(model: Model, found: dict[str, Interval]) -> list[str]:
    """The hidden cells whose interval is narrower than `required_width` asks."""
    return [k for k, iv in found.items() if iv.width < required_width(model.seuil, model.cells[k].status)]
