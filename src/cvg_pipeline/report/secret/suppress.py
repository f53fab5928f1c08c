"""Primary and secondary secret on a `Model`, then the linear-programming audit until it holds.

1. Primary secret (status A): every published count from 1 to seuil − 1 (indicators.md §5).
2. Secondary secret (status D), hypercube-style: a hidden cell is safe only if it lies on a cycle of hidden
   cells, i.e. no equality the reader knows (a row with its total, a column, a key figure and its table)
   holds exactly one hidden cell — it would be the total minus the others. While some equality holds a
   single hidden cell, hide the cheapest other cell of it (`Cell.cost`: small counts and « Non renseigné »
   first, margins next; headline figures are left to step 3; ties broken in the order the report declares
   its cells, so the same data give the same pattern from one year to the next). Zeros are never hidden:
   a zero protects nothing (its lower bound is known).
3. The audit (`verify.intervals`): for every hidden cell the interval an adversary reaches must be at
   least `required_width` wide. While one is not, hide the cheapest free cell of its relations, else of
   its component, close step 2 again, re-audit. When the « < seuil » cells pin each other by themselves
   (four cells « < 5 » of a total « < 5 » are all 1: `verify.intrinsic`), hiding more cannot help: one of
   them — the total first — is shown « s » instead (`Cell.vague`: the reader then only knows it is not 0).
   The same is done rather than hide a headline figure (effectifs, the national row) when nothing else is
   left. When nothing is left at all, the cell stays as it is and the audit says so (`cvg report --audit`).
4. The counts published only as a share (`Cell.exact`, a chart's bars) are hidden through steps 1 to 3 — the
   tables are protected as if those shares were not published — then `reveal` shows each one the audit
   allows, the largest first.
"""

from __future__ import annotations

from cvg_pipeline.report.secret.model import (
    COST_HEADLINE,
    FREE,
    PRIMARY,
    SECONDARY,
    Cell,
    Model,
    Relation,
)
from cvg_pipeline.report.secret.state import Index, Tracker, index_of
from cvg_pipeline.report.secret.verify import Interval, Points, cell_bounds, exposure, intervals

MAX_ROUNDS = 500


def primary(model: Model) -> None:
    """Step 1; and every count published only as a share starts hidden (see `reveal`)."""
    for cell in model.cells.values():
        cell.status = PRIMARY if cell.published and 0 < cell.value < model.seuil else FREE
        if cell.published and not cell.exact and cell.value >= model.seuil:
            cell.status = SECONDARY
        cell.vague = False


def reveal(model: Model, tracker: Tracker | None = None) -> None:
    """Step 4: show the shares of the counts published only as a share (a chart's bars, `Cell.exact`) that the
    audit allows, largest first: each is shown only if every hidden count of its component keeps the width
    `required_width` asks with it (and with the shares shown before it). Steps 1 to 3 protect the tables as if
    no such share were published, so these shares never cost a figure of a table. `tracker`: protect's, or a new
    one (such a count stays an unknown when its share is shown: only the shares' relations change, which it
    recomputes);
    the audit of a component stops at its first exposed count (one is enough to hide the share again)."""
    shares = sorted((c for c in model.cells.values() if not c.exact and c.published and c.status == SECONDARY),
                    key=lambda c: -c.value)
    # The points met by the audits of the earlier steps (the other unknowns at their true values): the facts
    # change from one step to the next only by the shares shown or hidden again (the unknowns stay the same),
    # so a point still within the bounds of those counts and within the shares' relations is one the reader
    # cannot exclude now, and spares the LPs of the widths it already shows.
    met: list[dict[str, float]] = []
    tracker = tracker or _tracker(model)
    for cell in shares:
        cell.status = FREE
        root, useful, grouped = tracker.components()
        shown = tracker.share_relations()
        around = [c.key for c in model.hidden() if root.get(c.key) == root[cell.key]]
        if not around:
            continue
        points = Points(found=[])
        for x in met:
            if _still_a_point(model, x, shares, shown):
                for k, v in x.items():
                    points.lo[k] = min(points.lo.get(k, v), v)
                    points.hi[k] = max(points.hi.get(k, v), v)
        for k in list(points.lo):  # the true values are a point too
            value = float(model.cells[k].value)
            points.lo[k], points.hi[k] = min(points.lo[k], value), max(points.hi[k], value)
        exposed = any(exposure(model, around, first_only=True, points=points, parts=(root, useful),
                               grouped=grouped).values())
        met.extend(points.found or [])
        del met[:-MAX_MET]
        if exposed:
            cell.status = SECONDARY


