"""The error codes: one `Literal` (check/errors.Code) that mypy checks every `issue(...)` against, equal to the
catalogue's keys, and every code of the catalogue produced by the pipeline in some test."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args

import pytest

import cvg_pipeline
from cvg_pipeline.check.errors import CATALOGUE, Code

TESTS = Path(__file__).parent


def test_the_literal_lists_exactly_the_catalogue_codes() -> None:
    """`Code` (what mypy checks) and `CATALOGUE` (what `issue` formats) name the same codes, in order."""
    assert get_args(Code) == tuple(CATALOGUE)


def test_mypy_rejects_a_misspelt_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`issue("date-invalid", …)` is a type error, found by mypy before any run; the right code is not."""
    api = pytest.importorskip("mypy.api")
    monkeypatch.setenv("MYPYPATH", str(Path(cvg_pipeline.__file__).parents[1]))  # the package under test
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "from cvg_pipeline.check.errors import issue\n"
        'issue("date-invalide", "a.xlsx", valeur="x")\n'
        'issue("date-invalid", "a.xlsx", valeur="x")\n'
    )
    out, _err, status = api.run(
        ["--strict", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"), str(snippet)]
    )
    assert status == 1
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1 and errors[0].startswith(f"{snippet}:3:"), out


def _expected_codes(path: Path) -> set[str]:
    """The codes a test file expects from the pipeline: every string naming a code, except the first argument
    of a call that builds an issue itself (`issue("…")`, `cell_issue("…")`), which emits nothing."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    built: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name.endswith("issue"):
                built.add(id(node.args[0]))
    token = re.compile(r"(?<![\w-])(" + "|".join(re.escape(c) for c in CATALOGUE) + r")(?![\w-])")
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in built:
            found.update(token.findall(node.value))
    return found


def test_every_code_of_the_catalogue_is_expected_by_some_test() -> None:
    """Each code is the expected outcome of some test (a code no test produces is either dead, or a
    behaviour nobody checks): `texte-invalide`, which nothing emitted, was the case."""
    expected: set[str] = set()
    for path in sorted(TESTS.rglob("*.py")):
        if path.name != Path(__file__).name:
            expected |= _expected_codes(path)
    assert [c for c in CATALOGUE if c not in expected] == []
