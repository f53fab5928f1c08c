"""`cvg ingest` keeps the store's promises at the edges (issue 13, points 2 to 6), with real workbooks and a real
store, checked afterwards with DuckDB; real `cvg` processes (`python -m cvg_pipeline`) where a test needs one
(a hook, a file-size limit, a signal), cli.main in the test process otherwise (tests/inprocess.py).

Two moments cannot be reached from outside a process on purpose: between the hash of a file and its reading
(point 2), and the COMMIT (point 6). There, the test gives the `cvg` process a `sitecustomize` module (found
through PYTHONPATH, imported by Python at start-up, enabled by an environment variable) that does what the
world would do at that moment: replace the file on disk, or send SIGINT to the process. Nothing in cvg's own
code knows about it.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests import inprocess, sizes
from tests.builders import SIRET, SIRET_2, make_siret, open_row, structure, valid_row, write_workbook
from tests.storefill import lock_is_held

HOOKS = '''
import os

_swap = os.environ.get("CVG_TEST_SWAP")
if _swap:  # replace a file on disk right after cvg has hashed it (before it reads it)
    _target, _source, _marker = _swap.split(os.pathsep)
    import cvg_pipeline.ingest.hashing as _ingest

    _real_sha = _ingest.sha256_file

    def _sha_then_swap(path):
        digest = _real_sha(path)
        if os.path.abspath(path) == _target and not os.path.exists(_marker):
            os.replace(_source, _target)
            open(_marker, "w").close()
        return digest

    _ingest.sha256_file = _sha_then_swap

_sigint = os.environ.get("CVG_TEST_SIGINT_AT_COMMIT")
if _sigint:  # SIGINT (or SIGTERM) to this process at the COMMIT of the snapshots: just before it, or just after
    import signal

    _sig = getattr(signal, os.environ.get("CVG_TEST_SIGNAL", "SIGINT"))

    import duckdb as _duckdb

    _connect = _duckdb.connect

    class _Connection:
        def __init__(self, con):
            self._con = con
            self._snapshots = False

        def __getattr__(self, name):
            return getattr(self._con, name)

        def execute(self, sql, *args, **kwargs):
            at_commit = sql == "COMMIT" and self._snapshots
            self._snapshots = self._snapshots or sql.startswith("INSERT INTO snapshots")
            if at_commit and _sigint == "avant":
                os.kill(os.getpid(), _sig)
            result = self._con.execute(sql, *args, **kwargs)
            if at_commit and _sigint == "apres":
                os.kill(os.getpid(), _sig)
            return result

    def _connect_with_hook(*args, **kwargs):
        return _Connection(_connect(*args, **kwargs))

    _duckdb.connect = _connect_with_hook

if os.environ.get("CVG_TEST_SIGINT_IN_PARSER"):  # SIGINT while the first workbook is parsed, which the parser
    # reports as its own error, as a Rust library does when its signal check finds Ctrl-C
    import signal

    import fastexcel as _fastexcel

    _read_excel = _fastexcel.read_excel
    _interrupted = []

    def _read_excel_interrupted(*args, **kwargs):
        if not _interrupted:
            _interrupted.append(True)
            try:
                os.kill(os.getpid(), signal.SIGINT)
            except KeyboardInterrupt:
                raise RuntimeError("interrupted") from None
        return _read_excel(*args, **kwargs)

    _fastexcel.read_excel = _read_excel_interrupted
'''


def cvg(
    *args: str | Path, env: dict[str, str] | None = None, limit: int | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -m cvg_pipeline ARGS` when the test needs a process of its own: `env` (the test's
    `sitecustomize`, see the module docstring) or `limit`, the RLIMIT_FSIZE of the process (a write past it
    fails with EFBIG, as on a full disk; SIGXFSZ ignored so that the write returns the error instead of
    killing). Otherwise `cvg ARGS` through cli.main in this process (tests/inprocess.py): the same command,
    without the start of a process."""
    if env is None and limit is None:
        proc = inprocess.run(*args)
        assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
        return proc

    def limited() -> None:
        if limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "cvg_pipeline", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=limited if limit is not None else None,
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


