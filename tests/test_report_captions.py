"""The report names each indicator with the catalogue's words (issue 14 point 2): a table's caption, a row, a
column or a chart's title that names a catalogue indicator reads its `libelle` (or `libelle_court`) from
`indicators/catalogue.py`, so a label changed there changes the report and leaves no trace of the old one.

Before this, only « Sources et méthode » read the catalogue: the captions and rows were literals of the report
code. The checks look at the report *before* « Définitions des indicateurs » (that table always read the
catalogue), in the view model and in the rendered Markdown and HTML.
"""

from __future__ import annotations

import copy
import dataclasses
import html
import json
from pathlib import Path
from typing import Any, cast

import pytest

from cvg_pipeline.indicators import catalogue
from cvg_pipeline.indicators.compute import Indicators
from cvg_pipeline.report.build import Rapport, build_report, render_text
from cvg_pipeline.schema.load import Schema, load_schema
from tests.drawing import drawing_only

SAMPLE = Path(__file__).parent / "data" / "indicateurs-national-2023.json"
DEFINITIONS = "Définitions des indicateurs"

# (catalogue path, kind, where the report shows it): a sample of kinds across the report's sections, each
# label shown nowhere else before the definitions (so « the old label is gone » is a real check).
CASES = [
    ("profil.orienteur", "distribution: caption, chart, evolution caption"),
    ("effectifs.file_active_fin", "count: row of the effectifs, column of the evolution and annex"),
    ("profil.refugie", "yes/no: caption and row"),
    ("profil.nb_difficultes", "buckets: caption, column, chart"),
    ("accompagnement.acc_proximite", "yes/no: row, evolution column, annex column"),
    ("sorties.duree_parcours.moyenne_mois", "mean: row, key figure, annex column"),
    ("sorties.par_motif", "distribution: caption"),
    ("logement.sortie", "distribution: caption and chart of the housing section"),
    ("logement.ameliore", "rate: row, evolution caption and series, annex column"),
    ("sante.medecin_traitant", "rate: row and bar of the health table"),
    ("resolution.{difficulte}.resolue_ou_en_cours", "rate: column and chart of the résolution table"),
    ("post_sortie.emploi_durable.stabilises", "rate: column of the post-sortie table"),
    ("phc.heures_entree_moyenne", "mean: row of the PHC block"),
]


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


def sample() -> Indicators:
    return cast(Indicators, json.loads(SAMPLE.read_text(encoding="utf-8")))


def relabel(monkeypatch: pytest.MonkeyPatch, path: str) -> tuple[list[str], list[str]]:
    """Give the indicator of `path` new labels in the catalogue; (old labels, new labels)."""
    [ind] = [i for i in catalogue.INDICATEURS if i.path == path]
    changes: dict[str, Any] = {"libelle": "Libellé tout neuf"}
    if getattr(ind, "libelle_court", ""):
        changes["libelle_court"] = "Court tout neuf"
    new = dataclasses.replace(ind, **changes)
    patched = tuple(new if i is ind else i for i in catalogue.INDICATEURS)
    monkeypatch.setattr(catalogue, "INDICATEURS", patched)
    monkeypatch.setattr(catalogue, "_BY_PATH", {i.path: i for i in patched})
    olds = [getattr(ind, k) for k in changes]
    return olds, list(changes.values())


def report(schema: Schema, with_phc: bool) -> Rapport:
    """The national report of the sample, with its PHC part (the sample again, as programme PHC) or not."""
    ind = sample()
    phc = copy.deepcopy(ind)
    phc["perimetre"]["programme"] = "PHC"
    with drawing_only():  # every chart's title and text alternative, no drawing
        return build_report(ind, schema, phc=phc if with_phc else None, audit=False)


def before_definitions(text: str) -> str:
    """The report up to the definitions table, entities decoded, in lower case (a label inside a caption
    such as « Évolution 2021-2023 : orienteurs / prescripteurs » is lower-cased)."""
    return html.unescape(text[:text.index(DEFINITIONS)]).lower()


@pytest.mark.parametrize(("path", "where"), CASES, ids=[p for p, _ in CASES])
def test_a_label_changed_in_the_catalogue_changes_the_report(monkeypatch: pytest.MonkeyPatch, schema: Schema,
                                                              path: str, where: str) -> None:
    """Captions, rows, columns and chart titles follow the catalogue: the new label is there, the old gone."""
    olds, news = relabel(monkeypatch, path)
    rapport = report(schema, with_phc=path.startswith("phc."))
    places = [text for key, t in rapport.t.items() if key != "definitions"
              for text in (t.titre, *t.entetes, *(str(row[0]) for row in t.lignes if row))]
    places += [g.legende for g in rapport.g.values()]
    assert any(new.lower() in p.lower() for new in news for p in places), f"{path} ({where}): not in a caption or row"
    for fmt in ("md", "html"):
        text = before_definitions(render_text(rapport, fmt))
        assert any(new.lower() in text for new in news), (fmt, path)
        for old in olds:
            assert old.lower() not in text, f"{path} ({where}): « {old} » still written in the {fmt} report"


@pytest.mark.parametrize("path", ["logement.ameliore", "resolution.{difficulte}", "accompagnement.cp_sante"])
def test_a_population_renamed_in_the_catalogue_changes_the_report(monkeypatch: pytest.MonkeyPatch, schema: Schema,
                                                                 path: str) -> None:
    """The « Population : … » line (or the « Base » column of the CP table) states the indicator's population
    in the catalogue's words, « dans l'année » written as the report's year."""
    [ind] = [i for i in catalogue.INDICATEURS if i.path == path]
    old = ind.population.libelle.removeprefix("Base : ").replace("dans l'année", "en 2023")
    pop = dataclasses.replace(ind.population, libelle="Base : salarié·es d'une population toute neuve dans l'année")
    patched = tuple(dataclasses.replace(i, population=pop) if i is ind else i for i in catalogue.INDICATEURS)
    monkeypatch.setattr(catalogue, "INDICATEURS", patched)
    rapport = report(schema, with_phc=False)
    for fmt in ("md", "html"):
        text = before_definitions(render_text(rapport, fmt))
        assert "salarié·es d'une population toute neuve en 2023" in text, (fmt, path)
        assert old.lower() not in text, (fmt, path, old)
