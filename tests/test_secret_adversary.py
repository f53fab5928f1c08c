"""The secret statistique attacked as a reader would (issue 16): generated networks are ingested with the
command line, their national, territoire and ACI reports rendered in Markdown and HTML, and an adversary
with its own parsers and its own linear programs (tests/adversary.py, not the project's model) tries to
pin down every « < 5 » and « s ». It must not narrow any of them to less than 3 possible values (width 2,
the rule of secret/model.required_width at seuil 5).

`make test` attacks 3 networks (2, 6 and 15 ACI); CVG_SOAK_NETWORKS=20 (`make soak`) attacks 20 networks
of 2 to 70 ACI with as many seeds.

Fails on main before 046f038: there was no secondary secret — `test_the_adversary_finds_counts_without_the_secondary_secret`
shows what this adversary recovers from the primary secret alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cvg_pipeline.cli import app
from cvg_pipeline.indicators.compute import Scope, load_indicators
from cvg_pipeline.schema.load import load_schema
from cvg_pipeline.store.db import create_store
from tests.adversary import attack, facts, parse_html, parse_markdown

ROOT = Path(__file__).resolve().parents[1]
SEUIL, WIDTH, ANNEE = 5, 2, 2023
SOAK = int(os.environ.get("CVG_SOAK_NETWORKS", "0"))
SIZES = (2, 3, 5, 8, 12, 20, 30, 45, 70)
NETWORKS = ([(SIZES[i % len(SIZES)], f"soak-{i}") for i in range(SOAK)] if SOAK
            else [(2, "adv-a"), (6, "adv-b"), (15, "adv-c")])
runner = CliRunner()


def network(tmp: Path, size: int, seed: str) -> tuple[Path, list[str]]:
    """A generated network ingested into a fresh store; the report arguments to attack."""
    workbooks = tmp / "aci"
    subprocess.run([sys.executable, str(ROOT / "examples" / "generate.py"), "--aci", str(size), "--graine", seed,
                    "--sortie", str(workbooks), "--jobs", "1"], check=True, capture_output=True)
    store = tmp / "cvg.duckdb"
    create_store(store)
    result = runner.invoke(app, ["ingest", "--store", str(store), str(workbooks)])
    assert result.exit_code == 0, result.output
    schema = load_schema()
    national = load_indicators(store, scope=Scope.national(), annee=ANNEE, schema=schema)
    par = national["par_territoire"] or {}
    present = sorted((v["effectifs"]["accompagnes"], k) for k, v in par.items() if v["effectifs"]["nb_aci"])
    smallest = present[0][1]
    siret = sorted(national["snapshots"], key=lambda s: s["siret"])[-1]["siret"]
    return store, [["--national"], ["--territoire", smallest], ["--aci", siret]]  # type: ignore[return-value]


def attacked(text: str, fmt: str) -> dict[str, tuple[float, float]]:
    """Every hidden count of a published report (`fmt`: md or html) with the interval the adversary narrows it to."""
    published = parse_markdown(text) if fmt == "md" else parse_html(text)
    assert published.tables, "nothing parsed"
    return attack(facts(published, SEUIL, ANNEE))


def too_narrow(found: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    return {where: iv for where, iv in found.items() if iv[1] - iv[0] < WIDTH}


def narrowed(text: str, fmt: str) -> dict[str, tuple[float, float]]:
    """The hidden counts of a published report that the adversary pins down to fewer than WIDTH + 1 values."""
    return too_narrow(attacked(text, fmt))


def render(store: Path, scope: list[str], out: Path) -> list[Path]:
    result = runner.invoke(app, ["report", "--store", str(store), *scope, "--annee", str(ANNEE),
                                 "--sortie", str(out), "--seuil-secret", str(SEUIL)])
    assert result.exit_code == 0, result.output
    return [Path(p) for p in result.stdout.split()]


@pytest.fixture(scope="module")
def networks(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int, str], tuple[Path, list[list[str]]]]:
    """`network(size, seed)` made once for the module (the attack tests only read the store)."""
    made: dict[tuple[int, str], tuple[Path, list[list[str]]]] = {}

    def get(size: int, seed: str) -> tuple[Path, list[list[str]]]:
        if (size, seed) not in made:
            made[size, seed] = network(tmp_path_factory.mktemp(f"reseau-{seed}"), size, seed)
        return made[size, seed]

    return get


@pytest.mark.parametrize(("size", "seed"), NETWORKS)
def test_no_hidden_count_can_be_pinned_down(
    size: int, seed: str, tmp_path: Path, networks: Callable[[int, str], tuple[Path, list[list[str]]]]
) -> None:
    store, scopes = networks(size, seed)
    hidden = 0
    for scope in scopes:
        for path in render(store, scope, tmp_path / "rapports"):
            found = attacked(path.read_text(encoding="utf-8"), path.suffix[1:])
            hidden += len(found)
            assert too_narrow(found) == {}, f"{path.name} ({size} ACI, graine {seed})"
    assert hidden > 0  # the networks do have small counts to attack


def test_the_adversary_finds_counts_without_the_secondary_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, networks: Callable[[int, str], tuple[Path, list[list[str]]]]
) -> None:
    """With the primary secret alone (as before issue 16), the same adversary recovers counts: it is not
    a test that cannot fail."""
    from cvg_pipeline.report.secret import suppress

    def primary_only(model: object) -> dict[str, object]:
        suppress.primary(model)  # type: ignore[arg-type]
        from cvg_pipeline.report.secret.verify import intervals

        return dict(intervals(model))  # type: ignore[arg-type]

    monkeypatch.setattr(suppress, "protect", primary_only)
    store, scopes = networks(6, "adv-b")  # the store of test_no_hidden_count_can_be_pinned_down[6-adv-b]
    found = {}
    for path in render(store, scopes[1], tmp_path / "rapports"):
        found.update(narrowed(path.read_text(encoding="utf-8"), path.suffix[1:]))
    assert found, "the adversary should pin down counts of a report without the secondary secret"


@pytest.mark.parametrize("name", ["rapport-national-2023.md", "rapport-national-2023.html", "rapport-lyon-2023.md",
                                  "rapport-lyon-2023.html"])
def test_the_demo_reports_resist_the_adversary(name: str) -> None:
    """The committed demo reports (tests/golden/exemples, small counts): before 046f038 this adversary read
    « Âge moins de 26 ans = 4 », « Parcours de rue plus de 2 ans = 2 »… in the lyon report."""
    text = (ROOT / "tests" / "golden" / "exemples" / name).read_text(encoding="utf-8")
    assert narrowed(text, name.rsplit(".", 1)[1]) == {}