MAX_MET = 64


def _still_a_point(model: Model, x: dict[str, float], shares: list[Cell], shown: list[Relation]) -> bool:
    """Whether `x` (some unknowns' values, the others at their true values) satisfies what changes from one
    step of `reveal` to the next: the bounds of the counts published only as a share, the shares' relations."""
    cells = model.cells
    for c in shares:
        if c.key in x:
            lo, hi = cell_bounds(model, c.key)
            if not lo - 1e-7 <= x[c.key] <= hi + 1e-7:
                return False
    for rel in shown:
        total = sum(coef * x.get(k, cells[k].value) for k, coef in rel.terms)
        if not rel.lo - 1e-6 <= total <= rel.hi + 1e-6:
            return False
    return True


def _candidates(model: Model, relations: list[Relation]) -> list[Cell]:
    seen: dict[str, Cell] = {}
    cells, seuil = model.cells, model.seuil
    for rel in relations:
        for key in rel.keys:
            cell = cells[key]
            if cell.status == FREE and cell.published and cell.value >= seuil:
                seen.setdefault(key, cell)
    return list(seen.values())


def _cheapest(cells: list[Cell], order: dict[str, int], touching: dict[str, int]) -> Cell | None:
    if not cells:
        return None
    return min(cells, key=lambda c: (c.cost, -touching.get(c.key, 0), order[c.key]))


def _touching(model: Model, index: Index | None = None) -> dict[str, int]:
    """For each cell, how many equalities holding a hidden cell it belongs to (a complement there closes
    more cycles at once), counted afresh; `protect` keeps it up to date in its `Tracker`."""
    out: dict[str, int] = {}
    for cells in (index or index_of(model)).equalities:
        if any(c.status != FREE for c in cells):
            for c in cells:
                out[c.key] = out.get(c.key, 0) + 1
    return out


def _tracker(model: Model) -> Tracker:
    index = index_of(model)
    return Tracker(model, index, _touching(model, index))


def close(model: Model, order: dict[str, int], tracker: Tracker | None = None) -> None:
    """Step 2: no equality of counts the report shows (not a count shown as a share only) holds exactly one
    hidden cell (headline figures aside). `tracker`: protect's (the hidden cells of each equality and
    `_touching` kept up to date as cells are hidden: the same passes and the same choices as counting them
    again at every step)."""
    tracker = tracker or _tracker(model)
    changed = True
    while changed:
        changed = False
        for rel, j in tracker.index.closing:
            if tracker.in_equality[j] != 1:
                continue
            others = [c for c in _candidates(model, [rel]) if c.weight < COST_HEADLINE]
            pick = _cheapest(others, order, tracker.touching if len(others) > 1 else {})
            if pick is not None:
                tracker.hide(pick)
                changed = True


def _vague(model: Model, key: str, relations: list[Relation]) -> Cell | None:
    """The primary cell to show « s » instead of « < seuil »: in the relations of `key` (or `key` itself),
    the one of highest cost (a total before its parts)."""
    cells = [model.cells[k] for r in relations if key in r.keys for k in r.keys] + [model.cells[key]]
    pool = [c for c in cells if c.published and c.exact and c.status == PRIMARY and not c.vague]
    return max(pool, key=lambda c: (c.cost, c.key)) if pool else None


