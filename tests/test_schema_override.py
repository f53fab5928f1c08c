"""A change to schemas/ takes effect with no code change: through `load_schema(path)` and `$CVG_SCHEMA`."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cvg_pipeline.cli import app
from cvg_pipeline.schema.load import SCHEMA_ENV, default_schema_path, load_schema
from cvg_pipeline.workbooks.template import GUIDE_SHEET

NEW_TERRITOIRE_SYNONYM = "Lugdunum"
NEW_COLUMN_SYNONYM = "Date d'arrivée sur le chantier"
NEW_TERRITOIRE = ("grenoble", "Grenoble-Alpes Métropole", "Grenoble")


@pytest.fixture
def modified_schema(tmp_path: Path) -> Path:
    """A copy of schemas/reporting.toml with one territoire synonym, one column synonym, one territoire."""
    text = default_schema_path().read_text(encoding="utf-8")
    lyon = 'synonymes = ["Lyon", '
    entree = 'synonymes = ["Date entrée", '
    assert text.count(lyon) == 1 and text.count(entree) == 1
    text = text.replace(lyon, f'synonymes = ["{NEW_TERRITOIRE_SYNONYM}", "Lyon", ')
    text = text.replace(entree, f'synonymes = ["{NEW_COLUMN_SYNONYM}", "Date entrée", ')
    slug, name, synonym = NEW_TERRITOIRE
    text = text.replace(
        "\n[[territoires]]\nslug = \"paris\"",
        f'\n[[territoires]]\nslug = "{slug}"\nnom = "{name}"\nsynonymes = ["{synonym}"]\n\n[[territoires]]\nslug = "paris"',
    )
    path = tmp_path / "reporting-modifie.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_schema_does_not_know_the_additions() -> None:
    schema = load_schema(default_schema_path())
    assert schema.match_territoire(NEW_TERRITOIRE_SYNONYM) is None
    assert schema.match_header(NEW_COLUMN_SYNONYM).kind == "unknown"
    assert schema.match_territoire(NEW_TERRITOIRE[2]) is None


def test_load_schema_from_path(modified_schema: Path) -> None:
    schema = load_schema(modified_schema)
    terr = schema.match_territoire(NEW_TERRITOIRE_SYNONYM.upper())
    assert terr is not None and terr.slug == "lyon"
    match = schema.match_header("date d arrivee sur le chantier")
    assert match.kind == "column" and match.column is not None and match.column.name == "date_entree"
    new = schema.match_territoire(NEW_TERRITOIRE[2])
    assert new is not None and new.slug == NEW_TERRITOIRE[0] and new.name == NEW_TERRITOIRE[1]
    # Everything else is unchanged.
    default = load_schema(default_schema_path())
    assert [c.name for c in schema.columns] == [c.name for c in default.columns]
    assert len(schema.territoires) == len(default.territoires) + 1


def test_env_var_selects_the_schema(modified_schema: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SCHEMA_ENV, str(modified_schema))
    terr = load_schema().match_territoire(NEW_TERRITOIRE_SYNONYM)
    assert terr is not None and terr.slug == "lyon"


def test_template_follows_cvg_schema(modified_schema: Path, tmp_path: Path) -> None:
    target = tmp_path / "modele.xlsx"
    result = CliRunner().invoke(app, ["template", "--sortie", str(target)], env={SCHEMA_ENV: str(modified_schema)})
    assert result.exit_code == 0, result.output
    wb = load_workbook(target)
    guide = [[c.value for c in row] for row in wb[GUIDE_SHEET].iter_rows()]
    entree = next(r for r in guide if r[0] == "Date d'entrée")
    assert NEW_COLUMN_SYNONYM in entree[4]
    lyon = next(r for r in guide if r[3] == "Métropole de Lyon")
    assert NEW_TERRITOIRE_SYNONYM in lyon[4]
    # The new territoire is offered by the drop-down of the Structure sheet.
    (dv,) = wb["Structure"].data_validations.dataValidation
    sheet, ref = dv.formula1.split("!") if "!" in dv.formula1 else (None, None)
    offered = (
        [str(r[0].value) for r in wb[sheet.strip("'")][ref.replace("$", "")]]
        if sheet and ref
        else dv.formula1.strip('"').split(",")
    )
    assert offered[0] == NEW_TERRITOIRE[1]

    # Without the variable, the same command writes the default schema's template.
    plain = tmp_path / "plain.xlsx"
    assert CliRunner().invoke(app, ["template", "--sortie", str(plain)], env={SCHEMA_ENV: ""}).exit_code == 0
    guide = [[c.value for c in row] for row in load_workbook(plain)[GUIDE_SHEET].iter_rows()]
    entree = next(r for r in guide if r[0] == "Date d'entrée")
    assert NEW_COLUMN_SYNONYM not in entree[4]
