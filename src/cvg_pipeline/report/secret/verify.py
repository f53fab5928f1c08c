"""The audit: for each hidden count, the interval an adversary can reach from everything published.

The adversary knows every free cell (of a cell published only as a share, `Cell.exact`, that share), every
relation of the model (`model.Relation`), every published share as an interval, that counts are
non-negative, that a « < seuil » count (status A) lies in 1 … seuil − 1, and — more than the report tells, to
err on the safe side — that an « s » count of status D is at least the seuil (zeros are never hidden; a
primary cell shown « s », `Cell.vague`, and a share shown « n.s. » in place of its count, are only known to
be at least 1). For each hidden cell we minimise and maximise it under those facts with HiGHS (linear
programming; the bounds are then rounded inwards to integers, as counts are).
Relations only link cells of one connected component of unknowns, so one small LP is solved per
component, not one for the whole report.

highspy is imported on first use (the banner HiGHS prints when a solver is created is silenced).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cvg_pipeline.report.secret.model import PRIMARY, SECONDARY, Cell, Model, Relation, required_width

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
    """One HiGHS instance for the process (see `_new_solver`)."""
    if not _SOLVER:
        _SOLVER.append(_new_solver())
    return _SOLVER[0]


def _new_solver() -> Any:
    """A HiGHS instance, created with stdout silenced (HiGHS prints a banner on creation)."""
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
    # small LPs solved again and again with another objective from the last basis (still primal feasible):
    # the primal simplex without presolve takes about half the time of the defaults, for the same optima
    highs.setOptionValue("presolve", "off")
    highs.setOptionValue("simplex_strategy", 4)
    highs.setOptionValue("threads", 1)  # the LPs are small: HiGHS's thread pool only adds to each run
    return highs


def cell_bounds(model: Model, key: str, relaxed: bool = False) -> tuple[float, float]:
    """What the adversary knows of an unknown cell before any relation (`relaxed`: a free cell taken as
    unknown, see `intrinsic`)."""
    return bounds_of(model.cells[key], model.seuil, relaxed)


def bounds_of(cell: Cell, seuil: int, relaxed: bool = False) -> tuple[float, float]:
    """`cell_bounds` of a cell in hand (the relaxed audit reads every cell of a component at each use)."""
    if not cell.published or (not cell.exact and not cell.hidden):  # never shown, or only as a share
        return 0.0, INF
    if not cell.exact:  # a share shown « n.s. », whether its count is under the seuil or hidden (A or D)
        return 1.0, INF
    if cell.status == PRIMARY:
        return 1.0, INF if cell.vague else float(seuil - 1)
    if cell.status == SECONDARY:
        return float(seuil), INF
    if relaxed:
        return 0.0, INF
    raise ValueError(f"cell {cell.key} is free")


def components(model: Model, relations: list[Relation], relaxed: bool = False) -> tuple[dict[str, str], list[Relation]]:
    """Union-find over the unknown cells (hidden or unpublished; every cell when `relaxed`) linked by a
    relation; the relations that mention at least one unknown."""
    parent: dict[str, str] = {k: k for k, c in model.cells.items() if relaxed or not c.known}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    useful = []
    for rel in relations:
        unknown = [k for k in rel.keys if k in parent]
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
        first = next(k for k in rel.keys if k in root)
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


def _load(model: Model, unknowns: list[str], relations: list[Relation], relaxed: bool,
          highs: Any = None) -> Any:
    """The adversary's LP of one component, loaded into the process's HiGHS instance (or `highs`) with one
    addRows call."""
    import highspy
    import numpy as np

    index = {k: i for i, k in enumerate(unknowns)}
    highs = _solver() if highs is None else highs
    highs.clearModel()
    inf = highspy.kHighsInf
    bounds = [cell_bounds(model, k, relaxed) for k in unknowns]
    highs.addVars(len(unknowns), np.array([b[0] for b in bounds]),
                  np.array([inf if b[1] == INF else b[1] for b in bounds]))
    lower: list[float] = []
    upper: list[float] = []
    starts: list[int] = []
    idx: list[int] = []
    val: list[float] = []
    cells = model.cells
    for rel in relations:
        const = 0
        starts.append(len(idx))
        for k, c in rel.terms:
            i = index.get(k)
            if i is None:
                const += cells[k].value * c
            else:
                idx.append(i)
                val.append(float(c))
        lower.append(-inf if rel.lo == -INF else rel.lo - const)
        upper.append(inf if rel.hi == INF else rel.hi - const)
    if relations:
        highs.addRows(len(relations), np.array(lower), np.array(upper), len(idx), np.array(starts, dtype=np.int32),
                      np.array(idx, dtype=np.int32), np.array(val))
    return highs


def _optimum(highs: Any, target: int, sense: Any) -> float:
    """Minimise or maximise one unknown of the loaded LP: its optimum (INF when unbounded). Every cost is 0
    before and after (a loaded LP has no objective; only the target's cost is set, then reset)."""
    import highspy

    highs.changeColCost(target, 1.0)
    try:
        highs.changeObjectiveSense(sense)
        highs.run()
        status = highs.getModelStatus()
        if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kUnbounded):
            highs.clearSolver()  # a warm start from the last basis can end « Unknown »: solve afresh
            highs.run()
            status = highs.getModelStatus()
        objective = float(highs.getObjectiveValue())
    finally:
        highs.changeColCost(target, 0.0)
    if status == highspy.HighsModelStatus.kOptimal:
        return objective
    if status == highspy.HighsModelStatus.kUnbounded:
        return INF
    # infeasible: cannot happen, the true values satisfy every relation kept
    raise RuntimeError(f"secret statistique : audit impossible ({highs.modelStatusToString(status)})")


