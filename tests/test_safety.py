"""`read.precheck`: hostile and broken files refused before any parser sees them, in bounded time."""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from cvg_pipeline.check.errors import CATALOGUE, Issue
from cvg_pipeline.read import precheck as safety
from cvg_pipeline.read import precheck_ole, precheck_sheetml
from cvg_pipeline.read.precheck import MAX_CELLS, MAX_ROWS, precheck
from cvg_pipeline.store.db import create_store
from tests import hostile


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return hostile.valid_xlsx(tmp_path / "bon.xlsx")


def check(path: Path) -> Issue | None:
    found = precheck(path, path.name)
    if found is not None:
        assert found.code in CATALOGUE
        assert found.fichier == path.name
        assert found.is_error
        assert found.message[:1].isupper() and found.message.endswith(".")
    return found


def code(path: Path) -> str | None:
    found = check(path)
    return found.code if found else None


# -- what must pass ---------------------------------------------------------------------------------------


def test_valid_workbooks_pass(tmp_path: Path, good: Path) -> None:
    assert check(good) is None
    assert check(hostile.valid_xlsx(tmp_path / "cent.xlsx", rows=100)) is None
    xls = tmp_path / "ancien.xls"
    xls.write_bytes(hostile.xls_bytes())
    assert check(xls) is None
    assert check(hostile.ods(tmp_path / "libre.ods", f"<table:table-row>{hostile.ODS_CELL}</table:table-row>")) is None


def test_macro_workbook_passes_untouched(tmp_path: Path, good: Path) -> None:
    """An .xlsm's vbaProject.bin is only inflated and counted, never run nor refused."""
    xlsm = hostile.rewrite_zip(good, tmp_path / "macros.xlsm", add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(5000)})
    assert check(xlsm) is None


def test_libreoffice_trailing_empty_rows_pass(tmp_path: Path) -> None:
    """LibreOffice writes a million repeated empty rows after the data: not a used range."""
    rows = (
        f"<table:table-row>{hostile.ODS_CELL}</table:table-row>"
        '<table:table-row table:number-rows-repeated="1048570">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    assert check(hostile.ods(tmp_path / "vide.ods", rows)) is None


def test_files_precheck_cannot_classify_are_left_to_the_reader(tmp_path: Path) -> None:
    for name, data in [("texte.xlsx", b"a;b;c\n1;2;3\n"), ("vide.xlsx", b""), ("bruit.xls", bytes(range(256)))]:
        path = tmp_path / name
        path.write_bytes(data)
        assert check(path) is None


# -- zip bombs --------------------------------------------------------------------------------------------------


def test_zip_bomb_with_honest_directory(tmp_path: Path, good: Path) -> None:
    bomb = hostile.zip_bomb(good, tmp_path / "bombe.xlsx", inflated_mb=400)
    assert bomb.stat().st_size < 2 * hostile.MiB
    found = check(bomb)
    assert found is not None and found.code == "fichier-trop-gros"
    assert "bombe zip" in found.message and "400 Mo" in found.message


def test_zip_bomb_whose_directory_lies(tmp_path: Path, good: Path) -> None:
    bomb = hostile.zip_bomb(good, tmp_path / "menteuse.xlsx", inflated_mb=400, lie=True)
    with zipfile.ZipFile(bomb) as zf:  # the directory claims a small sheet
        assert zf.getinfo("xl/worksheets/sheet2.xml").file_size < 10_000
    found = check(bomb)
    assert found is not None and found.code == "fichier-trop-gros"
    assert "bombe zip" in found.message and "xl/worksheets/sheet2.xml" in found.message


def test_high_ratio_part_is_refused_below_the_size_limit(tmp_path: Path, good: Path) -> None:
    bomb = hostile.zip_bomb(good, tmp_path / "ratio.xlsx", inflated_mb=50)
    found = check(bomb)
    assert found is not None and found.code == "fichier-trop-gros"
    assert f"{safety.MAX_RATIO} pour 1 en taux de compression" in found.message


def test_declared_sizes_over_the_limits(tmp_path: Path, good: Path) -> None:
    parts = hostile.members(good)
    entries = [hostile.deflated(n, d) for n, d in parts.items()]
    name, method, raw, crc, _size, flags = entries[-1]
    entries[-1] = (name, method, raw, crc, 3 * 1024 * hostile.MiB, flags)
    assert code(hostile.write_raw_zip(tmp_path / "annonce.xlsx", entries)) == "fichier-trop-gros"


def test_too_many_parts(tmp_path: Path, good: Path) -> None:
    extra = {f"xl/media/image{i}.png": b"" for i in range(safety.MAX_PARTS + 1)}
    found = check(hostile.rewrite_zip(good, tmp_path / "parties.xlsx", add=extra))
    assert found is not None and found.code == "fichier-trop-gros" and "parties" in found.message


def test_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, good: Path) -> None:
    monkeypatch.setattr(safety, "MAX_FILE_BYTES", 1000)
    found = check(good)
    assert found is not None and found.code == "fichier-trop-gros" and "le fichier pèse" in found.message


