"""store/snapshots.py `decide`: what becomes of each accepted file (spec §5), without DuckDB nor workbooks."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvg_pipeline.store.snapshots import (
    ARRETE_EN_DOUBLE,
    DEJA_INTEGRE,
    HISTORIQUE,
    INTEGRE,
    REMPLACE,
    Decision,
    Incoming,
    Plan,
    Stored,
    decide,
)

A, B = "11111111111111", "22222222222222"
JUNE, SEPT, DEC = date(2023, 6, 30), date(2023, 9, 30), date(2023, 12, 31)


def f(sha: str, siret: str = A, arrete: date = DEC, nom: str = "ACI A", territoire: str = "lyon") -> Incoming:
    return Incoming(sha, siret, arrete, nom, territoire, ("CDDI",))


# A store holding A's June (snapshot 1) and September (snapshot 2), its row in `aci` from September.
HELD = Stored(
    hashes=frozenset({"juin", "sept"}),
    snapshots={A: {JUNE: 1, SEPT: 2}},
    aci={A: ("ACI A", "lyon", ["CDDI"])},
)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param([f("x", siret=B)], [Decision(INTEGRE, 10)], id="a new ACI"),
        pytest.param([f("x")], [Decision(INTEGRE, 10, previous=(2, SEPT))], id="a later month"),
        pytest.param([f("x", arrete=SEPT)], [Decision(REMPLACE, 10, replaces=2, previous=(1, JUNE))],
                     id="the same month again, other bytes"),
        pytest.param([f("x", arrete=date(2023, 3, 31))], [Decision(HISTORIQUE, 10)], id="an earlier month"),
        pytest.param([f("x", arrete=date(2023, 7, 31))], [Decision(HISTORIQUE, 10, previous=(1, JUNE))],
                     id="a month between two stored"),
        pytest.param([f("sept", arrete=SEPT)], [Decision(DEJA_INTEGRE)], id="bytes already stored"),
        pytest.param([f("x"), f("y")], [Decision(ARRETE_EN_DOUBLE, doubles=(1,)), Decision(ARRETE_EN_DOUBLE, doubles=(0,))],
                     id="one month twice in a run"),
        pytest.param([f("y"), f("x", siret=B), f("x2"), f("z")],
                     [Decision(ARRETE_EN_DOUBLE, doubles=(2, 3)), Decision(INTEGRE, 11),
                      Decision(ARRETE_EN_DOUBLE, doubles=(0, 3)), Decision(ARRETE_EN_DOUBLE, doubles=(0, 2))],
                     id="one month three times, beside another ACI"),
        pytest.param([f("sept", arrete=SEPT), f("x", arrete=SEPT)],
                     [Decision(DEJA_INTEGRE), Decision(REMPLACE, 11, replaces=2, previous=(1, JUNE))],
                     id="a month stored and its correction: the stored bytes are no double"),
        pytest.param([f("x", siret=B, arrete=JUNE), f("y", siret=B)],
                     [Decision(INTEGRE, 10), Decision(INTEGRE, 11, previous=(10, JUNE))],
                     id="two months of a new ACI: the later compared with the earlier of the same run"),
    ],
)
def test_decide(files: list[Incoming], expected: list[Decision]) -> None:
    """Each kind of file gets its status, the snapshot it replaces and the one it is compared with."""
    assert decide(files, HELD, new_ids=range(10, 10 + len(files))).decisions == expected


def test_the_acis_row_follows_its_latest_month_only() -> None:
    """A later month renames the ACI (an `aci` update), an earlier one (history) never does; a new ACI is an
    insert; the state afterwards holds the new snapshots and not the replaced one."""
    renamed = f("x", nom="Nouveau nom")
    plan = decide([renamed, f("h", arrete=date(2023, 1, 31), nom="Ancien nom"), f("b", siret=B)], HELD, range(10, 13))
    assert plan.aci_changed == {A: ("Nouveau nom", "lyon", ["CDDI"])}
    assert plan.aci_new == {B: ("ACI A", "lyon", ["CDDI"])}
    assert plan.aci == {A: ("Nouveau nom", "lyon", ["CDDI"]), B: ("ACI A", "lyon", ["CDDI"])}
    assert plan.snapshots == {A: {JUNE: 1, SEPT: 2, DEC: 10, date(2023, 1, 31): 11}, B: {DEC: 12}}
    replaced = decide([f("x", arrete=SEPT)], HELD, [10])
    assert replaced.replaced == [2] and replaced.snapshots == {A: {JUNE: 1, SEPT: 10}}
    assert replaced.aci_changed == {} and replaced.aci_new == {}  # same name, territoire and supports


def test_decide_changes_nothing_it_is_given() -> None:
    """The store's state given is read, never changed (the writer keeps it until the COMMIT succeeds)."""
    snapshots = {A: {JUNE: 1, SEPT: 2}}
    aci = {A: ("ACI A", "lyon", ["CDDI"])}
    decide([f("x", nom="Autre"), f("y", arrete=SEPT)], Stored(snapshots=snapshots, aci=aci), [10, 11])
    assert snapshots == {A: {JUNE: 1, SEPT: 2}} and aci == {A: ("ACI A", "lyon", ["CDDI"])}


