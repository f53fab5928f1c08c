"""Real clients (LibreOffice, poppler, a browser…) for the tests that check what a user actually sees.

A test calls `require_client("soffice")` and gets the program's path. When the program is missing the test is
skipped with the reason and the Debian package to install, unless the environment sets
`CVG_CLIENTS_REQUIRED=1` (a machine meant to run every real-client test): then it fails, so that a missing
client is never mistaken for a pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REQUIRED_ENV = "CVG_CLIENTS_REQUIRED"

# program → the Debian package that provides it
PACKAGES = {
    "soffice": "libreoffice-calc",
    "pdfinfo": "poppler-utils",
    "pdftotext": "poppler-utils",
    "pdftoppm": "poppler-utils",
    "chromium": "chromium",
}


def clients_required() -> bool:
    return os.environ.get(REQUIRED_ENV, "") == "1"


def require_client(name: str) -> str:
    """The path of program `name`; skip the test (fail under CVG_CLIENTS_REQUIRED=1) when it is missing."""
    path = shutil.which(name)
    if path is not None:
        return path
    package = PACKAGES.get(name, name)
    reason = f"{name} absent : installez le paquet Debian « {package} » pour ce test (client réel)"
    if clients_required():
        pytest.fail(f"{reason} ; {REQUIRED_ENV}=1 exige tous les clients réels.", pytrace=False)
    pytest.skip(reason)


def libreoffice_convert(source: Path, fmt: str, out_dir: Path, *, timeout: float = 180) -> Path:
    """Convert `source` with headless LibreOffice (`pdf`, `ods`, …) into `out_dir`; return the new file.

    A private profile folder under `out_dir` keeps the run apart from any user's LibreOffice (and from other
    tests running at the same time)."""
    soffice = require_client("soffice")
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = (out_dir / "profil-libreoffice").resolve().as_uri()
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", fmt,
         "--outdir", str(out_dir), str(source)],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    target = out_dir / f"{source.stem}.{fmt}"
    if not target.exists():
        raise AssertionError(f"LibreOffice n'a pas écrit {target} (code {proc.returncode}) : {proc.stderr[-2000:]}")
    return target