# -- XML attacks ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "xl/worksheets/sheet2.xml", "xl/workbook.xml", "[Content_Types].xml"])
@pytest.mark.parametrize("utf16", [False, True])
def test_entity_expansion_is_refused(tmp_path: Path, good: Path, part: str, utf16: bool) -> None:
    found = check(hostile.entity_bomb(good, tmp_path / "rires.xlsx", part=part, utf16=utf16))
    assert found is not None and found.code == "contenu-dangereux"
    assert "DTD" in found.message and part in found.message and "par sécurité" in found.message


def test_doctype_in_ods_is_refused(tmp_path: Path) -> None:
    path = hostile.ods(tmp_path / "dtd.ods", "")
    hostile.rewrite_zip(path, tmp_path / "dtd2.ods", replace={"content.xml": hostile.BILLION_LAUGHS})
    assert code(tmp_path / "dtd2.ods") == "contenu-dangereux"


# -- huge sheets -----------------------------------------------------------------------------------------------


def test_million_row_sheet_is_refused_with_its_sheet_named(tmp_path: Path, good: Path) -> None:
    big = hostile.huge_sheet(good, tmp_path / "million.xlsx", rows=1_000_000)
    found = check(big)
    assert found is not None and found.code == "fichier-trop-gros"
    assert found.message == (
        "Le classeur dépasse la limite de 100 000 lignes par feuille : la feuille « Salariés » compte plus de "
        "100 000 lignes ; supprimez les lignes en trop ou découpez le fichier."
    )


def test_sheet_at_the_row_limit_passes(tmp_path: Path, good: Path) -> None:
    assert check(hostile.huge_sheet(good, tmp_path / "limite.xlsx", rows=MAX_ROWS - 1)) is None


@pytest.mark.parametrize(("far", "expected"), [("XFD1048576", "lignes par feuille"), ("ZZZ20000", "cellules par feuille")])
def test_far_away_cell_is_refused(tmp_path: Path, good: Path, far: str, expected: str) -> None:
    """One cell in XFD1048576 would make the parser allocate 17 billion cells and abort the process."""
    found = check(hostile.sparse_sheet(good, tmp_path / "loin.xlsx", far))
    assert found is not None and found.code == "fichier-trop-gros" and expected in found.message


def test_cells_without_reference_are_counted(tmp_path: Path, good: Path) -> None:
    cells = "<c><v>1</v></c>" * 1000
    parts = hostile.members(good)
    sheet = parts["xl/worksheets/sheet2.xml"].replace(
        b"</sheetData>", f'<row>{cells}</row><row r="{MAX_CELLS // 1000 + 10}"><c><v>1</v></c></row></sheetData>'.encode()
    )
    found = check(hostile.rewrite_zip(good, tmp_path / "sansref.xlsx", replace={"xl/worksheets/sheet2.xml": sheet}))
    assert found is not None and "cellules par feuille" in found.message


def test_namespace_prefixed_rows_are_counted(tmp_path: Path, good: Path) -> None:
    sheet = (
        b'<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<x:sheetData><x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row>'
        b'<x:row r="500000"><x:c r="A500000"><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    found = check(hostile.rewrite_zip(good, tmp_path / "prefixe.xlsx", replace={"xl/worksheets/sheet2.xml": sheet}))
    assert found is not None and "lignes par feuille" in found.message


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (f'<table:table-row table:number-rows-repeated="1000000">{hostile.ODS_CELL}</table:table-row>', "lignes"),
        ('<table:table-row table:number-rows-repeated="1000"><table:table-cell table:number-columns-repeated="16384" '
         'office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>', "cellules"),
    ],
)
def test_ods_repeat_bombs(tmp_path: Path, rows: str, expected: str) -> None:
    found = check(hostile.ods(tmp_path / "repete.ods", rows))
    assert found is not None and found.code == "fichier-trop-gros" and expected in found.message
    assert "« Salariés »" in found.message


# -- encrypted and damaged files ------------------------------------------------------------------------------


def test_password_protected_xlsx(tmp_path: Path, good: Path) -> None:
    found = check(hostile.encrypted_xlsx(good, tmp_path / "secret.xlsx"))
    assert found is not None and found.code == "fichier-protege"
    assert "protégé par un mot de passe" in found.message


def test_encrypted_xls(tmp_path: Path) -> None:
    assert code(hostile.encrypted_xls(tmp_path / "secret.xls")) == "fichier-protege"


