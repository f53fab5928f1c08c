"""`cvg report`: secret statistique, view model, Markdown / HTML output, goldens, escaping, command line.

Goldens (tests/golden/):
- exemples/: the national and lyon reports of the demo data, from a store built by ingesting the committed
  examples/aci and examples/historique with the real library (what `make demo` writes; small counts, so the
  secret statistique shows);
- echantillon/: the national report of the hand-made sample (tests/data/indicateurs-national-2023.json,
  figures close to the programme's 2023 report: thousands separators, every share shown).
Regenerate with `make golden` (CVG_UPDATE_GOLDEN=1) and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from typer.testing import CliRunner

from cvg_pipeline.cli import app
from cvg_pipeline.indicators.compute import Indicators, Scope, load_indicators
from cvg_pipeline.report import build as report
from cvg_pipeline.report.build import (
    NON_CALCULABLE,
    NS,
    Rapport,
    Secret,
    build_report,
    render_report,
    render_text,
)
from cvg_pipeline.schema.load import Schema, load_schema
from tests.drawing import drawing_only
from tests.golden_text import Figures, compare, figures_recorded
from tests.storefill import fill_store, parcours, snapshot

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
SAMPLE = HERE / "data" / "indicateurs-national-2023.json"
UPDATE = os.environ.get("CVG_UPDATE_GOLDEN") == "1"
NBSP, NNBSP = "\u00a0", "\u202f"
LT5 = f"<{NBSP}5"
SIRET_A, SIRET_B, SIRET_C = "44306184100047", "51234567800029", "79912345600011"

runner = CliRunner()


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


def sample() -> Indicators:
    return cast(Indicators, json.loads(SAMPLE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def sample_tables(schema: Schema) -> Rapport:
    """The report of the sample without charts, built once for the tests that only read it."""
    return build_report(sample(), schema, charts=False)


@pytest.fixture(scope="module")
def sample_html(schema: Schema) -> str:
    """The HTML report of the sample with every chart, rendered once for the tests that only read it."""
    return render_text(build_report(sample(), schema), "html")


# -- a small deterministic store -------------------------------------------------------------------------
def small_store(path: Path, schema: Schema, nom_b: str = "Ressourcerie des Pentes") -> Path:
    """Three ACI (two in lyon, one in paris), 60 parcours over 2021-2023 with every kind of value."""
    dom = schema.domains
    motifs, logements = dom["motif_sortie"].labels, dom["logement"].labels
    resolutions = dom["resolution"].labels
    rows: dict[str, list[dict[str, Any]]] = {SIRET_A: [], SIRET_B: [], SIRET_C: []}
    for i in range(60):
        entree = date(2021 + i % 3, 1 + (i * 5) % 12, 1 + (i * 7) % 28)
        sortie = None if i % 4 == 0 else entree + timedelta(days=60 + (i * 53) % 900)
        if sortie is not None and sortie > date(2023, 12, 31):
            sortie = None
        values: dict[str, Any] = {
            "programme": "PHC" if i % 7 == 0 else "CVG",
            "date_entree": entree,
            "date_sortie": sortie,
            "sexe": dom["sexe"].labels[i % 3 % 2],
            "annee_naissance": 1960 + (i * 11) % 45,
            "nationalite": dom["nationalite"].labels[i % 3],
            "orienteur": dom["orienteur"].labels[(i * 3) % len(dom["orienteur"].labels)],
            "duree_sans_emploi": dom["duree_sans_emploi"].labels[i % 5],
            "logement_entree": logements[(i * 2) % 5],
            "niveau_formation": None if i % 9 == 0 else dom["niveau_formation"].labels[i % 4],
            "parcours_rue": dom["parcours_rue"].labels[i % 3],
            "refugie": i % 5 == 0, "rsa": i % 2 == 0, "rqth": None if i % 8 == 0 else i % 6 == 0,
            "ts_exterieur": i % 3 != 0, "acc_concerte": i % 2 == 1, "acc_proximite": i % 4 == 1,
            "cp_emploi": i % 3 == 1, "cp_sante": i % 5 == 1, "cp_logement": i % 4 == 2,
            "heures_hebdo_entree": 10.0 + i % 6 if i % 7 == 0 else None,
        }
        for k, d in enumerate(schema.difficulties):
            has = (i + k) % 3 == 0
            values[d.entry_column] = has if k < 6 else None
            if sortie is not None and has and k < 6:
                values[d.exit_column] = resolutions[(i + k) % 3] if (i + k) % 4 else None
        if sortie is not None:
            values.update({
                "motif_sortie": motifs[(i * 5) % len(motifs)],
                "logement_sortie": logements[min(4, (i * 2) % 5 + i % 3)] if i % 6 else None,
                "bilan_sante": i % 3 == 0, "medecin_traitant": i % 4 == 0, "couverture_sante": i % 5 == 0,
                "emploi_via_cp": i % 2 == 0, "logement_via_cp": i % 3 == 0,
                "post_sortie_contact": i % 2 == 1, "heures_hebdo_sortie": 20.0 if i % 7 == 0 else None,
            })
            if i % 2 == 1:
                values["post_sortie_stabilise"] = i % 3 != 0
        rows[(SIRET_A, SIRET_A, SIRET_B, SIRET_C)[i % 4]].append(parcours(**values))
    return fill_store(path, [
        snapshot(SIRET_A, date(2023, 12, 31), territoire="lyon", nom="Atelier du Rhône",
                 supports=("Réemploi", "Espaces verts"), parcours=rows[SIRET_A]),
        snapshot(SIRET_B, date(2023, 11, 30), territoire="lyon", nom=nom_b, parcours=rows[SIRET_B]),
        snapshot(SIRET_C, date(2023, 12, 31), territoire="paris", nom="Jardins de Paris",
                 supports=("Alimentaire / restauration",), parcours=rows[SIRET_C]),
    ], schema)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, schema: Schema) -> Path:
    return small_store(tmp_path_factory.mktemp("store") / "cvg.duckdb", schema)


@pytest.fixture(scope="module")
def lyon(store: Path, schema: Schema) -> Indicators:
    return load_indicators(store, scope=Scope.of_territoire("lyon"), annee=2023, schema=schema)


# -- the secret statistique (indicators.md §5) -----------------------------------------------------------
@pytest.mark.parametrize(
    ("seuil", "n", "expected"),
    [
        (5, 0, "0"),
        (5, 1, LT5),
        (5, 4, LT5),  # seuil − 1
        (5, 5, "5"),  # seuil
        (5, 1234, f"1{NNBSP}234"),
        (10, 9, f"<{NBSP}10"),
        (10, 10, "10"),
        (0, 0, "0"),
        (0, 1, "1"),  # seuil 0: off
        (0, 4, "4"),
        (1, 1, "1"),  # seuil 1: nothing to mask (1 … 0)
        (2, 1, f"<{NBSP}2"),
    ],
)
def test_secret_counts(seuil: int, n: int, expected: str) -> None:
    assert Secret(seuil).effectif(n) == expected


@pytest.mark.parametrize(
    ("seuil", "n", "base", "part", "taux"),
    [
        (5, 0, 0, NON_CALCULABLE, NON_CALCULABLE),  # base 0: not computable, never 0 %
        (0, 0, 0, NON_CALCULABLE, NON_CALCULABLE),
        (1, 0, 0, NON_CALCULABLE, NON_CALCULABLE),
        (5, 0, 1, NS, NS),  # base below the seuil, even for a count of 0
        (5, 1, 4, NS, NS),
        (5, 4, 4, NS, NS),  # base = seuil − 1
        (5, 0, 4, NS, NS),
        (5, 1, 5, NS, f"{NS} ({LT5} / 5)"),  # base at the seuil, count masked: 20 % would give 1 back
        (5, 4, 5, NS, f"{NS} ({LT5} / 5)"),  # count = seuil − 1
        (5, 5, 5, f"100{NBSP}%", f"100{NBSP}% (5 / 5)"),  # count and base at the seuil
        (5, 0, 5, f"0{NBSP}%", f"0{NBSP}% (0 / 5)"),  # a count of 0 is shown
        (5, 1, 11, NS, f"{NS} ({LT5} / 11)"),  # 9 % (< 5 / 11) would give 1 back
        (5, 3, 961, NS, f"{NS} ({LT5} / 961)"),  # masked count, large base
        (5, 4, 100_000, NS, f"{NS} ({LT5} / 100{NNBSP}000)"),
        (5, 5, 11, f"45{NBSP}%", f"45{NBSP}% (5 / 11)"),
        (5, 467, 961, f"49{NBSP}%", f"49{NBSP}% (467 / 961)"),
        (0, 1, 4, f"25{NBSP}%", f"25{NBSP}% (1 / 4)"),  # seuil 0: off
        (0, 1, 1, f"100{NBSP}%", f"100{NBSP}% (1 / 1)"),
        (0, 0, 1, f"0{NBSP}%", f"0{NBSP}% (0 / 1)"),
        (1, 1, 1, f"100{NBSP}%", f"100{NBSP}% (1 / 1)"),  # seuil 1: nothing masked
        (1, 0, 3, f"0{NBSP}%", f"0{NBSP}% (0 / 3)"),
        (2, 1, 2, NS, f"{NS} (<{NBSP}2 / 2)"),
        (2, 2, 2, f"100{NBSP}%", f"100{NBSP}% (2 / 2)"),
        (10, 9, 9, NS, NS),
        (10, 9, 10, NS, f"{NS} (<{NBSP}10 / 10)"),
        (10, 10, 10, f"100{NBSP}%", f"100{NBSP}% (10 / 10)"),
    ],
)
def test_secret_shares(seuil: int, n: int, base: int, part: str, taux: str) -> None:
    secret = Secret(seuil)
    assert secret.part(n, base) == part
    assert secret.taux(n, base) == taux
    assert secret.rate({"n": n, "base": base}) == taux
    # the base is given (« … / base ») exactly when the rate is not « n.s. » or « non calculable » alone
    assert secret.base_affichable(base) == (taux not in (NS, NON_CALCULABLE))
    # the share is given exactly when it is not « n.s. » or « non calculable »
    assert secret.part_affichable(n, base) == (part not in (NS, NON_CALCULABLE))


@pytest.mark.parametrize(
    ("n", "base", "valeur", "detail"),
    [
        (467, 961, f"49{NBSP}%", "467 / 961"),
        (3, 961, NS, f"{LT5} / 961 — non significatif, secret statistique"),  # masked count, large base
        (4, 5, NS, f"{LT5} / 5 — non significatif, secret statistique"),
        (5, 5, f"100{NBSP}%", "5 / 5"),
        (0, 5, f"0{NBSP}%", "0 / 5"),
        (3, 4, NS, "non significatif, secret statistique"),  # base below the seuil: no count given
        (0, 0, NON_CALCULABLE, ""),
    ],
)
def test_secret_key_figure_cards(n: int, base: int, valeur: str, detail: str, schema: Schema) -> None:
    ind = sample()
    ind["sorties"]["taux_sorties_dynamiques"] = {"n": n, "base": base}
    card = next(c for c in build_report(ind, schema, charts=False).cartes if "accèdent à l'emploi" in c.texte)
    assert (card.valeur, card.detail) == (valeur, detail)


@pytest.mark.parametrize(
    ("seuil", "n", "base", "shown"),
    [(5, 1, 4, False), (5, 0, 0, False), (5, 3, 100, False), (5, 4, 5, False), (5, 5, 100, True),
     (5, 0, 100, True), (5, 0, 5, True), (0, 1, 4, True), (0, 0, 0, False), (1, 1, 1, True)],
)
def test_secret_share_shown(seuil: int, n: int, base: int, shown: bool) -> None:
    """A share is shown only on a base of at least the seuil and a count that is not masked (never a share of
    a masked count, nor of an empty base). What the charts draw: test_masked_values_are_not_drawn."""
    assert Secret(seuil).part_affichable(n, base) == shown


def test_secret_means_and_refusal() -> None:
    assert Secret(5).moyenne(16.04, 4, "mois") == NS
    assert Secret(5).moyenne(16.04, 5, "mois") == f"16,0{NBSP}mois"
    assert Secret(5).moyenne(None, 50) == NON_CALCULABLE
    assert Secret(0).moyenne(12.25, 1, "h") == f"12,3{NBSP}h"
    with pytest.raises(ValueError):
        Secret(-1)


# -- the sample follows the JSON contract --------------------------------------------------------------
def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    if value is None or isinstance(value, float):
        return "number-or-null"
    return type(value).__name__


def test_sample_has_the_shape_of_computed_indicators(store: Path, schema: Schema) -> None:
    computed = load_indicators(store, scope=Scope.national(), annee=2023, schema=schema)
    assert _shape(sample()) == _shape(computed)


# -- the view model --------------------------------------------------------------------------------------
def test_every_table_states_its_population(sample_tables: Rapport) -> None:
    rapport = sample_tables
    assert rapport.t
    for key, table in rapport.t.items():
        assert str(table.champ).startswith("Population : "), key
        assert all(len(row) == len(table.entetes) for row in table.lignes), key


def test_numbers_come_from_the_indicators(schema: Schema, sample_tables: Rapport) -> None:
    ind = sample()
    rapport = sample_tables
    cards = {c.texte: c for c in rapport.cartes}
    dyn = next(c for t, c in cards.items() if "accèdent à l'emploi ou à la formation" in t)
    assert (dyn.valeur, dyn.detail) == (f"49{NBSP}%", "467 / 961")
    ind["sorties"]["taux_sorties_dynamiques"] = {"n": 500, "base": 1000}
    changed = build_report(ind, schema, charts=False)
    dyn2 = next(c for c in changed.cartes if "accèdent à l'emploi" in c.texte)
    assert (dyn2.valeur, dyn2.detail) == (f"50{NBSP}%", f"500 / 1{NNBSP}000")
    assert [c.valeur for c in rapport.cartes][:3] == [f"3{NNBSP}448", f"1{NNBSP}601", f"1{NNBSP}205"]


def test_territoire_names_come_from_the_schema(schema: Schema, sample_tables: Rapport) -> None:
    ind = sample()
    rapport = sample_tables
    names = [row[0] for row in rapport.t["territoires"].lignes]
    par = ind["par_territoire"] or {}
    # sorted by name (accents ignored), then the national row; a territoire without any ACI in the data is
    # named in a note, not a line of zeros
    expected = [t.name for t in schema.territoires if par[t.slug]["effectifs"]["nb_aci"] > 0]
    assert names == [*sorted(expected, key=report._sort_name), "National"]
    absents = [t.name for t in schema.territoires if par[t.slug]["effectifs"]["nb_aci"] == 0]
    assert absents == ["Seine-Saint-Denis"]
    assert "Territoires sans ACI dans les données de l'année : Seine-Saint-Denis." in rapport.t["territoires"].notes


def test_sortie_neutre_footnote_and_threshold_in_both_formats(sample_tables: Rapport) -> None:
    rapport = sample_tables  # no chart holds these texts
    for fmt in ("md", "html"):
        text = render_text(rapport, fmt)
        assert "« Retrait des sorties constatées »" in text
        assert "Secret statistique (seuil 5)" in text
        assert "données au 31 décembre 2023" in text
        assert "Atelier Paris 1" in text and "30012345601027" in text  # the snapshots used


def test_masked_values_are_not_drawn(schema: Schema) -> None:
    ind = sample()
    base = ind["effectifs"]["accompagnes"]
    ind["profil"]["sexe"] = {"femme": 3, "homme": base - 3, "non_renseigne": 0}
    with drawing_only("profil"):
        secret_on = build_report(ind, schema, seuil=5).g["profil"].svg
        secret_off = build_report(ind, schema, seuil=0).g["profil"].svg
    assert f">&lt;{NBSP}1{NBSP}%<" in secret_off  # 3 / 3 448 is drawn when the secret is off …
    assert f">&lt;{NBSP}1{NBSP}%<" not in secret_on and f">{NS}<" in secret_on  # … and replaced by n.s. when on
    assert "Femme : n.s." in secret_on
    assert "Homme : n.s." in secret_on  # the secondary secret's « s » is not drawn either (100 % − it = Femme)
    # the table: the masked count and its share (0 % of 3 448 would say « between 1 and 17 »)
    table = build_report(ind, schema, seuil=5, charts=False).t["sexe"]
    assert table.lignes[1] == ["Femme", LT5, NS]
    # … and Homme too (secondary secret): the base minus Homme would give Femme back
    assert table.lignes[0] == ["Homme", "s", NS]


def test_stacked_line_with_a_masked_segment_is_not_drawn(schema: Schema) -> None:
    """Resolution chart: drawing the other segments alone would give the masked one back (100 − others)."""
    ind = sample()
    ind["resolution"]["justice"].update(resolue=3, en_cours=20, non_resolue=20, non_renseigne=0,
                                        resolue_ou_en_cours={"n": 23, "base": 43})
    with drawing_only("resolution"):
        masked = build_report(ind, schema, seuil=5).g["resolution"].svg
        shown = build_report(ind, schema, seuil=0).g["resolution"].svg
    assert masked.count("non représenté (secret statistique)") == 1
    assert "non représenté" not in shown


def test_secret_note_explains_masked_shares(sample_tables: Rapport) -> None:
    text = render_text(sample_tables, "md")
    assert "« n.s. » (non significatif) quand elle est calculée sur moins de 5 personnes ou que son effectif " \
           "est lui-même masqué (ou sa base)" in text
    assert "un effectif affiché « s » est masqué au titre du secret secondaire" in text


def test_seuil_zero_shows_everything(lyon: Indicators, schema: Schema) -> None:
    text = render_text(build_report(lyon, schema, seuil=0, charts=False), "md")
    assert LT5 not in text and f" {NS} " not in text
    assert "désactivé" in text
    masked = render_text(build_report(lyon, schema, seuil=5, charts=False), "md")
    assert LT5 in masked and NS in masked


def test_render_report_writes_the_requested_formats(tmp_path: Path, schema: Schema, lyon: Indicators) -> None:
    paths = render_report(lyon, schema, formats=("md",), out_dir=tmp_path / "out")
    assert paths == [tmp_path / "out" / "rapport-lyon-2023.md"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["rapport-lyon-2023.md"]
    with drawing_only():  # the files written, not the charts, are looked at here
        paths = render_report(sample(), schema, out_dir=tmp_path)
    assert [p.name for p in paths] == ["rapport-national-2023.md", "rapport-national-2023.html"]
    with pytest.raises(ValueError, match="format inconnu"):
        render_report(sample(), schema, formats=("docx",), out_dir=tmp_path)


# -- HTML: valid, self-contained, escaped ----------------------------------------------------------------
def _strict_parse(text: str) -> None:
    import html5lib

    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)


def test_html_is_valid_self_contained_and_accessible(sample_html: str) -> None:
    text = sample_html
    _strict_parse(text)
    assert text.startswith("<!DOCTYPE html>") and '<html lang="fr">' in text
    assert "<script" not in text.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text)  # nothing fetched
    assert "@page { size: A4" in text and "break-before: page" in text
    svgs = re.findall(r"<svg [^>]*>", text)
    assert len(svgs) >= 10
    assert all('role="img"' in s and "aria-labelledby=" in s for s in svgs)
    assert text.count("<figcaption>") == len(svgs)
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "duplicate ids across the inline charts"


def test_aci_name_is_escaped(tmp_path: Path, schema: Schema) -> None:
    evil = "<script>alert(1)</script> & *Cie*"
    path = small_store(tmp_path / "cvg.duckdb", schema, nom_b=evil)
    ind = load_indicators(path, scope=Scope.of_aci(SIRET_B), annee=2023, schema=schema)
    html_text = render_text(build_report(ind, schema), "html")
    _strict_parse(html_text)
    assert "<script" not in html_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; *Cie*" in html_text
    md_text = render_text(build_report(ind, schema, charts=False), "md")
    assert "\\<script>alert(1)\\</script> & \\*Cie\\*" in md_text
    assert re.search(r"(?<!\\)</?script", md_text) is None  # every "<" before a tag name is escaped


# -- goldens ---------------------------------------------------------------------------------------------
def check_golden(name: str, text: str, figures: Figures) -> None:
    """Compare with tests/golden/<name> (write it under CVG_UPDATE_GOLDEN=1), each chart's SVG body replaced by
    a summary of what it shows (tests/golden_text.py); fail with a unified diff."""
    diff = compare(GOLDEN / name, text, figures, update=UPDATE)
    if diff is not None:
        pytest.fail(f"{name} differs from its golden file (run `make golden` if intended):\n{diff}")


# demo_store (tests/conftest.py): the committed examples ingested with the library on 30 June 2024, as
# `make demo` does, once per run for this module and test_report_pdf.py.
DEMO_SCOPES = {"national": {"national": True, "territoire": None}, "lyon": {"national": False, "territoire": "lyon"}}


@pytest.mark.parametrize("fmt", ["md", "html"])
@pytest.mark.parametrize("perimetre", list(DEMO_SCOPES))
def test_golden_demo(perimetre: str, fmt: str, demo_store: Path, schema: Schema, tmp_path: Path) -> None:
    """The default report (CVG part, PHC part, annexes; lyon beside the national) of the demo data."""
    from cvg_pipeline.commands.report import report_indicators

    got = report_indicators(demo_store, **DEMO_SCOPES[perimetre], aci=None, annee="2023",  # type: ignore[arg-type]
                            programme=None, au=None)
    with figures_recorded() as figures:
        (path,) = render_report(got.main, schema, formats=(fmt,), out_dir=tmp_path, phc=got.phc, national=got.national)
    text = path.read_text(encoding="utf-8")
    assert str(tmp_path) not in text and str(demo_store.parent) not in text
    check_golden(f"exemples/rapport-{perimetre}-2023.{fmt}", text, figures)


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_golden_national_sample(fmt: str, schema: Schema) -> None:
    with figures_recorded() as figures:
        text = render_text(build_report(sample(), schema, charts=fmt == "html"), fmt)
    check_golden(f"echantillon/rapport-national-2023.{fmt}", text, figures)


def test_render_is_deterministic(schema: Schema, sample_html: str) -> None:
    """A second build and render of the sample (fresh indicators) gives the HTML of the first, byte for byte."""
    assert render_text(build_report(sample(), schema), "html") == sample_html


# -- the command line ------------------------------------------------------------------------------------
def test_cli_writes_and_prints_paths(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "rapports"
    with drawing_only():  # the paths and the names, not the charts
        result = runner.invoke(app, ["report", "--store", str(store), "--territoire", "Lyon", "--annee", "2023",
                                     "--sortie", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [str(out / "rapport-lyon-2023.md"), str(out / "rapport-lyon-2023.html")]
    assert "Attention" in result.stderr  # one ACI's data stop at 30 November
    html_text = (out / "rapport-lyon-2023.html").read_text(encoding="utf-8")
    assert "Métropole de Lyon" in html_text and "Ressourcerie des Pentes" in html_text


def test_cli_aci_scope_and_format(store: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--store", str(store), "--aci", SIRET_A, "--annee", "2023",
                                 "--format", "md", "--sortie", str(tmp_path), "--seuil-secret", "0"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [str(tmp_path / f"rapport-aci-{SIRET_A}-2023.md")]
    text = (tmp_path / f"rapport-aci-{SIRET_A}-2023.md").read_text(encoding="utf-8")
    assert "Atelier du Rhône" in text and "désactivé" in text


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--national", "--territoire", "lyon", "--annee", "2023"], 2, "un seul périmètre"),
        (["--national"], 2, "--annee est obligatoire"),
        (["--territoire", "lyom", "--annee", "2023"], 2, "Vouliez-vous dire « lyon »"),
        (["--national", "--annee", "2023", "--format", "docx"], 2, "format inconnu"),
        (["--national", "--annee", "2023", "--format", ","], 2, "aucun format"),
        (["--national", "--annee", "2023", "--seuil-secret", "-1"], 2, "--seuil-secret"),
    ],
)
def test_cli_usage_errors(store: Path, tmp_path: Path, args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, ["report", "--store", str(store), "--sortie", str(tmp_path), *args])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.iterdir())


def test_cli_missing_store_and_unwritable_folder(store: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--store", str(tmp_path / "absent.duckdb"), "--national", "--annee",
                                 "2023", "--sortie", str(tmp_path / "r")])
    assert result.exit_code == 1, result.output
    assert "n'existe pas" in result.output and "cvg init" in result.output
    blocker = tmp_path / "fichier"
    blocker.write_text("x")
    with drawing_only():
        result = runner.invoke(app, ["report", "--store", str(store), "--national", "--annee", "2023",
                                     "--sortie", str(blocker / "sous-dossier")])
    assert result.exit_code == 1, result.output
    assert "impossible d'écrire le rapport" in result.output
    assert "Traceback" not in result.output


def test_cli_import_stays_light() -> None:
    """The command module does not import jinja2 or matplotlib (they load when a report is written)."""
    import subprocess
    import sys

    code = ("import sys, cvg_pipeline.cli; "
            "print(' '.join(m for m in ('jinja2', 'matplotlib', 'cvg_pipeline.report.build') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
    assert report.FORMATS == ("md", "html")


def test_cli_audit_lists_every_hidden_count_with_its_interval(store: Path, tmp_path: Path) -> None:
    """`cvg report --audit --json` (issue 16; fails on main before 046f038: no --audit): each hidden count,
    its status and the interval a reader can reach; nothing is written."""
    args = ["report", "--store", str(store), "--territoire", "lyon", "--annee", "2023", "--sortie", str(tmp_path)]
    result = runner.invoke(app, [*args, "--audit", "--json"])
    assert result.exit_code == 0, result.output
    audit = json.loads(result.stdout)
    assert audit["seuil"] == 5 and audit["cellules"]
    assert {c["statut"] for c in audit["cellules"]} == {"A", "D"}
    for cell in audit["cellules"]:
        assert cell["protegee"], cell
        assert cell["max"] is None or cell["max"] - cell["min"] >= cell["largeur_requise"] == 2
        # a count the report shows only as a share (the housing matrix's margins) is shown « n.s. »
        assert cell["affiche"] in ((LT5, "s") if ".log.mat." not in f".{cell['cle']}" else ("n.s.",)), cell
    assert not list(tmp_path.iterdir())
    text = runner.invoke(app, [*args, "--audit"])
    assert text.exit_code == 0 and "Tous les effectifs masqués sont protégés." in text.stdout
    assert runner.invoke(app, [*args, "--json"]).exit_code == 2


def test_secondary_secret_footnote_in_both_formats(lyon: Indicators, schema: Schema) -> None:
    """A table with an « s » says what it means, in Markdown and in HTML (fails before 046f038)."""
    rapport = build_report(lyon, schema, charts=False)  # the footnote and the tables, no chart
    assert any(c.statut == "D" for c in rapport.masquees)
    for fmt in ("md", "html"):
        text = render_text(rapport, fmt)
        assert "« s » : effectif masqué au titre du secret secondaire" in text
        assert "| s |" in text if fmt == "md" else '<td class="n">s</td>' in text
