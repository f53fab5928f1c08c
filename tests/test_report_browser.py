"""The HTML report in a real browser: headless Chromium renders it to PNG with no console message.

Skipped, with the reason, when Chromium is not installed (Debian: `apt-get install -y chromium`), failed
instead under CVG_CLIENTS_REQUIRED=1 (tests/clients.py::require_client). The reports of the examples and of a
70-ACI network are checked in Chromium and printed to PDF by tests/test_real_clients.py.
`make captures` runs this module as a script to write full-page PNG captures of the golden reports
(tests/golden/exemples: the demo reports; tests/golden/echantillon: the sample) and of the reports
`make demo` wrote in demo/rapports/, if any:

    python -m tests.test_report_browser captures/
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import cast

from tests.clients import CHROMIUM_FLAGS, PROBLEMS, chromium, find_chromium

HERE = Path(__file__).parent

FULL_PAGE = (1200, 16000)  # tall enough for a whole report; trim() cuts the blank bottom


def capture(html: Path, png: Path, size: tuple[int, int] = (1200, 3000)) -> list[str]:
    """Render `html` to `png` with headless Chromium; return the console / loading problems it logged."""
    exe = chromium()
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cvg-chromium-") as profile:
        proc = subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png.resolve()}",
             f"--window-size={size[0]},{size[1]}", html.resolve().as_uri()],
            capture_output=True, text=True, timeout=180, check=False,
        )
    if not png.exists():
        raise RuntimeError(f"chromium n'a pas écrit {png} (code {proc.returncode}) : {proc.stderr[-2000:]}")
    return [line for line in proc.stderr.splitlines() if any(p in line for p in PROBLEMS)]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_renders_in_chromium_without_console_error(tmp_path: Path) -> None:
    """The sample national report renders to a non-blank PNG with no console message. Skipped without
    Chromium, failed under CVG_CLIENTS_REQUIRED=1 (was skipped even then before this module used
    require_client)."""
    from cvg_pipeline.indicators.compute import Indicators
    from cvg_pipeline.report.build import render_report
    from cvg_pipeline.schema.load import load_schema

    ind = cast(Indicators, json.loads((HERE / "data" / "indicateurs-national-2023.json").read_text("utf-8")))
    (html,) = render_report(ind, load_schema(), formats=("html",), out_dir=tmp_path)
    png = tmp_path / "rapport.png"
    problems = capture(html, png)
    assert problems == []
    assert png_size(png) == (1200, 3000)
    assert png.stat().st_size > 50_000  # a rendered page, not a blank one


def test_console_errors_are_detected(tmp_path: Path) -> None:
    """The check above can fail: a page that logs an error is reported."""
    page = tmp_path / "erreur.html"
    page.write_text('<!DOCTYPE html><html lang="fr"><title>x</title><script>console.error("panne")</script>')
    problems = capture(page, tmp_path / "erreur.png", (400, 300))
    assert any("panne" in line for line in problems)


def trim(png: Path, margin: int = 24) -> None:
    """Cut the blank bottom of a capture taken with a tall window (the page is shorter than the window)."""
    from PIL import Image, ImageChops

    with Image.open(png) as image:
        rgb = image.convert("RGB")
    box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, (255, 255, 255))).getbbox()
    if box is not None and box[3] + margin < rgb.height:
        rgb.crop((0, 0, rgb.width, box[3] + margin)).save(png)


def main(argv: list[str]) -> int:
    """Capture the golden HTML reports and demo/rapports/*.html, full page, into the folder given
    (default: captures/); exit 1 on a console error."""
    out = Path(argv[0]) if argv else Path("captures")
    if find_chromium() is None:
        print("chromium absent : installez le paquet Debian « chromium » (apt-get install -y chromium).")
        return 1
    pages = [(f"golden-{p.parent.name}-{p.stem}", p) for p in sorted((HERE / "golden").rglob("*.html"))]
    pages += [(f"demo-{p.stem}", p) for p in sorted((HERE.parent / "demo" / "rapports").glob("*.html"))]
    failed = False
    for name, html in pages:
        png = out / f"{name}.png"
        problems = capture(html, png, FULL_PAGE)
        trim(png)
        print(png)
        for line in problems:
            print(f"  erreur de console : {line}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
