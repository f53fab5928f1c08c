"""examples/generate.py: deterministic, the committed examples are its output, and the network is what the
demo and the reports need (ACI, territoires, programmes, every exit motif, spec rules, planted errors)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from openpyxl import load_workbook

from cvg_pipeline.schema.load import Schema, load_schema

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
WORKBOOKS = ("*.xlsx", "*.ods")


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cvg_examples_generate", EXAMPLES / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


gen_module = load_generator()


def workbooks(root: Path) -> list[Path]:
    """The example workbooks under root (not the annotated `…-erreurs.xlsx` copies `cvg verifier` writes)."""
    return sorted(
        p.relative_to(root)
        for pattern in WORKBOOKS
        for p in root.glob(f"*/{pattern}")
        if not p.name.endswith("-erreurs.xlsx")
    )


def read_ods(path: Path) -> dict[str, list[list[Any]]]:
    from odf.namespaces import OFFICENS, TABLENS
    from odf.opendocument import load
    from odf.table import Table, TableCell, TableRow

    sheets: dict[str, list[list[Any]]] = {}
    for table in load(str(path)).spreadsheet.getElementsByType(Table):
        rows = []
        for tr in table.getElementsByType(TableRow):
            row: list[Any] = []
            for tc in tr.getElementsByType(TableCell):
                kind = tc.attributes.get((OFFICENS, "value-type"))
                repeat = int(tc.attributes.get((TABLENS, "number-columns-repeated"), 1))
                value: Any = None
                if kind == "date":
                    value = date.fromisoformat(tc.attributes[(OFFICENS, "date-value")][:10])
                elif kind == "float":
                    value = float(tc.attributes[(OFFICENS, "value")])
                elif kind == "boolean":
                    value = tc.attributes[(OFFICENS, "boolean-value")] == "true"
                elif kind == "string":
                    value = "".join(str(p) for p in tc.childNodes)
                row.extend([value] * repeat)
            rows.append(row)
        sheets[table.getAttribute("name")] = rows
    return sheets


def read_xlsx(path: Path) -> dict[str, list[list[Any]]]:
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        out[ws.title] = [
            [v.date() if isinstance(v, datetime) else v for v in row] for row in ws.iter_rows(values_only=True)
        ]
    return out


def cells(path: Path) -> dict[str, list[list[Any]]]:
    """Every sheet's cell values (dates as dates), trailing empty cells dropped."""
    sheets = read_ods(path) if path.suffix == ".ods" else read_xlsx(path)
    return {name: [_trim(r) for r in rows] for name, rows in sheets.items()}


def _trim(row: list[Any]) -> list[Any]:
    while row and row[-1] is None:
        row = row[:-1]
    return row


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    target = tmp_path_factory.mktemp("exemples")
    facts = gen_module.write_examples(target)
    return target, facts


# -- determinism and the committed files -----------------------------------------------------------------