def test_encrypted_ods(tmp_path: Path) -> None:
    assert code(hostile.ods(tmp_path / "secret.ods", "", encrypted=True)) == "fichier-protege"


def test_zip_encryption_flag(tmp_path: Path, good: Path) -> None:
    entries = [hostile.deflated(n, d) for n, d in hostile.members(good).items()]
    name, method, raw, crc, size, _flags = entries[0]
    entries[0] = (name, method, raw, crc, size, 1)
    assert code(hostile.write_raw_zip(tmp_path / "zipcrypto.xlsx", entries)) == "fichier-protege"


@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_truncated_zip(tmp_path: Path, good: Path, cut: float) -> None:
    data = good.read_bytes()
    path = tmp_path / "coupe.xlsx"
    path.write_bytes(data[: int(len(data) * cut)])
    found = check(path)
    assert found is not None and found.code == "fichier-illisible" and "archive endommagée" in found.message
    assert "enregistrez-le à nouveau depuis Excel ou LibreOffice" in found.message  # what to do


def test_unsupported_compression_method(tmp_path: Path, good: Path) -> None:
    path = tmp_path / "bzip.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as zf:
        for name, data in hostile.members(good).items():
            zf.writestr(name, data)
    found = check(path)
    assert found is not None and found.code == "fichier-illisible" and "méthode de compression 12" in found.message
    assert "enregistrez-le à nouveau" in found.message


def test_damaged_ole_container(tmp_path: Path) -> None:
    path = tmp_path / "casse.xls"
    path.write_bytes(hostile.xls_bytes()[:700])
    found = check(path)
    assert found is not None and found.code == "fichier-illisible"
    assert "classeur .xls endommagé : enregistrez-le à nouveau au format .xlsx" in found.message
    assert "OLE" not in found.message  # no jargon


def test_unreadable_file_is_an_issue_not_an_exception(tmp_path: Path) -> None:
    found = precheck(tmp_path / "absent.xlsx", "absent.xlsx")
    assert found is not None and found.code == "fichier-illisible"


def test_biff_walker() -> None:
    bof = b"\x09\x08\x10\x00" + bytes(16)
    assert precheck_ole._biff_has_filepass(bof + b"\x2f\x00\x02\x00\x00\x00")
    assert not precheck_ole._biff_has_filepass(bof + b"\x85\x00\x00\x00" + b"\x2f\x00\x00\x00")
    assert not precheck_ole._biff_has_filepass(b"\x2f\x00\x00\x00")  # no BOF: not a workbook stream
    assert not precheck_ole._biff_has_filepass(b"")