def _round_lo(x: float) -> float:
    return float(math.ceil(x - 1e-6))


def _round_hi(x: float) -> float:
    return x if x == INF else float(math.floor(x + 1e-6))


def _solve(model: Model, unknowns: list[str], relations: list[Relation], targets: list[str],
           relaxed: bool = False) -> dict[str, Interval]:
    if not relations:
        return {k: Interval(*cell_bounds(model, k, relaxed)) for k in targets}
    import highspy

    highs = _load(model, unknowns, relations, relaxed)
    index = {k: i for i, k in enumerate(unknowns)}
    out: dict[str, Interval] = {}
    for key in targets:
        lo = _optimum(highs, index[key], highspy.ObjSense.kMinimize)
        hi = _optimum(highs, index[key], highspy.ObjSense.kMaximize)
        out[key] = Interval(_round_lo(lo), _round_hi(hi))
    return out


@dataclass
class Points:
    """Points of the adversary's facts met while one `suppress.protect` runs, so that later audits solve
    fewer LPs (see `exposure`).

    `lo`/`hi`: for each cell, the smallest and largest value of a point of the facts seen so far. Valid
    only while the facts can only lose constraints — as in `protect`, where each change hides a free cell
    (which kept its true value in every point), drops a « < seuil » bound or a share — so that a point of
    earlier facts is still a point. `relaxed`: for each relaxed component (`intrinsic`: fixed by the model's
    relations), the points found there; each is used only if it lies within the current bounds."""

    lo: dict[str, float] = field(default_factory=dict)
    hi: dict[str, float] = field(default_factory=dict)
    relaxed: dict[str, Any] = field(default_factory=dict)  # root → array of points, one a row
    relaxed_components: tuple[int, dict[str, str], dict[str, list[str]], dict[str, list[Relation]]] | None = None
    # relaxed component → its LP, kept loaded in a HiGHS instance of its own (its relations never change;
    # only the bounds of its cells do, set before each use)
    relaxed_lp: dict[str, Any] = field(default_factory=dict)
    # relaxed component → its cells, their positions and their true values (fixed: read at every use)
    relaxed_cells: dict[str, tuple[list[Cell], dict[str, int], Any]] = field(default_factory=dict)
    # when a list: every point met by a strict audit, as {unknown: value} over its component (`suppress.reveal`)
    found: list[dict[str, float]] | None = None


MAX_RELAXED_POINTS = 64


def exposure(model: Model, targets: Iterable[str], *, relaxed: bool = False, first_only: bool = False,
             points: Points | None = None,
             parts: tuple[dict[str, str], list[Relation]] | None = None,
             grouped: tuple[dict[str, list[str]], dict[str, list[Relation]]] | None = None) -> dict[str, bool]:
    """For each target, whether its interval is narrower than `required_width` asks — what the full audit
    (the hidden cells of ``intervals(model, targets, relaxed=relaxed)`` narrower than `required_width`) says,
    with fewer linear programs.

    Any point that satisfies the adversary's facts is a set of values the adversary cannot exclude: the true
    values themselves, every solution the solver returns on the way, and (`points`) those of earlier
    audits that still satisfy the facts. When the points already span the required width for a cell, its
    interval is at least that wide and no LP is solved for it; otherwise one end is solved (a new point:
    first the maximum of a cell with no upper bound of its own, often unbounded), then the other only if
    the points still do not show the width. `first_only`: in each component, the targets after the first
    exposed one (in the order given) are not audited and are absent from the result. `parts`: what
    ``components(model, model.all_relations())`` gives now, if the caller has it, and `grouped` what
    ``_grouped`` gives of it for every component."""
    wanted = list(targets)
    if relaxed and points is not None:  # the relaxed components depend on the relations only: once per run
        if points.relaxed_components is None or points.relaxed_components[0] != len(model.relations):
            root, useful = components(model, model.relations, True)
            points.relaxed_components = (len(model.relations), root, *_grouped(root, useful, set(root.values())))
        _, root, members, rels = points.relaxed_components
    else:
        root, useful = parts if parts is not None and not relaxed else components(
            model, model.relations if relaxed else model.all_relations(), relaxed)
        members, rels = grouped if grouped is not None and parts is not None and not relaxed else \
            _grouped(root, useful, {root[k] for k in wanted})
    groups: dict[str, list[str]] = {}
    for k in wanted:
        groups.setdefault(root[k], []).append(k)
    out: dict[str, bool] = {}
    for r, keys in groups.items():
        _component_exposure(model, members[r], rels.get(r, []), keys, relaxed, first_only, out,
                            points, r)
    return out