def test_two_runs_give_the_same_files(fresh: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    first, _ = fresh
    gen_module.write_examples(tmp_path)
    assert workbooks(tmp_path) == workbooks(first)
    for rel in workbooks(first):
        assert cells(tmp_path / rel) == cells(first / rel), rel
        if rel.suffix == ".xlsx":  # odfpy's namespace declarations depend on what the process loaded before
            assert (tmp_path / rel).read_bytes() == (first / rel).read_bytes(), f"{rel}: not byte-stable"


def test_committed_examples_are_the_generator_output(fresh: tuple[Path, dict[str, Any]]) -> None:
    target, _ = fresh
    assert workbooks(EXAMPLES) == workbooks(target), "run `make examples` and commit the result"
    for rel in workbooks(target):
        assert cells(EXAMPLES / rel) == cells(target / rel), f"{rel} differs: run `make examples`"
    assert (EXAMPLES / "LISEZMOI.md").read_text(encoding="utf-8") == (target / "LISEZMOI.md").read_text(encoding="utf-8")


def test_examples_are_small() -> None:
    sizes = [(EXAMPLES / rel).stat().st_size for rel in workbooks(EXAMPLES)]
    assert all(s < 100_000 for s in sizes)
    assert sum(sizes) < 1_000_000


def test_layout(fresh: tuple[Path, dict[str, Any]]) -> None:
    target, _ = fresh
    names = [str(p) for p in workbooks(target)]
    assert any(n.startswith("aci/") and n.endswith(".ods") for n in names)
    assert sum(n.startswith("historique/") for n in names) >= 2
    assert 2 <= sum(n.startswith("erreurs/") for n in names) <= 3


# -- reading the files back with the schema (like ingest, in miniature) ----------------------------------


def find(schema: Schema, sheets: dict[str, list[list[Any]]], which: str) -> tuple[str, list[list[Any]]]:
    spec = schema.structure_sheet if which == "structure" else schema.salaries_sheet
    (name,) = [n for n in sheets if spec.matches(n)]
    return name, sheets[name]


def header_row(schema: Schema, rows: list[list[Any]]) -> int:
    for i, row in enumerate(rows[: schema.header_search_rows]):
        known = [c for c in row if isinstance(c, str) and schema.match_header(c).kind in ("column", "birth_date")]
        if len(known) >= schema.header_min_labels:
            return i
    raise AssertionError("no header row")


def structure_values(schema: Schema, rows: list[list[Any]]) -> dict[str, Any]:
    out = {}
    for row in rows[1:]:
        fld = schema.match_structure_field(str(row[0]))
        assert fld is not None, row[0]
        out[fld.name] = row[1] if len(row) > 1 else None
    return out


def salaries_columns(schema: Schema, rows: list[list[Any]]) -> tuple[int, dict[str, int], list[str]]:
    h = header_row(schema, rows)
    columns: dict[str, int] = {}
    identifiers = []
    for idx, text in enumerate(rows[h]):
        if not isinstance(text, str):
            continue
        match = schema.match_header(text)
        if match.kind in ("column", "birth_date") and match.column is not None:
            assert match.column.name not in columns, f"two headers for {match.column.name}"
            columns[match.column.name] = idx
        elif match.kind == "identifier":
            identifiers.append(text)
    return h, columns, identifiers


@pytest.fixture(scope="module")
def network(schema: Schema) -> list[dict[str, Any]]:
    """What the committed aci/ files say, read back through the schema."""
    out = []
    for rel in workbooks(EXAMPLES):
        if rel.parts[0] != "aci":
            continue
        sheets = cells(EXAMPLES / rel)
        _, st = find(schema, sheets, "structure")
        fields = structure_values(schema, st)
        _, sal = find(schema, sheets, "salaries")
        h, columns, identifiers = salaries_columns(schema, sal)
        data = [r for r in sal[h + 1 :] if any(v is not None for v in r)]

        def col(name: str, data: list[list[Any]] = data, columns: dict[str, int] = columns) -> list[Any]:
            i = columns[name]
            return [r[i] if i < len(r) else None for r in data]

        programme = schema.domains["programme"]
        motifs = schema.domains["motif_sortie"]
        territoire = schema.match_territoire(str(fields["territoire"]))
        assert territoire is not None, fields["territoire"]
        out.append({
            "fichier": rel.name,
            "territoire": territoire.slug,
            "programmes": {programme.match(str(v)).label for v in col("programme")},  # type: ignore[union-attr]
            "motifs": [motifs.match(str(v)) for v in col("motif_sortie") if v is not None],
            "identifiers": identifiers,
            "rows": len(data),
            "sheets": list(sheets),
        })
    return out


def test_network_facts(network: list[dict[str, Any]], schema: Schema) -> None:
    assert len(network) >= 6
    territoires = Counter(a["territoire"] for a in network)
    assert len(territoires) >= 4
    assert territoires["lyon"] >= 2
    assert any(a["programmes"] == {"PHC"} for a in network), "a PHC-only ACI"
    assert any(a["programmes"] == {"CVG", "PHC"} for a in network)
    assert any(a["programmes"] == {"CVG"} for a in network)
    assert any(a["identifiers"] == ["Nom", "Prénom"] for a in network), "fake names in a Nom / Prénom column"
    assert sum(a["rows"] for a in network) >= 200


def test_every_exit_motif_and_category(network: list[dict[str, Any]], schema: Schema) -> None:
    motifs = [m for a in network for m in a["motifs"]]
    assert None not in motifs, "every motif written resolves through the schema"
    assert {m.label for m in motifs} == set(schema.domains["motif_sortie"].labels)
    assert {m.category for m in motifs} == {c.key for c in schema.exit_categories}


def test_every_value_written_resolves(schema: Schema) -> None:
    """Headers, categorical values and Oui/Non spellings of the aci/ and historique/ files all match."""
    for rel in workbooks(EXAMPLES):
        if rel.parts[0] == "erreurs":
            continue
        sheets = cells(EXAMPLES / rel)
        _, sal = find(schema, sheets, "salaries")
        h, columns, _ = salaries_columns(schema, sal)
        assert {c.name for c in schema.columns if c.required} <= set(columns), rel
        for name, idx in columns.items():
            column = schema.column(name)
            for row in sal[h + 1 :]:
                value = row[idx] if idx < len(row) else None
                if value is None:
                    continue
                if column.type == "cat":
                    assert schema.domain_of(column).match(str(value)) is not None, (rel, name, value)
                elif column.type == "bool" and not isinstance(value, bool):
                    assert schema.parse_bool(str(value)) is not None, (rel, name, value)


# -- the canonical rows obey every rule of the spec ------------------------------------------------------


def check_rules(schema: Schema, rows: list[dict[str, Any]], arrete: date) -> None:
    exit_block = [c.name for c in schema.columns if c.exit_only]
    by_id: dict[str, list[tuple[date, date | None]]] = {}
    for r in rows:
        entree, sortie = r["date_entree"], r["date_sortie"]
        assert date(2010, 1, 1) <= entree <= arrete
        assert 16 <= entree.year - r["annee_naissance"] <= 80
        for col in schema.columns:
            if col.required:
                assert r.get(col.name) is not None, col.name
            if col.min is not None and r.get(col.name) is not None:
                assert col.min <= r[col.name] <= (col.max or 1e9), col.name
        if sortie is None:
            assert all(r.get(name) is None for name in exit_block), [n for n in exit_block if r.get(n) is not None]
        else:
            assert entree <= sortie <= arrete
            for col in schema.columns:
                if col.rule == "si_sortie":
                    assert r.get(col.name) is not None, col.name
        for col in schema.columns:
            if col.only_if is not None and r.get(col.name) is not None:
                assert r[col.only_if] is True, (col.name, col.only_if)
        by_id.setdefault(r["id_salarie"], []).append((entree, sortie))
    for spans in by_id.values():
        spans.sort()
        assert len({s[0] for s in spans}) == len(spans), "duplicate id + entry date"
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end is not None and end < start, "overlapping parcours"


def test_examples_obey_the_spec_rules(fresh: tuple[Path, dict[str, Any]], schema: Schema) -> None:
    _, facts = fresh
    for spec, rows in facts["aci"] + facts["historique"]:
        check_rules(schema, rows, spec.date_arrete)
        assert gen_module.luhn_ok(spec.siret) and len(spec.siret) == 14


def test_history_is_an_earlier_cumulative_snapshot(fresh: tuple[Path, dict[str, Any]]) -> None:
    _, facts = fresh
    latest = {spec.key: rows for spec, rows in facts["aci"]}
    for old_spec, old_rows in facts["historique"]:
        new_rows = latest[old_spec.key]
        new = {(r["id_salarie"], r["date_entree"]): r for r in new_rows}
        assert len(old_rows) < len(new_rows)
        for r in old_rows:
            later = new[(r["id_salarie"], r["date_entree"])]  # nothing disappears
            if r["date_sortie"] is not None:
                assert later["date_sortie"] == r["date_sortie"]


def test_proportions_close_to_the_2023_report(schema: Schema) -> None:
    """On a generated network of 70 ACI (rows only, nothing written): the report's orders of magnitude."""
    import random

    gen = gen_module.Generator(schema)
    rows = []
    for spec in gen_module.bench_network(70, gen_module.SEED):
        rows += gen_module.snapshot(gen.parcours(spec, random.Random(spec.key)), spec.date_arrete, gen)
    assert 5000 <= len(rows) <= 7000
    cvg = [r for r in rows if r["programme"] == "cvg"]
    exits = [r for r in cvg if r["date_sortie"] is not None]
    cats = Counter(gen.motif_category[r["motif_sortie"]] for r in exits)
    dynamic = {c.key for c in schema.exit_categories if c.dynamic}
    non_neutral = len(exits) - cats["sortie_neutre"]
    assert 0.43 <= sum(cats[k] for k in dynamic) / non_neutral <= 0.55  # report: 49 %
    assert 0.15 <= cats["sortie_neutre"] / len(exits) <= 0.25  # report: 20 %
    share = lambda key, value: sum(r[key] == value for r in cvg) / len(cvg)  # noqa: E731
    assert 0.38 <= share("nationalite", "francaise") <= 0.52  # 45 %
    assert 0.44 <= share("rsa", True) <= 0.60  # 51 %
    assert 0.20 <= share("sexe", "femme") <= 0.35
    unstable = sum(gen.rank[r["logement_entree"]] <= 2 for r in cvg) / len(cvg)
    assert 0.42 <= unstable <= 0.56  # 49 %


# -- the files with errors -------------------------------------------------------------------------------


def test_planted_errors_are_where_the_readme_says(fresh: tuple[Path, dict[str, Any]], schema: Schema) -> None:
    target, facts = fresh
    planted = facts["erreurs"]
    assert {e.attendu for e in planted} >= {"date-invalide", "valeur-inconnue", "colonne-manquante",
                                            "siret-invalide", "territoire-inconnu"}
    readme = (target / "LISEZMOI.md").read_text(encoding="utf-8")
    for e in planted:
        assert f"`{e.fichier}` | {e.feuille} | {e.cellule or '—'} |" in readme
        wb = load_workbook(target / "erreurs" / e.fichier)
        ws = wb[e.feuille]
        if e.cellule:
            assert str(ws[e.cellule].value) == e.valeur
            header_cell = ws.cell(row=1, column=ws[e.cellule].column) if e.feuille == "Salariés" else ws.cell(
                row=ws[e.cellule].row, column=1)
            assert header_cell.value == e.colonne
        else:
            assert e.colonne not in [c.value for c in ws[1]]
    motif = next(e for e in planted if e.attendu == "valeur-inconnue")
    assert schema.domains["motif_sortie"].match(motif.valeur) is None
    territoire = next(e for e in planted if e.attendu == "territoire-inconnu")
    assert schema.match_territoire(territoire.valeur) is None
    siret = next(e for e in planted if e.attendu == "siret-invalide")
    assert len(siret.valeur) == 14 and not gen_module.luhn_ok(siret.valeur)


# -- benchmark networks ----------------------------------------------------------------------------------


def test_bench_network(tmp_path: Path, schema: Schema) -> None:
    assert gen_module.main(["--aci", "3", "--sortie", str(tmp_path), "--jobs", "1"]) == 0
    files = sorted(tmp_path.glob("*.xlsx"))
    assert len(files) == 3
    sheets = cells(files[0])
    _, sal = find(schema, sheets, "salaries")
    assert sal[0] == [c.label for c in schema.columns]
    assert 60 <= len(sal) - 1 <= 120
    again = tmp_path / "encore"
    gen_module.write_bench(3, again, jobs=1)
    assert [cells(again / f.name) for f in files] == [cells(f) for f in files]


def test_bench_requires_a_destination(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        gen_module.main(["--aci", "5"])
    assert exc.value.code == 2
    assert "--sortie" in capsys.readouterr().err


# -- through the real reader and validation (`cvg verifier`) ---------------------------------------------


def test_cvg_verifier_accepts_the_examples_and_locates_the_planted_errors(
    fresh: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from cvg_pipeline.cli import app

    _, facts = fresh
    runner = CliRunner()
    folders = [str(EXAMPLES / "aci"), str(EXAMPLES / "historique")]
    good = runner.invoke(app, ["verifier", "--json", "--erreurs", str(tmp_path), *folders])
    assert good.exit_code == 0, good.output
    report = json.loads(good.stdout)
    assert len(report["fichiers"]) == len([p for p in workbooks(EXAMPLES) if p.parts[0] != "erreurs"])
    assert {f["statut"] for f in report["fichiers"]} == {"valide"}

    bad = runner.invoke(app, ["verifier", "--json", "--erreurs", str(tmp_path), str(EXAMPLES / "erreurs")])
    assert bad.exit_code == 1
    found = {
        (f["fichier"], p["feuille"], f"{p['lettre'] or ''}{p['ligne'] or ''}", p["code"])
        for f in json.loads(bad.stdout)["fichiers"]
        for p in f["problemes"]
    }
    for e in facts["erreurs"]:
        assert (e.fichier, e.feuille, e.cellule, e.attendu) in found, e
