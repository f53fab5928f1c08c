"""What `suppress.protect` keeps between its rounds, so that a round costs what changed rather than the
whole model: `Index` (the structure of a model whose cells and relations no longer change) and `Tracker`
(the hidden cells of each equality, `suppress._touching`, and the components of the unknowns, kept up to
date as cells are hidden). They give exactly what counting again from the model gives."""

from __future__ import annotations

from dataclasses import dataclass, field

from cvg_pipeline.report.secret.model import FREE, SECONDARY, Cell, Model, Relation

Grouped = tuple[dict[str, list[str]], dict[str, list[Relation]]]


@dataclass
class Index:
    """Each equality's cells, the equalities and the relations of each cell (positions in the lists)."""

    equalities: list[list[Cell]]  # every equality of the model: its cells
    equalities_of: dict[str, list[int]]  # cell → its equalities
    closing: list[tuple[Relation, int]]  # the equalities of counts shown as numbers (step 2), with their position
    relations_of: dict[str, list[Relation]]  # cell → every relation holding it
    positions_of: dict[str, list[int]] = field(default_factory=dict)  # cell → the positions of those relations


def index_of(model: Model) -> Index:
    cells = model.cells
    eqs = [r for r in model.relations if r.equality]
    index = Index([[cells[k] for k in r.keys] for r in eqs], {},
                  [(r, j) for j, r in enumerate(eqs) if all(cells[k].published and cells[k].exact for k in r.keys)], {})
    for j, r in enumerate(eqs):
        for k in r.keys:
            index.equalities_of.setdefault(k, []).append(j)
    for p, r in enumerate(model.relations):
        for k in r.keys:
            index.relations_of.setdefault(k, []).append(r)
            index.positions_of.setdefault(k, []).append(p)
    return index


class Tracker:
    """Every hiding of a cell goes through `hide` while it is in use (a status set back to what it was, as
    `suppress._exposure_at` does, changes nothing here). `in_equality`: how many hidden cells each equality
    holds; `touching`: `suppress._touching(model)`; `components()`: ``verify.components(model,
    model.all_relations())`` and ``verify._grouped`` of it for every component: over the model's relations from
    the unknowns added since the last call (unknowns are only ever added: a cell once hidden stays hidden),
    then, each time afresh, the published shares that hold an unknown (a count shown only as a share)."""

    def __init__(self, model: Model, index: Index, touching: dict[str, int]) -> None:
        self.model, self.index = model, index
        self.in_equality = [sum(c.status != FREE for c in cells) for cells in index.equalities]
        self.touching = touching  # `suppress._touching(model)` as the statuses stand
        self.parent: dict[str, str] = {}
        self.useful: list[bool] = [False] * len(model.relations)
        self.witness: list[str] = [""] * len(model.relations)  # an unknown of each useful relation

    def hide(self, cell: Cell) -> None:
        """A free cell becomes hidden (secondary secret)."""
        cell.status = SECONDARY
        for j in self.index.equalities_of.get(cell.key, ()):
            self.in_equality[j] += 1
            if self.in_equality[j] == 1:
                for c in self.index.equalities[j]:
                    self.touching[c.key] = self.touching.get(c.key, 0) + 1

    def _find(self, k: str) -> str:
        parent = self.parent
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def components(self) -> tuple[dict[str, str], list[Relation], Grouped]:
        cells, parent = self.model.cells, self.parent
        unknown = [k for k, c in cells.items() if not c.known]
        if not parent.keys() <= set(unknown):  # an unknown became known again: start afresh
            parent.clear()
            self.useful = [False] * len(self.model.relations)
        new = [k for k in unknown if k not in parent]
        for k in new:
            parent[k] = k
        relations = self.model.relations
        for k in new:
            for p in self.index.positions_of.get(k, ()):
                if not self.useful[p]:
                    self.useful[p], self.witness[p] = True, k
                top = self._find(k)
                for other in relations[p].keys:
                    if other in parent:
                        there = self._find(other)
                        if there != top:
                            parent[there] = top
        root = {k: self._find(k) for k in unknown}
        useful = [r for p, r in enumerate(relations) if self.useful[p]]
        shares = self.share_relations()
        if shares:  # they come and go with the statuses: joined over the components of the relations
            above = {top: top for top in root.values()}

            def find(top: str) -> str:
                while above[top] != top:
                    top = above[top]
                return top

            for rel in shares:
                tops = [find(root[k]) for k in rel.keys if k in root]
                for top in tops[1:]:
                    if top != tops[0]:
                        above[top] = tops[0]
            root = {k: find(top) for k, top in root.items()}
            useful += shares
        members: dict[str, list[str]] = {}
        for k, top in root.items():
            members.setdefault(top, []).append(k)
        rels: dict[str, list[Relation]] = {}
        for p, rel in enumerate(relations):
            if self.useful[p]:
                rels.setdefault(root[self.witness[p]], []).append(rel)
        for rel in shares:
            rels.setdefault(root[next(k for k in rel.keys if k in root)], []).append(rel)
        return root, useful, (members, rels)

    def share_relations(self) -> list[Relation]:
        """The relations of the published shares (`Model.share_relations`) that hold an unknown: those of the
        shares whose count or base is an unknown (each relation of a share holds its count, and its base but
        for the integer bounds of a count that is itself an unknown)."""
        cells = self.model.cells
        wanted = [s for s in self.model.published_shares() if not (cells[s.n].known and cells[s.base].known)]
        return self.model.share_relations(wanted) if wanted else []
