"""`cvg report` v2 (issue 15, indicators.md §5.1 and §5.2): what the yearly report contains and how it reads.

- §5.1: the CVG part (programme CVG) in the 2023 report's order, the PHC part, the annexes (a territoire beside
  the national), `--programme tous` titled as pooled; every indicator of the catalogue appears in the report
  with its definition in « Sources et méthode »;
- §5.2: non-response beyond 10 % said beside the figure and the ACI lacking the column named in the sources;
  unordered distributions sorted by count; the date line; no « Non renseigné » row of 0; « < 1 % »; CP
  defined where first used;
- the secret statistique covers the new figures (tranches sum to the sorti·es).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

import pytest
from typer.testing import CliRunner

from cvg_pipeline.cli import app
from cvg_pipeline.indicators.compute import Indicators
from cvg_pipeline.report.build import Rapport, Tableau, build_report, render_text
from cvg_pipeline.schema.load import Schema, load_schema
from tests.test_report import small_store

HERE = Path(__file__).parent
SAMPLE = HERE / "data" / "indicateurs-national-2023.json"
NBSP = "\u00a0"
runner = CliRunner()


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, schema: Schema) -> Path:
    return small_store(tmp_path_factory.mktemp("store") / "cvg.duckdb", schema)


def sample() -> Indicators:
    return cast(Indicators, json.loads(SAMPLE.read_text(encoding="utf-8")))


def shown_tables(rapport: Rapport) -> list[tuple[str, Tableau]]:
    """(part title, table) for every table the report lays out."""
    return [(p.titre, t) for p in rapport.parties for s in p.sections for b in s.blocs for t in b.tableaux]


def rows(table: Tableau) -> list[list[str]]:
    return [[str(c) for c in row] for row in table.lignes]


def cli_report(store: Path, out: Path, *args: str) -> str:
    result = runner.invoke(app, ["report", "--store", str(store), "--annee", "2023", "--format", "md",
                                 "--sortie", str(out), *args])
    assert result.exit_code == 0, result.output
    [md] = out.glob("*.md")
    return md.read_text(encoding="utf-8")


# -- §5.1 ------------------------------------------------------------------------------------------------
def test_every_catalogue_indicator_appears_in_the_report(store: Path, tmp_path: Path, schema: Schema) -> None:
    """Every indicator of the catalogue is shown in a table of the default report (the phc block in the PHC
    part, the others in the CVG part) and defined in « Sources et méthode » with the catalogue's words."""
    from cvg_pipeline.commands.report import report_indicators
    from cvg_pipeline.indicators.catalogue import INDICATEURS

    got = report_indicators(store, national=True, territoire=None, aci=None, annee="2023", programme=None, au=None)
    rapport = build_report(got.main, schema, charts=False, phc=got.phc)
    text = render_text(rapport, "md")
    shown: dict[str, set[str]] = {}
    for partie, table in shown_tables(rapport):
        for path in table.indicateurs:
            shown.setdefault(path, set()).add(partie)
    for i in INDICATEURS:
        where = shown.get(i.path, set())
        programme = "Programme PHC" if i.block == "phc" else "Programme CVG"
        assert any(p.startswith(programme) for p in where), f"{i.path} is not shown in the {programme} part"
        assert i.definition.rstrip(".").replace("|", "\\|") in text.replace("\\*", "*"), i.path
    sources = text[text.index("Sources et méthode"):]
    assert "Définitions des indicateurs" in sources


