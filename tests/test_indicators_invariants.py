"""Invariants of the indicators on random stores (hypothesis).

The random parcours follow the input contract (reporting-file.md): required columns filled, date_sortie ≥
date_entree, the sortie block only on rows with a date de sortie (and motif + logement à la sortie on them),
res_<key> only with diff_<key> Oui, post_sortie_stabilise only with a contact. The generator reads the
column rules from the schema, so it follows it when it changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvg_pipeline.indicators.compute import Indicators, Programme, Scope, compute_indicators
from cvg_pipeline.schema.load import Column, load_schema
from tests.builders import make_siret
from tests.storefill import memory_store, snapshot

SCHEMA = load_schema()
TERRITOIRES = ("lyon", "paris", "somme")
SUPPORT_LABELS = SCHEMA.domains["supports"].labels
SPECIAL = {"id_salarie", "date_entree", "date_sortie", "annee_naissance"}
RELAXED = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _value(draw: st.DrawFn, col: Column, sortie: bool, row: dict[str, Any]) -> Any:
    if (col.exit_only and not sortie) or (col.only_if is not None and row.get(col.only_if) is not True):
        return None
    required = col.required or (col.rule == "si_sortie" and sortie)
    if not required and draw(st.integers(0, 3)) == 0:
        return None
    if col.type == "cat":
        return draw(st.sampled_from(SCHEMA.domain_of(col).labels))
    if col.type == "bool":
        return draw(st.booleans())
    if col.type == "number":
        return draw(st.integers(4, 140)) / 4  # 1 to 35 by quarters
    raise AssertionError(f"no generator for {col.name} ({col.type})")


BOUNDARIES = [d for y in range(2019, 2026) for d in (date(y, 1, 1), date(y, 12, 31), date(y, 7, 1), date(y, 7, 2))]


def a_date(draw: st.DrawFn, low: date, high: date) -> date:
    """A date in [low, high], often a year boundary or a post-sortie window edge (where mistakes hide)."""
    edges = [d for d in BOUNDARIES if low <= d <= high]
    if edges and draw(st.booleans()):
        return draw(st.sampled_from(edges))
    return low + timedelta(days=draw(st.integers(0, (high - low).days)))


@st.composite
def a_parcours(draw: st.DrawFn, arrete: date) -> dict[str, Any]:
    entree = a_date(draw, date(2019, 1, 1), arrete)
    sortie: date | None = None
    if draw(st.booleans()):
        sortie = a_date(draw, entree, arrete)
    row: dict[str, Any] = {"date_entree": entree, "date_sortie": sortie,
                           "annee_naissance": entree.year - draw(st.integers(16, 80))}
    for col in SCHEMA.columns:  # schema order: a column's only_if is decided before it
        if col.name not in SPECIAL:
            row[col.name] = _value(draw, col, sortie is not None, row)
    return row


@st.composite
def a_store(draw: st.DrawFn) -> list[dict[str, Any]]:
    snaps = []
    for i in range(draw(st.integers(1, 4))):
        siret = make_siret(f"{1000000000000 + i * 7919:013d}")
        territoire = draw(st.sampled_from(TERRITOIRES))
        supports = draw(st.lists(st.sampled_from(SUPPORT_LABELS), max_size=3, unique=True))
        dates = sorted(draw(st.lists(st.dates(date(2022, 6, 1), date(2025, 6, 30)), min_size=1, max_size=2, unique=True)))
        for arrete in dates:
            rows = draw(st.lists(a_parcours(arrete), max_size=25))
            snaps.append(snapshot(siret, arrete, parcours=rows, territoire=territoire, supports=supports))
    return snaps


def compute(con: Any, scope: Scope, annee: int, programme: Programme = "tous", au: date | None = None) -> Indicators:
    return compute_indicators(con, SCHEMA, scope=scope, annee=annee, programme=programme, au=au)


def leaves(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from leaves(value, (*path, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from leaves(value, (*path, str(i)))
    else:
        yield path, tree


def rates(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, int]]]:
    if isinstance(tree, dict):
        if set(tree) == {"n", "base"}:
            yield path, tree
        else:
            for key, value in tree.items():
                yield from rates(value, (*path, key))


COUNTS = ("accompagnes", "entrees", "sorties", "file_active_debut", "file_active_fin")
years = st.integers(2021, 2025)


def check_blocks(ind: Any, annee: int) -> None:
    """Invariants inside one result."""
    eff, profil = ind["effectifs"], ind["profil"]
    acc, sor = eff["accompagnes"], eff["sorties"]
    assert acc == eff["file_active_debut"] + eff["entrees"]
    assert eff["file_active_fin"] == acc - sor
    assert eff == ind["evolution"][str(annee)]["effectifs"]
    assert ind["evolution"][str(annee)]["taux_sorties_dynamiques"] == ind["sorties"]["taux_sorties_dynamiques"]
    assert ind["evolution"][str(annee - 1)]["effectifs"]["file_active_fin"] == eff["file_active_debut"]
    # every distribution and yes/no breakdown of the profil sums to the accompagnés
    for key, block in profil.items():
        if key == "difficultes_entree":
            assert all(sum(yn.values()) == acc for yn in block.values())
        elif key != "cumul_3_a_7_difficultes":
            assert sum(block.values()) == acc, key
    assert list(profil["nb_difficultes"]) == [str(i) for i in range(len(SCHEMA.difficulties) + 1)]
    for key in ("acc_concerte", "acc_proximite"):
        assert sum(ind["accompagnement"][key].values()) == acc
    assert sum(ind["sorties"]["par_motif"].values()) == sor
    assert sum(ind["sorties"]["par_categorie"].values()) == sor  # a sortie always has a motif
    log = ind["logement"]
    base = log["ameliore"]["base"]
    assert sum(sum(row.values()) for row in log["matrice"].values()) == base
    assert base == log["degrade"]["base"] == log["acces_logement_perenne"]["base"] == sor
    assert log["ameliore"]["n"] + log["degrade"]["n"] <= base
    assert log["via_cp"]["base"] == log["ameliore"]["n"]
    for res in ind["resolution"].values():
        answered = res["resolue"] + res["en_cours"] + res["non_resolue"]
        assert res["resolue_ou_en_cours"] == {"n": res["resolue"] + res["en_cours"], "base": answered}
    for path, r in rates(ind):
        assert 0 <= r["n"] <= r["base"], path
    supports = eff["nb_aci_par_support"]
    assert supports["non_renseigne"] <= eff["nb_aci"] <= sum(supports.values())
    for key in ("moyenne_mois", "mediane_mois"):
        assert (ind["sorties"]["duree_parcours"][key] is None) == (sor == 0)


def check_territoires(ind: Any, alone: Any, slug: str) -> None:
    """National counts are the sum of the territoires'; a territoire alone gives its par_territoire entry."""
    par = ind["par_territoire"]
    assert set(par) >= {t.slug for t in SCHEMA.territoires}
    for key in (*COUNTS, "nb_aci"):
        assert ind["effectifs"][key] == sum(t["effectifs"][key] for t in par.values()), key
    for support, count in ind["effectifs"]["nb_aci_par_support"].items():
        assert count == sum(t["effectifs"]["nb_aci_par_support"][support] for t in par.values())
    for key in ("n", "base"):
        assert ind["sorties"]["taux_sorties_dynamiques"][key] == sum(t["taux_sorties_dynamiques"][key] for t in par.values())
    assert alone["par_territoire"] is None
    assert {"effectifs": alone["effectifs"], "taux_sorties_dynamiques": alone["sorties"]["taux_sorties_dynamiques"]} == par[slug]


