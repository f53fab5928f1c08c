"""The audit's shortcut (`verify.exposure`, used by `suppress.protect` since `cvg export` had to build ~150
reports in seconds, issue 19): deciding whether a hidden count is exposed from feasible points, solving an
LP only when they do not show the width, must say exactly what the full audit (`exposed(intervals(...))`)
says — on random tables, in the adversary's mode and in the relaxed (« < seuil » cells only) mode — and
`protect` must give the statuses of the former loop (a full audit of every hidden cell at every round).

Fails before the change: `verify.exposure` and `protect(audit=...)` did not exist."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvg_pipeline.report.secret import suppress
from cvg_pipeline.report.secret import verify as v
from cvg_pipeline.report.secret.model import COST_HEADLINE, FREE, PRIMARY, SECONDARY, Model, required_width
from tests.secret_reference import exposed

SEUIL = 5


@st.composite
def tables(draw: st.DrawFn) -> Model:
    """A grid of counts (many small ones) with its row and column totals and grand total, some cells
    hidden at random (primary where 1 … 4, secondary among the others ≥ 5), some primary shown « s »."""
    rows = draw(st.integers(2, 4))
    cols = draw(st.integers(2, 4))
    values = [[draw(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 9, 15, 40])) for _ in range(cols)] for _ in range(rows)]
    model = Model(SEUIL)
    for i in range(rows):
        for j in range(cols):
            model.cell(f"c{i}{j}", values[i][j], f"c{i}{j}")
    for i in range(rows):
        model.cell(f"r{i}", sum(values[i]), f"r{i}")
        model.total(f"r{i}", [f"c{i}{j}" for j in range(cols)])
    for j in range(cols):
        model.cell(f"k{j}", sum(values[i][j] for i in range(rows)), f"k{j}")
        model.total(f"k{j}", [f"c{i}{j}" for i in range(rows)])
    model.cell("t", sum(map(sum, values)), "t", weight=COST_HEADLINE)
    model.total("t", [f"r{i}" for i in range(rows)])
    model.total("t", [f"k{j}" for j in range(cols)], "t#cols")
    model.share("c00", "r0")
    suppress.primary(model)
    for cell in model.cells.values():
        if cell.status == FREE and cell.value >= SEUIL and draw(st.booleans()):
            cell.status = SECONDARY
        elif cell.status == PRIMARY and draw(st.integers(0, 4)) == 0:
            cell.vague = True
    return model


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.booleans())
def test_exposure_says_what_the_full_audit_says(model: Model, relaxed: bool) -> None:
    hidden = [c.key for c in model.hidden()]
    full = v.intervals(model, hidden, relaxed=relaxed)
    expected = {k: iv.width < required_width(SEUIL, model.cells[k].status) for k, iv in full.items()}
    assert v.exposure(model, hidden, relaxed=relaxed) == expected
    # first_only: per component, every cell up to the first exposed one, and nothing after it
    root, _ = v.components(model, model.relations if relaxed else model.all_relations(), relaxed)
    partial = v.exposure(model, hidden, relaxed=relaxed, first_only=True)
    for comp in {root[k] for k in hidden}:
        keys = [k for k in hidden if root[k] == comp]
        first = next((i for i, k in enumerate(keys) if expected[k]), len(keys) - 1)
        assert {k: partial[k] for k in keys if k in partial} == {k: expected[k] for k in keys[: first + 1]}


def former_protect(model: Model) -> dict[str, tuple[str, bool]]:
    """The loop before the shortcut: every hidden cell's interval solved at every round."""
    order = {k: i for i, k in enumerate(model.cells)}
    suppress.primary(model)
    suppress.close(model, order)
    found = v.intervals(model)
    for _ in range(suppress.MAX_ROUNDS):
        bad = exposed(model, found)
        if not bad:
            break
        root, useful = v.components(model, model.all_relations())
        touching = suppress._touching(model)
        done: set[str] = set()
        for key in sorted(bad, key=order.__getitem__):
            if root[key] not in done and suppress._choose(model, key, root, useful, order, touching):
                done.add(root[key])
        if not done:
            break
        suppress.close(model, order)
        found = v.intervals(model)
    return {k: (c.status, c.vague) for k, c in model.cells.items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_protect_gives_the_statuses_of_the_full_audit_loop(model: Model) -> None:
    copy = Model(model.seuil, {k: type(c)(c.key, c.value, c.label, c.published, c.weight)
                               for k, c in model.cells.items()}, list(model.relations), list(model.shares))
    expected = former_protect(copy)
    assert suppress.protect(model, audit=False) == {}
    assert {k: (c.status, c.vague) for k, c in model.cells.items()} == expected
    audit = suppress.protect(model)
    assert {k: (c.status, c.vague) for k, c in model.cells.items()} == expected
    assert set(audit) == {c.key for c in model.hidden()} and exposed(model, audit) == exposed(model, v.intervals(model))
