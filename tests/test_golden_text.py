"""The goldens' comparison (tests/golden_text.py) on the sample's national HTML report: each chart's SVG body
is replaced by a summary, so a matplotlib release that only moves pixels leaves the golden as it is, while a
changed plotted value, chart text or caption still fails it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import cast

import pytest

from cvg_pipeline.indicators.compute import Indicators
from cvg_pipeline.report import charts
from cvg_pipeline.report.build import build_report, render_text
from cvg_pipeline.schema.load import Schema, load_schema
from tests.golden_text import Figures, compare, figures_recorded, stable_text

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "echantillon" / "rapport-national-2023.html"
SAMPLE = HERE / "data" / "indicateurs-national-2023.json"


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


def render(schema: Schema) -> tuple[str, Figures]:
    ind = cast(Indicators, json.loads(SAMPLE.read_text(encoding="utf-8")))
    with figures_recorded() as figures:
        text = render_text(build_report(ind, schema), "html")
    return text, figures


@pytest.fixture(scope="module")
def rendered(schema: Schema) -> tuple[str, Figures]:
    return render(schema)


def test_the_golden_holds_no_svg_body(rendered: tuple[str, Figures]) -> None:
    """The golden keeps each chart's opening tag, title, texts and plotted data, and none of matplotlib's
    drawing (paths, pixel coordinates, styles)."""
    text, figures = rendered
    golden = GOLDEN.read_text(encoding="utf-8")
    assert golden.count("<svg ") == text.count("<svg ") >= 10
    assert "<path" not in golden and " d=\"" not in golden and "<g id=" not in golden
    assert golden.count("   barre x ") >= 50  # the bars' extents, in data coordinates
    assert set(figures) >= {"profil", "resolution", "logement", "evolution"}
    assert compare(GOLDEN, text, figures, update=False) is None


def test_moved_pixels_keep_the_golden(rendered: tuple[str, Figures]) -> None:
    """What a matplotlib release changes (path data, pixel positions, ids, styles) is not compared: on the raw
    SVG these changes fail the golden with thousands of unreadable lines."""
    text, figures = rendered

    def shift(match: re.Match[str]) -> str:
        return f"{float(match[0]) + 0.5:.3f}"

    def move(svg: re.Match[str]) -> str:  # every decimal of the SVG body (after the chart's title) moved
        head, body = svg[0].split("</title>", 1)
        return head + "</title>" + re.sub(r"-?\d+\.\d+", shift, body.replace("stroke-linejoin: round", ""))

    moved = re.sub(r"<svg .*?</svg>", move, text, flags=re.S)
    assert moved != text
    assert stable_text(moved, figures) == stable_text(text, figures)
    assert compare(GOLDEN, moved, figures, update=False) is None


def test_a_changed_plotted_value_fails_the_golden(schema: Schema, monkeypatch: pytest.MonkeyPatch) -> None:
    """One bar drawn longer (the Femme bar of the profil chart), every text of the report unchanged: the
    golden fails and its diff shows the bar."""
    valeur = charts.Barre.valeur

    def longer(self: charts.Barre) -> float | None:
        value = valeur.fget(self)  # type: ignore[attr-defined]
        return value + 3 if self.libelle == "Femme" and value is not None else value

    monkeypatch.setattr(charts.Barre, "valeur", property(longer))
    text, figures = render(schema)
    diff = compare(GOLDEN, text, figures, update=False)
    assert diff is not None
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-   barre x 0 → 27, y 0.69 → 1.31, #6a9f4e", "+   barre x 0 → 30, y 0.69 → 1.31, #6a9f4e"]


@pytest.mark.parametrize(
    ("before", "after", "shown"),
    [
        (">66\u00a0%</text>", ">67\u00a0%</text>", "+  67\u00a0%\n"),  # a value printed on a bar
        (">Femme</text>", ">Hommes</text>", "+  Hommes\n"),  # a bar's label
        ("Sexe — Homme : 73", "Sexe — Homme : 74", "Sexe — Homme : 74"),  # the text alternative (<title>)
        ('height="265.68pt"', 'height="280pt"', 'height="280pt"'),  # the figure's size
    ],
)
def test_a_changed_chart_text_fails_the_golden(
    rendered: tuple[str, Figures], before: str, after: str, shown: str
) -> None:
    text, figures = rendered
    assert text.count(before) == 1, before
    diff = compare(GOLDEN, text.replace(before, after), figures, update=False)
    assert diff is not None and shown in diff, diff


def test_a_changed_caption_fails_the_golden(rendered: tuple[str, Figures]) -> None:
    text, figures = rendered
    caption = re.search(r"<figcaption>(?:<span[^>]*>[^<]*</span>)?([^<]+)</figcaption>", text)
    assert caption
    diff = compare(GOLDEN, text.replace(caption[1], caption[1] + " (révisé)", 1), figures, update=False)
    assert diff is not None and "(révisé)" in diff