NOT_ADDITIVE = {"nb_aci", "nb_aci_par_support", "moyenne_mois", "mediane_mois", "annee", "perimetre", "snapshots",
                "donnees_au"}


def check_programmes(tous: Any, cvg: Any, phc: Any) -> None:
    """--programme CVG + --programme PHC = tous for every count (the phc block is the same in all three)."""
    t, c, p = (dict(leaves(x)) for x in (tous, cvg, phc))
    assert t.keys() == c.keys() == p.keys()
    for path, value in t.items():
        if NOT_ADDITIVE & set(path):
            continue
        if path[0] == "phc":
            assert value == c[path] == p[path], path
        else:
            assert value == c[path] + p[path], path


@RELAXED
@given(snaps=a_store(), annee=years, slug=st.sampled_from(TERRITOIRES))
def test_invariants(snaps: list[dict[str, Any]], annee: int, slug: str) -> None:
    con = memory_store(snaps)
    tous, cvg, phc = (compute(con, Scope.national(), annee, p) for p in ("tous", "CVG", "PHC"))
    for ind in (tous, cvg, phc):
        check_blocks(ind, annee)
    check_territoires(tous, compute(con, Scope.of_territoire(slug), annee), slug)
    check_programmes(tous, cvg, phc)


@settings(RELAXED, max_examples=15)
@given(snaps=a_store(), annee=years)
def test_snapshot_selection(snaps: list[dict[str, Any]], annee: int) -> None:
    con = memory_store(snaps)
    latest = max(s["date_arrete"] for s in snaps)
    default = compute(con, Scope.national(), annee)
    assert default == compute(con, Scope.national(), annee, au=latest)
    # one snapshot per ACI, its latest, sorted by SIRET
    expected = {}
    for s in snaps:
        if s["siret"] not in expected or s["date_arrete"] > expected[s["siret"]]:
            expected[s["siret"]] = s["date_arrete"]
    assert [(s["siret"], s["date_arrete"]) for s in default["snapshots"]] == [
        (siret, expected[siret].isoformat()) for siret in sorted(expected)
    ]
    assert default["donnees_au"] == latest.isoformat()
    # a date before the latest snapshot of some ACI selects its older snapshot (or none)
    earliest = min(s["date_arrete"] for s in snaps)
    early = compute(con, Scope.national(), annee, au=earliest)
    assert [s["date_arrete"] for s in early["snapshots"]] == [earliest.isoformat()] * len(early["snapshots"])
    assert early["donnees_au"] == earliest.isoformat()