def hooked(tmp_path: Path, **variables: str) -> dict[str, str]:
    """The environment that gives the `cvg` process the test's `sitecustomize` (see the module docstring)."""
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(HOOKS, encoding="utf-8")
    return {"PYTHONPATH": os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")]), **variables}


def new_store(path: Path) -> Path:
    """A new store, made the way the user makes one (`cvg init`, when this version has it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import cvg_pipeline.commands.init  # noqa: F401
    except ImportError:
        from cvg_pipeline.store.db import create_store

        create_store(path)
    else:
        proc = cvg("init", "--store", path)
        assert proc.returncode == 0, proc.stderr
    return path


def aci_file(path: Path, *, siret: str = SIRET, arrete: date = date(2023, 12, 31), rows: int = 2, name: str = "Atelier") -> Path:
    parcours = [valid_row(**{"Identifiant salarié": f"{name[:1]}{i}"}) for i in range(rows - 1)]
    parcours.append(open_row(**{"Identifiant salarié": f"{name[:1]}-ouvert"}))
    fields = structure(SIRET=siret, **{"Date d'arrêté": arrete, "Nom de la structure": name})
    return write_workbook(path, rows=parcours, structure_fields=fields)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def query(store: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def snapshots(store: Path) -> list[tuple[Any, ...]]:
    """(fichier, sha256, nb_lignes) of every stored snapshot, with the parcours rows actually stored."""
    return query(
        store,
        "SELECT s.fichier, s.sha256, s.nb_lignes, (SELECT count(*) FROM parcours p WHERE p.snapshot_id = s.snapshot_id) "
        "FROM snapshots s ORDER BY s.fichier",
    )


def table_counts(store: Path) -> dict[str, int]:
    return {t: query(store, f"SELECT count(*) FROM {t}")[0][0] for t in ("snapshots", "parcours", "aci", "ingest_log")}


def statuses(stdout: str, names: list[str]) -> dict[str, str]:
    """The status column of the table, for each file name (the first word(s) after the counts)."""
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        first = line.split("  ")[0].strip()
        if first in names and first not in out:
            for statut in ("déjà intégré", "non enregistré", "intégré", "remplacé", "historique", "rejeté"):
                if f"  {statut}  " in line:
                    out[first] = statut
                    break
    return out


# -- point 2 ------------------------------------------------------------------------------------------------


def test_a_file_replaced_between_hash_and_read_is_stored_under_the_hash_of_what_was_read(tmp_path: Path) -> None:
    """Fails on main before the fix (issue 13 point 2): the file was hashed, replaced, then read, and its new
    content was stored under the old content's sha256; when the old content came back it was « déjà intégré »
    and never stored."""
    store = new_store(tmp_path / "base" / "cvg.duckdb")
    recus = tmp_path / "recus"
    target = aci_file(recus / "aci.xlsx", rows=3, name="Ancienne")
    first = target.read_bytes()
    newer = aci_file(tmp_path / "autre" / "aci.xlsx", rows=5, name="Nouvelle")
    newer_sha = sha(newer)
    marker = tmp_path / "remplace"
    env = hooked(tmp_path, CVG_TEST_SWAP=os.pathsep.join([str(target.absolute()), str(newer), str(marker)]))

    proc = cvg("ingest", "--store", store, recus, env=env)
    assert marker.exists(), "the file was not replaced between its hash and its reading"
    assert proc.returncode == 0, proc.stderr
    assert statuses(proc.stdout, ["aci.xlsx"]) == {"aci.xlsx": "intégré"}
    # What was read is stored, under its own hash
    assert snapshots(store) == [("aci.xlsx", newer_sha, 5, 5)]
    assert query(store, "SELECT nom FROM aci") == [("Nouvelle",)]

    # The first content comes back: it is new bytes, read and stored (same SIRET and date: it replaces)
    target.write_bytes(first)
    again = cvg("ingest", "--store", store, recus)
    assert again.returncode == 0, again.stderr
    assert statuses(again.stdout, ["aci.xlsx"]) == {"aci.xlsx": "remplacé"}
    assert snapshots(store) == [("aci.xlsx", hashlib.sha256(first).hexdigest(), 3, 3)]


# -- point 3 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stale_first", [True, False], ids=["original first by name", "correction first by name"])
def test_two_versions_of_one_month_in_one_run_are_both_refused(tmp_path: Path, stale_first: bool) -> None:
    """Fails on main before the fix (issue 13 point 3): an original and its correction (same SIRET and Date
    d'arrêté) in one run were stored one after the other in file-name order, the last one kept, exit 0, no
    warning: the stale original could win. Now both are refused, each naming the other, whatever the names;
    the other files of the run are stored."""
    store = new_store(tmp_path / "base" / "cvg.duckdb")
    recus = tmp_path / "recus"
    original, correction = ("a-original.xlsx", "b-correction.xlsx") if stale_first else ("b-original.xlsx", "a-correction.xlsx")
    aci_file(recus / original, rows=2)
    aci_file(recus / correction, rows=3)
    other = aci_file(recus / "c-autre.xlsx", siret=SIRET_2, name="Autre")

    proc = cvg("ingest", "--store", store, "--json", "--erreurs", tmp_path / "erreurs", recus)
    assert proc.returncode == 1, proc.stderr
    result = {f["fichier"]: f for f in json.loads(proc.stdout)["fichiers"]}
    assert {name: f["statut"] for name, f in result.items()} == {
        original: "rejeté", correction: "rejeté", "c-autre.xlsx": "intégré"
    }
    for name, other_name in ((original, correction), (correction, original)):
        [problem] = [p for p in result[name]["problemes"] if p["gravite"] == "erreur"]
        assert problem["code"] == "arrete-en-double"
        assert f"que « {other_name} », avec un contenu différent : aucun de ces fichiers n'est intégré" in problem["message"]
        assert SIRET in problem["message"] and "31/12/2023" in problem["message"]
    assert snapshots(store) == [("c-autre.xlsx", sha(other), 2, 2)]

    # The same run once the original is stored: it is « déjà intégré », the correction replaces it
    second = new_store(tmp_path / "base2" / "cvg.duckdb")
    first = cvg("ingest", "--store", second, recus / original)
    assert first.returncode == 0, first.stderr
    proc = cvg("ingest", "--store", second, recus)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert statuses(proc.stdout, [original, correction]) == {original: "déjà intégré", correction: "remplacé"}
    assert [(f, n) for f, _, n, _ in snapshots(second)] == [(correction, 3), ("c-autre.xlsx", 2)]


# -- point 4 ------------------------------------------------------------------------------------------------


def test_a_rejected_file_twice_in_one_run_is_refused_twice(tmp_path: Path) -> None:
    """Fails on main before the fix (issue 13 point 4): the second copy of a refused file was « déjà intégré »
    (its bytes had been seen earlier in the run), with no error and no error workbook."""
    store = new_store(tmp_path / "base" / "cvg.duckdb")
    recus = tmp_path / "recus"
    bad = write_workbook(recus / "a-refuse.xlsx", rows=[valid_row(**{"Date de sortie": "31/02/2023"})])
    shutil.copyfile(bad, recus / "b-copie.xlsx")
    good = aci_file(recus / "c-bon.xlsx", siret=make_siret("1112223334445"), name="Bon")
    errors = tmp_path / "erreurs"

    proc = cvg("ingest", "--store", store, "--json", "--erreurs", errors, recus)
    assert proc.returncode == 1, proc.stderr
    result = {f["fichier"]: f for f in json.loads(proc.stdout)["fichiers"]}
    assert {name: f["statut"] for name, f in result.items()} == {
        "a-refuse.xlsx": "rejeté", "b-copie.xlsx": "rejeté", "c-bon.xlsx": "intégré"
    }
    first, copy = result["a-refuse.xlsx"], result["b-copie.xlsx"]

    def without_name(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in p.items() if k != "fichier"} for p in problems]

    assert without_name(first["problemes"]) == without_name(copy["problemes"]) != []
    assert any("« 31/02/2023 » n'est pas une date valide" in p["message"] for p in copy["problemes"])
    assert {p["fichier"] for p in copy["problemes"]} == {"b-copie.xlsx"}
    workbooks = {first["classeur_erreurs"], copy["classeur_erreurs"]}
    assert None not in workbooks and len(workbooks) == 2
    assert all(Path(w).is_file() for w in workbooks)
    assert snapshots(store) == [("c-bon.xlsx", sha(good), 2, 2)]


# -- point 5 ------------------------------------------------------------------------------------------------


def test_a_full_disk_says_so_and_lists_what_was_stored(tmp_path: Path) -> None:
    """Fails on main before the fix (issue 13 point 5): when the store could not be written (full disk), the
    failed COMMIT's ROLLBACK raised « no transaction is active », files were then committed one by one until
    the disk was full again, and the user read « erreur inattendue (TransactionException) », with none of the
    files committed listed. Now: « disque plein », where, nothing stored (one transaction), every file listed
    as not stored, exit 1; the same command with room stores them all.

    The full disk is RLIMIT_FSIZE: writing past it fails with EFBIG (« File too large ») as it would with
    ENOSPC; the write-ahead log of 40 files needs more than the 100 kB allowed."""
    store = new_store(tmp_path / "base" / "cvg.duckdb")
    recus = tmp_path / "recus"
    names = []
    for k in range(40):
        names.append(aci_file(recus / f"aci-{k:02d}.xlsx", siret=make_siret(f"{5550000000000 + k:013d}"), rows=20,
                              name=f"ACI {k}").name)
    before = table_counts(store)

    proc = cvg("ingest", "--store", store, recus, limit=100_000)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "disque plein" in proc.stderr
    assert f"« {store.absolute()}.wal »" in proc.stderr.replace("\n", "")  # where
    assert "aucun fichier n'a été enregistré, la base est restée telle qu'avant" in proc.stderr.replace("\n", " ").lower()
    assert "40 fichiers valides non enregistrés" in proc.stderr.replace("\n", " ")
    assert statuses(proc.stdout, names) == dict.fromkeys(names, "non enregistré")
    assert table_counts(store) == before

    again = cvg("ingest", "--store", store, recus)
    assert again.returncode == 0, again.stderr
    assert statuses(again.stdout, names) == dict.fromkeys(names, "intégré")
    assert table_counts(store)["snapshots"] == 40 and table_counts(store)["parcours"] == 800


# -- point 6 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "sig"),
    [("avant", "SIGINT"), ("apres", "SIGINT"), ("apres", "SIGTERM")],
    ids=["Ctrl-C before the COMMIT", "Ctrl-C after the COMMIT", "SIGTERM after the COMMIT"],
)
def test_ctrl_c_at_the_commit_says_what_was_stored_and_never_retries(tmp_path: Path, moment: str, sig: str) -> None:
    """Fails on main before the fix (issue 13 point 6): SIGINT just after the COMMIT made the ROLLBACK fail
    (« no transaction is active »), the files were then stored again one by one and hit the unique constraint:
    « erreur inattendue (ConstraintException) », exit 1 (SIGTERM, handled like Ctrl-C, the same). SIGINT
    just before it said only « interrompu. ». Now an interrupt is never retried: exit 130, and the message
    says what was stored (all, or nothing)."""
    store = new_store(tmp_path / "base" / "cvg.duckdb")
    recus = tmp_path / "recus"
    files = [aci_file(recus / f"aci-{k}.xlsx", siret=make_siret(f"{4440000000000 + k:013d}"), name=f"ACI {k}")
             for k in range(3)]
    before = table_counts(store)

    proc = cvg("ingest", "--store", store, recus, env=hooked(tmp_path, CVG_TEST_SIGINT_AT_COMMIT=moment, CVG_TEST_SIGNAL=sig))
    assert proc.returncode == 130, proc.stdout + proc.stderr
    message = proc.stderr.replace("\n", " ")
    names = [f.name for f in files]
    if moment == "avant":
        assert "interrompu : rien n'a été enregistré, la base est restée telle qu'avant." in message
        assert table_counts(store) == before
    else:
        assert "interrompu après l'enregistrement : 3 fichiers enregistrés" in message
        assert statuses(proc.stdout, names) == dict.fromkeys(names, "intégré")
        assert snapshots(store) == sorted((f.name, sha(f), 2, 2) for f in files)
        assert table_counts(store)["ingest_log"] == 3  # stored once, never retried

    again = cvg("ingest", "--store", store, recus)
    assert again.returncode == 0, again.stderr
    assert statuses(again.stdout, names) == dict.fromkeys(names, "intégré" if moment == "avant" else "déjà intégré")
    assert snapshots(store) == sorted((f.name, sha(f), 2, 2) for f in files)


def test_ctrl_c_at_any_moment_of_the_writing_says_what_the_store_holds(tmp_path: Path) -> None:
    """Fails on main before 346b1e2 (issue 13 point 6): an interrupt while the files were read said only
    « interrompu. », not whether anything was stored; one during the COMMIT gave « erreur inattendue
    (ConstraintException) ». Also fails, when a signal lands there (not at every run), on 996f858: while a
    workbook was parsed, the parser turned the interrupt into a refused file (« fichier-illisible »), exit 1,
    the other files stored; in a DuckDB statement outside the storing, « Query interrupted » was « erreur
    inattendue (RuntimeError) ».

    Real SIGINTs, sent from outside at moments spread over the time a run holds the store (measured on a
    first run; nothing about time is asserted): whatever the moment, exit 0 or 130, never « erreur
    inattendue », and what the message says is what the store holds: « rien n'a été enregistré » → the store
    is unchanged; « après l'enregistrement » → every file stored, once. (A signal that comes as the process
    ends, its table written, may kill it: then the table said it all.)"""
    import random
    import time

    recus = tmp_path / "recus"
    files = [aci_file(recus / f"aci-{k:02d}.xlsx", siret=make_siret(f"{3330000000000 + k:013d}"), rows=10,
                      name=f"ACI {k}") for k in range(12)]
    shas = sorted(sha(f) for f in files)

    def start(store: Path) -> tuple[subprocess.Popen[str], float]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cvg_pipeline", "ingest", "--store", str(store), str(recus)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        while not lock_is_held(store) and proc.poll() is None:
            time.sleep(0.005)
        return proc, time.monotonic()

    timing = new_store(tmp_path / "mesure" / "cvg.duckdb")
    proc, locked = start(timing)
    proc.communicate(timeout=300)
    assert proc.returncode == 0
    window = time.monotonic() - locked

    rng = random.Random(13)
    outcomes = []
    signals = sizes.runs(3, 10)  # `make test`: 3 moments (one per third of the writing); `make soak`: 10
    for k in range(signals):
        store = new_store(tmp_path / f"base-{k}" / "cvg.duckdb")
        proc, _ = start(store)
        time.sleep(window * (k + rng.random()) / signals)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=300)
        message = err.replace("\n", " ")
        assert "Traceback" not in out + err and "erreur inattendue" not in message, err
        stored = sorted(s for _, s, _, _ in snapshots(store))
        if proc.returncode == 0 or (proc.returncode == -signal.SIGINT and out.rstrip().endswith("déjà présents.")):
            # done, or killed once done (the signal came as the interpreter was ending: the table was written)
            outcome = "fini"
        else:
            assert proc.returncode == 130, (proc.returncode, err)
            if "rien n'a été enregistré" in message:
                outcome = "rien"
            else:
                assert "interrompu après l'enregistrement" in message, err
                outcome = "tout"
        if outcome == "rien":
            assert stored == [] and table_counts(store)["ingest_log"] == 0
        else:
            assert stored == shas and table_counts(store)["ingest_log"] == len(files)
        outcomes.append(outcome)
    assert "rien" in outcomes  # the signals did land while the run was working


def test_ctrl_c_that_a_parser_reports_as_its_own_error_is_an_interrupt(tmp_path: Path) -> None:
    """Fails on 996f858 (and main before): Ctrl-C while a workbook was parsed, reported by the parser as its
    own error, made that file « rejeté » (fichier-illisible) and the run went on: the other files were
    stored, exit 1, an error workbook to send to the ACI for a file that has nothing wrong. Now: exit 130,
    « rien n'a été enregistré », the store unchanged."""
    store = new_store(tmp_path / "base" / "cvg.duckdb")
    recus = tmp_path / "recus"
    for k in range(3):
        aci_file(recus / f"aci-{k}.xlsx", siret=make_siret(f"{2220000000000 + k:013d}"), name=f"ACI {k}")
    before = table_counts(store)

    proc = cvg("ingest", "--store", store, "--erreurs", tmp_path / "erreurs", recus,
               env=hooked(tmp_path, CVG_TEST_SIGINT_IN_PARSER="1"))
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert "interrompu : rien n'a été enregistré, la base est restée telle qu'avant." in proc.stderr.replace("\n", " ")
    assert "rejeté" not in proc.stdout and not (tmp_path / "erreurs").exists()
    assert table_counts(store) == before
