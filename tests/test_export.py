"""`cvg export` (issue 19.2): the indicators as open data, with the reports' secret statistique.

Fails on main before the commit that adds `cvg export`: the command does not exist (exit 2). The tests run
the real `cvg` in subprocesses on the demo workbooks (examples/aci, examples/historique) and read the files
back with frictionless, polars and openpyxl; values are checked against `cvg indicators`, statuses against
`cvg report --audit --json`.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.secret_reference import exposed

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LYON_2023 = ("--territoire", "lyon", "--annee", "2023")


def cvg(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cvg_pipeline", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def store(examples_store: Path) -> Path:
    """The examples ingested by `cvg init` + `cvg ingest` (tests/networks.py, shared with other modules)."""
    return examples_store


@pytest.fixture(scope="module")
def lyon(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    done = cvg("export", "--store", store, *LYON_2023, "--sortie", out, "--format", "csv,parquet,xlsx", "--json")
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert sorted(Path(p).name for p in said["fichiers"]) == [
        "datapackage.json", "indicateurs.csv", "indicateurs.parquet", "indicateurs.xlsx"]
    assert said["statuts"]["A"] > 0 and said["statuts"]["D"] > 0
    return out


def rows(folder: Path, name: str = "indicateurs.csv") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((folder / name).read_text(encoding="utf-8"), newline="")))


def at(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj[part]
    return obj


def test_datapackage_and_csv_validate_with_frictionless(lyon: Path) -> None:
    from frictionless import Package, Resource, Schema, validate

    report = validate(lyon / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    pack = json.loads((lyon / "datapackage.json").read_text(encoding="utf-8"))
    assert pack["$schema"].startswith("https://datapackage.org/profiles/2.0/")
    assert pack["licenses"] and pack["sources"] and pack["title"]
    fields = pack["resources"][0]["schema"]["fields"]
    assert [f["name"] for f in fields] == ["perimetre", "territoire", "annee", "programme", "indicateur", "modalite",
                                           "valeur", "base", "statut"]
    assert all(f["description"] and f["type"] for f in fields)
    statut = next(f for f in fields if f["name"] == "statut")
    assert set(statut["constraints"]["enum"]) == {"F", "A", "D"} and "secret secondaire" in statut["description"]
    assert pack["resources"][0]["schema"]["missingValues"] == [""]
    alone = Resource(path="indicateurs.csv", basepath=str(lyon), schema=Schema.from_descriptor(pack["resources"][0]["schema"]))
    assert alone.validate().valid
    assert Package(str(lyon / "datapackage.json")).get_resource("indicateurs").read_rows()


@pytest.mark.parametrize("programme", ["CVG", "PHC", "tous"])
def test_every_shown_value_equals_cvg_indicators(store: Path, lyon: Path, programme: str) -> None:
    done = cvg("indicators", "--store", store, *LYON_2023, "--programme", programme)
    assert done.returncode == 0, done.stderr
    ind = json.loads(done.stdout)
    mine = [r for r in rows(lyon) if r["programme"] == programme]
    assert len(mine) > 150
    assert {(r["perimetre"], r["territoire"], r["annee"]) for r in mine} == {("territoire", "lyon", "2023")}
    checked = 0
    for r in mine:
        value = at(ind, r["indicateur"])
        if r["modalite"]:
            value = value[r["modalite"]]
        if isinstance(value, dict):  # a rate
            assert r["base"] in ("", str(value["base"]))
            value = value["n"]
        if r["valeur"] != "":
            assert float(r["valeur"]) == value, r
            checked += 1
        elif value is not None:
            assert r["statut"] in ("A", "D"), r
    assert checked > 100
    assert any(r["indicateur"].startswith("phc.") for r in mine) == (programme == "PHC")


def test_hidden_cells_are_empty_with_the_reports_status(store: Path, lyon: Path) -> None:
    """Each count the report hides (cvg report --audit --json) is hidden in the export with its status."""
    from cvg_pipeline.report.export.statuses import report_key

    done = cvg("report", "--store", store, *LYON_2023, "--programme", "CVG", "--audit", "--json")
    assert done.returncode == 0, done.stderr
    hidden = {c["cle"]: c["statut"] for c in json.loads(done.stdout)["cellules"]}
    mine = [r for r in rows(lyon) if r["programme"] == "CVG"]
    for r in mine:
        assert (r["valeur"] == "") == (r["statut"] != "F") or r["indicateur"].endswith(("moyenne_mois", "mediane_mois"))
    by_key = {report_key(r["indicateur"], r["modalite"]): r for r in mine}
    matched = 0
    for key, statut in hidden.items():
        row = by_key.get(key)
        if row is None:
            continue
        matched += 1
        assert row["valeur"] == "" and row["statut"] != "F", (key, row)
        if row["base"] == "" or not row["indicateur"].startswith(("sorties.taux", "accompagnement.cp")):
            assert row["statut"] == statut or (statut == "D" and row["statut"] == "A"), (key, row)
    assert matched >= 30
    free = [r for r in mine if r["statut"] == "F" and r["valeur"] not in ("", "0")]
    assert all(report_key(r["indicateur"], r["modalite"]) not in hidden for r in free)
    # a rate on fewer than 5 people, or whose count is hidden, has no value
    for r in mine:
        if r["base"] not in ("", "0") and int(r["base"]) < 5:
            assert r["valeur"] == "" and r["statut"] == "A", r


def test_the_report_cells_are_all_mapped(store: Path) -> None:
    """Every count the report publishes is a row of the export (guards REPORT_KEYS against a report that
    renames its cells): only « oui + non » (a rate's base, not a figure of the JSON), the other years and
    territoires (their own rows) and, outside PHC, the PHC block are not."""
    from cvg_pipeline.indicators.compute import Scope, load_indicators
    from cvg_pipeline.report.build import build_report
    from cvg_pipeline.report.export import statuses as ex
    from cvg_pipeline.report.export.table import leaves
    from cvg_pipeline.schema.load import load_schema

    schema = load_schema()
    for programme in ("CVG", "PHC"):
        ind = load_indicators(store, scope=Scope.national(), annee=2023, programme=programme, schema=schema)  # type: ignore[arg-type]
        cells = ex.report_cells(build_report(ind, schema, seuil=5, charts=False))
        mapped: set[str] = set()
        for leaf in leaves(ind, programme):
            key = ex.report_key(leaf.path, leaf.modalite)
            if key is not None:
                mapped.add(key)
                if leaf.kind == "rate":
                    mapped.add(cells.base_of.get(key, ex.RATE_BASES.get(leaf.path, f"{key}.base")))
        missing = {k for k in cells.status if k not in mapped and not k.startswith(("evo.", "terr."))
                   and not k.endswith(".renseigne") and not (programme != "PHC" and k.startswith("phc."))}
        assert not missing
        # a « non renseigné » of 0 is not shown (indicators.md §5.2): its row or column is left out
        zeros = {ex.report_key(leaf.path, leaf.modalite) for leaf in leaves(ind, programme)
                 if "non_renseigne" in (leaf.modalite, leaf.path.rsplit(".", 1)[-1]) and leaf.value == 0}
        assert not {k for k in mapped if k not in cells.status and k not in zeros}


def test_parquet_and_xlsx_hold_the_same_table(lyon: Path) -> None:
    import polars as pl
    from openpyxl import load_workbook

    text = rows(lyon)
    frame = pl.read_parquet(lyon / "indicateurs.parquet")
    assert frame.height == len(text)
    for got, want in zip(frame.iter_rows(named=True), text, strict=True):
        assert got["indicateur"] == want["indicateur"] and (got["modalite"] or "") == want["modalite"]
        assert got["statut"] == want["statut"]
        assert (got["valeur"] is None) == (want["valeur"] == "")
        if got["valeur"] is not None:
            assert got["valeur"] == float(want["valeur"])
    wb = load_workbook(lyon / "indicateurs.xlsx")
    assert wb.sheetnames == ["Lisez-moi", "Indicateurs"]
    sheet = wb["Indicateurs"]
    assert list(sheet.tables) == ["Indicateurs"]
    assert sheet.tables["Indicateurs"].ref == f"A1:I{len(text) + 1}"
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [("" if v is None else str(v)) for v in values[0]] == list(text[0].values())
    readme = " ".join(str(c) for row in wb["Lisez-moi"].iter_rows(values_only=True) for c in row if c)
    assert "secret secondaire" in readme and "statut" in readme


def test_existing_files_are_refused_unless_ecraser(store: Path, tmp_path: Path) -> None:
    (tmp_path / "indicateurs.csv").write_text("mes notes", encoding="utf-8")
    args = ("export", "--store", store, *LYON_2023, "--programme", "PHC", "--sortie", tmp_path)
    done = cvg(*args)
    assert done.returncode == 1 and "existe déjà" in done.stderr and "--ecraser" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["indicateurs.csv"]
    assert (tmp_path / "indicateurs.csv").read_text(encoding="utf-8") == "mes notes"
    again = cvg(*args, "--ecraser")
    assert again.returncode == 0, again.stderr
    assert rows(tmp_path)[0]["perimetre"] == "territoire"
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in tmp_path.iterdir())


def test_non_masque_says_so_and_shows_every_value(store: Path, tmp_path: Path) -> None:
    done = cvg("export", "--store", store, *LYON_2023, "--programme", "CVG", "--sortie", tmp_path, "--non-masque")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "datapackage-non-masque.json", "indicateurs-non-masque.csv", "indicateurs-non-masque.parquet"]
    pack = json.loads((tmp_path / "datapackage-non-masque.json").read_text(encoding="utf-8"))
    assert "NON MASQU" in pack["title"] and "ne pas diffuser" in pack["description"]
    mine = rows(tmp_path, "indicateurs-non-masque.csv")
    hidden = [r for r in mine if r["statut"] != "F"]
    assert hidden and all(r["valeur"] != "" for r in hidden)


def test_default_scope_is_every_perimeter_programme_and_year(store: Path, tmp_path: Path) -> None:
    """Without options: national and each territoire with data, the three programmes, every covered year
    (here with the secret off, to keep the test short: the statuses are tested above)."""
    done = cvg("export", "--store", store, "--sortie", tmp_path, "--seuil-secret", "0", "--json")
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    got = {(r["perimetre"], r["territoire"], r["annee"], r["programme"]) for r in rows(tmp_path)}
    expected = set()
    for perimetre, years in said["annees"].items():
        for year in years:
            for programme in ("CVG", "PHC", "tous"):
                expected.add(("national", "", str(year), programme) if perimetre == "national"
                             else ("territoire", perimetre, str(year), programme))
    assert got == expected
    assert len(said["annees"]["national"]) >= 3 and "2023" in {k[2] for k in got}
    assert {k[1] for k in got} >= {"", "lyon", "paris", "lille"}


def test_one_figure_has_one_status(network70: Path, tmp_path: Path) -> None:
    """Fails before `_same_figures` (same commit): under programme PHC the report declares the phc block's
    accompagné·es, entré·es and sorti·es as cells apart from the effectifs block's, and Lyon's PHC report of
    2020 on the 70-ACI network hides the effectifs' « accompagnés » (s) while showing the phc block's (18):
    the export gave the value in one row and hid it in the other."""
    done = cvg("export", "--store", network70, "--territoire", "lyon", "--annee", "2020", "--programme", "PHC",
               "--sortie", tmp_path)
    assert done.returncode == 0, done.stderr
    by = {r["indicateur"]: r for r in rows(tmp_path) if not r["modalite"]}
    from cvg_pipeline.report.export.statuses import SAME_FIGURES

    for a, b in SAME_FIGURES:
        if a not in by:  # a figure of the spec the indicators do not compute yet
            continue
        assert by[a]["statut"] == by[b]["statut"], (by[a], by[b])
        assert by[a]["valeur"] == by[b]["valeur"]
    assert by["effectifs.accompagnes"]["statut"] == "D"


def test_a_report_whose_solver_ends_unknown_is_audited(network70: Path) -> None:
    """Fails on main before the fix in secret/verify.py (same commit as `cvg export`): on the generated
    70-ACI network, the audit of Strasbourg's CVG report of 2021 met HiGHS's « Unknown » status (a warm
    start from the previous basis) and `cvg report` — so `cvg export`, which builds every report — ended in
    « erreur inattendue (RuntimeError) ». The solver now solves afresh before giving up."""
    done = cvg("report", "--store", network70, "--territoire", "strasbourg", "--programme", "CVG", "--annee", "2021",
               "--audit", "--json")
    assert done.returncode == 0, done.stderr
    cells = json.loads(done.stdout)["cellules"]
    assert cells and all(c["protegee"] for c in cells)


def test_protect_audits_only_the_cells_not_yet_protected(store: Path) -> None:
    """Fails on main before the change to secret/suppress.protect (same commit): every round re-solved the
    interval of every hidden cell of a changed component, though a cell found protected stays protected
    (each change only takes a fact away from the reader) — `cvg export` builds ~150 reports and spent
    minutes there. The statuses and the final audit are those of a full re-audit at every round (the former
    loop, kept here as the reference), with fewer linear programs solved."""
    from cvg_pipeline.indicators.compute import Scope, load_indicators
    from cvg_pipeline.report import build as report
    from cvg_pipeline.report.secret import suppress
    from cvg_pipeline.report.secret import verify as v
    from cvg_pipeline.report.secret.model import FREE, Model
    from cvg_pipeline.schema.load import load_schema

    def reference(model: Model, audit: bool = True) -> dict[str, v.Interval]:
        order = {k: i for i, k in enumerate(model.cells)}
        suppress.primary(model)
        suppress.close(model, order)
        found = v.intervals(model)
        for _ in range(suppress.MAX_ROUNDS):
            bad = exposed(model, found)
            if not bad:
                break
            root, useful = v.components(model, model.all_relations())
            touching = suppress._touching(model)
            done: set[str] = set()
            for key in sorted(bad, key=order.__getitem__):
                if root[key] not in done and suppress._choose(model, key, root, useful, order, touching):
                    done.add(root[key])
            if not done:
                break
            suppress.close(model, order)
            found = v.intervals(model)
        return found

    schema = load_schema()
    ind = load_indicators(store, scope=Scope.of_territoire("lyon"), annee=2023, programme="tous", schema=schema)
    solved = [0]
    real_solve = v._solve

    def counting(model: Model, unknowns: list[str], relations: list[Any], targets: list[str],
                 relaxed: bool = False) -> dict[str, v.Interval]:
        solved[0] += 0 if relaxed else len(targets)
        return real_solve(model, unknowns, relations, targets, relaxed)

    v._solve = counting  # type: ignore[assignment]
    real_protect = suppress.protect
    try:
        fast = report.build_report(ind, schema, seuil=5, charts=False)
        fast_solves, solved[0] = solved[0], 0
        suppress.protect = reference  # type: ignore[assignment]
        slow = report.build_report(ind, schema, seuil=5, charts=False)
    finally:
        v._solve = real_solve  # type: ignore[assignment]
        suppress.protect = real_protect  # type: ignore[assignment]
    assert fast.masquees == slow.masquees and len(fast.masquees) > 50
    assert all(c.protegee for c in fast.masquees) and FREE not in {c.statut for c in fast.masquees}
    assert fast_solves < solved[0] * 0.8, (fast_solves, solved[0])


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("--format", "pdf"), 2, "format inconnu"),
        (("--territoire", "lyyon"), 2, "territoire inconnu"),
        (("--annee", "2010"), 2, "aucune donnée pour l'année 2010"),
        (("--national", "--territoire", "lyon"), 2, "un seul périmètre"),
        (("--sortie", "{file}"), 1, "n'est pas un dossier"),
    ],
)
def test_bad_options_are_said_in_french_and_write_nothing(store: Path, tmp_path: Path, args: tuple[str, ...],
                                                          code: int, said: str) -> None:
    a_file = tmp_path / "un-fichier"
    a_file.write_text("x", encoding="utf-8")
    out = tmp_path / "export"
    args = tuple(a.replace("{file}", str(a_file)) for a in args)
    done = cvg("export", "--store", store, *(args if "--sortie" in args else (*args, "--sortie", out)))
    assert done.returncode == code, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() and a_file.read_text(encoding="utf-8") == "x"


def test_one_query_for_every_perimeter_gives_each_perimeters_own_indicators(store: Path) -> None:
    """Fails before `indicators.compute_indicators_many` (issue 19, export speed): `cvg export` ran one
    indicators query per perimeter, year and programme. The grouped query (GROUPING SETS by territoire)
    must give, for the national scope and every territoire — those without any file included — exactly the
    JSON of one `compute_indicators` call each (each programme of 2023, and 2021 for CVG)."""
    from cvg_pipeline.indicators.compute import Scope, compute_indicators, compute_indicators_many, to_json
    from cvg_pipeline.report.export.table import PROGRAMMES
    from cvg_pipeline.schema.load import load_schema
    from cvg_pipeline.store.db import open_store

    schema = load_schema()
    scopes = [Scope.national(), *(Scope.of_territoire(t.slug) for t in schema.territoires)]
    with open_store(store, read_only=True) as con:
        for annee, programme in [(2021, "CVG"), *((2023, p) for p in PROGRAMMES)]:
            joint = compute_indicators_many(con, schema, scopes=scopes, annee=annee, programme=programme)
            alone = [compute_indicators(con, schema, scope=s, annee=annee, programme=programme) for s in scopes]
            assert [to_json(i) for i in joint] == [to_json(i) for i in alone]
    assert any(not i["snapshots"] for i in joint) and any(i["snapshots"] for i in joint[1:])


def test_the_worker_process_gives_the_same_statuses_and_one_that_dies_loses_no_report(store: Path) -> None:
    """Fails before the worker (issue 19, export speed: the reports' secret is shared with a process on the
    other core): the statuses computed with the worker equal those computed here, the worker computing some
    of them; and when the worker is killed while it holds a report, that report is done here — none is
    lost, none differs."""
    import os
    import signal
    import time

    from cvg_pipeline.indicators.compute import Scope, compute_indicators
    from cvg_pipeline.report.export import worker as ex
    from cvg_pipeline.report.export.statuses import secret_cells
    from cvg_pipeline.schema.load import load_schema
    from cvg_pipeline.store.db import open_store

    schema = load_schema()
    with open_store(store, read_only=True) as con:
        inds = {(s.territoire, p): compute_indicators(con, schema, scope=s, annee=2023, programme=p)
                for s in (Scope.national(), Scope.of_territoire("lyon")) for p in ("CVG", "PHC")}
    here = {key: secret_cells(ind, schema, 5) for key, ind in inds.items()}
    assert any(s != "F" for cells in here.values() for s in cells.status.values())

    def shared(helper: ex.Worker, kill: bool) -> tuple[dict[object, object], set[object], set[object]]:
        """The cells of every report with `helper`, the reports it sent back, those it held when killed."""
        from_worker: set[object] = set()
        held: set[object] = set()
        reports = ex.Reports(schema, 5, helper)
        real = reports.returned

        def counting(key: object, cells: Any) -> None:
            from_worker.add(key)
            real(key, cells)

        reports.returned = counting  # type: ignore[method-assign]
        for key, ind in inds.items():
            reports.add(key, ind)
        if kill:
            for _ in range(1200):  # its start waits for the fork server
                with reports.cond:
                    if reports.lent:
                        break
                time.sleep(0.05)
            assert reports.lent and helper.process.pid is not None
            os.kill(helper.process.pid, signal.SIGKILL)
            helper.thread.join(timeout=60)
            held = set(reports.lent)  # taken, never to be sent back
        return reports.finish(), from_worker, held

    helper = ex.Worker.start(schema.path, 5)
    assert helper is not None
    try:
        got, from_worker, _ = shared(helper, kill=False)
        assert got == here and from_worker
    finally:
        helper.close()
    doomed = ex.Worker.start(schema.path, 5)
    assert doomed is not None
    try:
        got, _, held = shared(doomed, kill=True)
        assert held and got == here
    finally:
        doomed.close()


def test_export_with_and_without_the_worker_is_the_same_table(store: Path) -> None:
    """Fails before `build_export(worker=...)` (issue 19): the rows — values and statuses — do not depend on
    which process built which report, though the worker takes each (year, programme)'s reports while the
    next ones are computed (national and Lyon over two years here; every perimeter and year in `make
    soak`)."""
    from cvg_pipeline.report.export.cube import build_export
    from cvg_pipeline.report.export.files import csv_bytes
    from cvg_pipeline.report.export.worker import Reports
    from cvg_pipeline.schema.load import load_schema
    from tests.sizes import SOAK

    schema = load_schema()
    scope: dict[str, Any] = {} if SOAK else {"territoires": ["lyon"], "annees": [2022, 2023]}
    from_worker: list[object] = []
    real = Reports.returned

    def counting(self: Reports, key: object, cells: Any) -> None:
        from_worker.append(key)
        real(self, key, cells)

    Reports.returned = counting
    try:
        shared = build_export(store, schema, worker=True, **scope)
    finally:
        Reports.returned = real
    alone = build_export(store, schema, worker=False, **scope)
    assert from_worker, "the worker did none of the reports"
    assert csv_bytes(shared.rows) == csv_bytes(alone.rows) and len(alone.rows) > 1000
    assert {r.statut for r in alone.rows} == {"F", "A", "D"}
