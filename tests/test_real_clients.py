"""What users see, checked with the real clients they use: headless Chromium for the HTML reports, LibreOffice
for the workbooks the ACI open and fill, poppler (pdfinfo, pdftotext) to read the printed pages.

Each test runs on files the project writes: from the examples (examples/aci, examples/historique,
examples/erreurs) and from a 70-ACI network made by `examples/generate.py --aci 70` (about 6,000 parcours),
ingested with the command line. A missing client skips the test with its reason, and fails it under
CVG_CLIENTS_REQUIRED=1 (tests/clients.py::require_client; `.ci/run` installs the clients and sets it).

The template converted by LibreOffice (≤ 6 pages, « Mode d'emploi » printed whole, no overlapping words) is
checked in tests/test_template.py::test_libreoffice_prints_the_template_readably and not repeated here; the
PDF of `cvg report --format pdf` read by poppler in tests/test_report_pdf.py::test_poppler_reads_the_pdf_like_the_html.

Chromium is driven by its command line only, with no dependency and no debugging protocol: a copy of the
report with a small measuring script appended is opened with `--dump-dom`, which prints the DOM once the page
has loaded, with the measures the script left in it (tests/clients.py::measure_charts); console messages and
failed loads are read from Chromium's log (`--enable-logging=stderr`); `--print-to-pdf` prints, poppler reads.

Work is shared: the network and the example store are made once per test run (a file lock lets the first
pytest-xdist worker build them, the others reuse them), LibreOffice uses one profile per worker.
"""

from __future__ import annotations

import html as htmllib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests import clients, inprocess
from tests.clients import (
    libreoffice_convert,
    measure_charts,
    pdf_pages,
    pdf_text_pages,
    print_to_pdf,
    require_client,
    squeeze,
    words,
)
from tests.networks import once

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ANNEE = "2023"

# Printed reports (A4, Chromium 156, measured 2026-12-03, 70 ACI): v1 report national 21 pages, lyon 17; the same
# content with the print stylesheet of issue 15 point 5, 19 and 16; the v2 report (a CVG part, a PHC part as
# complete, annexes) 28 and 25. The bounds catch a print that lost its parts or charts (fewer pages) or one that
# blew up (a table or chart per page, or a page shrunk: see test_printed_report_is_not_shrunk_to_fit).
REPORT_PAGES = range(8, 36)
# A 10-row error workbook on paper (issue 20, point 11).
ERROR_WORKBOOK_MAX_PAGES = 4


