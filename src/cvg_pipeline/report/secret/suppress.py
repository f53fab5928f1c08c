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
from cvg_pipeline.report.secret.verify import Interval, Points, components, exposure, intervals

MAX_ROUNDS = 500


def primary(model: Model) -> None:
    """Step 1; and every count published only as a share starts hidden (see `reveal`)."""
    for cell in model.cells.values():
        cell.status = PRIMARY if cell.published and 0 < cell.value < model.seuil else FREE
        if cell.published and not cell.exact and cell.value >= model.seuil:
            cell.status = SECONDARY
        cell.vague = False


def reveal(model: Model) -> None:
    """Step 4: show the shares of the counts published only as a share (a chart's bars, `Cell.exact`) that the
    audit allows, largest first: each is shown only if every hidden count of its component keeps the width
    `required_width` asks with it (and with the shares shown before it). Steps 1 to 3 protect the tables as if
    no such share were published, so these shares never cost a figure of a table."""
    shares = sorted((c for c in model.cells.values() if not c.exact and c.published and c.status == SECONDARY),
                    key=lambda c: -c.value)
    for cell in shares:
        cell.status = FREE
        root, useful = components(model, model.all_relations())
        around = [c.key for c in model.hidden() if root.get(c.key) == root[cell.key]]
        if any(exposure(model, around, parts=(root, useful)).values()):
            cell.status = SECONDARY


def _candidates(model: Model, relations: list[Relation]) -> list[Cell]:
    seen: dict[str, Cell] = {}
    for rel in relations:
        for key in rel.members():
            cell = model.cells[key]
            if cell.published and cell.status == FREE and cell.value >= model.seuil:
                seen.setdefault(key, cell)
    return list(seen.values())


def _cheapest(cells: list[Cell], order: dict[str, int], touching: dict[str, int]) -> Cell | None:
    if not cells:
        return None
    return min(cells, key=lambda c: (c.cost, -touching.get(c.key, 0), order[c.key]))


def _touching(model: Model) -> dict[str, int]:
    """For each cell, how many equalities holding a hidden cell it belongs to (a complement there closes
    more cycles at once)."""
    out: dict[str, int] = {}
    for rel in model.relations:
        if rel.equality and any(model.cells[k].hidden for k in rel.members()):
            for k in rel.members():
                out[k] = out.get(k, 0) + 1
    return out


def close(model: Model, order: dict[str, int]) -> None:
    """Step 2: no equality of published cells holds exactly one hidden cell (headline figures aside)."""
    equalities = [r for r in model.relations  # of counts the report shows (not a count shown as a share only)
                  if r.equality and all(model.cells[k].published and model.cells[k].exact for k in r.members())]
    changed = True
    while changed:
        changed = False
        for rel in equalities:
            if sum(model.cells[k].hidden for k in rel.members()) != 1:
                continue
            others = [c for c in _candidates(model, [rel]) if c.weight < COST_HEADLINE]
            pick = _cheapest(others, order, _touching(model) if len(others) > 1 else {})
            if pick is not None:
                pick.status = SECONDARY
                changed = True


def _vague(model: Model, key: str, relations: list[Relation]) -> Cell | None:
    """The primary cell to show « s » instead of « < seuil »: in the relations of `key` (or `key` itself),
    the one of highest cost (a total before its parts)."""
    cells = [model.cells[k] for r in relations if key in r.members() for k in r.members()] + [model.cells[key]]
    pool = [c for c in cells if c.published and c.exact and c.status == PRIMARY and not c.vague]
    return max(pool, key=lambda c: (c.cost, c.key)) if pool else None


def _choose(model: Model, key: str, root: dict[str, str], useful: list[Relation], order: dict[str, int],
            touching: dict[str, int], points: Points | None = None) -> bool:
    """Step 3 for one exposed cell: blur or hide one more cell; False when nothing is left to do."""
    vague = _vague(model, key, model.relations)
    # the « < seuil » cells pin each other: what the primary secret alone gives away (`verify.intrinsic`)
    if vague is not None and exposure(model, [key], relaxed=True, points=points)[key]:
        vague.vague = True
        return True
    own = [r for r in useful if key in r.members()]
    comp = [r for r in useful if any(root.get(k) == root[key] for k in r.members())]
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
    close(model, order)
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
        root, useful = components(model, model.all_relations())
        found = exposure(model, pending, first_only=True, points=points, parts=(root, useful))
        safe.update(k for k, bad in found.items() if not bad)
        if not any(found.values()):
            break
        touching = _touching(model)
        start = {k: (c.status, c.vague) for k, c in model.cells.items()}
        done: set[str] = set()  # one change per component and round: the next audit may find it enough
        for key in pending:
            if root[key] in done:
                continue
            if key not in found:  # after an exposed cell whose neighbourhood had nothing to give: audit it
                found.update(_exposure_at(model, start, [k for k in pending if root[k] == root[key]
                                                          and k not in found], points, (root, useful)))
                safe.update(k for k, bad in found.items() if not bad)
            if found[key] and _choose(model, key, root, useful, order, touching, points):
                done.add(root[key])
        if not done:  # nothing left to hide or blur around them
            break
        close(model, order)
    reveal(model)
    return intervals(model) if audit else {}


def _exposure_at(model: Model, state: dict[str, tuple[str, bool]], keys: list[str], points: Points,
                 parts: tuple[dict[str, str], list[Relation]]) -> dict[str, bool]:
    """`exposure` of `keys` (one component, in order, up to the first exposed) as the model stood in `state`."""
    now = {k: (c.status, c.vague) for k, c in model.cells.items()}
    try:
        for k, (status, vague) in state.items():
            model.cells[k].status, model.cells[k].vague = status, vague
        return exposure(model, keys, first_only=True, points=points, parts=parts)
    finally:
        for k, (status, vague) in now.items():
            model.cells[k].status, model.cells[k].vague = status, vague