def test_default_report_is_the_cvg_part_then_the_phc_part(store: Path, tmp_path: Path) -> None:
    """No --programme: the CVG part computed on CVG parcours, then a PHC part; --programme tous: one pooled
    report, titled so (on main before v2 the default pooled both programmes into every figure)."""
    md = cli_report(store, tmp_path / "defaut", "--national", "--seuil-secret", "0")  # a tiny store
    parts = re.findall(r"^## \d+\. (.+)$", md, flags=re.M)
    assert parts[:3] == ["Programme CVG — caractérisation du public",
                         "Programme CVG — mise en œuvre des modalités du programme",
                         "Programme CVG — impact sur les parcours"]
    assert parts[3] == "Programme PHC (Premières Heures en Chantier)"
    assert parts[-2:] == ["Annexes", "Sources et méthode"]
    cvg = json.loads(runner.invoke(app, ["indicators", "--store", str(store), "--national", "--annee", "2023",
                                         "--programme", "CVG"]).stdout)
    assert re.search(rf"^- \*\*{cvg['effectifs']['accompagnes']}\*\* salarié·es accompagné·es$", md, flags=re.M)
    pooled = cli_report(store, tmp_path / "tous", "--national", "--programme", "tous")
    assert pooled.splitlines()[0].endswith("— programmes CVG et PHC réunis")
    assert "## 1. Ensemble des programmes — caractérisation du public" in pooled
    assert "Programme PHC (Premières Heures en Chantier)" not in pooled


def test_territoire_report_sets_each_key_figure_beside_the_national(store: Path, tmp_path: Path) -> None:
    """A territoire report reads against the network: each key figure « — national : … » and an annex table
    of the key figures, the territoire's column beside the national one."""
    md = cli_report(store, tmp_path, "--territoire", "lyon", "--seuil-secret", "0")
    nat = json.loads(runner.invoke(app, ["indicators", "--store", str(store), "--national", "--annee", "2023",
                                         "--programme", "CVG"]).stdout)
    lyon = json.loads(runner.invoke(app, ["indicators", "--store", str(store), "--territoire", "lyon",
                                          "--annee", "2023", "--programme", "CVG"]).stdout)
    acc = (lyon["effectifs"]["accompagnes"], nat["effectifs"]["accompagnes"])
    assert f"- **{acc[0]}** salarié·es accompagné·es — national : {acc[1]}" in md
    annex = md[md.index("**Métropole de Lyon et le national : chiffres clés**"):]
    assert f"| Salarié·es accompagné·es | {acc[0]} | {acc[1]} |" in annex