def _grouped(root: dict[str, str], useful: list[Relation], wanted: set[str]
             ) -> tuple[dict[str, list[str]], dict[str, list[Relation]]]:
    """The unknowns and the relations of each wanted component."""
    members: dict[str, list[str]] = {}
    for k, r in root.items():
        if r in wanted:
            members.setdefault(r, []).append(k)
    rels: dict[str, list[Relation]] = {}
    for rel in useful:
        first = next(k for k in rel.keys if k in root)
        if root[first] in wanted:
            rels.setdefault(root[first], []).append(rel)
    return members, rels


def _component_exposure(model: Model, unknowns: list[str], relations: list[Relation], targets: list[str],
                        relaxed: bool, first_only: bool, out: dict[str, bool], points: Points | None,
                        root: str) -> None:
    if not relations:
        for k in targets:
            lo, hi = cell_bounds(model, k, relaxed)
            out[k] = hi - lo < required_width(model.seuil, model.cells[k].status)
            if out[k] and first_only:
                return
        return
    import highspy
    import numpy as np

    bounds: Any = None
    if relaxed and points is not None:
        static = points.relaxed_cells.get(root)
        if static is None:
            cells = [model.cells[k] for k in unknowns]
            static = points.relaxed_cells[root] = (cells, {k: i for i, k in enumerate(unknowns)},
                                                   np.array([float(c.value) for c in cells]))
        cells, index, truth = static
        seen_lo, seen_hi = truth.copy(), truth.copy()
        bounds = np.array([bounds_of(c, model.seuil, True) for c in cells])
        pool = points.relaxed.get(root)
        if pool is not None:  # the points of earlier audits still within the bounds
            ok = pool[np.all((pool >= bounds[:, 0] - 1e-7) & (pool <= bounds[:, 1] + 1e-7), axis=1)]
            if len(ok):
                seen_lo = np.minimum(ok.min(axis=0), seen_lo)
                seen_hi = np.maximum(ok.max(axis=0), seen_hi)
    else:
        index = {k: i for i, k in enumerate(unknowns)}
        truth = np.array([float(model.cells[k].value) for k in unknowns])  # the true values: a point of the facts
        seen_lo, seen_hi = truth.copy(), truth.copy()
        if points is not None:
            seen_lo = np.array([points.lo.get(k, x) for k, x in zip(unknowns, truth.tolist(), strict=True)])
            seen_hi = np.array([points.hi.get(k, x) for k, x in zip(unknowns, truth.tolist(), strict=True)])
    highs: Any = None

    def point() -> None:
        values = np.asarray(highs.getSolution().col_value, dtype=float)
        np.minimum(seen_lo, values, out=seen_lo)
        np.maximum(seen_hi, values, out=seen_hi)
        if not relaxed and points is not None and points.found is not None:
            points.found.append(dict(zip(unknowns, values.tolist(), strict=True)))
        if relaxed and points is not None:
            pool = points.relaxed.get(root)
            points.relaxed[root] = values[None, :] if pool is None else np.vstack([pool[-MAX_RELAXED_POINTS + 1:], values])

    try:
        for key in targets:
            i = index[key]
            need = required_width(model.seuil, model.cells[key].status)
            if _round_hi(float(seen_hi[i])) - _round_lo(float(seen_lo[i])) >= need:
                out[key] = False
                continue
            if highs is None:
                highs = _relaxed_lp(model, unknowns, relations, points, root, bounds) if relaxed and points else \
                    _load(model, unknowns, relations, relaxed)
            senses = [highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize]
            if cell_bounds(model, key, relaxed)[1] == INF:
                senses.reverse()
            for sense in senses:
                end = _optimum(highs, i, sense)
                if end == INF:
                    seen_hi[i] = INF
                else:
                    point()
                if _round_hi(float(seen_hi[i])) - _round_lo(float(seen_lo[i])) >= need:
                    break
            out[key] = _round_hi(float(seen_hi[i])) - _round_lo(float(seen_lo[i])) < need
            if out[key] and first_only:
                return
    finally:
        if points is not None and not relaxed:
            for k, lo, hi in zip(unknowns, seen_lo.tolist(), seen_hi.tolist(), strict=True):
                points.lo[k], points.hi[k] = lo, hi


def _relaxed_lp(model: Model, unknowns: list[str], relations: list[Relation], points: Points, root: str,
                bounds: Any) -> Any:
    """The relaxed LP of a component, loaded once per `points`; its cells' bounds set to the current ones
    (`bounds`, one (lower, upper) row per unknown)."""
    import numpy as np

    highs = points.relaxed_lp.get(root)
    if highs is None:
        highs = points.relaxed_lp[root] = _load(model, unknowns, relations, True, _new_solver())
        return highs
    import highspy

    upper = np.where(np.isinf(bounds[:, 1]), highspy.kHighsInf, bounds[:, 1])
    highs.changeColsBounds(len(unknowns), np.arange(len(unknowns), dtype=np.int32), bounds[:, 0].copy(), upper)
    return highs