def _choose(model: Model, key: str, root: dict[str, str], useful: list[Relation], order: dict[str, int],
            touching: dict[str, int], points: Points | None = None,
            by_root: dict[str, list[Relation]] | None = None, tracker: Tracker | None = None) -> bool:
    """Step 3 for one exposed cell: blur or hide one more cell; False when nothing is left to do.
    `by_root`: the relations of `useful` by component (`root`), if the caller has them; `tracker`:
    protect's."""
    mine = (tracker.index if tracker is not None else index_of(model)).relations_of.get(key, [])
    vague = _vague(model, key, mine)
    # the « < seuil » cells pin each other: what the primary secret alone gives away (`verify.intrinsic`)
    if vague is not None and exposure(model, [key], relaxed=True, points=points)[key]:
        vague.vague = True
        return True
    own = [r for r in useful if key in r.keys] if by_root is None else mine  # `key` was hidden: all are useful
    comp = [r for r in useful if any(root.get(k) == root[key] for k in r.keys)] if by_root is None else \
        by_root.get(root[key], [])
    pools = (_candidates(model, own), _candidates(model, comp))
    pick = None
    for pool in pools:
        pick = pick or _cheapest([c for c in pool if c.weight < COST_HEADLINE], order, touching)
    if pick is None:
        vague = _vague(model, key, own)  # rather than hide a headline figure
        if vague is not None:
            vague.vague = True
            return True
        for pool in pools:
            pick = pick or _cheapest(pool, order, touching)
    if pick is None:
        return False
    if tracker is not None:
        tracker.hide(pick)
    else:
        pick.status = SECONDARY
    return True


def protect(model: Model, *, audit: bool = True) -> dict[str, Interval]:
    """Set every cell's status (F, A, D) and return the audit: each hidden cell's reachable interval
    (`audit=False`: the statuses only, an empty audit — for a caller that does not show the intervals)."""
    if model.seuil <= 1:
        for cell in model.cells.values():
            cell.status, cell.vague = FREE, False
        return {}
    order = {k: i for i, k in enumerate(model.cells)}
    primary(model)
    tracker = _tracker(model)  # the cells and relations no longer change
    close(model, order, tracker)
    # Every change only takes a fact away from the reader (a free cell becomes unknown, a « < seuil » bound
    # is dropped, a share is no longer published): a hidden cell found protected stays protected, and is
    # not audited again. Each round makes one change per component with an exposed cell — for the first
    # exposed cell (in the order the report declares them) that can be helped — so the cells of a
    # component after its first exposed one are left for the next round (`first_only`); the choices are
    # those of a full audit at every round. The exact interval of every hidden cell is computed at the end.
    safe: set[str] = set()
    points = Points()
    for _ in range(MAX_ROUNDS):
        pending = [c.key for c in model.hidden() if c.key not in safe]
        root, useful, groups = tracker.components()  # components(model, model.all_relations()), grouped
        found = exposure(model, pending, first_only=True, points=points, parts=(root, useful), grouped=groups)
        safe.update(k for k, bad in found.items() if not bad)
        if not any(found.values()):
            break
        touching = dict(tracker.touching)  # as the round starts
        start = {k: (c.status, c.vague) for k, c in model.cells.items()}
        done: set[str] = set()  # one change per component and round: the next audit may find it enough
        for key in pending:
            if root[key] in done:
                continue
            if key not in found:  # after an exposed cell whose neighbourhood had nothing to give: audit it
                found.update(_exposure_at(model, start, [k for k in pending if root[k] == root[key]
                                                          and k not in found], points, (root, useful), groups))
                safe.update(k for k, bad in found.items() if not bad)
            if found[key] and _choose(model, key, root, useful, order, touching, points, groups[1], tracker):
                done.add(root[key])
        if not done:  # nothing left to hide or blur around them
            break
        close(model, order, tracker)
    reveal(model, tracker)
    return intervals(model) if audit else {}


def _exposure_at(model: Model, state: dict[str, tuple[str, bool]], keys: list[str], points: Points,
                 parts: tuple[dict[str, str], list[Relation]],
                 groups: tuple[dict[str, list[str]], dict[str, list[Relation]]]) -> dict[str, bool]:
    """`exposure` of `keys` (one component, in order, up to the first exposed) as the model stood in `state`."""
    now = {k: (c.status, c.vague) for k, c in model.cells.items()}
    try:
        for k, (status, vague) in state.items():
            model.cells[k].status, model.cells[k].vague = status, vague
        return exposure(model, keys, first_only=True, points=points, parts=parts, grouped=groups)
    finally:
        for k, (status, vague) in now.items():
            model.cells[k].status, model.cells[k].vague = status, vague