# -- §5.2 ------------------------------------------------------------------------------------------------
def test_non_response_beyond_ten_percent_is_said_beside_the_figure(schema: Schema) -> None:
    """20 % of réfugié·es where a quarter of the answers are missing says so, and the sources name the ACI
    whose file lacks the column; 10 % exactly is not flagged."""
    ind = sample()
    acc = ind["effectifs"]["accompagnes"]
    nr = acc // 4
    ind["profil"]["refugie"] = {"oui": 500, "non": acc - nr - 500, "non_renseigne": nr}
    ind["profil"]["rsa"] = {"oui": 1000, "non": acc - 1000 - acc // 10, "non_renseigne": acc // 10}
    siret = ind["snapshots"][0]["siret"]
    label = schema.column("refugie").label
    rapport = build_report(ind, schema, charts=False, colonnes_absentes={siret: [label]})
    [refugie] = rows(rapport.t["refugie"])
    assert refugie[-1].endswith(f"— {round(100 * nr / acc)}{NBSP}% non renseigné")
    rsa = next(r for r in rows(rapport.t["rsa_rqth"]) if r[0] == schema.column("rsa").label)
    assert "non renseigné" not in rsa[-1]
    sources = rows(rapport.t["non_reponse"])
    line = next(r for r in sources if r[0].startswith(label))
    assert ind["snapshots"][0]["nom"] in line[-1] and f"« {label} »" in line[2]


def test_unordered_distributions_by_count_ordered_ones_in_their_order(schema: Schema) -> None:
    """Orienteurs and motifs largest first (« Non renseigné » last); the housing typology and the durées keep
    the schema's order."""
    ind = sample()
    ind["profil"]["orienteur"]["non_renseigne"] = 40
    ind["profil"]["orienteur"]["autre"] -= 40
    rapport = build_report(ind, schema, charts=False)
    counts = [int(r[1].replace("\u202f", "")) for r in rows(rapport.t["orienteur"])]
    assert counts[:-1] == sorted(counts[:-1], reverse=True)
    assert rows(rapport.t["orienteur"])[-1][0] == "Non renseigné"
    motifs = [int(r[2].replace("\u202f", "")) for r in rows(rapport.t["sorties_motifs"]) if r[2].isdigit() or "\u202f" in r[2]]
    assert motifs == sorted(motifs, reverse=True)
    logement = [r[0] for r in rows(rapport.t["logement_entree"])]
    assert logement == [v.label for v in schema.domains["logement"].values]


def test_date_line_says_the_year_and_the_dates_d_arrete(schema: Schema) -> None:
    """« Année 2023 — fichiers arrêtés entre le 31/12/2023 et le 29/02/2024 », not « données au … » alone."""
    ind = sample()
    ind["snapshots"][0]["date_arrete"] = "2024-02-29"
    ind["snapshots"][1]["date_arrete"] = "2023-11-30"
    md = render_text(build_report(ind, schema, charts=False), "md")
    assert "Année 2023 — fichiers arrêtés entre le 30/11/2023 et le 29/02/2024" in md.splitlines()[2]


def test_no_non_renseigne_row_of_zero(schema: Schema) -> None:
    """A distribution without missing answers has no « Non renseigné | 0 | 0 % » row; one with has it."""
    ind = sample()
    assert ind["profil"]["sexe"]["non_renseigne"] == 0 and ind["profil"]["niveau_formation"]["non_renseigne"] > 0
    rapport = build_report(ind, schema, charts=False)
    assert "Non renseigné" not in [r[0] for r in rows(rapport.t["sexe"])]
    assert rows(rapport.t["niveau_formation"])[-1][0] == "Non renseigné"


def test_a_small_share_of_a_non_zero_count_is_less_than_one_percent(schema: Schema) -> None:
    """7 people of 3 448 are « < 1 % », not « 0 % » (a count of 0 stays « 0 % »)."""
    ind = sample()
    acc = ind["effectifs"]["accompagnes"]
    ind["profil"]["sexe"] = {"femme": 7, "homme": acc - 7, "non_renseigne": 0}
    femme = next(r for r in rows(build_report(ind, schema, charts=False).t["sexe"]) if r[0] == "Femme")
    assert femme[1:] == ["7", f"<{NBSP}1{NBSP}%"]
    nb = rows(build_report(sample(), schema, charts=False).t["nb_difficultes"])
    zero = [r for r in nb if r[1] == "0"]
    assert all(r[2] == f"0{NBSP}%" for r in zero)


def test_cp_is_defined_where_first_used(schema: Schema) -> None:
    """The first « CP » of the report is « chargé·es de partenariats (CP) » (on main before v2 the key
    figures said « via le / la CP emploi » long before any definition)."""
    md = render_text(build_report(sample(), schema, charts=False), "md")
    first = re.search(r"\bCP\b", md)
    assert first is not None
    assert md[: first.end() + 1].endswith("chargé·es de partenariats (CP)")


# -- the secret statistique of the new figures -----------------------------------------------------------
def test_durée_tranches_sum_to_the_sortis_under_the_secret(schema: Schema) -> None:
    """A tranche under the seuil is « < 5 », and since the tranches sum to the sorti·es and 24–36 + 36+ is the
    published « plus de 24 mois », another one is hidden too; the audit finds every hidden count protected."""
    ind = sample()
    d: dict[str, Any] = ind["sorties"]["duree_parcours"]  # type: ignore[assignment]
    t = d["tranches"]
    t["36_plus"], t["24_36"] = 3, t["24_36"] + t["36_plus"] - 3
    rapport = build_report(ind, schema, charts=False)
    shown = {r[0]: r[1] for r in rows(rapport.t["duree_tranches"])}
    assert shown["Plus de 36 mois"] == f"<{NBSP}5"
    assert sum(v == "s" for v in shown.values()) >= 1
    assert all(c.protegee for c in rapport.masquees)
