"""The HTML report in a real browser: headless Chromium renders it to PNG with no console message.

Skipped, with the reason, when Chromium is not installed (Debian: `apt-get install -y chromium`), failed
instead under CVG_CLIENTS_REQUIRED=1 (tests/clients.py::require_client). The reports of the examples and of a
70-ACI network are checked in Chromium and printed to PDF by tests/test_real_clients.py.
`make captures` runs this module as a script to write full-page PNG captures of the golden reports
(tests/golden/exemples: the demo reports; tests/golden/echantillon: the sample) and of the reports
`make demo` wrote in demo/rapports/, if any, then prints the national and lyon reports of a 70-ACI network
(`examples/generate.py --aci 70`, ingested into a store of its own) as A4 PDF with headless Chromium (the HTML,
as a reader prints it) and with `cvg report --format pdf` (Typst), and writes every page as a PNG
(pdftoppm -r 50) and one contact sheet per PDF, to look at every page:

    python -m tests.test_report_browser captures/            # + --sans-reseau: skip the 70-ACI network
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

    chromium()  # skipped (or failed) before the report is rendered, not after
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


def contact_sheet(pngs: list[Path], sheet: Path, columns: int = 6) -> None:
    """The pages side by side, `columns` a row, each under its file name (to look at a whole report at once)."""
    from PIL import Image, ImageDraw

    images = [Image.open(p).convert("RGB") for p in pngs]
    w, h = max(i.width for i in images), max(i.height for i in images)
    rows = -(-len(images) // columns)
    out = Image.new("RGB", (min(columns, len(images)) * (w + 8), rows * (h + 20)), "#777777")
    draw = ImageDraw.Draw(out)
    for k, (png, image) in enumerate(zip(pngs, images, strict=True)):
        x, y = (k % columns) * (w + 8), (k // columns) * (h + 20)
        out.paste(image, (x, y + 16))
        draw.text((x + 2, y + 2), png.name, fill="white")
    out.save(sheet)


def print_network(out: Path) -> list[str]:
    """The 70-ACI network's national and lyon reports (HTML printed by Chromium, and the Typst PDF), each page
    a PNG, and a contact sheet per PDF; return the PDFs' page counts as lines to print."""
    from tests.clients import pdf_pages, print_to_pdf, require_client

    work = out / "reseau-70"
    work.mkdir(parents=True, exist_ok=True)
    books, store = work / "classeurs", work / "cvg.duckdb"
    cvg = [sys.executable, "-m", "cvg_pipeline"]
    if not store.exists():
        subprocess.run([sys.executable, str(HERE.parent / "examples" / "generate.py"), "--aci", "70", "--sortie",
                        str(books)], check=True, capture_output=True)
        subprocess.run([*cvg, "init", "--store", str(store)], check=True, capture_output=True)
        subprocess.run([*cvg, "ingest", "--store", str(store), "--erreurs", str(work / "erreurs"), str(books)],
                       check=True, capture_output=True)
    lines = []
    for scope in (["--national"], ["--territoire", "lyon"]):
        subprocess.run([*cvg, "report", "--store", str(store), *scope, "--annee", "2023", "--format", "html,pdf",
                        "--sortie", str(work), "--ecraser"], check=True, capture_output=True)
        name = f"rapport-{scope[-1].lstrip('-')}-2023"
        pdfs = {"chromium": work / f"{name}-chromium.pdf", "typst": work / f"{name}.pdf"}
        problems = print_to_pdf(work / f"{name}.html", pdfs["chromium"], header_footer=False)
        lines += [f"  erreur de console : {line}" for line in problems]
        for engine, pdf in pdfs.items():
            for old in out.glob(f"{name}-{engine}-*.png"):
                old.unlink()
            subprocess.run([require_client("pdftoppm"), "-r", "50", "-png", str(pdf), str(out / f"{name}-{engine}")],
                           check=True)
            pngs = sorted(out.glob(f"{name}-{engine}-*.png"))
            contact_sheet(pngs, out / f"planche-{name}-{engine}.png")
            lines.append(f"{pdf} : {pdf_pages(pdf)} pages ({engine}), planche-{name}-{engine}.png")
    return lines


def main(argv: list[str]) -> int:
    """Capture the golden HTML reports and demo/rapports/*.html, full page, into the folder given
    (default: captures/), then the 70-ACI network's printed reports (not with --sans-reseau); exit 1 on a
    console error."""
    network = "--sans-reseau" not in argv
    argv = [a for a in argv if a != "--sans-reseau"]
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
    if network:
        for line in print_network(out):
            print(line)
            failed = failed or "erreur de console" in line
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
