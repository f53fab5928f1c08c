"""The schema loader: folding, lookups, and that the file is consistent."""

from __future__ import annotations

import pytest

from cvg_pipeline.schema.load import fold, load_schema, slugify


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Date d'entrée", "DATE D ENTREE"),
        ("Date d'entrée", "Date d’entrée "),
        ("Réfugié·e ou protection subsidiaire", "refugie e ou protection subsidiaire"),
        ("N° salarié", "n salarie"),
        ("Hébergement / AHI (SIAO, CHRS, CHU…)", "hebergement ahi siao chrs chu"),
    ],
)
def test_fold_equal(a: str, b: str) -> None:
    assert fold(a) == fold(b)


def test_fold_keeps_comparison_signs() -> None:
    assert fold("CDD < 6 mois") != fold("CDD > 6 mois")


@pytest.mark.parametrize(
    ("label", "slug"),
    [("Hébergement collectif", "hebergement_collectif"), ("1-2", "1_2"), ("5-8", "5_8"), ("Française", "francaise")],
)
def test_slugify(label: str, slug: str) -> None:
    assert slugify(label) == slug


def test_headers_resolve() -> None:
    schema = load_schema()
    assert schema.match_header("DATE D ENTREE").column is not None
    assert schema.match_header("Numéro PASS IAE").column == schema.column("id_salarie")
    assert schema.match_header("Nom").kind == "identifier"
    assert schema.match_header("Prénom").kind == "identifier"
    assert schema.match_header("Numéro de sécurité sociale").kind == "identifier"
    assert schema.match_header("Date de naissance").kind == "birth_date"
    assert schema.match_header("Colonne perso").kind == "unknown"


def test_difficulties_expand_to_two_columns_each() -> None:
    schema = load_schema()
    assert len(schema.difficulties) == 9
    for d in schema.difficulties:
        assert schema.column(d.entry_column).type == "bool"
        res = schema.column(d.exit_column)
        assert res.type == "cat" and res.only_if == d.entry_column and res.exit_only


def test_territoires_and_motifs() -> None:
    schema = load_schema()
    assert len(schema.territoires) == 12
    lyon = schema.match_territoire("Métropole du Grand Lyon")
    assert lyon is not None and lyon.slug == "lyon"
    motifs = schema.domains["motif_sortie"]
    assert motifs.match("CDD ≥ 6 mois") == motifs.by_label("CDD de 6 mois ou plus")
    assert motifs.match("Au chômage") == motifs.by_label("Demandeur d'emploi")
    assert {v.category for v in motifs.values} == {c.key for c in schema.exit_categories}


@pytest.mark.parametrize(
    ("written", "motif"),
    [
        ("CDD>6 mois", "CDD de 6 mois ou plus"),
        ("CDD <6 mois", "CDD de moins de 6 mois"),
        ("CDD≥6 mois", "CDD de 6 mois ou plus"),
        ("cdd >= 6 MOIS", "CDD de 6 mois ou plus"),
    ],
)
def test_comparison_signs_match_with_or_without_spaces(written: str, motif: str) -> None:
    value = load_schema().domains["motif_sortie"].match(written)
    assert value is not None and value.label == motif


@pytest.mark.parametrize(
    "header",
    ["Numéro de téléphone", "N° de téléphone", "Code postal", "Ville", "Lieu de naissance", "Date et lieu de naissance"],
)
def test_more_direct_identifier_headers(header: str) -> None:
    assert load_schema().match_header(header).kind == "identifier"
