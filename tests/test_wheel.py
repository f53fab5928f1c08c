"""The wheel is a real package: built from the sources, installed into a fresh virtualenv outside the source
tree, `cvg template`, `cvg verifier` and `cvg report` work with what it ships.

Fails on main before 22399b2: `schemas/reporting.toml` and `templates/` sat outside the package (found
with `Path(__file__).parents[2]`), so the installed `cvg` stopped on every command with « erreur inattendue
(FileNotFoundError) ».

The fresh virtualenv gets the wheel (`--no-deps`, nothing downloaded) and sees the third-party dependencies
through a `.pth` line naming the test's own site-packages. A plain path line in a `.pth` adds that folder to
`sys.path` without running the `.pth` files inside it, so the editable install of the source tree
(`__editable__…pth`) stays out: the test checks that `cvg_pipeline` is imported from the new virtualenv.
The build uses pip's build isolation (setuptools from the configured index, as `pip install` does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_OK = ROOT / "examples" / "aci" / "lyon-atelier-des-pentes.xlsx"
EXAMPLE_BAD = ROOT / "examples" / "erreurs" / "erreurs-siret-et-territoire.xlsx"
CREATE_STORE = "from pathlib import Path; from cvg_pipeline.store.db import create_store; create_store(Path('cvg.duckdb'))"


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _copy_sources(dest: Path) -> Path:
    """What the sdist would hold: pyproject.toml, README.md and src/ (no build/ or egg-info left behind in
    the working tree, no stale files of an earlier build in the wheel)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


def _build_and_install(tmp: Path) -> tuple[Path, dict[str, str], str]:
    """(bin folder of a fresh virtualenv holding the built wheel, environment to run it in, build output)."""
    sources = _copy_sources(tmp / "sources")
    dist = tmp / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", dist, sources], cwd=tmp)
    assert built.returncode == 0, built.stderr
    wheels = list(dist.glob("cvg_pipeline-*.whl"))
    assert len(wheels) == 1, wheels

    venv = tmp / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    put = _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheels[0]],
        cwd=tmp,
    )
    assert put.returncode == 0, put.stderr
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp)
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site.stdout.strip()) / "cvg-test-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CVG_SCHEMA", "CVG_STORE")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["MPLCONFIGDIR"] = str(tmp / "mpl")
    where = _run([python, "-c", "import cvg_pipeline; print(cvg_pipeline.__file__)"], cwd=tmp, env=env)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the wheel's copy, not src/
    return venv / "bin", env, built.stdout + built.stderr


def test_the_wheel_works_outside_the_source_tree(tmp_path: Path) -> None:
    """One build for every check (the suite runs on two workers: a fixture shared by several tests would be
    built once per worker)."""
    bin_dir, env, output = _build_and_install(tmp_path)
    work = tmp_path / "work"
    work.mkdir()

    # The build prints no licence warning. Fails on main before 22399b2: `license = { text = "MIT" }` made
    # setuptools print a deprecation warning on every build (three times in `make demo`).
    assert "Building wheel for cvg-pipeline" in output  # the backend's output is there to be looked at
    assert "license" not in output.lower(), output

    # cvg template: the schema is package data.
    done = _run([bin_dir / "cvg", "template", "--sortie", "modele.xlsx"], cwd=work, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (work / "modele.xlsx").stat().st_size > 0

    # cvg verifier on an example, accepted and refused (with its annotated copy).
    good = shutil.copy2(EXAMPLE_OK, work / EXAMPLE_OK.name)
    bad = shutil.copy2(EXAMPLE_BAD, work / EXAMPLE_BAD.name)
    ok = _run([bin_dir / "cvg", "verifier", good], cwd=work, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    refused = _run([bin_dir / "cvg", "verifier", "--erreurs", "erreurs", bad], cwd=work, env=env)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "inattendue" not in refused.stdout + refused.stderr
    assert [p.name for p in (work / "erreurs").iterdir()] == [f"{EXAMPLE_BAD.stem}-erreurs.xlsx"]

    # cvg report: the report templates are package data too (every format rendered from the wheel; the
    # PDF's Typst template failed before aca6538's pyproject listed templates/*.typ).
    made = _run([bin_dir / "python", "-c", CREATE_STORE], cwd=work, env=env)
    assert made.returncode == 0, made.stderr
    stored = _run([bin_dir / "cvg", "ingest", "--store", "cvg.duckdb", good], cwd=work, env=env)
    assert stored.returncode == 0, stored.stdout + stored.stderr
    report = _run(
        [bin_dir / "cvg", "report", "--store", "cvg.duckdb", "--territoire", "lyon", "--annee", "2023",
         "--sortie", "rapports", "--format", "md,html,pdf"],
        cwd=work,
        env=env,
    )
    assert report.returncode == 0, report.stdout + report.stderr
    assert sorted(p.suffix for p in (work / "rapports").iterdir()) == [".html", ".md", ".pdf"]
