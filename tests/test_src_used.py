"""No test-only code in src/: every top-level function, class and constant of the package is used by the
package itself (a helper only the tests call belongs in tests/)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

SRC = Path(__file__).parent.parent / "src" / "cvg_pipeline"
PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"

# name -> why it stays although only the tests use it
KEPT = {
    "writable": "commands/streams.SafeStream stands in for sys.stdout: libraries ask it",
    "encoding": "commands/streams.SafeStream stands in for sys.stdout: libraries ask it",
    # issue 14 point 5: one view of an ingest result for every test module, instead of a helper in each
    "flatten": "ingest/results.IngestResult, for the tests and scripts that compare a run's outcome",
    "statuses": "ingest/results.IngestResult, for the tests and scripts that compare a run's outcome",
    "by_name": "ingest/results.IngestResult, for the tests and scripts that compare a run's outcome",
    # the indicator catalogue's documented public API (indicators/catalogue.py docstring), for the export,
    # scripts and test_catalogue, which checks the JSON against it
    "META_KEYS": "indicators/catalogue: the JSON keys that are not indicators",
    "POPULATIONS": "indicators/catalogue: every population with its French label",
    "leaf_paths": "indicators/catalogue: every leaf path of the JSON",
}


def _definitions(tree: ast.Module, own_classes: set[str]) -> list[str]:
    """Top-level names, and the methods of classes that extend nothing outside the package (a method of a
    subclass of a library class may be called by the library: not checked)."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        if isinstance(node, ast.ClassDef) and all(isinstance(b, ast.Name) and b.id in own_classes for b in node.bases):
            names += [f.name for f in node.body if isinstance(f, ast.FunctionDef)]
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in names if not n.startswith("__")]


def _used(tree: ast.Module) -> set[str]:
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            used.update(a.name for a in node.names)
    return used


def test_every_definition_of_src_is_used_by_src() -> None:
    """Six `parse_*` helpers of read/normalise.py and `Secret.valeur_part` lived in src/ for the tests only;
    `Secret.valeur_effectif` and `report/export.DEFAULT_FORMATS` for nobody."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(SRC.rglob("*.py"))}
    used: set[str] = set()
    for tree in trees.values():
        used |= _used(tree)
    scripts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"].get("scripts", {})
    used |= {target.rpartition(":")[2] for target in scripts.values()}
    own_classes = {n.name for tree in trees.values() for n in tree.body if isinstance(n, ast.ClassDef)}
    unused = [f"{path.relative_to(SRC)}: {name}" for path, tree in trees.items()
              for name in _definitions(tree, own_classes)
              if name not in used and name not in KEPT]
    assert unused == []
