"""The indicator catalogue (indicators/catalogue.py): every indicator of indicators.md declared once, and the
JSON of `cvg indicators` is exactly what it declares (issue 14 point 2)."""

from __future__ import annotations

import typing
from datetime import date
from typing import Any

import pytest

from cvg_pipeline.indicators import catalogue as cat
from cvg_pipeline.indicators import model
from cvg_pipeline.indicators.compute import Scope, compute_indicators
from cvg_pipeline.schema.load import load_schema
from tests.builders import SIRET
from tests.storefill import memory_store, parcours, snapshot

SCHEMA = load_schema()


def leaves(tree: Any, path: str = "") -> list[str]:
    if isinstance(tree, dict):
        return [p for k, v in tree.items() for p in leaves(v, f"{path}.{k}" if path else k)]
    return [path]


@pytest.fixture(scope="module")
def computed() -> dict[str, Any]:
    con = memory_store([snapshot(SIRET, date(2024, 12, 31), territoire="lyon", parcours=[
        parcours(date_entree=date(2023, 1, 1), date_sortie=date(2024, 5, 1), motif_sortie="CDI",
                 logement_sortie="Logement pérenne"),
        parcours(date_entree=date(2024, 2, 1)),
    ])])
    return dict(compute_indicators(con, SCHEMA, scope=Scope.national(), annee=2024))


def test_the_json_is_exactly_what_the_catalogue_declares(computed: dict[str, Any]) -> None:
    """Every declared key is in the output of `cvg indicators`, in the declared order, and nothing undeclared
    is (v1 had no catalogue, and lacks the v2 keys it declares)."""
    got = [p for p in leaves({k: v for k, v in computed.items() if k not in cat.META_KEYS})]
    declared = cat.leaf_paths(SCHEMA, annees=(2022, 2023, 2024))
    assert len(declared) == len(set(declared))
    assert set(got) - set(declared) == set(), "in the JSON but not declared"
    assert set(declared) - set(got) == set(), "declared but not in the JSON"
    assert got == declared
    assert list(computed)[:len(cat.META_KEYS)] == list(cat.META_KEYS)


def test_every_leaf_of_the_json_has_its_definition(computed: dict[str, Any]) -> None:
    """The report reads each figure's libellé, definition and base from `entry(path)`."""
    for path in leaves({k: v for k, v in computed.items() if k not in cat.META_KEYS}):
        ind = cat.entry(path)
        assert ind.libelle and ind.definition and ind.population.libelle.startswith("Base : "), path


def test_entry_finds_declared_concrete_and_repeated_paths() -> None:
    """The stable API the report uses: one lookup for a declared, a concrete or a repeated path."""
    neutres = cat.entry("sorties.part_neutres")
    assert (neutres.kind, neutres.population.key) == ("rate", "sortis")
    assert neutres.definition == ("Part des sorties neutres : sorties de catégorie Sortie neutre / toutes les "
                                  "sorties de l'année")
    assert cat.entry("sorties.part_neutres.n") is neutres
    assert cat.entry("resolution.logement") is cat.entry("resolution.{difficulte}")
    assert cat.entry("resolution.logement.resolue_ou_en_cours").kind == "rate"
    assert cat.entry("resolution.sante.en_cours") is cat.entry("resolution.{difficulte}")
    assert cat.entry("profil.difficultes_entree.sante").column == "{entry}"
    assert cat.entry("par_territoire.lyon.logement_ameliore") is cat.entry("logement.ameliore")
    assert cat.entry("evolution.2023.effectifs.accompagnes") is cat.entry("effectifs.accompagnes")
    assert cat.entry("evolution.2023.sorties_par_categorie.emploi_durable") is cat.entry("sorties.par_categorie")
    assert cat.entry("logement.ameliore").population.libelle == (
        "Base : salarié·es sorti·es dans l'année hors sorties neutres dont la situation logement est connue à "
        "l'entrée et à la sortie")
    for unknown in ("sorties.inconnu", "par_territoire.lyon.inconnu", "inconnu"):
        with pytest.raises(KeyError):
            cat.entry(unknown)


def test_each_indicator_is_declared_once() -> None:
    paths = [i.path for i in cat.INDICATEURS]
    assert len(paths) == len(set(paths))
    assert [b.key for b in cat.BLOCS] == list(dict.fromkeys(i.block for i in cat.INDICATEURS))
    assert {i.population for i in cat.INDICATEURS} <= set(cat.POPULATIONS)


def _typed_keys(tp: Any) -> list[str]:
    return list(typing.get_type_hints(tp))


@pytest.mark.parametrize(("block", "typed"), [
    ("effectifs", model.Effectifs), ("profil", model.Profil), ("accompagnement", model.Accompagnement),
    ("sorties", model.Sorties), ("logement", model.Logement), ("sante", model.Sante), ("phc", model.Phc),
    ("sorties.duree_parcours", model.DureeParcours), ("post_sortie.emploi_durable", model.PostSortieBloc),
])
def test_the_typed_json_follows_the_catalogue(block: str, typed: Any) -> None:
    """The TypedDicts the report is type-checked against have the catalogue's keys, in its order."""
    children = [i.path[len(block) + 1:].split(".")[0] for i in cat.INDICATEURS if i.path.startswith(block + ".")]
    assert _typed_keys(typed) == list(dict.fromkeys(children))


def test_the_repeated_figures_are_typed() -> None:
    assert _typed_keys(model.TerritoireChiffres) == [r.key for r in cat.PAR_TERRITOIRE]
    assert _typed_keys(model.AnneeChiffres) == [r.key for r in cat.EVOLUTION]
