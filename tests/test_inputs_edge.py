"""Whatever the file or the folder, nothing is left out silently and nothing hangs (issue 17, points 3, 4, 5, 6,
7, 9, 11, 12, 15): real files, folders, FIFOs, symlinks, names and time zones, and `cvg` run as a real process
where the point is about the command (a hang fails the test through the subprocess timeout).

Each test's docstring names the defect it guards against; each failed on main before the commit that fixed it.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cvg_pipeline.check.errors import CvgError
from cvg_pipeline.ingest import run as ig
from cvg_pipeline.schema.load import load_schema
from tests import hostile
from tests.builders import SIRET, SIRET_2, make_siret, open_row, structure, valid_row, write_workbook

SCHEMA = load_schema()
TODAY = date(2024, 6, 1)
TIMEOUT = 180  # a run that hangs fails the test (a FIFO, /dev/zero): no timing is asserted


def cvg(args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """`cvg args` as a real process in its own session (after `prefix`, e.g. to change user); a run still
    going after TIMEOUT fails the test."""
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "cvg_pipeline", *args], cwd=cwd, env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"cvg {' '.join(args)} still running after {TIMEOUT} s: it hangs")
    text_out, text_err = out.decode("utf-8"), err.decode("utf-8")  # never anything but UTF-8
    assert "Traceback" not in text_out + text_err, text_err
    return subprocess.CompletedProcess(proc.args, proc.returncode, text_out, text_err)


def aci(path: Path, siret: str = SIRET, rows: list[dict[str, Any]] | None = None, **fields: Any) -> Path:
    return write_workbook(path, rows=rows if rows is not None else [valid_row(), open_row(**{"Identifiant salarié": "B2"})],
                          structure_fields=structure(SIRET=siret, **fields))


def bad_aci(path: Path, siret: str = SIRET) -> Path:
    return aci(path, siret, rows=[valid_row(**{"Date de sortie": "31/02/2023"})])


def ingest(paths: list[Path], store: Path) -> ig.IngestResult:
    if not store.exists():
        from cvg_pipeline.store.db import create_store

        create_store(store, SCHEMA)
    return ig.ingest_paths(paths, store, schema=SCHEMA, today=TODAY)


def by_name(result: ig.IngestResult | list[ig.FileResult]) -> dict[str, ig.FileResult]:
    files = result.files if isinstance(result, ig.IngestResult) else result
    return {f.fichier: f for f in files}


# -- point 3: spreadsheet-like files in a folder --------------------------------------------------------------


def xlsb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                    'package/2006/content-types"/>')
        zf.writestr("xl/workbook.bin", bytes(range(256)) * 4)
        zf.writestr("xl/worksheets/sheet1.bin", bytes(1000))
    return path


def numbers(path: Path) -> Path:
    """What Numbers writes since 2013: IWA (protobuf) parts, and XML property lists that carry a DTD (the
    document's name in its preview: two documents never have the same bytes)."""
    plist = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
             b'"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0"><dict/></plist>\n')
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Index/Document.iwa", bytes(range(200)) * 10)
        zf.writestr("Metadata/Properties.plist", plist)
        zf.writestr("Metadata/BuildVersionHistory.plist", plist)
        zf.writestr("preview.jpg", b"\xff\xd8\xff\xe0" + bytes(100) + path.name.encode())
    return path


def fods(path: Path) -> Path:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<office:document xmlns:office="urn:oasis:names:tc:opendocument:'
        'xmlns:office:1.0" office:mimetype="application/vnd.oasis.opendocument.spreadsheet"><office:body>'
        "<office:spreadsheet/></office:body></office:document>\n", encoding="utf-8")
    return path


def csv(path: Path) -> Path:
    path.write_text("Identifiant salarié;Sexe;Date d'entrée\nA1;Femme;01/02/2022\n", encoding="utf-8")
    return path


def html_xls(path: Path) -> Path:
    path.write_text('<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8"></head>'
                    "<body><table><tr><td>Identifiant salarié</td></tr><tr><td>A1</td></tr></table></body></html>",
                    encoding="utf-8")
    return path