def cvg(*args: str | Path, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    """`cvg ARGS` through cli.main in this process (tests/inprocess.py): the clients are the real ones here,
    not the process that wrote the files."""
    proc = inprocess.run(*args)
    assert proc.returncode in ok, (args, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


# --- Shared products: made once per run -------------------------------------------------------------------


@dataclass(frozen=True)
class Products:
    store: Path
    reports: dict[str, Path]  # "national" / "lyon" → the HTML report


def reports_of(store: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Products:
    """The national and lyon HTML reports of `store`, written once per run into a folder shared by the workers."""
    with once(tmp_path_factory, name) as (folder, build):
        if build:
            for scope in (["--national"], ["--territoire", "lyon"]):
                cvg("report", "--store", store, *scope, "--annee", ANNEE, "--format", "html", "--sortie", folder)
    reports = {"national": folder / f"rapport-national-{ANNEE}.html", "lyon": folder / f"rapport-lyon-{ANNEE}.html"}
    assert all(p.exists() for p in reports.values()), sorted(folder.iterdir())
    return Products(store, reports)


@pytest.fixture(scope="session")
def exemples(tmp_path_factory: pytest.TempPathFactory, examples_store: Path) -> Products:
    """The examples ingested (the valid workbooks and the history: tests/networks.py) and their national and
    lyon reports."""
    return reports_of(examples_store, tmp_path_factory, "exemples-rapports")


@pytest.fixture(scope="session")
def reseau70(tmp_path_factory: pytest.TempPathFactory, network70: Path) -> Products:
    """The 70-ACI network (examples/generate.py --aci 70, ingested once per run: tests/networks.py) and its
    national and lyon reports."""
    return reports_of(network70, tmp_path_factory, "reseau-70-rapports")


@pytest.fixture(scope="session")
def lo_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One LibreOffice profile per worker (each worker runs one LibreOffice at a time)."""
    return tmp_path_factory.mktemp("profil-libreoffice")


@pytest.fixture(scope="session")
def error_workbooks(tmp_path_factory: pytest.TempPathFactory, lo_profile: Path) -> dict[str, tuple[Path, Path]]:
    """The error workbooks `cvg verifier` writes for the three refused examples (10 rows each), and their PDF
    by LibreOffice (one LibreOffice run for the three): name → (workbook, pdf)."""
    soffice = require_client("soffice")
    require_client("pdfinfo")
    require_client("pdftotext")
    with once(tmp_path_factory, "classeurs-erreurs") as (folder, build):
        if build:
            cvg("verifier", "--erreurs", folder, EXAMPLES / "erreurs", ok=(1,))
            books = sorted(folder.glob("*.xlsx"))
            subprocess.run([soffice, f"-env:UserInstallation={lo_profile.as_uri()}", "--headless",
                            "--convert-to", "pdf", "--outdir", str(folder), *map(str, books)],
                           capture_output=True, timeout=600, check=True)
    books = sorted(folder.glob("*.xlsx"))
    assert len(books) == len(list((EXAMPLES / "erreurs").glob("*.xlsx")))
    return {b.stem: (b, b.with_suffix(".pdf")) for b in books}


REPORTS = [pytest.param(src, scope, id=f"{src}-{scope}")
           for src in ("exemples", "reseau70") for scope in ("national", "lyon")]


def report_of(request: pytest.FixtureRequest, src: str, scope: str) -> Path:
    """The report of `src` for `scope`, made once Chromium and poppler are known to be there."""
    clients.chromium()
    require_client("pdfinfo")
    require_client("pdftotext")
    made: Products = request.getfixturevalue(src)
    return made.reports[scope]


def svg_texts(html: str) -> list[list[str]]:
    """The text labels of each outermost <svg> of a page, in order."""
    return [[htmllib.unescape(re.sub(r"<[^>]+>", "", t)).strip() for t in re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.S)]
            for svg in re.findall(r"<svg\b.*?</svg>", html, re.S)]


def captions(html: str) -> list[str]:
    return [htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<figcaption\b[^>]*>(.*?)</figcaption>", html, re.S)]


def page_number_on(text: str, page: int, pages: int) -> bool:
    """Whether a page's text carries its number: « 3/21 », « 3 / 21 », « 3 sur 21 » or « Page 3 »."""
    return re.search(rf"(?<!\d){page}\s*(/|sur)\s*{pages}(?!\d)|\bpage\s+{page}(?!\d)", text, re.I) is not None


# --- The HTML reports in Chromium -------------------------------------------------------------------------


@pytest.mark.parametrize(("src", "scope"), REPORTS)
def test_report_charts_render_in_chromium(request: pytest.FixtureRequest, src: str, scope: str, tmp_path: Path) -> None:
    """Real client: the report opens in headless Chromium with no console message and no failed load, and every
    chart (each outermost <svg> of the page) is laid out visible with a box at least 200 × 40 CSS px and every
    one of its text labels drawn with a non-empty box. The checker is shown to catch a collapsed chart by
    test_chart_measure_catches_a_collapsed_chart."""
    html = report_of(request, src, scope)
    charts, problems = measure_charts(html, tmp_path)
    assert problems == []
    assert len(charts) == len(re.findall(r"<svg\b", html.read_text("utf-8"))) > 0
    bad = [c for c in charts if not (c["shown"] and c["box"][0] >= 200 and c["box"][1] >= 40
                                     and c["texts"][1] > 0 and c["texts"][0] == c["texts"][1])]
    assert bad == []


@pytest.mark.parametrize(("src", "scope"), REPORTS)
def test_report_prints_in_chromium(request: pytest.FixtureRequest, src: str, scope: str, tmp_path: Path) -> None:
    """Real client: the report printed by headless Chromium as its print dialog does by default (A4, Chromium's
    header and footer): a page count in REPORT_PAGES, every page numbered (Chromium's footer « n/N » needs
    the report's @page margins; the report's own numbering is test_report_numbers_its_own_pages), and every
    chart printed: each label of each chart's SVG and each caption is in the PDF's text."""
    html = report_of(request, src, scope)
    pdf = tmp_path / "rapport.pdf"
    assert print_to_pdf(html, pdf, header_footer=True) == []
    pages = pdf_text_pages(pdf)
    assert len(pages) == pdf_pages(pdf)
    assert len(pages) in REPORT_PAGES
    assert [k for k, text in enumerate(pages, 1) if not page_number_on(text, k, len(pages))] == []
    printed = squeeze("".join(pages))
    source = html.read_text("utf-8")
    missing = [t for labels in svg_texts(source) for t in labels if squeeze(t) not in printed]
    missing += [c for c in captions(source) if squeeze(c) not in printed]
    assert missing == []


def test_report_numbers_its_own_pages(request: pytest.FixtureRequest) -> None:
    """Real client: printed without Chromium's header and footer (--no-pdf-header-footer, as a reader who
    unticks them, or a PDF made for the comité), every page of the national report still carries its number
    (« n/N », « n sur N » or « Page n »), from the report's own print stylesheet, and every page but the first
    its running header (the report's title). Fails on main at f59fd3a (no page number in the stylesheet):
    issue 15 point 5."""
    pdf, _ = printed_bare(request, "national")
    pages = pdf_text_pages(pdf)
    assert [k for k, text in enumerate(pages, 1) if not page_number_on(text, k, len(pages))] == []
    titre = squeeze(htmllib.unescape(re.search(r"<title>(.*?)</title>",
                                               report_of(request, "reseau70", "national").read_text("utf-8")).group(1)))
    assert [k for k, text in enumerate(pages[1:], 2) if titre not in squeeze(text)] == []


# A4 in PostScript points and the report's print margins (templates/report.html.j2: @page margin 16 mm 13 mm 15 mm).
A4_HEIGHT, MARGIN_TOP, MARGIN_BOTTOM = 841.92, 16 / 25.4 * 72, 15 / 25.4 * 72


Words = list[list[tuple[float, float, str]]]  # each printed page's words as (top, bottom, text)


def pdf_words(pdf: Path) -> Words:
    """Each page's words as (top, bottom, text), in poppler's reading order (pdftotext -bbox)."""
    xml = subprocess.run([require_client("pdftotext"), "-bbox", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    return [[(float(y0), float(y1), htmllib.unescape(w)) for y0, y1, w in
             re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">(.*?)</word>', page)]
            for page in re.findall(r"<page\b.*?</page>", xml, re.S)]


@dataclass
class BarePrints:
    """The 70-ACI network's reports printed without Chromium's header and footer, once per module (the tests
    below only read them): scope → (the PDF, its words)."""

    folder: Path
    made: dict[str, tuple[Path, Words]]


@pytest.fixture(scope="module")
def bare_prints(tmp_path_factory: pytest.TempPathFactory) -> BarePrints:
    return BarePrints(tmp_path_factory.mktemp("impressions"), {})


def printed_bare(request: pytest.FixtureRequest, scope: str) -> tuple[Path, Words]:
    """The 70-ACI network's report for `scope` printed by Chromium without its header and footer (the first
    test that asks prints it, the others read the same PDF): the PDF and the words of each printed page."""
    prints: BarePrints = request.getfixturevalue("bare_prints")
    if scope not in prints.made:
        html = report_of(request, "reseau70", scope)
        pdf = prints.folder / f"{scope}.pdf"
        assert print_to_pdf(html, pdf, header_footer=False) == []
        prints.made[scope] = (pdf, pdf_words(pdf))
    return prints.made[scope]


def printed(request: pytest.FixtureRequest, scope: str) -> tuple[str, Words]:
    """The 70-ACI network's report for `scope` (its HTML) printed by Chromium without its header and footer:
    the HTML text and the words of each printed page."""
    return report_of(request, "reseau70", scope).read_text("utf-8"), printed_bare(request, scope)[1]


@pytest.mark.parametrize("scope", ["national", "lyon"])
def test_printed_report_has_no_page_under_a_third_full(request: pytest.FixtureRequest, scope: str) -> None:
    """Real client: on the printed report (A4, Chromium), every page but the last has text below the first third
    of its body (the running header and the page number sit in the margins and are not counted). Fails on main
    at e48a71e: parts start a new page whatever the page before holds (the PHC part, the footer alone)."""
    _, pages = printed(request, scope)
    third = MARGIN_TOP + (A4_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM) / 3
    lowest = [max((y1 for y0, y1, _ in words if y0 >= MARGIN_TOP and y1 <= A4_HEIGHT - MARGIN_BOTTOM), default=0.0)
              for words in pages]
    assert [k for k, y in enumerate(lowest[:-1], 1) if y < third] == []


@pytest.mark.parametrize("scope", ["national", "lyon"])
def test_printed_report_is_not_shrunk_to_fit(request: pytest.FixtureRequest, scope: str) -> None:
    """Real client: the printed report keeps its type size: the median height of the body's words is at least
    8.8 pt (text at 9-10 pt measures 9.3-10.5; 11 before issue 15). An element wider than the page (a table of
    many columns whose numbers do not wrap, a table beside a chart) makes Chromium shrink EVERY page to fit it:
    7.1-8.2 pt, measured on this branch at c65bf1c, where the national annex table of nine columns did so."""
    _, pages = printed(request, scope)
    heights = [y1 - y0 for words in pages for y0, y1, _ in words if y0 >= MARGIN_TOP and y1 <= A4_HEIGHT - MARGIN_BOTTOM]
    assert statistics.median(heights) >= 8.8


@pytest.mark.parametrize("scope", ["national", "lyon"])
def test_printed_figures_have_their_title_above_and_their_table_on_the_same_page(
        request: pytest.FixtureRequest, scope: str) -> None:
    """Real client: on the printed report, each figure's title is on the page of its chart and above it (the chart's
    longest label comes after the title in reading order), and the first table that goes with the chart
    starts on that page too. Fails on main at e48a71e: the title was a caption below the chart, and charts
    printed on another page than their table."""
    source, pages = printed(request, scope)
    texts = [squeeze(" ".join(w for _, _, w in words)) for words in pages]
    blocs = [(m.group(1), m.group(2), m.group(3)) for chunk in source.split('<div class="bloc avec-graphique')[1:]
             if (m := re.search(r"<figure>\s*<figcaption>(.*?)</figcaption>.*?(<svg\b.*?</svg>).*?"
                                r"<div class=\"tableau[^\"]*\">\s*<table>\s*<caption>(.*?)</caption>", chunk, re.S))]
    assert len(blocs) == source.count("<figure>") > 5
    bad = []
    for caption, svg, table in blocs:
        title = squeeze(htmllib.unescape(re.sub(r"<[^>]+>", "", caption)))
        labels = sorted((squeeze(t) for t in svg_texts(svg)[0]), key=len)[-1:]  # its longest label
        where = [k for k, text in enumerate(texts) if title in text]
        if not where:
            bad.append((title, "titre absent"))
            continue
        text = texts[where[0]]
        if not labels or text.find(labels[0], text.index(title)) < 0:
            bad.append((title, "graphique pas sous son titre sur la même page"))
        if squeeze(htmllib.unescape(table)) not in text[text.index(title):]:
            bad.append((title, "tableau sur une autre page"))
    assert bad == []


def test_table_of_contents_lists_the_parts_and_sections(request: pytest.FixtureRequest) -> None:
    """The HTML report opens with a table of contents whose entries are, in order, the key figures and every part
    and section heading of the report, each a link to its heading; printed, the first page holds every part's
    entry. Fails on main at e48a71e: no table of contents."""
    source, pages = printed(request, "national")
    nav = re.search(r'<nav class="sommaire"[^>]*>(.*?)</nav>', source, re.S)
    assert nav is not None
    entries = re.findall(r'<a href="#([^"]+)">(.*?)</a>', nav.group(1))
    headings = [(m[0] or m[2], m[1] or m[3]) for m in re.findall(
        r'<h2 id="([^"]+)">(.*?)</h2>|<section class="section" id="([^"]+)">\s*<h3>(.*?)</h3>', source)]
    assert len(headings) > 10
    assert [(target, htmllib.unescape(text)) for target, text in entries] == [
        (target, htmllib.unescape(text)) for target, text in headings]
    first = squeeze(" ".join(w for _, _, w in pages[0]))
    parts = [htmllib.unescape(text) for target, text in headings if target.startswith("titre-")]
    assert parts and all(squeeze(p) in first for p in parts)


def test_chart_measure_catches_a_collapsed_chart(tmp_path: Path) -> None:
    """The chart check can fail: in a page whose second chart is collapsed to zero height and whose third has
    an empty label, the measure says so (and a console error is reported, as test_console_errors_are_detected
    shows for the PNG capture)."""
    svg = '<svg width="300" height="{h}" viewBox="0 0 300 60"><text x="5" y="20">{t}</text></svg>'
    page = tmp_path / "page.html"
    page.write_text('<!DOCTYPE html><html lang="fr"><title>x</title><body>' + svg.format(h=60, t="bon")
                    + svg.format(h=0, t="écrasé") + svg.format(h=60, t="") + '<script>console.error("panne")</script>'
                    + "</body></html>", "utf-8")
    charts, problems = measure_charts(page, tmp_path)
    assert [(c["box"][1], c["texts"]) for c in charts] == [(60, [1, 1]), (0, [1, 1]), (60, [0, 1])]
    assert any("panne" in line for line in problems)


@pytest.mark.parametrize(("text", "expected"), [
    ("Rapport\n…\nfile:///x.html 3/21", True), ("3 / 21", True), ("Page 3", True), ("page 3 sur 21", True),
    ("13/21", False), ("3/210", False), ("Page 33", False), ("2023", False), ("", False),
])
def test_page_number_forms(text: str, expected: bool) -> None:
    assert page_number_on(text, 3, 21) is expected


# --- The error workbook in LibreOffice --------------------------------------------------------------------


def test_error_workbook_prints_on_few_pages(error_workbooks: dict[str, tuple[Path, Path]]) -> None:
    """Real client: each error workbook of a 10-row refused example (`cvg verifier --erreurs`), converted to PDF by
    LibreOffice, prints on at most ERROR_WORKBOOK_MAX_PAGES A4 pages (3 to 4 at 9f0f685). Fails on main
    before 9f0f685: 24 pages each (the copied Salariés sheet spread column by column)."""
    pages = {name: pdf_pages(pdf) for name, (_, pdf) in error_workbooks.items()}
    assert {name: n for name, n in pages.items() if n > ERROR_WORKBOOK_MAX_PAGES} == {}


def test_error_workbook_prints_its_messages_whole(error_workbooks: dict[str, tuple[Path, Path]]) -> None:
    """Real client: every text of the « Erreurs » sheet (the guide paragraphs and each error message, up to ~900
    characters) is in the text of the PDF LibreOffice prints, in one piece (its letters and digits in order:
    tests/clients.py::words). Fails on main before 9f0f685: the
    guide paragraphs and the long messages are cut at the cell's edge (3 to 5 texts per workbook)."""
    from openpyxl import load_workbook

    missing: dict[str, list[str]] = {}
    for name, (book, pdf) in error_workbooks.items():
        ws = load_workbook(book)["Erreurs"]
        texts = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
        assert texts
        printed = words("".join(pdf_text_pages(pdf)))
        cut = [t[:60] for t in texts if words(t) not in printed]
        if cut:
            missing[name] = cut
    assert missing == {}


# --- A workbook filled as an ACI would, saved by LibreOffice ----------------------------------------------


def typed(value: Any, row: int) -> Any:
    """A value as a user types it: dates as « 31/12/2023 » text on every other row (a cell formatted as text,
    or an office suite that did not recognise the date), a true date on the others; the rest as it is."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date) and row % 2 == 0:
        return value.strftime("%d/%m/%Y")
    return value


@pytest.fixture(scope="session")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[tuple[Any, ...]]]:
    """The blank template (`cvg template`) filled with openpyxl as an ACI types it — the Structure of the lyon
    example and its first 10 Salariés rows (accents, « Oui », text and true dates) — then ingested into a new
    store: (the filled workbook, an empty store to copy, the stored rows of the filled workbook)."""
    from openpyxl import load_workbook

    require_client("soffice")
    folder = tmp_path_factory.mktemp("rempli")
    book = folder / "atelier-des-pentes.xlsx"
    cvg("template", "--sortie", book)
    source = load_workbook(EXAMPLES / "aci" / "lyon-atelier-des-pentes.xlsx")
    wb = load_workbook(book)
    st_src, st = source["Structure"], wb["Structure"]
    fields = {row[0].value: row[1].value for row in st_src.iter_rows(min_row=2) if row[0].value}
    for row in st.iter_rows(min_row=2):
        if row[0].value in fields:
            row[1].value = typed(fields[row[0].value], 0)
    ws_src, ws = source["Salariés"], wb["Salariés"]
    header_src = [c.value for c in ws_src[1]]
    header = [c.value for c in ws[1]]
    for r, values in enumerate(ws_src.iter_rows(min_row=2, max_row=11, values_only=True), start=2):
        for label, value in zip(header_src, values, strict=True):
            if label in header and value is not None:
                ws.cell(row=r, column=header.index(label) + 1, value=typed(value, r))
    wb.save(book)
    empty = folder / "vide.duckdb"
    cvg("init", "--store", empty)
    rows = stored_rows(ingest_copy(empty, folder / "reference.duckdb", book))
    assert len(rows) == 10
    return book, empty, rows


def ingest_copy(empty: Path, store: Path, book: Path) -> Path:
    """Ingest `book` into a copy of the empty store `empty` (same pseudonymisation key)."""
    shutil.copy2(empty, store)
    cvg("ingest", "--store", store, "--erreurs", store.parent / "erreurs", book)
    return store


def stored_rows(store: Path) -> list[tuple[Any, ...]]:
    """Every stored parcours with its ACI and snapshot facts, without the ids that differ between stores."""
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        names = [r[0] for r in con.execute("DESCRIBE parcours").fetchall() if r[0] != "snapshot_id"]
        cols = ", ".join(f"p.{n}" for n in names)
        return con.execute(
            f"SELECT s.date_arrete, s.nb_lignes, s.nom, s.territoire, s.supports, {cols} "
            "FROM parcours p JOIN snapshots s USING (snapshot_id) ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_filled_template_saved_by_libreoffice_is_accepted(
    filled: tuple[Path, Path, list[tuple[Any, ...]]], fmt: str, lo_profile: Path, tmp_path: Path
) -> None:
    """Real client: the template filled as an ACI would, saved by LibreOffice as .xlsx, .xls and .ods, is
    accepted by `cvg verifier` (valid, 10 rows, no warning) and, ingested into a copy of the same empty store,
    gives exactly the stored rows of the workbook it came from (every parcours column, the ACI's name,
    territoire and supports, the Date d'arrêté)."""
    book, empty, expected = filled
    saved = libreoffice_convert(book, fmt, tmp_path / "libreoffice", profile=lo_profile)
    result = json.loads(cvg("verifier", "--json", "--erreurs", tmp_path / "erreurs", saved).stdout)
    (fichier,) = result["fichiers"]
    assert (fichier["statut"], fichier["lignes"], fichier["erreurs"], fichier["avertissements"]) == ("valide", 10, 0, 0), fichier
    assert stored_rows(ingest_copy(empty, tmp_path / "cvg.duckdb", saved)) == expected


# --- Required clients -------------------------------------------------------------------------------------


@pytest.mark.parametrize("required", [False, True])
def test_require_client_skips_or_fails_naming_the_package(monkeypatch: pytest.MonkeyPatch, required: bool) -> None:
    """A missing client skips with the program and its Debian package named, or fails under
    CVG_CLIENTS_REQUIRED=1 with the same words."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv(clients.REQUIRED_ENV, "1" if required else "0")
    outcome = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(outcome) as caught:
        require_client("soffice")
    assert "soffice absent" in str(caught.value) and "« libreoffice-calc »" in str(caught.value)
    with pytest.raises(outcome, match="« chromium »"):
        clients.chromium()


def test_browser_test_fails_when_chromium_is_required_and_missing(tmp_path: Path) -> None:
    """`CVG_CLIENTS_REQUIRED=1` on a machine without Chromium (a PATH without it): the browser test fails and
    says what to install, instead of being skipped. Fails on main at f59fd3a: test_report_browser used its own
    skipif, so the run passed with « 2 skipped »."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-rfs",
         str(ROOT / "tests" / "test_report_browser.py")],
        cwd=ROOT, env={**os.environ, "PATH": str(tmp_path), clients.REQUIRED_ENV: "1"},
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "chromium absent : installez le paquet Debian « chromium »" in proc.stdout
    assert re.search(r"\b2 failed\b", proc.stdout) and not re.search(r"\d+ skipped", proc.stdout)


def test_ci_installs_every_client() -> None:
    """`.ci/install-clients` (run by .ci/run and `make clients`) checks for every program of
    tests/clients.py::PACKAGES and installs its package."""
    script = (ROOT / ".ci" / "install-clients").read_text("utf-8")
    listed = dict(re.findall(r"\[([a-z]+)\]=([a-z-]+)", script))
    assert listed == clients.PACKAGES
