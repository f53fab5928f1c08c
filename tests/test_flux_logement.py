"""The housing entry → exit chart (issue 15, point 4) at national scale, with an honest secret statistique.

Before, a bar of the chart (one housing situation's share at entry or at exit) was drawn only when every
cell of its row or column of the matrix was shown: at national scale the secret statistique hides a small
cell in nearly every row and column, and on the 70-ACI network the national chart was entirely « non
représenté (secret statistique) ». Now the matrix's margins are published as shares rounded to a whole
percent (the table's « Part à l'entrée » column and « Part à la sortie » row), declared in the secret model
as counts known only through their share (`Cell.exact`): the tables are protected as without them, then each
share the audit allows is shown (`suppress.reveal`), and the chart draws exactly those shares.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cvg_pipeline import fr
from cvg_pipeline.cli import app
from cvg_pipeline.indicators.compute import Scope, load_indicators
from cvg_pipeline.report.secret.model import FREE, SECONDARY, Model
from cvg_pipeline.report.secret.suppress import protect
from cvg_pipeline.schema.load import load_schema
from tests.adversary import Table, attack, facts, parse_html, parse_markdown
from tests.golden_text import figures_recorded
from tests.networks import network70

SEUIL, WIDTH, ANNEE = 5, 2, 2023
MATRICE = "Situation logement : de l'entrée"
runner = CliRunner()


@pytest.fixture(scope="module")
def reseau(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return network70(tmp_path_factory)


def _render(store: Path, scope: list[str], out: Path) -> list[Path]:
    result = runner.invoke(app, ["report", "--store", str(store), *scope, "--annee", str(ANNEE), "--sortie", str(out),
                                 "--seuil-secret", str(SEUIL)])
    assert result.exit_code == 0, result.output
    return [Path(p) for p in result.stdout.split()]


def _matrix(text: str) -> Table:
    return next(t for t in parse_html(text).tables if t.titre.startswith(MATRICE) and not t.partie.startswith(
        "Programme PHC"))


def _shares(table: Table) -> tuple[dict[str, str], dict[str, str]]:
    """The table's share of each situation at entry (last column) and at exit (last row)."""
    assert table.entetes[-1] == "Part à l'entrée" and table.lignes[-1][0] == "Part à la sortie", table.entetes
    cats = table.entetes[1:-1]
    return ({row[0]: row[-1] for row in table.lignes[:-1]},
            dict(zip(cats, table.lignes[-1][1:len(cats) + 1], strict=True)))


def _chart(text: str) -> dict[str, tuple[str, str]]:
    """The chart's text alternative: each situation's « entry → exit » shares."""
    title = re.search(r'<title id="logement-titre">(.*?)</title>', text, re.S)
    assert title, "no housing entry → exit chart"
    desc = html.unescape(title.group(1)).split(" — ", 1)[1].rstrip(".")
    return {name: tuple(pair.split(" → ")) for name, pair in (item.split(" : ", 1) for item in desc.split(" ; "))}  # type: ignore[misc]


def _pct(text: str) -> float | None:
    m = re.fullmatch(r"(\d+) %", text.replace(fr.NBSP, " ").replace("\u202f", ""))
    return float(m.group(1)) if m else None


