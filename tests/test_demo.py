"""`make demo` is quiet and clear (issue 20, point 7).

Failed on main before this change: the demo ingested the whole examples/ folder, listing LISEZMOI.md and
generate.py as « ignoré », ingested the examples twice, printed the indicators' warnings once per command,
echoed every command line, and ended without saying where to look.
"""

from __future__ import annotations

import collections
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "cvg").exists(), reason="make demo uses the project's .venv")
def test_make_demo_is_quiet_and_says_where_to_look(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    proc = subprocess.run(["make", "-s", "demo", f"DEMO={demo}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert " ignoré " not in out and "LISEZMOI" not in out and "generate.py" not in out
    assert not [line for line in out.splitlines() if line.startswith(".venv/bin/cvg")]  # no command echoed
    warnings = collections.Counter(line for line in out.splitlines() if line.startswith("Attention"))
    assert warnings and all(n == 1 for n in warnings.values()), warnings
    assert out.count("13 fichiers : 10 intégrés, 3 refusés") == 1
    tail = proc.stdout.rstrip().splitlines()[-6:]
    assert tail[0] == "Démo terminée. À regarder :"
    for folder in ("rapports", "erreurs", "relances"):
        assert any(f"{demo}/{folder}/" in line for line in tail), tail
        assert any((demo / folder).iterdir())
    for path in [demo, *demo.rglob("*")]:  # what the demo writes, the JSON its shell redirects included
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path