def test_reader_runs_precheck_before_any_parser(tmp_path: Path, good: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """read_workbooks returns the precheck's issue and never opens the file with fastexcel."""
    import fastexcel

    from cvg_pipeline.read.workbook import read_workbooks
    from cvg_pipeline.schema.load import load_schema

    def no_parser(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a parser was called on a refused file")

    monkeypatch.setattr(fastexcel, "read_excel", no_parser)
    for bad in (
        hostile.sparse_sheet(good, tmp_path / "loin.xlsx"),  # would abort the process inside calamine
        hostile.zip_bomb(good, tmp_path / "bombe.xlsx", inflated_mb=400, lie=True),
        hostile.entity_bomb(good, tmp_path / "rires.xlsx"),
        hostile.encrypted_xlsx(good, tmp_path / "secret.xlsx"),
    ):
        parsed = read_workbooks([bad], load_schema())[0]
        assert [i.code for i in parsed.issues] == [precheck(bad, bad.name).code]  # type: ignore[union-attr]
        assert parsed.data is None


# -- end to end: `cvg ingest` as a real process on each hostile file (issue 9, point 3) ------------------------
# Each asserts the exit code, the French message naming the file, no traceback, and a peak memory of the
# whole process tree under 1 GiB.


def ingest(tmp_path: Path, *paths: Path | str) -> hostile.Run:
    if not (tmp_path / "cvg.duckdb").exists():  # `cvg init`
        create_store(tmp_path / "cvg.duckdb")
    run = hostile.run_cvg(["ingest", "--store", str(tmp_path / "cvg.duckdb"), *map(str, paths)])
    assert "Traceback" not in run.output, run
    assert run.peak < hostile.GiB, run
    return run


def stored(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    import duckdb

    con = duckdb.connect(str(tmp_path / "cvg.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def refused(run: hostile.Run, fichier: str, *phrases: str) -> None:
    assert run.returncode == 1, run
    assert fichier in run.output, run
    for phrase in phrases:
        assert phrase in run.output, run


def test_cli_zip_bomb(tmp_path: Path, good: Path) -> None:
    bomb = hostile.zip_bomb(good, tmp_path / "bombe.xlsx", inflated_mb=1000, lie=True)
    refused(ingest(tmp_path, bomb), "bombe.xlsx", "bombe zip")


def test_cli_entity_expansion(tmp_path: Path, good: Path) -> None:
    bad = hostile.entity_bomb(good, tmp_path / "entites.xlsx")
    refused(ingest(tmp_path, bad), "entites.xlsx", "DTD", "par sécurité")


def test_cli_million_rows(tmp_path: Path, good: Path) -> None:
    big = hostile.huge_sheet(good, tmp_path / "million.xlsx", rows=1_000_000)
    refused(ingest(tmp_path, big), "million.xlsx", "100 000 lignes par feuille", "« Salariés »")


def test_cli_far_away_cell(tmp_path: Path, good: Path) -> None:
    """Without the precheck this file aborts the whole process inside the parser."""
    bad = hostile.sparse_sheet(good, tmp_path / "loin.xlsx")
    refused(ingest(tmp_path, bad), "loin.xlsx", "lignes par feuille")


def test_cli_encrypted_workbook(tmp_path: Path, good: Path) -> None:
    bad = hostile.encrypted_xlsx(good, tmp_path / "protege.xlsx")
    refused(ingest(tmp_path, bad), "protege.xlsx", "protégé par un mot de passe")


def test_cli_xlsm_with_macros_is_read_never_run(tmp_path: Path, good: Path) -> None:
    marker = tmp_path / "macro-executee"
    vba = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + f"Shell touch {marker}".encode() + bytes(2000)
    xlsm = hostile.rewrite_zip(good, tmp_path / "avec macros.xlsm", add={"xl/vbaProject.bin": vba})
    run = ingest(tmp_path, xlsm)
    assert run.returncode == 0, run
    assert stored(tmp_path, "SELECT fichier, nb_lignes FROM snapshots") == [("avec macros.xlsm", 2)]
    assert not marker.exists()


def test_cli_formulas_give_cached_values_only(tmp_path: Path, good: Path) -> None:
    parts = hostile.members(good)
    sheet = parts["xl/worksheets/sheet2.xml"].decode()
    hours = '<c r="E2" t="n"><v>20</v></c>'
    assert hours in sheet
    sheet = sheet.replace(hours, '<c r="E2"><f>1+1</f><v>20</v></c>')  # evaluated it would be 2
    sheet = sheet.replace('<c r="E3" t="n"><v>20</v></c>',
                          '<c r="E3"><f>WEBSERVICE("http://exemple.invalid/")</f><v>21</v></c>')
    path = hostile.rewrite_zip(good, tmp_path / "formules.xlsx", replace={"xl/worksheets/sheet2.xml": sheet.encode()})
    run = ingest(tmp_path, path)
    assert run.returncode == 0, run
    assert sorted(stored(tmp_path, "SELECT heures_hebdo_entree FROM parcours")) == [(20.0,), (21.0,)]


def test_cli_merged_header_and_title_cells(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from tests.builders import valid_row, write_workbook

    rows = [valid_row(**{"Identifiant salarié": f"M{i}", "Remarques": "ok"}) for i in range(3)]
    path = write_workbook(tmp_path / "fusion.xlsx", rows=rows, title_rows=[["Reporting CVG 2023"]])
    wb = load_workbook(path)
    ws = wb["Salariés"]
    ws.merge_cells("A1:F1")  # title over the header
    last = ws.max_column
    ws.cell(2, last + 1).value = None
    ws.merge_cells(start_row=2, start_column=last, end_row=2, end_column=last + 1)  # a merged header cell
    wb.save(path)
    run = ingest(tmp_path, path)
    assert run.returncode == 0, run
    assert stored(tmp_path, "SELECT nb_lignes FROM snapshots") == [(3,)]


def test_cli_hidden_rows_and_sheets(tmp_path: Path) -> None:
    """A hidden row is still a parcours (read like the others); a hidden extra sheet is ignored."""
    from openpyxl import load_workbook

    from tests.builders import valid_row, write_workbook

    rows = [valid_row(**{"Identifiant salarié": f"H{i}"}) for i in range(4)]
    path = write_workbook(tmp_path / "cache.xlsx", rows=rows, extra_sheets={"Listes": [["CVG"], ["PHC"]]})
    wb = load_workbook(path)
    wb["Salariés"].row_dimensions[3].hidden = True
    wb["Listes"].sheet_state = "hidden"
    wb.save(path)
    run = ingest(tmp_path, path)
    assert run.returncode == 0, run
    assert stored(tmp_path, "SELECT nb_lignes FROM snapshots") == [(4,)]


def test_cli_file_names_with_spaces_accents_quotes(tmp_path: Path) -> None:
    from tests.builders import SIRET_2, structure, valid_row, write_workbook

    name = "Rapport d'activité « été » \"final\" 2023.xlsx"
    good_file = hostile.valid_xlsx(tmp_path / "dossier à part" / name)
    bad_name = "Fichier erroné l'ACI.xlsx"
    bad = write_workbook(tmp_path / "dossier à part" / bad_name, rows=[valid_row(**{"Date de sortie": "31/02/2023"})],
                         structure_fields=structure(SIRET=SIRET_2))
    run = ingest(tmp_path, good_file.parent)
    assert run.returncode == 1, run  # the bad one is refused ...
    assert name in run.output and bad_name in run.output
    assert "31/02/2023" in run.output
    assert stored(tmp_path, "SELECT fichier FROM snapshots") == [(name,)]  # ... the good one stored
    assert bad.exists()


def test_cli_directory_given_twice(tmp_path: Path) -> None:
    folder = tmp_path / "recus"
    hostile.valid_xlsx(folder / "a.xlsx")
    run = ingest(tmp_path, folder, folder, folder / "a.xlsx")
    assert run.returncode == 0, run
    assert stored(tmp_path, "SELECT count(*) FROM snapshots") == [(1,)]
    assert stored(tmp_path, "SELECT count(*) FROM parcours") == [(2,)]


def test_cli_symlink_loop_in_input_folder(tmp_path: Path) -> None:
    folder = tmp_path / "recus"
    hostile.valid_xlsx(folder / "sous" / "a.xlsx")
    (folder / "sous" / "boucle").symlink_to(folder, target_is_directory=True)
    (folder / "lien-a.xlsx").symlink_to(folder / "sous" / "a.xlsx")
    (folder / "cassé.xlsx").symlink_to(folder / "absent.xlsx")
    run = ingest(tmp_path, folder)
    assert run.returncode in (0, 1), run
    assert stored(tmp_path, "SELECT count(*) FROM snapshots") == [(1,)]


# -- lying shared-strings counts (calamine reserves `uniqueCount` strings up front: 4e9 aborts the process) ------

NS = hostile.SST_NS
HUGE = b"4000000000"


@pytest.mark.parametrize(
    ("label", "sst_tag", "lead", "shown"),
    [
        ("uniqueCount", b'<sst ' + NS + b' count="1" uniqueCount="' + HUGE + b'">', 0, "4 000 000 000 textes partagés"),
        ("count", b'<sst ' + NS + b' count="' + HUGE + b'" uniqueCount="1">', 0, "4 000 000 000 références"),
        ("single quotes", b"<sst " + NS + b" count='1' uniqueCount='" + HUGE + b"'>", 0, "4 000 000 000 textes"),
        ("spaces, order", b'<sst\n uniqueCount =\t"' + HUGE + b'" ' + NS + b' >', 0, "4 000 000 000 textes"),
        ("leading zeros", b'<sst ' + NS + b' uniqueCount="000' + HUGE + b'">', 0, "4 000 000 000 textes"),
        ("prefixed", b'<x:sst xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount="'
         + HUGE + b'">', 0, "4 000 000 000 textes"),
        # the attribute straddles the boundary between two inflate steps
        ("split attribute", b'<sst ' + NS + b' uniqueCount="' + HUGE + b'">', -(len(NS) + 22), "4 000 000 000 textes"),
        ("split tag name", b'<sst ' + NS + b' uniqueCount="' + HUGE + b'">', -2, "4 000 000 000 textes"),
        # within MAX_CELLS, but far more `<si>` items than the part's bytes can hold
        ("more than the part holds", b'<sst ' + NS + b' uniqueCount="5000000">', 0, "5 000 000 textes partagés annoncés pour"),
        ("padded tag", b'<sst ' + NS + b' ' + b' ' * (safety.CHUNK + 100 * 1024) + b'uniqueCount="' + HUGE + b'">', 0, "balise « sst » démesurée"),
    ],
)
def test_lying_shared_strings_count_is_refused(tmp_path: Path, good: Path, label: str, sst_tag: bytes, lead: int,
                                               shown: str) -> None:
    from cvg_pipeline.read.workbook import read_workbooks
    from cvg_pipeline.schema.load import load_schema

    declaration = 56  # len of the XML declaration line written by hostile.shared_strings
    lead = safety.CHUNK - declaration + lead if lead < 0 else lead
    path = hostile.shared_strings(good, tmp_path / "textes.xlsx", sst_tag, lead=lead)
    if lead:
        data = hostile.members(path)["xl/sharedStrings.xml"]
        assert data.index(b"<") < safety.CHUNK < data.index(b">", data.index(b"sst")) + 1  # really split
    found = check(path)
    assert found is not None and found.code == "contenu-dangereux", label
    assert shown in found.message and "xl/sharedStrings.xml" in found.message
    # what `cvg ingest` does in its own process: the refusal comes back, fastexcel never sees the file
    [parsed] = read_workbooks([path], load_schema())
    assert [i.code for i in parsed.issues] == ["contenu-dangereux"]


@pytest.mark.parametrize(
    "sst_tag",
    [
        b'<sst ' + NS + b' count="3" uniqueCount="1">',
        b'<sst ' + NS + b'>',  # counts are optional
        b'<sst ' + NS + b' count="9000" uniqueCount="9000">',  # a writer that miscounts, within the slack
        b'<sst ' + NS + b' xmlns:y="urn:y" y:uniqueCount="' + HUGE + b'">',  # another attribute: calamine ignores it
        b'<sst ' + NS + b' uniqueCount="-1">',
    ],
)
def test_honest_or_harmless_shared_strings_counts_pass(tmp_path: Path, good: Path, sst_tag: bytes) -> None:
    assert check(hostile.shared_strings(good, tmp_path / "textes.xlsx", sst_tag, strings=3)) is None


def test_shared_strings_scan_across_every_split() -> None:
    tag = b'<x:sst ' + NS + b" count='12' uniqueCount=\"" + HUGE + b'"/>'
    data = b"<?xml?>" + tag + b"<si><t>x</t></si>"
    for cut in range(len(data) + 1):
        scan = precheck_sheetml.SstScan()
        with pytest.raises(safety.Refusal):
            scan.feed(data[:cut], "f.xlsx", "p")
            scan.feed(data[cut:], "f.xlsx", "p")
        assert scan.unique == 4_000_000_000


def test_real_workbooks_still_pass() -> None:
    root = Path(__file__).resolve().parent.parent
    files = sorted(p for p in (root / "examples").rglob("*") if p.suffix in {".xlsx", ".xlsm", ".xls", ".ods"})
    assert files
    network = root / "benchmarks" / "data" / "reseau-700"
    if network.is_dir():
        files += sorted(network.glob("*.xls*"))[::25]
    for path in files:
        assert precheck(path, path.name) is None, path


def test_ods_with_rebound_prefixes_is_counted_as_the_parser_reads_it(tmp_path: Path) -> None:
    """calamine matches `table:…` and `office:value-type` as written: with `xmlns:table` bound to another URI
    it still expands every repeat (20 000 × 1 000 cells: 2.5 GB, then SIGABRT); the count must see them too."""
    rows = ('<table:table-row table:number-rows-repeated="20000"><table:table-cell table:number-columns-repeated='
            '"1000" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>')
    content = hostile.ODS_CONTENT.replace("urn:oasis:names:tc:opendocument:xmlns:table:1.0", "urn:autre")
    found = check(hostile.ods_content(tmp_path / "espaces.ods", content.format(rows=rows)))
    assert found is not None and found.code == "fichier-trop-gros"
    assert "20 000 lignes sur 1 000 colonnes" in found.message


def test_ods_nested_table_does_not_reset_the_count(tmp_path: Path) -> None:
    big = ('<table:table-row table:number-rows-repeated="9000"><table:table-cell table:number-columns-repeated='
           '"1000" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>')
    rows = big + '<table:table table:name="dedans"></table:table>' + big
    assert code(hostile.ods(tmp_path / "imbrique.ods", rows)) == "fichier-trop-gros"


# -- .xls sheet sizes: calamine reserves the declared DIMENSIONS (huge bounds: SIGABRT) and builds a dense range
# up to the furthest cell (one cell in IV65536: 1.4 GB RSS); the precheck walks the BIFF records first ----------

R = hostile.biff_record
SALARIES = 1  # sheet index in hostile.xls_stream()


def _cell(rtype: int, row: int, col: int) -> bytes:
    """A well-formed BIFF8 cell record of type `rtype` at (row, col), 0-based."""
    rc = struct.pack("<HHH", row, col, 0)  # row, column, XF index
    bodies = {
        0x00FD: rc + struct.pack("<I", 0),  # LABELSST
        0x0203: rc + struct.pack("<d", 1.0),  # NUMBER
        0x027E: rc + struct.pack("<I", 0x3FF00000),  # RK (1.0)
        0x0201: rc,  # BLANK
        0x0205: rc + b"\x01\x00",  # BOOLERR (TRUE)
        0x0006: rc + struct.pack("<d", 2.0) + struct.pack("<HIH", 0, 0, 3) + b"\x1e\x02\x00",  # FORMULA =2
        0x0204: rc + struct.pack("<HB", 1, 0) + b"x",  # LABEL
        0x00D6: rc + struct.pack("<HB", 1, 0) + b"x" + struct.pack("<H", 0),  # RSTRING, no formatting runs
    }
    return R(rtype, bodies[rtype])


def _mul(rtype: int, row: int, first: int, entries: int, last: int | None = None) -> bytes:
    entry = struct.pack("<HI", 0, 0x3FF00000) if rtype == 0x00BD else struct.pack("<H", 0)
    last = first + entries - 1 if last is None else last
    return R(rtype, struct.pack("<HH", row, first) + entry * entries + struct.pack("<H", last))


def _dim(first_row: int, last_row: int, first_col: int, last_col: int) -> bytes:
    return struct.pack("<IIHHH", first_row, last_row, first_col, last_col, 0)


def _inserted(*records: bytes, sheet: int = SALARIES) -> Callable[[bytes], bytes]:
    return lambda s: hostile.biff_insert(s, sheet, b"".join(records))


def _dimensions(body: bytes) -> Callable[[bytes], bytes]:
    return lambda s: hostile.biff_replace(s, SALARIES, 0x0200, body)


def _far_row_and_column(s: bytes) -> bytes:
    return hostile.biff_insert(s, SALARIES, R(0x0208, struct.pack("<HHHHHHI", 65535, 0, 1, 255, 0, 0, 0x100)) +
                               _cell(0x0203, 0, 200))


def _two_big_sheets(s: bytes) -> bytes:
    return hostile.biff_insert(hostile.biff_insert(s, 0, _cell(0x0203, 65535, 79)), SALARIES, _cell(0x0203, 65535, 79))


def _past_the_end(s: bytes) -> bytes:
    return hostile.biff_insert(s, SALARIES, struct.pack("<HH", 0x0203, 0xFFFF))  # swallows EOF and padding


def _truncated_header(s: bytes) -> bytes:
    """The last sheet without its EOF, the stream's length ≡ 2 (mod 4): the zero padding xlwt adds up to 4096
    bytes reads as empty records, then ends two bytes into a record header."""
    eof = max(pos for pos, rtype, _ in hostile.biff_records(s) if rtype == 0x000A)
    s = s[:eof]
    return s + R(0x00EF, bytes((2 - len(s) - 4) % 4))


def _sheet_outside(s: bytes) -> bytes:
    record = hostile.biff_sheet_offsets(s)[SALARIES][0]
    return s[: record + 4] + struct.pack("<I", 0x00FFFFFF) + s[record + 8 :]


FAR = "65 536 lignes sur 256 colonnes"
XLS_HOSTILE = [
    ("DIMENSIONS, 4 milliards de lignes", _dimensions(_dim(0, 0xFFFFFFFF, 0, 256)), "fichier-trop-gros", "100 000 lignes par feuille"),
    ("DIMENSIONS, fin avant le début", _dimensions(_dim(10, 5, 0, 2)), "fichier-trop-gros", "100 000 lignes par feuille"),
    ("DIMENSIONS, trop de colonnes", _dimensions(_dim(0, 65536, 0, 200)), "fichier-trop-gros", "65 536 lignes sur 200 colonnes"),
    ("DIMENSIONS BIFF5 (u16)", _inserted(R(0x0200, struct.pack("<HHHHH", 0, 65535, 0, 255, 0)), ), "fichier-trop-gros", "65 535 lignes sur 255 colonnes"),
    ("DIMENSIONS répétées", _inserted(*[R(0x0200, _dim(0, 65536, 0, 60))] * 3), "contenu-dangereux", "dimensions annoncées démesurées"),
    *[(f"cellule {name} en IV65536", _inserted(_cell(rtype, 65535, 255)), "fichier-trop-gros", FAR)
      for name, rtype in [("LABELSST", 0x00FD), ("NUMBER", 0x0203), ("RK", 0x027E), ("BLANK", 0x0201), ("BOOLERR", 0x0205),
                          ("FORMULA", 0x0006), ("LABEL", 0x0204), ("RSTRING", 0x00D6)]],
    ("MULRK sur toute la ligne 65536", _inserted(_mul(0x00BD, 65535, 0, 256)), "fichier-trop-gros", FAR),
    ("MULBLANK jusqu'à IV65536", _inserted(_mul(0x00BE, 65535, 250, 6)), "fichier-trop-gros", FAR),
    ("MULRK à dernière colonne menteuse", _inserted(_mul(0x00BD, 65535, 0, 1, last=255)), "fichier-trop-gros", FAR),
    ("ROW 65536 et colonne 201", _far_row_and_column, "fichier-trop-gros", "65 536 lignes sur 201 colonnes"),
    ("deux feuilles de 5 millions de cellules", _two_big_sheets, "fichier-trop-gros", "cellules pour l'ensemble des feuilles"),
    ("enregistrement au-delà de la fin", _past_the_end, "fichier-illisible", "classeur .xls endommagé"),
    ("en-tête d'enregistrement tronqué", _truncated_header, "fichier-illisible", "en-tête d'enregistrement tronqué"),
    ("feuille hors du flux", _sheet_outside, "fichier-illisible", "feuille hors du fichier"),
    ("DIMENSIONS de longueur inconnue", _inserted(R(0x0200, bytes(12))), "fichier-illisible", "dimensions de feuille illisibles"),
    ("cellule tronquée", _inserted(R(0x0203, b"\x01\x00")), "fichier-illisible", "cellule tronquée"),
]


@pytest.mark.parametrize(("label", "change", "expected", "phrase"), XLS_HOSTILE, ids=[c[0] for c in XLS_HOSTILE])
def test_hostile_xls_is_refused(tmp_path: Path, label: str, change: Callable[[bytes], bytes], expected: str,
                                phrase: str) -> None:
    from cvg_pipeline.read.workbook import read_workbooks
    from cvg_pipeline.schema.load import load_schema

    path = hostile.save_xls(tmp_path / "ancien.xls", change(hostile.xls_stream()))
    found = check(path)
    assert found is not None and found.code == expected, (label, found)
    assert phrase in found.message, found.message
    if expected == "fichier-illisible":
        assert found.message.endswith("enregistrez-le à nouveau au format .xlsx)."), found.message
    if expected == "fichier-trop-gros" and "ensemble" not in phrase:
        assert "« Salariés »" in found.message
    content, refused = safety.read_checked(path, path.name)
    assert content is None and refused == found
    # what `cvg ingest` does in its own process: the refusal comes back, calamine never sees the file
    [parsed] = read_workbooks([path], load_schema())
    assert [i.code for i in parsed.issues] == [expected]


@pytest.mark.parametrize(
    ("label", "change"),
    [
        ("inchangé", lambda s: s),
        ("cellule en DR65536 (65 536 × 122 cellules, sous la limite)", _inserted(_cell(0x0203, 65535, 121))),
        ("DIMENSIONS de 65 536 × 122", _dimensions(_dim(0, 65536, 0, 122))),
        ("DIMENSIONS vide", _dimensions(_dim(0, 0, 0, 0))),
        ("MULRK ordinaire", _inserted(_mul(0x00BD, 5, 0, 20))),
        ("données après le dernier EOF", lambda s: s + b"\xff\xff\xff\xff"),
    ],
)
def test_ordinary_xls_passes(tmp_path: Path, label: str, change: Callable[[bytes], bytes]) -> None:
    assert check(hostile.save_xls(tmp_path / "ancien.xls", change(hostile.xls_stream()))) is None, label


def test_reporting_xls_passes_and_is_read(tmp_path: Path) -> None:
    """A whole reporting workbook written as .xls (dates, numbers, texts) passes and is read."""
    from cvg_pipeline.read.workbook import read_workbooks
    from cvg_pipeline.schema.load import load_schema
    from tests.builders import structure
    from tests.test_reader import write_xls

    rows = [hostile.valid_row(**{"Identifiant salarié": f"X{i}"}) for i in range(30)]
    header = list(rows[0])
    path = write_xls(tmp_path / "rapport.xls", {
        "Structure": [["Champ", "Valeur"], *[[k, v] for k, v in structure().items()]],
        "Salariés": [header, *[[row[h] for h in header] for row in rows]],
    })
    assert check(path) is None
    [parsed] = read_workbooks([path], load_schema())
    assert parsed.data is not None and parsed.data.height == 30, parsed.issues


def test_xls_duplicate_cells_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One cell written again and again stays in A1 but each record is a cell calamine keeps."""
    monkeypatch.setattr(precheck_ole, "MAX_CELLS", 1000)
    path = hostile.save_xls(tmp_path / "repete.xls", _inserted(_cell(0x0203, 0, 0) * 1001)(hostile.xls_stream()))
    found = check(path)
    assert found is not None and found.code == "fichier-trop-gros" and "contient 1 00" in found.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_dim(0, 10, 0, 3), (10, 3)),
        (_dim(4, 10, 1, 3), (6, 2)),
        (_dim(0, 0, 0, 0), (1, 1)),  # empty sheet
        (_dim(10, 5, 0, 2), (2**32 - 5, 2)),  # last row before the first: calamine's u32 subtraction wraps
        (_dim(0, 3, 300, 4), (3, 4)),  # first column over 0xFF: calamine starts at 0
        (_dim(0, 3, 3, 2), (3, 2)),  # last column before the first: idem
        (struct.pack("<HHHHH", 0, 100, 0, 5, 0), (100, 5)),  # BIFF5 layout
    ],
)
def test_dimensions_as_calamine_reads_them(body: bytes, expected: tuple[int, int]) -> None:
    assert precheck_ole._dimensions(body) == expected
