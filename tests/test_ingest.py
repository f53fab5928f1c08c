"""ingest_paths / verify_paths: discovery, hash-first skipping, snapshot semantics (spec §5), pseudonymisation."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvg_pipeline.ingest import run as ig
from cvg_pipeline.read.identifiers import normalise_identifier
from cvg_pipeline.schema.load import load_schema
from tests.builders import SIRET, SIRET_2, open_row, structure, valid_row, write_workbook
from tests.storefill import dump_store, query

SCHEMA = load_schema()
TODAY = date(2024, 6, 1)


def run(paths: list[Path], store: Path) -> ig.IngestResult:
    if not store.exists():  # ingest refuses a missing store (`cvg init` creates it)
        from cvg_pipeline.store.db import create_store

        create_store(store, SCHEMA)
    return ig.ingest_paths(paths, store, schema=SCHEMA, today=TODAY)


def dump(store: Path) -> dict[str, list[tuple[object, ...]]]:
    return dump_store(store)


def statuses(result: ig.IngestResult) -> dict[str, str]:
    return {f.fichier: f.statut for f in result.files}


def aci_file(
    path: Path, *, siret: str = SIRET, arrete: date = date(2023, 12, 31), rows: Any = None, **kw: Any
) -> Path:
    rows = rows if rows is not None else [valid_row(), open_row(**{"Identifiant salarié": "B2"})]
    fields = structure(SIRET=siret, **{"Date d'arrêté": arrete}, **kw)
    return write_workbook(path, rows=rows, structure_fields=fields)


def test_same_folder_twice_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "depot"
    aci_file(folder / "a.xlsx")
    aci_file(folder / "sub" / "b.xlsx", siret=SIRET_2)
    store = tmp_path / "cvg.duckdb"
    first = run([folder], store)
    assert statuses(first) == {"a.xlsx": "intégré", "sub/b.xlsx": "intégré"}
    assert first.exit_code == 0
    before = dump(store)
    second = run([folder], store)
    assert statuses(second) == {"a.xlsx": "déjà intégré", "sub/b.xlsx": "déjà intégré"}
    assert second.exit_code == 0
    assert dump(store) == before


def test_already_ingested_bytes_are_never_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = aci_file(tmp_path / "a.xlsx")
    store = tmp_path / "cvg.duckdb"
    run([path], store)
    calls: list[Any] = []
    monkeypatch.setattr(ig, "read_files", lambda todo, *a, **k: calls.append(todo) or [])
    again = run([path], store)
    assert statuses(again) == {"a.xlsx": "déjà intégré"}
    assert calls == []  # answered by the store's index (tests/test_store_index.py)
    (tmp_path / "cvg.duckdb.empreintes").unlink()
    again = run([path], store)
    assert statuses(again) == {"a.xlsx": "déjà intégré"}
    assert calls == [[]]  # answered by DuckDB: nothing to read either


def test_same_bytes_twice_in_one_run(tmp_path: Path) -> None:
    a = aci_file(tmp_path / "a.xlsx")
    b = tmp_path / "copie.xlsx"
    b.write_bytes(a.read_bytes())
    result = run([a, b], tmp_path / "cvg.duckdb")
    assert statuses(result) == {"a.xlsx": "intégré", "copie.xlsx": "déjà intégré"}
    assert query(tmp_path / "cvg.duckdb", "SELECT count(*) FROM snapshots") == [(1,)]


def test_replacement_same_siret_and_date(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    run([aci_file(tmp_path / "v1.xlsx")], store)
    rows = [valid_row(**{"Identifiant salarié": f"X{i}"}) for i in range(3)]
    result = run([aci_file(tmp_path / "v2.xlsx", rows=rows, **{"Nom de la structure": "Nouveau nom"})], store)
    assert statuses(result) == {"v2.xlsx": "remplacé"}
    assert query(store, "SELECT fichier, nb_lignes FROM snapshots") == [("v2.xlsx", 3)]
    assert query(store, "SELECT count(*), count(DISTINCT snapshot_id) FROM parcours") == [(3, 1)]
    assert query(store, "SELECT nom FROM aci") == [("Nouveau nom",)]
    assert query(store, "SELECT statut FROM ingest_log ORDER BY log_id") == [("intégré",), ("remplacé",)]


def test_earlier_date_is_kept_as_history(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    run([aci_file(tmp_path / "dec.xlsx", **{"Nom de la structure": "Nom de décembre"})], store)
    june_rows = [valid_row(**{"Date de sortie": date(2023, 5, 31)})]
    result = run(
        [
            aci_file(
                tmp_path / "juin.xlsx",
                arrete=date(2023, 6, 30),
                rows=june_rows,
                **{"Nom de la structure": "Ancien nom"},
            )
        ],
        store,
    )
    assert statuses(result) == {"juin.xlsx": "historique"}
    assert query(store, "SELECT date_arrete FROM snapshots ORDER BY date_arrete") == [
        (date(2023, 6, 30),),
        (date(2023, 12, 31),),
    ]
    assert query(store, "SELECT nom FROM aci") == [("Nom de décembre",)]  # the latest snapshot's


def test_batch_of_several_months_is_stored_oldest_first(tmp_path: Path) -> None:
    dec = aci_file(tmp_path / "a-dec.xlsx", **{"Nom de la structure": "Décembre"})
    june = aci_file(
        tmp_path / "b-juin.xlsx",
        arrete=date(2023, 6, 30),
        rows=[valid_row(**{"Date de sortie": date(2023, 5, 31)})],
        **{"Nom de la structure": "Juin"},
    )
    result = run([dec, june], tmp_path / "cvg.duckdb")
    assert statuses(result) == {"a-dec.xlsx": "intégré", "b-juin.xlsx": "intégré"}
    assert [f.fichier for f in result.files] == ["a-dec.xlsx", "b-juin.xlsx"]  # reported in input order
    assert query(tmp_path / "cvg.duckdb", "SELECT nom FROM aci") == [("Décembre",)]


def test_non_cumulative_file_warns_with_the_number_missing(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    ended = [
        valid_row(**{"Identifiant salarié": f"E{i}", "Date de sortie": date(2023, 5, 31)}) for i in range(3)
    ]
    running = open_row(**{"Identifiant salarié": "R1"})
    run([aci_file(tmp_path / "juin.xlsx", arrete=date(2023, 6, 30), rows=[*ended, running])], store)
    # December lists only one of the three ended parcours, and not the running one (which may have ended since,
    # but it had not ended before June's Date d'arrêté: it does not count)
    result = run([aci_file(tmp_path / "dec.xlsx", rows=[ended[0]])], store)
    (f,) = result.files
    assert f.statut == "intégré" and result.exit_code == 0
    (w,) = [i for i in f.issues if i.code == "fichier-non-cumulatif"]
    assert "parcours manquants : 2" in w.message and "30/06/2023" in w.message
    avert = query(store, "SELECT avertissements FROM snapshots WHERE fichier = 'dec.xlsx'")[0][0]
    assert json.loads(avert) == {"fichier-non-cumulatif": 1}


def _non_cumulative_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """June and December of two ACI; each December drops some parcours that June had ended."""
    ended = [valid_row(**{"Identifiant salarié": f"E{i}", "Date de sortie": date(2023, 5, 31)}) for i in range(3)]
    june = [
        aci_file(folder / f"{s}-juin.xlsx", siret=s, arrete=date(2023, 6, 30), rows=ended) for s in (SIRET, SIRET_2)
    ]
    dec = [
        aci_file(folder / f"{SIRET}-dec.xlsx", rows=ended[:1]),  # 2 missing
        aci_file(folder / f"{SIRET_2}-dec.xlsx", siret=SIRET_2, rows=ended),  # cumulative
    ]
    return june, dec


def _stored(store: Path) -> list[tuple[Any, ...]]:
    return query(
        store,
        "SELECT s.fichier, s.avertissements, s.nb_lignes, count(p.siret) FROM snapshots s "
        "LEFT JOIN parcours p USING (snapshot_id) GROUP BY ALL ORDER BY s.fichier",
    ) + query(store, "SELECT fichier, statut, codes FROM ingest_log ORDER BY fichier")


def one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every batch of several files fail: the files are then stored one transaction each (the fallback)."""
    real = ig.SnapshotWriter._store_batch

    def batch(self: ig.SnapshotWriter, files: Any, *args: Any) -> Any:
        return real(self, files, *args) if len(files) == 1 else 1 / 0

    monkeypatch.setattr(ig.SnapshotWriter, "_store_batch", batch)


