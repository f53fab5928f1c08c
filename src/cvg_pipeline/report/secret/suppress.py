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
"""

from __future__ import annotations

from dataclasses import dataclass

from cvg_pipeline.report.secret.model import (
    COST_HEADLINE,
    FREE,
    PRIMARY,
    SECONDARY,
    Cell,
    Model,
    Relation,
)
from cvg_pipeline.report.secret.verify import Interval, Points, _grouped, components, exposure, intervals

MAX_ROUNDS = 500


@dataclass
class _Index:
    """What `protect` reads again and again of a model whose cells and relations no longer change: each
    equality's cells, the equalities and the relations of each cell (positions in the lists)."""

    equalities: list[list[Cell]]  # every equality of the model: its cells
    equalities_of: dict[str, list[int]]  # cell → its equalities
    closing: list[tuple[Relation, list[Cell]]]  # the equalities of published cells only (step 2)
    closing_of: dict[str, list[int]]  # cell → its equalities of `closing`
    relations_of: dict[str, list[Relation]]  # cell → every relation holding it


def _index(model: Model) -> _Index:
    """Built once by `protect` (the helpers called alone build their own)."""
    cells = model.cells
    eqs = [r for r in model.relations if r.equality]
    closing = [r for r in eqs if all(cells[k].published for k in r.keys)]
    index = _Index([[cells[k] for k in r.keys] for r in eqs], {}, [(r, [cells[k] for k in r.keys]) for r in closing],
                   {}, {})
    for i, r in enumerate(eqs):
        for k in r.keys:
            index.equalities_of.setdefault(k, []).append(i)
    for i, r in enumerate(closing):
        for k in r.keys:
            index.closing_of.setdefault(k, []).append(i)
    for r in model.relations:
        for k in r.keys:
            index.relations_of.setdefault(k, []).append(r)
    return index


def primary(model: Model) -> None:
    for cell in model.cells.values():
        cell.status = PRIMARY if cell.published and 0 < cell.value < model.seuil else FREE
        cell.vague = False


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


def _touching(model: Model, index: _Index | None = None) -> dict[str, int]:
    """For each cell, how many equalities holding a hidden cell it belongs to (a complement there closes
    more cycles at once)."""
    out: dict[str, int] = {}
    for cells in (index or _index(model)).equalities:
        if any(c.status != FREE for c in cells):
            for c in cells:
                out[c.key] = out.get(c.key, 0) + 1
    return out


def close(model: Model, order: dict[str, int], index: _Index | None = None) -> None:
    """Step 2: no equality of published cells holds exactly one hidden cell (headline figures aside).

    The hidden cells of each equality and `_touching` are counted once, then kept up to date as cells are
    hidden: the same passes and the same choices as counting them again at every step."""
    index = index or _index(model)
    hidden = [sum(c.status != FREE for c in cells) for _, cells in index.closing]
    touching: dict[str, int] | None = None  # `_touching(model)`, from the first time it is needed
    in_equality: list[int] = []  # how many hidden cells each equality of the model holds (with `touching`)
    changed = True
    while changed:
        changed = False
        for i, (rel, _cells) in enumerate(index.closing):
            if hidden[i] != 1:
                continue
            others = [c for c in _candidates(model, [rel]) if c.weight < COST_HEADLINE]
            if len(others) > 1 and touching is None:
                touching = _touching(model, index)
                in_equality = [sum(c.status != FREE for c in cells) for cells in index.equalities]
            pick = _cheapest(others, order, touching if len(others) > 1 and touching is not None else {})
            if pick is not None:
                pick.status = SECONDARY
                changed = True
                for j in index.closing_of.get(pick.key, ()):
                    hidden[j] += 1
                if touching is not None:
                    for j in index.equalities_of.get(pick.key, ()):
                        in_equality[j] += 1
                        if in_equality[j] == 1:
                            for c in index.equalities[j]:
                                touching[c.key] = touching.get(c.key, 0) + 1


def _vague(model: Model, key: str, relations: list[Relation]) -> Cell | None:
    """The primary cell to show « s » instead of « < seuil »: in the relations of `key` (or `key` itself),
    the one of highest cost (a total before its parts)."""
    cells = [model.cells[k] for r in relations if key in r.keys for k in r.keys] + [model.cells[key]]
    pool = [c for c in cells if c.published and c.status == PRIMARY and not c.vague]
    return max(pool, key=lambda c: (c.cost, c.key)) if pool else None


def _choose(model: Model, key: str, root: dict[str, str], useful: list[Relation], order: dict[str, int],
            touching: dict[str, int], points: Points | None = None,
            by_root: dict[str, list[Relation]] | None = None, index: _Index | None = None) -> bool:
    """Step 3 for one exposed cell: blur or hide one more cell; False when nothing is left to do.
    `by_root`: the relations of `useful` by component (`root`), if the caller has them."""
    mine = (index or _index(model)).relations_of.get(key, [])
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
    index = _index(model)  # the cells and relations no longer change
    primary(model)
    close(model, order, index)
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
        # the shares of `model.all_relations()` are left out: a share is published only when its count and
        # its base are, so it never holds an unknown and no component or interval depends on it
        root, useful = components(model, model.relations)
        groups = _grouped(root, useful, set(root.values()))
        found = exposure(model, pending, first_only=True, points=points, parts=(root, useful), grouped=groups)
        safe.update(k for k, bad in found.items() if not bad)
        if not any(found.values()):
            break
        touching = _touching(model, index)
        start = {k: (c.status, c.vague) for k, c in model.cells.items()}
        done: set[str] = set()  # one change per component and round: the next audit may find it enough
        for key in pending:
            if root[key] in done:
                continue
            if key not in found:  # after an exposed cell whose neighbourhood had nothing to give: audit it
                found.update(_exposure_at(model, start, [k for k in pending if root[k] == root[key]
                                                          and k not in found], points, (root, useful), groups))
                safe.update(k for k, bad in found.items() if not bad)
            if found[key] and _choose(model, key, root, useful, order, touching, points, groups[1], index):
                done.add(root[key])
        if not done:  # nothing left to hide or blur around them
            break
        close(model, order, index)
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
