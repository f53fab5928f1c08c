"""Real clients (LibreOffice, poppler, a browser…) for the tests that check what a user actually sees.

A test calls `require_client("soffice")` and gets the program's path. When the program is missing the test is
skipped with the reason and the Debian package to install, unless the environment sets
`CVG_CLIENTS_REQUIRED=1` (a machine meant to run every real-client test, as `.ci/run` does): then it fails,
so that a missing client is never mistaken for a pass. `make clients` (root) installs them all
(`.ci/install-clients`, which lists the same packages).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

REQUIRED_ENV = "CVG_CLIENTS_REQUIRED"

# program → the Debian package that provides it (.ci/install-clients installs the same; a test checks it)
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


def libreoffice_convert(
    source: Path, fmt: str, out_dir: Path, *, timeout: float = 180, profile: Path | None = None
) -> Path:
    """Convert `source` with headless LibreOffice (`pdf`, `ods`, …) into `out_dir`; return the new file.

    A private profile folder keeps the run apart from any user's LibreOffice and from other tests running at
    the same time: `profile` (one per pytest worker, see `lo_profile` in test_real_clients), or by default a
    new one under `out_dir` (a new profile costs little: 1.5 s a conversion instead of 1.4 s, measured)."""
    soffice = require_client("soffice")
    out_dir.mkdir(parents=True, exist_ok=True)
    uri = (profile or out_dir / "profil-libreoffice").resolve().as_uri()
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={uri}", "--headless", "--convert-to", fmt,
         "--outdir", str(out_dir), str(source)],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    target = out_dir / f"{source.stem}.{fmt}"
    if not target.exists():
        raise AssertionError(f"LibreOffice n'a pas écrit {target} (code {proc.returncode}) : {proc.stderr[-2000:]}")
    return target


# --- poppler -------------------------------------------------------------------------------------------


def pdf_pages(pdf: Path) -> int:
    """The page count poppler's pdfinfo reads in `pdf`."""
    info = subprocess.run([require_client("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True)
    return int(next(line.split()[1] for line in info.stdout.splitlines() if line.startswith("Pages:")))


def pdf_text_pages(pdf: Path) -> list[str]:
    """The text of each page of `pdf` (pdftotext -raw: reading order, one form feed after each page)."""
    raw = subprocess.run([require_client("pdftotext"), "-raw", str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    pages = raw.split("\f")
    return pages[:-1] if pages and pages[-1].strip() == "" else pages


def squeeze(text: str) -> str:
    """`text` without any white space: a text wrapped over several lines compares equal to its one-line form."""
    return "".join(text.split())


def words(text: str) -> str:
    """Only the letters and digits of `text`: a text wrapped over several lines compares equal to its one-line
    form, and a symbol drawn from a fallback font (« ⚠ », which pdftotext extracts out of its line) is left
    out, while a cut word or line is not."""
    return re.sub(r"[\W_]+", "", text)


# --- Chromium ------------------------------------------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
)
# What Chromium logs for a page problem: console messages (errors, warnings, uncaught exceptions) and
# resources that failed to load.
PROBLEMS = (":CONSOLE", "Failed to load resource", "net::ERR_")


def find_chromium() -> str | None:
    """Chromium's path under one of its usual names (Debian: chromium), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def chromium() -> str:
    """Headless Chromium's path; skip the test (fail under CVG_CLIENTS_REQUIRED=1) when there is none."""
    return find_chromium() or require_client("chromium")


def run_chromium(url: str, *action: str, timeout: float = 180) -> tuple[str, list[str]]:
    """Run headless Chromium on `url` with `action` (e.g. `--dump-dom`, `--print-to-pdf=F`) in a fresh
    profile; return its standard output and the console / loading problems it logged."""
    exe = chromium()
    with tempfile.TemporaryDirectory(prefix="cvg-chromium-") as profile:
        proc = subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *action, url],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    if proc.returncode != 0:
        raise AssertionError(f"chromium a échoué (code {proc.returncode}) : {proc.stderr[-2000:]}")
    return proc.stdout, [line for line in proc.stderr.splitlines() if any(p in line for p in PROBLEMS)]


# Appended to a copy of the page: measures every outermost <svg> once the page is laid out and leaves the
# result in the DOM, which `--dump-dom` prints. `box`: the element's box on the page (CSS px); `texts`: how
# many of its <text> labels are laid out with a non-empty box, and how many it has; `shown`: not hidden.
_MEASURE = """<script>(() => {
  const charts = [...document.querySelectorAll("svg")].filter(s => !s.parentElement.closest("svg")).map(s => {
    const r = s.getBoundingClientRect(), texts = [...s.querySelectorAll("text")];
    const laid = texts.filter(t => { const b = t.getBBox(); return b.width > 0 && b.height > 0; });
    return {id: s.getAttribute("aria-labelledby") || s.id || "", box: [r.width, r.height],
            texts: [laid.length, texts.length], shown: getComputedStyle(s).visibility !== "hidden"};
  });
  const out = document.createElement("script");
  out.type = "application/json"; out.id = "cvg-mesures"; out.textContent = JSON.stringify(charts);
  document.body.appendChild(out);
})();</script>"""


def measure_charts(html: Path, work: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Open a copy of `html` (written into `work`) in headless Chromium: each chart's measures (see _MEASURE)
    and the console / loading problems logged while the page loaded."""
    text = html.read_text("utf-8")
    end = text.rfind("</body>")
    page = work / f"mesure-{html.name}"
    page.write_text(text[:end] + _MEASURE + text[end:] if end >= 0 else text + _MEASURE, "utf-8")
    dom, problems = run_chromium(page.resolve().as_uri(), "--dump-dom")
    found = re.search(r'<script type="application/json" id="cvg-mesures">(.*?)</script>', dom, re.S)
    if found is None:
        raise AssertionError(f"la mesure des graphiques n'a pas abouti dans chromium : {problems}")
    return json.loads(found.group(1)), problems


def print_to_pdf(html: Path, pdf: Path, *, header_footer: bool) -> list[str]:
    """Print `html` to `pdf` (A4 unless the page's CSS says otherwise) with headless Chromium; with
    `header_footer` Chromium adds its own header (date, title) and footer (address, « n/N »), as the print
    dialog does by default. Return the console / loading problems."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    flags = [f"--print-to-pdf={pdf.resolve()}"] + ([] if header_footer else ["--no-pdf-header-footer"])
    _, problems = run_chromium(html.resolve().as_uri(), *flags)
    if not pdf.exists():
        raise AssertionError(f"chromium n'a pas écrit {pdf}")
    return problems