@pytest.mark.parametrize("runs", ["one run", "two runs"])
@pytest.mark.parametrize("batch", [True, False], ids=["one transaction", "file by file"])
def test_non_cumulative_warning_in_a_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runs: str, batch: bool
) -> None:
    """The files of a run are stored in one transaction; the result is the same as file by file (the
    fallback), whether the earlier month is in the same batch or already in the store."""
    if not batch:
        one_by_one(monkeypatch)
    june, dec = _non_cumulative_files(tmp_path)
    store = tmp_path / "cvg.duckdb"
    results = [run([*june, *dec], store)] if runs == "one run" else [run(june, store), run(dec, store)]
    warned = {f.fichier: [i.message for i in f.issues] for r in results for f in r.files}
    assert {f.statut for r in results for f in r.files} == {"intégré"}
    assert warned[f"{SIRET_2}-dec.xlsx"] == [] and warned[f"{SIRET}-juin.xlsx"] == []
    (message,) = warned[f"{SIRET}-dec.xlsx"]
    assert "parcours manquants : 2" in message and "30/06/2023" in message
    assert _stored(store) == [
        (f"{SIRET}-dec.xlsx", '{"fichier-non-cumulatif": 1}', 1, 1),
        (f"{SIRET}-juin.xlsx", "{}", 3, 3),
        (f"{SIRET_2}-dec.xlsx", "{}", 3, 3),
        (f"{SIRET_2}-juin.xlsx", "{}", 3, 3),
        (f"{SIRET}-dec.xlsx", "intégré", '{"fichier-non-cumulatif": 1}'),
        (f"{SIRET}-juin.xlsx", "intégré", "{}"),
        (f"{SIRET_2}-dec.xlsx", "intégré", "{}"),
        (f"{SIRET_2}-juin.xlsx", "intégré", "{}"),
    ]