months = st.sampled_from([date(2023, m, 28) for m in range(1, 13)])
incoming = st.builds(
    Incoming,
    sha256=st.sampled_from(["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"]),
    siret=st.sampled_from([A, B]),
    date_arrete=months,
    nom=st.sampled_from(["Un", "Deux"]),
    territoire=st.just("lyon"),
)


def _fold(files: list[Incoming], stored: Stored, first_id: int) -> tuple[list[Decision], Plan]:
    """`decide` one file at a time, each on the state the previous one left (the writer's fallback)."""
    decisions: list[Decision] = []
    snapshots = {s: dict(d) for s, d in stored.snapshots.items()}
    aci = dict(stored.aci)
    for k, one in enumerate(files):
        plan = decide([one], Stored(stored.hashes, snapshots, aci), [first_id + k])
        decisions += plan.decisions
        snapshots.update(plan.snapshots)
        aci = plan.aci
    return decisions, Plan(decisions, snapshots, aci, {}, {})


@settings(max_examples=60, deadline=None)
@given(
    files=st.lists(incoming, max_size=8, unique_by=lambda i: (i.siret, i.date_arrete)),
    held=st.lists(st.tuples(st.sampled_from([A, B]), months), max_size=4, unique=True),
)
def test_one_batch_decides_like_file_by_file(files: list[Incoming], held: list[tuple[str, date]]) -> None:
    """Files of distinct months decided as one batch (one transaction) get the statuses, the comparisons and
    leave the state that deciding them one at a time gives (the file-by-file fallback)."""
    snapshots: dict[str, dict[date, int]] = {}
    for n, (siret, arrete) in enumerate(held, 1):
        snapshots.setdefault(siret, {})[arrete] = n
    stored = Stored(frozenset(), snapshots, {s: ("Un", "lyon", []) for s in snapshots})
    batch = decide(files, stored, range(100, 100 + len(files)))
    decisions, folded = _fold(files, stored, 100)
    assert batch.decisions == decisions
    assert {**{s: dict(d) for s, d in snapshots.items()}, **batch.snapshots} == folded.snapshots
    assert batch.aci == folded.aci
    assert all(d.statut in (INTEGRE, REMPLACE, HISTORIQUE) for d in batch.decisions)


@settings(max_examples=60, deadline=None)
@given(files=st.lists(incoming, max_size=8), known=st.sets(st.sampled_from(["s1", "s2", "s3"])))
def test_known_bytes_and_doubled_months(files: list[Incoming], known: set[str]) -> None:
    """Bytes already stored are `déjà intégré`; among the others, a month (SIRET, Date d'arrêté) given twice
    or more is refused for every file that has it, whatever the order, naming the others."""
    decisions = decide(files, Stored(hashes=frozenset(known))).decisions
    assert len(decisions) == len(files)
    for k, (one, d) in enumerate(zip(files, decisions, strict=True)):
        same = [j for j, o in enumerate(files) if j != k and o.sha256 not in known
                and (o.siret, o.date_arrete) == (one.siret, one.date_arrete)]
        if one.sha256 in known:
            assert d == Decision(DEJA_INTEGRE)
        elif same:
            assert d == Decision(ARRETE_EN_DOUBLE, doubles=tuple(same))
        else:
            assert d.statut in (INTEGRE, REMPLACE, HISTORIQUE) and d.stored
