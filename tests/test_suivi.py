"""`cvg suivi`: the analyst's month, with real workbooks and `cvg` commands run through cli.main (issue 18).

Every test here failed on main before `cvg suivi` existed (no command, no `refus` table, no record of the
columns a file had).
"""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests import inprocess
from tests.builders import SIRET, SIRET_2, open_row, structure, valid_row, write_workbook

REFUGIE = "Réfugié·e ou protection subsidiaire"


def cvg(*args: str | Path, check_codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    """`cvg ARGS` through cli.main, in this process (tests/inprocess.py: what is checked here is the commands'
    output, not the process)."""
    proc = inprocess.run(*args, env={"COLUMNS": "200"})
    assert proc.returncode in check_codes, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc


def new_store(tmp_path: Path) -> Path:
    store = tmp_path / "cvg.duckdb"
    from cvg_pipeline.store.db import create_store

    create_store(store)
    return store


def suivi(store: Path, *args: str) -> dict[str, Any]:
    proc = cvg("suivi", "--store", store, "--json", *args)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def by_siret(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["siret"]: a for a in payload["aci"]}


def test_a_refused_then_corrected_aci_goes_from_a_corriger_to_a_jour(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    bad = write_workbook(
        tmp_path / "recus" / "atelier.xlsx",
        rows=[valid_row(), valid_row(**{"Identifiant salarié": "A002", "Date de sortie": "31/02/2023"})],
    )
    cvg("ingest", "--store", store, "--erreurs", tmp_path / "erreurs", bad, check_codes=(1,))
    before = by_siret(suivi(store, "--mois", "2024-01"))[SIRET]
    assert before["statut"] == "a_corriger"
    assert before["derniere_date_arrete"] is None  # nothing accepted yet
    assert before["nom"] == "Atelier Test" and before["territoire"] == "lyon"
    [refus] = before["refus"]
    assert refus["fichier"] == "atelier.xlsx"
    assert refus["codes"] == {"date-invalide": 1}
    assert refus["classeur_erreurs"] == "atelier-erreurs.xlsx"
    assert refus["date_arrete"] == "2023-12-31"

    good = write_workbook(tmp_path / "recus2" / "atelier.xlsx", rows=[valid_row(), valid_row(**{"Identifiant salarié": "A002"})])
    cvg("ingest", "--store", store, good)
    after = by_siret(suivi(store, "--mois", "2024-01"))[SIRET]
    assert after["statut"] == "a_jour"
    assert after["refus"] == []
    assert after["derniere_date_arrete"] == "2023-12-31"
    assert after["lignes"] == 2


def test_an_older_accepted_file_does_not_close_a_newer_refusal(tmp_path: Path) -> None:
    """A refusal of the December file is closed by an accepted December (or later) file, not November's."""
    store = new_store(tmp_path)
    bad = write_workbook(tmp_path / "a" / "dec.xlsx", rows=[valid_row(**{"Sexe": "Inconnu"})])
    cvg("ingest", "--store", store, bad, check_codes=(1,))
    november = write_workbook(
        tmp_path / "b" / "nov.xlsx",
        rows=[valid_row(**{"Date de sortie": date(2023, 6, 30)})],
        structure_fields=structure(**{"Date d'arrêté": date(2023, 11, 30)}),
    )
    cvg("ingest", "--store", store, november)
    aci = by_siret(suivi(store, "--mois", "2024-01"))[SIRET]
    assert aci["statut"] == "a_corriger"
    assert aci["derniere_date_arrete"] == "2023-11-30"


@pytest.mark.parametrize(
    ("arrete", "mois", "statut", "retard"),
    [
        (date(2023, 12, 31), "2024-01", "a_jour", None),
        (date(2024, 1, 15), "2024-01", "a_jour", None),  # later than expected: still à jour
        (date(2023, 11, 30), "2024-01", "en_retard", 1),
        (date(2023, 10, 31), "2024-01", "en_retard", 2),
        (date(2023, 12, 15), "2024-01", "en_retard", 1),  # mid-month: short of the 31st, one month late
        (date(2023, 6, 30), "2024-03", "en_retard", 8),
    ],
)
def test_late_acis_are_en_retard_by_the_right_number_of_months(
    tmp_path: Path, arrete: date, mois: str, statut: str, retard: int | None
) -> None:
    """Through the library (the command is exercised by the other tests): same store, same month status."""
    from cvg_pipeline.ingest.run import ingest_paths
    from cvg_pipeline.ingest.suivi import month_status

    store = new_store(tmp_path)
    path = write_workbook(
        tmp_path / "aci.xlsx",
        rows=[open_row(**{"Date d'entrée": date(2023, 1, 2)})],
        structure_fields=structure(**{"Date d'arrêté": arrete}),
    )
    assert ingest_paths([path], store, today=date(2024, 6, 1)).exit_code == 0
    [aci] = month_status(store, mois=mois).aci
    assert (aci.siret, aci.statut, aci.retard_mois) == (SIRET, statut, retard)


def test_an_absent_column_is_absent_and_a_blank_one_is_empty_not_absent(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    without = write_workbook(tmp_path / "a" / "sans.xlsx", rows=[valid_row(), valid_row(**{"Identifiant salarié": "B"})])
    blank = write_workbook(
        tmp_path / "b" / "vide.xlsx",
        rows=[valid_row(**{REFUGIE: None}), valid_row(**{"Identifiant salarié": "B", REFUGIE: None})],
        header=[*valid_row().keys(), REFUGIE],
        structure_fields=structure(SIRET=SIRET_2, **{"Nom de la structure": "Atelier Deux"}),
    )
    cvg("ingest", "--store", store, without, blank)
    acis = by_siret(suivi(store, "--mois", "2024-01"))
    assert REFUGIE in acis[SIRET]["colonnes_absentes"]
    assert REFUGIE not in acis[SIRET]["colonnes_peu_remplies"]
    assert REFUGIE not in acis[SIRET_2]["colonnes_absentes"]
    assert REFUGIE in acis[SIRET_2]["colonnes_peu_remplies"]
    assert acis[SIRET_2]["completude"] > acis[SIRET]["completude"]
    assert 0 < acis[SIRET]["completude"] < 1


def test_a_refused_file_whose_structure_cannot_be_read_is_non_attribue(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    nameless = write_workbook(tmp_path / "sans-structure.xlsx", rows=[valid_row()], structure_sheet=None)
    cvg("ingest", "--store", store, nameless, check_codes=(1,))
    payload = suivi(store, "--mois", "2024-01")
    assert payload["aci"] == []
    [ref] = payload["non_attribues"]
    assert ref["fichier"] == "sans-structure.xlsx"
    assert ref["codes"]
    text = cvg("suivi", "--store", store, "--mois", "2024-01").stdout
    assert "sans-structure.xlsx" in text and "SIRET illisible" in text


def test_no_cell_of_a_refused_file_reaches_the_store(tmp_path: Path) -> None:
    """The refusal keeps the file's sender and error codes only: no identifier, no cell value."""
    store = new_store(tmp_path)
    secrets_ = ["ZQX-IDENT-7781", "Observations-confidentielles-4412", "31/02/2023"]
    bad = write_workbook(
        tmp_path / "fuite.xlsx",
        rows=[
            valid_row(**{"Identifiant salarié": secrets_[0], "Date de sortie": secrets_[2]}),
            valid_row(**{"Identifiant salarié": "X2", "Observations": secrets_[1], "Sexe": "Licorne-5521"}),
        ],
    )
    cvg("ingest", "--store", store, bad, check_codes=(1,))
    con = duckdb.connect(str(store), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM refus").fetchone() == (1,)
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        dump = "\n".join(
            str(row) for t in tables for row in con.execute(f'SELECT * FROM "{t}"').fetchall()
        )
    finally:
        con.close()
    for value in [*secrets_, "Licorne-5521"]:
        assert value not in dump
    raw = store.read_bytes()
    for value in [*secrets_, "Licorne-5521"]:
        assert value.encode() not in raw


def test_relances_are_written_for_late_and_refused_acis_without_overwriting(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    late = write_workbook(
        tmp_path / "a" / "retard.xlsx",
        rows=[valid_row()],
        structure_fields=structure(**{"Date d'arrêté": date(2023, 9, 30)}),
    )
    bad = write_workbook(
        tmp_path / "b" / "erreur.xlsx",
        rows=[valid_row(**{"Sexe": "Inconnu"})],
        structure_fields=structure(SIRET=SIRET_2, **{"Nom de la structure": "Atelier Deux"}),
    )
    cvg("ingest", "--store", store, late)
    cvg("ingest", "--store", store, bad, check_codes=(1,))
    dossier = tmp_path / "relances"
    dossier.mkdir()
    existing = dossier / "relance-2024-01-atelier_test.txt"
    existing.write_text("ne pas écraser", encoding="utf-8")
    payload = json.loads(cvg("suivi", "--store", store, "--mois", "2024-01", "--json", "--relances", dossier).stdout)
    written = [Path(p) for p in payload["relances"]]
    assert len(written) == 2
    assert existing.read_text(encoding="utf-8") == "ne pas écraser"
    texts = {p.name: p.read_text(encoding="utf-8") for p in written}
    assert set(texts) == {"relance-2024-01-atelier_test-2.txt", "relance-2024-01-atelier_deux.txt"}
    assert "30 septembre 2023" in texts["relance-2024-01-atelier_test-2.txt"]
    assert "3 mois de retard" in texts["relance-2024-01-atelier_test-2.txt"]
    deux = texts["relance-2024-01-atelier_deux.txt"]
    assert "erreur-erreurs.xlsx" in deux and "« erreur.xlsx »" in deux
    for p in written:
        assert p.stat().st_mode & 0o777 == 0o600


def test_summary_line_and_territoire_filter(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    lyon = write_workbook(tmp_path / "a" / "lyon.xlsx", rows=[valid_row()])
    lille = write_workbook(
        tmp_path / "b" / "lille.xlsx",
        rows=[valid_row()],
        structure_fields=structure(
            SIRET=SIRET_2, Territoire="Métropole Européenne de Lille", **{"Date d'arrêté": date(2023, 10, 31)}
        ),
    )
    cvg("ingest", "--store", store, lyon, lille)
    text = cvg("suivi", "--store", store, "--mois", "2024-01").stdout
    assert "1 à jour, 1 en retard, 0 à corriger." in text
    only = suivi(store, "--mois", "2024-01", "--territoire", "lille")
    assert [a["siret"] for a in only["aci"]] == [SIRET_2]
    assert only["mois"] == "2024-01"


@pytest.mark.parametrize("mois", ["2024-13", "mars 2024", "2024", "24-03"])
def test_a_bad_month_is_a_usage_error(tmp_path: Path, mois: str) -> None:
    store = new_store(tmp_path)
    proc = cvg("suivi", "--store", store, "--mois", mois, check_codes=(2,))
    assert "AAAA-MM" in proc.stderr


def test_a_store_of_the_previous_version_gets_the_new_tables(tmp_path: Path) -> None:
    """A store written before `refus` and `colonnes_fichier` existed opens, is migrated, and its snapshots
    have an unknown completeness (never guessed)."""
    store = new_store(tmp_path)
    path = write_workbook(tmp_path / "aci.xlsx", rows=[valid_row()])
    cvg("ingest", "--store", store, path)
    from cvg_pipeline.store.db import MIGRATIONS

    old = max(v for v in MIGRATIONS if MIGRATIONS[v].__name__ == "_migrate_suivi")
    con = duckdb.connect(str(store))
    con.execute("DROP TABLE refus")
    con.execute("DROP TABLE colonnes_fichier")
    con.execute("DROP SEQUENCE refus_seq")
    con.execute("UPDATE meta SET valeur = ? WHERE cle = 'schema_version'", [str(old)])
    con.close()
    (tmp_path / "cvg.duckdb.empreintes").unlink(missing_ok=True)
    aci = by_siret(suivi(store, "--mois", "2024-01"))[SIRET]
    assert aci["statut"] == "a_jour"
    assert aci["completude"] is None and aci["colonnes_absentes"] is None
    bad = write_workbook(tmp_path / "b" / "aci.xlsx", rows=[valid_row(**{"Sexe": "Inconnu"})])
    cvg("ingest", "--store", store, bad, check_codes=(1,))
    assert by_siret(suivi(store, "--mois", "2024-01"))[SIRET]["statut"] == "a_corriger"


def one_stored_one_refused(tmp_path: Path) -> Path:
    """A store with `bon.xlsx` stored and `mauvais.xlsx` (another ACI) refused."""
    store = new_store(tmp_path)
    good = write_workbook(tmp_path / "a" / "bon.xlsx", rows=[valid_row()])
    bad = write_workbook(
        tmp_path / "b" / "mauvais.xlsx",
        rows=[valid_row(**{"Sexe": "Inconnu"})],
        structure_fields=structure(SIRET=SIRET_2, **{"Nom de la structure": "Atelier Deux"}),
    )
    cvg("ingest", "--store", store, good, bad, check_codes=(1,))
    return store


def test_historique_lists_refusals_marked_as_such(tmp_path: Path) -> None:
    """Before: `cvg historique` listed stored snapshots only; a refused file left no trace."""
    store = one_stored_one_refused(tmp_path)
    lines = cvg("historique", "--store", store).stdout.splitlines()
    [refused] = [line for line in lines if "mauvais.xlsx" in line]
    assert "refusé (valeur-inconnue × 1)" in refused and "Atelier Deux" in refused
    [stored] = [line for line in lines if "bon.xlsx" in line]
    assert "intégré" in stored and "refusé" not in stored


def test_the_report_sources_list_the_optional_columns_each_file_lacks(tmp_path: Path) -> None:
    """Before: the report's sources listed the files used, not which columns each one lacked."""
    store = new_store(tmp_path)
    without = write_workbook(tmp_path / "a" / "sans.xlsx", rows=[valid_row(), valid_row(**{"Identifiant salarié": "B"})])
    full = write_workbook(
        tmp_path / "b" / "avec.xlsx",
        rows=[valid_row(**{REFUGIE: "Non"}), valid_row(**{"Identifiant salarié": "B", REFUGIE: "Oui"})],
        structure_fields=structure(SIRET=SIRET_2, **{"Nom de la structure": "Atelier Deux"}),
    )
    cvg("ingest", "--store", store, without, full)
    out = tmp_path / "rapports"
    cvg("report", "--store", store, "--national", "--annee", "2023", "--format", "md", "--sortie", out)
    [md] = out.glob("*.md")
    text = md.read_text(encoding="utf-8")
    assert "Colonnes facultatives absentes du fichier" in text
    [row_sans] = [line for line in text.splitlines() if line.startswith("| Atelier Test |")]
    [row_avec] = [line for line in text.splitlines() if line.startswith("| Atelier Deux |")]
    assert f"« {REFUGIE} »" in row_sans
    assert REFUGIE not in row_avec


def test_a_column_is_judged_on_the_rows_it_applies_to(tmp_path: Path) -> None:
    """Date de sortie blank on running parcours, a difficulty at exit blank where it was not a difficulty at
    entry: these blanks are answers, not gaps, and never make a column « peu remplie »."""
    store = new_store(tmp_path)
    rows = [
        open_row(**{"Identifiant salarié": f"O{k}", "Difficulté Santé à la sortie": None}) for k in range(3)
    ] + [valid_row(**{"Difficulté Santé à l'entrée": "Non", "Difficulté Santé à la sortie": None})]
    path = write_workbook(tmp_path / "aci.xlsx", rows=rows, header=[*valid_row().keys(), "Difficulté Santé à la sortie"])
    cvg("ingest", "--store", store, path)
    aci = by_siret(suivi(store, "--mois", "2024-01"))[SIRET]
    assert "Date de sortie" not in aci["colonnes_peu_remplies"]
    assert "Difficulté Santé à la sortie" not in aci["colonnes_peu_remplies"]


def test_historique_json_lists_snapshots_and_refusals(tmp_path: Path) -> None:
    """Issue 20.5: `cvg historique --json` (before: no such option)."""
    store = one_stored_one_refused(tmp_path)
    payload = json.loads(cvg("historique", "--store", store, "--json").stdout)
    rows = {r["fichier"]: r for r in payload["fichiers"]}
    assert rows["bon.xlsx"]["statut"] == "intégré" and rows["bon.xlsx"]["lignes"] == 1
    assert rows["bon.xlsx"]["date_arrete"] == "2023-12-31" and rows["bon.xlsx"]["codes"] is None
    assert rows["mauvais.xlsx"]["statut"] == "refusé" and rows["mauvais.xlsx"]["codes"] == {"valeur-inconnue": 1}
    assert rows["mauvais.xlsx"]["lignes"] is None and rows["mauvais.xlsx"]["siret"] == SIRET_2
