"""The README cannot go stale: its column reference is generated from schemas/, every command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.main import get_command

from cvg_pipeline.cli import app
from cvg_pipeline.schema import docs
from cvg_pipeline.schema.load import default_schema_path, load_schema

README = docs.README_PATH


def section(text: str) -> str:
    start = text.index(docs.BEGIN_MARKER) + len(docs.BEGIN_MARKER)
    return text[start : text.index(docs.END_MARKER)]


def test_readme_column_reference_is_up_to_date() -> None:
    assert docs.update_readme(README, check=True), "README.md est périmé : lancez « make readme »"


def test_reference_lists_every_column_value_and_territoire() -> None:
    schema = load_schema()
    ref = section(README.read_text(encoding="utf-8"))
    for col in schema.columns:
        assert f"| {col.label} | `{col.name}` |" in ref
    for domain in schema.domains.values():
        for value in domain.values:
            assert value.label in ref, value.label
            for synonym in value.synonyms:
                assert f"`{synonym}`" in ref, synonym
    for terr in schema.territoires:
        assert f"| `{terr.slug}` | {terr.name} |" in ref
    for fld in schema.structure_fields:
        assert f"| {fld.label} |" in ref


def test_schema_change_makes_the_readme_stale(tmp_path: Path) -> None:
    text = default_schema_path().read_text(encoding="utf-8").replace(
        'synonymes = ["Genre", ', 'synonymes = ["Sexe déclaré", "Genre", '
    )
    schema_path = tmp_path / "reporting.toml"
    schema_path.write_text(text, encoding="utf-8")
    schema = load_schema(schema_path)
    readme = tmp_path / "README.md"
    readme.write_text(README.read_text(encoding="utf-8"), encoding="utf-8")
    assert not docs.update_readme(readme, schema, check=True)
    assert readme.read_text(encoding="utf-8") == README.read_text(encoding="utf-8")  # check writes nothing
    assert not docs.update_readme(readme, schema)  # rewrites
    assert docs.update_readme(readme, schema, check=True)
    assert "`Sexe déclaré`" in section(readme.read_text(encoding="utf-8"))
    # Only the generated section changed.
    before, after = README.read_text(encoding="utf-8"), readme.read_text(encoding="utf-8")
    assert before.split(docs.BEGIN_MARKER)[0] == after.split(docs.BEGIN_MARKER)[0]
    assert before.split(docs.END_MARKER)[1] == after.split(docs.END_MARKER)[1]


def test_missing_markers_are_an_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Sans marqueurs\n", encoding="utf-8")
    with pytest.raises(ValueError, match="marqueurs"):
        docs.update_readme(readme, check=True)


def test_verifier_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "README.md"
    stale.write_text(f"# x\n{docs.BEGIN_MARKER}\nancien\n{docs.END_MARKER}\n", encoding="utf-8")
    assert docs.main(["--readme", str(stale), "--verifier"]) == 1
    assert "make readme" in capsys.readouterr().err
    assert docs.main(["--readme", str(stale)]) == 0
    assert docs.main(["--readme", str(stale), "--verifier"]) == 0


def test_two_commands_first() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = text.index("```sh")
    block = text[first_block : text.index("```", first_block + 5)]
    assert "make demo" in block and "make test" in block
    assert block.index("make demo") < block.index("make test")
    assert text.index("make demo") < text.index("## Les commandes")


def test_every_command_is_documented_with_an_example() -> None:
    text = README.read_text(encoding="utf-8")
    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    for name in commands:
        assert re.search(rf"^### `cvg {name}`", text, re.MULTILINE), f"section de « cvg {name} » absente"
        assert re.search(rf"^cvg {name}\b", text, re.MULTILINE), f"exemple de « cvg {name} » absent"


def test_personal_data_section_exists() -> None:
    assert "\n## Données personnelles\n" in README.read_text(encoding="utf-8")