def test_national_chart_draws_the_largest_entry_and_exit_situations(reseau: Path, tmp_path: Path) -> None:
    """On the 70-ACI network the national chart draws (at least) the largest entry and exit situations, with
    the shares the table publishes, each bar as long as its published share (all five drawn: scaled to 100)."""
    schema = load_schema()
    ind = load_indicators(reseau, scope=Scope.national(), annee=ANNEE, programme="CVG", schema=schema)
    labels = {v.key: v.label for v in schema.domains["logement"].values}
    matrice = ind["logement"]["matrice"]
    base = sum(sum(row.values()) for row in matrice.values())
    rows = {labels[a]: sum(row.values()) for a, row in matrice.items()}
    cols = {labels[b]: sum(row[b] for row in matrice.values()) for b in next(iter(matrice.values()))}
    with figures_recorded() as figures:
        paths = _render(reseau, ["--national"], tmp_path)
    text = next(p for p in paths if p.suffix == ".html").read_text(encoding="utf-8")
    entree, sortie = _shares(_matrix(text))
    for shares, counts in ((entree, rows), (sortie, cols)):
        largest = max(counts, key=lambda k: counts[k])
        assert _pct(shares[largest]) == fr.pourcentage_valeur(counts[largest], base), (largest, shares)
    chart = _chart(text)
    assert chart == {k: (entree[k], sortie[k]) for k in entree}  # the chart says what the table publishes
    bars: dict[float, list[float]] = {}
    for line in figures["logement"]:
        m = re.match(r"\s+barre x ([\d.]+) → ([\d.]+), y ([-\d.]+) → ([-\d.]+), (#\w+)", line)
        if m and m.group(5) != "#eeeeee":  # not the hatched « masqué » segment
            bars.setdefault(round((float(m.group(3)) + float(m.group(4))) / 2), []).append(
                float(m.group(2)) - float(m.group(1)))
    for y, shares in ((0, entree), (1, sortie)):
        published = [p for p in map(_pct, shares.values()) if p is not None and p > 0]
        scale = 100 / sum(published) if len(published) == len(shares) else 1.0
        assert bars[y] == pytest.approx([p * scale for p in published], abs=0.01)


@pytest.mark.parametrize("scope", [["--national"], ["--territoire", "lyon"]], ids=["national", "lyon"])
def test_the_chart_shares_pin_no_hidden_count(reseau: Path, tmp_path: Path, scope: list[str]) -> None:
    """The adversary of tests/adversary.py, reading the matrix's shares (the chart's bars) as rounded
    intervals besides every table, cannot narrow any « < 5 » or « s » of the 70-ACI national and lyon reports
    to less than 3 possible values; and it does read shares there (the chart's bars are published)."""
    read = 0
    for path in _render(reseau, scope, tmp_path):
        text = path.read_text(encoding="utf-8")
        published = parse_markdown(text) if path.suffix == ".md" else parse_html(text)
        f = facts(published, SEUIL, ANNEE)
        read += f.shares
        narrow = {k: iv for k, iv in attack(f).items() if iv[1] - iv[0] < WIDTH}
        assert narrow == {}, path.name
        if path.suffix == ".html":
            entree, sortie = _shares(_matrix(text))
            assert _chart(text) == {k: (entree[k], sortie[k]) for k in entree}
    assert read >= 4, read  # at least two situations at entry and two at exit, in each format


def _margins(model: Model, base: int, values: list[int]) -> list[str]:
    model.cell("base", base, "base", weight=1000.0)
    keys = [model.cell(f"m{i}", v, f"m{i}", exact=False).key for i, v in enumerate(values)]
    model.total("base", keys)
    for k in keys:
        model.share(k, "base")
    return keys


def test_a_share_is_shown_only_when_the_audit_holds_with_it() -> None:
    """`reveal`: of three counts published only as shares of a base of 100 (rounded to 1 %, i.e. exactly),
    the largest is shown, the next stays « n.s. » (with the base it would give the « < 5 » count back); over
    a base of 1 000 (each share a ± 5 interval) both are shown."""
    small = Model(SEUIL)
    keys = _margins(small, 100, [3, 40, 57])
    found = protect(small)
    assert [small.cells[k].status for k in keys] == ["A", SECONDARY, FREE]
    assert found["m0"].width >= WIDTH
    large = Model(SEUIL)
    keys = _margins(large, 1000, [3, 400, 597])
    found = protect(large)
    assert [large.cells[k].status for k in keys] == ["A", FREE, FREE]
    assert found["m0"].width >= WIDTH