SPREADSHEET_LIKE: dict[str, tuple[str, Callable[[Path], Path], str, str]] = {
    # kind: file name, builder, the format named, what to do
    "xlsb": ("aci.xlsb", xlsb, "classeur Excel binaire (.xlsb)", "enregistrez le fichier au format .xlsx"),
    "numbers": ("aci.numbers", numbers, "document Apple Numbers", "exportez-le au format Excel"),
    "fods": ("aci.fods", fods, "classeur OpenDocument « à plat » (.fods)", "enregistrez le fichier au format .xlsx"),
    "csv": ("aci.csv", csv, "fichier texte (CSV", "enregistrez le fichier au format .xlsx"),
    "html": ("aci-web.xls", html_xls, "page web (HTML)", "enregistrez le fichier au format .xlsx"),
}


@pytest.mark.parametrize("kind", list(SPREADSHEET_LIKE))
def test_spreadsheet_like_files_in_a_folder_are_refused_not_skipped(tmp_path: Path, kind: str) -> None:
    """Fails on main before the fix of issue 17 point 3: an .xlsb, .numbers, .fods or .csv in a folder was
    `ignoré` (exit 0: that ACI's month disappeared), an HTML page named .xls said « fichier texte (CSV ?) ».
    Now it is refused naming its real format and what to do, while a README and a PDF are noted, not refused."""
    name, build, what, advice = SPREADSHEET_LIKE[kind]
    folder = tmp_path / "depot"
    aci(folder / "bon.xlsx")
    build(folder / name)
    (folder / "LISEZMOI.md").write_text("Fichiers de mars\n")
    (folder / "attestation.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(300))
    result = ingest([folder], tmp_path / "cvg.duckdb")
    files = by_name(result)
    assert files["bon.xlsx"].statut == "intégré"
    assert files[name].statut == "rejeté", files[name]
    (message,) = [i.message for i in files[name].errors]
    assert what in message and advice in message, message
    assert files["LISEZMOI.md"].statut == "ignoré" and files["attestation.pdf"].statut == "ignoré"
    assert result.exit_code == 1


# -- point 4: a folder that cannot be read ----------------------------------------------------------------------


def test_an_unreadable_subfolder_is_refused_by_name() -> None:
    """Fails on main before the fix of issue 17 point 4: os.walk skipped a sub-folder it could not list, and
    the run ended « Tous les fichiers sont valides. », exit 0. As root (which reads a folder whatever its
    mode), `cvg` runs as user `nobody`, which cannot."""
    root = Path(tempfile.mkdtemp(prefix="cvg-perm-"))  # not under pytest's private tmp: `nobody` must reach it
    try:
        root.chmod(0o755)
        folder = root / "depot"
        aci(folder / "ok" / "aci.xlsx")
        aci(folder / "prive" / "b.xlsx", siret=SIRET_2)
        for dirpath, dirnames, filenames in os.walk(root):
            for d in dirnames:
                Path(dirpath, d).chmod(0o755)
            for f in filenames:
                Path(dirpath, f).chmod(0o644)
        (folder / "prive").chmod(0o000)
        prefix: tuple[str, ...] = ()
        if os.geteuid() == 0:  # root reads every folder: run as `nobody`, without root's capabilities
            prefix = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
            try:
                probe = subprocess.run([*prefix, sys.executable, "-c", "import cvg_pipeline"], capture_output=True,
                                       check=False, timeout=TIMEOUT)
            except OSError:
                probe = None
            if probe is None or probe.returncode != 0:
                pytest.skip("root reads every folder, and cvg cannot be run as another user here (setpriv)")
            assert subprocess.run([*prefix, "ls", str(folder / "prive")], capture_output=True).returncode != 0
        done = cvg(["verifier", "--json", str(folder)], cwd=root, prefix=prefix)
        payload = json.loads(done.stdout)
        files = {Path(f["chemin"]).relative_to(folder).as_posix(): f for f in payload["fichiers"]}
        assert files["ok/aci.xlsx"]["statut"] == "valide"
        assert files["prive"]["statut"] == "rejeté" and files["prive"]["fichier"] == "prive/"
        assert [p["code"] for p in files["prive"]["problemes"]] == ["dossier-illisible"]
        assert "droits insuffisants" in files["prive"]["problemes"][0]["message"]
        assert done.returncode == 1 and payload["ok"] is False
    finally:
        (root / "depot" / "prive").chmod(0o755)
        import shutil

        shutil.rmtree(root, ignore_errors=True)


# -- point 5: FIFOs, devices, files over the size limit -----------------------------------------------------------


def test_special_files_are_refused_and_never_read(tmp_path: Path) -> None:
    """Fails on main before the fix of issue 17 point 5: a FIFO or a symlink to /dev/zero named *.xlsx made
    `cvg` hang for ever (the hashing read them without limit), and a FIFO named on the command line gave
    « Aucun fichier trouvé », exit 0. Only regular files are read; the others are refused by name."""
    folder = tmp_path / "depot"
    aci(folder / "bon.xlsx")
    os.mkfifo(folder / "tube.xlsx")
    (folder / "zero.xlsx").symlink_to("/dev/zero")
    (folder / "zero-bis.xlsx").symlink_to("/dev/zero")  # the same device: still named (found by make fuzz)
    (folder / "casse.xlsx").symlink_to(tmp_path / "absent.xlsx")
    with (folder / "enorme.xlsx").open("wb") as fh:  # sparse: 101 MiB that are never read
        fh.truncate(101 * 1024 * 1024)
    done = cvg(["verifier", "--json", "--erreurs", str(tmp_path / "erreurs"), str(folder)])
    files = {f["fichier"]: f for f in json.loads(done.stdout)["fichiers"]}
    assert files["bon.xlsx"]["statut"] == "valide"
    for name, says in [("tube.xlsx", "tube nommé (FIFO), pas un fichier ordinaire"),
                       ("zero.xlsx", "périphérique (comme /dev/zero), pas un fichier ordinaire"),
                       ("zero-bis.xlsx", "périphérique (comme /dev/zero), pas un fichier ordinaire"),
                       ("casse.xlsx", "lien symbolique vers un fichier qui n'existe pas"),
                       ("enorme.xlsx", "le fichier pèse 101 Mo")]:
        assert files[name]["statut"] == "rejeté", files[name]
        assert says in files[name]["problemes"][0]["message"], files[name]
    assert done.returncode == 1
    # no error workbook « to return to the ACI » for what is not a file of theirs
    assert sorted(p.name for p in (tmp_path / "erreurs").iterdir()) == ["enorme-erreurs.xlsx"]

    alone = cvg(["verifier", str(folder / "tube.xlsx")])  # named on the command line
    assert alone.returncode == 1, alone.stdout
    assert "tube.xlsx" in alone.stdout and "rejeté" in alone.stdout and "Aucun fichier trouvé" not in alone.stdout


# -- point 6: names that are not UTF-8 ---------------------------------------------------------------------------


def test_a_name_that_is_not_utf8_never_stops_the_run(tmp_path: Path) -> None:
    """Fails on main before the fix of issue 17 point 6: a file named `relev\\xe9.xlsx` (Latin-1 bytes, from a
    Windows zip) stopped the whole ingest with « erreur inattendue (UnicodeEncodeError) » (polars could not
    store the name) and `--json` could not be written. The name is shown and stored with a replacement
    character; the file is read by its real name."""
    folder = tmp_path / "depot"
    folder.mkdir()
    good = Path(os.fsdecode(bytes(folder) + b"/relev\xe9.xlsx"))
    bad = Path(os.fsdecode(bytes(folder) + b"/r\xe9sultat.xlsx"))
    aci(good)
    bad_aci(bad, siret=SIRET_2)
    aci(folder / "autre.xlsx", siret=make_siret("5555555555555"))
    result = ingest([folder], tmp_path / "cvg.duckdb")
    files = by_name(result)
    assert files["relev\ufffd.xlsx"].statut == "intégré" and files["autre.xlsx"].statut == "intégré"
    assert files["r\ufffdsultat.xlsx"].statut == "rejeté"
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")  # valid UTF-8 throughout

    # the command, with a strict UTF-8 output: a table and a JSON document, the error workbook written
    env = {"PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}
    done = cvg(["verifier", "--json", "--erreurs", str(tmp_path / "erreurs"), str(folder)], env=env)
    payload = json.loads(done.stdout)
    files_json = {f["fichier"]: f for f in payload["fichiers"]}
    assert files_json["relev\ufffd.xlsx"]["statut"] == "valide"
    assert files_json["r\ufffdsultat.xlsx"]["statut"] == "rejeté"
    assert files_json["r\ufffdsultat.xlsx"]["chemin"].endswith("depot/r\ufffdsultat.xlsx")
    assert files_json["r\ufffdsultat.xlsx"]["classeur_erreurs"].endswith("r\ufffdsultat-erreurs.xlsx")
    assert len(list((tmp_path / "erreurs").iterdir())) == 1
    table = cvg(["verifier", "--erreurs", str(tmp_path / "erreurs2"), str(folder)], env=env)
    assert "relev\ufffd.xlsx" in table.stdout and "r\ufffdsultat.xlsx" in table.stdout and table.returncode == 1


# -- point 7: other formats and large files named plainly --------------------------------------------------------


def excel4(path: Path) -> Path:
    """A BIFF4 worksheet as Excel 4 saved it (a bare record stream, no OLE2 container): BOF, a number, EOF."""
    bof = hostile.biff_record(0x0409, b"\x00\x00\x10\x00\x00\x00")
    number = hostile.biff_record(0x0203, struct.pack("<HHHd", 0, 0, 0, 1.0))  # row, column, format, value
    path.write_bytes(bof + number + hostile.biff_record(0x000A, b""))
    return path


def large_ods(path: Path, rows: int = 6000) -> Path:
    """A genuine .ods as LibreOffice writes a long sheet: each row spelled out, most cells the same from row to
    row, so that content.xml (13 MB here) deflates ~150 times — over the old 100-to-1 « zip bomb » limit."""

    def cell(value: Any) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (f'<table:table-cell office:value-type="float" office:value="{value}" calcext:value-type="float">'
                    f"<text:p>{value}</text:p></table:table-cell>")
        if isinstance(value, date):
            value = value.strftime("%d/%m/%Y")
        return (f'<table:table-cell office:value-type="string" calcext:value-type="string"><text:p>{value}</text:p>'
                "</table:table-cell>")

    def row(values: list[Any]) -> str:
        return '<table:table-row table:style-name="ro1">' + "".join(cell(v) for v in values) + "</table:table-row>"

    header = list(valid_row())
    body = [row(header)] + [
        row(list(valid_row(**{"Identifiant salarié": f"A{i:06d}"}).values())) for i in range(rows)
    ]
    fields = [row(["Champ", "Valeur"])] + [row([k, v]) for k, v in structure().items()]
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content xmlns:office="urn:oasis:names:tc:'
        'opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:calcext="urn:org:documentfoundation:'
        'names:experimental:calc:xmlns:calcext:1.0" office:version="1.2"><office:body><office:spreadsheet>'
        f'<table:table table:name="Structure">{"".join(fields)}</table:table>'
        f'<table:table table:name="Salariés">{"".join(body)}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", hostile.ODS_MANIFEST % b"", compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return path


def test_other_formats_and_large_files_are_named_plainly(tmp_path: Path) -> None:
    """Fails on main before the fix of issue 17 point 7: an Apple Numbers file was « contenu dangereux
    (déclaration DTD) », an Excel 4 file « ce n'est pas un classeur », an HTML page saved as .xls « fichier
    texte (CSV ?) », and a genuine long .ods (content.xml deflated ~150 times) a « bombe zip ». Each is now
    named for what it is, the long .ods is read, and a real zip bomb is still called one."""
    with zipfile.ZipFile(large_ods(tmp_path / "long.ods")) as zf:
        info = zf.getinfo("content.xml")
        assert info.file_size > 10 * 1024 * 1024 and info.file_size / info.compress_size > 100
    bomb = hostile.zip_bomb(aci(tmp_path / "modele.xlsx"), tmp_path / "bombe.xlsx", inflated_mb=60)
    cases = {
        numbers(tmp_path / "mars.numbers"): ("format-non-pris-en-charge", "document Apple Numbers"),
        numbers(tmp_path / "mars.xlsx"): ("fichier-illisible", "c'est un document Apple Numbers"),
        excel4(tmp_path / "vieux.xls"): ("fichier-illisible", "classeur Excel 2, 3 ou 4"),
        html_xls(tmp_path / "page.xls"): ("fichier-illisible", "c'est une page web (HTML)"),
        bomb: ("fichier-trop-gros", "bombe zip"),
    }
    results = ig.verify_paths([*cases, tmp_path / "long.ods"], schema=SCHEMA, today=TODAY)
    files = {f.path: f for f in results}
    for path, (code, says) in cases.items():
        (found,) = files[path].errors
        assert found.code == code and says in found.message, found
        assert "DTD" not in found.message and "(CSV ?)" not in found.message
    long = files[tmp_path / "long.ods"]
    assert long.statut == "valide" and long.lignes == 6000, long.issues


# -- point 9: digits of other scripts, a year alone ---------------------------------------------------------------


@pytest.mark.parametrize(("arrete", "cells"), [
    (date(2023, 12, 31), {2: "٠١/٠٢/٢٠٢٢", 3: "０１/０２/２０２２", 4: "٢٠٢٢-٠٢-٠١"}),  # Arabic-Indic, full-width digits
    (2023, {}),  # a Date d'arrêté written « 2023 »: a year alone, not the Excel serial of 15/07/1905
])
def test_odd_digits_and_a_year_alone_are_located_cell_errors(
    tmp_path: Path, arrete: date | int, cells: dict[int, str]
) -> None:
    """Fails on main before the fix of issue 17 point 9: Arabic-Indic or full-width digits in a date cell made
    the whole file « illisible … erreur de cvg lui-même (InvalidOperationError) », and a Date d'arrêté « 2023 »
    was read as 15/07/1905 (every row then « postérieure à la date d'arrêté »). Each is now `date-invalide` on
    its own cell."""
    rows = [open_row(**{"Identifiant salarié": f"A{n}", "Date d'entrée": text}) for n, text in cells.items()]
    path = write_workbook(tmp_path / "aci.xlsx", rows=rows or [valid_row()],
                          structure_fields=structure(**{"Date d'arrêté": arrete}))
    (result,) = ig.verify_paths([path], schema=SCHEMA, today=TODAY)
    assert result.statut == "rejeté"
    found = {(i.feuille, i.ligne, i.colonne): i for i in result.errors}
    assert all(i.code == "date-invalide" for i in found.values()), result.errors
    expected = {("Salariés", n, "Date d'entrée") for n in cells} or {("Structure", 5, "Date d'arrêté")}
    assert set(found) == expected, found
    for n, text in cells.items():
        assert found["Salariés", n, "Date d'entrée"].valeur == text


# -- point 11: nothing to check -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content", ["lock file only", "empty folder"])
def test_nothing_to_check_is_not_success(tmp_path: Path, content: str) -> None:
    """Fails on main before the fix of issue 17 point 11: a folder holding only an Excel lock file gave « Tous
    les fichiers sont valides. » (nothing was checked) and an empty one « Aucun fichier trouvé », both exit 0."""
    folder = tmp_path / "depot"
    folder.mkdir()
    if content == "lock file only":
        (folder / "~$aci.xlsx").write_bytes(b"\x0bAnalyste" + bytes(150))
    done = cvg(["verifier", str(folder)])
    assert done.returncode == 1
    assert "Aucun classeur à vérifier" in done.stdout and "valides" not in done.stdout, done.stdout
    as_json = cvg(["verifier", "--json", str(folder)])
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["ok"] is False
    try:
        code = ingest([folder], tmp_path / "cvg.duckdb").exit_code
    except CvgError:  # « aucun classeur trouvé », exit 1
        code = 1
    assert code == 1


# -- point 12: the same name in two folders -----------------------------------------------------------------------


def test_same_name_in_two_subfolders_is_shown_and_named_apart(tmp_path: Path) -> None:
    """Fails on main before the fix of issue 17 point 12: two `aci.xlsx` from `lyon/` and `paris/` were both
    shown « aci.xlsx », and their error workbooks « aci-erreurs.xlsx » and « aci-xlsx-erreurs.xlsx ». The path
    relative to the folder given is shown, in the table and the JSON, and names the error workbook."""
    folder = tmp_path / "depot"
    bad_aci(folder / "lyon" / "aci.xlsx")
    bad_aci(folder / "paris" / "aci.xlsx", siret=SIRET_2)
    aci(folder / "aci.xlsx", siret=make_siret("5555555555555"))
    done = cvg(["verifier", "--json", "--erreurs", str(tmp_path / "erreurs"), str(folder)])
    files = {f["fichier"]: f for f in json.loads(done.stdout)["fichiers"]}
    assert {name: f["statut"] for name, f in files.items()} == {
        "aci.xlsx": "valide", "lyon/aci.xlsx": "rejeté", "paris/aci.xlsx": "rejeté"}
    assert {Path(files[n]["classeur_erreurs"]).name for n in ("lyon/aci.xlsx", "paris/aci.xlsx")} == {
        "lyon-aci-erreurs.xlsx", "paris-aci-erreurs.xlsx"}
    assert all(p["fichier"] == "lyon/aci.xlsx" for p in files["lyon/aci.xlsx"]["problemes"])
    table = cvg(["verifier", "--erreurs", str(tmp_path / "erreurs2"), str(folder)])
    assert "lyon/aci.xlsx" in table.stdout and "paris/aci.xlsx" in table.stdout
    assert (tmp_path / "erreurs2" / "lyon-aci-erreurs.xlsx").is_file()


# -- point 15: the date in France ---------------------------------------------------------------------------------


def test_future_date_uses_the_date_in_paris(tmp_path: Path) -> None:
    """Fails on main before the fix of issue 17 point 15: « date future » compared the Date d'arrêté with the
    machine's local date. With the machine 14 hours ahead of UTC (TZ=Etc/GMT-14, Kiritimati's offset), a Date
    d'arrêté that is tomorrow in Paris was accepted; 12 hours behind (Etc/GMT+12), today in Paris was refused
    as future. Whatever the hour the test runs at, one of the two differs from the date in Paris."""
    now = datetime.now(ZoneInfo("UTC"))
    paris = now.astimezone(ZoneInfo("Europe/Paris")).date()
    ahead = now.astimezone(ZoneInfo("Etc/GMT-14")).date()
    if ahead > paris:  # the machine's date is already tomorrow in Paris: that date must be refused
        tz, arrete, future = "Etc/GMT-14", ahead, True
    else:  # the machine (UTC-12) is still on yesterday: today in Paris must be accepted
        tz, arrete, future = "Etc/GMT+12", paris, False
        assert now.astimezone(ZoneInfo(tz)).date() < paris
    rows = [open_row(**{"Date d'entrée": date(2023, 1, 2)})]
    path = write_workbook(tmp_path / "aci.xlsx", rows=rows, structure_fields=structure(**{"Date d'arrêté": arrete}))
    done = cvg(["verifier", "--json", "--erreurs", str(tmp_path / "erreurs"), str(path)], env={"TZ": tz})
    if datetime.now(ZoneInfo("Europe/Paris")).date() != paris:
        pytest.skip("midnight passed in Paris during the run")
    (entry,) = json.loads(done.stdout)["fichiers"]
    codes = [p["code"] for p in entry["problemes"]]
    if future:
        assert codes == ["date-future"] and paris.strftime("%d/%m/%Y") in entry["problemes"][0]["message"]
        assert done.returncode == 1
    else:
        assert entry["statut"] == "valide" and codes == [], entry
        assert done.returncode == 0
    assert arrete - paris in (timedelta(0), timedelta(days=1))
