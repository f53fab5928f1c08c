"""The secret statistique's model, secondary secret and LP audit on hand-built tables with known answers
(issue 16). Fails on main before 046f038: there was no secondary secret (cvg_pipeline.report.secret did not
exist), so a single « < 5 » beside a published total was the total minus the other cells."""

from __future__ import annotations

import pytest

from cvg_pipeline.report.secret.model import (
    COST_HEADLINE,
    COST_MARGIN,
    FREE,
    PRIMARY,
    SECONDARY,
    Model,
    required_width,
)
from cvg_pipeline.report.secret.suppress import close, primary, protect
from cvg_pipeline.report.secret.verify import intervals
from tests.secret_reference import exposed


def table(seuil: int, cells: dict[str, int], totals: dict[str, list[str]], weights: dict[str, float] | None = None) -> Model:
    model = Model(seuil)
    for key, value in cells.items():
        model.cell(key, value, key, weight=(weights or {}).get(key, 1.0))
    for total, parts in totals.items():
        model.total(total.split("#")[0], parts)
    return model


def widths(model: Model) -> dict[str, float]:
    return {k: iv.width for k, iv in intervals(model).items()}


def test_single_hidden_cell_in_a_row_with_its_total() -> None:
    """« Droits à la retraite < 5 » beside the other motifs and their total: exposed by the primary secret
    alone (total − the others), protected once a second cell of the row is hidden."""
    model = table(5, {"cdi": 40, "cdd": 25, "retraite": 1, "sortis": 66}, {"sortis": ["cdi", "cdd", "retraite"]},
                  {"sortis": COST_HEADLINE})
    primary(model)
    found = intervals(model)
    assert (found["retraite"].lo, found["retraite"].hi) == (1, 1)  # exposed: 66 − 40 − 25
    assert exposed(model, found) == ["retraite"]
    audit = protect(model)
    assert model.cells["retraite"].status == PRIMARY
    assert model.cells["cdd"].status == SECONDARY  # the cheapest other cell, not the headline total
    assert model.cells["sortis"].status == FREE and model.cells["cdi"].status == FREE
    assert (audit["retraite"].lo, audit["retraite"].hi) == (1, 4)
    assert exposed(model, audit) == []


def test_two_by_two_block_pinned_by_the_bounds_alone() -> None:
    """Four « < 5 » on a cycle (rows and columns each hold two hidden cells: the hypercube condition holds)
    whose margins are 8: 1 ≤ x ≤ 4 alone gives every cell (4 + 4 = 8). The LP audit sees it and hides more."""
    cells = {"a": 4, "b": 4, "e": 30, "c": 4, "d": 4, "f": 40, "g": 20, "h": 25, "k": 50,
             "r1": 38, "r2": 48, "r3": 95, "c1": 28, "c2": 33, "c3": 120, "t": 181}
    margins = {k: COST_MARGIN for k in ("r1", "r2", "r3", "c1", "c2", "c3")} | {"t": COST_HEADLINE}
    model = table(5, cells, {"r1": ["a", "b", "e"], "r2": ["c", "d", "f"], "r3": ["g", "h", "k"],
                             "c1": ["a", "c", "g"], "c2": ["b", "d", "h"], "c3": ["e", "f", "k"],
                             "t": ["r1", "r2", "r3"], "t#cols": ["c1", "c2", "c3"]}, margins)
    primary(model)
    close(model, {k: i for i, k in enumerate(model.cells)})
    assert [k for k, c in model.cells.items() if c.hidden] == ["a", "b", "c", "d"]  # a cycle: nothing to add
    assert widths(model) == {"a": 0, "b": 0, "c": 0, "d": 0}  # … yet each is exactly 4
    audit = protect(model)
    assert exposed(model, audit) == []
    assert all(audit[k].width >= required_width(5, PRIMARY) for k in "abcd")
    assert not any(model.cells[k].hidden for k in ("t", "r3", "c3"))


def test_territoire_annex_with_its_national_row() -> None:
    """A small territoire's « < 5 » is the national row minus the other territoires; after protection an
    adversary cannot narrow it, and the national row (a headline) stays shown."""
    cells = {"paris": 60, "lyon": 37, "somme": 3, "national": 100,
             "paris.sor": 20, "lyon.sor": 15, "somme.sor": 2, "national.sor": 37}
    model = table(5, cells, {"national": ["paris", "lyon", "somme"], "national.sor": ["paris.sor", "lyon.sor", "somme.sor"]},
                  {"national": COST_HEADLINE, "national.sor": COST_HEADLINE})
    for t in ("paris", "lyon", "somme", "national"):
        model.at_most([f"{t}.sor"], [t])
    primary(model)
    assert widths(model) == {"somme": 0, "somme.sor": 0}
    audit = protect(model)
    assert exposed(model, audit) == []
    assert model.cells["lyon"].status == SECONDARY and model.cells["lyon.sor"].status == SECONDARY
    assert not model.cells["national"].hidden and not model.cells["paris"].hidden
    assert (audit["somme"].lo, audit["somme"].hi) == (1, 4)


def test_primary_cells_pinning_each_other_are_shown_s() -> None:
    """Three « < 5 » whose published total is « < 5 » too: 1 + 1 + 1 ≤ total ≤ 4 leaves each in [1, 2]
    whatever else is hidden; the total is shown « s » (vague) and the cells are wide again."""
    model = table(5, {"r": 1, "e": 1, "n": 1, "base": 3, "big": 40, "all": 43}, {"base": ["r", "e", "n"],
                                                                               "all": ["base", "big"]},
                  {"all": COST_HEADLINE, "base": COST_MARGIN})
    audit = protect(model)
    assert model.cells["base"].vague and model.cells["base"].status == PRIMARY
    assert exposed(model, audit) == []


def test_a_relation_the_data_contradict_is_not_a_fact() -> None:
    model = table(5, {"a": 2, "b": 10, "t": 13}, {"t": ["a", "b"]})
    assert model.relations == [] and len(model.dropped) == 1


def test_shares_are_interval_constraints() -> None:
    """A published 49 % of 961 says 100·n ∈ [48.5 × 961, 49.5 × 961]: the true count, not one more than
    the rounding allows."""
    model = Model(5)
    model.cell("n", 467, "n")
    model.cell("base", 961, "base")
    model.share("n", "base")
    (low, high) = model.share_relations()
    for n, ok in ((467, True), (466, False), (475, True), (476, False)):  # 466.1 … 475.7
        values = {"n": n, "base": 961}
        inside = all(r.lo <= sum(values[k] * c for k, c in r.terms) <= r.hi for r in (low, high))
        assert inside == ok, n


@pytest.mark.parametrize(("seuil", "status", "width"), [(5, PRIMARY, 2), (5, SECONDARY, 2), (10, PRIMARY, 5),
                                                         (3, PRIMARY, 1), (4, PRIMARY, 2), (2, PRIMARY, 0)])
def test_required_width(seuil: int, status: str, width: int) -> None:
    assert required_width(seuil, status) == width


def test_seuil_off_hides_nothing() -> None:
    model = table(0, {"a": 1, "b": 3, "t": 4}, {"t": ["a", "b"]})
    assert protect(model) == {} and not model.hidden()
