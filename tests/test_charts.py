"""The report's chart functions (report/charts.py) on their own: what they draw and what they leave out.

The secret statistique is applied by the caller, which passes a Barre whose value is None for a figure that
must not be drawn: these tests check that such a value reaches the drawing as nothing but its printed text.
"""

from __future__ import annotations

import re

from cvg_pipeline.report import charts
from cvg_pipeline.report.charts import Barre

CATEGORIES = ["Rue", "Hébergement précaire", "Hébergement collectif", "Logement accompagné", "Logement pérenne"]


def texts(svg: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t).strip() for t in re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.S)]


def barres(valeurs: list[float | None]) -> list[Barre]:
    return [Barre(c, v, "s" if v is None else f"{v:g} %") for c, v in zip(CATEGORIES, valeurs, strict=True)]


def test_flux_logement_legend_gives_each_movement() -> None:
    """The housing chart's legend names each category with its share at entry → at exit, and its two bars are
    labelled: the movement is read without the table."""
    svg = charts.flux_logement("flux", "Logement", CATEGORIES, barres([12, 25, 30, 18, 15]), barres([4, 15, 28, 20, 33]))
    found = texts(svg)
    assert "Rue : 12 % → 4 %" in found
    assert "Logement pérenne : 15 % → 33 %" in found
    assert {"À l'entrée", "À la sortie"} <= set(found)
    assert "masqué (secret statistique)" not in found
    assert svg.count('id="flux-') == len(set(re.findall(r'id="(flux-[^"]+)"', svg)))  # ids prefixed and unique


def test_flux_logement_hidden_shares_pooled_at_the_end() -> None:
    """Two hidden exit shares are not drawn one by one: the visible segments start at 0 % (a segment placed after
    a hidden one would give its width back), the hidden ones are pooled in one « masqué » segment, printed « s »,
    and the chart is the same whatever the hidden shares were."""
    visible = charts.flux_logement("flux", "L", CATEGORIES, barres([12, 25, 30, 18, 15]), barres([4, 15, 28, 20, 33]))
    hidden = charts.flux_logement("flux", "L", CATEGORIES, barres([12, 25, 30, 18, 15]),
                                  barres([None, None, 28, 20, 33]))
    other = charts.flux_logement("flux", "L", CATEGORIES, barres([12, 25, 30, 18, 15]),
                                 [Barre(c, (lambda: None), "s") if v is None else b
                                  for c, v, b in zip(CATEGORIES, [None, None, 1, 1, 1], barres([9, 9, 28, 20, 33]),
                                                     strict=True)])
    assert "masqué (secret statistique)" in texts(hidden)
    assert "Rue : 12 % → s" in texts(hidden)
    assert hidden == other
    assert hidden != visible
    assert "non représenté (secret statistique)" not in texts(hidden)
    empty = charts.flux_logement("flux", "L", CATEGORIES, barres([12, 25, 30, 18, 15]), barres([None] * 5))
    assert texts(empty).count("non représenté (secret statistique)") == 1  # an empty bar says why


def test_tendance_prints_every_year_and_hides_what_is_hidden() -> None:
    """A trend of several series prints every value of every year, a hidden value only as its text (italic, no
    bar: the chart equals the one where that year's value is 0 except for the text), and the years' legend."""
    annees = ["2021", "2022", "2023"]

    def serie(nom: str, valeurs: list[float | None]) -> tuple[str, list[Barre]]:
        return nom, [Barre(a, v, "n.s." if v is None else f"{v:g} %") for a, v in zip(annees, valeurs, strict=True)]

    svg = charts.tendance("orienteurs", "Orienteurs", annees,
                          [serie("France Travail", [30, 33, 36]), serie("SIAO", [None, 12, 18])])
    found = texts(svg)
    assert [t for t in found if t.endswith("%") or t == "n.s."] == ["30 %", "n.s.", "33 %", "12 %", "36 %", "18 %"]
    assert {"2021", "2022", "2023", "France Travail", "SIAO"} <= set(found)
    assert re.search(r'font-style: ?italic[^>]*>n\.s\.<|n\.s\.', svg)
    one = charts.tendance("duree", "Durée", annees, [serie("Durée", [14.0, None, 16.0])], pourcentages=False)
    assert [t for t in texts(one) if t in ("14 %", "n.s.", "16 %")] == ["14 %", "n.s.", "16 %"]


def test_a_trend_with_every_value_hidden_says_why_instead_of_an_empty_axis() -> None:
    """One series whose every year is hidden (Lyon's « orienté·es depuis PHC »: « s » each year) printed an empty
    chart on a 0–1 axis; it now says « non représenté (secret statistique) » and has no axis ticks. Values that
    are only « non calculable » (a base of 0) keep that text on each bar, without the secret's sentence."""
    annees = ["2021", "2022", "2023"]
    hidden = charts.tendance("phc", "PHC", annees, [("PHC", [Barre(a, None, "s") for a in annees])],
                             pourcentages=False)
    assert texts(hidden).count("non représenté (secret statistique)") == 1
    assert texts(hidden).count("s") == 3 and "1" not in texts(hidden) and "0" not in texts(hidden)
    shown = charts.tendance("phc", "PHC", annees, [("PHC", [Barre(a, v, str(v)) for a, v in zip(annees, [0, 2, 3],
                                                                                              strict=True)])],
                            pourcentages=False)
    assert "non représenté (secret statistique)" not in texts(shown)
    empty = charts.tendance("phc", "PHC", annees, [("PHC", [Barre(a, None, "non calculable") for a in annees])])
    assert "non représenté (secret statistique)" not in texts(empty) and texts(empty).count("non calculable") == 3


def test_panneaux_keeps_every_group_readable() -> None:
    """The profile chart (sexe, âge, nationalité) draws its groups one below the other at full width: the SVG is
    at least as tall as a bar per category of every group, not as tall as the longest group only."""
    groupes = [(t, barres([20, 20, 20, 20, 20])) for t in ("Sexe", "Âge", "Nationalité")]
    svg = charts.panneaux("profil", "Profil", groupes)
    height = float(re.search(r'height="([\d.]+)pt"', svg).group(1))  # type: ignore[union-attr]
    assert height >= 72 * 0.25 * 15
    assert {"Sexe", "Âge", "Nationalité"} <= set(texts(svg))


def test_matrice_shows_the_movement_not_the_diagonal() -> None:
    """The housing entry → exit table of cells: the diagonal (no change) is light grey and the colour scale is
    set by the other cells, improvements (above the diagonal) and degradations (below) in two colours with a
    legend, drawn as vector cells (the heat map was an image dominated by its diagonal: improvements nearly
    white). A hidden cell (None) keeps its text and no colour."""
    labels = CATEGORIES[:3]
    valeurs: list[list[float | None]] = [[300, 40, 5], [None, 250, 60], [0, 10, 280]]
    textes = [["300", "40", "5"], ["s", "250", "60"], ["0", "10", "280"]]
    svg = charts.matrice("logement", "Logement", labels, labels, valeurs, textes, "Entrée", "Sortie")
    assert "<image" not in svg
    assert {"situation améliorée", "situation inchangée", "situation dégradée", "s", "60"} <= set(texts(svg))
    fills = re.findall(r"fill: ?(#[0-9a-f]{6})", svg)
    assert fills.count("#e6e8ea") >= 3 + 1  # the three diagonal cells and the legend's patch
    other = charts.matrice("autre", "Autre", labels, ["A", "B", "C"], valeurs, textes, "Entrée", "Sortie")
    assert "situation améliorée" not in texts(other)