def test_batch_replaces_and_keeps_history_like_file_by_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replacement, history and ACI updates, in one transaction, give the store that one transaction per file
    gives (compared without the ids, the timestamps and the pseudonyms, which depend on the store's key)."""

    def scenario(folder: Path) -> list[tuple[Any, ...]]:
        store = folder / "cvg.duckdb"
        early = valid_row(**{"Date de sortie": date(2023, 1, 31)})
        run([aci_file(folder / "a.xlsx"), aci_file(folder / "b.xlsx", siret=SIRET_2, arrete=date(2023, 6, 30))], store)
        second = [
            aci_file(folder / "a2.xlsx", rows=[valid_row()], **{"Nom de la structure": "Nouveau nom"}),  # replaces
            aci_file(folder / "b2.xlsx", siret=SIRET_2, arrete=date(2023, 3, 31), rows=[early]),  # history
            aci_file(folder / "b3.xlsx", siret=SIRET_2, **{"Nom de la structure": "B fin"}),  # latest
        ]
        result = run(second, store)
        return (
            sorted((f.fichier, f.statut) for f in result.files)
            + _stored(store)
            + query(store, "SELECT * FROM aci ORDER BY siret")
            + query(store, "SELECT * EXCLUDE (snapshot_id, id_salarie) FROM parcours ORDER BY ALL")
        )

    batch = scenario(tmp_path / "lot")
    one_by_one(monkeypatch)
    assert scenario(tmp_path / "fichier") == batch
    assert batch[:3] == [("a2.xlsx", "remplacé"), ("b2.xlsx", "historique"), ("b3.xlsx", "intégré")]


def test_cumulative_file_gives_no_warning(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    rows = [valid_row(**{"Date de sortie": date(2023, 5, 31)})]
    run([aci_file(tmp_path / "juin.xlsx", arrete=date(2023, 6, 30), rows=rows)], store)
    result = run(
        [aci_file(tmp_path / "dec.xlsx", rows=[*rows, open_row(**{"Identifiant salarié": "N"})])], store
    )
    assert [i.code for i in result.files[0].issues] == []


def test_rejected_file_changes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    run([aci_file(tmp_path / "v1.xlsx")], store)
    before = dump(store)
    bad = aci_file(tmp_path / "v2.xlsx", rows=[valid_row(**{"Heures hebdomadaires à l'entrée": 99})])
    result = run([bad], store)
    assert statuses(result) == {"v2.xlsx": "rejeté"} and result.exit_code == 1
    assert dump(store) == before


def test_one_rejected_file_does_not_stop_the_others(tmp_path: Path) -> None:
    good = aci_file(tmp_path / "good.xlsx")
    bad = aci_file(tmp_path / "bad.xlsx", siret=SIRET_2, rows=[valid_row(**{"Sexe": "Z"})])
    store = tmp_path / "cvg.duckdb"
    result = run([good, bad], store)
    assert statuses(result) == {"good.xlsx": "intégré", "bad.xlsx": "rejeté"}
    assert query(store, "SELECT siret FROM snapshots") == [(SIRET,)]


@pytest.mark.parametrize("sirets", [(SIRET,), (SIRET, SIRET_2)], ids=["one file", "a batch"])
def test_identifiers_are_pseudonymised_with_the_store_key(tmp_path: Path, sirets: tuple[str, ...]) -> None:
    store = tmp_path / "cvg.duckdb"
    run([aci_file(tmp_path / f"{s}.xlsx", siret=s) for s in sirets], store)
    key = bytes.fromhex(query(store, "SELECT valeur FROM meta WHERE cle = 'cle_hmac'")[0][0])
    expected = {
        (s, hmac.new(key, f"{s}\x1f{normalise_identifier(raw)}".encode(), hashlib.sha256).hexdigest())
        for s in sirets
        for raw in ("A001", "B2")
    }
    assert set(query(store, "SELECT siret, id_salarie FROM parcours")) == expected


def test_pseudonymise_depends_on_siret_and_key() -> None:
    k1, k2 = b"k" * 32, b"j" * 32
    (a,) = ig.pseudonymise(["A1"], SIRET, k1)
    assert ig.pseudonymise(["A1"], SIRET_2, k1) != [a]
    assert ig.pseudonymise(["A1"], SIRET, k2) != [a]
    assert ig.pseudonymise([None], SIRET, k1) == [None]
    assert a is not None and len(a) == 64 and "A1" not in a


def test_discovery_skips_lock_and_other_files(tmp_path: Path) -> None:
    """Lock files and notes are skipped with a note; a CSV export is refused (issue 17 point 3: it was skipped)."""
    folder = tmp_path / "depot"
    aci_file(folder / "a.xlsx")
    (folder / "~$a.xlsx").write_bytes(b"lock")
    (folder / "notes.txt").write_text("bonjour")
    (folder / "export.csv").write_text("a;b\n")
    result = run([folder], tmp_path / "cvg.duckdb")
    assert statuses(result) == {
        "a.xlsx": "intégré",
        "~$a.xlsx": "ignoré",
        "notes.txt": "ignoré",
        "export.csv": "rejeté",
    }
    assert result.exit_code == 1
    ignored = [f for f in result.files if f.statut == "ignoré"]
    assert all([i.code for i in f.issues] == ["fichier-ignore"] for f in ignored)


def test_hidden_files_and_folders_are_left_out_of_a_folder_walk(tmp_path: Path) -> None:
    folder = tmp_path / "depot"
    aci_file(folder / "a.xlsx")
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (folder / "._a.xlsx").write_bytes(b"\0\5\26\7AppleDouble")  # macOS resource fork: not a workbook
    aci_file(folder / ".cache" / "b.xlsx", siret=SIRET_2)
    result = run([folder], tmp_path / "cvg.duckdb")
    # never read, each named once (issue 17 point 3: nothing skipped silently)
    assert statuses(result) == {"a.xlsx": "intégré", ".DS_Store": "ignoré", "._a.xlsx": "ignoré", ".cache/": "ignoré"}
    assert result.exit_code == 0
    named = run([folder / "._a.xlsx"], tmp_path / "cvg.duckdb")  # named on the command line: looked at
    assert statuses(named) == {"._a.xlsx": "rejeté"}


def test_explicit_non_spreadsheet_is_rejected(tmp_path: Path) -> None:
    csv = tmp_path / "export.csv"
    csv.write_text("Identifiant salarié;Sexe\nA1;F\n")
    result = run([csv], tmp_path / "cvg.duckdb")
    assert statuses(result) == {"export.csv": "rejeté"}
    assert [i.code for i in result.files[0].issues] == ["format-non-pris-en-charge"]


def test_directory_twice_and_symlink_loop(tmp_path: Path) -> None:
    folder = tmp_path / "depot"
    aci_file(folder / "sub" / "a.xlsx")
    os.symlink(folder, folder / "sub" / "boucle")  # a loop back to the top
    os.symlink(folder / "sub" / "a.xlsx", folder / "lien.xlsx")  # the same file by another path
    candidates, skipped = ig.discover([folder, folder, folder / "sub"])
    assert [c.path.resolve() for c in candidates] == [(folder / "sub" / "a.xlsx").resolve()]
    assert skipped == []


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    from cvg_pipeline.check.errors import UsageError

    with pytest.raises(UsageError, match="n'existe pas"):
        run([tmp_path / "absent"], tmp_path / "cvg.duckdb")


def test_verify_stores_nothing(tmp_path: Path) -> None:
    good = aci_file(tmp_path / "good.xlsx")
    bad = aci_file(tmp_path / "bad.xlsx", rows=[valid_row(**{"Date d'entrée": date(2009, 1, 1)})])
    results = ig.verify_paths([good, bad], schema=SCHEMA, today=TODAY)
    assert [(r.fichier, r.statut) for r in results] == [("good.xlsx", "valide"), ("bad.xlsx", "rejeté")]
    assert [i.code for i in results[1].errors] == ["date-trop-ancienne"]
    assert not any(p.suffix == ".duckdb" for p in tmp_path.iterdir())


@pytest.mark.parametrize("main_reads", [False, True], ids=["worker-reads-all", "shared"])
def test_parallel_and_in_process_reading_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main_reads: bool
) -> None:
    monkeypatch.setattr(ig, "MIN_FILES_FOR_WORKER", 1)  # three files, one a chunk: read by the worker
    monkeypatch.setattr(ig, "MIN_CHUNK", 1)
    monkeypatch.setattr(ig, "MAIN_READS", main_reads)
    paths = [aci_file(tmp_path / f"f{i}.xlsx", siret=s) for i, s in enumerate((SIRET, SIRET_2))]
    # a third file with other columns (one left out, an identifier column dropped) and a bad cell
    row = {k: v for k, v in valid_row(**{"Sexe": "Z"}).items() if k != "Date de sortie"}
    paths.append(aci_file(tmp_path / "f2.xlsx", rows=[{**row, "Nom": "Dupont"}, open_row()]))
    todo = [(p, p.name, ig.sha256_file(p)) for p in paths]
    parallel = ig.read_files(todo, SCHEMA, today=TODAY)
    single = [ig.read_files([t], SCHEMA, today=TODAY)[0] for t in todo]
    for a, b in zip(parallel, single, strict=True):
        assert a.fichier == b.fichier and a.issues == b.issues
        assert a.data is not None and b.data is not None and a.data.equals(b.data)
        assert (a.raw is None) == (b.raw is None)  # kept only for a file with a suspect row (f2.xlsx)
        if a.raw is not None and b.raw is not None:
            assert a.raw.equals(b.raw) and a.raw.schema == b.raw.schema
        assert a.columns == b.columns and a.structure == b.structure


def test_a_worker_that_dies_loses_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker dies on the chunk holding `meurt.xlsx` (as on a parser abort): the files it had taken are
    read again, each in its own process, and every file gets its own result."""
    from tests import workers

    monkeypatch.setattr(ig, "MIN_FILES_FOR_WORKER", 1)
    monkeypatch.setattr(ig, "MIN_CHUNK", 1)
    monkeypatch.setattr(ig, "MAIN_READS", False)
    monkeypatch.setattr(ig, "_helper_main", workers.dies_on_a_marked_file)
    isolated: list[str] = []
    real = ig._read_isolated
    monkeypatch.setattr(ig, "_read_isolated", lambda path, *a: isolated.append(path.name) or real(path, *a))
    paths = [aci_file(tmp_path / "a.xlsx"), aci_file(tmp_path / "meurt.xlsx", siret=SIRET_2),
             aci_file(tmp_path / "c.xlsx", rows=[valid_row(**{"Identifiant salarié": "C3"})])]
    todo = [(p, p.name, ig.sha256_file(p)) for p in paths]
    parsed = ig.read_files(todo, SCHEMA, today=TODAY)
    assert [p.fichier for p in parsed] == ["a.xlsx", "meurt.xlsx", "c.xlsx"]
    assert isolated == ["meurt.xlsx"]  # the chunk the worker died on; the next one, never taken, read here
    for got, path in zip(parsed, paths, strict=True):
        alone = ig.read_files([(path, path.name, ig.sha256_file(path))], SCHEMA, today=TODAY)[0]
        assert got.issues == alone.issues and got.data is not None and alone.data is not None
        assert got.data.equals(alone.data)


def test_no_worker_can_start_then_this_process_reads_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine where the fork server cannot start (no socket, a sandbox): same results, read in-process."""

    def refuse() -> None:
        raise OSError("pas de fork server ici")

    monkeypatch.setattr(ig, "MIN_FILES_FOR_WORKER", 1)
    monkeypatch.setattr(ig, "MIN_CHUNK", 1)
    monkeypatch.setattr(ig, "_start_fork_server", refuse)
    paths = [aci_file(tmp_path / f"f{i}.xlsx", siret=s) for i, s in enumerate((SIRET, SIRET_2))]
    result = run(paths, tmp_path / "cvg.duckdb")
    assert statuses(result) == {"f0.xlsx": "intégré", "f1.xlsx": "intégré"}


def test_a_reader_bug_is_reported_on_its_own_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug of the reader on one file (here: any file named « bug ») is that file's `fichier-illisible`,
    worded as cvg's own fault; the other files of the chunk are read as usual."""
    import cvg_pipeline.read.workbook as reader

    real = reader.read_workbooks

    def buggy(files: Any, *a: Any, **k: Any) -> Any:
        if any(Path(p).stem == "bug" for p, _ in files):
            raise KeyError("colonne")
        return real(files, *a, **k)

    monkeypatch.setattr(reader, "read_workbooks", buggy)
    paths = [aci_file(tmp_path / "a.xlsx"), aci_file(tmp_path / "bug.xlsx", siret=SIRET_2)]
    parsed = ig.read_files([(p, p.name, ig.sha256_file(p)) for p in paths], SCHEMA, today=TODAY)
    assert parsed[0].ok and parsed[0].data is not None
    [problem] = parsed[1].issues
    assert problem.code == "fichier-illisible"
    assert "erreur de cvg lui-même, KeyError" in problem.message and "transmettez-le" in problem.message


def test_history_lists_latest_first_and_filters(tmp_path: Path) -> None:
    store = tmp_path / "cvg.duckdb"
    run([aci_file(tmp_path / "dec.xlsx")], store)
    run(
        [
            aci_file(
                tmp_path / "juin.xlsx",
                arrete=date(2023, 6, 30),
                rows=[valid_row(**{"Date de sortie": date(2023, 5, 31)})],
            )
        ],
        store,
    )
    run([aci_file(tmp_path / "autre.xlsx", siret=SIRET_2, arrete=date(2023, 9, 30), Territoire="93")], store)
    rows = ig.snapshot_history(store, schema=SCHEMA)
    assert [r["fichier"] for r in rows] == ["dec.xlsx", "autre.xlsx", "juin.xlsx"]
    assert [
        r["fichier"] for r in ig.snapshot_history(store, schema=SCHEMA, territoire="Seine-Saint-Denis")
    ] == ["autre.xlsx"]


@settings(max_examples=150, deadline=None)
@given(
    key=st.binary(min_size=0, max_size=100),
    siret=st.text(alphabet="0123456789", min_size=14, max_size=14),
    ids=st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=5),
)
def test_pseudonymise_is_hmac_sha256(key: bytes, siret: str, ids: list[str | None]) -> None:
    """The spelled-out HMAC (two padded-key states copied per identifier) is exactly HMAC-SHA256 (of the
    normalised identifier: tests/test_identifiers.py)."""
    expected = [None if i is None else hmac.new(key, f"{siret}\x1f{normalise_identifier(i)}".encode(), "sha256")
                .hexdigest() for i in ids]
    assert ig.pseudonymise(ids, siret, key) == expected
